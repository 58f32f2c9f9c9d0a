//! Staff use cases on campaigns: write, estimate, preview, test-send, submit, approve, reject,
//! cancel, follow progress. Each checks the actor's role first.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::clock::Clock;
use crate::clock::Month;
use crate::config::ServiceConfig;
use crate::domain::alert_templates::AlertMessage;
use crate::domain::campaign::{
    Campaign, CampaignContent, CampaignEmail, CampaignEvent, CampaignId, CampaignInput,
    CampaignKind, CampaignStatus, VoiceAnalysis,
};
use crate::domain::contact::Channel;
use crate::domain::delivery::{CampaignProgress, Delivery};
use crate::domain::money::Money;
use crate::domain::provider_limits::{outlook, Currency, SendPlan, SendingOutlook};
use crate::domain::reach;
use crate::domain::sms::{analyze, replacements, Replacement, SmsAnalysis};
use crate::domain::staff::{Role, StaffIdentity};
use crate::domain::topic::{Topic, TopicSlug};
use crate::domain::weather::AlertSource;
use crate::domain::zone::ZoneFilter;
use crate::error::{DomainError, FieldErrors, StoreError};
use crate::ports::{
    ArchiveStore, AudienceStore, CampaignStore, Counter, DeliveryStore, EmailSender, OutgoingEmail,
    OutgoingSms, ProviderLimits, SmsSender, StaffDirectory, StatsStore, SubscriberReports,
    SuppressionStore, TopicStore, ZoneStore,
};
use crate::render::campaign_render::RenderedEmail;
use crate::render::messages::EmailLayout;
use crate::use_cases::dispatch::{zone_reach, Dispatcher, ZoneReach};
use crate::use_cases::staff_notices::Decision;
use crate::use_cases::zones::check_zones;

/// Recipients and cost before approval.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    /// Distinct email recipients after suppressions.
    pub email_recipients: u64,
    /// Distinct SMS recipients after suppressions.
    pub sms_recipients: u64,
    /// The SMS analysis (encoding, length, segments, characters forcing UCS-2).
    pub sms: Option<SmsAnalysis>,
    /// Segments billed: recipients × segments.
    pub sms_segments_total: u64,
    /// SMS cost (€ HT).
    pub sms_cost: Money,
    /// Email cost (€ HT).
    pub email_cost: Money,
    /// Total (€ HT).
    pub total_cost: Money,
    /// Whether the SMS would wait: not urgent, and the sending window is closed when it leaves
    /// (at `send_at`, else now).
    pub sms_waits_for_window: bool,
    /// Whether the email fits today's quota and the SMS the month's spend limit and the
    /// window, and when each would finish.
    pub outlook: SendingOutlook,
    /// Distinct voice call recipients after suppressions.
    pub voice_recipients: u64,
    /// The spoken text's length and duration; none without a call.
    pub voice: Option<VoiceAnalysis>,
    /// Cost of the calls (€ HT, one call each; a retry is billed again).
    pub voice_cost: Money,
    /// Limited to zones: both counts per channel, with and without those who named no zone
    /// (the recipients and costs above follow the campaign's choice).
    pub zones: Option<ZoneEstimate>,
}

/// What a campaign limited to zones reaches, per channel.
#[derive(Debug, Clone, Serialize)]
pub struct ZoneEstimate {
    pub email: ZoneReach,
    pub sms: ZoneReach,
    pub voice: ZoneReach,
    /// Whether the campaign includes those who named no zone.
    pub include_unzoned: bool,
}

/// A campaign's audience, counted.
struct Counted {
    email_recipients: u64,
    sms_recipients: u64,
    voice_recipients: u64,
    sms: Option<SmsAnalysis>,
    sms_segments_total: u64,
    zones: Option<ZoneEstimate>,
}

/// An SMS being written, as the composer shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SmsDraft {
    /// Encoding, length, segments, characters forcing UCS-2.
    #[serde(flatten)]
    pub analysis: SmsAnalysis,
    /// GSM-7 stand-ins for those characters, where there is one.
    pub suggestions: Vec<Replacement>,
    /// What one recipient's SMS costs (€ HT).
    pub cost_per_recipient: Money,
}

/// A campaign with its audit trail and counters.
#[derive(Debug, Clone, Serialize)]
pub struct CampaignView {
    /// Its fields at the top level of the JSON.
    #[serde(flatten)]
    pub campaign: Campaign,
    /// Audit trail, oldest first.
    pub events: Vec<CampaignEvent>,
    /// Per-channel counters, once sending has started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counts: Option<CampaignProgress>,
    /// Whether non-urgent SMS may go out now (outside the sending hours they wait).
    pub sms_window_open: bool,
    /// Its page in the public archive (`/messages/{id}-{slug}`), while it is published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archived: Option<String>,
}

/// The email and SMS as recipients will see them.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub email_subject: Option<String>,
    /// Email HTML in the town's layout.
    pub email_html: Option<String>,
    /// Email text part.
    pub email_text: Option<String>,
    pub sms_text: Option<String>,
}

/// What a test send reached.
#[derive(Debug, Clone, Serialize)]
pub struct TestSend {
    /// Email sent to the author's address.
    pub email: Option<String>,
    /// SMS sent to the author's number.
    pub sms: Option<String>,
}

/// The ports campaign use cases need.
pub struct CampaignDeps {
    pub campaigns: Arc<dyn CampaignStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    /// Subscribers (for estimates).
    pub subscribers: Arc<dyn SubscriberReports>,
    pub topics: Arc<dyn TopicStore>,
    /// Email provider (test sends).
    pub email: Arc<dyn EmailSender>,
    /// SMS provider (test sends).
    pub sms: Arc<dyn SmsSender>,
    pub clock: Arc<dyn Clock>,
    pub layout: Arc<EmailLayout>,
    /// Sending.
    pub dispatcher: Arc<Dispatcher>,
    /// The providers' daily email quota and monthly SMS spend limit.
    pub limits: Arc<dyn ProviderLimits>,
    /// The month's SMS spend so far.
    pub stats: Arc<dyn StatsStore>,
    /// Settings.
    pub config: ServiceConfig,
    /// The town's zones (campaigns limited to some).
    pub zones: Arc<dyn ZoneStore>,
    /// Recipients page by page (estimates of campaigns limited to zones).
    pub audience: Arc<dyn AudienceStore>,
    /// Suppressed addresses (same estimates).
    pub suppressions: Arc<dyn SuppressionStore>,
    /// Staff accounts, to tell the cabinet and authors what waits for them.
    pub directory: Arc<dyn StaffDirectory>,
    /// Which notices each staff account turned off.
    pub notice_settings: Arc<dyn crate::ports::NoticeSettingsStore>,
    /// The public archive: whether a sent campaign is in it.
    pub archive: Arc<dyn ArchiveStore>,
}

/// Campaign use cases.
pub struct Campaigns {
    d: CampaignDeps,
}

const ANY_STAFF: [Role; 3] = [Role::Redaction, Role::Cabinet, Role::Admin];

impl Campaigns {
    /// Builds the use cases.
    pub fn new(deps: CampaignDeps) -> Self {
        Self { d: deps }
    }

    pub(crate) fn deps(&self) -> &CampaignDeps {
        &self.d
    }

    async fn open_topics(&self) -> Result<Vec<Topic>, DomainError> {
        Ok(crate::ports::open_topics(self.d.topics.as_ref(), self.d.clock.now()).await?)
    }

    async fn load(&self, id: CampaignId) -> Result<Campaign, DomainError> {
        self.d
            .campaigns
            .get(id)
            .await?
            .ok_or_else(|| DomainError::NotFound("Cette campagne n'existe pas.".into()))
    }

    /// One workflow step: loads the campaign, applies `step` (a `Campaign` method, which checks
    /// the rule and returns the audit event), and saves it only if its status is still the one
    /// read, so two people acting at once cannot both win.
    async fn transition(
        &self,
        id: CampaignId,
        step: impl FnOnce(&mut Campaign, DateTime<Utc>) -> Result<CampaignEvent, DomainError>,
    ) -> Result<Campaign, DomainError> {
        let mut campaign = self.load(id).await?;
        let read = campaign.version;
        let event = step(&mut campaign, self.d.clock.now())?;
        match self.d.campaigns.update(&campaign, read, &event).await {
            Err(StoreError::Conflict(_)) => Err(DomainError::Conflict(
                "La campagne vient d'être modifiée par quelqu'un d'autre : rechargez-la.".into(),
            )),
            other => Ok(other.map(|()| campaign)?),
        }
    }

    /// Creates a draft (`redaction`).
    pub async fn create(
        &self,
        by: &StaffIdentity,
        input: &CampaignInput,
    ) -> Result<Campaign, DomainError> {
        by.require(Role::Redaction)?;
        self.create_as(by, input, CampaignKind::Standard, |_, _| {})
            .await
    }

    /// Creates, under the id `id`, the draft of a relayed weather alert or of its end, recording
    /// its source (`redaction`: the relay's own identity) and, in its history, `note` (why the
    /// staff's template was set aside for it).
    pub async fn create_weather_alert(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
        input: &CampaignInput,
        source: &AlertSource,
        message: AlertMessage,
        note: Option<String>,
    ) -> Result<Campaign, DomainError> {
        by.require(Role::Redaction)?;
        let kind = match message {
            AlertMessage::Alert => CampaignKind::WeatherAlert,
            AlertMessage::End => CampaignKind::WeatherAlertEnd,
        };
        self.create_as(by, input, kind, |c, created| {
            c.id = id;
            c.source = Some(source.clone());
            created.reason = note;
        })
        .await
    }

    /// Creates a draft of a given kind for an author whose role the caller has checked;
    /// `complete` sets what the content does not say, in the campaign and its creation event.
    async fn create_as(
        &self,
        by: &StaffIdentity,
        input: &CampaignInput,
        kind: CampaignKind,
        complete: impl FnOnce(&mut Campaign, &mut CampaignEvent),
    ) -> Result<Campaign, DomainError> {
        let now = self.d.clock.now();
        let content = CampaignContent::parse(input, &self.open_topics().await?, now)
            .map_err(DomainError::Validation)?;
        check_zones(
            self.d.zones.as_ref(),
            content.zones.iter().flatten(),
            "zones",
        )
        .await?;
        let (mut campaign, mut event) = Campaign::draft(content, by, kind, now);
        complete(&mut campaign, &mut event);
        self.d.campaigns.insert(&campaign, &event).await?;
        Ok(campaign)
    }

    /// Replaces a campaign's content (`redaction`); a submitted or rejected one returns to draft.
    pub async fn update(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
        input: &CampaignInput,
    ) -> Result<Campaign, DomainError> {
        by.require(Role::Redaction)?;
        let now = self.d.clock.now();
        let content = CampaignContent::parse(input, &self.open_topics().await?, now)
            .map_err(DomainError::Validation)?;
        check_zones(
            self.d.zones.as_ref(),
            content.zones.iter().flatten(),
            "zones",
        )
        .await?;
        // A draft saved again as it was is not a change: nothing for the history to record.
        let current = self.load(id).await?;
        if current.status() == CampaignStatus::Draft && current.content() == content {
            return Ok(current);
        }
        self.transition(id, |c, _| c.edit(content, by, now)).await
    }

    /// A campaign with its trail and counters (any staff role).
    pub async fn view(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
    ) -> Result<CampaignView, DomainError> {
        by.require_any(&ANY_STAFF)?;
        let campaign = self.load(id).await?;
        let started = matches!(
            campaign.status(),
            CampaignStatus::Sending | CampaignStatus::Sent
        );
        let archived = match started {
            true => self.d.archive.archived(id).await?.map(|m| m.path()),
            false => None,
        };
        Ok(CampaignView {
            sms_window_open: self.d.config.sending_window.is_open(self.d.clock.now()),
            archived,
            events: self.d.campaigns.events(id).await?,
            counts: if started {
                Some(self.d.campaigns.progress(id).await?)
            } else {
                None
            },
            campaign,
        })
    }

    /// Campaigns, newest first (any staff role).
    pub async fn list(
        &self,
        by: &StaffIdentity,
        status: Option<CampaignStatus>,
        limit: usize,
    ) -> Result<Vec<Campaign>, DomainError> {
        by.require_any(&ANY_STAFF)?;
        Ok(self.d.campaigns.list(status, limit.clamp(1, 500)).await?)
    }

    /// Recipients after de-duplication and suppressions, SMS analysis and cost (any staff role).
    pub async fn estimate(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
    ) -> Result<Estimate, DomainError> {
        by.require_any(&ANY_STAFF)?;
        let c = self.load(id).await?;
        let counted = self.count(&c).await?;
        let outlook = self.outlook(&c, &counted).await?;
        let prices = self.d.config.prices;
        let sms_cost = prices.sms_cost(counted.sms_segments_total);
        let email_cost = prices.email_cost(counted.email_recipients);
        let voice_cost = prices.voice_cost(counted.voice_recipients);
        Ok(Estimate {
            email_recipients: counted.email_recipients,
            sms_recipients: counted.sms_recipients,
            sms: counted.sms,
            sms_segments_total: counted.sms_segments_total,
            sms_cost,
            email_cost,
            total_cost: sms_cost + email_cost + voice_cost,
            sms_waits_for_window: c.messages.sms().is_some()
                && !c.urgent
                && !self
                    .d
                    .config
                    .sending_window
                    .is_open(c.send_at.unwrap_or(self.d.clock.now())),
            outlook,
            voice_recipients: counted.voice_recipients,
            voice: c
                .messages
                .voice()
                .map(|v| v.analysis(&self.d.config.town_name, c.acknowledgement)),
            voice_cost,
            zones: counted.zones,
        })
    }

    /// A campaign's recipients per channel and SMS segments.
    async fn count(&self, campaign: &Campaign) -> Result<Counted, DomainError> {
        let count = |channel: Channel| async move {
            if campaign.channels().contains(&channel) {
                self.d
                    .subscribers
                    .count_recipients(&campaign.topics, channel)
                    .await
            } else {
                Ok(0)
            }
        };
        let (email_recipients, sms_recipients, voice_recipients, zones) =
            match campaign.zone_filter() {
                None => (
                    count(Channel::Email).await?,
                    count(Channel::Sms).await?,
                    count(Channel::Voice).await?,
                    None,
                ),
                Some(filter) => {
                    self.count_in_zones(&campaign.topics, &campaign.channels(), &filter)
                        .await?
                }
            };
        let sms = campaign.messages.sms().map(|s| {
            if campaign.acknowledgement {
                let sample = reach::sample_reply_url(&self.d.config.public_url);
                analyze(&reach::sms_with_reply(&s.text, &sample))
            } else {
                analyze(&s.text)
            }
        });
        let sms_segments_total = sms.as_ref().map_or(0, |a| a.segments as u64) * sms_recipients;
        Ok(Counted {
            email_recipients,
            sms_recipients,
            sms,
            sms_segments_total,
            voice_recipients,
            zones,
        })
    }

    /// Recipients per channel of `topics` limited to zones, and what the limit reaches.
    pub(super) async fn count_in_zones(
        &self,
        topics: &[TopicSlug],
        channels: &BTreeSet<Channel>,
        filter: &ZoneFilter,
    ) -> Result<(u64, u64, u64, Option<ZoneEstimate>), DomainError> {
        let reach = |channel: Channel| async move {
            if channels.contains(&channel) {
                zone_reach(
                    self.d.audience.as_ref(),
                    self.d.suppressions.as_ref(),
                    topics,
                    channel,
                    filter,
                )
                .await
            } else {
                Ok(ZoneReach::default())
            }
        };
        let (email, sms) = (reach(Channel::Email).await?, reach(Channel::Sms).await?);
        let voice = reach(Channel::Voice).await?;
        let chosen = |r: ZoneReach| {
            if filter.include_unzoned {
                r.with_unzoned
            } else {
                r.in_zones
            }
        };
        Ok((
            chosen(email),
            chosen(sms),
            chosen(voice),
            Some(ZoneEstimate {
                email,
                sms,
                voice,
                include_unzoned: filter.include_unzoned,
            }),
        ))
    }

    /// Weighs a campaign against the providers' limits now: the daily email quota, the monthly
    /// SMS spend limit (compared with what this month's SMS cost, from the statistics: in
    /// euros at the service's prices, or, for a limit in dollars as SNS keeps it, what SNS
    /// billed as its receipts report, the campaign's own cost read at the configured price)
    /// and the sending window.
    async fn outlook(
        &self,
        c: &Campaign,
        counted: &Counted,
    ) -> Result<SendingOutlook, DomainError> {
        self.outlook_of(c.urgent, c.send_at, counted).await
    }

    /// The same for a campaign being written: urgent or not, leaving at `send_at` (none: now),
    /// to these many recipients.
    pub(super) async fn draft_outlook(
        &self,
        urgent: bool,
        send_at: Option<DateTime<Utc>>,
        (emails, sms, sms_segments): (u64, u64, u64),
    ) -> Result<SendingOutlook, DomainError> {
        let counted = Counted {
            email_recipients: emails,
            sms_recipients: sms,
            voice_recipients: 0,
            sms: None,
            sms_segments_total: sms_segments,
            zones: None,
        };
        self.outlook_of(urgent, send_at, &counted).await
    }

    async fn outlook_of(
        &self,
        urgent: bool,
        send_at: Option<DateTime<Utc>>,
        counted: &Counted,
    ) -> Result<SendingOutlook, DomainError> {
        let now = self.d.clock.now();
        let quotas = self.d.limits.quotas(now).await?;
        let prices = self.d.config.prices;
        let month = Month::of(now);
        let sms_spent_this_month = match quotas.sms_monthly_limit.map(|l| l.currency) {
            None => Money::ZERO,
            Some(Currency::Euro) => {
                let segments = self.d.stats.get(month, Counter::SmsSegments).await?;
                prices.sms_cost(u64::try_from(segments).unwrap_or(0))
            }
            // Millionths of a dollar to ten-thousandths.
            Some(Currency::Dollar) => Money::from_ten_thousandths(
                self.d.stats.get(month, Counter::SmsBilledMicroUsd).await? / 100,
            ),
        };
        let rates = self.d.config.send_rates;
        Ok(outlook(
            &SendPlan {
                emails: counted.email_recipients,
                sms: counted.sms_recipients,
                sms_segments: counted.sms_segments_total,
                sms_cost: prices.sms_cost(counted.sms_segments_total),
                sms_spent_this_month,
                urgent,
                now,
                start: send_at.filter(|at| *at > now).unwrap_or(now),
                email_rate: rates.email,
                sms_rate: rates.sms,
            },
            &quotas,
            &self.d.config.sending_window,
        ))
    }

    /// The messages as recipients will see them (any staff role).
    pub async fn preview(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
    ) -> Result<Preview, DomainError> {
        by.require_any(&ANY_STAFF)?;
        let c = self.load(id).await?;
        let email = c
            .messages
            .email()
            .map(|e| self.email_for(by, e))
            .transpose()?;
        Ok(Preview {
            email_subject: email.as_ref().map(|e| e.subject.clone()),
            email_html: email.as_ref().map(|e| e.html.clone()),
            email_text: email.map(|e| e.text),
            sms_text: c.messages.sms().map(|s| s.text.clone()),
        })
    }

    /// The messages of a campaign as residents received them, for whoever the caller already
    /// allowed (a department reading what was sent for its proposal).
    pub(crate) fn as_received(&self, c: &Campaign) -> Result<Preview, DomainError> {
        let example =
            crate::domain::contact::Email::from_str("habitant@exemple.fr").expect("valid");
        let email = c
            .messages
            .email()
            .map(|e| {
                RenderedEmail::of_email(e, &self.d.config.public_url).for_recipient(
                    &self.d.layout,
                    &example,
                    Some(format!("{}/preferences", self.d.config.public_url)),
                    None,
                    "",
                )
            })
            .transpose()?;
        Ok(Preview {
            email_subject: email.as_ref().map(|e| e.subject.clone()),
            email_html: email.as_ref().map(|e| e.html.clone()),
            email_text: email.map(|e| e.text),
            sms_text: c.messages.sms().map(|s| s.text.clone()),
        })
    }

    /// An email being written, in the town's layout, before it is saved (any staff role).
    pub fn preview_draft(
        &self,
        by: &StaffIdentity,
        subject: &str,
        body_markdown: &str,
    ) -> Result<Preview, DomainError> {
        by.require_any(&ANY_STAFF)?;
        let email = self.email_for(
            by,
            &CampaignEmail {
                subject: subject.trim().to_owned(),
                body_markdown: body_markdown.to_owned(),
            },
        )?;
        Ok(Preview {
            email_subject: Some(email.subject),
            email_html: Some(email.html),
            email_text: Some(email.text),
            sms_text: None,
        })
    }

    /// An email as the caller (or an example resident) would receive it.
    fn email_for(
        &self,
        by: &StaffIdentity,
        email: &CampaignEmail,
    ) -> Result<OutgoingEmail, DomainError> {
        let example = format!("{}/preferences", self.d.config.public_url);
        let to = by.email.clone().unwrap_or_else(|| {
            crate::domain::contact::Email::from_str("habitant@exemple.fr").expect("valid")
        });
        RenderedEmail::of_email(email, &self.d.config.public_url).for_recipient(
            &self.d.layout,
            &to,
            Some(example),
            None,
            "",
        )
    }

    /// An SMS being written: its analysis, the GSM-7 stand-ins for the characters forcing
    /// UCS-2, and its cost per recipient (any staff role).
    pub fn analyze_sms(&self, by: &StaffIdentity, text: &str) -> Result<SmsDraft, DomainError> {
        by.require_any(&ANY_STAFF)?;
        let analysis = analyze(text);
        Ok(SmsDraft {
            suggestions: replacements(&analysis),
            cost_per_recipient: self.d.config.prices.sms_cost(analysis.segments as u64),
            analysis,
        })
    }

    /// Sends the campaign to the acting staff member only (`redaction` or `cabinet`).
    pub async fn test_send(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
    ) -> Result<TestSend, DomainError> {
        by.require_any(&[Role::Redaction, Role::Cabinet])?;
        let c = self.load(id).await?;
        let mut errors = FieldErrors::new();
        if c.messages.email().is_some() && by.email.is_none() {
            errors.add(
                "email",
                "Votre compte n'a pas d'adresse e-mail : le test ne peut pas vous être envoyé.",
            );
        }
        if c.messages.sms().is_some() && by.phone.is_none() {
            errors.add("sms", "Votre compte n'a pas de numéro de mobile : le test SMS ne peut pas vous être envoyé.");
        }
        errors.into_result()?;
        let mut result = TestSend {
            email: None,
            sms: None,
        };
        if let (Some(rendered), Some(to)) =
            (RenderedEmail::of(&c, &self.d.config.public_url), &by.email)
        {
            let example = format!("{}/preferences", self.d.config.public_url);
            let mail =
                rendered.for_recipient(&self.d.layout, to, Some(example), None, "[TEST] ")?;
            self.d.email.send_email(&mail).await.map_err(|e| {
                e.for_field(
                    "email",
                    "Le service d'envoi refuse l'adresse e-mail de votre compte : faites-la corriger par un administrateur.",
                )
            })?;
            result.email = Some(to.to_string());
        }
        if let (Some(sms), Some(to)) = (c.messages.sms(), &by.phone) {
            self.d
                .sms
                .send_sms(&OutgoingSms {
                    to: to.clone(),
                    text: format!("[TEST] {}", sms.text),
                })
                .await
                .map_err(|e| {
                    e.for_field(
                        "sms",
                        "Le service d'envoi refuse le numéro de mobile de votre compte : faites-le corriger par un administrateur.",
                    )
                })?;
            result.sms = Some(to.to_string());
        }
        self.record_test_send(by, id, &result).await;
        Ok(result)
    }

    /// Writes a test send in the history: who received it and by which channels, never the
    /// addresses. The test has left: a history that cannot be written is logged, not failed.
    async fn record_test_send(&self, by: &StaffIdentity, id: CampaignId, sent: &TestSend) {
        let channels = match (&sent.email, &sent.sms) {
            (Some(_), Some(_)) => "e-mail et SMS",
            (Some(_), None) => "e-mail",
            (None, Some(_)) => "SMS",
            (None, None) => return,
        };
        // Appended on the version read, as any step: a concurrent edit means reading again.
        for _ in 0..3 {
            let c = match self.load(id).await {
                Ok(c) => c,
                Err(_) => break,
            };
            let event = c.test_sent(by, channels, self.d.clock.now());
            match self.d.campaigns.update(&c, c.version, &event).await {
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => {
                    tracing::warn!(campaign = %id, error = %e, "test send not recorded in the history");
                    return;
                }
                Ok(()) => return,
            }
        }
        tracing::warn!(campaign = %id, "test send not recorded in the history: the campaign kept changing");
    }

    /// Sends a draft to the cabinet (`redaction`).
    pub async fn submit(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
    ) -> Result<Campaign, DomainError> {
        by.require(Role::Redaction)?;
        let c = self.transition(id, |c, now| c.submit(by, now)).await?;
        self.tell_cabinet_submitted(&c).await;
        Ok(c)
    }

    /// The cabinet approves the version it read; sending starts at once unless scheduled
    /// (`cabinet`, neither the author nor whoever last edited or submitted it).
    pub async fn approve(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
        read: Option<u32>,
    ) -> Result<Campaign, DomainError> {
        Ok(self.approve_with_outlook(by, id, read).await?.0)
    }

    /// [`Self::approve`], refused (`409`, with the figures) when the campaign cannot start
    /// within the providers' limits; the outlook it was weighed by, warnings included, comes
    /// back with it.
    pub async fn approve_with_outlook(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
        read: Option<u32>,
    ) -> Result<(Campaign, SendingOutlook), DomainError> {
        by.require(Role::Cabinet)?;
        let current = self.load(id).await?;
        // Weighed only when the approval can happen: out of order, or another version than
        // the one read, the transition itself answers why.
        // The exact recipients also size the fan-out (a campaign limited to zones counts only
        // those in them, while its fan-out reads the whole topics: the hourly count sizes it).
        let mut recipients = None;
        let outlook = if current.status() == CampaignStatus::Submitted
            && read == Some(current.version)
        {
            let counted = self.count(&current).await?;
            if counted.zones.is_none() {
                recipients = Some(
                    counted.email_recipients + counted.sms_recipients + counted.voice_recipients,
                );
            }
            self.outlook(&current, &counted).await?
        } else {
            SendingOutlook::empty()
        };
        if !outlook.can_start {
            return Err(DomainError::Conflict(outlook.refusals.join(" ")));
        }
        let c = self
            .transition(id, |c, now| c.approve(by, read, now))
            .await?;
        self.tell_author(&c, Decision::Approved).await;
        if c.status() == CampaignStatus::Approved {
            return Ok((
                self.d.dispatcher.start_counted(c, recipients).await?,
                outlook,
            ));
        }
        Ok((c, outlook))
    }

    /// The cabinet refuses, with a reason (`cabinet`).
    pub async fn reject(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
        reason: &str,
    ) -> Result<Campaign, DomainError> {
        by.require(Role::Cabinet)?;
        let c = self
            .transition(id, |c, now| c.reject(by, reason, now))
            .await?;
        self.tell_author(&c, Decision::Rejected).await;
        Ok(c)
    }

    /// Stops an approved or scheduled campaign (`cabinet` or `admin`).
    pub async fn cancel(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
        reason: Option<&str>,
    ) -> Result<Campaign, DomainError> {
        by.require_any(&[Role::Cabinet, Role::Admin])?;
        self.transition(id, |c, now| c.cancel(by, reason, now))
            .await
    }

    /// Deliveries of a campaign, page by page (any staff role).
    pub async fn deliveries(
        &self,
        by: &StaffIdentity,
        id: CampaignId,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<Delivery>, DomainError> {
        by.require_any(&ANY_STAFF)?;
        self.load(id).await?;
        Ok(self
            .d
            .deliveries
            .list(id, limit.clamp(1, 1000), offset)
            .await?)
    }
}
