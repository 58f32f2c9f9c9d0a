//! Each channel's next free sending slot, moved forward by every reservation in one statement.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::params;
use telmail_core::domain::contact::Channel;
use telmail_core::error::StoreError;
use telmail_core::ports::PaceStore;

use super::SqliteStore;
use crate::db::{from_micros, micros, sql_err};

/// Moves the channel's next slot past `n` slots from `max(next, now)`; returns where they start.
const RESERVE: &str = "INSERT INTO pacing (channel, next_slot) VALUES (?1, ?2 + ?3)
     ON CONFLICT (channel) DO UPDATE SET next_slot = MAX(pacing.next_slot, ?2) + ?3
     RETURNING next_slot - ?3";

#[async_trait]
impl PaceStore for SqliteStore {
    async fn reserve_slots(
        &self,
        channel: Channel,
        n: u32,
        interval: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, StoreError> {
        let span = i64::try_from(interval.as_micros().saturating_mul(u128::from(n)))
            .unwrap_or(i64::MAX / 4);
        let now = micros(now);
        let start: i64 = self
            .db
            .write(move |tx| {
                tx.prepare_cached(RESERVE)
                    .and_then(|mut st| {
                        st.query_row(params![channel.as_str(), now, span], |r| r.get(0))
                    })
                    .map_err(sql_err)
            })
            .await?;
        from_micros(start)
    }
}
