//! The SQLite file: opened in WAL mode, migrated on start, used from async code off the runtime.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use telmail_core::error::StoreError;

/// Ordered schema migrations; `PRAGMA user_version` records how many were applied.
const MIGRATIONS: &[&str] = &[
    // 1: topics, subscribers, their choices, anonymous monthly counters.
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
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
     );
     CREATE INDEX subscribers_pending ON subscribers (pending_expires_at) WHERE pending_expires_at IS NOT NULL;
     CREATE TABLE subscriptions (
        subscriber_id TEXT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
        topic TEXT NOT NULL,
        channel TEXT NOT NULL,
        PRIMARY KEY (subscriber_id, topic, channel)
     );
     CREATE INDEX subscriptions_by_topic ON subscriptions (topic, channel, subscriber_id);
     CREATE TABLE monthly_counters (
        month TEXT NOT NULL,
        counter TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (month, counter)
     );",
];

/// A shared SQLite connection. Calls run on the blocking pool so the async runtime never waits.
#[derive(Clone, Debug)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub fn open(path: &Path) -> Result<Self, String> {
        let conn = Connection::open(path)
            .map_err(|e| format!("cannot open database {}: {e}", path.display()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
        )
        .map_err(|e| format!("cannot configure database: {e}"))?;
        migrate(&conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StoreError::Backend("database lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Backend(format!("database task failed: {e}")))?
    }
}

fn migrate(conn: &Connection) -> Result<(), String> {
    let applied: usize = conn
        .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map_err(|e| format!("cannot read schema version: {e}"))? as usize;
    if applied > MIGRATIONS.len() {
        return Err(format!(
            "the database schema (version {applied}) is newer than this program ({}): upgrade Télmail",
            MIGRATIONS.len()
        ));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let version = i + 1;
        conn.execute_batch(&format!(
            "BEGIN; {sql}; PRAGMA user_version = {version}; COMMIT;"
        ))
        .map_err(|e| format!("migration {version} failed: {e}"))?;
    }
    Ok(())
}

/// Maps a SQLite error, turning uniqueness violations into `Conflict`.
pub fn sql_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(msg.clone().unwrap_or_else(|| "constraint".into()))
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA user_version = 99")
            .unwrap();
        assert!(Db::open(&path).unwrap_err().contains("newer"));
    }
}
