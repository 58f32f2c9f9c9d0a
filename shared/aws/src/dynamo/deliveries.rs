//! Deliveries: `DELIVERY#<campaign>#<partition>` / `<subscriber>#<channel>`, one item each,
//! created by the claim (one conditional write per delivery, 25 in flight), so a job run twice
//! sends once. The outcomes of a claimed batch go in one receipt, `RECEIPT#<campaign>` /
//! `<claim>`, named by the claim on each item: one write per batch instead of one per message.
//! A retry is the exception: its item goes back to `queued` so the next claim can take it.
//!
//! Each SMS handed to SNS also gets a small index item, `SMSID#<SNS message id>` / `SMSID`,
//! naming its campaign and subscriber (a week, by time to live): SNS's delivery logs name only
//! the message id, and this ties them to the delivery. One write per SMS (1 WRU), beside the
//! receipt: a key per message id cannot be folded into the batch's receipt.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Duration, Utc};
use futures_util::{stream, StreamExt, TryStreamExt};
use telmail_core::clock::Month;
use telmail_core::domain::campaign::{CampaignId, CampaignStatus};
use telmail_core::domain::contact::Channel;
use telmail_core::domain::delivery::{
    CampaignProgress, Claims, CreateOutcome, Delivery, DeliveryKey, DeliveryResult, DeliveryStatus,
    NewDelivery, ProgressDelta,
};
use telmail_core::domain::subscriber::SubscriberId;
use telmail_core::error::StoreError;
use telmail_core::ports::{CampaignStore, Counter, DeliveryStore, StatsStore};

use super::items::{
    self, batch_get, batch_write, delete_request, key, n, s, Fields, Item, IN_FLIGHT,
};
use super::keys::{self, DELIVERY_PARTITIONS, EXPIRES};
use super::DynamoStore;
use crate::errors::store_error;

fn item_key(k: &DeliveryKey) -> Item {
    let (pk, sk) = keys::delivery(k.campaign, k.subscriber, k.channel);
    key(pk, sk)
}

fn status(f: &Fields<'_>) -> Result<DeliveryStatus, StoreError> {
    let text = f.str("status")?;
    DeliveryStatus::from_str(text)
        .ok()
        .ok_or_else(|| f.malformed(format_args!("status {text}")))
}

fn delivery_key(f: &Fields<'_>) -> Result<DeliveryKey, StoreError> {
    let bad = || f.malformed("bad delivery key");
    let campaign = f
        .str("pk")?
        .strip_prefix("DELIVERY#")
        .and_then(|rest| rest.split_once('#'))
        .and_then(|(id, _)| CampaignId::from_str(id).ok())
        .ok_or_else(bad)?;
    let (subscriber, channel) = f.str("sk")?.split_once('#').ok_or_else(bad)?;
    Ok(DeliveryKey {
        campaign,
        subscriber: SubscriberId::from_str(subscriber).map_err(|_| bad())?,
        channel: match channel {
            "email" => Channel::Email,
            "sms" => Channel::Sms,
            "voice" => Channel::Voice,
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
        segments: f.opt_num("segments")?.unwrap_or(0),
        updated_at: keys::parse_stamp(f.str("updated_at")?, &f.key())?,
        claim: f.opt_str(CLAIM)?.map(str::to_owned),
    })
}

/// The attribute naming the claim (and so the receipt) of a delivery being sent.
const CLAIM: &str = "claim";
/// The receipt attribute holding the outcomes, by `<subscriber>#<channel>`.
const OUTCOMES: &str = "outcomes";

fn receipt_key(campaign: CampaignId, claim: &str) -> Item {
    key(format!("RECEIPT#{campaign}"), claim)
}

/// Sort key of an SMS's index item.
const SMS_INDEX_SK: &str = "SMSID";
/// How long an SMS's message id leads to its delivery: SNS logs a receipt once the operator
/// answers (within the 72 hours a phone may stay off); the logs themselves are kept a week.
const SMS_INDEX_KEPT: Duration = Duration::days(7);

fn sms_index_key(message_id: &str) -> Item {
    key(format!("SMSID#{message_id}"), SMS_INDEX_SK)
}

/// The index item of an SMS handed to SNS under `message_id`.
fn sms_index_item(k: &DeliveryKey, message_id: &str, now: DateTime<Utc>) -> Item {
    let mut item = sms_index_key(message_id);
    item.extend([
        ("campaign".to_owned(), s(k.campaign.to_string())),
        ("subscriber".to_owned(), s(k.subscriber.to_string())),
        (EXPIRES.to_owned(), n((now + SMS_INDEX_KEPT).timestamp())),
    ]);
    item
}

/// The message id and delivery an SMS's index item names.
fn sms_indexed(item: &Item) -> Result<(String, DeliveryKey), StoreError> {
    let f = Fields(item);
    let bad = || f.malformed("bad SMS index item");
    let message_id = f.str("pk")?.strip_prefix("SMSID#").ok_or_else(bad)?;
    let key = DeliveryKey {
        campaign: CampaignId::from_str(f.str("campaign")?).map_err(|_| bad())?,
        subscriber: SubscriberId::from_str(f.str("subscriber")?).map_err(|_| bad())?,
        channel: Channel::Sms,
    };
    Ok((message_id.to_owned(), key))
}

/// A delivery's sort key, which names it in its receipt.
fn entry_name(k: &DeliveryKey) -> String {
    keys::delivery(k.campaign, k.subscriber, k.channel).1
}

/// An outcome as a receipt entry: `s` status, `n` segments, `p` provider id, `e` error.
fn receipt_entry(result: &DeliveryResult) -> Option<AttributeValue> {
    let (status, detail) = match result {
        DeliveryResult::Sent {
            provider_id,
            segments,
        } => {
            let mut entry = HashMap::from([
                ("s".to_owned(), s(DeliveryStatus::Sent.as_str())),
                ("n".to_owned(), n(segments)),
            ]);
            if let Some(id) = provider_id {
                entry.insert("p".to_owned(), s(id));
            }
            return Some(AttributeValue::M(entry));
        }
        DeliveryResult::Failed { error } => (DeliveryStatus::Failed, error),
        DeliveryResult::Unknown { error } => (DeliveryStatus::Unknown, error),
        DeliveryResult::Suppressed { reason } => (DeliveryStatus::Suppressed, reason),
        DeliveryResult::Expired { reason } => (DeliveryStatus::Expired, reason),
        DeliveryResult::Retry { .. } | DeliveryResult::Wait { .. } => return None,
    };
    Some(AttributeValue::M(HashMap::from([
        ("s".to_owned(), s(status.as_str())),
        ("e".to_owned(), s(detail)),
    ])))
}

/// A delivery still `sending` under its claim, completed by its receipt entry if it has one.
fn with_receipt(mut d: Delivery, receipt: &Item) -> Result<Delivery, StoreError> {
    let f = Fields(receipt);
    let Some(AttributeValue::M(outcomes)) = receipt.get(OUTCOMES) else {
        return Err(f.malformed("no outcomes"));
    };
    let Some(AttributeValue::M(entry)) = outcomes.get(&entry_name(&d.key)) else {
        return Ok(d);
    };
    let e = Fields(entry);
    let text = e.str("s")?;
    d.status = DeliveryStatus::from_str(text)
        .ok()
        .ok_or_else(|| f.malformed(format_args!("status {text}")))?;
    d.segments = e.opt_num("n")?.unwrap_or(0);
    d.provider_id = e.opt_str("p")?.map(str::to_owned);
    d.error = e.opt_str("e")?.map(str::to_owned).or(d.error);
    d.updated_at = keys::parse_stamp(f.str("at")?, &f.key())?;
    // The claim stays: it names the receipt, and a follow-up sends the delivery again only
    // under it (`send_again`).
    Ok(d)
}

/// What one claim found.
enum ClaimOutcome {
    /// Won: the delivery is ours to send.
    Won(Delivery),
    /// `sending` under another claim.
    Held(Delivery),
    /// In a final state (or queued by a later retry meanwhile).
    Finished,
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
            .expression_attribute_values(":now", s(keys::stamp(now)))
            .expression_attribute_names("#updated", "updated_at")
    }

    async fn create_one(&self, new: &NewDelivery, now: &str) -> Result<CreateOutcome, StoreError> {
        let mut item = item_key(&new.key);
        item.extend([
            ("status".to_owned(), s(new.status.as_str())),
            ("attempts".to_owned(), n(0)),
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

    /// Creates the delivery as `sending`, or moves it there from `queued`: one write. A refused
    /// claim learns the stored item from the refusal, at no read cost.
    async fn claim_one(
        &self,
        k: &DeliveryKey,
        claim: &str,
        now: DateTime<Utc>,
    ) -> Result<ClaimOutcome, StoreError> {
        let result = self
            .delivery_update(k, now)
            .update_expression(
                "SET #status = :sending, #attempts = if_not_exists(#attempts, :zero) + :one, \
                 #updated = :now, #claim = :claim",
            )
            .condition_expression("attribute_not_exists(pk) OR #status = :queued")
            .expression_attribute_names("#attempts", "attempts")
            .expression_attribute_names("#claim", CLAIM)
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
            .expression_attribute_values(":queued", s(DeliveryStatus::Queued.as_str()))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":claim", s(claim))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => delivery(&out.attributes.unwrap_or_default()).map(ClaimOutcome::Won),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => {
                    Ok(match failed.item().map(delivery).transpose()? {
                        // This very claim: the SDK retried a write whose answer was lost.
                        Some(d) if d.claim.as_deref() == Some(claim) => ClaimOutcome::Won(d),
                        Some(d) if d.status == DeliveryStatus::Sending => ClaimOutcome::Held(d),
                        _ => ClaimOutcome::Finished,
                    })
                }
                _ => Err(store_error("DynamoDB UpdateItem (claim)", e)),
            },
        }
    }

    /// Puts a delivery back in the queue after a transient failure, if still under its claim.
    async fn requeue(
        &self,
        d: &Delivery,
        error: &str,
        give_back: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let claim = d.claim.as_deref().unwrap_or_default();
        let update = if give_back {
            self.delivery_update(&d.key, now)
                .update_expression(
                    "SET #status = :to, #error = :error, #updated = :now ADD attempts :minus_one",
                )
                .expression_attribute_names("#error", "error")
                .expression_attribute_values(":error", s(error))
                .expression_attribute_values(":minus_one", n(-1))
        } else {
            with_error(self.delivery_update(&d.key, now), error)
        };
        let update = update
            .condition_expression("#status = :sending AND #claim = :claim")
            .expression_attribute_names("#claim", CLAIM)
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
            .expression_attribute_values(":claim", s(claim))
            .expression_attribute_values(":to", s(DeliveryStatus::Queued.as_str()));
        // Only the claim's holder moves it: a late duplicate cannot undo an outcome.
        items::conditional("DynamoDB UpdateItem (requeue)", update.send()).await?;
        Ok(())
    }

    /// Writes the receipt of one claim's outcomes in one campaign.
    async fn write_receipt(
        &self,
        campaign: CampaignId,
        claim: &str,
        outcomes: HashMap<String, AttributeValue>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut item = receipt_key(campaign, claim);
        item.extend([
            (OUTCOMES.to_owned(), AttributeValue::M(outcomes)),
            ("at".to_owned(), s(keys::stamp(now))),
        ]);
        self.put(item, "receipt").await
    }

    /// The receipts naming these deliveries' claims, by (campaign, claim).
    async fn receipts(
        &self,
        sending: &[&Delivery],
        consistent: bool,
    ) -> Result<HashMap<(CampaignId, String), Item>, StoreError> {
        let wanted: HashSet<(CampaignId, &str)> = sending
            .iter()
            .filter_map(|d| d.claim.as_deref().map(|c| (d.key.campaign, c)))
            .collect();
        if wanted.is_empty() {
            return Ok(HashMap::new());
        }
        let keys = wanted
            .iter()
            .map(|(c, claim)| receipt_key(*c, claim))
            .collect();
        let found = batch_get(&self.client, &self.table, keys, None, consistent).await?;
        let mut by_claim = HashMap::new();
        for item in found {
            let f = Fields(&item);
            let campaign = f
                .str("pk")?
                .strip_prefix("RECEIPT#")
                .and_then(|id| CampaignId::from_str(id).ok())
                .ok_or_else(|| f.malformed("bad receipt key"))?;
            let claim = f.str("sk")?.to_owned();
            by_claim.insert((campaign, claim), item);
        }
        Ok(by_claim)
    }

    /// Completes deliveries still `sending` with their receipts' outcomes.
    async fn resolve(
        &self,
        deliveries: Vec<Delivery>,
        consistent: bool,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sending: Vec<&Delivery> = deliveries
            .iter()
            .filter(|d| d.status == DeliveryStatus::Sending)
            .collect();
        let receipts = self.receipts(&sending, consistent).await?;
        deliveries
            .into_iter()
            .map(|d| {
                let receipt = d
                    .claim
                    .as_ref()
                    .filter(|_| d.status == DeliveryStatus::Sending)
                    .and_then(|c| receipts.get(&(d.key.campaign, c.clone())));
                match receipt {
                    Some(r) => with_receipt(d, r),
                    None => Ok(d),
                }
            })
            .collect()
    }

    /// Removes a delivery's entry from the receipt of `claim`.
    async fn remove_receipt_entry(&self, key: &DeliveryKey, claim: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(receipt_key(key.campaign, claim)))
            .update_expression("REMOVE #outcomes.#entry")
            .expression_attribute_names("#outcomes", OUTCOMES)
            .expression_attribute_names("#entry", entry_name(key))
            .send()
            .await
            .map_err(|e| store_error("DynamoDB UpdateItem (receipt entry)", e))?;
        Ok(())
    }

    async fn fail_one(
        &self,
        d: &Delivery,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DeliveryKey>, StoreError> {
        let update = with_error(self.delivery_update(&d.key, now), error)
            .condition_expression("#status = :sending AND #claim = :claim")
            .expression_attribute_names("#claim", CLAIM)
            .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
            .expression_attribute_values(":to", s(DeliveryStatus::Failed.as_str()))
            .expression_attribute_values(":claim", s(d.claim.as_deref().unwrap_or_default()));
        let failed =
            items::conditional("DynamoDB UpdateItem (stale delivery)", update.send()).await?;
        Ok(failed.then_some(d.key))
    }

    /// Erasure: deletes the person's finished deliveries of every campaign that sent, and
    /// their entries in receipts. Those still queued or being sent stay, for the sender to
    /// close as suppressed. Finished is final, so deleting what a read found finished races
    /// with nothing.
    pub(super) async fn erase_finished_deliveries(
        &self,
        id: SubscriberId,
    ) -> Result<(), StoreError> {
        let campaigns = self
            .campaign_ids_in(&[CampaignStatus::Sending, CampaignStatus::Sent])
            .await?;
        let keys: Vec<DeliveryKey> = campaigns
            .iter()
            .flat_map(|c| {
                Channel::ALL.map(|channel| DeliveryKey {
                    campaign: *c,
                    subscriber: id,
                    channel,
                })
            })
            .collect();
        let stored = self.read_stored(&keys, true).await?;
        let receipts = self
            .receipts(&stored.iter().collect::<Vec<_>>(), true)
            .await?;
        let mut finished = Vec::new();
        for d in &stored {
            let receipt = d
                .claim
                .as_ref()
                .and_then(|c| receipts.get(&(d.key.campaign, c.clone())));
            let resolved = match receipt {
                Some(r) if d.status == DeliveryStatus::Sending => with_receipt(d.clone(), r)?,
                _ => d.clone(),
            };
            if !matches!(
                resolved.status,
                DeliveryStatus::Sent
                    | DeliveryStatus::Failed
                    | DeliveryStatus::Suppressed
                    | DeliveryStatus::Unknown
            ) {
                continue;
            }
            if let (Some(claim), Some(_)) = (&d.claim, receipt) {
                self.remove_receipt_entry(&d.key, claim).await?;
            }
            if let (Channel::Sms, Some(id)) = (d.key.channel, &resolved.provider_id) {
                finished.push(delete_request(sms_index_key(id))?);
            }
            finished.push(delete_request(item_key(&d.key))?);
        }
        batch_write(&self.client, &self.table, finished).await
    }

    /// The deliveries of SMS handed to SNS under these message ids, by message id; an id no
    /// campaign's SMS had (a sign-up code, a staff notice), or whose index expired or was
    /// erased with its resident, is absent. One BatchGetItem per 100 ids, eventually consistent.
    pub async fn sms_deliveries(
        &self,
        message_ids: &[String],
    ) -> Result<HashMap<String, DeliveryKey>, StoreError> {
        let distinct: HashSet<&str> = message_ids.iter().map(String::as_str).collect();
        let found = batch_get(
            &self.client,
            &self.table,
            distinct.into_iter().map(sms_index_key).collect(),
            None,
            false,
        )
        .await?;
        found.iter().map(sms_indexed).collect()
    }

    /// The deliveries stored under these keys, as stored.
    async fn read_stored(
        &self,
        keys: &[DeliveryKey],
        consistent: bool,
    ) -> Result<Vec<Delivery>, StoreError> {
        let found = batch_get(
            &self.client,
            &self.table,
            keys.iter().map(item_key).collect(),
            None,
            consistent,
        )
        .await?;
        found.iter().map(delivery).collect()
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
        let now = keys::stamp(self.clock.now());
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

    async fn claim(&self, keys: &[DeliveryKey]) -> Result<Claims, StoreError> {
        let now = self.clock.now();
        let claim = uuid::Uuid::new_v4().simple().to_string();
        let claims: Vec<_> = distinct(keys, |k| *k)
            .into_iter()
            .map(|k| self.claim_one(k, &claim, now))
            .collect();
        let outcomes: Vec<Result<ClaimOutcome, StoreError>> =
            stream::iter(claims).buffered(IN_FLIGHT).collect().await;
        let mut found = Claims::default();
        let mut failure = None;
        for outcome in outcomes {
            match outcome {
                Ok(ClaimOutcome::Won(d)) => found.won.push(d),
                Ok(ClaimOutcome::Held(d)) => found.held.push(d),
                Ok(ClaimOutcome::Finished) => {}
                Err(e) => failure = failure.or(Some(e)),
            }
        }
        if let Some(e) = failure {
            // The batch fails as a whole and its jobs come back: the claims won meanwhile are
            // given back, or those jobs would find them held by nobody.
            let back: Vec<(Delivery, DeliveryResult)> = found
                .won
                .into_iter()
                .map(|d| {
                    (
                        d,
                        DeliveryResult::Retry {
                            error: format!("non envoyé : {e}"),
                        },
                    )
                })
                .collect();
            self.finish(&back).await?;
            return Err(e);
        }
        if !found.held.is_empty() {
            // `sending` on the item may be finished in its receipt (usually a duplicate job):
            // only a claim with no outcome is held. A receipt not yet readable leaves it held,
            // and its job returns later.
            found.held = self
                .resolve(found.held, false)
                .await?
                .into_iter()
                .filter(|d| d.status == DeliveryStatus::Sending)
                .collect();
        }
        Ok(found)
    }

    async fn finish(&self, results: &[(Delivery, DeliveryResult)]) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut receipts: HashMap<(CampaignId, &str), HashMap<String, AttributeValue>> =
            HashMap::new();
        let mut requeues = Vec::new();
        for (d, r) in distinct(results, |(d, _)| d.key) {
            let Some(claim) = d.claim.as_deref() else {
                return Err(StoreError::Backend(format!(
                    "delivery {:?} finished without its claim",
                    d.key
                )));
            };
            match (receipt_entry(r), r) {
                (Some(entry), _) => {
                    receipts
                        .entry((d.key.campaign, claim))
                        .or_default()
                        .insert(entry_name(&d.key), entry);
                }
                // Attempts were counted by the claim; the job's redelivery claims it again.
                (None, DeliveryResult::Retry { error }) => {
                    requeues.push(self.requeue(d, error, false, now))
                }
                // A wait gives the attempt back.
                (None, DeliveryResult::Wait { error }) => {
                    requeues.push(self.requeue(d, error, true, now))
                }
                (None, _) => {}
            }
        }
        let writes: Vec<_> = receipts
            .into_iter()
            .map(|((campaign, claim), outcomes)| self.write_receipt(campaign, claim, outcomes, now))
            .collect();
        // Each SMS handed to SNS: the index its delivery receipt will be read through.
        let indexed: Vec<Item> = distinct(results, |(d, _)| d.key)
            .into_iter()
            .filter_map(|(d, r)| match r {
                DeliveryResult::Sent {
                    provider_id: Some(id),
                    ..
                } if d.key.channel == Channel::Sms => Some(sms_index_item(&d.key, id, now)),
                _ => None,
            })
            .collect();
        let index = stream::iter(indexed)
            .map(|item| self.put(item, "SMS index"))
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<()>>();
        futures_util::try_join!(futures_util::future::try_join_all(writes), index)?;
        stream::iter(requeues)
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<()>>()
            .await
            .map(|_| ())
    }

    async fn finish_and_count(
        &self,
        results: &[(Delivery, DeliveryResult)],
        campaigns: &[(CampaignId, ProgressDelta)],
        month: Month,
        counters: &[(Counter, i64)],
    ) -> Result<Vec<(CampaignId, CampaignProgress)>, StoreError> {
        // A batch's receipts and counters are more items than a transaction holds: written one
        // after the other, outcomes first (a count is never ahead of what it counts).
        self.finish(results).await?;
        let mut progress = Vec::with_capacity(campaigns.len());
        for (id, delta) in campaigns {
            progress.push((*id, self.add_progress(*id, delta).await?));
        }
        if !counters.is_empty() {
            self.add_many(month, counters).await?;
        }
        Ok(progress)
    }

    /// A finished delivery is its item, still `sending` under the claim whose receipt holds
    /// its outcome (or created final, without a claim): it moves back to `queued` only under
    /// that same claim, and loses it, so the next claim's receipt says how it fared.
    async fn send_again(&self, deliveries: &[Delivery]) -> Result<Vec<bool>, StoreError> {
        let now = self.clock.now();
        let mut moved = Vec::with_capacity(deliveries.len());
        for d in deliveries {
            if matches!(d.status, DeliveryStatus::Queued | DeliveryStatus::Sending) {
                moved.push(false);
                continue;
            }
            let back = self
                .delivery_update(&d.key, now)
                .update_expression("SET #status = :queued, #updated = :now REMOVE #claim")
                .expression_attribute_names("#claim", CLAIM)
                .expression_attribute_values(":queued", s(DeliveryStatus::Queued.as_str()));
            let back = match d.claim.as_deref() {
                Some(claim) => back
                    .condition_expression("#status = :sending AND #claim = :claim")
                    .expression_attribute_values(":sending", s(DeliveryStatus::Sending.as_str()))
                    .expression_attribute_values(":claim", s(claim)),
                None => back
                    .condition_expression("#status = :was AND attribute_not_exists(#claim)")
                    .expression_attribute_values(":was", s(d.status.as_str())),
            };
            let changed =
                items::conditional("DynamoDB UpdateItem (send again)", back.send()).await?;
            if changed {
                if let Some(claim) = d.claim.as_deref() {
                    // The earlier outcome's entry (with the provider's id): the delivery is
                    // no longer under that claim, so nothing would ever erase it.
                    self.remove_receipt_entry(&d.key, claim).await?;
                }
                self.forget_reach_report(&d.key).await?;
            }
            moved.push(changed);
        }
        Ok(moved)
    }

    async fn fail_stale(
        &self,
        held: &[Delivery],
        error: &str,
    ) -> Result<Vec<DeliveryKey>, StoreError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let now = self.clock.now();
        // Those whose receipt has no outcome are the abandoned ones.
        let unfinished: Vec<Delivery> = self
            .resolve(
                distinct(held, |d| d.key).into_iter().cloned().collect(),
                true,
            )
            .await?
            .into_iter()
            .filter(|d| d.status == DeliveryStatus::Sending)
            .collect();
        let fails: Vec<_> = unfinished
            .iter()
            .map(|d| self.fail_one(d, error, now))
            .collect();
        let changed: Vec<Option<DeliveryKey>> = stream::iter(fails)
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(changed.into_iter().flatten().collect())
    }

    async fn list_after(
        &self,
        campaign: CampaignId,
        after: Option<DeliveryKey>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Each partition is in (subscriber, channel) order: its first `limit` items after the
        // cursor hold every item of the merged page, so a page reads at most 8 × `limit`
        // items wherever it starts.
        let reads = (0..DELIVERY_PARTITIONS).map(|p| {
            let pk = keys::delivery_partition(campaign, p);
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .limit(i32::try_from(limit).unwrap_or(i32::MAX));
            q = match after {
                Some(k) => q
                    .key_condition_expression("pk = :pk AND sk > :after")
                    .expression_attribute_values(":after", s(entry_name(&k))),
                None => q.key_condition_expression("pk = :pk"),
            };
            items::query(q.expression_attribute_values(":pk", s(pk)), limit, |item| {
                delivery(item).map(Some)
            })
        });
        let mut all: Vec<Delivery> = futures_util::future::try_join_all(reads)
            .await?
            .into_iter()
            .flatten()
            .collect();
        all.sort_by_key(|d| d.key);
        all.truncate(limit);
        self.resolve(all, true).await
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
        let page: Vec<Delivery> = all.into_iter().skip(offset).take(limit).collect();
        self.resolve(page, true).await
    }
}
