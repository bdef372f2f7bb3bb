//! Hot stages on one large page: decode+extract, compare, and the whole
//! check decision, on a 1 MB briefing transcript with a handful of edits,
//! plus pathological inputs that must stay bounded.
//!
//!   cargo bench --bench pipeline

use redline::compare::compare;
use redline::extract::{Rules, extract};
use redline::model::Response;
use std::time::{Duration, Instant};

fn response(body: String) -> Response {
    Response {
        requested_url: "https://www.state.gov/briefings/".into(),
        final_url: "https://www.state.gov/briefings/".into(),
        redirects: vec![],
        status: 200,
        headers: vec![("content-type".into(), "text/html; charset=utf-8".into())],
        body: body.into_bytes(),
        elapsed_ms: 0,
    }
}

/// A daily-briefing-style transcript of about `bytes` bytes.
fn transcript(bytes: usize, edit: bool) -> String {
    let mut s = String::from(
        "<!DOCTYPE html><html><head><title>Department Press Briefing</title><script>var n='x';</script></head><body>\
         <nav><a href=/>Home</a><a href=/s>Secretary</a></nav><div id=\"centerblock\"><h1>Department Press Briefing</h1>",
    );
    let mut i = 0;
    while s.len() < bytes {
        let speaker = if i % 2 == 0 { "MS HARF" } else { "QUESTION" };
        let mut line = format!(
            "<p>{speaker}: On item {i}, we continue to work with our partners in the region, including the African Union and France, and we will have more to say about the funding, which stands at ${} million, in the coming days.</p>\n",
            40 + i % 7
        );
        if edit && i % 1500 == 7 {
            line = line.replace("in the coming days", "[inaudible] tomorrow");
        }
        s.push_str(&line);
        i += 1;
    }
    s.push_str("</div><footer>U.S. Department of State</footer></body></html>");
    s
}

fn time<T>(label: &str, runs: usize, mut f: impl FnMut() -> T) -> Duration {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(f());
        samples.push(t.elapsed());
    }
    samples.sort();
    let median = samples[samples.len() / 2];
    println!(
        "| {label} | {:.1} ms | {:.1} ms |",
        median.as_secs_f64() * 1e3,
        samples[0].as_secs_f64() * 1e3
    );
    median
}

fn main() {
    let rules = Rules::default();
    let old = response(transcript(1 << 20, false));
    let new = response(transcript(1 << 20, true));
    println!(
        "| stage (1 MB transcript, {} edits) | median | best |",
        (old.body.len() / 230) / 1500 + 1
    );
    println!("|---|---:|---:|");
    let old_page = extract(&old, &rules);
    let new_page = extract(&new, &rules);
    time("decode + extract (one version)", 15, || {
        extract(&new, &rules)
    });
    time("compare (two extracted versions)", 15, || {
        compare(&old_page, &new_page)
    });
    time("extract + compare (a check's CPU work)", 15, || {
        compare(&old_page, &extract(&new, &rules))
    });
    let changes = compare(&old_page, &new_page);
    println!(
        "\n{} blocks, {} changes reported",
        new_page.blocks.len(),
        changes.len()
    );

    println!("\n| pathological input | median | best |\n|---|---:|---:|");
    let one_line = response(format!("<p>{}</p>", "word ".repeat(400_000)));
    time("2 MB single-line paragraph", 5, || {
        extract(&one_line, &rules)
    });
    let deep = response(format!(
        "{}deep{}",
        "<div>".repeat(5_000),
        "</div>".repeat(5_000)
    ));
    time("5,000 nested elements", 5, || extract(&deep, &rules));
    let tiny = response("<b>x</b>".repeat(200_000));
    time("200,000 tiny elements", 5, || extract(&tiny, &rules));
    let a: Vec<String> = (0..20_000)
        .map(|i| format!("old paragraph {i} says one thing"))
        .collect();
    let b: Vec<String> = (0..20_000)
        .map(|i| format!("new text {i} entirely different words"))
        .collect();
    let ar: Vec<&str> = a.iter().map(String::as_str).collect();
    let br: Vec<&str> = b.iter().map(String::as_str).collect();
    time("total rewrite, 20,000 blocks", 3, || {
        redline::compare::compare_blocks(&ar, &br)
    });
}
