//! Reading the archive back: `log`, `diff`, `show`, `watches`, the human
//! report, colours, and the demo.

mod common;

use common::{Env, page};
use redline::serve::Reply;
use serde_json::json;

const P1: &str = "The United States is providing $40 million to support the mission.";
const P1B: &str = "The United States is providing $60 million to support the mission.";

fn stdout(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn three_versions(env: &Env) {
    env.config("[[watch]]\nname = \"car\"\nurl = \"{base}/p\"\n");
    env.serve("/p", Reply::html(page("CAR", &[P1, "Second."])));
    env.check_one("car");
    env.serve("/p", Reply::html(page("CAR", &[P1B, "Second."])));
    env.check_one("car");
    env.serve("/p", Reply::html(page("CAR", &[P1B, "Second.", "Third."])));
    env.check_one("car");
    env.check_one("car");
}

#[test]
fn log_lists_versions_and_checks() {
    let env = Env::new();
    three_versions(&env);
    let text = stdout(&env.cmd().args(["log", "car"]).output().unwrap());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert!(lines[0].starts_with("car  http://127.0.0.1:"), "{text}");
    assert!(
        lines[1].starts_with("  v1 ") && lines[1].ends_with("200  first capture"),
        "{text}"
    );
    assert!(
        lines[2].ends_with("200  1 block edited in ¶1: \"$40 million\" → \"$60 million\""),
        "{text}"
    );
    assert!(lines[3].ends_with("200  1 block added"), "{text}");
    assert!(
        lines[4].starts_with("  4 checks (0 with errors), last ")
            && lines[4].ends_with("(unchanged)"),
        "{text}"
    );
}

#[test]
fn diff_defaults_to_the_latest_two_and_takes_version_numbers() {
    let env = Env::new();
    three_versions(&env);
    let text = stdout(
        &env.cmd()
            .args(["diff", "car", "--color", "never"])
            .output()
            .unwrap(),
    );
    assert!(text.contains("v2 (") && text.contains("→ v3 ("), "{text}");
    assert!(text.contains("  + ¶3  Third."), "{text}");

    let text = stdout(
        &env.cmd()
            .args(["diff", "car", "1", "2", "--color", "never"])
            .output()
            .unwrap(),
    );
    assert!(
        text.contains(
            "~ ¶1  The United States is providing [-$40-]{+$60+} million to support the mission."
        ),
        "{text}"
    );

    let json_out = stdout(
        &env.cmd()
            .args(["diff", "car", "1", "3", "--json"])
            .output()
            .unwrap(),
    );
    let v: serde_json::Value = serde_json::from_str(json_out.trim()).unwrap();
    assert_eq!(
        v,
        json!({"watch": "car", "from": 1, "to": 3, "changes": [
            {"type": "text_edited", "block": 1, "old_block": 1, "before": P1, "after": P1B},
            {"type": "text_added", "block": 3, "text": "Third."}
        ]})
    );

    let out = env.cmd().args(["diff", "car", "1", "9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`car` has no version 9"));
}

#[test]
fn show_prints_text_of_a_version() {
    let env = Env::new();
    three_versions(&env);
    let text = stdout(&env.cmd().args(["show", "car", "1"]).output().unwrap());
    assert!(text.starts_with("car v1  "), "{text}");
    assert!(text.contains("title: CAR\n\nThe United States is providing $40 million to support the mission.\nSecond.\n"), "{text}");
    let latest = stdout(&env.cmd().args(["show", "car"]).output().unwrap());
    assert!(
        latest.starts_with("car v3  ") && latest.ends_with("Third.\n"),
        "{latest}"
    );
    let out = env.cmd().args(["show", "nobody"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no archived versions of `nobody`"));
}

#[test]
fn watches_lists_config_with_archive_state() {
    let env = Env::new();
    three_versions(&env);
    let mut cfg = std::fs::read_to_string(env.config.join("watches.toml")).unwrap();
    cfg.push_str("\n[[watch]]\nname = \"later\"\nurl = \"https://www.state.gov/\"\n");
    std::fs::write(env.config.join("watches.toml"), cfg).unwrap();
    let text = stdout(&env.cmd().arg("watches").output().unwrap());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].starts_with("NAME "), "{text}");
    let car: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        (car[0], car[1], car[3]),
        ("car", "3", "unchanged"),
        "{text}"
    );
    let later: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(
        later,
        vec!["later", "0", "never", "-", "https://www.state.gov/"]
    );
}

#[test]
fn human_report_and_colour_choices() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"car\"\nurl = \"{base}/p\"\n");
    env.serve("/p", Reply::html(page("CAR", &[P1])));
    let text = stdout(&env.cmd().arg("check").output().unwrap());
    assert!(text.contains("+ car  first capture, v1"), "{text}");
    assert!(
        text.ends_with("checked 1 watch: 0 changed, 0 unchanged, 1 first capture, 0 errors\n"),
        "{text}"
    );
    assert!(!text.contains('\x1b'), "no colour when piped: {text:?}");

    env.serve("/p", Reply::html(page("CAR", &[P1B])));
    let text = stdout(
        &env.cmd()
            .args(["check", "--color", "always"])
            .output()
            .unwrap(),
    );
    assert!(
        text.contains("\x1b[31;9m$40\x1b[0m") && text.contains("\x1b[32;1m$60\x1b[0m"),
        "{text:?}"
    );
    assert!(text.contains("1 block edited"), "{text}");

    let text = stdout(
        &env.cmd()
            .args(["diff", "car"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap(),
    );
    assert!(!text.contains('\x1b'), "{text:?}");
}

#[test]
fn demo_runs_offline_and_shows_each_kind_of_change() {
    let out = assert_cmd::Command::cargo_bin("redline")
        .unwrap()
        .args(["demo", "--color", "never"])
        .output()
        .unwrap();
    let text = stdout(&out);
    for needle in [
        "Step 1.",
        "+ car-support  first capture, v1",
        "= blog-car-peacekeepers  unchanged (v1)",
        "[-$40-]{+$60+}",
        "[-[inaudible]-]{+the African Union+}",
        "+ pingback from example.org: 'CAR Latest-France Cuts Forces, Africa Union Steps In | World News Digest'",
        "+ comment by Laura: 'Daniel – the statement has since been updated to $60 million",
        "1 new comment; 1 new pingback from example.org",
        "✗ page gone (HTTP 404)",
        "→ redirected: ",
        "schedules/",
        "(learned for car-support: ignore blocks like “Page refreshed at … EST”",
    ] {
        assert!(
            text.contains(needle),
            "demo output lacks {needle:?}:\n{text}"
        );
    }
    // Step 2 rotates only invisible noise: every watch is unchanged.
    let step2 = text
        .split("Step 2.")
        .nth(1)
        .unwrap()
        .split("Step 3.")
        .next()
        .unwrap();
    assert_eq!(step2.matches("unchanged (v1)").count(), 3, "{step2}");
}
