//! Sending at the provider's pace: each email or SMS has its slot, the slots of a channel spaced
//! by the configured rate and shared by every sender through the store. A sender books its slots
//! before it claims anything, and only slots it can use before its deadline: what does not fit
//! goes back to the queue unclaimed, to wait for the next free slot (see
//! `Dispatcher::deliver_within`). Booking is done a block at a time (one store write per block,
//! not per message), the spare slots kept for the sender's next messages.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::lock::Mutex;

use crate::clock::Clock;
use crate::domain::contact::Channel;
use crate::error::SendError;
use crate::ports::{EmailSender, OutgoingEmail, OutgoingSms, PaceStore, SmsSender};

/// Slots booked at once at least: a send batch's worth.
const BLOCK: u32 = 10;

/// How far ahead a message sent outside a campaign (a test send, a notice to staff) may book
/// its slot: past it, the provider is busy with a campaign for that long, and the send is
/// refused as throttled rather than waited out.
pub const NOTICE_AHEAD: Duration = Duration::from_secs(60);

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

/// The turns of each paced channel (none: the channel is used as fast as it answers).
#[derive(Clone, Default)]
pub struct Pacing {
    pub email: Option<Arc<Pacer>>,
    pub sms: Option<Arc<Pacer>>,
}

impl Pacing {
    /// The turns of `channel`, if it is paced.
    pub fn of(&self, channel: Channel) -> Option<&Arc<Pacer>> {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
            // Calls have no configured rate yet: placed as fast as the provider takes them.
            Channel::Voice => None,
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
