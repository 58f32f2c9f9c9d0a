//! Météo-France vigilance as the `cartevigilance/encours` product (DPVigilance) gives it: for
//! each period (J, J1), each domain (a department, `33`, or its coastal sub-domain, `3310`) and
//! each phenomenon, a colour and when it applies.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::campaign::CampaignId;
use crate::domain::zone::ZoneSlug;

/// A phenomenon of the vigilance map (its number in the product; stored by its snake_case
/// English name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phenomenon {
    /// 1.
    Wind,
    /// 2.
    RainFlood,
    /// 3.
    Storms,
    /// 4.
    Flood,
    /// 5.
    SnowIce,
    /// 6.
    Heat,
    /// 7.
    Cold,
    /// 8.
    Avalanches,
    /// 9.
    WavesSubmersion,
}

impl Phenomenon {
    /// Every phenomenon, in the product's order.
    pub const ALL: [Phenomenon; 9] = [
        Self::Wind,
        Self::RainFlood,
        Self::Storms,
        Self::Flood,
        Self::SnowIce,
        Self::Heat,
        Self::Cold,
        Self::Avalanches,
        Self::WavesSubmersion,
    ];

    /// The phenomenon numbered `id` in the product; `None` for a number this version ignores.
    pub fn from_id(id: u32) -> Option<Self> {
        let index = usize::try_from(id).ok()?.checked_sub(1)?;
        Self::ALL.get(index).copied()
    }

    /// Its number in the product.
    pub fn id(self) -> u32 {
        Self::ALL
            .iter()
            .position(|p| *p == self)
            .map_or(0, |i| i as u32 + 1)
    }

    /// The French name Météo-France uses.
    pub fn label(self) -> &'static str {
        match self {
            Self::Wind => "vent violent",
            Self::RainFlood => "pluie-inondation",
            Self::Storms => "orages",
            Self::Flood => "crues",
            Self::SnowIce => "neige-verglas",
            Self::Heat => "canicule",
            Self::Cold => "grand froid",
            Self::Avalanches => "avalanches",
            Self::WavesSubmersion => "vagues-submersion",
        }
    }
}

/// A name that is none of the phenomena.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("phénomène inconnu : « {0} » (vent, pluie-inondation, orages, crues, neige-verglas, canicule, grand-froid, avalanches, vagues-submersion, ou leur numéro 1 à 9)")]
pub struct UnknownPhenomenon(String);

impl std::str::FromStr for Phenomenon {
    type Err = UnknownPhenomenon;

    /// A phenomenon by its number (`1`), its French name (`vent`, `vent violent`,
    /// `grand-froid`) or its stored name (`waves_submersion`).
    fn from_str(s: &str) -> Result<Self, UnknownPhenomenon> {
        let wanted = s.trim().to_lowercase().replace(['-', '_'], " ");
        if let Ok(id) = wanted.parse::<u32>() {
            return Phenomenon::from_id(id).ok_or_else(|| UnknownPhenomenon(s.trim().into()));
        }
        Phenomenon::ALL
            .into_iter()
            .find(|p| {
                let french = p.label().replace('-', " ");
                let stored = format!("{p:?}").to_lowercase();
                wanted == french
                    || french.starts_with(&format!("{wanted} "))
                    || wanted.replace(' ', "") == stored
            })
            .ok_or_else(|| UnknownPhenomenon(s.trim().into()))
    }
}

/// A vigilance colour, from green (1) to red (4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Colour {
    /// 1: no particular vigilance.
    Green,
    /// 2: be attentive.
    Yellow,
    /// 3: be very vigilant.
    Orange,
    /// 4: absolute vigilance.
    Red,
}

impl Colour {
    /// The colour numbered `id` (1 to 4).
    pub fn from_id(id: u32) -> Option<Self> {
        match id {
            1 => Some(Self::Green),
            2 => Some(Self::Yellow),
            3 => Some(Self::Orange),
            4 => Some(Self::Red),
            _ => None,
        }
    }

    /// Its number in the product.
    pub fn id(self) -> u32 {
        match self {
            Self::Green => 1,
            Self::Yellow => 2,
            Self::Orange => 3,
            Self::Red => 4,
        }
    }

    /// The French adjective (`vigilance orange`).
    pub fn label(self) -> &'static str {
        match self {
            Self::Green => "verte",
            Self::Yellow => "jaune",
            Self::Orange => "orange",
            Self::Red => "rouge",
        }
    }
}

impl std::str::FromStr for Colour {
    type Err = FeedError;

    /// A colour's name, French or English (`orange`, `rouge`, `red`…).
    fn from_str(s: &str) -> Result<Self, FeedError> {
        match s.trim().to_lowercase().as_str() {
            "vert" | "verte" | "green" => Ok(Self::Green),
            "jaune" | "yellow" => Ok(Self::Yellow),
            "orange" => Ok(Self::Orange),
            "rouge" | "red" => Ok(Self::Red),
            other => Err(FeedError::Malformed(format!(
                "couleur de vigilance inconnue : « {other} » (jaune, orange, rouge)"
            ))),
        }
    }
}

impl fmt::Display for Colour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One phenomenon at one colour over a domain, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vigilance {
    /// The product's domain (`33`, `3310`).
    pub domain: String,
    pub phenomenon: Phenomenon,
    /// The highest colour over the validity.
    pub colour: Colour,
    /// Start of the hours at that colour.
    pub begins: DateTime<Utc>,
    /// End of the hours at that colour.
    pub ends: DateTime<Utc>,
}

/// Where a weather alert's campaign comes from: the document and the vigilance it relays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSource {
    /// When Météo-France produced the document.
    pub product_time: DateTime<Utc>,
    /// The product's domain (`33`, `3310`).
    pub domain: String,
    pub phenomenon: Phenomenon,
    pub colour: Colour,
    /// Start of the hours at that colour.
    pub begins: DateTime<Utc>,
    /// End of the hours at that colour.
    pub ends: DateTime<Utc>,
}

impl AlertSource {
    /// The source of `v`, read in a document produced at `product_time`.
    pub fn of(v: &Vigilance, product_time: DateTime<Utc>) -> Self {
        Self {
            product_time,
            domain: v.domain.clone(),
            phenomenon: v.phenomenon,
            colour: v.colour,
            begins: v.begins,
            ends: v.ends,
        }
    }

    /// The vigilance it relays.
    pub fn vigilance(&self) -> Vigilance {
        Vigilance {
            domain: self.domain.clone(),
            phenomenon: self.phenomenon,
            colour: self.colour,
            begins: self.begins,
            ends: self.ends,
        }
    }
}

/// A relayed alert still in force, as the store keeps it: one per domain and phenomenon, at
/// the highest colour relayed, until a document no longer shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertInForce {
    /// What was relayed.
    pub source: AlertSource,
    /// The campaign that relays it.
    pub campaign: CampaignId,
}

/// The feed as last polled, shown to staff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedState {
    /// When it was last polled.
    pub checked_at: DateTime<Utc>,
    /// Why that poll failed (none: it succeeded).
    pub error: Option<String>,
    /// The last poll that succeeded, and the production time of its document.
    pub last_success: Option<DateTime<Utc>>,
    pub product_time: Option<DateTime<Utc>>,
    /// Polls failed in a row.
    pub failures_in_a_row: u32,
}

/// What one document says for the domains asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bulletin {
    /// When Météo-France produced it.
    pub updated: DateTime<Utc>,
    /// Every known phenomenon of the domains, J and J1 joined where one continues the other.
    pub vigilances: Vec<Vigilance>,
}

/// Why no bulletin could be had. Nothing is relayed then.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    /// Not the vigilance product's shape.
    #[error("document de vigilance illisible : {0}")]
    Malformed(String),
    /// The feed did not answer (down, timed out).
    #[error("flux de vigilance injoignable : {0}")]
    Unreachable(String),
    /// The feed answered with an error status (401: key refused, 429: quota, 5xx).
    #[error("le flux de vigilance a répondu {0}")]
    Refused(u16),
}

#[derive(Deserialize)]
struct Document {
    product: Product,
}

#[derive(Deserialize)]
struct Product {
    update_time: DateTime<Utc>,
    periods: Vec<Period>,
}

#[derive(Deserialize)]
struct Period {
    begin_validity_time: DateTime<Utc>,
    end_validity_time: DateTime<Utc>,
    timelaps: Timelaps,
}

#[derive(Deserialize)]
struct Timelaps {
    domain_ids: Vec<DomainItem>,
}

#[derive(Deserialize)]
struct DomainItem {
    domain_id: String,
    #[serde(default)]
    phenomenon_items: Vec<PhenomenonItem>,
}

#[derive(Deserialize)]
struct PhenomenonItem {
    /// A string in the current product, a number in older ones.
    phenomenon_id: serde_json::Value,
    phenomenon_max_color_id: u32,
    #[serde(default)]
    timelaps_items: Vec<TimelapsItem>,
}

#[derive(Deserialize)]
struct TimelapsItem {
    begin_time: DateTime<Utc>,
    end_time: DateTime<Utc>,
    color_id: u32,
}

fn phenomenon_of(id: &serde_json::Value) -> Option<Phenomenon> {
    let n = match id {
        serde_json::Value::String(s) => s.trim().parse().ok()?,
        serde_json::Value::Number(n) => u32::try_from(n.as_u64()?).ok()?,
        _ => return None,
    };
    Phenomenon::from_id(n)
}

/// The hours a phenomenon is at its highest colour in a period (the period's when none are given).
fn hours_at_max(item: &PhenomenonItem, period: &Period) -> (DateTime<Utc>, DateTime<Utc>) {
    let at_max: Vec<&TimelapsItem> = item
        .timelaps_items
        .iter()
        .filter(|t| t.color_id == item.phenomenon_max_color_id)
        .collect();
    match (
        at_max.iter().map(|t| t.begin_time).min(),
        at_max.iter().map(|t| t.end_time).max(),
    ) {
        (Some(begins), Some(ends)) => (begins, ends),
        _ => (period.begin_validity_time, period.end_validity_time),
    }
}

/// Reads a `cartevigilance/encours` document for `domains`; phenomena this version does not know
/// are left out, not an error.
pub fn read_bulletin(json: &str, domains: &[&str]) -> Result<Bulletin, FeedError> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| FeedError::Malformed(format!("ce n'est pas du JSON ({e})")))?;
    if value.get("product").is_none() {
        return Err(FeedError::Malformed(
            "ce n'est pas le produit DPVigilance cartevigilance/encours (pas de champ « product »)"
                .into(),
        ));
    }
    let doc: Document = serde_json::from_value(value)
        .map_err(|e| FeedError::Malformed(format!("champ manquant ou mal formé ({e})")))?;
    let mut found: Vec<Vigilance> = Vec::new();
    for period in &doc.product.periods {
        for domain in period
            .timelaps
            .domain_ids
            .iter()
            .filter(|d| domains.contains(&d.domain_id.as_str()))
        {
            for item in &domain.phenomenon_items {
                let (Some(phenomenon), Some(colour)) = (
                    phenomenon_of(&item.phenomenon_id),
                    Colour::from_id(item.phenomenon_max_color_id),
                ) else {
                    continue;
                };
                let (begins, ends) = hours_at_max(item, period);
                found.push(Vigilance {
                    domain: domain.domain_id.clone(),
                    phenomenon,
                    colour,
                    begins,
                    ends,
                });
            }
        }
    }
    Ok(Bulletin {
        updated: doc.product.update_time,
        vigilances: joined(found),
    })
}

/// Joins a vigilance of J1 that continues one of J at the same colour (one alert, not two).
fn joined(mut all: Vec<Vigilance>) -> Vec<Vigilance> {
    all.sort_by(|a, b| {
        (&a.domain, a.phenomenon, a.colour, a.begins).cmp(&(
            &b.domain,
            b.phenomenon,
            b.colour,
            b.begins,
        ))
    });
    let mut out: Vec<Vigilance> = Vec::new();
    for v in all {
        match out.last_mut() {
            Some(last)
                if last.domain == v.domain
                    && last.phenomenon == v.phenomenon
                    && last.colour == v.colour
                    && v.begins <= last.ends =>
            {
                last.ends = last.ends.max(v.ends);
            }
            _ => out.push(v),
        }
    }
    let mut by_key: BTreeMap<(String, Phenomenon), Vec<Vigilance>> = BTreeMap::new();
    for v in out {
        by_key
            .entry((v.domain.clone(), v.phenomenon))
            .or_default()
            .push(v);
    }
    by_key.into_values().flatten().collect()
}

/// What is relayed, and how.
#[derive(Debug, Clone)]
pub struct WeatherPolicy {
    /// The department (`33`, Gironde).
    pub department: String,
    /// Its coastal sub-domain in the product's numbering (`3310`), where there is one.
    pub coastal: Option<String>,
    /// The phenomena relayed.
    pub watched: Vec<Phenomenon>,
    /// The lowest colour relayed.
    pub threshold: Colour,
    /// From this colour up, the alert is sent at once; below it (or always, without one),
    /// submitted to the cabinet for fast approval.
    pub send_at_once_from: Option<Colour>,
    /// An older document is stale: nothing is relayed from it.
    pub stale_after: Duration,
    /// The zones some phenomena's alerts are limited to (`vagues-submersion` → `front-de-mer`);
    /// a phenomenon not listed goes to every subscriber of the topic. Empty by default.
    pub zones: ZoneLimits,
}

/// The zones each phenomenon's alerts are limited to (never an empty set).
pub type ZoneLimits = BTreeMap<Phenomenon, BTreeSet<ZoneSlug>>;

/// Zone limits an operator wrote that cannot be read: in French, naming the entry at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ZoneLimitsError(String);

/// Reads the zone limits as an operator writes them: `phénomène=zone+zone`, entries separated
/// by commas (`vagues-submersion=front-de-mer, crues=front-de-mer+aiguillon`); a phenomenon by
/// its French name or number, a zone by its identifier. Blank: no limit. Errors are French and
/// name the entry at fault.
pub fn parse_zone_limits(text: &str) -> Result<ZoneLimits, ZoneLimitsError> {
    let mut limits = ZoneLimits::new();
    for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let Some((phenomenon, zones)) = entry.split_once('=') else {
            return Err(ZoneLimitsError(format!(
                "« {entry} » : écrivez phénomène=zone (par exemple vagues-submersion=front-de-mer), plusieurs zones séparées par « + »"
            )));
        };
        let phenomenon =
            Phenomenon::from_str(phenomenon).map_err(|e| ZoneLimitsError(e.to_string()))?;
        let mut slugs = BTreeSet::new();
        for zone in zones.split('+').map(str::trim).filter(|z| !z.is_empty()) {
            let slug = ZoneSlug::from_str(zone).map_err(|e| {
                ZoneLimitsError(match ZoneSlug::of_name(zone) {
                    Some(hint) => format!("{e} Écrivez l'identifiant de la zone : « {hint} » ?"),
                    None => e.to_string(),
                })
            })?;
            slugs.insert(slug);
        }
        if slugs.is_empty() {
            return Err(ZoneLimitsError(format!(
                "« {entry} » : nommez au moins une zone après « = » (identifiants séparés par « + »)"
            )));
        }
        if limits.insert(phenomenon, slugs).is_some() {
            return Err(ZoneLimitsError(format!(
                "« {} » est nommé deux fois : réunissez ses zones avec « + »",
                phenomenon.label()
            )));
        }
    }
    Ok(limits)
}

impl Default for WeatherPolicy {
    /// Gironde and its coast; every phenomenon but avalanches; orange and up; red sent at once.
    fn default() -> Self {
        Self {
            department: "33".into(),
            coastal: Some("3310".into()),
            watched: Phenomenon::ALL
                .into_iter()
                .filter(|p| *p != Phenomenon::Avalanches)
                .collect(),
            threshold: Colour::Orange,
            send_at_once_from: Some(Colour::Red),
            stale_after: Duration::hours(12),
            zones: ZoneLimits::new(),
        }
    }
}

impl WeatherPolicy {
    /// The product's domains to read.
    pub fn domains(&self) -> Vec<&str> {
        let mut d = vec![self.department.as_str()];
        d.extend(self.coastal.as_deref());
        d
    }

    /// Whether an alert at `colour` goes out without the cabinet.
    pub fn at_once(&self, colour: Colour) -> bool {
        self.send_at_once_from.is_some_and(|from| colour >= from)
    }

    /// The zones an alert about `phenomena` is limited to; none: every subscriber of the topic.
    /// One phenomenon left unlimited makes the whole alert unlimited (whoever it concerns must
    /// get it); else the alert reaches the union of their zones. The relay's campaigns carry
    /// one phenomenon each, so today this is that phenomenon's zones.
    pub fn zones_for(&self, phenomena: &[Phenomenon]) -> Option<BTreeSet<ZoneSlug>> {
        let mut all = BTreeSet::new();
        for p in phenomena {
            all.extend(self.zones.get(p)?.iter().cloned());
        }
        (!all.is_empty()).then_some(all)
    }

    /// Whether `v` is an alert the town relays, still running at `now`.
    pub fn relays(&self, v: &Vigilance, now: DateTime<Utc>) -> bool {
        self.watched.contains(&v.phenomenon) && v.colour >= self.threshold && v.ends > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str =
        include_str!("../../../../tests/fixtures/meteofrance/vigilance_dpvigilance_encours.json");

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn the_real_product_is_read_for_a_department_and_its_coast() {
        let b = read_bulletin(SAMPLE, &["35", "3010"]).unwrap();
        assert_eq!(b.updated, at("2026-08-26T04:00:28Z"));
        let storms = b
            .vigilances
            .iter()
            .find(|v| v.domain == "35" && v.phenomenon == Phenomenon::Storms)
            .unwrap();
        assert_eq!(storms.colour, Colour::Orange);
        assert!(storms.begins >= at("2026-08-26T04:00:00Z"));
        let coast: Vec<&Vigilance> = b.vigilances.iter().filter(|v| v.domain == "3010").collect();
        assert!(!coast.is_empty());
        assert!(coast
            .iter()
            .all(|v| v.phenomenon == Phenomenon::WavesSubmersion));
        // A domain absent from the document gives nothing, and no error
        assert!(read_bulletin(SAMPLE, &["33", "3310"])
            .unwrap()
            .vigilances
            .is_empty());
    }

    #[test]
    fn a_broken_document_is_an_error_and_unknown_phenomena_are_skipped() {
        assert!(matches!(
            read_bulletin("{", &["33"]),
            Err(FeedError::Malformed(_))
        ));
        assert!(read_bulletin(r#"{"product":{}}"#, &["33"]).is_err());
        let doc = r#"{"product":{"update_time":"2026-12-01T06:00:00Z","periods":[{"echeance":"J",
            "begin_validity_time":"2026-12-01T06:00:00Z","end_validity_time":"2026-12-01T23:59:59Z",
            "timelaps":{"domain_ids":[{"domain_id":"33","max_color_id":3,"phenomenon_items":[
              {"phenomenon_id":"42","phenomenon_max_color_id":3,"timelaps_items":[]},
              {"phenomenon_id":1,"phenomenon_max_color_id":3,"timelaps_items":[
                {"begin_time":"2026-12-01T06:00:00Z","end_time":"2026-12-01T12:00:00Z","color_id":2},
                {"begin_time":"2026-12-01T12:00:00Z","end_time":"2026-12-01T20:00:00Z","color_id":3}]}]}]}}]}}"#;
        let b = read_bulletin(doc, &["33"]).unwrap();
        assert_eq!(b.vigilances.len(), 1);
        let wind = &b.vigilances[0];
        assert_eq!(
            (wind.phenomenon, wind.colour),
            (Phenomenon::Wind, Colour::Orange)
        );
        assert_eq!(
            (wind.begins, wind.ends),
            (at("2026-12-01T12:00:00Z"), at("2026-12-01T20:00:00Z"))
        );
    }

    #[test]
    fn the_older_products_and_other_documents_are_refused_with_a_clear_reason() {
        for (name, text) in [
            (
                "warning_full_13",
                include_str!("../../../../tests/fixtures/meteofrance/meteofrance_warning_full_13.json"),
            ),
            (
                "warning_full_1310",
                include_str!("../../../../tests/fixtures/meteofrance/meteofrance_warning_full_1310.json"),
            ),
            (
                "warning_full_31",
                include_str!("../../../../tests/fixtures/meteofrance/meteofrance_warning_full_31.json"),
            ),
            (
                "currentphenomenons_32",
                include_str!("../../../../tests/fixtures/meteofrance/meteofrance_currentphenomenons_32.json"),
            ),
            (
                "currentphenomenons_13_legacy",
                include_str!("../../../../tests/fixtures/meteofrance/meteofrance_currentphenomenons_13_legacy_issue92197.json"),
            ),
            (
                "warning_dictionary",
                include_str!("../../../../tests/fixtures/meteofrance/meteofrance_warning_dictionary_en_from_test.json"),
            ),
        ] {
            let err = read_bulletin(text, &["13", "1310", "31", "32"]).unwrap_err();
            assert_eq!(
                err.to_string(),
                "document de vigilance illisible : ce n'est pas le produit DPVigilance cartevigilance/encours (pas de champ « product »)",
                "{name}"
            );
        }
        let err = read_bulletin("{ pas du json", &["33"]).unwrap_err();
        assert!(err.to_string().contains("ce n'est pas du JSON"), "{err}");
        let err = read_bulletin(r#"{"product":{"periods":[]}}"#, &["33"]).unwrap_err();
        assert!(err.to_string().contains("update_time"), "{err}");
    }

    #[test]
    fn edited_variants_of_the_real_product_read_as_expected() {
        // The real product with its coastal domain renamed to Gironde's: the coast only.
        let coast = SAMPLE.replace("\"3010\"", "\"3310\"");
        let b = read_bulletin(&coast, &["33", "3310"]).unwrap();
        assert!(!b.vigilances.is_empty());
        assert!(b
            .vigilances
            .iter()
            .all(|v| v.domain == "3310" && v.phenomenon == Phenomenon::WavesSubmersion));
        // Wind renumbered to a phenomenon this version does not know: skipped, the rest read.
        let before = read_bulletin(SAMPLE, &["35"]).unwrap().vigilances;
        let unknown = SAMPLE.replace("\"phenomenon_id\": \"1\"", "\"phenomenon_id\": \"42\"");
        let after = read_bulletin(&unknown, &["35"]).unwrap().vigilances;
        assert!(before.iter().any(|v| v.phenomenon == Phenomenon::Wind));
        assert!(after.iter().all(|v| v.phenomenon != Phenomenon::Wind));
        assert_eq!(after.len(), before.len() - 1);
        // Without its update time, the product is refused naming the field.
        let no_time = SAMPLE.replacen("\"update_time\"", "\"updated\"", 1);
        let err = read_bulletin(&no_time, &["35"]).unwrap_err();
        assert!(err.to_string().contains("update_time"), "{err}");
    }

    #[test]
    fn phenomena_and_colours_have_their_numbers_and_french_names() {
        for p in Phenomenon::ALL {
            assert_eq!(Phenomenon::from_id(p.id()), Some(p));
        }
        assert_eq!(Phenomenon::from_id(0), None);
        assert_eq!(Phenomenon::from_id(10), None);
        assert_eq!(Phenomenon::WavesSubmersion.label(), "vagues-submersion");
        assert_eq!(Colour::from_id(4), Some(Colour::Red));
        for c in [Colour::Green, Colour::Yellow, Colour::Orange, Colour::Red] {
            assert_eq!(Colour::from_id(c.id()), Some(c));
        }
        for (name, p) in [
            ("vent", Phenomenon::Wind),
            ("Vent violent", Phenomenon::Wind),
            ("9", Phenomenon::WavesSubmersion),
            ("vagues-submersion", Phenomenon::WavesSubmersion),
            ("waves_submersion", Phenomenon::WavesSubmersion),
            ("grand-froid", Phenomenon::Cold),
            ("neige", Phenomenon::SnowIce),
        ] {
            assert_eq!(name.parse::<Phenomenon>(), Ok(p), "{name}");
        }
        for bad in ["", "10", "grêle"] {
            assert!(bad.parse::<Phenomenon>().is_err(), "{bad}");
        }
        assert!(Colour::Red > Colour::Orange);
    }

    fn slugs(list: &[&str]) -> BTreeSet<ZoneSlug> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn zone_limits_are_read_as_phenomenon_equals_zones() {
        let limits = parse_zone_limits(
            " vagues-submersion=front-de-mer, crues = front-de-mer + aiguillon ,",
        )
        .unwrap();
        assert_eq!(limits.len(), 2);
        assert_eq!(
            limits[&Phenomenon::WavesSubmersion],
            slugs(&["front-de-mer"])
        );
        assert_eq!(
            limits[&Phenomenon::Flood],
            slugs(&["aiguillon", "front-de-mer"])
        );
        // By number too; blank is no limit
        assert_eq!(
            parse_zone_limits("9=front-de-mer").unwrap(),
            parse_zone_limits("vagues-submersion=front-de-mer").unwrap()
        );
        assert!(parse_zone_limits("  ").unwrap().is_empty());
        for (bad, says) in [
            ("vagues-submersion", "écrivez phénomène=zone"),
            ("vagues-submersion=", "nommez au moins une zone"),
            ("vagues-submersion= + ", "nommez au moins une zone"),
            ("grêle=front-de-mer", "phénomène inconnu : « grêle »"),
            ("vent=Front de mer", "« front-de-mer » ?"),
            ("vent=front_de_mer", "Identifiant de zone invalide"),
            (
                "vent=plage,vent violent=port",
                "« vent violent » est nommé deux fois",
            ),
        ] {
            let err = parse_zone_limits(bad).unwrap_err();
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn an_alert_is_limited_to_the_union_of_its_phenomena_zones_unless_one_is_unlimited() {
        let policy = WeatherPolicy {
            zones: parse_zone_limits(
                "vagues-submersion=front-de-mer, crues=aiguillon+front-de-mer",
            )
            .unwrap(),
            ..WeatherPolicy::default()
        };
        assert_eq!(
            policy.zones_for(&[Phenomenon::WavesSubmersion]),
            Some(slugs(&["front-de-mer"]))
        );
        assert_eq!(
            policy.zones_for(&[Phenomenon::WavesSubmersion, Phenomenon::Flood]),
            Some(slugs(&["aiguillon", "front-de-mer"]))
        );
        assert_eq!(policy.zones_for(&[Phenomenon::Wind]), None);
        assert_eq!(
            policy.zones_for(&[Phenomenon::WavesSubmersion, Phenomenon::Wind]),
            None
        );
        assert_eq!(policy.zones_for(&[]), None);
        // Off by default: every alert goes to the whole topic
        assert_eq!(
            WeatherPolicy::default().zones_for(&[Phenomenon::WavesSubmersion]),
            None
        );
    }

    #[test]
    fn the_default_policy_reads_gironde_and_its_coast() {
        let p = WeatherPolicy::default();
        assert_eq!(p.domains(), ["33", "3310"]);
        assert!(!p.watched.contains(&Phenomenon::Avalanches));
        assert_eq!(
            (p.threshold, p.send_at_once_from),
            (Colour::Orange, Some(Colour::Red))
        );
        assert!(p.at_once(Colour::Red) && !p.at_once(Colour::Orange));
    }
}
