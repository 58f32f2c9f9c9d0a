//! Sending at the provider's pace: each email or SMS has its slot, the slots of a channel spaced
//! by the configured rate and shared by every sender through the store. A sender books its slots
//! before it claims anything, and only slots it can use before its deadline: what does not fit
//! goes back to the queue unclaimed, to wait for the next free slot (see
//! `Dispatcher::deliver_within`). Booking is done a block at a time (one store write per block,
//! not per message), the spare slots kept for the sender's next messages.
//!
//! An email provider's daily quota (SES counts a rolling 24 hours) bounds the booking too: once
//! it is used up, emails wait in the queue, unclaimed, until it frees (see [`DailyQuota`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::lock::Mutex;

use crate::clock::Clock;
use crate::domain::contact::Channel;
use crate::error::SendError;
use crate::ports::{
    EmailSender, OutgoingCall, OutgoingEmail, OutgoingSms, PaceStore, ProviderLimits, SmsSender,
    VoiceSender,
};

/// Slots booked at once at least: a send batch's worth.
const BLOCK: u32 = 10;

/// How far ahead a message sent outside a campaign (a test send, a notice to staff) may book
/// its slot: past it, the provider is busy with a campaign for that long, and the send is
/// refused as throttled rather than waited out.
pub const NOTICE_AHEAD: Duration = Duration::from_secs(60);

/// How many senders at once a channel's rate keeps supplied: each of `lanes` queues hands up
/// to that many invocations `batch` messages at once, and every message needs its slot before
/// its invocation's deadline less [`super::SEND_MARGIN`]. More senders than this book nothing
/// for part of their messages, which go back to the queue unsent (one more receive each): none
/// is lost, but the extra senders only cost.
pub fn senders_fed(per_second: f64, invocation: Duration, batch: u32, lanes: u32) -> u32 {
    let usable = invocation.saturating_sub(super::SEND_MARGIN).as_secs_f64();
    let per_sender = f64::from(batch.max(1) * lanes.max(1));
    // Saturates: a rate too high to matter gives u32::MAX.
    (per_second * usable / per_sender).floor() as u32
}

/// The slots a sender got for its messages, in order, and when the channel is free again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Turns {
    /// One slot per message that fits, earliest first.
    pub slots: Vec<DateTime<Utc>>,
    /// The channel's first slot after these (for the messages that did not fit).
    pub next_free: DateTime<Utc>,
}

/// The turns of one channel.
pub struct Pacer {
    store: Arc<dyn PaceStore>,
    clock: Arc<dyn Clock>,
    channel: Channel,
    interval: Duration,
    held: Mutex<VecDeque<DateTime<Utc>>>,
}

impl Pacer {
    /// Turns of `channel` at `per_second` messages a second.
    pub fn new(
        store: Arc<dyn PaceStore>,
        clock: Arc<dyn Clock>,
        channel: Channel,
        per_second: f64,
    ) -> Self {
        Self {
            store,
            clock,
            channel,
            interval: Duration::from_secs_f64(1.0 / per_second),
            held: Mutex::new(VecDeque::new()),
        }
    }

    /// The channel these turns are for.
    pub fn channel(&self) -> Channel {
        self.channel
    }

    /// Books up to `wanted` slots, none after `not_after`: the spare slots this sender holds
    /// first, then a block from the store. Slots held for more than a block's time are given up
    /// (another sender took the rate meanwhile).
    pub async fn reserve(
        &self,
        wanted: usize,
        not_after: DateTime<Utc>,
    ) -> Result<Turns, SendError> {
        let mut held = self.held.lock().await;
        let now = self.clock.now();
        let stale = chrono::Duration::from_std(self.interval * BLOCK).unwrap_or_default();
        held.retain(|slot| *slot + stale > now);
        let mut slots: Vec<DateTime<Utc>> = Vec::with_capacity(wanted);
        while slots.len() < wanted && held.front().is_some_and(|s| *s <= not_after) {
            slots.extend(held.pop_front());
        }
        let step = chrono::Duration::from_std(self.interval).unwrap_or_default();
        let mut next_free = slots.last().map_or(now, |s| *s + step);
        let missing = wanted - slots.len();
        if missing > 0 {
            let ask = u32::try_from(missing).unwrap_or(u32::MAX).max(BLOCK);
            let booked = self
                .store
                .reserve_slots(self.channel, ask, self.interval, now, not_after)
                .await
                .map_err(|e| SendError::Transient(format!("pacing: {e}")))?;
            let mut fresh = (0..booked.count).map(|i| booked.first + step * i as i32);
            slots.extend(fresh.by_ref().take(missing));
            held.extend(fresh);
            next_free = booked.first + step * booked.count as i32;
        }
        Ok(Turns { slots, next_free })
    }

    /// Waits for one slot within [`NOTICE_AHEAD`]; throttled when there is none.
    async fn wait_turn(&self) -> Result<(), SendError> {
        let not_after =
            self.clock.now() + chrono::Duration::from_std(NOTICE_AHEAD).unwrap_or_default();
        let turns = self.reserve(1, not_after).await?;
        let Some(slot) = turns.slots.first() else {
            return Err(SendError::Throttled(format!(
                "pacing: no {} slot free within {} s",
                self.channel.as_str(),
                NOTICE_AHEAD.as_secs()
            )));
        };
        wait_until(self.clock.as_ref(), *slot).await;
        Ok(())
    }
}

/// Sleeps until `slot` on the service's clock (at once when it is past).
pub async fn wait_until(clock: &dyn Clock, slot: DateTime<Utc>) {
    let wait = (slot - clock.now()).to_std().unwrap_or(Duration::ZERO);
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
}

/// How long a sender trusts the daily quota it read: the provider is asked again after this,
/// and in between the sender counts down what it booked.
pub const QUOTA_READ_EVERY: Duration = Duration::from_secs(60);

/// What is left of the email provider's daily quota, as a sender sees it: read from the
/// provider at most every [`QUOTA_READ_EVERY`], less what this sender booked since. Senders
/// running side by side each count their own share, so together they may overshoot by what
/// they book in a minute: the provider's refusal then holds the rest (the adapter's wait), as
/// before this gate; the gate keeps that rare, and keeps emails that cannot go today out of
/// the claims.
pub struct DailyQuota {
    limits: Arc<dyn ProviderLimits>,
    clock: Arc<dyn Clock>,
    /// When the quota was last read, and what was read (less what was booked since).
    last: std::sync::Mutex<Option<(DateTime<Utc>, QuotaSeen)>>,
}

/// A daily quota as read.
#[derive(Debug, Clone, Copy, Default)]
struct QuotaSeen {
    /// Emails a day (none: no limit).
    size: Option<u64>,
    /// What is left of it (none: no limit).
    left: Option<u64>,
}

impl DailyQuota {
    /// The quota as `limits` tell it.
    pub fn new(limits: Arc<dyn ProviderLimits>, clock: Arc<dyn Clock>) -> Self {
        Self {
            limits,
            clock,
            last: std::sync::Mutex::new(None),
        }
    }

    /// Emails that may still be booked today (none: no limit). A quota that cannot be read is
    /// logged and taken as no limit for now: the provider still refuses what is over it.
    pub async fn left(&self) -> Option<u64> {
        self.seen().await.left
    }

    /// Emails the provider accepts a day (none: no limit, or unreadable).
    pub async fn size(&self) -> Option<u64> {
        self.seen().await.size
    }

    async fn seen(&self) -> QuotaSeen {
        let now = self.clock.now();
        let fresh = chrono::Duration::from_std(QUOTA_READ_EVERY).unwrap_or_default();
        if let Some((at, seen)) = *self.last.lock().expect("quota lock") {
            if now - at < fresh {
                return seen;
            }
        }
        let seen = match self.limits.email_quota(now).await {
            Ok(q) => QuotaSeen {
                size: q.email_daily_quota,
                left: q
                    .email_daily_quota
                    .map(|quota| quota.saturating_sub(q.emails_sent_last_24h)),
            },
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the daily email quota: sending goes on, the provider refuses what is over it");
                QuotaSeen::default()
            }
        };
        if seen.left == Some(0) {
            tracing::warn!("daily email quota used up: emails wait in the queue until the rolling 24 hours free some (not a failure; README, step 2, to raise it)");
        }
        *self.last.lock().expect("quota lock") = Some((now, seen));
        seen
    }

    /// Counts `n` emails booked against what is left.
    pub fn take(&self, n: usize) {
        if let Some((
            _,
            QuotaSeen {
                left: Some(left), ..
            },
        )) = self.last.lock().expect("quota lock").as_mut()
        {
            *left = left.saturating_sub(n as u64);
        }
    }
}

/// The turns of each paced channel (none: the channel is used as fast as it answers), and the
/// email provider's daily quota.
#[derive(Clone, Default)]
pub struct Pacing {
    pub email: Option<Arc<Pacer>>,
    pub sms: Option<Arc<Pacer>>,
    pub voice: Option<Arc<Pacer>>,
    /// The daily email quota (none: not read, no limit).
    pub email_quota: Option<Arc<DailyQuota>>,
}

impl Pacing {
    /// The turns of `channel`, if it is paced.
    pub fn of(&self, channel: Channel) -> Option<&Arc<Pacer>> {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
            Channel::Voice => self.voice.as_ref(),
        }
    }
}

/// An email provider used at the pace of its quota (messages outside campaigns: test sends,
/// notices to staff; a campaign's deliveries book their turns in the dispatcher).
pub struct PacedEmail {
    pub inner: Arc<dyn EmailSender>,
    pub pacer: Arc<Pacer>,
}

#[async_trait]
impl EmailSender for PacedEmail {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Option<String>, SendError> {
        self.pacer.wait_turn().await?;
        self.inner.send_email(email).await
    }
}

/// An SMS provider used at the pace of its quota (as [`PacedEmail`]).
pub struct PacedSms {
    pub inner: Arc<dyn SmsSender>,
    pub pacer: Arc<Pacer>,
}

#[async_trait]
impl SmsSender for PacedSms {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Option<String>, SendError> {
        self.pacer.wait_turn().await?;
        self.inner.send_sms(sms).await
    }
}

/// A voice provider used at its pace (calls outside campaigns: a sign-up code read to a
/// landline).
pub struct PacedVoice {
    pub inner: Arc<dyn VoiceSender>,
    pub pacer: Arc<Pacer>,
}

#[async_trait]
impl VoiceSender for PacedVoice {
    async fn call(&self, call: &OutgoingCall) -> Result<Option<String>, SendError> {
        self.pacer.wait_turn().await?;
        self.inner.call(call).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEND: Duration = Duration::from_secs(30);

    #[test]
    fn the_sandbox_rate_feeds_one_sender_and_production_seventeen() {
        // 1 email/s: 25 slots in an invocation's usable 25 s, 20 messages per sender (two
        // lanes of 10): one sender; the template's default of 5 is too many.
        assert_eq!(senders_fed(1.0, SEND, 10, 2), 1);
        // 14/s (SES production): 350 slots for 20 each, 17 senders; the 18 are too many.
        assert_eq!(senders_fed(14.0, SEND, 10, 2), 17);
        assert_eq!(senders_fed(20.0, SEND, 10, 2), 25);
    }

    #[test]
    fn no_time_left_feeds_nobody_and_a_huge_rate_saturates() {
        assert_eq!(senders_fed(14.0, Duration::from_secs(5), 10, 2), 0);
        assert_eq!(senders_fed(f64::MAX, SEND, 10, 2), u32::MAX);
    }
}
