//! Alerts end to end: a real SMTP server (mailin, an SMTP protocol
//! implementation) and a real HTTP receiver on loopback; the outbox
//! survives receivers that are down and processes that stop early.

mod common;

use common::{Env, page};
use mailin_embedded::{Handler, Response, Server, SslConfig};
use redline::serve::Reply;
use serde_json::Value;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

const P1: &str = "The United States is providing $40 million to support the mission.";
const P1B: &str = "The United States is providing $60 million to support the mission.";
/// Page text (escaped in the page's HTML) that would be dangerous as HTML.
const HOSTILE: &str = "&lt;script&gt;alert('owned')&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;";

/// A message as received: its recipients and its raw bytes.
type Received = (Vec<String>, Vec<u8>);

/// Collects every message the SMTP server accepts.
#[derive(Clone, Default)]
struct Mailbox {
    current: Arc<Mutex<Vec<u8>>>,
    messages: Arc<Mutex<Vec<Received>>>,
    rcpts: Arc<Mutex<Vec<String>>>,
}

impl Handler for Mailbox {
    fn rcpt(&mut self, to: &str) -> Response {
        self.rcpts.lock().unwrap().push(to.to_string());
        mailin_embedded::response::OK
    }
    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.current.lock().unwrap().extend_from_slice(buf);
        Ok(())
    }
    fn data_end(&mut self) -> Response {
        let msg = std::mem::take(&mut *self.current.lock().unwrap());
        let rcpts = std::mem::take(&mut *self.rcpts.lock().unwrap());
        self.messages.lock().unwrap().push((rcpts, msg));
        mailin_embedded::response::OK
    }
}

fn smtp_server() -> (String, Mailbox) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let mailbox = Mailbox::default();
    let mut server = Server::new(mailbox.clone());
    server
        .with_name("mail.test")
        .with_ssl(SslConfig::None)
        .unwrap()
        .with_tcp_listener(listener);
    std::thread::spawn(move || {
        let _ = server.serve();
    });
    (format!("smtp://{addr}"), mailbox)
}

fn base64_decode(s: &str) -> Vec<u8> {
    let table = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let vals: Vec<u8> = s.bytes().filter_map(table).collect();
    let mut out = Vec::new();
    for chunk in vals.chunks(4) {
        let n =
            chunk.iter().fold(0u32, |acc, v| (acc << 6) | u32::from(*v)) << (6 * (4 - chunk.len()));
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len().saturating_sub(1)]);
    }
    out
}

fn qp_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if b.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if let Some(h) = b
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok())
            {
                out.push(h);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// The decoded body of the MIME part with this content type.
fn mime_part(message: &str, content_type: &str) -> String {
    let boundary = message
        .split("boundary=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or_else(|| panic!("no multipart boundary:\n{message}"));
    let part = message
        .split(&format!("--{boundary}"))
        .find(|p| p.contains(&format!("Content-Type: {content_type}")))
        .unwrap_or_else(|| panic!("no {content_type} part:\n{message}"));
    let (headers, body) = part.split_once("\r\n\r\n").unwrap();
    let body = body.trim_end_matches("\r\n");
    let encoding = headers
        .lines()
        .find_map(|l| l.strip_prefix("Content-Transfer-Encoding: "))
        .unwrap_or("7bit")
        .trim();
    let bytes = match encoding {
        "base64" => base64_decode(body),
        "quoted-printable" => qp_decode(body),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8(bytes).unwrap().replace("\r\n", "\n")
}

fn two_versions(env: &Env) {
    env.serve("/p", Reply::html(page("CAR", &[P1, HOSTILE])));
    assert_eq!(env.check_one("car")["outcome"], "first_capture");
    env.serve(
        "/p",
        Reply::html(page(
            "CAR",
            &[
                P1B,
                HOSTILE,
                "A new paragraph &lt;script&gt;alert(1)&lt;/script&gt; about &lt;MISCA&gt;.",
            ],
        )),
    );
}

#[test]
fn email_alert_has_both_parts_escaped_html_and_the_diff() {
    let env = Env::new();
    let (smtp, mailbox) = smtp_server();
    env.config(&format!(
        "[notify.desk]\ntype = \"email\"\nsmtp = \"{smtp}\"\nfrom = \"redline@example.org\"\nto = [\"desk@example.org\", \"editor@example.org\"]\n\n[[watch]]\nname = \"car\"\nurl = \"{{base}}/p\"\nrobots = false\nconfirm = false\n"
    ));
    two_versions(&env);
    let v = env.check_one("car");
    assert_eq!(v["outcome"], "changed");
    let messages = mailbox.messages.lock().unwrap().clone();
    assert_eq!(messages.len(), 1, "exactly one message");
    let (rcpts, raw) = &messages[0];
    assert_eq!(rcpts.len(), 2, "{rcpts:?}");
    let msg = String::from_utf8_lossy(raw).to_string();
    assert!(msg.contains("From: redline@example.org"), "{msg}");
    assert!(
        msg.contains("To: desk@example.org, editor@example.org"),
        "{msg}"
    );
    assert!(msg.contains("Subject: "), "{msg}");
    assert!(msg.contains("Message-ID: <redline-"), "{msg}");
    assert!(msg.contains("multipart/alternative"), "{msg}");
    let text = mime_part(&msg, "text/plain");
    assert!(
        text.contains("car\n") && text.contains("-The United States is providing $40 million"),
        "{text}"
    );
    assert!(
        text.contains("+The United States is providing $60 million"),
        "{text}"
    );
    let html = mime_part(&msg, "text/html");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt; about &lt;MISCA&gt;."),
        "page text is escaped: {html}"
    );
    assert!(
        !html.contains("<MISCA>") && !html.contains("<script"),
        "{html}"
    );
    assert!(
        text.contains("+A new paragraph <script>alert(1)</script> about <MISCA>."),
        "the text part is plain text: {text}"
    );
    assert!(
        html.contains("text-decoration:line-through;\">$40</span>"),
        "{html}"
    );
    assert!(html.contains("font-weight:bold;\">$60</span>"), "{html}");
    // Delivered, and recorded so.
    let out = env.cmd().args(["alerts", "--json"]).output().unwrap();
    let a: Value = serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(
        (a["status"].as_str(), a["notifier"].as_str()),
        (Some("delivered"), Some("desk"))
    );
}

fn hook_env(extra_notify: &str) -> Env {
    let env = Env::new();
    env.config(&format!(
        "[notify.hook]\ntype = \"webhook\"\nurl = \"{{base}}/hook\"\n{extra_notify}\n[[watch]]\nname = \"car\"\nurl = \"{{base}}/p\"\nrobots = false\nconfirm = false\n"
    ));
    env
}

#[test]
fn webhook_json_is_signed_keyed_and_follows_the_schema() {
    let env = hook_env("secret_env = \"REDLINE_TEST_HOOK_SECRET\"\n");
    env.serve("/hook", Reply::with_type(200, "text/plain", "ok"));
    two_versions(&env);
    let out = env
        .cmd()
        .env("REDLINE_TEST_HOOK_SECRET", "s3cret")
        .args(["check", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let received = env.server.received("/hook");
    assert_eq!(received.len(), 1);
    let (head, body) = &received[0];
    let payload: Value = serde_json::from_slice(body).unwrap();
    let mut keys: Vec<&str> = payload
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        vec![
            "changes",
            "checked_at",
            "diff",
            "idempotency_key",
            "previous_version",
            "schema_version",
            "significance",
            "summary",
            "url",
            "version",
            "watch"
        ]
    );
    assert_eq!(payload["schema_version"], 1);
    assert_eq!(
        (
            payload["version"].as_i64(),
            payload["previous_version"].as_i64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(payload["significance"], "major");
    assert_eq!(payload["changes"][0]["type"], "text_edited");
    assert!(
        payload["diff"]
            .as_str()
            .unwrap()
            .contains("+The United States is providing $60 million")
    );
    let head_l = head.to_ascii_lowercase();
    let key = payload["idempotency_key"].as_str().unwrap();
    assert!(
        head_l.contains(&format!("idempotency-key: {key}")),
        "{head}"
    );
    let want = redline::notify::signature(b"s3cret", body);
    assert!(
        head_l.contains(&format!("x-redline-signature: {want}")),
        "{head}"
    );
    assert_ne!(redline::notify::signature(b"other", body), want);
}

#[test]
fn a_receiver_that_is_down_for_a_while_gets_the_alert_once() {
    let env = hook_env("");
    env.server.set_sequence(
        "/hook",
        vec![
            Reply::status(503),
            Reply::status(503),
            Reply::with_type(200, "text/plain", "ok"),
        ],
    );
    two_versions(&env);
    let out = env
        .cmd()
        .args(["--alert-backoff", "100ms", "check", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let received = env.server.received("/hook");
    assert_eq!(received.len(), 3, "two refusals, then one delivery");
    let keys: Vec<String> = received
        .iter()
        .map(|(h, _)| {
            h.lines()
                .find(|l| l.to_ascii_lowercase().starts_with("idempotency-key"))
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] == w[1]),
        "one alert, one key: {keys:?}"
    );
    // Later passes send nothing again.
    env.check_one("car");
    assert_eq!(env.server.received("/hook").len(), 3);
}

#[test]
fn a_receiver_that_keeps_failing_marks_the_alert_failed_and_retry_requeues_it() {
    let env = hook_env("");
    env.serve("/hook", Reply::status(500));
    two_versions(&env);
    let out = env
        .cmd()
        .args([
            "--alert-backoff",
            "50ms",
            "--alert-attempts",
            "3",
            "check",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("could not be delivered"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(env.server.received("/hook").len(), 3);
    let out = env
        .cmd()
        .args(["alerts", "--status", "failed", "--json"])
        .output()
        .unwrap();
    let a: Value = serde_json::from_str(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
    assert_eq!(a["attempts"], 3);
    assert!(
        a["last_error"].as_str().unwrap().contains("HTTP 500"),
        "{a}"
    );

    // The receiver is fixed; the user re-queues.
    env.serve("/hook", Reply::with_type(200, "text/plain", "ok"));
    let out = env.cmd().args(["alerts", "retry"]).output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1 failed alert(s) queued again\n"
    );
    let out = env.cmd().args(["alerts", "deliver"]).output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "1 sent, 0 to retry, 0 failed\n"
    );
    assert_eq!(env.server.received("/hook").len(), 4);
}

#[test]
fn alerts_stored_before_a_crash_are_delivered_after_restart() {
    let env = hook_env("");
    env.serve("/hook", Reply::with_type(200, "text/plain", "ok"));
    two_versions(&env);
    // The change is stored with its alert, but nothing is sent (as if the
    // process died right after the transaction).
    let out = env
        .cmd()
        .args(["check", "--json", "--no-notify"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(env.server.received("/hook").is_empty());
    let out = env
        .cmd()
        .args(["alerts", "--status", "pending", "--json"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 1);
    // The next start sends it, once.
    let out = env.cmd().args(["run", "--once"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(env.server.received("/hook").len(), 1);
    let out = env.cmd().args(["run", "--once"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(env.server.received("/hook").len(), 1, "never twice");
}

#[test]
fn notify_picks_notifiers_and_notify_on_filters_kinds() {
    let env = Env::new();
    env.config(
        "[notify.hook]\ntype = \"webhook\"\nurl = \"{base}/hook\"\n\n[notify.chat]\ntype = \"webhook\"\nurl = \"{base}/chat\"\nformat = \"slack\"\n\n\
         [[watch]]\nname = \"car\"\nurl = \"{base}/p\"\nrobots = false\nconfirm = false\nnotify = [\"chat\"]\nnotify_on = [\"comments\", \"title\"]\n",
    );
    env.serve("/hook", Reply::with_type(200, "text/plain", "ok"));
    env.serve("/chat", Reply::with_type(200, "text/plain", "ok"));
    env.serve("/p", Reply::html(page("CAR", &[P1])));
    env.check_one("car");
    // A text edit: not a kind this watch alerts on.
    env.serve("/p", Reply::html(page("CAR", &[P1B])));
    env.check_one("car");
    assert!(env.server.received("/chat").is_empty());
    // A title change: alerts, to chat only, in Slack's shape.
    env.serve("/p", Reply::html(page("CAR support", &[P1B])));
    env.check_one("car");
    assert!(env.server.received("/hook").is_empty());
    let chat = env.server.received("/chat");
    assert_eq!(chat.len(), 1);
    let body: Value = serde_json::from_slice(&chat[0].1).unwrap();
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("*car*: title changed"),
        "{body}"
    );
}

#[test]
fn notify_test_and_config_errors() {
    let env = hook_env("");
    env.serve("/hook", Reply::with_type(200, "text/plain", "ok"));
    let out = env.cmd().args(["notify", "test", "hook"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let received = env.server.received("/hook");
    assert_eq!(received.len(), 1);
    let body: Value = serde_json::from_slice(&received[0].1).unwrap();
    assert_eq!(body["watch"], "redline-test");

    let env = Env::new();
    env.config("[notify.x]\ntype = \"pager\"\n\n[[watch]]\nname = \"a\"\nurl = \"{base}/a\"\nnotify = [\"nope\"]\nnotify_on = [\"everything\"]\n");
    let out = env.cmd().arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("watches.toml:2:8: [notify.x]: key `type`: unknown notifier type `pager`"),
        "{err}"
    );
    assert!(
        err.contains("watches.toml:7:11: key `notify`: no notifier named `nope`"),
        "{err}"
    );
    assert!(
        err.contains("watches.toml:8:14: key `notify_on`: unknown kind `everything`"),
        "{err}"
    );
}

#[test]
fn a_digest_notifier_batches_several_watches_into_one_message() {
    let env = Env::new();
    env.config(
        "[notify.daily]\ntype = \"webhook\"\nurl = \"{base}/hook\"\ndigest = \"1s\"\n\n\
         [[watch]]\nname = \"a\"\nurl = \"{base}/a\"\nrobots = false\nconfirm = false\n\n\
         [[watch]]\nname = \"b\"\nurl = \"{base}/b\"\nrobots = false\nconfirm = false\n",
    );
    env.serve("/hook", Reply::with_type(200, "text/plain", "ok"));
    env.serve("/a", Reply::html(page("A", &[P1])));
    env.serve("/b", Reply::html(page("B", &[P1])));
    env.check(&[]);
    env.serve("/a", Reply::html(page("A", &[P1B])));
    env.serve("/b", Reply::html(page("B", &[P1B])));
    env.check(&[]);
    // Not before the period is over.
    assert!(env.server.received("/hook").is_empty());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = env.cmd().args(["alerts", "deliver"]).output().unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "2 sent, 0 to retry, 0 failed\n"
    );
    let received = env.server.received("/hook");
    assert_eq!(received.len(), 1, "one message for both watches");
    let body: Value = serde_json::from_slice(&received[0].1).unwrap();
    let watches: Vec<&str> = body["digest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["watch"].as_str().unwrap())
        .collect();
    assert_eq!(watches.len(), 2);
    assert!(
        watches.contains(&"a") && watches.contains(&"b"),
        "{watches:?}"
    );
}
