//! The archive in and out of the web-archiving standards, and kept in
//! bounds: WARC export read back by an independent reader (the `warc`
//! crate, not redline's code), import round trips, retention and `gc`.

mod common;

use common::{Env, page};
use redline::serve::Reply;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{BufReader, Read};
use warc::{RecordType, WarcHeader, WarcReader};

fn run(env: &Env, args: &[&str]) -> String {
    let out = env.cmd().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "redline {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The real binary on the test's config with another archive.
fn with_db(env: &Env, db: &std::path::Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("redline").unwrap();
    c.arg("--config").arg(&env.config).arg("--db").arg(db);
    c
}

fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A history with every kind of capture: first capture, unchanged
/// (revisit of the same response), an edit, the page gone, the page back
/// with a body archived before (revisit by digest), a 304.
fn history(env: &Env) -> Vec<String> {
    env.config(
        r#"
[[watch]]
name = "statement"
url = "{base}/statement"
confirm = false
"#,
    );
    let v1 = page(
        "Statement",
        &[
            "The United States will provide $40 million in assistance.",
            "We call on all parties to respect the ceasefire.",
        ],
    );
    let v2 = page(
        "Statement",
        &[
            "The United States will provide $60 million in assistance.",
            "We call on all parties to respect the ceasefire.",
        ],
    );
    let v3 = page(
        "Statement",
        &[
            "The United States will provide $60 million in assistance.",
            "We call on all parties to respect the ceasefire.",
            "Secretary Blinken will travel to the region next week.",
        ],
    );
    let mut outcomes = Vec::new();
    let steps: Vec<Reply> = vec![
        Reply::html(v1.clone()),
        Reply::html(v1.clone()),
        Reply::html(v2.clone()),
        Reply::status(404),
        Reply::html(v2.clone()),
        Reply::html(v3.clone()).header("ETag", "\"v3\""),
        Reply::html(v3.clone()).header("ETag", "\"v3\""),
    ];
    for r in steps {
        env.serve("/statement", r);
        outcomes.push(
            env.check_one("statement")["outcome"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    outcomes
}

fn read_all(path: &std::path::Path) -> Vec<warc::Record<warc::BufferedBody>> {
    WarcReader::from_path_gzip(path)
        .unwrap()
        .iter_records()
        .map(|r| r.unwrap_or_else(|e| panic!("the warc crate rejects a record: {e}")))
        .collect()
}

#[test]
fn export_is_read_back_by_an_independent_reader_record_by_record() {
    let env = Env::new();
    let outcomes = history(&env);
    assert_eq!(
        outcomes,
        [
            "first_capture",
            "unchanged",
            "changed",
            "changed",
            "changed",
            "changed",
            "unchanged"
        ]
    );
    let warc_path = env.dir.path().join("out.warc.gz");
    let said = run(&env, &["export", "--warc", warc_path.to_str().unwrap()]);
    assert!(said.contains("4 response(s), 3 revisit(s)"), "{said}");

    let records = read_all(&warc_path);
    let kinds: Vec<String> = records.iter().map(|r| r.warc_type().to_string()).collect();
    let count = |k: &str| kinds.iter().filter(|x| *x == k).count();
    assert_eq!(kinds[0], "warcinfo");
    assert_eq!(count("response"), 4, "{kinds:?}");
    assert_eq!(count("request"), 4);
    assert_eq!(count("revisit"), 3);
    // A metadata record for every new response (the revisit by digest too).
    assert_eq!(count("metadata"), 5);

    let mut by_id: HashMap<String, &warc::Record<warc::BufferedBody>> = HashMap::new();
    for r in &records {
        assert_eq!(r.warc_version(), "1.1");
        assert!(
            by_id.insert(r.warc_id().to_string(), r).is_none(),
            "duplicate record id"
        );
        // The block digest is the SHA-256 of the block as stored.
        let digest = r.header(WarcHeader::BlockDigest).unwrap();
        assert_eq!(digest, redline::warc::digest(r.body()));
    }
    // Responses: the exact bytes the server sent, and the capture dates.
    let mut bodies = Vec::new();
    for r in records
        .iter()
        .filter(|r| *r.warc_type() == RecordType::Response)
    {
        let block = r.body();
        let split = block.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let head = String::from_utf8_lossy(&block[..split]).to_string();
        assert!(head.starts_with("HTTP/1.1 "), "{head}");
        assert!(!head.to_ascii_lowercase().contains("transfer-encoding"));
        let payload = &block[split..];
        assert_eq!(
            r.header(WarcHeader::PayloadDigest).unwrap(),
            redline::warc::digest(payload)
        );
        assert!(
            r.header(WarcHeader::TargetURI)
                .unwrap()
                .ends_with("/statement")
        );
        bodies.push((head, payload.to_vec()));
    }
    assert!(bodies[0].1.windows(11).any(|w| w == b"$40 million"));
    assert!(bodies[0].0.starts_with("HTTP/1.1 200 OK"));
    assert!(bodies[2].0.starts_with("HTTP/1.1 404 Not Found"));
    // Revisits refer to records in the file with the same payload.
    for r in records
        .iter()
        .filter(|r| *r.warc_type() == RecordType::Revisit)
    {
        let to = r.header(WarcHeader::RefersTo).unwrap();
        let target = by_id
            .get(to.as_ref())
            .expect("revisit refers to a record in the file");
        let profile = r.header(WarcHeader::Profile).unwrap();
        if profile.ends_with("identical-payload-digest") {
            assert_eq!(
                r.header(WarcHeader::PayloadDigest),
                target.header(WarcHeader::PayloadDigest)
            );
        } else {
            assert!(profile.ends_with("server-not-modified"), "{profile}");
            assert!(String::from_utf8_lossy(r.body()).starts_with("HTTP/1.1 304"));
        }
        assert!(r.date() >= target.date());
    }

    // The CDXJ index: sorted, and every line points at one gzip member
    // holding exactly the record it names.
    let cdx = std::fs::read_to_string(format!("{}.cdxj", warc_path.display())).unwrap();
    let lines: Vec<&str> = cdx.lines().collect();
    assert_eq!(lines.len(), 7, "{cdx}");
    let mut sorted = lines.clone();
    sorted.sort();
    assert_eq!(lines, sorted);
    let file = std::fs::read(&warc_path).unwrap();
    for line in lines {
        let mut parts = line.splitn(3, ' ');
        let (surt, ts, json) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        assert!(
            surt.starts_with("127.0.0.1:") && surt.ends_with(")/statement"),
            "{surt}"
        );
        assert_eq!(ts.len(), 14);
        let j: Value = serde_json::from_str(json).unwrap();
        let offset: usize = j["offset"].as_str().unwrap().parse().unwrap();
        let length: usize = j["length"].as_str().unwrap().parse().unwrap();
        let mut member = Vec::new();
        flate2::read::GzDecoder::new(&file[offset..offset + length])
            .read_to_end(&mut member)
            .unwrap();
        let mut one: Vec<_> = WarcReader::new(BufReader::new(&member[..]))
            .iter_records()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(one.len(), 1, "one record per gzip member");
        let rec = one.remove(0);
        assert_eq!(
            rec.header(WarcHeader::TargetURI).as_deref(),
            j["url"].as_str()
        );
        assert_eq!(rec.date().format("%Y%m%d%H%M%S").to_string(), ts);
        let kind = rec.warc_type().to_string();
        if j["mime"] == "warc/revisit" {
            assert_eq!(kind, "revisit");
        } else {
            assert_eq!(kind, "response");
            let expected = if j["status"] == "200" {
                "text/html"
            } else {
                "text/plain"
            };
            assert_eq!(j["mime"], expected, "{j}");
        }
    }
}

#[test]
fn archive_to_warc_to_fresh_archive_gives_the_same_pages_and_history() {
    let env = Env::new();
    history(&env);
    let warc_path = env.dir.path().join("out.warc.gz");
    run(&env, &["export", "--warc", warc_path.to_str().unwrap()]);

    let fresh = env.dir.path().join("fresh.db");
    let imported = with_db(&env, &fresh)
        .args(["import", "--warc", warc_path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    let said = String::from_utf8_lossy(&imported.stdout);
    assert!(
        said.contains("statement: 7 capture(s) imported, 5 new version(s)"),
        "{said}"
    );
    let in_fresh = |args: &[&str]| {
        let out = with_db(&env, &fresh).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let original = json_lines(&run(&env, &["log", "statement", "--json"]));
    let copy = json_lines(&in_fresh(&["log", "statement", "--json"]));
    assert_eq!(original.len(), 5);
    assert_eq!(copy.len(), original.len());
    for (a, b) in original.iter().zip(&copy) {
        assert!(a["imported"].is_null());
        assert!(
            b["imported"]
                .as_str()
                .unwrap()
                .contains("out.warc.gz#<urn:uuid:"),
            "{b}"
        );
        let mut a = a.clone();
        let mut b = b.clone();
        a.as_object_mut().unwrap().remove("imported");
        b.as_object_mut().unwrap().remove("imported");
        assert_eq!(a, b, "same version, date, status, summary, later checks");
    }
    for n in 2..=5 {
        let prev = (n - 1).to_string();
        let n = n.to_string();
        assert_eq!(
            run(&env, &["diff", "statement", &prev, &n, "--json"]),
            in_fresh(&["diff", "statement", &prev, &n, "--json"]),
            "the changes of version {n}"
        );
    }
    for n in ["1", "3", "5"] {
        assert_eq!(
            run(&env, &["show", "statement", n, "--raw"]),
            in_fresh(&["show", "statement", n, "--raw"]),
        );
    }
    // The copy is sound, and a second import adds nothing.
    in_fresh(&["verify"]);
    let again = with_db(&env, &fresh)
        .args(["import", "--warc", warc_path.to_str().unwrap()])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(
        said.contains("0 capture(s) imported, 0 new version(s); 7 capture(s) not newer"),
        "{said}"
    );
}

/// A WARC as other archivers write it: WARC/1.0, not compressed per record,
/// bodies as they came over the wire (chunked, gzip), SHA-1 digests, a
/// revisit by digest, a DNS record and a broken record at the end.
#[test]
fn foreign_warc_back_fills_a_new_watch_in_capture_order() {
    use std::io::Write;
    let env = Env::new();
    env.config(
        r#"
[[watch]]
name = "briefing"
url = "https://www.state.gov/briefings/department-press-briefing/"
confirm = false
"#,
    );
    fn record(kind: &str, id: &str, date: &str, uri: &str, extra: &str, block: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Date: {date}\r\nWARC-Target-URI: {uri}\r\n{extra}Content-Type: application/http; msgtype=response\r\nContent-Length: {}\r\n\r\n",
            block.len()
        )
        .into_bytes();
        r.extend_from_slice(block);
        r.extend_from_slice(b"\r\n\r\n");
        r
    }
    fn gzip_chunked(html: &str) -> Vec<u8> {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(html.as_bytes()).unwrap();
        let z = gz.finish().unwrap();
        let mut b = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        b.extend_from_slice(format!("{:x}\r\n", z.len()).as_bytes());
        b.extend_from_slice(&z);
        b.extend_from_slice(b"\r\n0\r\n\r\n");
        b
    }
    let uri = "https://www.state.gov/briefings/department-press-briefing/";
    let older = page(
        "Briefing",
        &["MR MILLER: Good afternoon. [inaudible] on Sudan."],
    );
    let newer = page(
        "Briefing",
        &["MR MILLER: Good afternoon. Let me start on Sudan."],
    );
    let mut file = Vec::new();
    // Out of order on purpose: the newer capture comes first in the file.
    file.extend(record(
        "response",
        "b",
        "2024-03-02T10:00:00Z",
        uri,
        "WARC-Payload-Digest: sha1:NEWER\r\n",
        &gzip_chunked(&newer),
    ));
    file.extend(record(
        "response",
        "a",
        "2024-03-01T10:00:00Z",
        uri,
        "WARC-Payload-Digest: sha1:OLDER\r\n",
        &gzip_chunked(&older),
    ));
    file.extend(record(
        "revisit",
        "c",
        "2024-03-05T10:00:00Z",
        uri,
        "WARC-Profile: http://netpreserve.org/warc/1.0/revisit/identical-payload-digest\r\nWARC-Payload-Digest: sha1:NEWER\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n",
    ));
    file.extend(record(
        "response",
        "d",
        "2024-03-01T09:00:00Z",
        "dns:www.state.gov",
        "",
        b"www.state.gov. 300 IN A 1.2.3.4",
    ));
    file.extend_from_slice(
        b"WARC/1.0\r\nWARC-Type: response\r\nContent-Length: 99999\r\n\r\ntruncated",
    );
    let path = env.dir.path().join("wayback.warc");
    std::fs::write(&path, file).unwrap();

    let out = env
        .cmd()
        .args(["import", "--warc", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The good captures land; the broken record is named, and the exit
    // status says something was left out.
    assert!(
        stdout.contains("briefing: 3 capture(s) imported, 2 new version(s)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("WARC record 5") && stderr.contains("truncated: 9 of 99999"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(1));
    let log = json_lines(&run(&env, &["log", "briefing", "--json"]));
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["created_at"], "2024-03-01T10:00:00.000Z");
    assert_eq!(log[1]["created_at"], "2024-03-02T10:00:00.000Z");
    assert_eq!(log[1]["checks_after"]["unchanged"], 1);
    assert!(
        log[1]["imported"]
            .as_str()
            .unwrap()
            .ends_with("#<urn:uuid:b>")
    );
    let diff = run(&env, &["diff", "briefing", "--json"]);
    assert!(
        diff.contains("[inaudible]") && diff.contains("Let me start"),
        "{diff}"
    );
    // The bodies are kept decoded, as if redline had fetched them.
    let raw = run(&env, &["show", "briefing", "1", "--raw"]);
    assert_eq!(raw, older);
    run(&env, &["verify"]);
}

#[test]
fn retention_prunes_middle_versions_and_never_a_blob_still_needed() {
    let env = Env::new();
    env.config(
        r#"
keep_versions = 2

[[watch]]
name = "post"
url = "{base}/post"
confirm = false
"#,
    );
    let body = |n: usize| {
        let mut paras: Vec<String> = (0..60)
            .map(|i| format!("Paragraph {i} of a long blog post about the budget, with enough words to matter."))
            .collect();
        paras.push(format!("Update number {n}."));
        let refs: Vec<&str> = paras.iter().map(String::as_str).collect();
        page("Post", &refs)
    };
    // Versions 1..6; the fourth has the same body as the first, so its
    // blob is shared with a version that must stay.
    for n in [1, 2, 3, 1, 5, 6] {
        env.serve("/post", Reply::html(body(n)));
        env.check_one("post");
        run(&env, &["verify"]);
    }
    let log = json_lines(&run(&env, &["log", "post", "--json"]));
    let numbers: Vec<i64> = log.iter().map(|v| v["version"].as_i64().unwrap()).collect();
    // The first and the latest two remain; the rest were pruned as they
    // fell out of the window.
    assert_eq!(numbers, [1, 5, 6]);
    let text = run(&env, &["log", "post"]);
    assert!(text.contains("pruned by retention: v2, v3, v4"), "{text}");
    assert_eq!(run(&env, &["show", "post", "1", "--raw"]), body(1));
    assert_eq!(run(&env, &["show", "post", "6", "--raw"]), body(6));
    // Change history survives pruning.
    let changes = json_lines(&run(&env, &["changes", "--json"]));
    assert_eq!(changes.len(), 5, "{changes:?}");
    // The next change compares with the latest version, as before.
    env.serve("/post", Reply::html(body(7)));
    let r = env.check_one("post");
    assert_eq!(r["outcome"], "changed");
    assert_eq!(r["changes"].as_array().unwrap().len(), 1, "{r}");
    let gc = run(&env, &["gc"]);
    assert!(gc.contains("MB →"), "{gc}");
    assert!(
        !gc.contains("rewritten"),
        "a new archive vacuums incrementally: {gc}"
    );
    let full = run(&env, &["gc", "--full"]);
    assert!(
        full.contains("MB →") && full.ends_with("(rewritten)\n"),
        "{full}"
    );
    run(&env, &["verify"]);
    assert_eq!(run(&env, &["show", "post", "6", "--raw"]), body(6));
}
