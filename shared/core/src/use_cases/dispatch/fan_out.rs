//! Fan-out: each shard's recipients, read in slices, become one delivery job each.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Dispatcher, FANOUT_PAGE};
use crate::domain::campaign::{Campaign, CampaignStatus};
use crate::domain::contact::Channel;
use crate::domain::delivery::{DeliveryKey, DeliveryStatus, NewDelivery};
use crate::domain::queue::{DeliverJob, FanoutCursor, FanoutJob, Job, JobOutcome, KnownAddress};
use crate::domain::subscriber::SubscriberId;
use crate::domain::topic::TopicSlug;
use crate::domain::zone::{ZoneFilter, ZoneSlug};
use crate::error::{DomainError, StoreError};
use crate::ports::{AudienceStore, Recipient, SuppressionStore};

impl Dispatcher {
    /// Fans out one slice of a shard: enqueues a delivery job per recipient, carrying the
    /// address read here, and records suppressed addresses, until the shard ends or the slice
    /// reaches its bounds ([`ServiceConfig::fanout_slice`]); then a job for the next slice
    /// takes over after the last recipient handled. A slice recorded done never runs again (a
    /// job delivered twice). What the slices counted travels from one to the next and is
    /// added when the shard is marked done, once; the claim before sending keeps each message
    /// to one even if a slice is cut short and run again.
    pub async fn fan_out(&self, job: &FanoutJob) -> Result<JobOutcome, DomainError> {
        let id = job.campaign;
        let Some(campaign) = self.current(id).await? else {
            return Ok(JobOutcome::Done);
        };
        if campaign.status() != CampaignStatus::Sending
            || self
                .d
                .campaigns
                .slice_done(id, job.shard, job.slice)
                .await?
        {
            return Ok(JobOutcome::Done);
        }
        let budget = self.d.config.fanout_slice;
        let read_at = self.now();
        // On the service's clock, as every time the service compares (none: no end in sight).
        let ends = chrono::Duration::from_std(budget.time)
            .ok()
            .and_then(|time| read_at.checked_add_signed(time));
        let mut cursor = job.resume.unwrap_or_default();
        let mut handled = 0u64;
        // A page of each channel in turn: the queue holds the channels side by side, and each
        // drains at its own provider's pace.
        let mut lanes = self.lanes(&campaign, job.shard, &cursor);
        while !lanes.is_empty() {
            for (channel, merged, delay) in &mut lanes {
                let room = budget.recipients.saturating_sub(handled).max(1);
                let batch = merged
                    .next_batch(FANOUT_PAGE.min(usize::try_from(room).unwrap_or(usize::MAX)))
                    .await?;
                let lane = cursor.of(*channel);
                let Some(last) = batch.last().map(|r| r.id) else {
                    lane.done = true;
                    continue;
                };
                let targeted = batch.len() as u64;
                let suppressed = self
                    .fan_out_batch(&campaign, *channel, batch, read_at, *delay)
                    .await?;
                let lane = cursor.of(*channel);
                lane.after = Some(last);
                lane.targeted += targeted;
                lane.suppressed += suppressed;
                handled += targeted;
                if handled >= budget.recipients || ends.is_some_and(|e| self.now() >= e) {
                    return self.hand_over(job, cursor).await;
                }
            }
            lanes.retain(|(c, _, _)| !cursor.at(*c).done);
        }
        self.finish_shard(&campaign, job, &cursor).await
    }

    /// The shard's channels still to fan out from `cursor`: each one's recipients, and how
    /// long its deliveries wait for the sending window.
    fn lanes<'s>(
        &'s self,
        campaign: &Campaign,
        shard: u32,
        cursor: &FanoutCursor,
    ) -> Vec<(Channel, MergedRecipients<'s>, Duration)> {
        campaign
            .channels()
            .into_iter()
            .filter(|c| !cursor.at(*c).done)
            .map(|c| {
                let merged = MergedRecipients::new(
                    self.d.audience.as_ref(),
                    campaign,
                    c,
                    shard,
                    cursor.at(c).after,
                );
                (c, merged, self.window_wait(campaign, c))
            })
            .collect()
    }

    /// Marks the shard done with what its slices counted (added once), then the campaign sent
    /// if nothing else is left.
    async fn finish_shard(
        &self,
        campaign: &Campaign,
        job: &FanoutJob,
        cursor: &FanoutCursor,
    ) -> Result<JobOutcome, DomainError> {
        let (id, counted) = (job.campaign, cursor.counted());
        let progress = self
            .d
            .campaigns
            .mark_shard_done(id, job.shard, &counted)
            .await?;
        self.d
            .campaigns
            .mark_slice_done(id, job.shard, job.slice, None)
            .await?;
        self.maybe_finish(campaign, &progress).await?;
        Ok(JobOutcome::Done)
    }

    /// Queues the shard's next slice, then records this one done: a failure in between runs
    /// this slice again (its messages are claimed once), never loses the rest of the shard.
    async fn hand_over(
        &self,
        job: &FanoutJob,
        resume: FanoutCursor,
    ) -> Result<JobOutcome, DomainError> {
        let next = FanoutJob {
            slice: job.slice + 1,
            resume: Some(resume),
            ..job.clone()
        };
        self.d
            .queue
            .enqueue(&[Job::Fanout(next)], Duration::ZERO)
            .await?;
        self.d
            .campaigns
            .mark_slice_done(job.campaign, job.shard, job.slice, Some(&resume))
            .await?;
        Ok(JobOutcome::Done)
    }

    /// Enqueues one page of recipients; returns how many were suppressed instead.
    async fn fan_out_batch(
        &self,
        campaign: &Campaign,
        channel: Channel,
        batch: Vec<Recipient>,
        read_at: DateTime<Utc>,
        delay: Duration,
    ) -> Result<u64, DomainError> {
        let addresses: Vec<String> = batch.iter().map(|r| r.address.to_string()).collect();
        let suppressed = self.d.suppressions.suppressed_among(&addresses).await?;
        let key = |r: &Recipient| DeliveryKey {
            campaign: campaign.id,
            subscriber: r.id,
            channel,
        };
        let (blocked, open): (Vec<Recipient>, Vec<Recipient>) = batch
            .into_iter()
            .partition(|r| suppressed.contains(r.address.as_str()));
        if !blocked.is_empty() {
            let records: Vec<NewDelivery> = blocked
                .iter()
                .map(|r| NewDelivery {
                    key: key(r),
                    status: DeliveryStatus::Suppressed,
                    error: Some("adresse sur liste de suppression".to_owned()),
                })
                .collect();
            self.d.deliveries.create_batch(&records).await?;
        }
        let jobs: Vec<Job> = open
            .into_iter()
            .map(|r| {
                Job::Deliver(DeliverJob {
                    urgent: campaign.urgent,
                    follow_up: false,
                    key: key(&r),
                    to: Some(KnownAddress {
                        address: r.address,
                        read_at,
                    }),
                })
            })
            .collect();
        self.d.queue.enqueue(&jobs, delay).await?;
        Ok(blocked.len() as u64)
    }
}

/// Distinct recipients of several topics on one channel and shard, in id order: a k-way merge of
/// the per-topic pages, so a person on two targeted topics is met once, with flat memory.
struct MergedRecipients<'a> {
    store: &'a dyn AudienceStore,
    channel: Channel,
    shard: u32,
    shards: u32,
    cursors: Vec<TopicCursor>,
    /// The campaign's zones: those outside them are passed over.
    zones: Option<ZoneFilter>,
}

struct TopicCursor {
    topic: TopicSlug,
    buffer: VecDeque<Recipient>,
    after: Option<SubscriberId>,
    exhausted: bool,
}

impl<'a> MergedRecipients<'a> {
    /// The campaign's recipients on `channel` in `shard`, from after `after`.
    fn new(
        store: &'a dyn AudienceStore,
        campaign: &Campaign,
        channel: Channel,
        shard: u32,
        after: Option<SubscriberId>,
    ) -> Self {
        Self {
            store,
            channel,
            shard,
            // The count the campaign was started with, even if the setting changed since.
            shards: campaign.shards,
            cursors: campaign
                .topics
                .iter()
                .map(|t| TopicCursor {
                    topic: t.clone(),
                    buffer: VecDeque::new(),
                    after,
                    exhausted: false,
                })
                .collect(),
            zones: campaign.zone_filter(),
        }
    }

    /// Every recipient of `topics` on `channel` (one shard: the whole audience), unfiltered.
    fn whole(store: &'a dyn AudienceStore, topics: &[TopicSlug], channel: Channel) -> Self {
        Self {
            store,
            channel,
            shard: 0,
            shards: 1,
            cursors: topics
                .iter()
                .map(|t| TopicCursor {
                    topic: t.clone(),
                    buffer: VecDeque::new(),
                    after: None,
                    exhausted: false,
                })
                .collect(),
            zones: None,
        }
    }

    /// The next `n` distinct recipients in the campaign's zones (fewer only at the end): pages
    /// are read on until `n` are found, each page's profiles read in one batch for their zones.
    async fn next_batch(&mut self, n: usize) -> Result<Vec<Recipient>, StoreError> {
        let Some(filter) = self.zones.clone() else {
            return self.next_raw(n).await;
        };
        let mut out = Vec::with_capacity(n);
        loop {
            let wanted = n - out.len();
            let raw = self.next_raw(wanted).await?;
            let ended = raw.len() < wanted;
            let named = zones_of(self.store, &raw).await?;
            out.extend(
                raw.into_iter()
                    .filter(|r| named.get(&r.id).is_some_and(|z| filter.admits(z))),
            );
            if ended || out.len() >= n {
                return Ok(out);
            }
        }
    }

    async fn refill(&mut self) -> Result<(), StoreError> {
        for c in self
            .cursors
            .iter_mut()
            .filter(|c| c.buffer.is_empty() && !c.exhausted)
        {
            let page = self
                .store
                .recipients(
                    &c.topic,
                    self.channel,
                    self.shard,
                    self.shards,
                    c.after,
                    FANOUT_PAGE,
                )
                .await?;
            c.exhausted = page.len() < FANOUT_PAGE;
            c.after = page.last().map(|r| r.id);
            c.buffer.extend(page);
        }
        Ok(())
    }

    /// The next `n` distinct recipients (fewer at the end), whatever their zones.
    async fn next_raw(&mut self, n: usize) -> Result<Vec<Recipient>, StoreError> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            self.refill().await?;
            let Some(min) = self
                .cursors
                .iter()
                .filter_map(|c| c.buffer.front().map(|r| r.id))
                .min()
            else {
                break;
            };
            let mut taken = None;
            for c in &mut self.cursors {
                if c.buffer.front().is_some_and(|r| r.id == min) {
                    taken = c.buffer.pop_front();
                }
            }
            out.extend(taken);
        }
        Ok(out)
    }
}

/// The zones each of `recipients` named (the erased are missing).
async fn zones_of(
    store: &dyn AudienceStore,
    recipients: &[Recipient],
) -> Result<HashMap<SubscriberId, BTreeSet<ZoneSlug>>, StoreError> {
    if recipients.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<SubscriberId> = recipients.iter().map(|r| r.id).collect();
    Ok(store
        .get_many(&ids)
        .await?
        .into_iter()
        .map(|s| (s.id, s.zones))
        .collect())
}

/// How many of a campaign's audience on one channel a limit to zones reaches: those who named
/// one of the zones, and those plus the ones who named none (suppressed addresses left out).
pub async fn zone_reach(
    audience: &dyn AudienceStore,
    suppressions: &dyn SuppressionStore,
    topics: &[TopicSlug],
    channel: Channel,
    filter: &ZoneFilter,
) -> Result<ZoneReach, StoreError> {
    let mut all = MergedRecipients::whole(audience, topics, channel);
    let mut reach = ZoneReach::default();
    loop {
        let page = all.next_raw(FANOUT_PAGE).await?;
        let ended = page.len() < FANOUT_PAGE;
        let addresses: Vec<String> = page.iter().map(|r| r.address.to_string()).collect();
        let suppressed = suppressions.suppressed_among(&addresses).await?;
        let named = zones_of(audience, &page).await?;
        for r in page
            .iter()
            .filter(|r| !suppressed.contains(r.address.as_str()))
        {
            match named.get(&r.id) {
                Some(z) if z.is_empty() => reach.with_unzoned += 1,
                Some(z) if filter.admits(z) => {
                    reach.in_zones += 1;
                    reach.with_unzoned += 1;
                }
                _ => {}
            }
        }
        if ended {
            return Ok(reach);
        }
    }
}

/// What a limit to zones reaches on one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ZoneReach {
    /// Subscribers who named one of the zones.
    pub in_zones: u64,
    /// Those, plus the subscribers who named no zone.
    pub with_unzoned: u64,
}
