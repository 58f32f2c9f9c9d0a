//! Campaigns: `CAMPAIGN#<id>` holds the campaign (`META`, JSON, indexed by status on the GSI),
//! its audit trail (`EVENT#<at>#<unique>`) and its counters (`PROGRESS`, apart so that adding
//! to them never rewrites the campaign's text). `PROGRESS` repeats the status, written in the
//! same transaction as `META`: senders read it for every batch, and a read is billed by the
//! item's size (the campaign's email may weigh 100 kB, the counters a few hundred bytes).

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, Utc};
use futures_util::future::try_join_all;
use std::str::FromStr;
use telmail_core::domain::campaign::{Campaign, CampaignEvent, CampaignId, CampaignStatus};
use telmail_core::domain::delivery::{CampaignProgress, Progress, ProgressDelta};
use telmail_core::domain::queue::FanoutCursor;
use telmail_core::domain::reputation::{EmailFeedback, FeedbackCounts};
use telmail_core::error::StoreError;
use telmail_core::ports::CampaignStore;

use super::items::{self, json, key, n, s, Condition, Fields, Item, Transaction};
use super::keys::{self, EVENT_PREFIX, META, PROGRESS};
use super::table::TABLE_GSI1;
use super::DynamoStore;
use crate::errors::store_error;

/// The fan-out shards done, a number set (adding a shard twice keeps one).
const SHARDS_DONE: &str = "shards_done";
/// The campaign's status (on `META`, and repeated on `PROGRESS`).
const STATUS: &str = "status";
/// Bounces and complaints reported for the campaign's emails (N).
const BOUNCES: &str = "email_bounces";
const COMPLAINTS: &str = "email_complaints";
/// The fan-out slices done, a string set of `<shard>/<slice>`.
const SLICES_DONE: &str = "slices_done";
/// When sending last moved on (a stamp); set by every update of the counters.
const PROGRESSED: &str = "progressed_at";
/// The clause every update of the counters ends with.
const SET_PROGRESSED: &str = "SET #progressed = :progressed";

/// Where shard `shard` resumes: `{ "slice", "cursor" }` (JSON) of its last handed-over slice.
fn resume_name(shard: u32) -> String {
    format!("resume_{shard}")
}

/// A shard's resume point as stored.
#[derive(serde::Serialize, serde::Deserialize)]
struct Resume {
    slice: u32,
    cursor: FanoutCursor,
}

fn slice_name(shard: u32, slice: u32) -> String {
    format!("{shard}/{slice}")
}

fn progress(item: &Item) -> Result<CampaignProgress, StoreError> {
    let f = Fields(item);
    let mut values = [0i64; 10];
    for (value, name) in values.iter_mut().zip(Progress::COUNTERS) {
        *value = f.opt_num(name)?.unwrap_or(0);
    }
    let mut voice = [0i64; 4];
    for (value, name) in voice.iter_mut().zip(Progress::VOICE_COUNTERS) {
        *value = f.opt_num(name)?.unwrap_or(0);
    }
    Ok(CampaignProgress {
        totals: Progress::from_values(values).with_voice(voice),
        shards_done: shards_done(item)?,
        feedback: FeedbackCounts {
            bounces: f.opt_num(BOUNCES)?.unwrap_or(0),
            complaints: f.opt_num(COMPLAINTS)?.unwrap_or(0),
        },
        progressed_at: f
            .opt_str(PROGRESSED)?
            .map(|stamp| keys::parse_stamp(stamp, &f.key()))
            .transpose()?,
    })
}

fn status_in(item: &Item) -> Result<CampaignStatus, StoreError> {
    let f = Fields(item);
    CampaignStatus::from_str(f.str(STATUS)?).map_err(|e| f.malformed(e))
}

fn shards_done(item: &Item) -> Result<u32, StoreError> {
    match item.get(SHARDS_DONE) {
        None => Ok(0),
        Some(AttributeValue::Ns(set)) => Ok(u32::try_from(set.len()).unwrap_or(u32::MAX)),
        Some(_) => Err(Fields(item).malformed("shards_done is not a number set")),
    }
}

fn meta_item(c: &Campaign) -> Result<Item, StoreError> {
    let mut item = key(keys::campaign(c.id), META);
    item.extend([
        ("campaign".to_owned(), json(c)?),
        (STATUS.to_owned(), s(c.status().as_str())),
        ("version".to_owned(), n(c.version)),
        ("gsi1pk".to_owned(), s(keys::campaign_status(c.status()))),
        (
            "gsi1sk".to_owned(),
            s(keys::created_order(c.created_at, c.id)),
        ),
    ]);
    if let Some(at) = c.send_at {
        item.insert("send_at".into(), s(keys::stamp(at)));
    }
    Ok(item)
}

/// Events sort by their instant; the random suffix only keeps keys unique.
fn event_item(id: CampaignId, event: &CampaignEvent) -> Result<Item, StoreError> {
    let sk = format!(
        "{EVENT_PREFIX}{}#{}",
        keys::stamp(event.at),
        uuid::Uuid::new_v4()
    );
    let mut item = key(keys::campaign(id), sk);
    item.insert("event".into(), json(event)?);
    Ok(item)
}

/// A campaign item with its GSI sort key, for merging lists newest first.
fn listed(item: &Item) -> Result<Option<(String, Campaign)>, StoreError> {
    let f = Fields(item);
    Ok(Some((f.str("gsi1sk")?.to_owned(), f.json("campaign")?)))
}

impl DynamoStore {
    /// The status as `META` holds it (consistent read of the whole campaign).
    async fn status_of_meta(&self, id: CampaignId) -> Result<Option<CampaignStatus>, StoreError> {
        items::get_consistent(
            &self.client,
            &self.table,
            key(keys::campaign(id), META),
            Some(("pk, sk, #status", &[("#status", STATUS)])),
            "campaign status",
        )
        .await?
        .as_ref()
        .map(status_in)
        .transpose()
    }

    /// The newest `limit` campaigns in a status.
    async fn campaigns_in(
        &self,
        status: CampaignStatus,
        limit: usize,
    ) -> Result<Vec<(String, Campaign)>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TABLE_GSI1)
            .key_condition_expression("gsi1pk = :status")
            .expression_attribute_values(":status", s(keys::campaign_status(status)))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX).max(1));
        items::query(q, limit, listed).await
    }

    /// The ids of every campaign in one of these statuses.
    pub(super) async fn campaign_ids_in(
        &self,
        statuses: &[CampaignStatus],
    ) -> Result<Vec<CampaignId>, StoreError> {
        let reads = statuses.iter().map(|status| {
            let q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(TABLE_GSI1)
                .key_condition_expression("gsi1pk = :status")
                .expression_attribute_values(":status", s(keys::campaign_status(*status)))
                .projection_expression("pk, sk");
            items::query(q, usize::MAX, |item| {
                let f = Fields(item);
                f.str("pk")?
                    .strip_prefix("CAMPAIGN#")
                    .and_then(|id| CampaignId::from_str(id).ok())
                    .map(Some)
                    .ok_or_else(|| f.malformed("bad campaign key"))
            })
        });
        Ok(try_join_all(reads).await?.into_iter().flatten().collect())
    }
}

#[async_trait]
impl CampaignStore for DynamoStore {
    async fn insert(&self, campaign: &Campaign, event: &CampaignEvent) -> Result<(), StoreError> {
        let mut tx = Transaction::new(&self.table);
        tx.put(
            meta_item(campaign)?,
            Some(Condition::absent()),
            "campagne déjà enregistrée",
        )?;
        tx.put(event_item(campaign.id, event)?, None, "")?;
        let mut progress = key(keys::campaign(campaign.id), PROGRESS);
        progress.insert(STATUS.into(), s(campaign.status().as_str()));
        tx.put(
            progress,
            Some(Condition::absent()),
            "campagne déjà enregistrée",
        )?;
        tx.commit(&self.client).await
    }

    async fn get(&self, id: CampaignId) -> Result<Option<Campaign>, StoreError> {
        items::get_consistent(
            &self.client,
            &self.table,
            key(keys::campaign(id), META),
            None,
            "campaign",
        )
        .await?
        .as_ref()
        .map(|i| Fields(i).json("campaign"))
        .transpose()
    }

    async fn status(&self, id: CampaignId) -> Result<Option<CampaignStatus>, StoreError> {
        // The small counters item, eventually consistent (a change is seen within about a
        // second): half a read unit per batch, whatever the size of the campaign.
        let item = items::get_eventual(
            &self.client,
            &self.table,
            key(keys::campaign(id), PROGRESS),
            Some(("#status", &[("#status", STATUS)])),
            "campaign status",
        )
        .await?;
        match item.filter(|i| i.contains_key(STATUS)) {
            Some(item) => status_in(&item).map(Some),
            // A campaign written before the counters repeated the status: its META says it.
            None => self.status_of_meta(id).await,
        }
    }

    async fn update(
        &self,
        campaign: &Campaign,
        read_version: u32,
        event: &CampaignEvent,
    ) -> Result<(), StoreError> {
        // Compare-and-set on the stored version: of two concurrent writes, one wins. A campaign
        // that does not exist fails the condition too (written before versions: version 1).
        let condition = if read_version == 1 {
            "#version = :read OR (attribute_exists(pk) AND attribute_not_exists(#version))"
        } else {
            "#version = :read"
        };
        let mut tx = Transaction::new(&self.table);
        tx.put(
            meta_item(campaign)?,
            Some(
                Condition::new(condition)
                    .name("#version", "version")
                    .value(":read", n(read_version)),
            ),
            "la campagne a changé entre-temps",
        )?;
        tx.put(event_item(campaign.id, event)?, None, "")?;
        tx.update(
            key(keys::campaign(campaign.id), PROGRESS),
            Condition::new("SET #status = :status")
                .name("#status", STATUS)
                .value(":status", s(campaign.status().as_str())),
            "la campagne a changé entre-temps",
        )?;
        tx.commit(&self.client).await
    }

    async fn list(
        &self,
        status: Option<CampaignStatus>,
        limit: usize,
    ) -> Result<Vec<Campaign>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let statuses = match status {
            Some(s) => vec![s],
            None => CampaignStatus::ALL.to_vec(),
        };
        // Without a status: the newest `limit` of each status partition, merged.
        let reads = statuses.into_iter().map(|s| self.campaigns_in(s, limit));
        let mut all: Vec<(String, Campaign)> =
            try_join_all(reads).await?.into_iter().flatten().collect();
        all.sort_by(|a, b| b.0.cmp(&a.0));
        Ok(all.into_iter().take(limit).map(|(_, c)| c).collect())
    }

    async fn events(&self, id: CampaignId) -> Result<Vec<CampaignEvent>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :events)")
            .expression_attribute_values(":pk", s(keys::campaign(id)))
            .expression_attribute_values(":events", s(EVENT_PREFIX))
            .consistent_read(true);
        items::query(q, usize::MAX, |item| Fields(item).json("event").map(Some)).await
    }

    async fn due(&self, now: DateTime<Utc>) -> Result<Vec<Campaign>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TABLE_GSI1)
            .key_condition_expression("gsi1pk = :scheduled")
            .filter_expression("#send_at <= :now")
            .expression_attribute_names("#send_at", "send_at")
            .expression_attribute_values(
                ":scheduled",
                s(keys::campaign_status(CampaignStatus::Scheduled)),
            )
            .expression_attribute_values(":now", s(keys::stamp(now)));
        let mut due = items::query(q, usize::MAX, |item| {
            let f = Fields(item);
            Ok(Some((
                f.str("send_at")?.to_owned(),
                f.json::<Campaign>("campaign")?,
            )))
        })
        .await?;
        due.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(due.into_iter().map(|(_, c)| c).collect())
    }

    async fn add_progress(
        &self,
        id: CampaignId,
        delta: &ProgressDelta,
    ) -> Result<CampaignProgress, StoreError> {
        let (update, adds) = self.add_counters(id, delta);
        // The item after the update comes back with the write, at no read cost.
        let update = update
            .update_expression(format!("ADD {adds} {SET_PROGRESSED}"))
            .condition_expression("attribute_exists(pk)")
            .return_values(ReturnValue::AllNew);
        match items::conditional_output("DynamoDB UpdateItem (campaign progress)", update.send())
            .await?
        {
            Some(out) => progress(&out.attributes.unwrap_or_default()),
            None => Err(unknown(id)),
        }
    }

    async fn stamp_progress(&self, id: CampaignId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let stamp = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign(id), PROGRESS)))
            .update_expression(SET_PROGRESSED)
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#progressed", PROGRESSED)
            .expression_attribute_values(":progressed", s(keys::stamp(at)));
        if items::conditional(
            "DynamoDB UpdateItem (campaign progress stamp)",
            stamp.send(),
        )
        .await?
        {
            Ok(())
        } else {
            Err(unknown(id))
        }
    }

    async fn progress(&self, id: CampaignId) -> Result<CampaignProgress, StoreError> {
        // An unknown campaign has counted nothing.
        items::get_consistent(
            &self.client,
            &self.table,
            key(keys::campaign(id), PROGRESS),
            None,
            "campaign progress",
        )
        .await?
        .as_ref()
        .map(progress)
        .transpose()
        .map(Option::unwrap_or_default)
    }

    async fn mark_shard_done(
        &self,
        id: CampaignId,
        shard: u32,
        counted: &ProgressDelta,
    ) -> Result<CampaignProgress, StoreError> {
        let (update, adds) = self.add_counters(id, counted);
        let out = update
            .update_expression(format!("ADD #done :shards, {adds} {SET_PROGRESSED}"))
            .condition_expression("attribute_exists(pk) AND NOT contains(#done, :shard)")
            .expression_attribute_names("#done", SHARDS_DONE)
            .expression_attribute_values(":shards", AttributeValue::Ns(vec![shard.to_string()]))
            .expression_attribute_values(":shard", n(shard))
            .return_values(ReturnValue::AllNew)
            // A shard marked before: its counters come back with the refusal.
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match out {
            Ok(out) => progress(&out.attributes.unwrap_or_default()),
            Err(e) => match e.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(failed)) => failed
                    .item()
                    .map(progress)
                    .unwrap_or_else(|| Err(unknown(id))),
                _ => Err(store_error("DynamoDB UpdateItem (shards done)", e)),
            },
        }
    }

    async fn add_email_feedback(
        &self,
        id: CampaignId,
        feedback: EmailFeedback,
    ) -> Result<Option<CampaignProgress>, StoreError> {
        let counter = match feedback {
            EmailFeedback::Bounce => BOUNCES,
            EmailFeedback::Complaint => COMPLAINTS,
        };
        let count = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign(id), PROGRESS)))
            .update_expression("ADD #c :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#c", counter)
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::AllNew);
        items::conditional_output("DynamoDB UpdateItem (email feedback)", count.send())
            .await?
            .map(|out| progress(&out.attributes.unwrap_or_default()))
            .transpose()
    }

    async fn mark_slice_done(
        &self,
        id: CampaignId,
        shard: u32,
        slice: u32,
        next: Option<&FanoutCursor>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign(id), PROGRESS)))
            .expression_attribute_names("#slices", SLICES_DONE)
            .expression_attribute_names("#progressed", PROGRESSED)
            .expression_attribute_values(":set", AttributeValue::Ss(vec![slice_name(shard, slice)]))
            .expression_attribute_values(":slice", s(slice_name(shard, slice)))
            .expression_attribute_values(":progressed", s(keys::stamp(self.clock.now())));
        let mut set = SET_PROGRESSED.to_owned();
        if let Some(cursor) = next {
            let resume = Resume {
                slice: slice + 1,
                cursor: *cursor,
            };
            set.push_str(", #resume = :resume");
            update = update
                .expression_attribute_names("#resume", resume_name(shard))
                .expression_attribute_values(":resume", json(&resume)?);
        }
        let update = update
            .update_expression(format!("ADD #slices :set {set}"))
            .condition_expression("attribute_exists(pk) AND NOT contains(#slices, :slice)");
        items::conditional("DynamoDB UpdateItem (slices done)", update.send()).await
    }

    async fn fanout_resume(
        &self,
        id: CampaignId,
        shard: u32,
    ) -> Result<Option<(u32, FanoutCursor)>, StoreError> {
        let name = resume_name(shard);
        let Some(item) = items::get_consistent(
            &self.client,
            &self.table,
            key(keys::campaign(id), PROGRESS),
            Some(("#resume", &[("#resume", name.as_str())])),
            "fan-out resume",
        )
        .await?
        else {
            return Ok(None);
        };
        if Fields(&item).opt_str(&name)?.is_none() {
            return Ok(None);
        }
        let resume: Resume = Fields(&item).json(&name)?;
        Ok(Some((resume.slice, resume.cursor)))
    }

    async fn slice_done(&self, id: CampaignId, shard: u32, slice: u32) -> Result<bool, StoreError> {
        let item = items::get_consistent(
            &self.client,
            &self.table,
            key(keys::campaign(id), PROGRESS),
            Some(("#slices", &[("#slices", SLICES_DONE)])),
            "slices done",
        )
        .await?;
        Ok(match item.as_ref().and_then(|i| i.get(SLICES_DONE)) {
            Some(AttributeValue::Ss(set)) => set.contains(&slice_name(shard, slice)),
            _ => false,
        })
    }
}

fn unknown(id: CampaignId) -> StoreError {
    StoreError::Backend(format!("no counters for unknown campaign {id}"))
}

impl DynamoStore {
    /// An update of a campaign's counters: the builder and its `ADD` clauses, to complete.
    fn add_counters(
        &self,
        id: CampaignId,
        delta: &ProgressDelta,
    ) -> (UpdateItemFluentBuilder, String) {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::campaign(id), PROGRESS)));
        let mut adds = Vec::new();
        update = update
            .expression_attribute_names("#progressed", PROGRESSED)
            .expression_attribute_values(":progressed", s(keys::stamp(self.clock.now())));
        for (i, (name, value)) in Progress::COUNTERS.iter().zip(delta.values()).enumerate() {
            adds.push(format!("#c{i} :v{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), *name)
                .expression_attribute_values(format!(":v{i}"), n(value));
        }
        // Voice counters only when calls moved them: the item of a campaign without calls
        // keeps its shape.
        let voice = delta.voice_values();
        if voice != [0; 4] {
            for (i, (name, value)) in Progress::VOICE_COUNTERS.iter().zip(voice).enumerate() {
                adds.push(format!("#w{i} :w{i}"));
                update = update
                    .expression_attribute_names(format!("#w{i}"), *name)
                    .expression_attribute_values(format!(":w{i}"), n(value));
            }
        }
        (update, adds.join(", "))
    }
}
