//! Subscribers, their choices, their consent and their confirmation state.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::contact::{Channel, Email, PhoneNumber};
use crate::domain::counter::Counter;
use crate::domain::topic::TopicSlug;
use crate::domain::zone::ZoneSlug;
use crate::error::{InvalidId, UnknownName};

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
        /// Where it was handed in (town hall, a maison de quartier…), when said.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        place: Option<String>,
        /// Whether it came in a file of such forms (an import) rather than typed one by one.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        imported: bool,
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

/// A web sign-up's request, awaiting proof of each contact it names: the email by the link
/// sent to it, the mobile by the code sent to it. The contacts stay here, off the record, until
/// proven: a request owns no address, so it can neither take nor change anyone's, and nothing
/// but its proof is sent to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingConfirmation {
    /// After this instant the sign-up is void and purged.
    pub expires_at: DateTime<Utc>,
    /// The email address to prove by its link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// True once the link sent to `email` was followed.
    #[serde(default)]
    pub email_proven: bool,
    /// The mobile number to prove by a code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<PhoneNumber>,
    /// Keyed digest of the last code sent to `phone`; none before one is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_digest: Option<String>,
}

/// The proof a pending request waits for next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextProof {
    /// The link sent to the email address.
    EmailLink,
    /// A code sent by SMS to the mobile number.
    SmsCode,
    /// Every contact named is proven (or was dropped).
    Nothing,
}

impl PendingConfirmation {
    /// What the request waits for: the email link first, then the SMS code.
    pub fn next_proof(&self) -> NextProof {
        if self.email.is_some() && !self.email_proven {
            NextProof::EmailLink
        } else if self.phone.is_some() {
            NextProof::SmsCode
        } else {
            NextProof::Nothing
        }
    }
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
    /// The zones of the town that matter to them (home, work, a relative's); may be none.
    pub zones: BTreeSet<ZoneSlug>,
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
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    zones: BTreeSet<ZoneSlug>,
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
            zones: s.zones,
            status,
            language: s.language,
            consent: s.consent,
            pending,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// A stored subscriber pending confirmation without the confirmation it waits for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("subscriber {0}: pending without confirmation")]
pub struct PendingWithoutConfirmation(pub SubscriberId);

impl TryFrom<SubscriberRecord> for Subscriber {
    type Error = PendingWithoutConfirmation;

    fn try_from(r: SubscriberRecord) -> Result<Self, PendingWithoutConfirmation> {
        let state = match (r.status, r.pending) {
            (SubscriberStatus::Pending, Some(p)) => SubscriberState::Pending(p),
            (SubscriberStatus::Pending, None) => return Err(PendingWithoutConfirmation(r.id)),
            (SubscriberStatus::Active, _) => SubscriberState::Active,
            (SubscriberStatus::Unsubscribed, _) => SubscriberState::Unsubscribed,
        };
        Ok(Self {
            id: r.id,
            email: r.email,
            phone: r.phone,
            choices: r.choices,
            zones: r.zones,
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

    /// A web sign-up's request: no contact on the record (they wait in the pending state to be
    /// proven), the choices asked for, the consent given with them.
    pub fn request(
        contacts: (Option<Email>, Option<PhoneNumber>),
        choices: BTreeSet<Choice>,
        consent: Consent,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id: SubscriberId::new(),
            email: None,
            phone: None,
            choices,
            zones: BTreeSet::new(),
            state: SubscriberState::Pending(PendingConfirmation {
                expires_at,
                email: contacts.0,
                email_proven: false,
                phone: contacts.1,
                code_digest: None,
            }),
            language: "fr".into(),
            consent,
            created_at: now,
            updated_at: now,
        }
    }

    fn pending_mut(&mut self) -> Option<&mut PendingConfirmation> {
        match &mut self.state {
            SubscriberState::Pending(p) => Some(p),
            _ => None,
        }
    }

    /// The link sent to the request's email was followed.
    pub fn prove_email(&mut self, now: DateTime<Utc>) {
        if let Some(p) = self.pending_mut().filter(|p| p.email.is_some()) {
            p.email_proven = true;
            self.updated_at = now;
        }
    }

    /// A code was sent to the request's mobile: only the newest one is accepted.
    pub fn code_sent(&mut self, code_digest: String, now: DateTime<Utc>) {
        if let Some(p) = self.pending_mut() {
            p.code_digest = Some(code_digest);
            self.updated_at = now;
        }
    }

    /// The mobile is left out of the request (its owner could not or would not prove it): so
    /// are its SMS choices. Returns false when no choice is left.
    pub fn drop_phone(&mut self, now: DateTime<Utc>) -> bool {
        if let Some(p) = self.pending_mut() {
            p.phone = None;
            p.code_digest = None;
        }
        self.choices
            .retain(|c| !matches!(c.channel, Channel::Sms | Channel::Voice));
        self.updated_at = now;
        !self.choices.is_empty()
    }

    /// The request, every contact in it proven, becomes an active subscriber owning them; its
    /// choices are those its contacts can receive. Returns the sign-up to count.
    pub fn activate_request(
        &mut self,
        email: Option<Email>,
        phone: Option<PhoneNumber>,
        now: DateTime<Utc>,
    ) -> Option<Counter> {
        self.email = email;
        self.phone = phone;
        let (has_email, has_phone) = (self.email.is_some(), self.phone.is_some());
        self.choices.retain(|c| match c.channel {
            Channel::Email => has_email,
            Channel::Sms | Channel::Voice => has_phone,
        });
        self.activate(now)
    }

    /// A proven request for contacts this subscriber already owns: its choices on `channels`
    /// are added (a subscriber who had left starts again with them), and the contacts given
    /// are added where the record has none. The request's consent becomes the record's.
    /// Returns the sign-up to count when they were not active.
    pub fn absorb(
        &mut self,
        request: &Subscriber,
        channels: &BTreeSet<Channel>,
        contacts: (Option<Email>, Option<PhoneNumber>),
        now: DateTime<Utc>,
    ) -> Option<Counter> {
        if self.email.is_none() {
            self.email = contacts.0;
        }
        if self.phone.is_none() {
            self.phone = contacts.1;
        }
        self.zones.extend(request.zones.iter().cloned());
        let wanted = request
            .choices
            .iter()
            .filter(|c| channels.contains(&c.channel) && self.can_receive(c.channel))
            .cloned();
        let mut choices = match self.state {
            SubscriberState::Active => self.choices.clone(),
            _ => BTreeSet::new(),
        };
        choices.extend(wanted);
        self.consent = request.consent.clone();
        if choices.is_empty() {
            self.updated_at = now;
            return None;
        }
        self.choices = choices;
        self.activate(now)
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

    /// The departure an erasure counts: only someone active was counted in.
    pub fn erasure(&self) -> Option<Counter> {
        (self.state == SubscriberState::Active).then_some(Counter::Departures)
    }

    /// True when the subscriber has a contact for the channel.
    pub fn can_receive(&self, channel: Channel) -> bool {
        match channel {
            Channel::Email => self.email.is_some(),
            Channel::Sms | Channel::Voice => self.phone.is_some(),
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

    fn consent() -> Consent {
        Consent {
            source: ConsentSource::Web {
                ip: "192.0.2.1".into(),
                user_agent: "test".into(),
            },
            at: at(8),
            wording_version: CONSENT_WORDING_VERSION.into(),
        }
    }

    fn email() -> Email {
        Email::from_str("marie@exemple.fr").unwrap()
    }

    fn phone() -> PhoneNumber {
        PhoneNumber::from_str("06 12 34 56 78").unwrap()
    }

    fn sms(topic: &str) -> Choice {
        Choice {
            channel: Channel::Sms,
            ..choice(topic)
        }
    }

    /// A request for an email address (proven or not, as the test needs).
    fn pending() -> Subscriber {
        Subscriber::request(
            (Some(email()), None),
            [choice("alerte-meteo")].into(),
            consent(),
            at(8),
            at(23),
        )
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
    fn a_request_owns_no_contact_until_each_is_proven() {
        let mut r = Subscriber::request(
            (Some(email()), Some(phone())),
            [choice("alerte-meteo"), sms("alerte-meteo")].into(),
            consent(),
            at(8),
            at(23),
        );
        assert_eq!((r.email.as_ref(), r.phone.as_ref()), (None, None));
        assert_eq!(r.pending().unwrap().next_proof(), NextProof::EmailLink);
        r.prove_email(at(9));
        assert_eq!(r.pending().unwrap().next_proof(), NextProof::SmsCode);
        r.code_sent("digest".into(), at(9));
        assert_eq!(r.pending().unwrap().code_digest.as_deref(), Some("digest"));
        // The mobile is never proven: it and its SMS choices go, the email stays.
        assert!(r.drop_phone(at(10)));
        assert_eq!(r.pending().unwrap().next_proof(), NextProof::Nothing);
        assert_eq!(r.choices, [choice("alerte-meteo")].into());
        assert_eq!(
            r.activate_request(Some(email()), None, at(10)),
            Some(Counter::SignUps)
        );
        assert_eq!(
            (r.email.clone(), r.phone.clone(), r.status()),
            (Some(email()), None, SubscriberStatus::Active)
        );

        let mut sms_only = Subscriber::request(
            (Some(email()), Some(phone())),
            [sms("alerte-meteo")].into(),
            consent(),
            at(8),
            at(23),
        );
        assert!(!sms_only.drop_phone(at(9)), "nothing left to receive");
    }

    #[test]
    fn a_proven_request_adds_its_choices_to_the_owner_of_its_contacts() {
        let mut owner = pending();
        owner.activate_request(Some(email()), None, at(9));
        let request = Subscriber::request(
            (Some(email()), Some(phone())),
            [choice("infos-pratiques"), sms("infos-pratiques")].into(),
            consent(),
            at(10),
            at(23),
        );
        let both = BTreeSet::from([Channel::Email, Channel::Sms]);
        assert_eq!(
            owner.absorb(&request, &both, (None, Some(phone())), at(11)),
            None
        );
        assert_eq!(
            owner.phone,
            Some(phone()),
            "the proven mobile joins the record"
        );
        assert_eq!(
            owner.choices,
            [
                choice("alerte-meteo"),
                choice("infos-pratiques"),
                sms("infos-pratiques")
            ]
            .into()
        );

        // Someone who left starts again with the request's choices alone.
        owner.unsubscribe(at(12));
        let email_only = BTreeSet::from([Channel::Email]);
        assert_eq!(
            owner.absorb(&request, &email_only, (None, None), at(13)),
            Some(Counter::SignUps)
        );
        assert_eq!(owner.choices, [choice("infos-pratiques")].into());
    }

    #[test]
    fn the_stored_shape_keeps_status_and_pending() {
        let s = pending();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["status"], "pending");
        assert_eq!(json["pending"]["email"], "marie@exemple.fr");
        assert_eq!(json["email"], serde_json::Value::Null);
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
