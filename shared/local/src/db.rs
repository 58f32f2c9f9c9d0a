//! The SQLite file: opened in WAL mode, migrated on start, used from async code off the runtime.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, TransactionBehavior};
use telmail_core::error::StoreError;

/// Ordered schema migrations; `PRAGMA user_version` records how many were applied.
///
/// Instants used for ordering or comparison are INTEGER unix microseconds (queue times are unix
/// milliseconds); full records are JSON, with only the columns queries need beside them.
const MIGRATIONS: &[&str] = &[
    // 1: residents: topics, subscribers, their choices, anonymous monthly counters, staff.
    "CREATE TABLE topics (
        slug TEXT PRIMARY KEY,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL,
        kind TEXT NOT NULL,
        ends_on TEXT,
        active INTEGER NOT NULL
     );
     CREATE TABLE subscribers (
        id TEXT PRIMARY KEY,
        email TEXT UNIQUE,
        phone TEXT UNIQUE,
        status TEXT NOT NULL,
        pending_expires_at INTEGER,
        profile TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
     );
     CREATE INDEX subscribers_pending ON subscribers (pending_expires_at) WHERE pending_expires_at IS NOT NULL;
     CREATE INDEX subscribers_newest ON subscribers (created_at);
     -- shard_key = SubscriberId::shard_key(): a fan-out shard is `shard_key % shards`. The index
     -- covers the fan-out scan (topic, channel, id order, shard filter) without reading the rows.
     CREATE TABLE subscriptions (
        subscriber_id TEXT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        channel TEXT NOT NULL,
        shard_key INTEGER NOT NULL,
        PRIMARY KEY (subscriber_id, topic, channel)
     ) WITHOUT ROWID;
     CREATE INDEX subscriptions_by_topic ON subscriptions (topic, channel, subscriber_id, shard_key);
     CREATE TABLE monthly_counters (
        month TEXT NOT NULL,
        counter TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (month, counter)
     ) WITHOUT ROWID;
     CREATE TABLE staff_accounts (
        username TEXT PRIMARY KEY,
        account TEXT NOT NULL
     );
     CREATE TABLE staff_sessions (
        digest TEXT PRIMARY KEY,
        session TEXT NOT NULL,
        expires_at INTEGER NOT NULL
     );
     CREATE INDEX staff_sessions_expiry ON staff_sessions (expires_at);",
    // 2: sending: campaigns and their audit trail and counters, deliveries, suppressions, and
    // the durable job queue.
    "CREATE TABLE campaigns (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        send_at INTEGER,
        campaign TEXT NOT NULL
     );
     CREATE INDEX campaigns_newest ON campaigns (created_at);
     CREATE INDEX campaigns_by_status ON campaigns (status, created_at);
     CREATE INDEX campaigns_due ON campaigns (send_at) WHERE status = 'scheduled';
     CREATE TABLE campaign_events (
        id INTEGER PRIMARY KEY,
        campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
        event TEXT NOT NULL
     );
     CREATE INDEX campaign_events_by_campaign ON campaign_events (campaign_id, id);
     -- Counters live apart from the campaign row: they change once per batch, and updating
     -- them there would rewrite the campaign's JSON (up to 100 kB of email) every time.
     CREATE TABLE campaign_progress (
        campaign_id TEXT PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
        email_targeted INTEGER NOT NULL DEFAULT 0,
        email_sent INTEGER NOT NULL DEFAULT 0,
        email_failed INTEGER NOT NULL DEFAULT 0,
        email_suppressed INTEGER NOT NULL DEFAULT 0,
        sms_targeted INTEGER NOT NULL DEFAULT 0,
        sms_sent INTEGER NOT NULL DEFAULT 0,
        sms_failed INTEGER NOT NULL DEFAULT 0,
        sms_suppressed INTEGER NOT NULL DEFAULT 0,
        sms_segments INTEGER NOT NULL DEFAULT 0,
        cost_ten_thousandths INTEGER NOT NULL DEFAULT 0
     ) WITHOUT ROWID;
     CREATE TABLE campaign_shards_done (
        campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
        shard INTEGER NOT NULL,
        PRIMARY KEY (campaign_id, shard)
     ) WITHOUT ROWID;
     -- Unique per (campaign, subscriber, channel), but stored in fan-out order (seq): delivery
     -- jobs are consumed in that order, so claiming and finishing a batch rewrites a few
     -- adjacent pages instead of one page per row (measured: about half the time of a table
     -- clustered on the random subscriber ids).
     CREATE TABLE deliveries (
        seq INTEGER PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        subscriber_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        provider_id TEXT,
        error TEXT,
        segments INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL,
        UNIQUE (campaign_id, subscriber_id, channel)
     );
     CREATE TABLE suppressions (
        address TEXT PRIMARY KEY,
        reason TEXT NOT NULL,
        at INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX suppressions_newest ON suppressions (at);
     -- available_at is the visibility time: a receive pushes it to the end of the lease, so
     -- one index serves both new and expired-lease jobs.
     CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL,
        payload TEXT NOT NULL,
        available_at INTEGER NOT NULL,
        receives INTEGER NOT NULL DEFAULT 0,
        leased_until INTEGER
     );
     CREATE INDEX jobs_visible ON jobs (queue, available_at);
     CREATE TABLE dead_jobs (
        id INTEGER PRIMARY KEY,
        queue TEXT NOT NULL,
        payload TEXT NOT NULL,
        error TEXT NOT NULL,
        at INTEGER NOT NULL
     );",
    // 3: allowances counted in the store (sign-ups per client, code SMS, wrong codes).
    "CREATE TABLE quotas (
        key TEXT PRIMARY KEY,
        used INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX quotas_expiry ON quotas (expires_at);",
    // 4: a campaign's version, compared on every write (the JSON keeps it too).
    "ALTER TABLE campaigns ADD COLUMN version INTEGER NOT NULL DEFAULT 1;",
    // 5: urgent jobs first (priority 1), ordinary ones after.
    "ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
     CREATE INDEX jobs_urgent_first ON jobs (queue, priority, available_at);",
    // 6: the weather relay's alerts in force (one per domain and phenomenon, at the highest
    // colour relayed), and documents kept whole by name (templates, the feed's state, each
    // month's audience).
    "CREATE TABLE weather_alerts (
        domain TEXT NOT NULL,
        phenomenon INTEGER NOT NULL,
        colour INTEGER NOT NULL,
        campaign_id TEXT NOT NULL,
        alert TEXT NOT NULL,
        PRIMARY KEY (domain, phenomenon)
     ) WITHOUT ROWID;
     CREATE TABLE documents (
        name TEXT PRIMARY KEY,
        body TEXT NOT NULL
     ) WITHOUT ROWID;",
    // 7: each channel's next free sending slot (unix microseconds), shared by every sender.
    "CREATE TABLE pacing (
        channel TEXT PRIMARY KEY,
        next_slot INTEGER NOT NULL
     ) WITHOUT ROWID;",
    // 8: the fan-out slices done (a slice job delivered twice runs once); bounces and
    // complaints reported for a campaign's emails.
    "ALTER TABLE campaign_progress ADD COLUMN email_bounces INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE campaign_progress ADD COLUMN email_complaints INTEGER NOT NULL DEFAULT 0;
     CREATE TABLE fanout_slices_done (
        campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
        shard INTEGER NOT NULL,
        slice INTEGER NOT NULL,
        PRIMARY KEY (campaign_id, shard, slice)
     ) WITHOUT ROWID;",
    // 9: the urgent-first index in the order receiving reads it (priority descending, then
    // oldest), so a receive reads its few rows instead of sorting every waiting job: with a
    // million jobs queued the sort cost 0.2 s per receive.
    "DROP INDEX jobs_urgent_first;
     CREATE INDEX jobs_urgent_first ON jobs (queue, priority DESC, available_at);",
    // 10: big-file exports and imports, each a JSON body saved step by step (its version is
    // its step).
    "CREATE TABLE file_jobs (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX file_jobs_newest ON file_jobs (created_at DESC);",
    // 11: the departments' proposals, each a JSON body with its version.
    "CREATE TABLE proposals (
        id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX proposals_newest ON proposals (created_at DESC);",
    // 12: every receive and count reads `jobs_urgent_first` (queue first); `jobs_visible` was
    // only written — three more B-tree writes per job queued, received and acknowledged.
    "DROP INDEX jobs_visible;",
    // 13: when a campaign's sending last moved on (the repair leaves a moving one alone), and
    // where each fan-out shard's last handed-over slice starts (the repair resumes it there).
    "ALTER TABLE campaign_progress ADD COLUMN progressed_at INTEGER;
     CREATE TABLE fanout_resume (
        campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
        shard INTEGER NOT NULL,
        slice INTEGER NOT NULL,
        cursor TEXT NOT NULL,
        PRIMARY KEY (campaign_id, shard)
     ) WITHOUT ROWID;",
    // 14: the public archive of sent messages (a withdrawn one keeps its row, marked, so that
    // it is never published again), its topics, and its agenda.
    "CREATE TABLE archive (
        id TEXT PRIMARY KEY,
        sent_at INTEGER NOT NULL,
        event_date TEXT,
        withdrawn INTEGER NOT NULL DEFAULT 0,
        message TEXT NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX archive_newest ON archive (sent_at DESC, id DESC) WHERE withdrawn = 0;
     CREATE INDEX archive_agenda ON archive (event_date) WHERE withdrawn = 0 AND event_date IS NOT NULL;
     CREATE TABLE archive_topics (
        topic TEXT NOT NULL,
        sent_at INTEGER NOT NULL,
        id TEXT NOT NULL REFERENCES archive (id) ON DELETE CASCADE,
        PRIMARY KEY (topic, sent_at, id)
     ) WITHOUT ROWID;",
    // 15: a campaign's voice call counters (#30).
    "ALTER TABLE campaign_progress ADD COLUMN voice_targeted INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE campaign_progress ADD COLUMN voice_sent INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE campaign_progress ADD COLUMN voice_failed INTEGER NOT NULL DEFAULT 0;
     ALTER TABLE campaign_progress ADD COLUMN voice_suppressed INTEGER NOT NULL DEFAULT 0;",
    // 16: who was reached and who is safe (#30): providers' reports per delivery, residents'
    // answers per campaign; the subscriber index serves erasure.
    "CREATE TABLE reach_reports (
        campaign_id TEXT NOT NULL,
        subscriber_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        outcome TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (campaign_id, subscriber_id, channel)
     ) WITHOUT ROWID;
     CREATE INDEX reach_reports_subscriber ON reach_reports (subscriber_id);
     CREATE TABLE acknowledgements (
        campaign_id TEXT NOT NULL,
        subscriber_id TEXT NOT NULL,
        answer TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (campaign_id, subscriber_id)
     ) WITHOUT ROWID;
     CREATE INDEX acknowledgements_subscriber ON acknowledgements (subscriber_id);",
    // 17: the notices each staff account turned off (#28): `off` is a JSON array of their names.
    "CREATE TABLE staff_notice_settings (
        staff_id TEXT PRIMARY KEY,
        off TEXT NOT NULL
     ) WITHOUT ROWID;",
    // 18: the crisis cell's members (#30), staff kept apart from residents: one JSON row each.
    "CREATE TABLE cell_members (
        id TEXT PRIMARY KEY,
        member TEXT NOT NULL
     ) WITHOUT ROWID;",
    // 19: what sending reads of a subscriber, in id order beside the key (#33): fan-out's pages
    // of recipients (status and address) and each delivery batch's check that nobody changed
    // since (updated_at) read this index alone. Through the primary key they read the table
    // row, full profile included, one random page each: at 100,000 subscribers the table
    // outgrew the page cache and a delivery cost three reads from the file.
    "CREATE INDEX subscribers_sending ON subscribers (id, status, email, phone, updated_at);",
];

/// How long a statement waits for a write lock another connection (another program) holds.
pub const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A shared SQLite connection. Calls run on the blocking pool so the async runtime never waits.
#[derive(Clone, Debug)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    counts: Arc<Counts>,
}

/// What a connection did, for the benchmarks: trips through its lock always (one relaxed
/// increment each), write transactions committed and statements run once
/// [`Db::count_statements`] turned them on.
#[derive(Debug, Default)]
struct Counts {
    calls: AtomicU64,
    commits: Arc<AtomicU64>,
}

/// Statements run on the connections that count them ([`Db::count_statements`]); SQLite's trace
/// callback is a plain function, so the count is the process's.
static STATEMENTS: AtomicU64 = AtomicU64::new(0);

/// What the connection has done since it was opened (see [`Db::count_statements`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DbCounts {
    /// Trips through the connection's lock ([`Db::call`], [`Db::write`]…): each is a hand-over
    /// to the blocking pool and back.
    pub calls: u64,
    /// Write transactions committed (each appends its changed pages to the WAL).
    pub commits: u64,
    /// Statements run (each execution of a prepared statement counts once).
    pub statements: u64,
}

impl std::ops::Sub for DbCounts {
    type Output = DbCounts;
    fn sub(self, before: DbCounts) -> DbCounts {
        DbCounts {
            calls: self.calls.saturating_sub(before.calls),
            commits: self.commits.saturating_sub(before.commits),
            statements: self.statements.saturating_sub(before.statements),
        }
    }
}

impl Db {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, DbError> {
        // Owner-only: SQLite gives its -wal and -shm files the database file's permissions.
        for file in [
            path.to_owned(),
            path.with_extension("sqlite-wal"),
            path.with_extension("sqlite-shm"),
        ] {
            crate::private::restrict(&file).map_err(|source| DbError::Restrict {
                path: file.clone(),
                source,
            })?;
        }
        if !path.exists() {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            options.open(path).map_err(|source| DbError::Create {
                path: path.to_owned(),
                source,
            })?;
        }
        let conn = Connection::open(path).map_err(|source| DbError::Open {
            path: path.to_owned(),
            source,
        })?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;",
        )
        .map_err(DbError::Configure)?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(DbError::Configure)?;
        migrate(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            counts: Arc::default(),
        })
    }

    /// Turns on counting commits and statements (a callback per statement: for benchmarks,
    /// not for the server).
    pub fn count_statements(&self) -> Result<(), StoreError> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| StoreError::Backend("database lock poisoned".into()))?;
        let commits = self.counts.commits.clone();
        conn.commit_hook(Some(move || {
            commits.fetch_add(1, Ordering::Relaxed);
            false
        }));
        // One profile event per statement run, as it ends. The statement event (as it starts)
        // would count the same, but rusqlite hands it the SQL text, copied for every statement:
        // 1.5 % of a delivery's time went to counting (#33).
        conn.trace_v2(
            rusqlite::trace::TraceEventCodes::SQLITE_TRACE_PROFILE,
            Some(|_| {
                STATEMENTS.fetch_add(1, Ordering::Relaxed);
            }),
        );
        Ok(())
    }

    /// What the connection did so far: calls always; commits and statements once
    /// [`Db::count_statements`] turned them on (statements: of every connection counting).
    pub fn counts(&self) -> DbCounts {
        DbCounts {
            calls: self.counts.calls.load(Ordering::Relaxed),
            commits: self.counts.commits.load(Ordering::Relaxed),
            statements: STATEMENTS.load(Ordering::Relaxed),
        }
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        self.counts.calls.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Backend("database lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("database task failed: {e}")))?
    }

    /// Runs `f` like [`Db::call`], except that a write lock another program holds fails it at
    /// once (`Busy`) instead of waiting up to [`BUSY_TIMEOUT`]. For pollers that come back
    /// soon anyway (the queue consumers): the connection is shared, so while one waits every
    /// request behind it waits too — with a lock held elsewhere, each of a staff member's reads
    /// took up to 15 s behind the consumers' polls.
    pub async fn call_unless_locked<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        self.call(move |c| {
            c.busy_timeout(std::time::Duration::ZERO).map_err(sql_err)?;
            let out = f(c);
            c.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
            out
        })
        .await
    }

    /// Runs `f` in one write transaction on the blocking pool, committing when it succeeds.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.call(move |c| {
            // IMMEDIATE takes the write lock up front: another connection to the file (a second
            // handle, a test) then waits on busy_timeout instead of failing mid-transaction.
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_err)?;
            let out = f(&tx)?;
            tx.commit().map_err(sql_err)?;
            Ok(out)
        })
        .await
    }
}

/// An instant as stored: unix microseconds.
pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// A stored instant back.
pub fn from_micros(value: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(value)
        .ok_or_else(|| StoreError::Backend(format!("corrupt instant: {value}")))
}

/// A SQL list of `n` placeholders, `?, ?, …`, for `IN (…)`.
pub fn placeholders(n: usize) -> String {
    let mut s = "?, ".repeat(n);
    s.truncate(s.len().saturating_sub(2));
    s
}

/// Most parameters put in one `IN (…)` list (well under SQLite's variable limit).
pub const IN_CHUNK: usize = 500;

/// Why the database cannot be opened; the message names the file or the step.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot restrict {}: {source}", path.display())]
    Restrict {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create database {}: {source}", path.display())]
    Create {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open database {}: {source}", path.display())]
    Open {
        path: std::path::PathBuf,
        source: rusqlite::Error,
    },
    #[error("cannot configure database: {0}")]
    Configure(rusqlite::Error),
    #[error("cannot read schema version: {0}")]
    SchemaVersion(rusqlite::Error),
    /// A newer Télmail wrote the database: this one would not know its tables.
    #[error("the database schema (version {found}) is newer than this program ({known}): upgrade Télmail")]
    NewerSchema { found: usize, known: usize },
    #[error("migration {version} failed: {source}")]
    Migration {
        version: usize,
        source: rusqlite::Error,
    },
}

fn migrate(conn: &Connection) -> Result<(), DbError> {
    let applied: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map_err(DbError::SchemaVersion)? as usize;
    if applied > MIGRATIONS.len() {
        return Err(DbError::NewerSchema {
            found: applied,
            known: MIGRATIONS.len(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = i + 1;
        conn.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA user_version = {version}; COMMIT;"
        ))
        .map_err(|source| DbError::Migration { version, source })?;
    }
    Ok(())
}

/// Maps a SQLite error, turning uniqueness violations into `Conflict` (other constraint
/// failures, such as a missing foreign row, are bugs and stay `Backend`), a lock another
/// program held past `busy_timeout` into `Busy`, and a full disk into `Full`: in the last two
/// SQLite rolled the statement or transaction back, so nothing was half-written.
pub fn sql_err(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match &e {
        rusqlite::Error::SqliteFailure(f, msg)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict(msg.clone().unwrap_or_else(|| "constraint".into()))
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
        {
            StoreError::Busy(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _) if f.code == ErrorCode::DiskFull => {
            StoreError::Full(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_database_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("telmail.sqlite");
        let db = Db::open(&path).unwrap();
        db.conn
            .lock()
            .unwrap()
            .execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        for file in [path.clone(), path.with_extension("sqlite-wal")] {
            let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", file.display());
        }
        // A file made by an older version is restricted when opened again
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(db);
        Db::open(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn migrations_apply_once_and_reopen_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        Db::open(&path).unwrap();
        Db::open(&path).unwrap();
        let conn = Connection::open(&path).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn a_lock_held_by_another_program_is_busy_and_a_full_file_is_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let db = Db::open(&path).unwrap();
        db.call(|c| {
            c.execute_batch("PRAGMA busy_timeout = 50; CREATE TABLE t (x BLOB);")
                .map_err(sql_err)
        })
        .await
        .unwrap();
        async fn insert(db: &Db) -> Result<usize, StoreError> {
            db.write(|tx| {
                tx.execute("INSERT INTO t VALUES (zeroblob(100000))", [])
                    .map_err(sql_err)
            })
            .await
        }
        // Another program holds the write lock longer than the store waits.
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        assert!(
            matches!(insert(&db).await, Err(StoreError::Busy(_))),
            "a lock past busy_timeout is Busy"
        );
        other.execute_batch("ROLLBACK").unwrap();
        insert(&db).await.unwrap();
        // No room left: the file may not grow past its pages (as on a full disk).
        db.call(|c| {
            c.query_row("PRAGMA max_page_count = 30", [], |_| Ok(()))
                .map_err(sql_err)
        })
        .await
        .unwrap();
        assert!(matches!(insert(&db).await, Err(StoreError::Full(_))));
        let rows: i64 = db
            .call(|c| {
                c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
                    .map_err(sql_err)
            })
            .await
            .unwrap();
        assert_eq!(rows, 1, "the refused insert left nothing");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        let newer = Db::open(&path).unwrap_err();
        assert!(matches!(newer, DbError::NewerSchema { known, .. } if known == MIGRATIONS.len()));
        assert!(newer.to_string().contains("newer"));
    }
}
