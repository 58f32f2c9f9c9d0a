//! Subscribers, their choices, their consent and their confirmation state.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::contact::{Channel, Email, PhoneNumber};
use crate::topic::TopicSlug;

/// The version of the consent wording shown on the sign-up form; stored with each consent.
pub const CONSENT_WORDING_VERSION: &str = "2026-11-v1";

/// The consent wording residents agree to (French).
pub const CONSENT_WORDING: &str = "J'accepte que la Ville d'Arcachon utilise mon adresse e-mail et/ou mon numéro de mobile pour m'envoyer les messages des thèmes choisis. Je peux me désabonner à tout moment par le lien présent dans chaque message.";

/// Opaque subscriber identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SubscriberId(pub Uuid);

impl SubscriberId {
    /// A fresh random id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }

    /// A stable non-negative number derived from the id (its low 63 bits), stored with
    /// memberships so a store can select one fan-out shard as `shard_key % shards = shard`.
    pub fn shard_key(&self) -> i64 {
        (self.0.as_u128() & 0x7FFF_FFFF_FFFF_FFFF) as i64
    }

    /// The fan-out shard of this subscriber among `shards`.
    pub fn shard(&self, shards: u32) -> u32 {
        (self.shard_key() % i64::from(shards.max(1))) as u32
    }

    /// Parses the textual form; `None` when it is not a UUID.
    pub fn parse(s: &str) -> Option<Self> {
        Uuid::parse_str(s).ok().map(Self)
    }
}

impl Default for SubscriberId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for SubscriberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a subscriber is in their life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SubscriberStatus {
    /// Signed up on the web, not yet confirmed.
    Pending,
    /// Receives messages.
    Active,
    /// Left; kept only until erased or re-subscribed.
    Unsubscribed,
}

impl SubscriberStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Unsubscribed => "unsubscribed",
        }
    }

    /// Parses the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            "unsubscribed" => Some(Self::Unsubscribed),
            _ => None,
        }
    }
}

/// One (topic, channel) a subscriber wants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Choice {
    /// The topic.
    pub topic: TopicSlug,
    /// The channel.
    pub channel: Channel,
}

/// How consent was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum ConsentSource {
    /// The web form, with the client's address and user agent as proof.
    Web {
        /// Client IP address.
        ip: String,
        /// Client user agent.
        user_agent: String,
    },
    /// A paper form typed in by staff.
    Paper {
        /// The staff member who typed it.
        staff_id: String,
        /// The paper form's reference.
        form_reference: String,
    },
}

/// A record of consent, kept as proof (RGPD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Where it came from.
    #[serde(flatten)]
    pub source: ConsentSource,
    /// When it was given.
    pub at: DateTime<Utc>,
    /// Which wording was agreed to.
    pub wording_version: String,
}

/// How a pending sign-up is to be confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum ConfirmationMethod {
    /// A signed link sent by email.
    EmailLink,
    /// A 6-digit code sent by SMS, stored as a keyed digest.
    SmsCode {
        /// Keyed digest of the code.
        code_digest: String,
        /// Wrong answers so far.
        attempts: u32,
    },
}

/// The state of an unconfirmed web sign-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingConfirmation {
    /// After this instant the sign-up is void and purged.
    pub expires_at: DateTime<Utc>,
    /// Link or code.
    #[serde(flatten)]
    pub method: ConfirmationMethod,
}

/// A resident on the town's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscriber {
    /// Identifier.
    pub id: SubscriberId,
    /// Email address, if given.
    pub email: Option<Email>,
    /// Mobile number, if given.
    pub phone: Option<PhoneNumber>,
    /// What they want to receive, and how.
    pub choices: BTreeSet<Choice>,
    /// Life-cycle state.
    pub status: SubscriberStatus,
    /// Language of messages (`fr`).
    pub language: String,
    /// Proof of consent.
    pub consent: Consent,
    /// Set while a web sign-up awaits confirmation.
    pub pending: Option<PendingConfirmation>,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl Subscriber {
    /// True when the subscriber has a contact for the channel.
    pub fn can_receive(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.is_some(),
            Channel::Sms => self.phone.is_some(),
        }
    }

    /// True when a pending sign-up has passed its expiry.
    pub fn is_expired_pending(&self, now: DateTime<Utc>) -> bool {
        self.status == SubscriberStatus::Pending
            && self.pending.as_ref().is_none_or(|p| now > p.expires_at)
    }

    /// The channels chosen for a topic.
    pub fn channels_for(&self, topic: &TopicSlug) -> BTreeSet<Channel> {
        self.choices
            .iter()
            .filter(|c| &c.topic == topic)
            .map(|c| c.channel)
            .collect()
    }
}
