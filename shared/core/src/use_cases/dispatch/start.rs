//! Start: an approved or due campaign moves to `sending` and its fan-out shards are queued.

use std::time::Duration;

use super::Dispatcher;
use crate::clock::Month;
use crate::config::RECIPIENTS_PER_SHARD;
use crate::domain::campaign::{Campaign, CampaignKind, CampaignStatus};
use crate::domain::contact::Channel;
use crate::domain::queue::{FanoutJob, Job};
use crate::error::DomainError;

impl Dispatcher {
    /// Moves an approved (or due scheduled) campaign to `sending` and enqueues its fan-out shards.
    pub async fn start(&self, campaign: Campaign) -> Result<Campaign, DomainError> {
        self.start_counted(campaign, None).await
    }

    /// [`Self::start`], with the campaign's recipients (every channel) when they were just
    /// counted exactly — by the approval: its shards follow that count instead of the hourly one,
    /// which a new town or a big wave of sign-ups has not caught up with yet.
    pub async fn start_counted(
        &self,
        mut campaign: Campaign,
        recipients: Option<u64>,
    ) -> Result<Campaign, DomainError> {
        let read = campaign.version;
        let shards = match recipients {
            Some(n) => self.shards_of(n),
            None => self.shards_for(&campaign).await?,
        };
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
    pub(super) async fn publish(&self, campaign: &Campaign) {
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
        Ok(self.shards_of(audience))
    }

    /// One shard per [`RECIPIENTS_PER_SHARD`] of `audience`, at least one, up to the setting.
    fn shards_of(&self, audience: u64) -> u32 {
        let wanted = audience.div_ceil(RECIPIENTS_PER_SHARD).max(1);
        u32::try_from(wanted)
            .unwrap_or(u32::MAX)
            .min(self.d.config.fanout_shards.get())
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
    pub(super) fn window_wait(&self, campaign: &Campaign, channel: Channel) -> Duration {
        // A stopped campaign's deliveries are closed at once, without sending.
        let stopped = campaign.status() == CampaignStatus::Cancelled;
        // Calls keep the same hours as SMS.
        if !matches!(channel, Channel::Sms | Channel::Voice) || campaign.urgent || stopped {
            return Duration::ZERO;
        }
        let now = self.now();
        (self.d.config.sending_window.next_opening(now) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    }
}
