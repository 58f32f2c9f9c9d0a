//! The public archive of what the town sent: one record per published campaign, a copy of
//! what every recipient received (never anything about a recipient), and the weather alert in
//! force as the town's website shows it.
//!
//! A campaign is published once it is sent, unless its author unticked « publier dans les
//! archives »; weather alerts always are, from the moment they start going out (residents must
//! find them at once). Test sends, rejected and cancelled campaigns never reach `sent`, so they
//! never appear. Staff (`redaction`, `admin`) can withdraw a message afterwards: a withdrawn
//! message stays withdrawn, even if the sender publishes it again.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::campaign::{Campaign, CampaignEmail, CampaignId, CampaignKind};
use crate::domain::topic::TopicSlug;
use crate::domain::weather::{AlertSource, Colour, Phenomenon};
use crate::domain::zone::fold_accent;

/// Longest slug of a message's address.
const SLUG_MAX: usize = 60;
/// Longest public title taken from an SMS-only message.
const SMS_TITLE_MAX: usize = 80;

/// A message as the archive shows it: what was sent, to which topics, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchivedMessage {
    /// The campaign's id (the archive has one record per campaign).
    pub id: CampaignId,
    /// Public title: the email's subject, else the start of the SMS.
    pub title: String,
    /// The topics it was sent to.
    pub topics: Vec<TopicSlug>,
    /// When it was published (sending started for an alert, finished otherwise).
    pub sent_at: DateTime<Utc>,
    /// The email, as written (rendered into the town's layout without any personal link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<CampaignEmail>,
    /// The SMS text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<String>,
    pub kind: CampaignKind,
    /// The vigilance a weather alert relays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertSource>,
    /// The day the message is about (for the agenda).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_date: Option<NaiveDate>,
}

impl ArchivedMessage {
    /// Whether `campaign` belongs in the archive once sent.
    pub fn publishes(campaign: &Campaign) -> bool {
        // The crisis cell's alerts are internal to the town hall, never public.
        if campaign.kind == CampaignKind::CellAlert {
            return false;
        }
        matches!(
            campaign.kind,
            CampaignKind::WeatherAlert | CampaignKind::WeatherAlertEnd
        ) || campaign.publication.publish
    }

    /// The public copy of a campaign, published at `at`.
    pub fn of(campaign: &Campaign, at: DateTime<Utc>) -> Self {
        let title = match (campaign.messages.email(), campaign.messages.sms()) {
            (Some(e), _) => e.subject.clone(),
            (None, Some(s)) => shorten(&s.text, SMS_TITLE_MAX),
            (None, None) => campaign.title.clone(),
        };
        Self {
            id: campaign.id,
            title,
            topics: campaign.topics.clone(),
            sent_at: at,
            email: campaign.messages.email().cloned(),
            sms: campaign.messages.sms().map(|s| s.text.clone()),
            kind: campaign.kind,
            alert: campaign.source.clone(),
            event_date: campaign.publication.event_date,
        }
    }

    /// The last part of its address: lowercase ASCII words of the title joined by `-`.
    pub fn slug(&self) -> String {
        let mut slug = String::new();
        for c in self.title.chars().flat_map(fold_accent) {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.is_empty() && !slug.ends_with('-') {
                slug.push('-');
            }
            if slug.len() >= SLUG_MAX {
                break;
            }
        }
        let slug = slug.trim_end_matches('-');
        if slug.is_empty() {
            "message".to_owned()
        } else {
            slug.to_owned()
        }
    }

    /// Its path on the site: `/messages/{id}-{slug}`.
    pub fn path(&self) -> String {
        format!("/messages/{}-{}", self.id, self.slug())
    }

    /// Where it sits in the newest-first order.
    pub fn cursor(&self) -> ArchiveCursor {
        ArchiveCursor {
            sent_at: self.sent_at,
            id: self.id,
        }
    }

    /// The SMS text, else the start of the email, for summaries.
    pub fn summary(&self) -> String {
        match (&self.sms, &self.email) {
            (Some(sms), _) => sms.clone(),
            (None, Some(e)) => shorten(&plain_text(&e.body_markdown), 280),
            (None, None) => String::new(),
        }
    }
}

/// A position in the archive, newest first: pages go on strictly after it. Written
/// `<sent_at as RFC 3339 µs>_<id>` in addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ArchiveCursor {
    pub sent_at: DateTime<Utc>,
    pub id: CampaignId,
}

impl fmt::Display for ArchiveCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}_{}",
            self.sent_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
            self.id
        )
    }
}

/// A page position that is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("position de page invalide : « {0} »")]
pub struct InvalidCursor(String);

impl FromStr for ArchiveCursor {
    type Err = InvalidCursor;

    fn from_str(s: &str) -> Result<Self, InvalidCursor> {
        let bad = || InvalidCursor(s.chars().take(80).collect());
        let (at, id) = s.split_once('_').ok_or_else(bad)?;
        Ok(Self {
            sent_at: DateTime::parse_from_rfc3339(at)
                .map_err(|_| bad())?
                .with_timezone(&Utc),
            id: CampaignId::from_str(id).map_err(|_| bad())?,
        })
    }
}

/// A weather alert in force as the website shows it (`GET /api/public/alert`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAlert {
    /// The alert's message in the archive.
    pub campaign: CampaignId,
    /// The product's domain (`33`, `3310`).
    pub domain: String,
    pub phenomenon: Phenomenon,
    pub colour: Colour,
    pub begins: DateTime<Utc>,
    pub ends: DateTime<Utc>,
    /// The alert's SMS (one short segment).
    pub text: String,
    /// The archive page's path (`/messages/{id}-{slug}`).
    pub path: String,
}

/// The weather alerts the website shows: a small record rewritten whenever the relay's
/// messages are published or withdrawn, so reading it is one key lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicAlerts {
    pub alerts: Vec<PublicAlert>,
}

impl PublicAlerts {
    /// Takes a published message into account: an alert replaces the one of its (domain,
    /// phenomenon), an end notice removes it. True when something changed.
    pub fn apply(&mut self, message: &ArchivedMessage) -> bool {
        let Some(source) = &message.alert else {
            return false;
        };
        let before = self.alerts.clone();
        self.alerts
            .retain(|a| !(a.domain == source.domain && a.phenomenon == source.phenomenon));
        if message.kind == CampaignKind::WeatherAlert {
            self.alerts.push(PublicAlert {
                campaign: message.id,
                domain: source.domain.clone(),
                phenomenon: source.phenomenon,
                colour: source.colour,
                begins: source.begins,
                ends: source.ends,
                text: message.sms.clone().unwrap_or_else(|| message.title.clone()),
                path: message.path(),
            });
        }
        self.alerts != before
    }

    /// Forgets a withdrawn message's alert. True when it was there.
    pub fn withdraw(&mut self, id: CampaignId) -> bool {
        let n = self.alerts.len();
        self.alerts.retain(|a| a.campaign != id);
        self.alerts.len() != n
    }

    /// The alert to show at `now`: the highest colour still valid, the latest to begin among
    /// equals; none once every validity has ended.
    pub fn in_force(&self, now: DateTime<Utc>) -> Option<&PublicAlert> {
        self.alerts
            .iter()
            .filter(|a| a.ends > now)
            .max_by_key(|a| (a.colour, a.begins))
    }
}

/// The words of a Markdown text, without its markup (links keep their text).
fn plain_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser, TagEnd};
    let mut out = String::with_capacity(markdown.len());
    for event in Parser::new(markdown) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&t)
            }
            Event::SoftBreak
            | Event::HardBreak
            | Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::Item
                | TagEnd::CodeBlock
                | TagEnd::TableCell,
            ) => out.push(' '),
            _ => {}
        }
    }
    out
}

fn shorten(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max - 1).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::campaign::CampaignSms;
    use chrono::TimeZone;

    fn message(title: &str) -> ArchivedMessage {
        ArchivedMessage {
            id: CampaignId::new(),
            title: title.into(),
            topics: vec![],
            sent_at: Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
            email: None,
            sms: Some(CampaignSms { text: "x".into() }.text),
            kind: CampaignKind::Standard,
            alert: None,
            event_date: None,
        }
    }

    #[test]
    fn slugs_fold_french_letters_and_punctuation() {
        assert_eq!(
            message("Fête de Noël : œuvres & marché, 12 déc.").slug(),
            "fete-de-noel-oeuvres-marche-12-dec"
        );
        assert_eq!(message("« ! »").slug(), "message");
        assert!(message(&"a ".repeat(100)).slug().len() <= SLUG_MAX);
    }

    #[test]
    fn an_email_summary_is_its_text_without_markup() {
        let mut m = message("x");
        m.sms = None;
        m.email = Some(CampaignEmail {
            subject: "Noël".into(),
            body_markdown:
                "## Programme\n\nRendez-vous **place Thiers**, [détails](https://x.example).".into(),
        });
        assert_eq!(m.summary(), "Programme Rendez-vous place Thiers, détails.");
    }

    #[test]
    fn cursors_read_back_what_they_write() {
        let m = message("x");
        let text = m.cursor().to_string();
        assert_eq!(text.parse::<ArchiveCursor>().unwrap(), m.cursor());
        assert!("nope".parse::<ArchiveCursor>().is_err());
    }

    #[test]
    fn the_alert_in_force_is_the_highest_colour_still_valid_and_an_end_removes_it() {
        let at = |h| Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap();
        let alert = |phenomenon, colour, ends| {
            let mut m = message("Vigilance");
            m.kind = CampaignKind::WeatherAlert;
            m.alert = Some(AlertSource {
                product_time: at(6),
                domain: "33".into(),
                phenomenon,
                colour,
                begins: at(8),
                ends,
            });
            m
        };
        let mut record = PublicAlerts::default();
        let wind = alert(Phenomenon::Wind, Colour::Orange, at(20));
        let waves = alert(Phenomenon::WavesSubmersion, Colour::Red, at(12));
        assert!(record.apply(&wind));
        assert!(record.apply(&waves));
        assert_eq!(record.in_force(at(10)).unwrap().colour, Colour::Red);
        // The red one ended: the orange one shows.
        assert_eq!(
            record.in_force(at(13)).unwrap().phenomenon,
            Phenomenon::Wind
        );
        let mut end = wind.clone();
        end.id = CampaignId::new();
        end.kind = CampaignKind::WeatherAlertEnd;
        assert!(record.apply(&end));
        assert_eq!(record.in_force(at(13)), None);
        assert!(record.withdraw(waves.id));
        assert!(record.alerts.is_empty());
    }
}
