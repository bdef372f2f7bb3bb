//! Polite and efficient fetching, measured from the server's side:
//! conditional requests, robots.txt, per-host spacing, Retry-After,
//! retries, and fault reports without spam.

mod common;

use common::{Env, page};
use redline::serve::Reply;
use serde_json::json;
use std::time::Duration;

const P1: &str = "The United States is providing $40 million to support the mission.";

fn one(env: &Env, extra: &str) {
    env.config(&format!(
        "[[watch]]\nname = \"w\"\nurl = \"{{base}}/p\"\n{extra}"
    ));
}

#[test]
fn conditional_requests_and_304() {
    let env = Env::new();
    one(&env, "");
    env.serve(
        "/p",
        Reply::html(page("CAR", &[P1])).header("ETag", "\"v1\""),
    );
    assert_eq!(env.check_one("w")["outcome"], "first_capture");
    let v = env.check_one("w");
    assert_eq!(
        (v["outcome"].as_str(), v["http_status"].as_i64()),
        (Some("unchanged"), Some(304))
    );
    let reqs = env.server.requests();
    let heads: Vec<&String> = reqs
        .iter()
        .filter(|(p, _)| p == "/p")
        .map(|(_, h)| h)
        .collect();
    assert_eq!(heads.len(), 2);
    assert!(
        !heads[0].to_ascii_lowercase().contains("if-none-match"),
        "{}",
        heads[0]
    );
    assert!(
        heads[1]
            .to_ascii_lowercase()
            .contains("if-none-match: \"v1\""),
        "{}",
        heads[1]
    );

    // A server whose validators lie (a new ETag, the same content): still
    // unchanged, and the next request carries the new ETag.
    env.serve(
        "/p",
        Reply::html(page("CAR", &[P1])).header("ETag", "\"v2\""),
    );
    assert_eq!(env.check_one("w")["outcome"], "unchanged");
    assert_eq!(env.check_one("w")["http_status"], 304);
    let out = env.cmd().args(["log", "w"]).output().unwrap();
    let log = String::from_utf8(out.stdout).unwrap();
    assert!(log.contains("4 checks (0 with errors)"), "{log}");
}

#[test]
fn robots_txt_is_obeyed_unless_the_watch_opts_out() {
    let env = Env::new();
    env.config(
        "[[watch]]\nname = \"blocked\"\nurl = \"{base}/private/p\"\n\n[[watch]]\nname = \"mine\"\nurl = \"{base}/private/q\"\nrobots = false\n",
    );
    env.serve(
        "/robots.txt",
        Reply::with_type(200, "text/plain", "User-agent: *\nDisallow: /private/\n"),
    );
    env.serve("/private/p", Reply::html(page("P", &[P1])));
    env.serve("/private/q", Reply::html(page("Q", &[P1])));
    let mut all = env.check(&[]);
    all.sort_by_key(|v| v["watch"].as_str().unwrap().to_string());
    assert_eq!(all[0]["watch"], "blocked");
    assert_eq!(all[0]["outcome"], "error");
    assert_eq!(
        all[0]["error"],
        "blocked by robots.txt (Disallow: /private/); set robots = false on the watch if you may read it anyway"
    );
    assert_eq!(all[1]["outcome"], "first_capture");
    let hits = env.server.hits();
    assert!(!hits.contains(&"/private/p".to_string()), "{hits:?}");
    assert_eq!(
        hits.iter().filter(|h| *h == "/robots.txt").count(),
        1,
        "robots.txt is read once per host: {hits:?}"
    );
}

#[test]
fn a_robots_txt_the_server_fails_to_give_blocks_the_host_for_now() {
    let env = Env::new();
    env.config(
        "[[watch]]\nname = \"polite\"\nurl = \"{base}/p\"\n\n[[watch]]\nname = \"mine\"\nurl = \"{base}/q\"\nrobots = false\n",
    );
    env.serve("/robots.txt", Reply::with_type(503, "text/plain", "down"));
    env.serve("/p", Reply::html(page("P", &[P1])));
    env.serve("/q", Reply::html(page("Q", &[P1])));
    let mut all = env.check(&[]);
    all.sort_by_key(|v| v["watch"].as_str().unwrap().to_string());
    assert_eq!(all[0]["watch"], "mine");
    assert_eq!(all[0]["outcome"], "first_capture");
    assert_eq!(all[1]["outcome"], "error");
    assert_eq!(
        all[1]["error"],
        "blocked by robots.txt (it could not be read: HTTP 503; until it can, nothing may be fetched (RFC 9309)); set robots = false on the watch if you may read it anyway"
    );
    assert!(!env.server.hits().contains(&"/p".to_string()));
    // A missing robots.txt (404) allows everything.
    env.serve("/robots.txt", Reply::with_type(404, "text/plain", "none"));
    assert_eq!(env.check_one("polite")["outcome"], "first_capture");
}

#[test]
fn requests_to_one_host_are_spaced() {
    let env = Env::new();
    let mut cfg = String::new();
    for i in 0..4 {
        cfg.push_str(&format!(
            "[[watch]]\nname = \"w{i}\"\nurl = \"{{base}}/p\"\nrobots = false\n\n"
        ));
    }
    env.config(&cfg);
    env.serve("/p", Reply::html(page("CAR", &[P1])));
    let out = env
        .cmd()
        .args([
            "--host-interval",
            "300ms",
            "--per-host",
            "4",
            "check",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let times = env.server.times("/p");
    assert_eq!(times.len(), 4);
    let mut sorted = times.clone();
    sorted.sort();
    for pair in sorted.windows(2) {
        let gap = pair[1] - pair[0];
        // Starts are reserved 300ms apart; allow for scheduling noise.
        assert!(
            gap >= Duration::from_millis(250),
            "requests only {gap:?} apart"
        );
    }
}

#[test]
fn retry_after_is_obeyed_and_transient_errors_retried() {
    let env = Env::new();
    one(&env, "robots = false\n");
    env.server.set_sequence(
        "/p",
        vec![
            Reply::status(503).header("Retry-After", "1"),
            Reply::html(page("CAR", &[P1])),
        ],
    );
    let v = env.check_one("w");
    assert_eq!(v["outcome"], "first_capture", "{v}");
    let times = env.server.times("/p");
    assert_eq!(times.len(), 2);
    assert!(
        times[1] - times[0] >= Duration::from_millis(950),
        "waited only {:?}",
        times[1] - times[0]
    );

    // A 500 followed by a good answer is one successful check.
    env.server.set_sequence(
        "/p",
        vec![Reply::status(500), Reply::html(page("CAR", &[P1]))],
    );
    assert_eq!(env.check_one("w")["outcome"], "unchanged");
}

#[test]
fn a_flapping_server_gives_one_failing_and_one_recovered_report() {
    let env = Env::new();
    one(&env, "robots = false\nfailing_after = 3\n");
    env.serve("/p", Reply::html(page("CAR", &[P1])));
    env.check_one("w");
    // 404 would be page_gone; a 403 is a failure.
    env.serve("/p", Reply::status(403));
    let mut failing = Vec::new();
    for _ in 0..5 {
        let v = env.check_one("w");
        assert_eq!(v["outcome"], "error");
        failing.push(v["changes"].clone());
    }
    assert_eq!(failing[0], json!([]));
    assert_eq!(failing[1], json!([]));
    assert_eq!(
        failing[2],
        json!([{"type": "fetch_failing", "failures": 3, "error": "HTTP 403 Forbidden"}])
    );
    assert_eq!(failing[3], json!([]));
    assert_eq!(failing[4], json!([]));
    env.serve("/p", Reply::html(page("CAR", &[P1])));
    let v = env.check_one("w");
    assert_eq!(v["outcome"], "unchanged");
    assert_eq!(
        v["changes"],
        json!([{"type": "fetch_recovered", "failures": 5}])
    );
    assert_eq!(v["summary"], "answering again after 5 failed checks");
    assert_eq!(env.check_one("w")["changes"], json!([]));
}

#[test]
fn from_and_user_agent_are_sent() {
    let env = Env::new();
    one(&env, "robots = false\n");
    env.serve("/p", Reply::html(page("CAR", &[P1])));
    let out = env
        .cmd()
        .args([
            "--from",
            "desk@example.org",
            "--user-agent",
            "redline-test/1 (+desk@example.org)",
            "check",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let head = env.server.requests()[0].1.to_ascii_lowercase();
    assert!(head.contains("from: desk@example.org"), "{head}");
    assert!(
        head.contains("user-agent: redline-test/1 (+desk@example.org)"),
        "{head}"
    );
}

#[test]
fn robots_crawl_delay_spaces_requests() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"a\"\nurl = \"{base}/a\"\n\n[[watch]]\nname = \"b\"\nurl = \"{base}/b\"\n");
    env.serve(
        "/robots.txt",
        Reply::with_type(200, "text/plain", "User-agent: *\nCrawl-delay: 1\n"),
    );
    env.serve("/a", Reply::html(page("A", &[P1])));
    env.serve("/b", Reply::html(page("B", &[P1])));
    let out = env
        .cmd()
        .args(["--host-interval", "0ms", "check", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut times = env.server.times("/a");
    times.extend(env.server.times("/b"));
    times.sort();
    assert_eq!(times.len(), 2);
    assert!(
        times[1] - times[0] >= Duration::from_millis(950),
        "only {:?} apart",
        times[1] - times[0]
    );
}
