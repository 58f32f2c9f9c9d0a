//! Allowances: one row per key, its count taken and reset in one statement.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use telmail_core::error::StoreError;
use telmail_core::ports::QuotaStore;

use super::SqliteStore;
use crate::db::{micros, sql_err};

/// Takes a unit unless the limit is reached; a row past its expiry starts again at 1.
const TAKE: &str = "INSERT INTO quotas (key, used, expires_at) VALUES (?1, 1, ?3)
     ON CONFLICT (key) DO UPDATE SET
        used = CASE WHEN quotas.expires_at <= ?2 THEN 1 ELSE quotas.used + 1 END,
        expires_at = CASE WHEN quotas.expires_at <= ?2 THEN ?3 ELSE quotas.expires_at END
     WHERE quotas.expires_at <= ?2 OR quotas.used < ?4
     RETURNING used";

#[async_trait]
impl QuotaStore for SqliteStore {
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
        let key = key.to_owned();
        let (now, expires_at) = (micros(now), micros(expires_at));
        self.db
            .write(move |tx| {
                // Ended allowances go as new ones are taken (the index makes it cheap).
                tx.prepare_cached("DELETE FROM quotas WHERE expires_at <= ?1")
                    .and_then(|mut st| st.execute([now]))
                    .map_err(sql_err)?;
                let used: Option<i64> = tx
                    .prepare_cached(TAKE)
                    .and_then(|mut st| {
                        st.query_row(params![key, now, expires_at, limit], |r| r.get(0))
                            .optional()
                    })
                    .map_err(sql_err)?;
                Ok(used.map(|n| u32::try_from(n).unwrap_or(u32::MAX)))
            })
            .await
    }
}
