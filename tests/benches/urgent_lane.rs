//! The urgent lane: Météo-France's feed (a stub on 127.0.0.1) turns red while an ordinary
//! campaign's deliveries wait in the queue. Prints the time from the poll of the changed feed to
//! the alert's first SMS and first email handed to the provider, and how many ordinary messages
//! went before them — on the embedded backend, then on moto (SQS, SES, SNS) with Lambda-like
//! pollers on each queue.
//! Run: `cargo bench -p telmail-tests --bench urgent_lane` (10,000 ordinary deliveries queued;
//! `TELMAIL_BENCH_BACKLOG` to change). `cargo test` runs it once with a small backlog, as a
//! smoke run.

mod support;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use chrono::{TimeZone, Utc};
use futures_util::{stream, StreamExt};
use telmail_aws::dynamo::DynamoStore;
use telmail_aws::handlers::weather_tick;
use telmail_aws::{Aws, AwsSettings, Clients};
use telmail_core::clock::{Clock, SystemClock};
use telmail_core::config::ServiceConfig;
use telmail_core::domain::campaign::{CampaignInput, EmailInput};
use telmail_core::domain::contact::{Channel, Email, PhoneNumber};
use telmail_core::domain::queue::FanoutJob;
use telmail_core::domain::subscriber::Choice;
use telmail_core::domain::topic::{default_topics, TopicSlug};
use telmail_core::error::SendError;
use telmail_core::ports::{EmailSender, OutgoingEmail, OutgoingSms, SmsSender, SubscriberStore};
use telmail_http::HttpConfig;
use telmail_local::worker::Worker;
use telmail_meteo::HttpWeatherFeed;
use telmail_tests::world::World;
use telmail_tests::{feeds, staff};

use support::lambda::{depth, poll, Lambda};

/// Accepts everything; notes when the alert's first SMS and email arrive, and how many ordinary
/// messages came before them.
/// When the alert's first message of a channel arrived, and how many ordinary ones came before.
type FirstSeen = Mutex<Option<(Instant, u64)>>;

#[derive(Debug, Default)]
struct Provider {
    ordinary: AtomicU64,
    alert_sms: FirstSeen,
    alert_email: FirstSeen,
}

impl Provider {
    fn note(&self, slot: &FirstSeen) {
        let mut s = slot.lock().unwrap();
        if s.is_none() {
            *s = Some((
                telmail_tests::stopwatch(),
                self.ordinary.load(Ordering::SeqCst),
            ));
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

/// The ordinary campaign whose deliveries wait in the queue: an email to every subscriber.
fn ordinary_campaign() -> CampaignInput {
    CampaignInput {
        title: Some("Programme des fêtes".into()),
        topics: vec!["infos-pratiques".into()],
        sms: None,
        email: Some(EmailInput {
            subject: Some("Programme des fêtes".into()),
            body_markdown: Some("Le programme de décembre.".into()),
        }),
        urgent: false,
        send_at: None,
        ..Default::default()
    }
}

async fn embedded(backlog: usize) {
    // A Tuesday morning; the feed's document is dated at the world's clock.
    let w = World::new(
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap(),
        Arc::new(Provider::default()),
    )
    .await;
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
    let input = ordinary_campaign();
    let c = w.approve(&w.submitted(&input).await).await;
    for shard in 0..c.shards {
        w.services
            .use_cases
            .dispatcher
            .fan_out(&FanoutJob::first(c.id, shard, c.urgent))
            .await
            .unwrap();
    }

    // The feed turns red: polled, relayed, then the consumers start on the whole queue
    let stub = feeds::stub_feed(200, feeds::waves_document_at(4, w.clock.now())).await;
    let feed = HttpWeatherFeed::new(&stub.url, None).unwrap();
    let started = telmail_tests::stopwatch();
    w.services.use_cases.weather.poll(&feed).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tasks = Worker::new(
        w.services.queue.clone(),
        w.services.use_cases.jobs.clone(),
        Default::default(),
    )
    .spawn(stop_rx);
    let (sms, email) = wait_for_alert(&w.provider).await;
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

/// On SES and SNS: notes when the first request naming the alert's recipient goes out, and
/// counts the others (ordinary messages) sent before.
#[derive(Debug, Clone)]
struct Watch {
    /// The alert recipient's address or number as it appears in the request body.
    marker: &'static [u8],
    provider: Arc<Provider>,
    slot: fn(&Provider) -> &FirstSeen,
}

impl Intercept for Watch {
    fn name(&self) -> &'static str {
        "AlertWatch"
    }

    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let body = context.request().body().bytes().unwrap_or_default();
        if body.windows(self.marker.len()).any(|w| w == self.marker) {
            self.provider.note((self.slot)(&self.provider));
        } else {
            self.provider.ordinary.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

const ALERT_EMAIL: &str = "plage@arcachon.example";
const ALERT_PHONE: &str = "+33698989898";

/// Ordinary senders (the template's `SendConcurrency`), fan-out, and the urgent lane's own.
const DELIVERY_POLLERS: usize = 5;
const FANOUT_POLLERS: usize = 2;
const URGENT_POLLERS: usize = 2;

async fn on_moto(moto: &support::Moto, backlog: usize) {
    let run = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let sdk = support::sdk_config(&moto.url).await;
    let table = format!("telmail-urgent-{run}");
    support::create_table(&sdk, &table).await;
    // Seeding 10,000 recipients on moto outlasts the template's 720 s visibility timeout: a
    // longer one keeps the seeding fan-out from running twice (the alert's takes milliseconds).
    let fanout = Arc::new(support::create_queue(&sdk, &format!("fanout-{run}"), 3600).await);
    let delivery = Arc::new(support::create_queue(&sdk, &format!("delivery-{run}"), 180).await);
    let urgent = Arc::new(support::create_queue(&sdk, &format!("urgent-{run}"), 180).await);
    support::create_email_identity(&sdk, "arcachon.example").await;
    let secret = support::create_secret(&sdk, &format!("telmail-urgent-{run}")).await;
    let user_pool_id = support::create_user_pool(&sdk, &format!("telmail-urgent-{run}")).await;

    let provider = Arc::new(Provider::default());
    let mut clients = Clients::new(&sdk);
    clients.ses = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&sdk)
            .interceptor(Watch {
                marker: ALERT_EMAIL.as_bytes(),
                provider: provider.clone(),
                slot: |p| &p.alert_email,
            })
            .build(),
    );
    clients.sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&sdk)
            .interceptor(Watch {
                marker: b"%2B33698989898",
                provider: provider.clone(),
                slot: |p| &p.alert_sms,
            })
            .build(),
    );
    let settings = AwsSettings {
        table: table.clone(),
        // No big file in this benchmark: the bucket is never reached.
        files_bucket: "telmail-files-unused".into(),
        fanout_queue_url: fanout.url.clone(),
        delivery_queue_url: delivery.url.clone(),
        urgent_queue_url: urgent.url.clone(),
        signing_key_secret: Some(secret),
        email_from: support::EMAIL_FROM.into(),
        ses_configuration_set: None,
        email_rate_of_account: false,
        sms_sender: "ARCACHON".into(),
        sms_type: "Transactional".into(),
        town: "Arcachon".into(),
        user_pool_id,
        dead_letter_queue_urls: Vec::new(),
        service: ServiceConfig::with_public_url("https://alertes.arcachon.example"),
        http: HttpConfig::default(),
    };
    // The service measured, and the same service on a DynamoDB client that writes transactions
    // as batches: it seeds the subscribers and fans the ordinary campaign out (moto copies the
    // whole table for every transaction, so a 10,000-recipient fan-out through transactions
    // outlasts the queue's visibility timeout there).
    let seeding = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(support::TransactAsBatch)
            .build(),
    );
    let seeder = Aws::new(
        Clients {
            dynamodb: seeding.clone(),
            ..clients.clone()
        },
        settings.clone(),
        Arc::new(SystemClock),
    )
    .await
    .expect("wire the seeding service on moto");
    let aws = Aws::new(clients, settings, Arc::new(SystemClock))
        .await
        .expect("wire the service on moto");
    let u = &seeder.use_cases;
    u.residents
        .seed_topics(&default_topics())
        .await
        .expect("seed topics");
    let store = Arc::new(DynamoStore::new(seeding, &table, Arc::new(SystemClock)));
    let choice = |topic: &str, channel| Choice {
        topic: TopicSlug::from_str(topic).unwrap(),
        channel,
    };
    stream::iter(0..backlog)
        .map(|i| {
            let store = store.clone();
            let s = telmail_tests::paper_subscriber(
                Some(Email::from_str(&format!("habitant{i}@r{run}.example")).unwrap()),
                None,
                [choice("infos-pratiques", Channel::Email)].into(),
            );
            async move { SubscriberStore::insert(store.as_ref(), &s).await }
        })
        .buffer_unordered(16)
        .for_each(|r| async move { r.expect("insert a subscriber") })
        .await;
    let beach = telmail_tests::paper_subscriber(
        Some(Email::from_str(ALERT_EMAIL).unwrap()),
        Some(PhoneNumber::from_str(ALERT_PHONE).unwrap()),
        [
            choice("alerte-meteo", Channel::Email),
            choice("alerte-meteo", Channel::Sms),
        ]
        .into(),
    );
    SubscriberStore::insert(store.as_ref(), &beach)
        .await
        .expect("insert the beach subscriber");

    // The ordinary campaign, fanned out: its deliveries wait in the delivery queue
    let input = ordinary_campaign();
    let redac = staff("redac", "redaction");
    let draft = u.campaigns.create(&redac, &input).await.unwrap();
    let submitted = u.campaigns.submit(&redac, draft.id).await.unwrap();
    u.campaigns
        .approve(
            &staff("cab", "cabinet"),
            submitted.id,
            Some(submitted.version),
        )
        .await
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Lambda::default());
    let seeding_stop = Arc::new(AtomicBool::new(false));
    let seeding_pollers: Vec<_> = (0..FANOUT_POLLERS)
        .map(|_| {
            tokio::spawn(poll(
                seeder.clone(),
                sqs.clone(),
                fanout.clone(),
                stats.clone(),
                seeding_stop.clone(),
            ))
        })
        .collect();
    let queued = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if depth(&sqs, &fanout.url).await == 0 {
            break depth(&sqs, &delivery.url).await;
        }
    };
    seeding_stop.store(true, Ordering::Relaxed);
    for t in seeding_pollers {
        t.await.unwrap();
    }
    let fanning: Vec<_> = (0..FANOUT_POLLERS)
        .map(|_| {
            tokio::spawn(poll(
                aws.clone(),
                sqs.clone(),
                fanout.clone(),
                stats.clone(),
                stop.clone(),
            ))
        })
        .collect();

    // The feed turns red: the weather function polls it while every consumer runs
    let stub = feeds::stub_feed(200, feeds::red_waves_document()).await;
    let feed = HttpWeatherFeed::new(&stub.url, None).unwrap();
    let consumers: Vec<_> = std::iter::repeat_n(delivery.clone(), DELIVERY_POLLERS)
        .chain(std::iter::repeat_n(urgent.clone(), URGENT_POLLERS))
        .map(|queue| {
            tokio::spawn(poll(
                aws.clone(),
                sqs.clone(),
                queue,
                stats.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let started = telmail_tests::stopwatch();
    let answer = weather_tick(&aws, &feed).await.unwrap();
    assert_eq!(answer["relayed"], 1, "{answer}");
    let (sms, email) = wait_for_alert(&provider).await;
    stop.store(true, Ordering::Relaxed);
    for t in fanning.into_iter().chain(consumers) {
        t.await.unwrap();
    }
    let ms = |t: Instant| (t - started).as_secs_f64() * 1000.0;
    println!(
        "{backlog:>10} {:>14.1} {:>16} {:>16.1} {:>18}   ({queued} delivery jobs queued)",
        ms(sms.0),
        sms.1,
        ms(email.0),
        email.1
    );
}

/// The alert's first SMS and email as the provider noted them (two minutes at most).
async fn wait_for_alert(provider: &Provider) -> ((Instant, u64), (Instant, u64)) {
    let deadline = telmail_tests::stopwatch() + Duration::from_secs(120);
    loop {
        let sms = *provider.alert_sms.lock().unwrap();
        let email = *provider.alert_email.lock().unwrap();
        if let (Some(sms), Some(email)) = (sms, email) {
            return (sms, email);
        }
        assert!(
            telmail_tests::stopwatch() < deadline,
            "the alert did not go out in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: a quick smoke run.
    let quick = !std::env::args().any(|a| a == "--bench");
    let backlog: usize = match std::env::var("TELMAIL_BENCH_BACKLOG") {
        Ok(n) => n.trim().parse().expect("TELMAIL_BENCH_BACKLOG is a number"),
        Err(_) if quick => 100,
        Err(_) => 10_000,
    };
    let header = || {
        println!(
            "{:>10} {:>14} {:>16} {:>16} {:>18}",
            "backlog", "first SMS ms", "ordinary before", "first email ms", "ordinary before"
        )
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!(
            "Télmail urgent lane: a red alert from the feed behind an ordinary campaign's queued deliveries, {} cores",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        println!("Embedded backend (SQLite queue, urgent jobs first):");
        header();
        embedded(backlog).await;
        let moto = support::moto().await;
        println!(
            "AWS backend on moto ({}): {DELIVERY_POLLERS} pollers on the delivery queue, {URGENT_POLLERS} on the urgent queue:",
            moto.url
        );
        header();
        on_moto(&moto, backlog).await;
    });
}
