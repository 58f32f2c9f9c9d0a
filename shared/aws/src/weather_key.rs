//! The vigilance feed's portal key, kept in Secrets Manager. The stack creates the secret with a
//! placeholder and the operator sets the real key later, while warm `weather` instances run on:
//! the key is read at a cold start and read again whenever the feed refuses it (401, 403).

use std::sync::Arc;

use async_trait::async_trait;
use telmail_core::domain::weather::FeedError;
use telmail_core::ports::WeatherFeed;
use tokio::sync::RwLock;

use crate::backend::{read_secret, Aws};
use crate::env;
use crate::error::StartupError;

/// What the secret is called in errors.
const WHAT: &str = "weather feed key";

/// Builds the feed that sends a key.
type WithKey<F> = Box<dyn Fn(String) -> Result<F, StartupError> + Send + Sync>;

/// The error of building a feed, as a start-up error.
fn feed_error<E: std::error::Error + Send + Sync + 'static>(e: E) -> StartupError {
    StartupError::WeatherFeed(Box::new(e))
}

/// The `weather` function's feed: `with_key` builds it for the key in the secret named by
/// `TELMAIL_WEATHER_KEY_SECRET`, read again when refused; without that setting, for no key.
pub async fn weather_feed<F, E>(
    aws: &Aws,
    with_key: impl Fn(Option<String>) -> Result<F, E> + Send + Sync + 'static,
) -> Result<Arc<dyn WeatherFeed>, StartupError>
where
    F: WeatherFeed + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    Ok(match env::optional("TELMAIL_WEATHER_KEY_SECRET") {
        Some(id) => Arc::new(
            SecretKeyedFeed::new(aws.secrets.clone(), id, move |key| with_key(Some(key))).await?,
        ),
        None => Arc::new(with_key(None).map_err(feed_error)?),
    })
}

/// A feed whose key is a Secrets Manager secret's text, read again when the feed refuses it.
pub struct SecretKeyedFeed<F> {
    secrets: aws_sdk_secretsmanager::Client,
    secret_id: String,
    with_key: WithKey<F>,
    /// The key in use and the feed sending it.
    current: RwLock<(String, Arc<F>)>,
}

impl<F: WeatherFeed> SecretKeyedFeed<F> {
    /// Reads the key in secret `secret_id` and builds its feed with `with_key`.
    pub async fn new<E: std::error::Error + Send + Sync + 'static>(
        secrets: aws_sdk_secretsmanager::Client,
        secret_id: String,
        with_key: impl Fn(String) -> Result<F, E> + Send + Sync + 'static,
    ) -> Result<Self, StartupError> {
        let key = read_key(&secrets, &secret_id).await?;
        let with_key = move |key| with_key(key).map_err(feed_error);
        let feed = Arc::new(with_key(key.clone())?);
        Ok(Self {
            secrets,
            secret_id,
            with_key: Box::new(with_key),
            current: RwLock::new((key, feed)),
        })
    }

    /// The feed for the secret's key as it is now, when that is not the `refused` key; none
    /// when the secret still holds it or cannot be read (logged: the refusal stands).
    async fn renewed(&self, refused: &str) -> Option<Arc<F>> {
        let key = match read_key(&self.secrets, &self.secret_id).await {
            Ok(key) => key,
            Err(e) => {
                tracing::error!(error = %e, "the weather feed refused its key and the secret could not be read again");
                return None;
            }
        };
        if key == refused {
            return None;
        }
        let mut current = self.current.write().await;
        if current.0 != key {
            match (self.with_key)(key.clone()) {
                Ok(feed) => *current = (key, Arc::new(feed)),
                Err(e) => {
                    tracing::error!(error = %e, "weather feed not rebuilt with the new key");
                    return None;
                }
            }
            tracing::info!("weather feed key changed in its secret: taken");
        }
        Some(current.1.clone())
    }
}

#[async_trait]
impl<F: WeatherFeed + 'static> WeatherFeed for SecretKeyedFeed<F> {
    /// The document; a refused key is read again from the secret, and the request tried once
    /// more if it changed.
    async fn current(&self) -> Result<String, FeedError> {
        let (key, feed) = self.current.read().await.clone();
        match feed.current().await {
            Err(refusal @ FeedError::Refused(401 | 403)) => match self.renewed(&key).await {
                Some(renewed) => renewed.current().await,
                None => Err(refusal),
            },
            answer => answer,
        }
    }
}

/// The key: the secret's text without surrounding blanks.
async fn read_key(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<String, StartupError> {
    read_secret(client, id, WHAT)
        .await
        .map(|k| k.trim().to_owned())
}
