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
