//! Delivery: a batch of delivery jobs is booked on the providers' pace, claimed, sent and
//! counted once.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::send::SendTo;
use super::{
    backoff, Dispatcher, Paused, BOOK_AHEAD, CLOCK_MARGIN, HELD_RECHECK, LONGEST_QUEUE_DELAY,
    PAUSED_WAIT, PAUSES_READ_EVERY, SEND_MARGIN, THROTTLED_WAIT,
};
use crate::clock::Month;
use crate::domain::campaign::{Campaign, CampaignId, CampaignKind, CampaignStatus};
use crate::domain::cell::CellMember;
use crate::domain::contact::Address;
use crate::domain::contact::Channel;
use crate::domain::delivery::{Claims, Delivery, DeliveryKey, DeliveryResult, Progress};
use crate::domain::queue::{DeliverJob, JobOutcome, KnownAddress};
use crate::domain::subscriber::{Subscriber, SubscriberId};
use crate::error::DomainError;
use crate::ports::Counter;

impl Dispatcher {
    /// Delivers a batch of messages with no deadline of its own (booking [`BOOK_AHEAD`] at
    /// most); returns one outcome per job, in order.
    pub async fn deliver(&self, jobs: &[DeliverJob]) -> Result<Vec<JobOutcome>, DomainError> {
        self.deliver_in(jobs, BOOK_AHEAD).await
    }

    /// Delivers a batch of messages within `time` from now (see [`Self::deliver_within`]).
    pub async fn deliver_in(
        &self,
        jobs: &[DeliverJob],
        time: Duration,
    ) -> Result<Vec<JobOutcome>, DomainError> {
        let until = chrono::Duration::from_std(time)
            .ok()
            .and_then(|t| self.now().checked_add_signed(t))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        self.deliver_within(jobs, until).await
    }

    /// Delivers a batch of messages, all of it done by `deadline` (a Lambda invocation's end):
    /// each message books its provider slot first, and only those whose slot falls before the
    /// deadline (less [`SEND_MARGIN`]) are claimed and sent; the others go back to the queue
    /// unclaimed, to wait for the channel's next free slot. Returns one outcome per job.
    pub async fn deliver_within(
        &self,
        jobs: &[DeliverJob],
        deadline: DateTime<Utc>,
    ) -> Result<Vec<JobOutcome>, DomainError> {
        let mut outcomes = vec![JobOutcome::Done; jobs.len()];
        let campaigns = self.sending_campaigns(jobs).await?;
        let mut to_claim = self.inside_window(jobs, &campaigns, &mut outcomes);
        self.hold_paused(jobs, &campaigns, &mut to_claim, &mut outcomes)
            .await?;
        let send_by = deadline - chrono::Duration::from_std(SEND_MARGIN).expect("small duration");
        let turns = self
            .book_turns(jobs, &campaigns, &mut to_claim, &mut outcomes, send_by)
            .await?;
        if to_claim.is_empty() {
            return Ok(outcomes);
        }
        let Claims { won: claimed, held } = self.d.deliveries.claim(&to_claim).await?;
        self.recheck_held_later(jobs, &held, &mut outcomes);
        let stale = self.fail_stale(&held).await?;
        let recipients = match self.recipients(jobs, &claimed, &campaigns).await {
            Ok(r) => r,
            Err(e) => {
                // Nothing was sent: give the claims back for the jobs' next delivery.
                self.release(claimed, &e).await;
                return Err(e);
            }
        };
        let results = self
            .send_all(&campaigns, &claimed, &recipients, &turns)
            .await;
        for (d, r) in claimed.iter().zip(&results) {
            let after = match r {
                DeliveryResult::Retry { .. } => backoff(d.attempts),
                DeliveryResult::Wait { .. } => THROTTLED_WAIT,
                _ => continue,
            };
            if let Some(i) = jobs.iter().position(|j| j.key == d.key) {
                outcomes[i] = JobOutcome::RetryAfter(after);
            }
        }
        let (deltas, month) = self.tally(&claimed, &results, &stale);
        let finished: Vec<(Delivery, DeliveryResult)> = claimed.into_iter().zip(results).collect();
        self.record(&campaigns, &finished, &deltas, &month).await?;
        Ok(outcomes)
    }

    /// The started campaigns the jobs belong to, with their status of now. A finished one
    /// still sends a straggler (a job from an interrupted fan-out run) rather than drop it; a
    /// stopped one is kept so its deliveries are closed; any other is left out.
    async fn sending_campaigns(
        &self,
        jobs: &[DeliverJob],
    ) -> Result<HashMap<CampaignId, Campaign>, DomainError> {
        let mut campaigns = HashMap::new();
        for j in jobs {
            if campaigns.contains_key(&j.key.campaign) {
                continue;
            }
            if let Some(c) = self.current(j.key.campaign).await?.filter(|c| {
                matches!(
                    c.status(),
                    CampaignStatus::Sending | CampaignStatus::Sent | CampaignStatus::Cancelled
                )
            }) {
                campaigns.insert(c.id, c);
            }
        }
        Ok(campaigns)
    }

    /// The deliveries that may be sent now; the others wait for their sending window.
    fn inside_window(
        &self,
        jobs: &[DeliverJob],
        campaigns: &HashMap<CampaignId, Campaign>,
        outcomes: &mut [JobOutcome],
    ) -> Vec<DeliveryKey> {
        let mut to_claim = Vec::new();
        for (i, j) in jobs.iter().enumerate() {
            let Some(c) = campaigns.get(&j.key.campaign) else {
                continue;
            };
            let wait = self.window_wait(c, j.key.channel);
            if wait > Duration::ZERO {
                outcomes[i] = JobOutcome::RetryAfter(wait);
            } else {
                to_claim.push(j.key);
            }
        }
        to_claim
    }

    /// Deliveries on a channel the provider paused, or of a campaign braked on their channel,
    /// wait, unclaimed and without failing, until staff resume it. A stopped campaign's are
    /// closed as usual.
    async fn hold_paused(
        &self,
        jobs: &[DeliverJob],
        campaigns: &HashMap<CampaignId, Campaign>,
        to_claim: &mut Vec<DeliveryKey>,
        outcomes: &mut [JobOutcome],
    ) -> Result<(), DomainError> {
        let paused = self.paused().await?;
        if paused.is_empty() {
            return Ok(());
        }
        let held = |k: &DeliveryKey| {
            let stopped = campaigns
                .get(&k.campaign)
                .is_some_and(|c| c.status() == CampaignStatus::Cancelled);
            !stopped
                && (paused.contains(&(k.channel, None))
                    || paused.contains(&(k.channel, Some(k.campaign))))
        };
        to_claim.retain(|k| !held(k));
        for (i, j) in jobs.iter().enumerate() {
            if held(&j.key) && outcomes[i] == JobOutcome::Done {
                outcomes[i] = JobOutcome::RetryAfter(PAUSED_WAIT);
            }
        }
        Ok(())
    }

    /// The paused channels and braked campaigns, read from the store at most every
    /// [`PAUSES_READ_EVERY`] (a read per batch would cost more than the batch's own reads).
    async fn paused(&self) -> Result<Paused, DomainError> {
        let now = self.now();
        let fresh = chrono::Duration::from_std(PAUSES_READ_EVERY).expect("small duration");
        if let Some((at, paused)) = self.paused.lock().expect("cache lock").as_ref() {
            if now - *at < fresh {
                return Ok(paused.clone());
            }
        }
        let paused: Paused = self
            .d
            .pauses
            .pauses()
            .await?
            .into_iter()
            .map(|p| (p.channel, p.campaign))
            .collect();
        *self.paused.lock().expect("cache lock") = Some((now, paused.clone()));
        Ok(paused)
    }

    /// A claim held by another sender and not yet stale: the job comes back to see how it
    /// ended (that sender may have died, and then nobody else would look again). Soon at
    /// first (a duplicate job usually finds the outcome recorded), then less and less often,
    /// up to the cutoff.
    fn recheck_held_later(
        &self,
        jobs: &[DeliverJob],
        held: &[Delivery],
        outcomes: &mut [JobOutcome],
    ) {
        let cutoff = self.stale_cutoff();
        for d in held.iter().filter(|d| d.updated_at >= cutoff) {
            let left = (d.updated_at - cutoff).to_std().unwrap_or(Duration::ZERO);
            let age = (self.now() - d.updated_at)
                .to_std()
                .unwrap_or(Duration::ZERO);
            let wait = age.max(HELD_RECHECK).min(left.max(Duration::from_secs(1)));
            for (i, j) in jobs.iter().enumerate() {
                if j.key == d.key {
                    outcomes[i] = JobOutcome::RetryAfter(wait);
                }
            }
        }
    }

    /// Books a provider slot for each delivery of a paced channel, none after `send_by` and no
    /// email over what is left of the daily quota; the deliveries without one are left
    /// unclaimed and come back when the channel is free again (within the longest queue delay;
    /// the longest for a quota used up, which frees over hours). A stopped campaign's
    /// deliveries need no slot: they are closed without sending.
    async fn book_turns(
        &self,
        jobs: &[DeliverJob],
        campaigns: &HashMap<CampaignId, Campaign>,
        to_claim: &mut Vec<DeliveryKey>,
        outcomes: &mut [JobOutcome],
        send_by: DateTime<Utc>,
    ) -> Result<HashMap<DeliveryKey, DateTime<Utc>>, DomainError> {
        let mut turns = HashMap::new();
        let mut later: HashMap<DeliveryKey, Duration> = HashMap::new();
        for channel in [Channel::Email, Channel::Sms] {
            let stopped = |k: &DeliveryKey| {
                campaigns
                    .get(&k.campaign)
                    .is_some_and(|c| c.status() == CampaignStatus::Cancelled)
            };
            let wanted: Vec<DeliveryKey> = to_claim
                .iter()
                .filter(|k| k.channel == channel && !stopped(k))
                .copied()
                .collect();
            self.book_channel(channel, wanted, send_by, &mut turns, &mut later)
                .await?;
        }
        if !later.is_empty() {
            to_claim.retain(|k| !later.contains_key(k));
            for (i, j) in jobs.iter().enumerate() {
                if let Some(wait) = later.get(&j.key) {
                    outcomes[i] = JobOutcome::RetryAfter(*wait);
                }
            }
        }
        Ok(turns)
    }

    /// Books slots on `channel` for `wanted`, in order: those with a slot go into `turns`,
    /// the others into `later` with their wait (over the daily quota, or no slot before
    /// `send_by`).
    async fn book_channel(
        &self,
        channel: Channel,
        mut wanted: Vec<DeliveryKey>,
        send_by: DateTime<Utc>,
        turns: &mut HashMap<DeliveryKey, DateTime<Utc>>,
        later: &mut HashMap<DeliveryKey, Duration>,
    ) -> Result<(), DomainError> {
        let quota = match channel {
            Channel::Email => self.d.pacing.email_quota.as_ref(),
            _ => None,
        };
        if let (Some(quota), false) = (quota, wanted.is_empty()) {
            // Over today's quota: the email waits in the queue, unclaimed, until it frees.
            let left = quota.left().await.map_or(usize::MAX, |left| {
                usize::try_from(left).unwrap_or(usize::MAX)
            });
            if wanted.len() > left {
                for key in wanted.drain(left..) {
                    later.insert(key, LONGEST_QUEUE_DELAY);
                }
            }
        }
        let Some(pacer) = self.d.pacing.of(channel).filter(|_| !wanted.is_empty()) else {
            quota.inspect(|q| q.take(wanted.len()));
            return Ok(());
        };
        let booked = pacer
            .reserve(wanted.len(), send_by)
            .await
            .map_err(|e| DomainError::Unavailable(e.to_string()))?;
        quota.inspect(|q| q.take(booked.slots.len()));
        let wait = (booked.next_free - self.now())
            .to_std()
            .unwrap_or(Duration::ZERO)
            .clamp(Duration::from_secs(1), LONGEST_QUEUE_DELAY);
        for (i, key) in wanted.into_iter().enumerate() {
            match booked.slots.get(i) {
                Some(slot) => {
                    turns.insert(key, *slot);
                }
                None => {
                    later.insert(key, wait);
                }
            }
        }
        Ok(())
    }

    /// What the results add to each campaign's progress and to the month's figures; a
    /// stale claim given up counts as failed.
    fn tally(
        &self,
        claimed: &[Delivery],
        results: &[DeliveryResult],
        stale: &[DeliveryKey],
    ) -> (HashMap<CampaignId, Progress>, Progress) {
        let mut deltas: HashMap<CampaignId, Progress> = HashMap::new();
        let mut month = Progress::default();
        for (d, r) in claimed.iter().zip(results) {
            let delta = deltas.entry(d.key.campaign).or_default();
            for p in [&mut *delta, &mut month] {
                let counts = p.channel_mut(d.key.channel);
                match r {
                    DeliveryResult::Sent { segments, .. } => {
                        counts.sent += 1;
                        let seg = u64::from(*segments);
                        p.sms_segments += seg;
                        p.cost += match d.key.channel {
                            Channel::Sms => self.d.config.prices.sms_cost(seg),
                            Channel::Email => self.d.config.prices.email_cost(1),
                            Channel::Voice => self.d.config.prices.voice_cost(1),
                        };
                    }
                    DeliveryResult::Failed { .. } | DeliveryResult::Unknown { .. } => {
                        counts.failed += 1
                    }
                    DeliveryResult::Suppressed { .. } | DeliveryResult::Expired { .. } => {
                        counts.suppressed += 1
                    }
                    DeliveryResult::Retry { .. } | DeliveryResult::Wait { .. } => {}
                }
            }
        }
        for key in stale {
            deltas
                .entry(key.campaign)
                .or_default()
                .channel_mut(key.channel)
                .failed += 1;
        }
        (deltas, month)
    }

    /// Records the outcomes with what they add to the campaigns and to the month's counters,
    /// in one write where the store allows it; then finishes the campaigns done.
    async fn record(
        &self,
        campaigns: &HashMap<CampaignId, Campaign>,
        finished: &[(Delivery, DeliveryResult)],
        deltas: &HashMap<CampaignId, Progress>,
        month: &Progress,
    ) -> Result<(), DomainError> {
        let counted: Vec<(CampaignId, Progress)> = deltas
            .iter()
            .filter(|(_, delta)| !delta.is_zero())
            .map(|(id, delta)| (*id, *delta))
            .collect();
        let progress = self
            .d
            .deliveries
            .finish_and_count(
                finished,
                &counted,
                Month::of(self.now()),
                &month_counters(month),
            )
            .await?;
        for (id, progress) in &progress {
            self.maybe_finish(&campaigns[id], progress).await?;
        }
        Ok(())
    }

    /// Adds what was sent to this month's statistics.
    pub(super) async fn count_sent_this_month(&self, sent: &Progress) -> Result<(), DomainError> {
        let counters = month_counters(sent);
        if !counters.is_empty() {
            self.d
                .stats
                .add_many(Month::of(self.now()), &counters)
                .await?;
        }
        Ok(())
    }

    /// Where each claimed delivery goes. The address fan-out read is used unless the
    /// subscriber changed since (or the job carries none): then the profile decides, read
    /// for those alone.
    async fn recipients(
        &self,
        jobs: &[DeliverJob],
        claimed: &[Delivery],
        campaigns: &HashMap<CampaignId, Campaign>,
    ) -> Result<HashMap<DeliveryKey, SendTo>, DomainError> {
        let of_cell = |d: &&Delivery| {
            campaigns
                .get(&d.key.campaign)
                .is_some_and(|c| c.kind == CampaignKind::CellAlert)
        };
        let (cell, claimed): (Vec<&Delivery>, Vec<&Delivery>) = claimed.iter().partition(of_cell);
        let mut to = self.cell_recipients(&cell).await?;
        to.extend(self.audience_recipients(jobs, &claimed).await?);
        Ok(to)
    }

    /// Where the messages of an alert of the crisis cell go: the member's numbers as they are
    /// now (a member removed since gets nothing).
    async fn cell_recipients(
        &self,
        claimed: &[&Delivery],
    ) -> Result<HashMap<DeliveryKey, SendTo>, DomainError> {
        if claimed.is_empty() {
            return Ok(HashMap::new());
        }
        let members: HashMap<SubscriberId, CellMember> = self
            .d
            .cell
            .cell_members()
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        Ok(claimed
            .iter()
            .map(|d| {
                let number = members
                    .get(&d.key.subscriber)
                    .map(|m| m.number_for(d.key.channel).cloned());
                let to = match number {
                    Some(Some(number)) => SendTo::Address(Address::Phone(number)),
                    Some(None) => SendTo::Gone("pas de numéro pour ce canal"),
                    None => SendTo::Gone("membre retiré de la cellule de crise"),
                };
                (d.key, to)
            })
            .collect())
    }

    /// Where residents' messages go.
    async fn audience_recipients(
        &self,
        jobs: &[DeliverJob],
        claimed: &[&Delivery],
    ) -> Result<HashMap<DeliveryKey, SendTo>, DomainError> {
        let mut known: HashMap<DeliveryKey, &KnownAddress> = HashMap::new();
        let mut follow_ups: HashSet<DeliveryKey> = HashSet::new();
        for j in jobs {
            if let Some(to) = &j.to {
                known.entry(j.key).or_insert(to);
            }
            if j.follow_up {
                follow_ups.insert(j.key);
            }
        }
        let carried: Vec<(SubscriberId, DateTime<Utc>)> = claimed
            .iter()
            .filter_map(|d| known.get(&d.key).map(|to| (d.key.subscriber, to.read_at)))
            .collect();
        let changed = self.changed_since_read(&carried).await?;
        let carried_ids: HashSet<SubscriberId> = carried.iter().map(|(id, _)| *id).collect();
        let to_read: Vec<SubscriberId> = claimed
            .iter()
            .map(|d| d.key.subscriber)
            .filter(|id| changed.contains(id) || !carried_ids.contains(id))
            .collect();
        let people: HashMap<SubscriberId, Subscriber> = if to_read.is_empty() {
            HashMap::new()
        } else {
            self.d
                .audience
                .get_many(&to_read)
                .await?
                .into_iter()
                .map(|s| (s.id, s))
                .collect()
        };
        Ok(claimed
            .iter()
            .map(|d| {
                let target = match known.get(&d.key) {
                    Some(to) if !changed.contains(&d.key.subscriber) => {
                        SendTo::Address(to.address.clone())
                    }
                    _ if follow_ups.contains(&d.key) => {
                        SendTo::FollowUp(people.get(&d.key.subscriber).cloned().map(Box::new))
                    }
                    _ => SendTo::Profile(people.get(&d.key.subscriber).cloned().map(Box::new)),
                };
                (d.key, target)
            })
            .collect())
    }

    /// Which of the subscribers whose address fan-out read (and when) changed since then.
    async fn changed_since_read(
        &self,
        carried: &[(SubscriberId, DateTime<Utc>)],
    ) -> Result<HashSet<SubscriberId>, DomainError> {
        let Some(oldest) = carried.iter().map(|(_, at)| *at).min() else {
            return Ok(HashSet::new());
        };
        let ids: Vec<SubscriberId> = carried.iter().map(|(id, _)| *id).collect();
        Ok(self
            .d
            .audience
            .changed_since(&ids, oldest - CLOCK_MARGIN)
            .await?)
    }

    /// Deliveries this batch could not claim because an earlier sender died mid-send: past the
    /// stale delay they are failed (never resent), so the campaign can finish. A claim held for
    /// less long is left alone: its sender may just be slow (or this job is a duplicate).
    pub(super) async fn fail_stale(
        &self,
        held: &[Delivery],
    ) -> Result<Vec<DeliveryKey>, DomainError> {
        let cutoff = self.stale_cutoff();
        let old: Vec<Delivery> = held
            .iter()
            .filter(|d| d.updated_at < cutoff)
            .cloned()
            .collect();
        if old.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self
            .d
            .deliveries
            .fail_stale(
                &old,
                "envoi interrompu : résultat inconnu, non renvoyé pour éviter un doublon",
            )
            .await?)
    }

    /// Claims taken before this instant are stale: no live sender holds one that long (see
    /// [`ServiceConfig::claim_expiry`]).
    fn stale_cutoff(&self) -> DateTime<Utc> {
        self.now() - self.d.config.claim_expiry
    }

    /// Gives back claims nothing was sent for (after an error), so their jobs can claim them
    /// again; if that fails too, they are left to the stale path.
    async fn release(&self, claimed: Vec<Delivery>, why: &DomainError) {
        let back: Vec<(Delivery, DeliveryResult)> = claimed
            .into_iter()
            .map(|d| {
                let retry = DeliveryResult::Retry {
                    error: format!("non envoyé : {why}"),
                };
                (d, retry)
            })
            .collect();
        if let Err(e) = self.d.deliveries.finish(&back).await {
            tracing::error!(error = %e, "claims not given back; they will be failed as stale");
        }
    }
}

/// What a batch's results add to the month's statistics: none when nothing was sent.
fn month_counters(sent: &Progress) -> Vec<(Counter, i64)> {
    if sent.sms.sent + sent.email.sent == 0 {
        return Vec::new();
    }
    vec![
        (Counter::SmsSent, sent.sms.sent as i64),
        (Counter::SmsSegments, sent.sms_segments as i64),
        (Counter::EmailsSent, sent.email.sent as i64),
        (Counter::CostTenThousandths, sent.cost.ten_thousandths()),
    ]
}
