//! SMS through SNS `Publish` to a phone number, and the list of numbers that answered STOP.

use async_trait::async_trait;
use aws_sdk_sns::types::MessageAttributeValue;
use telmail_core::error::{SendError, StoreError};
use telmail_core::ports::{OutgoingSms, SmsSender};

use crate::error::StartupError;
use crate::errors::{accepted, send_error, store_error};

/// Sends SMS with an alphanumeric sender id.
pub struct SnsSmsSender {
    client: aws_sdk_sns::Client,
    sender_id: String,
    sms_type: String,
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, SendError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| SendError::Permanent(format!("SNS attribute: {e}")))
}

impl SnsSmsSender {
    /// A sender with a SenderID (e.g. `ARCACHON`) and an SMSType (`Transactional` or
    /// `Promotional`).
    pub fn new(
        client: aws_sdk_sns::Client,
        sender_id: &str,
        sms_type: &str,
    ) -> Result<Self, StartupError> {
        let valid_id = (1..=11).contains(&sender_id.len())
            && sender_id.chars().all(|c| c.is_ascii_alphanumeric())
            && sender_id.chars().any(|c| c.is_ascii_alphabetic());
        if !valid_id {
            return Err(StartupError::NotA {
                name: "TELMAIL_SMS_SENDER",
                shape: "1 to 11 letters or digits, with at least one letter",
            });
        }
        if !matches!(sms_type, "Transactional" | "Promotional") {
            return Err(StartupError::NotA {
                name: "TELMAIL_SMS_TYPE",
                shape: "Transactional or Promotional",
            });
        }
        Ok(Self {
            client,
            sender_id: sender_id.to_owned(),
            sms_type: sms_type.to_owned(),
        })
    }

    /// Every number that opted out (answered STOP), in E.164.
    pub async fn opted_out_numbers(&self) -> Result<Vec<String>, StoreError> {
        let mut numbers = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_phone_numbers_opted_out()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| store_error("SNS ListPhoneNumbersOptedOut", e))?;
            numbers.extend(page.phone_numbers().iter().cloned());
            match page.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_owned()),
                _ => return Ok(numbers),
            }
        }
    }
}

#[async_trait]
impl SmsSender for SnsSmsSender {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Option<String>, SendError> {
        let out = self
            .client
            .publish()
            .phone_number(sms.to.as_str())
            .message(&sms.text)
            .message_attributes("AWS.SNS.SMS.SenderID", string_attribute(&self.sender_id)?)
            .message_attributes("AWS.SNS.SMS.SMSType", string_attribute(&self.sms_type)?)
            .send()
            .await
            .map_err(|e| send_error("SNS Publish", e))?;
        Ok(accepted(out.message_id(), "SNS Publish"))
    }
}
