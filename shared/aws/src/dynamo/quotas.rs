//! Allowances: one item per key (`QUOTA#<key>` / `QUOTA`) holding `used` and `expires` (also
//! the table's time to live, so ended allowances disappear on their own), counted with
//! conditional UpdateItems.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use chrono::{DateTime, Utc};
use telmail_core::error::StoreError;
use telmail_core::ports::QuotaStore;

use super::items::{self, key, n, Fields};
use super::keys::{self, EXPIRES, QUOTA_SK};
use super::DynamoStore;

/// Attempts at taking a unit while another caller resets an ended allowance at the same time.
const ATTEMPTS: usize = 2;

impl DynamoStore {
    /// Adds a unit to a live allowance (or starts one): the count, or `None` when refused.
    async fn add_unit(
        &self,
        item_key: &str,
        limit: u32,
        now: i64,
        expires: i64,
    ) -> Result<Option<u32>, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::quota(item_key), QUOTA_SK)))
            .update_expression("SET #e = if_not_exists(#e, :expires) ADD used :one")
            .condition_expression("attribute_not_exists(used) OR (used < :limit AND #e > :now)")
            .expression_attribute_names("#e", EXPIRES)
            .expression_attribute_values(":expires", n(expires))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::UpdatedNew);
        items::conditional_output("DynamoDB UpdateItem (allowance)", update.send())
            .await?
            .map(|out| Fields(&out.attributes.unwrap_or_default()).num("used"))
            .transpose()
    }

    /// Starts an ended allowance again at one unit; false when it has not ended (or another
    /// caller restarted it first).
    async fn restart(&self, item_key: &str, now: i64, expires: i64) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::quota(item_key), QUOTA_SK)))
            .update_expression("SET used = :one, #e = :expires")
            .condition_expression("#e <= :now")
            .expression_attribute_names("#e", EXPIRES)
            .expression_attribute_values(":expires", n(expires))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":now", n(now));
        items::conditional("DynamoDB UpdateItem (allowance restart)", update.send()).await
    }
}

#[async_trait]
impl QuotaStore for DynamoStore {
    async fn take(
        &self,
        key: &str,
        limit: u32,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<u32>, StoreError> {
        if limit == 0 {
            return Ok(None);
        }
        let (now, expires) = (now.timestamp(), expires_at.timestamp());
        for _ in 0..ATTEMPTS {
            if let Some(used) = self.add_unit(key, limit, now, expires).await? {
                return Ok(Some(used));
            }
            // Refused: either the limit is reached, or the allowance ended (time to live
            // deletes items late) and starts again.
            if self.restart(key, now, expires).await? {
                return Ok(Some(1));
            }
        }
        Ok(None)
    }
}
