//! Print what redline extracts from a saved page (gzip or plain):
//!   cargo run --example extract -- FILE
use redline::extract::{Rules, extract};
use redline::model::Response;
use std::io::Read;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: extract FILE");
        std::process::exit(2);
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
    let page = extract(&resp, &Rules::default());
    println!("title: {:?}", page.title);
    for b in &page.blocks {
        println!("[{:?}] {}", b.kind, b.text);
    }
    for r in &page.responses {
        println!("<{:?} {}> {:?}: {}", r.kind, r.id, r.author, r.text);
    }
}
