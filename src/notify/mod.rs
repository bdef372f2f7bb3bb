//! Alerts by email and webhook that are never lost and never doubled.
//!
//! A check that reports changes writes one alert per chosen notifier into
//! the archive's outbox, in the same transaction as the version and its
//! changes. Delivery reads due alerts from the outbox, sends them, and marks
//! each delivered, or schedules a retry with exponential backoff, or, after
//! the last attempt, failed. Every alert carries an idempotency key (also
//! sent as a header and as the email's Message-ID), so a receiver can drop
//! the duplicate a crash between sending and marking could cause.

pub mod render;
mod send;

use crate::check::CheckResult;
use crate::model::Change;
use crate::store::{PendingAlert, Store};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub use send::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER, send_one, signature};

/// The version of the alert payload (webhook JSON); bumped on any change
/// that is not a pure addition.
pub const SCHEMA_VERSION: u32 = 1;

/// How a webhook's body is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    Json,
    Slack,
    Discord,
}

/// Where a notifier sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    Email {
        /// `smtp://host:port` or `smtps://host:port`.
        smtp: String,
        starttls: bool,
        from: String,
        to: Vec<String>,
        username: Option<String>,
        /// The environment variable holding the password.
        password_env: Option<String>,
    },
    Webhook {
        url: String,
        format: WebhookFormat,
        /// The environment variable holding the HMAC secret.
        secret_env: Option<String>,
    },
}

/// A configured `[notify.NAME]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notifier {
    pub name: String,
    pub channel: Channel,
    /// Batch alerts: send at most one message per this period.
    pub digest: Option<Duration>,
}

/// The categories `notify_on` accepts, and the change types in each.
pub const CATEGORIES: &[(&str, &[&str])] = &[
    (
        "text",
        &[
            "text_added",
            "text_removed",
            "text_edited",
            "content_changed",
        ],
    ),
    ("title", &["title_changed"]),
    (
        "comments",
        &["comment_added", "comment_removed", "comment_edited"],
    ),
    (
        "pingbacks",
        &[
            "pingback_added",
            "pingback_removed",
            "trackback_added",
            "trackback_removed",
        ],
    ),
    ("gone", &["page_gone", "page_back", "redirected"]),
    ("back", &["page_back"]),
    ("entries", &["entry_added"]),
    ("failing", &["fetch_failing", "fetch_recovered"]),
];

/// Whether `change` belongs to one of the `notify_on` categories (all do
/// when the list is empty).
pub fn wanted(change: &Change, notify_on: &[String]) -> bool {
    notify_on.is_empty()
        || notify_on.iter().any(|cat| {
            CATEGORIES
                .iter()
                .any(|(name, kinds)| name == cat && kinds.contains(&change.kind()))
        })
}

/// The alert payload for a check (the webhook JSON, schema 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub schema_version: u32,
    pub idempotency_key: String,
    pub watch: String,
    pub url: String,
    pub checked_at: String,
    pub version: Option<i64>,
    pub previous_version: Option<i64>,
    pub summary: String,
    pub significance: Option<String>,
    pub changes: Vec<Change>,
    /// The changes as a unified diff, for people and tools.
    pub diff: String,
}

/// The key that identifies a check's alert to every receiver.
pub fn idempotency_key(watch: &str, checked_at: &str) -> String {
    let h = crate::extract::sha256_hex(format!("{watch}\u{1}{checked_at}").as_bytes());
    format!("redline-{}", &h[..32])
}

/// The alert a check result makes for a watch, if any: the changes it
/// wants, when they reach its threshold.
pub fn alert_for(r: &CheckResult, notify_on: &[String]) -> Option<Alert> {
    if !r.alert {
        return None;
    }
    let changes: Vec<Change> = r
        .changes
        .iter()
        .filter(|c| wanted(c, notify_on))
        .cloned()
        .collect();
    if changes.is_empty() {
        return None;
    }
    // Nothing left out: the result's own summary and significance are
    // those of these very changes.
    let (summary, significance) = if changes.len() == r.changes.len() {
        (r.summary.clone(), r.significance)
    } else {
        (
            crate::summary::summarize(&changes),
            crate::summary::report_significance(&changes),
        )
    };
    Some(Alert {
        schema_version: SCHEMA_VERSION,
        idempotency_key: idempotency_key(&r.watch, &r.checked_at),
        watch: r.watch.clone(),
        url: r.url.clone(),
        checked_at: r.checked_at.clone(),
        version: r.version,
        previous_version: r.previous_version,
        summary,
        significance: significance.map(|s| s.as_str().to_string()),
        diff: render::unified_diff(&r.watch, &changes),
        changes,
    })
}

/// Delivery settings.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Attempts before an alert is marked failed.
    pub attempts: u32,
    /// The first retry waits this long; each next one twice as long (at
    /// most an hour).
    pub backoff: Duration,
    /// Bound on one send.
    pub timeout: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        DeliveryOptions {
            attempts: 8,
            backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    pub sent: usize,
    pub retrying: usize,
    pub failed: usize,
}

/// A batch to send: one alert, or a digest of several for one notifier.
struct Batch {
    notifier: Notifier,
    alerts: Vec<PendingAlert>,
}

/// Send what is due in the outbox. Alerts for notifiers no longer
/// configured wait (a config edit may bring them back).
pub async fn deliver(
    store: &mut Store,
    notifiers: &[Notifier],
    opts: &DeliveryOptions,
) -> Result<Delivered> {
    let mut set = start_sending(store, notifiers, opts)?;
    let mut report = Delivered::default();
    while let Some(joined) = set.join_next().await {
        if let Ok((alerts, outcome)) = joined {
            settle(store, opts, alerts, &outcome, &mut report)?;
        }
    }
    Ok(report)
}

/// A batch's alerts, and what sending them came to.
pub type Sent = (Vec<PendingAlert>, Result<(), String>);

/// Sends under way, a task a batch (each bounded by the delivery timeout).
pub type Sending = tokio::task::JoinSet<Sent>;

/// Start sending what is due in the outbox; [`settle`] records each batch
/// as it comes back. The daemon keeps checking meanwhile.
pub fn start_sending(
    store: &Store,
    notifiers: &[Notifier],
    opts: &DeliveryOptions,
) -> Result<Sending> {
    let now = chrono::Utc::now();
    let due = store.due_alerts(&crate::check::now_rfc3339())?;
    let mut batches: Vec<Batch> = Vec::new();
    for n in notifiers {
        let mine: Vec<PendingAlert> = due
            .iter()
            .filter(|a| a.notifier == n.name)
            .cloned()
            .collect();
        if mine.is_empty() {
            continue;
        }
        match n.digest {
            None => batches.extend(mine.into_iter().map(|a| Batch {
                notifier: n.clone(),
                alerts: vec![a],
            })),
            Some(period) => {
                // A digest goes out once its oldest alert has waited a period.
                let oldest = mine
                    .iter()
                    .filter_map(|a| chrono::DateTime::parse_from_rfc3339(&a.created_at).ok())
                    .min();
                let ripe = oldest.is_none_or(|t| {
                    now.signed_duration_since(t).to_std().unwrap_or_default() >= period
                });
                if ripe {
                    batches.push(Batch {
                        notifier: n.clone(),
                        alerts: mine,
                    });
                }
            }
        }
    }
    let mut set = tokio::task::JoinSet::new();
    for b in batches {
        let timeout = opts.timeout;
        set.spawn(async move {
            let alerts: Vec<Alert> = b
                .alerts
                .iter()
                .filter_map(|a| serde_json::from_str(&a.payload).ok())
                .collect();
            let outcome = match tokio::time::timeout(timeout, send_one(&b.notifier, &alerts)).await
            {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {timeout:?}")),
            };
            (b.alerts, outcome)
        });
    }
    Ok(set)
}

/// Record what sending one batch came to: delivered, to be retried after a
/// back-off, or failed for good.
pub fn settle(
    store: &mut Store,
    opts: &DeliveryOptions,
    alerts: Vec<PendingAlert>,
    outcome: &Result<(), String>,
    report: &mut Delivered,
) -> Result<()> {
    let at = crate::check::now_rfc3339();
    for a in alerts {
        match outcome {
            Ok(()) => {
                store.mark_delivered(a.id, &at)?;
                report.sent += 1;
            }
            Err(e) => {
                let attempts = a.attempts + 1;
                if attempts >= opts.attempts {
                    store.mark_failed(a.id, attempts, e)?;
                    report.failed += 1;
                } else {
                    let wait = opts
                        .backoff
                        .saturating_mul(1u32 << (attempts - 1).min(16))
                        .min(Duration::from_secs(3600));
                    let next = chrono::Utc::now()
                        + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
                    let next = next.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                    store.mark_retry(a.id, attempts, &next, e)?;
                    report.retrying += 1;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{report_significance, summarize};

    #[test]
    fn an_alert_summarises_exactly_the_changes_it_carries() {
        let changes = vec![
            Change::TitleChanged {
                before: Some("Old".into()),
                after: Some("New".into()),
            },
            Change::TextEdited {
                block: 2,
                old_block: 2,
                before: "The mission costs $40 million.".into(),
                after: "The mission costs $60 million.".into(),
            },
        ];
        let r = CheckResult {
            watch: "w".into(),
            url: "http://x/".into(),
            checked_at: "2026-11-29T10:00:00.000Z".into(),
            outcome: "changed",
            http_status: Some(200),
            version: Some(2),
            previous_version: Some(1),
            summary: summarize(&changes),
            significance: report_significance(&changes),
            changes: changes.clone(),
            error: None,
            alert: true,
            retry_after: None,
            duration_ms: 1,
        };
        // Everything wanted: the result's own summary and significance.
        let all = alert_for(&r, &[]).unwrap();
        assert_eq!(all.summary, r.summary);
        assert_eq!(all.changes, changes);
        // Only the text: summarised and weighed on its own.
        let text = alert_for(&r, &["text".to_string()]).unwrap();
        assert_eq!(text.changes, changes[1..]);
        assert_eq!(text.summary, summarize(&changes[1..]));
        assert_ne!(text.summary, r.summary);
        assert_eq!(
            text.significance.as_deref(),
            report_significance(&changes[1..]).map(|s| s.as_str())
        );
    }
}
