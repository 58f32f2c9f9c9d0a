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
