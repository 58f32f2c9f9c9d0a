//! Settings the use cases need, read once at start-up by each runtime.

use std::num::NonZeroU32;

use chrono::Duration;

use crate::domain::money::Prices;
use crate::domain::sending_window::SendingWindow;
use crate::domain::weather::WeatherPolicy;
use crate::domain::weather::{Colour, Phenomenon};

/// A setting an operator gave that the service cannot start with: the variable at fault
/// (`TELMAIL_…`, the flag's name locally) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {reason}")]
pub struct SettingError {
    pub variable: &'static str,
    pub reason: String,
}

impl SettingError {
    /// `variable` refused, saying why.
    pub fn new(variable: &'static str, reason: impl Into<String>) -> Self {
        Self {
            variable,
            reason: reason.into(),
        }
    }
}

/// Service-wide settings shared by every runtime.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Public base URL for links in messages, without trailing slash (e.g. `https://alertes.arcachon.fr`).
    pub public_url: String,
    /// Town name used in messages.
    pub town_name: String,
    /// How long a web sign-up waits for confirmation.
    pub pending_ttl: Duration,
    /// Validity of preference-page links.
    pub manage_link_ttl: Duration,
    /// Validity of unsubscribe links (RFC 8058 asks that they keep working for a while).
    pub unsubscribe_link_ttl: Duration,
    /// Wrong SMS codes allowed before the sign-up is locked.
    pub max_code_attempts: u32,
    /// What holds the sign-up form against abuse that floods or costs money.
    pub signup_limits: SignupLimits,
    /// Which Météo-France vigilance is relayed, and how.
    pub weather: WeatherPolicy,
    /// Prices used for estimates and costs.
    pub prices: Prices,
    /// When non-urgent SMS may go out.
    pub sending_window: SendingWindow,
    /// The most fan-out shards a campaign gets (parallelism of the fan-out), 1 to 256; a
    /// campaign gets one per [`RECIPIENTS_PER_SHARD`] of its audience, up to this.
    pub fanout_shards: NonZeroU32,
    /// How much one fan-out job does before it hands the rest of its shard to the next.
    pub fanout_slice: FanoutSlice,
    /// How long a transiently failing delivery is tried again (its attempts spaced 30 s, 1, 2,
    /// 4, 8 then 15 minutes) before it is marked failed; waits the provider asks for do not
    /// count.
    pub retry_for: Duration,
    /// Messages per second each channel's provider is used at (none: as fast as it answers).
    pub send_rates: SendRates,
    /// How long a claimed delivery may stay `sending` before it is taken for abandoned (its
    /// sender died mid-send) and failed, never resent. A live sender books no slot past its
    /// own deadline, so this is the longest a sending invocation runs (the queue lease locally,
    /// the function's timeout on AWS), plus a margin.
    pub claim_expiry: Duration,
    /// How big files are read and written, step by step.
    pub big_files: BigFiles,
    /// How a campaign call the provider reports unanswered, busy or failed is tried again.
    pub voice_retries: VoiceRetries,
}

/// How many more times an unanswered, busy or failed campaign call is placed, and how long
/// after the report. Only a provider that reports call outcomes (the AWS voice service) can
/// trigger them: the local outbox never learns whether anyone answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VoiceRetries {
    /// Calls after the first (0: none).
    pub more: u32,
    /// Wait between a reported outcome and the next call.
    pub every: Duration,
}

impl Default for VoiceRetries {
    fn default() -> Self {
        Self {
            more: 2,
            every: Duration::minutes(5),
        }
    }
}

impl VoiceRetries {
    /// The most retries a setting may ask (a call every few minutes: more would harass).
    pub const MOST: u32 = 5;

    /// From `TELMAIL_VOICE_RETRIES` (0 to 5) and `TELMAIL_VOICE_RETRY_MINUTES` (1 to 15, the
    /// longest a queue delays a job); an error names the variable at fault.
    pub fn parse(retries: &str, minutes: &str) -> Result<Self, SettingError> {
        let more = retries
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= Self::MOST)
            .ok_or_else(|| {
                SettingError::new(
                    "TELMAIL_VOICE_RETRIES",
                    format!("« {retries} » is not a whole number from 0 to 5"),
                )
            })?;
        let every = minutes
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|m| (1..=15).contains(m))
            .map(Duration::minutes)
            .ok_or_else(|| {
                SettingError::new(
                    "TELMAIL_VOICE_RETRY_MINUTES",
                    format!("« {minutes} » is not a whole number of minutes from 1 to 15"),
                )
            })?;
        Ok(Self { more, every })
    }
}

/// The steps of big-file jobs: each bounded well inside a function's time and memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BigFiles {
    /// Bytes of an import read per step (about 12,000 lines).
    pub import_bytes: u64,
    /// Bytes of an export written per step (S3 wants at least 5 MiB a part, the last apart).
    pub export_bytes: usize,
    /// Subscribers an export reads from the store at once.
    pub export_page: usize,
    /// Subscribers looked up or written at once.
    pub concurrency: usize,
    /// The most subscribers an export sorts (held in memory at once, in one step); a bigger
    /// file is exported in the store's order, page by page, and says so.
    pub sort_limit: usize,
}

impl Default for BigFiles {
    fn default() -> Self {
        Self {
            import_bytes: 1 << 20,
            export_bytes: 8 << 20,
            export_page: 1000,
            concurrency: 16,
            sort_limit: 100_000,
        }
    }
}

/// A campaign's audience per fan-out shard, when sending starts.
pub const RECIPIENTS_PER_SHARD: u64 = 25_000;

/// The bounds of one fan-out job: it stops at whichever comes first, once the page under way
/// is queued, and hands the rest of its shard to a new job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FanoutSlice {
    /// Recipients.
    pub recipients: u64,
    /// Time on the service's clock: well inside the fan-out function's timeout (120 s on AWS).
    pub time: std::time::Duration,
}

impl Default for FanoutSlice {
    fn default() -> Self {
        Self {
            recipients: 50_000,
            time: std::time::Duration::from_secs(40),
        }
    }
}

/// The pace of each provider, shared by every sender, in messages per second.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SendRates {
    pub email: Option<f64>,
    pub sms: Option<f64>,
    /// Calls placed per second.
    pub voice: Option<f64>,
}

impl ServiceConfig {
    /// Defaults for a public base URL.
    pub fn with_public_url(public_url: impl Into<String>) -> Self {
        Self {
            public_url: public_url.into().trim_end_matches('/').to_owned(),
            town_name: "Arcachon".into(),
            pending_ttl: Duration::days(7),
            manage_link_ttl: Duration::days(90),
            unsubscribe_link_ttl: Duration::days(180),
            max_code_attempts: 5,
            signup_limits: SignupLimits::default(),
            weather: WeatherPolicy::default(),
            prices: Prices::default(),
            sending_window: SendingWindow::default(),
            fanout_shards: NonZeroU32::new(8).expect("non-zero"),
            fanout_slice: FanoutSlice::default(),
            retry_for: Duration::hours(6),
            send_rates: SendRates::default(),
            // The embedded workers' queue lease (5 minutes) and a minute's margin.
            claim_expiry: Duration::minutes(6),
            big_files: BigFiles::default(),
            voice_retries: VoiceRetries::default(),
        }
    }

    /// Builds the settings an operator gives (flags locally, environment variables on AWS);
    /// an error names the variable at fault.
    pub fn from_settings(s: &Settings<'_>) -> Result<Self, SettingError> {
        let mut config = Self::with_public_url(s.public_url);
        config.town_name = s.town.to_owned();
        config.prices = s.prices;
        config.sending_window = s
            .sms_window
            .parse::<SendingWindow>()
            .map_err(|e| SettingError::new("TELMAIL_SMS_WINDOW", e.to_string()))?;
        config.fanout_shards = NonZeroU32::new(s.fanout_shards)
            .filter(|n| n.get() <= 256)
            .ok_or_else(|| {
                SettingError::new("TELMAIL_FANOUT_SHARDS", "must be between 1 and 256")
            })?;
        signup_settings(&mut config.signup_limits, s)?;
        weather_settings(&mut config.weather, s)?;
        if let Some(hours) = s.retry_hours {
            config.retry_for = parse_hours(hours)?;
        }
        config.send_rates = SendRates {
            email: s
                .email_rate
                .map(|r| parse_rate(r, "TELMAIL_EMAIL_RATE"))
                .transpose()?,
            sms: s
                .sms_rate
                .map(|r| parse_rate(r, "TELMAIL_SMS_RATE"))
                .transpose()?,
            voice: s
                .voice_rate
                .map(|r| parse_rate(r, "TELMAIL_VOICE_RATE"))
                .transpose()?,
        };
        Ok(config)
    }
}

/// What holds the public sign-up against abuse. Each limit is counted in the store, so it holds
/// across processes and Lambda instances.
#[derive(Debug, Clone)]
pub struct SignupLimits {
    /// Country calling codes whose mobile numbers may sign up (SMS to other countries cost more
    /// and are the usual target of SMS pumping).
    pub country_codes: Vec<u16>,
    /// At most one code SMS to a number in this time (zero: no wait between codes).
    pub code_sms_interval: Duration,
    /// Code SMS to one number in a day (Paris time).
    pub code_sms_per_number_per_day: u32,
    /// Code SMS of the whole service in a day: the budget sign-up abuse can spend at most, so
    /// that it never eats the SMS spending the town's alerts need.
    pub code_sms_per_day: u32,
    /// Sign-ups from one client address in an hour.
    pub signups_per_client_per_hour: u32,
}

/// France: metropolitan (33), Guadeloupe and its neighbours (590), Guyane (594), Martinique
/// (596), La Réunion and Mayotte (262), Saint-Pierre-et-Miquelon (508), Wallis-et-Futuna (681),
/// Nouvelle-Calédonie (687), Polynésie française (689).
pub const FRENCH_COUNTRY_CODES: [u16; 9] = [33, 590, 594, 596, 262, 508, 681, 687, 689];

impl Default for SignupLimits {
    fn default() -> Self {
        Self {
            country_codes: FRENCH_COUNTRY_CODES.to_vec(),
            code_sms_interval: Duration::minutes(5),
            code_sms_per_number_per_day: 3,
            code_sms_per_day: 200,
            signups_per_client_per_hour: 30,
        }
    }
}

/// The sign-up limits an operator sets.
fn signup_settings(limits: &mut SignupLimits, s: &Settings<'_>) -> Result<(), SettingError> {
    if let Some(codes) = s.sms_countries {
        limits.country_codes = parse_country_codes(codes)?;
    }
    if let Some(budget) = s.code_sms_per_day {
        limits.code_sms_per_day = budget;
    }
    if let Some(allowance) = s.signups_per_hour {
        if allowance == 0 {
            return Err(SettingError::new(
                "TELMAIL_SIGNUPS_PER_HOUR",
                "must be at least 1",
            ));
        }
        limits.signups_per_client_per_hour = allowance;
    }
    if let Some(seconds) = s.code_sms_interval_seconds {
        limits.code_sms_interval = Duration::seconds(i64::from(seconds));
    }
    Ok(())
}

/// The weather relay's settings an operator sets.
fn weather_settings(weather: &mut WeatherPolicy, s: &Settings<'_>) -> Result<(), SettingError> {
    if let Some(threshold) = s.weather_threshold {
        weather.threshold = threshold
            .parse::<Colour>()
            .map_err(|e| SettingError::new("TELMAIL_WEATHER_THRESHOLD", e.to_string()))?;
    }
    if let Some(at_once) = s.weather_at_once {
        weather.send_at_once_from = match at_once.trim() {
            "" | "aucune" | "none" => None,
            colour => Some(
                colour
                    .parse::<Colour>()
                    .map_err(|e| SettingError::new("TELMAIL_WEATHER_AT_ONCE", e.to_string()))?,
            ),
        };
    }
    if let Some(phenomena) = s.weather_phenomena {
        weather.watched = parse_phenomena(phenomena)?;
    }
    if let Some(zones) = s.weather_zones {
        weather.zones = crate::domain::weather::parse_zone_limits(zones)
            .map_err(|e| SettingError::new("TELMAIL_WEATHER_ZONES", e.to_string()))?;
    }
    if let Some(department) = s.department {
        weather.department = parse_department(department)?;
        // The product numbers a coastal sub-domain as the department followed by 10.
        weather.coastal = Some(format!("{}10", weather.department));
    }
    Ok(())
}

/// A French department as the vigilance product writes it: `33`, `2A`, `974`.
fn parse_department(text: &str) -> Result<String, SettingError> {
    let d = text.trim().to_ascii_uppercase();
    let ok = (2..=3).contains(&d.len())
        && d.chars()
            .all(|c| c.is_ascii_digit() || c == 'A' || c == 'B');
    if ok {
        Ok(d)
    } else {
        Err(SettingError::new(
            "TELMAIL_DEPARTMENT",
            format!("« {text} » is not a French department (33, 2A…)"),
        ))
    }
}

/// `33,262,590`: country calling codes, with or without `+`.
fn parse_country_codes(text: &str) -> Result<Vec<u16>, SettingError> {
    let codes = text
        .split([',', ' '])
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| {
            c.trim_start_matches('+')
                .parse::<u16>()
                .ok()
                .filter(|n| (1..=999).contains(n))
                .ok_or_else(|| {
                    SettingError::new(
                        "TELMAIL_SMS_COUNTRIES",
                        format!("« {c} » is not a country calling code"),
                    )
                })
        })
        .collect::<Result<Vec<u16>, SettingError>>()?;
    if codes.is_empty() {
        return Err(SettingError::new(
            "TELMAIL_SMS_COUNTRIES",
            "give at least one country calling code",
        ));
    }
    Ok(codes)
}

/// A decimal number as an operator writes it, with a point or a French comma (`0,5`).
fn decimal(raw: &str) -> Option<f64> {
    raw.trim().replace(',', ".").parse().ok()
}

/// Hours a failing send is retried (`6`, `0,5`): from 0.1 to 72.
fn parse_hours(raw: &str) -> Result<Duration, SettingError> {
    decimal(raw)
        .filter(|h| (0.1..=72.0).contains(h))
        .map(|h| Duration::seconds((h * 3600.0) as i64))
        .ok_or_else(|| {
            SettingError::new(
                "TELMAIL_RETRY_HOURS",
                format!("« {raw} » is not a number of hours from 0.1 to 72"),
            )
        })
}

/// Messages per second (`14`, `0,5`): positive and at most 10,000.
fn parse_rate(raw: &str, variable: &'static str) -> Result<f64, SettingError> {
    decimal(raw)
        .filter(|r| r.is_finite() && *r > 0.0 && *r <= 10_000.0)
        .ok_or_else(|| {
            SettingError::new(
                variable,
                format!("« {raw} » is not a rate (messages per second, above 0, e.g. 14)"),
            )
        })
}

/// A comma-separated list of phenomena, by number or French name; at least one.
fn parse_phenomena(list: &str) -> Result<Vec<Phenomenon>, SettingError> {
    let mut watched: Vec<Phenomenon> = list
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.parse::<Phenomenon>()
                .map_err(|e| SettingError::new("TELMAIL_WEATHER_PHENOMENA", e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    watched.sort();
    watched.dedup();
    if watched.is_empty() {
        return Err(SettingError::new(
            "TELMAIL_WEATHER_PHENOMENA",
            "name at least one phenomenon",
        ));
    }
    Ok(watched)
}

/// What an operator sets, as given on the command line or in the environment.
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    /// Public base URL used in links.
    pub public_url: &'a str,
    /// Town name.
    pub town: &'a str,
    pub prices: Prices,
    /// Hours when non-urgent SMS may go out, e.g. `08:00-20:00`.
    pub sms_window: &'a str,
    /// Fan-out jobs per campaign (1 to 256).
    pub fanout_shards: u32,
    /// Country calling codes whose mobiles may sign up (`33,262,…`); default France's.
    pub sms_countries: Option<&'a str>,
    /// Code SMS the sign-up may send in a day, service-wide.
    pub code_sms_per_day: Option<u32>,
    /// Sign-ups one client address may make in an hour (default 30).
    pub signups_per_hour: Option<u32>,
    /// Seconds before a number may be sent another code (0: no wait; the daily caps remain).
    pub code_sms_interval_seconds: Option<u32>,
    /// The department whose vigilance is relayed (`33`; its coastal sub-domain follows).
    pub department: Option<&'a str>,
    /// The lowest vigilance colour relayed (`orange`).
    pub weather_threshold: Option<&'a str>,
    /// From this colour up, alerts are sent at once (`rouge`); `aucune`: always submitted.
    pub weather_at_once: Option<&'a str>,
    /// The phenomena relayed, comma-separated (`vent,orages,vagues-submersion`).
    pub weather_phenomena: Option<&'a str>,
    /// Phenomena limited to zones (`vagues-submersion=front-de-mer,crues=front-de-mer+aiguillon`);
    /// blank or none: every alert goes to the whole topic.
    pub weather_zones: Option<&'a str>,
    /// Hours a failing send is retried (default 6).
    pub retry_hours: Option<&'a str>,
    /// Emails per second, shared by every sender (none: unpaced).
    pub email_rate: Option<&'a str>,
    /// SMS per second, shared by every sender (none: unpaced).
    pub sms_rate: Option<&'a str>,
    /// Calls per second, shared by every sender (none: unpaced).
    pub voice_rate: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings<'a>() -> Settings<'a> {
        Settings {
            public_url: "https://alertes.arcachon.fr",
            town: "Arcachon",
            prices: Prices::default(),
            sms_window: "08:00-20:00",
            fanout_shards: 8,
            sms_countries: None,
            code_sms_per_day: None,
            signups_per_hour: None,
            code_sms_interval_seconds: None,
            department: None,
            weather_threshold: None,
            weather_at_once: None,
            weather_phenomena: None,
            weather_zones: None,
            retry_hours: None,
            email_rate: None,
            sms_rate: None,
            voice_rate: None,
        }
    }

    #[test]
    fn send_rates_are_messages_per_second() {
        let c = ServiceConfig::from_settings(&Settings {
            email_rate: Some("14"),
            sms_rate: Some("0,5"),
            voice_rate: Some("2"),
            ..settings()
        })
        .unwrap();
        assert_eq!(
            c.send_rates,
            SendRates {
                email: Some(14.0),
                sms: Some(0.5),
                voice: Some(2.0),
            }
        );
        assert_eq!(
            ServiceConfig::from_settings(&settings())
                .unwrap()
                .send_rates,
            SendRates::default()
        );
        for bad in ["0", "-3", "vite", "1e9"] {
            let err = ServiceConfig::from_settings(&Settings {
                email_rate: Some(bad),
                ..settings()
            })
            .unwrap_err();
            assert_eq!(err.variable, "TELMAIL_EMAIL_RATE", "{err}");
        }
    }

    #[test]
    fn the_weather_policy_is_set_by_configuration() {
        let default = ServiceConfig::from_settings(&settings()).unwrap().weather;
        assert_eq!(default.domains(), ["33", "3310"]);
        assert_eq!(
            (default.threshold, default.send_at_once_from),
            (Colour::Orange, Some(Colour::Red))
        );
        assert_eq!(default.watched.len(), 8);
        let c = ServiceConfig::from_settings(&Settings {
            department: Some("13"),
            weather_threshold: Some("jaune"),
            weather_at_once: Some("aucune"),
            weather_phenomena: Some("vagues-submersion, vent,9"),
            ..settings()
        })
        .unwrap()
        .weather;
        assert_eq!(c.domains(), ["13", "1310"]);
        assert_eq!(c.watched, [Phenomenon::Wind, Phenomenon::WavesSubmersion]);
        assert_eq!((c.threshold, c.send_at_once_from), (Colour::Yellow, None));
        assert!(c.zones.is_empty(), "off by default");
        let zoned = ServiceConfig::from_settings(&Settings {
            weather_zones: Some("vagues-submersion=front-de-mer"),
            ..settings()
        })
        .unwrap()
        .weather;
        assert_eq!(
            zoned
                .zones_for(&[Phenomenon::WavesSubmersion])
                .map(|z| z.into_iter().map(String::from).collect::<Vec<_>>()),
            Some(vec!["front-de-mer".to_owned()])
        );
        let err = ServiceConfig::from_settings(&Settings {
            weather_zones: Some("vagues-submersion"),
            ..settings()
        })
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("TELMAIL_WEATHER_ZONES: « vagues-submersion » : écrivez"),
            "{err}"
        );
        for bad in [
            Settings {
                weather_threshold: Some("violet"),
                ..settings()
            },
            Settings {
                weather_at_once: Some("bleu"),
                ..settings()
            },
            Settings {
                department: Some("Gironde"),
                ..settings()
            },
            Settings {
                weather_phenomena: Some("vent, grêle"),
                ..settings()
            },
            Settings {
                weather_phenomena: Some(" , "),
                ..settings()
            },
        ] {
            let err = ServiceConfig::from_settings(&bad).unwrap_err();
            assert!(err.variable.starts_with("TELMAIL_"), "{err}");
        }
    }

    #[test]
    fn sign_up_limits_are_set_by_configuration() {
        let c = ServiceConfig::from_settings(&Settings {
            sms_countries: Some("+33, 262"),
            code_sms_per_day: Some(50),
            signups_per_hour: Some(500),
            code_sms_interval_seconds: Some(0),
            ..settings()
        })
        .unwrap()
        .signup_limits;
        assert_eq!(c.country_codes, [33, 262]);
        assert_eq!(c.code_sms_per_day, 50);
        assert_eq!(c.signups_per_client_per_hour, 500);
        assert!(ServiceConfig::from_settings(&Settings {
            signups_per_hour: Some(0),
            ..settings()
        })
        .is_err());
        assert_eq!(c.code_sms_interval, Duration::zero());
        let err = ServiceConfig::from_settings(&Settings {
            sms_countries: Some("France"),
            ..settings()
        })
        .unwrap_err();
        assert_eq!(err.variable, "TELMAIL_SMS_COUNTRIES", "{err}");
    }

    #[test]
    fn voice_retries_default_to_two_five_minutes_apart_and_bad_settings_name_their_variable() {
        assert_eq!(
            ServiceConfig::with_public_url("https://a.fr").voice_retries,
            VoiceRetries {
                more: 2,
                every: Duration::minutes(5)
            }
        );
        assert_eq!(
            VoiceRetries::parse("0", "15").unwrap(),
            VoiceRetries {
                more: 0,
                every: Duration::minutes(15)
            }
        );
        let err = VoiceRetries::parse("6", "5").unwrap_err();
        assert_eq!(err.variable, "TELMAIL_VOICE_RETRIES", "{err}");
        // Past SQS's longest delay a retry could not be queued in one go.
        let err = VoiceRetries::parse("2", "16").unwrap_err();
        assert_eq!(err.variable, "TELMAIL_VOICE_RETRY_MINUTES", "{err}");
        assert!(VoiceRetries::parse("2", "0").is_err());
    }
}
