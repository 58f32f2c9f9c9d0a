//! The composer's live estimate: recipients, SMS billed and cost of a campaign being typed,
//! before it is saved (the saved campaign's estimate is `Campaigns::estimate`).

use std::collections::BTreeSet;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use serde::Deserialize;

use crate::domain::campaign::CampaignVoice;
use crate::domain::contact::Channel;
use crate::domain::sms::{analyze, SmsAnalysis};
use crate::domain::staff::{Role, StaffIdentity};
use crate::domain::topic::TopicSlug;
use crate::domain::zone::{ZoneFilter, ZoneSlug};
use crate::error::{DomainError, FieldErrors};

use super::campaigns::{Campaigns, Estimate, ZoneEstimate};

/// What the composer holds while typing: nothing in it needs to be complete.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DraftEstimateInput {
    /// Topic slugs ticked (an unknown one has no subscriber).
    #[serde(default)]
    pub topics: Vec<String>,
    /// The SMS typed, or none for no SMS.
    #[serde(default)]
    pub sms_text: Option<String>,
    /// Whether an email is sent.
    #[serde(default)]
    pub email: bool,
    #[serde(default)]
    pub urgent: bool,
    /// Whether an urgent campaign asks for an answer: its SMS then carries the reply link.
    #[serde(default)]
    pub acknowledgement: bool,
    /// When it would leave (RFC 3339, or the date-time field's `2026-12-24T18:00` in Paris
    /// time); blank or unreadable while typed: now.
    #[serde(default)]
    pub send_at: Option<String>,
    /// The text of the call typed, or none for no call.
    #[serde(default)]
    pub voice_text: Option<String>,
    /// The zones ticked (none or empty: the whole town).
    #[serde(default)]
    pub zones: Option<Vec<String>>,
    /// With zones: also those who named no zone.
    #[serde(default)]
    pub include_unzoned: bool,
}

impl Campaigns {
    /// The estimate of a campaign being written (`redaction`), as `estimate` gives it once saved.
    pub async fn estimate_draft(
        &self,
        by: &StaffIdentity,
        input: &DraftEstimateInput,
    ) -> Result<Estimate, DomainError> {
        by.require(Role::Redaction)?;
        let topics = ticked_topics(&input.topics)?;
        let filter = zone_filter(input)?;
        let d = self.deps();
        let channels: BTreeSet<Channel> = [
            (Channel::Email, input.email),
            (Channel::Sms, input.sms_text.is_some()),
            (Channel::Voice, input.voice_text.is_some()),
        ]
        .into_iter()
        .filter(|(_, sent)| *sent && !topics.is_empty())
        .map(|(channel, _)| channel)
        .collect();
        let (email_recipients, sms_recipients, voice_recipients, zones) = self
            .draft_counts(&topics, &channels, filter.as_ref())
            .await?;
        let sms = draft_sms(input, &d.config.public_url);
        let sms_segments_total = sms.as_ref().map_or(0, |a| a.segments as u64) * sms_recipients;
        let prices = d.config.prices;
        let sms_cost = prices.sms_cost(sms_segments_total);
        let email_cost = prices.email_cost(email_recipients);
        let voice_cost = prices.voice_cost(voice_recipients);
        let send_at = input.send_at.as_deref().and_then(read_time);
        let leaves = send_at.unwrap_or_else(|| d.clock.now());
        let outlook = self
            .draft_outlook(
                input.urgent,
                send_at,
                (email_recipients, sms_recipients, sms_segments_total),
            )
            .await?;
        Ok(Estimate {
            email_recipients,
            sms_recipients,
            sms_waits_for_window: sms.is_some()
                && !input.urgent
                && !d.config.sending_window.is_open(leaves),
            sms,
            sms_segments_total,
            sms_cost,
            email_cost,
            total_cost: sms_cost + email_cost + voice_cost,
            outlook,
            voice_recipients,
            voice: input.voice_text.as_ref().map(|text| {
                CampaignVoice { text: text.clone() }
                    .analysis(&d.config.town_name, input.acknowledgement && input.urgent)
            }),
            voice_cost,
            zones,
        })
    }

    /// Recipients per channel (email, SMS, calls) of the topics ticked, and with zones both
    /// counts of each.
    async fn draft_counts(
        &self,
        topics: &[TopicSlug],
        channels: &BTreeSet<Channel>,
        filter: Option<&ZoneFilter>,
    ) -> Result<(u64, u64, u64, Option<ZoneEstimate>), DomainError> {
        if let Some(filter) = filter {
            return self.count_in_zones(topics, channels, filter).await;
        }
        let mut counts = [0; 3];
        for (n, channel) in counts
            .iter_mut()
            .zip([Channel::Email, Channel::Sms, Channel::Voice])
        {
            if channels.contains(&channel) {
                *n = self
                    .deps()
                    .subscribers
                    .count_recipients(topics, channel)
                    .await?;
            }
        }
        let [email, sms, voice] = counts;
        Ok((email, sms, voice, None))
    }
}

/// The SMS typed, as it would leave: with the reply link when an urgent campaign asks for an
/// answer.
fn draft_sms(input: &DraftEstimateInput, public_url: &str) -> Option<SmsAnalysis> {
    input.sms_text.as_deref().map(|text| {
        if input.acknowledgement && input.urgent {
            let sample = crate::domain::reach::sample_reply_url(public_url);
            analyze(&crate::domain::reach::sms_with_reply(text, &sample))
        } else {
            analyze(text)
        }
    })
}

/// The topics ticked, each once; an unknown name is refused.
fn ticked_topics(raw_topics: &[String]) -> Result<Vec<TopicSlug>, DomainError> {
    let mut topics = Vec::new();
    for raw in raw_topics {
        // A slug exactly as written: the description allows no space around it.
        match TopicSlug::from_str(raw).ok().filter(|s| s.as_str() == raw) {
            Some(slug) if !topics.contains(&slug) => topics.push(slug),
            Some(_) => {}
            None => {
                return Err(FieldErrors::single(
                    "topics",
                    format!("Thème inconnu : « {raw} »."),
                ));
            }
        }
    }
    Ok(topics)
}

/// The zones ticked as a filter, or none for the whole town. Each is a slug exactly as the
/// boxes send it (no blank, no space around it), else a French error on `zones`.
fn zone_filter(input: &DraftEstimateInput) -> Result<Option<ZoneFilter>, DomainError> {
    let Some(raw) = &input.zones else {
        return Ok(None);
    };
    let mut zones = BTreeSet::new();
    for r in raw {
        match ZoneSlug::from_str(r) {
            Ok(slug) if slug.as_str() == r => {
                zones.insert(slug);
            }
            Ok(_) => {
                return Err(FieldErrors::single(
                    "zones",
                    format!("Zone inconnue : « {r} »."),
                ))
            }
            Err(e) => return Err(FieldErrors::single("zones", e)),
        }
    }
    Ok((!zones.is_empty()).then_some(ZoneFilter {
        zones,
        include_unzoned: input.include_unzoned,
    }))
}

/// A send time as typed: RFC 3339, or a date-time field's value in Paris time.
fn read_time(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    DateTime::parse_from_rfc3339(raw)
        .map(|at| at.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            let local = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M").ok()?;
            Some(
                Paris
                    .from_local_datetime(&local)
                    .single()?
                    .with_timezone(&Utc),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_times_are_read_as_typed_or_not_at_all() {
        assert_eq!(
            read_time("2026-12-15T10:00").unwrap().to_rfc3339(),
            "2026-12-15T09:00:00+00:00"
        );
        assert_eq!(
            read_time("2026-12-15T10:00:00+01:00").unwrap().to_rfc3339(),
            "2026-12-15T09:00:00+00:00"
        );
        assert!(read_time("2026-12-1").is_none());
        assert!(read_time("").is_none());
    }
}
