//! Visible text that changes on its own is learned and never alerts;
//! changes that survive the confirming re-fetch are reported.

mod common;

use common::Env;
use redline::serve::Reply;
use serde_json::json;

const P1: &str = "The United States is providing $40 million to support the mission.";
const P1B: &str = "The United States is providing $60 million to support the mission.";

fn page(body: &str) -> String {
    format!(
        "<html><head><title>Briefing</title></head><body><div id=\"main\"><h1>Daily Press Briefing</h1>{body}\
         <p>Page generated at 10:31:{{{{SEQ}}}} by server {{{{SEQ}}}}</p><p>Visitors today: 1,2{{{{SEQ}}}}</p></div></body></html>"
    )
}

/// Requests for the page itself (robots.txt is asked for too).
fn page_hits(env: &Env) -> usize {
    env.server
        .hits()
        .iter()
        .filter(|p| p.as_str() != "/robots.txt")
        .count()
}

fn watch(env: &Env, extra: &str) {
    env.config(&format!(
        "[[watch]]\nname = \"b\"\nurl = \"{{base}}/b\"\nconfirm_delay = \"50ms\"\n{extra}"
    ));
}

#[test]
fn visible_timestamps_are_learned_and_then_ignored() {
    let env = Env::new();
    watch(&env, "");
    env.serve("/b", Reply::dynamic_html(page(&format!("<p>{P1}</p>"))));
    assert_eq!(env.check_one("b")["outcome"], "first_capture");

    // The timestamp and counter moved: suspected, re-fetched, found to move
    // on their own, learned, not reported.
    let v = env.check_one("b");
    assert_eq!(v["outcome"], "unchanged", "{v}");
    assert_eq!(page_hits(&env), 3, "one confirming re-fetch");

    let text = env.stdout(&["show", "b", "--volatile"]);
    assert!(
        text.contains("blocks starting “Page generated at …”"),
        "{text}"
    );
    assert!(
        text.contains("blocks starting “Visitors today: …”"),
        "{text}"
    );

    // Learned rules apply at once: no more re-fetches for this noise.
    assert_eq!(env.check_one("b")["outcome"], "unchanged");
    assert_eq!(page_hits(&env), 4);

    // A real edit among the noise survives the confirmation.
    env.serve("/b", Reply::dynamic_html(page(&format!("<p>{P1B}</p>"))));
    let v = env.check_one("b");
    assert_eq!(v["outcome"], "changed");
    assert_eq!(
        v["changes"],
        json!([{"type": "text_edited", "block": 2, "old_block": 2, "before": P1, "after": P1B}])
    );
    assert_eq!(page_hits(&env), 6, "the edit was confirmed by a re-fetch");
}

#[test]
fn a_confirmation_differing_only_invisibly_keeps_the_first_capture() {
    let env = Env::new();
    env.config(
        "[[watch]]\nname = \"b\"\nurl = \"{base}/b\"\nconfirm_delay = \"50ms\"\nrobots = false\n",
    );
    // A nonce in a script and a footer line that are new on every request:
    // neither is part of the extracted page.
    let body = |p: &str| {
        format!(
            "<html><head><title>Briefing</title><script>var nonce='nonce-{{{{SEQ}}}}';</script></head><body>\
             <main><h1>Daily Press Briefing</h1><p>{p}</p></main>\
             <footer><p>Served by node {{{{SEQ}}}}</p></footer></body></html>"
        )
    };
    env.serve("/b", Reply::dynamic_html(body(P1)));
    assert_eq!(env.check_one("b")["outcome"], "first_capture");
    env.serve("/b", Reply::dynamic_html(body(P1B)));
    let before = env.server.hits().len();
    let v = env.check_one("b");
    assert_eq!(v["outcome"], "changed", "{v}");
    assert_eq!(
        v["changes"],
        json!([{"type": "text_edited", "block": 2, "old_block": 2, "before": P1, "after": P1B}])
    );
    assert_eq!(
        env.server.hits().len(),
        before + 2,
        "fetched, then confirmed"
    );
    // What was recorded is the first fetch, the one the page came from
    // (`{{SEQ}}` counts requests, this one included), not the confirmation.
    let raw = env.stdout(&["show", "--raw", "b", "2"]);
    assert!(raw.contains(&format!("nonce-{}'", before + 1)), "{raw}");
    // The footer line never reached the page: nothing was learned from it.
    let text = env.stdout(&["show", "b", "--volatile"]);
    assert!(!text.contains("Served by"), "{text}");
    // The page stored with it (held while the confirmation waited) is the
    // edited one, and the archive verifies.
    let text = env.stdout(&["show", "b"]);
    assert!(text.contains(P1B) && !text.contains(P1), "{text}");
    assert!(env.stdout(&["verify"]).ends_with(": ok\n"));
}

#[test]
fn confirmation_can_be_turned_off() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"b\"\nurl = \"{base}/b\"\nconfirm = false\n");
    env.serve("/b", Reply::dynamic_html(page(&format!("<p>{P1}</p>"))));
    env.check_one("b");
    let v = env.check_one("b");
    assert_eq!(
        v["outcome"], "changed",
        "without confirmation the timestamp is news: {v}"
    );
    assert_eq!(page_hits(&env), 2);
}

#[test]
fn compare_last_absorbs_a_page_flipping_between_states() {
    flipping_page("confirm = false");
}

/// The same with each edit confirmed by a second fetch: the page compared
/// with the earlier versions is the one held through the confirmation.
#[test]
fn compare_last_absorbs_a_flipping_page_after_confirmations() {
    flipping_page("confirm = true\nconfirm_delay = \"10ms\"");
}

fn flipping_page(confirm: &str) {
    let env = Env::new();
    let body = |banner: &str| {
        format!("<html><body><div id=main><p>{banner}</p><p>{P1}</p></div></body></html>")
    };
    env.config(&format!(
        "[[watch]]\nname = \"ab\"\nurl = \"{{base}}/ab\"\n{confirm}\ncompare_last = 3\n"
    ));
    env.serve(
        "/ab",
        Reply::html(body("Donate to our annual appeal today, every gift helps")),
    );
    env.check_one("ab");
    env.serve(
        "/ab",
        Reply::html(body(
            "Sign up for our weekly newsletter about Africa policy",
        )),
    );
    // The first flip is news: B was never seen.
    assert_eq!(env.check_one("ab")["outcome"], "changed");
    // Back to A, then B again: both seen within the last 3 versions.
    env.serve(
        "/ab",
        Reply::html(body("Donate to our annual appeal today, every gift helps")),
    );
    assert_eq!(env.check_one("ab")["outcome"], "unchanged");
    env.serve(
        "/ab",
        Reply::html(body(
            "Sign up for our weekly newsletter about Africa policy",
        )),
    );
    assert_eq!(env.check_one("ab")["outcome"], "unchanged");
    // Something new is still reported.
    env.serve(
        "/ab",
        Reply::html(body(
            "A brand new banner nobody has seen before, really new",
        )),
    );
    assert_eq!(env.check_one("ab")["outcome"], "changed");
}

#[test]
fn ignore_text_leaves_comparison_and_reports_alike() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"b\"\nurl = \"{base}/b\"\nignore_text = ['Last updated: .*']\n");
    let body = |t: &str| {
        format!("<html><body><div id=main><p>{P1}</p><p>Last updated: {t}</p></div></body></html>")
    };
    env.serve("/b", Reply::html(body("10:00")));
    env.check_one("b");
    env.serve("/b", Reply::html(body("11:00")));
    assert_eq!(env.check_one("b")["outcome"], "unchanged");
    let out = env.cmd().args(["show", "b"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(P1) && !text.contains("Last updated"),
        "{text}"
    );
}

#[test]
fn bad_noise_options_are_config_errors() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"b\"\nurl = \"{base}/b\"\nconfirm_delay = \"soon\"\ncompare_last = 0\nmin_significance = \"huge\"\n");
    let out = env.cmd().arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("watches.toml:4:17: key `confirm_delay`: `soon` is not a duration"),
        "{err}"
    );
    assert!(
        err.contains("watches.toml:5:16: key `compare_last`: 0 is out of range"),
        "{err}"
    );
    assert!(
        err.contains("watches.toml:6:20: key `min_significance`: unknown level `huge`"),
        "{err}"
    );
}

/// The version's remembered texts its page does not show.
fn unshown(env: &Env) -> Option<String> {
    let conn = rusqlite::Connection::open(&env.db).unwrap();
    conn.query_row(
        "SELECT s.texts FROM versions v LEFT JOIN unshown_sets s ON s.id = v.unshown
         ORDER BY v.id DESC LIMIT 1",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn text_the_page_does_not_show_is_remembered_and_a_shown_figure_still_counts() {
    let env = Env::new();
    watch(&env, "");
    // The article shows a figure; a line outside it moves with every request.
    let body = |figure: &str| {
        format!(
            "<html><head><title>Release</title></head><body><nav><a href=/>Home</a> <a href=/press>Press</a></nav>\
             <main><article><h1>Release 7</h1><p>The United States is providing ${figure} million to support the mission.</p>\
             <p>Funding will support training, equipment, and logistics for the mission over the coming year.</p></article></main>\
             <footer><p>Page generated at {{{{TIME}}}}</p></footer></body></html>"
        )
    };
    env.serve("/b", Reply::dynamic_html(body("40")));
    assert_eq!(env.check_one("b")["outcome"], "first_capture");
    let shown = env.stdout(&["show", "b"]);
    assert!(!shown.contains("generated"), "{shown}");
    // Worked out with the page at hand: the line (digits masked) is not on
    // it; the figure and the heading with its number are.
    assert_eq!(unshown(&env).as_deref(), Some("Page generated at 00:00:00"));

    // Only the hidden line moved: unchanged without a re-fetch.
    assert_eq!(env.check_one("b")["outcome"], "unchanged");
    assert_eq!(page_hits(&env), 2);
    assert_eq!(unshown(&env).as_deref(), Some("Page generated at 00:00:00"));
    assert_eq!(env.check_one("b")["outcome"], "unchanged");
    assert_eq!(page_hits(&env), 3);
    assert_eq!(unshown(&env).as_deref(), Some("Page generated at 00:00:00"));

    // A figure the page shows is a change, memo or not.
    env.serve("/b", Reply::dynamic_html(body("45")));
    let v = env.check_one("b");
    assert_eq!(v["outcome"], "changed", "{v}");
    assert!(
        v["summary"].as_str().unwrap().contains("$45 million"),
        "{v}"
    );
    // The new version knows it from its own page.
    assert_eq!(unshown(&env).as_deref(), Some("Page generated at 00:00:00"));

    // Re-deriving a version's page (its rules changed) forgets what its
    // old page did not show ...
    assert_eq!(env.check_one("b")["outcome"], "unchanged");
    watch(&env, "ignore = [\"nav\"]");
    env.cmd().args(["reprocess", "b"]).assert().success();
    assert_eq!(unshown(&env), None);
    // ... and the next check that asks derives the page under the new
    // rules to learn it again, without a re-fetch or a change.
    let hits = page_hits(&env);
    assert_eq!(env.check_one("b")["outcome"], "unchanged");
    assert_eq!(page_hits(&env), hits + 1);
    assert_eq!(unshown(&env).as_deref(), Some("Page generated at 00:00:00"));
}
