//! The notices each staff account turned off: `STAFF#<id>`/`NOTICES`, attribute `off` (JSON
//! array of notice names). Accounts live in Cognito; only their settings live here.

use std::collections::BTreeSet;

use async_trait::async_trait;
use telmail_core::domain::notices::{NoticeSettings, StaffNotice};
use telmail_core::error::StoreError;
use telmail_core::ports::NoticeSettingsStore;

use super::items::{json, key, Fields};
use super::{keys, DynamoStore};
use crate::errors::store_error;

#[async_trait]
impl NoticeSettingsStore for DynamoStore {
    async fn notice_settings(&self, staff_id: &str) -> Result<NoticeSettings, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::staff(staff_id), keys::NOTICES)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("DynamoDB GetItem (notice settings)", e))?;
        let Some(item) = out.item.as_ref() else {
            return Ok(NoticeSettings::default());
        };
        let off: BTreeSet<StaffNotice> = Fields(item).json("off")?;
        Ok(NoticeSettings { off })
    }

    async fn save_notice_settings(
        &self,
        staff_id: &str,
        settings: &NoticeSettings,
    ) -> Result<(), StoreError> {
        let mut item = key(keys::staff(staff_id), keys::NOTICES);
        item.insert("off".into(), json(&settings.off)?);
        self.put(item, "notice settings").await
    }
}
