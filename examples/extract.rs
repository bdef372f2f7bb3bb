//! Print what redline extracts from a saved page (gzip or plain):
//!   cargo run --example extract -- FILE
//! With a count, extract it that many times first (for a profiler:
//! `valgrind --tool=callgrind target/release/examples/extract FILE 51`).
use redline::extract::{Rules, extract};
use redline::model::Response;
use std::io::Read;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: extract FILE [TIMES]");
        std::process::exit(2);
    };
    let times: usize = match std::env::args().nth(2).map(|n| n.parse()) {
        None => 1,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("TIMES: {e}");
            std::process::exit(2);
        }
    };
    let raw = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let mut body = Vec::new();
    if raw.starts_with(&[0x1f, 0x8b]) {
        if let Err(e) = flate2::read::GzDecoder::new(&raw[..]).read_to_end(&mut body) {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    } else {
        body = raw;
    }
    let resp = Response {
        requested_url: "file:///".into(),
        final_url: "file:///".into(),
        redirects: vec![],
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body,
        elapsed_ms: 0,
    };
    let rules = Rules::default();
    for _ in 1..times {
        std::hint::black_box(extract(&resp, &rules));
    }
    let page = extract(&resp, &rules);
    println!("title: {:?}", page.title);
    for b in &page.blocks {
        println!("[{:?}] {}", b.kind, b.text);
    }
    for r in &page.responses {
        println!("<{:?} {}> {:?}: {}", r.kind, r.id, r.author, r.text);
    }
}
