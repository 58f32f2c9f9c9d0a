//! Parsing what a resident (or staff) typed into a valid sign-up: parse, don't validate.

use std::collections::BTreeSet;
use std::str::FromStr;

use serde::Deserialize;

use crate::domain::contact::{Channel, Email, PhoneNumber};
use crate::domain::subscriber::Choice;
use crate::domain::topic::{Topic, TopicSlug};
use crate::domain::zone::{self, ZoneSlug};
use crate::error::{DomainError, FieldErrors};

/// Raw sign-up input, as posted by the form or the JSON API.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SignupInput {
    /// Email address, optional.
    #[serde(default)]
    pub email: Option<String>,
    /// Mobile number, optional.
    #[serde(default)]
    pub phone: Option<String>,
    /// Topics and channels.
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionInput>,
    /// The consent box.
    #[serde(default)]
    pub consent: bool,
    /// Zone slugs that matter to the resident, optional.
    #[serde(default)]
    pub zones: Vec<String>,
}

/// One topic with its channels, as posted.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct SubscriptionInput {
    /// Topic slug.
    pub topic: String,
    /// Channel names (`email`, `sms`).
    #[serde(default)]
    pub channels: Vec<String>,
}

/// Contacts parsed from input, with the errors of each field.
#[derive(Debug, Clone, Default)]
pub struct Contacts {
    /// Email, when given and valid.
    pub email: Option<Email>,
    /// Mobile number, when given and valid.
    pub phone: Option<PhoneNumber>,
}

/// A valid sign-up.
#[derive(Debug, Clone)]
pub struct Signup {
    /// Email, if given.
    pub email: Option<Email>,
    /// Mobile, if given.
    pub phone: Option<PhoneNumber>,
    /// What to receive (never empty).
    pub choices: BTreeSet<Choice>,
    /// Zones named (well-formed; whether they exist is the use case's check).
    pub zones: BTreeSet<ZoneSlug>,
}

fn non_blank(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Parses the email and phone fields; at least one is required.
pub fn parse_contacts(
    email: &Option<String>,
    phone: &Option<String>,
    errors: &mut FieldErrors,
) -> Contacts {
    parse_contacts_with(email, phone, false, errors)
}

/// As [`parse_contacts`]; with `landline_ok` (voice calls chosen, no SMS) the phone may be a
/// landline.
pub fn parse_contacts_with(
    email: &Option<String>,
    phone: &Option<String>,
    landline_ok: bool,
    errors: &mut FieldErrors,
) -> Contacts {
    let mut contacts = Contacts::default();
    match (non_blank(email), non_blank(phone)) {
        (None, None) => {
            let msg =
                "Indiquez une adresse e-mail ou un numéro de mobile (au moins l'un des deux).";
            errors.add("email", msg);
            errors.add("phone", msg);
        }
        (e, p) => {
            if let Some(e) = e {
                match Email::from_str(e) {
                    Ok(v) => contacts.email = Some(v),
                    Err(m) => errors.add("email", m),
                }
            }
            if let Some(p) = p {
                let parsed = if landline_ok {
                    PhoneNumber::parse_for_calls(p)
                } else {
                    PhoneNumber::from_str(p)
                };
                match parsed {
                    Ok(v) => contacts.phone = Some(v),
                    Err(m) => errors.add("phone", m),
                }
            }
        }
    }
    contacts
}

/// What can be wrong with the topic choices of a sign-up. Every kind is reported under the one
/// `subscriptions` field of forms and the API; the CSV import puts each in its own column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceProblem {
    /// A topic that is unknown, closed or not a topic name.
    Topic,
    /// A channel that is neither email nor SMS.
    Channel,
    /// A channel chosen without its contact (SMS without a mobile number…).
    ContactMissing,
    /// Nothing valid was chosen.
    NothingChosen,
}

impl ChoiceProblem {
    /// Whether the problem is about channels and their contacts rather than topics.
    pub fn is_about_channels(self) -> bool {
        matches!(
            self,
            Self::Channel | Self::ContactMissing | Self::NothingChosen
        )
    }
}

/// Why a sign-up was refused: the message of each field, and what kind of choice problem the
/// `subscriptions` message is, when there is one.
#[derive(Debug, Clone)]
pub struct SignupErrors {
    /// The French message of each field at fault.
    pub fields: FieldErrors,
    /// The kind of the `subscriptions` message.
    pub choices: Option<ChoiceProblem>,
}

impl From<SignupErrors> for DomainError {
    fn from(e: SignupErrors) -> Self {
        DomainError::Validation(e.fields)
    }
}

/// Parses topic choices against the topics open today and the contacts available.
/// Errors go to the `subscriptions` field.
pub fn parse_choices(
    inputs: &[SubscriptionInput],
    open_topics: &[Topic],
    has_email: bool,
    has_phone: bool,
    errors: &mut FieldErrors,
) -> BTreeSet<Choice> {
    choices_with_problem(inputs, open_topics, has_email, has_phone, errors).0
}

/// As `parse_choices`, also telling the kind of the first problem (the one `errors` keeps).
fn choices_with_problem(
    inputs: &[SubscriptionInput],
    open_topics: &[Topic],
    has_email: bool,
    has_phone: bool,
    errors: &mut FieldErrors,
) -> (BTreeSet<Choice>, Option<ChoiceProblem>) {
    const FIELD: &str = "subscriptions";
    let mut choices = BTreeSet::new();
    let mut first: Option<ChoiceProblem> = None;
    let mut problem = |errors: &mut FieldErrors, kind: ChoiceProblem, message: String| {
        first.get_or_insert(kind);
        errors.add(FIELD, message);
    };
    for input in inputs {
        let slug = match TopicSlug::from_str(&input.topic) {
            Ok(s) => s,
            Err(m) => {
                problem(errors, ChoiceProblem::Topic, m.to_string());
                continue;
            }
        };
        let Some(topic) = open_topics.iter().find(|t| t.slug == slug) else {
            problem(
                errors,
                ChoiceProblem::Topic,
                format!("Le thème « {slug} » n'existe pas ou n'est plus proposé."),
            );
            continue;
        };
        for raw in &input.channels {
            let channel = match raw.parse::<Channel>() {
                Ok(c) => c,
                Err(m) => {
                    problem(errors, ChoiceProblem::Channel, m.to_string());
                    continue;
                }
            };
            if let Err(m) = reachable(channel, topic, has_email, has_phone) {
                problem(errors, ChoiceProblem::ContactMissing, m);
                continue;
            }
            choices.insert(Choice {
                topic: slug.clone(),
                channel,
            });
        }
    }
    if choices.is_empty() && errors.get(FIELD).is_none() {
        problem(
            errors,
            ChoiceProblem::NothingChosen,
            "Choisissez au moins un thème et un canal (e-mail ou SMS).".into(),
        );
    }
    (choices, first)
}

/// Refuses a channel the sign-up gives no contact for.
fn reachable(
    channel: Channel,
    topic: &Topic,
    has_email: bool,
    has_phone: bool,
) -> Result<(), String> {
    let missing = match channel {
        Channel::Email if !has_email => "une adresse e-mail",
        Channel::Sms if !has_phone => "un numéro de mobile",
        Channel::Voice if !has_phone => "un numéro de téléphone (fixe ou mobile)",
        _ => return Ok(()),
    };
    Err(format!(
        "Vous avez choisi {} pour « {} » : indiquez aussi {missing}.",
        channel.label(),
        topic.name
    ))
}

impl Signup {
    /// Parses a sign-up, collecting every field's error. `require_consent` is false for staff
    /// entering a paper form (the signed form is the consent).
    pub fn parse(
        input: &SignupInput,
        open_topics: &[Topic],
        require_consent: bool,
    ) -> Result<Signup, SignupErrors> {
        let mut errors = FieldErrors::new();
        let wants = |wanted: Channel| {
            input
                .subscriptions
                .iter()
                .flat_map(|s| &s.channels)
                .any(|c| c.parse::<Channel>() == Ok(wanted))
        };
        // A landline takes calls, never SMS.
        let landline_ok = wants(Channel::Voice) && !wants(Channel::Sms);
        let contacts = parse_contacts_with(&input.email, &input.phone, landline_ok, &mut errors);
        let has_email = contacts.email.is_some() || non_blank(&input.email).is_some();
        let has_phone = contacts.phone.is_some() || non_blank(&input.phone).is_some();
        let (choices, problem) = choices_with_problem(
            &input.subscriptions,
            open_topics,
            has_email,
            has_phone,
            &mut errors,
        );
        let zones = zone::parse_slugs(&input.zones, "zones", &mut errors);
        if require_consent && !input.consent {
            errors.add(
                "consent",
                "Cochez la case de consentement pour recevoir les messages de la Ville.",
            );
        }
        if errors.is_empty() {
            Ok(Signup {
                email: contacts.email,
                phone: contacts.phone,
                choices,
                zones,
            })
        } else {
            Err(SignupErrors {
                fields: errors,
                choices: problem,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::topic::default_topics;

    fn sub(topic: &str, channels: &[&str]) -> SubscriptionInput {
        SubscriptionInput {
            topic: topic.into(),
            channels: channels.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn input(email: &str, phone: &str, subs: Vec<SubscriptionInput>) -> SignupInput {
        SignupInput {
            email: Some(email.into()),
            phone: Some(phone.into()),
            subscriptions: subs,
            consent: true,
            zones: Vec::new(),
        }
    }

    #[test]
    fn a_complete_sign_up_parses() {
        let s = Signup::parse(
            &input(
                "a@exemple.fr",
                "06 12 34 56 78",
                vec![
                    sub("alerte-meteo", &["sms", "email"]),
                    sub("culture-animations", &["email"]),
                ],
            ),
            &default_topics(),
            true,
        )
        .unwrap();
        assert_eq!(s.choices.len(), 3);
        assert_eq!(s.phone.unwrap().as_str(), "+33612345678");
    }

    #[test]
    fn no_contact_names_both_fields() {
        let e = Signup::parse(
            &input(" ", "", vec![sub("alerte-meteo", &["sms"])]),
            &default_topics(),
            true,
        )
        .unwrap_err()
        .fields;
        assert!(e.get("email").unwrap().contains("au moins l'un des deux"));
        assert!(e.get("phone").is_some());
    }

    #[test]
    fn each_bad_field_is_reported() {
        let mut i = input("pas-une-adresse", "05 56 00 00 00", vec![]);
        i.consent = false;
        let e = Signup::parse(&i, &default_topics(), true)
            .unwrap_err()
            .fields;
        assert!(e.get("email").unwrap().contains("n'est pas valide"));
        assert!(e.get("phone").unwrap().contains("mobile"));
        assert!(e
            .get("subscriptions")
            .unwrap()
            .contains("au moins un thème"));
        assert!(e.get("consent").is_some());
    }

    #[test]
    fn unknown_or_closed_topics_are_refused() {
        let e = Signup::parse(
            &input("a@exemple.fr", "", vec![sub("inconnu", &["email"])]),
            &default_topics(),
            true,
        )
        .unwrap_err()
        .fields;
        assert!(e.get("subscriptions").unwrap().contains("« inconnu »"));
    }

    #[test]
    fn a_channel_without_its_contact_is_refused() {
        let e = Signup::parse(
            &input("a@exemple.fr", "", vec![sub("alerte-meteo", &["sms"])]),
            &default_topics(),
            true,
        )
        .unwrap_err();
        assert!(
            e.fields
                .get("subscriptions")
                .unwrap()
                .contains("numéro de mobile"),
            "{e:?}"
        );
        assert_eq!(e.choices, Some(ChoiceProblem::ContactMissing));
    }

    #[test]
    fn each_choice_problem_says_its_kind() {
        let kind = |subs: Vec<SubscriptionInput>| {
            Signup::parse(&input("a@exemple.fr", "", subs), &default_topics(), true)
                .unwrap_err()
                .choices
        };
        assert_eq!(
            kind(vec![sub("inconnu", &["email"])]),
            Some(ChoiceProblem::Topic)
        );
        assert_eq!(
            kind(vec![sub("Pas un thème!", &["email"])]),
            Some(ChoiceProblem::Topic)
        );
        assert_eq!(
            kind(vec![sub("alerte-meteo", &["fax"])]),
            Some(ChoiceProblem::Channel)
        );
        assert_eq!(kind(vec![]), Some(ChoiceProblem::NothingChosen));
        assert!(ChoiceProblem::Channel.is_about_channels());
        assert!(!ChoiceProblem::Topic.is_about_channels());
        let mut no_consent = input("a@exemple.fr", "", vec![sub("alerte-meteo", &["email"])]);
        no_consent.consent = false;
        let e = Signup::parse(&no_consent, &default_topics(), true).unwrap_err();
        assert_eq!(e.choices, None, "{e:?}");
    }

    #[test]
    fn paper_forms_need_no_consent_box() {
        let mut i = input("a@exemple.fr", "", vec![sub("infos-pratiques", &["email"])]);
        i.consent = false;
        assert!(Signup::parse(&i, &default_topics(), false).is_ok());
    }

    #[test]
    fn duplicate_choices_collapse() {
        let s = Signup::parse(
            &input(
                "a@exemple.fr",
                "",
                vec![
                    sub("infos-pratiques", &["email"]),
                    sub("infos-pratiques", &["email", "EMAIL"]),
                ],
            ),
            &default_topics(),
            true,
        )
        .unwrap();
        assert_eq!(s.choices.len(), 1);
    }
}
