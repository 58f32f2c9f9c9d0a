//! The figures the town reports: campaigns, weather alerts, SMS (and segments), emails, cost,
//! sign-ups and departures per month, and subscribers per topic and channel and per zone.

use crate::domain::campaign::CampaignId;
use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::clock::{Clock, Month};
use crate::domain::contact::Channel;
use crate::domain::delivery::ChannelPause;
use crate::domain::money::Money;
use crate::domain::queue::QueueHealth;
use crate::domain::staff::{Role, StaffIdentity};
use crate::error::{DomainError, FieldErrors};
use crate::ports::{
    AudienceCount, Counter, JobQueue, PauseStore, SignupOrigin, StatsStore, SubscriberReports,
    TopicStore, ZoneStore,
};

/// Figures of one month or of a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Figures {
    /// Campaigns whose sending finished.
    pub campaigns_sent: i64,
    /// Of which weather alerts.
    pub weather_alerts_sent: i64,
    pub sms_sent: i64,
    /// SMS segments billed.
    pub sms_segments: i64,
    pub emails_sent: i64,
    /// Cost, € HT.
    pub cost: Money,
    /// New active subscribers.
    pub signups: i64,
    /// Subscribers who left.
    pub departures: i64,
    /// Polls of the Météo-France feed that failed: staff see when alerts may be missed.
    pub weather_feed_failures: i64,
    /// SMS the operator reported delivered to the phone (delivery receipts, on AWS).
    pub sms_delivered: i64,
    /// SMS the operator reported it could not deliver.
    pub sms_undelivered: i64,
    /// What the operator billed for the SMS reported on (US dollars, as SNS bills).
    #[serde(rename = "sms_billed_usd", serialize_with = "micro_usd")]
    pub sms_billed_micro_usd: i64,
}

/// Millionths of a dollar as a number of dollars.
fn micro_usd<S: serde::Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(*v as f64 / 1_000_000.0)
}

impl Figures {
    fn add(&mut self, counter: Counter, value: i64) {
        match counter {
            Counter::CampaignsSent => self.campaigns_sent += value,
            Counter::WeatherAlertsSent => self.weather_alerts_sent += value,
            Counter::SmsSent => self.sms_sent += value,
            Counter::SmsSegments => self.sms_segments += value,
            Counter::EmailsSent => self.emails_sent += value,
            Counter::CostTenThousandths => self.cost += Money::from_ten_thousandths(value),
            Counter::SignUps => self.signups += value,
            Counter::Departures => self.departures += value,
            Counter::WeatherFeedFailures => self.weather_feed_failures += value,
            Counter::SmsDelivered => self.sms_delivered += value,
            Counter::SmsUndelivered => self.sms_undelivered += value,
            Counter::SmsBilledMicroUsd => self.sms_billed_micro_usd += value,
        }
    }
}

/// One month's figures: what the staff chart plots per month.
#[derive(Debug, Clone, Serialize)]
pub struct MonthFigures {
    /// The month (`YYYY-MM` in JSON).
    pub month: Month,
    /// At the top level of the month's JSON object.
    #[serde(flatten)]
    pub figures: Figures,
}

/// Active subscribers of a topic on a channel.
#[derive(Debug, Clone, Serialize)]
pub struct TopicFigures {
    /// Topic slug.
    pub topic: String,
    /// Topic name.
    pub name: String,
    pub channel: Channel,
    /// Active subscribers.
    pub subscribers: u64,
}

/// Active subscribers who named a zone, or none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZoneFigures {
    /// Zone slug; null for those who named no zone.
    pub zone: Option<String>,
    /// Zone name, « Sans zone » for those who named none.
    pub name: String,
    /// Active subscribers (one who named two zones counts in both).
    pub subscribers: u64,
}

/// What the statistics call those who named no zone.
pub const NO_ZONE: &str = "Sans zone";

/// The service's health for staff: its queues, and the channels the provider paused.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceHealth {
    #[serde(flatten)]
    pub queue: QueueHealth,
    /// Channels nothing is sent on until staff resume them.
    pub paused: Vec<ChannelPause>,
}

/// The statistics of a period.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    /// First month (`YYYY-MM`).
    pub from: Month,
    /// Last month (`YYYY-MM`).
    pub to: Month,
    /// Totals over the period.
    pub totals: Figures,
    /// Sign-ups over the period by where they came from: the web, an import, a paper form and
    /// the place it was handed in (counted since the places were recorded).
    pub signups_by_origin: Vec<OriginFigures>,
    /// Month by month, oldest first; a month without any activity is left out.
    pub months: Vec<MonthFigures>,
    /// Current subscribers per topic and channel.
    pub subscribers: Vec<TopicFigures>,
    /// Subscribers per topic and channel month by month (as counted in each month, this month's
    /// now), oldest first; months before the counts began are left out.
    pub audience: Vec<AudienceMonth>,
    /// Current active subscribers per zone of the town (every zone, by slug, even with none),
    /// then those who named no zone.
    pub zones: Vec<ZoneFigures>,
}

/// Sign-ups from one origin.
#[derive(Debug, Clone, Serialize)]
pub struct OriginFigures {
    /// `web`, `import`, `papier`, `agent` or `lieu:<place>`.
    pub origin: String,
    /// In French, for staff.
    pub label: String,
    pub signups: i64,
}

/// The audience of one month.
#[derive(Debug, Clone, Serialize)]
pub struct AudienceMonth {
    pub month: Month,
    /// Subscribers per topic and channel.
    pub topics: Vec<TopicFigures>,
}

/// The months `from` to `to` staff asked for (`YYYY-MM` or a date in the month), by default
/// January to the month of `now`; the first must not come after the last.
pub(crate) fn period(
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(Month, Month), DomainError> {
    let this_month = Month::of(now);
    let from = match from.filter(|s| !s.trim().is_empty()) {
        Some(f) => parse_month(f, "from")?,
        None => this_month.january(),
    };
    let to = match to.filter(|s| !s.trim().is_empty()) {
        Some(t) => parse_month(t, "to")?,
        None => this_month,
    };
    if from > to {
        return Err(FieldErrors::single(
            "from",
            "La date de début doit précéder la date de fin.",
        ));
    }
    Ok((from, to))
}

fn parse_month(raw: &str, field: &str) -> Result<Month, DomainError> {
    let raw = raw.trim();
    NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .map(Month::containing)
        .or_else(|_| raw.parse::<Month>())
        .map_err(|_| {
            FieldErrors::single(
                field,
                format!("Date invalide : « {raw} » (format AAAA-MM-JJ ou AAAA-MM)."),
            )
        })
}

/// Statistics use case (any staff role).
pub struct Statistics {
    stats: Arc<dyn StatsStore>,
    subscribers: Arc<dyn SubscriberReports>,
    topics: Arc<dyn TopicStore>,
    zones: Arc<dyn ZoneStore>,
    clock: Arc<dyn Clock>,
    queue: Arc<dyn JobQueue>,
    pauses: Arc<dyn PauseStore>,
}

/// The ports the statistics read, named so that none can be passed for another.
pub struct StatisticsDeps {
    /// Monthly counters.
    pub stats: Arc<dyn StatsStore>,
    /// Subscriber counts per topic and channel.
    pub subscribers: Arc<dyn SubscriberReports>,
    /// Topic names.
    pub topics: Arc<dyn TopicStore>,
    /// The town's zones, named in the count by zone.
    pub zones: Arc<dyn ZoneStore>,
    /// Today, for the default period.
    pub clock: Arc<dyn Clock>,
    /// The work queues, whose health staff follow.
    pub queue: Arc<dyn JobQueue>,
    /// The channels the provider paused.
    pub pauses: Arc<dyn PauseStore>,
}

impl Statistics {
    /// Builds the use case.
    pub fn new(d: StatisticsDeps) -> Self {
        Self {
            stats: d.stats,
            subscribers: d.subscribers,
            topics: d.topics,
            zones: d.zones,
            clock: d.clock,
            queue: d.queue,
            pauses: d.pauses,
        }
    }

    /// Active subscribers per topic and channel, now.
    async fn audience_now(&self) -> Result<Vec<AudienceCount>, DomainError> {
        Ok(self
            .subscribers
            .count_by_topic()
            .await?
            .into_iter()
            .map(|(topic, channel, subscribers)| AudienceCount {
                topic,
                channel,
                subscribers,
            })
            .collect())
    }

    /// Keeps this month's audience (run every hour): the history the dashboard charts.
    pub async fn record_audience(&self) -> Result<(), DomainError> {
        let counts = self.audience_now().await?;
        let month = Month::of(self.clock.now());
        Ok(self.stats.save_audience(month, &counts).await?)
    }

    /// Jobs waiting, dead letters, and the channels the provider paused (any staff role).
    pub async fn queue_health(&self, by: &StaffIdentity) -> Result<ServiceHealth, DomainError> {
        by.require_any(&[Role::Redaction, Role::Cabinet, Role::Admin])?;
        Ok(ServiceHealth {
            queue: self.queue.health().await?,
            paused: self.pauses.pauses().await?,
        })
    }

    /// Resumes a channel the provider paused, or a campaign's emails the bounce and complaint
    /// brake stopped, once the cause is cleared (`cabinet` or `admin`); the deliveries waiting
    /// on it go out.
    pub async fn resume_sending(
        &self,
        by: &StaffIdentity,
        channel: Channel,
        campaign: Option<CampaignId>,
    ) -> Result<(), DomainError> {
        by.require_any(&[Role::Cabinet, Role::Admin])?;
        if self.pauses.resume(channel, campaign).await? {
            tracing::info!(channel = channel.as_str(), campaign = ?campaign, by = %by.id, "sending resumed");
            return Ok(());
        }
        let name = match channel {
            Channel::Email => "e-mail",
            Channel::Sms => "SMS",
            Channel::Voice => "appel vocal",
        };
        Err(DomainError::NotFound(match campaign {
            None => format!("L'envoi par {name} n'est pas en pause."),
            Some(_) => format!("L'envoi par {name} de cette campagne n'est pas freiné."),
        }))
    }

    /// Figures from `from` to `to` (months, inclusive); by default since January of this year.
    pub async fn report(
        &self,
        by: &StaffIdentity,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<StatsReport, DomainError> {
        by.require_any(&[Role::Redaction, Role::Cabinet, Role::Admin])?;
        let (from, to) = period(from, to, self.clock.now())?;
        let mut by_month: BTreeMap<Month, Figures> = BTreeMap::new();
        for (month, counter, value) in self.stats.months(from, to).await? {
            by_month.entry(month).or_default().add(counter, value);
        }
        let mut totals = Figures::default();
        for (counter, f) in by_month.values().flat_map(|f| Counter::ALL.map(|c| (c, f))) {
            totals.add(counter, value_of(f, counter));
        }
        let names = self.topic_names().await?;
        let now = self.audience_now().await?;
        let audience = self.audience_by_month(from, to, &now, &names).await?;
        let signups_by_origin = self
            .stats
            .signups_by_origin(from, to)
            .await?
            .into_iter()
            .map(|(origin, signups)| OriginFigures {
                label: SignupOrigin::label(&origin),
                origin,
                signups,
            })
            .collect();
        Ok(StatsReport {
            from,
            to,
            totals,
            signups_by_origin,
            months: by_month
                .into_iter()
                .map(|(month, figures)| MonthFigures { month, figures })
                .collect(),
            subscribers: named(&names, now),
            audience,
            zones: self.by_zone().await?,
        })
    }

    /// Active subscribers per zone: every zone of the town by slug, then « Sans zone ». A zone
    /// counted that the town no longer lists keeps its slug as its name.
    async fn by_zone(&self) -> Result<Vec<ZoneFigures>, DomainError> {
        let mut counts: BTreeMap<_, _> = self
            .subscribers
            .count_by_zone()
            .await?
            .into_iter()
            .collect();
        let unzoned = counts.remove(&None).unwrap_or(0);
        let mut figures: Vec<ZoneFigures> = self
            .zones
            .zones()
            .await?
            .into_iter()
            .map(|z| ZoneFigures {
                subscribers: counts.remove(&Some(z.slug.clone())).unwrap_or(0),
                zone: Some(z.slug.to_string()),
                name: z.name,
            })
            .collect();
        figures.extend(counts.into_iter().flat_map(|(zone, subscribers)| {
            zone.map(|z| ZoneFigures {
                name: z.to_string(),
                zone: Some(z.to_string()),
                subscribers,
            })
        }));
        figures.push(ZoneFigures {
            zone: None,
            name: NO_ZONE.to_owned(),
            subscribers: unzoned,
        });
        Ok(figures)
    }

    /// Each topic's name, by slug.
    async fn topic_names(&self) -> Result<BTreeMap<String, String>, DomainError> {
        Ok(self
            .topics
            .list()
            .await?
            .into_iter()
            .map(|t| (t.slug.to_string(), t.name))
            .collect())
    }

    /// The audience of each month of the period as counted, this month's as it is `now`.
    async fn audience_by_month(
        &self,
        from: Month,
        to: Month,
        now: &[AudienceCount],
        names: &BTreeMap<String, String>,
    ) -> Result<Vec<AudienceMonth>, DomainError> {
        let this_month = Month::of(self.clock.now());
        let mut audience: Vec<AudienceMonth> = self
            .stats
            .audience(from, to)
            .await?
            .into_iter()
            .filter(|(month, _)| *month != this_month)
            .map(|(month, counts)| AudienceMonth {
                month,
                topics: named(names, counts),
            })
            .collect();
        if (from..=to).contains(&this_month) {
            audience.push(AudienceMonth {
                month: this_month,
                topics: named(names, now.to_vec()),
            });
        }
        Ok(audience)
    }
}

/// Audience counts with their topics' names.
fn named(names: &BTreeMap<String, String>, counts: Vec<AudienceCount>) -> Vec<TopicFigures> {
    counts
        .into_iter()
        .map(|c| TopicFigures {
            name: names.get(c.topic.as_str()).cloned().unwrap_or_default(),
            topic: c.topic.to_string(),
            channel: c.channel,
            subscribers: c.subscribers,
        })
        .collect()
}

fn value_of(f: &Figures, counter: Counter) -> i64 {
    match counter {
        Counter::CampaignsSent => f.campaigns_sent,
        Counter::WeatherAlertsSent => f.weather_alerts_sent,
        Counter::SmsSent => f.sms_sent,
        Counter::SmsSegments => f.sms_segments,
        Counter::EmailsSent => f.emails_sent,
        Counter::CostTenThousandths => f.cost.ten_thousandths(),
        Counter::SignUps => f.signups,
        Counter::Departures => f.departures,
        Counter::WeatherFeedFailures => f.weather_feed_failures,
        Counter::SmsDelivered => f.sms_delivered,
        Counter::SmsUndelivered => f.sms_undelivered,
        Counter::SmsBilledMicroUsd => f.sms_billed_micro_usd,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_from_dates_or_months() {
        let march: Month = "2026-03".parse().unwrap();
        assert_eq!(parse_month("2026-03-15", "from").unwrap(), march);
        assert_eq!(parse_month("2026-03", "from").unwrap(), march);
        assert!(
            matches!(parse_month("mars", "to"), Err(DomainError::Validation(f)) if f.get("to").is_some())
        );
    }

    #[test]
    fn figures_add_and_read_back_every_counter() {
        let mut f = Figures::default();
        for (i, c) in Counter::ALL.into_iter().enumerate() {
            f.add(c, i as i64 + 1);
            assert_eq!(value_of(&f, c), i as i64 + 1);
        }
    }
}
