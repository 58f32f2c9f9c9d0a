//! Records kept whole as JSON, one row each: id, creation time, and a version a write must name
//! (a big-file job's step, a proposal's version), so that of two writers who read the same
//! version only the first is kept.

use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::Serialize;
use telmail_core::error::StoreError;

use super::{from_json, to_json, SqliteStore};
use crate::db::{micros, sql_err};

/// A table of versioned records (`id`, `created_at`, `version`, `body`).
#[derive(Clone, Copy)]
pub(super) struct Versioned {
    pub table: &'static str,
    /// What a record is, in errors.
    pub what: &'static str,
}

impl SqliteStore {
    /// Records a new one.
    pub(super) async fn insert_versioned(
        &self,
        t: Versioned,
        id: String,
        created: DateTime<Utc>,
        version: u32,
        record: &impl Serialize,
    ) -> Result<(), StoreError> {
        let (created, body) = (micros(created), to_json(record)?);
        let sql = format!(
            "INSERT INTO {} (id, created_at, version, body) VALUES (?1, ?2, ?3, ?4)",
            t.table
        );
        self.db
            .write(move |tx| {
                tx.execute(&sql, params![id, created, version, body])
                    .map(|_| ())
                    .map_err(sql_err)
            })
            .await
    }

    /// One by id.
    pub(super) async fn versioned<T: DeserializeOwned>(
        &self,
        t: Versioned,
        id: String,
    ) -> Result<Option<T>, StoreError> {
        let sql = format!("SELECT body FROM {} WHERE id = ?1", t.table);
        let body: Option<String> = self
            .db
            .call(move |c| {
                c.prepare_cached(&sql)
                    .and_then(|mut st| st.query_row([id], |r| r.get(0)).optional())
                    .map_err(sql_err)
            })
            .await?;
        body.map(|b| from_json(t.what, &b)).transpose()
    }

    /// Replaces one still at version `read`; `Conflict` otherwise.
    pub(super) async fn replace_versioned(
        &self,
        t: Versioned,
        id: String,
        version: u32,
        record: &impl Serialize,
        read: u32,
    ) -> Result<(), StoreError> {
        let body = to_json(record)?;
        let sql = format!(
            "UPDATE {} SET version = ?2, body = ?3 WHERE id = ?1 AND version = ?4",
            t.table
        );
        let conflict = format!("{} {id} changed since version {read}", t.what);
        let changed = self
            .db
            .write(move |tx| {
                tx.execute(&sql, params![id, version, body, read])
                    .map_err(sql_err)
            })
            .await?;
        match changed {
            1 => Ok(()),
            _ => Err(StoreError::Conflict(conflict)),
        }
    }

    /// Those created since `since`, newest first, `limit` at most.
    pub(super) async fn newest_versioned<T: DeserializeOwned>(
        &self,
        t: Versioned,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        let (since, limit) = (micros(since), i64::try_from(limit).unwrap_or(i64::MAX));
        let sql = format!(
            "SELECT body FROM {} WHERE created_at >= ?1 ORDER BY created_at DESC LIMIT ?2",
            t.table
        );
        let bodies: Vec<String> = self
            .db
            .call(move |c| {
                let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
                let rows = st
                    .query_map(params![since, limit], |r| r.get(0))
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        bodies.iter().map(|b| from_json(t.what, b)).collect()
    }
}
