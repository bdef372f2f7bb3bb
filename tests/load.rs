//! 200 misbehaving endpoints in one pass: every one ends in a clear
//! per-watch error or a correct capture, the pass ends by itself, and the
//! healthy watches of another site finish before the first slow endpoint
//! even times out.
//!
//! The fault server listens on 127.0.0.2 (still loopback) so that it is a
//! different site from the healthy one on 127.0.0.1.

mod common;

use common::{Env, page};
use redline::serve::Reply;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

const KINDS: &[&str] = &[
    "silent", "trickle", "reset", "chunked", "storm", "bomb", "binary", "badutf", "loop", "file",
];

fn gzip_bomb() -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    gz.finish().unwrap()
}

/// Serve one connection according to the kind in its path.
fn misbehave(mut s: TcpStream, bomb: &[u8]) {
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = vec![0u8; 8192];
    let n = s.read(&mut buf).unwrap_or(0);
    let head = String::from_utf8_lossy(&buf[..n]).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let kind = path.split('/').nth(1).unwrap_or("");
    let reply = |s: &mut TcpStream, status: &str, headers: &str, body: &[u8]| {
        let _ = s.write_all(
            format!(
                "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        let _ = s.write_all(body);
    };
    match kind {
        // Accepts, reads, never answers.
        "silent" => std::thread::sleep(Duration::from_secs(20)),
        // A byte at a time, far past any timeout.
        "trickle" => {
            let _ = s.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 100000\r\n\r\n",
            );
            for _ in 0..100 {
                if s.write_all(b"<").is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        // Half a body, then the connection is gone.
        "reset" => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 5000\r\n\r\n<p>half");
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
        "chunked" => {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n");
        }
        "storm" => reply(&mut s, "503 Service Unavailable", "", b"overloaded"),
        "bomb" => reply(
            &mut s,
            "200 OK",
            "content-type: text/html\r\ncontent-encoding: gzip\r\n",
            bomb,
        ),
        "binary" => reply(
            &mut s,
            "200 OK",
            "content-type: text/html\r\n",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n\x00\x01\x02",
        ),
        "badutf" => reply(
            &mut s,
            "200 OK",
            "content-type: text/html; charset=utf-8\r\n",
            b"<html><body><p>Caf\xe9 cr\xe8me \xff\xfe notice.</p></body></html>",
        ),
        "loop" => reply(&mut s, "302 Found", &format!("location: {path}\r\n"), b""),
        "file" => reply(&mut s, "302 Found", "location: file:///etc/shadow\r\n", b""),
        _ => reply(&mut s, "404 Not Found", "", b""),
    }
}

fn fault_server() -> String {
    let listener = TcpListener::bind("127.0.0.2:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let bomb: &'static [u8] = Box::leak(gzip_bomb().into_boxed_slice());
    std::thread::spawn(move || {
        // Bounded: every endpoint with its retries, and then some.
        for s in listener.incoming().take(2000).flatten() {
            std::thread::spawn(move || misbehave(s, bomb));
        }
    });
    format!("http://{addr}")
}

#[test]
fn two_hundred_misbehaving_endpoints_in_one_pass() {
    let env = Env::new();
    let bad = fault_server();
    let mut cfg = String::new();
    for i in 0..200 {
        let kind = KINDS[i % KINDS.len()];
        cfg.push_str(&format!(
            "[[watch]]\nname = \"{kind}-{i}\"\nurl = \"{bad}/{kind}/{i}\"\nrobots = false\nconfirm = false\n\n"
        ));
    }
    // The healthy site comes last in the list: it must not wait for the
    // broken one.
    for i in 0..5 {
        env.serve(
            &format!("/ok/{i}"),
            Reply::html(page(&format!("Release {i}"), &["All is well."])),
        );
        cfg.push_str(&format!(
            "[[watch]]\nname = \"ok-{i}\"\nurl = \"{{base}}/ok/{i}\"\nrobots = false\n\n"
        ));
    }
    env.config(&cfg);
    let out = env
        .cmd()
        .args([
            "--timeout",
            "1500ms",
            "--retries",
            "1",
            "--per-host",
            "8",
            "--host-interval",
            "0ms",
            "run",
            "--once",
            "--concurrency",
            "16",
            "--log-format",
            "json",
        ])
        .timeout(Duration::from_secs(180))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .chain(stderr.lines())
        .filter_map(|l| serde_json::from_str(l).ok())
        .filter(|e: &serde_json::Value| e["span"]["name"] == "check")
        .collect();
    assert_eq!(events.len(), 205, "every watch checked once");
    let field = |e: &serde_json::Value, k: &str| e["fields"][k].as_str().unwrap_or("").to_string();
    let by_watch = |name: &str| {
        events
            .iter()
            .find(|e| field(e, "watch") == name)
            .unwrap_or_else(|| panic!("no check of {name}"))
            .clone()
    };
    for i in 0..200 {
        let kind = KINDS[i % KINDS.len()];
        let e = by_watch(&format!("{kind}-{i}"));
        let (outcome, error) = (field(&e, "outcome"), field(&e, "error"));
        let ok = match kind {
            "silent" | "trickle" => error == "timed out after 1.5s",
            "reset" | "chunked" => outcome == "error" && !error.is_empty(),
            "storm" => error == "HTTP 503 Service Unavailable",
            "bomb" => error == "body larger than the 10485760 byte limit",
            "binary" | "badutf" => outcome == "first_capture",
            "loop" => error.starts_with("redirect loop at "),
            "file" => error == "redirect to unsupported location `file:///etc/shadow`",
            _ => false,
        };
        assert!(ok, "{kind}-{i}: {e}");
    }
    // The healthy site finished first: every one of its checks is logged
    // before the first check that timed out.
    let first_timeout = events
        .iter()
        .position(|e| field(e, "error").starts_with("timed out"))
        .unwrap();
    for i in 0..5 {
        let name = format!("ok-{i}");
        let at = events
            .iter()
            .position(|e| field(e, "watch") == name)
            .unwrap();
        assert_eq!(field(&events[at], "outcome"), "first_capture");
        assert!(
            at < first_timeout,
            "{name} finished after a hanging endpoint timed out ({at} vs {first_timeout})"
        );
    }
    // Everything the pass saw is in the archive, which is sound.
    let v = env.cmd().arg("verify").output().unwrap();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));
    let watches = env.cmd().args(["watches", "--json"]).output().unwrap();
    let listed = String::from_utf8_lossy(&watches.stdout);
    assert_eq!(listed.lines().count(), 205);
}
