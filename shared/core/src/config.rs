//! Settings the use cases need, read once at start-up by each runtime.

use chrono::Duration;

use crate::money::Prices;
use crate::sending_window::SendingWindow;

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
    /// Fan-out jobs per campaign (parallelism of the fan-out).
    pub fanout_shards: u32,
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
            fanout_shards: 8,
            max_send_attempts: 5,
        }
    }
}
