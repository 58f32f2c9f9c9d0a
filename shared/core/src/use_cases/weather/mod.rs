//! The weather relay: a Météo-France vigilance bulletin in, urgent campaigns on `alerte-meteo`
//! out — once per alert while it is in force, sent at once or submitted to the cabinet (who is
//! told at once) as the policy says — and, when a document no longer shows it, its end.

mod cabinet;
mod staff;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Europe::Paris;

use crate::clock::{Clock, Month};
use crate::domain::alert_templates::{self, validity, AlertMessage, AlertTemplates, AlertTexts};
use crate::domain::campaign::{
    Campaign, CampaignId, CampaignInput, CampaignStatus, EmailInput, SmsInput, VoiceInput,
};
use crate::domain::staff::{Role, StaffIdentity};
use crate::domain::weather::{
    read_bulletin, AlertInForce, AlertSource, Bulletin, FeedState, Vigilance, WeatherPolicy,
};
use crate::error::DomainError;
use crate::ports::{
    Counter, EmailSender, SmsSender, StaffDirectory, StatsStore, WeatherFeed, WeatherStore,
    ZoneStore,
};
use crate::render::messages::EmailLayout;
use crate::use_cases::campaigns::Campaigns;

pub use cabinet::Told;

/// The topic weather alerts go to.
pub const WEATHER_TOPIC: &str = "alerte-meteo";

/// What became of one vigilance of a bulletin, or of an alert in force it no longer shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayOutcome {
    /// A campaign was created and sent at once.
    SentAtOnce(CampaignId),
    /// A campaign was created and submitted to the cabinet.
    Submitted(CampaignId),
    /// This alert (or a higher colour of it) is already relayed.
    AlreadyRelayed,
    /// Below the colour relayed.
    BelowThreshold,
    /// A phenomenon the town does not relay.
    NotWatched,
    /// Its validity is over.
    Over,
    /// A relayed alert was lifted: its end was announced at once.
    EndSent(CampaignId),
    /// A relayed alert was lifted: the announcement of its end was submitted to the cabinet.
    EndSubmitted(CampaignId),
    /// A relayed alert was lifted; nothing is announced (the end notice is off, or the alert
    /// never went out).
    Lifted,
    /// A relayed alert was lifted before the cabinet approved it: its campaign is withdrawn.
    Withdrawn(CampaignId),
}

/// One vigilance and what the relay did with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayLine {
    pub vigilance: Vigilance,
    pub outcome: RelayOutcome,
    /// How the cabinet was told of a campaign waiting for it.
    pub told: Option<Told>,
    /// Why the staff's template was set aside for this message (the built-in one was sent).
    pub template_set_aside: Option<String>,
    /// The zones its campaign was limited to, or why the setting's zones were set aside.
    pub zones: Option<String>,
}

/// Whom a relayed campaign reaches: the setting's zones for its phenomenon, checked against
/// the town's zones.
struct ZoneLimit {
    /// The zones (none: every subscriber of the topic).
    zones: Option<Vec<String>>,
    /// What the relay's line says of it.
    note: Option<String>,
}

impl RelayLine {
    fn new(vigilance: Vigilance, outcome: RelayOutcome) -> Self {
        Self {
            vigilance,
            outcome,
            told: None,
            template_set_aside: None,
            zones: None,
        }
    }

    /// Whether an alert's campaign was created for it.
    pub fn relayed(&self) -> bool {
        matches!(
            self.outcome,
            RelayOutcome::SentAtOnce(_) | RelayOutcome::Submitted(_)
        )
    }

    /// Whether the cycle did something for it: relayed it, or ended it.
    pub fn acted(&self) -> bool {
        !matches!(
            self.outcome,
            RelayOutcome::AlreadyRelayed
                | RelayOutcome::BelowThreshold
                | RelayOutcome::NotWatched
                | RelayOutcome::Over
        )
    }

    /// One French line for the person who ran the cycle.
    pub fn describe(&self) -> String {
        let v = &self.vigilance;
        let lifted = matches!(
            self.outcome,
            RelayOutcome::EndSent(_)
                | RelayOutcome::EndSubmitted(_)
                | RelayOutcome::Lifted
                | RelayOutcome::Withdrawn(_)
        );
        let what = format!(
            "{} {} {} (domaine {}, {})",
            if lifted {
                "Fin de vigilance"
            } else {
                "Vigilance"
            },
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
            RelayOutcome::EndSent(id) => format!("fin d'alerte envoyée : campagne {id}"),
            RelayOutcome::EndSubmitted(id) => {
                format!("fin d'alerte soumise au cabinet : campagne {id}")
            }
            RelayOutcome::Lifted => {
                "levée : pas de message de fin (désactivé, ou l'alerte n'avait pas été diffusée)"
                    .into()
            }
            RelayOutcome::Withdrawn(id) => {
                format!("levée avant approbation : campagne {id} retirée")
            }
        };
        let told = self.told.as_ref().map(|t| format!(" ; {}", t.describe()));
        let set_aside = self.template_set_aside.as_ref().map(|s| format!(" ; {s}"));
        let zones = self.zones.as_ref().map(|z| format!(" ; {z}"));
        format!(
            "{what} — {why}{}{}{}.",
            told.unwrap_or_default(),
            set_aside.unwrap_or_default(),
            zones.unwrap_or_default()
        )
    }
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
        department: None,
    }
}

fn at_once_policy() -> StaffIdentity {
    StaffIdentity {
        id: "politique-alerte".into(),
        name: "Politique d'alerte (envoi immédiat)".into(),
        roles: [Role::Cabinet].into(),
        email: None,
        phone: None,
        department: None,
    }
}

/// The ports and settings the relay needs.
pub struct WeatherRelayDeps {
    /// Alerts in force (written once, atomically), templates, the feed's state.
    pub weather: Arc<dyn WeatherStore>,
    /// Counts the feed's failures (shown to staff with the statistics).
    pub stats: Arc<dyn StatsStore>,
    pub campaigns: Arc<Campaigns>,
    /// The cabinet, told of alerts waiting for it.
    pub directory: Arc<dyn StaffDirectory>,
    /// Email to the cabinet.
    pub email: Arc<dyn EmailSender>,
    /// SMS to the cabinet.
    pub sms: Arc<dyn SmsSender>,
    pub layout: Arc<EmailLayout>,
    pub clock: Arc<dyn Clock>,
    /// The town's name in messages.
    pub town: String,
    /// Base of the link to a campaign in the back office.
    pub public_url: String,
    pub policy: WeatherPolicy,
    /// Which notices each staff account turned off.
    pub notice_settings: Arc<dyn crate::ports::NoticeSettingsStore>,
    /// The town's zones, which the policy's zone limits must name.
    pub zones: Arc<dyn ZoneStore>,
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
    /// matches the log), kept as the feed's state for staff, and returned.
    pub async fn poll(&self, feed: &dyn WeatherFeed) -> Result<Vec<RelayLine>, DomainError> {
        let bulletin = match feed.current().await {
            Ok(text) => read_bulletin(&text, &self.d.policy.domains())
                .map_err(|e| DomainError::Unavailable(e.to_string())),
            Err(e) => Err(DomainError::Unavailable(e.to_string())),
        };
        let (product_time, outcome) = match bulletin {
            Ok(b) => (Some(b.updated), self.cycle(&b).await),
            Err(e) => (None, Err(e)),
        };
        let failure = match &outcome {
            Err(DomainError::Unavailable(why)) => Some(why.clone()),
            _ => None,
        };
        self.record_poll(product_time, failure.clone()).await?;
        if let Some(why) = failure {
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

    /// Keeps the feed's state for staff: when it was polled, and the last success.
    async fn record_poll(
        &self,
        product_time: Option<DateTime<Utc>>,
        failure: Option<String>,
    ) -> Result<(), DomainError> {
        let now = self.d.clock.now();
        let before = self.d.weather.feed_state().await?;
        let state = match failure {
            None => FeedState {
                checked_at: now,
                error: None,
                last_success: Some(now),
                product_time,
                failures_in_a_row: 0,
            },
            Some(why) => FeedState {
                checked_at: now,
                error: Some(why),
                last_success: before.as_ref().and_then(|s| s.last_success),
                product_time: before.as_ref().and_then(|s| s.product_time),
                failures_in_a_row: before.map_or(0, |s| s.failures_in_a_row) + 1,
            },
        };
        Ok(self.d.weather.save_feed_state(&state).await?)
    }

    /// One relay cycle over a bulletin: its alerts relayed, then the end of those in force it
    /// no longer shows. A stale bulletin relays nothing. Two cycles at once relay an alert
    /// once: the first to record it as in force creates the campaign.
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
        let templates = self.current_templates().await?;
        let mut lines = Vec::new();
        for v in &bulletin.vigilances {
            lines.push(self.relay(v, bulletin.updated, now, &templates).await?);
        }
        for alert in self.d.weather.in_force().await? {
            let still = bulletin.vigilances.iter().any(|v| {
                v.domain == alert.source.domain
                    && v.phenomenon == alert.source.phenomenon
                    && self.d.policy.relays(v, now)
            });
            if !still && self.d.weather.lift(&alert).await? {
                lines.push(self.announce_end(&alert, &templates).await?);
            }
        }
        Ok(lines)
    }

    async fn relay(
        &self,
        v: &Vigilance,
        product_time: DateTime<Utc>,
        now: DateTime<Utc>,
        templates: &AlertTemplates,
    ) -> Result<RelayLine, DomainError> {
        let policy = &self.d.policy;
        let skipped = if !policy.watched.contains(&v.phenomenon) {
            Some(RelayOutcome::NotWatched)
        } else if v.colour < policy.threshold {
            Some(RelayOutcome::BelowThreshold)
        } else if v.ends <= now {
            Some(RelayOutcome::Over)
        } else {
            None
        };
        if let Some(outcome) = skipped {
            return Ok(RelayLine::new(v.clone(), outcome));
        }
        // Recorded in force once for all concurrent cycles, and kept while documents show it
        // (Météo-France moves an ongoing alert's hours from one document to the next): a later
        // downgrade is not relayed, an upgrade is.
        let alert = AlertInForce {
            source: AlertSource::of(v, product_time),
            campaign: CampaignId::new(),
        };
        let replaced = self.in_force_for(v).await?;
        if !self.d.weather.raise(&alert).await? {
            return Ok(RelayLine::new(v.clone(), RelayOutcome::AlreadyRelayed));
        }
        if let Some(lower) = replaced {
            let reason = format!(
                "Remplacée par la vigilance {} relayée depuis.",
                v.colour.label()
            );
            self.withdraw(lower.campaign, &reason).await?;
        }
        match self
            .send_or_submit(&alert, AlertMessage::Alert, templates)
            .await
        {
            Ok(line) => Ok(line),
            Err(e) => {
                // Not relayed after all: the next cycle tries again.
                self.d.weather.lift(&alert).await?;
                Err(e)
            }
        }
    }

    /// The end of an alert no document shows any more: announced as the alert was sent (at
    /// once, or through the cabinet) if it went out; withdrawn if still waiting for approval.
    async fn announce_end(
        &self,
        alert: &AlertInForce,
        templates: &AlertTemplates,
    ) -> Result<RelayLine, DomainError> {
        let v = alert.source.vigilance();
        let status = self.status(alert.campaign).await?;
        let outcome = match status {
            CampaignStatus::Submitted => {
                self.withdraw(
                    alert.campaign,
                    "Vigilance levée par Météo-France avant l'approbation : alerte sans objet.",
                )
                .await?;
                RelayOutcome::Withdrawn(alert.campaign)
            }
            CampaignStatus::Approved
            | CampaignStatus::Scheduled
            | CampaignStatus::Sending
            | CampaignStatus::Sent
                if templates.end_notice =>
            {
                let end = AlertInForce {
                    source: alert.source.clone(),
                    campaign: CampaignId::new(),
                };
                return self
                    .send_or_submit(&end, AlertMessage::End, templates)
                    .await;
            }
            _ => RelayOutcome::Lifted,
        };
        Ok(RelayLine::new(v, outcome))
    }

    /// The alert in force for `v`'s domain and phenomenon, if any.
    async fn in_force_for(&self, v: &Vigilance) -> Result<Option<AlertInForce>, DomainError> {
        Ok(self
            .d
            .weather
            .in_force()
            .await?
            .into_iter()
            .find(|a| a.source.domain == v.domain && a.source.phenomenon == v.phenomenon))
    }

    async fn status(&self, id: CampaignId) -> Result<CampaignStatus, DomainError> {
        let view = self.d.campaigns.view(&relay_author(), id).await?;
        Ok(view.campaign.status())
    }

    /// Rejects, in the policy's name, an alert's campaign still waiting for the cabinet: the
    /// alert it relays was lifted or replaced.
    /// A cabinet member who acts on it at the same moment goes first.
    async fn withdraw(&self, id: CampaignId, reason: &str) -> Result<(), DomainError> {
        if self.status(id).await? != CampaignStatus::Submitted {
            return Ok(());
        }
        match self.d.campaigns.reject(&at_once_policy(), id, reason).await {
            Ok(_) | Err(DomainError::Conflict(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Creates the campaign of an alert or of its end under the id `alert` names; sends it at
    /// once when the policy says so for its colour, else submits it and tells the cabinet. When
    /// the staff's texts fail for this alert, or a campaign refuses them, the built-in ones go
    /// out instead and staff are told: in the relay's line, its log and the campaign's history.
    async fn send_or_submit(
        &self,
        alert: &AlertInForce,
        message: AlertMessage,
        templates: &AlertTemplates,
    ) -> Result<RelayLine, DomainError> {
        let v = alert.source.vigilance();
        let limit = self.zone_limit(&v).await?;
        let (texts, mut set_aside) = templates
            .render_for_relay(message, &self.d.town, &v)
            .map_err(DomainError::Validation)?;
        let draft = match self.draft(alert, message, texts, &set_aside, &limit).await {
            Err(DomainError::Validation(errors)) if set_aside.is_none() => {
                let built_in = AlertTemplates::default()
                    .render(message, &self.d.town, &v)
                    .map_err(DomainError::Validation)?;
                set_aside = Some(alert_templates::set_aside(&errors));
                self.draft(alert, message, built_in, &set_aside, &limit)
                    .await?
            }
            other => other?,
        };
        if let Some(why) = &set_aside {
            tracing::warn!(alarm = "weather_template_set_aside", campaign = %draft.id, reason = %why, "staff weather template set aside");
        }
        let mut line = self.submit_or_send(&v, message, &draft).await?;
        line.template_set_aside = set_aside;
        line.zones = limit.note;
        Ok(line)
    }

    /// The zones the setting limits `v`'s phenomenon to, when every one of them is a zone of
    /// the town. A zone the town does not have (a typo, a zone not created yet or renamed) sets
    /// the whole limit aside: the alert goes to every subscriber of the topic, and the error is
    /// logged (`weather_zones_unknown`, alarmed on AWS) and said in the relay's line. Residents
    /// who named no zone are always included: one who lives on the sea front but never said so
    /// must not miss a submersion warning. The end of an alert goes to the same zones.
    async fn zone_limit(&self, v: &Vigilance) -> Result<ZoneLimit, DomainError> {
        let Some(wanted) = self.d.policy.zones_for(&[v.phenomenon]) else {
            return Ok(ZoneLimit {
                zones: None,
                note: None,
            });
        };
        let known = self.d.zones.zones().await?;
        let listed = |slugs: Vec<&str>| slugs.join(", ");
        let unknown = listed(
            wanted
                .iter()
                .filter(|w| !known.iter().any(|z| &z.slug == *w))
                .map(|w| w.as_str())
                .collect(),
        );
        if !unknown.is_empty() {
            tracing::error!(
                alarm = "weather_zones_unknown",
                phenomenon = v.phenomenon.label(),
                zones = %unknown,
                "TELMAIL_WEATHER_ZONES names zones the town does not have: the alert goes to every subscriber"
            );
            return Ok(ZoneLimit {
                zones: None,
                note: Some(format!(
                    "zones inconnues dans TELMAIL_WEATHER_ZONES ({unknown}) : envoyée à tous les abonnés du thème"
                )),
            });
        }
        Ok(ZoneLimit {
            note: Some(format!(
                "limitée aux zones {} et aux abonnés sans zone",
                listed(wanted.iter().map(|w| w.as_str()).collect())
            )),
            zones: Some(wanted.into_iter().map(String::from).collect()),
        })
    }

    /// The draft of an alert or of its end, with `texts`, limited to `limit`'s zones;
    /// `set_aside` goes to its history.
    async fn draft(
        &self,
        alert: &AlertInForce,
        message: AlertMessage,
        texts: AlertTexts,
        set_aside: &Option<String>,
        limit: &ZoneLimit,
    ) -> Result<Campaign, DomainError> {
        let mut input = self.campaign_input(&alert.source.vigilance(), message, texts);
        if let Some(zones) = &limit.zones {
            input.zones = Some(zones.clone());
            input.include_unzoned = true;
        }
        self.d
            .campaigns
            .create_weather_alert(
                &relay_author(),
                alert.campaign,
                &input,
                &alert.source,
                message,
                set_aside.clone(),
            )
            .await
    }

    /// Submits a relayed campaign; approves it in the policy's name when its colour goes out at
    /// once, else tells the cabinet.
    async fn submit_or_send(
        &self,
        v: &Vigilance,
        message: AlertMessage,
        draft: &Campaign,
    ) -> Result<RelayLine, DomainError> {
        let submitted = self.d.campaigns.submit(&relay_author(), draft.id).await?;
        let id = submitted.id;
        if self.d.policy.at_once(v.colour) {
            match self
                .d
                .campaigns
                .approve(&at_once_policy(), id, Some(submitted.version))
                .await
            {
                Ok(_) => {
                    let outcome = match message {
                        AlertMessage::Alert => RelayOutcome::SentAtOnce(id),
                        AlertMessage::End => RelayOutcome::EndSent(id),
                    };
                    return Ok(RelayLine::new(v.clone(), outcome));
                }
                // Refused (a non-urgent end of alert over a provider's limit): it stays
                // submitted and the cabinet is told, as below the at-once colour.
                Err(DomainError::Conflict(why)) => {
                    tracing::warn!(reason = %why, "weather campaign not sent at once: left to the cabinet")
                }
                Err(e) => return Err(e),
            }
        }
        let told = self.tell_cabinet(v, message, id).await;
        let outcome = match message {
            AlertMessage::Alert => RelayOutcome::Submitted(id),
            AlertMessage::End => RelayOutcome::EndSubmitted(id),
        };
        Ok(RelayLine {
            told: Some(told),
            ..RelayLine::new(v.clone(), outcome)
        })
    }

    /// The campaign of an alert (urgent: it ignores the SMS window) or of its end (not urgent:
    /// an end at night waits for the morning).
    fn campaign_input(
        &self,
        v: &Vigilance,
        message: AlertMessage,
        texts: AlertTexts,
    ) -> CampaignInput {
        let title = match message {
            AlertMessage::Alert => "Vigilance",
            AlertMessage::End => "Fin de vigilance",
        };
        CampaignInput {
            title: Some(format!(
                "{title} {} {} — {}",
                v.colour,
                v.phenomenon.label(),
                validity(v)
            )),
            topics: vec![WEATHER_TOPIC.into()],
            sms: Some(SmsInput {
                text: Some(texts.sms),
            }),
            email: Some(EmailInput {
                subject: Some(texts.subject),
                body_markdown: Some(texts.body),
            }),
            // Those who chose calls (a landline, say) hear the alert; its end is not worth a
            // call: its SMS and email say it.
            voice: (message == AlertMessage::Alert).then(|| VoiceInput {
                text: Some(alert_templates::spoken_alert(v)),
            }),
            urgent: message == AlertMessage::Alert,
            send_at: None,
            publication: Default::default(),
            ..Default::default()
        }
    }
}
