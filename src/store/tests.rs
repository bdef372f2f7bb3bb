use super::*;
use crate::extract::sha256_hex;

/// The URL of each check of a watch, as the archive gives them back.
fn checked_urls(store: &Store, watch: &str) -> Vec<String> {
    store
        .checks(watch)
        .unwrap()
        .into_iter()
        .map(|c| c.url)
        .collect()
}

/// The id of the blob holding these bytes.
fn blob_id(store: &Store, bytes: &[u8]) -> i64 {
    store
        .conn
        .query_row(
            "SELECT id FROM blobs WHERE hash = ?1",
            [&sha256(bytes)[..]],
            |r| r.get(0),
        )
        .unwrap()
}

fn resp(body: &[u8]) -> Response {
    Response {
        requested_url: "http://x/".into(),
        final_url: "http://x/".into(),
        redirects: vec![Hop {
            url: "http://x/old".into(),
            status: 301,
        }],
        status: 200,
        headers: vec![
            ("content-type".into(), "text/html".into()),
            ("etag".into(), "\"1\"".into()),
        ],
        body: body.to_vec(),
        elapsed_ms: 5,
    }
}

/// A check record of `watch` with everything else at its plainest:
/// tests override what they need with `..rec(...)`.
fn rec<'a>(
    watch: &'a str,
    url: &'a str,
    response: Option<&'a Response>,
    new_version: Option<NewVersion<'a>>,
) -> CheckRecord<'a> {
    CheckRecord {
        watch,
        url,
        checked_at: "2026-11-29T10:00:00.000Z",
        duration_ms: 1,
        outcome: if new_version.is_some() {
            Outcome::Changed
        } else {
            Outcome::Unchanged
        },
        response,
        http_status: response.map(|r| r.status),
        new_version,
        rules: &RULES,
        base_version_id: None,
        changes: &[],
        summary: "",
        significance: None,
        error: None,
        alerts: &[],
        body_patch: None,
        unshown: None,
    }
}

/// The rules every test record is extracted under: the default ones.
static RULES: std::sync::LazyLock<crate::extract::Rules> =
    std::sync::LazyLock::new(crate::extract::Rules::default);

fn record(store: &mut Store, r: &Response, page: Option<&Page>) -> Recorded {
    store
        .record(&CheckRecord {
            duration_ms: 5,
            ..rec("w", "http://x/", Some(r), page.map(NewVersion::Page))
        })
        .unwrap()
}

#[test]
fn raw_evidence_round_trips_and_blobs_are_shared() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub").join("a.db");
    let mut store = Store::open(&path).unwrap();
    let body = b"<title>t</title><p>hello 1</p>\xff raw bytes";
    let page = crate::extract::extract(&resp(body), &RULES);
    assert_eq!(page.title.as_deref(), Some("t"));
    let rec = record(&mut store, &resp(body), Some(&page));
    assert_eq!(rec.version, Some(1));
    // Same body again: no new response row, no new blob.
    let rec2 = record(&mut store, &resp(body), None);
    assert_eq!((rec2.version, rec2.previous_version), (Some(1), None));
    let count =
        |store: &Store, sql: &str| -> i64 { store.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count(&store, "SELECT count(*) FROM responses"), 1);
    assert_eq!(count(&store, "SELECT count(*) FROM checks"), 2);
    // The body only: the headers are kept in the response's row, and the
    // page is derived from the body under the rules kept beside it.
    assert_eq!(count(&store, "SELECT count(*) FROM blobs"), 1);
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM responses WHERE headers IS NOT NULL AND headers_blob IS NULL"
        ),
        1
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM versions WHERE page_blob IS NULL AND gone = 0"
        ),
        1
    );
    assert_eq!(count(&store, "SELECT count(*) FROM rule_sets"), 1);

    let v = store.version("w", 1).unwrap().unwrap();
    let raw = store.raw_response(v.response_id).unwrap();
    assert_eq!(raw.response.body, body);
    assert_eq!(raw.response.headers, resp(body).headers);
    assert_eq!(raw.response.header("etag"), Some("\"1\""));
    assert_eq!(raw.response.redirects, resp(body).redirects);
    assert_eq!(store.page(&v).unwrap(), Some(page.clone()));
    assert_eq!(store.stored_page(&v).unwrap(), None);

    // A later version with the first body again shares its blob: a second
    // reference; the rules are kept once.
    let other = b"<p>other body</p>";
    record(
        &mut store,
        &resp(other),
        Some(&crate::extract::extract(&resp(other), &RULES)),
    );
    let rec3 = record(&mut store, &resp(body), Some(&page));
    assert_eq!(rec3.version, Some(3));
    let refs: i64 = store
        .conn
        .query_row(
            "SELECT refs FROM blob_refs WHERE id = ?1",
            [blob_id(&store, body)],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(refs, 2);
    assert_eq!(count(&store, "SELECT count(*) FROM rule_sets"), 1);
    let v3 = store.version("w", 3).unwrap().unwrap();
    assert_eq!(store.page(&v3).unwrap(), Some(page));
}

#[test]
fn reopening_keeps_data_and_uses_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    {
        let mut store = Store::open(&path).unwrap();
        record(&mut store, &resp(b"x"), Some(&Page::default()));
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.versions("w").unwrap().len(), 1);
    let mode: String = store
        .conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let v: i64 = store
        .conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v as usize, schema::MIGRATIONS.len());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    drop(Store::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open(&path).err().unwrap().to_string();
    assert!(err.contains("newer redline"), "{err}");
}

#[test]
fn a_failed_transaction_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    // A new version without a response cannot be recorded.
    let err = store
        .record(&rec("w", "http://x/", None, Some(NewVersion::Gone)))
        .unwrap_err();
    assert!(
        format!("{err:#}").contains("a new version needs a response"),
        "{err:#}"
    );
    let n: i64 = store
        .conn
        .query_row("SELECT count(*) FROM watches", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn a_group_commit_keeps_each_check_atomic_and_nothing_before_commit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut store = Store::open(&path).unwrap();
    let page = Page {
        title: Some("t".into()),
        ..Page::default()
    };
    store.begin_batch().unwrap();
    assert!(store.in_batch());
    record(&mut store, &resp(b"one"), Some(&page));
    // A check that fails inside the group takes only its own rows back.
    let failed = store
        .record(&rec("other", "http://y/", None, Some(NewVersion::Gone)))
        .unwrap_err();
    assert!(
        format!("{failed:#}").contains("a new version needs a response"),
        "{failed:#}"
    );
    record(&mut store, &resp(b"two"), None);
    // Another connection sees nothing of the group before the commit.
    let count = |table: &str| -> i64 {
        let c = Connection::open(&path).unwrap();
        c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count("checks"), 0);
    store.commit_batch().unwrap();
    assert!(!store.in_batch());
    assert_eq!(count("checks"), 2);
    assert_eq!(count("watches"), 1);
    assert_eq!(count("responses"), 2);
    assert!(store.verify().unwrap().is_empty());
    // Committing without a group is a no-op; a group left uncommitted is
    // rolled back when the store closes.
    store.commit_batch().unwrap();
    store.begin_batch().unwrap();
    record(&mut store, &resp(b"three"), None);
    drop(store);
    assert_eq!(count("checks"), 2);
}

#[test]
fn a_check_row_repeats_the_url_only_when_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let r = resp(b"same body");
    for url in [
        "http://x/",
        "http://x/",
        "http://y/",
        "http://y/",
        "http://x/",
    ] {
        store.record(&rec("w", url, Some(&r), None)).unwrap();
    }
    let urls = checked_urls(&store, "w");
    assert_eq!(
        urls,
        [
            "http://x/",
            "http://x/",
            "http://y/",
            "http://y/",
            "http://x/"
        ]
    );
    let stored: Vec<Option<String>> = store
        .conn
        .prepare("SELECT url FROM checks ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        stored,
        [
            Some("http://x/".to_string()),
            None,
            Some("http://y/".to_string()),
            None,
            Some("http://x/".to_string())
        ]
    );
}

/// A press-release page of a site: shared markup, its own text.
fn site_page(i: usize, edit: usize) -> Vec<u8> {
    let mut s = format!(
        "<html><head><title>Release {i}</title></head><body><nav><a href=/>Home</a><a href=/press>Press</a></nav><main>"
    );
    for p in 0..150 {
        s.push_str(&format!(
            "<p>Paragraph {p} of release {i}: the Department announced assistance and cooperation.</p>\n"
        ));
    }
    s.push_str(&format!(
        "<p>Revision {edit}.</p></main><footer>Department of State</footer></body></html>"
    ));
    s.into_bytes()
}

#[test]
fn first_captures_compress_against_the_site_and_later_versions_against_their_own_page() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let mut put = |watch: &str, url: &str, body: Vec<u8>| -> i64 {
        let r = Response {
            requested_url: url.into(),
            final_url: url.into(),
            body,
            ..resp(b"")
        };
        let page = Page::default();
        store
            .record(&rec(watch, url, Some(&r), Some(NewVersion::Page(&page))))
            .unwrap();
        blob_id(&store, &r.body)
    };
    let a = put("a", "http://site.example/a", site_page(1, 0));
    let b1 = put("b", "http://site.example/b", site_page(2, 0));
    let b2 = put("b", "http://site.example/b", site_page(2, 1));
    let b3 = put("b", "http://site.example/b", site_page(2, 2));
    let b4 = put("b", "http://site.example/b", site_page(2, 3));
    let other = put("c", "http://elsewhere.example/c", site_page(3, 0));
    let row = |id: i64| -> (i64, Option<i64>, i64, i64) {
        store
            .conn
            .query_row(
                "SELECT codec, base, depth, length(data) FROM blobs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
    };
    let (codec, base, depth, whole_size) = row(a);
    assert_eq!((codec, base, depth), (ZSTD, None, 0));
    // The second page of the site: against the first, and smaller for it.
    let (codec, base, depth, size) = row(b1);
    assert_eq!((codec, base, depth), (ZSTD_DICT, Some(a), 1));
    assert!(size * 2 < whole_size, "{size} vs {whole_size}");
    // Its next versions: against its own page (a zstd delta against its
    // first body, or a token patch against the version before), never
    // more than three blobs deep and never against the other page.
    for id in [b2, b3, b4] {
        let (codec, base, depth, size) = row(id);
        assert!([PATCH, RAW_PATCH, ZSTD_DICT].contains(&codec), "{codec}");
        assert!((2..=3).contains(&depth), "depth {depth}");
        let base = base.unwrap();
        assert!(base == b1 || row(base).1 == Some(b1), "{base}");
        assert!(size < 100, "an edit costs {size} bytes");
    }
    // Another site starts on its own.
    assert_eq!(row(other).1, None);
    for (h, body) in [
        (b1, site_page(2, 0)),
        (b3, site_page(2, 2)),
        (b4, site_page(2, 3)),
    ] {
        assert_eq!(read_blob_uncached(&store.conn, h).unwrap(), body);
    }
    assert!(store.verify().unwrap().is_empty(), "{:?}", store.verify());
}

#[test]
fn a_base_chain_that_loops_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("a.db")).unwrap();
    store
        .conn
        .execute_batch(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO blobs (id, hash, size, codec, data, base, depth) VALUES (1, randomblob(32), 10, 1, x'00', 2, 1);
             INSERT INTO blobs (id, hash, size, codec, data, base, depth) VALUES (2, randomblob(32), 10, 1, x'00', 1, 1);",
        )
        .unwrap();
    let err = read_blob_uncached(&store.conn, 1).unwrap_err();
    assert!(
        format!("{err:#}").contains("chain of bases too long"),
        "{err:#}"
    );
}

#[test]
fn reports_can_be_marked_seen() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let changes = [Change::PageGone { status: 404 }];
    for (i, at) in ["2026-11-29T10:00:00.000Z", "2026-11-29T11:00:00.000Z"]
        .iter()
        .enumerate()
    {
        let r = resp(format!("body {i}").as_bytes());
        store
            .record(&CheckRecord {
                checked_at: at,
                changes: &changes,
                summary: "page gone",
                significance: Some("major"),
                ..rec("w", "http://x/", Some(&r), Some(NewVersion::Gone))
            })
            .unwrap();
    }
    let unseen = store.unseen_reports(10).unwrap();
    assert_eq!(unseen.len(), 2);
    assert_eq!(
        unseen[0].created_at, "2026-11-29T11:00:00.000Z",
        "newest first"
    );
    assert_eq!(unseen[0].changes, changes.to_vec());
    store.mark_seen(unseen[0].id, true).unwrap();
    let left = store.unseen_reports(10).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].created_at, "2026-11-29T10:00:00.000Z");
    assert_eq!(
        store
            .reports(Some("2026-11-29T10:30:00.000Z"), None, 10)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn an_edit_costs_about_its_own_size_and_bodies_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    // A 40 KB page of varied text.
    let para = |i: usize, figure: &str| {
        format!(
            "<p>Paragraph {i}: the Department notes item {} at {figure}, reference {:x}.</p>\n",
            i * 7919 % 1000,
            i * 2654435761 % 65536
        )
    };
    let page = |edit_at: usize, figure: &str| -> Vec<u8> {
        let mut s = String::new();
        let mut i = 0;
        while s.len() < 40_000 {
            s.push_str(&para(i, if i == edit_at { figure } else { "$40 million" }));
            i += 1;
        }
        s.into_bytes()
    };
    let mut bodies = Vec::new();
    for (n, figure) in ["$40 million", "$60 million", "$65 million", "$70 million"]
        .iter()
        .enumerate()
    {
        let body = page(150 + n, figure);
        record(&mut store, &resp(&body), Some(&Page::default()));
        bodies.push(body);
    }
    let stored: Vec<(i64, i64, Option<i64>)> = {
        let mut stmt = store
            .conn
            .prepare("SELECT codec, length(data), base FROM blobs WHERE size > 30000")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(stored.len(), 4);
    let plain = stored
        .iter()
        .find(|(c, _, _)| *c == ZSTD)
        .expect("the first body is stored whole");
    // Each edit is a zstd delta against a whole body, or a patch against
    // the current version's body (the same markup with a few tokens
    // changed).
    let deltas: Vec<_> = stored
        .iter()
        .filter(|(c, _, _)| [ZSTD_DICT, PATCH, RAW_PATCH].contains(c))
        .collect();
    assert_eq!(deltas.len(), 3, "{stored:?}");
    println!(
        "whole page: {} bytes stored; edits: {:?}",
        plain.1,
        deltas.iter().map(|d| d.1).collect::<Vec<_>>()
    );
    for (_, size, base) in &deltas {
        assert!(base.is_some());
        assert!(
            *size < 400,
            "a one-figure edit costs {size} bytes (whole page: {})",
            plain.1
        );
    }
    // Every body reads back byte for byte, and the archive verifies.
    for (n, v) in store.versions("w").unwrap().iter().enumerate() {
        assert_eq!(
            store.raw_response(v.response_id).unwrap().response.body,
            bodies[n]
        );
    }
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
}

/// Record a version with its own big body, at a given date.
fn version_at(store: &mut Store, n: usize, at: &str) {
    // Incompressible and unrelated to the other versions' bodies.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ (n as u64 + 1);
    let body: Vec<u8> = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let page = Page {
        title: Some(format!("version {n}")),
        ..Page::default()
    };
    let r = resp(&body);
    store
        .record(&CheckRecord {
            checked_at: at,
            duration_ms: 5,
            ..rec("w", "http://x/", Some(&r), Some(NewVersion::Page(&page)))
        })
        .unwrap();
}

#[test]
fn keep_days_prunes_old_versions_but_never_the_first_or_the_latest() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let now = chrono::Utc::now();
    let ago = |d: i64| {
        (now - chrono::Duration::days(d)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    // The sixth is old too (a clock set back): the latest stays anyway.
    for (n, days) in [400, 300, 200, 20, 10, 400].into_iter().enumerate() {
        version_at(&mut store, n, &ago(days));
    }
    let p = store.prune("w", None, Some(30), now).unwrap();
    assert_eq!(p.versions, 2, "{p:?}");
    assert_eq!(p.responses, 2);
    let left: Vec<i64> = store
        .versions("w")
        .unwrap()
        .iter()
        .map(|v| v.number)
        .collect();
    assert_eq!(left, [1, 4, 5, 6]);
    assert_eq!(
        store
            .pruned("w")
            .unwrap()
            .iter()
            .map(|p| p.0)
            .collect::<Vec<_>>(),
        [2, 3]
    );
    assert!(store.verify().unwrap().is_empty(), "{:?}", store.verify());
    for v in store.versions("w").unwrap() {
        assert!(store.raw_response(v.response_id).is_ok());
        assert!(store.page(&v).unwrap().is_some());
    }
    // Pruning again changes nothing; no policy, nothing at all.
    assert_eq!(
        store.prune("w", None, Some(30), now).unwrap(),
        Pruned::default()
    );
    assert_eq!(
        store.prune("w", None, None, now).unwrap(),
        Pruned::default()
    );
}

#[test]
fn gc_gives_space_back_without_rewriting_a_new_archive() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.db");
    let mut store = Store::open(&path).unwrap();
    let auto: i64 = store
        .conn
        .pragma_query_value(None, "auto_vacuum", |r| r.get(0))
        .unwrap();
    assert_eq!(auto, 2, "new archives vacuum incrementally");
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    for n in 0..40 {
        version_at(&mut store, n, &now);
    }
    let before = store.gc(false).unwrap();
    assert!(!before.rewrote);
    let p = store.prune("w", Some(2), None, chrono::Utc::now()).unwrap();
    assert_eq!(p.versions, 37);
    let after = store.gc(false).unwrap();
    assert!(!after.rewrote);
    assert!(
        after.bytes_after * 2 < after.bytes_before,
        "{} → {}",
        after.bytes_before,
        after.bytes_after
    );
    assert!(store.verify().unwrap().is_empty());

    // An archive made before incremental vacuuming: rewritten once.
    let old = dir.path().join("old.db");
    {
        let c = Connection::open(&old).unwrap();
        c.execute_batch("CREATE TABLE t (x)").unwrap();
    }
    let mut store = Store::open(&old).unwrap();
    assert!(store.gc(false).unwrap().rewrote);
    assert!(!store.gc(false).unwrap().rewrote);
    // Asked to, it rewrites the whole file, and stays incremental.
    assert!(store.gc(true).unwrap().rewrote);
    assert!(!store.gc(false).unwrap().rewrote);
}

#[test]
fn an_archive_from_before_the_blob_table_rebuild_migrates_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &schema::MIGRATIONS[..11] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 11).unwrap();
        let put =
            |bytes: &[u8]| {
                let hash = sha256_hex(bytes);
                conn.execute(
                "INSERT INTO blobs (hash, size, codec, data, refs) VALUES (?1, ?2, 'zstd', ?3, 1)",
                params![hash, bytes.len() as i64, zstd::bulk::compress(bytes, 3).unwrap()],
            )
            .unwrap();
                hash
            };
        let headers = put(b"content-type: text/html\r\n");
        let body = put(b"<p>kept across the migration</p>");
        let page = put(&serde_json::to_vec(&Page::default()).unwrap());
        conn.execute_batch(&format!(
            "INSERT INTO watches (id, name, url, created_at) VALUES (1, 'w', 'http://x/', '2026-01-01T00:00:00Z');
             INSERT INTO responses (id, watch_id, fetched_at, requested_url, final_url, redirects, status, headers_hash, body_hash, elapsed_ms)
               VALUES (1, 1, '2026-01-01T00:00:00Z', 'http://x/', 'http://x/', '[]', 200, '{headers}', '{body}', 1);
             INSERT INTO versions (id, watch_id, number, created_at, response_id, status, gone, page_hash, rules)
               VALUES (1, 1, 1, '2026-01-01T00:00:00.125Z', 1, 200, 0, '{page}', 'r');
             INSERT INTO checks (watch_id, checked_at, url, outcome, http_status, response_id, version_id, duration_ms) VALUES
               (1, '2026-01-01T00:00:00Z', 'http://x/', 'first_capture', 200, 1, 1, 1),
               (1, '2026-01-02T00:00:00.250Z', 'http://x/', 'unchanged', 304, NULL, 1, 1),
               (1, '2026-01-03T00:00:00.999Z', 'http://x/new', 'error', NULL, NULL, 1, 1),
               (1, '2026-01-04T00:00:00.000Z', 'http://x/', 'unchanged', 304, NULL, 1, 1);"
        ))
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    // Check rows keep their URLs, written only where they changed.
    let urls = checked_urls(&store, "w");
    assert_eq!(
        urls,
        ["http://x/", "http://x/", "http://x/new", "http://x/"]
    );
    let stored: i64 = store
        .conn
        .query_row("SELECT count(url) FROM checks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, 3);
    // Times in redline's own form become Unix milliseconds and read back as
    // the same text; another form stays text; outcomes become numbers and
    // read back as their names (migration 18).
    let checks = store.checks("w").unwrap();
    let times: Vec<(&str, &str)> = checks
        .iter()
        .map(|c| (c.checked_at.as_str(), c.outcome.as_str()))
        .collect();
    assert_eq!(
        times,
        [
            ("2026-01-01T00:00:00Z", "first_capture"),
            ("2026-01-02T00:00:00.250Z", "unchanged"),
            ("2026-01-03T00:00:00.999Z", "error"),
            ("2026-01-04T00:00:00.000Z", "unchanged"),
        ]
    );
    let kinds: Vec<(String, String)> = store
        .conn
        .prepare("SELECT typeof(checked_at), typeof(outcome) FROM checks ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        kinds,
        [
            ("text".to_string(), "integer".to_string()),
            ("integer".into(), "integer".into()),
            ("integer".into(), "integer".into()),
            ("integer".into(), "integer".into()),
        ]
    );
    assert_eq!(
        store
            .conn
            .query_row("SELECT checked_at FROM checks WHERE id = 2", [], |r| r
                .get::<_, i64>(0))
            .unwrap(),
        1_767_312_000_250
    );
    assert_eq!(
        store.last_checked("w").unwrap().as_deref(),
        Some("2026-01-04T00:00:00.000Z")
    );
    let since: Vec<String> = store
        .captures("w", Some("2026-01-02T00:00:00.250Z"))
        .unwrap()
        .into_iter()
        .map(|c| c.checked_at)
        .collect();
    assert_eq!(
        since,
        ["2026-01-02T00:00:00.250Z", "2026-01-04T00:00:00.000Z"]
    );
    // Hashes are 32 bytes, references blob ids, no redirect stored as NULL.
    let (hash_len, final_url, redirects, body_hash): (
        i64,
        Option<String>,
        Option<String>,
        Vec<u8>,
    ) = store
        .conn
        .query_row(
            "SELECT (SELECT max(length(hash)) FROM blobs), r.final_url, r.redirects, b.hash
             FROM responses r JOIN blobs b ON b.id = r.body_blob",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!((hash_len, final_url, redirects), (32, None, None));
    assert_eq!(body_hash, sha256(b"<p>kept across the migration</p>"));
    let version: i64 = store
        .conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, schema::MIGRATIONS.len());
    assert!(store.verify().unwrap().is_empty(), "{:?}", store.verify());
    let v = store.version("w", 1).unwrap().unwrap();
    assert_eq!(v.created_at, "2026-01-01T00:00:00.125Z");
    let raw = store.raw_response(v.response_id).unwrap();
    assert_eq!(raw.response.body, b"<p>kept across the migration</p>");
    assert_eq!(raw.fetched_at, "2026-01-01T00:00:00Z");
    // Its requested URL is the watch's: NULL in the row (migration 18).
    assert_eq!(raw.response.requested_url, "http://x/");
    assert_eq!(
        store
            .conn
            .query_row("SELECT count(requested_url) FROM responses", [], |r| r
                .get::<_, i64>(0))
            .unwrap(),
        0
    );
    // Its headers stay a blob, read as before.
    assert_eq!(raw.response.header("content-type"), Some("text/html"));
    let fk: i64 = store
        .conn
        .pragma_query_value(None, "foreign_keys", |r| r.get(0))
        .unwrap();
    assert_eq!(fk, 1, "references are enforced again after migrating");
    // Its page was stored (before pages were derived): it reads as stored.
    assert_eq!(store.page(&v).unwrap(), Some(Page::default()));
    // It names its rules by id (migration 19); their source is not known.
    let (kind, fingerprint, source): (String, String, Option<String>) = store
        .conn
        .query_row(
            "SELECT typeof(v.rules), s.fingerprint, s.source FROM versions v JOIN rule_sets s ON s.id = v.rules",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        (kind.as_str(), fingerprint.as_str(), source),
        ("integer", "r", None)
    );
    assert_eq!(v.rules, "r");
    let page_blob: i64 = store
        .conn
        .query_row("SELECT page_blob FROM versions WHERE id = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    // Put under the current rules, it is derived from its body instead, and
    // the stored page's blob loses its reference (for `gc` to take).
    let rules = crate::extract::Rules::default();
    store
        .rederive_pages("w", &[1], &rules, "2026-01-05T00:00:00.000Z")
        .unwrap();
    let v = store.version("w", 1).unwrap().unwrap();
    assert_eq!(v.rules, rules.fingerprint);
    assert_eq!(store.stored_page(&v).unwrap(), None);
    let derived = store.page(&v).unwrap().unwrap();
    assert_eq!(derived.text(), "kept across the migration\n");
    let refs: i64 = store
        .conn
        .query_row(
            "SELECT refs FROM blob_refs WHERE id = ?1",
            [page_blob],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(refs, 0);
    assert!(store.verify().unwrap().is_empty(), "{:?}", store.verify());
}

#[test]
fn a_derived_page_needs_its_rules_and_verify_says_when_they_are_missing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let body = b"<main><p>The Department announced $40 million today.</p></main>";
    let rules =
        crate::extract::Rules::compile(&[], &[], &["\\$\\d+ million".to_string()], false).unwrap();
    // A new version of `body`, its page extracted under `rules`.
    let record = |store: &mut Store, body: &[u8]| {
        let page = crate::extract::extract(&resp(body), &rules);
        store
            .record(&CheckRecord {
                rules: &rules,
                ..rec(
                    "w",
                    "http://x/",
                    Some(&resp(body)),
                    Some(NewVersion::Page(&page)),
                )
            })
            .unwrap();
        page
    };
    let page = record(&mut store, body);
    let v = store.version("w", 1).unwrap().unwrap();
    // Derived under the rules it was extracted with (kept as written), not
    // the default ones.
    assert_eq!(store.page(&v).unwrap(), Some(page.clone()));
    assert!(!page.text().contains("$40"), "{page:?}");
    assert!(store.verify().unwrap().is_empty());
    // Rules lost (a damaged archive): reading the page says so, and so
    // does verify.
    store
        .conn
        .execute("UPDATE rule_sets SET source = NULL", [])
        .unwrap();
    let err = store.page(&v).unwrap_err().to_string();
    assert!(
        err.contains("version 1") && err.contains(&rules.fingerprint),
        "{err}"
    );
    let problems = store.verify().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("version 1 (w)") && problems[0].contains("missing"),
        "{problems:?}"
    );
    // A version recorded under those rules keeps them again (as for rules
    // named by versions from before migration 19), for both versions.
    record(
        &mut store,
        b"<main><p>The Department announced $45 million today.</p></main>",
    );
    assert_eq!(store.page(&v).unwrap(), Some(page));
    assert!(store.verify().unwrap().is_empty());
    let sets: i64 = store
        .conn
        .query_row("SELECT count(*) FROM rule_sets", [], |r| r.get(0))
        .unwrap();
    assert_eq!(sets, 1);
}

#[test]
fn a_body_that_looks_like_a_zstd_dictionary_is_still_just_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    // The zstd dictionary magic number, then page bytes: as a base for the
    // next version it must be taken as raw content, not parsed.
    let mut first = vec![0x37, 0xa4, 0x30, 0xec];
    first.extend_from_slice(&site_page(1, 0));
    let mut second = first.clone();
    second.extend_from_slice(b"<p>A paragraph added at the end.</p>");
    let page = Page::default();
    record(&mut store, &resp(&first), Some(&page));
    record(&mut store, &resp(&second), Some(&page));
    let id = blob_id(&store, &second);
    assert_eq!(read_blob_uncached(&store.conn, id).unwrap(), second);
    let codec: i64 = store
        .conn
        .query_row("SELECT codec FROM blobs WHERE id = ?1", [id], |r| r.get(0))
        .unwrap();
    assert_eq!(codec, ZSTD_DICT, "compressed against the first body");
    assert!(store.verify().unwrap().is_empty(), "{:?}", store.verify());
}

#[test]
fn verify_checks_the_reference_counts_kept_apart_from_the_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let page = Page::default();
    record(&mut store, &resp(b"one body"), Some(&page));
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
    let body = blob_id(&store, b"one body");
    // A count that no longer matches the references.
    store
        .conn
        .execute("UPDATE blob_refs SET refs = 5 WHERE id = ?1", [body])
        .unwrap();
    let problems = store.verify().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("reference count 5, but 1 references (body of response"),
        "{problems:?}"
    );
    // A count row left behind by a blob that is gone.
    store
        .conn
        .execute("UPDATE blob_refs SET refs = 1 WHERE id = ?1", [body])
        .unwrap();
    store
        .conn
        .execute_batch("PRAGMA foreign_keys = OFF; INSERT INTO blob_refs (id, refs) VALUES (999, 1); PRAGMA foreign_keys = ON;")
        .unwrap();
    assert_eq!(
        store.verify().unwrap(),
        vec!["1 reference count(s) of missing blobs".to_string()]
    );
}

#[test]
fn volatile_rules_come_oldest_first_then_by_rule() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    record(&mut store, &resp(b"<p>x</p>"), Some(&Page::default()));
    let exact = |t: &str| {
        (
            crate::volatile::VolatileRule::Exact { text: t.into() },
            String::new(),
        )
    };
    store
        .add_volatile_rules("w", &[exact("a")], "2026-11-29T12:00:00.000Z")
        .unwrap();
    store
        .add_volatile_rules("w", &[exact("z"), exact("m")], "2026-11-29T11:00:00.000Z")
        .unwrap();
    let got: Vec<String> = store
        .volatile_rules("w")
        .unwrap()
        .into_iter()
        .map(|l| match l.rule {
            crate::volatile::VolatileRule::Exact { text } => text,
            other => format!("{other:?}"),
        })
        .collect();
    // (the table keeps them by rule: "a" first)
    assert_eq!(got, ["m", "z", "a"]);
    assert!(store.volatile_rules("nobody").unwrap().is_empty());
}

#[test]
fn pruning_a_response_whose_headers_and_body_are_one_blob_drops_both_references() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let at = "2020-01-01T00:00:00.000Z";
    version_at(&mut store, 0, at);
    // A body that is, byte for byte, the response's own headers, in a row
    // from before migration 18 (headers as a blob: here the same blob).
    let r = resp(b"");
    let r = Response {
        body: format_headers(&r.headers),
        ..r
    };
    let page = Page {
        title: Some("headers".into()),
        ..Page::default()
    };
    store
        .record(&CheckRecord {
            checked_at: at,
            ..rec("w", "http://x/", Some(&r), Some(NewVersion::Page(&page)))
        })
        .unwrap();
    store
        .conn
        .execute_batch(
            "UPDATE blob_refs SET refs = refs + 1
               WHERE id = (SELECT body_blob FROM responses ORDER BY id DESC LIMIT 1);
             UPDATE responses SET headers = NULL, headers_blob = body_blob
               WHERE id = (SELECT max(id) FROM responses);",
        )
        .unwrap();
    let v = store.version("w", 1).unwrap().unwrap();
    assert_eq!(
        store.raw_response(v.response_id).unwrap().response.headers,
        r.headers
    );
    version_at(&mut store, 2, at);
    version_at(&mut store, 3, at);
    assert!(store.verify().unwrap().is_empty(), "{:?}", store.verify());
    let p = store.prune("w", Some(2), None, chrono::Utc::now()).unwrap();
    assert_eq!(p.versions, 1, "{p:?}");
    // `verify` counts every reference: the blob lost exactly two.
    assert!(store.verify().unwrap().is_empty(), "{:?}", store.verify());
}

#[test]
fn times_in_redlines_own_form_are_stored_as_milliseconds_and_read_back_exactly() {
    for text in [
        "2026-12-04T13:36:25.463Z",
        "1970-01-01T00:00:00.000Z",
        "1999-12-31T23:59:59.999Z",
        "2096-02-29T12:00:00.001Z",
    ] {
        let ms = time_ms(text).unwrap_or_else(|| panic!("{text} is in redline's form"));
        assert_eq!(time_text(ms), text);
    }
    assert_eq!(time_ms("1970-01-01T00:00:01.500Z"), Some(1500));
    // Other forms of a time are kept as text: they would not read back the same.
    for text in [
        "2026-12-04T13:36:25Z",
        "2026-12-04T13:36:25.463+01:00",
        "2026-12-04T13:36:25.463123Z",
        "2026-12-04 13:36:25.463Z",
        "yesterday",
        "",
    ] {
        assert_eq!(time_ms(text), None, "{text}");
    }
    // Written through a check, read back the same, whichever form.
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    for at in ["2026-12-04T13:36:25.463Z", "2026-12-05T08:00:00+02:00"] {
        store
            .record(&CheckRecord {
                checked_at: at,
                ..rec("w", "http://x/", Some(&resp(b"same body")), None)
            })
            .unwrap();
    }
    let read: Vec<String> = store
        .checks("w")
        .unwrap()
        .into_iter()
        .map(|c| c.checked_at)
        .collect();
    assert_eq!(
        read,
        ["2026-12-04T13:36:25.463Z", "2026-12-05T08:00:00+02:00"]
    );
}

#[test]
fn verify_catches_a_damaged_byte_in_headers_kept_in_a_row() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    record(&mut store, &resp(b"<p>one</p>"), Some(&Page::default()));
    assert!(store.verify().unwrap().is_empty(), "{:?}", store.verify());
    damage_middle_byte(&store, "responses", "headers", "1", 0x20);
    assert_one_problem(&store, "headers of response 1 (w): cannot be read");
}

/// Flip bits of the middle byte of column `col` in the rows of `table`
/// matching `filter` (inside a zstd frame's content: its checksum catches it).
fn damage_middle_byte(store: &Store, table: &str, col: &str, filter: &str, bits: u8) {
    let mut data: Vec<u8> = store
        .conn
        .query_row(
            &format!("SELECT {col} FROM {table} WHERE {filter}"),
            [],
            |r| r.get(0),
        )
        .unwrap();
    let i = data.len() / 2;
    data[i] ^= bits;
    store
        .conn
        .execute(
            &format!("UPDATE {table} SET {col} = ?1 WHERE {filter}"),
            [&data],
        )
        .unwrap();
}

/// `verify` finds exactly one problem, starting so.
fn assert_one_problem(store: &Store, start: &str) {
    let problems = store.verify().unwrap();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with(start), "{problems:?}");
}

#[test]
fn headers_compress_against_the_common_headers_and_read_back_exactly() {
    let typical = b"content-type: text/html; charset=utf-8\r\netag: \"4-0\"\r\ncontent-length: 22024\r\nconnection: keep-alive\r\n";
    let z = codec::compress_fixed(codec::Fixed::Headers, typical).unwrap();
    assert!(z.len() < 45, "{} bytes", z.len());
    assert_eq!(
        codec::decompress_fixed(codec::Fixed::Headers, &z).unwrap(),
        typical
    );
    for odd in [&b""[..], b"x: \xff\x00\r\n", &[b'a'; 70_000][..]] {
        let z = codec::compress_fixed(codec::Fixed::Headers, odd).unwrap();
        assert_eq!(
            codec::decompress_fixed(codec::Fixed::Headers, &z).unwrap(),
            odd
        );
    }
    assert!(codec::decompress_fixed(codec::Fixed::Headers, b"not zstd").is_err());
}

#[test]
fn changes_are_kept_compressed_and_read_back_exactly_old_rows_too() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let before = "Funding will support training, equipment, and logistics for the mission over the coming year. (paragraph 3 of release 21)";
    let changes = [
        Change::TextEdited {
            block: 4,
            old_block: 4,
            before: before.into(),
            after: before.replace("year.", "year. The amount was revised to $45 million."),
        },
        Change::PingbackAdded(crate::model::ReaderResponse {
            id: "comment-200".into(),
            kind: crate::model::ResponseKind::Pingback,
            author: Some("A post about release 2".into()),
            url: Some("https://blog0.example/2".into()),
            date: None,
            text: "A post about release 2".into(),
        }),
    ];
    store
        .record(&CheckRecord {
            changes: &changes,
            summary: "1 block edited; 1 new pingback",
            ..rec(
                "w",
                "http://x/",
                Some(&resp(b"<p>v1</p>")),
                Some(NewVersion::Page(&Page::default())),
            )
        })
        .unwrap();
    let v = store.version("w", 1).unwrap().unwrap();
    assert_eq!(store.report_changes(&v).unwrap(), changes.to_vec());
    assert_eq!(
        store.reports(None, None, 10).unwrap()[0].changes,
        changes.to_vec()
    );
    let rows: Vec<(String, i64, i64)> = store
        .conn
        .prepare("SELECT typeof(data), length(data), seq FROM changes ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for ((kind, len, seq), c) in rows.iter().zip(&changes) {
        let json = serde_json::to_vec(c).unwrap().len() as i64;
        assert_eq!(kind, "blob", "change {seq}");
        assert!(*len * 10 < json * 7, "change {seq}: {len} bytes of {json}");
    }
    assert!(store.verify().unwrap().is_empty(), "{:?}", store.verify());
    // A row from before (the JSON as text) reads as it did.
    store
        .conn
        .execute(
            "UPDATE changes SET data = ?1 WHERE seq = 1",
            [serde_json::to_string(&changes[1]).unwrap()],
        )
        .unwrap();
    assert_eq!(store.report_changes(&v).unwrap(), changes.to_vec());
    assert!(store.verify().unwrap().is_empty(), "{:?}", store.verify());
    // A damaged byte is caught by the frame's checksum.
    damage_middle_byte(&store, "changes", "data", "seq = 0", 0x01);
    assert_one_problem(&store, "change 0 of report 1 (w): cannot be read");
    assert!(store.report_changes(&v).is_err());
}

#[test]
fn a_response_names_the_watchs_url_by_null_and_keeps_an_old_url_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let fetched = |url: &str, body: &[u8]| Response {
        requested_url: url.into(),
        final_url: url.into(),
        redirects: Vec::new(),
        ..resp(body)
    };
    let page = Page::default();
    for (url, body) in [("http://x/", "a"), ("http://y/", "b"), ("http://x/", "c")] {
        let r = fetched(url, body.as_bytes());
        store
            .record(&rec("w", url, Some(&r), Some(NewVersion::Page(&page))))
            .unwrap();
    }
    let read: Vec<(String, String)> = (1..=3)
        .map(|n| {
            let v = store.version("w", n).unwrap().unwrap();
            let raw = store.raw_response(v.response_id).unwrap().response;
            assert_eq!(
                (v.requested_url.as_str(), v.final_url.as_str()),
                (raw.requested_url.as_str(), raw.final_url.as_str())
            );
            (raw.requested_url, raw.final_url)
        })
        .collect();
    let urls = |u: &str| (u.to_string(), u.to_string());
    assert_eq!(
        read,
        [urls("http://x/"), urls("http://y/"), urls("http://x/")]
    );
    let stored: Vec<(Option<String>, Option<String>)> = store
        .conn
        .prepare("SELECT requested_url, final_url FROM responses ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        stored,
        [
            (Some("http://x/".to_string()), None),
            (Some("http://y/".to_string()), None),
            (None, None),
        ]
    );
    assert!(store.verify().unwrap().is_empty(), "{:?}", store.verify());
}

#[test]
fn a_small_patch_is_kept_as_it_is_and_a_larger_one_compressed_both_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let page = Page::default();
    let first = site_page(1, 0);
    record(&mut store, &resp(&first), Some(&page));
    // One text changed (one token): a tiny patch against the version's body.
    let noise = site_page(1, 7);
    // Ten paragraphs reworded: a patch over the size kept as it is.
    let grown = String::from_utf8(first.clone())
        .unwrap()
        .replacen("announced assistance", "announced new assistance", 10)
        .into_bytes();
    for body in [&noise, &grown] {
        record(&mut store, &resp(body), None);
    }
    let codec_of = |bytes: &[u8]| -> (i64, i64) {
        store
            .conn
            .query_row(
                "SELECT codec, length(data) FROM blobs WHERE id = ?1",
                [blob_id(&store, bytes)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    };
    let (small, small_len) = codec_of(&noise);
    assert_eq!(small, RAW_PATCH, "{small_len} bytes");
    assert!(small_len as usize <= RAW_PATCH_MAX);
    let (large, large_len) = codec_of(&grown);
    assert_eq!(large, PATCH, "{large_len} bytes");
    for body in [&noise, &grown] {
        let id = blob_id(&store, body);
        assert_eq!(&read_blob_uncached(&store.conn, id).unwrap(), body);
    }
    assert!(store.verify().unwrap().is_empty(), "{:?}", store.verify());
}

#[test]
fn alerts_are_counted_by_status() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let alerts = [
        ("hook".to_string(), "k1".to_string(), "{}".to_string()),
        ("mail".to_string(), "k2".to_string(), "{}".to_string()),
    ];
    store
        .record(&CheckRecord {
            alerts: &alerts,
            ..rec("w", "http://x/", Some(&resp(b"<p>a</p>")), None)
        })
        .unwrap();
    assert_eq!(store.count_alerts("pending").unwrap(), 2);
    let first = store.alerts(Some("pending"), 10).unwrap()[0].id;
    store
        .mark_delivered(first, "2026-12-04T10:00:00.000Z")
        .unwrap();
    assert_eq!(store.count_alerts("pending").unwrap(), 1);
    assert_eq!(store.count_alerts("delivered").unwrap(), 1);
    assert_eq!(store.count_alerts("failed").unwrap(), 0);
}

#[test]
fn versions_share_their_rules_and_unshown_texts_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let texts = "Page generated at 00:00:00";
    for (watch, body) in [
        ("a", &b"<p>one 1</p>"[..]),
        ("b", b"<p>two 2</p>"),
        ("a", b"<p>three 3</p>"),
    ] {
        let page = crate::extract::extract(&resp(body), &RULES);
        store
            .record(&CheckRecord {
                unshown: Some(texts),
                ..rec(
                    watch,
                    "http://x/",
                    Some(&resp(body)),
                    Some(NewVersion::Page(&page)),
                )
            })
            .unwrap();
    }
    let count =
        |store: &Store, sql: &str| -> i64 { store.conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count(&store, "SELECT count(*) FROM versions"), 3);
    assert_eq!(count(&store, "SELECT count(*) FROM rule_sets"), 1);
    assert_eq!(count(&store, "SELECT count(*) FROM unshown_sets"), 1);
    let a = store.versions("a").unwrap();
    assert_eq!(a.len(), 2);
    assert!(
        a.iter()
            .all(|v| v.unshown.as_deref() == Some(texts) && v.rules == RULES.fingerprint)
    );
    // Learning more for one version gives it a list of its own.
    store
        .note_unshown(a[1].id, "Page generated at 00:00:00\nVisitors 0")
        .unwrap();
    assert_eq!(count(&store, "SELECT count(*) FROM unshown_sets"), 2);
    let a = store.versions("a").unwrap();
    assert_eq!(a[0].unshown.as_deref(), Some(texts));
    assert_eq!(
        a[1].unshown.as_deref(),
        Some("Page generated at 00:00:00\nVisitors 0")
    );
    // A list no version names any more goes with `gc`.
    store.note_unshown(a[1].id, texts).unwrap();
    assert_eq!(count(&store, "SELECT count(*) FROM unshown_sets"), 2);
    store.gc(false).unwrap();
    assert_eq!(count(&store, "SELECT count(*) FROM unshown_sets"), 1);
    assert_eq!(
        store.versions("a").unwrap()[1].unshown.as_deref(),
        Some(texts)
    );
}

#[test]
fn reprocess_takes_versions_under_other_rules_and_pages_stored_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("a.db")).unwrap();
    let body = b"<main><p>The Department announced new assistance today.</p></main>";
    let page = crate::extract::extract(&resp(body), &RULES);
    record(&mut store, &resp(body), Some(&page));
    // Derived under the watch's rules: nothing to do.
    assert!(store.versions_to_rederive("w", &RULES).unwrap().is_empty());
    let other = crate::extract::Rules::compile(&["main".to_string()], &[], &[], false).unwrap();
    assert_eq!(store.versions_to_rederive("w", &other).unwrap(), [1]);
    // A page stored the way archives did before migration 19.
    let json = serde_json::to_vec(&page).unwrap();
    let blob = put_hashed_blob(&store.conn, &json, &sha256(&json), Base::None, None, None).unwrap();
    store
        .conn
        .execute(
            "UPDATE versions SET page_blob = ?1 WHERE number = 1",
            [blob],
        )
        .unwrap();
    assert_eq!(store.versions_to_rederive("w", &RULES).unwrap(), [1]);
    store
        .rederive_pages("w", &[1], &RULES, "2026-11-29T11:00:00.000Z")
        .unwrap();
    assert!(store.versions_to_rederive("w", &RULES).unwrap().is_empty());
    let refs: i64 = store
        .conn
        .query_row("SELECT refs FROM blob_refs WHERE id = ?1", [blob], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(refs, 0, "the stored page is left for gc");
    let blobs = |store: &Store| -> i64 {
        store
            .conn
            .query_row("SELECT count(*) FROM blobs", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(blobs(&store), 2);
    let stats = store.gc(true).unwrap();
    assert_eq!((stats.blobs, stats.rewrote), (1, true));
    assert!(stats.bytes_after <= stats.bytes_before);
    assert_eq!(blobs(&store), 1);
    let v = store.version("w", 1).unwrap().unwrap();
    assert_eq!(store.page(&v).unwrap(), Some(page));
    assert!(store.verify().unwrap().is_empty());
    assert!(
        store
            .versions_to_rederive("nobody", &RULES)
            .unwrap()
            .is_empty()
    );
}
