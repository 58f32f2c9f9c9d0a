//! The anonymous monthly counters of the statistics.

use std::str::FromStr;

use crate::error::UnknownName;

/// Anonymous monthly counters (they survive erasure of the people counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counter {
    /// A subscriber became active.
    SignUps,
    /// A subscriber unsubscribed from everything or was erased.
    Departures,
    /// A campaign finished sending.
    CampaignsSent,
    /// A weather-alert campaign finished sending.
    WeatherAlertsSent,
    /// SMS accepted by the provider (a message of several segments counts once).
    SmsSent,
    /// SMS segments sent (what is billed).
    SmsSegments,
    /// Emails accepted by the provider.
    EmailsSent,
    /// Cost in ten-thousandths of a euro, excluding VAT.
    CostTenThousandths,
    /// A poll of the Météo-France feed that failed (down, refused, unreadable, stale).
    WeatherFeedFailures,
    /// SMS the operator reported delivered to the phone (SNS delivery receipts).
    SmsDelivered,
    /// SMS the operator reported it could not deliver.
    SmsUndelivered,
    /// What the operator billed for the SMS it reported on, in millionths of a US dollar.
    SmsBilledMicroUsd,
}

impl FromStr for Counter {
    type Err = UnknownName;

    /// Parses the stored name.
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownName::new("compteur", s))
    }
}

impl Counter {
    /// Every counter.
    pub const ALL: [Counter; 12] = [
        Counter::SignUps,
        Counter::Departures,
        Counter::CampaignsSent,
        Counter::WeatherAlertsSent,
        Counter::SmsSent,
        Counter::SmsSegments,
        Counter::EmailsSent,
        Counter::CostTenThousandths,
        Counter::WeatherFeedFailures,
        Counter::SmsDelivered,
        Counter::SmsUndelivered,
        Counter::SmsBilledMicroUsd,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Counter::SignUps => "signups",
            Counter::Departures => "departures",
            Counter::CampaignsSent => "campaigns_sent",
            Counter::WeatherAlertsSent => "weather_alerts_sent",
            Counter::SmsSent => "sms_sent",
            Counter::SmsSegments => "sms_segments",
            Counter::EmailsSent => "emails_sent",
            Counter::CostTenThousandths => "cost_ten_thousandths",
            Counter::WeatherFeedFailures => "weather_feed_failures",
            Counter::SmsDelivered => "sms_delivered",
            Counter::SmsUndelivered => "sms_undelivered",
            Counter::SmsBilledMicroUsd => "sms_billed_micro_usd",
        }
    }
}
