//! The weather relay: a Météo-France vigilance bulletin in, urgent campaigns on `alerte-meteo`
//! out — once per (domain, phenomenon, colour, validity), sent at once or submitted to the
//! cabinet as the policy says.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Europe::Paris;

use crate::clock::Clock;
use crate::clock::Month;
use crate::domain::campaign::{CampaignId, CampaignInput, EmailInput, SmsInput};
use crate::domain::sms::analyze;
use crate::domain::staff::{Role, StaffIdentity};
use crate::domain::weather::read_bulletin;
use crate::domain::weather::{Bulletin, Colour, Phenomenon, Vigilance};
use crate::error::DomainError;
use crate::ports::{Counter, QuotaStore, StatsStore, WeatherFeed};
use crate::use_cases::campaigns::Campaigns;

/// How long past an alert's end its "relayed" marker stays: the same episode, extended in a
/// later document, is not relayed twice.
const MARKER_MARGIN: Duration = Duration::hours(6);

/// The topic weather alerts go to.
pub const WEATHER_TOPIC: &str = "alerte-meteo";

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
}

/// What became of one vigilance of a bulletin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayOutcome {
    /// A campaign was created and sent at once.
    SentAtOnce(CampaignId),
    /// A campaign was created and submitted to the cabinet.
    Submitted(CampaignId),
    /// This alert (or a higher colour of it) was relayed before.
    AlreadyRelayed,
    /// Below the colour relayed.
    BelowThreshold,
    /// A phenomenon the town does not relay.
    NotWatched,
    /// Its validity is over.
    Over,
}

/// One vigilance and what the relay did with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayLine {
    pub vigilance: Vigilance,
    pub outcome: RelayOutcome,
}

impl RelayLine {
    /// Whether a campaign was created for it.
    pub fn relayed(&self) -> bool {
        matches!(
            self.outcome,
            RelayOutcome::SentAtOnce(_) | RelayOutcome::Submitted(_)
        )
    }

    /// One French line for the person who ran the cycle.
    pub fn describe(&self) -> String {
        let v = &self.vigilance;
        let what = format!(
            "Vigilance {} {} (domaine {}, {})",
            v.colour,
            v.phenomenon.label(),
            v.domain,
            validity(v)
        );
        let why = match &self.outcome {
            RelayOutcome::SentAtOnce(id) => format!("relayée : campagne {id} envoyée aussitôt"),
            RelayOutcome::Submitted(id) => {
                format!("relayée : campagne {id} soumise au cabinet pour approbation rapide")
            }
            RelayOutcome::AlreadyRelayed => {
                "ignorée : déjà relayée (ou à une couleur plus haute)".into()
            }
            RelayOutcome::BelowThreshold => "ignorée : sous le seuil de relais".into(),
            RelayOutcome::NotWatched => "ignorée : phénomène non relayé par la Ville".into(),
            RelayOutcome::Over => "ignorée : validité terminée".into(),
        };
        format!("{what} — {why}.")
    }
}

/// `du 01/12 à 12 h au 01/12 à 20 h`, Paris time.
fn validity(v: &Vigilance) -> String {
    let fmt = |t: DateTime<Utc>| t.with_timezone(&Paris).format("%d/%m à %H h").to_string();
    format!("du {} au {}", fmt(v.begins), fmt(v.ends))
}

/// The relay's own identities: the author of the alerts it writes, and the policy that approves
/// the colours sent at once (shown as such in the audit trail).
fn relay_author() -> StaffIdentity {
    StaffIdentity {
        id: "relais-meteo".into(),
        name: "Relais vigilance Météo-France".into(),
        roles: [Role::Redaction].into(),
        email: None,
        phone: None,
    }
}

fn at_once_policy() -> StaffIdentity {
    StaffIdentity {
        id: "politique-alerte".into(),
        name: "Politique d'alerte (envoi immédiat)".into(),
        roles: [Role::Cabinet].into(),
        email: None,
        phone: None,
    }
}

/// The ports and settings the relay needs.
pub struct WeatherRelayDeps {
    /// Where "already relayed" is written once, atomically.
    pub quotas: Arc<dyn QuotaStore>,
    /// Counts the feed's failures (shown to staff with the statistics).
    pub stats: Arc<dyn StatsStore>,
    pub campaigns: Arc<Campaigns>,
    pub clock: Arc<dyn Clock>,
    /// The town's name in messages.
    pub town: String,
    pub policy: WeatherPolicy,
}

/// Relays vigilance bulletins.
pub struct WeatherRelay {
    d: WeatherRelayDeps,
}

impl WeatherRelay {
    /// Builds the relay.
    pub fn new(d: WeatherRelayDeps) -> Self {
        Self { d }
    }

    /// The policy in use.
    pub fn policy(&self) -> &WeatherPolicy {
        &self.d.policy
    }

    /// Fetches the feed and runs a cycle on it. A feed that is down, refuses, answers something
    /// unreadable or stale relays nothing: the failure is counted and logged (an alarm on AWS
    /// matches the log), and returned.
    pub async fn poll(&self, feed: &dyn WeatherFeed) -> Result<Vec<RelayLine>, DomainError> {
        let outcome = match feed.current().await {
            Ok(text) => match read_bulletin(&text, &self.d.policy.domains()) {
                Ok(bulletin) => self.cycle(&bulletin).await,
                Err(e) => Err(DomainError::Unavailable(e.to_string())),
            },
            Err(e) => Err(DomainError::Unavailable(e.to_string())),
        };
        if let Err(DomainError::Unavailable(why)) = &outcome {
            tracing::warn!(alarm = "weather_feed_failed", reason = %why, "weather feed poll failed");
            self.d
                .stats
                .add(
                    Month::of(self.d.clock.now()),
                    Counter::WeatherFeedFailures,
                    1,
                )
                .await?;
        }
        outcome
    }

    /// One relay cycle over a bulletin. A stale bulletin relays nothing. Two cycles at once
    /// relay an alert once: the first to write its marker in the store creates the campaign.
    pub async fn cycle(&self, bulletin: &Bulletin) -> Result<Vec<RelayLine>, DomainError> {
        let now = self.d.clock.now();
        if now - bulletin.updated > self.d.policy.stale_after {
            return Err(DomainError::Unavailable(format!(
                "document de vigilance périmé (produit le {}) : rien n'est relayé",
                bulletin
                    .updated
                    .with_timezone(&Paris)
                    .format("%d/%m/%Y à %H:%M")
            )));
        }
        let mut lines = Vec::new();
        for v in &bulletin.vigilances {
            let outcome = self.relay(v, now).await?;
            lines.push(RelayLine {
                vigilance: v.clone(),
                outcome,
            });
        }
        Ok(lines)
    }

    async fn relay(&self, v: &Vigilance, now: DateTime<Utc>) -> Result<RelayOutcome, DomainError> {
        let policy = &self.d.policy;
        if !policy.watched.contains(&v.phenomenon) {
            return Ok(RelayOutcome::NotWatched);
        }
        if v.colour < policy.threshold {
            return Ok(RelayOutcome::BelowThreshold);
        }
        if v.ends <= now {
            return Ok(RelayOutcome::Over);
        }
        // The marker of this colour, written once for all concurrent cycles and kept while the
        // alert lasts (Météo-France moves an ongoing alert's hours from one document to the
        // next: they do not name it). Lower colours are marked too, so a later downgrade of the
        // same alert is not relayed, while an upgrade is.
        let keep_until = v.ends + MARKER_MARGIN;
        let marker = |colour: Colour| {
            format!(
                "weather:{}:{}:{}",
                v.domain,
                v.phenomenon.id(),
                colour.label()
            )
        };
        if self
            .d
            .quotas
            .take(&marker(v.colour), 1, now, keep_until)
            .await?
            .is_none()
        {
            return Ok(RelayOutcome::AlreadyRelayed);
        }
        for lower in [Colour::Yellow, Colour::Orange]
            .into_iter()
            .filter(|c| *c >= policy.threshold && *c < v.colour)
        {
            self.d
                .quotas
                .take(&marker(lower), 1, now, keep_until)
                .await?;
        }
        self.create(v).await
    }

    async fn create(&self, v: &Vigilance) -> Result<RelayOutcome, DomainError> {
        let input = alert_campaign(&self.d.town, v);
        let author = relay_author();
        let draft = self
            .d
            .campaigns
            .create_weather_alert(&author, &input)
            .await?;
        let submitted = self.d.campaigns.submit(&author, draft.id).await?;
        if self
            .d
            .policy
            .send_at_once_from
            .is_some_and(|from| v.colour >= from)
        {
            self.d
                .campaigns
                .approve(&at_once_policy(), submitted.id, Some(submitted.version))
                .await?;
            Ok(RelayOutcome::SentAtOnce(submitted.id))
        } else {
            Ok(RelayOutcome::Submitted(submitted.id))
        }
    }
}

/// The alert's SMS: the long form when it fits one GSM-7 segment, else the short one.
pub fn alert_sms(town: &str, v: &Vigilance) -> String {
    let long = format!(
        "Ville d'{town} : vigilance {} {} {}. Suivez les consignes de securite.",
        v.colour,
        v.phenomenon.label(),
        validity(v)
    );
    let fits = |text: &str| {
        let a = analyze(text);
        a.segments == 1 && a.ucs2_characters.is_empty()
    };
    if fits(&long) {
        return long;
    }
    format!(
        "Ville d'{town} : vigilance {} {} jusqu'au {}.",
        v.colour,
        v.phenomenon.label(),
        v.ends.with_timezone(&Paris).format("%d/%m %Hh")
    )
}

/// The campaign of one alert: urgent, on `alerte-meteo`, SMS and email.
fn alert_campaign(town: &str, v: &Vigilance) -> CampaignInput {
    let title = format!(
        "Vigilance {} {} — {}",
        v.colour,
        v.phenomenon.label(),
        validity(v)
    );
    let body = format!(
        "**Météo-France place le secteur en vigilance {} {}**, {}.\n\n{}\n\nSuivez l'évolution sur vigilance.meteofrance.fr et les consignes des autorités.",
        v.colour,
        v.phenomenon.label(),
        validity(v),
        advice(v.phenomenon, v.colour)
    );
    CampaignInput {
        title: Some(title),
        topics: vec![WEATHER_TOPIC.into()],
        sms: Some(SmsInput {
            text: Some(alert_sms(town, v)),
        }),
        email: Some(EmailInput {
            subject: Some(format!(
                "Vigilance {} {} à {town}",
                v.colour,
                v.phenomenon.label()
            )),
            body_markdown: Some(body),
        }),
        urgent: true,
        send_at: None,
    }
}

/// Météo-France's safety advice for a phenomenon at orange or red, shortened.
pub fn advice(phenomenon: Phenomenon, colour: Colour) -> &'static str {
    let red = colour >= Colour::Red;
    match (phenomenon, red) {
        (Phenomenon::Wind, false) => "Limitez vos déplacements. Ne vous promenez pas en forêt ni sur le front de mer. Rangez ou fixez les objets susceptibles d'être emportés.",
        (Phenomenon::Wind, true) => "Restez chez vous et évitez tout déplacement. Mettez-vous à l'abri dans un bâtiment, loin des fenêtres. Ne touchez pas aux fils électriques tombés au sol.",
        (Phenomenon::RainFlood | Phenomenon::Flood, false) => "Ne vous engagez pas, à pied ni en voiture, sur une route immergée. Éloignez-vous des cours d'eau. Mettez vos biens à l'abri de la montée des eaux.",
        (Phenomenon::RainFlood | Phenomenon::Flood, true) => "Évitez tout déplacement. Réfugiez-vous dans un étage ou un point haut. Ne descendez pas dans les sous-sols et tenez-vous prêts à évacuer sur ordre des autorités.",
        (Phenomenon::Storms, false) => "Abritez-vous hors des zones boisées, évitez les activités extérieures et l'usage du téléphone fixe. Ne vous abritez pas sous un arbre.",
        (Phenomenon::Storms, true) => "Évitez tout déplacement et restez à l'abri dans un bâtiment. Débranchez les appareils électriques. Ne vous abritez pas sous un arbre.",
        (Phenomenon::SnowIce, false) => "Limitez vos déplacements, renseignez-vous sur l'état des routes, équipez votre véhicule.",
        (Phenomenon::SnowIce, true) => "Restez chez vous et n'entreprenez aucun déplacement. Protégez-vous du froid.",
        (Phenomenon::Heat, false) => "Buvez régulièrement de l'eau, mouillez-vous le corps, évitez les efforts aux heures chaudes et prenez des nouvelles des personnes fragiles.",
        (Phenomenon::Heat, true) => "Restez au frais, buvez de l'eau, ne faites aucun effort physique et prenez des nouvelles de vos proches fragiles. Appelez le 15 en cas de malaise.",
        (Phenomenon::Cold, false) => "Évitez les expositions prolongées au froid, habillez-vous chaudement et prenez des nouvelles des personnes fragiles.",
        (Phenomenon::Cold, true) => "Restez à l'intérieur autant que possible, chauffez-vous sans surchauffer et sans appareil de fortune. Signalez les personnes sans abri au 115.",
        (Phenomenon::WavesSubmersion, false) => "Éloignez-vous du littoral et des digues. Ne vous baignez pas, ne pratiquez pas d'activité nautique, ne vous promenez pas sur le front de mer.",
        (Phenomenon::WavesSubmersion, true) => "Évitez tout déplacement près du littoral. Mettez-vous à l'abri dans un étage et tenez-vous prêts à évacuer sur ordre des autorités.",
        (Phenomenon::Avalanches, _) => "Respectez les consignes des autorités et renoncez aux sorties en montagne hors des pistes ouvertes.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vigilance(phenomenon: Phenomenon, colour: Colour, hours: i64) -> Vigilance {
        let begins: DateTime<Utc> = "2026-12-01T05:00:00Z".parse().unwrap();
        Vigilance {
            domain: "3310".into(),
            phenomenon,
            colour,
            begins,
            ends: begins + Duration::hours(hours),
        }
    }

    #[test]
    fn every_alert_sms_fits_one_gsm7_segment() {
        for town in ["Arcachon", "Saint-Jean-de-Luz-sur-Nivelle"] {
            for p in Phenomenon::ALL {
                for c in [Colour::Orange, Colour::Red] {
                    for hours in [3, 40] {
                        let text = alert_sms(town, &vigilance(p, c, hours));
                        let a = analyze(&text);
                        assert_eq!((a.segments, a.ucs2_characters.len()), (1, 0), "{text}");
                        assert!(
                            text.contains(c.label()) && text.contains(p.label()),
                            "{text}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_email_names_the_phenomenon_colour_validity_and_advice() {
        let v = vigilance(Phenomenon::WavesSubmersion, Colour::Red, 10);
        let c = alert_campaign("Arcachon", &v);
        let body = c.email.unwrap().body_markdown.unwrap();
        assert!(body.contains("vigilance rouge vagues-submersion"), "{body}");
        assert!(
            body.contains("du 01/12 à 06 h au 01/12 à 16 h"),
            "Paris time: {body}"
        );
        assert!(body.contains(advice(Phenomenon::WavesSubmersion, Colour::Red)));
        assert!(c.urgent);
        assert_eq!(c.topics, [WEATHER_TOPIC]);
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
    }
}
