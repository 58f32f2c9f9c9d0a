//! Who was reached and who is safe: providers' reports per delivery and residents' answers,
//! one row each, keyed by campaign first (the crisis view reads a campaign's whole range).

use std::str::FromStr;

use async_trait::async_trait;
use rusqlite::params;
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::delivery::DeliveryKey;
use telmail_core::domain::reach::{Acknowledgement, Answer, ReachOutcome, ReachReport};
use telmail_core::domain::subscriber::SubscriberId;
use telmail_core::error::StoreError;
use telmail_core::ports::ReachStore;

use super::{corrupt, parse_channel, SqliteStore};
use crate::db::{from_micros, micros, sql_err};

fn subscriber(raw: &str) -> Result<SubscriberId, StoreError> {
    SubscriberId::from_str(raw).map_err(|e| corrupt("subscriber id", e))
}

#[async_trait]
impl ReachStore for SqliteStore {
    async fn record_reach(&self, reports: &[ReachReport]) -> Result<(), StoreError> {
        if reports.is_empty() {
            return Ok(());
        }
        let reports = reports.to_vec();
        self.db
            .write(move |tx| {
                let mut st = tx
                    .prepare_cached(
                        "INSERT INTO reach_reports (campaign_id, subscriber_id, channel, outcome, at)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (campaign_id, subscriber_id, channel)
                         DO UPDATE SET outcome = excluded.outcome, at = excluded.at",
                    )
                    .map_err(sql_err)?;
                for r in &reports {
                    st.execute(params![
                        r.key.campaign.to_string(),
                        r.key.subscriber.to_string(),
                        r.key.channel.as_str(),
                        r.outcome.as_str(),
                        micros(r.at)
                    ])
                    .map_err(sql_err)?;
                }
                Ok(())
            })
            .await
    }

    async fn reach_reports(&self, campaign: CampaignId) -> Result<Vec<ReachReport>, StoreError> {
        let rows: Vec<(String, String, String, i64)> = self
            .db
            .call(move |c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT subscriber_id, channel, outcome, at FROM reach_reports
                         WHERE campaign_id = ?1 ORDER BY subscriber_id, channel",
                    )
                    .map_err(sql_err)?;
                let rows = st
                    .query_map([campaign.to_string()], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        rows.into_iter()
            .map(|(who, channel, outcome, at)| {
                Ok(ReachReport {
                    key: DeliveryKey {
                        campaign,
                        subscriber: subscriber(&who)?,
                        channel: parse_channel(&channel)?,
                    },
                    outcome: ReachOutcome::from_str(&outcome)
                        .map_err(|e| corrupt("reach outcome", e))?,
                    at: from_micros(at)?,
                })
            })
            .collect()
    }

    async fn acknowledge(&self, ack: &Acknowledgement) -> Result<(), StoreError> {
        let ack = ack.clone();
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "INSERT INTO acknowledgements (campaign_id, subscriber_id, answer, at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (campaign_id, subscriber_id)
                     DO UPDATE SET answer = excluded.answer, at = excluded.at",
                )
                .and_then(|mut st| {
                    st.execute(params![
                        ack.campaign.to_string(),
                        ack.subscriber.to_string(),
                        ack.answer.as_str(),
                        micros(ack.at)
                    ])
                })
                .map(|_| ())
                .map_err(sql_err)
            })
            .await
    }

    async fn acknowledgement(
        &self,
        campaign: CampaignId,
        who: SubscriberId,
    ) -> Result<Option<Acknowledgement>, StoreError> {
        Ok(self.acks(campaign, Some(who)).await?.into_iter().next())
    }

    async fn acknowledgements(
        &self,
        campaign: CampaignId,
    ) -> Result<Vec<Acknowledgement>, StoreError> {
        self.acks(campaign, None).await
    }
}

impl SqliteStore {
    /// A campaign's answers, or one resident's.
    async fn acks(
        &self,
        campaign: CampaignId,
        who: Option<SubscriberId>,
    ) -> Result<Vec<Acknowledgement>, StoreError> {
        let rows: Vec<(String, String, i64)> = self
            .db
            .call(move |c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT subscriber_id, answer, at FROM acknowledgements
                         WHERE campaign_id = ?1 AND (?2 IS NULL OR subscriber_id = ?2)
                         ORDER BY subscriber_id",
                    )
                    .map_err(sql_err)?;
                let rows = st
                    .query_map(
                        params![campaign.to_string(), who.map(|w| w.to_string())],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        rows.into_iter()
            .map(|(who, answer, at)| {
                Ok(Acknowledgement {
                    campaign,
                    subscriber: subscriber(&who)?,
                    answer: Answer::from_str(&answer).map_err(|e| corrupt("answer", e))?,
                    at: from_micros(at)?,
                })
            })
            .collect()
    }
}
