//! Knowing who was reached, and who is safe: what providers report about each message
//! (delivered, bounced, answered…), the answers residents give to an urgent campaign
//! (« Je suis en sécurité » / « J'ai besoin d'aide »), and the crisis view built from both.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::campaign::CampaignId;
use crate::domain::contact::Channel;
use crate::domain::delivery::{Delivery, DeliveryKey, DeliveryStatus};
use crate::domain::subscriber::{Subscriber, SubscriberId};
use crate::domain::zone::Zone;
use crate::error::UnknownName;

/// How long a reply link works after the message was sent.
pub const REPLY_LINK_DAYS: i64 = 7;

/// The path of the reply page (kept short: the link goes in SMS).
pub const REPLY_PATH: &str = "/s";

/// The reply link of one recipient: `<public_url>/s?t=<token>`.
pub fn reply_url(public_url: &str, token: &str) -> String {
    format!("{public_url}{REPLY_PATH}?t={token}")
}

/// A reply link as long as any real one (for the SMS length estimate before sending).
pub fn sample_reply_url(public_url: &str) -> String {
    reply_url(public_url, &"x".repeat(59))
}

/// An SMS asking for an answer: its text, then the recipient's link (GSM-7 only, so the
/// link never turns the message into UCS-2).
pub fn sms_with_reply(text: &str, url: &str) -> String {
    format!("{text}\nEn sécurité ? {url}")
}

/// What a call asking for an answer says at its end: the local voice path cannot read key
/// presses, so it points to the link of the SMS.
pub const SPOKEN_REPLY: &str = "Pour nous dire si vous êtes en sécurité ou si vous avez besoin d'aide, ouvrez le lien du SMS de la Ville.";

/// A resident's answer to an urgent campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// « Je suis en sécurité ».
    Safe,
    /// « J'ai besoin d'aide ».
    NeedsHelp,
}

impl Answer {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Safe => "safe",
            Answer::NeedsHelp => "needs_help",
        }
    }

    /// What staff and the resident read.
    pub fn label(self) -> &'static str {
        match self {
            Answer::Safe => "en sécurité",
            Answer::NeedsHelp => "besoin d'aide",
        }
    }
}

impl FromStr for Answer {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, UnknownName> {
        [Answer::Safe, Answer::NeedsHelp]
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownName::new("réponse", s))
    }
}

/// One resident's answer to one campaign (the last one given counts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    pub campaign: CampaignId,
    pub subscriber: SubscriberId,
    pub answer: Answer,
    pub at: DateTime<Utc>,
}

/// What a provider reported about one message once it left: filled by the adapters that learn
/// it (SES bounces on AWS; SMS receipts and a voice service's call events where they can be
/// tied to the message). Without a report, a message the provider took counts as reached:
/// locally the outbox's hand-over and the relay's acceptance are all there is to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReachOutcome {
    /// Email or SMS delivered to the mailbox or phone.
    Delivered,
    /// Email bounced.
    Bounced,
    /// SMS the operator could not deliver.
    Failed,
    /// Call answered by a person.
    Answered,
    /// Call answered by a voicemail (reached, never acknowledged by it).
    Voicemail,
    /// Call not answered.
    NoAnswer,
    /// Line busy.
    Busy,
}

impl ReachOutcome {
    /// Every outcome.
    pub const ALL: [ReachOutcome; 7] = [
        Self::Delivered,
        Self::Bounced,
        Self::Failed,
        Self::Answered,
        Self::Voicemail,
        Self::NoAnswer,
        Self::Busy,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Bounced => "bounced",
            Self::Failed => "failed",
            Self::Answered => "answered",
            Self::Voicemail => "voicemail",
            Self::NoAnswer => "no_answer",
            Self::Busy => "busy",
        }
    }

    /// Whether the person got the message.
    pub fn reached(self) -> bool {
        matches!(self, Self::Delivered | Self::Answered | Self::Voicemail)
    }

    /// What staff read.
    pub fn label(self) -> &'static str {
        match self {
            Self::Delivered => "remis",
            Self::Bounced => "rejeté (adresse invalide)",
            Self::Failed => "non distribué",
            Self::Answered => "décroché",
            Self::Voicemail => "messagerie vocale",
            Self::NoAnswer => "pas de réponse",
            Self::Busy => "occupé",
        }
    }
}

impl FromStr for ReachOutcome {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| UnknownName::new("résultat d'envoi", s))
    }
}

/// A provider's report on one delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachReport {
    pub key: DeliveryKey,
    pub outcome: ReachOutcome,
    pub at: DateTime<Utc>,
}

/// Where one message stands, as the crisis view counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageReach {
    /// Still queued or being sent.
    Pending,
    /// The person got it (or the provider took it, when nothing more is known).
    Reached,
    /// Refused, bounced, unanswered, or not sent (suppressed, expired).
    NotReached,
}

/// One message of the campaign to a person: its channel, state and what staff read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageLine {
    pub channel: Channel,
    pub reach: MessageReach,
    /// « remis », « pas de réponse », « en attente »…
    pub label: String,
}

/// Where a message stands: the provider's report first, else the delivery's status.
pub fn message_reach(delivery: &Delivery, report: Option<ReachOutcome>) -> MessageLine {
    let (reach, label) = match (report, delivery.status) {
        (Some(o), _) if o.reached() => (MessageReach::Reached, o.label()),
        (Some(o), _) => (MessageReach::NotReached, o.label()),
        (None, DeliveryStatus::Sent) => (MessageReach::Reached, "remis au prestataire"),
        (None, DeliveryStatus::Queued | DeliveryStatus::Sending) => {
            (MessageReach::Pending, "en attente")
        }
        (None, DeliveryStatus::Failed | DeliveryStatus::Unknown) => {
            (MessageReach::NotReached, "échec de l'envoi")
        }
        (None, DeliveryStatus::Suppressed) => (MessageReach::NotReached, "non envoyé"),
        (None, DeliveryStatus::Expired) => (MessageReach::NotReached, "expiré"),
    };
    MessageLine {
        channel: delivery.key.channel,
        reach,
        label: label.to_owned(),
    }
}

/// Where a person stands in a crisis: answered, reached, not reached yet, or still pending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonState {
    /// « J'ai besoin d'aide »: first on the list.
    NeedsHelp,
    /// No message reached them (all failed or refused).
    NotReached,
    /// Messages still on their way, none arrived yet.
    Pending,
    /// Reached, no answer yet.
    Reached,
    /// « Je suis en sécurité ».
    Safe,
}

impl PersonState {
    /// What staff read.
    pub fn label(self) -> &'static str {
        match self {
            Self::NeedsHelp => "besoin d'aide",
            Self::NotReached => "non joint",
            Self::Pending => "envoi en cours",
            Self::Reached => "joint, sans réponse",
            Self::Safe => "en sécurité",
        }
    }
}

/// Counts of people by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CrisisCounts {
    /// People the campaign wrote to.
    pub people: u64,
    /// Reached on at least one channel (whether they answered or not).
    pub reached: u64,
    /// Reached on no channel, nothing pending.
    pub not_reached: u64,
    /// Nothing arrived yet, something pending.
    pub pending: u64,
    /// « Je suis en sécurité ».
    pub safe: u64,
    /// « J'ai besoin d'aide ».
    pub needs_help: u64,
}

impl CrisisCounts {
    pub(crate) fn add(&mut self, state: PersonState, reached: bool) {
        self.people += 1;
        match state {
            PersonState::NeedsHelp => self.needs_help += 1,
            PersonState::Safe => self.safe += 1,
            PersonState::NotReached => self.not_reached += 1,
            PersonState::Pending => self.pending += 1,
            PersonState::Reached => {}
        }
        // Whoever answered was reached, whatever the provider said.
        if reached || matches!(state, PersonState::NeedsHelp | PersonState::Safe) {
            self.reached += 1;
        }
    }
}

/// The counts of one zone (or of the people who named none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneCounts {
    /// The zone's slug; none for the people who named no zone.
    pub zone: Option<String>,
    /// Its name, or « Sans zone ».
    pub name: String,
    #[serde(flatten)]
    pub counts: CrisisCounts,
}

/// One person of the campaign, with what staff need to call back or visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrisisPerson {
    pub subscriber: SubscriberId,
    pub state: PersonState,
    /// The state in French.
    pub state_label: String,
    /// When they answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// As dialled in France (`06 12 34 56 78`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Names of the zones they named.
    pub zones: Vec<String>,
    /// Each message sent to them.
    pub messages: Vec<MessageLine>,
}

/// The crisis view of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrisisView {
    pub campaign: CampaignId,
    pub title: String,
    /// Whether the campaign asked for an answer.
    pub acknowledgement: bool,
    pub totals: CrisisCounts,
    /// One line per zone of the town (in the zones' order), then « Sans zone ».
    pub by_zone: Vec<ZoneCounts>,
    /// Whom to call back or visit: « besoin d'aide » first, then those not reached, then
    /// those whose messages are still on their way.
    pub callbacks: Vec<CrisisPerson>,
    /// When the view was read.
    pub at: DateTime<Utc>,
}

/// What the crisis view is built from.
pub struct CrisisInput<'a> {
    pub campaign: CampaignId,
    pub title: &'a str,
    pub acknowledgement: bool,
    pub deliveries: &'a [Delivery],
    pub reports: &'a [ReachReport],
    pub acknowledgements: &'a [Acknowledgement],
    /// The people the deliveries name (an erased one is absent, and left out).
    pub people: &'a [Subscriber],
    pub zones: &'a [Zone],
    pub now: DateTime<Utc>,
}

/// Builds the crisis view: each person's state from their messages and answer, counted in
/// total and by zone, and the list of people to call back.
pub fn crisis_view(input: CrisisInput<'_>) -> CrisisView {
    let answers: HashMap<SubscriberId, &Acknowledgement> = input
        .acknowledgements
        .iter()
        .map(|a| (a.subscriber, a))
        .collect();
    let messages = messages_by_person(input.deliveries, input.reports);
    let people: HashMap<SubscriberId, &Subscriber> =
        input.people.iter().map(|p| (p.id, p)).collect();
    let zone_names: HashMap<&str, &str> = input
        .zones
        .iter()
        .map(|z| (z.slug.as_str(), z.name.as_str()))
        .collect();
    let mut totals = CrisisCounts::default();
    let mut by_zone: BTreeMap<Option<String>, CrisisCounts> = BTreeMap::new();
    let mut callbacks = Vec::new();
    for (id, lines) in messages {
        let Some(person) = people.get(&id) else {
            continue;
        };
        let reached = lines.iter().any(|l| l.reach == MessageReach::Reached);
        let answer = answers.get(&id);
        let state = person_state(answer.map(|a| a.answer), &lines);
        totals.add(state, reached);
        count_by_zone(&mut by_zone, person, state, reached);
        if matches!(
            state,
            PersonState::NeedsHelp | PersonState::NotReached | PersonState::Pending
        ) {
            callbacks.push(CrisisPerson {
                subscriber: id,
                state,
                state_label: state.label().to_owned(),
                answered_at: answer.map(|a| a.at),
                email: person.email.as_ref().map(|e| e.as_str().to_owned()),
                phone: person.phone.as_ref().map(|p| p.national()),
                zones: zone_labels(person, &zone_names),
                messages: lines,
            });
        }
    }
    callbacks.sort_by(|a, b| {
        a.state
            .cmp(&b.state)
            .then(a.answered_at.cmp(&b.answered_at))
    });
    CrisisView {
        campaign: input.campaign,
        title: input.title.to_owned(),
        acknowledgement: input.acknowledgement,
        totals,
        by_zone: zone_counts(input.zones, by_zone),
        callbacks,
        at: input.now,
    }
}

/// Each person's messages and how each fared, by person.
pub(crate) fn messages_by_person(
    deliveries: &[Delivery],
    reports: &[ReachReport],
) -> BTreeMap<SubscriberId, Vec<MessageLine>> {
    let reports: HashMap<DeliveryKey, ReachOutcome> =
        reports.iter().map(|r| (r.key, r.outcome)).collect();
    let mut messages: BTreeMap<SubscriberId, Vec<MessageLine>> = BTreeMap::new();
    for d in deliveries {
        messages
            .entry(d.key.subscriber)
            .or_default()
            .push(message_reach(d, reports.get(&d.key).copied()));
    }
    messages
}

/// Counts a person in each zone they named (under no zone when they named none).
fn count_by_zone(
    by_zone: &mut BTreeMap<Option<String>, CrisisCounts>,
    person: &Subscriber,
    state: PersonState,
    reached: bool,
) {
    if person.zones.is_empty() {
        by_zone.entry(None).or_default().add(state, reached);
    }
    for z in &person.zones {
        by_zone
            .entry(Some(z.as_str().to_owned()))
            .or_default()
            .add(state, reached);
    }
}

/// A person's state from their answer, else from how their messages fared.
pub(crate) fn person_state(answer: Option<Answer>, lines: &[MessageLine]) -> PersonState {
    let reached = lines.iter().any(|l| l.reach == MessageReach::Reached);
    let pending = lines.iter().any(|l| l.reach == MessageReach::Pending);
    match (answer, reached, pending) {
        (Some(Answer::NeedsHelp), ..) => PersonState::NeedsHelp,
        (Some(Answer::Safe), ..) => PersonState::Safe,
        (None, true, _) => PersonState::Reached,
        (None, false, true) => PersonState::Pending,
        (None, false, false) => PersonState::NotReached,
    }
}

/// The names of the zones a person named (a zone deleted since by its slug).
fn zone_labels(person: &Subscriber, zone_names: &HashMap<&str, &str>) -> Vec<String> {
    person
        .zones
        .iter()
        .map(|z| {
            zone_names
                .get(z.as_str())
                .map_or_else(|| z.as_str().to_owned(), |n| (*n).to_owned())
        })
        .collect()
}

/// The counts by zone: the town's zones in their order, then zones deleted since the
/// residents named them, then those who named none.
fn zone_counts(
    town_zones: &[Zone],
    mut by_zone: BTreeMap<Option<String>, CrisisCounts>,
) -> Vec<ZoneCounts> {
    let mut zones: Vec<ZoneCounts> = town_zones
        .iter()
        .map(|z| ZoneCounts {
            zone: Some(z.slug.as_str().to_owned()),
            name: z.name.clone(),
            counts: by_zone
                .remove(&Some(z.slug.as_str().to_owned()))
                .unwrap_or_default(),
        })
        .collect();
    for (slug, counts) in by_zone {
        let name = slug.clone().unwrap_or_else(|| "Sans zone".to_owned());
        zones.push(ZoneCounts {
            zone: slug,
            name,
            counts,
        });
    }
    zones
}

/// The list of people to call back as CSV (`;`-separated, as French spreadsheets open it,
/// with a BOM so accents survive): state, answer time, phone, email, zones, messages.
pub fn callbacks_csv(view: &CrisisView) -> Vec<u8> {
    let mut out = String::from("\u{feff}état;réponse à;téléphone;e-mail;zones;messages\r\n");
    for p in &view.callbacks {
        let messages: Vec<String> = p
            .messages
            .iter()
            .map(|m| format!("{} : {}", m.channel.label(), m.label))
            .collect();
        let fields = [
            p.state_label.clone(),
            p.answered_at
                .map(|a| a.format("%d/%m/%Y %H:%M UTC").to_string())
                .unwrap_or_default(),
            p.phone.clone().unwrap_or_default(),
            p.email.clone().unwrap_or_default(),
            p.zones.join(", "),
            messages.join(", "),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(";"));
        out.push_str("\r\n");
    }
    out.into_bytes()
}

/// One CSV field, quoted when needed; a leading `=`, `+`, `-` or `@` is defused so a
/// spreadsheet never reads it as a formula.
fn csv_field(raw: &str) -> String {
    let defused = if raw.starts_with(['=', '+', '-', '@']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    if defused.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", defused.replace('"', "\"\""))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::contact::{Email, PhoneNumber};
    use crate::domain::subscriber::{Consent, ConsentSource};
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 18, 0, 0).unwrap()
    }

    fn delivery(
        campaign: CampaignId,
        who: SubscriberId,
        channel: Channel,
        status: DeliveryStatus,
    ) -> Delivery {
        Delivery {
            key: DeliveryKey {
                campaign,
                subscriber: who,
                channel,
            },
            status,
            attempts: 1,
            provider_id: None,
            error: None,
            segments: 0,
            updated_at: now(),
            claim: None,
        }
    }

    fn person(zones: &[&str]) -> Subscriber {
        let consent = Consent {
            source: ConsentSource::Web {
                ip: "192.0.2.1".into(),
                user_agent: "test".into(),
            },
            at: now(),
            wording_version: "1".into(),
        };
        let mut s = Subscriber::request((None, None), Default::default(), consent, now(), now());
        s.email = Some(Email::from_str("a@example.org").unwrap());
        s.phone = Some(PhoneNumber::from_str("+33612345678").unwrap());
        s.zones = zones.iter().map(|z| z.parse().unwrap()).collect();
        s
    }

    #[test]
    fn people_are_counted_by_state_and_zone_and_the_list_starts_with_those_needing_help() {
        let c = CampaignId::new();
        let (safe, help, lost, reached, bounced) = (
            person(&["front-de-mer"]),
            person(&["front-de-mer"]),
            person(&[]),
            person(&["aiguillon"]),
            person(&[]),
        );
        let deliveries = vec![
            delivery(c, safe.id, Channel::Sms, DeliveryStatus::Sent),
            delivery(c, help.id, Channel::Sms, DeliveryStatus::Sent),
            delivery(c, lost.id, Channel::Email, DeliveryStatus::Failed),
            delivery(c, reached.id, Channel::Voice, DeliveryStatus::Sent),
            delivery(c, bounced.id, Channel::Email, DeliveryStatus::Sent),
        ];
        let reports = vec![ReachReport {
            key: deliveries[4].key,
            outcome: ReachOutcome::Bounced,
            at: now(),
        }];
        let acks = vec![
            Acknowledgement {
                campaign: c,
                subscriber: safe.id,
                answer: Answer::Safe,
                at: now(),
            },
            Acknowledgement {
                campaign: c,
                subscriber: help.id,
                answer: Answer::NeedsHelp,
                at: now(),
            },
        ];
        let zones = vec![Zone {
            slug: "front-de-mer".parse().unwrap(),
            name: "Front de mer".into(),
            description: String::new(),
            streets: vec![],
        }];
        let people = [safe, help.clone(), lost, reached, bounced];
        let view = crisis_view(CrisisInput {
            campaign: c,
            title: "Submersion",
            acknowledgement: true,
            deliveries: &deliveries,
            reports: &reports,
            acknowledgements: &acks,
            people: &people,
            zones: &zones,
            now: now(),
        });
        assert_eq!(
            view.totals,
            CrisisCounts {
                people: 5,
                reached: 3,
                not_reached: 2,
                pending: 0,
                safe: 1,
                needs_help: 1
            }
        );
        let sea = &view.by_zone[0];
        assert_eq!(
            (sea.name.as_str(), sea.counts.safe, sea.counts.needs_help),
            ("Front de mer", 1, 1)
        );
        let none = view.by_zone.iter().find(|z| z.zone.is_none()).unwrap();
        assert_eq!((none.counts.people, none.counts.not_reached), (2, 2));
        let states: Vec<PersonState> = view.callbacks.iter().map(|p| p.state).collect();
        assert_eq!(
            states,
            [
                PersonState::NeedsHelp,
                PersonState::NotReached,
                PersonState::NotReached
            ]
        );
        assert_eq!(view.callbacks[0].subscriber, help.id);
        assert_eq!(view.callbacks[0].phone.as_deref(), Some("06 12 34 56 78"));
        let csv = String::from_utf8(callbacks_csv(&view)).unwrap();
        assert_eq!(csv.lines().count(), 4, "{csv}");
        assert!(
            csv.lines().nth(1).unwrap().starts_with("besoin d'aide;"),
            "{csv}"
        );
        assert!(csv.contains("rejeté (adresse invalide)"), "{csv}");
    }

    #[test]
    fn a_voicemail_reaches_and_an_unanswered_call_does_not() {
        let c = CampaignId::new();
        let d = delivery(c, SubscriberId::new(), Channel::Voice, DeliveryStatus::Sent);
        assert_eq!(
            message_reach(&d, Some(ReachOutcome::Voicemail)).reach,
            MessageReach::Reached
        );
        assert_eq!(
            message_reach(&d, Some(ReachOutcome::NoAnswer)).reach,
            MessageReach::NotReached
        );
        assert_eq!(message_reach(&d, None).reach, MessageReach::Reached);
        let q = delivery(c, SubscriberId::new(), Channel::Sms, DeliveryStatus::Queued);
        assert_eq!(message_reach(&q, None).reach, MessageReach::Pending);
        for o in ReachOutcome::ALL {
            assert_eq!(o.as_str().parse::<ReachOutcome>().unwrap(), o);
        }
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("a;b"), "\"a;b\"");
    }
}
