//! Per-stage micro-benchmarks (criterion), so a regression shows in the
//! stage it happens in:
//!
//!   cargo bench --bench stages
//!
//! On a 35 KB press release with a comment list (the synthetic site's
//! kind of page) and a noise variant of it: decoding, the cheap
//! token-level comparison, full parsing and extraction, page comparison,
//! the patch of a noise variant, zstd compression with and without the
//! previous body as dictionary, and recording a check in a SQLite archive.

use criterion::{Criterion, criterion_group, criterion_main};
use redline::compare::compare;
use redline::extract::quick::{invisible_or_digit_texts, patch};
use redline::extract::{Rules, extract};
use redline::model::{Page, Response};
use redline::store::{CheckRecord, NewVersion, Outcome, Store};
use std::hint::black_box;

fn release(nonce: &str, time: &str, amount: u32) -> String {
    let mut s = format!(
        "<!DOCTYPE html><html><head><title>Press release</title><script>var nonce='{nonce}';</script></head><body>\
         <nav><a href=/>Home</a> <a href=/press>Press</a></nav><main><article class=\"post\"><h1>Press release</h1>\
         <div class=\"entry-content\">"
    );
    let mut p = 0;
    while s.len() < 33_000 {
        // The figure appears once, in the fourth paragraph.
        let figure = if p == 3 { amount } else { 40 };
        s.push_str(&format!(
            "<p>The United States will provide ${figure} million in assistance to partners in the region, paragraph {p}.</p>\n"
        ));
        p += 1;
    }
    s.push_str("</div></article><div id=\"comments\"><ol class=\"comment-list\">");
    for k in 0..5 {
        s.push_str(&format!(
            "<li id=\"comment-{k}\" class=\"comment\"><div class=\"comment-author\"><b class=\"fn\">Reader {k}</b></div><div class=\"comment-content\"><p>Comment {k}.</p></div></li>"
        ));
    }
    s.push_str(&format!(
        "</ol><form><input type=hidden name=token value=\"{nonce}\"></form></div><p class=\"generated\">Page generated at {time}</p></main></body></html>"
    ));
    s
}

fn response(body: &str) -> Response {
    Response {
        requested_url: "https://www.state.gov/r/1".into(),
        final_url: "https://www.state.gov/r/1".into(),
        redirects: vec![],
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: body.as_bytes().to_vec(),
        elapsed_ms: 1,
    }
}

fn stages(c: &mut Criterion) {
    let a = release("a1b2c3", "10:31:05", 40);
    let noise = release("z9y8x7", "10:32:17", 40);
    let edited = release("a1b2c3", "10:31:05", 60);
    let rules = Rules::default();
    let page_a = extract(&response(&a), &rules);
    let page_e = extract(&response(&edited), &rules);

    c.bench_function("decode 35 KB", |b| {
        b.iter(|| {
            redline::extract::decode::decode(
                black_box(a.as_bytes()),
                Some("text/html; charset=utf-8"),
                true,
            )
        })
    });
    c.bench_function("cheap path: noise variant", |b| {
        b.iter(|| {
            invisible_or_digit_texts(
                black_box(a.as_bytes()),
                black_box(noise.as_bytes()),
                &[],
                &mut |_| false,
            )
        })
    });
    c.bench_function(
        "cheap path: edited (gives up, with the texts with digits)",
        |b| {
            b.iter(|| {
                invisible_or_digit_texts(
                    black_box(a.as_bytes()),
                    black_box(edited.as_bytes()),
                    &[],
                    &mut |_| true,
                )
            })
        },
    );
    c.bench_function("parse + extract 35 KB", |b| {
        let r = response(&a);
        b.iter(|| extract(black_box(&r), &rules))
    });
    c.bench_function("compare pages (one edit)", |b| {
        b.iter(|| compare(black_box(&page_a), black_box(&page_e)))
    });
    c.bench_function("patch of a noise variant", |b| {
        b.iter(|| patch(black_box(a.as_bytes()), black_box(noise.as_bytes())))
    });
    c.bench_function("zstd 35 KB", |b| {
        b.iter(|| zstd::bulk::compress(black_box(a.as_bytes()), 3))
    });
    c.bench_function("zstd 35 KB against the previous body", |b| {
        b.iter(|| {
            zstd::bulk::Compressor::with_dictionary(3, a.as_bytes())
                .and_then(|mut z| z.compress(black_box(edited.as_bytes())))
        })
    });
    c.bench_function("sha-256 35 KB", |b| {
        b.iter(|| redline::extract::sha256_hex(black_box(a.as_bytes())))
    });

    // Recording: a first capture, then unchanged checks of noise variants.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(&dir.path().join("bench.db")).expect("archive");
    let first = response(&a);
    let record = |store: &mut Store, resp: &Response, page: Option<&Page>, n: u64| {
        let at = format!("2026-11-29T10:{:02}:{:02}.000Z", n / 60 % 60, n % 60);
        store
            .record(&CheckRecord {
                watch: "w",
                url: "https://www.state.gov/r/1",
                checked_at: &at,
                duration_ms: 1,
                outcome: if page.is_some() {
                    Outcome::FirstCapture
                } else {
                    Outcome::Unchanged
                },
                response: Some(resp),
                http_status: Some(200),
                new_version: page.map(NewVersion::Page),
                rules: &rules,
                base_version_id: None,
                changes: &[],
                summary: "",
                significance: None,
                error: None,
                alerts: &[],
                body_patch: None,
                unshown: None,
            })
            .expect("record");
    };
    record(&mut store, &first, Some(&page_a), 0);
    let mut n = 1u64;
    c.bench_function("record an unchanged check (noise body, patched)", |b| {
        b.iter(|| {
            n += 1;
            let body = release(&format!("{n:06x}"), "10:32:17", 40);
            record(&mut store, &response(&body), None, n);
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(2));
    targets = stages
}
criterion_main!(benches);
