//! `redline run` as a service: scheduling, --once, `schedule`, the lock,
//! /healthz and /metrics, reload, and a clean stop on SIGTERM.

mod common;

use common::{Env, page};
use redline::serve::Reply;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const P1: &str = "The United States is providing $40 million to support the mission.";

/// A running daemon whose log lines arrive on a channel.
struct Daemon {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Daemon {
    fn start(env: &Env, extra: &[&str]) -> Daemon {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("redline"))
            .arg("--config")
            .arg(&env.config)
            .arg("--db")
            .arg(&env.db)
            .args(["run", "--spread", "0s", "--grace", "2s"])
            .args(extra)
            .env_remove("REDLINE_DB")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Wait (bounded) for a log line containing `needle`.
    fn wait_for(&mut self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        if let Some(l) = self.seen.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no log line with {needle:?} within {within:?}; saw:\n{}",
            self.seen.join("\n")
        );
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Stop with SIGTERM and wait (bounded) for the exit.
    fn stop(mut self) -> std::process::ExitStatus {
        self.signal("-TERM");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "daemon did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn page_hits(env: &Env, path: &str) -> usize {
    env.server
        .hits()
        .iter()
        .filter(|p| p.as_str() == path)
        .count()
}

#[test]
fn run_once_checks_only_what_is_due() {
    let env = Env::new();
    // Hourly: due when never checked, not due right after a check.
    env.config("cron = \"0 * * * *\"\n[[watch]]\nname = \"a\"\nurl = \"{base}/a\"\n");
    env.serve("/a", Reply::html(page("A", &[P1])));
    let out = env.cmd().args(["run", "--once"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(page_hits(&env, "/a"), 1);
    let out = env.cmd().args(["run", "--once"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(page_hits(&env, "/a"), 1, "not due again within the hour");
    let log = String::from_utf8(out.stderr).unwrap();
    assert!(log.contains("due=0"), "{log}");

    let out = env.cmd().args(["schedule", "--json"]).output().unwrap();
    let v: serde_json::Value =
        serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(v["watch"], "a");
    assert_eq!(v["schedule"], "0 * * * *");
    assert_eq!(v["due"], false);
    let next = chrono::DateTime::parse_from_rfc3339(v["next_run"].as_str().unwrap()).unwrap();
    assert_eq!(
        next.format("%M:%S").to_string(),
        "00:00",
        "on the hour: {next}"
    );
}

#[test]
fn the_daemon_checks_on_schedule_serves_metrics_and_stops_cleanly() {
    let env = Env::new();
    // Every second (6 fields: seconds first).
    env.config(
        "cron = \"* * * * * *\"\n[[watch]]\nname = \"a\"\nurl = \"{base}/a\"\nrobots = false\n",
    );
    env.serve("/a", Reply::html(page("A", &[P1])));
    let mut d = Daemon::start(&env, &["--listen", "127.0.0.1:0"]);
    let line = d.wait_for("serving /healthz and /metrics", Duration::from_secs(10));
    let addr = line
        .split("address=")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    d.wait_for("outcome=\"first_capture\"", Duration::from_secs(10));
    d.wait_for("outcome=\"unchanged\"", Duration::from_secs(10));
    assert!(http_get(&addr, "/healthz").ends_with("ok\n"));
    let metrics = http_get(&addr, "/metrics");
    assert!(
        metrics.contains("redline_checks_total{outcome=\"first_capture\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("redline_fetch_duration_seconds_count"),
        "{metrics}"
    );

    // One daemon per archive; the read commands keep working meanwhile.
    let second = env.cmd().arg("run").output().unwrap();
    assert_eq!(second.status.code(), Some(1));
    let err = String::from_utf8(second.stderr).unwrap();
    assert!(
        err.contains("another redline daemon is already running"),
        "{err}"
    );
    let log = env.cmd().args(["log", "a"]).output().unwrap();
    assert!(log.status.success() && String::from_utf8_lossy(&log.stdout).contains("first capture"));

    let status = d.stop();
    assert!(status.success(), "{status:?}");
    // The archive opens and holds one version.
    let store = redline::store::Store::open(&env.db).unwrap();
    assert_eq!(store.versions("a").unwrap().len(), 1);
}

#[test]
fn the_daemon_confirms_an_edit_with_a_second_fetch_before_recording_it() {
    let env = Env::new();
    env.config(
        "cron = \"* * * * * *\"\n[[watch]]\nname = \"a\"\nurl = \"{base}/a\"\nrobots = false\nconfirm_delay = \"300ms\"\n",
    );
    env.serve("/a", Reply::html(page("A", &[P1])));
    let mut d = Daemon::start(&env, &[]);
    d.wait_for("outcome=\"first_capture\"", Duration::from_secs(10));
    let before = page_hits(&env, "/a");
    let edited = P1.replace("$40 million", "$60 million");
    env.serve("/a", Reply::html(page("A", &[&edited])));
    d.wait_for("outcome=\"changed\"", Duration::from_secs(15));
    let status = d.stop();
    assert!(status.success(), "{status:?}");
    // The change was fetched twice (the second after the delay), and
    // recorded once, as the confirmed text.
    assert!(page_hits(&env, "/a") >= before + 2);
    let store = redline::store::Store::open(&env.db).unwrap();
    let versions = store.versions("a").unwrap();
    assert_eq!(versions.len(), 2, "{versions:?}");
    let changes = store.report_changes(&versions[1]).unwrap();
    assert!(
        matches!(&changes[..], [redline::model::Change::TextEdited { after, .. }] if after.contains("$60 million")),
        "{changes:?}"
    );
}

#[test]
fn a_hanging_webhook_holds_up_no_check() {
    let env = Env::new();
    env.config(
        "cron = \"* * * * * *\"\n\
         [notify.hook]\ntype = \"webhook\"\nurl = \"{base}/hook\"\n\n\
         [[watch]]\nname = \"a\"\nurl = \"{base}/a\"\nrobots = false\nconfirm = false\n\n\
         [[watch]]\nname = \"b\"\nurl = \"{base}/b\"\nrobots = false\n",
    );
    env.serve("/a", Reply::html(page("A", &[P1])));
    env.serve("/b", Reply::html(page("B", &[P1])));
    // The receiver takes 3 s to answer (the delivery timeout is 30 s).
    env.serve(
        "/hook",
        Reply::with_type(200, "text/plain", "ok").delayed(Duration::from_secs(3)),
    );
    let mut d = Daemon::start(&env, &[]);
    d.wait_for("watch=a", Duration::from_secs(10));
    let edited = P1.replace("$40 million", "$60 million");
    env.serve("/a", Reply::html(page("A", &[&edited])));
    d.wait_for("outcome=\"changed\"", Duration::from_secs(10));
    d.wait_for("sent=1", Duration::from_secs(15));
    let seen = d.seen.clone();
    let status = d.stop();
    assert!(status.success(), "{status:?}");
    // While the alert was on its way (3 s), watch b went on being checked
    // every second: its results were recorded between the change and the
    // delivery, not held up behind it.
    let at = |needle: &str| seen.iter().position(|l| l.contains(needle)).unwrap();
    let (changed, sent) = (at("outcome=\"changed\""), at("sent=1"));
    let b_meanwhile = seen[changed..sent]
        .iter()
        .filter(|l| l.contains("watch=b") && l.contains("outcome="))
        .count();
    assert!(b_meanwhile >= 2, "{}", seen.join("\n"));
}

#[test]
fn reload_adds_and_removes_watches() {
    let env = Env::new();
    env.config(
        "cron = \"* * * * * *\"\n[[watch]]\nname = \"a\"\nurl = \"{base}/a\"\nrobots = false\n",
    );
    env.serve("/a", Reply::html(page("A", &[P1])));
    env.serve("/b", Reply::html(page("B", &[P1])));
    let mut d = Daemon::start(&env, &[]);
    d.wait_for("watch=a", Duration::from_secs(10));
    // Replace a with b on disk: picked up without a signal.
    env.config(
        "cron = \"* * * * * *\"\n[[watch]]\nname = \"b\"\nurl = \"{base}/b\"\nrobots = false\n",
    );
    d.wait_for("configuration reloaded", Duration::from_secs(10));
    d.wait_for("watch=b", Duration::from_secs(10));
    let a_after_reload = page_hits(&env, "/a");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        page_hits(&env, "/a"),
        a_after_reload,
        "a removed watch is not checked any more"
    );
    assert!(page_hits(&env, "/b") >= 2);

    // A broken config is reported and the running one carries on.
    std::fs::write(env.config.join("watches.toml"), "[[watch]]\nurl = 3\n").unwrap();
    d.signal("-HUP");
    d.wait_for("config reload failed", Duration::from_secs(10));
    let b = page_hits(&env, "/b");
    std::thread::sleep(Duration::from_millis(2000));
    assert!(page_hits(&env, "/b") > b, "b keeps being checked");
    assert!(d.stop().success());
}

#[test]
fn sigterm_mid_check_leaves_a_consistent_archive_and_the_next_start_continues() {
    let env = Env::new();
    env.config("cron = \"* * * * * *\"\n[[watch]]\nname = \"slow\"\nurl = \"{base}/slow\"\nrobots = false\n");
    env.serve(
        "/slow",
        Reply::html(page("S", &[P1])).delayed(Duration::from_secs(6)),
    );
    let mut d = Daemon::start(&env, &[]);
    d.wait_for("redline is running", Duration::from_secs(10));
    // Wait until the slow request is in flight, then stop.
    let deadline = Instant::now() + Duration::from_secs(10);
    while page_hits(&env, "/slow") == 0 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = Instant::now();
    assert!(d.stop().success());
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "stopped within the 2s grace, took {:?}",
        t.elapsed()
    );
    {
        let store = redline::store::Store::open(&env.db).unwrap();
        assert!(
            store.versions("slow").unwrap().is_empty(),
            "the abandoned check left nothing half-written"
        );
    }
    let verify = env.cmd().arg("verify").output().unwrap();
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    // The next start picks the watch up again.
    env.serve("/slow", Reply::html(page("S", &[P1])));
    let mut d = Daemon::start(&env, &[]);
    d.wait_for("outcome=\"first_capture\"", Duration::from_secs(10));
    assert!(d.stop().success());
}

#[test]
fn json_logs_carry_watch_url_status_and_duration() {
    let env = Env::new();
    env.config("[[watch]]\nname = \"a\"\nurl = \"{base}/a\"\nrobots = false\n");
    env.serve("/a", Reply::html(page("A", &[P1])));
    let out = env
        .cmd()
        .args(["run", "--once", "--log-format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let check = events
        .iter()
        .find(|e| e["fields"]["watch"] == "a")
        .unwrap_or_else(|| panic!("no check event in {stderr}"));
    assert_eq!(check["fields"]["url"], env.server.url("/a").as_str());
    assert_eq!(check["fields"]["status"], "200");
    assert_eq!(check["fields"]["outcome"], "first_capture");
    assert!(check["fields"]["duration_ms"].is_number(), "{check}");
    // A loopback fetch takes a moment, not nothing and not ages.
    assert!(
        check["fields"]["duration_ms"].as_u64().unwrap() < 10_000,
        "{check}"
    );
    assert_eq!(check["level"], "INFO");
    // The per-check span carries the same identity.
    assert_eq!(check["span"]["name"], "check");
    assert_eq!(check["span"]["watch"], "a");
    assert_eq!(check["span"]["status"], "200");
}
