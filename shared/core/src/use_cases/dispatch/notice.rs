//! Queued sign-up messages, sent on the campaigns' pace and retry rules.

use std::time::Duration;

use super::pacing::wait_until;
use super::{backoff, Dispatcher, BOOK_AHEAD, LONGEST_QUEUE_DELAY, PAUSED_WAIT, THROTTLED_WAIT};
use crate::domain::contact::Channel;
use crate::domain::queue::{JobOutcome, Notice, NoticeJob};
use crate::error::SendError;

impl Dispatcher {
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

    /// Sends a queued sign-up message, with the campaigns' rules: a provider down is tried
    /// again on the back-off until the retry hours have passed since it was queued, a
    /// throttling provider or a paused channel is waited out, a refusal for good is not
    /// tried again, nor is an SMS or a call that may have gone.
    pub async fn send_notice(&self, job: &NoticeJob) -> JobOutcome {
        let channel = job.message.channel();
        if let Some(wait) = self.notice_turn(channel).await {
            return JobOutcome::RetryAfter(wait);
        }
        let sent = match &job.message {
            Notice::Email(mail) => self.d.email.send_email(mail).await,
            Notice::Sms(sms) => self.d.sms.send_sms(sms).await,
            Notice::Voice(call) => self.d.voice.call(call).await,
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
            Err(SendError::Unknown(_)) if channel != Channel::Email => {
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
