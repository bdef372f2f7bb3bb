//! Numbered schema migrations. The archive's `user_version` is the number
//! of migrations applied; each runs once, in its own transaction.

pub const MIGRATIONS: &[&str] = &[
    // 1: the first archive layout.
    r#"
    CREATE TABLE blobs (
        hash  TEXT PRIMARY KEY,         -- SHA-256 (hex) of the raw content
        size  INTEGER NOT NULL,         -- raw size in bytes
        codec TEXT NOT NULL,            -- how `data` is encoded: 'zstd'
        data  BLOB NOT NULL,
        refs  INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;

    CREATE TABLE watches (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        url        TEXT NOT NULL,       -- the URL last checked
        created_at TEXT NOT NULL
    );

    -- Every distinct response: raw headers and body as blobs.
    CREATE TABLE responses (
        id            INTEGER PRIMARY KEY,
        watch_id      INTEGER NOT NULL REFERENCES watches(id),
        fetched_at    TEXT NOT NULL,
        requested_url TEXT NOT NULL,
        final_url     TEXT NOT NULL,
        redirects     TEXT NOT NULL,    -- JSON [{"url":..,"status":..}]
        status        INTEGER NOT NULL,
        headers_hash  TEXT NOT NULL REFERENCES blobs(hash),
        body_hash     TEXT NOT NULL REFERENCES blobs(hash),
        elapsed_ms    INTEGER NOT NULL
    );
    CREATE INDEX responses_watch ON responses(watch_id, id);

    -- A version: a state of the page that differs from the one before.
    CREATE TABLE versions (
        id          INTEGER PRIMARY KEY,
        watch_id    INTEGER NOT NULL REFERENCES watches(id),
        number      INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        response_id INTEGER NOT NULL REFERENCES responses(id),
        status      INTEGER NOT NULL,
        gone        INTEGER NOT NULL,   -- 1: the page answered 404/410
        page_hash   TEXT REFERENCES blobs(hash),  -- extracted Page (JSON); NULL when gone
        rules       TEXT NOT NULL,      -- fingerprint of the rules that extracted it
        UNIQUE (watch_id, number)
    );

    -- A row for every check, unchanged ones included.
    CREATE TABLE checks (
        id          INTEGER PRIMARY KEY,
        watch_id    INTEGER NOT NULL REFERENCES watches(id),
        checked_at  TEXT NOT NULL,
        url         TEXT NOT NULL,
        outcome     TEXT NOT NULL CHECK (outcome IN ('first_capture','unchanged','changed','error')),
        http_status INTEGER,
        response_id INTEGER REFERENCES responses(id),
        version_id  INTEGER REFERENCES versions(id),  -- current version after the check
        error       TEXT,
        duration_ms INTEGER NOT NULL
    );
    CREATE INDEX checks_watch ON checks(watch_id, id);

    -- What changed at a version, against the version it was compared with.
    CREATE TABLE reports (
        id              INTEGER PRIMARY KEY,
        watch_id        INTEGER NOT NULL REFERENCES watches(id),
        check_id        INTEGER NOT NULL UNIQUE REFERENCES checks(id),
        version_id      INTEGER NOT NULL REFERENCES versions(id),
        base_version_id INTEGER REFERENCES versions(id),
        created_at      TEXT NOT NULL,
        summary         TEXT NOT NULL
    );
    CREATE INDEX reports_watch ON reports(watch_id, id);

    CREATE TABLE changes (
        report_id INTEGER NOT NULL REFERENCES reports(id),
        seq       INTEGER NOT NULL,
        type      TEXT NOT NULL,
        data      TEXT NOT NULL,        -- the change's JSON form
        PRIMARY KEY (report_id, seq)
    ) WITHOUT ROWID;
    CREATE INDEX changes_type ON changes(type);
    "#,
    // 2: how much each report matters.
    r#"
    ALTER TABLE reports ADD COLUMN significance TEXT;
    "#,
    // 3: visible text learned to change on its own, per watch.
    r#"
    CREATE TABLE volatile_rules (
        watch_id   INTEGER NOT NULL REFERENCES watches(id),
        rule       TEXT NOT NULL,       -- JSON VolatileRule
        learned_at TEXT NOT NULL,
        example    TEXT NOT NULL,       -- what the two fetches showed
        PRIMARY KEY (watch_id, rule)
    ) WITHOUT ROWID;
    "#,
    // 4: pages a feed's new entries started tracking (`track_new`).
    r#"
    CREATE TABLE tracked (
        name       TEXT PRIMARY KEY,
        url        TEXT NOT NULL,
        feed       TEXT NOT NULL,       -- the feed watch's name
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 5: a report may have no version (a watch failing before its first
    // capture reports `fetch_failing`).
    r#"
    CREATE TABLE reports_new (
        id              INTEGER PRIMARY KEY,
        watch_id        INTEGER NOT NULL REFERENCES watches(id),
        check_id        INTEGER NOT NULL UNIQUE REFERENCES checks(id),
        version_id      INTEGER REFERENCES versions(id),
        base_version_id INTEGER REFERENCES versions(id),
        created_at      TEXT NOT NULL,
        summary         TEXT NOT NULL,
        significance    TEXT
    );
    INSERT INTO reports_new SELECT id, watch_id, check_id, version_id, base_version_id, created_at, summary, significance FROM reports;
    DROP INDEX reports_watch;
    DROP TABLE reports;
    ALTER TABLE reports_new RENAME TO reports;
    CREATE INDEX reports_watch ON reports(watch_id, id);
    CREATE INDEX reports_version ON reports(version_id);
    "#,
    // 6: validators of each response, for conditional requests.
    r#"
    ALTER TABLE responses ADD COLUMN etag TEXT;
    ALTER TABLE responses ADD COLUMN last_modified TEXT;
    "#,
    // 7: the outbox: alerts to send, written with the change they report.
    r#"
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        notifier        TEXT NOT NULL,
        idem_key        TEXT NOT NULL,
        watch           TEXT NOT NULL,
        check_id        INTEGER REFERENCES checks(id),
        created_at      TEXT NOT NULL,
        payload         TEXT NOT NULL,   -- the alert (JSON, schema 1)
        status          TEXT NOT NULL CHECK (status IN ('pending','delivered','failed')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error      TEXT,
        delivered_at    TEXT,
        UNIQUE (notifier, idem_key)
    );
    CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
    "#,
    // 8: which reports the user has reviewed (`redline review`).
    r#"
    ALTER TABLE reports ADD COLUMN seen INTEGER NOT NULL DEFAULT 0;
    "#,
    // 9: bodies compressed against an earlier whole body (zstd dictionary):
    // `base` is that blob, `depth` 1 for such blobs, 0 for whole ones.
    r#"
    ALTER TABLE blobs ADD COLUMN base TEXT REFERENCES blobs(hash);
    ALTER TABLE blobs ADD COLUMN depth INTEGER NOT NULL DEFAULT 0;
    "#,
    // 10: re-derivations of stored pages under new rules (`reprocess`): a
    // rule change is recorded as such, never as a page edit.
    r#"
    CREATE TABLE reprocessed (
        id         INTEGER PRIMARY KEY,
        watch_id   INTEGER NOT NULL REFERENCES watches(id),
        at         TEXT NOT NULL,
        from_rules TEXT NOT NULL,
        to_rules   TEXT NOT NULL,
        versions   INTEGER NOT NULL
    );
    "#,
    // 11: imported captures (`import --warc`) name where they came from;
    // versions removed by retention leave a trace.
    r#"
    ALTER TABLE responses ADD COLUMN source TEXT;  -- NULL: fetched by redline
    CREATE TABLE pruned (
        watch_id   INTEGER NOT NULL REFERENCES watches(id),
        number     INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        pruned_at  TEXT NOT NULL,
        PRIMARY KEY (watch_id, number)
    ) WITHOUT ROWID;
    CREATE INDEX checks_version ON checks(version_id);
    CREATE INDEX checks_response ON checks(response_id);
    CREATE INDEX blobs_unreferenced ON blobs(refs) WHERE refs <= 0;
    "#,
    // 12: blobs in a rowid table. In a WITHOUT ROWID table every blob over
    // about 1 KB spilled into overflow pages of its own, so a 1.5 KB delta
    // took 4 KB or more of file; rowid tables keep small blobs together on
    // shared pages. Data last, so the other columns are read without it.
    r#"
    CREATE TABLE blobs_new (
        id    INTEGER PRIMARY KEY,
        hash  TEXT NOT NULL UNIQUE,     -- SHA-256 (hex) of the raw content
        size  INTEGER NOT NULL,         -- raw size in bytes
        codec TEXT NOT NULL,            -- 'zstd', or 'zstd-dict' against `base`
        refs  INTEGER NOT NULL DEFAULT 0,
        base  TEXT REFERENCES blobs(hash),
        depth INTEGER NOT NULL DEFAULT 0,
        data  BLOB NOT NULL
    );
    INSERT INTO blobs_new (hash, size, codec, refs, base, depth, data)
        SELECT hash, size, codec, refs, base, depth, data FROM blobs;
    DROP INDEX blobs_unreferenced;
    DROP TABLE blobs;
    ALTER TABLE blobs_new RENAME TO blobs;
    CREATE INDEX blobs_unreferenced ON blobs(refs) WHERE refs <= 0;
    "#,
    // 13: fewer indexes to update on every check: retention finds a
    // watch's checks through checks_watch.
    r#"
    DROP INDEX checks_version;
    DROP INDEX checks_response;
    "#,
    // 14: a check's URL is written only when it differs from the watch's
    // previous check (NULL: the same URL as the check before), which was
    // a third of every check row.
    r#"
    CREATE TABLE checks_new (
        id          INTEGER PRIMARY KEY,
        watch_id    INTEGER NOT NULL REFERENCES watches(id),
        checked_at  TEXT NOT NULL,
        url         TEXT,               -- NULL: the URL of the check before
        outcome     TEXT NOT NULL CHECK (outcome IN ('first_capture','unchanged','changed','error')),
        http_status INTEGER,
        response_id INTEGER REFERENCES responses(id),
        version_id  INTEGER REFERENCES versions(id),  -- current version after the check
        error       TEXT,
        duration_ms INTEGER NOT NULL
    );
    INSERT INTO checks_new (id, watch_id, checked_at, url, outcome, http_status, response_id, version_id, error, duration_ms)
        SELECT id, watch_id, checked_at,
               CASE WHEN url IS lag(url) OVER (PARTITION BY watch_id ORDER BY id) THEN NULL ELSE url END,
               outcome, http_status, response_id, version_id, error, duration_ms
        FROM checks;
    DROP INDEX checks_watch;
    DROP TABLE checks;
    ALTER TABLE checks_new RENAME TO checks;
    CREATE INDEX checks_watch ON checks(watch_id, id);
    "#,
    // 15: compact rows. A blob's SHA-256 is kept once, as 32 bytes (it was
    // 64 hex characters, written again by every reference and its index);
    // responses, versions and deltas refer to blobs by id; the codec is a
    // number. A response's final URL and redirects are NULL when there was
    // no redirect.
    r#"
    CREATE TABLE blobs_new (
        id    INTEGER PRIMARY KEY,
        hash  BLOB NOT NULL UNIQUE,     -- SHA-256 of the raw content (32 bytes)
        size  INTEGER NOT NULL,         -- raw size in bytes
        codec INTEGER NOT NULL,         -- 0 zstd; 1 zstd with `base` as dictionary; 2 patch against `base`
        refs  INTEGER NOT NULL DEFAULT 0,
        base  INTEGER REFERENCES blobs_new(id),
        depth INTEGER NOT NULL DEFAULT 0,
        data  BLOB NOT NULL
    );
    INSERT INTO blobs_new (id, hash, size, codec, refs, base, depth, data)
        SELECT b.id, unhex(b.hash), b.size,
               CASE b.codec WHEN 'zstd' THEN 0 WHEN 'zstd-dict' THEN 1 WHEN 'patch' THEN 2 END,
               b.refs, (SELECT x.id FROM blobs x WHERE x.hash = b.base), b.depth, b.data
        FROM blobs b;
    CREATE TABLE responses_new (
        id            INTEGER PRIMARY KEY,
        watch_id      INTEGER NOT NULL REFERENCES watches(id),
        fetched_at    TEXT NOT NULL,
        requested_url TEXT NOT NULL,
        final_url     TEXT,             -- NULL: the requested URL
        redirects     TEXT,             -- JSON [{"url":..,"status":..}]; NULL: none
        status        INTEGER NOT NULL,
        headers_blob  INTEGER NOT NULL REFERENCES blobs(id),
        body_blob     INTEGER NOT NULL REFERENCES blobs(id),
        elapsed_ms    INTEGER NOT NULL,
        etag          TEXT,
        last_modified TEXT,
        source        TEXT              -- NULL: fetched by redline
    );
    INSERT INTO responses_new (id, watch_id, fetched_at, requested_url, final_url, redirects, status,
                               headers_blob, body_blob, elapsed_ms, etag, last_modified, source)
        SELECT r.id, r.watch_id, r.fetched_at, r.requested_url, NULLIF(r.final_url, r.requested_url),
               NULLIF(r.redirects, '[]'), r.status,
               (SELECT id FROM blobs WHERE hash = r.headers_hash), (SELECT id FROM blobs WHERE hash = r.body_hash),
               r.elapsed_ms, r.etag, r.last_modified, r.source
        FROM responses r;
    CREATE TABLE versions_new (
        id          INTEGER PRIMARY KEY,
        watch_id    INTEGER NOT NULL REFERENCES watches(id),
        number      INTEGER NOT NULL,
        created_at  TEXT NOT NULL,
        response_id INTEGER NOT NULL REFERENCES responses(id),
        status      INTEGER NOT NULL,
        gone        INTEGER NOT NULL,   -- 1: the page answered 404/410
        page_blob   INTEGER REFERENCES blobs(id),  -- extracted Page (JSON); NULL when gone
        rules       TEXT NOT NULL,      -- fingerprint of the rules that extracted it
        UNIQUE (watch_id, number)
    );
    INSERT INTO versions_new (id, watch_id, number, created_at, response_id, status, gone, page_blob, rules)
        SELECT v.id, v.watch_id, v.number, v.created_at, v.response_id, v.status, v.gone,
               (SELECT id FROM blobs WHERE hash = v.page_hash), v.rules
        FROM versions v;
    DROP INDEX blobs_unreferenced;
    DROP INDEX responses_watch;
    DROP TABLE versions;
    DROP TABLE responses;
    DROP TABLE blobs;
    ALTER TABLE blobs_new RENAME TO blobs;
    ALTER TABLE responses_new RENAME TO responses;
    ALTER TABLE versions_new RENAME TO versions;
    CREATE INDEX blobs_unreferenced ON blobs(refs) WHERE refs <= 0;
    CREATE INDEX responses_watch ON responses(watch_id, id);
    "#,
    r#"
    -- Reference counts apart from the blobs: a check adds a reference to
    -- the body its noise patch is based on, which rewrote that blob's page
    -- (blob data is stored in the row) in every group commit.
    CREATE TABLE blob_refs (
        id   INTEGER PRIMARY KEY REFERENCES blobs(id),
        refs INTEGER NOT NULL
    );
    INSERT INTO blob_refs (id, refs) SELECT id, refs FROM blobs;
    DROP INDEX blobs_unreferenced;
    ALTER TABLE blobs DROP COLUMN refs;
    CREATE INDEX blob_refs_unreferenced ON blob_refs(refs) WHERE refs <= 0;
    "#,
    r#"
    -- Texts of the version's body (digits masked) its stored page does not
    -- show, learned by the cheap path (a newline between two): the next
    -- check need not read the page to know. NULL: none learned yet.
    ALTER TABLE versions ADD COLUMN unshown TEXT;
    "#,
    // 18: narrower rows. The times of checks, responses and versions are
    // Unix milliseconds when they are in redline's own form (RFC 3339, UTC,
    // milliseconds), which reads back as the same text; any other text is
    // kept as it was. A check's outcome is a number. The blobs' hash index
    // holds the first 8 bytes of each hash (the lookup compares the whole
    // hash in the row), not a second copy of all 32. A response's headers
    // are kept in its row (`headers`: zstd against a fixed dictionary of
    // common headers, with a checksum), not as a blob with its own hash,
    // index entry and reference count; rows from before keep their blob.
    // A response's requested URL is NULL when it is the watch's URL
    // (`watches.url`, the URL last checked); when a watch's URL changes,
    // the responses that named it by NULL get it written out first.
    r#"
    CREATE TABLE checks_new (
        id          INTEGER PRIMARY KEY,
        watch_id    INTEGER NOT NULL REFERENCES watches(id),
        checked_at  INTEGER NOT NULL,   -- Unix ms (or RFC 3339 text not in redline's form)
        url         TEXT,               -- NULL: the URL of the check before
        outcome     INTEGER NOT NULL CHECK (outcome IN (0, 1, 2, 3)),  -- first_capture, unchanged, changed, error
        http_status INTEGER,
        response_id INTEGER REFERENCES responses(id),
        version_id  INTEGER REFERENCES versions(id),  -- current version after the check
        error       TEXT,
        duration_ms INTEGER NOT NULL
    );
    INSERT INTO checks_new (id, watch_id, checked_at, url, outcome, http_status, response_id, version_id, error, duration_ms)
        SELECT id, watch_id,
               CASE WHEN strftime('%Y-%m-%dT%H:%M:%fZ', checked_at) IS checked_at
                    THEN CAST(round((julianday(checked_at) - 2440587.5) * 86400000.0) AS INTEGER)
                    ELSE checked_at END,
               url,
               CASE outcome WHEN 'first_capture' THEN 0 WHEN 'unchanged' THEN 1 WHEN 'changed' THEN 2 ELSE 3 END,
               http_status, response_id, version_id, error, duration_ms
        FROM checks;
    CREATE TABLE responses_new (
        id            INTEGER PRIMARY KEY,
        watch_id      INTEGER NOT NULL REFERENCES watches(id),
        fetched_at    INTEGER NOT NULL, -- Unix ms (or RFC 3339 text not in redline's form)
        requested_url TEXT,             -- NULL: the watch's URL (watches.url)
        final_url     TEXT,             -- NULL: the requested URL
        redirects     TEXT,             -- JSON [{"url":..,"status":..}]; NULL: none
        status        INTEGER NOT NULL,
        headers_blob  INTEGER REFERENCES blobs(id),  -- NULL: `headers` holds them
        body_blob     INTEGER NOT NULL REFERENCES blobs(id),
        elapsed_ms    INTEGER NOT NULL,
        etag          TEXT,
        last_modified TEXT,
        source        TEXT,             -- NULL: fetched by redline
        headers       BLOB,             -- zstd, against the fixed headers dictionary
        CHECK ((headers IS NULL) <> (headers_blob IS NULL))
    );
    INSERT INTO responses_new (id, watch_id, fetched_at, requested_url, final_url, redirects, status,
                               headers_blob, body_blob, elapsed_ms, etag, last_modified, source)
        SELECT r.id, r.watch_id,
               CASE WHEN strftime('%Y-%m-%dT%H:%M:%fZ', r.fetched_at) IS r.fetched_at
                    THEN CAST(round((julianday(r.fetched_at) - 2440587.5) * 86400000.0) AS INTEGER)
                    ELSE r.fetched_at END,
               NULLIF(r.requested_url, w.url), r.final_url, r.redirects, r.status,
               r.headers_blob, r.body_blob, r.elapsed_ms, r.etag, r.last_modified, r.source
        FROM responses r JOIN watches w ON w.id = r.watch_id;
    CREATE TABLE versions_new (
        id          INTEGER PRIMARY KEY,
        watch_id    INTEGER NOT NULL REFERENCES watches(id),
        number      INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,   -- Unix ms (or RFC 3339 text not in redline's form)
        response_id INTEGER NOT NULL REFERENCES responses(id),
        status      INTEGER NOT NULL,
        gone        INTEGER NOT NULL,   -- 1: the page answered 404/410
        page_blob   INTEGER REFERENCES blobs(id),  -- extracted Page (JSON); NULL when gone
        rules       TEXT NOT NULL,      -- fingerprint of the rules that extracted it
        unshown     TEXT,               -- texts of the body the page does not show
        UNIQUE (watch_id, number)
    );
    INSERT INTO versions_new (id, watch_id, number, created_at, response_id, status, gone, page_blob, rules, unshown)
        SELECT id, watch_id, number,
               CASE WHEN strftime('%Y-%m-%dT%H:%M:%fZ', created_at) IS created_at
                    THEN CAST(round((julianday(created_at) - 2440587.5) * 86400000.0) AS INTEGER)
                    ELSE created_at END,
               response_id, status, gone, page_blob, rules, unshown
        FROM versions;
    CREATE TABLE blobs_new (
        id    INTEGER PRIMARY KEY,
        hash  BLOB NOT NULL,            -- SHA-256 of the raw content (32 bytes), unique
        size  INTEGER NOT NULL,         -- raw size in bytes
        codec INTEGER NOT NULL,         -- 0 zstd; 1 zstd with `base` as dictionary; 2 patch against `base` (zstd); 3 the same, as it is
        base  INTEGER REFERENCES blobs_new(id),
        depth INTEGER NOT NULL DEFAULT 0,
        data  BLOB NOT NULL
    );
    INSERT INTO blobs_new (id, hash, size, codec, base, depth, data)
        SELECT id, hash, size, codec, base, depth, data FROM blobs;
    DROP INDEX checks_watch;
    DROP INDEX responses_watch;
    DROP TABLE checks;
    DROP TABLE versions;
    DROP TABLE responses;
    DROP TABLE blobs;
    ALTER TABLE blobs_new RENAME TO blobs;
    ALTER TABLE responses_new RENAME TO responses;
    ALTER TABLE versions_new RENAME TO versions;
    ALTER TABLE checks_new RENAME TO checks;
    CREATE INDEX blobs_hash ON blobs(substr(hash, 1, 8));
    CREATE INDEX responses_watch ON responses(watch_id, id);
    CREATE INDEX checks_watch ON checks(watch_id, id);
    "#,
    // 19: pages are derived from the raw bodies, not stored: a new version
    // has no page blob (`page_blob` NULL and `gone` 0), and its page is
    // extracted again from its response under the rules it names, kept as
    // written in `rule_sets` (versions from before keep their stored pages;
    // their rules' source is not known). A version names its rules and the
    // texts its page does not show by id: most versions of a site share
    // both, which were a third of each version's row.
    r#"
    CREATE TABLE rule_sets (
        id          INTEGER PRIMARY KEY,
        fingerprint TEXT NOT NULL UNIQUE,
        source      TEXT               -- JSON [select, ignore, ignore_text, feed]; NULL: not kept
    );
    INSERT INTO rule_sets (fingerprint) SELECT DISTINCT rules FROM versions ORDER BY rules;
    CREATE TABLE unshown_sets (
        id    INTEGER PRIMARY KEY,
        texts TEXT NOT NULL UNIQUE     -- digits masked, one per line
    );
    INSERT INTO unshown_sets (texts)
        SELECT DISTINCT unshown FROM versions WHERE unshown IS NOT NULL ORDER BY unshown;
    CREATE TABLE versions_new (
        id          INTEGER PRIMARY KEY,
        watch_id    INTEGER NOT NULL REFERENCES watches(id),
        number      INTEGER NOT NULL,
        created_at  INTEGER NOT NULL,   -- Unix ms (or RFC 3339 text not in redline's form)
        response_id INTEGER NOT NULL REFERENCES responses(id),
        status      INTEGER NOT NULL,
        gone        INTEGER NOT NULL,   -- 1: the page answered 404/410
        page_blob   INTEGER REFERENCES blobs(id),  -- a page stored before 19; NULL: derived (or gone)
        rules       INTEGER NOT NULL REFERENCES rule_sets(id),
        unshown     INTEGER REFERENCES unshown_sets(id),  -- texts of the body the page does not show
        UNIQUE (watch_id, number)
    );
    INSERT INTO versions_new (id, watch_id, number, created_at, response_id, status, gone, page_blob, rules, unshown)
        SELECT v.id, v.watch_id, v.number, v.created_at, v.response_id, v.status, v.gone, v.page_blob,
               (SELECT s.id FROM rule_sets s WHERE s.fingerprint = v.rules),
               (SELECT u.id FROM unshown_sets u WHERE u.texts = v.unshown)
        FROM versions v;
    DROP TABLE versions;
    ALTER TABLE versions_new RENAME TO versions;
    "#,
];
