//! The urgent lane on the embedded backend: a red weather alert relayed while an ordinary
//! campaign's deliveries wait in the queue. Prints the time from the relay cycle to the alert's
//! first SMS and first email handed to the provider, and how many ordinary messages went before.
//! Run: `cargo bench -p telmail-tests --bench urgent_lane` (10,000 ordinary deliveries queued;
//! `TELMAIL_BENCH_BACKLOG` to change). `cargo test` runs it once with 300, as a smoke run.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use telmail_core::clock::Clock;
use telmail_core::domain::campaign::{CampaignInput, EmailInput};
use telmail_core::domain::weather::{Bulletin, Colour, Phenomenon, Vigilance};
use telmail_core::error::SendError;
use telmail_core::ports::{EmailSender, OutgoingEmail, OutgoingSms, SmsSender};
use telmail_local::worker::Worker;
use telmail_tests::world::World;

/// Accepts everything; notes when the alert's first SMS and email arrive, and how many ordinary
/// messages came before them.
#[derive(Default)]
struct Provider {
    ordinary: AtomicU64,
    alert_sms: Mutex<Option<(Instant, u64)>>,
    alert_email: Mutex<Option<(Instant, u64)>>,
}

impl Provider {
    fn note(&self, slot: &Mutex<Option<(Instant, u64)>>) {
        let mut s = slot.lock().unwrap();
        if s.is_none() {
            *s = Some((Instant::now(), self.ordinary.load(Ordering::SeqCst)));
        }
    }
}

#[async_trait]
impl EmailSender for Provider {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Option<String>, SendError> {
        if email.subject.starts_with("Vigilance") {
            self.note(&self.alert_email);
        } else {
            self.ordinary.fetch_add(1, Ordering::SeqCst);
        }
        Ok(Some("e".into()))
    }
}

#[async_trait]
impl SmsSender for Provider {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Option<String>, SendError> {
        if sms.text.contains("vigilance") {
            self.note(&self.alert_sms);
        } else {
            self.ordinary.fetch_add(1, Ordering::SeqCst);
        }
        Ok(Some("s".into()))
    }
}

async fn run(backlog: usize) {
    // A Tuesday morning in Paris: ordinary SMS may go too.
    let at = Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
    let w = World::new(at, Arc::new(Provider::default())).await;
    for i in 0..backlog {
        let email = format!("habitant{i}@exemple.fr");
        w.subscribe_on_paper(Some(&email), None, "infos-pratiques", &["email"])
            .await;
    }
    w.subscribe_on_paper(
        Some("plage@exemple.fr"),
        Some("06 98 98 98 98"),
        "alerte-meteo",
        &["email", "sms"],
    )
    .await;
    // The ordinary campaign, fanned out: its deliveries wait in the queue
    let input = CampaignInput {
        title: Some("Programme des fêtes".into()),
        topics: vec!["infos-pratiques".into()],
        sms: None,
        email: Some(EmailInput {
            subject: Some("Programme des fêtes".into()),
            body_markdown: Some("Le programme de décembre.".into()),
        }),
        urgent: false,
        send_at: None,
    };
    let c = w.approve(&w.submitted(&input).await).await;
    for shard in 0..c.shards {
        w.services
            .use_cases
            .dispatcher
            .fan_out(c.id, shard)
            .await
            .unwrap();
    }

    // A red alert arrives: relayed, then the consumers start on the whole queue
    let now = w.clock.now();
    let bulletin = Bulletin {
        updated: now,
        vigilances: vec![Vigilance {
            domain: "3310".into(),
            phenomenon: Phenomenon::WavesSubmersion,
            colour: Colour::Red,
            begins: now,
            ends: now + chrono::Duration::hours(10),
        }],
    };
    let started = Instant::now();
    w.services.use_cases.weather.cycle(&bulletin).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tasks = Worker::new(
        w.services.queue.clone(),
        w.services.use_cases.dispatcher.clone(),
        Default::default(),
    )
    .spawn(stop_rx);
    let deadline = Instant::now() + Duration::from_secs(120);
    let (sms, email) = loop {
        let sms = *w.provider.alert_sms.lock().unwrap();
        let email = *w.provider.alert_email.lock().unwrap();
        if let (Some(sms), Some(email)) = (sms, email) {
            break (sms, email);
        }
        assert!(
            Instant::now() < deadline,
            "the alert did not go out in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let _ = stop_tx.send(true);
    for t in tasks {
        t.await.unwrap();
    }
    let ms = |t: Instant| (t - started).as_secs_f64() * 1000.0;
    println!(
        "{backlog:>10} {:>14.1} {:>16} {:>16.1} {:>18}",
        ms(sms.0),
        sms.1,
        ms(email.0),
        email.1
    );
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: a quick smoke run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let backlog: usize = match std::env::var("TELMAIL_BENCH_BACKLOG") {
        Ok(n) => n.trim().parse().expect("TELMAIL_BENCH_BACKLOG is a number"),
        Err(_) if quick => 300,
        Err(_) => 10_000,
    };
    println!(
        "Télmail urgent lane, embedded backend: a red alert relayed behind an ordinary campaign's queued deliveries, {} cores",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:>10} {:>14} {:>16} {:>16} {:>18}",
        "backlog", "first SMS ms", "ordinary before", "first email ms", "ordinary before"
    );
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run(backlog));
}
