//! End-to-end passes over a synthetic site on loopback.
//!
//!   cargo bench --bench site_pass              # 2,000 pages, 5 generations
//!   cargo bench --bench site_pass -- 20000 3   # pages, generations
//!   cargo bench --bench site_pass -- 2000 5 --no-etag   # every page 200
//!
//! Pages of 20–50 KB in the style of press releases and blog posts with
//! comment lists. Every response carries invisible noise (script nonces,
//! hidden inputs, timing comments) and a visible "generated at" line that
//! changes on every request. Each generation changes a deterministic 10% of
//! pages (an edited sentence, a new pingback, or a new comment). Each pass
//! runs `redline check` as its own process under /usr/bin/time and reports
//! wall time, CPU seconds, peak memory, archive size, and changes reported
//! against the site's ground truth. Pages answer with an ETag, so unchanged
//! pages answer 304 once redline has their validators.
//!
//! `SITE_PASS_URLWATCH=/path/to/urlwatch` also runs that urlwatch, with the
//! usual `html2text` filter and a cache of its own, over the same site
//! right after each redline pass, so the two are compared on one machine
//! in one run (the bench installs nothing: see BENCHMARKS.md for the
//! `pip install` line).

use redline::serve::{Reply, SiteServer};
use std::collections::HashSet;
use std::process::Command;

const SENTENCES: &[&str] = &[
    "The United States remains deeply concerned by the situation and calls on all parties to exercise restraint.",
    "Assistance will be delivered in coordination with our international partners and regional organizations.",
    "We welcome the announcement and look forward to continued cooperation on these shared priorities.",
    "The Secretary spoke with counterparts to discuss the humanitarian situation and next steps.",
    "Funding will support training, equipment, and logistics for the mission over the coming year.",
];

/// The page `i` as of generation `g` (and its version number for the ETag).
fn page(i: usize, g: usize) -> (String, usize) {
    // How many times this page has changed by generation g.
    let changes: Vec<usize> = (1..=g)
        .filter(|generation| changed(i, *generation))
        .collect();
    let target = 20_000 + (i * 7_919) % 30_000;
    let mut body = format!(
        "<!DOCTYPE html><html><head><title>Press release {i}</title><script>var nonce='{{{{NONCE}}}}';</script></head><body>\
         <nav><a href=/>Home</a> <a href=/press>Press</a> <a href=/about>About</a></nav><main><article class=\"post\">\
         <h1>Press release {i}</h1><div class=\"entry-content\">"
    );
    let mut p = 0;
    while body.len() < target {
        let mut s = SENTENCES[(i + p) % SENTENCES.len()].to_string();
        if p == 3 && changes.iter().any(|c| c % 3 == 1) {
            s = format!(
                "{s} The amount was revised to ${} million.",
                40 + changes.len() * 5
            );
        }
        body.push_str(&format!("<p>{} (paragraph {p} of release {i})</p>\n", s));
        p += 1;
    }
    body.push_str(
        "</div></article><div id=\"comments\" class=\"comments-area\"><ol class=\"comment-list\">",
    );
    for (k, c) in changes.iter().enumerate() {
        if c % 3 == 2 {
            body.push_str(&format!(
                "<li id=\"comment-{}\" class=\"pingback depth-1\"><div class=\"comment-body\">Pingback: <a class=\"url\" href=\"https://blog{k}.example/{i}\">A post about release {i}</a></div></li>",
                i * 100 + k
            ));
        } else if c % 3 == 0 {
            body.push_str(&format!(
                "<li id=\"comment-{}\" class=\"comment depth-1\"><div class=\"comment-author\"><b class=\"fn\">Reader {k}</b></div><div class=\"comment-content\"><p>A comment on release {i}, number {k}.</p></div></li>",
                i * 100 + k
            ));
        }
    }
    body.push_str(
        "</ol><div id=\"respond\"><h3>Leave a Reply</h3><form><input type=hidden name=token value=\"{{NONCE}}\"></form></div></div>\
         <p class=\"generated\">Page generated at {{TIME}}</p></main><footer>Department of State</footer>\
         <!-- rendered in 0.0{{SEQ}}s --></body></html>",
    );
    (body, changes.len())
}

/// Whether page `i` changes in generation `generation` (a deterministic 10%).
fn changed(i: usize, generation: usize) -> bool {
    generation > 0 && (i * 7 + generation * 13).is_multiple_of(10)
}

fn serve_generation(server: &SiteServer, n: usize, g: usize, etag: bool) {
    for i in 0..n {
        let (body, version) = page(i, g);
        let body = body.replace(
            "{{NONCE}}",
            &format!("{:x}", (i * 31 + g) * 2_654_435_761 % 1_000_000_007),
        );
        let reply = Reply::dynamic_html(body);
        let reply = if etag {
            reply.header("ETag", &format!("\"{i}-{version}\""))
        } else {
            reply
        };
        server.set(&format!("/p/{i}"), reply);
    }
}

fn file_size(p: &std::path::Path) -> u64 {
    std::fs::metadata(p).map_or(0, |m| m.len())
}

/// Wall seconds, CPU seconds (user+sys) and peak RSS in KB from the
/// `TIME %e %U %S %M` line /usr/bin/time wrote.
fn time_line(stderr: &str) -> Option<(f64, f64, f64)> {
    let t = stderr.lines().find_map(|l| l.strip_prefix("TIME "))?;
    let f: Vec<f64> = t
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    Some((*f.first()?, f.get(1)? + f.get(2)?, *f.get(3)?))
}

/// urlwatch, run over the same site as redline for comparison.
struct Urlwatch {
    exe: String,
    urls: std::path::PathBuf,
    config: std::path::PathBuf,
    hooks: std::path::PathBuf,
    cache: std::path::PathBuf,
}

impl Urlwatch {
    fn new(exe: String, dir: &std::path::Path, server: &SiteServer, n: usize) -> Urlwatch {
        let mut urls = String::new();
        for i in 0..n {
            urls.push_str(&format!(
                "name: p{i}\nurl: {}\nfilter:\n  - html2text\n---\n",
                server.url(&format!("/p/{i}"))
            ));
        }
        let uw = Urlwatch {
            exe,
            urls: dir.join("urls.yaml"),
            config: dir.join("urlwatch.yaml"),
            hooks: dir.join("hooks.py"),
            cache: dir.join("urlwatch-cache.db"),
        };
        std::fs::write(&uw.urls, urls).expect("urls.yaml");
        // Its defaults, but the report goes to stdout only, uncoloured.
        std::fs::write(
            &uw.config,
            "report:\n  stdout:\n    enabled: true\n    color: false\n",
        )
        .expect("urlwatch.yaml");
        std::fs::write(&uw.hooks, "").expect("hooks.py");
        uw
    }

    /// One pass: its row of the comparison table, and its CPU seconds.
    fn pass(&self, k: usize, label: &str, truth: &HashSet<String>) -> (String, f64) {
        let out = Command::new("/usr/bin/time")
            .args(["-f", "TIME %e %U %S %M", &self.exe, "--urls"])
            .arg(&self.urls)
            .arg("--config")
            .arg(&self.config)
            .arg("--hooks")
            .arg(&self.hooks)
            .arg("--cache")
            .arg(&self.cache)
            .env("NO_PROXY", "127.0.0.1,localhost")
            .output()
            .expect("urlwatch");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Its summary names each changed job once: "NN. CHANGED: p7".
        let changed: HashSet<String> = stdout
            .lines()
            .filter_map(|l| l.split_once(". CHANGED: "))
            .filter_map(|(_, rest)| rest.split_whitespace().next().map(str::to_string))
            .collect();
        let (wall, cpu, rss) = time_line(&stderr).unwrap_or((0.0, 0.0, 0.0));
        let row = format!(
            "| {k} | {label} | {wall:.1} s | {cpu:.2} s | {:.0} MB | {:.1} MB | {} | {} | {} | {} |",
            rss / 1024.0,
            file_size(&self.cache) as f64 / 1e6,
            changed.len(),
            truth.len(),
            changed.difference(truth).count(),
            truth.difference(&changed).count()
        );
        (row, cpu)
    }
}

fn main() {
    let etag = !std::env::args().any(|a| a == "--no-etag");
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(2000);
    let generations = args.get(1).copied().unwrap_or(5);
    let server = SiteServer::start().expect("server");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cfg = String::new();
    for i in 0..n {
        cfg.push_str(&format!(
            "[[watch]]\nname = \"p{i}\"\nurl = \"{}\"\nrobots = false\n",
            server.url(&format!("/p/{i}"))
        ));
    }
    let config = dir.path().join("site.toml");
    std::fs::write(&config, cfg).expect("config");
    // SITE_PASS_DB keeps the archive for inspection afterwards.
    let db = std::env::var_os("SITE_PASS_DB")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().join("archive.db"));
    let has_time = std::path::Path::new("/usr/bin/time").exists();
    let urlwatch = match std::env::var("SITE_PASS_URLWATCH") {
        Ok(exe) if has_time => Some(Urlwatch::new(exe, dir.path(), &server, n)),
        Ok(_) => {
            eprintln!("SITE_PASS_URLWATCH needs /usr/bin/time; urlwatch not run");
            None
        }
        Err(_) => None,
    };
    // urlwatch's rows, and redline's CPU seconds per pass beside them.
    let mut peer_rows: Vec<((String, f64), Option<f64>)> = Vec::new();
    if etag {
        println!("{n} pages, {generations} generations; pages carry an ETag: 304 when unchanged");
    } else {
        println!(
            "{n} pages, {generations} generations; no validators: every page answers 200 every time"
        );
    }
    println!(
        "| pass | site | wall | CPU (user+sys) | peak RSS | archive | changed reported | truth | false alerts | missed |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    // Pass 0 captures; pass 1 sees only noise (and learns the visible
    // "generated at" line); then one pass per generation.
    let mut passes = vec![(0usize, "capture"), (0, "noise only")];
    for g in 1..=generations {
        passes.push((g, "10% changed"));
    }
    for (k, (g, label)) in passes.into_iter().enumerate() {
        serve_generation(&server, n, g, etag);
        let truth: HashSet<String> = if k >= 2 {
            (0..n)
                .filter(|i| changed(*i, g))
                .map(|i| format!("p{i}"))
                .collect()
        } else {
            HashSet::new()
        };
        let redline = env!("CARGO_BIN_EXE_redline");
        // SITE_PASS_WRAP prefixes each pass's command, `{k}` being the pass
        // number: e.g. "perf record -g -o /tmp/pass-{k}.data --".
        let wrap: Vec<String> = std::env::var("SITE_PASS_WRAP")
            .map(|w| {
                w.split_whitespace()
                    .map(|x| x.replace("{k}", &k.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let mut cmd = if has_time {
            let mut c = Command::new("/usr/bin/time");
            c.args(["-f", "TIME %e %U %S %M"]).args(&wrap).arg(redline);
            c
        } else if let Some((first, rest)) = wrap.split_first() {
            let mut c = Command::new(first);
            c.args(rest).arg(redline);
            c
        } else {
            Command::new(redline)
        };
        let start = std::time::Instant::now();
        let out = cmd
            .arg("--config")
            .arg(&config)
            .arg("--db")
            .arg(&db)
            .args([
                "--host-interval",
                "0ms",
                "--per-host",
                "64",
                "check",
                "--json",
                "--quiet",
                "--no-notify",
                "--concurrency",
                "32",
            ])
            .output()
            .expect("redline");
        let wall = start.elapsed().as_secs_f64();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let timed = time_line(&stderr);
        let (cpu, rss) = timed.map_or_else(
            || ("-".into(), "-".into()),
            |(_, cpu, rss)| (format!("{cpu:.2} s"), format!("{:.0} MB", rss / 1024.0)),
        );
        let changed_now: HashSet<String> = stdout
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v["outcome"] == "changed")
            .filter_map(|v| v["watch"].as_str().map(str::to_string))
            .collect();
        let false_alerts = changed_now.difference(&truth).count();
        let missed = truth.difference(&changed_now).count();
        let archive = file_size(&db) + file_size(&db.with_extension("db-wal"));
        println!(
            "| {k} | {label} | {wall:.1} s | {cpu} | {rss} | {:.1} MB | {} | {} | {false_alerts} | {missed} |",
            archive as f64 / 1e6,
            changed_now.len(),
            truth.len()
        );
        if let Some(uw) = &urlwatch {
            peer_rows.push((uw.pass(k, label, &truth), timed.map(|t| t.1)));
        }
    }
    if !peer_rows.is_empty() {
        println!("\nurlwatch over the same site, each pass right after redline's:");
        println!(
            "| pass | site | wall | CPU (user+sys) | peak RSS | cache | changed reported | truth | false alerts | missed | redline CPU | urlwatch ÷ redline |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        for ((row, urlwatch_cpu), redline_cpu) in peer_rows {
            let (mine, ratio) = match redline_cpu {
                Some(r) if r > 0.0 => (format!("{r:.2} s"), format!("{:.0}×", urlwatch_cpu / r)),
                _ => ("-".into(), "-".into()),
            };
            println!("{row} {mine} | {ratio} |");
        }
    }
}
