//! Campaigns (JSON beside the columns lists and the scheduler query), their audit trail, their
//! counters and the fan-out shards already done.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use telmail_core::domain::campaign::{Campaign, CampaignEvent, CampaignId, CampaignStatus};
use telmail_core::domain::delivery::{CampaignProgress, Progress, ProgressDelta};
use telmail_core::domain::queue::FanoutCursor;
use telmail_core::domain::reputation::{EmailFeedback, FeedbackCounts};
use telmail_core::error::StoreError;
use telmail_core::ports::CampaignStore;

use super::{corrupt, from_json, sql_int, to_json, SqliteStore};
use crate::db::{micros, sql_err};

fn campaign(json: &str) -> Result<Campaign, StoreError> {
    from_json("campaign", json)
}

fn campaigns(rows: Vec<String>) -> Result<Vec<Campaign>, StoreError> {
    rows.iter().map(|j| campaign(j)).collect()
}

fn append_event(tx: &Transaction<'_>, id: &str, event: &CampaignEvent) -> Result<(), StoreError> {
    let json = to_json(event)?;
    tx.prepare_cached("INSERT INTO campaign_events (campaign_id, event) VALUES (?1, ?2)")
        .and_then(|mut st| st.execute([id, &json]))
        .map(|_| ())
        .map_err(sql_err)
}

/// Runs a query returning one JSON column.
fn json_rows<P: rusqlite::Params>(
    c: &rusqlite::Connection,
    sql: &str,
    args: P,
) -> Result<Vec<String>, StoreError> {
    let mut st = c.prepare_cached(sql).map_err(sql_err)?;
    let rows = st
        .query_map(args, |r| r.get::<_, String>(0))
        .map_err(sql_err)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
}

fn progress_row(r: &Row<'_>) -> rusqlite::Result<CampaignProgress> {
    let mut values = [0i64; 10];
    for (i, v) in values.iter_mut().enumerate() {
        *v = r.get(i)?;
    }
    let mut voice = [0i64; 4];
    for (i, v) in voice.iter_mut().enumerate() {
        *v = r.get(13 + i)?;
    }
    Ok(CampaignProgress {
        totals: Progress::from_values(values).with_voice(voice),
        shards_done: r.get::<_, i64>(10)? as u32,
        feedback: FeedbackCounts {
            bounces: r.get::<_, i64>(11)? as u64,
            complaints: r.get::<_, i64>(12)? as u64,
        },
        progressed_at: r
            .get::<_, Option<i64>>(17)?
            .and_then(DateTime::from_timestamp_micros),
    })
}

#[async_trait]
impl CampaignStore for SqliteStore {
    async fn insert(&self, campaign: &Campaign, event: &CampaignEvent) -> Result<(), StoreError> {
        let c = campaign.clone();
        let event = event.clone();
        self.db
            .write(move |tx| {
                let id = c.id.to_string();
                let json = to_json(&c)?;
                tx.prepare_cached(
                    "INSERT INTO campaigns (id, status, created_at, send_at, campaign, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut st| {
                    st.execute(params![id, c.status().as_str(), micros(c.created_at), c.send_at.map(micros), json, c.version])
                })
                .map_err(sql_err)?;
                tx.prepare_cached("INSERT INTO campaign_progress (campaign_id) VALUES (?1)")
                    .and_then(|mut st| st.execute([&id]))
                    .map_err(sql_err)?;
                append_event(tx, &id, &event)
            })
            .await
    }

    async fn get(&self, id: CampaignId) -> Result<Option<Campaign>, StoreError> {
        let json = self
            .db
            .call(move |c| {
                c.prepare_cached("SELECT campaign FROM campaigns WHERE id = ?1")
                    .and_then(|mut st| {
                        st.query_row([id.to_string()], |r| r.get::<_, String>(0))
                            .optional()
                    })
                    .map_err(sql_err)
            })
            .await?;
        json.as_deref().map(campaign).transpose()
    }

    async fn status(&self, id: CampaignId) -> Result<Option<CampaignStatus>, StoreError> {
        let status = self
            .db
            .call(move |c| {
                c.prepare_cached("SELECT status FROM campaigns WHERE id = ?1")
                    .and_then(|mut st| {
                        st.query_row([id.to_string()], |r| r.get::<_, String>(0))
                            .optional()
                    })
                    .map_err(sql_err)
            })
            .await?;
        status
            .map(|s| CampaignStatus::from_str(&s).map_err(|e| corrupt("campaign status", e)))
            .transpose()
    }

    async fn update(
        &self,
        campaign: &Campaign,
        read_version: u32,
        event: &CampaignEvent,
    ) -> Result<(), StoreError> {
        let c = campaign.clone();
        let event = event.clone();
        self.db
            .write(move |tx| {
                let id = c.id.to_string();
                let json = to_json(&c)?;
                // Compare-and-set on the stored version: of two concurrent writes, one wins.
                let changed = tx
                    .prepare_cached(
                        "UPDATE campaigns SET status = ?2, created_at = ?3, send_at = ?4, campaign = ?5,
                         version = ?7 WHERE id = ?1 AND version = ?6",
                    )
                    .and_then(|mut st| {
                        st.execute(params![
                            id,
                            c.status().as_str(),
                            micros(c.created_at),
                            c.send_at.map(micros),
                            json,
                            read_version,
                            c.version
                        ])
                    })
                    .map_err(sql_err)?;
                if changed == 0 {
                    return Err(StoreError::Conflict(format!(
                        "campaign {id} is no longer at version {read_version} (or does not exist)"
                    )));
                }
                append_event(tx, &id, &event)
            })
            .await
    }

    async fn list(
        &self,
        status: Option<CampaignStatus>,
        limit: usize,
    ) -> Result<Vec<Campaign>, StoreError> {
        let limit = sql_int(limit);
        let rows = self
            .db
            .call(move |c| match status {
                Some(s) => json_rows(
                    c,
                    "SELECT campaign FROM campaigns WHERE status = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2",
                    params![s.as_str(), limit],
                ),
                None => json_rows(
                    c,
                    "SELECT campaign FROM campaigns ORDER BY created_at DESC, id DESC LIMIT ?1",
                    [limit],
                ),
            })
            .await?;
        campaigns(rows)
    }

    async fn events(&self, id: CampaignId) -> Result<Vec<CampaignEvent>, StoreError> {
        let rows = self
            .db
            .call(move |c| {
                json_rows(
                    c,
                    "SELECT event FROM campaign_events WHERE campaign_id = ?1 ORDER BY id",
                    [id.to_string()],
                )
            })
            .await?;
        rows.iter()
            .map(|j| from_json("campaign event", j))
            .collect()
    }

    async fn due(&self, now: DateTime<Utc>) -> Result<Vec<Campaign>, StoreError> {
        let rows = self
            .db
            .call(move |c| {
                json_rows(
                    c,
                    "SELECT campaign FROM campaigns WHERE status = 'scheduled' AND send_at <= ?1 ORDER BY send_at",
                    [micros(now)],
                )
            })
            .await?;
        campaigns(rows)
    }

    async fn add_progress(
        &self,
        id: CampaignId,
        delta: &ProgressDelta,
    ) -> Result<CampaignProgress, StoreError> {
        let (delta, now) = (*delta, micros(self.clock.now()));
        self.db
            .write(move |tx| add_progress_in(tx, id, &delta, now))
            .await
    }

    async fn progress(&self, id: CampaignId) -> Result<CampaignProgress, StoreError> {
        self.db
            .call(move |c| read_progress(c, &id.to_string()))
            .await
    }

    async fn stamp_progress(&self, id: CampaignId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let at = micros(at);
        self.db
            .write(move |tx| {
                tx.prepare_cached(
                    "UPDATE campaign_progress SET progressed_at = ?2 WHERE campaign_id = ?1",
                )
                .and_then(|mut st| st.execute(params![id.to_string(), at]))
                .map_err(sql_err)?;
                Ok(())
            })
            .await
    }

    async fn mark_shard_done(
        &self,
        id: CampaignId,
        shard: u32,
        counted: &ProgressDelta,
    ) -> Result<CampaignProgress, StoreError> {
        let (v, voice) = (counted.values(), counted.voice_values());
        let now = micros(self.clock.now());
        self.db
            .write(move |tx| {
                let id = id.to_string();
                // A redelivered fan-out job marks its shard again: counted once.
                let newly = tx
                    .prepare_cached("INSERT OR IGNORE INTO campaign_shards_done (campaign_id, shard) VALUES (?1, ?2)")
                    .and_then(|mut st| st.execute(params![id, shard]))
                    .map_err(sql_err)?;
                if newly == 1 {
                    add_counters(tx, &id, v, now)?;
                    add_voice_counters(tx, &id, voice)?;
                }
                read_progress(tx, &id)
            })
            .await
    }

    async fn add_email_feedback(
        &self,
        id: CampaignId,
        feedback: EmailFeedback,
    ) -> Result<Option<CampaignProgress>, StoreError> {
        let column = match feedback {
            EmailFeedback::Bounce => "email_bounces",
            EmailFeedback::Complaint => "email_complaints",
        };
        self.db
            .write(move |tx| {
                let id = id.to_string();
                let changed = tx
                    .prepare_cached(&format!(
                        "UPDATE campaign_progress SET {column} = {column} + 1 WHERE campaign_id = ?1"
                    ))
                    .and_then(|mut st| st.execute([&id]))
                    .map_err(sql_err)?;
                if changed == 0 {
                    return Ok(None);
                }
                read_progress(tx, &id).map(Some)
            })
            .await
    }

    async fn mark_slice_done(
        &self,
        id: CampaignId,
        shard: u32,
        slice: u32,
        next: Option<&FanoutCursor>,
    ) -> Result<bool, StoreError> {
        let next = next.map(to_json).transpose()?;
        let now = micros(self.clock.now());
        self.db
            .write(move |tx| {
                let id = id.to_string();
                let newly = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO fanout_slices_done (campaign_id, shard, slice) VALUES (?1, ?2, ?3)",
                    )
                    .and_then(|mut st| st.execute(params![id, shard, slice]))
                    .map_err(sql_err)?;
                if let Some(cursor) = next {
                    tx.prepare_cached(
                        "INSERT INTO fanout_resume (campaign_id, shard, slice, cursor) VALUES (?1, ?2, ?3, ?4)
                         ON CONFLICT (campaign_id, shard) DO UPDATE SET slice = excluded.slice, cursor = excluded.cursor
                         WHERE excluded.slice > fanout_resume.slice",
                    )
                    .and_then(|mut st| st.execute(params![id, shard, slice + 1, cursor]))
                    .map_err(sql_err)?;
                }
                tx.prepare_cached("UPDATE campaign_progress SET progressed_at = ?2 WHERE campaign_id = ?1")
                    .and_then(|mut st| st.execute(params![id, now]))
                    .map_err(sql_err)?;
                Ok(newly == 1)
            })
            .await
    }

    async fn fanout_resume(
        &self,
        id: CampaignId,
        shard: u32,
    ) -> Result<Option<(u32, FanoutCursor)>, StoreError> {
        let row: Option<(u32, String)> =
            self.db
                .call(move |c| {
                    c.prepare_cached(
                    "SELECT slice, cursor FROM fanout_resume WHERE campaign_id = ?1 AND shard = ?2",
                )
                .and_then(|mut st| {
                    st.query_row(params![id.to_string(), shard], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(sql_err)
                })
                .await?;
        row.map(|(slice, cursor)| Ok((slice, from_json("fan-out cursor", &cursor)?)))
            .transpose()
    }

    async fn slice_done(&self, id: CampaignId, shard: u32, slice: u32) -> Result<bool, StoreError> {
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "SELECT 1 FROM fanout_slices_done WHERE campaign_id = ?1 AND shard = ?2 AND slice = ?3",
                )
                .and_then(|mut st| st.exists(params![id.to_string(), shard, slice]))
                .map_err(sql_err)
            })
            .await
    }
}

/// Adds to a campaign's counters (at `now`, unix microseconds) inside the caller's
/// transaction; the counters after.
pub(super) fn add_progress_in(
    c: &rusqlite::Connection,
    id: CampaignId,
    delta: &ProgressDelta,
    now: i64,
) -> Result<CampaignProgress, StoreError> {
    let id = id.to_string();
    add_counters(c, &id, delta.values(), now)?;
    add_voice_counters(c, &id, delta.voice_values())?;
    read_progress(c, &id)
}

/// Adds to a campaign's counters, in the order of `Progress::COUNTERS`.
fn add_counters(
    c: &rusqlite::Connection,
    id: &str,
    v: [i64; 10],
    now: i64,
) -> Result<(), StoreError> {
    let changed = c
        .prepare_cached(
            "UPDATE campaign_progress SET
                email_targeted = email_targeted + ?2, email_sent = email_sent + ?3,
                email_failed = email_failed + ?4, email_suppressed = email_suppressed + ?5,
                sms_targeted = sms_targeted + ?6, sms_sent = sms_sent + ?7,
                sms_failed = sms_failed + ?8, sms_suppressed = sms_suppressed + ?9,
                sms_segments = sms_segments + ?10,
                cost_ten_thousandths = cost_ten_thousandths + ?11,
                progressed_at = ?12
             WHERE campaign_id = ?1",
        )
        .and_then(|mut st| {
            st.execute(params![
                id, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], now
            ])
        })
        .map_err(sql_err)?;
    if changed == 0 {
        return Err(StoreError::Backend(format!(
            "no counters for unknown campaign {id}"
        )));
    }
    Ok(())
}

/// Adds to a campaign's voice counters, in the order of `Progress::VOICE_COUNTERS` (no write
/// when there is nothing to add: campaigns without calls cost no more than before).
fn add_voice_counters(c: &rusqlite::Connection, id: &str, v: [i64; 4]) -> Result<(), StoreError> {
    if v == [0; 4] {
        return Ok(());
    }
    c.prepare_cached(
        "UPDATE campaign_progress SET
            voice_targeted = voice_targeted + ?2, voice_sent = voice_sent + ?3,
            voice_failed = voice_failed + ?4, voice_suppressed = voice_suppressed + ?5
         WHERE campaign_id = ?1",
    )
    .and_then(|mut st| st.execute(params![id, v[0], v[1], v[2], v[3]]))
    .map(|_| ())
    .map_err(sql_err)
}

/// A campaign's counters and shards done (an unknown campaign has counted nothing).
fn read_progress(c: &rusqlite::Connection, id: &str) -> Result<CampaignProgress, StoreError> {
    c.prepare_cached(
        "SELECT email_targeted, email_sent, email_failed, email_suppressed,
                sms_targeted, sms_sent, sms_failed, sms_suppressed,
                sms_segments, cost_ten_thousandths,
                (SELECT COUNT(*) FROM campaign_shards_done d WHERE d.campaign_id = p.campaign_id),
                email_bounces, email_complaints,
                voice_targeted, voice_sent, voice_failed, voice_suppressed, progressed_at
         FROM campaign_progress p WHERE campaign_id = ?1",
    )
    .and_then(|mut st| st.query_row([id], progress_row).optional())
    .map(Option::unwrap_or_default)
    .map_err(sql_err)
}
