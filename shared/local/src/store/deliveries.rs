//! Deliveries, one row per (campaign, subscriber, channel): the claim that creates the row and
//! keeps each message to one send, and the records fan-out makes of suppressed addresses.

use std::collections::HashSet;
use std::str::FromStr;

use async_trait::async_trait;
use rusqlite::{params, OptionalExtension, Row};
use telmail_core::clock::Month;
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::delivery::{
    CampaignProgress, Claims, CreateOutcome, Delivery, DeliveryKey, DeliveryResult, DeliveryStatus,
    NewDelivery, ProgressDelta,
};
use telmail_core::domain::subscriber::SubscriberId;
use telmail_core::error::StoreError;
use telmail_core::ports::{Counter, DeliveryStore};

use super::campaigns::add_progress_in;
use super::stats::add_many_in;
use super::{corrupt, parse_channel, sql_int, SqliteStore};
use crate::db::{from_micros, micros, sql_err};

impl SqliteStore {
    /// Emails of campaigns sent (accepted by the provider) since `since`: what counts against
    /// a daily quota. Reads every delivery (no index on the time): asked only before approval.
    pub async fn emails_sent_since(
        &self,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, StoreError> {
        let since = micros(since);
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "SELECT COUNT(*) FROM deliveries
                     WHERE channel = 'email' AND status = 'sent' AND updated_at >= ?1",
                )
                .and_then(|mut st| st.query_row([since], |r| r.get::<_, i64>(0)))
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(sql_err)
            })
            .await
    }
}

/// The key columns as stored.
fn key_args(k: &DeliveryKey) -> (String, String, &'static str) {
    (
        k.campaign.to_string(),
        k.subscriber.to_string(),
        k.channel.as_str(),
    )
}

fn parse_status(s: &str) -> Result<DeliveryStatus, StoreError> {
    DeliveryStatus::from_str(s)
        .ok()
        .ok_or_else(|| corrupt("delivery status", s))
}

/// A delivery row: status, attempts, provider id, error, segments, updated_at.
type StateRow = (String, i64, Option<String>, Option<String>, i64, i64);

fn state_row(r: &Row<'_>, first: usize) -> rusqlite::Result<StateRow> {
    Ok((
        r.get(first)?,
        r.get(first + 1)?,
        r.get(first + 2)?,
        r.get(first + 3)?,
        r.get(first + 4)?,
        r.get(first + 5)?,
    ))
}

fn delivery(
    key: DeliveryKey,
    (status, attempts, provider_id, error, segments, at): StateRow,
) -> Result<Delivery, StoreError> {
    Ok(Delivery {
        key,
        status: parse_status(&status)?,
        attempts: attempts as u32,
        provider_id,
        error,
        segments: segments as u32,
        updated_at: from_micros(at)?,
        claim: None,
    })
}

const STATE_COLUMNS: &str = "status, attempts, provider_id, error, segments, updated_at";

#[async_trait]
impl DeliveryStore for SqliteStore {
    async fn create_batch(
        &self,
        deliveries: &[NewDelivery],
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        let news = deliveries.to_vec();
        let now = micros(self.clock.now());
        self.db
            .write(move |tx| {
                let mut insert = tx
                    .prepare_cached(
                        "INSERT INTO deliveries (campaign_id, subscriber_id, channel, status, error, updated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
                    )
                    .map_err(sql_err)?;
                let mut existing = tx
                    .prepare_cached(
                        "SELECT status FROM deliveries WHERE campaign_id = ?1 AND subscriber_id = ?2 AND channel = ?3",
                    )
                    .map_err(sql_err)?;
                let mut out = Vec::with_capacity(news.len());
                for n in &news {
                    let (campaign, subscriber, channel) = key_args(&n.key);
                    let created = insert
                        .execute(params![campaign, subscriber, channel, n.status.as_str(), n.error, now])
                        .map_err(sql_err)?;
                    if created == 1 {
                        out.push(CreateOutcome::Created);
                    } else {
                        let status: String = existing
                            .query_row(params![campaign, subscriber, channel], |r| r.get(0))
                            .map_err(sql_err)?;
                        out.push(CreateOutcome::Exists(parse_status(&status)?));
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn claim(&self, keys: &[DeliveryKey]) -> Result<Claims, StoreError> {
        if keys.is_empty() {
            return Ok(Claims::default());
        }
        let mut seen = HashSet::new();
        let keys: Vec<DeliveryKey> = keys.iter().copied().filter(|k| seen.insert(*k)).collect();
        let now = micros(self.clock.now());
        let at = from_micros(now)?;
        self.db
            .write(move |tx| {
                // An absent delivery (nearly every one) is created claimed: its state is known,
                // so the insert returns nothing (a RETURNING clause costs a temporary table per
                // statement). A queued one (a retry) moves. Any other state stays: of two
                // consumers holding the same job, one wins.
                let mut create = tx
                    .prepare_cached(
                        "INSERT INTO deliveries (campaign_id, subscriber_id, channel, status, attempts, updated_at)
                         VALUES (?1, ?2, ?3, 'sending', 1, ?4)
                         ON CONFLICT (campaign_id, subscriber_id, channel) DO NOTHING",
                    )
                    .map_err(sql_err)?;
                let mut retake = tx
                    .prepare_cached(&format!(
                        "UPDATE deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ?4
                         WHERE campaign_id = ?1 AND subscriber_id = ?2 AND channel = ?3 AND status = 'queued'
                         RETURNING seq, {STATE_COLUMNS}"
                    ))
                    .map_err(sql_err)?;
                let mut found = tx
                    .prepare_cached(&format!(
                        "SELECT seq, {STATE_COLUMNS} FROM deliveries
                         WHERE campaign_id = ?1 AND subscriber_id = ?2 AND channel = ?3 AND status = 'sending'"
                    ))
                    .map_err(sql_err)?;
                // The claim is the row's `seq`: its outcome is written through the row.
                let claimed = |key: DeliveryKey, (seq, row): (i64, StateRow)| {
                    delivery(key, row).map(|d| Delivery {
                        claim: Some(seq.to_string()),
                        ..d
                    })
                };
                let mut claims = Claims::default();
                for k in &keys {
                    let (campaign, subscriber, channel) = key_args(k);
                    if create
                        .execute(params![campaign, subscriber, channel, now])
                        .map_err(sql_err)?
                        == 1
                    {
                        claims.won.push(Delivery {
                            key: *k,
                            status: DeliveryStatus::Sending,
                            attempts: 1,
                            provider_id: None,
                            error: None,
                            segments: 0,
                            updated_at: at,
                            claim: Some(tx.last_insert_rowid().to_string()),
                        });
                    } else if let Some((seq, row)) = retake
                        .query_row(params![campaign, subscriber, channel, now], |r| {
                            Ok((r.get::<_, i64>(0)?, state_row(r, 1)?))
                        })
                        .optional()
                        .map_err(sql_err)?
                    {
                        claims.won.push(claimed(*k, (seq, row))?);
                    } else if let Some(row) = found
                        .query_row(params![campaign, subscriber, channel], |r| {
                            Ok((r.get::<_, i64>(0)?, state_row(r, 1)?))
                        })
                        .optional()
                        .map_err(sql_err)?
                    {
                        claims.held.push(claimed(*k, row)?);
                    }
                }
                Ok(claims)
            })
            .await
    }

    async fn send_again(&self, deliveries: &[Delivery]) -> Result<Vec<bool>, StoreError> {
        if deliveries.is_empty() {
            return Ok(Vec::new());
        }
        let deliveries: Vec<(DeliveryKey, DeliveryStatus)> =
            deliveries.iter().map(|d| (d.key, d.status)).collect();
        let now = micros(self.clock.now());
        self.db
            .write(move |tx| {
                let mut back = tx
                    .prepare_cached(
                        "UPDATE deliveries SET status = 'queued', updated_at = ?5
                         WHERE campaign_id = ?1 AND subscriber_id = ?2 AND channel = ?3
                           AND status = ?4 AND status NOT IN ('queued', 'sending')",
                    )
                    .map_err(sql_err)?;
                let mut forget = tx
                    .prepare_cached(
                        "DELETE FROM reach_reports
                         WHERE campaign_id = ?1 AND subscriber_id = ?2 AND channel = ?3",
                    )
                    .map_err(sql_err)?;
                let mut moved = Vec::with_capacity(deliveries.len());
                for (k, status) in &deliveries {
                    let (campaign, subscriber, channel) = key_args(k);
                    let changed = back
                        .execute(params![campaign, subscriber, channel, status.as_str(), now])
                        .map_err(sql_err)?;
                    if changed == 1 {
                        forget
                            .execute(params![campaign, subscriber, channel])
                            .map_err(sql_err)?;
                    }
                    moved.push(changed == 1);
                }
                Ok(moved)
            })
            .await
    }

    async fn fail_stale(
        &self,
        held: &[Delivery],
        error: &str,
    ) -> Result<Vec<DeliveryKey>, StoreError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let held: Vec<(DeliveryKey, i64)> =
            held.iter().map(|d| (d.key, micros(d.updated_at))).collect();
        let error = error.to_owned();
        let now = micros(self.clock.now());
        self.db
            .write(move |tx| {
                // The claim instant identifies the claim: a delivery claimed again since (or
                // finished) is left alone.
                let mut st = tx
                    .prepare_cached(
                        "UPDATE deliveries SET status = 'failed', error = ?4, updated_at = ?5
                         WHERE campaign_id = ?1 AND subscriber_id = ?2 AND channel = ?3
                           AND status = 'sending' AND updated_at = ?6",
                    )
                    .map_err(sql_err)?;
                let mut changed = Vec::new();
                for (k, claimed_at) in &held {
                    let (campaign, subscriber, channel) = key_args(k);
                    if st
                        .execute(params![
                            campaign, subscriber, channel, error, now, claimed_at
                        ])
                        .map_err(sql_err)?
                        == 1
                    {
                        changed.push(*k);
                    }
                }
                Ok(changed)
            })
            .await
    }

    async fn finish(&self, results: &[(Delivery, DeliveryResult)]) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let results = outcomes(results);
        let now = micros(self.clock.now());
        self.db.write(move |tx| finish_in(tx, &results, now)).await
    }

    async fn finish_and_count(
        &self,
        results: &[(Delivery, DeliveryResult)],
        campaigns: &[(CampaignId, ProgressDelta)],
        month: Month,
        counters: &[(Counter, i64)],
    ) -> Result<Vec<(CampaignId, CampaignProgress)>, StoreError> {
        if results.is_empty() && campaigns.is_empty() && counters.is_empty() {
            return Ok(Vec::new());
        }
        let results = outcomes(results);
        let (campaigns, counters) = (campaigns.to_vec(), counters.to_vec());
        let now = micros(self.clock.now());
        self.db
            .write(move |tx| {
                finish_in(tx, &results, now)?;
                let progress = campaigns
                    .iter()
                    .map(|(id, delta)| Ok((*id, add_progress_in(tx, *id, delta, now)?)))
                    .collect::<Result<Vec<_>, StoreError>>()?;
                add_many_in(tx, month, &counters)?;
                Ok(progress)
            })
            .await
    }

    async fn list_after(
        &self,
        campaign: CampaignId,
        after: Option<DeliveryKey>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let (subscriber, channel) = after
            .map(|k| (k.subscriber.to_string(), k.channel.as_str()))
            .unwrap_or_default();
        let rows = self
            .db
            .call(move |c| {
                let mut st = c
                    .prepare_cached(&format!(
                        "SELECT subscriber_id, channel, {STATE_COLUMNS} FROM deliveries
                         WHERE campaign_id = ?1 AND (subscriber_id, channel) > (?2, ?3)
                         ORDER BY subscriber_id, channel LIMIT ?4"
                    ))
                    .map_err(sql_err)?;
                let rows = st
                    .query_map(
                        params![campaign.to_string(), subscriber, channel, sql_int(limit)],
                        |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                state_row(r, 2)?,
                            ))
                        },
                    )
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        deliveries_of(campaign, rows)
    }

    async fn list(
        &self,
        campaign: CampaignId,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let rows = self
            .db
            .call(move |c| {
                let mut st = c
                    .prepare_cached(&format!(
                        "SELECT subscriber_id, channel, {STATE_COLUMNS} FROM deliveries WHERE campaign_id = ?1
                         ORDER BY subscriber_id, channel LIMIT ?2 OFFSET ?3"
                    ))
                    .map_err(sql_err)?;
                let rows = st
                    .query_map(params![campaign.to_string(), sql_int(limit), sql_int(offset)], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, state_row(r, 2)?))
                    })
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        deliveries_of(campaign, rows)
    }
}

/// Deliveries of `campaign` from their rows (subscriber, channel, state).
fn deliveries_of(
    campaign: CampaignId,
    rows: Vec<(String, String, StateRow)>,
) -> Result<Vec<Delivery>, StoreError> {
    rows.into_iter()
        .map(|(subscriber, channel, state)| {
            let subscriber = SubscriberId::from_str(&subscriber)
                .ok()
                .ok_or_else(|| corrupt("subscriber id", &subscriber))?;
            delivery(
                DeliveryKey {
                    campaign,
                    subscriber,
                    channel: parse_channel(&channel)?,
                },
                state,
            )
        })
        .collect()
}

/// A batch's outcomes as [`finish_in`] records them: the key, the row the claim gave (its
/// `seq`, when the claim was this store's), the result.
type Outcome = (DeliveryKey, Option<i64>, DeliveryResult);

fn outcomes(results: &[(Delivery, DeliveryResult)]) -> Vec<Outcome> {
    results
        .iter()
        .map(|(d, r)| {
            let seq = d.claim.as_deref().and_then(|c| c.parse().ok());
            (d.key, seq, r.clone())
        })
        .collect()
}

/// An outcome written (a send after a retry keeps the last error as history: COALESCE)…
macro_rules! finish_set {
    () => {
        "UPDATE deliveries SET status = ?4, provider_id = COALESCE(?5, provider_id),
            segments = COALESCE(?6, segments), error = COALESCE(?7, error), updated_at = ?8,
            attempts = attempts - ?9 "
    };
}

/// … to a delivery found by its key…
const FINISH_BY_KEY: &str = concat!(
    finish_set!(),
    "WHERE campaign_id = ?1 AND subscriber_id = ?2 AND channel = ?3 AND status = 'sending'"
);

/// … or by its row (`seq`, the claim), its key checked too.
const FINISH_BY_ROW: &str = concat!(
    finish_set!(),
    "WHERE seq = ?10 AND campaign_id = ?1 AND subscriber_id = ?2 AND channel = ?3
       AND status = 'sending'"
);

/// Records outcomes inside the caller's transaction. Only a claimed delivery is finished, so a
/// late duplicate cannot undo an outcome. A delivery this store claimed is found by its row
/// (the claim's `seq`, the key checked too) rather than through the key's index.
fn finish_in(tx: &rusqlite::Connection, results: &[Outcome], now: i64) -> Result<(), StoreError> {
    // A send after a retry keeps the last error as history (COALESCE).
    let mut by_key = tx.prepare_cached(FINISH_BY_KEY).map_err(sql_err)?;
    let mut by_row = tx.prepare_cached(FINISH_BY_ROW).map_err(sql_err)?;
    for (k, seq, r) in results {
        let (campaign, subscriber, channel) = key_args(k);
        // A wait gives back the attempt the claim counted.
        let given_back = i64::from(matches!(r, DeliveryResult::Wait { .. }));
        let (status, provider_id, segments, error) = match r {
            DeliveryResult::Sent {
                provider_id,
                segments,
            } => (
                DeliveryStatus::Sent,
                provider_id.as_deref(),
                Some(*segments),
                None,
            ),
            DeliveryResult::Failed { error } => {
                (DeliveryStatus::Failed, None, None, Some(error.as_str()))
            }
            DeliveryResult::Unknown { error } => {
                (DeliveryStatus::Unknown, None, None, Some(error.as_str()))
            }
            DeliveryResult::Suppressed { reason } => (
                DeliveryStatus::Suppressed,
                None,
                None,
                Some(reason.as_str()),
            ),
            DeliveryResult::Expired { reason } => {
                (DeliveryStatus::Expired, None, None, Some(reason.as_str()))
            }
            // Attempts were counted by the claim; the job's redelivery claims it again.
            DeliveryResult::Retry { error } | DeliveryResult::Wait { error } => {
                (DeliveryStatus::Queued, None, None, Some(error.as_str()))
            }
        };
        let status = status.as_str();
        let outcome = params![
            campaign,
            subscriber,
            channel,
            status,
            provider_id,
            segments,
            error,
            now,
            given_back
        ];
        match seq {
            Some(seq) => by_row.execute(rusqlite::params_from_iter(
                outcome.iter().chain([&seq as &dyn rusqlite::ToSql].iter()),
            )),
            None => by_key.execute(outcome),
        }
        .map_err(sql_err)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[tokio::test]
    async fn an_outcome_is_written_through_the_claimed_row_without_the_key_index() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("t.sqlite")).unwrap();
        let plan = |sql: &'static str| {
            let db = db.clone();
            async move {
                db.call(move |c| {
                    let mut st = c
                        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                        .map_err(sql_err)?;
                    let n = st.parameter_count();
                    let args = (1..=n).map(|i| i64::try_from(i).unwrap_or(0));
                    let rows = st
                        .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
                        .map_err(sql_err)?;
                    rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
                })
                .await
                .unwrap()
                .join(" / ")
            }
        };
        let by_row = plan(FINISH_BY_ROW).await;
        assert!(by_row.contains("INTEGER PRIMARY KEY"), "{by_row}");
        assert!(!by_row.contains("INDEX"), "{by_row}");
        let by_key = plan(FINISH_BY_KEY).await;
        assert!(by_key.contains("INDEX"), "{by_key}");
    }
}
