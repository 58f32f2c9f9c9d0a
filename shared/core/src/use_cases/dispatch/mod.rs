//! Sending: start an approved campaign, fan it out shard by shard, deliver each message once.
//!
//! Every step runs from an at-least-once queue, so each is idempotent: deliveries are created
//! with a condition, claimed before sending, and counters are added once per batch.

pub mod pacing;
mod repair;

pub use repair::{Repairs, STALLED_AFTER};

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::future::join_all;

use crate::clock::{Clock, Month};
use crate::config::{ServiceConfig, RECIPIENTS_PER_SHARD};
use crate::domain::campaign::{Campaign, CampaignId, CampaignKind, CampaignStatus};
use crate::domain::contact::{Address, Channel, Email, PhoneNumber};
use crate::domain::delivery::{
    CampaignProgress, ChannelPause, Claims, Delivery, DeliveryKey, DeliveryResult, DeliveryStatus,
    NewDelivery, Progress,
};
use crate::domain::queue::{
    DeliverJob, FanoutCursor, FanoutJob, Job, JobOutcome, KnownAddress, Notice, NoticeJob,
};
use crate::domain::reputation::{brake_reason, EmailFeedback};
use crate::domain::sms::analyze;
use crate::domain::subscriber::{Subscriber, SubscriberId, SubscriberStatus};
use crate::domain::topic::TopicSlug;
use crate::domain::zone::{ZoneFilter, ZoneSlug};
use crate::error::{DomainError, SendError, StoreError};
use crate::ports::{
    AudienceStore, CampaignStore, Counter, DeliveryStore, EmailSender, JobQueue, OutgoingCall,
    OutgoingSms, PauseStore, Recipient, SmsSender, StatsStore, SuppressionStore, VoiceSender,
};
use crate::render::campaign_render::RenderedEmail;
use crate::render::links::Links;
use crate::render::messages::EmailLayout;
use crate::use_cases::archive::Archive;
use crate::use_cases::file_jobs::FileJobs;
use pacing::{wait_until, Pacing};

/// How far ahead a batch sent with no deadline of its own (the embedded server's workers,
/// tests) books its slots: well inside the queue lease and the claims' expiry.
pub const BOOK_AHEAD: Duration = Duration::from_secs(60);

/// What a batch keeps back from its deadline: the last message's own send and the outcomes'
/// writes happen after its slot.
pub const SEND_MARGIN: Duration = Duration::from_secs(5);

/// The first wait of a job whose delivery another sender holds; later waits double.
pub const HELD_RECHECK: Duration = Duration::from_secs(30);

/// Recipients read per store call during fan-out.
pub const FANOUT_PAGE: usize = 500;

/// How far apart two machines' clocks may be: a change is looked for from this long before
/// fan-out read the address.
pub const CLOCK_MARGIN: chrono::Duration = chrono::Duration::minutes(1);

/// Campaigns a dispatcher keeps in memory (a handful send at once).
const CACHED_CAMPAIGNS: usize = 64;

/// The ports sending needs.
pub struct DispatchDeps {
    pub campaigns: Arc<dyn CampaignStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    pub audience: Arc<dyn AudienceStore>,
    /// Suppression list.
    pub suppressions: Arc<dyn SuppressionStore>,
    /// Monthly counters.
    pub stats: Arc<dyn StatsStore>,
    pub queue: Arc<dyn JobQueue>,
    /// Channels the provider paused.
    pub pauses: Arc<dyn PauseStore>,
    /// Email provider.
    pub email: Arc<dyn EmailSender>,
    /// SMS provider.
    pub sms: Arc<dyn SmsSender>,
    /// Each provider's turns: deliveries book them before they claim.
    pub pacing: Pacing,
    /// Voice call provider.
    pub voice: Arc<dyn VoiceSender>,
    pub clock: Arc<dyn Clock>,
    /// The town's layout.
    pub layout: Arc<EmailLayout>,
    /// Personal links.
    pub links: Links,
    /// Settings.
    pub config: ServiceConfig,
    /// Big-file exports and imports, whose steps share the fan-out queue.
    pub file_jobs: Arc<FileJobs>,
    /// The public archive, where sent campaigns are published.
    pub archive: Arc<Archive>,
}

/// Starts, fans out and delivers campaigns.
pub struct Dispatcher {
    d: DispatchDeps,
    /// Campaigns read while sending or sent (see [`Dispatcher::campaign`]).
    sending: Mutex<HashMap<CampaignId, Campaign>>,
    /// Statuses as last read, and when (see [`STATUS_READ_EVERY`]).
    statuses: Mutex<HashMap<CampaignId, (DateTime<Utc>, CampaignStatus)>>,
    /// The paused channels and braked campaigns as last read, and when: read again at most
    /// every [`PAUSES_READ_EVERY`], not once per batch.
    paused: Mutex<Option<(DateTime<Utc>, Paused)>>,
}

/// Paused channels (campaign `None`) and campaigns braked on a channel.
type Paused = HashSet<(Channel, Option<CampaignId>)>;

/// Where a claimed delivery goes.
enum SendTo {
    /// The address fan-out read, still current.
    Address(Address),
    /// The profile as it is now (`None`: erased).
    Profile(Option<Box<Subscriber>>),
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

/// How often a paused channel's deliveries look again whether staff resumed it.
const PAUSED_WAIT: Duration = Duration::from_secs(300);

/// How long a sender trusts a campaign's status it read (a stop takes effect within this time).
const STATUS_READ_EVERY: Duration = Duration::from_secs(5);

/// How long a sender trusts the paused channels it read (a resume is seen within this time).
const PAUSES_READ_EVERY: Duration = Duration::from_secs(30);

/// How long a message the provider asked to slow down for waits before it is tried again.
const THROTTLED_WAIT: Duration = Duration::from_secs(60);

/// The waits between a delivery's first attempt and its retry after attempt `attempts`.
fn waited(attempts: u32) -> Duration {
    (1..=attempts).map(backoff).sum()
}

/// The longest a queued job may be delayed (SQS's limit; the embedded queue keeps to it).
pub const LONGEST_QUEUE_DELAY: Duration = Duration::from_secs(900);

fn backoff(attempts: u32) -> Duration {
    // 30 s, 1 min, 2 min, 4 min… capped at 15 min (the longest SQS delay).
    Duration::from_secs(30u64 << attempts.saturating_sub(1).min(5)).min(LONGEST_QUEUE_DELAY)
}

impl Dispatcher {
    /// Builds the dispatcher from its ports.
    pub fn new(deps: DispatchDeps) -> Self {
        Self {
            d: deps,
            sending: Mutex::new(HashMap::new()),
            statuses: Mutex::new(HashMap::new()),
            paused: Mutex::new(None),
        }
    }

    fn now(&self) -> DateTime<Utc> {
        self.d.clock.now()
    }

    /// Moves an approved (or due scheduled) campaign to `sending` and enqueues its fan-out shards.
    pub async fn start(&self, mut campaign: Campaign) -> Result<Campaign, DomainError> {
        let read = campaign.version;
        let shards = self.shards_for(&campaign).await?;
        let event = campaign.start_sending(shards, self.now())?;
        self.d.campaigns.update(&campaign, read, &event).await?;
        let jobs: Vec<Job> = (0..shards)
            .map(|shard| Job::Fanout(FanoutJob::first(campaign.id, shard, campaign.urgent)))
            .collect();
        self.d.queue.enqueue(&jobs, Duration::ZERO).await?;
        if campaign.kind != CampaignKind::Standard {
            // A weather message is public from the moment it goes out.
            self.publish(&campaign).await;
        }
        Ok(campaign)
    }

    /// Publishes a campaign in the archive; a failure is logged and does not stop sending
    /// (staff can see what the archive lacks, residents must still get their message).
    async fn publish(&self, campaign: &Campaign) {
        if let Err(e) = self.d.archive.publish(campaign).await {
            tracing::error!(campaign = %campaign.id, error = %e, "cannot publish in the archive");
        }
    }

    /// One shard per [`RECIPIENTS_PER_SHARD`] of the campaign's audience as last counted (the
    /// hourly count: no read of the members), up to the setting; the setting itself when the
    /// audience was never counted.
    async fn shards_for(&self, campaign: &Campaign) -> Result<u32, DomainError> {
        let most = self.d.config.fanout_shards.get();
        let now = self.now();
        let months = self
            .d
            .stats
            .audience(Month::of(now - chrono::Duration::days(40)), Month::of(now))
            .await?;
        let Some((_, counts)) = months.last() else {
            return Ok(most);
        };
        let channels = campaign.channels();
        // An upper bound: a person on two targeted topics is counted twice.
        let audience: u64 = counts
            .iter()
            .filter(|c| campaign.topics.contains(&c.topic) && channels.contains(&c.channel))
            .map(|c| c.subscribers)
            .sum();
        let wanted = audience.div_ceil(RECIPIENTS_PER_SHARD).max(1);
        Ok(u32::try_from(wanted).unwrap_or(u32::MAX).min(most))
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
        // A stopped campaign's deliveries are closed at once, without sending.
        let stopped = campaign.status == CampaignStatus::Cancelled;
        // Calls keep the same hours as SMS.
        if !matches!(channel, Channel::Sms | Channel::Voice) || campaign.urgent || stopped {
            return Duration::ZERO;
        }
        let now = self.now();
        (self.d.config.sending_window.next_opening(now) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    }

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
        if campaign.status != CampaignStatus::Sending
            || self
                .d
                .campaigns
                .slice_done(id, job.shard, job.slice)
                .await?
        {
            return Ok(JobOutcome::Done);
        }
        let started = tokio::time::Instant::now();
        let budget = self.d.config.fanout_slice;
        let read_at = self.now();
        let mut cursor = job.resume.unwrap_or_default();
        let mut handled = 0u64;
        // A page of each channel in turn: the queue holds the channels side by side, and each
        // drains at its own provider's pace.
        let mut lanes: Vec<(Channel, MergedRecipients, Duration)> = campaign
            .channels()
            .into_iter()
            .filter(|c| !cursor.at(*c).done)
            .map(|c| {
                let merged = MergedRecipients::new(
                    self.d.audience.as_ref(),
                    &campaign,
                    c,
                    job.shard,
                    cursor.at(c).after,
                );
                (c, merged, self.window_wait(&campaign, c))
            })
            .collect();
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
                if handled >= budget.recipients || started.elapsed() >= budget.time {
                    return self.hand_over(job, cursor).await;
                }
            }
            lanes.retain(|(c, _, _)| !cursor.at(*c).done);
        }
        let counted = cursor.counted();
        let progress = self
            .d
            .campaigns
            .mark_shard_done(id, job.shard, &counted)
            .await?;
        self.d
            .campaigns
            .mark_slice_done(id, job.shard, job.slice, None)
            .await?;
        self.maybe_finish(&campaign, &progress).await?;
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

    /// A campaign as it is now: its content read once per sender while it is sending (it no
    /// longer changes), its status read afresh at most every [`STATUS_READ_EVERY`], so a stop
    /// takes effect within seconds.
    async fn current(&self, id: CampaignId) -> Result<Option<Campaign>, StoreError> {
        let Some(mut campaign) = self.campaign(id).await? else {
            return Ok(None);
        };
        match self.status(id).await? {
            Some(status) => campaign.status = status,
            None => return Ok(None),
        }
        Ok(Some(campaign))
    }

    /// A campaign's status, read from the store at most every [`STATUS_READ_EVERY`] (a read per
    /// batch would be the sender's largest read).
    async fn status(&self, id: CampaignId) -> Result<Option<CampaignStatus>, StoreError> {
        let now = self.now();
        let fresh = chrono::Duration::from_std(STATUS_READ_EVERY).expect("small duration");
        if let Some((at, status)) = self.statuses.lock().expect("cache lock").get(&id) {
            if now - *at < fresh {
                return Ok(Some(*status));
            }
        }
        let status = self.d.campaigns.status(id).await?;
        let mut cache = self.statuses.lock().expect("cache lock");
        if cache.len() >= CACHED_CAMPAIGNS {
            cache.clear();
        }
        match status {
            Some(s) => cache.insert(id, (now, s)),
            None => cache.remove(&id),
        };
        Ok(status)
    }

    /// A campaign, read once per sender while it is sending.
    async fn campaign(&self, id: CampaignId) -> Result<Option<Campaign>, StoreError> {
        if let Some(c) = self.sending.lock().expect("cache lock").get(&id) {
            return Ok(Some(c.clone()));
        }
        let found = self.d.campaigns.get(id).await?;
        if let Some(c) = found
            .as_ref()
            .filter(|c| matches!(c.status, CampaignStatus::Sending | CampaignStatus::Sent))
        {
            let mut cache = self.sending.lock().expect("cache lock");
            if cache.len() >= CACHED_CAMPAIGNS {
                cache.clear();
            }
            cache.insert(id, c.clone());
        }
        Ok(found)
    }

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
        let recipients = match self.recipients(jobs, &claimed).await {
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
        self.d.deliveries.finish(&finished).await?;
        self.record(&campaigns, &deltas, &month).await?;
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
                    c.status,
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
                .is_some_and(|c| c.status == CampaignStatus::Cancelled);
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
    /// the longest for a quota used up, which frees over hours). A stopped campaign's deliveries need no slot: they are
    /// closed without sending.
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
                    .is_some_and(|c| c.status == CampaignStatus::Cancelled)
            };
            let mut wanted: Vec<DeliveryKey> = to_claim
                .iter()
                .filter(|k| k.channel == channel && !stopped(k))
                .copied()
                .collect();
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
                continue;
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

    /// Sends every claimed delivery at once, each at its booked slot, each campaign's email
    /// rendered once.
    async fn send_all(
        &self,
        campaigns: &HashMap<CampaignId, Campaign>,
        claimed: &[Delivery],
        recipients: &HashMap<DeliveryKey, SendTo>,
        turns: &HashMap<DeliveryKey, DateTime<Utc>>,
    ) -> Vec<DeliveryResult> {
        let rendered: HashMap<CampaignId, Option<RenderedEmail>> = campaigns
            .iter()
            .map(|(id, c)| (*id, RenderedEmail::of(c, &self.d.config.public_url)))
            .collect();
        let sends = claimed.iter().map(|d| async {
            if let Some(slot) = turns.get(&d.key) {
                wait_until(self.d.clock.as_ref(), *slot).await;
            }
            self.send_one(
                &campaigns[&d.key.campaign],
                rendered[&d.key.campaign].as_ref(),
                &recipients[&d.key],
                d.key,
                d.attempts,
            )
            .await
        });
        join_all(sends).await
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

    /// Adds the tallies to the campaigns (finishing those done) and to the month's counters.
    async fn record(
        &self,
        campaigns: &HashMap<CampaignId, Campaign>,
        deltas: &HashMap<CampaignId, Progress>,
        month: &Progress,
    ) -> Result<(), DomainError> {
        for (id, delta) in deltas {
            if !delta.is_zero() {
                let progress = self.d.campaigns.add_progress(*id, delta).await?;
                self.maybe_finish(&campaigns[id], &progress).await?;
            }
        }
        self.count_sent_this_month(month).await
    }

    /// Adds what was sent to this month's statistics.
    async fn count_sent_this_month(&self, sent: &Progress) -> Result<(), DomainError> {
        if sent.sms.sent + sent.email.sent > 0 {
            let counters = [
                (Counter::SmsSent, sent.sms.sent as i64),
                (Counter::SmsSegments, sent.sms_segments as i64),
                (Counter::EmailsSent, sent.email.sent as i64),
                (Counter::CostTenThousandths, sent.cost.ten_thousandths()),
            ];
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
    ) -> Result<HashMap<DeliveryKey, SendTo>, DomainError> {
        let mut known: HashMap<DeliveryKey, &KnownAddress> = HashMap::new();
        for j in jobs {
            if let Some(to) = &j.to {
                known.entry(j.key).or_insert(to);
            }
        }
        let carried: Vec<(SubscriberId, DateTime<Utc>)> = claimed
            .iter()
            .filter_map(|d| known.get(&d.key).map(|to| (d.key.subscriber, to.read_at)))
            .collect();
        let changed = match carried.iter().map(|(_, at)| *at).min() {
            Some(oldest) => {
                let ids: Vec<SubscriberId> = carried.iter().map(|(id, _)| *id).collect();
                self.d
                    .audience
                    .changed_since(&ids, oldest - CLOCK_MARGIN)
                    .await?
            }
            None => HashSet::new(),
        };
        let to_read: Vec<SubscriberId> = claimed
            .iter()
            .map(|d| d.key.subscriber)
            .filter(|id| changed.contains(id) || !carried.iter().any(|(c, _)| c == id))
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
                    _ => SendTo::Profile(people.get(&d.key.subscriber).cloned().map(Box::new)),
                };
                (d.key, target)
            })
            .collect())
    }

    /// Deliveries this batch could not claim because an earlier sender died mid-send: past the
    /// stale delay they are failed (never resent), so the campaign can finish. A claim held for
    /// less long is left alone: its sender may just be slow (or this job is a duplicate).
    async fn fail_stale(&self, held: &[Delivery]) -> Result<Vec<DeliveryKey>, DomainError> {
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

    /// Why a message of this campaign would now arrive too late to be of use: a weather
    /// alert whose vigilance has ended (a queue held up by an outage must not send it late).
    fn past_useful_life(&self, campaign: &Campaign) -> Option<String> {
        let source = campaign.source.as_ref()?;
        (campaign.kind == CampaignKind::WeatherAlert && self.now() >= source.ends).then(|| {
            format!(
                "expiré : la vigilance {} {} était terminée ({})",
                source.colour.label(),
                source.phenomenon.label(),
                source
                    .ends
                    .with_timezone(&chrono_tz::Europe::Paris)
                    .format("fin le %d/%m à %H h")
            )
        })
    }

    /// The address to write to, or why there is none.
    fn address(
        &self,
        campaign: &Campaign,
        to: &SendTo,
        channel: Channel,
    ) -> Result<Address, DeliveryResult> {
        let gone = |why: &str| DeliveryResult::Suppressed {
            reason: why.to_owned(),
        };
        let person = match to {
            SendTo::Address(address) => return Ok(address.clone()),
            SendTo::Profile(None) => return Err(gone("abonné effacé")),
            SendTo::Profile(Some(person)) => person,
        };
        let still_wanted = person.status() == SubscriberStatus::Active
            && person
                .choices
                .iter()
                .any(|c| c.channel == channel && campaign.topics.contains(&c.topic));
        if !still_wanted {
            return Err(gone("abonné désinscrit depuis la préparation de l'envoi"));
        }
        match channel {
            Channel::Email => person.email.clone().map(Address::Email),
            Channel::Sms | Channel::Voice => person.phone.clone().map(Address::Phone),
        }
        .ok_or_else(|| match channel {
            Channel::Email => gone("pas d'adresse e-mail"),
            Channel::Sms => gone("pas de numéro de mobile"),
            Channel::Voice => gone("pas de numéro de téléphone"),
        })
    }

    async fn send_one(
        &self,
        campaign: &Campaign,
        email: Option<&RenderedEmail>,
        to: &SendTo,
        key: DeliveryKey,
        attempts: u32,
    ) -> DeliveryResult {
        if campaign.status == CampaignStatus::Cancelled {
            return DeliveryResult::Suppressed {
                reason: "envoi arrêté par le cabinet".into(),
            };
        }
        if let Some(reason) = self.past_useful_life(campaign) {
            return DeliveryResult::Expired { reason };
        }
        let address = match self.address(campaign, to, key.channel) {
            Ok(address) => address,
            Err(not_sent) => return not_sent,
        };
        let sent = match (key.channel, address) {
            (_, Address::Email(to)) => self.send_email(email, &to, key).await,
            (Channel::Voice, Address::Phone(to)) => self.send_call(campaign, to, attempts).await,
            (_, Address::Phone(to)) => self.send_sms(campaign, to).await,
        };
        if let Err(SendError::Paused(why)) = &sent {
            self.pause(key.channel, why).await;
        }
        self.outcome(sent, key.channel, attempts)
    }

    /// The campaign's email to one recipient, with their own links; the provider id.
    async fn send_email(
        &self,
        email: Option<&RenderedEmail>,
        to: &Email,
        key: DeliveryKey,
    ) -> Result<(Option<String>, u32), SendError> {
        let email = email.ok_or_else(|| SendError::Permanent("campagne sans e-mail".into()))?;
        let now = self.now();
        let mut message = email
            .for_recipient(
                &self.d.layout,
                to,
                Some(self.d.links.manage_url(key.subscriber, now)),
                Some(self.d.links.unsubscribe_url(key.subscriber, now)),
                "",
            )
            .map_err(|e| SendError::Permanent(e.to_string()))?;
        message.campaign = Some(key.campaign);
        self.d.email.send_email(&message).await.map(|id| (id, 0))
    }

    /// The campaign's SMS to one number; the provider id and the segments billed.
    async fn send_sms(
        &self,
        campaign: &Campaign,
        to: PhoneNumber,
    ) -> Result<(Option<String>, u32), SendError> {
        let sms = campaign
            .sms
            .as_ref()
            .ok_or_else(|| SendError::Permanent("campagne sans SMS".into()))?;
        let segments = analyze(&sms.text).segments as u32;
        self.d
            .sms
            .send_sms(&OutgoingSms {
                to,
                text: sms.text.clone(),
            })
            .await
            .map(|id| (id, segments))
    }

    /// The campaign's voice call to one number (attempt `attempt`); the provider id.
    async fn send_call(
        &self,
        campaign: &Campaign,
        to: PhoneNumber,
        attempt: u32,
    ) -> Result<(Option<String>, u32), SendError> {
        let voice = campaign
            .voice
            .as_ref()
            .ok_or_else(|| SendError::Permanent("campagne sans appel vocal".into()))?;
        self.d
            .voice
            .call(&OutgoingCall {
                to,
                text: voice.spoken(&self.d.config.town_name),
                attempt: attempt.max(1),
            })
            .await
            .map(|id| (id, 0))
    }

    /// Pauses a channel the provider refuses to send on; staff are alerted (the log line is
    /// what the alarm on AWS matches) and see the reason until they resume it.
    async fn pause(&self, channel: Channel, why: &str) {
        tracing::error!(alarm = "sending_paused", channel = channel.as_str(), reason = %why, "provider paused sending");
        let pause = ChannelPause {
            channel,
            campaign: None,
            reason: why.to_owned(),
            since: self.now(),
        };
        if let Some((_, paused)) = self.paused.lock().expect("cache lock").as_mut() {
            paused.insert((channel, None));
        }
        if let Err(e) = self.d.pauses.pause(&pause).await {
            tracing::error!(error = %e, "cannot record the paused channel");
        }
    }

    /// Counts a bounce or complaint reported for one of a campaign's emails; past the
    /// thresholds ([`brake_reason`]) the campaign's emails stop until staff resume them, and
    /// an alarm goes off (the log line the alarm on AWS matches).
    pub async fn record_email_feedback(
        &self,
        id: CampaignId,
        feedback: EmailFeedback,
    ) -> Result<(), DomainError> {
        let Some(progress) = self.d.campaigns.add_email_feedback(id, feedback).await? else {
            // A campaign this store never had (another deployment sharing the sender).
            tracing::warn!(campaign = %id, "feedback for an unknown campaign");
            return Ok(());
        };
        let Some(reason) = brake_reason(&progress) else {
            return Ok(());
        };
        let still_sending = self.d.campaigns.status(id).await? == Some(CampaignStatus::Sending);
        let braked = self
            .d
            .pauses
            .pauses()
            .await?
            .into_iter()
            .any(|p| p.channel == Channel::Email && p.campaign == Some(id));
        if still_sending && !braked {
            tracing::error!(alarm = "campaign_braked", campaign = %id, reason = %reason, "campaign email sending braked");
            self.d
                .pauses
                .pause(&ChannelPause {
                    channel: Channel::Email,
                    campaign: Some(id),
                    reason,
                    since: self.now(),
                })
                .await?;
        }
        Ok(())
    }

    /// What a send's answer makes of the delivery.
    fn outcome(
        &self,
        sent: Result<(Option<String>, u32), SendError>,
        channel: Channel,
        attempts: u32,
    ) -> DeliveryResult {
        let give_up = |error: String| DeliveryResult::Failed {
            error: format!("abandon après {attempts} essais : {error}"),
        };
        // Trying again would take the delivery past the time it may be retried for.
        let out_of_attempts = chrono::Duration::from_std(waited(attempts))
            .is_ok_and(|waited| waited > self.d.config.retry_for);
        match sent {
            Ok((provider_id, segments)) => DeliveryResult::Sent {
                provider_id,
                segments,
            },
            Err(SendError::Permanent(error)) => DeliveryResult::Failed { error },
            // An SMS or a call that may have gone is not sent again: a missed one is reported
            // to staff, a doubled emergency message cannot be taken back. An email may be.
            Err(SendError::Unknown(error)) if channel == Channel::Voice => {
                DeliveryResult::Unknown {
                    error: format!(
                    "issue inconnue, l'appel a peut-être eu lieu (il n'est pas renouvelé) : {error}"
                ),
                }
            }
            Err(SendError::Unknown(error)) if channel == Channel::Sms => DeliveryResult::Unknown {
                error: format!(
                    "issue inconnue, le SMS a peut-être été envoyé (il n'est pas renvoyé) : {error}"
                ),
            },
            Err(SendError::Transient(error) | SendError::Unknown(error)) if out_of_attempts => {
                give_up(error)
            }
            Err(SendError::Transient(error) | SendError::Unknown(error)) => {
                DeliveryResult::Retry { error }
            }
            // Waited out however long it lasts: the pace keeps it rare; a paused channel waits
            // for staff to resume it.
            Err(SendError::Throttled(error) | SendError::Paused(error)) => {
                DeliveryResult::Wait { error }
            }
        }
    }

    /// Marks the campaign sent once every shard is fanned out and every delivery handled.
    async fn maybe_finish(
        &self,
        campaign: &Campaign,
        progress: &CampaignProgress,
    ) -> Result<(), DomainError> {
        if campaign.status != CampaignStatus::Sending
            || progress.shards_done < campaign.shards
            || !progress.totals.all_done()
        {
            return Ok(());
        }
        let mut campaign = campaign.clone();
        let read = campaign.version;
        let event = campaign.finish(self.now())?;
        match self.d.campaigns.update(&campaign, read, &event).await {
            Ok(()) => {}
            // Another consumer finished it at the same moment: count it once.
            Err(StoreError::Conflict(_)) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        self.sending
            .lock()
            .expect("cache lock")
            .insert(campaign.id, campaign.clone());
        self.statuses
            .lock()
            .expect("cache lock")
            .insert(campaign.id, (self.now(), campaign.status));
        self.publish(&campaign).await;
        let mut counters = vec![(Counter::CampaignsSent, 1)];
        if campaign.kind == CampaignKind::WeatherAlert {
            counters.push((Counter::WeatherAlertsSent, 1));
        }
        self.d
            .stats
            .add_many(Month::of(self.now()), &counters)
            .await?;
        Ok(())
    }

    /// Waits for a notice's turn on a paced channel; the wait to come back after instead when
    /// no slot is free within [`BOOK_AHEAD`] (or the turns cannot be read).
    async fn notice_turn(&self, channel: Channel) -> Option<Duration> {
        let pacer = self.d.pacing.of(channel)?;
        let until = self.now() + chrono::Duration::from_std(BOOK_AHEAD).expect("small duration");
        match pacer.reserve(1, until).await {
            Ok(turns) => match turns.slots.first() {
                Some(slot) => {
                    wait_until(self.d.clock.as_ref(), *slot).await;
                    None
                }
                None => Some(
                    (turns.next_free - self.now())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .clamp(Duration::from_secs(1), LONGEST_QUEUE_DELAY),
                ),
            },
            Err(e) => {
                tracing::warn!(error = %e, "no sending turn for a sign-up message; tried again later");
                Some(THROTTLED_WAIT)
            }
        }
    }

    /// Runs one job from either queue.
    pub async fn run(&self, job: &Job) -> Result<JobOutcome, DomainError> {
        match job {
            Job::Fanout(job) => self.fan_out(job).await,
            Job::Deliver(job) => Ok(self.deliver(std::slice::from_ref(job)).await?[0]),
            Job::File(step) => self.d.file_jobs.run_step(step).await,
            Job::Notice(job) => Ok(self.send_notice(job).await),
        }
    }

    /// Sends a queued sign-up message, with the campaigns' rules: a provider down is tried
    /// again on the back-off until the retry hours have passed since it was queued, a
    /// throttling provider or a paused channel is waited out, a refusal for good is not
    /// tried again, nor is an SMS that may have gone.
    pub async fn send_notice(&self, job: &NoticeJob) -> JobOutcome {
        let channel = job.message.channel();
        if let Some(wait) = self.notice_turn(channel).await {
            return JobOutcome::RetryAfter(wait);
        }
        let sent = match &job.message {
            Notice::Email(mail) => self.d.email.send_email(mail).await,
            Notice::Sms(sms) => self.d.sms.send_sms(sms).await,
        };
        let waited = (self.now() - job.queued_at)
            .to_std()
            .unwrap_or(Duration::ZERO);
        let given_up = |why: &str| {
            // The provider's words may quote the address: only the kind of failure is logged.
            tracing::error!(
                channel = channel.as_str(),
                reason = why,
                "sign-up message given up"
            );
            JobOutcome::Done
        };
        match sent {
            Ok(_) => JobOutcome::Done,
            Err(SendError::Throttled(_)) => JobOutcome::RetryAfter(THROTTLED_WAIT),
            Err(SendError::Paused(_)) => JobOutcome::RetryAfter(PAUSED_WAIT),
            Err(SendError::Permanent(_)) => given_up("refused by the provider"),
            Err(SendError::Unknown(_)) if channel == Channel::Sms => {
                given_up("outcome unknown, not sent again")
            }
            Err(SendError::Transient(_) | SendError::Unknown(_)) => {
                match chrono::Duration::from_std(waited) {
                    Ok(w) if w <= self.d.config.retry_for => {
                        JobOutcome::RetryAfter(waited.clamp(backoff(1), backoff(u32::MAX)))
                    }
                    _ => given_up("provider down past the retry hours"),
                }
            }
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

    #[test]
    fn six_hours_of_retries_are_some_thirty_attempts() {
        assert_eq!(waited(4), Duration::from_secs(450));
        let six_hours = Duration::from_secs(6 * 3600);
        let attempts = (1..100).find(|n| waited(*n) > six_hours).unwrap();
        assert_eq!(attempts, 28);
    }
}
