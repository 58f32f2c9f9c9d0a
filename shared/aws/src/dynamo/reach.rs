//! Who was reached and who is safe, kept with the campaign: one partition per campaign
//! (`REACH#<campaign>`), an item per provider report (`OUT#<subscriber>#<channel>`) and per
//! answer (`ACK#<subscriber>`). The crisis view reads the partition with one Query; erasing a
//! resident deletes their keys in every campaign that can hold them.

use std::str::FromStr;

use async_trait::async_trait;
use futures_util::{StreamExt, TryStreamExt};
use telmail_core::domain::campaign::{CampaignId, CampaignStatus};
use telmail_core::domain::contact::Channel;
use telmail_core::domain::delivery::DeliveryKey;
use telmail_core::domain::reach::{Acknowledgement, Answer, ReachOutcome, ReachReport};
use telmail_core::domain::subscriber::SubscriberId;
use telmail_core::error::StoreError;
use telmail_core::ports::ReachStore;

use super::items::{self, s, Fields, Item};
use super::keys;
use super::DynamoStore;
use crate::errors::store_error;

const REACH_PREFIX: &str = "REACH#";
const OUTCOME_PREFIX: &str = "OUT#";
const ACK_PREFIX: &str = "ACK#";

fn partition(campaign: CampaignId) -> String {
    format!("{REACH_PREFIX}{campaign}")
}

fn outcome_key(key: &DeliveryKey) -> Item {
    items::key(
        partition(key.campaign),
        format!(
            "{OUTCOME_PREFIX}{}#{}",
            key.subscriber,
            key.channel.as_str()
        ),
    )
}

impl DynamoStore {
    /// Forgets the provider's report on a delivery (it is to be sent again).
    pub(super) async fn forget_reach_report(&self, key: &DeliveryKey) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(outcome_key(key)))
            .send()
            .await
            .map_err(|e| store_error("DynamoDB DeleteItem (reach report)", e))?;
        Ok(())
    }
}

fn ack_key(campaign: CampaignId, who: SubscriberId) -> Item {
    items::key(partition(campaign), format!("{ACK_PREFIX}{who}"))
}

fn sort_key<'a>(f: &Fields<'a>) -> Result<&'a str, StoreError> {
    f.0.get("sk")
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| f.malformed("no sort key"))
}

fn subscriber(f: &Fields<'_>, raw: &str) -> Result<SubscriberId, StoreError> {
    SubscriberId::from_str(raw).map_err(|_| f.malformed("bad subscriber id"))
}

fn report(campaign: CampaignId, item: &Item) -> Result<Option<ReachReport>, StoreError> {
    let f = Fields(item);
    let Some(rest) = sort_key(&f)?.strip_prefix(OUTCOME_PREFIX) else {
        return Ok(None);
    };
    let (who, channel) = rest
        .split_once('#')
        .ok_or_else(|| f.malformed("bad report key"))?;
    Ok(Some(ReachReport {
        key: DeliveryKey {
            campaign,
            subscriber: subscriber(&f, who)?,
            channel: Channel::from_str(channel).map_err(|_| f.malformed("bad channel"))?,
        },
        outcome: ReachOutcome::from_str(f.str("outcome")?)
            .map_err(|_| f.malformed("bad outcome"))?,
        at: keys::parse_stamp(f.str("at")?, &f.key())?,
    }))
}

fn acknowledgement(
    campaign: CampaignId,
    item: &Item,
) -> Result<Option<Acknowledgement>, StoreError> {
    let f = Fields(item);
    let Some(who) = sort_key(&f)?.strip_prefix(ACK_PREFIX) else {
        return Ok(None);
    };
    Ok(Some(Acknowledgement {
        campaign,
        subscriber: subscriber(&f, who)?,
        answer: Answer::from_str(f.str("answer")?).map_err(|_| f.malformed("bad answer"))?,
        at: keys::parse_stamp(f.str("at")?, &f.key())?,
    }))
}

impl DynamoStore {
    /// A campaign's items of one kind, in key order.
    async fn reach_items<T>(
        &self,
        campaign: CampaignId,
        prefix: &str,
        keep: impl FnMut(&Item) -> Result<Option<T>, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(partition(campaign)))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true);
        items::query(q, usize::MAX, keep).await
    }

    /// Deletes a resident's reports and answers in every campaign that may hold some (those
    /// that sent, or were stopped while sending).
    pub(super) async fn erase_reach(&self, id: SubscriberId) -> Result<(), StoreError> {
        let campaigns = self
            .campaign_ids_in(&[
                CampaignStatus::Sending,
                CampaignStatus::Sent,
                CampaignStatus::Cancelled,
            ])
            .await?;
        let mut deletes = Vec::with_capacity(campaigns.len() * 4);
        for campaign in campaigns {
            deletes.push(items::delete_request(ack_key(campaign, id))?);
            for channel in Channel::ALL {
                deletes.push(items::delete_request(outcome_key(&DeliveryKey {
                    campaign,
                    subscriber: id,
                    channel,
                }))?);
            }
        }
        items::batch_write(&self.client, &self.table, deletes).await
    }
}

#[async_trait]
impl ReachStore for DynamoStore {
    async fn record_reach(&self, reports: &[ReachReport]) -> Result<(), StoreError> {
        // One PutItem each, several in flight (a batch of SNS's SMS delivery logs may hold
        // hundreds): the feedback function may put items, never batch-write (a batch could
        // delete too).
        // Futures collected first: a lazy iterator of closures held across an await trips the
        // compiler's `Send` check of async-trait futures.
        let puts: Vec<_> = reports
            .iter()
            .map(|r| {
                let mut item = outcome_key(&r.key);
                item.insert("outcome".into(), s(r.outcome.as_str()));
                item.insert("at".into(), s(keys::stamp(r.at)));
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .send()
            })
            .collect();
        futures_util::stream::iter(puts)
            .buffer_unordered(super::items::IN_FLIGHT)
            .map_err(|e| store_error("DynamoDB PutItem (reach report)", e))
            .try_for_each(|_| async { Ok(()) })
            .await
    }

    async fn reach_reports(&self, campaign: CampaignId) -> Result<Vec<ReachReport>, StoreError> {
        self.reach_items(campaign, OUTCOME_PREFIX, |item| report(campaign, item))
            .await
    }

    async fn acknowledge(&self, ack: &Acknowledgement) -> Result<(), StoreError> {
        let mut item = ack_key(ack.campaign, ack.subscriber);
        item.insert("answer".into(), s(ack.answer.as_str()));
        item.insert("at".into(), s(keys::stamp(ack.at)));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("DynamoDB PutItem (acknowledgement)", e))
    }

    async fn acknowledgement(
        &self,
        campaign: CampaignId,
        who: SubscriberId,
    ) -> Result<Option<Acknowledgement>, StoreError> {
        let item = items::get_consistent(
            &self.client,
            &self.table,
            ack_key(campaign, who),
            None,
            "acknowledgement",
        )
        .await?;
        match item {
            Some(item) => acknowledgement(campaign, &item),
            None => Ok(None),
        }
    }

    async fn acknowledgements(
        &self,
        campaign: CampaignId,
    ) -> Result<Vec<Acknowledgement>, StoreError> {
        self.reach_items(campaign, ACK_PREFIX, |item| acknowledgement(campaign, item))
            .await
    }
}
