//! Emails through SES v2: raw MIME (text + HTML, RFC 8058 headers) with a configuration set, so
//! bounces and complaints come back as events, tagged with the campaign they belong to.

use async_trait::async_trait;
use aws_sdk_sesv2::primitives::Blob;
use aws_sdk_sesv2::types::{Destination, EmailContent, MessageTag, RawMessage};
use telmail_core::error::SendError;
use telmail_core::ports::{EmailSender, OutgoingEmail};
use telmail_core::render::mime::MimeBuilder;
use uuid::Uuid;

use crate::errors::{accepted, send_error};

/// The account's maximum send rate (emails per second), from SES's `GetAccount`.
pub async fn max_send_rate(client: &aws_sdk_sesv2::Client) -> Result<f64, String> {
    let account = client.get_account().send().await.map_err(|e| {
        format!(
            "SES GetAccount: {}",
            aws_sdk_sesv2::error::DisplayErrorContext(e)
        )
    })?;
    account
        .send_quota()
        .map(|q| q.max_send_rate())
        .filter(|rate| *rate > 0.0)
        .ok_or_else(|| "SES GetAccount: no send quota".to_owned())
}

/// The message tag naming a campaign's id (SES returns it in bounce and complaint events).
pub const CAMPAIGN_TAG: &str = "campaign";

/// Sends emails with SES v2 `SendEmail`.
pub struct SesEmailSender {
    client: aws_sdk_sesv2::Client,
    mime: MimeBuilder,
    configuration_set: Option<String>,
}

impl SesEmailSender {
    /// A sender from one address (`Name <address>`), with an optional configuration set.
    pub fn new(
        client: aws_sdk_sesv2::Client,
        from: &str,
        configuration_set: Option<String>,
    ) -> Result<Self, String> {
        Ok(Self {
            client,
            mime: MimeBuilder::new(from).map_err(|e| format!("TELMAIL_EMAIL_FROM: {e}"))?,
            configuration_set,
        })
    }
}

#[async_trait]
impl EmailSender for SesEmailSender {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Option<String>, SendError> {
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
            .map_err(|e| send_error("SES SendEmail", e))?;
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
        assert!(max_send_rate(&refused)
            .await
            .unwrap_err()
            .starts_with("SES GetAccount"));
        let no_quota = ses_answering(200, r#"{"SendingEnabled":true}"#).await;
        assert!(max_send_rate(&no_quota).await.is_err());
    }
}
