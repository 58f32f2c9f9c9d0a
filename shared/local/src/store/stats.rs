//! Anonymous monthly counters, one row per (month, counter), and the audience of each month
//! (subscribers per topic and channel, as JSON).

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use std::str::FromStr;
use telmail_core::clock::Month;
use telmail_core::error::StoreError;
use telmail_core::ports::{AudienceCount, Counter, StatsStore};

use super::{from_json, to_json, SqliteStore};
use crate::db::sql_err;

#[async_trait]
impl StatsStore for SqliteStore {
    async fn add_many(&self, month: Month, deltas: &[(Counter, i64)]) -> Result<(), StoreError> {
        if deltas.is_empty() {
            return Ok(());
        }
        let month = month.to_string();
        let deltas = deltas.to_vec();
        self.db
            .write(move |tx| {
                let mut st = tx
                    .prepare_cached(
                        "INSERT INTO monthly_counters (month, counter, value) VALUES (?1, ?2, ?3)
                         ON CONFLICT (month, counter) DO UPDATE SET value = value + excluded.value",
                    )
                    .map_err(sql_err)?;
                for (counter, n) in deltas {
                    st.execute(params![month, counter.as_str(), n])
                        .map_err(sql_err)?;
                }
                Ok(())
            })
            .await
    }

    async fn get(&self, month: Month, counter: Counter) -> Result<i64, StoreError> {
        let month = month.to_string();
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "SELECT value FROM monthly_counters WHERE month = ?1 AND counter = ?2",
                )
                .and_then(|mut st| {
                    st.query_row(params![month, counter.as_str()], |r| r.get(0))
                        .optional()
                })
                .map(|v| v.unwrap_or(0))
                .map_err(sql_err)
            })
            .await
    }

    async fn months(
        &self,
        from: Month,
        to: Month,
    ) -> Result<Vec<(Month, Counter, i64)>, StoreError> {
        let (from, to) = (from.to_string(), to.to_string());
        let rows = self
            .db
            .call(move |c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT month, counter, value FROM monthly_counters
                         WHERE month >= ?1 AND month <= ?2 ORDER BY month",
                    )
                    .map_err(sql_err)?;
                let rows = st
                    .query_map([from, to], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                        ))
                    })
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        // Names this version does not know (written by a newer one) are skipped, not fatal.
        let mut out = Vec::with_capacity(rows.len());
        for (month, name, n) in rows {
            let month: Month = month
                .parse()
                .map_err(|e| StoreError::Backend(format!("monthly_counters: {e}")))?;
            if let Ok(counter) = Counter::from_str(&name) {
                out.push((month, counter, n));
            }
        }
        out.sort_by_key(|(month, counter, _)| (*month, *counter));
        Ok(out)
    }

    async fn save_audience(
        &self,
        month: Month,
        counts: &[AudienceCount],
    ) -> Result<(), StoreError> {
        let (month, json) = (month.to_string(), to_json(&counts)?);
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "INSERT INTO audience (month, counts) VALUES (?1, ?2)
                     ON CONFLICT (month) DO UPDATE SET counts = excluded.counts",
                )
                .and_then(|mut st| st.execute(params![month, json]))
                .map(|_| ())
                .map_err(sql_err)
            })
            .await
    }

    async fn audience(
        &self,
        from: Month,
        to: Month,
    ) -> Result<Vec<(Month, Vec<AudienceCount>)>, StoreError> {
        let (from, to) = (from.to_string(), to.to_string());
        let rows: Vec<(String, String)> = self
            .db
            .call(move |c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT month, counts FROM audience WHERE month >= ?1 AND month <= ?2 ORDER BY month",
                    )
                    .map_err(sql_err)?;
                let rows = st
                    .query_map([from, to], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        rows.into_iter()
            .map(|(month, counts)| {
                let month: Month = month
                    .parse()
                    .map_err(|e| StoreError::Backend(format!("audience: {e}")))?;
                Ok((month, from_json("audience", &counts)?))
            })
            .collect()
    }
}
