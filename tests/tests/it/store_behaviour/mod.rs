//! The behaviour every store adapter must have, written against the ports only, so the same suite
//! runs on each backend: the embedded SQLite one, and DynamoDB on a moto server
//! (`TELMAIL_MOTO_URL`, set by `bash scripts/test-all.sh`).
//!
//! One file per port; each ends with the cases it runs on both backends. No file is named like
//! a suite of `it` (`weather`, `proposals`), so that `cargo test -p telmail-tests --test it
//! weather::` runs that suite only, and needs no moto.

use std::collections::BTreeSet;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use telmail_core::clock::ManualClock;
use telmail_core::domain::campaign::{
    Actor, Campaign, CampaignAction, CampaignEvent, CampaignId, CampaignKind, CampaignStatus,
};
use telmail_core::domain::contact::{Channel, Email, PhoneNumber};
use telmail_core::domain::delivery::{DeliveryKey, DeliveryStatus, NewDelivery};
use telmail_core::domain::staff::StaffIdentity;
use telmail_core::domain::subscriber::{
    Choice, Consent, ConsentSource, PendingConfirmation, Subscriber, SubscriberId, SubscriberState,
    SubscriberStatus,
};
use telmail_core::domain::topic::TopicSlug;
use telmail_core::ports::StaffStore;
use telmail_core::ports::{ArchiveStore, CellStore, NoticeSettingsStore};
use telmail_core::ports::{
    AudienceStore, CampaignStore, DeliveryStore, FileDrop, FileJobStore, PaceStore, PauseStore,
    ProposalStore, QuotaStore, ReachStore, StatsStore, SubscriberReports, SubscriberStore,
    SuppressionStore, TopicStore, WeatherStore, ZoneStore,
};
use telmail_tests::moto;

/// The ports of one backend.
struct Backend {
    subscribers: Arc<dyn SubscriberStore>,
    quotas: Arc<dyn QuotaStore>,
    audience: Arc<dyn AudienceStore>,
    reports: Arc<dyn SubscriberReports>,
    topics: Arc<dyn TopicStore>,
    stats: Arc<dyn StatsStore>,
    /// Staff accounts live in the store only locally (Cognito keeps them on AWS).
    staff: Option<Arc<dyn StaffStore>>,
    campaigns: Arc<dyn CampaignStore>,
    deliveries: Arc<dyn DeliveryStore>,
    suppressions: Arc<dyn SuppressionStore>,
    weather: Arc<dyn WeatherStore>,
    pace: Arc<dyn PaceStore>,
    pauses: Arc<dyn PauseStore>,
    file_jobs: Arc<dyn FileJobStore>,
    proposals: Arc<dyn ProposalStore>,
    /// The public archive and the website's alert record.
    archive: Arc<dyn ArchiveStore>,
    zones: Arc<dyn ZoneStore>,
    /// Who was reached and who is safe.
    reach: Arc<dyn ReachStore>,
    /// Which notices each staff account turned off.
    notices: Arc<dyn NoticeSettingsStore>,
    /// The crisis cell's members.
    cell: Arc<dyn CellStore>,
    /// Where big files wait (a folder, or a bucket).
    files: Arc<dyn FileDrop>,
    /// The store's clock (what it stamps claims and changes with), at [`t0`].
    clock: Arc<ManualClock>,
    /// The fan-out shard count `recipients` splits memberships into.
    shards: u32,
    _guard: Box<dyn std::any::Any + Send>,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let db = telmail_local::db::Db::open(&dir.path().join("s.sqlite")).unwrap();
    let clock = Arc::new(ManualClock::new(t0()));
    let store = Arc::new(telmail_local::store::SqliteStore::new(db, clock.clone()));
    Backend {
        subscribers: store.clone(),
        quotas: store.clone(),
        audience: store.clone(),
        reports: store.clone(),
        topics: store.clone(),
        stats: store.clone(),
        staff: Some(store.clone()),
        campaigns: store.clone(),
        deliveries: store.clone(),
        suppressions: store.clone(),
        weather: store.clone(),
        pace: store.clone(),
        pauses: store.clone(),
        proposals: store.clone(),
        archive: store.clone(),
        zones: store.clone(),
        reach: store.clone(),
        notices: store.clone(),
        cell: store.clone(),
        file_jobs: store,
        files: Arc::new(
            telmail_local::files::FolderDrop::new(&dir.path().join("files"), clock.clone())
                .unwrap(),
        ),
        clock,
        shards: 4,
        _guard: Box::new(dir),
    }
}

/// A DynamoDB store on a table of its own, so tests run in parallel on one moto server.
async fn dynamo() -> Backend {
    let sdk = moto::sdk_config(&moto::url_from_env()).await;
    let table = format!("telmail-test-{}", uuid::Uuid::new_v4());
    let clock = Arc::new(ManualClock::new(t0()));
    let store = Arc::new(telmail_aws::dynamo::DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        table,
        clock.clone(),
    ));
    store.create_table().await.unwrap();
    let bucket = moto::create_bucket(&sdk, &format!("telmail-test-{}", uuid::Uuid::new_v4())).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    Backend {
        subscribers: store.clone(),
        quotas: store.clone(),
        audience: store.clone(),
        reports: store.clone(),
        topics: store.clone(),
        stats: store.clone(),
        staff: None,
        campaigns: store.clone(),
        deliveries: store.clone(),
        suppressions: store.clone(),
        weather: store.clone(),
        pace: store.clone(),
        pauses: store.clone(),
        proposals: store.clone(),
        archive: store.clone(),
        zones: store.clone(),
        reach: store.clone(),
        notices: store.clone(),
        cell: store.clone(),
        file_jobs: store,
        files: Arc::new(telmail_aws::s3::S3Drop::new(s3, bucket)),
        clock,
        shards: 4,
        _guard: Box::new(()),
    }
}

fn subscriber(email: Option<&str>, phone: Option<&str>) -> Subscriber {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap();
    Subscriber {
        id: SubscriberId::new(),
        email: email.map(|e| Email::from_str(e).unwrap()),
        phone: phone.map(|p| PhoneNumber::from_str(p).unwrap()),
        choices: BTreeSet::from([Choice {
            topic: TopicSlug::from_str("alerte-meteo").unwrap(),
            channel: Channel::Email,
        }]),
        zones: Default::default(),
        state: SubscriberState::Active,
        language: "fr".into(),
        consent: Consent {
            source: ConsentSource::Paper {
                staff_id: "agent-1".into(),
                form_reference: "F-2026-001".into(),
                place: None,
                imported: false,
            },
            at: t0,
            wording_version: "2026-11-v1".into(),
        },
        created_at: t0,
        updated_at: t0,
    }
}

fn slug(s: &str) -> TopicSlug {
    TopicSlug::from_str(s).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap()
}

/// A subscriber in `status` with exactly these choices.
fn member(
    email: Option<&str>,
    phone: Option<&str>,
    status: SubscriberStatus,
    choices: &[(&str, Channel)],
) -> Subscriber {
    let mut s = subscriber(email, phone);
    s.state = match status {
        SubscriberStatus::Active => SubscriberState::Active,
        SubscriberStatus::Unsubscribed => SubscriberState::Unsubscribed,
        SubscriberStatus::Pending => SubscriberState::Pending(PendingConfirmation {
            expires_at: t0() + Duration::days(7),
            email: None,
            email_proven: false,
            phone: None,
            code_digest: None,
        }),
    };
    s.choices = choices
        .iter()
        .map(|(t, channel)| Choice {
            topic: slug(t),
            channel: *channel,
        })
        .collect();
    s
}

/// A campaign as a store keeps it, at any status: built from its stored form, since only the
/// workflow's steps move a campaign in the product.
fn campaign(
    title: &str,
    status: CampaignStatus,
    created_at: DateTime<Utc>,
    send_at: Option<DateTime<Utc>>,
) -> Campaign {
    serde_json::from_value(serde_json::json!({
        "id": CampaignId::new(),
        "title": title,
        "topics": ["alerte-meteo"],
        "sms": { "text": "Vigilance orange vent." },
        "email": null,
        "urgent": false,
        "send_at": send_at,
        "kind": "standard",
        "version": 1,
        "author": { "id": "redac", "name": "Rédaction" },
        "status": status,
        "shards": 0,
        "created_at": created_at,
        "updated_at": created_at,
    }))
    .expect("a campaign's stored form")
}

/// `c` moved to `status` as a store would read it back.
fn at_status(c: &Campaign, status: CampaignStatus) -> Campaign {
    let mut stored = serde_json::to_value(c).expect("a campaign's stored form");
    stored["status"] = serde_json::json!(status);
    serde_json::from_value(stored).expect("a campaign's stored form")
}

fn event(
    action: CampaignAction,
    from: Option<CampaignStatus>,
    to: CampaignStatus,
    at: DateTime<Utc>,
) -> CampaignEvent {
    CampaignEvent {
        at,
        actor: Actor {
            id: "cab".into(),
            name: "Cabinet".into(),
        },
        action,
        from,
        to,
        reason: None,
    }
}

fn key(campaign: CampaignId, channel: Channel) -> DeliveryKey {
    DeliveryKey {
        campaign,
        subscriber: SubscriberId::new(),
        channel,
    }
}

fn queued(key: DeliveryKey) -> NewDelivery {
    NewDelivery {
        key,
        status: DeliveryStatus::Queued,
        error: None,
    }
}

fn identity(id: &str) -> StaffIdentity {
    StaffIdentity {
        name: "Agent Cabinet".into(),
        email: Some(Email::from_str("cabinet@arcachon.fr").unwrap()),
        ..telmail_tests::staff(id, "cabinet,admin")
    }
}

/// Stores a campaign with its creation event.
async fn insert_created(b: &Backend, c: &Campaign) {
    b.campaigns
        .insert(
            c,
            &event(CampaignAction::Created, None, CampaignStatus::Draft, t0()),
        )
        .await
        .unwrap();
}

/// Runs each case on both backends: `on_both_backends!(case, ...)` makes the tests
/// `<port>::sqlite::case` and `<port>::dynamo::case`.
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        on_backend!(sqlite: $($case),*);
        on_backend!(dynamo: $($case),*);
    };
}

/// Runs each case on one backend, in a module named after it.
macro_rules! on_backend {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::super::$backend().await).await;
                }
            )*
        }
    };
}

mod archive;
mod audience;
mod campaigns;
mod cell_members;
mod deliveries;
mod files;
mod pacing;
mod proposals_from_departments;
mod reach;
mod staff;
mod statistics;
mod subscribers;
mod topics_and_zones;
mod weather_alerts;
