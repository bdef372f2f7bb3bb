//! The SQLite archive: raw evidence as content-addressed zstd blobs, a row
//! per check, versions with their extracted pages, and typed change reports.
//!
//! One `Store` owns one connection; every check is recorded in a single
//! transaction, so a version, its report and its changes land together or
//! not at all.

mod retention;
mod schema;

pub use retention::{GcStats, Pruned};

use crate::extract::{Rules, hex, sha256};
use crate::model::{Change, Hop, Page, Response};
use crate::volatile::VolatileRule;
use anyhow::{Context, Result, anyhow, bail};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The result of a check, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    FirstCapture,
    Unchanged,
    Changed,
    Error,
}

impl Outcome {
    const ALL: [Outcome; 4] = [
        Outcome::FirstCapture,
        Outcome::Unchanged,
        Outcome::Changed,
        Outcome::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::FirstCapture => "first_capture",
            Outcome::Unchanged => "unchanged",
            Outcome::Changed => "changed",
            Outcome::Error => "error",
        }
    }

    /// The number a check row stores (migration 18).
    fn code(self) -> i64 {
        match self {
            Outcome::FirstCapture => 0,
            Outcome::Unchanged => 1,
            Outcome::Changed => 2,
            Outcome::Error => 3,
        }
    }
}

/// A check's outcome as its name, from the number its row stores.
fn outcome_at(row: &rusqlite::Row, idx: usize) -> rusqlite::Result<String> {
    use rusqlite::types::ValueRef;
    match row.get_ref(idx)? {
        ValueRef::Integer(code) => Outcome::ALL
            .into_iter()
            .find(|o| o.code() == code)
            .map(|o| o.as_str().to_string())
            .ok_or_else(|| rusqlite::Error::IntegralValueOutOfRange(idx, code)),
        other => Err(rusqlite::Error::InvalidColumnType(
            idx,
            "outcome".into(),
            other.data_type(),
        )),
    }
}

/// A time as the archive stores it in checks, responses and versions: Unix
/// milliseconds when the text is in redline's own form (RFC 3339, UTC,
/// milliseconds, as every check and import writes it), which reads back as
/// the same text; any other text is kept as given.
fn time_value(text: &str) -> rusqlite::types::Value {
    match time_ms(text) {
        Some(ms) => rusqlite::types::Value::Integer(ms),
        None => rusqlite::types::Value::Text(text.to_string()),
    }
}

/// `text` as Unix milliseconds, when that reads back as `text` exactly.
fn time_ms(text: &str) -> Option<i64> {
    let ms = chrono::DateTime::parse_from_rfc3339(text)
        .ok()?
        .timestamp_millis();
    (time_text(ms) == text).then_some(ms)
}

fn time_text(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(
        || ms.to_string(),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
}

/// A time column (see [`time_value`]) as RFC 3339 text.
fn time_at(row: &rusqlite::Row, idx: usize) -> rusqlite::Result<String> {
    use rusqlite::types::ValueRef;
    match row.get_ref(idx)? {
        ValueRef::Integer(ms) => Ok(time_text(ms)),
        ValueRef::Text(t) => Ok(String::from_utf8_lossy(t).into_owned()),
        other => Err(rusqlite::Error::InvalidColumnType(
            idx,
            "time".into(),
            other.data_type(),
        )),
    }
}

/// Column `idx` read by `read`, or `None` when it is NULL.
fn or_null<T>(
    row: &rusqlite::Row,
    idx: usize,
    read: fn(&rusqlite::Row, usize) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    match row.get_ref(idx)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => read(row, idx).map(Some),
    }
}

/// A time to compare the milliseconds of a time column with (a row kept
/// as text compares as text).
fn time_bound(text: Option<&str>) -> Option<i64> {
    text.map(|t| chrono::DateTime::parse_from_rfc3339(t).map_or(i64::MAX, |d| d.timestamp_millis()))
}

/// A version as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub id: i64,
    pub number: i64,
    pub created_at: String,
    pub status: u16,
    pub gone: bool,
    pub requested_url: String,
    pub final_url: String,
    /// Fingerprint of the rules the stored page was extracted with.
    pub rules: String,
    pub response_id: i64,
    /// Summary of the report that created this version, if any.
    pub summary: Option<String>,
    /// Where the version's capture came from when it was imported.
    pub imported: Option<String>,
    /// Texts its page does not show, digits masked ([`Store::note_unshown`]).
    pub unshown: Option<String>,
}

/// What the next check is compared with.
#[derive(Debug, Clone, Default)]
pub struct Prior {
    /// The newest version.
    pub latest: Option<Version>,
    /// The newest version that is not gone: the comparison base.
    pub base: Option<Version>,
}

/// A new version to store with a check.
#[derive(Debug, Clone)]
pub enum NewVersion<'a> {
    Page(&'a Page),
    Gone,
}

/// Everything one check recorded, written in one transaction.
#[derive(Debug, Clone)]
pub struct CheckRecord<'a> {
    pub watch: &'a str,
    pub url: &'a str,
    pub checked_at: &'a str,
    pub duration_ms: u64,
    pub outcome: Outcome,
    pub response: Option<&'a Response>,
    /// The HTTP status of the check (a 304 has no response worth keeping).
    pub http_status: Option<u16>,
    pub new_version: Option<NewVersion<'a>>,
    /// The rules the new version's page was extracted with: the archive
    /// keeps them, to derive the page again from the raw response.
    pub rules: &'a Rules,
    pub base_version_id: Option<i64>,
    pub changes: &'a [Change],
    pub summary: &'a str,
    /// `minor`, `moderate` or `major`, for a check with changes.
    pub significance: Option<&'a str>,
    pub error: Option<&'a str>,
    /// Alerts to queue with this check: (notifier, idempotency key, payload).
    pub alerts: &'a [(String, String, String)],
    /// A patch from the body of the watch's current version to this
    /// response's body, when the check already made one (the cheap path).
    pub body_patch: Option<&'a [u8]>,
    /// What the new version's page does not show of its body (texts with
    /// their digits masked, one per line), when the check worked it out.
    pub unshown: Option<&'a str>,
}

/// What recording a check produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub check_id: i64,
    /// The current version number after the check.
    pub version: Option<i64>,
    /// The version before it, when this check made a new one.
    pub previous_version: Option<i64>,
}

/// A watch as the archive knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchSummary {
    pub name: String,
    pub url: String,
    pub versions: i64,
    pub checks: i64,
    pub last_checked: Option<String>,
    pub last_outcome: Option<String>,
}

/// One row of a watch's check history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRow {
    pub checked_at: String,
    /// The URL checked.
    pub url: String,
    pub outcome: String,
    pub http_status: Option<u16>,
    pub version: Option<i64>,
    pub error: Option<String>,
}

/// A change report as listed by `redline changes`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReportRow {
    /// The report's id in the archive.
    pub id: i64,
    pub watch: String,
    pub url: String,
    pub created_at: String,
    pub version: Option<i64>,
    pub summary: String,
    pub significance: Option<String>,
    pub changes: Vec<Change>,
}

/// An alert in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAlert {
    pub id: i64,
    pub notifier: String,
    pub idem_key: String,
    pub watch: String,
    pub created_at: String,
    pub payload: String,
    pub status: String,
    pub attempts: u32,
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
}

fn alert_row(r: &rusqlite::Row) -> rusqlite::Result<PendingAlert> {
    Ok(PendingAlert {
        id: r.get(0)?,
        notifier: r.get(1)?,
        idem_key: r.get(2)?,
        watch: r.get(3)?,
        created_at: r.get(4)?,
        payload: r.get(5)?,
        status: r.get(6)?,
        attempts: r.get(7)?,
        next_attempt_at: r.get(8)?,
        last_error: r.get(9)?,
        delivered_at: r.get(10)?,
    })
}

const ALERT_COLS: &str = "id, notifier, idem_key, watch, created_at, payload, status, attempts, next_attempt_at, last_error, delivered_at";

/// A volatile-text rule as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedRule {
    pub rule: VolatileRule,
    pub learned_at: String,
    pub example: String,
}

/// A check that saw the page, for export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    pub check_id: i64,
    pub checked_at: String,
    pub outcome: String,
    pub http_status: Option<u16>,
    /// The response kept for it (`None` for a 304).
    pub response_id: Option<i64>,
    /// The version current after the check.
    pub version: Option<i64>,
    /// Where an imported response came from.
    pub source: Option<String>,
}

/// The raw evidence of a version.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub response: Response,
    pub fetched_at: String,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Per site, a whole body stored by this process: a watch's first
    /// body is compressed against it (pages of one site share most of
    /// their markup).
    site_bases: SiteBases,
}

/// host → id of a whole body of that site.
type SiteBases = HashMap<String, i64>;

/// Where the archive lives when `--db` and `REDLINE_DB` are not given.
pub fn default_path() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("redline")
        .join("archive.db")
}

/// The requested URL of response `r` (NULL in the row: the watch's URL).
macro_rules! requested_url {
    () => {
        "coalesce(r.requested_url, (SELECT url FROM watches WHERE watches.id = r.watch_id))"
    };
}

/// The final URL of response `r` (NULL in the row: the requested URL).
macro_rules! final_url {
    () => {
        concat!("coalesce(r.final_url, ", requested_url!(), ")")
    };
}

const VERSION_COLS: &str = concat!("v.id, v.number, v.created_at, v.status, v.gone, ", requested_url!(), ", ", final_url!(), ", (SELECT fingerprint FROM rule_sets WHERE id = v.rules), v.response_id,
     (SELECT summary FROM reports WHERE reports.version_id = v.id ORDER BY id DESC LIMIT 1), r.source,
     (SELECT texts FROM unshown_sets WHERE id = v.unshown)");

fn version_row(row: &rusqlite::Row) -> rusqlite::Result<Version> {
    Ok(Version {
        id: row.get(0)?,
        number: row.get(1)?,
        created_at: time_at(row, 2)?,
        status: row.get(3)?,
        gone: row.get(4)?,
        requested_url: row.get(5)?,
        final_url: row.get(6)?,
        rules: row.get(7)?,
        response_id: row.get(8)?,
        summary: row.get(9)?,
        imported: row.get(10)?,
        unshown: row.get(11)?,
    })
}

impl Store {
    /// Open (creating if needed) the archive at `path`, applying pending
    /// migrations. A new file is readable by its owner only.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_inner(path).map_err(|e| plain_error(path, e))
    }

    fn open_inner(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create directory {}", dir.display()))?;
        }
        let new = !path.exists();
        if new {
            create_private(path)
                .with_context(|| format!("cannot create archive {}", path.display()))?;
        }
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open archive {}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        // Every statement of a check, prepared once per process.
        conn.set_prepared_statement_cache_capacity(128);
        if new {
            // Before any table exists: lets `gc` give pruned space back to
            // the file system a little at a time, never rewriting the file.
            conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .with_context(|| {
                format!(
                    "{} is not a redline archive (or is not writable)",
                    path.display()
                )
            })?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Savepoints inside a group commit journal the pages they touch:
        // in memory, not in a temporary file.
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            site_bases: HashMap::new(),
        };
        store.migrate()?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&mut self) -> Result<()> {
        let current: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let current = usize::try_from(current).unwrap_or(usize::MAX);
        if current > schema::MIGRATIONS.len() {
            bail!(
                "{} was written by a newer redline (schema {current}, this one knows {})",
                self.path.display(),
                schema::MIGRATIONS.len()
            );
        }
        if current == schema::MIGRATIONS.len() {
            return Ok(());
        }
        // Tables are rebuilt by some migrations: references are checked at
        // the end of each one instead of row by row (SQLite's procedure).
        self.conn.pragma_update(None, "foreign_keys", "OFF")?;
        for (i, sql) in schema::MIGRATIONS.iter().enumerate().skip(current) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)
                .with_context(|| format!("migration {}", i + 1))?;
            let broken: Option<String> = tx
                .prepare_cached("PRAGMA foreign_key_check")?
                .query_row([], |r| r.get(0))
                .optional()?;
            if let Some(table) = broken {
                bail!("migration {}: broken references in table {table}", i + 1);
            }
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
            tx.commit()?;
        }
        self.conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(())
    }

    fn watch_id(&self, name: &str) -> Result<Option<i64>> {
        Ok(self
            .conn
            .prepare_cached("SELECT id FROM watches WHERE name = ?1")?
            .query_row([name], |r| r.get(0))
            .optional()?)
    }

    /// The newest version and the comparison base of a watch.
    pub fn prior(&self, name: &str) -> Result<Prior> {
        let Some(wid) = self.watch_id(name)? else {
            return Ok(Prior::default());
        };
        let q = |extra: &str| {
            format!(
                "SELECT {VERSION_COLS} FROM versions v JOIN responses r ON r.id = v.response_id
                 WHERE v.watch_id = +?1 {extra} ORDER BY v.number DESC LIMIT 1"
            )
        };
        let latest = self
            .conn
            .prepare_cached(&q(""))?
            .query_row([wid], version_row)
            .optional()?;
        let base = match &latest {
            Some(v) if !v.gone => Some(v.clone()),
            _ => self
                .conn
                .query_row(&q("AND v.gone = 0"), [wid], version_row)
                .optional()?,
        };
        Ok(Prior { latest, base })
    }

    /// Every version of a watch, oldest first.
    pub fn versions(&self, name: &str) -> Result<Vec<Version>> {
        let Some(wid) = self.watch_id(name)? else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {VERSION_COLS} FROM versions v JOIN responses r ON r.id = v.response_id
             WHERE v.watch_id = +?1 ORDER BY v.number"
        ))?;
        let rows = stmt
            .query_map([wid], version_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// One version by number.
    pub fn version(&self, name: &str, number: i64) -> Result<Option<Version>> {
        let Some(wid) = self.watch_id(name)? else {
            return Ok(None);
        };
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {VERSION_COLS} FROM versions v JOIN responses r ON r.id = v.response_id
                     WHERE v.watch_id = +?1 AND v.number = ?2"
                ),
                params![wid, number],
                version_row,
            )
            .optional()?)
    }

    /// The page of a version (None for a gone version): the page stored
    /// with it by an archive from before pages were derived, else extracted
    /// again from its raw response under the rules it was extracted with.
    pub fn page(&self, version: &Version) -> Result<Option<Page>> {
        if version.gone {
            return Ok(None);
        }
        if let Some(page) = self.stored_page(version)? {
            return Ok(Some(page));
        }
        let source: Option<String> = self
            .conn
            .prepare_cached("SELECT source FROM rule_sets WHERE fingerprint = ?1")?
            .query_row([&version.rules], |r| r.get(0))
            .optional()?
            .flatten();
        let Some(source) = source else {
            bail!(
                "version {}: the archive does not have the rules `{}` its page was extracted with (`redline reprocess` derives it under the current ones)",
                version.number,
                version.rules
            );
        };
        let rules =
            Rules::from_source(&source).map_err(|e| anyhow!("version {}: {e}", version.number))?;
        let raw = self.raw_response(version.response_id)?;
        Ok(Some(crate::extract::extract(&raw.response, &rules)))
    }

    /// The page stored with a version, if any (versions written before
    /// pages were derived).
    pub fn stored_page(&self, version: &Version) -> Result<Option<Page>> {
        let Some(json) = self.stored_page_json(version)? else {
            return Ok(None);
        };
        let page = serde_json::from_slice(&json).with_context(|| {
            format!("stored page of version {} is not readable", version.number)
        })?;
        Ok(Some(page))
    }

    /// The page stored with a version as its JSON, shared rather than
    /// copied (the cheap comparison of a check searches it).
    pub fn stored_page_json(&self, version: &Version) -> Result<Option<std::rc::Rc<Vec<u8>>>> {
        let blob: Option<i64> = self
            .conn
            .prepare_cached("SELECT page_blob FROM versions WHERE id = ?1")?
            .query_row([version.id], |r| r.get(0))?;
        blob.map(|id| read_blob_shared(&self.conn, id)).transpose()
    }

    /// The raw response (headers and body as received) behind a version.
    pub fn raw_response(&self, response_id: i64) -> Result<RawResponse> {
        let (
            fetched_at,
            requested_url,
            final_url,
            redirects,
            status,
            headers,
            body_blob,
            elapsed_ms,
        ): (
            String,
            String,
            String,
            Option<String>,
            u16,
            StoredHeaders,
            i64,
            i64,
        ) = self
            .conn
            .prepare_cached(concat!(
                "SELECT r.fetched_at, ",
                requested_url!(),
                ", ",
                final_url!(),
                ", r.redirects, r.status,
                    r.headers, r.headers_blob, r.body_blob, r.elapsed_ms
             FROM responses r WHERE r.id = ?1"
            ))?
            .query_row([response_id], |r| {
                Ok((
                    time_at(r, 0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    stored_headers(r, 5)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })?;
        let headers = parse_headers(&headers.read(&self.conn)?);
        let body = self.blob(body_blob)?;
        let redirects: Vec<Hop> = redirects
            .and_then(|r| serde_json::from_str(&r).ok())
            .unwrap_or_default();
        Ok(RawResponse {
            response: Response {
                requested_url,
                final_url,
                redirects,
                status,
                headers,
                body,
                elapsed_ms: elapsed_ms.max(0) as u64,
            },
            fetched_at,
        })
    }

    /// A stored response's status, content type and body, the body shared
    /// rather than copied (the cheap comparison of every check reads it).
    pub fn response_body(
        &self,
        response_id: i64,
    ) -> Result<(u16, Option<String>, std::rc::Rc<Vec<u8>>)> {
        let (status, headers, body_blob): (u16, StoredHeaders, i64) = self
            .conn
            .prepare_cached(
                "SELECT status, headers, headers_blob, body_blob FROM responses WHERE id = ?1",
            )?
            .query_row([response_id], |r| {
                Ok((r.get(0)?, stored_headers(r, 1)?, r.get(3)?))
            })?;
        let content_type = parse_headers(&headers.read(&self.conn)?)
            .into_iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v);
        Ok((
            status,
            content_type,
            read_blob_shared(&self.conn, body_blob)?,
        ))
    }

    /// The changes recorded when `version` was created.
    pub fn report_changes(&self, version: &Version) -> Result<Vec<Change>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.data FROM changes c JOIN reports r ON r.id = c.report_id
             WHERE r.version_id = ?1 ORDER BY c.report_id, c.seq",
        )?;
        let rows = stmt.query_map([version.id], |r| change_json(r, 0))?;
        let mut out = Vec::new();
        for data in rows {
            out.push(serde_json::from_slice(&data?)?);
        }
        Ok(out)
    }

    /// Every check of a watch, oldest first.
    pub fn checks(&self, name: &str) -> Result<Vec<CheckRow>> {
        let Some(wid) = self.watch_id(name)? else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.checked_at, c.outcome, c.http_status, v.number, c.error, c.url
             FROM checks c LEFT JOIN versions v ON v.id = c.version_id
             WHERE c.watch_id = +?1 ORDER BY c.id",
        )?;
        let mut url = String::new();
        let rows = stmt
            .query_map([wid], |r| {
                // NULL: the same URL as the check before.
                if let Some(u) = r.get::<_, Option<String>>(5)? {
                    url = u;
                }
                Ok(CheckRow {
                    checked_at: time_at(r, 0)?,
                    url: url.clone(),
                    outcome: outcome_at(r, 1)?,
                    http_status: r.get(2)?,
                    version: r.get(3)?,
                    error: r.get(4)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every watch in the archive with its counts and last check.
    pub fn watch_summaries(&self) -> Result<Vec<WatchSummary>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT w.name, w.url,
                (SELECT count(*) FROM versions v WHERE v.watch_id = w.id),
                (SELECT count(*) FROM checks c WHERE c.watch_id = w.id),
                (SELECT checked_at FROM checks c WHERE c.watch_id = w.id ORDER BY c.id DESC LIMIT 1),
                (SELECT outcome FROM checks c WHERE c.watch_id = w.id ORDER BY c.id DESC LIMIT 1)
             FROM watches w ORDER BY w.name",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(WatchSummary {
                    name: r.get(0)?,
                    url: r.get(1)?,
                    versions: r.get(2)?,
                    checks: r.get(3)?,
                    last_checked: or_null(r, 4, time_at)?,
                    last_outcome: or_null(r, 5, outcome_at)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The volatile-text rules learned for a watch, oldest first, with when
    /// and from what they were learned.
    pub fn volatile_rules(&self, name: &str) -> Result<Vec<LearnedRule>> {
        let Some(wid) = self.watch_id(name)? else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT rule, learned_at, example FROM volatile_rules WHERE watch_id = +?1",
        )?;
        let mut rows = stmt
            .query_map([wid], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        // Sorted here: an ORDER BY made SQLite build a temporary b-tree on
        // every check, rules or none.
        rows.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
        let mut out = Vec::new();
        for (rule, learned_at, example) in rows {
            // A rule this version cannot read is skipped, not fatal.
            if let Ok(rule) = serde_json::from_str(&rule) {
                out.push(LearnedRule {
                    rule,
                    learned_at,
                    example,
                });
            }
        }
        Ok(out)
    }

    /// Remember the texts (digits masked, one per line) the version's
    /// stored page does not show, so that a check finding them changed
    /// need not read the page. Rewriting the page forgets them.
    pub fn note_unshown(&mut self, version_id: i64, texts: &str) -> Result<()> {
        let set = unshown_set(&self.conn, texts)?;
        self.conn
            .prepare_cached("UPDATE versions SET unshown = ?2 WHERE id = ?1")?
            .execute(params![version_id, set])?;
        Ok(())
    }

    /// Remember volatile-text rules for an existing watch.
    pub fn add_volatile_rules(
        &mut self,
        name: &str,
        rules: &[(VolatileRule, String)],
        at: &str,
    ) -> Result<()> {
        let Some(wid) = self.watch_id(name)? else {
            bail!("no watch `{name}` in the archive");
        };
        let tx = self.conn.savepoint()?;
        for (rule, example) in rules {
            tx.prepare_cached("INSERT OR IGNORE INTO volatile_rules (watch_id, rule, learned_at, example) VALUES (?1, ?2, ?3, ?4)")?.execute(
                params![wid, serde_json::to_string(rule)?, at, example],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The validators (ETag, Last-Modified) of the watch's last 200
    /// response, for a conditional request.
    pub fn validators(&self, name: &str) -> Result<(Option<String>, Option<String>)> {
        let Some(wid) = self.watch_id(name)? else {
            return Ok((None, None));
        };
        Ok(self
            .conn.prepare_cached("SELECT etag, last_modified FROM responses WHERE watch_id = +?1 AND status = 200 ORDER BY id DESC LIMIT 1")?.query_row(
                [wid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .unwrap_or((None, None)))
    }

    /// How many checks in a row, up to the latest, ended in an error.
    pub fn consecutive_errors(&self, name: &str) -> Result<usize> {
        let Some(wid) = self.watch_id(name)? else {
            return Ok(0);
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT outcome FROM checks WHERE watch_id = +?1 ORDER BY id DESC LIMIT 1000",
        )?;
        let outcomes = stmt.query_map([wid], |r| r.get::<_, i64>(0))?;
        let mut n = 0;
        for o in outcomes {
            if o? != Outcome::Error.code() {
                break;
            }
            n += 1;
        }
        Ok(n)
    }

    /// When the watch was last checked (RFC 3339), if ever.
    pub fn last_checked(&self, name: &str) -> Result<Option<String>> {
        let Some(wid) = self.watch_id(name)? else {
            return Ok(None);
        };
        Ok(self
            .conn
            .prepare_cached(
                "SELECT checked_at FROM checks WHERE watch_id = +?1 ORDER BY id DESC LIMIT 1",
            )?
            .query_row([wid], |r| time_at(r, 0))
            .optional()?)
    }

    /// Change reports across watches, newest first: since an RFC 3339
    /// time, for one watch, at most `limit`.
    pub fn reports(
        &self,
        since: Option<&str>,
        watch: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ReportRow>> {
        self.report_rows(since, watch, None, limit)
    }

    /// Reports not yet marked seen, newest first.
    pub fn unseen_reports(&self, limit: usize) -> Result<Vec<ReportRow>> {
        self.report_rows(None, None, Some(false), limit)
    }

    /// Mark a report seen (or unseen again).
    pub fn mark_seen(&mut self, report_id: i64, seen: bool) -> Result<()> {
        self.conn.execute(
            "UPDATE reports SET seen = ?2 WHERE id = ?1",
            params![report_id, seen],
        )?;
        Ok(())
    }

    fn report_rows(
        &self,
        since: Option<&str>,
        watch: Option<&str>,
        seen: Option<bool>,
        limit: usize,
    ) -> Result<Vec<ReportRow>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, w.name, w.url, r.created_at, v.number, r.summary, r.significance
             FROM reports r JOIN watches w ON w.id = r.watch_id LEFT JOIN versions v ON v.id = r.version_id
             WHERE (?1 IS NULL OR r.created_at >= ?1) AND (?2 IS NULL OR w.name = ?2) AND (?4 IS NULL OR r.seen = ?4)
             ORDER BY r.id DESC LIMIT ?3",
        )?;
        let rows = stmt
            .query_map(params![since, watch, limit as i64, seen], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    ReportRow {
                        id: r.get(0)?,
                        watch: r.get(1)?,
                        url: r.get(2)?,
                        created_at: r.get(3)?,
                        version: r.get(4)?,
                        summary: r.get(5)?,
                        significance: r.get(6)?,
                        changes: Vec::new(),
                    },
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut changes = self
            .conn
            .prepare_cached("SELECT data FROM changes WHERE report_id = ?1 ORDER BY seq")?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, mut row) in rows {
            for data in changes.query_map([id], |r| change_json(r, 0))? {
                if let Ok(c) = serde_json::from_slice(&data?) {
                    row.changes.push(c);
                }
            }
            out.push(row);
        }
        Ok(out)
    }

    /// Pending alerts whose next attempt is due at `now` (RFC 3339), oldest
    /// first.
    pub fn due_alerts(&self, now: &str) -> Result<Vec<PendingAlert>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ALERT_COLS} FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?1 ORDER BY id"
        ))?;
        let rows = stmt
            .query_map([now], alert_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every alert (newest first), optionally only those with `status`.
    pub fn alerts(&self, status: Option<&str>, limit: usize) -> Result<Vec<PendingAlert>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ALERT_COLS} FROM outbox WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![status, limit as i64], alert_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// How many alerts have this status (`pending`, `delivered`, `failed`).
    pub fn count_alerts(&self, status: &str) -> Result<usize> {
        let n: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM outbox WHERE status = ?1")?
            .query_row([status], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    pub fn mark_delivered(&mut self, id: i64, at: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET status = 'delivered', delivered_at = ?2, attempts = attempts + 1, last_error = NULL WHERE id = ?1",
            params![id, at],
        )?;
        Ok(())
    }

    pub fn mark_retry(&mut self, id: i64, attempts: u32, next: &str, error: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1",
            params![id, attempts, next, error],
        )?;
        Ok(())
    }

    pub fn mark_failed(&mut self, id: i64, attempts: u32, error: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET status = 'failed', attempts = ?2, last_error = ?3 WHERE id = ?1",
            params![id, attempts, error],
        )?;
        Ok(())
    }

    /// Put failed alerts back in the queue, due now; how many.
    pub fn retry_failed(&mut self, now: &str) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?1 WHERE status = 'failed'",
            [now],
        )?)
    }

    /// Check the archive: SQLite's own integrity check, every blob re-hashed
    /// against its address and size, every reference resolved, every
    /// reference count right. Each problem is one line naming what is wrong.
    pub fn verify(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare_cached("PRAGMA integrity_check")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let row = row?;
            if row != "ok" {
                problems.push(format!("sqlite: {row}"));
            }
        }
        // Who refers to each blob.
        let mut refs: HashMap<i64, Vec<String>> = HashMap::new();
        let mut stmt = self.conn.prepare_cached(
            "SELECT r.id, w.name, r.headers, r.headers_blob, r.body_blob FROM responses r JOIN watches w ON w.id = r.watch_id",
        )?;
        for row in stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                stored_headers(r, 2)?,
                r.get::<_, i64>(4)?,
            ))
        })? {
            let (id, watch, headers, body) = row?;
            match headers {
                StoredHeaders::Blob(headers) => refs
                    .entry(headers)
                    .or_default()
                    .push(format!("headers of response {id} ({watch})")),
                // Kept in the row: their checksum is their proof.
                StoredHeaders::Inline(data) => {
                    if let Err(e) = codec::decompress_fixed(codec::Fixed::Headers, &data) {
                        problems.push(format!(
                            "headers of response {id} ({watch}): cannot be read: {e}"
                        ));
                    }
                }
            }
            refs.entry(body)
                .or_default()
                .push(format!("body of response {id} ({watch})"));
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT v.number, w.name, v.page_blob FROM versions v JOIN watches w ON w.id = v.watch_id WHERE v.page_blob IS NOT NULL",
        )?;
        for row in stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })? {
            let (n, watch, page) = row?;
            refs.entry(page)
                .or_default()
                .push(format!("page of version {n} ({watch})"));
        }
        // A derived page needs its rules.
        let mut stmt = self.conn.prepare_cached(
            "SELECT v.number, w.name, coalesce(s.fingerprint, '#' || v.rules)
             FROM versions v JOIN watches w ON w.id = v.watch_id LEFT JOIN rule_sets s ON s.id = v.rules
             WHERE v.page_blob IS NULL AND v.gone = 0 AND s.source IS NULL",
        )?;
        for row in stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })? {
            let (n, watch, rules) = row?;
            problems.push(format!(
                "version {n} ({watch}): the rules `{rules}` its page is derived under are missing"
            ));
        }
        // Changes are kept in their rows, compressed with a checksum.
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.report_id, c.seq, w.name, c.data FROM changes c
               JOIN reports r ON r.id = c.report_id JOIN watches w ON w.id = r.watch_id",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let (report, seq, watch): (i64, i64, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
            let read = change_json(r, 3)
                .map_err(anyhow::Error::from)
                .and_then(|j| Ok(serde_json::from_slice::<Change>(&j)?));
            if let Err(e) = read {
                problems.push(format!(
                    "change {seq} of report {report} ({watch}): cannot be read: {e:#}"
                ));
            }
        }
        let mut stmt = self
            .conn
            .prepare("SELECT hash, base FROM blobs WHERE base IS NOT NULL")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, i64>(1)?)))? {
            let (hash, base) = row?;
            refs.entry(base)
                .or_default()
                .push(format!("base of blob {}", &hex(&hash)[..12]));
        }
        let mut seen = std::collections::HashSet::new();
        // The hash index holds a prefix (migration 18): one blob per hash is
        // the writer's rule, checked here.
        let mut hashes: HashMap<Vec<u8>, i64> = HashMap::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT b.id, b.hash, b.size, coalesce(r.refs, 0) FROM blobs b LEFT JOIN blob_refs r ON r.id = b.id")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })?;
        for row in rows {
            let (id, stored, size, count) = row?;
            let hash = hex(&stored);
            if let Some(first) = hashes.insert(stored.clone(), id) {
                problems.push(format!(
                    "blob {hash}: stored twice (blobs {first} and {id})"
                ));
            }
            let users = refs
                .get(&id)
                .map(|v| v.join(", "))
                .unwrap_or_else(|| "nothing".into());
            seen.insert(id);
            let raw = read_blob_uncached(&self.conn, id);
            match raw {
                Err(e) => problems.push(format!(
                    "blob {hash} (used by {users}): cannot be read: {e:#}"
                )),
                Ok(raw) => {
                    if raw.len() as i64 != size {
                        problems.push(format!(
                            "blob {hash} (used by {users}): {} bytes, recorded as {size}",
                            raw.len()
                        ));
                    }
                    if sha256(&raw)[..] != stored[..] {
                        problems.push(format!(
                            "blob {hash} (used by {users}): content does not match its hash"
                        ));
                    }
                }
            }
            let actual = refs.get(&id).map_or(0, Vec::len) as i64;
            if actual != count {
                problems.push(format!(
                    "blob {hash}: reference count {count}, but {actual} references ({users})"
                ));
            }
        }
        for (id, users) in &refs {
            if !seen.contains(id) {
                problems.push(format!(
                    "missing blob #{id}, needed by {}",
                    users.join(", ")
                ));
            }
        }
        let counts: i64 = self
            .conn
            .prepare_cached("SELECT count(*) FROM blob_refs r LEFT JOIN blobs b ON b.id = r.id WHERE b.id IS NULL")?
            .query_row([], |r| r.get(0))?;
        if counts > 0 {
            problems.push(format!("{counts} reference count(s) of missing blobs"));
        }
        let dangling: i64 = self.conn.prepare_cached("SELECT count(*) FROM versions v LEFT JOIN responses r ON r.id = v.response_id WHERE r.id IS NULL")?.query_row(
            [],
            |r| r.get(0),
        )?;
        if dangling > 0 {
            problems.push(format!("{dangling} version(s) refer to a missing response"));
        }
        problems.sort();
        Ok(problems)
    }

    /// The versions of a watch (by number) `reprocess` puts under `rules`:
    /// those extracted under other rules, and those whose page an archive
    /// from before pages were derived stored (dropping it gives its space
    /// back to `gc`). Gone versions have no page.
    pub fn versions_to_rederive(&self, name: &str, rules: &Rules) -> Result<Vec<i64>> {
        let Some(wid) = self.watch_id(name)? else {
            return Ok(vec![]);
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT v.number FROM versions v JOIN rule_sets s ON s.id = v.rules
             WHERE v.watch_id = +?1 AND v.gone = 0 AND (s.fingerprint != ?2 OR v.page_blob IS NOT NULL)
             ORDER BY v.number",
        )?;
        let numbers = stmt
            .query_map(params![wid, rules.fingerprint], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        Ok(numbers)
    }

    /// Put a watch's versions (by number) under `rules`: their pages are
    /// derived under them from now on (a page stored by an older archive is
    /// dropped, its blob's reference count following), in one transaction
    /// that also records that the rules changed.
    pub fn rederive_pages(
        &mut self,
        name: &str,
        numbers: &[i64],
        rules: &Rules,
        at: &str,
    ) -> Result<()> {
        let Some(wid) = self.watch_id(name)? else {
            bail!("no watch `{name}` in the archive");
        };
        let tx = self.conn.savepoint()?;
        let rules_id = keep_rules(&tx, rules)?;
        let mut from = std::collections::BTreeSet::new();
        for number in numbers {
            let (old_blob, old_rules): (Option<i64>, String) = tx
                .prepare_cached(
                    "SELECT page_blob, (SELECT fingerprint FROM rule_sets WHERE id = rules) FROM versions WHERE watch_id = +?1 AND number = ?2",
                )?
                .query_row(params![wid, number], |r| Ok((r.get(0)?, r.get(1)?)))?;
            from.insert(old_rules);
            if let Some(old) = old_blob {
                drop_ref(&tx, old)?;
            }
            tx.prepare_cached("UPDATE versions SET page_blob = NULL, rules = ?1, unshown = NULL WHERE watch_id = ?2 AND number = ?3")?.execute(
                params![rules_id, wid, number],
            )?;
        }
        tx.prepare_cached("INSERT INTO reprocessed (watch_id, at, from_rules, to_rules, versions) VALUES (?1, ?2, ?3, ?4, ?5)")?.execute(
            params![wid, at, from.into_iter().collect::<Vec<_>>().join(","), rules.fingerprint, numbers.len() as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Start tracking a feed entry's page; false when it already was.
    pub fn add_tracked(&mut self, feed: &str, name: &str, url: &str, at: &str) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT OR IGNORE INTO tracked (name, url, feed, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![name, url, feed, at],
        )?;
        Ok(n == 1)
    }

    /// The pages feeds started tracking: (name, url, feed), oldest first.
    pub fn tracked(&self) -> Result<Vec<(String, String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, url, feed FROM tracked ORDER BY created_at, name")?;
        let rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn blob(&self, id: i64) -> Result<Vec<u8>> {
        read_blob(&self.conn, id)
    }

    /// Start a group commit: the checks recorded until [`Store::commit_batch`]
    /// share one transaction (each still atomic on its own, inside a
    /// savepoint), which spares a commit, its locks and its WAL writes per
    /// check. Results must not be reported before the batch is committed.
    pub fn begin_batch(&mut self) -> Result<()> {
        if self.conn.is_autocommit() {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(|e| plain_error(&self.path, e.into()))?;
        }
        Ok(())
    }

    /// Whether a group commit is open.
    pub fn in_batch(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// Commit the group started by [`Store::begin_batch`] (nothing to do
    /// without one). On failure nothing of the group is kept.
    pub fn commit_batch(&mut self) -> Result<()> {
        if self.conn.is_autocommit() {
            return Ok(());
        }
        match self.conn.execute_batch("COMMIT") {
            Ok(()) => Ok(()),
            Err(e) => {
                if !self.conn.is_autocommit() {
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                Err(plain_error(&self.path, e.into()))
            }
        }
    }

    /// Record one check and everything it produced, atomically.
    pub fn record(&mut self, rec: &CheckRecord) -> Result<Recorded> {
        let conn = &mut self.conn;
        let bases = &mut self.site_bases;
        (|| {
            let tx = conn.savepoint()?;
            let out = record_in(&tx, rec, bases)?;
            tx.commit()?;
            Ok(out)
        })()
        .map_err(|e| plain_error(&self.path, e))
    }

    /// Record a capture read from elsewhere (a WARC file): like a check,
    /// with its response marked by where it came from.
    pub fn record_imported(&mut self, rec: &CheckRecord, source: &str) -> Result<Recorded> {
        let tx = self.conn.savepoint()?;
        let out = record_in(&tx, rec, &mut self.site_bases)?;
        tx.prepare_cached(
            "UPDATE responses SET source = ?1
             WHERE id = (SELECT response_id FROM checks WHERE id = ?2) AND source IS NULL",
        )?
        .execute(params![source, out.check_id])?;
        tx.commit()?;
        Ok(out)
    }

    /// Every check of a watch that saw the page (or a 304), oldest first,
    /// optionally only those at or after `since` (RFC 3339).
    pub fn captures(&self, name: &str, since: Option<&str>) -> Result<Vec<Capture>> {
        let Some(wid) = self.watch_id(name)? else {
            bail!("no watch `{name}` in the archive");
        };
        let mut stmt = self.conn.prepare_cached(
            "SELECT c.id, c.checked_at, c.outcome, c.http_status, c.response_id, v.number, r.source
             FROM checks c LEFT JOIN versions v ON v.id = c.version_id
                           LEFT JOIN responses r ON r.id = c.response_id
             WHERE c.watch_id = +?1
               AND (?2 IS NULL OR CASE typeof(c.checked_at) WHEN 'integer' THEN c.checked_at >= ?2 ELSE c.checked_at >= ?3 END)
               AND (c.response_id IS NOT NULL OR c.http_status = 304)
             ORDER BY c.id",
        )?;
        let rows = stmt
            .query_map(params![wid, time_bound(since), since], |r| {
                Ok(Capture {
                    check_id: r.get(0)?,
                    checked_at: time_at(r, 1)?,
                    outcome: outcome_at(r, 2)?,
                    http_status: r.get(3)?,
                    response_id: r.get(4)?,
                    version: r.get(5)?,
                    source: r.get(6)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// SQLite's words for a full disk or a read-only file, in a user's words
/// (what happened, to which file, what to do); other errors as they are.
fn plain_error(path: &Path, e: anyhow::Error) -> anyhow::Error {
    use rusqlite::ErrorCode;
    let code = e
        .chain()
        .find_map(|c| c.downcast_ref::<rusqlite::Error>())
        .and_then(|e| e.sqlite_error_code());
    match code {
        Some(ErrorCode::DiskFull) => anyhow!(
            "the disk holding {} is full; nothing was half-written: free some space and run again",
            path.display()
        ),
        Some(ErrorCode::ReadOnly) => anyhow!(
            "{} is read-only; redline must be able to write to its archive (check the file's permissions and the file system)",
            path.display()
        ),
        // A WAL archive on a read-only file system cannot even be opened
        // (its shared-memory file cannot be made): say why.
        Some(ErrorCode::CannotOpen)
            if path.exists() && std::fs::OpenOptions::new().append(true).open(path).is_err() =>
        {
            anyhow!(
                "{} is read-only; redline must be able to write to its archive (check the file's permissions and the file system)",
                path.display()
            )
        }
        _ => e,
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map(drop)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map(drop)
}

/// Headers as stored: one `name: value` per line.
fn format_headers(headers: &[(String, String)]) -> Vec<u8> {
    let mut s = String::new();
    for (k, v) in headers {
        s.push_str(k);
        s.push_str(": ");
        s.push_str(v);
        s.push_str("\r\n");
    }
    s.into_bytes()
}

/// A change's JSON from its row: zstd against the built-in dictionary of
/// changes (a blob, from the sixth session on: 240 bytes of JSON take
/// about 110), or the JSON text itself (rows from before).
fn change_json(row: &rusqlite::Row, idx: usize) -> rusqlite::Result<Vec<u8>> {
    use rusqlite::types::ValueRef;
    match row.get_ref(idx)? {
        ValueRef::Text(t) => Ok(t.to_vec()),
        ValueRef::Blob(b) => codec::decompress_fixed(codec::Fixed::Changes, b).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Blob, Box::new(e))
        }),
        other => Err(rusqlite::Error::InvalidColumnType(
            idx,
            "change".into(),
            other.data_type(),
        )),
    }
}

/// A response's headers as stored: in its row (migration 18 on), or as a
/// blob (rows from before).
enum StoredHeaders {
    Inline(Vec<u8>),
    Blob(i64),
}

impl StoredHeaders {
    fn read(&self, conn: &Connection) -> Result<Vec<u8>> {
        match self {
            StoredHeaders::Inline(data) => {
                Ok(codec::decompress_fixed(codec::Fixed::Headers, data)?)
            }
            StoredHeaders::Blob(id) => read_blob(conn, *id),
        }
    }
}

/// The headers of a response row: columns `idx` (`headers`) and `idx + 1`
/// (`headers_blob`).
fn stored_headers(row: &rusqlite::Row, idx: usize) -> rusqlite::Result<StoredHeaders> {
    match row.get::<_, Option<Vec<u8>>>(idx)? {
        Some(data) => Ok(StoredHeaders::Inline(data)),
        None => Ok(StoredHeaders::Blob(row.get(idx + 1)?)),
    }
}

fn parse_headers(bytes: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(bytes)
        .split("\r\n")
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// zstd contexts are costly to create (a fresh one per blob showed up in
/// the profile): one of each per thread, reused. A dictionary (an earlier
/// blob, used once) is given to zstd with each call: it is read in place,
/// where a prepared dictionary would first be copied and indexed apart.
pub(crate) mod codec {
    use std::cell::RefCell;
    use std::io;
    use zstd::zstd_safe::{CCtx, CParameter, DCtx, get_error_name};

    thread_local! {
        static COMPRESSOR: RefCell<Option<CCtx<'static>>> = const { RefCell::new(None) };
        static DECOMPRESSOR: RefCell<Option<DCtx<'static>>> = const { RefCell::new(None) };
        static FIXED_COMPRESSORS: RefCell<[Option<CCtx<'static>>; 2]> = const { RefCell::new([None, None]) };
        static FIXED_DECOMPRESSORS: RefCell<[Option<DCtx<'static>>; 2]> = const { RefCell::new([None, None]) };
    }

    /// A dictionary built into redline, for small records compressed one
    /// by one, each frame with a checksum (such records have no hash of
    /// their own to verify them by).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Fixed {
        /// A response's headers, in its row.
        Headers,
        /// A change's JSON, in its row.
        Changes,
    }

    impl Fixed {
        fn slot(self) -> usize {
            match self {
                Fixed::Headers => 0,
                Fixed::Changes => 1,
            }
        }

        fn dict(self) -> &'static [u8] {
            match self {
                Fixed::Headers => HEADERS_DICT,
                Fixed::Changes => CHANGES_DICT,
            }
        }
    }

    /// The JSON of each kind of change up to its first text, the most
    /// common last. As with [`HEADERS_DICT`]: never edit these bytes.
    const CHANGES_DICT: &[u8] = br#"{"type":"fetch_recovered","failures":1}
{"type":"fetch_failing","failures":1,"error":"
{"type":"content_changed","mime":"application/pdf","before_sha256":"","after_sha256":"","before_size":1,"after_size":1}
{"type":"page_gone","status":404}
{"type":"page_back","status":200}
{"type":"redirected","from":"https://","to":"https://
{"type":"title_changed","before":"","after":"
{"type":"entry_added","id":"https://","title":"","link":"https://","date":null}
{"type":"trackback_added","id":"comment-","kind":"trackback","author":"","url":"https://","date":null,"text":"
{"type":"comment_edited","id":"comment-","kind":"comment","author":"","url":null,"date":null,"text":"","before":"
{"type":"comment_removed","id":"comment-","kind":"comment","author":"","url":null,"date":null,"text":"
{"type":"pingback_removed","id":"comment-","kind":"pingback","author":"","url":"https://","date":null,"text":"
{"type":"text_added","block":1,"text":"
{"type":"text_removed","block":1,"text":"
{"type":"pingback_added","id":"comment-","kind":"pingback","author":"","url":"https://","date":null,"text":"
{"type":"comment_added","id":"comment-","kind":"comment","author":"","url":null,"date":null,"text":"
{"type":"text_edited","block":1,"old_block":1,"before":"","after":""#;

    /// Common response headers, the most common last (nearest to what is
    /// compressed), as zstd's raw-content dictionary for a response's
    /// headers (HPACK's static table does the same for HTTP/2). Stored
    /// headers are read with these exact bytes: never edit them; a new
    /// dictionary needs a new column or codec.
    const HEADERS_DICT: &[u8] = b"x-xss-protection: 1; mode=block\r\n\
x-powered-by: PHP/8.2\r\n\
access-control-allow-origin: *\r\n\
alt-svc: h3=\":443\"; ma=86400\r\n\
permissions-policy: interest-cohort=()\r\n\
referrer-policy: strict-origin-when-cross-origin\r\n\
content-security-policy: upgrade-insecure-requests\r\n\
strict-transport-security: max-age=31536000; includeSubDomains; preload\r\n\
x-frame-options: SAMEORIGIN\r\n\
x-content-type-options: nosniff\r\n\
server: cloudflare\r\n\
cf-cache-status: DYNAMIC\r\n\
server: Apache\r\n\
server: nginx\r\n\
via: 1.1 varnish\r\n\
x-cache: HIT\r\n\
x-cache: MISS\r\n\
age: 0\r\n\
accept-ranges: bytes\r\n\
content-encoding: gzip\r\n\
transfer-encoding: chunked\r\n\
vary: Accept-Encoding\r\n\
pragma: no-cache\r\n\
expires: Thu, 19 Nov 1981 08:52:00 GMT\r\n\
cache-control: no-cache, no-store, must-revalidate\r\n\
cache-control: public, max-age=600\r\n\
cache-control: max-age=0, private, must-revalidate\r\n\
set-cookie: session=; path=/; secure; HttpOnly; SameSite=Lax\r\n\
link: <https://example.gov/wp-json/>; rel=\"https://api.w.org/\"\r\n\
last-modified: Mon, 01 Jan 2024 00:00:00 GMT\r\n\
date: Tue, 01 Dec 2026 12:00:00 GMT\r\n\
content-type: application/json; charset=utf-8\r\n\
content-type: application/rss+xml; charset=UTF-8\r\n\
content-type: text/html; charset=UTF-8\r\n\
content-type: text/plain; charset=utf-8\r\n\
location: https://\r\n\
etag: W/\"\r\n\
connection: keep-alive\r\n\
content-length: 1\r\n\
etag: \"\r\n\
content-type: text/html; charset=utf-8\r\n";

    /// Measured on the benchmark's headers (99 bytes): 35 bytes at levels 5
    /// and 9 (2.4 and 2.7 µs a call), 39 at level 3 (1.6 µs).
    const FIXED_LEVEL: i32 = 5;

    /// More than any server sends as headers (hyper refuses far less) or
    /// any change holds (a block's text is bounded by extraction).
    const MAX_FIXED: usize = 64 << 20;

    pub const LEVEL: i32 = 3;
    /// For a version against an earlier one of the same page: the delta
    /// is as small at level 1 (measured: 117 bytes for a new comment on a
    /// 30 KB page, 115 at level 3), and the dictionary is loaded into one
    /// hash table instead of two.
    pub const OWN_LEVEL: i32 = 1;
    /// For a first capture against another page of the same site.
    pub const SITE_LEVEL: i32 = 6;

    /// zstd parses a dictionary that starts with its dictionary magic
    /// number as a trained dictionary (and fails on anything else); the
    /// bodies used as dictionaries here are raw content whatever their
    /// first bytes, so such a body is given with a zero byte in front
    /// (on both sides: the same rule compresses and decompresses).
    fn raw_content(dict: &[u8]) -> std::borrow::Cow<'_, [u8]> {
        const MAGIC: [u8; 4] = [0x37, 0xa4, 0x30, 0xec];
        if dict.starts_with(&MAGIC) {
            let mut d = Vec::with_capacity(dict.len() + 1);
            d.push(0);
            d.extend_from_slice(dict);
            std::borrow::Cow::Owned(d)
        } else {
            std::borrow::Cow::Borrowed(dict)
        }
    }

    fn zstd_error(code: usize) -> io::Error {
        io::Error::other(format!("zstd: {}", get_error_name(code)))
    }

    /// A buffer for up to `capacity` bytes, or an error when that much
    /// memory cannot be had.
    fn buffer(capacity: usize) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        out.try_reserve_exact(capacity)
            .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "no memory for a blob"))?;
        Ok(out)
    }

    /// Compress `bytes`, against `dict` when given.
    pub fn compress(bytes: &[u8], dict: &[u8]) -> io::Result<Vec<u8>> {
        compress_at(bytes, dict, LEVEL)
    }

    /// [`compress`] at another level.
    pub fn compress_at(bytes: &[u8], dict: &[u8], level: i32) -> io::Result<Vec<u8>> {
        COMPRESSOR.with(|c| {
            let mut c = c.borrow_mut();
            if c.is_none() {
                *c = CCtx::try_create();
            }
            let Some(z) = c.as_mut() else {
                return Err(io::Error::other("no zstd compressor"));
            };
            let mut out = buffer(zstd::zstd_safe::compress_bound(bytes.len()))?;
            z.compress_using_dict(&mut out, bytes, &raw_content(dict), level)
                .map_err(zstd_error)?;
            Ok(out)
        })
    }

    /// `bytes` compressed against a built-in dictionary, with a checksum.
    pub fn compress_fixed(which: Fixed, bytes: &[u8]) -> io::Result<Vec<u8>> {
        FIXED_COMPRESSORS.with(|c| {
            let slot = &mut c.borrow_mut()[which.slot()];
            if slot.is_none() {
                let mut z =
                    CCtx::try_create().ok_or_else(|| io::Error::other("no zstd compressor"))?;
                z.set_parameter(CParameter::CompressionLevel(FIXED_LEVEL))
                    .map_err(zstd_error)?;
                z.set_parameter(CParameter::ChecksumFlag(true))
                    .map_err(zstd_error)?;
                z.load_dictionary(which.dict()).map_err(zstd_error)?;
                *slot = Some(z);
            }
            let Some(z) = slot.as_mut() else {
                return Err(io::Error::other("no zstd compressor"));
            };
            let mut out = buffer(zstd::zstd_safe::compress_bound(bytes.len()))?;
            z.compress2(&mut out, bytes).map_err(zstd_error)?;
            Ok(out)
        })
    }

    /// A record kept by [`compress_fixed`] with the same dictionary.
    pub fn decompress_fixed(which: Fixed, data: &[u8]) -> io::Result<Vec<u8>> {
        let size = match zstd::zstd_safe::get_frame_content_size(data) {
            Ok(Some(n)) if n <= MAX_FIXED as u64 => n as usize,
            _ => return Err(io::Error::other("not a zstd frame of a known size")),
        };
        FIXED_DECOMPRESSORS.with(|c| {
            let slot = &mut c.borrow_mut()[which.slot()];
            if slot.is_none() {
                let mut z =
                    DCtx::try_create().ok_or_else(|| io::Error::other("no zstd decompressor"))?;
                z.load_dictionary(which.dict()).map_err(zstd_error)?;
                *slot = Some(z);
            }
            let Some(z) = slot.as_mut() else {
                return Err(io::Error::other("no zstd decompressor"));
            };
            let mut out = buffer(size)?;
            z.decompress(&mut out, data).map_err(zstd_error)?;
            Ok(out)
        })
    }

    /// Decompress to at most `size` bytes, against `dict` when given.
    pub fn decompress(data: &[u8], size: usize, dict: &[u8]) -> io::Result<Vec<u8>> {
        // The frame says how big it is: no room beyond that is needed.
        let size = match zstd::zstd_safe::get_frame_content_size(data) {
            Ok(Some(n)) => usize::try_from(n).map_or(size, |n| n.min(size)),
            _ => size,
        };
        DECOMPRESSOR.with(|c| {
            let mut c = c.borrow_mut();
            if c.is_none() {
                *c = DCtx::try_create();
            }
            let Some(z) = c.as_mut() else {
                return Err(io::Error::other("no zstd decompressor"));
            };
            let mut out = buffer(size)?;
            z.decompress_using_dict(&mut out, data, &raw_content(dict))
                .map_err(zstd_error)?;
            Ok(out)
        })
    }
}

thread_local! {
    /// The last few blobs read, by hash (an id may name another blob once
    /// one is deleted or a transaction rolled back, and this cache serves
    /// any archive the thread opens): a check reads its version's body for
    /// the cheap comparison and again as the base of what it stores.
    static RECENT: std::cell::RefCell<Vec<(Sha256, std::rc::Rc<Vec<u8>>)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// A blob's address.
type Sha256 = [u8; 32];

/// How many blobs [`RECENT`] keeps (each at most 1 MB).
const RECENT_BLOBS: usize = 8;

/// A blob's bytes, whatever its codec (following its base for deltas).
fn read_blob(conn: &Connection, id: i64) -> Result<Vec<u8>> {
    Ok(read_blob_shared(conn, id)?.as_ref().clone())
}

fn read_blob_shared(conn: &Connection, id: i64) -> Result<std::rc::Rc<Vec<u8>>> {
    read_blob_at(conn, id, 0)
}

/// Longest chain of bases followed when reading (stored chains are at most
/// four blobs long; the bound only guards a damaged archive).
const MAX_CHAIN: usize = 6;

/// A blob as stored.
struct BlobRow {
    hash: Vec<u8>,
    size: i64,
    codec: i64,
    base: Option<i64>,
    data: Vec<u8>,
}

/// What reading a blob's row found: its bytes already in [`RECENT`], or
/// the row to decode.
enum Found {
    Recent(std::rc::Rc<Vec<u8>>),
    Row(BlobRow),
}

/// A blob's row, in one query; `recent` may answer with the bytes once
/// the hash is known.
fn blob_row(
    conn: &Connection,
    id: i64,
    recent: impl FnOnce(&[u8]) -> Option<std::rc::Rc<Vec<u8>>>,
) -> Result<Found> {
    conn.prepare_cached("SELECT hash, size, codec, base, data FROM blobs WHERE id = ?1")?
        .query_row([id], |r| {
            let hash: Vec<u8> = r.get(0)?;
            if let Some(bytes) = recent(&hash) {
                return Ok(Found::Recent(bytes));
            }
            Ok(Found::Row(BlobRow {
                hash,
                size: r.get(1)?,
                codec: r.get(2)?,
                base: r.get(3)?,
                data: r.get(4)?,
            }))
        })
        .optional()?
        .ok_or_else(|| anyhow!("blob #{id} is missing from the archive"))
}

fn read_blob_at(conn: &Connection, id: i64, level: usize) -> Result<std::rc::Rc<Vec<u8>>> {
    if level > MAX_CHAIN {
        bail!("blob #{id}: chain of bases too long (a damaged archive?)");
    }
    // Least recently used first: a site's base blob, read on behalf of
    // every page of the site, stays.
    let row = match blob_row(conn, id, |hash| {
        RECENT.with(|r| {
            let mut r = r.borrow_mut();
            let i = r.iter().position(|(h, _)| h[..] == *hash)?;
            let entry = r.remove(i);
            let bytes = entry.1.clone();
            r.push(entry);
            Some(bytes)
        })
    })? {
        Found::Recent(bytes) => return Ok(bytes),
        Found::Row(row) => row,
    };
    let key: Option<Sha256> = row.hash.as_slice().try_into().ok();
    let bytes = std::rc::Rc::new(decode(conn, row, level)?);
    if let Some(key) = key
        && bytes.len() <= 1 << 20
    {
        RECENT.with(|r| {
            let mut r = r.borrow_mut();
            if r.len() >= RECENT_BLOBS {
                r.remove(0);
            }
            r.push((key, bytes.clone()));
        });
    }
    Ok(bytes)
}

fn read_blob_uncached(conn: &Connection, id: i64) -> Result<Vec<u8>> {
    match blob_row(conn, id, |_| None)? {
        Found::Row(row) => decode(conn, row, 0),
        Found::Recent(bytes) => Ok(bytes.as_ref().clone()),
    }
}

/// How a blob's data is encoded (`blobs.codec`).
const ZSTD: i64 = 0;
/// zstd with the `base` blob as dictionary.
const ZSTD_DICT: i64 = 1;
/// A token patch (zstd) against the `base` blob.
const PATCH: i64 = 2;
/// A token patch against the `base` blob, as it is: a few changed tokens
/// (a nonce, a time) that zstd makes no smaller (79 bytes → 86 in the
/// benchmark) at the cost of a compression context's reset.
const RAW_PATCH: i64 = 3;

/// Patches up to this size are kept as they are ([`RAW_PATCH`]).
const RAW_PATCH_MAX: usize = 128;

/// Larger patches are compressed at this (fast) level: a 171-byte patch
/// takes 163 bytes at −1 in 1.6 µs, 155 at level 3 in 5.3 µs, and one is
/// stored by nearly every check of a page without validators.
const PATCH_LEVEL: i32 = -1;

/// A blob's bytes from its row (reading its base first for a delta).
fn decode(conn: &Connection, row: BlobRow, level: usize) -> Result<Vec<u8>> {
    let BlobRow {
        hash,
        size,
        codec,
        base,
        data,
    } = row;
    let size = usize::try_from(size).unwrap_or(0);
    let name = || hex(&hash);
    let base_name = |b: i64| -> String {
        conn.query_row("SELECT hash FROM blobs WHERE id = ?1", [b], |r| {
            r.get::<_, Vec<u8>>(0)
        })
        .map(|h| hex(&h))
        .unwrap_or_else(|_| format!("#{b}"))
    };
    match (codec, base) {
        (ZSTD, _) => codec::decompress(&data, size, &[])
            .with_context(|| format!("blob {} does not decompress", name())),
        (ZSTD_DICT, Some(base)) => {
            let dict = read_blob_at(conn, base, level + 1)
                .with_context(|| format!("base of blob {}", name()))?;
            codec::decompress(&data, size, &dict).with_context(|| {
                format!(
                    "blob {} does not decompress against its base {}",
                    name(),
                    base_name(base)
                )
            })
        }
        (PATCH | RAW_PATCH, Some(base)) => {
            let old = read_blob_at(conn, base, level + 1)
                .with_context(|| format!("base of blob {}", name()))?;
            let patch = if codec == RAW_PATCH {
                data
            } else {
                codec::decompress(&data, size.saturating_add(1 << 20), &[])
                    .with_context(|| format!("blob {} does not decompress", name()))?
            };
            crate::extract::quick::apply_patch(&old, &patch).ok_or_else(|| {
                anyhow!(
                    "blob {} is a patch that does not fit its base {}",
                    name(),
                    base_name(base)
                )
            })
        }
        (ZSTD_DICT | PATCH | RAW_PATCH, None) => {
            bail!("blob {} lacks the base it was stored against", name())
        }
        (other, _) => bail!("blob {} has unknown codec {other}", name()),
    }
}

/// What a new blob may be compressed against.
#[derive(Debug, Clone, Copy)]
enum Base {
    None,
    /// The same watch's previous blob of this kind: taken when clearly
    /// smaller than alone (otherwise this blob starts a new chain).
    Own(i64),
    /// A blob of the same kind from another page of the same site: taken
    /// whenever smaller.
    Site(i64),
}

/// Store `bytes`, whose hash is given (hashing a body twice showed up in
/// the profile), once under their hash and count one more reference,
/// compressed against `base` when that pays; returns the blob's id. With a `patch_base` (the body of the
/// watch's current version) a body that differs from it only in a few
/// tokens (nonces, timestamps) is kept as a patch against it. Otherwise a
/// new blob is compressed with a whole earlier blob as zstd dictionary
/// ([`dictionary_for`] its base), so an edit costs about its own size; the
/// dictionary counts one more reference, so it is never pruned while
/// needed. Reading any blob takes at most three decompressions (and a
/// patch).
fn put_hashed_blob(
    tx: &Connection,
    bytes: &[u8],
    hash: &Sha256,
    base: Base,
    patch_base: Option<i64>,
    known_patch: Option<&[u8]>,
) -> Result<i64> {
    let existing: Option<i64> = tx
        .prepare_cached("SELECT id FROM blobs WHERE substr(hash, 1, 8) = ?1 AND hash = ?2")?
        .query_row([&hash[..8], &hash[..]], |r| r.get(0))
        .optional()?;
    if let Some(id) = existing {
        add_ref(tx, id)?;
        return Ok(id);
    }
    let insert = |codec: i64, data: &[u8], base: Option<(i64, i64)>| -> Result<i64> {
        tx.prepare_cached(
            "INSERT INTO blobs (hash, size, codec, data, base, depth) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            &hash[..],
            bytes.len() as i64,
            codec,
            data,
            base.map(|b| b.0),
            base.map_or(0, |b| b.1)
        ])?;
        let id = tx.last_insert_rowid();
        tx.prepare_cached("INSERT OR REPLACE INTO blob_refs (id, refs) VALUES (?1, 1)")?
            .execute([id])?;
        if let Some((b, _)) = base {
            add_ref(tx, b)?;
        }
        Ok(id)
    };
    // A patch against the current version's body: reading it takes that
    // body (at most three decompressions) and applying the patch.
    if let Some(pb) = patch_base
        && let Some((depth, _)) = depth_of(tx, pb)?
        && depth <= 2
    {
        let old = read_blob_shared(tx, pb)?;
        // A patch the check made is used when it rebuilds these very bytes.
        let made = known_patch
            .filter(|p| crate::extract::quick::patch_rebuilds(&old, p, bytes))
            .map(<[u8]>::to_vec);
        if let Some(p) = made.or_else(|| crate::extract::quick::patch(&old, bytes)) {
            let base = Some((pb, depth + 1));
            if p.len() <= RAW_PATCH_MAX {
                return insert(RAW_PATCH, &p, base);
            }
            return insert(PATCH, &codec::compress_at(&p, &[], PATCH_LEVEL)?, base);
        }
    }
    let (given, own) = match base {
        Base::Own(b) => (Some(b), true),
        Base::Site(b) => (Some(b), false),
        Base::None => (None, false),
    };
    let dict = match given {
        Some(b) => dictionary_for(tx, b)?,
        None => None,
    };
    let mut plain = None;
    let delta = match dict {
        Some((d, depth)) => {
            let dict = read_blob_shared(tx, d)?;
            // Another page of the site shares markup and boilerplate, not
            // whole stretches: a higher level finds the shorter matches.
            let level = if own {
                codec::OWN_LEVEL
            } else {
                codec::SITE_LEVEL
            };
            let packed = codec::compress_at(bytes, &dict, level)?;
            if own && packed.len() * 16 < bytes.len() {
                // Clearly small: no need to try without the dictionary.
                Some((packed, d, depth + 1))
            } else {
                let alone = codec::compress(bytes, &[])?;
                // Against its own predecessor only when clearly smaller:
                // once a page has drifted far, this blob starts a new chain.
                let keep = if own {
                    packed.len() * 2 < alone.len()
                } else {
                    packed.len() < alone.len()
                };
                plain = Some(alone);
                keep.then_some((packed, d, depth + 1))
            }
        }
        None => None,
    };
    match delta {
        Some((data, b, depth)) => insert(ZSTD_DICT, &data, Some((b, depth))),
        None => {
            let plain = match plain {
                Some(p) => p,
                None => codec::compress(bytes, &[])?,
            };
            insert(ZSTD, &plain, None)
        }
    }
}

/// One more reference to a blob.
fn add_ref(tx: &Connection, id: i64) -> Result<()> {
    tx.prepare_cached("UPDATE blob_refs SET refs = refs + 1 WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Keep `rules` as written, under their fingerprint (once); their id.
/// Usually they are kept already: one lookup.
fn keep_rules(tx: &Connection, rules: &Rules) -> Result<i64> {
    let kept: Option<(i64, bool)> = tx
        .prepare_cached("SELECT id, source IS NOT NULL FROM rule_sets WHERE fingerprint = ?1")?
        .query_row([&rules.fingerprint], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match kept {
        Some((id, true)) => Ok(id),
        // Named by versions from before 19, their source not known.
        Some((id, false)) => {
            tx.prepare_cached("UPDATE rule_sets SET source = ?2 WHERE id = ?1")?
                .execute(params![id, rules.source])?;
            Ok(id)
        }
        None => {
            tx.prepare_cached("INSERT INTO rule_sets (fingerprint, source) VALUES (?1, ?2)")?
                .execute(params![rules.fingerprint, rules.source])?;
            Ok(tx.last_insert_rowid())
        }
    }
}

/// The id of a list of texts a page does not show (kept once).
fn unshown_set(tx: &Connection, texts: &str) -> Result<i64> {
    let kept: Option<i64> = tx
        .prepare_cached("SELECT id FROM unshown_sets WHERE texts = ?1")?
        .query_row([texts], |r| r.get(0))
        .optional()?;
    if let Some(id) = kept {
        return Ok(id);
    }
    tx.prepare_cached("INSERT INTO unshown_sets (texts) VALUES (?1)")?
        .execute([texts])?;
    Ok(tx.last_insert_rowid())
}

/// One reference to a blob fewer (swept once none is left).
fn drop_ref(tx: &Connection, id: i64) -> Result<()> {
    tx.prepare_cached("UPDATE blob_refs SET refs = refs - 1 WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// A blob's depth (how many blobs reading it decompresses first) and base.
fn depth_of(tx: &Connection, id: i64) -> Result<Option<(i64, Option<i64>)>> {
    Ok(tx
        .prepare_cached("SELECT depth, base FROM blobs WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// The dictionary for a blob following `id`, with its depth: `id` itself
/// when it is whole or one step from whole, else the nearest blob of its
/// chain that is. A watch's versions are then compressed against an
/// earlier version of the same page, never more than three blobs deep.
fn dictionary_for(tx: &Connection, id: i64) -> Result<Option<(i64, i64)>> {
    let mut b = id;
    for _ in 0..MAX_CHAIN {
        match depth_of(tx, b)? {
            Some((depth, _)) if depth <= 1 => return Ok(Some((b, depth))),
            Some((_, Some(next))) => b = next,
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// [`put_hashed_blob`] for a watch's body: against `own` (the watch's
/// previous one) when there is one, else against the site's base; the
/// first whole body of a site becomes that base.
fn put_site_blob(
    tx: &Connection,
    bases: &mut SiteBases,
    url: &str,
    bytes: &[u8],
    hash: &Sha256,
    own: Option<i64>,
    patch: (Option<i64>, Option<&[u8]>),
) -> Result<i64> {
    // The site (a parse of the URL) is worked out only when needed: for a
    // watch's first body, or a whole one that may become the site's base.
    let site_of = |bases: &SiteBases| {
        let host = crate::fetch::Fetcher::host_key(url);
        let base = bases.get(&host).copied();
        (host, base)
    };
    let (base, site) = match own {
        Some(o) => (Base::Own(o), None),
        None => {
            let (host, site) = site_of(bases);
            (site.map_or(Base::None, Base::Site), Some((host, site)))
        }
    };
    let id = put_hashed_blob(tx, bytes, hash, base, patch.0, patch.1)?;
    if !matches!(site, Some((_, Some(_))))
        && let Some((0, _)) = depth_of(tx, id)?
    {
        let (host, known) = site.unwrap_or_else(|| site_of(bases));
        if known.is_none() && !host.is_empty() {
            bases.insert(host, id);
        }
    }
    Ok(id)
}

fn record_in(tx: &Connection, rec: &CheckRecord, bases: &mut SiteBases) -> Result<Recorded> {
    // As the check, response and version rows store it (worked out once).
    let checked_at = time_value(rec.checked_at);
    // `watches.url` is the URL last checked: the check row repeats it only
    // when it changed.
    let (wid, new_url): (i64, bool) = match tx
        .prepare_cached("SELECT id, url FROM watches WHERE name = ?1")?
        .query_row([rec.watch], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?
    {
        Some((id, url)) if url == rec.url => (id, false),
        Some((id, url)) => {
            // Responses name the watch's URL by NULL: they keep the old one.
            tx.prepare_cached(
                "UPDATE responses SET requested_url = ?1 WHERE watch_id = ?2 AND requested_url IS NULL",
            )?
            .execute(params![url, id])?;
            tx.prepare_cached("UPDATE watches SET url = ?1 WHERE id = ?2")?
                .execute(params![rec.url, id])?;
            (id, true)
        }
        None => {
            tx.prepare_cached("INSERT INTO watches (name, url, created_at) VALUES (?1, ?2, ?3)")?
                .execute(params![rec.watch, rec.url, rec.checked_at])?;
            (tx.last_insert_rowid(), true)
        }
    };

    // The raw response, unless its body is the same as the last one kept.
    let response_id = match rec.response {
        Some(resp) => {
            let body_hash = sha256(&resp.body);
            let etag = resp.header("etag");
            let last_modified = resp.header("last-modified");
            type Last = (
                i64,
                Vec<u8>,
                u16,
                String,
                Option<String>,
                Option<String>,
                i64,
            );
            let last: Option<Last> = tx
                .prepare_cached(concat!(
                    "SELECT r.id, b.hash, r.status, ",
                    final_url!(),
                    ", r.etag, r.last_modified,
                            r.body_blob
                     FROM responses r JOIN blobs b ON b.id = r.body_blob
                     WHERE r.watch_id = +?1 ORDER BY r.id DESC LIMIT 1"
                ))?
                .query_row([wid], |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                    ))
                })
                .optional()?;
            match last {
                // The same response again: only the check row is new.
                Some((id, h, status, final_url, e, lm, _))
                    if h[..] == body_hash[..]
                        && status == resp.status
                        && final_url == resp.final_url
                        && e.as_deref() == etag
                        && lm.as_deref() == last_modified =>
                {
                    Some(id)
                }
                _ => {
                    let headers = codec::compress_fixed(
                        codec::Fixed::Headers,
                        &format_headers(&resp.headers),
                    )?;
                    // Compressed against the previous body of this watch.
                    let prev_body = last.as_ref().map(|l| l.6);
                    // Noise-only variants are patches against the body of
                    // the current version.
                    let version_body: Option<i64> = tx
                        .prepare_cached(
                            "SELECT r.body_blob FROM versions v JOIN responses r ON r.id = v.response_id
                             WHERE v.watch_id = +?1 AND v.gone = 0 ORDER BY v.number DESC LIMIT 1",
                        )?
                        .query_row([wid], |r| r.get(0))
                        .optional()?;
                    let body_blob = put_site_blob(
                        tx,
                        bases,
                        &resp.final_url,
                        &resp.body,
                        &body_hash,
                        prev_body,
                        (version_body, rec.body_patch),
                    )?;
                    let redirects = if resp.redirects.is_empty() {
                        None
                    } else {
                        Some(serde_json::to_string(&resp.redirects)?)
                    };
                    tx.prepare_cached("INSERT INTO responses (watch_id, fetched_at, requested_url, final_url, redirects, status,
                                                headers, body_blob, elapsed_ms, etag, last_modified)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?.execute(
                        params![
                            wid,
                            &checked_at,
                            (resp.requested_url != rec.url).then_some(&resp.requested_url),
                            (resp.final_url != resp.requested_url).then_some(&resp.final_url),
                            redirects,
                            resp.status,
                            headers,
                            body_blob,
                            resp.elapsed_ms as i64,
                            etag,
                            last_modified
                        ],
                    )?;
                    Some(tx.last_insert_rowid())
                }
            }
        }
        None => None,
    };

    let latest: Option<(i64, i64)> = tx
        .prepare_cached(
            "SELECT id, number FROM versions WHERE watch_id = +?1 ORDER BY number DESC LIMIT 1",
        )?
        .query_row([wid], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;

    let (version_id, version, previous_version) = match (&rec.new_version, response_id) {
        (Some(nv), Some(rid)) => {
            let number = latest.map_or(1, |(_, n)| n + 1);
            // The page is derived from the response again when needed
            // (under the rules kept here), not stored.
            let gone = matches!(nv, NewVersion::Gone);
            let rules = keep_rules(tx, rec.rules)?;
            let unshown = match rec.unshown.filter(|_| !gone) {
                Some(texts) => Some(unshown_set(tx, texts)?),
                None => None,
            };
            let status = rec.response.map_or(0, |r| r.status);
            tx.prepare_cached("INSERT INTO versions (watch_id, number, created_at, response_id, status, gone, rules, unshown)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")?.execute(
                params![wid, number, &checked_at, rid, status, gone, rules, unshown],
            )?;
            (
                Some(tx.last_insert_rowid()),
                Some(number),
                latest.map(|(_, n)| n),
            )
        }
        (Some(_), None) => bail!("a new version needs a response"),
        (None, _) => (latest.map(|(id, _)| id), latest.map(|(_, n)| n), None),
    };

    tx.prepare_cached("INSERT INTO checks (watch_id, checked_at, url, outcome, http_status, response_id, version_id, error, duration_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?.execute(
        params![
            wid,
            &checked_at,
            new_url.then_some(rec.url),
            rec.outcome.code(),
            rec.http_status,
            response_id,
            version_id,
            rec.error,
            rec.duration_ms as i64
        ],
    )?;
    let check_id = tx.last_insert_rowid();

    if !rec.changes.is_empty() {
        // A report about the page belongs to the version it made; one about
        // fetching (failing, recovered) to no new version.
        let vid = if rec.new_version.is_some() {
            version_id
        } else {
            None
        };
        tx.prepare_cached("INSERT INTO reports (watch_id, check_id, version_id, base_version_id, created_at, summary, significance)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")?.execute(
            params![wid, check_id, vid, rec.base_version_id, rec.checked_at, rec.summary, rec.significance],
        )?;
        let report_id = tx.last_insert_rowid();
        for (seq, c) in rec.changes.iter().enumerate() {
            tx.prepare_cached(
                "INSERT INTO changes (report_id, seq, type, data) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                report_id,
                seq as i64,
                c.kind(),
                codec::compress_fixed(codec::Fixed::Changes, &serde_json::to_vec(c)?)?
            ])?;
        }
    }
    // Alerts commit with the change they report, or not at all.
    for (notifier, key, payload) in rec.alerts {
        tx.prepare_cached("INSERT OR IGNORE INTO outbox (notifier, idem_key, watch, check_id, created_at, payload, status, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', ?5)")?.execute(
            params![notifier, key, rec.watch, check_id, rec.checked_at, payload],
        )?;
    }
    Ok(Recorded {
        check_id,
        version,
        previous_version,
    })
}

#[cfg(test)]
mod tests;
