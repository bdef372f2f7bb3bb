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
    assert_eq!(lines.len(), 6, "{text}");
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
        lines[4].starts_with("        … 1 unchanged check, last "),
        "{text}"
    );
    assert!(
        lines[5].starts_with("  4 checks (0 with errors), last ")
            && lines[5].ends_with("(unchanged)"),
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
    let json = stdout(&env.cmd().args(["watches", "--json"]).output().unwrap());
    let rows: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (
            rows[0]["watch"].as_str(),
            rows[0]["versions"].as_i64(),
            rows[0]["checks"].as_i64()
        ),
        (Some("car"), Some(3), Some(4))
    );
    assert_eq!(rows[1]["last_checked"], serde_json::json!(null));
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

#[test]
fn diff_modes_unified_side_by_side_and_by_time() {
    let env = Env::new();
    three_versions(&env);
    let patch = stdout(
        &env.cmd()
            .args(["diff", "car", "1", "3", "--unified"])
            .output()
            .unwrap(),
    );
    let lines: Vec<&str> = patch.lines().collect();
    assert!(
        lines[0].starts_with("--- a/car v1 ") && lines[1].starts_with("+++ b/car v3 "),
        "{patch}"
    );
    assert_eq!(
        &lines[2..],
        &[
            "@@ -1,2 +1,3 @@",
            &format!("-{P1}"),
            &format!("+{P1B}"),
            " Second.",
            "+Third."
        ],
        "{patch}"
    );

    let sbs = stdout(
        &env.cmd()
            .args([
                "diff",
                "car",
                "1",
                "2",
                "--side-by-side",
                "--width",
                "100",
                "--color",
                "never",
            ])
            .output()
            .unwrap(),
    );
    assert!(
        sbs.lines().any(
            |l| l.starts_with("The United States is providing $40 million to ")
                && l.ends_with(" │ The United States is providing $60 million to")
        ),
        "{sbs}"
    );
    assert!(sbs.lines().all(|l| l.chars().count() <= 100), "{sbs}");

    // By time: the version current now is v3; a week ago there was none.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let at = stdout(
        &env.cmd()
            .args(["diff", "car", "--at", &today, "--json"])
            .output()
            .unwrap(),
    );
    let v: serde_json::Value = serde_json::from_str(at.trim()).unwrap();
    assert_eq!((v["from"].as_i64(), v["to"].as_i64()), (Some(2), Some(3)));
    let since = stdout(
        &env.cmd()
            .args(["diff", "car", "--since", "7d", "--json"])
            .output()
            .unwrap(),
    );
    let v: serde_json::Value = serde_json::from_str(since.trim()).unwrap();
    assert_eq!((v["from"].as_i64(), v["to"].as_i64()), (Some(1), Some(3)));
    let out = env
        .cmd()
        .args(["diff", "car", "--at", "2013-12-07"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("had no version yet at 2013-12-07"));
}

#[test]
fn changes_feed_across_watches() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"car\"\nurl = \"{base}/p\"\nconfirm = false\n\n[[watch]]\nname = \"other\"\nurl = \"{base}/o\"\nconfirm = false\n");
    env.serve("/p", Reply::html(page("CAR", &[P1])));
    env.serve("/o", Reply::html(page("O", &["Other page."])));
    env.check(&[]);
    env.serve("/p", Reply::html(page("CAR", &[P1B])));
    env.serve("/o", Reply::html(page("O changed", &["Other page."])));
    env.check(&[]);
    let all = stdout(&env.cmd().args(["changes", "--json"]).output().unwrap());
    let rows: Vec<serde_json::Value> = all
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    let one = stdout(
        &env.cmd()
            .args(["changes", "--watch", "car", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(one.lines().count(), 1);
    let titles = stdout(
        &env.cmd()
            .args(["changes", "--kind", "title", "--since", "1h"])
            .output()
            .unwrap(),
    );
    assert_eq!(titles.lines().count(), 1, "{titles}");
    assert!(
        titles.contains("  other  v2  [major]  title changed"),
        "{titles}"
    );
    let out = env
        .cmd()
        .args(["changes", "--kind", "weather"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn completions_and_man_page() {
    let bash = assert_cmd::Command::cargo_bin("redline")
        .unwrap()
        .args(["completions", "bash"])
        .output()
        .unwrap();
    let text = String::from_utf8(bash.stdout).unwrap();
    assert!(
        text.contains("_redline()") && text.contains("--config"),
        "{}",
        &text[..200.min(text.len())]
    );
    let man = assert_cmd::Command::cargo_bin("redline")
        .unwrap()
        .arg("man")
        .output()
        .unwrap();
    let text = String::from_utf8(man.stdout).unwrap();
    assert!(
        text.starts_with(".ie") || text.contains(".TH redline"),
        "{}",
        &text[..200.min(text.len())]
    );
    assert!(text.contains("check"), "subcommands listed");
}

#[test]
fn html_report_and_atom_feed_are_safe_against_hostile_pages() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"car\"\nurl = \"{base}/p\"\nconfirm = false\n");
    env.serve("/p", Reply::html(page("CAR", &[P1])));
    env.check_one("car");
    // A hostile page: markup as text, and real script and handlers that
    // extraction drops anyway.
    env.serve(
        "/p",
        Reply::html(page(
            "CAR <script>alert(0)</script>",
            &[
                P1,
                "&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt;",
                "<script>alert(3)</script>",
            ],
        )),
    );
    env.check_one("car");
    let file = env.dir.path().join("report.html");
    let out = env
        .cmd()
        .args(["report", "--html"])
        .arg(&file)
        .args(["--since", "1d"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&out),
        format!("wrote 1 change report(s) to {}\n", file.display())
    );
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(2)&gt;"),
        "{html}"
    );
    assert!(
        !html.contains("<script") && !html.contains("<img") && !html.contains("alert(3)"),
        "{html}"
    );
    assert!(html.contains("Content-Security-Policy") && html.contains("default-src 'none'"));
    assert!(
        !html.contains("http://") || html.matches("http://").count() == 2,
        "only the watch's own link: {html}"
    );

    let feed = stdout(&env.cmd().arg("feed").output().unwrap());
    assert!(
        feed.contains("<entry>")
            && feed.contains("<title>car: 1 block added; title changed</title>"),
        "{feed}"
    );
    assert!(
        !feed.contains("<script") && feed.contains("&amp;lt;script&amp;gt;"),
        "{feed}"
    );
}

#[test]
fn review_needs_a_terminal() {
    let env = Env::new();
    three_versions(&env);
    let out = env.cmd().arg("review").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("review needs a terminal"));
}

#[test]
fn verify_passes_on_a_sound_archive_and_catches_a_corrupted_blob() {
    let env = Env::new();
    three_versions(&env);
    let out = env.cmd().arg("verify").output().unwrap();
    assert_eq!(stdout(&out), format!("{}: ok\n", env.db.display()));
    // Corrupt one stored body behind redline's back.
    {
        let conn = rusqlite::Connection::open(&env.db).unwrap();
        let blob: i64 = conn
            .query_row(
                "SELECT body_blob FROM responses ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let fake = zstd::bulk::compress(b"<p>tampered</p>", 3).unwrap();
        conn.execute(
            "UPDATE blobs SET data = ?1, size = 15 WHERE id = ?2",
            rusqlite::params![fake, blob],
        )
        .unwrap();
    }
    let out = env.cmd().arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("content does not match its hash") && err.contains("body of response 1 (car)"),
        "{err}"
    );
    // Later bodies compressed against the damaged one are named too, each
    // saying which base it cannot be read against.
    let problems = err.lines().filter(|l| l.starts_with("blob ")).count();
    for l in err
        .lines()
        .filter(|l| l.starts_with("blob ") && !l.contains("response 1 "))
    {
        assert!(l.contains("cannot be read") && l.contains("base"), "{l}");
    }
    assert!(err.contains(&format!("{problems} problem(s) in")), "{err}");
}

#[test]
fn timemap_lists_every_capture() {
    let env = Env::new();
    three_versions(&env);
    let text = stdout(&env.cmd().args(["timemap", "car"]).output().unwrap());
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 5, "{text}");
    assert_eq!(
        lines[0],
        format!("<{}>; rel=\"original\",", env.server.url("/p"))
    );
    assert!(
        lines[1].starts_with(
            "<urn:redline:car>; rel=\"self\"; type=\"application/link-format\"; from=\""
        ),
        "{text}"
    );
    assert!(
        lines[2].starts_with("<urn:redline:car:1>; rel=\"first memento\"; datetime=\"")
            && lines[2].ends_with(" GMT\","),
        "{text}"
    );
    assert!(
        lines[3].starts_with("<urn:redline:car:2>; rel=\"memento\";"),
        "{text}"
    );
    assert!(
        lines[4].starts_with("<urn:redline:car:3>; rel=\"last memento\";")
            && !lines[4].ends_with(','),
        "{text}"
    );
}

#[test]
fn reprocess_rederives_pages_under_new_rules_without_reporting_an_edit() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"car\"\nurl = \"{base}/p\"\nconfirm = false\n");
    let body = format!(
        "<html><body><div id=main><p>{P1}</p><p id=tagline>Share this official news from the Department</p></div></body></html>"
    );
    env.serve("/p", Reply::html(body));
    env.check_one("car");
    assert!(stdout(&env.cmd().args(["show", "car"]).output().unwrap()).contains("Share this"));
    env.config(
        "[[watch]]\nname = \"car\"\nurl = \"{base}/p\"\nconfirm = false\nignore = [\"#tagline\"]\n",
    );
    let out = stdout(&env.cmd().arg("reprocess").output().unwrap());
    assert_eq!(
        out,
        "car: 1 version(s) re-derived under the current rules\n"
    );
    let shown = stdout(&env.cmd().args(["show", "car"]).output().unwrap());
    assert!(
        shown.contains(P1) && !shown.contains("Share this"),
        "{shown}"
    );
    assert_eq!(env.check_one("car")["outcome"], "unchanged");
    assert_eq!(
        stdout(&env.cmd().arg("reprocess").output().unwrap()),
        "car: up to date\n"
    );
    assert!(env.cmd().arg("verify").output().unwrap().status.success());
    let log = stdout(&env.cmd().args(["log", "car", "--json"]).output().unwrap());
    assert_eq!(log.lines().count(), 1, "no version was added: {log}");
}
