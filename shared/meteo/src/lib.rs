//! Météo-France's vigilance product over HTTPS (the DPVigilance API of the public portal: the
//! key goes in the `apikey` header), with a timeout: the `WeatherFeed` adapter of the local
//! poller and of the `weather` Lambda function.

use std::time::Duration;

use async_trait::async_trait;
use telmail_core::domain::weather::FeedError;
use telmail_core::ports::WeatherFeed;

/// Longest wait for the feed's answer.
const FEED_TIMEOUT: Duration = Duration::from_secs(10);

/// The feed's HTTPS client could not be built (its TLS set-up failed).
#[derive(Debug, thiserror::Error)]
#[error("weather feed client: {0}")]
pub struct FeedClientError(#[from] reqwest::Error);

/// The vigilance feed at a URL.
pub struct HttpWeatherFeed {
    client: reqwest::Client,
    url: String,
    api_key: Option<String>,
}

impl HttpWeatherFeed {
    /// A feed at `url` (`…/cartevigilance/encours`), with the portal's key if it needs one.
    pub fn new(url: &str, api_key: Option<String>) -> Result<Self, FeedClientError> {
        let client = reqwest::Client::builder().timeout(FEED_TIMEOUT).build()?;
        Ok(Self {
            client,
            url: url.to_owned(),
            api_key,
        })
    }
}

#[async_trait]
impl WeatherFeed for HttpWeatherFeed {
    async fn current(&self) -> Result<String, FeedError> {
        let mut request = self.client.get(&self.url);
        if let Some(key) = &self.api_key {
            request = request.header("apikey", key);
        }
        let response = request
            .send()
            .await
            .map_err(|e| FeedError::Unreachable(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FeedError::Refused(status.as_u16()));
        }
        response
            .text()
            .await
            .map_err(|e| FeedError::Unreachable(e.to_string()))
    }
}
