//! Campaigns: what staff write, the approval workflow, and its audit trail.
//!
//! `draft → submitted → approved|scheduled → sending → sent`, `submitted → rejected → draft` (by
//! editing), `approved|scheduled → cancelled`. Editing a submitted campaign returns it to draft.
//! The approver holds `cabinet` and is not the author.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::contact::Channel;
use crate::domain::sms::analyze;
use crate::domain::staff::StaffIdentity;
use crate::domain::topic::{Topic, TopicSlug};
use crate::domain::weather::AlertSource;
use crate::domain::zone::{self, ZoneFilter, ZoneSlug};
use crate::error::{DomainError, FieldErrors, InvalidId, UnknownName};

mod cell_alert;
mod messages;
mod stage;

pub use messages::{Messages, NoMessage};
pub use stage::Stage;

/// Longest SMS a campaign may carry, in segments (cost guard).
pub const MAX_SMS_SEGMENTS: usize = 6;
/// Longest email body, in characters of Markdown.
pub const MAX_EMAIL_BODY: usize = 100_000;

/// Opaque campaign identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CampaignId(pub Uuid);

impl CampaignId {
    /// A fresh id.
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl FromStr for CampaignId {
    type Err = InvalidId;

    fn from_str(s: &str) -> Result<Self, InvalidId> {
        Uuid::parse_str(s)
            .map(Self)
            .map_err(|_| InvalidId(s.to_owned()))
    }
}

impl Default for CampaignId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for CampaignId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a campaign is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    /// Being written.
    Draft,
    /// Waiting for the cabinet.
    Submitted,
    /// Refused by the cabinet, with a reason; editing returns it to draft.
    Rejected,
    /// Approved, about to be sent.
    Approved,
    /// Approved, to be sent at `send_at`.
    Scheduled,
    /// Being fanned out and sent.
    Sending,
    /// Every message was handled.
    Sent,
    /// Stopped before sending.
    Cancelled,
}

impl FromStr for CampaignStatus {
    type Err = UnknownName;

    /// Parses the wire name.
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName::new("statut de campagne", s))
    }
}

impl CampaignStatus {
    /// Every status.
    pub const ALL: [CampaignStatus; 8] = [
        Self::Draft,
        Self::Submitted,
        Self::Rejected,
        Self::Approved,
        Self::Scheduled,
        Self::Sending,
        Self::Sent,
        Self::Cancelled,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Rejected => "rejected",
            Self::Approved => "approved",
            Self::Scheduled => "scheduled",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Cancelled => "cancelled",
        }
    }

    /// The French label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Draft => "brouillon",
            Self::Submitted => "soumise au cabinet",
            Self::Rejected => "refusée",
            Self::Approved => "approuvée",
            Self::Scheduled => "programmée",
            Self::Sending => "en cours d'envoi",
            Self::Sent => "envoyée",
            Self::Cancelled => "annulée",
        }
    }
}

/// Ordinary campaign or relayed weather alert (counted apart in statistics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CampaignKind {
    /// Written by staff.
    #[default]
    Standard,
    /// Created from a Météo-France vigilance.
    WeatherAlert,
    /// Announces the end of a relayed vigilance (not counted as an alert).
    WeatherAlertEnd,
    /// An alert of the crisis cell: sent to its members (staff), not to residents; never
    /// counted as a campaign, never published.
    CellAlert,
}

/// A person (or the system) in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Staff id, or `system`.
    pub id: String,
    /// Display name.
    pub name: String,
}

impl Actor {
    /// Télmail itself (scheduler, fan-out, completion).
    pub fn system() -> Self {
        Self {
            id: "system".into(),
            name: "Télmail".into(),
        }
    }
}

impl From<&StaffIdentity> for Actor {
    fn from(s: &StaffIdentity) -> Self {
        Self {
            id: s.id.clone(),
            name: s.name.clone(),
        }
    }
}

/// A campaign's SMS: one text for every recipient (no personalisation, so it is analysed once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSms {
    /// Text as sent.
    pub text: String,
}

/// A campaign's email, rendered once per campaign into the town's layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignEmail {
    /// Subject line.
    pub subject: String,
    /// Body in Markdown (rendered into the town's layout; also the text part).
    pub body_markdown: String,
}

/// A message written by the communication service, sent once the mayor's office approves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: CampaignId,
    /// Internal title (never sent).
    pub title: String,
    /// Target topics.
    pub topics: Vec<TopicSlug>,
    /// Its SMS, email and spoken text (one at least).
    #[serde(flatten)]
    pub messages: Messages,
    /// Urgent: ignores the SMS sending window.
    pub urgent: bool,
    /// An urgent campaign asking each recipient to answer « Je suis en sécurité » / « J'ai
    /// besoin d'aide » through a link of their own in its SMS and email.
    #[serde(default)]
    pub acknowledgement: bool,
    /// Planned send time.
    pub send_at: Option<DateTime<Utc>>,
    /// The zones it is limited to (none: the whole town).
    #[serde(default)]
    pub zones: Option<Vec<ZoneSlug>>,
    /// With zones: whether subscribers who named no zone are reached too.
    #[serde(default)]
    pub include_unzoned: bool,
    /// Standard or weather alert.
    pub kind: CampaignKind,
    /// The vigilance a weather alert relays (or whose end it announces).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<AlertSource>,
    /// Who wrote it.
    pub author: Actor,
    /// Who last edited or submitted it (none: the author); neither may approve it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_editor: Option<Actor>,
    /// Its status, with the cabinet's reason when rejected: changed only by the workflow's
    /// steps (read it with [`Campaign::status`]).
    #[serde(flatten)]
    stage: Stage,
    /// Changes with every edit and every step of the workflow: an approval names the version
    /// read, and every write checks that the stored one is still the one read.
    #[serde(default = "first_version")]
    pub version: u32,
    /// Fan-out shards (set when sending starts).
    pub shards: u32,
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Whether the public archive shows it once sent, and the day it is about.
    #[serde(default, flatten)]
    pub publication: Publication,
}

/// What the public side of the town's website does with a campaign once sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    /// « Publier dans les archives » (on unless the author unticks it; weather alerts are
    /// published whatever it says).
    #[serde(default = "published_by_default")]
    pub publish: bool,
    /// « Le jour où cela compte »: the day of the event it announces, for the town's agenda.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_date: Option<NaiveDate>,
}

fn published_by_default() -> bool {
    true
}

impl Default for Publication {
    fn default() -> Self {
        Self {
            publish: true,
            event_date: None,
        }
    }
}

/// Raw publication settings of a campaign (JSON): `publish` (default true) and `event_date`
/// (`YYYY-MM-DD` or null).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PublicationInput {
    #[serde(default)]
    pub publish: Option<bool>,
    #[serde(default)]
    pub event_date: Option<String>,
}

impl PublicationInput {
    /// The settings, or a French error naming `event_date`.
    pub fn parse(&self, errors: &mut FieldErrors) -> Publication {
        let event_date = match self.event_date.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.add(
                        "event_date",
                        format!("Date de l'événement invalide : « {raw} » (attendu AAAA-MM-JJ)."),
                    );
                    None
                }
            },
        };
        Publication {
            publish: self.publish.unwrap_or(true),
            event_date,
        }
    }
}

/// What an entry of the audit trail records (stored and shown as its snake_case name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignAction {
    /// A draft was written.
    Created,
    /// Its content was replaced.
    Edited,
    /// Sent to the mayor's office.
    Submitted,
    /// Approved (sending starts, or waits for `send_at`).
    Approved,
    /// Refused, with a reason.
    Rejected,
    /// Stopped before sending.
    Cancelled,
    /// Fan-out started.
    Sending,
    /// Every delivery handled.
    Sent,
    /// Sent to the acting staff member only, marked [TEST]; the reason says by which channels
    /// (never the addresses).
    TestSent,
    /// Saved unchanged while submitted or rejected: back to draft, nothing modified.
    Reopened,
}

/// One entry of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// Who.
    pub actor: Actor,
    /// What.
    pub action: CampaignAction,
    /// Status before.
    pub from: Option<CampaignStatus>,
    /// Status after.
    pub to: CampaignStatus,
    /// Reason or detail.
    pub reason: Option<String>,
}

/// Raw campaign input (JSON).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CampaignInput {
    #[serde(default)]
    pub title: Option<String>,
    /// Topic slugs.
    #[serde(default)]
    pub topics: Vec<String>,
    /// `{ "text" }` or null.
    #[serde(default)]
    pub sms: Option<SmsInput>,
    /// `{ "subject", "body_markdown" }` or null.
    #[serde(default)]
    pub email: Option<EmailInput>,
    /// `{ "text" }` or null: the spoken text of voice calls.
    #[serde(default)]
    pub voice: Option<VoiceInput>,
    /// Urgent flag.
    #[serde(default)]
    pub urgent: bool,
    /// Ask recipients whether they are safe (urgent campaigns only).
    #[serde(default)]
    pub acknowledgement: bool,
    /// RFC 3339 or null.
    #[serde(default)]
    pub send_at: Option<String>,
    /// `publish` and `event_date`.
    #[serde(default, flatten)]
    pub publication: PublicationInput,
    /// Zone slugs it is limited to, or null for the whole town.
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    /// With zones: also those who named no zone.
    #[serde(default)]
    pub include_unzoned: bool,
}

/// Raw SMS input.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SmsInput {
    #[serde(default)]
    pub text: Option<String>,
}

/// Raw voice input.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VoiceInput {
    #[serde(default)]
    pub text: Option<String>,
}

/// The text read aloud by a voice call, written for the ear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignVoice {
    /// What staff wrote (no links: nobody can click a call).
    pub text: String,
}

/// The longest spoken text, in characters (about 40 seconds read once).
pub const MAX_VOICE_TEXT: usize = 600;

/// Characters read per second by a text-to-speech voice in French (about 150 words a minute).
const SPOKEN_CHARS_PER_SECOND: usize = 14;

impl CampaignVoice {
    /// What the call says: the town's name first, then the message twice.
    pub fn spoken(&self, town: &str) -> String {
        let text = self.text.trim();
        format!(
            "Message de la Ville {}. {text} Je répète. {text}",
            of_town(town)
        )
    }

    /// What the call says, ending with where to answer when the campaign asks for an answer.
    pub fn spoken_for(&self, town: &str, acknowledgement: bool) -> String {
        let spoken = self.spoken(town);
        if acknowledgement {
            format!("{spoken} {}", crate::domain::reach::SPOKEN_REPLY)
        } else {
            spoken
        }
    }

    /// The spoken length and duration staff see while writing.
    pub fn analysis(&self, town: &str, acknowledgement: bool) -> VoiceAnalysis {
        let characters = self.spoken_for(town, acknowledgement).chars().count();
        VoiceAnalysis {
            characters,
            seconds: characters.div_ceil(SPOKEN_CHARS_PER_SECOND),
        }
    }
}

/// « d'Arcachon », « de Lège » : the town's name after « Ville ».
fn of_town(town: &str) -> String {
    let name = town.trim();
    let name = name
        .strip_prefix("Ville d'")
        .or_else(|| name.strip_prefix("Ville de "))
        .unwrap_or(name);
    let elides = name
        .chars()
        .next()
        .is_some_and(|c| "AEIOUYÉÈÊÀÂÎÔÛaeiouyéèêh".contains(c));
    if elides {
        format!("d'{name}")
    } else {
        format!("de {name}")
    }
}

/// The length of a call's spoken text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VoiceAnalysis {
    /// Characters read, the town's name and the repetition included.
    pub characters: usize,
    /// Estimated duration of the call, in seconds.
    pub seconds: usize,
}

/// Raw email input.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EmailInput {
    #[serde(default)]
    pub subject: Option<String>,
    /// Markdown (headings, lists, links; no raw HTML).
    #[serde(default)]
    pub body_markdown: Option<String>,
}

/// Validated campaign content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignContent {
    pub title: String,
    /// Topics (deduplicated, in given order).
    pub topics: Vec<TopicSlug>,
    /// SMS, email and spoken text (one at least).
    pub messages: Messages,
    pub urgent: bool,
    /// Asks recipients whether they are safe.
    pub acknowledgement: bool,
    /// Send time.
    pub send_at: Option<DateTime<Utc>>,
    /// Archive and agenda settings.
    pub publication: Publication,
    /// Zones (well-formed, at least one; whether they exist is the use case's check).
    pub zones: Option<Vec<ZoneSlug>>,
    /// With zones: also those who named no zone.
    pub include_unzoned: bool,
}

fn required_text(
    value: &Option<String>,
    field: &str,
    max: usize,
    missing: &str,
    errors: &mut FieldErrors,
) -> String {
    let text = value.as_deref().map(str::trim).unwrap_or("");
    if text.is_empty() {
        errors.add(field, missing);
    } else if text.chars().count() > max {
        errors.add(
            field,
            format!("Ce texte est trop long ({max} caractères au plus)."),
        );
    }
    text.to_owned()
}

impl CampaignContent {
    /// Parses campaign input against the topics open today; `send_at` must be in the future.
    pub fn parse(
        input: &CampaignInput,
        open_topics: &[Topic],
        now: DateTime<Utc>,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let title = required_text(
            &input.title,
            "title",
            200,
            "Indiquez un titre.",
            &mut errors,
        );
        let topics = parse_topics(&input.topics, open_topics, &mut errors);
        let sms = input.sms.as_ref().map(|s| parse_sms(s, &mut errors));
        let email = input.email.as_ref().map(|e| parse_email(e, &mut errors));
        let voice = input.voice.as_ref().map(|v| parse_voice(v, &mut errors));
        let messages = Messages::new(sms, email, voice);
        if messages.is_err() {
            let msg = "Rédigez un SMS, un e-mail et/ou le texte d'un appel vocal.";
            errors.add("sms", msg);
            errors.add("email", msg);
        }
        let send_at = parse_send_at(input.send_at.as_deref(), now, &mut errors);
        let publication = input.publication.parse(&mut errors);
        if input.acknowledgement && !input.urgent {
            errors.add(
                "acknowledgement",
                "Seule une campagne urgente peut demander aux habitants s'ils sont en sécurité.",
            );
        }
        let zones = input
            .zones
            .as_ref()
            .map(|raw| zone::parse_slugs(raw, "zones", &mut errors))
            .filter(|z| !z.is_empty())
            .map(|z| z.into_iter().collect::<Vec<_>>());
        match messages {
            Ok(messages) if errors.is_empty() => Ok(Self {
                title,
                topics,
                messages,
                urgent: input.urgent,
                acknowledgement: input.acknowledgement,
                send_at,
                publication,
                include_unzoned: zones.is_some() && input.include_unzoned,
                zones,
            }),
            _ => Err(errors),
        }
    }
}

/// The campaign's topics, each open today, without repeats; at least one.
fn parse_topics(raw: &[String], open_topics: &[Topic], errors: &mut FieldErrors) -> Vec<TopicSlug> {
    let mut topics: Vec<TopicSlug> = Vec::new();
    if raw.is_empty() {
        errors.add("topics", "Choisissez au moins un thème.");
    }
    for raw in raw {
        match TopicSlug::from_str(raw) {
            Ok(slug) if open_topics.iter().any(|t| t.slug == slug) => {
                if !topics.contains(&slug) {
                    topics.push(slug);
                }
            }
            Ok(slug) => errors.add(
                "topics",
                format!("Le thème « {slug} » n'existe pas ou n'est plus ouvert."),
            ),
            Err(m) => errors.add("topics", m),
        }
    }
    topics
}

/// The SMS text, at most [`MAX_SMS_SEGMENTS`] segments.
pub(crate) fn parse_sms(input: &SmsInput, errors: &mut FieldErrors) -> CampaignSms {
    let text = required_text(
        &input.text,
        "sms.text",
        2000,
        "Rédigez le texte du SMS.",
        errors,
    );
    // A line break typed in a form may arrive as CR LF: it is one line feed.
    let text = text.replace("\r\n", "\n");
    if let Some((position, c)) = unshown_character(&text) {
        errors.add(
            "sms.text",
            format!(
                "Le SMS contient un caractère invisible ou de contrôle ({}) en position {position} : retirez-le.",
                character_name(c)
            ),
        );
    }
    let analysis = analyze(&text);
    if analysis.segments > MAX_SMS_SEGMENTS {
        errors.add(
            "sms.text",
            format!(
                "Ce SMS ferait {} segments : {MAX_SMS_SEGMENTS} au plus. Raccourcissez-le.",
                analysis.segments
            ),
        );
    }
    CampaignSms { text }
}

/// The first character of an SMS that a phone would not show as written, with its position
/// (counted from 1): control characters but the line feed, and the marks that reorder or hide
/// text (bidirectional overrides and isolates, zero-width characters).
fn unshown_character(text: &str) -> Option<(usize, char)> {
    text.chars()
        .enumerate()
        .find(|(_, c)| {
            (c.is_control() && *c != '\n')
                || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
        })
        .map(|(i, c)| (i + 1, c))
}

/// How staff are told which character it is: its code point, and its usual name when it has one.
fn character_name(c: char) -> String {
    let name = match c {
        '\0' => Some("NUL"),
        '\u{7}' => Some("BEL, sonnerie"),
        '\u{8}' => Some("retour arrière"),
        '\t' => Some("tabulation"),
        '\r' => Some("retour chariot"),
        '\u{1B}' => Some("ESC, échappement"),
        '\u{7F}' => Some("DEL"),
        '\u{200B}' => Some("espace sans largeur"),
        '\u{202E}' => Some("inversion droite-à-gauche"),
        '\u{FEFF}' => Some("BOM"),
        _ => None,
    };
    match name {
        Some(name) => format!("U+{:04X}, {name}", u32::from(c)),
        None => format!("U+{:04X}", u32::from(c)),
    }
}

/// The spoken text: required when a voice call is asked for, short, without links.
pub(crate) fn parse_voice(input: &VoiceInput, errors: &mut FieldErrors) -> CampaignVoice {
    let text = required_text(
        &input.text,
        "voice.text",
        MAX_VOICE_TEXT,
        "Rédigez le texte lu par l'appel vocal.",
        errors,
    );
    let lower = text.to_lowercase();
    if ["http://", "https://", "www."]
        .iter()
        .any(|l| lower.contains(l))
    {
        errors.add(
            "voice.text",
            "Le texte lu par l'appel ne peut pas contenir de lien : personne ne peut cliquer sur un appel. Dites plutôt où trouver l'information.",
        );
    }
    if let Some((position, c)) = unshown_character(&text) {
        errors.add(
            "voice.text",
            format!(
                "Le texte de l'appel contient un caractère invisible ou de contrôle ({}) en position {position} : retirez-le.",
                character_name(c)
            ),
        );
    }
    CampaignVoice {
        text: text.replace("\r\n", "\n"),
    }
}

/// The email's subject and Markdown body, both required.
fn parse_email(input: &EmailInput, errors: &mut FieldErrors) -> CampaignEmail {
    CampaignEmail {
        subject: required_text(
            &input.subject,
            "email.subject",
            200,
            "Indiquez l'objet de l'e-mail.",
            errors,
        ),
        body_markdown: required_text(
            &input.body_markdown,
            "email.body_markdown",
            MAX_EMAIL_BODY,
            "Rédigez le texte de l'e-mail.",
            errors,
        ),
    }
}

/// A scheduled send time (RFC 3339), which must be in the future; none when blank.
fn parse_send_at(
    raw: Option<&str>,
    now: DateTime<Utc>,
    errors: &mut FieldErrors,
) -> Option<DateTime<Utc>> {
    let raw = raw.map(str::trim).filter(|s| !s.is_empty())?;
    let parsed = DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&Utc))
        .ok()
        .or_else(|| paris_local(raw));
    match parsed {
        Some(at) if at > now => Some(at),
        Some(_) => {
            errors.add("send_at", "Cette date d'envoi est déjà passée.");
            None
        }
        None => {
            errors.add(
                "send_at",
                format!("Date d'envoi invalide : « {raw} » (format attendu : 2026-12-24T18:00, heure de Paris)."),
            );
            None
        }
    }
}

/// A date and time without offset (`2026-12-24T18:00`, as a date-time field gives it), read as
/// the town's time; none for an hour that does not exist there (the spring change of time).
fn paris_local(raw: &str) -> Option<DateTime<Utc>> {
    let naive = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(raw, f).ok())?;
    chrono::TimeZone::from_local_datetime(&chrono_tz::Europe::Paris, &naive)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

fn first_version() -> u32 {
    1
}

fn refused(c: &Campaign, what: &str) -> DomainError {
    DomainError::Conflict(format!(
        "Impossible de {what} : la campagne est {}.",
        c.status().label()
    ))
}

impl Campaign {
    /// A new draft by `author`, with the audit event recording its creation.
    pub fn draft(
        content: CampaignContent,
        author: &StaffIdentity,
        kind: CampaignKind,
        now: DateTime<Utc>,
    ) -> (Self, CampaignEvent) {
        let c = Self {
            id: CampaignId::new(),
            title: content.title,
            topics: content.topics,
            messages: content.messages,
            urgent: content.urgent,
            acknowledgement: content.acknowledgement,
            send_at: content.send_at,
            zones: content.zones,
            include_unzoned: content.include_unzoned,
            kind,
            source: None,
            author: author.into(),
            last_editor: None,
            stage: Stage::at(CampaignStatus::Draft),
            version: first_version(),
            shards: 0,
            created_at: now,
            updated_at: now,
            publication: content.publication,
        };
        let e = CampaignEvent {
            at: now,
            actor: author.into(),
            action: CampaignAction::Created,
            from: None,
            to: CampaignStatus::Draft,
            reason: None,
        };
        (c, e)
    }

    /// Who it reaches among its topics' subscribers, when limited to zones.
    pub fn zone_filter(&self) -> Option<ZoneFilter> {
        self.zones.as_ref().map(|z| ZoneFilter {
            zones: z.iter().cloned().collect(),
            include_unzoned: self.include_unzoned,
        })
    }

    /// Its status.
    pub fn status(&self) -> CampaignStatus {
        self.stage.status()
    }

    /// The cabinet's reason, when rejected.
    pub fn rejection_reason(&self) -> Option<&str> {
        self.stage.rejection_reason()
    }

    /// The status a sender read afresh from the store: the rest, read earlier, no longer
    /// changes once sending. A status that moved on leaves no reason behind.
    pub fn status_read_again(&mut self, status: CampaignStatus) {
        if status != self.status() {
            self.stage = Stage::at(status);
        }
    }

    /// The channels this campaign sends on.
    pub fn channels(&self) -> BTreeSet<Channel> {
        Channel::ALL
            .into_iter()
            .filter(|c| self.messages.has(*c))
            .collect()
    }

    fn event(
        &mut self,
        actor: Actor,
        action: CampaignAction,
        to: CampaignStatus,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> CampaignEvent {
        let from = self.status();
        self.stage = match (to, &reason) {
            (CampaignStatus::Rejected, Some(reason)) => Stage::rejected(reason.clone()),
            _ => Stage::at(to),
        };
        self.version += 1;
        self.updated_at = now;
        CampaignEvent {
            at: now,
            actor,
            action,
            from: Some(from),
            to,
            reason,
        }
    }

    /// The history line of a test send to `by` by `channels` (« e-mail et SMS »): the campaign
    /// itself is unchanged (same status, same version: an approval in progress stays valid).
    pub fn test_sent(
        &self,
        by: &StaffIdentity,
        channels: &str,
        now: DateTime<Utc>,
    ) -> CampaignEvent {
        CampaignEvent {
            at: now,
            actor: by.into(),
            action: CampaignAction::TestSent,
            from: Some(self.status()),
            to: self.status(),
            reason: Some(channels.to_owned()),
        }
    }

    /// What a writer typed, as the composer sends it back.
    pub fn content(&self) -> CampaignContent {
        CampaignContent {
            title: self.title.clone(),
            topics: self.topics.clone(),
            messages: self.messages.clone(),
            urgent: self.urgent,
            acknowledgement: self.acknowledgement,
            send_at: self.send_at,
            publication: self.publication,
            zones: self.zones.clone(),
            include_unzoned: self.include_unzoned,
        }
    }

    /// Replaces the content; a submitted or rejected campaign goes back to draft.
    pub fn edit(
        &mut self,
        content: CampaignContent,
        by: &StaffIdentity,
        now: DateTime<Utc>,
    ) -> Result<CampaignEvent, DomainError> {
        if !matches!(
            self.status(),
            CampaignStatus::Draft | CampaignStatus::Submitted | CampaignStatus::Rejected
        ) {
            return Err(refused(self, "la modifier"));
        }
        // Back to draft either way; only a real change is recorded as one.
        let action = if self.content() == content {
            CampaignAction::Reopened
        } else {
            CampaignAction::Edited
        };
        self.title = content.title;
        self.topics = content.topics;
        self.messages = content.messages;
        self.urgent = content.urgent;
        self.acknowledgement = content.acknowledgement;
        self.send_at = content.send_at;
        self.publication = content.publication;
        self.zones = content.zones;
        self.include_unzoned = content.include_unzoned;
        self.last_editor = Some(by.into());
        Ok(self.event(by.into(), action, CampaignStatus::Draft, None, now))
    }

    /// Sends a draft to the cabinet.
    pub fn submit(
        &mut self,
        by: &StaffIdentity,
        now: DateTime<Utc>,
    ) -> Result<CampaignEvent, DomainError> {
        if self.status() != CampaignStatus::Draft {
            return Err(refused(self, "la soumettre"));
        }
        self.check_send_at(now)?;
        self.last_editor = Some(by.into());
        Ok(self.event(
            by.into(),
            CampaignAction::Submitted,
            CampaignStatus::Submitted,
            None,
            now,
        ))
    }

    fn check_send_at(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        match self.send_at {
            Some(at) if at <= now => Err(FieldErrors::single(
                "send_at",
                "La date d'envoi est passée : modifiez-la avant de continuer.",
            )),
            _ => Ok(()),
        }
    }

    /// The cabinet approves the version it read (`read`): scheduled when `send_at` is ahead,
    /// otherwise approved for sending now. Four eyes: neither its author nor whoever last
    /// edited or submitted it may approve it.
    pub fn approve(
        &mut self,
        by: &StaffIdentity,
        read: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<CampaignEvent, DomainError> {
        match read {
            None => {
                return Err(DomainError::Conflict(
                    "Indiquez la version de la campagne que vous avez relue (champ « version ») : l'approbation porte sur elle.".into(),
                ))
            }
            Some(v) if v != self.version => {
                return Err(DomainError::Conflict(
                    "La campagne a été modifiée depuis que vous l'avez relue : relisez-la avant de l'approuver.".into(),
                ))
            }
            Some(_) => {}
        }
        if by.id == self.author.id {
            return Err(DomainError::Forbidden(
                "Vous ne pouvez pas approuver une campagne que vous avez rédigée.".into(),
            ));
        }
        if self.last_editor.as_ref().is_some_and(|e| e.id == by.id) {
            return Err(DomainError::Forbidden(
                "Vous avez modifié ou soumis cette campagne en dernier : une autre personne du cabinet doit l'approuver.".into(),
            ));
        }
        if self.status() != CampaignStatus::Submitted {
            return Err(refused(self, "l'approuver"));
        }
        self.check_send_at(now)?;
        let to = if self.send_at.is_some() {
            CampaignStatus::Scheduled
        } else {
            CampaignStatus::Approved
        };
        Ok(self.event(by.into(), CampaignAction::Approved, to, None, now))
    }

    /// The cabinet refuses, saying why.
    pub fn reject(
        &mut self,
        by: &StaffIdentity,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<CampaignEvent, DomainError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(FieldErrors::single(
                "reason",
                "Indiquez la raison du refus : elle sera transmise à l'auteur.",
            ));
        }
        if self.status() != CampaignStatus::Submitted {
            return Err(refused(self, "la refuser"));
        }
        Ok(self.event(
            by.into(),
            CampaignAction::Rejected,
            CampaignStatus::Rejected,
            Some(reason.to_owned()),
            now,
        ))
    }

    /// Stops a campaign not sent yet, or one still sending (the stop button): nothing more goes
    /// out, and what was sent stays counted.
    pub fn cancel(
        &mut self,
        by: &StaffIdentity,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<CampaignEvent, DomainError> {
        if !matches!(
            self.status(),
            CampaignStatus::Approved | CampaignStatus::Scheduled | CampaignStatus::Sending
        ) {
            return Err(refused(self, "l'annuler"));
        }
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(str::to_owned);
        Ok(self.event(
            by.into(),
            CampaignAction::Cancelled,
            CampaignStatus::Cancelled,
            reason,
            now,
        ))
    }

    /// Sending starts with `shards` fan-out jobs.
    pub fn start_sending(
        &mut self,
        shards: u32,
        now: DateTime<Utc>,
    ) -> Result<CampaignEvent, DomainError> {
        if !matches!(
            self.status(),
            CampaignStatus::Approved | CampaignStatus::Scheduled
        ) {
            return Err(refused(self, "l'envoyer"));
        }
        self.shards = shards;
        Ok(self.event(
            Actor::system(),
            CampaignAction::Sending,
            CampaignStatus::Sending,
            None,
            now,
        ))
    }

    /// Every message was handled.
    pub fn finish(&mut self, now: DateTime<Utc>) -> Result<CampaignEvent, DomainError> {
        if self.status() != CampaignStatus::Sending {
            return Err(refused(self, "la terminer"));
        }
        Ok(self.event(
            Actor::system(),
            CampaignAction::Sent,
            CampaignStatus::Sent,
            None,
            now,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::staff::Role;
    use crate::domain::topic::default_topics;
    use chrono::{Duration, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 28, 10, 0, 0).unwrap()
    }

    fn staff(id: &str, roles: &[Role]) -> StaffIdentity {
        StaffIdentity {
            id: id.into(),
            name: id.to_uppercase(),
            roles: roles.iter().copied().collect(),
            email: None,
            phone: None,
            department: None,
        }
    }

    fn input() -> CampaignInput {
        CampaignInput {
            title: Some("Marché de Noël".into()),
            topics: vec![
                "culture-animations".into(),
                "infos-pratiques".into(),
                "culture-animations".into(),
            ],
            sms: Some(SmsInput {
                text: Some("Marché de Noël samedi place Thiers.".into()),
            }),
            email: Some(EmailInput {
                subject: Some("Marché de Noël".into()),
                body_markdown: Some("**Samedi** place Thiers".into()),
            }),
            urgent: false,
            send_at: None,
            publication: Default::default(),
            ..Default::default()
        }
    }

    fn draft() -> Campaign {
        let content = CampaignContent::parse(&input(), &default_topics(), now()).unwrap();
        Campaign::draft(
            content,
            &staff("redac", &[Role::Redaction]),
            CampaignKind::Standard,
            now(),
        )
        .0
    }

    #[test]
    fn content_parses_and_deduplicates_topics() {
        let c = CampaignContent::parse(&input(), &default_topics(), now()).unwrap();
        assert_eq!(c.topics.len(), 2);
        assert!(c.messages.sms().is_some() && c.messages.email().is_some());
    }

    #[test]
    fn an_sms_names_its_first_unshown_character_and_keeps_line_breaks() {
        let with = |text: &str| CampaignInput {
            sms: Some(SmsInput {
                text: Some(text.into()),
            }),
            ..input()
        };
        let e = CampaignContent::parse(&with("Bonjour\u{7}\u{202e}"), &default_topics(), now())
            .unwrap_err();
        assert_eq!(
            e.get("sms.text"),
            Some(
                "Le SMS contient un caractère invisible ou de contrôle (U+0007, BEL, sonnerie) en \
                 position 8 : retirez-le."
            )
        );
        let ok = CampaignContent::parse(&with("Ligne 1\r\nLigne 2\nFin"), &default_topics(), now())
            .unwrap();
        assert_eq!(ok.messages.sms().unwrap().text, "Ligne 1\nLigne 2\nFin");
    }

    #[test]
    fn content_errors_name_their_fields() {
        let bad = CampaignInput {
            title: Some("  ".into()),
            topics: vec!["inconnu".into()],
            sms: Some(SmsInput {
                text: Some("x".repeat(1000)),
            }),
            email: Some(EmailInput {
                subject: None,
                body_markdown: Some("ok".into()),
            }),
            urgent: false,
            send_at: Some("demain".into()),
            publication: Default::default(),
            ..Default::default()
        };
        let e = CampaignContent::parse(&bad, &default_topics(), now()).unwrap_err();
        for field in ["title", "topics", "sms.text", "email.subject", "send_at"] {
            assert!(e.get(field).is_some(), "{field}: {e:?}");
        }
        let none = CampaignInput {
            sms: None,
            email: None,
            ..input()
        };
        assert!(CampaignContent::parse(&none, &default_topics(), now())
            .unwrap_err()
            .get("sms")
            .is_some());
        let past = CampaignInput {
            send_at: Some("2026-11-27T10:00:00+01:00".into()),
            ..input()
        };
        assert!(CampaignContent::parse(&past, &default_topics(), now())
            .unwrap_err()
            .get("send_at")
            .unwrap()
            .contains("passée"));
    }

    #[test]
    fn the_happy_path_is_audited_step_by_step() {
        let mut c = draft();
        let cab = staff("cab", &[Role::Cabinet]);
        let e = c
            .submit(&staff("redac", &[Role::Redaction]), now())
            .unwrap();
        assert_eq!(
            (e.from, e.to),
            (Some(CampaignStatus::Draft), CampaignStatus::Submitted)
        );
        let e = c.approve(&cab, Some(c.version), now()).unwrap();
        assert_eq!(e.to, CampaignStatus::Approved);
        assert_eq!(e.actor.id, "cab");
        c.start_sending(8, now()).unwrap();
        assert_eq!(c.shards, 8);
        let e = c.finish(now()).unwrap();
        assert_eq!(
            (e.action, e.actor.id.as_str()),
            (CampaignAction::Sent, "system")
        );
    }

    #[test]
    fn the_author_cannot_approve_their_own_campaign() {
        let mut c = draft();
        let both = staff("redac", &[Role::Redaction, Role::Cabinet]);
        c.submit(&both, now()).unwrap();
        assert!(matches!(
            c.approve(&both, Some(c.version), now()),
            Err(DomainError::Forbidden(_))
        ));
        assert_eq!(c.status(), CampaignStatus::Submitted);
    }

    #[test]
    fn rejection_needs_a_reason_and_editing_returns_to_draft() {
        let mut c = draft();
        let cab = staff("cab", &[Role::Cabinet]);
        c.submit(&staff("redac", &[]), now()).unwrap();
        assert!(matches!(
            c.reject(&cab, " ", now()),
            Err(DomainError::Validation(_))
        ));
        c.reject(&cab, "Date erronée", now()).unwrap();
        assert_eq!(c.status(), CampaignStatus::Rejected);
        assert_eq!(c.rejection_reason(), Some("Date erronée"));
        assert!(
            c.submit(&staff("redac", &[]), now()).is_err(),
            "rejected must be edited first"
        );
        let content = CampaignContent::parse(&input(), &default_topics(), now()).unwrap();
        c.edit(content, &staff("redac", &[]), now()).unwrap();
        assert_eq!(c.status(), CampaignStatus::Draft);
        assert_eq!(c.rejection_reason(), None);
    }

    #[test]
    fn editing_a_submitted_campaign_returns_it_to_draft_but_not_after_approval() {
        let mut c = draft();
        c.submit(&staff("redac", &[]), now()).unwrap();
        let content = CampaignContent::parse(&input(), &default_topics(), now()).unwrap();
        c.edit(content.clone(), &staff("redac", &[]), now())
            .unwrap();
        assert_eq!(c.status(), CampaignStatus::Draft);
        c.submit(&staff("redac", &[]), now()).unwrap();
        c.approve(&staff("cab", &[]), Some(c.version), now())
            .unwrap();
        assert!(matches!(
            c.edit(content, &staff("redac", &[]), now()),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn a_send_time_without_offset_is_the_towns_time() {
        let mut errors = FieldErrors::new();
        let now: DateTime<Utc> = "2026-11-30T12:00:00Z".parse().unwrap();
        // Winter: Paris is UTC+1; summer: UTC+2.
        assert_eq!(
            parse_send_at(Some("2026-12-24T18:00"), now, &mut errors),
            Some("2026-12-24T17:00:00Z".parse().unwrap())
        );
        assert_eq!(
            parse_send_at(Some("2027-07-14T22:30:00"), now, &mut errors),
            Some("2027-07-14T20:30:00Z".parse().unwrap())
        );
        assert!(errors.is_empty());
        // 02:30 on the spring change of time does not exist in Paris.
        assert_eq!(
            parse_send_at(Some("2027-03-28T02:30"), now, &mut errors),
            None
        );
        assert!(errors.get("send_at").unwrap().contains("invalide"));
    }

    #[test]
    fn scheduled_campaigns_can_be_cancelled_and_past_dates_block_approval() {
        let mut c = draft();
        c.send_at = Some(now() + Duration::hours(2));
        c.submit(&staff("redac", &[]), now()).unwrap();
        c.approve(&staff("cab", &[]), Some(c.version), now())
            .unwrap();
        assert_eq!(c.status(), CampaignStatus::Scheduled);
        c.cancel(&staff("cab", &[]), Some("Annulé"), now()).unwrap();
        assert_eq!(c.status(), CampaignStatus::Cancelled);
        assert!(c.cancel(&staff("cab", &[]), None, now()).is_err());

        let mut late = draft();
        late.send_at = Some(now() + Duration::hours(1));
        late.submit(&staff("redac", &[]), now()).unwrap();
        let err = late
            .approve(
                &staff("cab", &[]),
                Some(late.version),
                now() + Duration::hours(2),
            )
            .unwrap_err();
        assert!(matches!(err, DomainError::Validation(_)));
    }

    #[test]
    fn whoever_last_edited_or_submitted_cannot_approve_even_with_both_roles() {
        let mut c = draft();
        let colleague = staff("collegue", &[Role::Redaction, Role::Cabinet]);
        c.submit(&staff("redac", &[]), now()).unwrap();
        let content = CampaignContent::parse(&input(), &default_topics(), now()).unwrap();
        c.edit(content, &colleague, now()).unwrap();
        c.submit(&colleague, now()).unwrap();
        let err = c.approve(&colleague, Some(c.version), now()).unwrap_err();
        assert!(matches!(err, DomainError::Forbidden(ref m) if m.contains("en dernier")));
        c.approve(&staff("cab", &[]), Some(c.version), now())
            .unwrap();
    }

    #[test]
    fn approval_is_bound_to_the_version_read() {
        let mut c = draft();
        let read = c.version;
        c.submit(&staff("redac", &[]), now()).unwrap();
        assert!(c.version > read, "every step changes the version");
        let cab = staff("cab", &[]);
        for stale in [None, Some(read)] {
            let err = c.approve(&cab, stale, now()).unwrap_err();
            assert!(matches!(err, DomainError::Conflict(_)), "{stale:?}");
        }
        assert_eq!(c.status(), CampaignStatus::Submitted);
        c.approve(&cab, Some(c.version), now()).unwrap();
    }

    #[test]
    fn a_campaign_still_sending_can_be_stopped() {
        let mut c = draft();
        c.submit(&staff("redac", &[]), now()).unwrap();
        c.approve(&staff("cab", &[]), Some(c.version), now())
            .unwrap();
        c.start_sending(4, now()).unwrap();
        c.cancel(&staff("cab", &[]), Some("Erreur de date"), now())
            .unwrap();
        assert_eq!(c.status(), CampaignStatus::Cancelled);
        assert!(
            c.finish(now()).is_err(),
            "a stopped campaign does not finish"
        );
    }

    #[test]
    fn transitions_out_of_order_are_refused() {
        let mut c = draft();
        assert!(c
            .approve(&staff("cab", &[]), Some(c.version), now())
            .is_err());
        assert!(c.reject(&staff("cab", &[]), "x", now()).is_err());
        assert!(c.cancel(&staff("cab", &[]), None, now()).is_err());
        assert!(c.start_sending(1, now()).is_err());
        assert!(c.finish(now()).is_err());
    }
}
