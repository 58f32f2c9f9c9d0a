//! What a voice provider reports about each campaign call (answered, no answer, busy, failed):
//! recorded as the delivery's reach report, and a call not answered, busy or failed is placed
//! again after a while, a set number of times. Only a provider that reports call outcomes
//! feeds this (on AWS, End User Messaging's voice events); the local outbox cannot know
//! whether anyone answered.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::config::VoiceRetries;
use crate::domain::contact::Channel;
use crate::domain::delivery::DeliveryKey;
use crate::domain::queue::{CallAgainJob, Job};
use crate::domain::reach::{ReachOutcome, ReachReport};
use crate::error::DomainError;
use crate::ports::{CampaignStore, JobQueue, QuotaStore, ReachStore};

/// A provider's report on one call of a campaign delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallReport {
    /// The delivery the call was placed for (its channel is `voice`).
    pub key: DeliveryKey,
    /// Which call of that delivery it was, from 1.
    pub attempt: u32,
    /// `Answered`, `Voicemail`, `NoAnswer`, `Busy` or `Failed`.
    pub outcome: ReachOutcome,
    /// When the provider reported it.
    pub at: DateTime<Utc>,
}

impl CallReport {
    /// Whether the call is to be placed again (when attempts are left).
    pub fn calls_again(&self) -> bool {
        matches!(
            self.outcome,
            ReachOutcome::NoAnswer | ReachOutcome::Busy | ReachOutcome::Failed
        )
    }
}

/// How long a queued call-again is remembered, so a report delivered twice queues it once.
const REMEMBERED: chrono::Duration = chrono::Duration::days(3);

/// Records call reports and queues the calls to place again.
pub struct CallOutcomes {
    reach: Arc<dyn ReachStore>,
    quotas: Arc<dyn QuotaStore>,
    campaigns: Arc<dyn CampaignStore>,
    queue: Arc<dyn JobQueue>,
    retries: VoiceRetries,
    clock: Arc<dyn Clock>,
}

impl CallOutcomes {
    /// Reports kept in `reach`; calls queued again on `queue` as `retries` says (each once,
    /// remembered in `quotas`).
    pub fn new(
        reach: Arc<dyn ReachStore>,
        quotas: Arc<dyn QuotaStore>,
        campaigns: Arc<dyn CampaignStore>,
        queue: Arc<dyn JobQueue>,
        retries: VoiceRetries,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            reach,
            quotas,
            campaigns,
            queue,
            retries,
            clock,
        }
    }

    /// Records each report against its delivery, then queues a call again for each call not
    /// answered, busy or failed that has attempts left, whose person has not answered the
    /// campaign already (« en sécurité » / « besoin d'aide »). A report delivered twice queues
    /// one call. Returns how many calls were queued.
    pub async fn record(&self, reports: &[CallReport]) -> Result<usize, DomainError> {
        let reach: Vec<ReachReport> = reports
            .iter()
            .filter(|r| r.key.channel == Channel::Voice)
            .map(|r| ReachReport {
                key: r.key,
                outcome: r.outcome,
                at: r.at,
            })
            .collect();
        self.reach.record_reach(&reach).await?;
        let mut queued = 0;
        for r in reports {
            if r.key.channel != Channel::Voice || !r.calls_again() || r.attempt > self.retries.more
            {
                continue;
            }
            if self
                .reach
                .acknowledgement(r.key.campaign, r.key.subscriber)
                .await?
                .is_some()
            {
                continue;
            }
            let Some(campaign) = self.campaigns.get(r.key.campaign).await? else {
                continue;
            };
            if queued_already(self, r).await? {
                continue;
            }
            let job = Job::CallAgain(CallAgainJob {
                key: r.key,
                attempt: r.attempt + 1,
                reported_at: r.at,
                urgent: campaign.urgent,
            });
            let delay = self.retries.every.to_std().unwrap_or_default();
            self.queue.enqueue(&[job], delay).await?;
            queued += 1;
        }
        Ok(queued)
    }
}

/// Whether the call after `report` was queued already (marks it queued when not).
async fn queued_already(outcomes: &CallOutcomes, report: &CallReport) -> Result<bool, DomainError> {
    let now = outcomes.clock.now();
    let key = format!(
        "call-again:{}:{}:{}",
        report.key.campaign,
        report.key.subscriber,
        report.attempt + 1
    );
    Ok(outcomes
        .quotas
        .take(&key, 1, now, now + REMEMBERED)
        .await?
        .is_none())
}
