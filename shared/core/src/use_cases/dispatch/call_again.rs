//! A campaign call placed again after the provider reported it unanswered, busy or failed
//! (`CallAgainJob`, queued by [`crate::use_cases::call_outcomes::CallOutcomes`]).

use std::time::Duration;

use super::send::SendTo;
use super::{Dispatcher, PAUSED_WAIT, THROTTLED_WAIT};
use crate::domain::campaign::CampaignStatus;
use crate::domain::contact::{Address, Channel};
use crate::domain::queue::{CallAgainJob, JobOutcome};
use crate::error::SendError;

impl Dispatcher {
    /// Places a campaign call again, with the rules of its first call: not for a stopped or
    /// finished-with campaign, nor to a person who left its topics or whose number is gone;
    /// a non-urgent campaign's call is not placed outside the sending hours. A throttling
    /// provider or a paused channel is waited out, a provider down is tried again shortly; a
    /// refusal for good, or a call that may have been placed, is not tried again.
    pub async fn call_again(&self, job: &CallAgainJob) -> JobOutcome {
        let key = job.key;
        let done = |why: &str| {
            tracing::info!(attempt = job.attempt, reason = why, "call not placed again");
            JobOutcome::Done
        };
        if key.channel != Channel::Voice {
            return done("not a call");
        }
        let campaign = match self.current(key.campaign).await {
            Ok(Some(c)) => c,
            Ok(None) => return done("campaign gone"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the campaign of a call to place again");
                return JobOutcome::RetryAfter(THROTTLED_WAIT);
            }
        };
        if campaign.status() == CampaignStatus::Cancelled {
            return done("campaign stopped");
        }
        if self.past_useful_life(&campaign).is_some() {
            return done("past the alert's useful life");
        }
        if self.window_wait(&campaign, Channel::Voice) > Duration::ZERO {
            return done("outside the sending hours");
        }
        let person = match self.d.audience.get_many(&[key.subscriber]).await {
            Ok(mut found) => found.pop().map(Box::new),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the person to call again");
                return JobOutcome::RetryAfter(THROTTLED_WAIT);
            }
        };
        let to = match self.address(&campaign, &SendTo::Profile(person), Channel::Voice) {
            Ok(Address::Phone(to)) => to,
            Ok(Address::Email(_)) | Err(_) => return done("no longer to be called"),
        };
        match self.send_call(&campaign, to, job.attempt, key).await {
            Ok(_) => JobOutcome::Done,
            Err(SendError::Throttled(_)) => JobOutcome::RetryAfter(THROTTLED_WAIT),
            Err(SendError::Paused(why)) => {
                self.pause(Channel::Voice, &why).await;
                JobOutcome::RetryAfter(PAUSED_WAIT)
            }
            // Tried again on the common back-off until the retry hours have passed since the
            // report that asked for this call.
            Err(SendError::Transient(_)) => {
                let waited = (self.now() - job.reported_at).to_std().unwrap_or_default();
                match chrono::Duration::from_std(waited) {
                    Ok(w) if w <= self.d.config.retry_for => JobOutcome::RetryAfter(
                        waited.clamp(super::backoff(1), super::backoff(u32::MAX)),
                    ),
                    _ => done("provider down past the retry hours"),
                }
            }
            Err(SendError::Permanent(_)) => done("refused by the provider"),
            // A doubled emergency call cannot be taken back.
            Err(SendError::Unknown(_)) => done("outcome unknown, not placed again"),
        }
    }
}
