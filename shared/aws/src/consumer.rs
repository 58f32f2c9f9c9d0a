//! SQS consumers (`fan-out`, `send`): each record is a versioned job; a record that fails is
//! reported alone (partial batch response) so its neighbours are not redelivered.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse};
use chrono::{DateTime, Utc};

use telmail_core::domain::queue::{DeliverJob, Job, JobOutcome};
use telmail_core::ports::JobQueue;
use telmail_core::use_cases::jobs::Jobs;
use telmail_core::DomainError;

use crate::events::QueueMessage;

/// Runs queued jobs, each through the use case it belongs to.
#[derive(Clone)]
pub struct Consumer {
    jobs: Arc<Jobs>,
    queue: Arc<dyn JobQueue>,
}

impl Consumer {
    /// A consumer re-enqueueing retries on `queue`.
    pub fn new(jobs: Arc<Jobs>, queue: Arc<dyn JobQueue>) -> Self {
        Self { jobs, queue }
    }

    /// Handles one batch by `deadline`. Delivery jobs are sent together (one claim, one
    /// counter update), only those whose provider slot falls before the deadline;
    /// any other job (a fan-out slice, a file step, a queued sign-up message) one by one, a
    /// retry re-enqueued with its delay. The response names the records to redeliver.
    pub async fn handle(
        &self,
        records: Vec<QueueMessage>,
        deadline: DateTime<Utc>,
    ) -> SqsBatchResponse {
        let mut failures = Vec::new();
        let mut deliveries: Vec<(String, DeliverJob)> = Vec::new();
        let mut others: Vec<(String, Job)> = Vec::new();
        for record in records {
            let id = record.message_id;
            match Job::from_payload(&record.body) {
                Ok(Job::Deliver(job)) => deliveries.push((id, job)),
                Ok(job) => others.push((id, job)),
                Err(e) => {
                    tracing::error!(message_id = %id, error = %e, "poison message");
                    failures.push(id);
                }
            }
        }
        failures.extend(self.deliver(deliveries, deadline).await);
        for (id, job) in others {
            let outcome = self.jobs.run(&job).await;
            if !self.settle(&id, &job, outcome).await {
                failures.push(id);
            }
        }
        batch_response(failures)
    }

    /// Sends a batch of deliveries by `deadline`; returns the message ids to redeliver.
    async fn deliver(
        &self,
        deliveries: Vec<(String, DeliverJob)>,
        deadline: DateTime<Utc>,
    ) -> Vec<String> {
        if deliveries.is_empty() {
            return Vec::new();
        }
        let jobs: Vec<DeliverJob> = deliveries.iter().map(|(_, j)| j.clone()).collect();
        match self.jobs.dispatcher().deliver_within(&jobs, deadline).await {
            Ok(outcomes) => {
                let mut retries: HashMap<Duration, Vec<(String, Job)>> = HashMap::new();
                for ((id, job), outcome) in deliveries.into_iter().zip(outcomes) {
                    if let JobOutcome::RetryAfter(delay) = outcome {
                        retries
                            .entry(delay)
                            .or_default()
                            .push((id, Job::Deliver(job)));
                    }
                }
                let mut failed = Vec::new();
                for (delay, group) in retries {
                    let jobs: Vec<Job> = group.iter().map(|(_, j)| j.clone()).collect();
                    if let Err(e) = self.queue.enqueue(&jobs, delay).await {
                        tracing::error!(error = %e, "cannot re-enqueue deliveries for later");
                        failed.extend(group.into_iter().map(|(id, _)| id));
                    }
                }
                failed
            }
            Err(e) => {
                tracing::error!(error = %e, count = jobs.len(), "delivery batch failed");
                deliveries.into_iter().map(|(id, _)| id).collect()
            }
        }
    }

    /// Acts on one job's outcome; false when the record must be redelivered.
    async fn settle(&self, id: &str, job: &Job, outcome: Result<JobOutcome, DomainError>) -> bool {
        match outcome {
            Ok(JobOutcome::Done) => true,
            Ok(JobOutcome::RetryAfter(delay)) => {
                match self.queue.enqueue(std::slice::from_ref(job), delay).await {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::error!(message_id = %id, error = %e, "cannot re-enqueue job");
                        false
                    }
                }
            }
            Err(e) => {
                tracing::error!(message_id = %id, error = %e, "job failed");
                false
            }
        }
    }
}

/// The partial batch response naming the records to redeliver.
pub fn batch_response(failed_message_ids: Vec<String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed_message_ids
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}
