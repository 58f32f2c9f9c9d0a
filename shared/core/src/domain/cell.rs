//! The crisis cell: the town's staff who run the communal safeguard plan (PCS) — elected
//! officials and agents on duty — kept apart from residents, alerted by SMS and call in one
//! action, with the same answer link as an urgent campaign.
//!
//! A member's id is a fresh random UUID of the same type as a subscriber's
//! ([`SubscriberId`]): the deliveries, reach reports, answers and reply tokens of an alert of
//! the cell are keyed by it exactly as an urgent campaign's are by a resident's, so the whole
//! sending path and the `/s` reply page serve both. The two never meet: a cell alert is a
//! campaign of kind [`CampaignKind::CellAlert`] whose recipients are the members, never the
//! subscribers of a topic.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::campaign::{
    parse_sms, parse_voice, Campaign, CampaignId, CampaignSms, CampaignStatus, CampaignVoice,
    SmsInput, VoiceInput,
};
use crate::domain::contact::{Channel, Email, PhoneError, PhoneNumber};
use crate::domain::delivery::Delivery;
use crate::domain::reach::{
    messages_by_person, person_state, Acknowledgement, CrisisCounts, MessageLine, MessageReach,
    PersonState, ReachReport,
};
use crate::domain::subscriber::SubscriberId;
use crate::error::{DomainError, FieldErrors};

/// The most members a cell may have (a cell is a few dozen people; this bounds one alert).
pub const MAX_MEMBERS: usize = 200;

/// The longest alert text, in characters: it is read aloud twice and sent by SMS with its
/// answer link, so it stays short.
pub const MAX_ALERT_TEXT: usize = 300;

/// One member of the crisis cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellMember {
    /// Random, never a subscriber's (see the module's note).
    pub id: SubscriberId,
    /// « Marie Dupont ».
    pub name: String,
    /// « Maire », « Adjoint à la sécurité », « Agent d'astreinte ».
    pub function: String,
    /// A mobile: texted and called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<PhoneNumber>,
    /// A landline (or another number for calls): called when there is no mobile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landline: Option<PhoneNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// On duty now (« d'astreinte »): an alert may go to these alone.
    pub on_duty: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl CellMember {
    /// The number an alert texts: the mobile.
    pub fn sms_number(&self) -> Option<&PhoneNumber> {
        self.mobile.as_ref()
    }

    /// The number an alert calls: the mobile (the person carries it), else the landline.
    pub fn call_number(&self) -> Option<&PhoneNumber> {
        self.mobile.as_ref().or(self.landline.as_ref())
    }

    /// The number a message on `channel` goes to (none for email: an alert of the cell is
    /// sent by SMS and call).
    pub fn number_for(&self, channel: Channel) -> Option<&PhoneNumber> {
        match channel {
            Channel::Sms => self.sms_number(),
            Channel::Voice => self.call_number(),
            Channel::Email => None,
        }
    }
}

/// A member as staff post it (JSON or form).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CellMemberInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub function: Option<String>,
    #[serde(default)]
    pub mobile: Option<String>,
    #[serde(default)]
    pub landline: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    /// Default: on duty.
    #[serde(default)]
    pub on_duty: Option<bool>,
}

/// A member's fields once parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellMemberFields {
    pub name: String,
    pub function: String,
    pub mobile: Option<PhoneNumber>,
    pub landline: Option<PhoneNumber>,
    pub email: Option<Email>,
    pub on_duty: bool,
}

/// A short line of text: required, at most `max` characters, no control character.
fn short_text(
    value: &Option<String>,
    field: &str,
    max: usize,
    missing: &str,
    errors: &mut FieldErrors,
) -> String {
    let text = required_text(value, field, max, missing, errors);
    if text.chars().any(char::is_control) {
        errors.add(
            field,
            "Ce texte contient un caractère de contrôle : retirez-le.",
        );
    }
    text
}

/// A text: required, at most `max` characters as typed (spaces around included), trimmed.
fn required_text(
    value: &Option<String>,
    field: &str,
    max: usize,
    missing: &str,
    errors: &mut FieldErrors,
) -> String {
    let raw = value.as_deref().unwrap_or("");
    let text = raw.trim();
    if text.is_empty() {
        errors.add(field, missing);
    } else if raw.chars().count() > max {
        errors.add(
            field,
            format!("Ce texte est trop long ({max} caractères au plus)."),
        );
    }
    text.to_owned()
}

/// A field left blank is none.
fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl CellMemberInput {
    /// Parses the input; each refused field gets a French message under its name.
    pub fn parse(&self) -> Result<CellMemberFields, DomainError> {
        let mut errors = FieldErrors::new();
        let name = short_text(
            &self.name,
            "name",
            100,
            "Indiquez le nom du membre de la cellule.",
            &mut errors,
        );
        let function = short_text(
            &self.function,
            "function",
            100,
            "Indiquez sa fonction (par exemple « Maire » ou « Agent d'astreinte »).",
            &mut errors,
        );
        let mobile = given(&self.mobile).and_then(|raw| match PhoneNumber::from_str(raw) {
            Ok(p) => Some(p),
            Err(PhoneError::NotMobile(n)) => {
                errors.add(
                    "mobile",
                    format!("Le numéro « {n} » n'est pas un numéro de mobile : les SMS ne peuvent être envoyés qu'à un portable (06 ou 07). Un numéro fixe va dans « Téléphone fixe », pour les appels."),
                );
                None
            }
            Err(e) => {
                errors.add("mobile", format!("Mobile : {e}"));
                None
            }
        });
        let landline = given(&self.landline).and_then(|raw| {
            PhoneNumber::parse_for_calls(raw)
                .map_err(|e| errors.add("landline", format!("Téléphone fixe : {e}")))
                .ok()
        });
        let email = given(&self.email).and_then(|raw| {
            Email::from_str(raw)
                .map_err(|e| errors.add("email", e))
                .ok()
        });
        if given(&self.mobile).is_none() && given(&self.landline).is_none() {
            errors.add(
                "mobile",
                "Indiquez au moins un numéro : un mobile (SMS et appels) ou un téléphone fixe (appels).",
            );
        }
        errors.into_result()?;
        Ok(CellMemberFields {
            name,
            function,
            mobile,
            landline,
            email,
            on_duty: self.on_duty.unwrap_or(true),
        })
    }
}

impl CellMemberFields {
    /// A new member.
    pub fn into_member(self, now: DateTime<Utc>) -> CellMember {
        CellMember {
            id: SubscriberId::new(),
            name: self.name,
            function: self.function,
            mobile: self.mobile,
            landline: self.landline,
            email: self.email,
            on_duty: self.on_duty,
            created_at: now,
            updated_at: now,
        }
    }

    /// `member` with these fields.
    pub fn apply(self, member: &CellMember, now: DateTime<Utc>) -> CellMember {
        CellMember {
            name: self.name,
            function: self.function,
            mobile: self.mobile,
            landline: self.landline,
            email: self.email,
            on_duty: self.on_duty,
            updated_at: now,
            ..member.clone()
        }
    }
}

/// What staff post to alert the cell.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CellAlertInput {
    /// The message: texted (with the answer link) and read aloud.
    #[serde(default)]
    pub text: Option<String>,
    /// Only the members on duty (default: every member).
    #[serde(default)]
    pub on_duty_only: bool,
}

/// Parses the alert's text: the SMS and the spoken text rules at once (no link, no
/// invisible character), errors under `text`.
pub fn parse_alert_text(
    input: &CellAlertInput,
) -> Result<(CampaignSms, CampaignVoice), DomainError> {
    let mut errors = FieldErrors::new();
    // Line breaks are welcome; the SMS and spoken rules below refuse any other control
    // character.
    let text = required_text(
        &input.text,
        "text",
        MAX_ALERT_TEXT,
        "Rédigez le message d'alerte de la cellule de crise.",
        &mut errors,
    );
    if !errors.is_empty() {
        return Err(DomainError::Validation(errors));
    }
    // A line break typed in a form may arrive as CR LF: it is one line feed.
    let text = text.replace("\r\n", "\n");
    let mut inner = FieldErrors::new();
    let sms = parse_sms(
        &SmsInput {
            text: Some(text.clone()),
        },
        &mut inner,
    );
    let voice = parse_voice(&VoiceInput { text: Some(text) }, &mut inner);
    for (_, message) in inner.iter() {
        errors.add("text", message);
    }
    errors.into_result()?;
    Ok((sms, voice))
}

/// One member in the live view of an alert of the cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellPerson {
    pub member: SubscriberId,
    pub name: String,
    pub function: String,
    pub on_duty: bool,
    pub state: PersonState,
    /// The state in French.
    pub state_label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
    /// As dialled in France.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landline: Option<String>,
    /// Each message sent to them.
    pub messages: Vec<MessageLine>,
}

/// The live view of an alert of the cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CellView {
    pub campaign: CampaignId,
    pub title: String,
    /// What was sent.
    pub text: String,
    /// Who sent it.
    pub sent_by: String,
    pub sent_at: DateTime<Utc>,
    pub status: CampaignStatus,
    pub totals: CrisisCounts,
    /// Every member alerted still in the cell: « besoin d'aide » first, then those not
    /// reached, still pending, reached without an answer, and « en sécurité ».
    pub members: Vec<CellPerson>,
    /// When the view was read.
    pub at: DateTime<Utc>,
}

/// What the view of an alert of the cell is built from.
pub struct CellViewInput<'a> {
    pub campaign: &'a Campaign,
    pub deliveries: &'a [Delivery],
    pub reports: &'a [ReachReport],
    pub acknowledgements: &'a [Acknowledgement],
    /// The members now (one removed since is left out, with their messages).
    pub members: &'a [CellMember],
    pub now: DateTime<Utc>,
}

/// Builds the live view of an alert of the cell, with the crisis view's rules for each
/// person's state (see [`crate::domain::reach::crisis_view`]).
pub fn cell_view(input: CellViewInput<'_>) -> CellView {
    let answers: HashMap<SubscriberId, &Acknowledgement> = input
        .acknowledgements
        .iter()
        .map(|a| (a.subscriber, a))
        .collect();
    let members: HashMap<SubscriberId, &CellMember> =
        input.members.iter().map(|m| (m.id, m)).collect();
    let mut totals = CrisisCounts::default();
    let mut people = Vec::new();
    for (id, lines) in messages_by_person(input.deliveries, input.reports) {
        let Some(member) = members.get(&id) else {
            continue;
        };
        let reached = lines.iter().any(|l| l.reach == MessageReach::Reached);
        let answer = answers.get(&id);
        let state = person_state(answer.map(|a| a.answer), &lines);
        totals.add(state, reached);
        people.push(CellPerson {
            member: id,
            name: member.name.clone(),
            function: member.function.clone(),
            on_duty: member.on_duty,
            state,
            state_label: state.label().to_owned(),
            answered_at: answer.map(|a| a.at),
            mobile: member.mobile.as_ref().map(PhoneNumber::national),
            landline: member.landline.as_ref().map(PhoneNumber::national),
            messages: lines,
        });
    }
    people.sort_by(|a, b| a.state.cmp(&b.state).then_with(|| a.name.cmp(&b.name)));
    let c = input.campaign;
    CellView {
        campaign: c.id,
        title: c.title.clone(),
        text: c
            .messages
            .voice()
            .map(|v| v.text.clone())
            .unwrap_or_default(),
        sent_by: c.author.name.clone(),
        sent_at: c.created_at,
        status: c.status(),
        totals,
        members: people,
        at: input.now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::delivery::{DeliveryKey, DeliveryStatus};
    use crate::domain::reach::Answer;
    use crate::domain::staff::Role;
    use crate::domain::staff::StaffIdentity;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, 3, 0, 0).unwrap()
    }

    fn input(mobile: &str, landline: &str) -> CellMemberInput {
        CellMemberInput {
            name: Some("Marie Dupont".into()),
            function: Some("Maire".into()),
            mobile: Some(mobile.into()),
            landline: Some(landline.into()),
            email: None,
            on_duty: None,
        }
    }

    #[test]
    fn a_landline_is_for_calls_and_sms_needs_a_mobile() {
        let m = input("06 12 34 56 78", "05 56 83 94 94")
            .parse()
            .unwrap()
            .into_member(now());
        assert_eq!(m.sms_number().unwrap().as_str(), "+33612345678");
        assert_eq!(m.call_number().unwrap().as_str(), "+33612345678");
        assert!(m.on_duty);
        let fixed = input("", "05 56 83 94 94")
            .parse()
            .unwrap()
            .into_member(now());
        assert!(fixed.sms_number().is_none());
        assert_eq!(fixed.call_number().unwrap().as_str(), "+33556839494");
        let Err(DomainError::Validation(e)) = input("05 56 83 94 94", "").parse() else {
            panic!("a landline as mobile is refused");
        };
        assert!(e
            .get("mobile")
            .unwrap()
            .contains("n'est pas un numéro de mobile"));
    }

    #[test]
    fn every_refused_field_is_named_in_french() {
        let Err(DomainError::Validation(e)) = CellMemberInput {
            email: Some("pas-une-adresse".into()),
            landline: Some("12".into()),
            ..Default::default()
        }
        .parse() else {
            panic!("refused");
        };
        assert_eq!(
            e.get("name"),
            Some("Indiquez le nom du membre de la cellule.")
        );
        assert!(e
            .get("function")
            .unwrap()
            .starts_with("Indiquez sa fonction"));
        assert!(e.get("landline").unwrap().contains("n'est pas un numéro"));
        assert!(e.get("email").unwrap().contains("n'est pas valide"));
        let Err(DomainError::Validation(e)) = input("", "").parse() else {
            panic!("no phone is refused");
        };
        assert!(e
            .get("mobile")
            .unwrap()
            .starts_with("Indiquez au moins un numéro"));
    }

    #[test]
    fn the_alert_text_keeps_the_spoken_rules() {
        let refused = |text: &str| match parse_alert_text(&CellAlertInput {
            text: Some(text.into()),
            on_duty_only: false,
        }) {
            Err(DomainError::Validation(e)) => e.get("text").unwrap().to_owned(),
            other => panic!("refused expected, got {other:?}"),
        };
        assert!(refused("  ").starts_with("Rédigez"));
        assert!(refused("Voir https://arcachon.fr").contains("lien"));
        assert!(refused(&"a".repeat(MAX_ALERT_TEXT + 1)).contains("trop long"));
        assert!(refused("PCS\u{7}activé").contains("caractère invisible ou de contrôle"));
        let (two_lines, _) = parse_alert_text(&CellAlertInput {
            text: Some("PCS activé.\r\nRendez-vous en mairie.".into()),
            on_duty_only: false,
        })
        .unwrap();
        assert_eq!(two_lines.text, "PCS activé.\nRendez-vous en mairie.");
        let (sms, voice) = parse_alert_text(&CellAlertInput {
            text: Some(" Activation du PCS : rendez-vous en mairie. ".into()),
            on_duty_only: true,
        })
        .unwrap();
        assert_eq!(sms.text, "Activation du PCS : rendez-vous en mairie.");
        assert_eq!(voice.text, sms.text);
    }

    #[test]
    fn the_view_lists_members_needing_help_first_and_leaves_out_those_removed() {
        let by = StaffIdentity {
            id: "cab".into(),
            name: "Cabinet".into(),
            roles: [Role::Cabinet].into(),
            email: None,
            phone: None,
            department: None,
        };
        let (sms, voice) = parse_alert_text(&CellAlertInput {
            text: Some("PCS activé".into()),
            on_duty_only: false,
        })
        .unwrap();
        let (campaign, event) = Campaign::cell_alert(sms, voice, &by, now());
        assert_eq!(event.actor.id, "cab");
        assert_eq!(campaign.status(), CampaignStatus::Sending);
        let a = input("06 12 34 56 78", "")
            .parse()
            .unwrap()
            .into_member(now());
        let mut b = input("", "05 56 83 94 94")
            .parse()
            .unwrap()
            .into_member(now());
        b.name = "Bernard".into();
        let gone = SubscriberId::new();
        let d = |who, channel, status| Delivery {
            key: DeliveryKey {
                campaign: campaign.id,
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
        };
        let deliveries = [
            d(a.id, Channel::Sms, DeliveryStatus::Sent),
            d(a.id, Channel::Voice, DeliveryStatus::Sent),
            d(b.id, Channel::Voice, DeliveryStatus::Sent),
            d(gone, Channel::Sms, DeliveryStatus::Sent),
        ];
        let acks = [Acknowledgement {
            campaign: campaign.id,
            subscriber: b.id,
            answer: Answer::NeedsHelp,
            at: now(),
        }];
        let view = cell_view(CellViewInput {
            campaign: &campaign,
            deliveries: &deliveries,
            reports: &[],
            acknowledgements: &acks,
            members: &[a.clone(), b.clone()],
            now: now(),
        });
        assert_eq!(view.members.len(), 2);
        assert_eq!(view.members[0].member, b.id);
        assert_eq!(view.members[0].state, PersonState::NeedsHelp);
        assert_eq!(view.members[1].state, PersonState::Reached);
        assert_eq!(view.members[1].messages.len(), 2);
        assert_eq!((view.totals.people, view.totals.needs_help), (2, 1));
        assert_eq!(view.sent_by, "Cabinet");
    }
}
