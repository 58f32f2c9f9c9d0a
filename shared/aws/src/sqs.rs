//! The SQS queue adapter: jobs as versioned JSON, sent ten to a request.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures_util::{stream, StreamExt, TryStreamExt};
use telmail_core::domain::queue::{Job, QueueHealth, QueueName};
use telmail_core::error::StoreError;
use telmail_core::ports::JobQueue;

use crate::errors::store_error;

/// SQS's largest per-message delay. Longer waits come back early and are re-checked by the
/// consumer (the sending window is recomputed each time).
pub const MAX_DELAY: Duration = Duration::from_secs(900);

/// Entries per `SendMessageBatch` (the SQS maximum).
const BATCH: usize = 10;

/// Batch requests in flight at once.
const IN_FLIGHT: usize = 8;

/// Attempts for entries SQS refused for a transient reason.
const ENTRY_ATTEMPTS: usize = 3;

/// The first wait before sending refused entries again (then doubling, jittered).
const RETRY_BASE: std::time::Duration = std::time::Duration::from_millis(50);

/// The `fanout` and `delivery` queues, and the urgent delivery queue: urgent campaigns'
/// messages go there, consumed by the same function through its own event source mapping and
/// concurrency, so an alert never waits behind an ordinary campaign's backlog.
#[derive(Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    fanout_url: String,
    delivery_url: String,
    urgent_url: String,
    /// The dead-letter queues, whose depth staff follow.
    dead_letter_urls: Vec<String>,
}

impl SqsQueue {
    /// A queue adapter over the three queue URLs.
    pub fn new(
        client: aws_sdk_sqs::Client,
        fanout_url: impl Into<String>,
        delivery_url: impl Into<String>,
        urgent_url: impl Into<String>,
    ) -> Self {
        Self {
            client,
            fanout_url: fanout_url.into(),
            delivery_url: delivery_url.into(),
            urgent_url: urgent_url.into(),
            dead_letter_urls: Vec::new(),
        }
    }

    /// The dead-letter queues counted by [`JobQueue::health`].
    pub fn with_dead_letters(mut self, urls: Vec<String>) -> Self {
        self.dead_letter_urls = urls;
        self
    }

    /// Messages in a queue: visible, in flight and delayed.
    async fn depth(&self, url: &str) -> Result<u64, StoreError> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(A::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| store_error("SQS GetQueueAttributes", e))?;
        Ok(out
            .attributes()
            .map(|a| a.values().filter_map(|v| v.parse::<u64>().ok()).sum())
            .unwrap_or(0))
    }

    /// Where a job goes: urgent deliveries to the urgent queue, the rest to their own.
    fn url_of(&self, job: &Job) -> &str {
        match job.queue() {
            QueueName::Delivery if job.is_urgent() => &self.urgent_url,
            queue => self.url(queue),
        }
    }

    /// The URL of a queue.
    pub fn url(&self, queue: QueueName) -> &str {
        match queue {
            QueueName::Fanout => &self.fanout_url,
            QueueName::Delivery => &self.delivery_url,
        }
    }

    async fn send_batch(&self, url: &str, jobs: &[Job], delay: i32) -> Result<(), StoreError> {
        let mut pending: Vec<(usize, String)> = jobs
            .iter()
            .enumerate()
            .map(|(i, j)| (i, j.to_payload()))
            .collect();
        for attempt in 1..=ENTRY_ATTEMPTS {
            let entries = pending
                .iter()
                .map(|(i, body)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(body)
                        .delay_seconds(delay)
                        .build()
                        .map_err(|e| StoreError::Backend(format!("SQS entry: {e}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| store_error("SQS SendMessageBatch", e))?;
            if out.failed().is_empty() {
                return Ok(());
            }
            if let Some(f) = out.failed().iter().find(|f| f.sender_fault()) {
                return Err(StoreError::Backend(format!(
                    "SQS refused a message: {} {}",
                    f.code(),
                    f.message().unwrap_or_default()
                )));
            }
            if attempt == ENTRY_ATTEMPTS {
                return Err(StoreError::Backend(format!(
                    "SQS kept refusing {} messages",
                    out.failed().len()
                )));
            }
            let failed: Vec<&str> = out.failed().iter().map(|f| f.id()).collect();
            pending.retain(|(i, _)| failed.contains(&i.to_string().as_str()));
            crate::backoff::wait(attempt as u32, RETRY_BASE).await;
        }
        Ok(())
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn enqueue(&self, jobs: &[Job], delay: Duration) -> Result<(), StoreError> {
        let delay = delay.min(MAX_DELAY).as_secs() as i32;
        let mut requests = Vec::new();
        for url in [&self.fanout_url, &self.delivery_url, &self.urgent_url] {
            let mine: Vec<Job> = jobs
                .iter()
                .filter(|j| self.url_of(j) == url.as_str())
                .cloned()
                .collect();
            for chunk in mine.chunks(BATCH) {
                requests.push((url.clone(), chunk.to_vec()));
            }
            if self.urgent_url == self.delivery_url && url == &self.delivery_url {
                // One queue for both (a deployment that wants no urgent lane): sent once.
                break;
            }
        }
        stream::iter(requests)
            .map(|(url, chunk)| async move { self.send_batch(&url, &chunk, delay).await })
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<()>>()
            .await
            .map(drop)
    }

    async fn health(&self) -> Result<QueueHealth, StoreError> {
        let mut queues = vec![&self.fanout_url, &self.delivery_url];
        if self.urgent_url != self.delivery_url {
            queues.push(&self.urgent_url);
        }
        let mut health = QueueHealth::default();
        for url in queues {
            health.queued += self.depth(url).await?;
        }
        for url in &self.dead_letter_urls {
            health.dead_letters += self.depth(url).await?;
        }
        Ok(health)
    }
}
