//! Sending at the provider's pace: each email or SMS waits for its slot, the slots of a channel
//! spaced by the configured rate and shared by every sender through the store. A sender
//! reserves a block of slots at once (one store write per block, not per message) and hands
//! them out to its own concurrent sends.

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

/// Slots reserved at once: a send batch's worth.
const BLOCK: u32 = 10;

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

    /// Waits for this sender's next slot. A slot already past is used at once; slots held
    /// for more than a block's time are given up (another sender took the rate meanwhile).
    async fn wait_turn(&self) -> Result<(), SendError> {
        let slot = {
            let mut held = self.held.lock().await;
            let now = self.clock.now();
            let stale = chrono::Duration::from_std(self.interval * BLOCK).unwrap_or_default();
            held.retain(|slot| *slot + stale > now);
            if held.is_empty() {
                let first = self
                    .store
                    .reserve_slots(self.channel, BLOCK, self.interval, now)
                    .await
                    .map_err(|e| SendError::Transient(format!("pacing: {e}")))?;
                let step = chrono::Duration::from_std(self.interval).unwrap_or_default();
                held.extend((0..BLOCK).map(|i| first + step * i as i32));
            }
            held.pop_front().expect("slots were just reserved")
        };
        let wait = (slot - self.clock.now()).to_std().unwrap_or(Duration::ZERO);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        Ok(())
    }
}

/// An email provider used at the pace of its quota.
pub struct PacedEmail {
    pub inner: Arc<dyn EmailSender>,
    pub pacer: Pacer,
}

#[async_trait]
impl EmailSender for PacedEmail {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Option<String>, SendError> {
        self.pacer.wait_turn().await?;
        self.inner.send_email(email).await
    }
}

/// An SMS provider used at the pace of its quota.
pub struct PacedSms {
    pub inner: Arc<dyn SmsSender>,
    pub pacer: Pacer,
}

#[async_trait]
impl SmsSender for PacedSms {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Option<String>, SendError> {
        self.pacer.wait_turn().await?;
        self.inner.send_sms(sms).await
    }
}
