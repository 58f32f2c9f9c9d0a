//! Telling apart the events a function may receive: SQS batches, SNS notifications, schedules,
//! CloudWatch Logs subscriptions.

use aws_lambda_events::event::cloudwatch_logs::{LogData, LogsEvent};
use aws_lambda_events::event::sns::SnsEvent;
use serde::Deserialize;
use serde_json::Value;

use crate::error::EventError;

/// An event delivered to a non-HTTP function.
#[derive(Debug)]
pub enum Incoming {
    /// A batch of SQS messages.
    Sqs(Vec<QueueMessage>),
    /// SNS notifications.
    Sns(SnsEvent),
    /// An EventBridge schedule fired.
    Scheduled,
    /// Log events of a CloudWatch Logs subscription (SNS's SMS delivery receipts).
    Logs(LogData),
}

/// What a consumer reads of an SQS record: its id (to report a failure) and its body. The
/// other fields (attributes, binary message attributes…) are not needed and not parsed, so an
/// odd attribute can never fail the whole batch.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueMessage {
    /// SQS message id.
    pub message_id: String,
    /// The payload.
    #[serde(default)]
    pub body: String,
}

#[derive(Deserialize)]
struct SqsBatch {
    #[serde(rename = "Records")]
    records: Vec<QueueMessage>,
}

impl Incoming {
    /// Recognises the event by its shape; an error says what was received.
    pub fn parse(event: Value) -> Result<Self, EventError> {
        let source = event
            .pointer("/Records/0/eventSource")
            .or_else(|| event.pointer("/Records/0/EventSource"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        match source.as_deref() {
            Some("aws:sqs") => serde_json::from_value::<SqsBatch>(event)
                .map(|b| Incoming::Sqs(b.records))
                .map_err(|error| EventError::Unreadable { kind: "SQS", error }),
            Some("aws:sns") => serde_json::from_value(event)
                .map(Incoming::Sns)
                .map_err(|error| EventError::Unreadable { kind: "SNS", error }),
            Some(other) => Err(EventError::UnexpectedSource(other.to_owned())),
            None if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") => {
                Ok(Incoming::Scheduled)
            }
            // The event's reader borrows its strings: it reads text, not a `Value`.
            None if event.get("awslogs").is_some() => {
                serde_json::from_str::<LogsEvent>(&event.to_string())
                    .map(|e| Incoming::Logs(e.aws_logs.data))
                    .map_err(|error| EventError::Unreadable {
                        kind: "CloudWatch Logs",
                        error,
                    })
            }
            None => Err(EventError::Unrecognised),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Value {
        let path = format!(
            "{}/../../tests/fixtures/aws/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap()
    }

    #[test]
    fn real_events_are_recognised() {
        match Incoming::parse(sample("aws_sqs_event_multi_records.json")).unwrap() {
            Incoming::Sqs(records) => {
                assert_eq!(records.len(), 2);
                assert_eq!(records[0].body, "Test message.");
            }
            other => panic!("{other:?}"),
        }
        match Incoming::parse(sample("aws_sns_lambda_event_envelope.json")).unwrap() {
            Incoming::Sns(e) => assert_eq!(e.records[0].sns.message, "Hello from SNS!"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            Incoming::parse(sample("aws_eventbridge_scheduled_event.json")).unwrap(),
            Incoming::Scheduled
        ));
        assert!(matches!(
            Incoming::parse(serde_json::json!({"hello": 1})),
            Err(EventError::Unrecognised)
        ));
        let unread = Incoming::parse(serde_json::json!({"Records": [{"eventSource": "aws:sqs"}]}));
        assert!(matches!(
            unread,
            Err(EventError::Unreadable { kind: "SQS", .. })
        ));
    }
}
