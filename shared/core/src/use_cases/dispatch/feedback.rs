//! After sending: a campaign is finished once everything is handled, and the providers'
//! bounces and complaints brake its emails.

use super::Dispatcher;
use crate::clock::Month;
use crate::domain::campaign::{Campaign, CampaignId, CampaignKind, CampaignStatus};
use crate::domain::contact::Channel;
use crate::domain::delivery::{CampaignProgress, ChannelPause};
use crate::domain::reputation::{brake_reason, EmailFeedback};
use crate::error::{DomainError, StoreError};
use crate::ports::Counter;

impl Dispatcher {
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

    /// Marks the campaign sent once every shard is fanned out and every delivery handled.
    pub(super) async fn maybe_finish(
        &self,
        campaign: &Campaign,
        progress: &CampaignProgress,
    ) -> Result<(), DomainError> {
        if campaign.status() != CampaignStatus::Sending
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
            .insert(campaign.id, (self.now(), campaign.status()));
        self.publish(&campaign).await;
        // An alert of the crisis cell went to staff, not to residents: it is no campaign of
        // the month's figures (its SMS, calls and their cost are counted as they were sent).
        if campaign.kind == CampaignKind::CellAlert {
            return Ok(());
        }
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
}
