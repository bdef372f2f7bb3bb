//! Feeds: new entries as `entry_added`, and `track_new` archiving each new
//! entry's page as a watch of its own.

mod common;

use common::{Env, page};
use redline::serve::Reply;
use serde_json::json;

fn rss(base: &str, items: &[(&str, &str)]) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Press Releases</title>",
    );
    for (slug, title) in items {
        s.push_str(&format!(
            "<item><title>{title}</title><link>{base}/r/{slug}</link><guid>{slug}</guid><pubDate>Sat, 07 Dec 2013 12:00:00 GMT</pubDate></item>"
        ));
    }
    s.push_str("</channel></rss>");
    s
}

fn serve_feed(env: &Env, items: &[(&str, &str)]) {
    env.serve(
        "/feed",
        Reply::with_type(
            200,
            "application/rss+xml; charset=utf-8",
            rss(&env.server.url(""), items),
        ),
    );
}

#[test]
fn new_feed_entries_are_entry_added() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"releases\"\nurl = \"{base}/feed\"\nkind = \"feed\"\n");
    serve_feed(
        &env,
        &[
            ("218300", "Daily Press Briefing"),
            ("218200", "Travel to Moldova"),
        ],
    );
    let v = env.check_one("releases");
    assert_eq!(v["outcome"], "first_capture");
    // The oldest entry falls off the end, a new one arrives on top.
    serve_feed(
        &env,
        &[
            (
                "218349",
                "U.S. Support to Peacekeepers in the Central African Republic",
            ),
            ("218300", "Daily Press Briefing"),
        ],
    );
    let v = env.check_one("releases");
    assert_eq!(
        v["changes"],
        json!([{"type": "entry_added", "id": "218349",
                "title": "U.S. Support to Peacekeepers in the Central African Republic",
                "link": env.server.url("/r/218349"), "date": "Sat, 07 Dec 2013 12:00:00 GMT"}])
    );
    assert_eq!(
        v["summary"],
        "1 new entry: \"U.S. Support to Peacekeepers in the Central African Republic\""
    );
}

#[test]
fn feeds_are_recognised_without_kind_by_their_type() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"releases\"\nurl = \"{base}/feed\"\n");
    serve_feed(&env, &[("1", "One")]);
    env.check_one("releases");
    serve_feed(&env, &[("2", "Two"), ("1", "One")]);
    let v = env.check_one("releases");
    let types: Vec<&str> = v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, vec!["entry_added"]);
}

#[test]
fn track_new_archives_each_new_entry_as_its_own_watch() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"releases\"\nurl = \"{base}/feed\"\nkind = \"feed\"\ntrack_new = true\n");
    serve_feed(&env, &[("218300", "Daily Press Briefing")]);
    env.serve(
        "/r/218300",
        Reply::html(page("Briefing", &["Old entry text."])),
    );
    env.check(&[]);
    // First capture: existing entries are not "new".
    assert!(!env.server.hits().contains(&"/r/218300".to_string()));

    serve_feed(
        &env,
        &[
            ("218349", "U.S. Support to Peacekeepers"),
            ("218300", "Daily Press Briefing"),
        ],
    );
    env.serve(
        "/r/218349",
        Reply::html(page(
            "CAR",
            &["The United States is providing $40 million."],
        )),
    );
    let results = env.check(&[]);
    assert_eq!(results.len(), 2, "{results:?}");
    let child = results.iter().find(|r| r["watch"] != "releases").unwrap();
    let child_name = child["watch"].as_str().unwrap().to_string();
    assert!(
        child_name.starts_with("releases--127.0.0.1-"),
        "{child_name}"
    );
    assert_eq!(child["outcome"], "first_capture");
    assert_eq!(child["url"], env.server.url("/r/218349").as_str());

    // Later passes keep checking the tracked page.
    env.serve(
        "/r/218349",
        Reply::html(page(
            "CAR",
            &["The United States is providing $60 million."],
        )),
    );
    let results = env.check(&[]);
    let child = results
        .iter()
        .find(|r| r["watch"] == child_name.as_str())
        .unwrap();
    assert_eq!(child["outcome"], "changed");
    assert_eq!(child["changes"][0]["type"], "text_edited");
    // And it can be checked by name.
    assert_eq!(env.check_one(&child_name)["outcome"], "unchanged");
}

#[test]
fn track_new_needs_a_feed() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"p\"\nurl = \"{base}/p\"\ntrack_new = true\nkind = \"blog\"\n");
    let out = env.cmd().arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("watches.toml:5:8: key `kind`: unknown kind `blog`"),
        "{err}"
    );
    assert!(
        err.contains("watches.toml:4:13: key `track_new`: only feeds have new entries to track"),
        "{err}"
    );
}
