//! Campaigns left `sending` by a failure between two writes are set right on the schedule.
//!
//! Sending writes in steps that no store makes atomic on both backends: the status moves to
//! `sending` before the fan-out jobs are queued, and a batch records its outcomes before it adds
//! them to the counters. A failure in between leaves a campaign that would never finish; the
//! repair, run with the scheduled start of campaigns, finds such campaigns and completes the
//! missing step. Every step it repeats is idempotent (a shard's fan-out counts once, a delivery
//! is sent at most once), so running it while sending goes well changes nothing.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::Dispatcher;
use crate::domain::campaign::{Campaign, CampaignStatus};
use crate::domain::contact::Channel;
use crate::domain::delivery::{Delivery, DeliveryStatus, Progress};
use crate::domain::queue::{FanoutJob, Job};
use crate::error::DomainError;

/// A campaign that made no progress for this long (no counter added, no fan-out slice done)
/// while sending is looked at: a fan-out job or a batch's counters may have been lost. One
/// that moves on is left alone, however long it sends, so the repair costs nothing while
/// sending goes well.
pub const STALLED_AFTER: chrono::Duration = chrono::Duration::minutes(10);
/// Outcomes recorded this long ago are settled: a batch adds them to the counters within
/// seconds, so one still missing from the counters was lost.
pub const OUTCOME_SETTLED_AFTER: chrono::Duration = chrono::Duration::minutes(10);
/// A campaign still sending this long after its last delivery could have been retried (its SMS
/// window's opening plus the retry time) is stuck: an alarm goes off. Pacing a very large list
/// (a million emails at 14 a second take 20 hours) stays within it; a list larger than a day's
/// email quota gets a day more per quota's worth.
pub const STUCK_MARGIN: chrono::Duration = chrono::Duration::hours(24);
/// Deliveries read per page while recounting.
const RECOUNT_PAGE: usize = 1000;

/// What a repair run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Campaigns whose fan-out jobs were queued again.
    pub fanouts_requeued: usize,
    /// Campaigns whose counters were completed from their deliveries.
    pub recounted: usize,
    /// Campaigns still sending long after their retries ran out (an alarm each).
    pub stuck: usize,
    /// Items it read: the campaigns sending, each one's progress, the deliveries recounted and
    /// the shards' resume points (what a tick costs in reads; flat while sending goes well).
    pub read: u64,
}

impl Dispatcher {
    /// Completes what failures left undone in campaigns still `sending`.
    pub async fn repair_stuck(&self) -> Result<Repairs, DomainError> {
        let now = self.now();
        let mut done = Repairs::default();
        let sending = self
            .d
            .campaigns
            .list(Some(CampaignStatus::Sending), 1000)
            .await?;
        done.read += sending.len() as u64;
        for campaign in sending {
            let progress = self.d.campaigns.progress(campaign.id).await?;
            done.read += 1;
            let started = campaign.updated_at;
            if now > self.stuck_after(started)
                && now > self.quota_stuck_after(started, &progress).await
            {
                tracing::error!(alarm = "campaign_stuck", campaign = %campaign.id, "campaign still sending long after its retries ran out");
                done.stuck += 1;
            }
            let last_moved = progress.progressed_at.unwrap_or(started).max(started);
            if now - last_moved <= STALLED_AFTER {
                continue;
            }
            if progress.shards_done < campaign.shards {
                self.requeue_fanout(&campaign).await?;
                done.fanouts_requeued += 1;
                done.read += u64::from(campaign.shards);
            } else if !progress.totals.all_done() {
                let (added, read) = self.recount(&campaign, &progress.totals, now).await?;
                done.read += read;
                if added {
                    done.recounted += 1;
                    continue;
                }
            } else {
                continue;
            }
            // Looked at, nothing lost: the next look waits half the time the campaign has been
            // sending, a stall's time at least. A campaign rightly waiting (for the SMS window
            // all night, for the daily quota a day) costs a few looks, not one every ten
            // minutes; a recount reads every delivery, so the looks' reads stay a small,
            // shrinking share of what sending reads.
            let wait = STALLED_AFTER.max((now - started) / 2);
            self.d
                .campaigns
                .stamp_progress(campaign.id, now + wait - STALLED_AFTER)
                .await?;
        }
        if done.fanouts_requeued + done.recounted > 0 {
            tracing::warn!(
                fanouts_requeued = done.fanouts_requeued,
                recounted = done.recounted,
                "campaigns left sending by a failure were repaired"
            );
        }
        Ok(done)
    }

    /// When a campaign started at `started` is stuck if still sending.
    fn stuck_after(&self, started: DateTime<Utc>) -> DateTime<Utc> {
        let c = &self.d.config;
        c.sending_window.next_opening(started) + c.retry_for + STUCK_MARGIN
    }

    /// When a campaign larger than a day's email quota is stuck: a day later per quota's worth
    /// over the first (the rolling 24 hours let a quota's worth through a day). Read only for a
    /// campaign past [`Self::stuck_after`], which a send within the quota never is.
    async fn quota_stuck_after(
        &self,
        started: DateTime<Utc>,
        progress: &crate::domain::delivery::CampaignProgress,
    ) -> DateTime<Utc> {
        let emails = progress.totals.email.targeted;
        let quota = match &self.d.pacing.email_quota {
            Some(quota) => quota.size().await,
            None => None,
        };
        let days = match quota {
            Some(q) if q > 0 => emails.div_ceil(q).saturating_sub(1),
            _ => 0,
        };
        self.stuck_after(started) + chrono::Duration::days(days.min(3650) as i64)
    }

    /// Queues each shard's fan-out again from the last slice it handed over to (the one whose
    /// job was lost), with the cursor it was handed; a slice already done does not run again,
    /// and shards already done count nothing twice.
    async fn requeue_fanout(&self, campaign: &Campaign) -> Result<(), DomainError> {
        let mut jobs = Vec::with_capacity(campaign.shards as usize);
        for shard in 0..campaign.shards {
            let mut job = FanoutJob::first(campaign.id, shard, campaign.urgent);
            if let Some((slice, cursor)) =
                self.d.campaigns.fanout_resume(campaign.id, shard).await?
            {
                job.slice = slice;
                job.resume = Some(cursor);
            }
            jobs.push(Job::Fanout(job));
        }
        self.d.queue.enqueue(&jobs, Duration::ZERO).await?;
        Ok(())
    }

    /// Adds to the counters the settled outcomes they miss (and fails claims left by a sender
    /// that died); returns whether anything was added, and how many deliveries were read.
    async fn recount(
        &self,
        campaign: &Campaign,
        recorded: &Progress,
        now: DateTime<Utc>,
    ) -> Result<(bool, u64), DomainError> {
        let settled = now - OUTCOME_SETTLED_AFTER;
        let stale = now - self.d.config.claim_expiry;
        let mut counted = Progress::default();
        let mut abandoned: Vec<Delivery> = Vec::new();
        let mut after = None;
        let mut read = 0u64;
        loop {
            let page = self
                .d
                .deliveries
                .list_after(campaign.id, after, RECOUNT_PAGE)
                .await?;
            read += page.len() as u64;
            after = page.last().map(|d| d.key);
            for d in &page {
                match d.status {
                    DeliveryStatus::Sending if d.updated_at < stale => abandoned.push(d.clone()),
                    _ if d.updated_at >= settled => {}
                    status => self.count(&mut counted, d, status),
                }
            }
            if page.len() < RECOUNT_PAGE {
                break;
            }
        }
        let mut missing = missing_from(&counted, recorded, &self.d.config.prices);
        for key in self.fail_stale(&abandoned).await? {
            missing.channel_mut(key.channel).failed += 1;
        }
        if missing.is_zero() {
            return Ok((false, read));
        }
        let progress = self.d.campaigns.add_progress(campaign.id, &missing).await?;
        self.count_sent_this_month(&missing).await?;
        self.maybe_finish(campaign, &progress).await?;
        Ok((true, read))
    }

    /// Counts one settled delivery as the sender would have.
    fn count(&self, into: &mut Progress, d: &Delivery, status: DeliveryStatus) {
        let counts = into.channel_mut(d.key.channel);
        match status {
            DeliveryStatus::Sent => {
                counts.sent += 1;
                if d.key.channel == Channel::Sms {
                    into.sms_segments += u64::from(d.segments);
                }
            }
            DeliveryStatus::Failed | DeliveryStatus::Unknown => counts.failed += 1,
            DeliveryStatus::Suppressed | DeliveryStatus::Expired => counts.suppressed += 1,
            DeliveryStatus::Queued | DeliveryStatus::Sending => {}
        }
    }
}

/// What the deliveries show beyond what the counters hold, channel by channel (never less).
fn missing_from(
    counted: &Progress,
    recorded: &Progress,
    prices: &crate::domain::money::Prices,
) -> Progress {
    let mut missing = Progress::default();
    for channel in Channel::ALL {
        let (c, r) = (channel_of(counted, channel), channel_of(recorded, channel));
        let m = missing.channel_mut(channel);
        m.sent = c.sent.saturating_sub(r.sent);
        m.failed = c.failed.saturating_sub(r.failed);
        m.suppressed = c.suppressed.saturating_sub(r.suppressed);
    }
    missing.sms_segments = counted.sms_segments.saturating_sub(recorded.sms_segments);
    missing.cost = prices.sms_cost(missing.sms_segments)
        + prices.email_cost(missing.email.sent)
        + prices.voice_cost(missing.voice.sent);
    missing
}

fn channel_of(p: &Progress, channel: Channel) -> crate::domain::delivery::ChannelCounts {
    match channel {
        Channel::Email => p.email,
        Channel::Sms => p.sms,
        Channel::Voice => p.voice,
    }
}
