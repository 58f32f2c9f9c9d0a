//! Proposals: what a town department (culture, leisure centre, roads…) suggests the communication
//! service sends; the communication service takes it into a campaign, merges several into one,
//! or declines it with a reason.

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::campaign::{CampaignId, CampaignInput, EmailInput, SmsInput};
use crate::domain::staff::StaffIdentity;
use crate::domain::topic::{Topic, TopicSlug};
use crate::error::{DomainError, FieldErrors};

/// Longest title, in characters.
pub const MAX_TITLE: usize = 120;
/// Longest text, in characters.
pub const MAX_TEXT: usize = 5000;
/// Longest contact, and decline reason, in characters.
pub const MAX_CONTACT: usize = 200;
pub const MAX_REASON: usize = 500;

/// A proposal's identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProposalId(pub Uuid);

impl ProposalId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for ProposalId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for ProposalId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ProposalId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(Self)
    }
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Waiting for the communication service; its author may still edit or withdraw it.
    New,
    /// In a campaign of the communication service.
    Taken,
    /// The campaign that carries it has been sent.
    Sent,
    /// Declined, with a reason.
    Declined,
    /// Withdrawn by its author.
    Withdrawn,
}

/// What the campaign carrying a proposal reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentFigures {
    pub emails: u64,
    pub sms: u64,
}

/// A proposal as its author typed it, before checks.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProposalInput {
    /// Suggested topic slugs.
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    /// The day it matters (event, registration deadline), `YYYY-MM-DD`.
    #[serde(default)]
    pub matters_on: Option<String>,
    /// Whether the department would like an SMS too.
    #[serde(default)]
    pub wants_sms: bool,
    /// Who the communication service may ask.
    #[serde(default)]
    pub contact: Option<String>,
}

/// A proposal's checked fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProposalFields {
    pub topics: Vec<TopicSlug>,
    pub title: String,
    pub text: String,
    pub matters_on: Option<NaiveDate>,
    pub wants_sms: bool,
    pub contact: String,
}

fn required(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&str>,
    max: usize,
    what: &str,
) -> String {
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        errors.add(field, format!("Indiquez {what}."));
    } else if value.chars().count() > max {
        errors.add(
            field,
            format!(
                "{max} caractères au plus ({} saisis).",
                value.chars().count()
            ),
        );
    }
    value.to_owned()
}

/// The open topics chosen, each once; an unknown or closed one, or none, refused.
fn chosen_topics(
    raw_topics: &[String],
    open_topics: &[Topic],
    errors: &mut FieldErrors,
) -> Vec<TopicSlug> {
    let mut topics = Vec::new();
    let mut seen = BTreeSet::new();
    for raw in raw_topics {
        match open_topics.iter().find(|t| t.slug.as_str() == raw.trim()) {
            Some(t) if seen.insert(t.slug.clone()) => topics.push(t.slug.clone()),
            Some(_) => {}
            None => errors.add(
                "topics",
                format!("Thème inconnu ou fermé : « {} ».", raw.trim()),
            ),
        }
    }
    if raw_topics.is_empty() {
        errors.add("topics", "Choisissez au moins un thème.");
    }
    topics
}

/// The day the information matters on, if given: a date not past.
fn matters_on(raw: Option<&str>, today: NaiveDate, errors: &mut FieldErrors) -> Option<NaiveDate> {
    match raw.map(str::trim) {
        None | Some("") => None,
        Some(raw) => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
            Ok(day) if day < today => {
                errors.add("matters_on", "Cette date est déjà passée.");
                None
            }
            Ok(day) => Some(day),
            Err(_) => {
                errors.add("matters_on", "Date invalide (format attendu : AAAA-MM-JJ).");
                None
            }
        },
    }
}

impl ProposalFields {
    /// Checks what the author typed: topics open today, a title, a text, a contact, a date
    /// not past; every problem named with its field, in French.
    pub fn parse(
        input: &ProposalInput,
        open_topics: &[Topic],
        today: NaiveDate,
    ) -> Result<Self, DomainError> {
        let mut errors = FieldErrors::new();
        let topics = chosen_topics(&input.topics, open_topics, &mut errors);
        let title = required(
            &mut errors,
            "title",
            input.title.as_deref(),
            MAX_TITLE,
            "un titre",
        );
        let text = required(
            &mut errors,
            "text",
            input.text.as_deref(),
            MAX_TEXT,
            "le texte de l'information",
        );
        let contact = required(
            &mut errors,
            "contact",
            input.contact.as_deref(),
            MAX_CONTACT,
            "une personne à contacter (nom, téléphone ou courriel)",
        );
        let matters_on = matters_on(input.matters_on.as_deref(), today, &mut errors);
        errors.into_result()?;
        Ok(Self {
            topics,
            title,
            text,
            matters_on,
            wants_sms: input.wants_sms,
            contact,
        })
    }
}

/// A department's proposal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub id: ProposalId,
    /// The proposing department.
    pub department: String,
    /// Who proposed it (told by email of what becomes of it).
    pub proposer: StaffIdentity,
    #[serde(flatten)]
    pub fields: ProposalFields,
    pub status: ProposalStatus,
    /// Changes on every write; a write names the version it read.
    pub version: u32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The campaign that carries it, once taken.
    pub campaign: Option<CampaignId>,
    /// Who took or declined it.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decline_reason: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    /// What the campaign reached.
    pub sent: Option<SentFigures>,
}

fn not_new(status: ProposalStatus) -> DomainError {
    let what = match status {
        ProposalStatus::New => "nouvelle",
        ProposalStatus::Taken => "déjà retenue",
        ProposalStatus::Sent => "déjà envoyée",
        ProposalStatus::Declined => "déclinée",
        ProposalStatus::Withdrawn => "retirée",
    };
    DomainError::Conflict(format!(
        "Cette proposition est {what} : elle ne peut plus changer."
    ))
}

impl Proposal {
    /// A new proposal of `by`'s department.
    pub fn new(
        fields: ProposalFields,
        by: &StaffIdentity,
        department: &str,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: ProposalId::new(),
            department: department.to_owned(),
            proposer: by.clone(),
            fields,
            status: ProposalStatus::New,
            version: 1,
            created_at: now,
            updated_at: now,
            campaign: None,
            decided_by: None,
            decided_at: None,
            decline_reason: None,
            sent_at: None,
            sent: None,
        }
    }

    fn still_new(&self) -> Result<(), DomainError> {
        match self.status {
            ProposalStatus::New => Ok(()),
            other => Err(not_new(other)),
        }
    }

    fn touch(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now;
    }

    /// Replaces the fields while nobody has taken it.
    pub fn edit(&mut self, fields: ProposalFields, now: DateTime<Utc>) -> Result<(), DomainError> {
        self.still_new()?;
        self.fields = fields;
        self.touch(now);
        Ok(())
    }

    /// Withdrawn by its author while nobody has taken it.
    pub fn withdraw(&mut self, now: DateTime<Utc>) -> Result<(), DomainError> {
        self.still_new()?;
        self.status = ProposalStatus::Withdrawn;
        self.touch(now);
        Ok(())
    }

    /// Taken into `campaign` by the communication service.
    pub fn take(
        &mut self,
        campaign: CampaignId,
        by: &StaffIdentity,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.still_new()?;
        self.status = ProposalStatus::Taken;
        self.campaign = Some(campaign);
        self.decided_by = Some(by.name.clone());
        self.decided_at = Some(now);
        self.touch(now);
        Ok(())
    }

    /// Declined, with a reason its author will read.
    pub fn decline(
        &mut self,
        reason: &str,
        by: &StaffIdentity,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        self.still_new()?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > MAX_REASON {
            return Err(FieldErrors::single(
                "reason",
                format!(
                    "Indiquez la raison au service proposant ({MAX_REASON} caractères au plus)."
                ),
            ));
        }
        self.status = ProposalStatus::Declined;
        self.decline_reason = Some(reason.to_owned());
        self.decided_by = Some(by.name.clone());
        self.decided_at = Some(now);
        self.touch(now);
        Ok(())
    }

    /// The campaign that carries it was sent.
    pub fn mark_sent(&mut self, figures: SentFigures, at: DateTime<Utc>, now: DateTime<Utc>) {
        self.status = ProposalStatus::Sent;
        self.sent = Some(figures);
        self.sent_at = Some(at);
        self.touch(now);
    }
}

/// The draft a communication officer starts from when taking one proposal or merging several:
/// every suggested topic, each proposal a section of the email, an SMS when one was wished.
pub fn draft_from(proposals: &[Proposal]) -> CampaignInput {
    let first = &proposals[0].fields;
    let title = match proposals.len() {
        1 => first.title.clone(),
        n => format!("{} (et {} autre(s) information(s))", first.title, n - 1),
    };
    let mut topics = Vec::new();
    for p in proposals {
        for t in &p.fields.topics {
            if !topics.contains(&t.to_string()) {
                topics.push(t.to_string());
            }
        }
    }
    let body = proposals
        .iter()
        .map(|p| {
            let when = p
                .fields
                .matters_on
                .map(|d| format!("\n\n*Date : {}*", d.format("%d/%m/%Y")))
                .unwrap_or_default();
            format!("## {}\n\n{}{when}", p.fields.title, p.fields.text)
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    let sms = proposals.iter().any(|p| p.fields.wants_sms).then(|| {
        let titles: Vec<&str> = proposals.iter().map(|p| p.fields.title.as_str()).collect();
        let text: String = titles.join(" ; ").chars().take(150).collect();
        SmsInput { text: Some(text) }
    });
    CampaignInput {
        title: Some(title.chars().take(MAX_TITLE).collect()),
        topics,
        sms,
        email: Some(EmailInput {
            subject: Some(first.title.clone()),
            body_markdown: Some(body),
        }),
        urgent: false,
        send_at: None,
        // The first proposal's day is the campaign's event date (staff may change it).
        publication: crate::domain::campaign::PublicationInput {
            publish: None,
            event_date: first.matters_on.map(|d| d.format("%Y-%m-%d").to_string()),
        },
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed instant: these rules take time as an argument.
    fn now() -> chrono::DateTime<chrono::Utc> {
        use chrono::TimeZone;
        chrono::Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap()
    }
    use crate::domain::topic::default_topics;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    fn input() -> ProposalInput {
        ProposalInput {
            topics: vec!["culture-animations".into()],
            title: Some("Marché de Noël".into()),
            text: Some("Place Thiers, samedi 12.".into()),
            matters_on: Some("2026-12-12".into()),
            wants_sms: true,
            contact: Some("Service culture, 05 57 00 00 00".into()),
        }
    }

    fn staff() -> StaffIdentity {
        StaffIdentity {
            id: "culture1".into(),
            name: "Claire".into(),
            roles: Default::default(),
            email: None,
            phone: None,
            department: Some("Culture".into()),
        }
    }

    #[test]
    fn every_missing_or_wrong_field_is_named_in_french() {
        let bad = ProposalInput {
            topics: vec!["inconnu".into()],
            matters_on: Some("2026-11-01".into()),
            ..Default::default()
        };
        let Err(DomainError::Validation(errors)) =
            ProposalFields::parse(&bad, &default_topics(), today())
        else {
            panic!("refused");
        };
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f).collect();
        for f in ["topics", "title", "text", "contact", "matters_on"] {
            assert!(fields.contains(&f), "{f}: {fields:?}");
        }
        assert!(ProposalFields::parse(&input(), &default_topics(), today()).is_ok());
    }

    #[test]
    fn only_a_new_proposal_changes_and_each_change_moves_its_version() {
        let fields = ProposalFields::parse(&input(), &default_topics(), today()).unwrap();
        let mut p = Proposal::new(fields.clone(), &staff(), "Culture", now());
        p.edit(fields.clone(), now()).unwrap();
        assert_eq!(p.version, 2);
        assert!(matches!(
            p.decline("  ", &staff(), now()),
            Err(DomainError::Validation(_))
        ));
        p.take(CampaignId::new(), &staff(), now()).unwrap();
        assert!(matches!(p.withdraw(now()), Err(DomainError::Conflict(_))));
        assert!(matches!(
            p.edit(fields, now()),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn a_merge_drafts_one_campaign_with_every_topic_and_section() {
        let fields = ProposalFields::parse(&input(), &default_topics(), today()).unwrap();
        let a = Proposal::new(fields.clone(), &staff(), "Culture", now());
        let mut other = fields;
        other.title = "Inscriptions au centre de loisirs".into();
        other.topics = vec![TopicSlug::from_str("infos-pratiques").unwrap()];
        other.wants_sms = false;
        let b = Proposal::new(other, &staff(), "Enfance", now());
        let draft = draft_from(&[a, b]);
        assert_eq!(draft.topics, ["culture-animations", "infos-pratiques"]);
        assert_eq!(
            draft.title.as_deref(),
            Some("Marché de Noël (et 1 autre(s) information(s))")
        );
        let body = draft.email.unwrap().body_markdown.unwrap();
        assert!(body.contains("## Marché de Noël") && body.contains("## Inscriptions"));
        assert!(body.contains("*Date : 12/12/2026*"));
        assert_eq!(
            draft.sms.unwrap().text.as_deref(),
            Some("Marché de Noël ; Inscriptions au centre de loisirs")
        );
    }
}
