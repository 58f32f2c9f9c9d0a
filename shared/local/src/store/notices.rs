//! The notices each staff account turned off: one row per account that saved its settings.

use std::collections::BTreeSet;

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use telmail_core::domain::notices::{NoticeSettings, StaffNotice};
use telmail_core::error::StoreError;
use telmail_core::ports::NoticeSettingsStore;

use super::{from_json, to_json, SqliteStore};
use crate::db::sql_err;

#[async_trait]
impl NoticeSettingsStore for SqliteStore {
    async fn notice_settings(&self, staff_id: &str) -> Result<NoticeSettings, StoreError> {
        let id = staff_id.to_owned();
        let off: Option<String> = self
            .db
            .call(move |c| {
                c.prepare_cached("SELECT off FROM staff_notice_settings WHERE staff_id = ?1")
                    .and_then(|mut st| st.query_row([id], |r| r.get(0)).optional())
                    .map_err(sql_err)
            })
            .await?;
        let Some(off) = off else {
            return Ok(NoticeSettings::default());
        };
        let off: BTreeSet<StaffNotice> = from_json("notice settings", &off)?;
        Ok(NoticeSettings { off })
    }

    async fn save_notice_settings(
        &self,
        staff_id: &str,
        settings: &NoticeSettings,
    ) -> Result<(), StoreError> {
        let (id, off) = (staff_id.to_owned(), to_json(&settings.off)?);
        self.db
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO staff_notice_settings (staff_id, off) VALUES (?1, ?2)
                     ON CONFLICT (staff_id) DO UPDATE SET off = excluded.off",
                )
                .and_then(|mut st| st.execute(params![id, off]))
                .map(|_| ())
                .map_err(sql_err)
            })
            .await
    }
}
