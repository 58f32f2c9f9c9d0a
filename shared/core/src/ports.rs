//! Ports: the capabilities use cases need, implemented by the local and AWS adapters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::time::Duration;

use std::collections::HashSet;

use crate::clock::Month;
use crate::domain::alert_templates::AlertTemplates;
use crate::domain::campaign::{Campaign, CampaignEvent, CampaignId, CampaignStatus};
use crate::domain::contact::{Address, Channel, Email, PhoneNumber};
use crate::domain::delivery::{
    CampaignProgress, ChannelPause, Claims, CreateOutcome, Delivery, DeliveryKey, DeliveryResult,
    NewDelivery, ProgressDelta, Suppression,
};
use crate::domain::file_job::{FileJob, FileJobId};
use crate::domain::notices::NoticeSettings;
use crate::domain::proposal::{Proposal, ProposalId};
use crate::domain::queue::{FanoutCursor, Job, QueueHealth};
use crate::domain::reputation::EmailFeedback;
use crate::domain::staff::{Role, StaffAccount, StaffIdentity, StaffSession};
use crate::domain::subscriber::{Subscriber, SubscriberId, SubscriberStatus};
use crate::domain::topic::{Topic, TopicSlug};
use crate::domain::weather::{AlertInForce, FeedState};
use crate::domain::zone::ZoneSlug;
use crate::error::{SendError, StoreError};

/// The statistics' counters, a domain type the stats store keeps (re-exported: most users meet
/// it beside [`StatsStore`]).
pub use crate::domain::counter::Counter;
/// The messages the senders take, domain values (re-exported beside the senders).
pub use crate::domain::outgoing::{OutgoingCall, OutgoingEmail, OutgoingSms};

/// Subscriber records, one at a time; an email or a phone number belongs to one subscriber at most.
#[async_trait]
pub trait SubscriberStore: Send + Sync {
    /// A subscriber by id.
    async fn get(&self, id: SubscriberId) -> Result<Option<Subscriber>, StoreError>;
    /// The subscriber owning an email address.
    async fn find_by_email(&self, email: &Email) -> Result<Option<Subscriber>, StoreError>;
    /// The subscriber owning a phone number.
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<Subscriber>, StoreError>;
    /// Creates a subscriber; `Conflict` when its email or phone is owned by another.
    async fn insert(&self, subscriber: &Subscriber) -> Result<(), StoreError>;
    /// Creates several subscribers at once (imports): each gets the answer `insert` would give
    /// it, a clash refusing that one only; the outer error is the store failing as a whole.
    async fn insert_many(
        &self,
        subscribers: &[Subscriber],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError>;
    /// Replaces a subscriber (profile, contacts, choices); `Conflict` as for insert.
    async fn update(&self, subscriber: &Subscriber) -> Result<(), StoreError>;
    /// Deletes a subscriber and every record naming them; false when there was none.
    async fn delete(&self, id: SubscriberId) -> Result<bool, StoreError>;
    /// Deletes pending sign-ups whose confirmation expired before `now`; returns how many.
    async fn purge_expired_pending(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// What fan-out and sending read of subscribers: pages of recipients and fresh addresses.
#[async_trait]
pub trait AudienceStore: Send + Sync {
    /// One page of the active subscribers of (topic, channel) in fan-out shard `shard` of
    /// `shards` (`shard_key % shards == shard`), ordered by id, strictly after `after`.
    async fn recipients(
        &self,
        topic: &TopicSlug,
        channel: Channel,
        shard: u32,
        shards: u32,
        after: Option<SubscriberId>,
        limit: usize,
    ) -> Result<Vec<Recipient>, StoreError>;
    /// Several subscribers at once (missing ids are skipped).
    async fn get_many(&self, ids: &[SubscriberId]) -> Result<Vec<Subscriber>, StoreError>;
    /// Which of `ids` were changed or erased at or after `since`. A store may report more than
    /// that, never fewer: the sender trusts an address fan-out read only for those not reported.
    async fn changed_since(
        &self,
        ids: &[SubscriberId],
        since: DateTime<Utc>,
    ) -> Result<HashSet<SubscriberId>, StoreError>;
}

/// Staff-facing queries over subscribers: search and audience counts.
#[async_trait]
pub trait SubscriberReports: Send + Sync {
    /// Staff search, newest first.
    async fn search(&self, query: &SubscriberQuery) -> Result<Vec<Subscriber>, StoreError>;
    /// Distinct active subscribers of any of the topics on a channel, less suppressed addresses.
    async fn count_recipients(
        &self,
        topics: &[TopicSlug],
        channel: Channel,
    ) -> Result<u64, StoreError>;
    /// Active subscribers per (topic, channel).
    async fn count_by_topic(&self) -> Result<Vec<(TopicSlug, Channel, u64)>, StoreError>;
    /// Active subscribers per zone they named, and (`None`) those who named none; one who named
    /// two zones counts in both. Reads the whole file once (the zones live in the profile, and
    /// no campaign's sending waits on this): for the statistics page, not for a hot path.
    async fn count_by_zone(&self) -> Result<Vec<(Option<ZoneSlug>, u64)>, StoreError>;
    /// One page of the whole file, in an order of the store's own, after the store's opaque
    /// `cursor` (none: from the start); the cursor to go on from, none at the end.
    async fn page_all(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Subscriber>, Option<String>), StoreError>;
}

/// Where big files wait: the exports staff download and the imports they send, each behind a
/// link that expires (S3 with presigned URLs on AWS, a folder of the data directory locally).
#[async_trait]
pub trait FileDrop: Send + Sync {
    /// A link staff send a file to with `PUT`, valid for `valid`.
    async fn upload_link(&self, key: &str, valid: Duration) -> Result<String, StoreError>;
    /// A link that downloads a file under `file_name`, valid for `valid`.
    async fn download_link(
        &self,
        key: &str,
        file_name: &str,
        valid: Duration,
    ) -> Result<String, StoreError>;
    /// A file's size; none when there is no such file.
    async fn size(&self, key: &str) -> Result<Option<u64>, StoreError>;
    /// Up to `len` bytes from `from` (fewer at the end).
    async fn read(&self, key: &str, from: u64, len: u64) -> Result<Vec<u8>, StoreError>;
    /// Writes a whole (small) file.
    async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StoreError>;
    /// Starts a file written in parts; gives the upload's identifier.
    async fn start_parts(&self, key: &str) -> Result<String, StoreError>;
    /// Writes part `number` (from 1; written again, it replaces itself); gives its tag.
    async fn put_part(
        &self,
        key: &str,
        upload: &str,
        number: u32,
        bytes: Vec<u8>,
    ) -> Result<String, StoreError>;
    /// Joins the parts, by their tags in order, into the file.
    async fn finish_parts(
        &self,
        key: &str,
        upload: &str,
        tags: &[String],
    ) -> Result<(), StoreError>;
    /// Deletes a file (nothing when there is none).
    async fn remove(&self, key: &str) -> Result<(), StoreError>;
    /// Ends a file's upload link once its job moved on: a file sent to it afterwards is
    /// refused, and one still arriving is not kept. Where links cannot be revoked (S3's
    /// presigned ones), nothing: the job reads no further than the size it checked.
    async fn close_upload(&self, key: &str) -> Result<(), StoreError>;
}

/// Proposals of the town's departments.
#[async_trait]
pub trait ProposalStore: Send + Sync {
    /// Records a new proposal.
    async fn insert_proposal(&self, proposal: &Proposal) -> Result<(), StoreError>;
    /// A proposal by id.
    async fn proposal(&self, id: ProposalId) -> Result<Option<Proposal>, StoreError>;
    /// Replaces a proposal still at version `read`; `Conflict` when it changed meanwhile.
    async fn update_proposal(&self, proposal: &Proposal, read: u32) -> Result<(), StoreError>;
    /// Every proposal made since `since`, newest first.
    async fn proposals_since(&self, since: DateTime<Utc>) -> Result<Vec<Proposal>, StoreError>;
}

/// Big-file jobs (exports and imports done step by step).
#[async_trait]
pub trait FileJobStore: Send + Sync {
    /// Records a new job.
    async fn insert_file_job(&self, job: &FileJob) -> Result<(), StoreError>;
    /// A job by id.
    async fn file_job(&self, id: FileJobId) -> Result<Option<FileJob>, StoreError>;
    /// Replaces a job that still stands at step `read_step`; `Conflict` otherwise (another
    /// run of the same step got there first).
    async fn save_file_job(&self, job: &FileJob, read_step: u32) -> Result<(), StoreError>;
    /// The latest jobs, newest first.
    async fn recent_file_jobs(&self, limit: usize) -> Result<Vec<FileJob>, StoreError>;
}

/// A subscriber reached by a fan-out: id and the address for the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    /// Subscriber.
    pub id: SubscriberId,
    /// The contact of the fan-out's channel.
    pub address: Address,
}

/// Filters of the staff search; every filter given must match.
#[derive(Debug, Clone, Default)]
pub struct SubscriberQuery {
    /// Part of the email or phone number.
    pub text: Option<String>,
    /// Subscribed to this topic.
    pub topic: Option<TopicSlug>,
    pub status: Option<SubscriberStatus>,
    /// Page size.
    pub limit: usize,
    /// Rows to skip.
    pub offset: usize,
}

/// Campaigns and their audit trail.
#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// Creates a campaign with its first event.
    async fn insert(&self, campaign: &Campaign, event: &CampaignEvent) -> Result<(), StoreError>;
    /// A campaign.
    async fn get(&self, id: CampaignId) -> Result<Option<Campaign>, StoreError>;
    /// A campaign's status alone (a cheap read senders make for every batch).
    async fn status(&self, id: CampaignId) -> Result<Option<CampaignStatus>, StoreError>;
    /// Replaces a campaign if its stored version is still `read_version` (the one the change
    /// was made from), appending the event; `Conflict` when someone else changed it first.
    async fn update(
        &self,
        campaign: &Campaign,
        read_version: u32,
        event: &CampaignEvent,
    ) -> Result<(), StoreError>;
    /// Campaigns, newest first, optionally of one status.
    async fn list(
        &self,
        status: Option<CampaignStatus>,
        limit: usize,
    ) -> Result<Vec<Campaign>, StoreError>;
    /// The audit trail, oldest first.
    async fn events(&self, id: CampaignId) -> Result<Vec<CampaignEvent>, StoreError>;
    /// Scheduled campaigns whose time has come.
    async fn due(&self, now: DateTime<Utc>) -> Result<Vec<Campaign>, StoreError>;
    /// Adds to the campaign's counters (once per batch, never once per message); returns the
    /// counters after the addition.
    async fn add_progress(
        &self,
        id: CampaignId,
        delta: &ProgressDelta,
    ) -> Result<CampaignProgress, StoreError>;
    /// The campaign's counters.
    async fn progress(&self, id: CampaignId) -> Result<CampaignProgress, StoreError>;
    /// Records that a fan-out shard finished and adds what it counted, both at once and once
    /// only: marking a shard again adds nothing. Returns the counters after.
    async fn mark_shard_done(
        &self,
        id: CampaignId,
        shard: u32,
        counted: &ProgressDelta,
    ) -> Result<CampaignProgress, StoreError>;
    /// Counts a bounce or complaint reported for one of the campaign's emails; returns the
    /// counters after (none for an unknown campaign).
    async fn add_email_feedback(
        &self,
        id: CampaignId,
        feedback: EmailFeedback,
    ) -> Result<Option<CampaignProgress>, StoreError>;
    /// Sets the campaign's progress stamp to `at`, as progress does to now: the repair looks at
    /// a campaign once the stamp is [`crate::use_cases::dispatch::STALLED_AFTER`] old, so a
    /// stamp ahead of now puts its next look off.
    async fn stamp_progress(&self, id: CampaignId, at: DateTime<Utc>) -> Result<(), StoreError>;
    /// Records that slice `slice` of fan-out shard `shard` is done (true the first time), and
    /// when the shard goes on, where the next slice starts (`next`): the repair resumes a shard
    /// from there if that slice's job is lost.
    async fn mark_slice_done(
        &self,
        id: CampaignId,
        shard: u32,
        slice: u32,
        next: Option<&FanoutCursor>,
    ) -> Result<bool, StoreError>;
    /// Whether that slice was recorded done.
    async fn slice_done(&self, id: CampaignId, shard: u32, slice: u32) -> Result<bool, StoreError>;
    /// The last slice a shard handed over to, and where it starts (none: the shard never
    /// handed over; it starts at slice 0).
    async fn fanout_resume(
        &self,
        id: CampaignId,
        shard: u32,
    ) -> Result<Option<(u32, FanoutCursor)>, StoreError>;
}

/// One record per (campaign, subscriber, channel): the guarantee of at most one message each.
#[async_trait]
pub trait DeliveryStore: Send + Sync {
    /// Creates deliveries unless they exist (conditional create); says, for each, what happened.
    /// Fan-out records this way only what it decides itself (suppressed addresses).
    async fn create_batch(
        &self,
        deliveries: &[NewDelivery],
    ) -> Result<Vec<CreateOutcome>, StoreError>;
    /// Claims deliveries for sending, one conditional write each: creates an absent one as
    /// `sending`, or moves a `queued` one (waiting for a retry) to `sending`. Of two senders
    /// holding the same job, one wins; the other learns what it found.
    async fn claim(&self, keys: &[DeliveryKey]) -> Result<Claims, StoreError>;
    /// Records the outcome of deliveries as [`DeliveryStore::claim`] won them.
    async fn finish(&self, results: &[(Delivery, DeliveryResult)]) -> Result<(), StoreError>;
    /// Records a batch's outcomes as [`DeliveryStore::finish`] does, adds to each campaign's
    /// counters what the batch counted (as [`CampaignStore::add_progress`]) and to `month`'s
    /// statistics its `counters` (as [`StatsStore::add_many`]; none: nothing): in one write
    /// where the store has transactions (SQLite), so that a process dying in between cannot
    /// leave the counts short of the outcomes, and one commit instead of three. Elsewhere
    /// (DynamoDB: a batch is more than a transaction holds), one after the other in that
    /// order. Returns the counters after the addition of each campaign given.
    async fn finish_and_count(
        &self,
        results: &[(Delivery, DeliveryResult)],
        campaigns: &[(CampaignId, ProgressDelta)],
        month: Month,
        counters: &[(Counter, i64)],
    ) -> Result<Vec<(CampaignId, CampaignProgress)>, StoreError>;
    /// Marks as failed, with `error`, those of `held` (as a claim found them) that are still
    /// `sending` under the same claim with no outcome recorded: their sender died between claim
    /// and finish, and whether the provider got the message is unknown, so resending could
    /// duplicate it. Returns the keys changed.
    async fn fail_stale(
        &self,
        held: &[Delivery],
        error: &str,
    ) -> Result<Vec<DeliveryKey>, StoreError>;
    /// Puts finished deliveries back in the queue to be sent again (the crisis cell's
    /// follow-up to members not reached), each only if it is still as staff read it (its
    /// status and, where the store keeps outcomes by claim, its claim), and forgets the
    /// provider's report on the earlier try; says, for each, whether it moved. Of two
    /// follow-ups at once, one moves each delivery: the other learns it was queued already
    /// and queues no job for it. A delivery queued or being sent never moves.
    async fn send_again(&self, deliveries: &[Delivery]) -> Result<Vec<bool>, StoreError>;
    /// Up to `limit` deliveries of a campaign after `after` (none: from the first), in key
    /// order: a whole pass costs reads in proportion to the campaign, page after page.
    async fn list_after(
        &self,
        campaign: CampaignId,
        after: Option<DeliveryKey>,
        limit: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
    /// Deliveries of a campaign, for staff (page of `limit` after `offset`).
    async fn list(
        &self,
        campaign: CampaignId,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Delivery>, StoreError>;
}

/// Addresses that must not be written to (hard bounces, complaints, opt-outs).
#[async_trait]
pub trait SuppressionStore: Send + Sync {
    /// Which of these addresses are suppressed.
    async fn suppressed_among(&self, addresses: &[String]) -> Result<HashSet<String>, StoreError>;
    /// Suppresses an address (idempotent).
    async fn suppress(&self, suppression: &Suppression) -> Result<(), StoreError>;
    /// Lifts a suppression; false when there was none.
    async fn lift(&self, address: &str) -> Result<bool, StoreError>;
    /// Suppressions, newest first.
    async fn list(&self, limit: usize) -> Result<Vec<Suppression>, StoreError>;
}

/// Buffers work between steps (SQS on AWS, a table locally). Delivery is at least once.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueues jobs, visible after `delay`.
    async fn enqueue(&self, jobs: &[Job], delay: std::time::Duration) -> Result<(), StoreError>;
    /// Jobs waiting and dead letters.
    async fn health(&self) -> Result<QueueHealth, StoreError>;
}

/// Reads and writes topics.
#[async_trait]
pub trait TopicStore: Send + Sync {
    /// Every topic, open or not, by name.
    async fn list(&self) -> Result<Vec<Topic>, StoreError>;
    /// One topic.
    async fn get(&self, slug: &TopicSlug) -> Result<Option<Topic>, StoreError>;
    /// Creates a topic unless one has its slug; returns true when created.
    async fn insert_if_absent(&self, topic: &Topic) -> Result<bool, StoreError>;
    /// Replaces a topic's name, description, kind, end date and state; false when unknown.
    async fn update(&self, topic: &Topic) -> Result<bool, StoreError>;
}

/// The topics residents may choose, and staff may target, on the town's date of `now`.
pub async fn open_topics(
    topics: &dyn TopicStore,
    now: DateTime<Utc>,
) -> Result<Vec<Topic>, StoreError> {
    let today = crate::clock::town_date(now);
    let mut all = topics.list().await?;
    all.retain(|t| t.is_open_on(today));
    Ok(all)
}

/// Where a sign-up came from, for the statistics: the web form, a file imported, or a paper
/// form and the place it was handed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignupOrigin<'a> {
    Web,
    Import,
    Paper(Option<&'a str>),
    /// A staff member subscribed again someone who had left.
    Staff,
}

impl SignupOrigin<'_> {
    /// The prefix of the stored counters of origins.
    pub const PREFIX: &'static str = "origin:";

    /// The stored key: `web`, `import`, `papier`, or `lieu:<place>`.
    pub fn key(&self) -> String {
        match self {
            SignupOrigin::Web => "web".into(),
            SignupOrigin::Import => "import".into(),
            SignupOrigin::Paper(None) => "papier".into(),
            SignupOrigin::Paper(Some(place)) => format!("lieu:{place}"),
            SignupOrigin::Staff => "agent".into(),
        }
    }

    /// What staff read for a stored key.
    pub fn label(key: &str) -> String {
        match key {
            "web" => "Site internet".into(),
            "import" => "Fichier importé".into(),
            "papier" => "Formulaire papier (lieu non précisé)".into(),
            "agent" => "Réinscription par un agent".into(),
            other => match other.strip_prefix("lieu:") {
                Some(place) => format!("Formulaire papier : {place}"),
                None => other.to_owned(),
            },
        }
    }
}

/// Allowances counted in the store, so that a limit holds across processes and Lambda
/// instances: sign-ups per client, code SMS per number and per day, wrong codes per sign-up.
#[async_trait]
pub trait QuotaStore: Send + Sync {
    /// Takes one unit of `key`'s allowance of `limit`: the units taken so far, this one
    /// included, or `None` (nothing taken) when `limit` were already taken. Atomic: concurrent
    /// takes never go past the limit. The count starts afresh once `expires_at` has passed: the
    /// caller names its time window in `key` and ends the allowance with the window.
    async fn take(
        &self,
        key: &str,
        limit: u32,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<Option<u32>, StoreError>;
}

/// Météo-France's vigilance product as published now (`cartevigilance/encours`), as text.
#[async_trait]
pub trait WeatherFeed: Send + Sync {
    /// The current document.
    async fn current(&self) -> Result<String, crate::domain::weather::FeedError>;
}

/// The weather relay's own records: the alerts in force, the staff's templates, the feed's
/// last state.
#[async_trait]
pub trait WeatherStore: Send + Sync {
    /// Records `alert` unless its (domain, phenomenon) is in force at its colour or higher:
    /// true when written, and then the caller relays it. Atomic: of concurrent callers, one
    /// writes.
    async fn raise(&self, alert: &AlertInForce) -> Result<bool, StoreError>;
    /// The alerts in force.
    async fn in_force(&self) -> Result<Vec<AlertInForce>, StoreError>;
    /// Removes an alert in force if it is still as read: true for the one caller that removed
    /// it (who announces the end).
    async fn lift(&self, alert: &AlertInForce) -> Result<bool, StoreError>;
    /// The staff's templates (none: the defaults).
    async fn templates(&self) -> Result<Option<AlertTemplates>, StoreError>;
    /// Replaces the templates.
    async fn save_templates(&self, templates: &AlertTemplates) -> Result<(), StoreError>;
    /// The feed's last state.
    async fn feed_state(&self) -> Result<Option<FeedState>, StoreError>;
    /// Replaces the feed's last state.
    async fn save_feed_state(&self, state: &FeedState) -> Result<(), StoreError>;
}

/// The staff who hold a role, with their contacts: the cabinet is told of alerts waiting for
/// it (local accounts, or the Cognito group's members on AWS).
#[async_trait]
pub trait StaffDirectory: Send + Sync {
    /// The active staff holding `role`.
    async fn holding(&self, role: Role) -> Result<Vec<StaffIdentity>, StoreError>;
}

/// Which notices each staff account turned off, by staff id (a local username, or the Cognito
/// `sub` on AWS, where accounts live in the user pool but their settings in the table).
#[async_trait]
pub trait NoticeSettingsStore: Send + Sync {
    /// An account's settings; the default (every notice on) when it never saved any.
    async fn notice_settings(&self, staff_id: &str) -> Result<NoticeSettings, StoreError>;
    /// Replaces an account's settings.
    async fn save_notice_settings(
        &self,
        staff_id: &str,
        settings: &NoticeSettings,
    ) -> Result<(), StoreError>;
}

/// The channels the provider paused, shared by every sender.
#[async_trait]
pub trait PauseStore: Send + Sync {
    /// Records a pause (a channel already paused keeps its first reason and time).
    async fn pause(&self, pause: &ChannelPause) -> Result<(), StoreError>;
    /// The channels paused now.
    async fn pauses(&self) -> Result<Vec<ChannelPause>, StoreError>;
    /// Lifts a channel's pause, or a campaign's brake on it; false when there was none.
    async fn resume(
        &self,
        channel: Channel,
        campaign: Option<CampaignId>,
    ) -> Result<bool, StoreError>;
}

/// Shares each channel's sending rate between every sender (processes, Lambda instances): a
/// sender reserves the instants of its next messages, spaced by the rate, in the store.
#[async_trait]
pub trait PaceStore: Send + Sync {
    /// Reserves up to `n` consecutive slots of `channel` spaced by `interval`, none before
    /// `now` and none after `not_after`: as many as fit, perhaps none (nothing is booked past
    /// `not_after`, so no sender books further ahead than it can use). Atomic: concurrent
    /// reservations never overlap.
    async fn reserve_slots(
        &self,
        channel: Channel,
        n: u32,
        interval: std::time::Duration,
        now: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> Result<Slots, StoreError>;
}

/// What [`PaceStore::reserve_slots`] booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slots {
    /// The first slot booked; when none was, the channel's next free slot.
    pub first: DateTime<Utc>,
    /// Slots booked from `first`, spaced by the interval.
    pub count: u32,
}

impl Slots {
    /// How many of `n` slots spaced by `interval` fit from `start` (the channel's next free
    /// slot, or now if later) to `not_after`: the rule every store applies.
    pub fn fitting(
        n: u32,
        interval: std::time::Duration,
        start: DateTime<Utc>,
        not_after: DateTime<Utc>,
    ) -> u32 {
        if start > not_after {
            return 0;
        }
        let room = (not_after - start).num_microseconds().unwrap_or(i64::MAX);
        let step = i64::try_from(interval.as_micros())
            .unwrap_or(i64::MAX)
            .max(1);
        u32::try_from(room / step + 1).unwrap_or(u32::MAX).min(n)
    }
}

/// What the email and SMS providers allow: the daily email quota and what is left of it, the
/// monthly SMS spend limit. Read before approval (see [`crate::domain::provider_limits`]).
#[async_trait]
pub trait ProviderLimits: Send + Sync {
    /// The figures as they stand at `now`.
    async fn quotas(
        &self,
        now: DateTime<Utc>,
    ) -> Result<crate::domain::provider_limits::ProviderQuotas, StoreError>;

    /// The daily email quota and what was sent of it (the SMS figures left out), as senders
    /// read it every minute while sending; by default the whole [`ProviderLimits::quotas`].
    async fn email_quota(
        &self,
        now: DateTime<Utc>,
    ) -> Result<crate::domain::provider_limits::ProviderQuotas, StoreError> {
        self.quotas(now).await
    }
}

/// Adds to monthly counters.
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Adds `n` to the counter of `month`.
    async fn add(&self, month: Month, counter: Counter, n: i64) -> Result<(), StoreError> {
        self.add_many(month, &[(counter, n)]).await
    }
    /// Adds to several counters of a month in one write.
    async fn add_many(&self, month: Month, deltas: &[(Counter, i64)]) -> Result<(), StoreError>;
    /// The value of a counter for a month (0 when never set).
    async fn get(&self, month: Month, counter: Counter) -> Result<i64, StoreError>;
    /// Adds `n` sign-ups from `origin` ([`SignupOrigin::key`]) to `month`: the sign-up counter
    /// and the origin's, in one write.
    async fn add_signups(&self, month: Month, origin: &str, n: i64) -> Result<(), StoreError>;
    /// Sign-ups per origin key over the months from `from` to `to` inclusive, summed.
    async fn signups_by_origin(
        &self,
        from: Month,
        to: Month,
    ) -> Result<Vec<(String, i64)>, StoreError>;
    /// Every counter of the months from `from` to `to` inclusive, by month.
    async fn months(
        &self,
        from: Month,
        to: Month,
    ) -> Result<Vec<(Month, Counter, i64)>, StoreError>;
    /// Replaces a month's count of active subscribers per topic and channel.
    async fn save_audience(&self, month: Month, counts: &[AudienceCount])
        -> Result<(), StoreError>;
    /// The months from `from` to `to` that have an audience count, oldest first.
    async fn audience(
        &self,
        from: Month,
        to: Month,
    ) -> Result<Vec<(Month, Vec<AudienceCount>)>, StoreError>;
}

/// Active subscribers of a topic on a channel at some moment (kept month by month, so staff
/// see the audience over time).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AudienceCount {
    pub topic: TopicSlug,
    pub channel: Channel,
    pub subscribers: u64,
}

/// An email the embedded default wrote to its outbox, as the outbox viewer shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxEmail {
    pub to: String,
    pub subject: String,
    /// The HTML part, as recipients would see it.
    pub html: String,
    /// When it was written.
    pub at: DateTime<Utc>,
}

/// An SMS the embedded default wrote to its outbox.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutboxSms {
    pub to: String,
    pub text: String,
    /// When it was written.
    pub at: DateTime<Utc>,
}

/// The newest messages of the outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct OutboxListing {
    /// Newest first.
    pub emails: Vec<OutboxEmail>,
    /// Newest first.
    pub sms: Vec<OutboxSms>,
}

/// Reads back what the embedded default's outbox holds (there is none on AWS).
#[async_trait]
pub trait OutboxReader: Send + Sync {
    /// The newest `limit` emails and `limit` SMS.
    async fn recent(&self, limit: usize) -> Result<OutboxListing, StoreError>;
}

/// Sends emails.
#[async_trait]
pub trait EmailSender: Send + Sync {
    /// Sends one email; `Ok` once the provider accepted it, with its message id when it gave one
    /// (an accepted message is never sent again, id or not).
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Option<String>, SendError>;
}

/// Sends SMS.
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends one SMS; `Ok` once the provider accepted it, with its message id when it gave one.
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Option<String>, SendError>;
}

/// The public archive of the messages the town sent, and the weather alert record its website
/// reads. Shaped for key lookups: a page is one range read, newest first, whatever the size of
/// the subscriber file (DynamoDB: one Query of the archive's index partition).
#[async_trait]
pub trait ArchiveStore: Send + Sync {
    /// Publishes (or replaces) a message; does nothing for a message staff withdrew. True when
    /// it is published.
    async fn publish(
        &self,
        message: &crate::domain::archive::ArchivedMessage,
    ) -> Result<bool, StoreError>;
    /// A published message.
    async fn archived(
        &self,
        id: CampaignId,
    ) -> Result<Option<crate::domain::archive::ArchivedMessage>, StoreError>;
    /// Published messages newest first (of one topic, or all), strictly after `after`.
    async fn archive_page(
        &self,
        topic: Option<&TopicSlug>,
        after: Option<crate::domain::archive::ArchiveCursor>,
        limit: usize,
    ) -> Result<Vec<crate::domain::archive::ArchivedMessage>, StoreError>;
    /// Published messages whose event date is `from` or later, soonest first.
    async fn agenda(
        &self,
        from: chrono::NaiveDate,
        limit: usize,
    ) -> Result<Vec<crate::domain::archive::ArchivedMessage>, StoreError>;
    /// Withdraws a message for good (it is never published again); false when it was not
    /// published.
    async fn withdraw(&self, id: CampaignId) -> Result<bool, StoreError>;
    /// The weather alerts record (empty when never written).
    async fn public_alerts(&self) -> Result<crate::domain::archive::PublicAlerts, StoreError>;
    /// Replaces the weather alerts record.
    async fn save_public_alerts(
        &self,
        alerts: &crate::domain::archive::PublicAlerts,
    ) -> Result<(), StoreError>;
}

/// The zones of the town staff define (`admin`), listed for residents and campaigns.
#[async_trait]
pub trait ZoneStore: Send + Sync {
    /// Records a new zone; false (nothing written) when its slug is taken.
    async fn insert_zone(&self, zone: &crate::domain::zone::Zone) -> Result<bool, StoreError>;
    /// Every zone, by slug.
    async fn zones(&self) -> Result<Vec<crate::domain::zone::Zone>, StoreError>;
}

/// Places voice calls.
#[async_trait]
pub trait VoiceSender: Send + Sync {
    /// Places one call; `Ok` once the provider took it, with its message id when it gave one.
    async fn call(&self, call: &OutgoingCall) -> Result<Option<String>, SendError>;
}

/// What is known of each recipient of a campaign beyond the hand-over: the providers' reports
/// (delivered, bounced, answered…) and the residents' answers. Kept with the campaign, erased
/// with the resident ([`SubscriberStore::delete`] removes them).
#[async_trait]
pub trait ReachStore: Send + Sync {
    /// Records providers' reports (a later report on the same delivery replaces the earlier).
    async fn record_reach(
        &self,
        reports: &[crate::domain::reach::ReachReport],
    ) -> Result<(), StoreError>;
    /// Every report on a campaign's deliveries.
    async fn reach_reports(
        &self,
        campaign: CampaignId,
    ) -> Result<Vec<crate::domain::reach::ReachReport>, StoreError>;
    /// Records a resident's answer (their last answer replaces the earlier).
    async fn acknowledge(
        &self,
        ack: &crate::domain::reach::Acknowledgement,
    ) -> Result<(), StoreError>;
    /// A resident's answer to a campaign.
    async fn acknowledgement(
        &self,
        campaign: CampaignId,
        subscriber: SubscriberId,
    ) -> Result<Option<crate::domain::reach::Acknowledgement>, StoreError>;
    /// Every answer to a campaign.
    async fn acknowledgements(
        &self,
        campaign: CampaignId,
    ) -> Result<Vec<crate::domain::reach::Acknowledgement>, StoreError>;
}

/// The crisis cell's members, kept apart from residents (a few dozen at most, read whole).
#[async_trait]
pub trait CellStore: Send + Sync {
    /// Every member, in no particular order.
    async fn cell_members(&self) -> Result<Vec<crate::domain::cell::CellMember>, StoreError>;
    /// One member.
    async fn cell_member(
        &self,
        id: SubscriberId,
    ) -> Result<Option<crate::domain::cell::CellMember>, StoreError>;
    /// Adds a member; `Conflict` when the id is taken.
    async fn insert_cell_member(
        &self,
        member: &crate::domain::cell::CellMember,
    ) -> Result<(), StoreError>;
    /// Replaces a member; false when there was none.
    async fn update_cell_member(
        &self,
        member: &crate::domain::cell::CellMember,
    ) -> Result<bool, StoreError>;
    /// Removes a member with everything naming them: their finished deliveries, the reports
    /// on them and their answers (as [`SubscriberStore::delete`] does for a resident); false
    /// when there was none.
    async fn delete_cell_member(&self, id: SubscriberId) -> Result<bool, StoreError>;
}

/// Local staff accounts and sessions.
#[async_trait::async_trait]
pub trait StaffStore: Send + Sync {
    /// Creates an account; `Conflict` when the username exists.
    async fn create_account(&self, account: &StaffAccount) -> Result<(), StoreError>;
    /// An account by username.
    async fn find_account(&self, username: &str) -> Result<Option<StaffAccount>, StoreError>;
    /// Replaces an account; false when there is none by that username.
    async fn update_account(&self, account: &StaffAccount) -> Result<bool, StoreError>;
    /// Every account, by username.
    async fn list_accounts(&self) -> Result<Vec<StaffAccount>, StoreError>;
    /// Ends every session of a username; returns how many there were.
    async fn delete_sessions_of(&self, username: &str) -> Result<u64, StoreError>;
    /// Stores a session under the digest of its cookie value.
    async fn create_session(&self, digest: &str, session: &StaffSession) -> Result<(), StoreError>;
    /// A session by digest.
    async fn find_session(&self, digest: &str) -> Result<Option<StaffSession>, StoreError>;
    /// Ends a session.
    async fn delete_session(&self, digest: &str) -> Result<(), StoreError>;
}

/// Hashes and checks local staff passwords (slow on purpose: an adapter runs it off the async
/// runtime). Only the embedded backend has one: on AWS, Cognito keeps the passwords.
#[async_trait::async_trait]
pub trait PasswordHashing: Send + Sync {
    /// A salted hash in PHC string form.
    async fn hash(&self, password: &str) -> Result<String, HashingFailed>;
    /// Whether the password matches a PHC string (false for a malformed one). Without one (no
    /// such account) the check takes as long and answers false, so a refusal does not tell
    /// whether the username exists.
    async fn verify(&self, password: &str, phc: Option<&str>) -> bool;
}

/// A password could not be hashed (the hasher refused, or its worker stopped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HashingFailed(pub String);
