//! Archive housekeeping and exchange: `gc`, `export --warc`, `import --warc`.

use super::{Context, Failure, Outcome};
use crate::check::{decide, page_under_rules};
use crate::model::{Hop, Response};
use crate::store::{CheckRecord, Store};
use crate::summary::{report_significance, summarize};
use crate::warc::{self, OutRecord};
use anyhow::Context as _;
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

pub fn gc(ctx: &Context, full: bool) -> Outcome {
    let config = ctx.load_config()?;
    let mut store = ctx.open_store()?;
    let now = Utc::now();
    let mut total = crate::store::Pruned::default();
    for w in &config.watches {
        let p = store.prune(&w.name, w.keep_versions, w.keep_days, now)?;
        if p.versions > 0 {
            println!(
                "{}: pruned {} version(s), {} response(s)",
                w.name, p.versions, p.responses
            );
        }
        total += p;
    }
    let stats = store.gc(full)?;
    let mb = |b: u64| b as f64 / 1_048_576.0;
    println!(
        "{}: {} version(s) pruned, {} blob(s) removed; {:.2} MB → {:.2} MB{}",
        ctx.db_path.display(),
        total.versions,
        total.blobs + stats.blobs,
        mb(stats.bytes_before),
        mb(stats.bytes_after),
        match (stats.rewrote, full) {
            (true, true) => " (rewritten)",
            (true, false) => " (rewritten once to switch on incremental vacuuming)",
            (false, _) => "",
        }
    );
    Ok(())
}

/// What redline says about a capture beyond the HTTP exchange, in a
/// `metadata` record beside the response.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct CaptureMeta {
    watch: String,
    requested_url: String,
    #[serde(default)]
    redirects: Vec<Hop>,
    #[serde(default)]
    elapsed_ms: u64,
}

const META_TYPE: &str = "application/vnd.redline.capture+json";
const PROFILE_IDENTICAL: &str = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest";
const PROFILE_NOT_MODIFIED: &str = "http://netpreserve.org/warc/1.1/revisit/server-not-modified";

fn http_head(status: u16, headers: &[(String, String)]) -> Vec<u8> {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut s = format!("HTTP/1.1 {status} {reason}\r\n");
    for (k, v) in headers {
        // The body is kept de-chunked: saying otherwise would misdescribe it.
        if k.eq_ignore_ascii_case("transfer-encoding") {
            continue;
        }
        s.push_str(&format!("{k}: {v}\r\n"));
    }
    s.push_str("\r\n");
    s.into_bytes()
}

fn request_block(url: &str) -> Vec<u8> {
    let (target, host) = match reqwest::Url::parse(url) {
        Ok(u) => {
            let mut t = u.path().to_string();
            if let Some(q) = u.query() {
                t.push('?');
                t.push_str(q);
            }
            let host = match (u.host_str(), u.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_string(),
                _ => String::new(),
            };
            (t, host)
        }
        Err(_) => ("/".into(), String::new()),
    };
    format!("GET {target} HTTP/1.1\r\nhost: {host}\r\n\r\n").into_bytes()
}

struct Written {
    id: String,
    uri: String,
    date: String,
    digest: String,
    /// The response's status line and headers, for its revisits.
    status: u16,
    head: Vec<u8>,
}

pub fn export(
    ctx: &Context,
    path: &Path,
    names: &[String],
    since: Option<std::time::Duration>,
) -> Outcome {
    let store = ctx.open_store()?;
    let all: Vec<String> = store
        .watch_summaries()?
        .into_iter()
        .map(|w| w.name)
        .collect();
    for n in names {
        if !all.contains(n) {
            return Err(Failure::Usage(format!(
                "no watch `{n}` in {}",
                ctx.db_path.display()
            )));
        }
    }
    let names: Vec<String> = if names.is_empty() {
        all
    } else {
        names.to_vec()
    };
    let since = since.map(|d| {
        (Utc::now() - chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX))
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    });
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let filename = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Written beside the target and renamed at the end: a failed export
    // never leaves a half-written WARC under the requested name.
    let tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let mut w = warc::Writer::new(std::io::BufWriter::new(tmp.as_file()));
    let now = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let info = format!(
        "software: redline {}\r\nformat: WARC File Format 1.1\r\nconformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\ndescription: captures of {} watch(es) from {}\r\n",
        env!("CARGO_PKG_VERSION"),
        names.len(),
        ctx.db_path.display()
    );
    w.write(&OutRecord {
        kind: "warcinfo",
        id: warc::record_id(&["warcinfo", &filename, &now]),
        date: &now,
        target_uri: None,
        content_type: "application/warc-fields",
        fields: vec![("WARC-Filename", filename.clone())],
        block: info.as_bytes(),
    })?;
    let mut cdx: Vec<String> = Vec::new();
    let mut index =
        |uri: &str, date: &str, mime: &str, status: u16, digest: &str, at: (u64, u64)| {
            let o = serde_json::json!({
                "url": uri, "mime": mime, "status": status.to_string(), "digest": digest,
                "length": at.1.to_string(), "offset": at.0.to_string(), "filename": filename,
            });
            cdx.push(format!(
                "{} {} {o}",
                warc::surt(uri),
                warc::cdx_timestamp(date)
            ));
        };
    let (mut responses, mut revisits) = (0usize, 0usize);
    // Response records by body digest, across watches: a body met again
    // is a revisit.
    let mut by_digest: HashMap<String, (String, String, String)> = HashMap::new();
    for name in &names {
        let mut by_response: HashMap<i64, Written> = HashMap::new();
        let mut last: Option<i64> = None;
        for cap in store.captures(name, since.as_deref())? {
            let Some(rid) = cap.response_id else {
                // A 304: the server said the page was as last fetched.
                let Some(prev) = last.and_then(|r| by_response.get(&r)) else {
                    continue;
                };
                let block = http_head(304, &[]);
                let at = w.write(&OutRecord {
                    kind: "revisit",
                    id: warc::record_id(&[name, "304", &cap.check_id.to_string()]),
                    date: &cap.checked_at,
                    target_uri: Some(&prev.uri),
                    content_type: "application/http; msgtype=response",
                    fields: vec![
                        ("WARC-Profile", PROFILE_NOT_MODIFIED.into()),
                        ("WARC-Refers-To", prev.id.clone()),
                        ("WARC-Refers-To-Target-URI", prev.uri.clone()),
                        ("WARC-Refers-To-Date", prev.date.clone()),
                    ],
                    block: &block,
                })?;
                index(&prev.uri, &cap.checked_at, "warc/revisit", 304, "-", at);
                revisits += 1;
                continue;
            };
            last = Some(rid);
            if let Some(prev) = by_response.get(&rid) {
                // The same response seen again by a later check.
                let at = w.write(&OutRecord {
                    kind: "revisit",
                    id: warc::record_id(&[name, "revisit", &cap.check_id.to_string()]),
                    date: &cap.checked_at,
                    target_uri: Some(&prev.uri),
                    content_type: "application/http; msgtype=response",
                    fields: vec![
                        ("WARC-Profile", PROFILE_IDENTICAL.into()),
                        ("WARC-Refers-To", prev.id.clone()),
                        ("WARC-Refers-To-Target-URI", prev.uri.clone()),
                        ("WARC-Refers-To-Date", prev.date.clone()),
                        ("WARC-Payload-Digest", prev.digest.clone()),
                    ],
                    block: &prev.head,
                })?;
                index(
                    &prev.uri,
                    &cap.checked_at,
                    "warc/revisit",
                    prev.status,
                    &prev.digest,
                    at,
                );
                revisits += 1;
                continue;
            }
            let raw = store.raw_response(rid)?;
            let resp = &raw.response;
            let digest = warc::digest(&resp.body);
            let uri = resp.final_url.clone();
            let date = raw.fetched_at.clone();
            let rec_id = warc::record_id(&[name, "response", &rid.to_string()]);
            let head = http_head(resp.status, &resp.headers);
            let mime = resp.mime();
            if let Some((ref_id, ref_uri, ref_date)) = by_digest.get(&digest) {
                // A new response with a body archived before: headers only.
                let at = w.write(&OutRecord {
                    kind: "revisit",
                    id: rec_id.clone(),
                    date: &date,
                    target_uri: Some(&uri),
                    content_type: "application/http; msgtype=response",
                    fields: vec![
                        ("WARC-Profile", PROFILE_IDENTICAL.into()),
                        ("WARC-Refers-To", ref_id.clone()),
                        ("WARC-Refers-To-Target-URI", ref_uri.clone()),
                        ("WARC-Refers-To-Date", ref_date.clone()),
                        ("WARC-Payload-Digest", digest.clone()),
                    ],
                    block: &head,
                })?;
                index(&uri, &date, "warc/revisit", resp.status, &digest, at);
                revisits += 1;
            } else {
                let request = request_block(&uri);
                w.write(&OutRecord {
                    kind: "request",
                    id: warc::record_id(&[name, "request", &rid.to_string()]),
                    date: &date,
                    target_uri: Some(&uri),
                    content_type: "application/http; msgtype=request",
                    fields: vec![("WARC-Concurrent-To", rec_id.clone())],
                    block: &request,
                })?;
                let mut block = head.clone();
                block.extend_from_slice(&resp.body);
                let mut fields = vec![("WARC-Payload-Digest", digest.clone())];
                if let Some(source) = &cap.source {
                    fields.push(("WARC-Source-URI", source.clone()));
                }
                let at = w.write(&OutRecord {
                    kind: "response",
                    id: rec_id.clone(),
                    date: &date,
                    target_uri: Some(&uri),
                    content_type: "application/http; msgtype=response",
                    fields,
                    block: &block,
                })?;
                index(&uri, &date, &mime, resp.status, &digest, at);
                by_digest.insert(digest.clone(), (rec_id.clone(), uri.clone(), date.clone()));
                responses += 1;
            }
            let meta = serde_json::to_vec(&CaptureMeta {
                watch: name.clone(),
                requested_url: resp.requested_url.clone(),
                redirects: resp.redirects.clone(),
                elapsed_ms: resp.elapsed_ms,
            })
            .map_err(anyhow::Error::from)?;
            w.write(&OutRecord {
                kind: "metadata",
                id: warc::record_id(&[name, "metadata", &rid.to_string()]),
                date: &date,
                target_uri: Some(&uri),
                content_type: META_TYPE,
                fields: vec![("WARC-Concurrent-To", rec_id.clone())],
                block: &meta,
            })?;
            by_response.insert(
                rid,
                Written {
                    id: rec_id,
                    uri,
                    date,
                    digest,
                    status: resp.status,
                    head,
                },
            );
        }
    }
    w.finish()?;
    cdx.sort();
    let cdx_path = {
        let mut p = path.as_os_str().to_owned();
        p.push(".cdxj");
        std::path::PathBuf::from(p)
    };
    let mut cdx_text = cdx.join("\n");
    cdx_text.push('\n');
    std::fs::write(&cdx_path, cdx_text)
        .with_context(|| format!("cannot write {}", cdx_path.display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", path.display(), e.error))?;
    println!(
        "{}: {responses} response(s), {revisits} revisit(s) from {} watch(es); index {}",
        path.display(),
        names.len(),
        cdx_path.display()
    );
    Ok(())
}

/// A capture read from a WARC file.
struct Capture {
    date: DateTime<Utc>,
    /// The record it came from, for messages and the archive.
    source: String,
    uri: String,
    status: u16,
    headers: Vec<(String, String)>,
    /// `None` for a 304 (server-not-modified revisit).
    body: Option<Arc<Vec<u8>>>,
    meta: Option<CaptureMeta>,
}

fn same_url(a: &str, b: &str) -> bool {
    let norm = |u: &str| {
        u.trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_start_matches("www.")
            .trim_end_matches('/')
            .to_string()
    };
    a == b || norm(a) == norm(b)
}

pub fn import(ctx: &Context, path: &Path, only: Option<&str>) -> Outcome {
    let config = ctx.load_config()?;
    if let Some(name) = only
        && config.watch(name).is_none()
    {
        return Err(Failure::Usage(format!(
            "no watch named `{name}` in the config"
        )));
    }
    let mut reader = warc::Reader::open(path)?;
    let file = path.display().to_string();
    let mut captures: Vec<Capture> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut by_digest: HashMap<String, usize> = HashMap::new();
    let mut metas: HashMap<String, CaptureMeta> = HashMap::new();
    let mut problems = 0usize;
    loop {
        let n = reader.n;
        let rec = match reader.next_record() {
            Ok(Some(r)) => r,
            Ok(None) => break,
            Err(e) => {
                // The rest of the file cannot be found after a broken record.
                eprintln!("{file}: {e:#}; stopping here");
                problems += 1;
                break;
            }
        };
        let id = rec.field("WARC-Record-ID").unwrap_or_default().to_string();
        let uri = rec
            .field("WARC-Target-URI")
            .unwrap_or_default()
            .trim_matches(['<', '>'])
            .to_string();
        let date = rec
            .field("WARC-Date")
            .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
            .map(|d| d.with_timezone(&Utc));
        let is_http = rec
            .field("Content-Type")
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/http"));
        match rec.kind() {
            "metadata" if rec.field("Content-Type") == Some(META_TYPE) => {
                if let (Some(to), Ok(m)) = (
                    rec.field("WARC-Concurrent-To"),
                    serde_json::from_slice::<CaptureMeta>(&rec.block),
                ) {
                    metas.insert(to.to_string(), m);
                }
            }
            "response" | "revisit" if is_http && uri.starts_with("http") => {
                let Some(date) = date else {
                    eprintln!("{file}: WARC record {n}: no valid WARC-Date; skipped");
                    problems += 1;
                    continue;
                };
                let msg = match warc::parse_http_response(&rec.block) {
                    Ok(m) => m,
                    Err(e) => {
                        eprintln!("{file}: WARC record {n} ({uri}): {e:#}; skipped");
                        problems += 1;
                        continue;
                    }
                };
                let body = if rec.kind() == "response" {
                    Some(Arc::new(msg.body))
                } else if rec.field("WARC-Profile") == Some(PROFILE_NOT_MODIFIED)
                    || msg.status == 304
                {
                    None
                } else {
                    let earlier = rec
                        .field("WARC-Refers-To")
                        .and_then(|r| by_id.get(r))
                        .or_else(|| {
                            rec.field("WARC-Payload-Digest")
                                .and_then(|d| by_digest.get(d))
                        });
                    match earlier.and_then(|&i| captures[i].body.clone()) {
                        Some(b) => Some(b),
                        None => {
                            eprintln!(
                                "{file}: WARC record {n} ({uri}): a revisit of a record not in this file; skipped"
                            );
                            problems += 1;
                            continue;
                        }
                    }
                };
                let mut headers = msg.headers;
                if rec.kind() == "revisit"
                    && headers.is_empty()
                    && let Some(&i) = rec.field("WARC-Refers-To").and_then(|r| by_id.get(r))
                {
                    headers = captures[i].headers.clone();
                }
                let status = if body.is_none() { 304 } else { msg.status };
                if let Some(b) = &body {
                    by_digest.insert(warc::digest(b), captures.len());
                    if let Some(d) = rec.field("WARC-Payload-Digest") {
                        by_digest.insert(d.to_string(), captures.len());
                    }
                }
                by_id.insert(id.clone(), captures.len());
                captures.push(Capture {
                    date,
                    source: format!("{file}#{id}"),
                    uri,
                    status,
                    headers,
                    body,
                    meta: None,
                });
            }
            _ => {}
        }
    }
    for c in &mut captures {
        let id = c
            .source
            .rsplit_once('#')
            .map(|(_, id)| id)
            .unwrap_or_default();
        c.meta = metas.get(id).cloned();
    }
    // Which watch each capture belongs to.
    let mut per_watch: HashMap<&str, Vec<&Capture>> = HashMap::new();
    let mut unmatched: Vec<&str> = Vec::new();
    for c in &captures {
        let requested = c.meta.as_ref().map_or(c.uri.as_str(), |m| &m.requested_url);
        let watch = match only {
            Some(name) => config.watch(name),
            None => c
                .meta
                .as_ref()
                .and_then(|m| config.watch(&m.watch))
                .filter(|w| same_url(&w.url, requested))
                .or_else(|| {
                    config
                        .watches
                        .iter()
                        .find(|w| same_url(&w.url, requested) || same_url(&w.url, &c.uri))
                }),
        };
        match watch {
            Some(w) => per_watch.entry(w.name.as_str()).or_default().push(c),
            None => unmatched.push(&c.uri),
        }
    }
    if !unmatched.is_empty() {
        unmatched.sort();
        unmatched.dedup();
        eprintln!(
            "{file}: {} URL(s) no configured watch has (add a watch, or use --watch NAME): {}{}",
            unmatched.len(),
            unmatched
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join(", "),
            if unmatched.len() > 5 { ", …" } else { "" }
        );
    }
    let mut store = ctx.open_store()?;
    let mut names: Vec<&str> = per_watch.keys().copied().collect();
    names.sort();
    for name in names {
        let Some(watch) = config.watch(name) else {
            continue;
        };
        let mut caps = per_watch.remove(name).unwrap_or_default();
        caps.sort_by_key(|c| c.date);
        let after = store
            .last_checked(name)?
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc));
        let before = caps.len();
        if let Some(t) = after {
            caps.retain(|c| c.date > t);
        }
        let skipped = before - caps.len();
        let (mut versions, mut checks) = (0usize, 0usize);
        for c in caps {
            let recorded = import_one(&mut store, watch, c)
                .with_context(|| format!("{name}: importing {}", c.source))?;
            checks += 1;
            versions += usize::from(recorded);
        }
        println!(
            "{name}: {checks} capture(s) imported, {versions} new version(s){}",
            if skipped > 0 {
                format!(
                    "; {skipped} capture(s) not newer than the archived history skipped (import before the first check to back-fill)"
                )
            } else {
                String::new()
            }
        );
    }
    if problems > 0 {
        return Err(Failure::Other(format!(
            "{file}: {problems} record(s) could not be imported (see above)"
        )));
    }
    Ok(())
}

/// Replay one capture as a check made at its date; true when it made a
/// new version.
fn import_one(
    store: &mut Store,
    watch: &crate::config::Watch,
    c: &Capture,
) -> anyhow::Result<bool> {
    let prior = store.prior(&watch.name)?;
    let base_page = match &prior.base {
        Some(v) => page_under_rules(store, v, &watch.rules)?,
        None => None,
    };
    let volatile: Vec<_> = store
        .volatile_rules(&watch.name)?
        .into_iter()
        .map(|r| r.rule)
        .collect();
    let resp = Response {
        requested_url: c
            .meta
            .as_ref()
            .map_or_else(|| c.uri.clone(), |m| m.requested_url.clone()),
        final_url: c.uri.clone(),
        redirects: c
            .meta
            .as_ref()
            .map(|m| m.redirects.clone())
            .unwrap_or_default(),
        status: c.status,
        headers: c.headers.clone(),
        body: c.body.as_deref().cloned().unwrap_or_default(),
        elapsed_ms: c.meta.as_ref().map_or(0, |m| m.elapsed_ms),
    };
    let decision = decide(&prior, base_page.as_ref(), &resp, &watch.rules, &volatile);
    let summary = summarize(&decision.changes);
    let significance = report_significance(&decision.changes);
    let new_version = decision.version_to_record();
    let made = new_version.is_some();
    let checked_at = c.date.to_rfc3339_opts(SecondsFormat::Millis, true);
    store.record_imported(
        &CheckRecord {
            watch: &watch.name,
            url: &watch.url,
            checked_at: &checked_at,
            duration_ms: resp.elapsed_ms,
            outcome: decision.outcome,
            response: (resp.status != 304).then_some(&resp),
            http_status: Some(resp.status),
            new_version,
            rules: &watch.rules,
            base_version_id: prior.base.as_ref().map(|v| v.id),
            changes: &decision.changes,
            summary: &summary,
            significance: significance.map(|s| s.as_str()),
            error: decision.error.as_deref(),
            // History is not news: imported captures never alert.
            alerts: &[],
            body_patch: None,
            unshown: None,
        },
        &c.source,
    )?;
    Ok(made)
}
