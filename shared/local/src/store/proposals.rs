//! The departments' proposals: one row each, the proposal as JSON and its version, replaced only
//! from the version read.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use telmail_core::domain::proposal::{Proposal, ProposalId};
use telmail_core::error::StoreError;
use telmail_core::ports::ProposalStore;

use super::{from_json, to_json, SqliteStore};
use crate::db::{micros, sql_err};

#[async_trait]
impl ProposalStore for SqliteStore {
    async fn insert_proposal(&self, p: &Proposal) -> Result<(), StoreError> {
        let (id, created, version, body) = (
            p.id.to_string(),
            micros(p.created_at),
            p.version,
            to_json(p)?,
        );
        self.db
            .write(move |tx| {
                tx.execute(
                    "INSERT INTO proposals (id, created_at, version, body) VALUES (?1, ?2, ?3, ?4)",
                    params![id, created, version, body],
                )
                .map(|_| ())
                .map_err(sql_err)
            })
            .await
    }

    async fn proposal(&self, id: ProposalId) -> Result<Option<Proposal>, StoreError> {
        let id = id.to_string();
        let body: Option<String> = self
            .db
            .call(move |c| {
                c.prepare_cached("SELECT body FROM proposals WHERE id = ?1")
                    .and_then(|mut st| st.query_row([id], |r| r.get(0)).optional())
                    .map_err(sql_err)
            })
            .await?;
        body.map(|b| from_json("proposal", &b)).transpose()
    }

    async fn update_proposal(&self, p: &Proposal, read: u32) -> Result<(), StoreError> {
        let (id, version, body) = (p.id.to_string(), p.version, to_json(p)?);
        let changed = self
            .db
            .write(move |tx| {
                tx.execute(
                    "UPDATE proposals SET version = ?2, body = ?3 WHERE id = ?1 AND version = ?4",
                    params![id, version, body, read],
                )
                .map_err(sql_err)
            })
            .await?;
        match changed {
            1 => Ok(()),
            _ => Err(StoreError::Conflict(format!(
                "proposal {} changed since version {read}",
                p.id
            ))),
        }
    }

    async fn proposals_since(&self, since: DateTime<Utc>) -> Result<Vec<Proposal>, StoreError> {
        let since = micros(since);
        let bodies: Vec<String> = self
            .db
            .call(move |c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT body FROM proposals WHERE created_at >= ?1 ORDER BY created_at DESC",
                    )
                    .map_err(sql_err)?;
                let rows = st.query_map([since], |r| r.get(0)).map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        bodies.iter().map(|b| from_json("proposal", b)).collect()
    }
}
