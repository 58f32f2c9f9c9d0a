//! Provider feedback: SES hard bounces and complaints (configuration set events or identity
//! notifications, delivered through SNS) and SMS numbers that answered STOP, which must stop
//! future messages; SNS's SMS delivery receipts, counted in the statistics and recorded against
//! the delivery they answer (delivered or failed), for the crisis view; End User Messaging's
//! voice events (through the same SNS topic), each call's outcome recorded against its delivery
//! and an unanswered, busy or failed call placed again.

use std::str::FromStr;
use std::sync::Arc;

use aws_lambda_events::event::cloudwatch_logs::LogData;
use chrono::{DateTime, Utc};
use serde_json::Value;
use telmail_core::clock::Clock;
use telmail_core::config::VoiceRetries;
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::contact::{Channel, Email};
use telmail_core::domain::delivery::{DeliveryKey, Suppression};
use telmail_core::domain::reach::{ReachOutcome, ReachReport};
use telmail_core::domain::reputation::EmailFeedback;
use telmail_core::domain::subscriber::SubscriberId;
use telmail_core::error::StoreError;
use telmail_core::ports::{AudienceStore, JobQueue, ReachStore, SubscriberStore, SuppressionStore};
use telmail_core::use_cases::call_outcomes::{CallOutcomes, CallReport};
use telmail_core::use_cases::dispatch::Dispatcher;
use telmail_core::use_cases::receipts::SmsReceipt;

use crate::dynamo::DynamoStore;
use crate::error::EventError;
use crate::ses::CAMPAIGN_TAG;
use crate::sns::SnsSmsSender;

/// What one SES notification reports: the addresses to stop writing to, with the reason, and the
/// campaign whose email bounced or drew a complaint (its `campaign` tag). Transient (soft)
/// bounces and other events (deliveries, opens…) give nothing.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SesFeedback {
    pub suppressions: Vec<Suppression>,
    /// The campaign, and what happened to its email.
    pub campaign: Option<(CampaignId, EmailFeedback)>,
}

/// A provider notification that cannot be read: an SES bounce or complaint, or an SMS delivery
/// log entry (it would be counted nowhere).
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("unreadable SES notification: {0}")]
    UnreadableSes(serde_json::Error),
    #[error("SES {kind} notification without recipients")]
    NoRecipients { kind: String },
    #[error("SES recipient without emailAddress")]
    RecipientWithoutAddress,
    #[error("SES recipient is not an address: {0}")]
    NotAnAddress(#[from] telmail_core::domain::contact::EmailError),
    #[error("SES {kind} notification with a malformed campaign tag")]
    MalformedCampaignTag { kind: String },
    #[error("unreadable SMS delivery log entry: {0}")]
    UnreadableLog(serde_json::Error),
    /// `field` is the JSON pointer of what is missing.
    #[error("SMS delivery log entry without {field}")]
    LogWithout { field: &'static str },
    #[error("SMS delivery log entry with an unreadable timestamp: {0}")]
    LogTimestamp(chrono::ParseError),
    #[error("SMS delivery log entry with status {0}")]
    LogStatus(String),
    /// `field` is the JSON pointer of what is missing or unreadable.
    #[error("voice event {event} with no readable {field}")]
    VoiceWithout { event: String, field: &'static str },
}

/// What one notification of the feedback topic is, as far as calls go.
#[derive(Debug, PartialEq, Eq)]
pub enum VoiceEvent {
    /// Not a voice event (an SES notification).
    NotVoice,
    /// A voice event that reports no outcome to record: a call starting or ringing, or a call
    /// of no campaign (a sign-up code read aloud).
    Ignored,
    /// A campaign call's outcome.
    Report(CallReport),
}

/// Reads one notification as an End User Messaging voice event (the event itself, as an SNS
/// event destination publishes it, or EventBridge's `Voice Message Delivery Status Updated`
/// whose `detail` it is). The delivery comes from the call's `context` (campaign, subscriber,
/// attempt), which `SendVoiceMessage` was given and the events carry back.
///
/// `VOICE_ANSWERED` and `VOICE_COMPLETED` (the message was played) are `answered`: the service
/// does not tell a person from an answering machine, and both count as reached, never as an
/// acknowledgement. `VOICE_BUSY`, `VOICE_NO_ANSWER`, `VOICE_FAILED` and `VOICE_TTL_EXPIRED` (not
/// placed in time) are the outcomes that call again.
pub fn voice_event(message: &str) -> Result<VoiceEvent, NotificationError> {
    let Ok(v) = serde_json::from_str::<Value>(message) else {
        return Ok(VoiceEvent::NotVoice);
    };
    let v = match v.get("source").and_then(Value::as_str) {
        Some("aws.sms-voice") => v.get("detail").cloned().unwrap_or(Value::Null),
        _ => v,
    };
    let Some(kind) = v
        .get("eventType")
        .and_then(Value::as_str)
        .filter(|k| k.starts_with("VOICE_"))
    else {
        return Ok(VoiceEvent::NotVoice);
    };
    let outcome = match kind {
        "VOICE_ANSWERED" | "VOICE_COMPLETED" => ReachOutcome::Answered,
        "VOICE_BUSY" => ReachOutcome::Busy,
        "VOICE_NO_ANSWER" => ReachOutcome::NoAnswer,
        "VOICE_FAILED" | "VOICE_TTL_EXPIRED" => ReachOutcome::Failed,
        _ => return Ok(VoiceEvent::Ignored),
    };
    let without = |field: &'static str| NotificationError::VoiceWithout {
        event: kind.to_owned(),
        field,
    };
    let Some(campaign) = v.pointer("/context/campaign").and_then(Value::as_str) else {
        return Ok(VoiceEvent::Ignored);
    };
    let campaign = CampaignId::from_str(campaign).map_err(|_| without("/context/campaign"))?;
    let subscriber = v
        .pointer("/context/subscriber")
        .and_then(Value::as_str)
        .and_then(|s| SubscriberId::from_str(s).ok())
        .ok_or_else(|| without("/context/subscriber"))?;
    let attempt = v
        .pointer("/context/attempt")
        .and_then(Value::as_str)
        .and_then(|a| a.parse::<u32>().ok())
        .filter(|a| *a >= 1)
        .ok_or_else(|| without("/context/attempt"))?;
    let at = v
        .get("eventTimestamp")
        .and_then(Value::as_i64)
        .and_then(DateTime::from_timestamp_millis)
        .ok_or_else(|| without("/eventTimestamp"))?;
    Ok(VoiceEvent::Report(CallReport {
        key: DeliveryKey {
            campaign,
            subscriber,
            channel: Channel::Voice,
        },
        attempt,
        outcome,
        at,
    }))
}

/// Reads one SES notification; `message` is the SNS `Message` string.
pub fn ses_feedback(message: &str, at: DateTime<Utc>) -> Result<SesFeedback, NotificationError> {
    let v: Value = serde_json::from_str(message).map_err(NotificationError::UnreadableSes)?;
    let kind = v
        .get("eventType")
        .or_else(|| v.get("notificationType"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let (reason, feedback, list) = match kind {
        "Bounce"
            if v.pointer("/bounce/bounceType").and_then(Value::as_str) == Some("Permanent") =>
        {
            (
                "bounce",
                EmailFeedback::Bounce,
                v.pointer("/bounce/bouncedRecipients"),
            )
        }
        "Complaint" => (
            "complaint",
            EmailFeedback::Complaint,
            v.pointer("/complaint/complainedRecipients"),
        ),
        _ => return Ok(SesFeedback::default()),
    };
    let recipients =
        list.and_then(Value::as_array)
            .ok_or_else(|| NotificationError::NoRecipients {
                kind: kind.to_owned(),
            })?;
    let suppressions = recipients
        .iter()
        .map(|r| {
            let raw = r
                .get("emailAddress")
                .and_then(Value::as_str)
                .ok_or(NotificationError::RecipientWithoutAddress)?;
            let email = Email::from_str(bare_address(raw))?;
            Ok(Suppression {
                address: email.as_str().to_owned(),
                reason: reason.into(),
                at,
            })
        })
        .collect::<Result<_, NotificationError>>()?;
    let campaign = v
        .pointer(&format!("/mail/tags/{CAMPAIGN_TAG}/0"))
        .and_then(Value::as_str)
        .map(|id| {
            CampaignId::from_str(id)
                .map(|id| (id, feedback))
                .map_err(|_| NotificationError::MalformedCampaignTag {
                    kind: kind.to_owned(),
                })
        })
        .transpose()?;
    Ok(SesFeedback {
        suppressions,
        campaign,
    })
}

/// The delivery receipts in a batch of SNS's SMS delivery status logs (the groups
/// `sns/<region>/<account>/DirectPublishToPhoneNumber` and its `/Failure`). A subscription's
/// control message (sent when the subscription is made) holds none; an entry that is not a
/// receipt is an error naming what is missing (it would be counted nowhere).
pub fn sms_receipts(logs: &LogData) -> Result<Vec<SmsReceipt>, NotificationError> {
    if logs.message_type == "CONTROL_MESSAGE" {
        return Ok(Vec::new());
    }
    logs.log_events
        .iter()
        .map(|e| sms_receipt(&e.message))
        .collect()
}

/// One SNS SMS delivery status log entry.
fn sms_receipt(message: &str) -> Result<SmsReceipt, NotificationError> {
    let v: Value = serde_json::from_str(message).map_err(NotificationError::UnreadableLog)?;
    let text = |field: &'static str| {
        v.pointer(field)
            .and_then(Value::as_str)
            .ok_or(NotificationError::LogWithout { field })
    };
    let at = chrono::NaiveDateTime::parse_from_str(
        text("/notification/timestamp")?,
        "%Y-%m-%d %H:%M:%S%.f",
    )
    .map_err(NotificationError::LogTimestamp)?
    .and_utc();
    let delivered = match text("/status")? {
        "SUCCESS" => true,
        "FAILURE" => false,
        other => return Err(NotificationError::LogStatus(other.to_owned())),
    };
    let price = v
        .pointer("/delivery/priceInUSD")
        .and_then(Value::as_f64)
        .unwrap_or(0.0);
    Ok(SmsReceipt {
        message_id: text("/notification/messageId")?.to_owned(),
        at,
        delivered,
        billed_micro_usd: (price * 1_000_000.0).round() as i64,
    })
}

/// `Name <a@b>` → `a@b`.
fn bare_address(raw: &str) -> &str {
    match (raw.rfind('<'), raw.rfind('>')) {
        (Some(start), Some(end)) if start < end => &raw[start + 1..end],
        _ => raw.trim(),
    }
}

/// Records suppressions from provider feedback, and counts bounces and complaints against their
/// campaign (which may brake it).
pub struct Feedback {
    suppressions: Arc<dyn SuppressionStore>,
    sms: Arc<SnsSmsSender>,
    dispatcher: Arc<Dispatcher>,
    /// Who owns a bounced address, to record the bounce against their delivery.
    subscribers: Arc<dyn SubscriberStore>,
    /// Where the crisis view reads who was reached.
    reach: Arc<dyn ReachStore>,
    /// Whether the people an SMS receipt names are still subscribers.
    audience: Arc<dyn AudienceStore>,
    /// The index from an SMS's message id to its delivery.
    store: Arc<DynamoStore>,
    /// Call outcomes, and the calls to place again.
    calls: CallOutcomes,
}

impl Feedback {
    /// Feedback over the store (suppressions, subscribers, reach, the SMS index, campaigns),
    /// the SMS provider and the dispatcher; calls not answered are queued again on `queue` as
    /// `retries` says.
    pub fn new(
        store: Arc<DynamoStore>,
        sms: Arc<SnsSmsSender>,
        dispatcher: Arc<Dispatcher>,
        queue: Arc<dyn JobQueue>,
        retries: VoiceRetries,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            calls: CallOutcomes::new(
                store.clone(),
                store.clone(),
                store.clone(),
                queue,
                retries,
                clock,
            ),
            suppressions: store.clone(),
            subscribers: store.clone(),
            reach: store.clone(),
            audience: store.clone(),
            store,
            sms,
            dispatcher,
        }
    }

    /// Records SNS's delivery receipts against the campaign deliveries they answer: `delivered`
    /// or `failed` in the crisis view. A receipt of an SMS no campaign sent (a sign-up code, a
    /// staff notice), whose index expired, or whose resident was erased since, is left out, as
    /// is one logged before its send batch wrote the index (it still counts in the statistics;
    /// the crisis view then counts that SMS as handed over). Recording one again changes
    /// nothing. Returns how many were recorded.
    pub async fn record_sms_reach(&self, receipts: &[SmsReceipt]) -> Result<usize, StoreError> {
        if receipts.is_empty() {
            return Ok(0);
        }
        let ids: Vec<String> = receipts.iter().map(|r| r.message_id.clone()).collect();
        let found = self.store.sms_deliveries(&ids).await?;
        if found.is_empty() {
            return Ok(0);
        }
        let mut people: Vec<SubscriberId> = found.values().map(|k| k.subscriber).collect();
        people.sort();
        people.dedup();
        let still: std::collections::HashSet<SubscriberId> = self
            .audience
            .get_many(&people)
            .await?
            .into_iter()
            .map(|s| s.id)
            .collect();
        let reports: Vec<ReachReport> = receipts
            .iter()
            .filter_map(|r| {
                let key = found.get(&r.message_id)?;
                still.contains(&key.subscriber).then_some(ReachReport {
                    key: *key,
                    outcome: if r.delivered {
                        ReachOutcome::Delivered
                    } else {
                        ReachOutcome::Failed
                    },
                    at: r.at,
                })
            })
            .collect();
        self.reach.record_reach(&reports).await?;
        Ok(reports.len())
    }

    /// Records campaign calls' outcomes and queues the calls to place again; returns how many
    /// were queued.
    pub async fn record_calls(&self, reports: &[CallReport]) -> Result<usize, EventError> {
        Ok(self.calls.record(reports).await?)
    }

    /// Records a campaign's hard bounces against the deliveries they answer: the crisis view
    /// then counts those people as not reached by email. An address nobody owns any more
    /// (erased since) is left out.
    async fn record_bounces(
        &self,
        campaign: CampaignId,
        bounced: &[Suppression],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut reports = Vec::new();
        for s in bounced {
            let Ok(email) = Email::from_str(&s.address) else {
                continue;
            };
            if let Some(owner) = self.subscribers.find_by_email(&email).await? {
                reports.push(ReachReport {
                    key: DeliveryKey {
                        campaign,
                        subscriber: owner.id,
                        channel: Channel::Email,
                    },
                    outcome: ReachOutcome::Bounced,
                    at,
                });
            }
        }
        self.reach.record_reach(&reports).await
    }

    /// Suppresses what one SES notification names and counts it against its campaign; returns
    /// how many addresses were suppressed.
    pub async fn record_ses(&self, message: &str, at: DateTime<Utc>) -> Result<usize, EventError> {
        let found = ses_feedback(message, at)?;
        for s in &found.suppressions {
            self.suppressions.suppress(s).await?;
        }
        if let Some((campaign, feedback)) = found.campaign {
            self.dispatcher
                .record_email_feedback(campaign, feedback)
                .await?;
            if feedback == EmailFeedback::Bounce {
                self.record_bounces(campaign, &found.suppressions, at)
                    .await?;
            }
        }
        Ok(found.suppressions.len())
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

    /// A fixed instant: these rules take time as an argument.
    fn now() -> chrono::DateTime<chrono::Utc> {
        use chrono::TimeZone;
        chrono::Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap()
    }

    fn sample(name: &str) -> String {
        let path = format!(
            "{}/../../tests/fixtures/aws/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(&path).expect(&path)
    }

    #[test]
    fn hard_bounces_and_complaints_suppress_their_recipients() {
        let now = now();
        let bounce = ses_feedback(&sample("aws_sesv2_event_publishing_sns_bounce.json"), now)
            .unwrap()
            .suppressions;
        assert_eq!(bounce.len(), 1);
        assert_eq!(bounce[0].address, "recipient@example.com");
        assert_eq!(bounce[0].reason, "bounce");

        let complaint = ses_feedback(
            &sample("aws_ses_notification_complaint_with_feedback.json"),
            now,
        )
        .unwrap()
        .suppressions;
        assert_eq!(complaint[0].address, "richard@example.com");
        assert_eq!(complaint[0].reason, "complaint");

        let sesv2_complaint = ses_feedback(
            &sample("aws_sesv2_event_publishing_sns_complaint.json"),
            now,
        )
        .unwrap()
        .suppressions;
        assert!(!sesv2_complaint.is_empty());
        assert!(sesv2_complaint.iter().all(|s| s.reason == "complaint"));
    }

    #[test]
    fn sms_delivery_logs_are_read_as_receipts() {
        let mut logs = LogData::default();
        for name in ["success", "failure"] {
            let mut entry = aws_lambda_events::event::cloudwatch_logs::LogEntry::default();
            entry.message = sample(&format!("aws_sns_sms_delivery_status_{name}.json"));
            logs.log_events.push(entry);
        }
        logs.message_type = "DATA_MESSAGE".into();
        let receipts = sms_receipts(&logs).unwrap();
        assert_eq!(receipts.len(), 2);
        assert_eq!(
            receipts[0].message_id,
            "34d9b400-c6dd-5444-820d-fbeb0f1f54cf"
        );
        assert!(receipts[0].delivered && !receipts[1].delivered);
        assert_eq!(receipts[0].billed_micro_usd, 6450);
        assert_eq!(receipts[1].at.to_rfc3339(), "2016-06-28T00:40:34.559+00:00");
        logs.message_type = "CONTROL_MESSAGE".into();
        assert!(sms_receipts(&logs).unwrap().is_empty());
        logs.message_type = "DATA_MESSAGE".into();
        logs.log_events[1].message = r#"{"status":"SUCCESS"}"#.into();
        assert!(matches!(
            sms_receipts(&logs),
            Err(NotificationError::LogWithout {
                field: "/notification/timestamp"
            })
        ));
    }

    #[test]
    fn the_campaign_tag_brings_the_feedback_back_to_its_campaign() {
        let mut event: Value =
            serde_json::from_str(&sample("aws_sesv2_event_publishing_sns_bounce.json")).unwrap();
        assert_eq!(
            ses_feedback(&event.to_string(), now()).unwrap().campaign,
            None,
            "an email of no campaign (a confirmation)"
        );
        let id = CampaignId::new();
        event["mail"]["tags"]["campaign"] = serde_json::json!([id.to_string()]);
        let found = ses_feedback(&event.to_string(), now()).unwrap();
        assert_eq!(found.campaign, Some((id, EmailFeedback::Bounce)));
        event["mail"]["tags"]["campaign"] = serde_json::json!(["pas-un-id"]);
        let malformed = ses_feedback(&event.to_string(), now()).unwrap_err();
        assert!(matches!(
            malformed,
            NotificationError::MalformedCampaignTag { .. }
        ));
        assert_eq!(
            malformed.to_string(),
            "SES Bounce notification with a malformed campaign tag"
        );
    }

    #[test]
    fn the_captured_notification_and_the_dsn_example_are_read() {
        let envelope: Value =
            serde_json::from_str(&sample("aws_ses_bounce_via_sns_captured_mozilla.json")).unwrap();
        let message = envelope["Message"].as_str().unwrap();
        let found = ses_feedback(message, now()).unwrap().suppressions;
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].reason, "bounce");
        let dsn = ses_feedback(&sample("aws_ses_notification_bounce_with_dsn.json"), now())
            .unwrap()
            .suppressions;
        assert!(!dsn.is_empty());
    }

    #[test]
    fn soft_bounces_and_deliveries_suppress_nothing_and_junk_is_an_error() {
        let soft = r#"{"eventType":"Bounce","bounce":{"bounceType":"Transient","bouncedRecipients":[{"emailAddress":"a@b.fr"}]}}"#;
        assert_eq!(ses_feedback(soft, now()).unwrap(), SesFeedback::default());
        let delivery = r#"{"eventType":"Delivery","delivery":{}}"#;
        assert_eq!(
            ses_feedback(delivery, now()).unwrap(),
            SesFeedback::default()
        );
        assert!(matches!(
            ses_feedback("not json", now()),
            Err(NotificationError::UnreadableSes(_))
        ));
        assert_eq!(bare_address("Jean <jean@ex.fr>"), "jean@ex.fr");
    }

    #[test]
    fn a_voice_event_is_read_as_its_calls_outcome_against_its_delivery() {
        // GIVEN the event a configuration set publishes for a call nobody answered
        let sample = sample("aws_eum_voice_event_no_answer.json");
        // WHEN it is read THEN it names the delivery its context carries, the attempt and
        // when it was reported
        let VoiceEvent::Report(report) = voice_event(&sample).unwrap() else {
            panic!("not read as a report");
        };
        assert_eq!(
            report.key.campaign.to_string(),
            "0f8e3c2a-5b1d-4c6e-9a7f-2d3b4c5e6f70"
        );
        assert_eq!(
            report.key.subscriber.to_string(),
            "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        );
        assert_eq!(report.key.channel, Channel::Voice);
        assert_eq!(report.attempt, 1);
        assert_eq!(report.outcome, ReachOutcome::NoAnswer);
        assert_eq!(report.at.timestamp_millis(), 1_780_305_000_123);
        assert!(report.calls_again());
        // The same record as EventBridge's detail reads the same.
        let bridged = serde_json::json!({
            "version": "0",
            "detail-type": "Voice Message Delivery Status Updated",
            "source": "aws.sms-voice",
            "detail": serde_json::from_str::<Value>(&sample).unwrap(),
        });
        assert_eq!(
            voice_event(&bridged.to_string()).unwrap(),
            VoiceEvent::Report(report)
        );
    }

    #[test]
    fn each_voice_event_type_has_its_outcome_and_starts_are_ignored() {
        let mut event: Value =
            serde_json::from_str(&sample("aws_eum_voice_event_no_answer.json")).unwrap();
        for (kind, outcome) in [
            ("VOICE_ANSWERED", Some(ReachOutcome::Answered)),
            // Played to whoever picked up, a voicemail included: reached, not acknowledged.
            ("VOICE_COMPLETED", Some(ReachOutcome::Answered)),
            ("VOICE_BUSY", Some(ReachOutcome::Busy)),
            ("VOICE_NO_ANSWER", Some(ReachOutcome::NoAnswer)),
            ("VOICE_FAILED", Some(ReachOutcome::Failed)),
            ("VOICE_TTL_EXPIRED", Some(ReachOutcome::Failed)),
            ("VOICE_INITIATED", None),
            ("VOICE_RINGING", None),
        ] {
            event["eventType"] = kind.into();
            match (voice_event(&event.to_string()).unwrap(), outcome) {
                (VoiceEvent::Report(r), Some(o)) => assert_eq!(r.outcome, o, "{kind}"),
                (VoiceEvent::Ignored, None) => {}
                (other, _) => panic!("{kind}: {other:?}"),
            }
        }
        // A call of no campaign (a sign-up code read aloud) has no context: nothing to record.
        event["eventType"] = "VOICE_NO_ANSWER".into();
        event.as_object_mut().unwrap().remove("context");
        assert_eq!(
            voice_event(&event.to_string()).unwrap(),
            VoiceEvent::Ignored
        );
    }

    #[test]
    fn ses_notifications_are_not_voice_events_and_a_broken_context_is_an_error() {
        let bounce = sample("aws_sesv2_event_publishing_sns_bounce.json");
        assert_eq!(voice_event(&bounce).unwrap(), VoiceEvent::NotVoice);
        assert_eq!(voice_event("not json").unwrap(), VoiceEvent::NotVoice);
        let mut event: Value =
            serde_json::from_str(&sample("aws_eum_voice_event_no_answer.json")).unwrap();
        event["context"]["attempt"] = "zéro".into();
        let error = voice_event(&event.to_string()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "voice event VOICE_NO_ANSWER with no readable /context/attempt"
        );
    }
}
