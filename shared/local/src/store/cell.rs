//! The crisis cell's members: one JSON row each, apart from the subscribers. Removing one
//! erases what names them (finished deliveries, reach reports, answers) in the same
//! transaction, as a resident's erasure does.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use telmail_core::domain::cell::CellMember;
use telmail_core::domain::subscriber::SubscriberId;
use telmail_core::error::StoreError;
use telmail_core::ports::CellStore;

use super::subscribers::ERASE_FINISHED_DELIVERIES;
use super::{from_json, to_json, SqliteStore};
use crate::db::sql_err;

#[async_trait]
impl CellStore for SqliteStore {
    async fn cell_members(&self) -> Result<Vec<CellMember>, StoreError> {
        let rows: Vec<String> = self
            .db
            .call(|c| {
                let mut st = c
                    .prepare_cached("SELECT member FROM cell_members")
                    .map_err(sql_err)?;
                let rows = st.query_map([], |r| r.get(0)).map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        rows.iter()
            .map(|json| from_json("cell member", json))
            .collect()
    }

    async fn cell_member(&self, id: SubscriberId) -> Result<Option<CellMember>, StoreError> {
        let row: Option<String> = self
            .db
            .call(move |c| {
                c.prepare_cached("SELECT member FROM cell_members WHERE id = ?1")
                    .and_then(|mut st| st.query_row([id.to_string()], |r| r.get(0)).optional())
                    .map_err(sql_err)
            })
            .await?;
        row.map(|json| from_json("cell member", &json)).transpose()
    }

    async fn insert_cell_member(&self, member: &CellMember) -> Result<(), StoreError> {
        let (id, json) = (member.id.to_string(), to_json(member)?);
        self.db
            .write(move |tx| {
                tx.prepare_cached("INSERT INTO cell_members (id, member) VALUES (?1, ?2)")
                    .and_then(|mut st| st.execute(params![id, json]))
                    .map(|_| ())
                    .map_err(sql_err)
            })
            .await
    }

    async fn update_cell_member(&self, member: &CellMember) -> Result<bool, StoreError> {
        let (id, json) = (member.id.to_string(), to_json(member)?);
        self.db
            .write(move |tx| {
                tx.prepare_cached("UPDATE cell_members SET member = ?2 WHERE id = ?1")
                    .and_then(|mut st| st.execute(params![id, json]))
                    .map(|n| n > 0)
                    .map_err(sql_err)
            })
            .await
    }

    async fn delete_cell_member(&self, id: SubscriberId) -> Result<bool, StoreError> {
        self.db
            .write(move |tx| {
                let id = id.to_string();
                for erase in [
                    ERASE_FINISHED_DELIVERIES,
                    "DELETE FROM reach_reports WHERE subscriber_id = ?1",
                    "DELETE FROM acknowledgements WHERE subscriber_id = ?1",
                ] {
                    tx.prepare_cached(erase)
                        .and_then(|mut st| st.execute([&id]))
                        .map_err(sql_err)?;
                }
                tx.prepare_cached("DELETE FROM cell_members WHERE id = ?1")
                    .and_then(|mut st| st.execute([&id]))
                    .map(|n| n > 0)
                    .map_err(sql_err)
            })
            .await
    }
}
