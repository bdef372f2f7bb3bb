//! `redline alerts`, `redline notify test`, and delivery for `check`.

use super::{Context, Failure, Outcome, runtime};
use crate::cli::AlertsAction;
use crate::notify::{self, Alert, DeliveryOptions, Notifier};
use crate::store::Store;
use std::time::{Duration, Instant};

/// Deliver due alerts, retrying within `wait`; what is still pending after
/// it stays in the outbox for the next check or the daemon.
pub fn deliver_for(
    rt: &tokio::runtime::Runtime,
    store: &mut Store,
    notifiers: &[Notifier],
    opts: &DeliveryOptions,
    wait: Duration,
) -> Outcome {
    let deadline = Instant::now() + wait;
    loop {
        let d = rt.block_on(notify::deliver(store, notifiers, opts))?;
        if d.failed > 0 {
            eprintln!(
                "error: {} alert(s) could not be delivered; see `redline alerts --status failed`",
                d.failed
            );
        }
        // Anything left that could go out before the deadline?
        let soon = chrono::Utc::now()
            + chrono::Duration::from_std(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_default();
        let soon = soon.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let waiting: Vec<_> = store
            .alerts(Some("pending"), 10_000)?
            .into_iter()
            .filter(|a| {
                notifiers
                    .iter()
                    .any(|n| n.name == a.notifier && n.digest.is_none())
            })
            .filter(|a| a.next_attempt_at <= soon)
            .collect();
        if waiting.is_empty() || Instant::now() >= deadline {
            if !waiting.is_empty() {
                eprintln!(
                    "warning: {} alert(s) still pending; they will be retried",
                    waiting.len()
                );
            }
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn alerts(
    ctx: &Context,
    action: Option<AlertsAction>,
    status: Option<&str>,
    json: bool,
) -> Outcome {
    let mut store = ctx.open_store()?;
    match action {
        Some(AlertsAction::Retry) => {
            let n = store.retry_failed(&crate::check::now_rfc3339())?;
            println!("{n} failed alert(s) queued again");
            return Ok(());
        }
        Some(AlertsAction::Deliver) => {
            let config = ctx.load_config()?;
            let rt = runtime()?;
            let d = rt.block_on(notify::deliver(
                &mut store,
                &config.notifiers,
                &ctx.delivery,
            ))?;
            println!(
                "{} sent, {} to retry, {} failed",
                d.sent, d.retrying, d.failed
            );
            return Ok(());
        }
        None => {}
    }
    let rows = store.alerts(status, 1000)?;
    let mut out = String::new();
    if !json {
        out.push_str(&format!(
            "{:>5}  {:<9}  {:<12}  {:<24}  {:<24}  {:>8}  SUMMARY / LAST ERROR\n",
            "ID", "STATUS", "NOTIFIER", "WATCH", "CREATED", "ATTEMPTS"
        ));
    }
    for a in rows {
        let summary = serde_json::from_str::<Alert>(&a.payload)
            .map(|p| p.summary)
            .unwrap_or_default();
        if json {
            let v = serde_json::json!({
                "id": a.id, "status": a.status, "notifier": a.notifier, "watch": a.watch,
                "created_at": a.created_at, "attempts": a.attempts, "next_attempt_at": a.next_attempt_at,
                "delivered_at": a.delivered_at, "last_error": a.last_error, "idempotency_key": a.idem_key,
                "summary": summary,
            });
            out.push_str(&format!("{v}\n"));
        } else {
            let tail = match &a.last_error {
                Some(e) if a.status != "delivered" => format!("{summary} — {e}"),
                _ => summary,
            };
            out.push_str(&format!(
                "{:>5}  {:<9}  {:<12}  {:<24}  {:<24}  {:>8}  {}\n",
                a.id, a.status, a.notifier, a.watch, a.created_at, a.attempts, tail
            ));
        }
    }
    print!("{out}");
    Ok(())
}

pub fn test(ctx: &Context, name: &str) -> Outcome {
    let config = ctx.load_config()?;
    let Some(n) = config.notifiers.iter().find(|n| n.name == name) else {
        let known: Vec<&str> = config.notifiers.iter().map(|n| n.name.as_str()).collect();
        return Err(Failure::Usage(format!(
            "no notifier named `{name}` (configured: {})",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    let at = crate::check::now_rfc3339();
    let changes = vec![crate::model::Change::TextEdited {
        block: 1,
        old_block: 1,
        before: "This is a test message from redline.".into(),
        after: "This is a test message from redline: the notifier works.".into(),
    }];
    let alert = Alert {
        schema_version: notify::SCHEMA_VERSION,
        idempotency_key: notify::idempotency_key("redline-test", &at),
        watch: "redline-test".into(),
        url: "https://example.org/redline-test".into(),
        checked_at: at,
        version: Some(2),
        previous_version: Some(1),
        summary: crate::summary::summarize(&changes),
        significance: Some("minor".into()),
        diff: notify::render::unified_diff("redline-test", &changes),
        changes,
    };
    let rt = runtime()?;
    match rt.block_on(notify::send_one(n, &[alert])) {
        Ok(()) => {
            println!("sent a test message through `{name}`");
            Ok(())
        }
        Err(e) => Err(Failure::Other(format!("notifier `{name}`: {e}"))),
    }
}
