//! Each channel's next free sending slot (`PACE#<channel>` / `PACE`, unix microseconds), moved
//! forward by conditional writes: no read, one write per block of slots in the usual case.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use telmail_core::domain::contact::Channel;
use telmail_core::error::StoreError;
use telmail_core::ports::PaceStore;

use aws_sdk_dynamodb::types::ReturnValue;

use super::items::{condition_failed, key, n, Fields};
use super::keys;
use super::DynamoStore;
use crate::errors::store_error;

/// Reservations tried before giving up (each loser of a race tries again at once).
const ATTEMPTS: usize = 8;

fn item_key(channel: Channel) -> super::items::Item {
    key(keys::pace(channel), keys::PACE_SK)
}

impl DynamoStore {
    /// Moves a channel's next slot forward by `span` if it is not behind `now`: the slots
    /// start where it was (`None`: it was behind, or absent).
    async fn extend_pace(
        &self,
        channel: Channel,
        span: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(channel)))
            .update_expression("ADD next_slot :span")
            .condition_expression("next_slot >= :now")
            .expression_attribute_values(":span", n(span))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::UpdatedOld)
            .send()
            .await;
        match out {
            Ok(out) => Ok(Some(
                Fields(&out.attributes.unwrap_or_default()).num("next_slot")?,
            )),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(store_error("DynamoDB UpdateItem (pacing)", e)),
        }
    }

    /// Starts a channel's slots at `now` after an idle time (the next slot behind, or none);
    /// false when another sender moved it meanwhile.
    async fn restart_pace(
        &self,
        channel: Channel,
        span: i64,
        now: i64,
    ) -> Result<bool, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(channel)))
            .update_expression("SET next_slot = :next")
            .condition_expression("attribute_not_exists(next_slot) OR next_slot < :now")
            .expression_attribute_values(":next", n(now + span))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match out {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(store_error("DynamoDB UpdateItem (pacing restart)", e)),
        }
    }
}

#[async_trait]
impl PaceStore for DynamoStore {
    async fn reserve_slots(
        &self,
        channel: Channel,
        count: u32,
        interval: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        let span = i64::try_from(interval.as_micros().saturating_mul(u128::from(count)))
            .unwrap_or(i64::MAX / 4);
        let now_us = now.timestamp_micros();
        // One write in the usual case: busy, the slots follow the last ones; idle, they start
        // now. A sender that loses a race to another tries again.
        for _ in 0..ATTEMPTS {
            if let Some(start) = self.extend_pace(channel, span, now_us).await? {
                return DateTime::from_timestamp_micros(start)
                    .ok_or_else(|| StoreError::Backend("pacing slot out of range".into()));
            }
            if self.restart_pace(channel, span, now_us).await? {
                return Ok(now);
            }
        }
        Err(StoreError::Backend(
            "pacing: too many senders reserving at once".into(),
        ))
    }
}
