//! Emails through SES v2: raw MIME (text + HTML, RFC 8058 headers) with a configuration set, so
//! bounces and complaints come back as events, tagged with the campaign they belong to.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use chrono::{DateTime, Duration, Utc};
use telmail_core::clock::Clock;
use telmail_core::error::SendError;
use telmail_core::ports::{EmailSender, OutgoingEmail};
use telmail_core::render::mime::MimeBuilder;
use uuid::Uuid;

use crate::error::StartupError;
use crate::errors::{accepted, is_daily_quota_exceeded, send_error};

/// The account's sending quota, from SES v2's `GetAccount`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendQuota {
    /// Emails per second.
    pub max_send_rate: f64,
    /// Emails in any 24 hours (none: unlimited, which SES writes -1).
    pub max_24_hour_send: Option<u64>,
    /// Emails sent over the last 24 hours.
    pub sent_last_24_hours: u64,
}

/// Why SES did not say the account's sending quota.
#[derive(Debug, thiserror::Error)]
pub enum QuotaError {
    /// The call failed (refused, unreachable); the SDK's whole context.
    #[error("SES GetAccount: {0}")]
    Call(String),
    /// The answer has no quota (or a zero rate).
    #[error("SES GetAccount: no send quota")]
    NoQuota,
}

/// The account's sending quota (rate, daily quota, sent over the last 24 hours).
pub async fn send_quota(client: &aws_sdk_sesv2::Client) -> Result<SendQuota, QuotaError> {
    let account =
        client.get_account().send().await.map_err(|e| {
            QuotaError::Call(aws_sdk_sesv2::error::DisplayErrorContext(e).to_string())
        })?;
    let quota = account
        .send_quota()
        .filter(|q| q.max_send_rate() > 0.0)
        .ok_or(QuotaError::NoQuota)?;
    // Whole emails: SES answers doubles (50000.0).
    let whole = |n: f64| n.max(0.0).round() as u64;
    Ok(SendQuota {
        max_send_rate: quota.max_send_rate(),
        max_24_hour_send: (quota.max24_hour_send() >= 0.0).then(|| whole(quota.max24_hour_send())),
        sent_last_24_hours: whole(quota.sent_last24_hours()),
    })
}

/// The account's maximum send rate (emails per second), from SES's `GetAccount`.
pub async fn max_send_rate(client: &aws_sdk_sesv2::Client) -> Result<f64, QuotaError> {
    Ok(send_quota(client).await?.max_send_rate)
}

/// How long emails wait once SES says the daily quota is used up, before one is tried again.
/// SES counts a rolling 24 hours, so the quota frees up bit by bit as the sends of the day
/// before age out; a try every quarter of an hour picks that up without hammering SES (a send
/// refused for the rate is waited out a minute, by the dispatcher, as any throttling).
pub const DAILY_QUOTA_WAIT: Duration = Duration::minutes(15);

/// The message tag naming a campaign's id (SES returns it in bounce and complaint events).
pub const CAMPAIGN_TAG: &str = "campaign";

/// Sends emails with SES v2 `SendEmail`.
pub struct SesEmailSender {
    client: aws_sdk_sesv2::Client,
    mime: MimeBuilder,
    configuration_set: Option<String>,
    /// Tells when the daily quota may have freed up.
    clock: Arc<dyn Clock>,
    /// Until when SES's daily quota is taken as used up: sends before then wait without
    /// asking SES (each instance learns it from its own refusal).
    quota_used_up_until: Mutex<Option<DateTime<Utc>>>,
}

impl SesEmailSender {
    /// A sender from one address (`Name <address>`), with an optional configuration set.
    pub fn new(
        client: aws_sdk_sesv2::Client,
        from: &str,
        configuration_set: Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        Ok(Self {
            client,
            mime: MimeBuilder::new(from).map_err(|e| StartupError::Invalid {
                name: "TELMAIL_EMAIL_FROM".to_owned(),
                reason: e.to_string(),
            })?,
            configuration_set,
            clock,
            quota_used_up_until: Mutex::new(None),
        })
    }

    /// The wait still due to a used-up daily quota, as a refusal to hand the dispatcher.
    fn quota_wait(&self) -> Option<SendError> {
        let until = (*self.quota_used_up_until.lock().ok()?)?;
        (self.clock.now() < until).then(|| {
            SendError::Throttled(format!(
                "SES daily sending quota used up: emails wait until {until} before one is tried again"
            ))
        })
    }

    /// Records a daily-quota refusal: the emails wait [`DAILY_QUOTA_WAIT`], with one clear log.
    fn quota_used_up(&self, error: &SendError) {
        let until = self.clock.now() + DAILY_QUOTA_WAIT;
        if let Ok(mut held) = self.quota_used_up_until.lock() {
            *held = Some(until);
        }
        tracing::error!(
            %until,
            error = %error,
            "SES daily sending quota used up: emails wait for the rolling 24 hours to free some (not a failure); raise the quota if campaigns need more (README, step 2)"
        );
    }
}

#[async_trait]
impl EmailSender for SesEmailSender {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Option<String>, SendError> {
        if let Some(wait) = self.quota_wait() {
            return Err(wait);
        }
        let raw = self
            .mime
            .build(email, &Uuid::new_v4().to_string())?
            .formatted();
        let content = EmailContent::builder()
            .raw(
                RawMessage::builder()
                    .data(Blob::new(raw))
                    .build()
                    .map_err(|e| SendError::Permanent(format!("SES message: {e}")))?,
            )
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(self.mime.from_address())
            .destination(
                Destination::builder()
                    .to_addresses(email.to.as_str())
                    .build(),
            )
            .content(content)
            .set_configuration_set_name(self.configuration_set.clone())
            .set_email_tags(email.campaign.map(|id| {
                vec![MessageTag::builder()
                    .name(CAMPAIGN_TAG)
                    .value(id.to_string())
                    .build()
                    .expect("name and value are set")]
            }))
            .send()
            .await
            .map_err(|e| {
                let quota = is_daily_quota_exceeded(&e);
                let error = send_error("SES SendEmail", e);
                if quota {
                    self.quota_used_up(&error);
                }
                error
            })?;
        Ok(accepted(out.message_id(), "SES SendEmail"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    /// An SES v2 endpoint on 127.0.0.1 answering `GetAccount` with `body` and `status`.
    async fn ses_answering(status: u16, body: &'static str) -> aws_sdk_sesv2::Client {
        let app = axum::Router::new().route(
            "/v2/email/account",
            get(move || async move {
                (
                    axum::http::StatusCode::from_u16(status).unwrap(),
                    [("content-type", "application/json")],
                    body,
                )
            }),
        );
        ses_serving(app).await
    }

    /// An SES v2 client of `app`, served on 127.0.0.1 (no retries: each answer is seen once).
    async fn ses_serving(app: axum::Router) -> aws_sdk_sesv2::Client {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let config = aws_sdk_sesv2::Config::builder()
            .behavior_version(aws_sdk_sesv2::config::BehaviorVersion::latest())
            .region(aws_sdk_sesv2::config::Region::new("eu-west-3"))
            .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .endpoint_url(url)
            .retry_config(aws_sdk_sesv2::config::retry::RetryConfig::disabled())
            .http_client(crate::backend::https_client())
            .build();
        aws_sdk_sesv2::Client::from_conf(config)
    }

    #[tokio::test]
    async fn the_account_send_rate_is_read_from_ses() {
        // The shape of SES v2's GetAccount answer (production account, 14 emails a second).
        let ses = ses_answering(
            200,
            r#"{"DedicatedIpAutoWarmupEnabled":false,"EnforcementStatus":"HEALTHY","ProductionAccessEnabled":true,"SendQuota":{"Max24HourSend":50000.0,"MaxSendRate":14.0,"SentLast24Hours":12.0},"SendingEnabled":true}"#,
        )
        .await;
        assert_eq!(max_send_rate(&ses).await.unwrap(), 14.0);
        let refused = ses_answering(
            403,
            r#"{"message":"User is not authorized to perform: ses:GetAccount"}"#,
        )
        .await;
        let refusal = max_send_rate(&refused).await.unwrap_err();
        assert!(matches!(refusal, QuotaError::Call(_)));
        assert!(refusal.to_string().starts_with("SES GetAccount"));
        let no_quota = ses_answering(200, r#"{"SendingEnabled":true}"#).await;
        assert!(matches!(
            max_send_rate(&no_quota).await,
            Err(QuotaError::NoQuota)
        ));
    }

    #[tokio::test]
    async fn the_daily_quota_and_what_was_sent_are_read_from_ses() {
        // GIVEN SES v2's GetAccount answers, recorded in shape (moto does not serve GetAccount):
        // a fresh production account, and one with no daily limit (SES writes -1)
        let production = ses_answering(
            200,
            r#"{"ProductionAccessEnabled":true,"SendQuota":{"Max24HourSend":50000.0,"MaxSendRate":14.0,"SentLast24Hours":1234.0},"SendingEnabled":true}"#,
        )
        .await;
        let unlimited = ses_answering(
            200,
            r#"{"SendQuota":{"Max24HourSend":-1.0,"MaxSendRate":200.0,"SentLast24Hours":0.0}}"#,
        )
        .await;
        // WHEN the quota is read THEN each figure comes through
        assert_eq!(
            send_quota(&production).await.unwrap(),
            SendQuota {
                max_send_rate: 14.0,
                max_24_hour_send: Some(50_000),
                sent_last_24_hours: 1_234,
            }
        );
        assert_eq!(send_quota(&unlimited).await.unwrap().max_24_hour_send, None);
    }

    /// An SES v2 endpoint refusing every `SendEmail` as throttling with `message`, counting
    /// the requests it gets.
    async fn ses_refusing_sends(
        message: &'static str,
    ) -> (aws_sdk_sesv2::Client, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let app = axum::Router::new().route(
            "/v2/email/outbound-emails",
            axum::routing::post(move || {
                counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    (
                        axum::http::StatusCode::BAD_REQUEST,
                        [
                            ("content-type", "application/json"),
                            ("x-amzn-errortype", "LimitExceededException"),
                        ],
                        format!(r#"{{"message":"{message}"}}"#),
                    )
                }
            }),
        );
        (ses_serving(app).await, hits)
    }

    fn an_email() -> OutgoingEmail {
        OutgoingEmail {
            to: "habitant@exemple.fr".parse().unwrap(),
            subject: "Marché".into(),
            text: "Samedi.".into(),
            html: "<p>Samedi.</p>".into(),
            list_unsubscribe: None,
            campaign: None,
        }
    }

    #[tokio::test]
    async fn a_used_up_daily_quota_holds_the_emails_a_quarter_of_an_hour_without_asking_ses() {
        use std::sync::atomic::Ordering;
        use telmail_core::clock::ManualClock;
        // GIVEN SES refusing for the daily quota
        let (ses, hits) = ses_refusing_sends("Daily message quota exceeded.").await;
        let clock = Arc::new(ManualClock::new("2026-03-04T10:00:00Z".parse().unwrap()));
        let sender =
            SesEmailSender::new(ses, "Mairie <mairie@exemple.fr>", None, clock.clone()).unwrap();
        // WHEN emails are sent THEN the first refusal is a wait, and the next ones wait
        // without a request to SES until the quarter of an hour has passed
        assert!(matches!(
            sender.send_email(&an_email()).await,
            Err(SendError::Throttled(_))
        ));
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        clock.advance(Duration::minutes(14));
        match sender.send_email(&an_email()).await {
            Err(SendError::Throttled(why)) => assert!(why.contains("daily sending quota"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(hits.load(Ordering::SeqCst), 1);
        clock.advance(Duration::minutes(2));
        assert!(matches!(
            sender.send_email(&an_email()).await,
            Err(SendError::Throttled(_))
        ));
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_send_over_the_rate_is_asked_again_at_once() {
        use std::sync::atomic::Ordering;
        // GIVEN SES refusing for the rate: the dispatcher's own wait is enough
        let (ses, hits) = ses_refusing_sends("Maximum sending rate exceeded.").await;
        let clock = Arc::new(telmail_core::clock::ManualClock::new(
            "2026-03-04T10:00:00Z".parse().unwrap(),
        ));
        let sender = SesEmailSender::new(ses, "Mairie <mairie@exemple.fr>", None, clock).unwrap();
        for _ in 0..2 {
            assert!(matches!(
                sender.send_email(&an_email()).await,
                Err(SendError::Throttled(_))
            ));
        }
        assert_eq!(hits.load(Ordering::SeqCst), 2);
    }
}
