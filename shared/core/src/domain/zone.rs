//! Zones of the town (« Front de mer », « Le Moulleau », the streets of a works site): residents
//! name the ones that matter to them, and a campaign may be limited to some of them.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::FieldErrors;

/// A zone identifier: lower-case letters, digits and dashes, 2 to 60 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ZoneSlug(String);

/// A zone identifier that breaks the slug rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Identifiant de zone invalide : « {0} » (lettres minuscules, chiffres et tirets).")]
pub struct ZoneSlugError(String);

impl FromStr for ZoneSlug {
    type Err = ZoneSlugError;

    fn from_str(input: &str) -> Result<Self, ZoneSlugError> {
        let s = input.trim();
        let ok = (2..=60).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok {
            Ok(ZoneSlug(s.to_owned()))
        } else {
            Err(ZoneSlugError(s.chars().take(80).collect()))
        }
    }
}

impl ZoneSlug {
    /// The slug as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The slug of a zone's name: accents folded, every other run of characters a dash
    /// (« Cœur de Ville – travaux » → `coeur-de-ville-travaux`); none when nothing is left.
    pub fn of_name(name: &str) -> Option<Self> {
        let mut out = String::new();
        for c in name.chars().flat_map(fold_accent) {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        let trimmed: String = out.trim_end_matches('-').chars().take(60).collect();
        trimmed.trim_end_matches('-').parse().ok()
    }
}

/// A French letter without its accent (ligatures spelt out); other characters unchanged. Zone
/// slugs and archive addresses are written with it.
pub(crate) fn fold_accent(c: char) -> Vec<char> {
    let plain = match c {
        'à' | 'â' | 'ä' | 'á' | 'À' | 'Â' | 'Ä' => 'a',
        'ç' | 'Ç' => 'c',
        'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => 'e',
        'î' | 'ï' | 'Î' | 'Ï' => 'i',
        'ô' | 'ö' | 'Ô' | 'Ö' => 'o',
        'ù' | 'û' | 'ü' | 'Ù' | 'Û' | 'Ü' => 'u',
        'ÿ' | 'Ÿ' => 'y',
        'œ' | 'Œ' => return vec!['o', 'e'],
        'æ' | 'Æ' => return vec!['a', 'e'],
        other => other,
    };
    vec![plain]
}

impl TryFrom<String> for ZoneSlug {
    type Error = ZoneSlugError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<ZoneSlug> for String {
    fn from(s: ZoneSlug) -> Self {
        s.0
    }
}

impl fmt::Display for ZoneSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A zone of the town, with the streets that lie in it (so a resident finds it by street).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    /// Identifier, made from the name.
    pub slug: ZoneSlug,
    /// Its name (« Front de mer »).
    pub name: String,
    /// One sentence saying where it is.
    pub description: String,
    /// Street names in it, as residents write them (may be empty).
    #[serde(default)]
    pub streets: Vec<String>,
}

/// A zone as staff post it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ZoneInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub streets: Vec<String>,
}

/// The most streets one zone may list.
pub const MAX_STREETS: usize = 500;

/// The slug of a zone's name (trimmed), or why the name is refused.
fn zone_slug(name: &str, errors: &mut FieldErrors) -> Option<ZoneSlug> {
    if name.is_empty() {
        errors.add("name", "Indiquez le nom de la zone.");
        return None;
    }
    if name.chars().count() > 100 {
        errors.add("name", "Ce nom est trop long (100 caractères au plus).");
        return None;
    }
    let slug = ZoneSlug::of_name(name);
    if slug.is_none() {
        errors.add(
            "name",
            "Le nom de la zone doit contenir au moins deux lettres ou chiffres.",
        );
    }
    slug
}

/// A zone's streets trimmed, blanks and repeats dropped; the invalid ones refused.
fn zone_streets(input: &[String], errors: &mut FieldErrors) -> Vec<String> {
    let mut streets: Vec<String> = Vec::new();
    for street in input {
        let street = street.trim();
        if street.is_empty() || streets.iter().any(|s| s == street) {
            continue;
        }
        if street.chars().count() > 120 || street.chars().any(char::is_control) {
            errors.add(
                "streets",
                format!(
                    "Nom de rue invalide : « {} » (120 caractères au plus, sans caractère de contrôle).",
                    street.chars().take(120).filter(|c| !c.is_control()).collect::<String>()
                ),
            );
            continue;
        }
        streets.push(street.to_owned());
    }
    if streets.len() > MAX_STREETS {
        errors.add(
            "streets",
            format!("Une zone compte {MAX_STREETS} rues au plus."),
        );
    }
    streets
}

impl Zone {
    /// Parses staff input: a name (its slug is the identifier), a description, the streets
    /// (trimmed, blanks and repeats dropped).
    pub fn parse(input: &ZoneInput) -> Result<Zone, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = input.name.as_deref().map(str::trim).unwrap_or("");
        let slug = zone_slug(name, &mut errors);
        let description = input.description.as_deref().map(str::trim).unwrap_or("");
        if description.chars().count() > 500 {
            errors.add(
                "description",
                "Cette description est trop longue (500 caractères au plus).",
            );
        }
        if name
            .chars()
            .chain(description.chars())
            .any(char::is_control)
        {
            errors.add(
                "name",
                "Le nom et la description ne peuvent pas contenir de caractères de contrôle.",
            );
        }
        let streets = zone_streets(&input.streets, &mut errors);
        match slug {
            Some(slug) if errors.is_empty() => Ok(Zone {
                slug,
                name: name.to_owned(),
                description: description.to_owned(),
                streets,
            }),
            _ => Err(errors),
        }
    }

    /// True when `street` (as a resident types it: any case, accents or not) is one of its
    /// streets.
    pub fn has_street(&self, street: &str) -> bool {
        let wanted = street_key(street);
        !wanted.is_empty() && self.streets.iter().any(|s| street_key(s) == wanted)
    }
}

/// A street name compared loosely: accents folded, lower case, punctuation and spaces as one.
fn street_key(street: &str) -> String {
    ZoneSlug::of_name(street)
        .map(String::from)
        .unwrap_or_default()
}

/// Parses zone slugs typed or posted (`zones` field); repeats dropped. Whether each exists is
/// checked against the store by [`check_known`].
pub fn parse_slugs(raw: &[String], field: &str, errors: &mut FieldErrors) -> BTreeSet<ZoneSlug> {
    let mut out = BTreeSet::new();
    for r in raw.iter().filter(|r| !r.trim().is_empty()) {
        match ZoneSlug::from_str(r) {
            Ok(s) => {
                out.insert(s);
            }
            Err(e) => errors.add(field, e),
        }
    }
    out
}

/// Refuses a zone that is not among `known`, naming it, under `field`.
pub fn check_known(
    wanted: &BTreeSet<ZoneSlug>,
    known: &[Zone],
    field: &str,
    errors: &mut FieldErrors,
) {
    if let Some(unknown) = wanted.iter().find(|w| !known.iter().any(|z| &z.slug == *w)) {
        errors.add(field, format!("La zone « {unknown} » n'existe pas."));
    }
}

/// Who a campaign limited to zones reaches: the subscribers who named one of its zones, and
/// those who named none when staff include them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneFilter {
    /// The campaign's zones (never empty).
    pub zones: BTreeSet<ZoneSlug>,
    /// Whether residents who named no zone are reached too.
    pub include_unzoned: bool,
}

impl ZoneFilter {
    /// Whether a subscriber who named `named` is reached.
    pub fn admits(&self, named: &BTreeSet<ZoneSlug>) -> bool {
        if named.is_empty() {
            self.include_unzoned
        } else {
            !named.is_disjoint(&self.zones)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str, streets: &[&str]) -> Result<Zone, FieldErrors> {
        Zone::parse(&ZoneInput {
            name: Some(name.into()),
            description: Some("Le long du bassin.".into()),
            streets: streets.iter().map(|s| s.to_string()).collect(),
        })
    }

    #[test]
    fn a_zone_takes_its_slug_from_its_name_with_accents_folded() {
        let z = zone(
            "  Cœur de Ville – travaux ",
            &["Rue du Maréchal Foch", " ", "Rue du Maréchal Foch"],
        )
        .unwrap();
        assert_eq!(z.slug.as_str(), "coeur-de-ville-travaux");
        assert_eq!(z.name, "Cœur de Ville – travaux");
        assert_eq!(z.streets, vec!["Rue du Maréchal Foch".to_owned()]);
        assert_eq!(
            zone("Front de mer", &[]).unwrap().slug.as_str(),
            "front-de-mer"
        );
    }

    #[test]
    fn bad_zone_input_names_the_field_in_french() {
        let e = zone("", &[]).unwrap_err();
        assert_eq!(e.get("name"), Some("Indiquez le nom de la zone."));
        let e = zone("!!", &[]).unwrap_err();
        assert!(e.get("name").unwrap().contains("deux lettres"));
        let long = "r".repeat(121);
        let e = zone("Aiguillon", &[&long]).unwrap_err();
        assert!(e.get("streets").unwrap().contains("Nom de rue invalide"));
    }

    #[test]
    fn a_street_is_found_whatever_its_case_and_accents() {
        let z = zone(
            "Front de mer",
            &["Boulevard de la Plage", "Rue Général de Gaulle"],
        )
        .unwrap();
        assert!(z.has_street("boulevard de la plage"));
        assert!(z.has_street("rue general de gaulle"));
        assert!(!z.has_street("rue de la plage"));
        assert!(!z.has_street(""));
    }

    #[test]
    fn slugs_are_parsed_and_unknown_zones_named() {
        let mut errors = FieldErrors::new();
        let known = [zone("Front de mer", &[]).unwrap()];
        let wanted = parse_slugs(
            &["front-de-mer".into(), "front-de-mer".into(), "".into()],
            "zones",
            &mut errors,
        );
        assert_eq!(wanted.len(), 1);
        check_known(&wanted, &known, "zones", &mut errors);
        assert!(errors.is_empty());
        let other = parse_slugs(&["le-moulleau".into()], "zones", &mut errors);
        check_known(&other, &known, "zones", &mut errors);
        assert_eq!(
            errors.get("zones"),
            Some("La zone « le-moulleau » n'existe pas.")
        );
        let mut errors = FieldErrors::new();
        parse_slugs(&["Front de mer".into()], "zones", &mut errors);
        assert!(errors
            .get("zones")
            .unwrap()
            .contains("Identifiant de zone invalide"));
    }

    #[test]
    fn a_filter_admits_the_named_zones_and_the_unzoned_only_when_asked() {
        let front: ZoneSlug = "front-de-mer".parse().unwrap();
        let moulleau: ZoneSlug = "le-moulleau".parse().unwrap();
        let strict = ZoneFilter {
            zones: [front.clone()].into(),
            include_unzoned: false,
        };
        assert!(strict.admits(&[front.clone(), moulleau.clone()].into()));
        assert!(!strict.admits(&[moulleau.clone()].into()));
        assert!(!strict.admits(&BTreeSet::new()));
        let wide = ZoneFilter {
            include_unzoned: true,
            ..strict
        };
        assert!(wide.admits(&BTreeSet::new()));
        assert!(!wide.admits(&[moulleau].into()));
    }
}
