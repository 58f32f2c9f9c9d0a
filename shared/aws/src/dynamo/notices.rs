//! The notices each staff account turned off: `STAFF#<id>`/`NOTICES`, attribute `off` (JSON
//! array of notice names). Accounts live in Cognito; only their settings live here.

use std::collections::BTreeSet;

use async_trait::async_trait;
use telmail_core::domain::notices::{NoticeSettings, StaffNotice};
use telmail_core::error::StoreError;
use telmail_core::ports::NoticeSettingsStore;

use super::items::{self, json, key, Fields};
use super::{keys, DynamoStore};

#[async_trait]
impl NoticeSettingsStore for DynamoStore {
    async fn notice_settings(&self, staff_id: &str) -> Result<NoticeSettings, StoreError> {
        let item = items::get_consistent(
            &self.client,
            &self.table,
            key(keys::staff(staff_id), keys::NOTICES),
            None,
            "notice settings",
        )
        .await?;
        let Some(item) = item.as_ref() else {
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
