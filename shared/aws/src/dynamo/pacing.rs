//! Each channel's next free sending slot (`PACE#<channel>` / `PACE`, unix microseconds), moved
//! forward by conditional writes: no read, one write per block of slots in the usual case (the
//! channel busy and the whole block fitting before the sender's limit); otherwise one read and
//! one conditional write, and no write at all when no slot fits.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use telmail_core::domain::contact::Channel;
use telmail_core::error::StoreError;
use telmail_core::ports::{PaceStore, Slots};

use aws_sdk_dynamodb::types::ReturnValue;

use super::items::{self, key, n, Fields};
use super::keys;
use super::DynamoStore;

/// Reservations tried before giving up (each loser of a race tries again at once).
const ATTEMPTS: usize = 8;

fn item_key(channel: Channel) -> super::items::Item {
    key(keys::pace(channel), keys::PACE_SK)
}

impl DynamoStore {
    /// Moves a channel's next slot forward by `span` if it lies between `now` and `latest`:
    /// the slots start where it was (`None`: it was elsewhere, or absent).
    async fn extend_pace(
        &self,
        channel: Channel,
        span: i64,
        now: i64,
        latest: i64,
    ) -> Result<Option<i64>, StoreError> {
        let book = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(channel)))
            .update_expression("ADD next_slot :span")
            .condition_expression("next_slot BETWEEN :now AND :latest")
            .expression_attribute_values(":span", n(span))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":latest", n(latest))
            .return_values(ReturnValue::UpdatedOld);
        items::conditional_output("DynamoDB UpdateItem (pacing)", book.send())
            .await?
            .map(|out| Fields(&out.attributes.unwrap_or_default()).num("next_slot"))
            .transpose()
    }

    /// The channel's next slot as stored (`None`: never set).
    async fn next_slot(&self, channel: Channel) -> Result<Option<i64>, StoreError> {
        let item =
            items::get_consistent(&self.client, &self.table, item_key(channel), None, "pacing")
                .await?;
        match item {
            Some(item) => Ok(Some(Fields(&item).num("next_slot")?)),
            None => Ok(None),
        }
    }

    /// Sets a channel's next slot to `next` if it is still `was`; false when another sender
    /// moved it meanwhile.
    async fn move_pace(
        &self,
        channel: Channel,
        was: Option<i64>,
        next: i64,
    ) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(channel)))
            .update_expression("SET next_slot = :next")
            .expression_attribute_values(":next", n(next));
        let update = match was {
            Some(was) => update
                .condition_expression("next_slot = :was")
                .expression_attribute_values(":was", n(was)),
            None => update.condition_expression("attribute_not_exists(next_slot)"),
        };
        items::conditional("DynamoDB UpdateItem (pacing move)", update.send()).await
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
        not_after: DateTime<Utc>,
    ) -> Result<Slots, StoreError> {
        let step = i64::try_from(interval.as_micros()).unwrap_or(i64::MAX / 4);
        let span = step.saturating_mul(i64::from(count));
        let now_us = now.timestamp_micros();
        let at = |us: i64| {
            DateTime::from_timestamp_micros(us)
                .ok_or_else(|| StoreError::Backend("pacing slot out of range".into()))
        };
        let latest = not_after
            .timestamp_micros()
            .saturating_sub(step.saturating_mul(i64::from(count.saturating_sub(1))));
        for _ in 0..ATTEMPTS {
            // The usual case, one write: busy, and the whole block fits before `not_after`.
            // Tried again after a lost race: the winner has usually made the channel busy, and
            // then every other sender books at once with it (an `ADD` never loses a race).
            if count > 0 && latest >= now_us {
                if let Some(start) = self.extend_pace(channel, span, now_us, latest).await? {
                    return Ok(Slots {
                        first: at(start)?,
                        count,
                    });
                }
            }
            // Idle, or near the limit: read, book what fits, and try again if another sender won.
            let was = self.next_slot(channel).await?;
            let start = was.map_or(now_us, |next| next.max(now_us));
            let fits = Slots::fitting(count, interval, at(start)?, not_after);
            if fits == 0 {
                return Ok(Slots {
                    first: at(start)?,
                    count: 0,
                });
            }
            let end = start.saturating_add(step.saturating_mul(i64::from(fits)));
            if self.move_pace(channel, was, end).await? {
                return Ok(Slots {
                    first: at(start)?,
                    count: fits,
                });
            }
        }
        Err(StoreError::Backend(
            "pacing: too many senders reserving at once".into(),
        ))
    }
}
