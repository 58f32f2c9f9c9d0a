//! Subscribers, their choices, their consent and their confirmation state.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::contact::{Channel, Email, PhoneNumber};
use crate::domain::topic::TopicSlug;
use crate::error::{InvalidId, UnknownName};
use crate::ports::Counter;

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
}

impl FromStr for SubscriberId {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, InvalidId> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| InvalidId(s.to_owned()))
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

impl FromStr for SubscriberStatus {
    type Err = UnknownName;

    /// Parses the wire name.
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName::new("statut d'abonné", s))
    }
}

impl SubscriberStatus {
    /// Every status.
    pub const ALL: [SubscriberStatus; 3] = [Self::Pending, Self::Active, Self::Unsubscribed];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Unsubscribed => "unsubscribed",
        }
    }
}

/// One (topic, channel) a subscriber wants.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Choice {
    pub topic: TopicSlug,
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

/// Where a subscriber is in their life cycle, with what only that stage has: the confirmation a
/// web sign-up awaits exists only while it is pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubscriberState {
    /// Signed up on the web, not yet confirmed.
    Pending(PendingConfirmation),
    /// Receives messages.
    Active,
    /// Left; kept only until erased or re-subscribed.
    Unsubscribed,
}

impl SubscriberState {
    /// The stage's name.
    pub fn status(&self) -> SubscriberStatus {
        match self {
            Self::Pending(_) => SubscriberStatus::Pending,
            Self::Active => SubscriberStatus::Active,
            Self::Unsubscribed => SubscriberStatus::Unsubscribed,
        }
    }
}

/// A resident on the town's list. The life cycle moves through the transition methods
/// (`activate`, `unsubscribe`, `set_choices`), which also say which monthly counter moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SubscriberRecord", into = "SubscriberRecord")]
pub struct Subscriber {
    /// Identifier.
    pub id: SubscriberId,
    /// Email address, if given.
    pub email: Option<Email>,
    /// Mobile number, if given.
    pub phone: Option<PhoneNumber>,
    /// What they want to receive, and how.
    pub choices: BTreeSet<Choice>,
    /// Life-cycle stage (change it through the transitions).
    pub state: SubscriberState,
    /// Language of messages (`fr`).
    pub language: String,
    /// Proof of consent.
    pub consent: Consent,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The stored and exported shape of a subscriber (`status`, and `pending` while pending), as it
/// has always been written.
#[derive(Serialize, Deserialize)]
struct SubscriberRecord {
    id: SubscriberId,
    email: Option<Email>,
    phone: Option<PhoneNumber>,
    choices: BTreeSet<Choice>,
    status: SubscriberStatus,
    language: String,
    consent: Consent,
    pending: Option<PendingConfirmation>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Subscriber> for SubscriberRecord {
    fn from(s: Subscriber) -> Self {
        let status = s.status();
        let pending = match s.state {
            SubscriberState::Pending(p) => Some(p),
            _ => None,
        };
        Self {
            id: s.id,
            email: s.email,
            phone: s.phone,
            choices: s.choices,
            status,
            language: s.language,
            consent: s.consent,
            pending,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

impl TryFrom<SubscriberRecord> for Subscriber {
    type Error = String;

    fn try_from(r: SubscriberRecord) -> Result<Self, String> {
        let state = match (r.status, r.pending) {
            (SubscriberStatus::Pending, Some(p)) => SubscriberState::Pending(p),
            (SubscriberStatus::Pending, None) => {
                return Err(format!("subscriber {}: pending without confirmation", r.id))
            }
            (SubscriberStatus::Active, _) => SubscriberState::Active,
            (SubscriberStatus::Unsubscribed, _) => SubscriberState::Unsubscribed,
        };
        Ok(Self {
            id: r.id,
            email: r.email,
            phone: r.phone,
            choices: r.choices,
            state,
            language: r.language,
            consent: r.consent,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl Subscriber {
    /// The life-cycle stage's name.
    pub fn status(&self) -> SubscriberStatus {
        self.state.status()
    }

    /// The confirmation a pending web sign-up awaits.
    pub fn pending(&self) -> Option<&PendingConfirmation> {
        match &self.state {
            SubscriberState::Pending(p) => Some(p),
            _ => None,
        }
    }

    /// The confirmation a pending web sign-up awaits, to count a wrong code or set a new one.
    pub fn pending_mut(&mut self) -> Option<&mut PendingConfirmation> {
        match &mut self.state {
            SubscriberState::Pending(p) => Some(p),
            _ => None,
        }
    }

    /// Confirmed (link, code), re-subscribed, or typed in again by staff: receives messages.
    /// Returns the sign-up to count when they were not active.
    pub fn activate(&mut self, now: DateTime<Utc>) -> Option<Counter> {
        let was_active = self.state == SubscriberState::Active;
        self.state = SubscriberState::Active;
        self.updated_at = now;
        (!was_active).then_some(Counter::SignUps)
    }

    /// Leaves everything: no choices left, no confirmation pending. Returns the departure to
    /// count when they were active.
    pub fn unsubscribe(&mut self, now: DateTime<Utc>) -> Option<Counter> {
        let was_active = self.state == SubscriberState::Active;
        self.state = SubscriberState::Unsubscribed;
        self.choices.clear();
        self.updated_at = now;
        was_active.then_some(Counter::Departures)
    }

    /// New choices, by the subscriber or staff: none left is leaving everything; choices given
    /// to someone who had left bring them back. Returns the counter the change implies.
    pub fn set_choices(
        &mut self,
        choices: BTreeSet<Choice>,
        now: DateTime<Utc>,
    ) -> Option<Counter> {
        if choices.is_empty() {
            return self.unsubscribe(now);
        }
        self.choices = choices;
        self.updated_at = now;
        match self.state {
            SubscriberState::Unsubscribed => self.activate(now),
            _ => None,
        }
    }

    /// A wrong SMS code typed for this pending sign-up: counted, and the wrong codes so far
    /// returned (0 when no code is awaited).
    pub fn count_wrong_code(&mut self, now: DateTime<Utc>) -> u32 {
        let Some(PendingConfirmation {
            method: ConfirmationMethod::SmsCode { attempts, .. },
            ..
        }) = self.pending_mut()
        else {
            return 0;
        };
        *attempts += 1;
        let made = *attempts;
        self.updated_at = now;
        made
    }

    /// The departure an erasure counts: only someone active was counted in.
    pub fn erasure(&self) -> Option<Counter> {
        (self.state == SubscriberState::Active).then_some(Counter::Departures)
    }

    /// True when the subscriber has a contact for the channel.
    pub fn can_receive(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.is_some(),
            Channel::Sms => self.phone.is_some(),
        }
    }

    /// True when a pending sign-up has passed its expiry.
    pub fn is_expired_pending(&self, now: DateTime<Utc>) -> bool {
        self.pending().is_some_and(|p| now > p.expires_at)
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

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, hour, 0, 0).unwrap()
    }

    fn choice(topic: &str) -> Choice {
        Choice {
            topic: TopicSlug::from_str(topic).unwrap(),
            channel: Channel::Email,
        }
    }

    fn pending() -> Subscriber {
        Subscriber {
            id: SubscriberId::new(),
            email: Some(Email::from_str("marie@exemple.fr").unwrap()),
            phone: None,
            choices: [choice("alerte-meteo")].into(),
            state: SubscriberState::Pending(PendingConfirmation {
                expires_at: at(23),
                method: ConfirmationMethod::EmailLink,
            }),
            language: "fr".into(),
            consent: Consent {
                source: ConsentSource::Web {
                    ip: "192.0.2.1".into(),
                    user_agent: "test".into(),
                },
                at: at(8),
                wording_version: CONSENT_WORDING_VERSION.into(),
            },
            created_at: at(8),
            updated_at: at(8),
        }
    }

    #[test]
    fn confirming_counts_one_sign_up_and_ends_the_pending_confirmation() {
        let mut s = pending();
        assert_eq!(s.activate(at(9)), Some(Counter::SignUps));
        assert_eq!(
            (s.status(), s.pending(), s.updated_at),
            (SubscriberStatus::Active, None, at(9))
        );
        assert_eq!(s.activate(at(10)), None, "confirming twice counts once");
    }

    #[test]
    fn leaving_clears_choices_and_counts_a_departure_only_for_someone_active() {
        let mut s = pending();
        assert_eq!(
            s.unsubscribe(at(9)),
            None,
            "a pending sign-up was never counted"
        );
        assert_eq!(
            (s.status(), s.pending()),
            (SubscriberStatus::Unsubscribed, None)
        );
        assert!(s.choices.is_empty());

        let mut s = pending();
        s.activate(at(9));
        assert_eq!(s.unsubscribe(at(10)), Some(Counter::Departures));
        assert_eq!(s.unsubscribe(at(11)), None);
        assert_eq!(s.erasure(), None);
    }

    #[test]
    fn new_choices_bring_back_who_left_and_no_choices_is_leaving() {
        let mut s = pending();
        s.activate(at(9));
        assert_eq!(
            s.set_choices(BTreeSet::new(), at(10)),
            Some(Counter::Departures)
        );
        assert_eq!(s.status(), SubscriberStatus::Unsubscribed);
        let back: BTreeSet<Choice> = [choice("infos-pratiques")].into();
        assert_eq!(s.set_choices(back.clone(), at(11)), Some(Counter::SignUps));
        assert_eq!((s.status(), &s.choices), (SubscriberStatus::Active, &back));
        assert_eq!(s.erasure(), Some(Counter::Departures));

        let mut p = pending();
        assert_eq!(
            p.set_choices(back, at(12)),
            None,
            "a sign-up stays to be confirmed"
        );
        assert_eq!(p.status(), SubscriberStatus::Pending);
    }

    #[test]
    fn wrong_codes_are_counted_only_while_a_code_is_awaited() {
        let mut s = pending();
        assert_eq!(s.count_wrong_code(at(9)), 0, "an email link awaits no code");
        assert_eq!(s.updated_at, at(8));
        s.state = SubscriberState::Pending(PendingConfirmation {
            expires_at: at(23),
            method: ConfirmationMethod::SmsCode {
                code_digest: "d".into(),
                attempts: 0,
            },
        });
        assert_eq!(s.count_wrong_code(at(9)), 1);
        assert_eq!(s.count_wrong_code(at(10)), 2);
        assert_eq!(s.updated_at, at(10));
        s.activate(at(11));
        assert_eq!(s.count_wrong_code(at(12)), 0);
    }

    #[test]
    fn the_stored_shape_keeps_status_and_pending() {
        let s = pending();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["status"], "pending");
        assert_eq!(json["pending"]["method"], "email_link");
        assert_eq!(
            serde_json::from_value::<Subscriber>(json.clone()).unwrap(),
            s
        );

        let mut broken = json;
        broken["pending"] = serde_json::Value::Null;
        let err = serde_json::from_value::<Subscriber>(broken).unwrap_err();
        assert!(
            err.to_string().contains("pending without confirmation"),
            "{err}"
        );
    }
}
