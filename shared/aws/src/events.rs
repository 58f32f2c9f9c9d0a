//! Telling apart the events a function may receive: SQS batches, SNS notifications, schedules.

use aws_lambda_events::event::sns::SnsEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use serde_json::Value;

/// An event delivered to a non-HTTP function.
#[derive(Debug)]
pub enum Incoming {
    /// A batch of SQS messages.
    Sqs(SqsEvent),
    /// SNS notifications.
    Sns(SnsEvent),
    /// An EventBridge schedule fired.
    Scheduled,
}

impl Incoming {
    /// Recognises the event by its shape; an error says what was received.
    pub fn parse(event: Value) -> Result<Self, String> {
        let source = event
            .pointer("/Records/0/eventSource")
            .or_else(|| event.pointer("/Records/0/EventSource"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        match source.as_deref() {
            Some("aws:sqs") => serde_json::from_value(event)
                .map(Incoming::Sqs)
                .map_err(|e| format!("unreadable SQS event: {e}")),
            Some("aws:sns") => serde_json::from_value(event)
                .map(Incoming::Sns)
                .map_err(|e| format!("unreadable SNS event: {e}")),
            Some(other) => Err(format!("unexpected event source {other}")),
            None if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") => {
                Ok(Incoming::Scheduled)
            }
            None => Err("unexpected event: neither SQS, SNS nor a schedule".into()),
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
            Incoming::Sqs(e) => assert_eq!(e.records.len(), 2),
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
        assert!(Incoming::parse(serde_json::json!({"hello": 1})).is_err());
    }
}
