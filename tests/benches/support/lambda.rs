//! An SQS event source as Lambda runs one, for the AWS benchmarks: a poller receives up to ten
//! messages, hands them to the functions' queue handler as one SQS event, and deletes what did
//! not fail.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
};
use serde_json::{json, Value};
use telmail_aws::Aws;

use super::QueueRef;

/// What the pollers did.
#[derive(Default)]
pub struct Lambda {
    pub invocations: AtomicU64,
    pub handler_micros: AtomicU64,
    pub records: AtomicU64,
    pub redelivered: AtomicU64,
    pub refused_deletes: AtomicU64,
}

/// One queue's poller: receive up to 10, invoke the handler with an SQS event, delete what did
/// not fail (as Lambda does with `ReportBatchItemFailures`).
pub async fn poll(
    aws: Aws,
    sqs: aws_sdk_sqs::Client,
    queue: Arc<QueueRef>,
    stats: Arc<Lambda>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        let received = sqs
            .receive_message()
            .queue_url(&queue.url)
            .max_number_of_messages(10)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                eprintln!(
                    "ReceiveMessage failed: {}",
                    aws_smithy_types::error::display::DisplayErrorContext(&e)
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        if messages.is_empty() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: HashMap<String, String> = m
                    .attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default();
                json!({
                    "messageId": m.message_id(),
                    "receiptHandle": m.receipt_handle(),
                    "body": m.body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "md5OfBody": m.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue.arn,
                    "awsRegion": super::REGION,
                })
            })
            .collect();
        let started = telmail_tests::stopwatch();
        // The `send` function's timeout: its deliveries are done by then.
        let deadline = aws.clock.now() + chrono::Duration::seconds(30);
        let response =
            telmail_aws::handlers::queue_event(&aws, json!({ "Records": records }), deadline).await;
        stats
            .handler_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        stats.invocations.fetch_add(1, Ordering::Relaxed);
        stats
            .records
            .fetch_add(messages.len() as u64, Ordering::Relaxed);
        let failed: HashSet<String> = match response {
            Ok(v) => v
                .get("batchItemFailures")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|f| f.get("itemIdentifier").and_then(Value::as_str))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            Err(e) => {
                // The whole batch comes back after the visibility timeout.
                eprintln!("handler error: {e}");
                messages
                    .iter()
                    .filter_map(|m| m.message_id().map(str::to_owned))
                    .collect()
            }
        };
        stats
            .redelivered
            .fetch_add(failed.len() as u64, Ordering::Relaxed);
        let entries: Vec<DeleteMessageBatchRequestEntry> = messages
            .iter()
            .enumerate()
            .filter(|(_, m)| !failed.contains(m.message_id().unwrap_or_default()))
            .map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .expect("entry")
            })
            .collect();
        if !entries.is_empty() {
            let deleted = sqs
                .delete_message_batch()
                .queue_url(&queue.url)
                .set_entries(Some(entries))
                .send()
                .await
                .expect("DeleteMessageBatch");
            if !deleted.failed().is_empty() {
                // A record handled after its visibility timeout was received again meanwhile
                // (moto then refuses the old receipt handle); Lambda would log and go on.
                eprintln!(
                    "moto refused {} deletes: {:?}",
                    deleted.failed().len(),
                    deleted.failed()[0]
                );
                stats
                    .refused_deletes
                    .fetch_add(deleted.failed().len() as u64, Ordering::Relaxed);
            }
        }
    }
}

/// Messages visible, in flight and delayed in a queue (uncounted client).
pub async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> u64 {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await
        .expect("GetQueueAttributes");
    out.attributes()
        .map(|a| a.values().filter_map(|v| v.parse::<u64>().ok()).sum())
        .unwrap_or(0)
}
