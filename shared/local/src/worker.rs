//! The local consumers: fan-out and delivery jobs from the SQLite queue, run in-process with the
//! same `Jobs` (dispatcher and file jobs) the Lambda functions use, plus the scheduler for programmed campaigns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use telmail_core::config::SendRates;
use telmail_core::domain::queue::{DeliverJob, Job, JobOutcome, QueueName};
use telmail_core::use_cases::dispatch::BOOK_AHEAD;
use telmail_core::use_cases::jobs::Jobs;
use telmail_core::DomainError;
use tokio::sync::watch;

use crate::queue::{Lane, Received, SqliteQueue};

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Delivery jobs (emails, SMS, notices) handled per batch (SQS allows 10; locally more
    /// is faster).
    pub delivery_batch: usize,
    /// Campaign calls handled per batch, by their own consumer.
    pub call_batch: usize,
    /// How long a received job stays hidden from other consumers.
    pub lease: Duration,
    /// Receives before a failing job goes to the dead-letter table (SQS redrive policy).
    pub max_receives: u32,
    /// How often scheduled campaigns are checked.
    pub schedule_every: Duration,
    /// How long one delivery batch may take: its messages book provider slots within this
    /// time from its start, the others going back to the queue (a Lambda's timeout on AWS).
    pub batch_time: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            delivery_batch: 50,
            call_batch: 50,
            lease: Duration::from_secs(300),
            max_receives: 5,
            schedule_every: Duration::from_secs(15),
            batch_time: BOOK_AHEAD,
        }
    }
}

impl WorkerConfig {
    /// The settings for providers paced at `rates`: a batch lasts about a second at the
    /// slowest pace of its lane (emails and SMS; calls), so a campaign's progress (recorded
    /// per batch) moves as its messages leave, instead of jumping once a minute-long batch
    /// ends.
    pub fn paced(rates: SendRates) -> Self {
        let default = Self::default();
        let batch = |paces: &[Option<f64>]| {
            let slowest = paces.iter().flatten().fold(f64::INFINITY, |a, b| a.min(*b));
            if slowest.is_finite() {
                // At most the default batch, at least one message.
                (slowest.floor().clamp(1.0, default.delivery_batch as f64)) as usize
            } else {
                default.delivery_batch
            }
        };
        Self {
            delivery_batch: batch(&[rates.email, rates.sms]),
            call_batch: batch(&[rates.voice]),
            ..default
        }
    }
}

/// Consumes the local queues.
#[derive(Clone)]
pub struct Worker {
    queue: SqliteQueue,
    jobs: Arc<Jobs>,
    config: WorkerConfig,
}

/// Delay before retrying a job whose processing failed (store unavailable…).
const FAILURE_RETRY: Duration = Duration::from_secs(30);

impl Worker {
    /// A worker over a queue.
    pub fn new(queue: SqliteQueue, jobs: Arc<Jobs>, config: WorkerConfig) -> Self {
        Self {
            queue,
            jobs,
            config,
        }
    }

    /// Parses payloads; unreadable ones are dead-lettered at once (they can never succeed).
    async fn parse(&self, received: Vec<Received>) -> Result<Vec<(Received, Job)>, DomainError> {
        let mut jobs = Vec::with_capacity(received.len());
        for r in received {
            match Job::from_payload(&r.payload) {
                Ok(job) => jobs.push((r, job)),
                Err(e) => {
                    tracing::error!(job_id = r.id, error = %e, "poison job moved to dead letters");
                    self.queue.dead_letter(r.id, &e.to_string()).await?;
                }
            }
        }
        Ok(jobs)
    }

    async fn settle(
        &self,
        r: &Received,
        outcome: Result<JobOutcome, &DomainError>,
    ) -> Result<(), DomainError> {
        match outcome {
            Ok(JobOutcome::Done) => self.queue.ack(&[r.id]).await?,
            Ok(JobOutcome::RetryAfter(delay)) => self.queue.retry(r.id, delay).await?,
            Err(e) if r.receives >= self.config.max_receives => {
                tracing::error!(job_id = r.id, error = %e, "job failed too often, moved to dead letters");
                self.queue.dead_letter(r.id, &e.to_string()).await?;
            }
            Err(e) => {
                tracing::warn!(job_id = r.id, receives = r.receives, error = %e, "job failed, will retry");
                self.queue.retry(r.id, FAILURE_RETRY).await?;
            }
        }
        Ok(())
    }

    /// Handles one fan-out job if one is ready; returns how many were handled.
    pub async fn fanout_once(&self) -> Result<usize, DomainError> {
        let received = self
            .queue
            .receive(QueueName::Fanout, 1, self.config.lease)
            .await?;
        let n = received.len();
        for (r, job) in self.parse(received).await? {
            let result = self.jobs.run(&job).await;
            self.settle(&r, result.as_ref().map(|o| *o)).await?;
        }
        Ok(n)
    }

    /// Handles one batch of delivery jobs (emails, SMS, notices) if any are ready; returns how
    /// many were handled.
    pub async fn deliver_once(&self) -> Result<usize, DomainError> {
        self.deliver_lane(Lane::Delivery, self.config.delivery_batch)
            .await
    }

    /// Handles one batch of campaign calls if any are ready; returns how many were handled.
    pub async fn call_once(&self) -> Result<usize, DomainError> {
        self.deliver_lane(Lane::Calls, self.config.call_batch).await
    }

    async fn deliver_lane(&self, lane: Lane, batch: usize) -> Result<usize, DomainError> {
        let received = self.queue.receive(lane, batch, self.config.lease).await?;
        let n = received.len();
        let jobs = self.parse(received).await?;
        let mut batch: Vec<(Received, DeliverJob)> = Vec::with_capacity(jobs.len());
        for (r, job) in jobs {
            match job {
                Job::Deliver(job) => batch.push((r, job)),
                other => {
                    // A queued sign-up message (or a job on the wrong queue): run alone.
                    let result = self.jobs.run(&other).await;
                    self.settle(&r, result.as_ref().map(|o| *o)).await?;
                }
            }
        }
        if batch.is_empty() {
            return Ok(n);
        }
        let jobs: Vec<DeliverJob> = batch.iter().map(|(_, j)| j.clone()).collect();
        match self
            .jobs
            .dispatcher()
            .deliver_in(&jobs, self.config.batch_time)
            .await
        {
            Ok(outcomes) => {
                let done: Vec<i64> = batch
                    .iter()
                    .zip(&outcomes)
                    .filter(|(_, o)| **o == JobOutcome::Done)
                    .map(|((r, _), _)| r.id)
                    .collect();
                self.queue.ack(&done).await?;
                for ((r, _), o) in batch.iter().zip(outcomes) {
                    if let JobOutcome::RetryAfter(delay) = o {
                        self.queue.retry(r.id, delay).await?;
                    }
                }
            }
            Err(e) => {
                for (r, _) in &batch {
                    self.settle(r, Err(&e)).await?;
                }
            }
        }
        Ok(n)
    }

    /// Runs both queues until nothing is ready (tests and benchmarks); returns jobs handled.
    pub async fn drain(&self) -> Result<usize, DomainError> {
        let mut total = 0;
        loop {
            let n =
                self.fanout_once().await? + self.deliver_once().await? + self.call_once().await?;
            if n == 0 {
                return Ok(total);
            }
            total += n;
        }
    }

    async fn loop_on(&self, lane: Lane, mut stop: watch::Receiver<bool>) {
        // Paces the loop in real seconds; what is due is decided on the service's clock.
        #[allow(clippy::disallowed_methods)]
        let mut last_schedule = Instant::now() - self.config.schedule_every;
        while !*stop.borrow() {
            if lane == Lane::Fanout && last_schedule.elapsed() >= self.config.schedule_every {
                #[allow(clippy::disallowed_methods)]
                let now = Instant::now();
                last_schedule = now;
                match self.jobs.dispatcher().start_due().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(count = n, "scheduled campaigns started"),
                    Err(e) => tracing::warn!(error = %e, "starting scheduled campaigns failed"),
                }
                if let Err(e) = self.jobs.dispatcher().repair_stuck().await {
                    tracing::warn!(error = %e, "repairing campaigns left sending failed");
                }
            }
            let handled = match lane {
                Lane::Fanout => self.fanout_once().await,
                Lane::Delivery => self.deliver_once().await,
                Lane::Calls => self.call_once().await,
            };
            match handled {
                Ok(0) => {
                    tokio::select! {
                        _ = self.queue.wait_for_work(Duration::from_secs(1)) => {}
                        _ = stop.changed() => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(queue = lane.as_str(), error = %e, "queue consumer error");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    /// Runs the fan-out, delivery and call consumers until `stop` turns true.
    pub fn spawn(self, stop: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
        [Lane::Fanout, Lane::Delivery, Lane::Calls]
            .into_iter()
            .map(|q| {
                let w = self.clone();
                let stop = stop.clone();
                tokio::spawn(async move { w.loop_on(q, stop).await })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paced_batches_last_about_a_second_at_the_slowest_pace_of_their_lane() {
        let batch = |email, sms| {
            WorkerConfig::paced(SendRates {
                email,
                sms,
                voice: Some(2.0),
            })
            .delivery_batch
        };
        assert_eq!(batch(None, None), 50);
        assert_eq!(batch(Some(2.0), None), 2);
        assert_eq!(batch(Some(14.0), Some(5.5)), 5);
        assert_eq!(batch(Some(0.2), None), 1);
        assert_eq!(batch(Some(500.0), None), 50);
        let calls = |voice| {
            WorkerConfig::paced(SendRates {
                email: None,
                sms: Some(20.0),
                voice,
            })
        };
        assert_eq!(
            (calls(Some(2.0)).call_batch, calls(Some(2.0)).delivery_batch),
            (2, 20)
        );
        assert_eq!(calls(None).call_batch, 50);
    }
}
