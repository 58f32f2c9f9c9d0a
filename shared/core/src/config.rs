//! Settings the use cases need, read once at start-up by each runtime.

use std::num::NonZeroU32;

use chrono::Duration;

use crate::domain::money::Prices;
use crate::domain::sending_window::SendingWindow;

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
    /// Prices used for estimates and costs.
    pub prices: Prices,
    /// When non-urgent SMS may go out.
    pub sending_window: SendingWindow,
    /// Fan-out jobs per campaign (parallelism of the fan-out), 1 to 256.
    pub fanout_shards: NonZeroU32,
    /// Send attempts before a transiently failing delivery is marked failed.
    pub max_send_attempts: u32,
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
            prices: Prices::default(),
            sending_window: SendingWindow::default(),
            fanout_shards: NonZeroU32::new(8).expect("non-zero"),
            max_send_attempts: 5,
        }
    }

    /// Builds the settings an operator gives (flags locally, environment variables on AWS);
    /// an error names the variable at fault.
    pub fn from_settings(s: &Settings<'_>) -> Result<Self, String> {
        let mut config = Self::with_public_url(s.public_url);
        config.town_name = s.town.to_owned();
        config.prices = s.prices;
        config.sending_window = s
            .sms_window
            .parse()
            .map_err(|e| format!("TELMAIL_SMS_WINDOW: {e}"))?;
        config.fanout_shards = NonZeroU32::new(s.fanout_shards)
            .filter(|n| n.get() <= 256)
            .ok_or("TELMAIL_FANOUT_SHARDS must be between 1 and 256")?;
        Ok(config)
    }
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
}
