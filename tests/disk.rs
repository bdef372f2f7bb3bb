//! A full disk and a read-only archive: clear errors, nothing corrupted,
//! nothing lost. The archive lives on a small tmpfs mounted in a user and
//! mount namespace the test creates (no privileges needed); the page server
//! stays on loopback in the test process.

mod common;

use common::{Env, page};
use redline::serve::Reply;

/// Incompressible text: zstd cannot make it fit a small disk.
fn noise(len: usize) -> String {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(
                b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                    [(x % 62) as usize],
            )
        })
        .collect()
}

#[test]
fn a_full_disk_and_a_read_only_archive_give_clear_errors_and_lose_nothing() {
    let ok = std::process::Command::new("unshare")
        .args(["-rm", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("skipped: `unshare -rm` is not available here (needs user namespaces)");
        return;
    }
    let env = Env::new();
    env.config(
        r#"
[[watch]]
name = "release"
url = "{base}/release"
robots = false
confirm = false
"#,
    );
    let small = page(
        "Release",
        &["The Department announces $40 million in assistance."],
    );
    let huge = page("Release", &[&noise(3_000_000)]);
    env.server.set_sequence(
        "/release",
        vec![Reply::html(small.clone()), Reply::html(huge)],
    );
    let mnt = env.dir.path().join("small-disk");
    std::fs::create_dir(&mnt).unwrap();
    let db = mnt.join("archive.db");
    let redline = assert_cmd::cargo::cargo_bin("redline");
    let run = |args: &str| {
        format!(
            "{} --config {} --db {} {args}",
            redline.display(),
            env.config.display(),
            db.display()
        )
    };
    let script = format!(
        "set -u
mount -t tmpfs -o size=1536k tmpfs {mnt} || exit 99
step() {{ echo \"=== $1\"; shift; \"$@\" 2>&1; echo \"=== exit $?\"; }}
step capture {capture}
step full {full}
step verify-after-full {verify}
step log-after-full {log}
mount -o remount,ro {mnt} || exit 98
step read-only {full}
mount -o remount,rw {mnt} || exit 97
step verify-at-the-end {verify}
step log-at-the-end {log}
",
        mnt = mnt.display(),
        capture = run("check --json"),
        full = run("check --json"),
        verify = run("verify"),
        log = run("log release --json"),
    );
    let out = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let step = |name: &str| -> (String, i32) {
        let start = text
            .find(&format!("=== {name}\n"))
            .unwrap_or_else(|| panic!("no step {name} in:\n{text}"));
        let body = &text[start + name.len() + 5..];
        let end = body.find("=== exit ").unwrap();
        let code: i32 = body[end + 9..]
            .lines()
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        (body[..end].to_string(), code)
    };
    let (capture, code) = step("capture");
    assert_eq!(code, 0, "{capture}");
    assert!(
        capture.contains("\"outcome\":\"first_capture\""),
        "{capture}"
    );

    // The disk fills while recording the huge page: the check is an error
    // naming the archive and what to do; the command does not crash.
    let (full, _) = step("full");
    assert!(full.contains("\"watch\":\"release\""), "{full}");
    assert!(full.contains("\"outcome\":\"error\""), "{full}");
    assert!(
        full.contains(&format!(
            "the disk holding {} is full; nothing was half-written: free some space and run again",
            db.display()
        )),
        "{full}"
    );
    for name in ["verify-after-full", "verify-at-the-end"] {
        let (v, code) = step(name);
        assert_eq!(code, 0, "{name}: {v}");
        assert!(v.contains(": ok"), "{name}: {v}");
    }
    for name in ["log-after-full", "log-at-the-end"] {
        let (log, code) = step(name);
        assert_eq!(code, 0, "{name}: {log}");
        assert_eq!(log.lines().count(), 1, "{name}: one version, intact: {log}");
        assert!(log.contains("\"version\":1"), "{log}");
    }

    // A read-only archive: a clear error, exit status non-zero.
    let (ro, code) = step("read-only");
    assert_ne!(code, 0, "{ro}");
    assert!(
        ro.contains(&format!(
            "{} is read-only; redline must be able to write to its archive",
            db.display()
        )),
        "{ro}"
    );
}
