//! Provider feedback that must stop future messages: SES hard bounces and complaints (configuration
//! set events or identity notifications, delivered through SNS), and SMS numbers that answered STOP.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;
use telmail_core::domain::contact::Email;
use telmail_core::domain::delivery::Suppression;
use telmail_core::error::StoreError;
use telmail_core::ports::SuppressionStore;

use crate::sns::SnsSmsSender;

/// The addresses an SES feedback message says to stop writing to, with the reason. Transient
/// (soft) bounces and other events (deliveries, opens…) give none. `message` is the SNS
/// `Message` string.
pub fn ses_suppressions(message: &str, at: DateTime<Utc>) -> Result<Vec<Suppression>, String> {
    let v: Value =
        serde_json::from_str(message).map_err(|e| format!("unreadable SES notification: {e}"))?;
    let kind = v
        .get("eventType")
        .or_else(|| v.get("notificationType"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let (reason, list) = match kind {
        "Bounce"
            if v.pointer("/bounce/bounceType").and_then(Value::as_str) == Some("Permanent") =>
        {
            ("bounce", v.pointer("/bounce/bouncedRecipients"))
        }
        "Complaint" => ("complaint", v.pointer("/complaint/complainedRecipients")),
        _ => return Ok(Vec::new()),
    };
    let recipients = list
        .and_then(Value::as_array)
        .ok_or_else(|| format!("SES {kind} notification without recipients"))?;
    recipients
        .iter()
        .map(|r| {
            let raw = r
                .get("emailAddress")
                .and_then(Value::as_str)
                .ok_or("SES recipient without emailAddress")?;
            let email = Email::from_str(bare_address(raw))
                .map_err(|e| format!("SES recipient is not an address: {e}"))?;
            Ok(Suppression {
                address: email.as_str().to_owned(),
                reason: reason.into(),
                at,
            })
        })
        .collect()
}

/// `Name <a@b>` → `a@b`.
fn bare_address(raw: &str) -> &str {
    match (raw.rfind('<'), raw.rfind('>')) {
        (Some(start), Some(end)) if start < end => &raw[start + 1..end],
        _ => raw.trim(),
    }
}

/// Records suppressions from provider feedback.
pub struct Feedback {
    suppressions: Arc<dyn SuppressionStore>,
    sms: Arc<SnsSmsSender>,
}

impl Feedback {
    /// Feedback over a suppression store and the SMS provider.
    pub fn new(suppressions: Arc<dyn SuppressionStore>, sms: Arc<SnsSmsSender>) -> Self {
        Self { suppressions, sms }
    }

    /// Suppresses what one SES notification names; returns how many addresses.
    pub async fn record_ses(&self, message: &str, at: DateTime<Utc>) -> Result<usize, String> {
        let found = ses_suppressions(message, at)?;
        for s in &found {
            self.suppressions
                .suppress(s)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(found.len())
    }

    /// Suppresses the numbers that opted out of SMS and are not suppressed yet; returns how many.
    pub async fn sync_sms_opt_outs(&self, at: DateTime<Utc>) -> Result<usize, StoreError> {
        let numbers = self.sms.opted_out_numbers().await?;
        let known = self.suppressions.suppressed_among(&numbers).await?;
        let mut added = 0;
        for number in numbers.into_iter().filter(|n| !known.contains(n)) {
            self.suppressions
                .suppress(&Suppression {
                    address: number,
                    reason: "opt-out".into(),
                    at,
                })
                .await?;
            added += 1;
        }
        Ok(added)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> String {
        let path = format!(
            "{}/../../tests/fixtures/aws/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).expect(&path)
    }

    #[test]
    fn hard_bounces_and_complaints_suppress_their_recipients() {
        let now = Utc::now();
        let bounce =
            ses_suppressions(&sample("aws_sesv2_event_publishing_sns_bounce.json"), now).unwrap();
        assert_eq!(bounce.len(), 1);
        assert_eq!(bounce[0].address, "recipient@example.com");
        assert_eq!(bounce[0].reason, "bounce");

        let complaint = ses_suppressions(
            &sample("aws_ses_notification_complaint_with_feedback.json"),
            now,
        )
        .unwrap();
        assert_eq!(complaint[0].address, "richard@example.com");
        assert_eq!(complaint[0].reason, "complaint");

        let sesv2_complaint = ses_suppressions(
            &sample("aws_sesv2_event_publishing_sns_complaint.json"),
            now,
        )
        .unwrap();
        assert!(!sesv2_complaint.is_empty());
        assert!(sesv2_complaint.iter().all(|s| s.reason == "complaint"));
    }

    #[test]
    fn the_captured_notification_and_the_dsn_example_are_read() {
        let envelope: Value =
            serde_json::from_str(&sample("aws_ses_bounce_via_sns_captured_mozilla.json")).unwrap();
        let message = envelope["Message"].as_str().unwrap();
        let found = ses_suppressions(message, Utc::now()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].reason, "bounce");
        let dsn = ses_suppressions(
            &sample("aws_ses_notification_bounce_with_dsn.json"),
            Utc::now(),
        )
        .unwrap();
        assert!(!dsn.is_empty());
    }

    #[test]
    fn soft_bounces_and_deliveries_suppress_nothing_and_junk_is_an_error() {
        let soft = r#"{"eventType":"Bounce","bounce":{"bounceType":"Transient","bouncedRecipients":[{"emailAddress":"a@b.fr"}]}}"#;
        assert!(ses_suppressions(soft, Utc::now()).unwrap().is_empty());
        let delivery = r#"{"eventType":"Delivery","delivery":{}}"#;
        assert!(ses_suppressions(delivery, Utc::now()).unwrap().is_empty());
        assert!(ses_suppressions("not json", Utc::now()).is_err());
        assert_eq!(bare_address("Jean <jean@ex.fr>"), "jean@ex.fr");
    }
}
