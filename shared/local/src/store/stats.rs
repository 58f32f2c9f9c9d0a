//! Anonymous monthly counters, one row per (month, counter), and the audience of each month
//! (subscribers per topic and channel), a document named `audience:YYYY-MM`.

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension};
use std::str::FromStr;
use telmail_core::clock::Month;
use telmail_core::error::StoreError;
use telmail_core::ports::{AudienceCount, Counter, SignupOrigin, StatsStore};

use super::SqliteStore;
use crate::db::sql_err;

/// Adds to a month's counter, creating it at the value added.
const UPSERT: &str = "INSERT INTO monthly_counters (month, counter, value) VALUES (?1, ?2, ?3)
     ON CONFLICT (month, counter) DO UPDATE SET value = value + excluded.value";

/// Adds to several counters of a month inside the caller's transaction.
pub(super) fn add_many_in(
    c: &rusqlite::Connection,
    month: Month,
    deltas: &[(Counter, i64)],
) -> Result<(), StoreError> {
    let month = month.to_string();
    let mut st = c.prepare_cached(UPSERT).map_err(sql_err)?;
    for (counter, n) in deltas {
        st.execute(params![month, counter.as_str(), n])
            .map_err(sql_err)?;
    }
    Ok(())
}

#[async_trait]
impl StatsStore for SqliteStore {
    async fn add_many(&self, month: Month, deltas: &[(Counter, i64)]) -> Result<(), StoreError> {
        if deltas.is_empty() {
            return Ok(());
        }
        let deltas = deltas.to_vec();
        self.db
            .write(move |tx| add_many_in(tx, month, &deltas))
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

    async fn add_signups(&self, month: Month, origin: &str, n: i64) -> Result<(), StoreError> {
        let month = month.to_string();
        let origin = format!("{}{origin}", SignupOrigin::PREFIX);
        self.db
            .write(move |tx| {
                let mut st = tx.prepare_cached(UPSERT).map_err(sql_err)?;
                for name in [Counter::SignUps.as_str(), origin.as_str()] {
                    st.execute(params![month, name, n]).map_err(sql_err)?;
                }
                Ok(())
            })
            .await
    }

    async fn signups_by_origin(
        &self,
        from: Month,
        to: Month,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let (from, to) = (from.to_string(), to.to_string());
        self.db
            .call(move |c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT substr(counter, ?3), SUM(value) FROM monthly_counters
                         WHERE month >= ?1 AND month <= ?2 AND counter LIKE 'origin:%'
                         GROUP BY counter ORDER BY counter",
                    )
                    .map_err(sql_err)?;
                let skip = SignupOrigin::PREFIX.len() as i64 + 1;
                let rows = st
                    .query_map(params![from, to, skip], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
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
        self.save_document(&audience(month), &counts).await
    }

    async fn audience(
        &self,
        from: Month,
        to: Month,
    ) -> Result<Vec<(Month, Vec<AudienceCount>)>, StoreError> {
        self.documents_between(&audience(from), &audience(to))
            .await?
            .into_iter()
            .map(|(name, counts)| {
                let month = name
                    .strip_prefix(AUDIENCE)
                    .and_then(|m| m.parse().ok())
                    .ok_or_else(|| StoreError::Backend(format!("not an audience: {name}")))?;
                Ok((month, counts))
            })
            .collect()
    }
}

/// Prefix of the documents holding a month's audience.
const AUDIENCE: &str = "audience:";

/// `audience:YYYY-MM`: names sort as months do.
fn audience(month: Month) -> String {
    format!("{AUDIENCE}{month}")
}
