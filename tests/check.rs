//! `redline check --json` end to end: the real binary, a real HTTP server on
//! loopback, a real SQLite file.

mod common;

use common::{Env, page};
use redline::serve::Reply;
use serde_json::json;

const P1: &str =
    "The United States is providing $40 million to support the African Union-led mission.";
const P1B: &str =
    "The United States is providing $60 million to support the African Union-led mission.";
const P2: &str = "This assistance will help transport Burundian troops.";

fn one_watch(env: &Env, path: &str) {
    env.config(&format!(
        "cron = \"*/30 * * * *\"\n\n[[watch]]\nname = \"car\"\nurl = \"{{base}}{path}\"\n"
    ));
}

#[test]
fn first_capture_then_unchanged_with_the_full_json_shape() {
    let env = Env::new();
    one_watch(&env, "/statement");
    env.serve("/statement", Reply::html(page("CAR", &[P1, P2])));

    let v = env.check_one("car");
    let url = env.server.url("/statement");
    assert_eq!(v["watch"], "car");
    assert_eq!(v["url"], url.as_str());
    assert_eq!(v["outcome"], "first_capture");
    assert_eq!(v["http_status"], 200);
    assert_eq!(v["version"], 1);
    assert_eq!(v["previous_version"], json!(null));
    assert_eq!(v["changes"], json!([]));
    assert_eq!(v["error"], json!(null));
    let checked_at = v["checked_at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(checked_at).is_ok(),
        "{checked_at}"
    );
    assert_eq!(v["summary"], "no changes");
    assert_eq!(v["significance"], json!(null));
    assert_eq!(v["alert"], false);
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "alert",
            "changes",
            "checked_at",
            "error",
            "http_status",
            "outcome",
            "previous_version",
            "significance",
            "summary",
            "url",
            "version",
            "watch"
        ]
    );

    let v = env.check_one("car");
    assert_eq!(
        (v["outcome"].as_str(), v["version"].as_i64()),
        (Some("unchanged"), Some(1))
    );
    assert_eq!(v["previous_version"], json!(null));
    assert_eq!(v["changes"], json!([]));
}

#[test]
fn rotating_invisible_noise_is_unchanged() {
    let env = Env::new();
    one_watch(&env, "/p");
    let noisy = |n: u32| {
        format!(
            "<html><head><title>CAR</title><meta name=\"csrf\" content=\"tok{n}\">\
             <script>var nonce = \"{n:08x}\";</script><style>.x{{}}</style></head><body>\
             <!-- generated in 0.{n}s on node {n} --><p>{P1}</p>\
             <form><input type=\"hidden\" name=\"token\" value=\"{n}\"></form>\
             <p data-nonce=\"{n}\">{P2}</p><noscript>nonce {n}</noscript></body></html>"
        )
    };
    env.serve("/p", Reply::html(noisy(1)));
    assert_eq!(env.check_one("car")["outcome"], "first_capture");
    for n in 2..5 {
        env.serve("/p", Reply::html(noisy(n * 7919)));
        let v = env.check_one("car");
        assert_eq!(v["outcome"], "unchanged", "{v}");
        assert_eq!(v["version"], 1);
    }
}

#[test]
fn edited_sentence_is_exactly_one_text_edited() {
    let env = Env::new();
    one_watch(&env, "/p");
    env.serve(
        "/p",
        Reply::html(page("CAR", &["Intro.", P1, P2, "Intro."])),
    );
    env.check_one("car");
    env.serve(
        "/p",
        Reply::html(page("CAR", &["Intro.", P1B, P2, "Intro."])),
    );
    let v = env.check_one("car");
    assert_eq!(v["outcome"], "changed");
    assert_eq!(
        (v["version"].as_i64(), v["previous_version"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        v["changes"],
        json!([{"type": "text_edited", "block": 2, "old_block": 2, "before": P1, "after": P1B}])
    );
    assert_eq!(
        v["summary"],
        "1 block edited in ¶2: \"$40 million\" → \"$60 million\""
    );
    assert_eq!(v["significance"], "major");
    assert_eq!(v["alert"], true);
}

#[test]
fn min_significance_keeps_minor_edits_from_alerting() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"car\"\nurl = \"{base}/p\"\nmin_significance = \"moderate\"\n");
    env.serve(
        "/p",
        Reply::html(page("CAR", &["The mision is underway.", P2])),
    );
    env.check_one("car");
    env.serve(
        "/p",
        Reply::html(page("CAR", &["The mission is underway.", P2])),
    );
    let v = env.check_one("car");
    // Archived and reported, but below the watch's alert threshold.
    assert_eq!(
        (v["outcome"].as_str(), v["version"].as_i64()),
        (Some("changed"), Some(2))
    );
    assert_eq!(v["significance"], "minor");
    assert_eq!(v["alert"], false);
    env.serve(
        "/p",
        Reply::html(page(
            "CAR",
            &["The mission is underway.", P2, "A new paragraph."],
        )),
    );
    let v = env.check_one("car");
    assert_eq!(
        (v["significance"].as_str(), v["alert"].as_bool()),
        (Some("major"), Some(true))
    );
}

#[test]
fn added_paragraph_is_text_added() {
    let env = Env::new();
    one_watch(&env, "/p");
    env.serve("/p", Reply::html(page("CAR", &[P1, P2])));
    env.check_one("car");
    env.serve(
        "/p",
        Reply::html(page("CAR", &[P1, "A new paragraph about MISCA.", P2])),
    );
    let v = env.check_one("car");
    assert_eq!(
        v["changes"],
        json!([{"type": "text_added", "block": 2, "text": "A new paragraph about MISCA."}])
    );
}

#[test]
fn gone_then_back_compares_with_the_last_good_version() {
    let env = Env::new();
    one_watch(&env, "/p");
    env.serve("/p", Reply::html(page("CAR", &[P1])));
    env.check_one("car");

    env.serve("/p", Reply::status(404));
    let v = env.check_one("car");
    assert_eq!(
        (v["outcome"].as_str(), v["http_status"].as_i64()),
        (Some("changed"), Some(404))
    );
    assert_eq!(v["changes"], json!([{"type": "page_gone", "status": 404}]));

    env.serve("/p", Reply::status(410));
    let v = env.check_one("car");
    assert_eq!(v["outcome"], "unchanged", "still gone is not news: {v}");

    env.serve("/p", Reply::html(page("CAR", &[P1B])));
    let v = env.check_one("car");
    assert_eq!(
        (v["version"].as_i64(), v["previous_version"].as_i64()),
        (Some(3), Some(2))
    );
    assert_eq!(
        v["changes"],
        json!([
            {"type": "page_back", "status": 200},
            {"type": "text_edited", "block": 1, "old_block": 1, "before": P1, "after": P1B}
        ])
    );
}

#[test]
fn redirect_to_a_new_final_url() {
    let env = Env::new();
    one_watch(&env, "/old");
    env.serve("/old", Reply::html(page("CAR", &[P1])));
    env.check_one("car");
    env.serve("/old", Reply::redirect(301, "/new"));
    env.serve("/new", Reply::html(page("CAR", &[P1])));
    let v = env.check_one("car");
    assert_eq!(v["outcome"], "changed");
    assert_eq!(
        v["changes"],
        json!([{"type": "redirected", "from": env.server.url("/old"), "to": env.server.url("/new")}])
    );
    // The same redirect again is not news.
    assert_eq!(env.check_one("car")["outcome"], "unchanged");
}

#[test]
fn windows_1252_page_is_decoded() {
    let env = Env::new();
    one_watch(&env, "/cp1252");
    let body = |s: &[u8]| {
        let mut b = b"<html><head><title>Caf\xe9</title></head><body><p>".to_vec();
        b.extend_from_slice(s);
        b.extend_from_slice(b"</p></body></html>");
        b
    };
    env.serve(
        "/cp1252",
        Reply::with_type(
            200,
            "text/html; charset=windows-1252",
            body(b"\x93Cr\xe8me br\xfbl\xe9e\x94 costs \x805"),
        ),
    );
    env.check_one("car");
    env.serve(
        "/cp1252",
        Reply::with_type(
            200,
            "text/html; charset=windows-1252",
            body(b"\x93Cr\xe8me br\xfbl\xe9e\x94 costs \x806"),
        ),
    );
    let v = env.check_one("car");
    assert_eq!(
        v["changes"],
        json!([{"type": "text_edited", "block": 1, "old_block": 1,
                "before": "“Crème brûlée” costs €5", "after": "“Crème brûlée” costs €6"}])
    );
    let out = env.cmd().args(["show", "car", "1"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("title: Café") && text.contains("“Crème brûlée” costs €5"),
        "{text}"
    );
    // --raw gives back the bytes exactly as served.
    let raw = env
        .cmd()
        .args(["show", "car", "1", "--raw"])
        .output()
        .unwrap();
    assert_eq!(
        raw.stdout,
        body(b"\x93Cr\xe8me br\xfbl\xe9e\x94 costs \x805")
    );
}

#[test]
fn select_ignore_and_ignore_text_apply() {
    let env = Env::new();
    env.config(
        "[[watch]]\nname = \"car\"\nurl = \"{base}/p\"\nselect = [\"#main\"]\nignore = [\".share\"]\nignore_text = ['Last checked: .*']\n",
    );
    let body = |menu: &str, checked: &str, share: &str| {
        format!(
            "<div id=nav><p>{menu}</p></div><div id=main><p>{P1}</p><p class=share>{share}</p><p>Last checked: {checked}</p></div>"
        )
    };
    env.serve("/p", Reply::html(body("Home", "10:00", "Share 3")));
    env.check_one("car");
    env.serve("/p", Reply::html(body("Home | About", "10:30", "Share 9")));
    assert_eq!(env.check_one("car")["outcome"], "unchanged");
}

#[test]
fn a_failing_watch_does_not_stop_the_others() {
    let env = Env::new();
    // Port 9 on loopback: nothing listens, the connection is refused.
    env.config(
        "[[watch]]\nname = \"good\"\nurl = \"{base}/p\"\n\n[[watch]]\nname = \"down\"\nurl = \"http://127.0.0.1:9/\"\n\n[[watch]]\nname = \"broken\"\nurl = \"{base}/500\"\n",
    );
    env.serve("/p", Reply::html(page("ok", &[P1])));
    env.serve("/500", Reply::status(500));
    let mut all = env.check(&[]);
    assert_eq!(all.len(), 3);
    all.sort_by_key(|v| v["watch"].as_str().unwrap().to_string());
    assert_eq!(all[0]["watch"], "broken");
    assert_eq!(all[0]["outcome"], "error");
    assert_eq!(all[0]["http_status"], 500);
    assert_eq!(all[0]["error"], "HTTP 500 Internal Server Error");
    assert_eq!(all[1]["watch"], "down");
    assert_eq!(all[1]["outcome"], "error");
    assert_eq!(all[1]["http_status"], json!(null));
    assert_eq!(all[1]["version"], json!(null));
    assert!(
        all[1]["error"].as_str().unwrap().contains("127.0.0.1:9"),
        "{}",
        all[1]["error"]
    );
    assert_eq!(all[2]["outcome"], "first_capture");
}

#[test]
fn config_error_names_file_and_line_and_fetches_nothing() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"car\"\nurl = \"{base}/p\"\nignore_txt = [\"x\"]\n");
    env.serve("/p", Reply::html(page("CAR", &[P1])));
    let out = env.cmd().args(["check", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let file = env.config.join("watches.toml");
    assert_eq!(
        stderr,
        format!(
            "error: {}:4:1: unknown key `ignore_txt` in [[watch]]\n  help: did you mean `ignore_text`?\n",
            file.display()
        )
    );
    assert!(
        env.server.hits().is_empty(),
        "nothing may be fetched: {:?}",
        env.server.hits()
    );
    assert!(
        !env.db.exists(),
        "no archive is created for a broken config"
    );
}

#[test]
fn unknown_watch_name_is_a_usage_error() {
    let env = Env::new();
    one_watch(&env, "/p");
    let out = env.cmd().args(["check", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("no watch named `nope`") && stderr.contains("configured: car"),
        "{stderr}"
    );
}

#[test]
fn example_schedules_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schedules");
    let cfg = redline::config::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(cfg.watches.len() >= 4);
    assert!(cfg.watch("car-support").is_some());
    assert!(cfg.watches.iter().all(|w| w.url.starts_with("https://")));
}
