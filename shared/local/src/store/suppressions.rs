//! Addresses not to write to, keyed by the address itself (email or E.164 number).

use std::collections::HashSet;

use async_trait::async_trait;
use rusqlite::{params, params_from_iter};
use telmail_core::domain::delivery::Suppression;
use telmail_core::error::StoreError;
use telmail_core::ports::SuppressionStore;

use super::{sql_int, SqliteStore};
use crate::db::{from_micros, micros, placeholders, sql_err, IN_CHUNK};

#[async_trait]
impl SuppressionStore for SqliteStore {
    async fn suppressed_among(&self, addresses: &[String]) -> Result<HashSet<String>, StoreError> {
        if addresses.is_empty() {
            return Ok(HashSet::new());
        }
        let addresses = addresses.to_vec();
        self.db
            .call(move |c| {
                let mut found = HashSet::new();
                for chunk in addresses.chunks(IN_CHUNK) {
                    let sql = format!(
                        "SELECT address FROM suppressions WHERE address IN ({})",
                        placeholders(chunk.len())
                    );
                    let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
                    let rows = st
                        .query_map(params_from_iter(chunk), |r| r.get::<_, String>(0))
                        .map_err(sql_err)?;
                    for row in rows {
                        found.insert(row.map_err(sql_err)?);
                    }
                }
                Ok(found)
            })
            .await
    }

    async fn suppress(&self, suppression: &Suppression) -> Result<(), StoreError> {
        let s = suppression.clone();
        self.db
            .call(move |c| {
                // Suppressing again keeps one row, with the latest reason and time.
                c.prepare_cached(
                    "INSERT INTO suppressions (address, reason, at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (address) DO UPDATE SET reason = excluded.reason, at = excluded.at",
                )
                .and_then(|mut st| st.execute(params![s.address, s.reason, micros(s.at)]))
                .map(|_| ())
                .map_err(sql_err)
            })
            .await
    }

    async fn lift(&self, address: &str) -> Result<bool, StoreError> {
        let address = address.to_owned();
        self.db
            .call(move |c| {
                c.prepare_cached("DELETE FROM suppressions WHERE address = ?1")
                    .and_then(|mut st| st.execute([address]))
                    .map(|n| n > 0)
                    .map_err(sql_err)
            })
            .await
    }

    async fn list(&self, limit: usize) -> Result<Vec<Suppression>, StoreError> {
        let rows = self
            .db
            .call(move |c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT address, reason, at FROM suppressions ORDER BY at DESC, address LIMIT ?1",
                    )
                    .map_err(sql_err)?;
                let rows = st
                    .query_map([sql_int(limit)], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
                    })
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        rows.into_iter()
            .map(|(address, reason, at)| {
                Ok(Suppression {
                    address,
                    reason,
                    at: from_micros(at)?,
                })
            })
            .collect()
    }
}
