//! Each channel's next free sending slot, moved forward by every reservation in one write
//! transaction (read, then write: the transaction is the store's only writer).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use telmail_core::domain::contact::Channel;
use telmail_core::error::StoreError;
use telmail_core::ports::{PaceStore, Slots};

use super::SqliteStore;
use crate::db::{from_micros, micros, sql_err};

#[async_trait]
impl PaceStore for SqliteStore {
    async fn reserve_slots(
        &self,
        channel: Channel,
        n: u32,
        interval: std::time::Duration,
        now: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<Slots, StoreError> {
        let step = i64::try_from(interval.as_micros()).unwrap_or(i64::MAX / 4);
        let (first, count) = self
            .db
            .write(move |tx| {
                let next: Option<i64> = tx
                    .prepare_cached("SELECT next_slot FROM pacing WHERE channel = ?1")
                    .and_then(|mut st| {
                        st.query_row(params![channel.as_str()], |r| r.get(0))
                            .optional()
                    })
                    .map_err(sql_err)?;
                let start = next.map_or(micros(now), |next| next.max(micros(now)));
                let count = Slots::fitting(n, interval, from_micros(start)?, not_after);
                if count > 0 {
                    let end = start.saturating_add(step.saturating_mul(i64::from(count)));
                    tx.prepare_cached(
                        "INSERT INTO pacing (channel, next_slot) VALUES (?1, ?2)
                         ON CONFLICT (channel) DO UPDATE SET next_slot = excluded.next_slot",
                    )
                    .and_then(|mut st| st.execute(params![channel.as_str(), end]))
                    .map_err(sql_err)?;
                }
                Ok((start, count))
            })
            .await?;
        Ok(Slots {
            first: from_micros(first)?,
            count,
        })
    }
}
