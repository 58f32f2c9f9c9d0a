//! Topics residents subscribe to: permanent ones and temporary ones that end on a date.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A topic identifier: lower-case letters, digits and dashes, 2 to 60 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TopicSlug(String);

/// A topic identifier that breaks the slug rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Identifiant de thème invalide : « {0} » (lettres minuscules, chiffres et tirets).")]
pub struct TopicSlugError(String);

impl FromStr for TopicSlug {
    type Err = TopicSlugError;

    fn from_str(input: &str) -> Result<Self, TopicSlugError> {
        let s = input.trim();
        let ok = (2..=60).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(TopicSlug(s.to_owned()))
        } else {
            Err(TopicSlugError(s.to_owned()))
        }
    }
}

impl TopicSlug {
    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TopicSlug {
    type Error = TopicSlugError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<TopicSlug> for String {
    fn from(s: TopicSlug) -> Self {
        s.0
    }
}

impl fmt::Display for TopicSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The emergency topics: the only ones the sign-up forms offer voice calls on.
pub const EMERGENCY_TOPICS: &[&str] = &["alerte-meteo"];

/// Whether a topic lasts or ends on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TopicKind {
    /// Always offered while active.
    Permanent,
    /// Offered until its end date (inclusive).
    Temporary,
}

impl TopicKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            TopicKind::Permanent => "permanent",
            TopicKind::Temporary => "temporary",
        }
    }
}

/// A subject residents can follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    /// Stable identifier.
    pub slug: TopicSlug,
    /// French name shown to residents.
    pub name: String,
    /// French description shown on the sign-up form.
    pub description: String,
    /// Permanent or temporary.
    pub kind: TopicKind,
    /// Last day (Europe/Paris) of a temporary topic.
    pub ends_on: Option<NaiveDate>,
    /// False once staff close the topic.
    pub active: bool,
}

impl Topic {
    /// True when residents may choose this topic on the given town date.
    pub fn is_open_on(&self, today: NaiveDate) -> bool {
        self.active && self.ends_on.is_none_or(|end| today <= end)
    }
}

fn topic(slug: &str, name: &str, description: &str) -> Topic {
    Topic {
        slug: TopicSlug(slug.to_owned()),
        name: name.to_owned(),
        description: description.to_owned(),
        kind: TopicKind::Permanent,
        ends_on: None,
        active: true,
    }
}

/// The topics every installation starts with.
pub fn default_topics() -> Vec<Topic> {
    vec![
        topic(
            "culture-animations",
            "Culture/Animations",
            "Spectacles, expositions, fêtes et animations de la ville.",
        ),
        topic(
            "infos-pratiques",
            "Informations pratiques",
            "Dates d'inscription, travaux, fermetures de services, démarches.",
        ),
        topic(
            "alerte-meteo",
            "Alerte météo",
            "Vigilances de Météo-France et de la préfecture (vent, orages, submersion…).",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn defaults_are_the_three_town_topics() {
        let slugs: Vec<_> = default_topics().into_iter().map(|t| t.slug.0).collect();
        assert_eq!(
            slugs,
            ["culture-animations", "infos-pratiques", "alerte-meteo"]
        );
    }

    #[test]
    fn temporary_topic_closes_after_its_end_date() {
        let mut t = topic("travaux-coeur-de-ville", "Travaux Cœur de Ville", "");
        t.kind = TopicKind::Temporary;
        t.ends_on = Some(date(2026, 12, 31));
        assert!(t.is_open_on(date(2026, 12, 31)));
        assert!(!t.is_open_on(date(2027, 1, 1)));
    }

    #[test]
    fn closed_topic_is_not_open() {
        let mut t = topic("infos-pratiques", "x", "");
        t.active = false;
        assert!(!t.is_open_on(date(2026, 1, 1)));
    }

    #[test]
    fn slugs_are_checked() {
        assert!(TopicSlug::from_str("travaux-2027").is_ok());
        for bad in ["", "a", "Culture", "é-t-é", "-x", "x-", "a b"] {
            assert!(TopicSlug::from_str(bad).is_err(), "{bad}");
        }
    }
}
