//! Extraction measured against real pages with ground truth, from
//! `../shared/corpus` (not part of the repository). Skips, saying so, when
//! the corpus is absent.
//!
//! See the figures with:
//!   cargo test --release --test corpus -- --nocapture

use redline::extract::{Rules, extract};
use redline::model::{Page, Response, ResponseKind};
use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if dir.join("README.md").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: corpus not found at {} (it lives beside the repository, not in it)",
            dir.display()
        );
        None
    }
}

fn gunzip(path: &Path) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(f)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn page_of(body: Vec<u8>) -> Page {
    let resp = Response {
        requested_url: "https://example.org/".into(),
        final_url: "https://example.org/".into(),
        redirects: vec![],
        status: 200,
        headers: vec![("content-type".into(), "text/html".into())],
        body,
        elapsed_ms: 0,
    };
    extract(&resp, &Rules::default())
}

fn json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Word-overlap F1 as WCXB defines it: lower-case `\w+` tokens as a
/// multiset; 1.0 when both are empty.
fn word_f1(predicted: &str, reference: &str) -> (f64, f64, f64) {
    let word = Regex::new(r"\w+").unwrap();
    let bag = |s: &str| {
        let mut m: HashMap<String, usize> = HashMap::new();
        for w in word.find_iter(&s.to_lowercase()) {
            *m.entry(w.as_str().to_string()).or_default() += 1;
        }
        m
    };
    let (p, r) = (bag(predicted), bag(reference));
    let (np, nr): (usize, usize) = (p.values().sum(), r.values().sum());
    if np == 0 && nr == 0 {
        return (1.0, 1.0, 1.0);
    }
    if np == 0 || nr == 0 {
        return (0.0, 0.0, 0.0);
    }
    let overlap: usize = p
        .iter()
        .map(|(w, c)| (*c).min(r.get(w).copied().unwrap_or(0)))
        .sum();
    let (prec, rec) = (overlap as f64 / np as f64, overlap as f64 / nr as f64);
    let f1 = if overlap == 0 {
        0.0
    } else {
        2.0 * prec * rec / (prec + rec)
    };
    (prec, rec, f1)
}

struct TextScores {
    mean_f1: f64,
    mean_precision: f64,
    mean_recall: f64,
    empty: usize,
    pages: usize,
    worst: Vec<(f64, String)>,
}

fn score_text(
    dir: &Path,
    truth: &Value,
    field: &str,
    key_to_file: impl Fn(&str) -> String,
) -> TextScores {
    let mut f1s = Vec::new();
    let (mut ps, mut rs) = (0.0, 0.0);
    let mut empty = 0;
    let mut worst = Vec::new();
    for (key, v) in truth.as_object().unwrap() {
        let reference = v[field].as_str().unwrap_or("");
        let page = page_of(gunzip(&dir.join("html").join(key_to_file(key))));
        let text = page.text();
        if text.trim().is_empty() {
            empty += 1;
        }
        let (p, r, f) = word_f1(&text, reference);
        if std::env::var_os("CORPUS_VERBOSE").is_some() && f < 0.85 {
            println!("  {key}: F1 {f:.2} P {p:.2} R {r:.2}");
        }
        ps += p;
        rs += r;
        f1s.push(f);
        worst.push((f, key.clone()));
    }
    worst.sort_by(|a, b| a.0.total_cmp(&b.0));
    worst.truncate(5);
    let n = f1s.len() as f64;
    TextScores {
        mean_f1: f1s.iter().sum::<f64>() / n,
        mean_precision: ps / n,
        mean_recall: rs / n,
        empty,
        pages: f1s.len(),
        worst,
    }
}

fn report_text(name: &str, s: &TextScores) {
    println!(
        "{name}: {} pages, mean word F1 {:.3} (precision {:.3}, recall {:.3}), {} empty extractions; lowest: {}",
        s.pages,
        s.mean_f1,
        s.mean_precision,
        s.mean_recall,
        s.empty,
        s.worst
            .iter()
            .map(|(f, k)| format!("{k} {f:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

#[test]
fn main_text_of_articles_and_gov_pages() {
    let Some(root) = corpus() else { return };
    let articles = score_text(
        &root.join("articles"),
        &json(&root.join("articles/ground-truth.json")),
        "articleBody",
        |k| format!("{k}.html.gz"),
    );
    report_text("articles", &articles);
    let gov = score_text(
        &root.join("gov"),
        &json(&root.join("gov/ground-truth.json")),
        "main_text",
        |k| k.to_string(),
    );
    report_text("gov", &gov);
    // Targets: mean F1 >= 0.95 on articles, >= 0.85 on gov pages, and no
    // page extracted empty.
    assert_eq!(articles.empty, 0);
    assert_eq!(gov.empty, 0);
    assert!(
        articles.mean_f1 >= 0.95,
        "articles mean F1 {:.3}",
        articles.mean_f1
    );
    assert!(gov.mean_f1 >= 0.85, "gov mean F1 {:.3}", gov.mean_f1);
    // Keep more rather than less: recall stays high.
    assert!(
        articles.mean_recall >= 0.97,
        "articles recall {:.3}",
        articles.mean_recall
    );
}

#[test]
fn reader_responses_on_wordpress_pages() {
    let Some(root) = corpus() else { return };
    let labels = json(&root.join("wordpress/labels.json"));
    let (mut wp_pages, mut exact) = (0, 0);
    let (mut ping_found, mut ping_labelled) = (0, 0);
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    let (mut authors_ok, mut authors_total) = (0, 0);
    let (mut titles_ok, mut titles_total) = (0, 0);
    let mut problems = Vec::new();
    let (mut negatives, mut negative_pings, mut forums, mut forum_responses) = (0, 0, 0, 0);
    for (file, l) in labels.as_object().unwrap() {
        let page = page_of(gunzip(&root.join("wordpress/html").join(file)));
        let count = |k: ResponseKind| page.responses.iter().filter(|r| r.kind == k).count();
        let (c, p, t) = (
            count(ResponseKind::Comment),
            count(ResponseKind::Pingback),
            count(ResponseKind::Trackback),
        );
        let want = |f: &str| l[f].as_u64().unwrap_or(0) as usize;
        let (wc, wp, wt) = (want("comments"), want("pingbacks"), want("trackbacks"));
        let cats: Vec<&str> = l["categories"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if cats.contains(&"negative") {
            negatives += 1;
            negative_pings += p + t;
            if p + t > 0 {
                problems.push(format!(
                    "{file}: {p} pingbacks/{t} trackbacks on a negative page"
                ));
            }
            let forum = cats
                .iter()
                .any(|c| c.starts_with("forum:") || *c == "bbpress-on-wordpress");
            if forum {
                forums += 1;
                forum_responses += c + p + t;
            }
            if forum && c > 0 {
                problems.push(format!("{file}: {c} comments on a forum page"));
            }
            continue;
        }
        wp_pages += 1;
        if (c, p, t) == (wc, wp, wt) {
            exact += 1;
        } else {
            problems.push(format!(
                "{file}: found {c}/{p}/{t}, labelled {wc}/{wp}/{wt} (comments/pingbacks/trackbacks)"
            ));
        }
        for (got, want) in [(c, wc), (p, wp), (t, wt)] {
            tp += got.min(want);
            fp += got.saturating_sub(want);
            fn_ += want.saturating_sub(got);
        }
        ping_found += p.min(wp);
        ping_labelled += wp;
        let first = l["first_comment_author"].as_str().unwrap_or("");
        if !first.is_empty() {
            authors_total += 1;
            let got = page
                .responses
                .iter()
                .find(|r| r.kind == ResponseKind::Comment)
                .and_then(|r| r.author.clone());
            if got.as_deref() == Some(first) {
                authors_ok += 1;
            } else {
                problems.push(format!("{file}: first author {got:?}, labelled {first:?}"));
            }
        }
        let titles: Vec<&str> = l["pingback_titles"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let got: Vec<&str> = page
            .responses
            .iter()
            .filter(|r| r.kind == ResponseKind::Pingback)
            .map(|r| r.author.as_deref().unwrap_or(""))
            .collect();
        titles_total += titles.len();
        titles_ok += titles.iter().zip(&got).filter(|(a, b)| a == b).count();
    }
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    println!(
        "wordpress: counts exact on {exact}/{wp_pages} pages ({:.1}%), items precision {precision:.3} recall {recall:.3}, \
         pingbacks found {ping_found}/{ping_labelled}, pingback titles {titles_ok}/{titles_total}, first comment author {authors_ok}/{authors_total}",
        100.0 * exact as f64 / wp_pages as f64
    );
    println!(
        "negatives: {negative_pings} pingbacks/trackbacks on {negatives} non-WordPress pages, {forum_responses} responses on {forums} forum pages"
    );
    for p in &problems {
        println!("  {p}");
    }
    assert_eq!(
        ping_found, ping_labelled,
        "every labelled pingback is found"
    );
    assert!(
        exact as f64 >= 0.95 * wp_pages as f64,
        "counts exact on {exact}/{wp_pages}"
    );
    assert!(
        problems
            .iter()
            .all(|p| !p.contains("negative") && !p.contains("forum")),
        "{problems:#?}"
    );
}
