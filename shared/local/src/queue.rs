//! The durable local job queue, in the same SQLite file as the store, with SQS semantics: a
//! received job is leased (hidden) for a while, then visible again unless acknowledged, so
//! every job is handled at least once; failing jobs end in a dead-letter table.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::params;
use telmail_core::clock::Clock;
use telmail_core::domain::contact::Channel;
use telmail_core::domain::queue::{Job, QueueHealth, QueueName};
use telmail_core::error::StoreError;
use telmail_core::ports::JobQueue;
use tokio::sync::Notify;

use crate::db::{sql_err, Db};

/// A job handed to a consumer, leased until acknowledged, retried or dead-lettered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Handle for `ack`, `retry` and `dead_letter`.
    pub id: i64,
    /// The job's payload (`Job::to_payload`).
    pub payload: String,
    /// Times this job was received, this one included.
    pub receives: u32,
}

/// Where a job waits locally: AWS's two queues, with the delivery queue's calls in a lane of
/// their own (`jobs.queue` = `delivery-calls`), consumed apart: a call waits for its turn at
/// the voice provider's pace (2 a second, where SMS go at 20), and a consumer's batch ends with
/// its last message, so calls mixed into the SMS batches held every SMS to the calls' pace
/// (docs/benchmarks.md, « red alert »). On AWS each `send` invocation paces its own batch
/// from SQS, and the lanes are not needed there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    Fanout,
    /// Emails, SMS and notices.
    Delivery,
    /// Calls: campaigns', first and placed again, and queued sign-up codes.
    Calls,
}

impl Lane {
    /// The stored `jobs.queue` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Lane::Fanout => "fanout",
            Lane::Delivery => "delivery",
            Lane::Calls => "delivery-calls",
        }
    }

    /// The lane a job waits in.
    pub fn of(job: &Job) -> Lane {
        match job {
            Job::Deliver(j) if j.key.channel == Channel::Voice => Lane::Calls,
            Job::CallAgain(_) => Lane::Calls,
            Job::Notice(n) if n.message.channel() == Channel::Voice => Lane::Calls,
            other => other.queue().into(),
        }
    }

    /// The lanes of a queue.
    fn of_queue(queue: QueueName) -> &'static [Lane] {
        match queue {
            QueueName::Fanout => &[Lane::Fanout],
            QueueName::Delivery => &[Lane::Delivery, Lane::Calls],
        }
    }
}

impl From<QueueName> for Lane {
    /// A queue's main lane.
    fn from(queue: QueueName) -> Lane {
        match queue {
            QueueName::Fanout => Lane::Fanout,
            QueueName::Delivery => Lane::Delivery,
        }
    }
}

/// The SQLite-backed queue; clones share the database and the wake-up signal.
#[derive(Clone)]
pub struct SqliteQueue {
    db: Db,
    notify: Arc<Notify>,
    clock: Arc<dyn Clock>,
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl SqliteQueue {
    /// A queue over an open database whose delays and leases follow `clock` (the service's).
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            notify: Arc::new(Notify::new()),
            clock,
        }
    }

    /// The database the queue lives in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// Leases up to `max` visible jobs of a lane (a queue: its main lane) for `lease`; each
    /// receive counts.
    pub async fn receive(
        &self,
        lane: impl Into<Lane>,
        max: usize,
        lease: Duration,
    ) -> Result<Vec<Received>, StoreError> {
        let lane = lane.into();
        if max == 0 {
            return Ok(Vec::new());
        }
        let now = self.now_ms();
        let until = now.saturating_add(millis(lease));
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        // A lock held by another program fails the receive at once: the consumer polls again
        // within a second, and the requests sharing the connection do not wait behind it.
        let mut jobs = self
            .db
            .call_unless_locked(move |c| {
                // One statement picks and leases, so two consumers never share a leased job.
                // Moving available_at to the lease end hides the job and brings it back, through
                // the same index, if the lease runs out. Urgent jobs (priority 1) come first:
                // an alert never waits behind an ordinary campaign's backlog.
                let mut st = c.prepare_cached(RECEIVE).map_err(sql_err)?;
                let rows = st
                    .query_map(params![lane.as_str(), now, until, max], |r| {
                        Ok(Received {
                            id: r.get(0)?,
                            payload: r.get(1)?,
                            receives: r.get::<_, i64>(2)? as u32,
                        })
                    })
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        // RETURNING gives no order guarantee; hand jobs out oldest first.
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// Removes handled jobs.
    pub async fn ack(&self, ids: &[i64]) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let ids = ids.to_vec();
        self.db
            .write(move |tx| {
                let mut st = tx
                    .prepare_cached("DELETE FROM jobs WHERE id = ?1")
                    .map_err(sql_err)?;
                for id in ids {
                    st.execute([id]).map_err(sql_err)?;
                }
                Ok(())
            })
            .await
    }

    /// Makes a job visible again after `delay` (its lease ends).
    pub async fn retry(&self, id: i64, delay: Duration) -> Result<(), StoreError> {
        let at = self.now_ms().saturating_add(millis(delay));
        self.db
            .call(move |c| {
                c.prepare_cached(
                    "UPDATE jobs SET available_at = ?2, leased_until = NULL WHERE id = ?1",
                )
                .and_then(|mut st| st.execute(params![id, at]))
                .map(|_| ())
                .map_err(sql_err)
            })
            .await
    }

    /// Moves a job to the dead-letter table with the reason.
    pub async fn dead_letter(&self, id: i64, error: &str) -> Result<(), StoreError> {
        let error = error.to_owned();
        let at = self.now_ms();
        self.db
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO dead_jobs (id, queue, payload, error, at)
                     SELECT id, queue, payload, ?2, ?3 FROM jobs WHERE id = ?1",
                )
                .and_then(|mut st| st.execute(params![id, error, at]))
                .map_err(sql_err)?;
                tx.prepare_cached("DELETE FROM jobs WHERE id = ?1")
                    .and_then(|mut st| st.execute([id]))
                    .map(|_| ())
                    .map_err(sql_err)
            })
            .await
    }

    /// Jobs waiting (visible or not) in a queue, all its lanes.
    pub async fn depth(&self, queue: QueueName) -> Result<u64, StoreError> {
        let mut total = 0;
        for lane in Lane::of_queue(queue) {
            let lane = lane.as_str();
            total += self
                .db
                .call(move |c| {
                    c.prepare_cached("SELECT COUNT(*) FROM jobs WHERE queue = ?1")
                        .and_then(|mut st| st.query_row([lane], |r| r.get::<_, i64>(0)))
                        .map(|n| n as u64)
                        .map_err(sql_err)
                })
                .await?;
        }
        Ok(total)
    }

    /// Jobs moved to the dead-letter table.
    pub async fn dead_count(&self) -> Result<u64, StoreError> {
        self.db
            .call(|c| {
                c.prepare_cached("SELECT COUNT(*) FROM dead_jobs")
                    .and_then(|mut st| st.query_row([], |r| r.get::<_, i64>(0)))
                    .map(|n| n as u64)
                    .map_err(sql_err)
            })
            .await
    }

    /// Resolves when a job is enqueued (or after `max_wait`), so the worker reacts at once.
    pub async fn wait_for_work(&self, max_wait: Duration) {
        let _ = tokio::time::timeout(max_wait, self.notify.notified()).await;
    }
}

#[async_trait]
impl JobQueue for SqliteQueue {
    async fn enqueue(&self, jobs: &[Job], delay: Duration) -> Result<(), StoreError> {
        if jobs.is_empty() {
            return Ok(());
        }
        let rows: Vec<(&'static str, String, i64)> = jobs
            .iter()
            .map(|j| {
                (
                    Lane::of(j).as_str(),
                    j.to_payload(),
                    i64::from(j.is_urgent()),
                )
            })
            .collect();
        let at = self.now_ms().saturating_add(millis(delay));
        self.db
            .write(move |tx| {
                let mut st = tx
                    .prepare_cached(
                        "INSERT INTO jobs (queue, payload, available_at, priority) VALUES (?1, ?2, ?3, ?4)",
                    )
                    .map_err(sql_err)?;
                for (queue, payload, priority) in rows {
                    st.execute(params![queue, payload, at, priority])
                        .map_err(sql_err)?;
                }
                Ok(())
            })
            .await?;
        // After the commit, so a woken consumer finds the jobs. `notify_waiters` wakes every
        // consumer waiting now; `notify_one` leaves a permit for one that is between its empty
        // receive and its wait, which would otherwise sleep for its whole `max_wait`.
        self.notify.notify_waiters();
        self.notify.notify_one();
        Ok(())
    }

    async fn health(&self) -> Result<QueueHealth, StoreError> {
        let queued = self
            .db
            .call(|c| {
                c.prepare_cached("SELECT COUNT(*) FROM jobs")
                    .and_then(|mut st| st.query_row([], |r| r.get::<_, i64>(0)))
                    .map(|n| n as u64)
                    .map_err(sql_err)
            })
            .await?;
        Ok(QueueHealth {
            queued,
            dead_letters: self.dead_count().await?,
        })
    }
}

/// Picks and leases the next jobs of a queue: urgent first, then oldest, read in the order of
/// the `jobs_urgent_first` index (no sort of the waiting jobs).
/// Picks the visible jobs, urgent ones (priority 1) first, oldest first, and leases them. Each
/// priority is one range of `jobs_urgent_first` (queue, priority, available_at): a single
/// `ORDER BY priority DESC, available_at` over the queue walked every row of the queue,
/// delayed ones included, so 50,000 emails waiting for tomorrow's quota made every receive
/// read 50,000 index entries (#27's production simulation).
///
/// The lease is `available_at` alone (`leased_until`, which nothing reads, stays as it was):
/// the row keeps its size, so SQLite overwrites it in place. Writing the lease's end there too
/// grew each row by 6 bytes, and a page of rows packed at enqueue split at every receive.
const RECEIVE: &str = "UPDATE jobs SET receives = receives + 1, available_at = ?3
     WHERE id IN (
        SELECT id FROM (
            SELECT id, priority, available_at FROM (
                SELECT id, priority, available_at FROM jobs
                WHERE queue = ?1 AND priority = 1 AND available_at <= ?2
                ORDER BY available_at, id LIMIT ?4)
            UNION ALL
            SELECT id, priority, available_at FROM (
                SELECT id, priority, available_at FROM jobs
                WHERE queue = ?1 AND priority = 0 AND available_at <= ?2
                ORDER BY available_at, id LIMIT ?4)
            ORDER BY priority DESC, available_at, id LIMIT ?4))
     RETURNING id, payload, receives";

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use telmail_core::clock::ManualClock;
    use telmail_core::domain::campaign::CampaignId;
    use telmail_core::domain::contact::Channel;
    use telmail_core::domain::delivery::DeliveryKey;
    use telmail_core::domain::queue::FanoutJob;
    use telmail_core::domain::subscriber::SubscriberId;

    const LEASE: Duration = Duration::from_secs(300);

    struct Fixture {
        queue: SqliteQueue,
        clock: Arc<ManualClock>,
        db: Db,
        _dir: tempfile::TempDir,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("q.sqlite")).unwrap();
        let clock = Arc::new(ManualClock::new(
            chrono::Utc.with_ymd_and_hms(2026, 11, 28, 9, 0, 0).unwrap(),
        ));
        let queue = SqliteQueue::new(db.clone(), clock.clone());
        Fixture {
            queue,
            clock,
            db,
            _dir: dir,
        }
    }

    fn fanout(shard: u32) -> Job {
        Job::Fanout(FanoutJob::first(CampaignId::new(), shard, false))
    }

    fn deliver() -> Job {
        Job::Deliver(
            DeliveryKey {
                campaign: CampaignId::new(),
                subscriber: SubscriberId::new(),
                channel: Channel::Sms,
            }
            .into(),
        )
    }

    fn secs(n: i64) -> chrono::Duration {
        chrono::Duration::seconds(n)
    }

    #[tokio::test]
    async fn campaign_calls_wait_in_their_own_lane_of_the_delivery_queue() {
        let f = fixture();
        let Job::Deliver(sms) = deliver() else {
            unreachable!()
        };
        let mut call = sms.clone();
        call.key.channel = Channel::Voice;
        let again = Job::CallAgain(telmail_core::domain::queue::CallAgainJob {
            key: call.key,
            attempt: 2,
            reported_at: f.clock.now(),
            urgent: true,
        });
        let (sms, call) = (Job::Deliver(sms), Job::Deliver(call));
        f.queue
            .enqueue(&[call.clone(), sms.clone(), again.clone()], Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(f.queue.depth(QueueName::Delivery).await.unwrap(), 3);
        let payloads = |got: Vec<Received>| -> Vec<Job> {
            got.iter()
                .map(|r| Job::from_payload(&r.payload).unwrap())
                .collect()
        };
        let delivery = f.queue.receive(QueueName::Delivery, 10, LEASE).await;
        assert_eq!(payloads(delivery.unwrap()), [sms]);
        let calls = f.queue.receive(Lane::Calls, 10, LEASE).await.unwrap();
        assert_eq!(payloads(calls), [call, again]);
    }

    #[tokio::test]
    async fn enqueued_jobs_are_routed_received_and_acknowledged() {
        let f = fixture();
        let (fan, del) = (fanout(3), deliver());
        f.queue
            .enqueue(&[fan.clone(), del.clone()], Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(f.queue.depth(QueueName::Fanout).await.unwrap(), 1);
        assert_eq!(f.queue.depth(QueueName::Delivery).await.unwrap(), 1);

        let got = f.queue.receive(QueueName::Fanout, 10, LEASE).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].receives, 1);
        assert_eq!(Job::from_payload(&got[0].payload).unwrap(), fan);
        assert_eq!(
            f.queue.depth(QueueName::Fanout).await.unwrap(),
            1,
            "a leased job still waits"
        );

        f.queue.ack(&[got[0].id]).await.unwrap();
        assert_eq!(f.queue.depth(QueueName::Fanout).await.unwrap(), 0);
        f.clock.advance(secs(3600));
        assert!(
            f.queue
                .receive(QueueName::Fanout, 10, LEASE)
                .await
                .unwrap()
                .is_empty(),
            "acknowledged for good"
        );

        let got = f
            .queue
            .receive(QueueName::Delivery, 10, LEASE)
            .await
            .unwrap();
        assert_eq!(
            got.iter()
                .map(|r| Job::from_payload(&r.payload).unwrap())
                .collect::<Vec<_>>(),
            [del]
        );
    }

    #[tokio::test]
    async fn receiving_reads_only_the_visible_jobs_of_each_priority_without_walking_the_queue() {
        let f = fixture();
        let plan: Vec<String> =
            f.db.call(|c| {
                let mut st = c
                    .prepare(&format!("EXPLAIN QUERY PLAN {RECEIVE}"))
                    .map_err(sql_err)?;
                let rows = st
                    .query_map(params!["fanout", 0, 0, 10], |r| r.get::<_, String>(3))
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await
            .unwrap();
        let reads: Vec<&String> = plan.iter().filter(|d| d.contains("jobs")).collect();
        // Two ranges of the index, never a walk of the queue's rows (what is sorted is at most
        // twice the batch: the two ranges' picks).
        let ranges = reads
            .iter()
            .filter(|d| d.contains("jobs_urgent_first") && d.contains("available_at<?"))
            .count();
        assert_eq!(ranges, 2, "{plan:#?}");
        assert!(
            !reads.iter().any(|d| d.starts_with("SCAN jobs")),
            "{plan:#?}"
        );
        // Delayed jobs stay out, urgent ones come first, then the oldest.
        let ordinary = fanout(1);
        f.queue
            .enqueue(std::slice::from_ref(&ordinary), Duration::ZERO)
            .await
            .unwrap();
        f.queue
            .enqueue(&[fanout(2)], Duration::from_secs(3600))
            .await
            .unwrap();
        let urgent = Job::Fanout(FanoutJob::first(CampaignId::new(), 3, true));
        f.queue
            .enqueue(std::slice::from_ref(&urgent), Duration::ZERO)
            .await
            .unwrap();
        let got = f.queue.receive(QueueName::Fanout, 10, LEASE).await.unwrap();
        let jobs: Vec<Job> = got
            .iter()
            .map(|r| Job::from_payload(&r.payload).unwrap())
            .collect();
        assert_eq!(jobs.len(), 2);
        assert!(jobs.contains(&urgent) && jobs.contains(&ordinary));
    }

    #[tokio::test]
    async fn urgent_jobs_are_received_before_a_backlog_of_ordinary_ones() {
        let f = fixture();
        let backlog: Vec<Job> = (0..50).map(fanout).collect();
        f.queue.enqueue(&backlog, Duration::ZERO).await.unwrap();
        let alert = Job::Fanout(FanoutJob::first(CampaignId::new(), 99, true));
        f.queue
            .enqueue(std::slice::from_ref(&alert), Duration::ZERO)
            .await
            .unwrap();
        let first = f.queue.receive(QueueName::Fanout, 1, LEASE).await.unwrap();
        assert_eq!(Job::from_payload(&first[0].payload).unwrap(), alert);
    }

    #[tokio::test]
    async fn receive_takes_at_most_max_oldest_first() {
        let f = fixture();
        let jobs: Vec<Job> = (0..5).map(fanout).collect();
        f.queue.enqueue(&jobs, Duration::ZERO).await.unwrap();
        let first = f.queue.receive(QueueName::Fanout, 3, LEASE).await.unwrap();
        let second = f.queue.receive(QueueName::Fanout, 3, LEASE).await.unwrap();
        let shards = |rs: &[Received]| -> Vec<u32> {
            rs.iter()
                .map(|r| match Job::from_payload(&r.payload).unwrap() {
                    Job::Fanout(job) => job.shard,
                    other => panic!("{other:?}"),
                })
                .collect()
        };
        assert_eq!(shards(&first), [0, 1, 2]);
        assert_eq!(shards(&second), [3, 4]);
        assert!(f
            .queue
            .receive(QueueName::Fanout, 0, LEASE)
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test]
    async fn a_lease_hides_a_job_and_its_expiry_redelivers_it() {
        let f = fixture();
        f.queue.enqueue(&[deliver()], Duration::ZERO).await.unwrap();
        let first = f
            .queue
            .receive(QueueName::Delivery, 10, LEASE)
            .await
            .unwrap();
        assert_eq!(first.len(), 1);
        assert!(
            f.queue
                .receive(QueueName::Delivery, 10, LEASE)
                .await
                .unwrap()
                .is_empty(),
            "leased"
        );
        f.clock.advance(secs(299));
        assert!(
            f.queue
                .receive(QueueName::Delivery, 10, LEASE)
                .await
                .unwrap()
                .is_empty(),
            "still leased"
        );
        f.clock.advance(secs(1));
        let again = f
            .queue
            .receive(QueueName::Delivery, 10, LEASE)
            .await
            .unwrap();
        assert_eq!(again.len(), 1);
        assert_eq!((again[0].id, again[0].receives), (first[0].id, 2));
        assert_eq!(again[0].payload, first[0].payload);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_consumers_never_share_a_job() {
        let f = fixture();
        let jobs: Vec<Job> = (0..200).map(|_| deliver()).collect();
        f.queue.enqueue(&jobs, Duration::ZERO).await.unwrap();
        let consumers = (0..4).map(|_| {
            let q = f.queue.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                loop {
                    let got = q.receive(QueueName::Delivery, 7, LEASE).await.unwrap();
                    if got.is_empty() {
                        return ids;
                    }
                    ids.extend(got.into_iter().map(|r| r.id));
                }
            })
        });
        let mut all: Vec<i64> = Vec::new();
        for c in consumers {
            all.extend(c.await.unwrap());
        }
        let before = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!((before, all.len()), (200, 200));
    }

    #[tokio::test]
    async fn retry_and_enqueue_delays_hide_a_job_until_due() {
        let f = fixture();
        f.queue
            .enqueue(&[deliver()], Duration::from_secs(60))
            .await
            .unwrap();
        assert!(f
            .queue
            .receive(QueueName::Delivery, 10, LEASE)
            .await
            .unwrap()
            .is_empty());
        f.clock.advance(secs(60));
        let got = f
            .queue
            .receive(QueueName::Delivery, 10, LEASE)
            .await
            .unwrap();
        assert_eq!(got.len(), 1);

        f.queue
            .retry(got[0].id, Duration::from_secs(30))
            .await
            .unwrap();
        f.clock.advance(secs(29));
        assert!(f
            .queue
            .receive(QueueName::Delivery, 10, LEASE)
            .await
            .unwrap()
            .is_empty());
        f.clock.advance(secs(1));
        let again = f
            .queue
            .receive(QueueName::Delivery, 10, LEASE)
            .await
            .unwrap();
        assert_eq!((again[0].id, again[0].receives), (got[0].id, 2));

        f.queue.retry(got[0].id, Duration::ZERO).await.unwrap();
        let third = f
            .queue
            .receive(QueueName::Delivery, 10, LEASE)
            .await
            .unwrap();
        assert_eq!(third[0].receives, 3, "a zero delay ends the lease at once");
    }

    #[tokio::test]
    async fn dead_letters_leave_the_queue_with_their_reason() {
        let f = fixture();
        let job = fanout(1);
        f.queue
            .enqueue(&[job.clone(), fanout(2)], Duration::ZERO)
            .await
            .unwrap();
        let got = f.queue.receive(QueueName::Fanout, 1, LEASE).await.unwrap();
        f.queue
            .dead_letter(got[0].id, "unreadable job payload")
            .await
            .unwrap();
        f.queue.dead_letter(got[0].id, "again").await.unwrap();
        assert_eq!(
            f.queue.dead_count().await.unwrap(),
            1,
            "dead-lettering twice keeps one"
        );
        assert_eq!(f.queue.depth(QueueName::Fanout).await.unwrap(), 1);
        let id = got[0].id;
        let (queue, payload, error): (String, String, String) =
            f.db.call(move |c| {
                c.query_row(
                    "SELECT queue, payload, error FROM dead_jobs WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .map_err(sql_err)
            })
            .await
            .unwrap();
        assert_eq!(
            (queue.as_str(), error.as_str()),
            ("fanout", "unreadable job payload")
        );
        assert_eq!(Job::from_payload(&payload).unwrap(), job);
    }

    #[tokio::test]
    async fn a_receive_under_another_programs_lock_fails_at_once_instead_of_holding_the_connection()
    {
        let f = fixture();
        f.queue.enqueue(&[deliver()], Duration::ZERO).await.unwrap();
        let path = f._dir.path().join("q.sqlite");
        let other = rusqlite::Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        // Real elapsed time: the test checks that nothing blocks.
        #[allow(clippy::disallowed_methods)]
        let start = std::time::Instant::now();
        let got = f.queue.receive(QueueName::Delivery, 10, LEASE).await;
        assert!(matches!(got, Err(StoreError::Busy(_))), "{got:?}");
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{:?}",
            start.elapsed()
        );
        other.execute_batch("ROLLBACK").unwrap();
        // The connection waits again for everything else, and the job is still there.
        assert_eq!(f.queue.depth(QueueName::Delivery).await.unwrap(), 1);
        let got = f
            .queue
            .receive(QueueName::Delivery, 10, LEASE)
            .await
            .unwrap();
        assert_eq!(got.len(), 1);
    }

    #[tokio::test]
    async fn enqueue_wakes_a_waiting_consumer() {
        let f = fixture();
        let q = f.queue.clone();
        let waiter = tokio::spawn(async move {
            // Real elapsed time: the test checks that nothing blocks.
            #[allow(clippy::disallowed_methods)]
            let start = std::time::Instant::now();
            q.wait_for_work(Duration::from_secs(30)).await;
            start.elapsed()
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        f.queue.enqueue(&[deliver()], Duration::ZERO).await.unwrap();
        let waited = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("woken")
            .unwrap();
        assert!(waited < Duration::from_secs(5), "{waited:?}");

        // A consumer that was not yet waiting when work arrived does not sleep through it.
        f.queue.enqueue(&[deliver()], Duration::ZERO).await.unwrap();
        tokio::time::timeout(
            Duration::from_secs(5),
            f.queue.wait_for_work(Duration::from_secs(30)),
        )
        .await
        .expect("a permit was left");
    }

    #[tokio::test]
    async fn waiting_without_work_ends_after_max_wait() {
        let f = fixture();
        // Real elapsed time: the test checks that nothing blocks.
        #[allow(clippy::disallowed_methods)]
        let start = std::time::Instant::now();
        f.queue.wait_for_work(Duration::from_millis(50)).await;
        assert!(start.elapsed() >= Duration::from_millis(50));
    }
}
