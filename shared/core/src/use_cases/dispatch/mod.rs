//! Sending: start an approved campaign, fan it out shard by shard, deliver each message once.
//!
//! Every step runs from an at-least-once queue, so each is idempotent: deliveries are created
//! with a condition, claimed before sending, and counters are added once per batch.
//!
//! One file per stage, each an `impl Dispatcher` block over the ports held here: [`start`]
//! (a campaign moves to `sending`, its shards are queued), [`fan_out`] (a shard's recipients
//! become delivery jobs), [`deliver`] (a batch is paced, claimed and counted), [`send`] (one
//! message to its provider), [`feedback`] (a campaign finished, bounces and complaints),
//! [`notice`] (queued sign-up messages), beside [`pacing`] and [`repair`]. Big-file steps share
//! the queues but not the dispatcher: [`crate::use_cases::jobs::Jobs`] routes each job.

mod call_again;
mod deliver;
mod fan_out;
mod feedback;
mod notice;
pub mod pacing;
mod repair;
mod send;
mod start;

pub use fan_out::{zone_reach, ZoneReach};
pub use repair::{Repairs, STALLED_AFTER};

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::ServiceConfig;
use crate::domain::campaign::{Campaign, CampaignId, CampaignStatus};
use crate::domain::contact::Channel;
use crate::error::StoreError;
use crate::ports::{
    AudienceStore, CampaignStore, CellStore, DeliveryStore, EmailSender, JobQueue, PauseStore,
    SmsSender, StatsStore, SuppressionStore, VoiceSender,
};
use crate::render::links::Links;
use crate::render::messages::EmailLayout;
use crate::use_cases::archive::Archive;
use pacing::Pacing;

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
    /// The public archive, where sent campaigns are published.
    pub archive: Arc<Archive>,
    /// The crisis cell: where an alert of the cell finds its members' numbers.
    pub cell: Arc<dyn CellStore>,
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

    /// A campaign as it is now: its content read once per sender while it is sending (it no
    /// longer changes), its status read afresh at most every [`STATUS_READ_EVERY`], so a stop
    /// takes effect within seconds.
    async fn current(&self, id: CampaignId) -> Result<Option<Campaign>, StoreError> {
        let Some(mut campaign) = self.campaign(id).await? else {
            return Ok(None);
        };
        match self.status(id).await? {
            Some(status) => campaign.status_read_again(status),
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
            .filter(|c| matches!(c.status(), CampaignStatus::Sending | CampaignStatus::Sent))
        {
            let mut cache = self.sending.lock().expect("cache lock");
            if cache.len() >= CACHED_CAMPAIGNS {
                cache.clear();
            }
            cache.insert(id, c.clone());
        }
        Ok(found)
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
