//! Retention (`keep_versions`, `keep_days`) and giving space back (`gc`).
//!
//! Pruning removes whole versions with the evidence only they need: the
//! version row, its extracted page, and the raw responses of the checks made
//! while it was current. Check rows and change reports stay (they are small
//! and they are the history); they just no longer point at a version. A blob
//! goes only when nothing refers to it any more — not a response, not a
//! page, and not another blob compressed against it.

use super::{Store, drop_ref};
use anyhow::Result;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeSet;

/// What a prune removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pruned {
    pub versions: usize,
    pub responses: usize,
    pub blobs: usize,
}

impl std::ops::AddAssign for Pruned {
    fn add_assign(&mut self, o: Pruned) {
        self.versions += o.versions;
        self.responses += o.responses;
        self.blobs += o.blobs;
    }
}

/// What `gc` did to the file.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct GcStats {
    /// Unreferenced blobs removed by the sweep.
    pub blobs: usize,
    pub bytes_before: u64,
    pub bytes_after: u64,
    /// The file had to be rewritten once (an archive made before
    /// incremental vacuuming was switched on).
    pub rewrote: bool,
}

struct Row {
    id: i64,
    number: i64,
    created_at: String,
    gone: bool,
    response_id: i64,
    page_blob: Option<i64>,
}

/// The versions (by position, oldest first) a retention policy removes.
/// The first and the latest version and the comparison base (the newest
/// version that is not gone) are never removed.
fn doomed(
    rows: &[Row],
    keep_versions: Option<usize>,
    keep_days: Option<u64>,
    now: DateTime<Utc>,
) -> Vec<usize> {
    let n = rows.len();
    let base = rows.iter().rposition(|r| !r.gone);
    let cutoff = keep_days.map(|d| now - chrono::Duration::days(d.min(1_000_000) as i64));
    (1..n.saturating_sub(1))
        .filter(|&i| Some(i) != base)
        .filter(|&i| {
            // `n - i` versions are this one or newer.
            let by_count = keep_versions.is_some_and(|k| n - i > k);
            let by_age = cutoff.is_some_and(|c| {
                DateTime::parse_from_rfc3339(&rows[i].created_at).is_ok_and(|t| t < c)
            });
            by_count || by_age
        })
        .collect()
}

impl Store {
    /// Apply a watch's retention: remove the versions it excludes (see
    /// [`doomed`]) in one transaction. Nothing happens without a policy.
    pub fn prune(
        &mut self,
        name: &str,
        keep_versions: Option<usize>,
        keep_days: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<Pruned> {
        if keep_versions.is_none() && keep_days.is_none() {
            return Ok(Pruned::default());
        }
        let Some(wid) = self.watch_id(name)? else {
            return Ok(Pruned::default());
        };
        let tx = self.conn.savepoint()?;
        let rows: Vec<Row> = {
            let mut stmt = tx.prepare(
                "SELECT id, number, created_at, gone, response_id, page_blob FROM versions
                 WHERE watch_id = +?1 ORDER BY number",
            )?;
            stmt.query_map([wid], |r| {
                Ok(Row {
                    id: r.get(0)?,
                    number: r.get(1)?,
                    created_at: super::time_at(r, 2)?,
                    gone: r.get(3)?,
                    response_id: r.get(4)?,
                    page_blob: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?
        };
        let mut out = Pruned::default();
        let pruned_at = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        for i in doomed(&rows, keep_versions, keep_days, now) {
            let v = &rows[i];
            let mut responses: BTreeSet<i64> = {
                let mut stmt = tx.prepare(
                    "SELECT response_id FROM checks WHERE watch_id = +?2 AND version_id = ?1 AND response_id IS NOT NULL",
                )?;
                stmt.query_map([v.id, wid], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?
            };
            responses.insert(v.response_id);
            tx.execute(
                "UPDATE checks SET version_id = NULL WHERE watch_id = +?2 AND version_id = ?1",
                [v.id, wid],
            )?;
            tx.execute(
                "UPDATE reports SET version_id = NULL WHERE version_id = ?1",
                [v.id],
            )?;
            tx.execute(
                "UPDATE reports SET base_version_id = NULL WHERE base_version_id = ?1",
                [v.id],
            )?;
            tx.execute("DELETE FROM versions WHERE id = ?1", [v.id])?;
            if let Some(page) = v.page_blob {
                drop_ref(&tx, page)?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO pruned (watch_id, number, created_at, pruned_at) VALUES (?1, ?2, ?3, ?4)",
                params![wid, v.number, v.created_at, pruned_at],
            )?;
            out.versions += 1;
            for r in responses {
                out.responses += usize::from(drop_response(&tx, wid, r)?);
            }
        }
        out.blobs = sweep(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Remove unreferenced blobs, then give free pages back to the file
    /// system. With incremental vacuuming (every archive created by this
    /// redline) that moves only the free pages; an older archive is
    /// rewritten once to switch it on, and `full` rewrites any (which also
    /// gives back the room left in half-empty pages).
    pub fn gc(&mut self, full: bool) -> Result<GcStats> {
        let tx = self.conn.savepoint()?;
        let blobs = sweep(&tx)?;
        // Lists of unshown texts no version names any more (pruned, or
        // learned again).
        tx.execute(
            "DELETE FROM unshown_sets WHERE id NOT IN (SELECT unshown FROM versions WHERE unshown IS NOT NULL)",
            [],
        )?;
        tx.commit()?;
        let size = |conn: &rusqlite::Connection| -> Result<u64> {
            let pages: i64 = conn.pragma_query_value(None, "page_count", |r| r.get(0))?;
            let page: i64 = conn.pragma_query_value(None, "page_size", |r| r.get(0))?;
            Ok(u64::try_from(pages * page).unwrap_or(0))
        };
        let bytes_before = size(&self.conn)?;
        let mode: i64 = self
            .conn
            .pragma_query_value(None, "auto_vacuum", |r| r.get(0))?;
        let rewrote = full || mode != 2;
        if rewrote {
            self.conn
                .pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
            self.conn.execute_batch("VACUUM")?;
        } else {
            // Each step of the statement frees one page: run it to the end.
            let mut stmt = self.conn.prepare("PRAGMA incremental_vacuum")?;
            let mut rows = stmt.query([])?;
            while rows.next()?.is_some() {}
        }
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(GcStats {
            blobs,
            bytes_before,
            bytes_after: size(&self.conn)?,
            rewrote,
        })
    }

    /// Versions removed by retention: (number, created_at, pruned_at).
    pub fn pruned(&self, name: &str) -> Result<Vec<(i64, String, String)>> {
        let Some(wid) = self.watch_id(name)? else {
            return Ok(vec![]);
        };
        let mut stmt = self.conn.prepare(
            "SELECT number, created_at, pruned_at FROM pruned WHERE watch_id = +?1 ORDER BY number",
        )?;
        let rows = stmt
            .query_map([wid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(rows)
    }
}

/// Delete a response no version needs any more; false when one still does.
fn drop_response(tx: &Connection, wid: i64, id: i64) -> Result<bool> {
    let used: bool = tx
        .query_row(
            "SELECT 1 FROM versions WHERE watch_id = +?2 AND response_id = ?1 LIMIT 1",
            [id, wid],
            |_| Ok(true),
        )
        .optional()?
        .unwrap_or(false);
    if used {
        return Ok(false);
    }
    let Some((headers, body)): Option<(Option<i64>, i64)> = tx
        .query_row(
            "SELECT headers_blob, body_blob FROM responses WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
    else {
        return Ok(false);
    };
    tx.execute(
        "UPDATE checks SET response_id = NULL WHERE watch_id = +?2 AND response_id = ?1",
        [id, wid],
    )?;
    tx.execute("DELETE FROM responses WHERE id = ?1", [id])?;
    // Counted once each when stored (twice for one blob serving as both);
    // headers kept in the row (migration 18 on) are no blob.
    if let Some(headers) = headers {
        drop_ref(tx, headers)?;
    }
    drop_ref(tx, body)?;
    Ok(true)
}

/// Delete every blob nothing refers to, and what only it referred to (the
/// base it was compressed against). Returns how many went.
fn sweep(tx: &Connection) -> Result<usize> {
    let mut gone = 0;
    loop {
        let dead: Vec<(i64, Option<i64>)> = {
            let mut stmt = tx.prepare(
                "SELECT r.id, b.base FROM blob_refs r JOIN blobs b ON b.id = r.id WHERE r.refs <= 0",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        if dead.is_empty() {
            return Ok(gone);
        }
        for (id, base) in dead {
            tx.execute("DELETE FROM blob_refs WHERE id = ?1", [id])?;
            tx.execute("DELETE FROM blobs WHERE id = ?1", [id])?;
            if let Some(base) = base {
                drop_ref(tx, base)?;
            }
            gone += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(gone: &[bool], days_old: &[i64], now: DateTime<Utc>) -> Vec<Row> {
        gone.iter()
            .zip(days_old)
            .enumerate()
            .map(|(i, (&g, &d))| Row {
                id: i as i64 + 1,
                number: i as i64 + 1,
                created_at: (now - chrono::Duration::days(d))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                gone: g,
                response_id: i as i64 + 1,
                page_blob: None,
            })
            .collect()
    }

    #[test]
    fn keeps_first_latest_and_base_whatever_the_policy() {
        let now = Utc::now();
        let r = rows(&[false; 6], &[60, 50, 40, 30, 20, 10], now);
        // Keep 3: the newest three (3, 4, 5) and the first (0).
        assert_eq!(doomed(&r, Some(3), None, now), vec![1, 2]);
        // Keep 1 still keeps the first and the latest.
        assert_eq!(doomed(&r, Some(1), None, now), vec![1, 2, 3, 4]);
        // Younger than 35 days: 3 (30), 4 (20), 5 (10) stay; the first too.
        assert_eq!(doomed(&r, None, Some(35), now), vec![1, 2]);
        // Both: a version goes when either limit excludes it.
        assert_eq!(doomed(&r, Some(2), Some(35), now), vec![1, 2, 3]);
        // Latest gone: the newest page that is not gone is the comparison
        // base and stays.
        let r = rows(
            &[false, false, false, false, true],
            &[50, 40, 30, 20, 10],
            now,
        );
        assert_eq!(doomed(&r, Some(1), None, now), vec![1, 2]);
        // Two versions or fewer: nothing to prune.
        let r = rows(&[false, false], &[50, 40], now);
        assert!(doomed(&r, Some(1), Some(1), now).is_empty());
        assert!(doomed(&[], Some(1), Some(1), now).is_empty());
    }
}
