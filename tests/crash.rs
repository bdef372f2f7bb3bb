//! Crash safety: the daemon is killed (SIGKILL) at many moments of its
//! work, restarted each time, and the archive must stay whole: it opens,
//! `redline verify` passes, versions are numbered without gaps or
//! duplicates, and every alert is delivered once per receiver key.

mod common;

use common::{Env, page};
use redline::serve::Reply;
use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn pseudo_random_ms(lo: u64, hi: u64, salt: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    lo + (nanos ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) % (hi - lo)
}

#[test]
fn sigkill_at_random_moments_never_corrupts_or_loses() {
    let env = Env::new();
    let mut cfg = String::from(
        "cron = \"* * * * * *\"\n[notify.hook]\ntype = \"webhook\"\nurl = \"{base}/hook\"\n\n",
    );
    for i in 0..4 {
        cfg.push_str(&format!(
            "[[watch]]\nname = \"w{i}\"\nurl = \"{{base}}/p{i}\"\nrobots = false\nconfirm = false\n\n"
        ));
    }
    env.config(&cfg);
    env.serve("/hook", Reply::with_type(200, "text/plain", "ok"));
    let iterations = 12;
    for round in 0..iterations {
        // The pages change every round, so every round has work to record.
        for i in 0..4 {
            env.serve(
                &format!("/p{i}"),
                Reply::html(page(
                    "P",
                    &[&format!(
                        "Round {round} of page {i}: the figure is ${round} million."
                    )],
                )),
            );
        }
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("redline"))
            .arg("--config")
            .arg(&env.config)
            .arg("--db")
            .arg(&env.db)
            .args(["--host-interval", "0ms", "run", "--spread", "0s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(pseudo_random_ms(150, 1600, round)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let verify = env.cmd().arg("verify").output().unwrap();
        assert!(
            verify.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&verify.stderr)
        );
    }
    // A last clean pass sends whatever the outbox still holds.
    let out = env
        .cmd()
        .args(["--host-interval", "0ms", "run", "--once"])
        .output()
        .unwrap();
    assert!(out.status.success());

    let store = redline::store::Store::open(&env.db).unwrap();
    let mut total = 0;
    for i in 0..4 {
        let numbers: Vec<i64> = store
            .versions(&format!("w{i}"))
            .unwrap()
            .iter()
            .map(|v| v.number)
            .collect();
        let want: Vec<i64> = (1..=numbers.len() as i64).collect();
        assert_eq!(
            numbers, want,
            "w{i}: versions numbered without gaps or repeats"
        );
        total += numbers.len();
    }
    // The kills landed while there was work: many versions were made.
    assert!(
        total >= 8,
        "only {total} versions: the test did not exercise the daemon"
    );
    // Every alert in the outbox was delivered, and receivers saw each key;
    // a key seen twice is the crash-between-send-and-mark case the key
    // exists for, and it is still one alert.
    let alerts = store.alerts(None, 10_000).unwrap();
    assert!(
        alerts.iter().all(|a| a.status == "delivered"),
        "{:?}",
        alerts
            .iter()
            .map(|a| (&a.status, &a.last_error))
            .collect::<Vec<_>>()
    );
    let received: HashSet<String> = env
        .server
        .received("/hook")
        .iter()
        .filter_map(|(head, _)| {
            head.lines()
                .find_map(|l| {
                    l.split_once(':')
                        .filter(|(k, _)| k.eq_ignore_ascii_case("idempotency-key"))
                })
                .map(|(_, v)| v.trim().to_string())
        })
        .collect();
    let stored: HashSet<String> = alerts.iter().map(|a| a.idem_key.clone()).collect();
    assert!(!stored.is_empty());
    assert_eq!(
        received, stored,
        "every stored alert reached the receiver, and nothing else did"
    );
}
