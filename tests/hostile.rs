//! Hostile and broken servers on loopback: each gives a clear error or a
//! correct capture, never a hang, a panic or unbounded memory.

mod common;

use common::Env;
use redline::extract::{Rules, extract};
use redline::fetch::{FetchError, FetchOptions, Fetcher};
use redline::serve::Reply;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

fn fetcher(total: Duration, max_body: usize) -> Fetcher {
    Fetcher::new(FetchOptions {
        total_timeout: total,
        connect_timeout: Duration::from_secs(2),
        max_body,
        ..FetchOptions::default()
    })
    .unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A one-shot raw TCP server: `script` gets the accepted stream (after the
/// request head is read) and does whatever misbehaviour it likes.
fn raw_server(script: impl FnOnce(std::net::TcpStream) + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 4096];
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            let _ = s.read(&mut buf);
            script(s);
        }
    });
    format!("http://{addr}/")
}

#[test]
fn a_server_that_never_answers_times_out() {
    let url = raw_server(|s| {
        std::thread::sleep(Duration::from_secs(5));
        drop(s);
    });
    let t = Instant::now();
    let err = rt()
        .block_on(fetcher(Duration::from_millis(700), 1 << 20).fetch(&url))
        .unwrap_err();
    assert_eq!(err, FetchError::Timeout(Duration::from_millis(700)));
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
}

#[test]
fn a_trickling_server_is_cut_off_at_the_total_timeout() {
    let url = raw_server(|mut s| {
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n",
        );
        for _ in 0..100 {
            if s.write_all(b"x").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    let t = Instant::now();
    let err = rt()
        .block_on(fetcher(Duration::from_millis(800), 1 << 20).fetch(&url))
        .unwrap_err();
    assert_eq!(err, FetchError::Timeout(Duration::from_millis(800)));
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[test]
fn a_reset_mid_body_and_broken_chunking_are_errors() {
    let url = raw_server(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<p>only part");
        // Closed early: the body is short of its announced length.
    });
    let err = rt()
        .block_on(fetcher(Duration::from_secs(5), 1 << 20).fetch(&url))
        .unwrap_err();
    assert!(
        matches!(&err, FetchError::Request(m) if !m.is_empty()),
        "{err:?}"
    );

    let url = raw_server(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nZZZ\r\n");
    });
    let err = rt()
        .block_on(fetcher(Duration::from_secs(5), 1 << 20).fetch(&url))
        .unwrap_err();
    assert!(matches!(&err, FetchError::Request(_)), "{err:?}");
}

#[test]
fn a_gzip_bomb_and_a_huge_body_stop_at_the_cap() {
    // 64 MB of zeros compresses to about 64 KB.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    assert!(bomb.len() < 200_000);
    let url = raw_server(move |mut s| {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
            bomb.len()
        );
        let _ = s.write_all(head.as_bytes());
        let _ = s.write_all(&bomb);
    });
    let err = rt()
        .block_on(fetcher(Duration::from_secs(10), 2 << 20).fetch(&url))
        .unwrap_err();
    assert_eq!(err, FetchError::TooLarge(2 << 20));

    // A body announced at 200 MB is refused before it is read.
    let url = raw_server(|mut s| {
        let _ = s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 209715200\r\n\r\n",
        );
        let chunk = vec![b'a'; 1 << 16];
        for _ in 0..64 {
            if s.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let err = rt()
        .block_on(fetcher(Duration::from_secs(10), 10 << 20).fetch(&url))
        .unwrap_err();
    assert_eq!(err, FetchError::TooLarge(10 << 20));
}

#[test]
fn binary_labelled_html_is_archived_and_compared_by_hash() {
    let env = Env::new();
    env.config(
        "[[watch]]\nname = \"pdf\"\nurl = \"{base}/doc\"\nrobots = false\nconfirm = false\n",
    );
    env.serve(
        "/doc",
        Reply::with_type(200, "text/html", b"%PDF-1.7\n\x00\x01\x02binary".to_vec()),
    );
    assert_eq!(env.check_one("pdf")["outcome"], "first_capture");
    env.serve(
        "/doc",
        Reply::with_type(200, "text/html", b"%PDF-1.7\n\x00\x01\x03binary!".to_vec()),
    );
    let v = env.check_one("pdf");
    assert_eq!(v["changes"][0]["type"], "content_changed", "{v}");
    assert_eq!(
        (
            v["changes"][0]["before_size"].as_u64(),
            v["changes"][0]["after_size"].as_u64()
        ),
        (Some(18), Some(19))
    );
}

#[test]
fn invalid_utf8_and_lying_charsets_never_fail() {
    let resp = |ct: &str, body: &[u8]| redline::model::Response {
        requested_url: "http://x/".into(),
        final_url: "http://x/".into(),
        redirects: vec![],
        status: 200,
        headers: vec![("content-type".into(), ct.into())],
        body: body.to_vec(),
        elapsed_ms: 0,
    };
    // Says UTF-8, is Latin-1: replacement characters, no failure.
    let p = extract(
        &resp("text/html; charset=utf-8", b"<p>caf\xe9 cr\xe8me</p>"),
        &Rules::default(),
    );
    assert_eq!(p.blocks[0].text, "caf\u{fffd} cr\u{fffd}me");
    // An unknown label falls back to the next source, then UTF-8.
    let p = extract(
        &resp("text/html; charset=klingon", "<p>café</p>".as_bytes()),
        &Rules::default(),
    );
    assert_eq!(p.blocks[0].text, "café");
    // Garbage bytes of every value.
    let all: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let _ = extract(&resp("text/html", &all), &Rules::default());
}

/// An HTTPS server on loopback with a freshly made self-signed certificate,
/// answering every connection with `body`.
fn self_signed_server(body: &'static str) -> String {
    use std::sync::Arc;
    use tokio_rustls::rustls;
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.key_pair.serialize_der().into());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for tcp in listener.incoming().take(8).flatten() {
            let config = config.clone();
            std::thread::spawn(move || {
                let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let mut buf = [0u8; 4096];
                if tls.read(&mut buf).is_err() {
                    return; // the client refused the certificate
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(reply.as_bytes());
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    format!("https://127.0.0.1:{}/", addr.port())
}

#[test]
fn a_self_signed_certificate_is_an_error_unless_the_watch_allows_it() {
    let url = self_signed_server("<html><body><p>Internal notice board.</p></body></html>");
    let env = Env::new();
    env.config(&format!(
        r#"
[[watch]]
name = "strict"
url = "{url}"
robots = false

[[watch]]
name = "trusting"
url = "{url}"
robots = false
insecure_tls = true
"#
    ));
    let results = env.check(&[]);
    let by = |name: &str| results.iter().find(|r| r["watch"] == name).unwrap().clone();
    let strict = by("strict");
    assert_eq!(strict["outcome"], "error");
    let msg = strict["error"].as_str().unwrap();
    assert!(
        msg.contains("TLS certificate not accepted")
            && msg.contains("set insecure_tls = true on the watch"),
        "{msg}"
    );
    let trusting = by("trusting");
    assert_eq!(trusting["outcome"], "first_capture", "{trusting}");
    let shown = env.cmd().args(["show", "trusting"]).output().unwrap();
    assert!(String::from_utf8_lossy(&shown.stdout).contains("Internal notice board."));
}

#[test]
fn redirects_to_other_schemes_and_into_private_networks_are_refused() {
    let env = Env::new();
    let port = env.server.url("").rsplit(':').next().unwrap().to_string();
    env.serve("/file", Reply::redirect(302, "file:///etc/passwd"));
    env.serve("/ftp", Reply::redirect(301, "ftp://ftp.example.org/pub/"));
    // Cloud metadata and a private network: never contacted.
    env.serve(
        "/metadata",
        Reply::redirect(302, "http://169.254.169.254/latest/meta-data/"),
    );
    env.serve("/lan", Reply::redirect(302, "http://10.0.0.1/admin"));
    // Loopback to loopback: the user chose this address already.
    env.serve(
        "/local",
        Reply::redirect(302, &format!("http://localhost:{port}/page")),
    );
    // 0.0.0.0 is not routable: refused unless the watch allows it (and
    // then it reaches this machine, so the test stays on loopback).
    env.serve(
        "/zero",
        Reply::redirect(302, &format!("http://0.0.0.0:{port}/page")),
    );
    env.serve("/page", Reply::html("<p>Landing page.</p>"));
    env.config(
        r#"
[[watch]]
name = "file"
url = "{base}/file"
robots = false

[[watch]]
name = "ftp"
url = "{base}/ftp"
robots = false

[[watch]]
name = "metadata"
url = "{base}/metadata"
robots = false

[[watch]]
name = "lan"
url = "{base}/lan"
robots = false

[[watch]]
name = "local"
url = "{base}/local"
robots = false

[[watch]]
name = "zero"
url = "{base}/zero"
robots = false

[[watch]]
name = "zero-allowed"
url = "{base}/zero"
robots = false
private_redirects = true
"#,
    );
    let results = env.check(&[]);
    let by = |name: &str| results.iter().find(|r| r["watch"] == name).unwrap().clone();
    assert_eq!(
        by("file")["error"],
        "redirect to unsupported location `file:///etc/passwd`"
    );
    assert_eq!(
        by("ftp")["error"],
        "redirect to unsupported location `ftp://ftp.example.org/pub/`"
    );
    assert_eq!(
        by("metadata")["error"],
        "redirect to non-routable address `http://169.254.169.254/latest/meta-data/` refused; set private_redirects = true on the watch if it is meant to go there"
    );
    assert!(
        by("lan")["error"]
            .as_str()
            .unwrap()
            .starts_with("redirect to non-routable address `http://10.0.0.1/admin` refused"),
        "{}",
        by("lan")
    );
    assert!(by("zero")["error"].as_str().unwrap().contains("0.0.0.0"));
    assert_eq!(by("local")["outcome"], "first_capture", "{}", by("local"));
    assert_eq!(
        by("zero-allowed")["outcome"],
        "first_capture",
        "{}",
        by("zero-allowed")
    );
    // Only the allowed redirects were followed.
    let hits = env.server.hits();
    assert_eq!(
        hits.iter().filter(|h| h.as_str() == "/page").count(),
        2,
        "{hits:?}"
    );
}

/// Runs `redline` inside a new user and network namespace (no network at
/// all, not even loopback), or says why it cannot.
fn without_network(env: &Env, args: &[&str]) -> Option<std::process::Output> {
    let ok = std::process::Command::new("unshare")
        .args(["-rn", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: `unshare -rn` is not available here (needs user namespaces)");
        return None;
    }
    let out = std::process::Command::new("unshare")
        .arg("-rn")
        .arg(assert_cmd::cargo::cargo_bin("redline"))
        .arg("--config")
        .arg(&env.config)
        .arg("--db")
        .arg(&env.db)
        .args(args)
        .output()
        .unwrap();
    Some(out)
}

#[test]
fn a_host_name_that_does_not_resolve_is_a_clear_per_watch_error() {
    let env = Env::new();
    env.config(
        r#"
[[watch]]
name = "nowhere"
url = "http://redline-test.invalid/statement"
robots = false
"#,
    );
    // No network in the namespace: the lookup fails without any traffic
    // leaving this machine.
    let Some(out) = without_network(&env, &["check", "--json"]) else {
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["outcome"], "error");
    let msg = r["error"].as_str().unwrap();
    assert!(msg.starts_with("cannot resolve the host name ("), "{msg}");
}
