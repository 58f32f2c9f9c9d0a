//! A red alert to a town (#30's proof): 10,000 residents subscribed to weather alerts, most by
//! SMS, some also or only by call, half of them in « Front de mer ». An urgent campaign asking
//! for an answer, with an SMS and a spoken text, approved by the cabinet and sent to the end by
//! the real fan-out and sender on the embedded store and queue, consumed as `telmail-local`
//! consumes them (`Worker::spawn`: a fan-out consumer, a delivery consumer for the SMS and one
//! for the calls, `WorkerConfig::paced`), in virtual time. The providers accept SMS at 20 a second and calls
//! at `TELMAIL_BENCH_CALL_RATE` a second (2 by default; more is refused as throttling); the
//! service paces itself at the same rates (`SendRates`, `--sms-rate`, `--voice-rate`).
//!
//! It prints, in virtual time from the cabinet's approval: the first and the last call handed
//! to the voice provider, against the last call the rate allows (calls ÷ rate); the same for
//! SMS; when the campaign turned `sent`. It checks, and panics otherwise, that every recipient
//! got exactly one message per channel they chose (and nobody else any), and that the
//! counters agree.
//!
//! Then the crisis view with every recipient in it: a few hundred answers (« en sécurité »,
//! « besoin d'aide ») and providers' reports (calls unanswered, SMS not delivered) are
//! recorded, and the view's use case (`GET /api/admin/campaigns/{id}/crisis`) is timed in real
//! time over several runs (median, max), with the call-back list's CSV export; it prints the
//! people and rows the view returns and resident memory.
//!
//! Run: `cargo bench -p telmail-tests --bench red_alert` (10,000 subscribers).
//! `TELMAIL_BENCH_SUBSCRIBERS` for another size, `TELMAIL_BENCH_CALL_RATE=1` for another
//! call rate, `TELMAIL_BENCH_ZONE=front-de-mer` to limit the alert to that zone,
//! `TELMAIL_BENCH_VIEW_RUNS` for the crisis view's runs (7), `TELMAIL_BENCH_DELIVERY_BATCH`
//! for another delivery batch than telmail-local's; `cargo test --bench red_alert` is
//! a smoke run of 500.

use std::collections::{BTreeSet, VecDeque};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use telmail_core::clock::Clock;
use telmail_core::config::{SendRates, ServiceConfig};
use telmail_core::domain::campaign::{CampaignInput, CampaignStatus, SmsInput, VoiceInput};
use telmail_core::domain::contact::{Channel, PhoneNumber};
use telmail_core::domain::delivery::{DeliveryKey, DeliveryStatus};
use telmail_core::domain::reach::{Acknowledgement, Answer, ReachOutcome, ReachReport};
use telmail_core::domain::subscriber::{Choice, SubscriberId};
use telmail_core::domain::topic::{default_topics, TopicSlug};
use telmail_core::domain::zone::{ZoneInput, ZoneSlug};
use telmail_core::error::SendError;
use telmail_core::ports::{
    CampaignStore, DeliveryStore, EmailSender, OutgoingCall, OutgoingEmail, OutgoingSms,
    ReachStore, SmsSender, VoiceSender,
};
use telmail_core::render::messages::EmailLayout;
use telmail_core::token::TokenSigner;
use telmail_core::use_cases::staff_auth::AccountDirectory;
use telmail_core::wiring::Providers;
use telmail_local::app::Services;
use telmail_local::worker::{Worker, WorkerConfig};
use tokio::time::Instant;

/// The SMS provider's rate (as in the million benchmark).
const SMS_RATE: usize = 20;
/// The weather alerts' topic.
const TOPIC: &str = "alerte-meteo";
const FRONT_DE_MER: &str = "front-de-mer";
const CENTRE: &str = "centre-ville";

/// Calls a second the voice provider takes, from `TELMAIL_BENCH_CALL_RATE` (2 by default).
fn call_rate() -> usize {
    std::env::var("TELMAIL_BENCH_CALL_RATE")
        .ok()
        .map(|r| {
            r.trim()
                .parse()
                .expect("TELMAIL_BENCH_CALL_RATE is a whole number of calls a second")
        })
        .filter(|r| *r > 0)
        .unwrap_or(2)
}

/// The SMS consumer's batch from `TELMAIL_BENCH_DELIVERY_BATCH`, instead of telmail-local's
/// (`WorkerConfig::paced`: the SMS rate's messages a second).
fn delivery_batch() -> Option<usize> {
    std::env::var("TELMAIL_BENCH_DELIVERY_BATCH").ok().map(|b| {
        b.trim()
            .parse()
            .expect("TELMAIL_BENCH_DELIVERY_BATCH is a number of messages")
    })
}

/// The zone the alert is limited to (`TELMAIL_BENCH_ZONE`), none for the whole town.
fn limited_to() -> Option<String> {
    std::env::var("TELMAIL_BENCH_ZONE")
        .ok()
        .filter(|z| !z.trim().is_empty())
}

/// The service's clock: the runtime's (paused) clock, from a fixed start.
struct VirtualClock {
    start: DateTime<Utc>,
    origin: Instant,
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        self.start + chrono::Duration::from_std(self.origin.elapsed()).expect("small")
    }
}

/// How resident `i` is reached: everyone by SMS but the landlines (one in ten, by call only),
/// two in ten also by call on their mobile; by zone, in blocks of ten so that each kind is in
/// every zone: half « Front de mer », a quarter « Centre-ville », a quarter no zone.
#[derive(Clone, Copy)]
struct Resident(usize);

impl Resident {
    fn sms(self) -> bool {
        self.0 % 10 != 9
    }
    fn voice(self) -> bool {
        self.0 % 10 >= 7
    }
    fn landline(self) -> bool {
        self.0 % 10 == 9
    }
    fn zone(self) -> Option<&'static str> {
        match (self.0 / 10) % 4 {
            0 | 2 => Some(FRONT_DE_MER),
            1 => Some(CENTRE),
            _ => None,
        }
    }
    /// Whether the alert (limited to `zone`, or not) is for them.
    fn concerned(self, zone: Option<&str>) -> bool {
        zone.is_none() || self.zone() == zone
    }
    fn phone(self) -> PhoneNumber {
        if self.landline() {
            PhoneNumber::parse_for_calls(&format!("+33556{:06}", self.0)).unwrap()
        } else {
            PhoneNumber::from_str(&format!("+3361{:07}", self.0)).unwrap()
        }
    }
}

/// The number's resident.
fn index(number: &str) -> usize {
    number
        .strip_prefix("+3361")
        .or_else(|| number.strip_prefix("+33556"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a simulated number: {number}"))
}

/// One channel of the providers: at most `rate` acceptances in any second, what each resident
/// received, when the first and the last message were taken.
struct Line {
    rate: usize,
    recent: Mutex<VecDeque<Instant>>,
    received: Vec<AtomicU8>,
    throttled: AtomicU64,
    /// Messages taken so far.
    taken: AtomicU64,
    first_last: Mutex<Option<(Instant, Instant)>>,
}

impl Line {
    fn new(rate: usize, n: usize) -> Self {
        Self {
            rate,
            recent: Mutex::new(VecDeque::new()),
            received: (0..n).map(|_| AtomicU8::new(0)).collect(),
            throttled: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            first_last: Mutex::new(None),
        }
    }

    fn take(&self, i: usize) -> Result<Option<String>, SendError> {
        let now = telmail_tests::virtual_now();
        {
            let mut recent = self.recent.lock().unwrap();
            while recent
                .front()
                .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
            {
                recent.pop_front();
            }
            if recent.len() >= self.rate {
                self.throttled.fetch_add(1, Ordering::Relaxed);
                return Err(SendError::Throttled("Throttling: rate exceeded".into()));
            }
            recent.push_back(now);
        }
        self.received[i].fetch_add(1, Ordering::Relaxed);
        self.taken.fetch_add(1, Ordering::Relaxed);
        let mut first_last = self.first_last.lock().unwrap();
        let (first, _) = first_last.unwrap_or((now, now));
        *first_last = Some((first, now));
        Ok(Some(format!("m-{i}")))
    }

    /// [none, one, more than one] message, over the residents `wanted` selects, and over the
    /// others.
    fn tally(&self, wanted: impl Fn(usize) -> bool) -> ([u64; 3], [u64; 3]) {
        let (mut to_them, mut to_others) = ([0u64; 3], [0u64; 3]);
        for (i, r) in self.received.iter().enumerate() {
            let k = usize::from(r.load(Ordering::Relaxed).min(2));
            if wanted(i) {
                to_them[k] += 1;
            } else {
                to_others[k] += 1;
            }
        }
        (to_them, to_others)
    }

    /// The first and the last message taken, from `started`.
    fn span(&self, started: Instant) -> (Duration, Duration) {
        let (first, last) = self
            .first_last
            .lock()
            .unwrap()
            .expect("the provider took messages");
        (first - started, last - started)
    }
}

/// The SMS and voice providers as the simulation plays them.
struct Telephony {
    sms: Line,
    voice: Line,
    /// SMS taken when the first call was.
    sms_before_first_call: Mutex<Option<u64>>,
}

#[async_trait]
impl EmailSender for Telephony {
    async fn send_email(&self, _: &OutgoingEmail) -> Result<Option<String>, SendError> {
        panic!("the alert has no email")
    }
}

#[async_trait]
impl SmsSender for Telephony {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Option<String>, SendError> {
        self.sms.take(index(sms.to.as_str()))
    }
}

#[async_trait]
impl VoiceSender for Telephony {
    async fn call(&self, call: &OutgoingCall) -> Result<Option<String>, SendError> {
        assert!(
            call.delivery.is_some(),
            "a campaign call names its delivery"
        );
        let taken = self.voice.take(index(call.to.as_str()))?;
        self.sms_before_first_call
            .lock()
            .unwrap()
            .get_or_insert_with(|| self.sms.taken.load(Ordering::Relaxed));
        Ok(taken)
    }
}

/// Adds the `n` residents subscribed to weather alerts; returns their ids, by index.
async fn seed(store: &telmail_local::store::SqliteStore, n: usize) -> Vec<SubscriberId> {
    let topic = TopicSlug::from_str(TOPIC).unwrap();
    let mut ids = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(5_000) {
        let people: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let r = Resident(i);
                let mut choices = BTreeSet::new();
                for (wanted, channel) in [(r.sms(), Channel::Sms), (r.voice(), Channel::Voice)] {
                    if wanted {
                        choices.insert(Choice {
                            topic: topic.clone(),
                            channel,
                        });
                    }
                }
                let mut s = telmail_tests::paper_subscriber(None, Some(r.phone()), choices);
                s.zones = r
                    .zone()
                    .map(|z| ZoneSlug::from_str(z).unwrap())
                    .into_iter()
                    .collect();
                s
            })
            .collect();
        ids.extend(people.iter().map(|p| p.id));
        store.insert_all(people).await.unwrap();
    }
    ids
}

/// The median and the largest of some durations, in milliseconds.
fn median_max(mut runs: Vec<Duration>) -> (f64, f64) {
    runs.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    (ms(runs[runs.len() / 2]), ms(runs[runs.len() - 1]))
}

async fn run(n: usize, quick: bool) {
    let call_rate = call_rate();
    let zone = limited_to();
    let zone = zone.as_deref();
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(VirtualClock {
        // A Tuesday, 3:00 in Paris: outside the sending window, which an urgent alert ignores.
        start: Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap(),
        origin: telmail_tests::virtual_now(),
    });
    let db = telmail_local::db::Db::open(&dir.path().join("telmail.sqlite")).unwrap();
    let store = Arc::new(telmail_local::store::SqliteStore::new(
        db.clone(),
        clock.clone(),
    ));
    let queue = telmail_local::queue::SqliteQueue::new(db, clock.clone());
    let providers = Arc::new(Telephony {
        sms: Line::new(SMS_RATE, n),
        voice: Line::new(call_rate, n),
        sms_before_first_call: Mutex::new(None),
    });
    let mut config = ServiceConfig::with_public_url("https://alertes.arcachon.example");
    config.send_rates = SendRates {
        email: None,
        sms: Some(SMS_RATE as f64),
        voice: Some(call_rate as f64),
    };
    let services = Services::wire(
        Providers {
            directory: Arc::new(AccountDirectory(store.clone())),
            outbox: None,
            limits: Arc::new(telmail_local::limits::LocalLimits::new(
                store.clone(),
                None,
                None,
            )),
            store: store.clone(),
            email: providers.clone(),
            sms: providers.clone(),
            voice: providers.clone(),
            clock: clock.clone(),
            layout: Arc::new(EmailLayout::embedded("Arcachon")),
            signer: TokenSigner::new(vec![9u8; 32]).unwrap(),
            config: config.clone(),
        },
        queue.clone(),
        Arc::new(
            telmail_local::files::FolderDrop::new(&dir.path().join("files"), clock.clone())
                .unwrap(),
        ),
    )
    .unwrap();
    let uc = &services.use_cases;
    uc.residents.seed_topics(&default_topics()).await.unwrap();
    let admin = telmail_tests::staff("admin", "admin");
    for (name, description) in [
        ("Front de mer", "Du port à la jetée Thiers, côté bassin."),
        ("Centre-ville", "Autour de la mairie et du marché."),
    ] {
        let input = ZoneInput {
            name: Some(name.into()),
            description: Some(description.into()),
            streets: vec!["boulevard de la Plage".into()],
        };
        uc.zones.create(&admin, &input).await.unwrap();
    }

    let real = telmail_tests::stopwatch();
    let ids = seed(&store, n).await;
    let seeding = real.elapsed();
    let sms_for = |i: usize| Resident(i).sms() && Resident(i).concerned(zone);
    let call_for = |i: usize| Resident(i).voice() && Resident(i).concerned(zone);
    let sms_expected = (0..n).filter(|&i| sms_for(i)).count() as u64;
    let calls_expected = (0..n).filter(|&i| call_for(i)).count() as u64;

    let redac = telmail_tests::staff("redac", "redaction");
    let cabinet = telmail_tests::staff("cab", "cabinet");
    let input = CampaignInput {
        title: Some("Vigilance rouge vagues-submersion".into()),
        topics: vec![TOPIC.into()],
        sms: Some(SmsInput {
            text: Some(
                "Vigilance rouge submersion cette nuit. Eloignez-vous du front de mer.".into(),
            ),
        }),
        voice: Some(VoiceInput {
            text: Some(
                "Vigilance rouge vagues et submersion cette nuit. Éloignez-vous du front de \
                 mer et montez à l'étage si l'eau monte."
                    .into(),
            ),
        }),
        urgent: true,
        acknowledgement: true,
        zones: zone.map(|z| vec![z.to_owned()]),
        ..Default::default()
    };
    let draft = uc.campaigns.create(&redac, &input).await.unwrap();
    let submitted = uc.campaigns.submit(&redac, draft.id).await.unwrap();

    // The consumers as `telmail-local` runs them.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut worker = WorkerConfig::paced(config.send_rates);
    if let Some(batch) = delivery_batch() {
        worker.delivery_batch = batch;
    }
    let (batch, call_batch) = (worker.delivery_batch, worker.call_batch);
    let consumers = Worker::new(queue, uc.jobs.clone(), worker).spawn(stopped);

    let real = telmail_tests::stopwatch();
    let started = telmail_tests::virtual_now();
    let c = uc
        .campaigns
        .approve(&cabinet, submitted.id, Some(submitted.version))
        .await
        .unwrap();
    // Until the campaign is sent (looked at every second).
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let status = CampaignStore::status(store.as_ref(), c.id).await.unwrap();
        if status != Some(CampaignStatus::Sending) {
            assert_eq!(status, Some(CampaignStatus::Sent));
            break;
        }
    }
    let sent_after = started.elapsed();
    let real_time = real.elapsed();
    stop.send(true).unwrap();
    for c in consumers {
        c.await.unwrap();
    }

    // Every recipient: exactly one message per channel they chose; nobody else any.
    let t = CampaignStore::progress(store.as_ref(), c.id)
        .await
        .unwrap()
        .totals;
    assert_eq!(
        (t.sms.targeted, t.voice.targeted, t.email.targeted),
        (sms_expected, calls_expected, 0)
    );
    assert_eq!(
        (t.sms.sent, t.voice.sent),
        (sms_expected, calls_expected),
        "every message was handed over: {t:?}"
    );
    for (line, wanted, what) in [
        (&providers.sms, &sms_for as &dyn Fn(usize) -> bool, "SMS"),
        (&providers.voice, &call_for, "call"),
    ] {
        let (to_them, to_others) = line.tally(wanted);
        assert_eq!(
            (to_them[0], to_them[2]),
            (0, 0),
            "every {what} recipient got one {what}: [none, one, more] = {to_them:?}"
        );
        assert_eq!(to_others[1] + to_others[2], 0, "nobody else got a {what}");
    }
    let mut deliveries = 0u64;
    let mut after = None;
    loop {
        let page = DeliveryStore::list_after(store.as_ref(), c.id, after, 5_000)
            .await
            .unwrap();
        for d in &page {
            assert_eq!(d.status, DeliveryStatus::Sent, "{d:?}");
        }
        deliveries += page.len() as u64;
        after = page.last().map(|d| d.key);
        if page.len() < 5_000 {
            break;
        }
    }
    assert_eq!(
        deliveries,
        sms_expected + calls_expected,
        "one delivery each"
    );

    let (call_first, call_last) = providers.voice.span(started);
    let (sms_first, sms_last) = providers.sms.span(started);
    let call_ideal = calls_expected as f64 / call_rate as f64;
    let sms_ideal = sms_expected as f64 / SMS_RATE as f64;
    let rss_sent = telmail_tests::rss_mib("VmRSS:");
    println!(
        "subscribers {n} | SMS batch {batch}, call batch {call_batch} | alert {} | recipients: SMS {sms_expected}, calls {calls_expected} ({} landlines) | seeding {:.1} s real (not counted)",
        zone.map_or("to the whole town".to_owned(), |z| format!("limited to {z}")),
        (0..n)
            .filter(|&i| call_for(i) && Resident(i).landline())
            .count(),
        seeding.as_secs_f64()
    );
    println!(
        "  calls at {call_rate}/s: first handed over {:.1} s after approval (after {} SMS), last {:.1} s ({:.1} min) | calls ÷ rate {:.1} s | ratio {:.3}",
        call_first.as_secs_f64(),
        providers.sms_before_first_call.lock().unwrap().unwrap_or_default(),
        call_last.as_secs_f64(),
        call_last.as_secs_f64() / 60.0,
        call_ideal,
        call_last.as_secs_f64() / call_ideal
    );
    println!(
        "  SMS at {SMS_RATE}/s: first handed over {:.1} s after approval, last {:.1} s ({:.1} min) | SMS ÷ rate {:.1} s | ratio {:.3}",
        sms_first.as_secs_f64(),
        sms_last.as_secs_f64(),
        sms_last.as_secs_f64() / 60.0,
        sms_ideal,
        sms_last.as_secs_f64() / sms_ideal
    );
    println!(
        "  campaign sent {:.1} s after approval (virtual) | real time {:.1} s | providers' throttled answers: SMS {}, calls {} | RSS {rss_sent:.0} MiB",
        sent_after.as_secs_f64(),
        real_time.as_secs_f64(),
        providers.sms.throttled.load(Ordering::Relaxed),
        providers.voice.throttled.load(Ordering::Relaxed),
    );

    // The crisis view with every recipient: answers and reports first, so that it has every
    // kind of row (« besoin d'aide », not reached, safe, reached).
    let now = clock.now();
    let recipients: Vec<usize> = (0..n).filter(|&i| sms_for(i) || call_for(i)).collect();
    let mut acks = (0u64, 0u64);
    for &i in &recipients {
        // 2 % « besoin d'aide », 4 % « en sécurité », in every zone.
        let answer = match i % 200 {
            1 | 51 | 101 | 151 => Answer::NeedsHelp,
            k if k % 25 == 3 => Answer::Safe,
            _ => continue,
        };
        let ack = Acknowledgement {
            campaign: c.id,
            subscriber: ids[i],
            answer,
            at: now,
        };
        ReachStore::acknowledge(store.as_ref(), &ack).await.unwrap();
        match answer {
            Answer::Safe => acks.0 += 1,
            Answer::NeedsHelp => acks.1 += 1,
        }
    }
    // Calls to landlines unanswered or busy, SMS not delivered: these people were not reached.
    let reports: Vec<ReachReport> = recipients
        .iter()
        .filter_map(|&i| {
            let r = Resident(i);
            // In blocks of 40, which span every zone.
            let (channel, outcome) = match (i / 40) % 10 {
                1 if r.landline() => (Channel::Voice, ReachOutcome::NoAnswer),
                2 if r.landline() => (Channel::Voice, ReachOutcome::Busy),
                3 if r.sms() && !r.voice() => (Channel::Sms, ReachOutcome::Failed),
                4 if r.sms() => (Channel::Sms, ReachOutcome::Delivered),
                5 if r.voice() && !r.landline() => (Channel::Voice, ReachOutcome::Answered),
                _ => return None,
            };
            Some(ReachReport {
                key: DeliveryKey {
                    campaign: c.id,
                    subscriber: ids[i],
                    channel,
                },
                outcome,
                at: now,
            })
        })
        .collect();
    ReachStore::record_reach(store.as_ref(), &reports)
        .await
        .unwrap();

    let runs = std::env::var("TELMAIL_BENCH_VIEW_RUNS")
        .ok()
        .and_then(|r| r.trim().parse().ok())
        .filter(|r: &usize| *r > 0)
        .unwrap_or(if quick { 3 } else { 7 });
    let mut times = Vec::with_capacity(runs);
    let mut view = None;
    for _ in 0..runs {
        let t = telmail_tests::stopwatch();
        let v = uc.crisis.view(&redac, c.id).await.unwrap();
        times.push(t.elapsed());
        view = Some(v);
    }
    let view = view.expect("one run at least");
    let (median, max) = median_max(times);
    let json = serde_json::to_vec(&view).unwrap();
    let t = telmail_tests::stopwatch();
    let csv = uc.crisis.callbacks_csv(&redac, c.id).await.unwrap();
    let csv_time = t.elapsed();

    let totals = view.totals;
    assert_eq!(totals.people, recipients.len() as u64, "{totals:?}");
    assert_eq!((totals.safe, totals.needs_help), acks, "{totals:?}");
    assert!(totals.not_reached > 0, "some were not reached: {totals:?}");
    assert_eq!(totals.pending, 0, "{totals:?}");
    assert_eq!(
        view.callbacks.len() as u64,
        totals.needs_help + totals.not_reached,
        "the call-back list: those who need help, then those not reached"
    );
    assert_eq!(
        view.by_zone.iter().map(|z| z.counts.people).sum::<u64>(),
        totals.people
    );
    println!(
        "  crisis view ({} deliveries, {} people, {} reports, {} answers): {runs} runs, median {median:.0} ms, max {max:.0} ms real | JSON {:.0} KiB",
        deliveries,
        totals.people,
        reports.len(),
        acks.0 + acks.1,
        json.len() as f64 / 1024.0
    );
    println!(
        "    rows returned: totals 1, zones {}, call-back list {} (besoin d'aide {}, non joints {}) | reached {}, safe {} | CSV export {:.0} ms, {:.0} KiB",
        view.by_zone.len(),
        view.callbacks.len(),
        totals.needs_help,
        totals.not_reached,
        totals.reached,
        totals.safe,
        csv_time.as_secs_f64() * 1000.0,
        csv.len() as f64 / 1024.0
    );
    println!(
        "    RSS {:.0} MiB (after the send {rss_sent:.0} MiB), peak {:.0} MiB",
        telmail_tests::rss_mib("VmRSS:"),
        telmail_tests::rss_mib("VmHWM:")
    );
}

fn main() {
    let (n, quick) = telmail_tests::bench_size(500, 10_000);
    println!(
        "Télmail red alert: SMS {SMS_RATE}/s, calls {}/s, embedded store and queue consumed as telmail-local does, virtual time, {} cores, {} build",
        call_rate(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg!(debug_assertions) { "debug" } else { "optimised" }
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .max_blocking_threads(4)
        .build()
        .unwrap()
        .block_on(run(n, quick));
}
