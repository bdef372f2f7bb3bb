//! The HTTP edge against a real server on loopback: redirects recorded,
//! limits enforced, errors named.

use redline::fetch::{FetchError, FetchOptions, Fetcher};
use redline::serve::{Reply, SiteServer};
use std::time::Duration;

fn fetcher(max_body: usize) -> Fetcher {
    Fetcher::new(FetchOptions {
        max_body,
        total_timeout: Duration::from_secs(10),
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

#[test]
fn redirect_chain_is_recorded() {
    let s = SiteServer::start().unwrap();
    s.set("/a", Reply::redirect(301, "/b"));
    s.set("/b", Reply::redirect(302, &s.url("/c")));
    s.set("/c", Reply::html("<p>here</p>"));
    let r = rt().block_on(fetcher(1 << 20).fetch(&s.url("/a"))).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.requested_url, s.url("/a"));
    assert_eq!(r.final_url, s.url("/c"));
    let hops: Vec<(String, u16)> = r
        .redirects
        .iter()
        .map(|h| (h.url.clone(), h.status))
        .collect();
    assert_eq!(hops, vec![(s.url("/a"), 301), (s.url("/b"), 302)]);
    assert_eq!(r.body, b"<p>here</p>");
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(
        r.header("Content-Type").is_some(),
        "header names are matched case-insensitively"
    );
}

#[test]
fn redirect_loops_and_foreign_schemes_are_errors() {
    let s = SiteServer::start().unwrap();
    s.set("/x", Reply::redirect(302, "/y"));
    s.set("/y", Reply::redirect(302, "/x"));
    s.set("/ftp", Reply::redirect(301, "ftp://example.org/file"));
    s.set("/file", Reply::redirect(301, "file:///etc/passwd"));
    let f = fetcher(1 << 20);
    let rt = rt();
    assert_eq!(
        rt.block_on(f.fetch(&s.url("/x"))),
        Err(FetchError::RedirectLoop(s.url("/x")))
    );
    assert_eq!(
        rt.block_on(f.fetch(&s.url("/ftp"))),
        Err(FetchError::BadRedirect("ftp://example.org/file".into()))
    );
    assert_eq!(
        rt.block_on(f.fetch(&s.url("/file"))),
        Err(FetchError::BadRedirect("file:///etc/passwd".into()))
    );
    // Only the redirect hops were requested: file: and ftp: were never followed.
    assert_eq!(s.hits().len(), 4);
}

#[test]
fn body_size_cap_holds() {
    let s = SiteServer::start().unwrap();
    s.set("/big", Reply::html(vec![b'a'; 300_000]));
    s.set("/fits", Reply::html(vec![b'a'; 1000]));
    let f = fetcher(100_000);
    let rt = rt();
    let err = rt.block_on(f.fetch(&s.url("/big"))).unwrap_err();
    assert_eq!(err, FetchError::TooLarge(100_000));
    assert_eq!(err.to_string(), "body larger than the 100000 byte limit");
    assert_eq!(
        rt.block_on(f.fetch(&s.url("/fits"))).unwrap().body.len(),
        1000
    );
}

#[test]
fn refused_connection_is_a_named_error() {
    let err = rt()
        .block_on(fetcher(1000).fetch("http://127.0.0.1:9/"))
        .unwrap_err();
    let FetchError::Request(msg) = err else {
        panic!("unexpected {err:?}")
    };
    assert!(msg.contains("127.0.0.1:9"), "{msg}");
}

#[test]
fn user_agent_and_compression_are_announced() {
    let s = SiteServer::start().unwrap();
    s.set("/", Reply::html("<p>x</p>"));
    rt().block_on(fetcher(1000).fetch(&s.url("/"))).unwrap();
    let reqs = s.requests();
    assert_eq!(reqs.len(), 1);
    let head = reqs[0].1.to_ascii_lowercase();
    let ua = format!(
        "user-agent: redline/{} (web page change monitor)",
        env!("CARGO_PKG_VERSION")
    );
    assert!(head.contains(&ua), "{head}");
    assert!(
        head.contains("accept-encoding: ") && head.contains("gzip") && head.contains("br"),
        "{head}"
    );
}
