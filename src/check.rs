//! One check of one watch: fetch → extract → compare → store.
//!
//! [`decide`] is the pure heart (what a response means given the archive's
//! prior state); [`run_checks`] drives fetches concurrently and records each
//! result atomically as it arrives (checks processed close together share
//! one commit, each in a savepoint of its own).

use crate::compare::compare;
use crate::config::Watch;
use crate::extract::{Rules, extract};
use crate::fetch::{Fetcher, Request, Validators};
use crate::model::{Change, Page, Response};
use crate::store::{CheckRecord, NewVersion, Outcome, Prior, Store, Version};
use crate::summary::{Significance, report_significance, summarize};
use crate::volatile::{VolatileRule, learn, strip};
use anyhow::Result;
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, Instant};

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
    /// How long the server asked us to stay away (429/503 `Retry-After`).
    #[serde(skip)]
    pub retry_after: Option<Duration>,
    /// How long the fetch took, retries included.
    #[serde(skip)]
    pub duration_ms: u64,
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

impl Decision {
    /// The new version to record, in the archive's terms.
    pub fn version_to_record(&self) -> Option<NewVersion<'_>> {
        match &self.new_version {
            Some(Some(page)) => Some(NewVersion::Page(page)),
            Some(None) => Some(NewVersion::Gone),
            None => None,
        }
    }
}

/// Whether a status means the page is gone (rather than broken).
pub fn is_gone(status: u16) -> bool {
    status == 404 || status == 410
}

/// Decide what a response means. `base_page` is the page of `prior.base`
/// extracted with the current rules.
pub fn decide(
    prior: &Prior,
    base_page: Option<&Page>,
    resp: &Response,
    rules: &Rules,
    volatile: &[VolatileRule],
) -> Decision {
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
    if resp.status == 304 {
        // Not modified: the server vouches that nothing changed.
        return Decision {
            outcome: if first {
                Outcome::Error
            } else {
                Outcome::Unchanged
            },
            changes: vec![],
            new_version: None,
            error: first
                .then(|| "HTTP 304 Not Modified to a request without validators".to_string()),
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
        changes.extend(compare(&strip(base, volatile), &strip(&page, volatile)));
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
        && let Some(page) = store.stored_page(version)?
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

/// What to do with a fetch.
#[derive(Debug)]
pub enum Step {
    /// Recorded; here is what happened.
    Done(CheckResult),
    /// The page seems to have changed: fetch it again after `delay` and
    /// hand both responses back (`confirmation` of [`process`]).
    Confirm { first: Unconfirmed, delay: Duration },
}

/// A response that seems to show a change, and what it was found to mean,
/// waiting for its confirming re-fetch.
#[derive(Debug, Clone)]
pub struct Unconfirmed {
    pub response: Response,
    /// Dropped by a caller bounding memory: the confirmation then decides
    /// from scratch.
    pub decision: Option<Box<Decision>>,
    /// While waiting, the body is held compressed (its length when so).
    pub packed: Option<usize>,
    /// While waiting, the decision's page is held as compressed JSON (and
    /// its length), an empty page standing in for it.
    pub packed_page: Option<(Vec<u8>, usize)>,
    /// That JSON once unpacked: the confirmation searches it, and it is
    /// what gets stored if the first decision stands. The decision's page
    /// stays empty meanwhile (read back from the JSON by `held_page`).
    pub page_json: Option<Vec<u8>>,
    /// Held as it is (not packed), counting this many bytes against the
    /// pass's allowance for that.
    pub held_plain: usize,
    /// What the decision's page does not show (see `unshown_of`), worked
    /// out while the page was at hand: recorded with it if it stands.
    pub unshown: Option<String>,
}

impl Unconfirmed {
    /// About what holding it unpacked costs: its body, and as much again
    /// for the page its decision carries.
    fn plain_size(&self) -> usize {
        let page = matches!(
            self.decision.as_deref().map(|d| &d.new_version),
            Some(Some(Some(_)))
        );
        self.response.body.len() * if page { 2 } else { 1 }
    }

    /// Hold the body compressed while the confirmation waits (hundreds of
    /// pages can wait at once in a large pass).
    pub fn pack(&mut self) {
        if self.packed.is_none()
            && let Ok(mut z) = crate::store::codec::compress_at(&self.response.body, &[], 1)
        {
            // The compressor's buffer has room for the worst case: what
            // waits keeps only what it holds.
            z.shrink_to_fit();
            self.packed = Some(self.response.body.len());
            self.response.body = z;
        }
        if self.packed_page.is_none()
            && let Some(Some(Some(page))) = self.decision.as_mut().map(|d| &mut d.new_version)
            && let Ok(json) = serde_json::to_vec(page)
            && let Ok(mut z) = crate::store::codec::compress_at(&json, &[], 1)
        {
            z.shrink_to_fit();
            self.packed_page = Some((z, json.len()));
            *page = Page::default();
        }
    }

    /// The body as it was again, and the page's JSON. The page itself is
    /// read back from that JSON only when something needs
    /// more than the JSON that gets stored.
    pub fn unpack(&mut self) -> Result<()> {
        if let Some(len) = self.packed {
            self.response.body = crate::store::codec::decompress(&self.response.body, len, &[])?;
            self.packed = None;
        }
        if let Some((z, len)) = self.packed_page.take() {
            self.page_json = Some(crate::store::codec::decompress(&z, len, &[])?);
        }
        Ok(())
    }
}

/// The page of a decision held through a confirmation, read back from its
/// JSON when the decision carries the empty stand-in [`Unconfirmed::pack`]
/// left (a page extracted from HTML always has its media type).
fn held_page(decision: &mut Decision, json: Option<&[u8]>) -> Result<()> {
    if let (Some(Some(page)), Some(json)) = (&mut decision.new_version, json)
        && page.mime.is_empty()
    {
        *page = serde_json::from_slice(json)?;
    }
    Ok(())
}

fn has_text_changes(changes: &[Change]) -> bool {
    changes.iter().any(|c| {
        matches!(
            c,
            Change::TextEdited { .. } | Change::TextAdded { .. } | Change::TextRemoved { .. }
        )
    })
}

/// Record the outcome of one fetch and say what happened. `confirmation`
/// is the first response when `fetched` is the confirming re-fetch.
pub fn process(
    store: &mut Store,
    watch: &Watch,
    fetched: Result<Response, String>,
    confirmation: Option<Unconfirmed>,
    checked_at: &str,
    duration_ms: u64,
) -> Step {
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
        retry_after: None,
        duration_ms,
    };
    // What the first response was found to mean, when it stands (the
    // confirmation failed, or shows nothing a reader could see
    // differently), with its page's JSON when the confirmation held it and
    // what its page does not show.
    let mut confirmed: Option<(Decision, Option<Vec<u8>>, Option<String>)> = None;
    let fetched = match (fetched, confirmation) {
        (Err(_), Some(first)) => {
            confirmed = first.decision.map(|d| (*d, first.page_json, first.unshown));
            Ok((first.response, true))
        }
        (Ok(second), Some(mut first)) => {
            // Text the extracted page does not show at all (a "generated
            // at" line outside the article) is no difference either. The
            // page is searched as its JSON when it waited packed, else as
            // its texts (gathered when first asked).
            let json = first.page_json.take();
            let same = {
                let page = match first.decision.as_deref().map(|d| &d.new_version) {
                    Some(Some(Some(page))) if !page.mime.is_empty() => Some(page),
                    _ => None,
                };
                let mut texts: Option<Vec<u8>> = None;
                let mut shown = |t: &str| match (&json, page) {
                    (Some(j), _) => shown_in(Some(j), t),
                    (None, Some(page)) => {
                        shown_in(Some(texts.get_or_insert_with(|| page_strings(page))), t)
                    }
                    (None, None) => true,
                };
                first.response.status == second.status
                    && first.response.final_url == second.final_url
                    && crate::extract::quick::only_invisible_changes(
                        &first.response.body,
                        &second.body,
                        &[],
                        &mut shown,
                    )
            };
            if same && let Some(d) = first.decision {
                // Recorded as first fetched: the page was extracted from
                // exactly these bytes.
                confirmed = Some((*d, json, first.unshown));
                Ok((first.response, true))
            } else if same {
                Ok((second, true))
            } else {
                if let Err(e) = learn_volatile(store, watch, &first.response, &second, checked_at) {
                    result.error = Some(format!("archive: {e:#}"));
                    return Step::Done(result);
                }
                Ok((second, true))
            }
        }
        (other, None) => other.map(|r| (r, false)),
    };
    // The cheap path's patch from the current version's body, if any.
    let mut body_patch: Option<Vec<u8>> = None;
    let recorded = (|| -> Result<Option<Step>> {
        let prior = store.prior(&watch.name)?;
        result.version = prior.latest.as_ref().map(|v| v.number);
        let volatile: Vec<VolatileRule> = store
            .volatile_rules(&watch.name)?
            .into_iter()
            .map(|l| l.rule)
            .collect();
        // The held JSON is stored only with the decision it came with.
        let mut page_json: Option<Vec<u8>> = None;
        // What the new version's page does not show, when known already.
        let mut unshown: Option<Option<String>> = None;
        // The response's texts with digits, when the cheap path found them.
        let mut digits: Option<Vec<&str>> = None;
        let (mut decision, resp) = match (&fetched, confirmed.take()) {
            (Ok((resp, _)), Some((d, json, known))) => {
                result.http_status = Some(resp.status);
                page_json = json;
                unshown = Some(known);
                (d, Some(resp))
            }
            (Ok((resp, _)), None) => {
                result.http_status = Some(resp.status);
                if resp.status == 429 || resp.status == 503 {
                    result.retry_after = crate::fetch::retry_after(resp);
                }
                let (found, unshown, texts) =
                    only_noise_since_last(store, watch, &prior, resp, &volatile)?;
                digits = texts;
                // A lookup saved, nothing more: not worth failing the check.
                if let (Some(texts), Some(latest)) = (unshown, &prior.latest)
                    && let Err(e) = store.note_unshown(latest.id, &texts)
                {
                    tracing::debug!("{}: cannot remember unshown texts: {e:#}", watch.name);
                }
                if let Some(found) = found {
                    body_patch = found.patch;
                    (
                        Decision {
                            outcome: Outcome::Unchanged,
                            changes: vec![],
                            new_version: None,
                            error: None,
                        },
                        Some(resp),
                    )
                } else {
                    // Only a page answering 2xx is compared with the base.
                    let base_page = match &prior.base {
                        Some(v) if (200..300).contains(&resp.status) => {
                            page_under_rules(store, v, &watch.rules)?
                        }
                        _ => None,
                    };
                    (
                        decide(&prior, base_page.as_ref(), resp, &watch.rules, &volatile),
                        Some(resp),
                    )
                }
            }
            (Err(e), _) => (
                Decision {
                    outcome: Outcome::Error,
                    changes: vec![],
                    new_version: None,
                    error: Some(e.clone()),
                },
                None,
            ),
        };
        if let (Ok((resp, confirmed)), Some(delay)) = (&fetched, watch.confirm)
            && !confirmed
            && decision.outcome == Outcome::Changed
            && has_text_changes(&decision.changes)
        {
            let unshown = match &decision.new_version {
                Some(Some(page)) => unshown_of(digits_of(digits, resp), page),
                _ => None,
            };
            return Ok(Some(Step::Confirm {
                first: Unconfirmed {
                    response: resp.clone(),
                    decision: Some(Box::new(decision)),
                    packed: None,
                    packed_page: None,
                    page_json: None,
                    held_plain: 0,
                    unshown,
                },
                delay,
            }));
        }
        if watch.compare_last > 1 && decision.outcome == Outcome::Changed {
            held_page(&mut decision, page_json.as_deref())?;
            if let Some(Some(page)) = &decision.new_version
                && matches_earlier(store, watch, &prior, page, &volatile)?
            {
                decision = Decision {
                    outcome: Outcome::Unchanged,
                    changes: vec![],
                    new_version: None,
                    error: None,
                };
            }
        }
        // Fault reports: one when the failures reach the threshold, one on
        // recovery; nothing in between.
        let failed_before = store.consecutive_errors(&watch.name)?;
        if decision.outcome == Outcome::Error {
            if failed_before + 1 == watch.failing_after {
                decision.changes.push(Change::FetchFailing {
                    failures: failed_before + 1,
                    error: decision.error.clone().unwrap_or_default(),
                });
            }
        } else if failed_before >= watch.failing_after {
            decision.changes.insert(
                0,
                Change::FetchRecovered {
                    failures: failed_before,
                },
            );
        }
        let summary = summarize(&decision.changes);
        let significance = report_significance(&decision.changes);
        let new_version = decision.version_to_record();
        // (A page that waited packed is an empty stand-in here, but what it
        // does not show was worked out before it waited.)
        let unshown = match (unshown, &new_version, resp) {
            (Some(known), _, _) => known,
            (None, Some(NewVersion::Page(page)), Some(r)) => unshown_of(digits_of(digits, r), page),
            _ => None,
        };
        // The alerts go into the outbox in the same transaction: their
        // version numbers are the ones this record will give (one writer).
        let latest = prior.latest.as_ref().map(|v| v.number);
        let draft = CheckResult {
            outcome: decision.outcome.as_str(),
            changes: decision.changes.clone(),
            summary: summary.clone(),
            significance,
            alert: significance.is_some_and(|s| s >= watch.min_significance),
            version: if new_version.is_some() {
                Some(latest.map_or(1, |n| n + 1))
            } else {
                latest
            },
            previous_version: if new_version.is_some() { latest } else { None },
            ..result.clone()
        };
        let alerts: Vec<(String, String, String)> =
            match crate::notify::alert_for(&draft, &watch.notify_on) {
                Some(a) => {
                    let payload = serde_json::to_string(&a)?;
                    watch
                        .notify
                        .iter()
                        .map(|n| (n.clone(), a.idempotency_key.clone(), payload.clone()))
                        .collect()
                }
                None => Vec::new(),
            };
        result.outcome = decision.outcome.as_str();
        result.error = decision.error.clone();
        let rec = store.record(&CheckRecord {
            watch: &watch.name,
            url: &watch.url,
            checked_at,
            duration_ms,
            outcome: decision.outcome,
            // A 304 says nothing worth keeping beyond its status.
            response: resp.filter(|r| r.status != 304),
            http_status: resp.map(|r| r.status),
            new_version,
            rules: &watch.rules,
            base_version_id: prior.base.as_ref().map(|v| v.id),
            changes: &decision.changes,
            summary: &summary,
            significance: significance.map(Significance::as_str),
            error: decision.error.as_deref(),
            alerts: &alerts,
            body_patch: body_patch.as_deref(),
            unshown: unshown.as_deref(),
        })?;
        if rec.previous_version.is_some()
            && let Err(e) = store.prune(
                &watch.name,
                watch.keep_versions,
                watch.keep_days,
                chrono::Utc::now(),
            )
        {
            // The check itself is safely recorded; retention retries next time.
            tracing::warn!(watch = %watch.name, "retention: {e:#}");
        }
        result.summary = summary;
        result.significance = significance;
        result.alert = significance.is_some_and(|s| s >= watch.min_significance);
        result.version = rec.version;
        result.previous_version = rec.previous_version;
        result.changes = decision.changes;
        Ok(None)
    })();
    match recorded {
        Ok(Some(step)) => step,
        Ok(None) => Step::Done(result),
        Err(e) => {
            result.archive_failed(format!("archive: {e:#}"));
            Step::Done(result)
        }
    }
}

impl CheckResult {
    /// The archive could not record this check: an error, reporting
    /// nothing else.
    fn archive_failed(&mut self, error: String) {
        self.outcome = Outcome::Error.as_str();
        self.changes.clear();
        self.summary = summarize(&[]);
        self.significance = None;
        self.alert = false;
        self.error = Some(error);
    }
}

/// Whether `text` appears in a page's JSON or texts ([`page_strings`];
/// `None`: the page is unknown, so it may). Text JSON would escape is
/// taken as shown.
fn shown_in(json: Option<&[u8]>, text: &str) -> bool {
    json.is_none_or(|j| {
        text.contains(['"', '\\'])
            || text.chars().any(char::is_control)
            || memchr::memmem::find(j, text.as_bytes()).is_some()
    })
}

/// What the cheap path found: the new body differs only invisibly (with
/// its patch), what the current version's page was found not to show,
/// and the new body's texts with digits when it was tokenized and differs
/// visibly.
type Cheap<'r> = (
    Option<crate::extract::quick::Invisible>,
    Option<String>,
    Option<Vec<&'r str>>,
);

/// The texts with digits of the response, `found` by the cheap path or
/// found now.
fn digits_of<'r>(found: Option<Vec<&'r str>>, resp: &'r Response) -> Vec<&'r str> {
    found.unwrap_or_else(|| crate::extract::quick::digit_texts(&resp.body))
}

/// The cheap path: the response differs from the body of the current
/// version only where no reader can see it (see [`crate::extract::quick`]).
/// Then the page is unchanged, without parsing it.
fn only_noise_since_last<'r>(
    store: &Store,
    watch: &Watch,
    prior: &crate::store::Prior,
    resp: &'r Response,
    volatile: &[VolatileRule],
) -> Result<Cheap<'r>> {
    let Some(latest) = &prior.latest else {
        return Ok((None, None, None));
    };
    let mime = resp.mime();
    if latest.gone
        || latest.rules != watch.rules.fingerprint
        || watch.rules.feed
        || !(200..300).contains(&resp.status)
        || !(mime == "text/html" || mime == "application/xhtml+xml")
        || latest.final_url != resp.final_url
        || latest.requested_url != resp.requested_url
    {
        return Ok((None, None, None));
    }
    let (status, content_type, body) = store.response_body(latest.response_id)?;
    if status != resp.status || content_type.as_deref() != resp.header("content-type") {
        return Ok((None, None, None));
    }
    // The current version's page, read only if a changed text needs it
    // and the version has not learned it is not shown; unreadable counts
    // as "shown" (the full path then decides).
    let known = || {
        latest
            .unshown
            .as_deref()
            .into_iter()
            .flat_map(|u| u.split('\n'))
    };
    let mut learned: Vec<String> = Vec::new();
    let mut page: Option<Option<std::rc::Rc<Vec<u8>>>> = None;
    let mut masked_page: Option<Vec<u8>> = None;
    let mut shown = |text: &str| {
        let masked = mask_digits(text);
        if known().any(|k| k == masked) || learned.contains(&masked) {
            return false;
        }
        let json = page.get_or_insert_with(|| page_text_of(store, latest, &watch.rules).ok());
        let json = json.as_ref().map(|j| j.as_slice());
        let shown = shown_in(json, text);
        if let (false, Some(json)) = (shown, json) {
            learn_unshown(json, &mut masked_page, masked, &mut learned);
        }
        shown
    };
    let (found, digits) = match crate::extract::quick::invisible_or_digit_texts(
        &body, &resp.body, volatile, &mut shown,
    ) {
        Ok(found) => (Some(found), None),
        Err(digits) => (None, Some(digits)),
    };
    let learned = (found.is_some() && !learned.is_empty()).then(|| {
        let all: Vec<&str> = known().chain(learned.iter().map(String::as_str)).collect();
        // Bounded: a page whose hidden numbers keep changing shape still
        // gets a short list, the newest kept.
        let skip = all.len().saturating_sub(UNSHOWN_KEPT);
        all[skip..].join("\n")
    });
    Ok((found, learned, digits))
}

/// The page of a version as text to search, under `rules` (its own: the
/// cheap path runs only then): the stored page's JSON, else the texts of
/// the page derived from its raw response ([`page_strings`]).
fn page_text_of(store: &Store, version: &Version, rules: &Rules) -> Result<std::rc::Rc<Vec<u8>>> {
    if let Some(json) = store.stored_page_json(version)? {
        return Ok(json);
    }
    let raw = store.raw_response(version.response_id)?;
    Ok(std::rc::Rc::new(page_strings(&extract(
        &raw.response,
        rules,
    ))))
}

/// At most this many texts a version remembers its page does not show.
const UNSHOWN_KEPT: usize = 8;

/// At most this many texts of a new version's body are looked up in its
/// page beyond the texts it shows whole (a long page with many dated links
/// stays cheap; what is not learned now is learned by the check that asks).
const UNSHOWN_LOOKUPS: usize = 64;

/// What a new version's page does not show of the texts with digits in its
/// body, digits masked (as [`learn_unshown`] learns them), one per line:
/// worked out while the page is at hand, so the cheap path of later checks
/// need not derive the page to tell that a changing "generated at" line
/// is not shown.
fn unshown_of(digit_texts: Vec<&str>, page: &Page) -> Option<String> {
    // An empty stand-in for a page held packed is no page to go by.
    if page.mime.is_empty() {
        return None;
    }
    // The texts the page shows whole, in document order: a text of the
    // body shown so is one of the next few of them.
    let whole: Vec<&str> = page
        .title
        .iter()
        .chain(page.blocks.iter().map(|b| &b.text))
        .chain(page.responses.iter().flat_map(|r| {
            [r.author.as_ref(), r.date.as_ref(), Some(&r.text)]
                .into_iter()
                .flatten()
        }))
        .map(String::as_str)
        .collect();
    let mut next = 0;
    let mut texts: Option<Vec<u8>> = None;
    let mut masked_page: Option<Vec<u8>> = None;
    let mut learned: Vec<String> = Vec::new();
    let mut lookups = 0;
    for raw in digit_texts {
        let text = crate::extract::text::normalize(raw);
        if text.is_empty() {
            continue;
        }
        if let Some(k) = whole[next..].iter().take(8).position(|w| *w == text) {
            next += k + 1;
            continue;
        }
        // A text JSON would escape counts as shown (see `shown_in`).
        if text.contains(['"', '\\']) || text.chars().any(char::is_control) {
            continue;
        }
        let masked = mask_digits(&text);
        if learned.contains(&masked) {
            continue;
        }
        lookups += 1;
        if lookups > UNSHOWN_LOOKUPS || learned.len() == UNSHOWN_KEPT {
            break;
        }
        let texts = texts.get_or_insert_with(|| page_strings(page));
        learn_unshown(texts, &mut masked_page, masked, &mut learned);
    }
    (!learned.is_empty()).then(|| learned.join("\n"))
}

/// Every text of a page (what comparing it looks at), one per line: a text
/// with no newline not found in it is shown nowhere.
fn page_strings(page: &Page) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(usize::try_from(page.body_size / 2).map_or(0, |n| n.min(1 << 20)));
    let mut add = |s: &str| {
        out.extend_from_slice(s.as_bytes());
        out.push(b'\n');
    };
    let m = &page.meta;
    for s in [
        &page.title,
        &page.body_sha256,
        &m.canonical,
        &m.published,
        &m.modified,
    ]
    .into_iter()
    .flatten()
    {
        add(s);
    }
    add(&page.mime);
    m.feeds.iter().for_each(|f| add(f));
    page.blocks.iter().for_each(|b| add(&b.text));
    for r in &page.responses {
        for s in [
            Some(&r.id),
            r.author.as_ref(),
            r.url.as_ref(),
            r.date.as_ref(),
            Some(&r.text),
        ]
        .into_iter()
        .flatten()
        {
            add(s);
        }
    }
    for e in &page.entries {
        for s in [
            Some(&e.id),
            Some(&e.title),
            e.link.as_ref(),
            e.date.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            add(s);
        }
    }
    out
}

/// `text` with its ASCII digits masked: texts that differ only in their
/// digits mask alike.
fn mask_digits(text: &str) -> String {
    // Masking ASCII digits keeps UTF-8 valid.
    String::from_utf8(mask_digit_bytes(text.as_bytes())).unwrap_or_default()
}

fn mask_digit_bytes(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|c| if c.is_ascii_digit() { b'0' } else { *c })
        .collect()
}

/// `masked` (a text the page does not show, digits masked) is worth
/// remembering when no text masking alike is in the page at all: then no
/// text differing from it only in digits is shown either (a text found
/// in `shown`, the page's JSON or its texts, is found masked in it
/// masked), and the next check can answer without reading the page.
fn learn_unshown(
    shown: &[u8],
    masked_page: &mut Option<Vec<u8>>,
    masked: String,
    learned: &mut Vec<String>,
) {
    let page = masked_page.get_or_insert_with(|| mask_digit_bytes(shown));
    if masked.len() <= 256
        && !masked.contains('\n')
        && memchr::memmem::find(page, masked.as_bytes()).is_none()
    {
        learned.push(masked);
    }
}

/// Learn volatile blocks from two fetches made moments apart.
fn learn_volatile(
    store: &mut Store,
    watch: &Watch,
    first: &Response,
    second: &Response,
    at: &str,
) -> Result<()> {
    if !(200..300).contains(&first.status) || !(200..300).contains(&second.status) {
        return Ok(());
    }
    let known: Vec<VolatileRule> = store
        .volatile_rules(&watch.name)?
        .into_iter()
        .map(|l| l.rule)
        .collect();
    let (a, b) = (extract(first, &watch.rules), extract(second, &watch.rules));
    let (a, b) = (strip(&a, &known), strip(&b, &known));
    let learned = learn(&a, &b);
    if learned.is_empty() {
        return Ok(());
    }
    let diff = crate::compare::compare_blocks(
        &a.blocks.iter().map(|b| b.text.as_str()).collect::<Vec<_>>(),
        &b.blocks.iter().map(|b| b.text.as_str()).collect::<Vec<_>>(),
    );
    let example = summarize(&diff);
    let with_examples: Vec<(VolatileRule, String)> =
        learned.into_iter().map(|r| (r, example.clone())).collect();
    // The watch exists: a suspected change needs an earlier version.
    store.add_volatile_rules(&watch.name, &with_examples, at)
}

/// Whether `page` is the same as one of the watch's recent versions (for
/// `compare_last`: a page flipping between states is not news).
fn matches_earlier(
    store: &Store,
    watch: &Watch,
    prior: &Prior,
    page: &Page,
    volatile: &[VolatileRule],
) -> Result<bool> {
    let versions = store.versions(&watch.name)?;
    let base_id = prior.base.as_ref().map(|v| v.id);
    let new = strip(page, volatile);
    for v in versions
        .iter()
        .rev()
        .filter(|v| !v.gone && Some(v.id) != base_id)
        .take(watch.compare_last.saturating_sub(1))
    {
        if let Some(old) = page_under_rules(store, v, &watch.rules)?
            && compare(&strip(&old, volatile), &new).is_empty()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// One finished fetch, on its way to [`process`].
#[derive(Debug)]
pub struct Fetched<K> {
    /// Which watch, in the caller's terms.
    pub key: K,
    pub result: Result<Response, String>,
    /// Set when this fetch confirms an earlier one.
    pub first: Option<Unconfirmed>,
    pub checked_at: String,
    pub ms: u64,
    /// The response's place on the wire, released once it is processed.
    pub slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// A confirmation to make: the first response, the delay, and when the
/// check started.
pub type Confirming = (Unconfirmed, Duration, String);

/// Fetch for one check: after the confirmation delay when confirming,
/// after taking a permit of `limit` when given.
pub async fn fetch_job<K>(
    fetcher: Fetcher,
    key: K,
    req: Request,
    first: Option<Confirming>,
) -> Fetched<K> {
    let (first, checked_at) = match first {
        Some((resp, delay, at)) => {
            tokio::time::sleep(delay).await;
            (Some(resp), Some(at))
        }
        None => (None, None),
    };
    let checked_at = checked_at.unwrap_or_else(now_rfc3339);
    let start = Instant::now();
    let (result, slot) = fetcher.get_holding(&req).await;
    Fetched {
        key,
        result: result.map_err(|e| e.to_string()),
        first,
        checked_at,
        ms: start.elapsed().as_millis() as u64,
        slot,
    }
}

/// Checks waiting to start, by host, handed out round-robin with at most
/// `cap` started per host.
struct HostQueue {
    cap: usize,
    waiting: HashMap<String, std::collections::VecDeque<usize>>,
    started: HashMap<String, usize>,
    /// Hosts with checks waiting and room to start one, in turn order.
    ready: std::collections::VecDeque<String>,
    in_ready: std::collections::HashSet<String>,
}

impl HostQueue {
    fn new(cap: usize) -> HostQueue {
        HostQueue {
            cap: cap.max(1),
            waiting: HashMap::new(),
            started: HashMap::new(),
            ready: std::collections::VecDeque::new(),
            in_ready: std::collections::HashSet::new(),
        }
    }

    fn push(&mut self, host: String, item: usize) {
        self.waiting
            .entry(host.clone())
            .or_default()
            .push_back(item);
        self.make_ready(host);
    }

    fn make_ready(&mut self, host: String) {
        let has_room = self.started.get(&host).copied().unwrap_or(0) < self.cap;
        let has_work = self.waiting.get(&host).is_some_and(|q| !q.is_empty());
        if has_room && has_work && !self.in_ready.contains(&host) {
            self.in_ready.insert(host.clone());
            self.ready.push_back(host);
        }
    }

    /// The next check to start, if any host has room.
    fn next(&mut self) -> Option<usize> {
        while let Some(host) = self.ready.pop_front() {
            self.in_ready.remove(&host);
            if let Some(item) = self.waiting.get_mut(&host).and_then(|q| q.pop_front()) {
                *self.started.entry(host.clone()).or_default() += 1;
                self.make_ready(host);
                return Some(item);
            }
        }
        None
    }

    /// Nothing is running but checks wait (a started check was lost, e.g.
    /// its task panicked): forget the counts rather than stall.
    fn unstick(&mut self) {
        self.started.clear();
        let hosts: Vec<String> = self.waiting.keys().cloned().collect();
        for h in hosts {
            self.make_ready(h);
        }
    }

    /// A started check of `host` finished.
    fn done(&mut self, host: &str) {
        if let Some(n) = self.started.get_mut(host) {
            *n = n.saturating_sub(1);
        }
        self.make_ready(host.to_string());
    }
}

/// Check `watches` with at most `concurrency` fetches in flight, recording
/// each result as it arrives and handing it to `on_result`. A suspected
/// text change is confirmed by a second fetch before it is reported.
pub async fn run_checks(
    store: &mut Store,
    fetcher: &Fetcher,
    watches: &[Watch],
    concurrency: usize,
    mut on_result: impl FnMut(CheckResult),
) {
    // Feeds with `track_new` add watches while the pass runs.
    let mut watches: Vec<Watch> = watches.to_vec();
    // The bound is on requests on the wire: checks waiting for a busy host
    // do not keep other hosts' checks from starting.
    let fetcher = &fetcher.with_in_flight(concurrency);
    let mut set = tokio::task::JoinSet::new();
    let spawn = |set: &mut tokio::task::JoinSet<Fetched<usize>>,
                 index: usize,
                 req: Request,
                 first: Option<Confirming>| {
        set.spawn(fetch_job(fetcher.clone(), index, req, first));
    };
    // Checks are started a window at a time (a started check is a task
    // holding its request; 20,000 of them at once cost more memory than
    // the pages), round-robin over hosts and at most twice a host's budget
    // started per host, so a slow site never keeps the others waiting.
    let window = (concurrency.max(1) * 8).max(256);
    let mut queue = HostQueue::new(fetcher.per_host() * 2);
    for (i, w) in watches.iter().enumerate() {
        queue.push(Fetcher::host_key(&w.url), i);
    }
    let mut group = GroupCommit::default();
    // Confirmations waiting: how many carry a decision, how many bytes
    // wait unpacked.
    let mut held = Held::default();
    loop {
        if set.is_empty() {
            queue.unstick();
        }
        while set.len() < window {
            let Some(i) = queue.next() else {
                break;
            };
            spawn(&mut set, i, request(store, &watches[i], true), None);
        }
        let joined = match group.left(store) {
            None => set.join_next().await,
            Some(left) if left.is_zero() => {
                group.commit(store, &mut on_result);
                set.join_next().await
            }
            Some(left) => match tokio::time::timeout(left, set.join_next()).await {
                Ok(j) => j,
                Err(_) => {
                    group.commit(store, &mut on_result);
                    set.join_next().await
                }
            },
        };
        let Some(joined) = joined else {
            break;
        };
        let Ok(mut f) = joined else {
            continue;
        };
        held.back(&mut f);
        group.open(store);
        if f.first.is_none() {
            queue.done(&Fetcher::host_key(&watches[f.key].url));
        }
        let watch = &watches[f.key];
        match process(store, watch, f.result, f.first, &f.checked_at, f.ms) {
            Step::Done(r) => {
                let new_children = if watch.track_new {
                    track_entries(store, watch, &r)
                } else {
                    Vec::new()
                };
                group.push(r);
                for child in new_children {
                    let req = request(store, &child, true);
                    watches.push(child);
                    spawn(&mut set, watches.len() - 1, req, None);
                }
            }
            Step::Confirm { mut first, delay } => {
                held.hold(&mut first);
                // The confirmation must see the page itself, not a 304.
                let req = request(store, watch, false);
                spawn(&mut set, f.key, req, Some((first, delay, f.checked_at)))
            }
        }
    }
    group.commit(store, &mut on_result);
}

/// At most this many checks share one commit, and a result waits at most
/// about this long for it (the transaction holds the archive's write lock).
const BATCH: usize = 512;
const BATCH_WINDOW: Duration = Duration::from_millis(250);

/// At most this many confirmations wait holding their first decision.
const CARRIED_DECISIONS: usize = 1024;

/// Confirmations wait unpacked up to about this many bytes in all.
const HELD_PLAIN: usize = 8 << 20;

/// How waiting confirmations are held. What the first fetch was found to
/// mean waits with it (a page each: bounded, beyond that it is worked out
/// again). Packing one costs two compressions and two decompressions, so
/// the first few megabytes wait as they are and only the rest are packed.
pub(crate) struct Held {
    decisions: usize,
    plain: usize,
    limit: usize,
}

impl Default for Held {
    /// Within [`HELD_PLAIN`] unpacked, for a pass or the daemon.
    fn default() -> Held {
        Held::new(HELD_PLAIN)
    }
}

impl Held {
    fn new(limit: usize) -> Held {
        Held {
            decisions: 0,
            plain: 0,
            limit,
        }
    }

    /// Before the confirmation waits.
    pub(crate) fn hold(&mut self, u: &mut Unconfirmed) {
        if self.decisions < CARRIED_DECISIONS {
            self.decisions += u.decision.is_some() as usize;
        } else {
            u.decision = None;
        }
        let size = u.plain_size();
        if self.plain + size <= self.limit {
            self.plain += size;
            u.held_plain = size;
        } else {
            u.pack();
        }
    }

    /// Once it is back.
    fn release(&mut self, u: &Unconfirmed) {
        if u.decision.is_some() {
            self.decisions = self.decisions.saturating_sub(1);
        }
        self.plain = self.plain.saturating_sub(u.held_plain);
    }

    /// A confirming fetch is back: what its first response held is given
    /// back, and that response unpacked. Failing to unpack (short of
    /// memory) fails the check, said so.
    pub(crate) fn back<K>(&mut self, f: &mut Fetched<K>) {
        if let Some(u) = &f.first {
            self.release(u);
        }
        if let Some(Err(e)) = f.first.as_mut().map(Unconfirmed::unpack) {
            f.first = None;
            f.result = Err(format!("cannot restore the first response: {e}"));
        }
    }
}

/// Group commit, for passes and the daemon: checks processed close
/// together share one transaction (each in a savepoint of its own), and
/// their results are handed out only once it is committed.
pub struct GroupCommit {
    pending: Vec<CheckResult>,
    started: Instant,
}

impl Default for GroupCommit {
    fn default() -> GroupCommit {
        GroupCommit {
            pending: Vec::new(),
            started: Instant::now(),
        }
    }
}

impl GroupCommit {
    /// Open a group, unless one is open, before processing a check.
    pub fn open(&mut self, store: &mut Store) {
        if !store.in_batch() {
            match store.begin_batch() {
                Ok(()) => self.started = Instant::now(),
                // Each check then commits on its own, as it would anyway.
                Err(e) => tracing::debug!("no group commit: {e:#}"),
            }
        }
    }

    /// A recorded check, handed out when the group is committed.
    pub fn push(&mut self, r: CheckResult) {
        self.pending.push(r);
    }

    /// How long the open group may still wait for more checks: `None`
    /// without one, zero when it is due (full, or its time is up).
    pub fn left(&self, store: &Store) -> Option<Duration> {
        store.in_batch().then(|| {
            if self.pending.len() >= BATCH {
                Duration::ZERO
            } else {
                BATCH_WINDOW.saturating_sub(self.started.elapsed())
            }
        })
    }

    /// Commit the group and hand out its results. When the commit fails
    /// nothing of the group was kept, and each result says so.
    pub fn commit(&mut self, store: &mut Store, deliver: &mut dyn FnMut(CheckResult)) {
        let failed = store
            .commit_batch()
            .err()
            .map(|e| format!("archive: {e:#}"));
        for mut r in self.pending.drain(..) {
            if let Some(e) = &failed {
                r.archive_failed(e.clone());
                r.version = None;
                r.previous_version = None;
            }
            deliver(r);
        }
    }
}

/// The request for a watch: conditional on its last response when
/// `conditional`, obeying robots.txt unless the watch opts out.
pub fn request(store: &Store, watch: &Watch, conditional: bool) -> Request {
    let validators = if conditional {
        // An unreadable archive only costs the condition.
        let (etag, last_modified) = store.validators(&watch.name).unwrap_or_default();
        Validators {
            etag,
            last_modified,
        }
    } else {
        Validators::default()
    };
    Request {
        url: watch.url.clone(),
        validators,
        robots: watch.robots,
        insecure_tls: watch.insecure_tls,
        private_redirects: watch.private_redirects,
    }
}

/// The watches a feed's new entries start (recorded in the archive, so
/// later passes keep checking them).
pub fn track_entries(store: &mut Store, feed: &Watch, r: &CheckResult) -> Vec<Watch> {
    let mut out = Vec::new();
    for c in &r.changes {
        let Change::EntryAdded(e) = c else {
            continue;
        };
        let Some(link) = e.link.as_deref() else {
            continue;
        };
        // Only web pages: a feed may carry any kind of link.
        let Ok(url) = reqwest::Url::parse(link) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") {
            continue;
        }
        let child = feed.tracked_child(url.as_str());
        match store.add_tracked(&feed.name, &child.name, &child.url, &r.checked_at) {
            Ok(true) => out.push(child),
            Ok(false) => {}
            Err(e) => eprintln!(
                "warning: {}: cannot record tracked entry {link}: {e:#}",
                feed.name
            ),
        }
    }
    out
}

#[cfg(test)]
mod tests;
