//! Entry points for fuzzing: `fuzz/` (cargo fuzz, libFuzzer) calls these,
//! and `tests/fuzz_smoke.rs` runs them on mutated seeds on stable Rust.
//! Each one panics only when it finds a bug: a panic inside redline, or a
//! broken property (a page compared with itself reports a change; reported
//! changes do not rebuild the new text).

use crate::compare::{apply_text_changes, compare, compare_blocks};
use crate::extract::{Rules, extract};
use crate::model::Response;

fn response(body: &[u8], content_type: &str) -> Response {
    Response {
        requested_url: "https://fuzz.example/page".into(),
        final_url: "https://fuzz.example/page".into(),
        redirects: vec![],
        status: 200,
        headers: vec![("content-type".into(), content_type.into())],
        body: body.to_vec(),
        elapsed_ms: 0,
    }
}

/// The first byte picks how the body is labelled; the rest is the body.
pub fn extract_bytes(data: &[u8]) {
    let (label, body) = match data.split_first() {
        Some((b, rest)) => (*b, rest),
        None => (0, data),
    };
    let content_type = match label % 6 {
        0 => "text/html",
        1 => "text/html; charset=windows-1252",
        2 => "application/rss+xml",
        3 => "application/xhtml+xml; charset=utf-16",
        4 => "application/octet-stream",
        _ => "",
    };
    let page = extract(&response(body, content_type), &Rules::default());
    assert!(
        compare(&page, &page).is_empty(),
        "a page compared with itself reported changes"
    );
}

/// Two HTML bodies (split at the first 0xFF byte, else in the middle):
/// compare their pages, check the text changes rebuild the new text.
pub fn compare_bytes(data: &[u8]) {
    let cut = data
        .iter()
        .position(|&b| b == 0xff)
        .unwrap_or(data.len() / 2);
    let (a, b) = (&data[..cut], data.get(cut + 1..).unwrap_or_default());
    let old = extract(&response(a, "text/html"), &Rules::default());
    let new = extract(&response(b, "text/html"), &Rules::default());
    let _ = compare(&old, &new);
    let o: Vec<&str> = old.blocks.iter().map(|b| b.text.as_str()).collect();
    let n: Vec<&str> = new.blocks.iter().map(|b| b.text.as_str()).collect();
    let changes = compare_blocks(&o, &n);
    let rebuilt = apply_text_changes(&o, n.len(), &changes);
    assert_eq!(
        rebuilt.as_deref(),
        Some(&n.iter().map(|s| s.to_string()).collect::<Vec<_>>()[..]),
        "the reported changes do not rebuild the new text"
    );
    assert!(compare(&new, &new).is_empty());
}

/// Any text as a config file: errors, never a panic.
pub fn config_bytes(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let _ = crate::config::parse_sources(&[(std::path::PathBuf::from("fuzz.toml"), text)]);
}

/// Any bytes as a WARC file (what `import --warc` reads): records or
/// errors, never a panic.
pub fn warc_bytes(data: &[u8]) {
    let mut reader = crate::warc::Reader::from_bytes(data.to_vec());
    for _ in 0..64 {
        match reader.next_record() {
            Ok(Some(rec)) => {
                let _ = crate::warc::parse_http_response(&rec.block);
            }
            _ => break,
        }
    }
}
