//! Zones of the town, kept as named documents (`zone/<slug>`): a handful per town, read whole,
//! so they need no table of their own.

use async_trait::async_trait;
use rusqlite::params;
use telmail_core::domain::zone::Zone;
use telmail_core::error::StoreError;
use telmail_core::ports::ZoneStore;

use super::{to_json, SqliteStore};
use crate::db::sql_err;

/// Document names of zones start with this; `zone/` sorts before `zone0`, the range's end.
const PREFIX: &str = "zone/";
const AFTER_LAST: &str = "zone0";

#[async_trait]
impl ZoneStore for SqliteStore {
    async fn insert_zone(&self, zone: &Zone) -> Result<bool, StoreError> {
        let (name, body) = (format!("{PREFIX}{}", zone.slug), to_json(zone)?);
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "INSERT INTO documents (name, body) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                )
                .and_then(|mut st| st.execute(params![name, body]))
                .map(|n| n == 1)
                .map_err(sql_err)
            })
            .await
    }

    async fn zones(&self) -> Result<Vec<Zone>, StoreError> {
        Ok(self
            .documents_between::<Zone>(PREFIX, AFTER_LAST)
            .await?
            .into_iter()
            .map(|(_, z)| z)
            .collect())
    }
}
