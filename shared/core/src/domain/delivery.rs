//! Deliveries: one per (campaign, subscriber, channel), the unit of "at most once"; campaign
//! progress counters; suppressed addresses.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

use crate::domain::campaign::CampaignId;
use crate::domain::contact::Channel;
use crate::domain::money::Money;
use crate::domain::subscriber::SubscriberId;
use crate::error::UnknownName;

/// Identifies a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DeliveryKey {
    pub campaign: CampaignId,
    /// Recipient.
    pub subscriber: SubscriberId,
    pub channel: Channel,
}

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Waiting in the queue.
    Queued,
    /// Claimed by a sender.
    Sending,
    /// Accepted by the provider.
    Sent,
    /// Refused for good, or too many transient failures.
    Failed,
    /// Not sent: address suppressed or subscriber gone.
    Suppressed,
    /// The provider gave no readable answer: perhaps sent, perhaps not. An SMS is not sent
    /// again (a doubled emergency SMS is worse than a miss staff can see).
    Unknown,
    /// Not sent: it would have arrived after the campaign's useful life (a weather alert past
    /// the end of its vigilance). Counted with the messages not sent on purpose.
    Expired,
}

impl FromStr for DeliveryStatus {
    type Err = UnknownName;

    /// Parses the wire name.
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName::new("statut d'envoi", s))
    }
}

impl DeliveryStatus {
    /// Every status.
    pub const ALL: [DeliveryStatus; 7] = [
        Self::Queued,
        Self::Sending,
        Self::Sent,
        Self::Failed,
        Self::Suppressed,
        Self::Unknown,
        Self::Expired,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Suppressed => "suppressed",
            Self::Unknown => "unknown",
            Self::Expired => "expired",
        }
    }
}

/// A channel the provider paused (sending paused, account suspended), or one campaign's channel
/// the bounce and complaint brake stopped: nothing is sent on it, nothing fails, until staff
/// resume it once the cause is cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelPause {
    pub channel: Channel,
    /// The campaign braked (none: the whole channel).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<CampaignId>,
    /// The provider's words, for staff.
    pub reason: String,
    pub since: DateTime<Utc>,
}

impl ChannelPause {
    /// The name it is stored under: `email`, or `email#<campaign>` for a brake.
    pub fn key(channel: Channel, campaign: Option<CampaignId>) -> String {
        match campaign {
            None => channel.as_str().to_owned(),
            Some(id) => format!("{}#{id}", channel.as_str()),
        }
    }
}

/// A delivery to create during fan-out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDelivery {
    pub key: DeliveryKey,
    /// `Queued`, or `Suppressed` when the address is on the suppression list.
    pub status: DeliveryStatus,
    /// Why it was suppressed.
    pub error: Option<String>,
}

/// What a conditional create found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateOutcome {
    /// Created now.
    Created,
    /// Already there (a re-run, or the same person on another targeted topic).
    Exists(DeliveryStatus),
}

/// A stored delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub key: DeliveryKey,
    pub status: DeliveryStatus,
    /// Send attempts so far.
    pub attempts: u32,
    /// Provider message id once sent.
    pub provider_id: Option<String>,
    /// Last error.
    pub error: Option<String>,
    /// SMS segments billed.
    pub segments: u32,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// What the store needs to tie a claim to its outcome (its own business; none for most).
    #[serde(skip)]
    pub claim: Option<String>,
}

/// What a claim did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    /// Won by this claim, now `sending`, in the order asked (a key asked twice, once).
    pub won: Vec<Delivery>,
    /// Found `sending` under another claim, as stored (no outcome known to the item itself).
    pub held: Vec<Delivery>,
}

/// The outcome of one claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    /// Accepted by the provider.
    Sent {
        /// Provider message id, when the provider gave one.
        provider_id: Option<String>,
        /// SMS segments (0 for email).
        segments: u32,
    },
    /// Refused for good.
    Failed {
        /// Why.
        error: String,
    },
    /// Perhaps sent: the provider's answer was lost (counted with the failures, never retried).
    Unknown {
        /// What happened, in French for staff.
        error: String,
    },
    /// Not sent on purpose.
    Suppressed {
        /// Why.
        reason: String,
    },
    /// Transient failure: back to the queue for another attempt.
    Retry {
        /// Why.
        error: String,
    },
    /// Too late to be of use: never sent late.
    Expired {
        /// Why, in French for staff.
        reason: String,
    },
    /// The provider asked to slow down: back to the queue, the attempt given back (waiting
    /// out a quota is not a failure).
    Wait {
        /// Why.
        error: String,
    },
}

/// Counters of one channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ChannelCounts {
    /// Recipients of the fan-out shards finished so far (final once every shard is done).
    pub targeted: u64,
    pub sent: u64,
    pub failed: u64,
    pub suppressed: u64,
}

impl ChannelCounts {
    /// Deliveries that reached an end state.
    pub fn done(&self) -> u64 {
        self.sent + self.failed + self.suppressed
    }
}

/// A campaign's counters, or an increment to them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Email counters.
    pub email: ChannelCounts,
    /// SMS counters.
    pub sms: ChannelCounts,
    /// SMS segments billed.
    pub sms_segments: u64,
    /// Cost so far (€ HT).
    pub cost: Money,
    /// Voice call counters.
    pub voice: ChannelCounts,
}

impl Progress {
    /// The stored names of the voice counters, in the order of [`Progress::voice_values`].
    pub const VOICE_COUNTERS: [&'static str; 4] = [
        "voice_targeted",
        "voice_sent",
        "voice_failed",
        "voice_suppressed",
    ];

    /// The voice counters as stored integers.
    pub fn voice_values(&self) -> [i64; 4] {
        let v = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
        let c = &self.voice;
        [v(c.targeted), v(c.sent), v(c.failed), v(c.suppressed)]
    }

    /// These counters with the voice ones read back from stored integers.
    pub fn with_voice(mut self, values: [i64; 4]) -> Self {
        let count = |i: usize| u64::try_from(values[i]).unwrap_or(0);
        self.voice = ChannelCounts {
            targeted: count(0),
            sent: count(1),
            failed: count(2),
            suppressed: count(3),
        };
        self
    }

    /// The counters of a channel.
    pub fn channel_mut(&mut self, channel: Channel) -> &mut ChannelCounts {
        match channel {
            Channel::Email => &mut self.email,
            Channel::Sms => &mut self.sms,
            Channel::Voice => &mut self.voice,
        }
    }

    /// True when nothing was counted.
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    /// True when every targeted delivery reached an end state.
    pub fn all_done(&self) -> bool {
        self.email.done() >= self.email.targeted
            && self.sms.done() >= self.sms.targeted
            && self.voice.done() >= self.voice.targeted
    }

    /// The stored names of the counters, in the order of [`Progress::values`].
    pub const COUNTERS: [&'static str; 10] = [
        "email_targeted",
        "email_sent",
        "email_failed",
        "email_suppressed",
        "sms_targeted",
        "sms_sent",
        "sms_failed",
        "sms_suppressed",
        "sms_segments",
        "cost_ten_thousandths",
    ];

    /// The counters as stored integers, in the order of [`Progress::COUNTERS`].
    pub fn values(&self) -> [i64; 10] {
        let v = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
        let (e, s) = (&self.email, &self.sms);
        [
            v(e.targeted),
            v(e.sent),
            v(e.failed),
            v(e.suppressed),
            v(s.targeted),
            v(s.sent),
            v(s.failed),
            v(s.suppressed),
            v(self.sms_segments),
            self.cost.ten_thousandths(),
        ]
    }

    /// The counters read back from stored integers (negative values count as 0).
    pub fn from_values(values: [i64; 10]) -> Self {
        let count = |i: usize| u64::try_from(values[i]).unwrap_or(0);
        let channel = |first: usize| ChannelCounts {
            targeted: count(first),
            sent: count(first + 1),
            failed: count(first + 2),
            suppressed: count(first + 3),
        };
        Self {
            email: channel(0),
            sms: channel(4),
            sms_segments: count(8),
            cost: Money::from_ten_thousandths(values[9]),
            voice: ChannelCounts::default(),
        }
    }
}

/// An increment to a campaign's counters, added once per batch.
pub type ProgressDelta = Progress;

/// A campaign's counters and fan-out state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CampaignProgress {
    /// Counters.
    #[serde(flatten)]
    pub totals: Progress,
    /// Fan-out shards finished.
    pub shards_done: u32,
    /// Bounces and complaints reported for its emails.
    pub feedback: crate::domain::reputation::FeedbackCounts,
    /// When sending last moved on (counters added, a fan-out slice done): the repair leaves
    /// alone a campaign that is making progress.
    #[serde(skip)]
    pub progressed_at: Option<DateTime<Utc>>,
}

/// An address not to write to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// Email or E.164 number.
    pub address: String,
    /// Why (`bounce`, `complaint`, `opt-out`, `staff`…).
    pub reason: String,
    /// Since when.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_round_trip_through_stored_values() {
        let mut p = Progress::default();
        p.email.sent = 3;
        p.sms.failed = 2;
        p.sms_segments = 7;
        p.cost = Money::from_ten_thousandths(12_000);
        assert_eq!(Progress::from_values(p.values()), p);
        assert_eq!(p.values()[1], 3);
    }
}
