//! Sending: start an approved campaign, fan it out shard by shard, deliver each message once.
//!
//! Every step runs from an at-least-once queue, so each is idempotent: deliveries are created
//! with a condition, claimed before sending, and counters are added once per batch.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;

use crate::campaign::{Campaign, CampaignId, CampaignKind, CampaignStatus};
use crate::campaign_render::RenderedEmail;
use crate::clock::{town_month, Clock};
use crate::config::ServiceConfig;
use crate::contact::Channel;
use crate::delivery::Delivery;
use crate::delivery::{
    CreateOutcome, DeliveryKey, DeliveryResult, DeliveryStatus, NewDelivery, Progress,
};
use crate::error::{DomainError, SendError, StoreError};
use crate::links::Links;
use crate::messages::EmailLayout;
use crate::ports::{
    CampaignStore, Counter, DeliveryStore, EmailSender, JobQueue, OutgoingSms, Recipient,
    SmsSender, StatsStore, SubscriberStore, SuppressionStore,
};
use crate::queue::{Job, JobOutcome};
use crate::sms::analyze;
use crate::subscriber::{Subscriber, SubscriberId, SubscriberStatus};
use crate::topic::TopicSlug;

/// How long a claimed delivery may stay `sending` before it is considered abandoned: well past
/// the queue lease, so a slow but live sender is never overtaken.
pub const STALE_SENDING: Duration = Duration::from_secs(30 * 60);

/// Recipients read per store call during fan-out.
pub const FANOUT_PAGE: usize = 500;

/// The ports sending needs.
pub struct DispatchDeps {
    /// Campaigns.
    pub campaigns: Arc<dyn CampaignStore>,
    /// Deliveries.
    pub deliveries: Arc<dyn DeliveryStore>,
    /// Subscribers.
    pub subscribers: Arc<dyn SubscriberStore>,
    /// Suppression list.
    pub suppressions: Arc<dyn SuppressionStore>,
    /// Monthly counters.
    pub stats: Arc<dyn StatsStore>,
    /// Queues.
    pub queue: Arc<dyn JobQueue>,
    /// Email provider.
    pub email: Arc<dyn EmailSender>,
    /// SMS provider.
    pub sms: Arc<dyn SmsSender>,
    /// Clock.
    pub clock: Arc<dyn Clock>,
    /// The town's layout.
    pub layout: Arc<EmailLayout>,
    /// Personal links.
    pub links: Links,
    /// Settings.
    pub config: ServiceConfig,
}

/// Starts, fans out and delivers campaigns.
pub struct Dispatcher {
    d: DispatchDeps,
}

/// Distinct recipients of several topics on one channel and shard, in id order: a k-way merge of
/// the per-topic pages, so a person on two targeted topics is met once, with flat memory.
struct MergedRecipients<'a> {
    store: &'a dyn SubscriberStore,
    channel: Channel,
    shard: u32,
    shards: u32,
    cursors: Vec<TopicCursor>,
}

struct TopicCursor {
    topic: TopicSlug,
    buffer: VecDeque<Recipient>,
    after: Option<SubscriberId>,
    exhausted: bool,
}

impl MergedRecipients<'_> {
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

    /// The next `n` distinct recipients (fewer at the end).
    async fn next_batch(&mut self, n: usize) -> Result<Vec<Recipient>, StoreError> {
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

fn backoff(attempts: u32) -> Duration {
    // 30 s, 1 min, 2 min, 4 min… capped at 15 min (the longest SQS delay).
    Duration::from_secs((30u64 << attempts.saturating_sub(1).min(5)).min(900))
}

impl Dispatcher {
    /// Builds the dispatcher from its ports.
    pub fn new(deps: DispatchDeps) -> Self {
        Self { d: deps }
    }

    fn now(&self) -> DateTime<Utc> {
        self.d.clock.now()
    }

    /// Moves an approved (or due scheduled) campaign to `sending` and enqueues its fan-out shards.
    pub async fn start(&self, mut campaign: Campaign) -> Result<Campaign, DomainError> {
        let expected = campaign.status;
        let shards = self.d.config.fanout_shards.max(1);
        let event = campaign.start_sending(shards, self.now())?;
        self.d.campaigns.update(&campaign, expected, &event).await?;
        let jobs: Vec<Job> = (0..shards)
            .map(|shard| Job::Fanout {
                campaign: campaign.id,
                shard,
            })
            .collect();
        self.d.queue.enqueue(&jobs, Duration::ZERO).await?;
        Ok(campaign)
    }

    /// Starts every scheduled campaign whose time has come; returns how many.
    pub async fn start_due(&self) -> Result<usize, DomainError> {
        let mut started = 0;
        for c in self.d.campaigns.due(self.now()).await? {
            match self.start(c).await {
                Ok(_) => started += 1,
                // Another scheduler instance got there first.
                Err(DomainError::Conflict(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(started)
    }

    /// How long a delivery on this channel must wait for the sending window (zero when open).
    fn window_wait(&self, campaign: &Campaign, channel: Channel) -> Duration {
        if channel != Channel::Sms || campaign.urgent {
            return Duration::ZERO;
        }
        let now = self.now();
        (self.d.config.sending_window.next_opening(now) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    }

    /// Fans out one shard: creates its deliveries (idempotently) and enqueues them.
    pub async fn fan_out(&self, id: CampaignId, shard: u32) -> Result<JobOutcome, DomainError> {
        let Some(campaign) = self.d.campaigns.get(id).await? else {
            return Ok(JobOutcome::Done);
        };
        if campaign.status != CampaignStatus::Sending {
            return Ok(JobOutcome::Done);
        }
        for channel in campaign.channels() {
            let delay = self.window_wait(&campaign, channel);
            let mut merged = MergedRecipients {
                store: self.d.subscribers.as_ref(),
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
                        after: None,
                        exhausted: false,
                    })
                    .collect(),
            };
            loop {
                let batch = merged.next_batch(FANOUT_PAGE).await?;
                if batch.is_empty() {
                    break;
                }
                self.fan_out_batch(&campaign, channel, &batch, delay)
                    .await?;
            }
        }
        self.d.campaigns.mark_shard_done(id, shard).await?;
        self.maybe_finish(id).await?;
        Ok(JobOutcome::Done)
    }

    async fn fan_out_batch(
        &self,
        campaign: &Campaign,
        channel: Channel,
        batch: &[Recipient],
        delay: Duration,
    ) -> Result<(), DomainError> {
        let addresses: Vec<String> = batch.iter().map(|r| r.address.clone()).collect();
        let suppressed = self.d.suppressions.suppressed_among(&addresses).await?;
        let news: Vec<NewDelivery> = batch
            .iter()
            .map(|r| {
                let blocked = suppressed.contains(&r.address);
                NewDelivery {
                    key: DeliveryKey {
                        campaign: campaign.id,
                        subscriber: r.id,
                        channel,
                    },
                    status: if blocked {
                        DeliveryStatus::Suppressed
                    } else {
                        DeliveryStatus::Queued
                    },
                    error: blocked.then(|| "adresse sur liste de suppression".to_owned()),
                }
            })
            .collect();
        let outcomes = self.d.deliveries.create_batch(&news).await?;
        let mut delta = Progress::default();
        let mut jobs = Vec::new();
        for (new, outcome) in news.iter().zip(outcomes) {
            match (outcome, new.status) {
                (CreateOutcome::Created, DeliveryStatus::Suppressed) => {
                    let counts = delta.channel_mut(channel);
                    counts.targeted += 1;
                    counts.suppressed += 1;
                }
                (CreateOutcome::Created, _) => {
                    delta.channel_mut(channel).targeted += 1;
                    jobs.push(Job::Deliver { key: new.key });
                }
                // A re-run after a crash between create and enqueue: enqueue again; the claim
                // before sending keeps it to one message.
                (CreateOutcome::Exists(DeliveryStatus::Queued), _) => {
                    jobs.push(Job::Deliver { key: new.key })
                }
                (CreateOutcome::Exists(_), _) => {}
            }
        }
        self.d.queue.enqueue(&jobs, delay).await?;
        if !delta.is_zero() {
            self.d.campaigns.add_progress(campaign.id, &delta).await?;
        }
        Ok(())
    }

    /// Delivers a batch of messages; returns one outcome per key, in order.
    pub async fn deliver(&self, keys: &[DeliveryKey]) -> Result<Vec<JobOutcome>, DomainError> {
        let mut outcomes = vec![JobOutcome::Done; keys.len()];
        let mut campaigns: HashMap<CampaignId, Option<Campaign>> = HashMap::new();
        for k in keys {
            if let std::collections::hash_map::Entry::Vacant(v) = campaigns.entry(k.campaign) {
                v.insert(self.d.campaigns.get(k.campaign).await?);
            }
        }
        let mut to_claim = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            let Some(Some(c)) = campaigns.get(&k.campaign) else {
                continue;
            };
            if c.status != CampaignStatus::Sending {
                continue;
            }
            let wait = self.window_wait(c, k.channel);
            if wait > Duration::ZERO {
                outcomes[i] = JobOutcome::RetryAfter(wait);
            } else {
                to_claim.push(*k);
            }
        }
        if to_claim.is_empty() {
            return Ok(outcomes);
        }
        let claimed = self.d.deliveries.claim(&to_claim).await?;
        let stale = self.fail_stale(&to_claim, &claimed).await?;
        let ids: Vec<SubscriberId> = claimed.iter().map(|d| d.key.subscriber).collect();
        let people: HashMap<SubscriberId, Subscriber> = self
            .d
            .subscribers
            .get_many(&ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
        let rendered: HashMap<CampaignId, Option<RenderedEmail>> = campaigns
            .iter()
            .filter_map(|(id, c)| c.as_ref().map(|c| (*id, RenderedEmail::of(c))))
            .collect();

        let sends = claimed.iter().map(|d| {
            let campaign = campaigns[&d.key.campaign]
                .as_ref()
                .expect("claimed only for loaded campaigns");
            self.send_one(
                campaign,
                rendered[&d.key.campaign].as_ref(),
                people.get(&d.key.subscriber),
                d.key.channel,
                d.attempts,
            )
        });
        let results: Vec<DeliveryResult> = join_all(sends).await;

        let now = self.now();
        let mut deltas: HashMap<CampaignId, Progress> = HashMap::new();
        let mut month = Progress::default();
        for (d, r) in claimed.iter().zip(&results) {
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
                        };
                    }
                    DeliveryResult::Failed { .. } => counts.failed += 1,
                    DeliveryResult::Suppressed { .. } => counts.suppressed += 1,
                    DeliveryResult::Retry { .. } => {}
                }
            }
            if matches!(r, DeliveryResult::Retry { .. }) {
                if let Some(i) = keys.iter().position(|k| *k == d.key) {
                    outcomes[i] = JobOutcome::RetryAfter(backoff(d.attempts));
                }
            }
        }
        for key in &stale {
            deltas
                .entry(key.campaign)
                .or_default()
                .channel_mut(key.channel)
                .failed += 1;
        }
        let finished: Vec<(DeliveryKey, DeliveryResult)> =
            claimed.iter().map(|d| d.key).zip(results).collect();
        self.d.deliveries.finish(&finished).await?;
        for (id, delta) in &deltas {
            if !delta.is_zero() {
                self.d.campaigns.add_progress(*id, delta).await?;
            }
        }
        if month.sms.sent + month.email.sent > 0 {
            let counters = [
                (Counter::SmsSent, month.sms.sent as i64),
                (Counter::SmsSegments, month.sms_segments as i64),
                (Counter::EmailsSent, month.email.sent as i64),
                (Counter::CostTenThousandths, month.cost.ten_thousandths()),
            ];
            self.d.stats.add_many(&town_month(now), &counters).await?;
        }
        for id in deltas.keys() {
            self.maybe_finish(*id).await?;
        }
        Ok(outcomes)
    }

    /// Deliveries this batch could not claim because an earlier sender died mid-send: past the
    /// stale delay they are failed (never resent), so the campaign can finish.
    async fn fail_stale(
        &self,
        wanted: &[DeliveryKey],
        claimed: &[Delivery],
    ) -> Result<Vec<DeliveryKey>, DomainError> {
        let unclaimed: Vec<DeliveryKey> = wanted
            .iter()
            .filter(|k| claimed.iter().all(|d| d.key != **k))
            .copied()
            .collect();
        let cutoff =
            self.now() - chrono::Duration::from_std(STALE_SENDING).expect("small duration");
        Ok(self
            .d
            .deliveries
            .fail_stale(
                &unclaimed,
                cutoff,
                "envoi interrompu : résultat inconnu, non renvoyé pour éviter un doublon",
            )
            .await?)
    }

    async fn send_one(
        &self,
        campaign: &Campaign,
        email: Option<&RenderedEmail>,
        person: Option<&Subscriber>,
        channel: Channel,
        attempts: u32,
    ) -> DeliveryResult {
        let gone = |why: &str| DeliveryResult::Suppressed {
            reason: why.to_owned(),
        };
        let Some(person) = person else {
            return gone("abonné effacé");
        };
        let still_wanted = person.status == SubscriberStatus::Active
            && person
                .choices
                .iter()
                .any(|c| c.channel == channel && campaign.topics.contains(&c.topic));
        if !still_wanted {
            return gone("abonné désinscrit depuis la préparation de l'envoi");
        }
        let sent = match channel {
            Channel::Email => {
                let (Some(to), Some(email)) = (&person.email, email) else {
                    return gone("pas d'adresse e-mail");
                };
                let now = self.now();
                let message = email.for_recipient(
                    &self.d.layout,
                    to,
                    Some(self.d.links.manage_url(person.id, now)),
                    Some(self.d.links.unsubscribe_url(person.id, now)),
                    "",
                );
                match message {
                    Ok(m) => self.d.email.send_email(&m).await.map(|id| (id, 0)),
                    Err(e) => Err(SendError::Permanent(e.to_string())),
                }
            }
            Channel::Sms => {
                let (Some(to), Some(sms)) = (&person.phone, &campaign.sms) else {
                    return gone("pas de numéro de mobile");
                };
                let segments = analyze(&sms.text).segments as u32;
                self.d
                    .sms
                    .send_sms(&OutgoingSms {
                        to: to.clone(),
                        text: sms.text.clone(),
                    })
                    .await
                    .map(|id| (id, segments))
            }
        };
        match sent {
            Ok((provider_id, segments)) => DeliveryResult::Sent {
                provider_id,
                segments,
            },
            Err(SendError::Permanent(error)) => DeliveryResult::Failed { error },
            Err(SendError::Transient(error)) if attempts >= self.d.config.max_send_attempts => {
                DeliveryResult::Failed {
                    error: format!("abandon après {attempts} essais : {error}"),
                }
            }
            Err(SendError::Transient(error)) => DeliveryResult::Retry { error },
        }
    }

    /// Marks the campaign sent once every shard is fanned out and every delivery handled.
    async fn maybe_finish(&self, id: CampaignId) -> Result<(), DomainError> {
        let Some(mut campaign) = self.d.campaigns.get(id).await? else {
            return Ok(());
        };
        if campaign.status != CampaignStatus::Sending {
            return Ok(());
        }
        let progress = self.d.campaigns.progress(id).await?;
        if progress.shards_done < campaign.shards || !progress.totals.all_done() {
            return Ok(());
        }
        let event = campaign.finish(self.now())?;
        match self
            .d
            .campaigns
            .update(&campaign, CampaignStatus::Sending, &event)
            .await
        {
            Ok(()) => {}
            // Another consumer finished it at the same moment: count it once.
            Err(StoreError::Conflict(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        let mut counters = vec![(Counter::CampaignsSent, 1)];
        if campaign.kind == CampaignKind::WeatherAlert {
            counters.push((Counter::WeatherAlertsSent, 1));
        }
        self.d
            .stats
            .add_many(&town_month(self.now()), &counters)
            .await?;
        Ok(())
    }

    /// Runs one job from either queue.
    pub async fn run(&self, job: &Job) -> Result<JobOutcome, DomainError> {
        match job {
            Job::Fanout { campaign, shard } => self.fan_out(*campaign, *shard).await,
            Job::Deliver { key } => Ok(self.deliver(std::slice::from_ref(key)).await?[0]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert_eq!(backoff(2), Duration::from_secs(60));
        assert_eq!(backoff(3), Duration::from_secs(120));
        assert_eq!(backoff(20), Duration::from_secs(900));
    }
}
