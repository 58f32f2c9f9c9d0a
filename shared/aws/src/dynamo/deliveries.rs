//! Deliveries: `DELIVERY#<campaign>#<partition>` / `<subscriber>#<channel>`, one item each,
//! created with `attribute_not_exists` and moved by conditional updates (one request per
//! delivery, 25 in flight), so a job run twice sends once.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use futures_util::{stream, StreamExt, TryStreamExt};
use telmail_core::campaign::{CampaignId, CampaignStatus};
use telmail_core::contact::Channel;
use telmail_core::delivery::{
    CreateOutcome, Delivery, DeliveryKey, DeliveryResult, DeliveryStatus, NewDelivery,
};
use telmail_core::error::StoreError;
use telmail_core::ports::DeliveryStore;
use telmail_core::subscriber::SubscriberId;

use super::items::{
    self, batch_get, batch_write, condition_failed, delete_request, key, n, s, Fields, Item,
    IN_FLIGHT,
};
use super::keys::{self, DELIVERY_PARTITIONS};
use super::DynamoStore;
use crate::errors::store_error;

fn item_key(k: &DeliveryKey) -> Item {
    let (pk, sk) = keys::delivery(k.campaign, k.subscriber, k.channel);
    key(pk, sk)
}

fn status(f: &Fields<'_>) -> Result<DeliveryStatus, StoreError> {
    let text = f.str("status")?;
    DeliveryStatus::parse(text).ok_or_else(|| f.malformed(format_args!("status {text}")))
}

fn delivery_key(f: &Fields<'_>) -> Result<DeliveryKey, StoreError> {
    let bad = || f.malformed("bad delivery key");
    let campaign = f
        .str("pk")?
        .strip_prefix("DELIVERY#")
        .and_then(|rest| rest.split_once('#'))
        .and_then(|(id, _)| CampaignId::parse(id))
        .ok_or_else(bad)?;
    let (subscriber, channel) = f.str("sk")?.split_once('#').ok_or_else(bad)?;
    Ok(DeliveryKey {
        campaign,
        subscriber: SubscriberId::parse(subscriber).ok_or_else(bad)?,
        channel: match channel {
            "email" => Channel::Email,
            "sms" => Channel::Sms,
            _ => return Err(bad()),
        },
    })
}

fn delivery(item: &Item) -> Result<Delivery, StoreError> {
    let f = Fields(item);
    Ok(Delivery {
        key: delivery_key(&f)?,
        status: status(&f)?,
        attempts: f.num("attempts")?,
        provider_id: f.opt_str("provider_id")?.map(str::to_owned),
        error: f.opt_str("error")?.map(str::to_owned),
        segments: f.num("segments")?,
        updated_at: keys::parse_stamp(f.str("updated_at")?, &f.key())?,
    })
}

/// The first occurrence of each key, in order (a key twice in one call is handled once).
fn distinct<T>(all: &[T], key: impl Fn(&T) -> DeliveryKey) -> Vec<&T> {
    let mut seen = HashSet::new();
    all.iter().filter(|x| seen.insert(key(x))).collect()
}

impl DynamoStore {
    /// A conditional update of one delivery, `#status`, `#error` and `#updated` named.
    fn delivery_update(&self, k: &DeliveryKey, now: DateTime<Utc>) -> UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(item_key(k)))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#updated", "updated_at")
            .expression_attribute_values(":now", s(keys::stamp(now)))
    }

    async fn create_one(&self, new: &NewDelivery, now: &str) -> Result<CreateOutcome, StoreError> {
        let mut item = item_key(&new.key);
        item.extend([
            ("status".to_owned(), s(new.status.as_str())),
            ("attempts".to_owned(), n(0)),
            ("segments".to_owned(), n(0)),
            ("updated_at".to_owned(), s(now)),
        ]);
        if let Some(error) = &new.error {
            item.insert("error".into(), s(error));
        }
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(CreateOutcome::Created),
            Err(e) => match e.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                    let old = failed.item().ok_or_else(|| {
                        StoreError::Backend(
                            "a failed delivery create returned no stored item".into(),
                        )
                    })?;
                    Ok(CreateOutcome::Exists(status(&Fields(old))?))
                }
                _ => Err(store_error("DynamoDB PutItem (delivery)", e)),
            },
        }
    }

    async fn claim_one(
        &self,
        k: &DeliveryKey,
        now: DateTime<Utc>,
    ) -> Result<Option<Delivery>, StoreError> {
        let result = self
            .delivery_update(k, now)
            .update_expression(
                "SET #status = :sending, #attempts = #attempts + :one, #updated = :now",
            )
            .condition_expression("#status = :queued")
            .expression_attribute_names("#attempts", "attempts")
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
            .expression_attribute_values(":queued", s(DeliveryStatus::Queued.as_str()))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => delivery(&out.attributes.unwrap_or_default()).map(Some),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(store_error("DynamoDB UpdateItem (claim)", e)),
        }
    }

    async fn finish_one(
        &self,
        k: &DeliveryKey,
        result: &DeliveryResult,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let update = self
            .delivery_update(k, now)
            .condition_expression("#status = :sending")
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()));
        // A send after a retry keeps the last error as history.
        let (status, update) = match result {
            DeliveryResult::Sent {
                provider_id,
                segments,
            } => (
                DeliveryStatus::Sent,
                update
                    .update_expression("SET #status = :to, #provider = :provider, #segments = :segments, #updated = :now")
                    .expression_attribute_names("#provider", "provider_id")
                    .expression_attribute_names("#segments", "segments")
                    .expression_attribute_values(":provider", s(provider_id))
                    .expression_attribute_values(":segments", n(segments)),
            ),
            DeliveryResult::Failed { error } => (DeliveryStatus::Failed, with_error(update, error)),
            DeliveryResult::Suppressed { reason } => {
                (DeliveryStatus::Suppressed, with_error(update, reason))
            }
            // Attempts were counted by the claim; the job's redelivery claims it again.
            DeliveryResult::Retry { error } => (DeliveryStatus::Queued, with_error(update, error)),
        };
        match update
            .expression_attribute_values(":to", s(status.as_str()))
            .send()
            .await
        {
            // Only a claimed delivery is finished: a late duplicate cannot undo an outcome.
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(store_error("DynamoDB UpdateItem (finish)", e)),
        }
    }

    async fn fail_one(
        &self,
        k: &DeliveryKey,
        cutoff: &str,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DeliveryKey>, StoreError> {
        let result = with_error(self.delivery_update(k, now), error)
            .condition_expression("#status = :sending AND #updated < :cutoff")
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
            .expression_attribute_values(":to", s(DeliveryStatus::Failed.as_str()))
            .expression_attribute_values(":cutoff", s(cutoff))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Some(*k)),
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(store_error("DynamoDB UpdateItem (stale delivery)", e)),
        }
    }

    /// Erasure: deletes the person's finished deliveries of every campaign that sent. Those
    /// still queued or being sent stay, for the sender to close as suppressed. Finished is
    /// final, so deleting what a batch read found finished races with nothing.
    pub(super) async fn erase_finished_deliveries(
        &self,
        id: SubscriberId,
    ) -> Result<(), StoreError> {
        let campaigns = self
            .campaign_ids_in(&[CampaignStatus::Sending, CampaignStatus::Sent])
            .await?;
        let keys: Vec<Item> = campaigns
            .iter()
            .flat_map(|c| {
                Channel::ALL.map(|channel| DeliveryKey {
                    campaign: *c,
                    subscriber: id,
                    channel,
                })
            })
            .map(|k| item_key(&k))
            .collect();
        let found = batch_get(
            &self.client,
            &self.table,
            keys,
            Some(("pk, sk, #status", &[("#status", "status")])),
            true,
        )
        .await?;
        let mut finished = Vec::new();
        for item in &found {
            let f = Fields(item);
            if matches!(
                status(&f)?,
                DeliveryStatus::Sent | DeliveryStatus::Failed | DeliveryStatus::Suppressed
            ) {
                finished.push(delete_request(key(f.str("pk")?, f.str("sk")?))?);
            }
        }
        batch_write(&self.client, &self.table, finished).await
    }
}

/// Sets the status to `:to` with an error text.
fn with_error(update: UpdateItemFluentBuilder, error: &str) -> UpdateItemFluentBuilder {
    update
        .update_expression("SET #status = :to, #error = :error, #updated = :now")
        .expression_attribute_names("#error", "error")
        .expression_attribute_values(":error", s(error))
}

#[async_trait]
impl DeliveryStore for DynamoStore {
    async fn create_batch(
        &self,
        deliveries: &[NewDelivery],
    ) -> Result<Vec<CreateOutcome>, StoreError> {
        let now = keys::stamp(Utc::now());
        let firsts = distinct(deliveries, |d| d.key);
        // Futures are collected first: a lazy iterator of closures held across an await
        // trips the compiler's `Send` check of async-trait futures.
        let creates: Vec<_> = firsts.iter().map(|d| self.create_one(d, &now)).collect();
        let outcomes: Vec<CreateOutcome> = stream::iter(creates)
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        let index: HashMap<DeliveryKey, usize> =
            firsts.iter().enumerate().map(|(i, d)| (d.key, i)).collect();
        let mut met = HashSet::new();
        Ok(deliveries
            .iter()
            .map(|d| {
                let i = index[&d.key];
                match outcomes[i] {
                    // A repeat in the batch finds what its first occurrence created.
                    CreateOutcome::Created if !met.insert(d.key) => {
                        CreateOutcome::Exists(firsts[i].status)
                    }
                    outcome => outcome,
                }
            })
            .collect())
    }

    async fn claim(&self, keys: &[DeliveryKey]) -> Result<Vec<Delivery>, StoreError> {
        let now = Utc::now();
        let claims: Vec<_> = distinct(keys, |k| *k)
            .into_iter()
            .map(|k| self.claim_one(k, now))
            .collect();
        let won: Vec<Option<Delivery>> = stream::iter(claims)
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(won.into_iter().flatten().collect())
    }

    async fn finish(&self, results: &[(DeliveryKey, DeliveryResult)]) -> Result<(), StoreError> {
        let now = Utc::now();
        let finishes: Vec<_> = distinct(results, |(k, _)| *k)
            .into_iter()
            .map(|(k, r)| self.finish_one(k, r, now))
            .collect();
        stream::iter(finishes)
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<()>>()
            .await
            .map(|_| ())
    }

    async fn fail_stale(
        &self,
        keys: &[DeliveryKey],
        cutoff: DateTime<Utc>,
        error: &str,
    ) -> Result<Vec<DeliveryKey>, StoreError> {
        let now = Utc::now();
        let cutoff = keys::stamp(cutoff);
        let fails: Vec<_> = distinct(keys, |k| *k)
            .into_iter()
            .map(|k| self.fail_one(k, &cutoff, error, now))
            .collect();
        let changed: Vec<Option<DeliveryKey>> = stream::iter(fails)
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(changed.into_iter().flatten().collect())
    }

    async fn list(
        &self,
        campaign: CampaignId,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        let wanted = offset.saturating_add(limit);
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Each partition is in (subscriber, channel) order: its first `offset + limit` items
        // hold every item of the merged page.
        let reads = (0..DELIVERY_PARTITIONS).map(|p| {
            let q = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(keys::delivery_partition(campaign, p)))
                .limit(i32::try_from(wanted).unwrap_or(i32::MAX));
            items::query(q, wanted, |item| delivery(item).map(Some))
        });
        let mut all: Vec<Delivery> = futures_util::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect();
        all.sort_by_key(|d| d.key);
        Ok(all.into_iter().skip(offset).take(limit).collect())
    }
}
