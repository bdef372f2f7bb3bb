//! One check of one watch: fetch → extract → compare → store.
//!
//! [`decide`] is the pure heart (what a response means given the archive's
//! prior state); [`run_checks`] drives fetches concurrently and records each
//! result in its own transaction as it arrives.

use crate::compare::compare;
use crate::config::Watch;
use crate::extract::{Rules, extract};
use crate::fetch::Fetcher;
use crate::model::{Change, Page, Response};
use crate::store::{CheckRecord, NewVersion, Outcome, Prior, Store, Version};
use crate::summary::{Significance, report_significance, summarize};
use anyhow::Result;
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// What a check found, as printed by `check --json` (a public contract).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckResult {
    pub watch: String,
    pub url: String,
    pub checked_at: String,
    pub outcome: &'static str,
    pub http_status: Option<u16>,
    pub version: Option<i64>,
    pub previous_version: Option<i64>,
    pub changes: Vec<Change>,
    pub error: Option<String>,
    /// One line for people; "no changes" when there are none.
    pub summary: String,
    /// The most significant change: `minor`, `moderate`, `major`; null
    /// without changes.
    pub significance: Option<Significance>,
    /// Whether the changes reach the watch's `min_significance` (alerts
    /// are sent only then).
    pub alert: bool,
}

/// What to record for a response, given the archive's prior state.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub outcome: Outcome,
    pub changes: Vec<Change>,
    /// `Some(Some(page))`: a new version with this page; `Some(None)`: a new
    /// gone version; `None`: no new version.
    pub new_version: Option<Option<Page>>,
    pub error: Option<String>,
}

/// Whether a status means the page is gone (rather than broken).
pub fn is_gone(status: u16) -> bool {
    status == 404 || status == 410
}

/// Decide what a response means. `base_page` is the page of `prior.base`
/// extracted with the current rules.
pub fn decide(prior: &Prior, base_page: Option<&Page>, resp: &Response, rules: &Rules) -> Decision {
    let first = prior.latest.is_none();
    let new_or_changed = if first {
        Outcome::FirstCapture
    } else {
        Outcome::Changed
    };
    if is_gone(resp.status) {
        if prior.latest.as_ref().is_some_and(|v| v.gone) {
            return Decision {
                outcome: Outcome::Unchanged,
                changes: vec![],
                new_version: None,
                error: None,
            };
        }
        return Decision {
            outcome: new_or_changed,
            changes: vec![Change::PageGone {
                status: resp.status,
            }],
            new_version: Some(None),
            error: None,
        };
    }
    if !(200..300).contains(&resp.status) {
        return Decision {
            outcome: Outcome::Error,
            changes: vec![],
            new_version: None,
            error: Some(format!("HTTP {} {}", resp.status, reason(resp.status))),
        };
    }
    let page = extract(resp, rules);
    let Some(latest) = &prior.latest else {
        return Decision {
            outcome: Outcome::FirstCapture,
            changes: vec![],
            new_version: Some(Some(page)),
            error: None,
        };
    };
    let mut changes = Vec::new();
    if latest.gone {
        changes.push(Change::PageBack {
            status: resp.status,
        });
    }
    if latest.requested_url == resp.requested_url && latest.final_url != resp.final_url {
        changes.push(Change::Redirected {
            from: latest.final_url.clone(),
            to: resp.final_url.clone(),
        });
    }
    if let Some(base) = base_page {
        changes.extend(compare(base, &page));
    }
    if changes.is_empty() {
        Decision {
            outcome: Outcome::Unchanged,
            changes,
            new_version: None,
            error: None,
        }
    } else {
        Decision {
            outcome: Outcome::Changed,
            changes,
            new_version: Some(Some(page)),
            error: None,
        }
    }
}

fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// The page of a stored version as the current rules see it: the stored
/// page when it was extracted under the same rules, else re-derived from the
/// archived raw response (so a rule edit never shows up as a page edit).
pub fn page_under_rules(store: &Store, version: &Version, rules: &Rules) -> Result<Option<Page>> {
    if version.gone {
        return Ok(None);
    }
    if version.rules == rules.fingerprint
        && let Some(page) = store.page(version)?
    {
        return Ok(Some(page));
    }
    let raw = store.raw_response(version.response_id)?;
    Ok(Some(extract(&raw.response, rules)))
}

/// The changes between two stored versions, with pages seen through
/// `rules` when given (else as stored).
pub fn diff_versions(
    store: &Store,
    from: &Version,
    to: &Version,
    rules: Option<&Rules>,
) -> Result<Vec<Change>> {
    let load = |v: &Version| -> Result<Option<Page>> {
        match rules {
            Some(r) => page_under_rules(store, v, r),
            None => store.page(v),
        }
    };
    let mut changes = Vec::new();
    match (from.gone, to.gone) {
        (false, true) => changes.push(Change::PageGone { status: to.status }),
        (true, false) => changes.push(Change::PageBack { status: to.status }),
        _ => {}
    }
    if from.requested_url == to.requested_url && from.final_url != to.final_url && !to.gone {
        changes.push(Change::Redirected {
            from: from.final_url.clone(),
            to: to.final_url.clone(),
        });
    }
    if let (Some(a), Some(b)) = (load(from)?, load(to)?) {
        changes.extend(compare(&a, &b));
    }
    Ok(changes)
}

/// Now, as stored and printed.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Record the outcome of one fetch and say what happened.
pub fn process(
    store: &mut Store,
    watch: &Watch,
    fetched: Result<Response, String>,
    checked_at: &str,
    duration_ms: u64,
) -> CheckResult {
    let mut result = CheckResult {
        watch: watch.name.clone(),
        url: watch.url.clone(),
        checked_at: checked_at.to_string(),
        outcome: Outcome::Error.as_str(),
        http_status: None,
        version: None,
        previous_version: None,
        changes: vec![],
        error: None,
        summary: summarize(&[]),
        significance: None,
        alert: false,
    };
    let recorded = (|| -> Result<()> {
        let prior = store.prior(&watch.name)?;
        result.version = prior.latest.as_ref().map(|v| v.number);
        let (decision, resp) = match &fetched {
            Ok(resp) => {
                result.http_status = Some(resp.status);
                let base_page = match &prior.base {
                    Some(v) => page_under_rules(store, v, &watch.rules)?,
                    None => None,
                };
                (
                    decide(&prior, base_page.as_ref(), resp, &watch.rules),
                    Some(resp),
                )
            }
            Err(e) => (
                Decision {
                    outcome: Outcome::Error,
                    changes: vec![],
                    new_version: None,
                    error: Some(e.clone()),
                },
                None,
            ),
        };
        let summary = summarize(&decision.changes);
        let significance = report_significance(&decision.changes);
        let new_version = match &decision.new_version {
            Some(Some(page)) => Some(NewVersion::Page(page)),
            Some(None) => Some(NewVersion::Gone),
            None => None,
        };
        result.outcome = decision.outcome.as_str();
        result.error = decision.error.clone();
        let rec = store.record(&CheckRecord {
            watch: &watch.name,
            url: &watch.url,
            checked_at,
            duration_ms,
            outcome: decision.outcome,
            response: resp,
            new_version,
            rules: &watch.rules.fingerprint,
            base_version_id: prior.base.as_ref().map(|v| v.id),
            changes: &decision.changes,
            summary: &summary,
            significance: significance.map(Significance::as_str),
            error: decision.error.as_deref(),
        })?;
        result.summary = summary;
        result.significance = significance;
        result.alert = significance.is_some_and(|s| s >= watch.min_significance);
        result.version = rec.version;
        result.previous_version = rec.previous_version;
        result.changes = decision.changes;
        Ok(())
    })();
    if let Err(e) = recorded {
        result.outcome = Outcome::Error.as_str();
        result.changes.clear();
        result.summary = summarize(&[]);
        result.significance = None;
        result.alert = false;
        result.error = Some(format!("archive: {e:#}"));
    }
    result
}

/// Check `watches` with at most `concurrency` fetches in flight, recording
/// each result as it arrives and handing it to `on_result`.
pub async fn run_checks(
    store: &mut Store,
    fetcher: &Fetcher,
    watches: &[Watch],
    concurrency: usize,
    mut on_result: impl FnMut(&CheckResult),
) -> Vec<CheckResult> {
    let sem = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, w) in watches.iter().enumerate() {
        let fetcher = fetcher.clone();
        let url = w.url.clone();
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let checked_at = now_rfc3339();
            let start = Instant::now();
            let r = fetcher.fetch(&url).await.map_err(|e| e.to_string());
            (i, r, checked_at, start.elapsed().as_millis() as u64)
        });
    }
    let mut results = Vec::with_capacity(watches.len());
    while let Some(joined) = set.join_next().await {
        let Ok((i, fetched, checked_at, ms)) = joined else {
            continue;
        };
        let r = process(store, &watches[i], fetched, &checked_at, ms);
        on_result(&r);
        results.push(r);
    }
    results
}

#[cfg(test)]
mod tests;
