//! The behaviour every store adapter must have, written against the ports only, so the same suite
//! runs on each backend: the embedded SQLite one, and DynamoDB on a moto server
//! (`TELMAIL_MOTO_URL`, set by `bash scripts/test-all.sh`).

use std::collections::{BTreeSet, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use telmail_core::clock::{Clock, ManualClock, Month};
use telmail_core::domain::alert_templates::AlertTemplates;
use telmail_core::domain::archive::{ArchivedMessage, PublicAlert, PublicAlerts};
use telmail_core::domain::campaign::{
    Actor, Campaign, CampaignAction, CampaignEvent, CampaignId, CampaignKind, CampaignSms,
    CampaignStatus,
};
use telmail_core::domain::contact::{Channel, Email, PhoneNumber};
use telmail_core::domain::delivery::{
    CampaignProgress, ChannelCounts, ChannelPause, CreateOutcome, Delivery, DeliveryKey,
    DeliveryResult, DeliveryStatus, NewDelivery, Progress, Suppression,
};
use telmail_core::domain::file_job::{FileJob, FileJobId, FileJobKind, FileJobStatus};
use telmail_core::domain::money::Money;
use telmail_core::domain::notices::{NoticeSettings, StaffNotice};
use telmail_core::domain::proposal::{Proposal, ProposalFields, ProposalId};
use telmail_core::domain::queue::FanoutCursor;
use telmail_core::domain::reputation::{EmailFeedback, FeedbackCounts};
use telmail_core::domain::staff::{StaffAccount, StaffIdentity, StaffSession};
use telmail_core::domain::subscriber::{
    Choice, Consent, ConsentSource, PendingConfirmation, Subscriber, SubscriberId, SubscriberState,
    SubscriberStatus,
};
use telmail_core::domain::topic::{default_topics, TopicSlug};
use telmail_core::domain::weather::{AlertInForce, AlertSource, Colour, FeedState, Phenomenon};
use telmail_core::domain::zone::{Zone, ZoneInput, ZoneSlug};
use telmail_core::error::StoreError;
use telmail_core::ports::StaffStore;
use telmail_core::ports::{ArchiveStore, NoticeSettingsStore};
use telmail_core::ports::{
    AudienceCount, AudienceStore, CampaignStore, Counter, DeliveryStore, FileDrop, FileJobStore,
    PaceStore, PauseStore, ProposalStore, QuotaStore, ReachStore, Recipient, Slots, StatsStore,
    SubscriberQuery, SubscriberReports, SubscriberStore, SuppressionStore, TopicStore,
    WeatherStore, ZoneStore,
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

async fn round_trip_and_lookups(b: Backend) {
    let s = subscriber(Some("a@exemple.fr"), Some("0612345678"));
    b.subscribers.insert(&s).await.unwrap();
    assert_eq!(b.subscribers.get(s.id).await.unwrap().unwrap(), s);
    assert_eq!(
        b.subscribers
            .find_by_email(s.email.as_ref().unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
        s.id
    );
    assert_eq!(
        b.subscribers
            .find_by_phone(s.phone.as_ref().unwrap())
            .await
            .unwrap()
            .unwrap()
            .id,
        s.id
    );
    assert!(b
        .subscribers
        .get(SubscriberId::new())
        .await
        .unwrap()
        .is_none());
}

async fn an_address_belongs_to_one_subscriber(b: Backend) {
    let a = subscriber(Some("a@exemple.fr"), Some("0612345678"));
    b.subscribers.insert(&a).await.unwrap();
    let same_email = subscriber(Some("a@exemple.fr"), None);
    assert!(matches!(
        b.subscribers.insert(&same_email).await,
        Err(StoreError::Conflict(_))
    ));
    let same_phone = subscriber(Some("b@exemple.fr"), Some("+33612345678"));
    assert!(matches!(
        b.subscribers.insert(&same_phone).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(
        b.subscribers
            .find_by_email(&Email::from_str("b@exemple.fr").unwrap())
            .await
            .unwrap()
            .is_none(),
        "a refused insert leaves nothing"
    );

    let mut c = subscriber(Some("c@exemple.fr"), None);
    b.subscribers.insert(&c).await.unwrap();
    c.email = Some(Email::from_str("a@exemple.fr").unwrap());
    assert!(matches!(
        b.subscribers.update(&c).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        b.subscribers
            .get(c.id)
            .await
            .unwrap()
            .unwrap()
            .email
            .unwrap()
            .as_str(),
        "c@exemple.fr"
    );
}

async fn many_are_inserted_at_once_and_a_clash_refuses_only_its_own(b: Backend) {
    let taken = subscriber(Some("deja@exemple.fr"), None);
    b.subscribers.insert(&taken).await.unwrap();
    let batch = vec![
        subscriber(Some("un@exemple.fr"), Some("0611111111")),
        subscriber(Some("deja@exemple.fr"), None),
        subscriber(Some("deux@exemple.fr"), Some("0611111111")),
        subscriber(Some("trois@exemple.fr"), None),
    ];
    let answers = b.subscribers.insert_many(&batch).await.unwrap();
    assert_eq!(answers.len(), 4);
    assert!(answers[3].is_ok(), "{answers:?}");
    assert!(matches!(answers[1], Err(StoreError::Conflict(_))));
    // Two of the batch with one number: one is written, the other refused (which one, a store
    // writing several at once decides).
    let first_kept = answers[0].is_ok();
    assert_ne!(first_kept, answers[2].is_ok(), "{answers:?}");
    for (sub, kept) in batch.iter().zip([first_kept, false, !first_kept, true]) {
        assert_eq!(b.subscribers.get(sub.id).await.unwrap().is_some(), kept);
    }
    let owner = b
        .subscribers
        .find_by_phone(&PhoneNumber::from_str("0611111111").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.id, batch[if first_kept { 0 } else { 2 }].id);
    assert!(b.subscribers.insert_many(&[]).await.unwrap().is_empty());
}

async fn updates_replace_contacts_and_choices(b: Backend) {
    let mut s = subscriber(Some("a@exemple.fr"), None);
    b.subscribers.insert(&s).await.unwrap();
    s.email = Some(Email::from_str("nouvelle@exemple.fr").unwrap());
    s.phone = Some(PhoneNumber::from_str("0781234501").unwrap());
    s.choices.insert(Choice {
        topic: TopicSlug::from_str("infos-pratiques").unwrap(),
        channel: Channel::Sms,
    });
    b.subscribers.update(&s).await.unwrap();
    assert_eq!(b.subscribers.get(s.id).await.unwrap().unwrap(), s);
    assert!(
        b.subscribers
            .find_by_email(&Email::from_str("a@exemple.fr").unwrap())
            .await
            .unwrap()
            .is_none(),
        "the old address is free"
    );
    let other = subscriber(Some("a@exemple.fr"), None);
    b.subscribers.insert(&other).await.unwrap();
    // A subscriber erased meanwhile is not found (404 for staff), not a failure of the store.
    let gone = subscriber(Some("efface@exemple.fr"), None);
    assert!(matches!(
        b.subscribers.update(&gone).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn delete_frees_everything(b: Backend) {
    let s = subscriber(Some("a@exemple.fr"), Some("0612345678"));
    b.subscribers.insert(&s).await.unwrap();
    assert!(b.subscribers.delete(s.id).await.unwrap());
    assert!(!b.subscribers.delete(s.id).await.unwrap());
    assert!(b.subscribers.get(s.id).await.unwrap().is_none());
    assert!(b
        .subscribers
        .find_by_phone(s.phone.as_ref().unwrap())
        .await
        .unwrap()
        .is_none());
    b.subscribers
        .insert(&subscriber(Some("a@exemple.fr"), Some("0612345678")))
        .await
        .unwrap();
}

async fn purge_removes_only_expired_pending(b: Backend) {
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
    let pending = |email: &str, expires_in: Duration| {
        let mut s = subscriber(Some(email), None);
        s.state = SubscriberState::Pending(PendingConfirmation {
            expires_at: now + expires_in,
            email: None,
            email_proven: false,
            phone: None,
            code_digest: None,
        });
        s
    };
    let old = pending("old@exemple.fr", Duration::hours(-1));
    let fresh = pending("fresh@exemple.fr", Duration::hours(1));
    let active = subscriber(Some("active@exemple.fr"), None);
    for s in [&old, &fresh, &active] {
        b.subscribers.insert(s).await.unwrap();
    }
    assert_eq!(b.subscribers.purge_expired_pending(now).await.unwrap(), 1);
    assert!(b.subscribers.get(old.id).await.unwrap().is_none());
    assert!(b.subscribers.get(fresh.id).await.unwrap().is_some());
    assert!(b.subscribers.get(active.id).await.unwrap().is_some());
}

async fn topics_keep_their_order_and_are_not_overwritten(b: Backend) {
    for t in default_topics() {
        assert!(b.topics.insert_if_absent(&t).await.unwrap());
    }
    let mut renamed = default_topics()[0].clone();
    renamed.name = "Autre nom".into();
    assert!(!b.topics.insert_if_absent(&renamed).await.unwrap());
    let listed = b.topics.list().await.unwrap();
    assert_eq!(listed, default_topics());
    assert_eq!(
        b.topics.get(&renamed.slug).await.unwrap().unwrap().name,
        "Culture/Animations"
    );
    assert!(b
        .topics
        .get(&TopicSlug::from_str("inconnu").unwrap())
        .await
        .unwrap()
        .is_none());
}

/// A month, as written in the statistics.
fn m(month: &str) -> Month {
    month.parse().unwrap()
}

async fn counters_add_up_per_month(b: Backend) {
    b.stats
        .add(m("2026-11"), Counter::SignUps, 2)
        .await
        .unwrap();
    b.stats
        .add(m("2026-11"), Counter::SignUps, 3)
        .await
        .unwrap();
    b.stats
        .add(m("2026-11"), Counter::Departures, 1)
        .await
        .unwrap();
    assert_eq!(
        b.stats.get(m("2026-11"), Counter::SignUps).await.unwrap(),
        5
    );
    assert_eq!(
        b.stats
            .get(m("2026-11"), Counter::Departures)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        b.stats.get(m("2026-12"), Counter::SignUps).await.unwrap(),
        0
    );
}

// ---------------------------------------------------------------------------------------------
// Helpers for the sending ports.

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

/// Every recipient of (topic, channel) in a shard, read in pages of `page` after each last id.
async fn all_pages(
    b: &Backend,
    topic: &str,
    channel: Channel,
    shard: u32,
    page: usize,
) -> Vec<Vec<Recipient>> {
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let got = b
            .audience
            .recipients(&slug(topic), channel, shard, b.shards, after, page)
            .await
            .unwrap();
        assert!(got.len() <= page, "a page holds at most `limit` recipients");
        if got.is_empty() {
            return pages;
        }
        after = got.last().map(|r| r.id);
        pages.push(got);
    }
}

fn campaign(
    title: &str,
    status: CampaignStatus,
    created_at: DateTime<Utc>,
    send_at: Option<DateTime<Utc>>,
) -> Campaign {
    Campaign {
        id: CampaignId::new(),
        title: title.into(),
        topics: vec![slug("alerte-meteo")],
        sms: Some(CampaignSms {
            text: "Vigilance orange vent.".into(),
        }),
        email: None,
        voice: None,
        urgent: false,
        send_at,
        zones: None,
        include_unzoned: false,
        acknowledgement: false,
        kind: CampaignKind::Standard,
        source: None,
        last_editor: None,
        version: 1,
        author: Actor {
            id: "redac".into(),
            name: "Rédaction".into(),
        },
        status,
        rejection_reason: None,
        shards: 0,
        created_at,
        updated_at: created_at,
        publication: Default::default(),
    }
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

// ---------------------------------------------------------------------------------------------
// Subscribers: fan-out, counts, search.

async fn recipients_are_active_sharded_and_paged_in_id_order(b: Backend) {
    let both = [
        ("alerte-meteo", Channel::Email),
        ("alerte-meteo", Channel::Sms),
    ];
    let mut email_expected = HashSet::new();
    let mut sms_expected = HashSet::new();
    for i in 0..40 {
        let email = format!("r{i}@exemple.fr");
        let phone = format!("06123{i:05}");
        let status = match i % 5 {
            3 => SubscriberStatus::Pending,
            4 => SubscriberStatus::Unsubscribed,
            _ => SubscriberStatus::Active,
        };
        let s = match i % 4 {
            // Email choice only.
            0 => member(Some(&email), Some(&phone), status, &both[..1]),
            // Phone only.
            1 => member(None, Some(&phone), status, &both[1..]),
            // Another topic.
            2 => member(
                Some(&email),
                None,
                status,
                &[("infos-pratiques", Channel::Email)],
            ),
            _ => member(Some(&email), Some(&phone), status, &both),
        };
        if status == SubscriberStatus::Active {
            for c in &s.choices {
                if c.topic.as_str() != "alerte-meteo" {
                    continue;
                }
                match c.channel {
                    Channel::Email => {
                        email_expected.insert((s.id, s.email.as_ref().unwrap().to_string()))
                    }
                    Channel::Sms => {
                        sms_expected.insert((s.id, s.phone.as_ref().unwrap().to_string()))
                    }
                    Channel::Voice => false,
                };
            }
        }
        b.subscribers.insert(&s).await.unwrap();
    }
    assert_eq!((email_expected.len(), sms_expected.len()), (12, 12));

    for (channel, expected) in [
        (Channel::Email, email_expected),
        (Channel::Sms, sms_expected),
    ] {
        let mut union = Vec::new();
        for shard in 0..b.shards {
            let pages = all_pages(&b, "alerte-meteo", channel, shard, 2).await;
            let flat: Vec<Recipient> = pages.into_iter().flatten().collect();
            assert!(
                flat.windows(2).all(|w| w[0].id < w[1].id),
                "pages follow each other in id order"
            );
            assert!(flat.iter().all(|r| r.id.shard(b.shards) == shard));
            union.extend(flat);
        }
        assert_eq!(
            union.len(),
            expected.len(),
            "{channel:?}: each recipient once"
        );
        let union: HashSet<(SubscriberId, String)> = union
            .into_iter()
            .map(|r| (r.id, r.address.to_string()))
            .collect();
        assert_eq!(
            union, expected,
            "{channel:?}: every active recipient, right address"
        );
        if channel == Channel::Sms {
            assert!(union.iter().all(|(_, address)| address.starts_with("+336")));
        }
    }

    // `after` is exclusive, whatever shard it came from.
    let shard0 = all_pages(&b, "alerte-meteo", Channel::Email, 0, 100).await;
    let shard0: Vec<Recipient> = shard0.into_iter().flatten().collect();
    if let Some(first) = shard0.first() {
        let rest = b
            .audience
            .recipients(
                &slug("alerte-meteo"),
                Channel::Email,
                0,
                b.shards,
                Some(first.id),
                100,
            )
            .await
            .unwrap();
        assert_eq!(rest, shard0[1..]);
    }
    assert!(b
        .audience
        .recipients(
            &slug("culture-animations"),
            Channel::Email,
            0,
            b.shards,
            None,
            10
        )
        .await
        .unwrap()
        .is_empty());
}

async fn recipients_of_several_shards_are_found_with_small_pages(b: Backend) {
    // Enough people that every shard has several pages.
    let mut ids = BTreeSet::new();
    for i in 0..60 {
        let s = member(
            Some(&format!("p{i}@exemple.fr")),
            None,
            SubscriberStatus::Active,
            &[("infos-pratiques", Channel::Email)],
        );
        ids.insert(s.id);
        b.subscribers.insert(&s).await.unwrap();
    }
    let mut seen = BTreeSet::new();
    for shard in 0..b.shards {
        for page in all_pages(&b, "infos-pratiques", Channel::Email, shard, 3).await {
            for r in page {
                assert!(seen.insert(r.id), "{} met twice", r.id);
            }
        }
    }
    assert_eq!(seen, ids);
}

async fn count_recipients_dedups_topics_and_leaves_out_suppressed(b: Backend) {
    let meteo = ("alerte-meteo", Channel::Email);
    let infos = ("infos-pratiques", Channel::Email);
    let active = SubscriberStatus::Active;
    let people = [
        member(
            Some("a@exemple.fr"),
            Some("0612000001"),
            active,
            &[meteo, infos],
        ),
        member(Some("b@exemple.fr"), None, active, &[meteo]),
        member(
            None,
            Some("0612000003"),
            active,
            &[("infos-pratiques", Channel::Sms)],
        ),
        member(
            Some("d@exemple.fr"),
            None,
            SubscriberStatus::Pending,
            &[meteo],
        ),
        member(Some("e@exemple.fr"), None, active, &[infos]),
        member(
            Some("f@exemple.fr"),
            Some("0612000006"),
            active,
            &[infos, ("infos-pratiques", Channel::Sms)],
        ),
    ];
    for p in &people {
        b.subscribers.insert(p).await.unwrap();
    }
    let topics = [slug("alerte-meteo"), slug("infos-pratiques")];
    let count = |topics: Vec<TopicSlug>, channel| {
        let subs = b.reports.clone();
        async move { subs.count_recipients(&topics, channel).await.unwrap() }
    };
    assert_eq!(
        count(topics.to_vec(), Channel::Email).await,
        4,
        "a, b, e, f"
    );
    assert_eq!(count(vec![slug("alerte-meteo")], Channel::Email).await, 2);
    assert_eq!(count(topics.to_vec(), Channel::Sms).await, 2, "c, f");
    assert_eq!(count(vec![], Channel::Email).await, 0);

    let suppress = |address: &str| Suppression {
        address: address.into(),
        reason: "bounce".into(),
        at: t0(),
    };
    b.suppressions
        .suppress(&suppress("e@exemple.fr"))
        .await
        .unwrap();
    b.suppressions
        .suppress(&suppress("+33612000006"))
        .await
        .unwrap();
    assert_eq!(
        count(topics.to_vec(), Channel::Email).await,
        3,
        "e is suppressed"
    );
    assert_eq!(
        count(topics.to_vec(), Channel::Sms).await,
        1,
        "f's phone is suppressed"
    );
}

async fn search_filters_by_text_topic_and_status_newest_first(b: Backend) {
    let mut people = [
        member(
            Some("marie_dupont@exemple.fr"),
            Some("0612345678"),
            SubscriberStatus::Active,
            &[("alerte-meteo", Channel::Sms)],
        ),
        member(
            Some("marieXdupont@exemple.fr"),
            None,
            SubscriberStatus::Pending,
            &[("alerte-meteo", Channel::Email)],
        ),
        member(
            Some("jean@arcachon.fr"),
            Some("0798765432"),
            SubscriberStatus::Active,
            &[("infos-pratiques", Channel::Email)],
        ),
        member(
            Some("100%@exemple.fr"),
            None,
            SubscriberStatus::Unsubscribed,
            &[],
        ),
    ];
    for (i, p) in people.iter_mut().enumerate() {
        p.created_at = t0() + Duration::minutes(i as i64);
        b.subscribers.insert(p).await.unwrap();
    }
    let ids = |found: Vec<Subscriber>| found.into_iter().map(|s| s.id).collect::<Vec<_>>();
    let search = |text: Option<&str>,
                  topic: Option<&str>,
                  status: Option<SubscriberStatus>,
                  limit: usize,
                  offset: usize| {
        let q = SubscriberQuery {
            text: text.map(str::to_owned),
            topic: topic.map(slug),
            status,
            limit,
            offset,
        };
        let subs = b.reports.clone();
        async move { subs.search(&q).await.unwrap() }
    };
    let [p0, p1, p2, p3] = [people[0].id, people[1].id, people[2].id, people[3].id];

    assert_eq!(
        ids(search(None, None, None, 10, 0).await),
        [p3, p2, p1, p0],
        "newest first"
    );
    assert_eq!(
        ids(search(None, None, None, 2, 1).await),
        [p2, p1],
        "limit and offset"
    );
    assert_eq!(
        search(Some("dupont"), None, None, 10, 0).await,
        [people[1].clone(), people[0].clone()],
        "whole subscribers come back"
    );
    assert_eq!(
        ids(search(Some("marie_"), None, None, 10, 0).await),
        [p0],
        "`_` is literal"
    );
    assert_eq!(
        ids(search(Some("100%"), None, None, 10, 0).await),
        [p3],
        "`%` is literal"
    );
    assert_eq!(ids(search(Some("%"), None, None, 10, 0).await), [p3]);
    assert_eq!(ids(search(Some("ARCACHON"), None, None, 10, 0).await), [p2]);
    assert_eq!(
        ids(search(Some("06 12 34"), None, None, 10, 0).await),
        [p0],
        "phone typed the French way"
    );
    assert_eq!(ids(search(Some("+33798"), None, None, 10, 0).await), [p2]);
    assert_eq!(ids(search(Some("87654"), None, None, 10, 0).await), [p2]);
    assert_eq!(
        ids(search(None, Some("alerte-meteo"), None, 10, 0).await),
        [p1, p0],
        "topic on any channel"
    );
    assert_eq!(
        ids(search(None, None, Some(SubscriberStatus::Active), 10, 0).await),
        [p2, p0]
    );
    assert_eq!(
        ids(search(
            Some("dupont"),
            Some("alerte-meteo"),
            Some(SubscriberStatus::Pending),
            10,
            0
        )
        .await),
        [p1],
        "every filter must match"
    );
    assert!(search(Some("personne"), None, None, 10, 0).await.is_empty());
    // The whole file in one read (the export), newest first.
    assert_eq!(
        ids(search(None, None, None, usize::MAX, 0).await),
        [p3, p2, p1, p0]
    );
}

async fn count_by_topic_counts_active_subscribers(b: Backend) {
    let active = SubscriberStatus::Active;
    let meteo_mail = ("alerte-meteo", Channel::Email);
    let meteo_sms = ("alerte-meteo", Channel::Sms);
    let people = [
        member(
            Some("a@exemple.fr"),
            Some("0612000001"),
            active,
            &[meteo_mail, meteo_sms],
        ),
        member(Some("b@exemple.fr"), None, active, &[meteo_mail]),
        member(
            Some("c@exemple.fr"),
            None,
            active,
            &[("infos-pratiques", Channel::Email)],
        ),
        member(
            Some("d@exemple.fr"),
            None,
            SubscriberStatus::Pending,
            &[meteo_mail],
        ),
        member(
            Some("e@exemple.fr"),
            None,
            SubscriberStatus::Unsubscribed,
            &[meteo_mail],
        ),
    ];
    for p in &people {
        b.subscribers.insert(p).await.unwrap();
    }
    let mut counts = b.reports.count_by_topic().await.unwrap();
    counts.sort();
    assert_eq!(
        counts,
        [
            (slug("alerte-meteo"), Channel::Email, 2),
            (slug("alerte-meteo"), Channel::Sms, 1),
            (slug("infos-pratiques"), Channel::Email, 1),
        ]
    );
}

async fn get_many_returns_the_subscribers_found(b: Backend) {
    let a = subscriber(Some("a@exemple.fr"), None);
    let c = subscriber(Some("c@exemple.fr"), None);
    b.subscribers.insert(&a).await.unwrap();
    b.subscribers.insert(&c).await.unwrap();
    let mut found = b
        .audience
        .get_many(&[c.id, SubscriberId::new(), a.id])
        .await
        .unwrap();
    found.sort_by_key(|s| s.email.clone());
    assert_eq!(found, [a.clone(), c.clone()]);
    assert!(b.audience.get_many(&[]).await.unwrap().is_empty());

    // More ids than one SQL list holds.
    let mut many: Vec<SubscriberId> = (0..1200).map(|_| SubscriberId::new()).collect();
    many[700] = a.id;
    assert_eq!(b.audience.get_many(&many).await.unwrap(), [a]);
}

async fn changes_since_an_instant_are_reported(b: Backend) {
    let mut edited = subscriber(Some("edite@exemple.fr"), None);
    let erased = subscriber(Some("efface@exemple.fr"), None);
    let untouched = subscriber(Some("tranquille@exemple.fr"), None);
    for s in [&edited, &erased, &untouched] {
        b.subscribers.insert(s).await.unwrap();
    }
    b.clock.advance(Duration::milliseconds(5));
    let since = b.clock.now();
    b.clock.advance(Duration::milliseconds(5));
    edited.unsubscribe(b.clock.now());
    b.subscribers.update(&edited).await.unwrap();
    assert!(b.subscribers.delete(erased.id).await.unwrap());
    let asked = [edited.id, erased.id, untouched.id];
    assert_eq!(
        b.audience.changed_since(&asked, since).await.unwrap(),
        HashSet::from([edited.id, erased.id])
    );
    assert!(b
        .audience
        .changed_since(&[untouched.id], since)
        .await
        .unwrap()
        .is_empty());
    assert!(b
        .audience
        .changed_since(&[], since)
        .await
        .unwrap()
        .is_empty());
    // A change made after a question is seen by the questions asked a second later (a store
    // may read the log only for what it gained since).
    let mut later = untouched.clone();
    b.clock.advance(Duration::milliseconds(5));
    later.unsubscribe(b.clock.now());
    b.subscribers.update(&later).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        b.audience.changed_since(&asked, since).await.unwrap(),
        HashSet::from([edited.id, erased.id, untouched.id])
    );
}

async fn erasure_removes_finished_deliveries_and_leaves_those_in_flight(b: Backend) {
    let s = subscriber(Some("a@exemple.fr"), Some("0612345678"));
    let other = subscriber(Some("b@exemple.fr"), None);
    b.subscribers.insert(&s).await.unwrap();
    b.subscribers.insert(&other).await.unwrap();
    let c = campaign("Alerte", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    let sent = DeliveryKey {
        campaign: c.id,
        subscriber: s.id,
        channel: Channel::Email,
    };
    let in_flight = DeliveryKey {
        channel: Channel::Sms,
        ..sent
    };
    let theirs = DeliveryKey {
        subscriber: other.id,
        ..sent
    };
    // In flight: waiting in the queue for a retry.
    b.deliveries
        .create_batch(&[queued(in_flight)])
        .await
        .unwrap();
    let claimed = b.deliveries.claim(&[sent, theirs]).await.unwrap().won;
    let outcomes: Vec<(Delivery, DeliveryResult)> = claimed
        .into_iter()
        .map(|d| {
            let ok = DeliveryResult::Sent {
                provider_id: Some(format!("ses-{}", d.key.subscriber)),
                segments: 0,
            };
            (d, ok)
        })
        .collect();
    b.deliveries.finish(&outcomes).await.unwrap();

    assert!(b.subscribers.delete(s.id).await.unwrap());
    let mut left: Vec<(DeliveryKey, DeliveryStatus)> = b
        .deliveries
        .list(c.id, 10, 0)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.key, d.status))
        .collect();
    left.sort_by_key(|(k, _)| *k);
    let mut expected = vec![
        (in_flight, DeliveryStatus::Queued),
        (theirs, DeliveryStatus::Sent),
    ];
    expected.sort_by_key(|(k, _)| *k);
    assert_eq!(
        left, expected,
        "the queued one stays, for the sender to close as suppressed"
    );
}

// ---------------------------------------------------------------------------------------------
// Statistics and staff.

async fn stats_add_many_at_once_and_read_months(b: Backend) {
    b.stats
        .add_many(
            m("2026-10"),
            &[(Counter::SmsSent, 10), (Counter::SmsSegments, 12)],
        )
        .await
        .unwrap();
    b.stats
        .add_many(
            m("2026-11"),
            &[
                (Counter::SmsSent, 3),
                (Counter::CostTenThousandths, 3_000),
                (Counter::SmsSent, 2),
            ],
        )
        .await
        .unwrap();
    b.stats
        .add(m("2026-12"), Counter::SignUps, 7)
        .await
        .unwrap();
    b.stats
        .add(m("2027-01"), Counter::SignUps, 1)
        .await
        .unwrap();
    b.stats.add_many(m("2026-11"), &[]).await.unwrap();
    assert_eq!(
        b.stats.get(m("2026-11"), Counter::SmsSent).await.unwrap(),
        5
    );

    let mut months = b.stats.months(m("2026-11"), m("2026-12")).await.unwrap();
    months.sort();
    assert_eq!(
        months,
        [
            (m("2026-11"), Counter::SmsSent, 5),
            (m("2026-11"), Counter::CostTenThousandths, 3_000),
            (m("2026-12"), Counter::SignUps, 7),
        ]
    );
    assert_eq!(
        b.stats
            .months(m("2026-10"), m("2026-10"))
            .await
            .unwrap()
            .len(),
        2
    );
    assert!(b
        .stats
        .months(m("2025-01"), m("2025-12"))
        .await
        .unwrap()
        .is_empty());
}

fn identity(id: &str) -> StaffIdentity {
    StaffIdentity {
        name: "Agent Cabinet".into(),
        email: Some(Email::from_str("cabinet@arcachon.fr").unwrap()),
        ..telmail_tests::staff(id, "cabinet,admin")
    }
}

async fn staff_accounts_are_unique_and_sessions_expire_by_caller(b: Backend) {
    let staff = b.staff.expect("this backend keeps staff accounts");
    let account = StaffAccount {
        identity: identity("cabinet"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        created_at: t0(),
        disabled: false,
        // A lock after wrong passwords is kept with the account
        locked_until: Some(t0() + Duration::minutes(4)),
        login_generation: 3,
    };
    staff.create_account(&account).await.unwrap();
    let again = StaffAccount {
        password_hash: "autre".into(),
        ..account.clone()
    };
    assert!(matches!(
        staff.create_account(&again).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        staff.find_account("cabinet").await.unwrap(),
        Some(account.clone())
    );
    assert_eq!(staff.find_account("inconnu").await.unwrap(), None);

    let live = StaffSession {
        identity: identity("cabinet"),
        csrf_token: "csrf-1".into(),
        expires_at: t0() + Duration::hours(8),
    };
    let expired = StaffSession {
        csrf_token: "csrf-2".into(),
        expires_at: t0(),
        ..live.clone()
    };
    staff.create_session("digest-1", &live).await.unwrap();
    staff.create_session("digest-2", &expired).await.unwrap();
    assert_eq!(
        staff.find_session("digest-1").await.unwrap(),
        Some(live.clone())
    );
    assert_eq!(
        staff.find_session("digest-2").await.unwrap(),
        Some(expired),
        "the caller judges expiry"
    );
    staff.delete_session("digest-2").await.unwrap();
    staff.delete_session("digest-2").await.unwrap();
    assert_eq!(staff.find_session("digest-2").await.unwrap(), None);
    assert_eq!(
        staff.find_session("digest-1").await.unwrap(),
        Some(live.clone())
    );

    // Accounts are replaced and listed; a username's sessions end together
    let disabled = StaffAccount {
        disabled: true,
        ..account.clone()
    };
    assert!(staff.update_account(&disabled).await.unwrap());
    let nobody = StaffAccount {
        identity: identity("personne"),
        ..account.clone()
    };
    assert!(!staff.update_account(&nobody).await.unwrap());
    let other = StaffAccount {
        identity: identity("redac"),
        ..account.clone()
    };
    staff.create_account(&other).await.unwrap();
    assert_eq!(staff.list_accounts().await.unwrap(), [disabled, other]);
    let theirs = StaffSession {
        identity: identity("redac"),
        ..live.clone()
    };
    staff.create_session("digest-3", &live).await.unwrap();
    staff.create_session("digest-4", &theirs).await.unwrap();
    assert_eq!(staff.delete_sessions_of("cabinet").await.unwrap(), 2);
    assert_eq!(staff.find_session("digest-1").await.unwrap(), None);
    assert_eq!(staff.find_session("digest-4").await.unwrap(), Some(theirs));
}

// ---------------------------------------------------------------------------------------------
// Campaigns.

async fn campaign_updates_compare_and_set_and_keep_the_audit_trail(b: Backend) {
    let mut c = campaign("Marché de Noël", CampaignStatus::Draft, t0(), None);
    let created = event(CampaignAction::Created, None, CampaignStatus::Draft, t0());
    b.campaigns.insert(&c, &created).await.unwrap();
    assert!(matches!(
        b.campaigns.insert(&c, &created).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(b.campaigns.get(c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(b.campaigns.get(CampaignId::new()).await.unwrap(), None);
    assert_eq!(
        b.campaigns.status(c.id).await.unwrap(),
        Some(CampaignStatus::Draft)
    );
    assert_eq!(b.campaigns.status(CampaignId::new()).await.unwrap(), None);

    let at = t0() + Duration::minutes(5);
    c.status = CampaignStatus::Submitted;
    c.updated_at = at;
    let submitted = event(
        CampaignAction::Submitted,
        Some(CampaignStatus::Draft),
        CampaignStatus::Submitted,
        at,
    );
    let read = c.version;
    c.version += 1;
    b.campaigns.update(&c, read, &submitted).await.unwrap();

    // A second writer who still holds the version read before loses, and leaves no trace.
    let mut stale = c.clone();
    stale.title = "Autre titre".into();
    stale.status = CampaignStatus::Cancelled;
    let cancelled = event(
        CampaignAction::Cancelled,
        Some(CampaignStatus::Draft),
        CampaignStatus::Cancelled,
        at,
    );
    assert!(matches!(
        b.campaigns.update(&stale, read, &cancelled).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(b.campaigns.get(c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(
        b.campaigns.status(c.id).await.unwrap(),
        Some(CampaignStatus::Submitted),
        "the status follows the campaign, the losing write left none"
    );
    assert_eq!(
        b.campaigns.events(c.id).await.unwrap(),
        [created, submitted],
        "oldest first"
    );
    let unknown = campaign("x", CampaignStatus::Draft, t0(), None);
    assert!(matches!(
        b.campaigns
            .update(&unknown, unknown.version, &cancelled)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(b.campaigns.events(unknown.id).await.unwrap().is_empty());
    assert_eq!(b.campaigns.status(unknown.id).await.unwrap(), None);
}

async fn campaigns_list_newest_first_by_status(b: Backend) {
    let mut ids = Vec::new();
    for (i, status) in [
        CampaignStatus::Draft,
        CampaignStatus::Sent,
        CampaignStatus::Draft,
        CampaignStatus::Submitted,
    ]
    .into_iter()
    .enumerate()
    {
        let c = campaign(
            &format!("c{i}"),
            status,
            t0() + Duration::hours(i as i64),
            None,
        );
        b.campaigns
            .insert(
                &c,
                &event(CampaignAction::Created, None, status, c.created_at),
            )
            .await
            .unwrap();
        ids.push(c.id);
    }
    let listed = |status, limit| {
        let campaigns = b.campaigns.clone();
        async move {
            campaigns
                .list(status, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(None, 10).await, [ids[3], ids[2], ids[1], ids[0]]);
    assert_eq!(listed(None, 2).await, [ids[3], ids[2]]);
    assert_eq!(
        listed(Some(CampaignStatus::Draft), 10).await,
        [ids[2], ids[0]]
    );
    assert!(listed(Some(CampaignStatus::Cancelled), 10).await.is_empty());
}

async fn due_campaigns_are_scheduled_ones_whose_time_has_come(b: Backend) {
    let now = t0() + Duration::days(1);
    let cases = [
        (
            "passée",
            CampaignStatus::Scheduled,
            Some(now - Duration::hours(1)),
        ),
        ("maintenant", CampaignStatus::Scheduled, Some(now)),
        (
            "demain",
            CampaignStatus::Scheduled,
            Some(now + Duration::days(1)),
        ),
        (
            "approuvée",
            CampaignStatus::Approved,
            Some(now - Duration::hours(1)),
        ),
        (
            "annulée",
            CampaignStatus::Cancelled,
            Some(now - Duration::hours(2)),
        ),
    ];
    let mut ids = Vec::new();
    for (title, status, send_at) in cases {
        let c = campaign(title, status, t0(), send_at);
        b.campaigns
            .insert(&c, &event(CampaignAction::Created, None, status, t0()))
            .await
            .unwrap();
        ids.push(c.id);
    }
    let mut due: Vec<CampaignId> = b
        .campaigns
        .due(now)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    due.sort();
    let mut expected = vec![ids[0], ids[1]];
    expected.sort();
    assert_eq!(due, expected);
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

async fn sign_ups_are_counted_with_their_origin(b: Backend) {
    let (nov, dec) = (
        Month::from_str("2026-11").unwrap(),
        Month::from_str("2026-12").unwrap(),
    );
    b.stats.add_signups(nov, "web", 2).await.unwrap();
    b.stats
        .add_signups(nov, "lieu:Maison de quartier du Moulleau", 1)
        .await
        .unwrap();
    b.stats.add_signups(dec, "web", 3).await.unwrap();
    b.stats.add(dec, Counter::Departures, 1).await.unwrap();
    assert_eq!(b.stats.get(nov, Counter::SignUps).await.unwrap(), 3);
    assert_eq!(b.stats.get(dec, Counter::SignUps).await.unwrap(), 3);
    assert_eq!(
        b.stats.signups_by_origin(nov, dec).await.unwrap(),
        [
            ("lieu:Maison de quartier du Moulleau".to_owned(), 1),
            ("web".to_owned(), 5)
        ]
    );
    assert_eq!(
        b.stats.signups_by_origin(dec, dec).await.unwrap(),
        [("web".to_owned(), 3)]
    );
    // The origins are not counters of their own in the months' figures.
    let months = b.stats.months(nov, dec).await.unwrap();
    assert_eq!(months.len(), 3, "{months:?}");
}

async fn campaign_progress_adds_up_and_shards_count_once(b: Backend) {
    let c = campaign("Alerte", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    assert_eq!(
        b.campaigns.progress(c.id).await.unwrap(),
        CampaignProgress::default()
    );
    let fanned = Progress {
        email: ChannelCounts {
            targeted: 10,
            suppressed: 1,
            ..ChannelCounts::default()
        },
        sms: ChannelCounts {
            targeted: 5,
            ..ChannelCounts::default()
        },
        ..Progress::default()
    };
    let sent = Progress {
        email: ChannelCounts {
            sent: 8,
            failed: 1,
            ..ChannelCounts::default()
        },
        sms: ChannelCounts {
            sent: 4,
            failed: 1,
            suppressed: 0,
            targeted: 0,
        },
        sms_segments: 8,
        cost: Money::from_ten_thousandths(9_600),
        ..Default::default()
    };
    let after = b.campaigns.add_progress(c.id, &sent).await.unwrap();
    assert_eq!(
        (after.totals, after.shards_done),
        (sent, 0),
        "counters after"
    );
    b.campaigns.add_progress(c.id, &sent).await.unwrap();

    let marked = b.campaigns.mark_shard_done(c.id, 0, &fanned).await.unwrap();
    assert_eq!((marked.shards_done, marked.totals.email.targeted), (1, 10));
    let nothing = Progress::default();
    let marked = b
        .campaigns
        .mark_shard_done(c.id, 3, &nothing)
        .await
        .unwrap();
    assert_eq!(marked.shards_done, 2);
    assert_eq!(
        b.campaigns.mark_shard_done(c.id, 0, &fanned).await.unwrap(),
        marked,
        "a redelivered shard counts once, and its counters too"
    );
    assert_eq!(
        b.campaigns.progress(c.id).await.unwrap(),
        CampaignProgress {
            totals: Progress {
                email: ChannelCounts {
                    targeted: 10,
                    sent: 16,
                    failed: 2,
                    suppressed: 1
                },
                sms: ChannelCounts {
                    targeted: 5,
                    sent: 8,
                    failed: 2,
                    suppressed: 0
                },
                sms_segments: 16,
                cost: Money::from_ten_thousandths(19_200),
                voice: ChannelCounts::default(),
            },
            shards_done: 2,
            feedback: FeedbackCounts::default(),
            // Every update of the counters stamps when sending last moved on.
            progressed_at: Some(t0()),
        }
    );
    // Other campaigns are untouched.
    let other = campaign("Autre", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &other).await;
    assert_eq!(
        b.campaigns.progress(other.id).await.unwrap(),
        CampaignProgress::default()
    );
}

async fn fan_out_slices_are_marked_once_apart_from_the_shards(b: Backend) {
    let c = campaign("Tranches", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    assert!(!b.campaigns.slice_done(c.id, 2, 0).await.unwrap());
    // Two jobs of the same slice at once: one marks it.
    let (a, z) = tokio::join!(
        b.campaigns.mark_slice_done(c.id, 2, 0, None),
        b.campaigns.mark_slice_done(c.id, 2, 0, None)
    );
    assert!(a.unwrap() ^ z.unwrap(), "exactly one marks the slice");
    assert!(b.campaigns.slice_done(c.id, 2, 0).await.unwrap());
    assert!(!b.campaigns.mark_slice_done(c.id, 2, 0, None).await.unwrap());
    for (shard, slice) in [(2, 1), (0, 2), (12, 0)] {
        assert!(
            !b.campaigns.slice_done(c.id, shard, slice).await.unwrap(),
            "{shard}/{slice} is another slice"
        );
    }
    assert!(b
        .campaigns
        .mark_slice_done(c.id, 12, 0, None)
        .await
        .unwrap());
    let later = t0() + Duration::minutes(3);
    b.clock.advance(Duration::minutes(3));
    // A slice handed over: the shard resumes there, from the latest hand-over.
    assert_eq!(b.campaigns.fanout_resume(c.id, 2).await.unwrap(), None);
    let mut cursor = FanoutCursor::default();
    cursor.email.targeted = 500;
    assert!(b
        .campaigns
        .mark_slice_done(c.id, 2, 1, Some(&cursor))
        .await
        .unwrap());
    cursor.email.targeted = 1000;
    assert!(b
        .campaigns
        .mark_slice_done(c.id, 2, 2, Some(&cursor))
        .await
        .unwrap());
    assert_eq!(
        b.campaigns.fanout_resume(c.id, 2).await.unwrap(),
        Some((3, cursor))
    );
    assert_eq!(b.campaigns.fanout_resume(c.id, 0).await.unwrap(), None);
    assert_eq!(
        b.campaigns.progress(c.id).await.unwrap(),
        CampaignProgress {
            progressed_at: Some(later),
            ..CampaignProgress::default()
        },
        "slices are not shards and count nothing; they stamp that sending moved on"
    );
    // The repair puts its next look off by stamping ahead; progress stamps now again.
    let ahead = later + Duration::hours(2);
    b.campaigns.stamp_progress(c.id, ahead).await.unwrap();
    assert_eq!(
        b.campaigns.progress(c.id).await.unwrap().progressed_at,
        Some(ahead)
    );
    b.campaigns
        .add_progress(c.id, &Progress::default())
        .await
        .unwrap();
    assert_eq!(
        b.campaigns.progress(c.id).await.unwrap().progressed_at,
        Some(later)
    );
}

async fn bounces_and_complaints_add_up_per_campaign(b: Backend) {
    let c = campaign("Rebonds", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    let mut sent = Progress::default();
    sent.email.sent = 300;
    b.campaigns.add_progress(c.id, &sent).await.unwrap();
    let adds = (0..5).map(|_| b.campaigns.add_email_feedback(c.id, EmailFeedback::Bounce));
    futures_util::future::try_join_all(adds).await.unwrap();
    let after = b
        .campaigns
        .add_email_feedback(c.id, EmailFeedback::Complaint)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (after.feedback, after.totals.email.sent),
        (
            FeedbackCounts {
                bounces: 5,
                complaints: 1
            },
            300
        )
    );
    assert_eq!(b.campaigns.progress(c.id).await.unwrap(), after);
    assert_eq!(
        b.campaigns
            .add_email_feedback(CampaignId::new(), EmailFeedback::Bounce)
            .await
            .unwrap(),
        None,
        "an unknown campaign"
    );
}

// ---------------------------------------------------------------------------------------------
// Deliveries.

async fn deliveries_are_created_once(b: Backend) {
    let c = CampaignId::new();
    let (k1, k2, k3) = (
        key(c, Channel::Email),
        key(c, Channel::Sms),
        key(c, Channel::Email),
    );
    let blocked = NewDelivery {
        key: k3,
        status: DeliveryStatus::Suppressed,
        error: Some("adresse sur liste de suppression".into()),
    };
    let first = b
        .deliveries
        .create_batch(&[queued(k1), queued(k2), blocked.clone(), queued(k1)])
        .await
        .unwrap();
    assert_eq!(
        first,
        [
            CreateOutcome::Created,
            CreateOutcome::Created,
            CreateOutcome::Created,
            CreateOutcome::Exists(DeliveryStatus::Queued),
        ]
    );
    b.deliveries.claim(&[k2]).await.unwrap();
    let again = b
        .deliveries
        .create_batch(&[queued(k3), queued(k2), queued(k1)])
        .await
        .unwrap();
    assert_eq!(
        again,
        [
            CreateOutcome::Exists(DeliveryStatus::Suppressed),
            CreateOutcome::Exists(DeliveryStatus::Sending),
            CreateOutcome::Exists(DeliveryStatus::Queued),
        ]
    );
    // Same person on the other channel, or in another campaign: distinct deliveries.
    let other_channel = DeliveryKey {
        channel: Channel::Sms,
        ..k1
    };
    let other_campaign = DeliveryKey {
        campaign: CampaignId::new(),
        ..k1
    };
    assert_eq!(
        b.deliveries
            .create_batch(&[queued(other_channel), queued(other_campaign)])
            .await
            .unwrap(),
        [CreateOutcome::Created, CreateOutcome::Created]
    );
    assert!(b.deliveries.create_batch(&[]).await.unwrap().is_empty());
    let suppressed = b
        .deliveries
        .list(c, 10, 0)
        .await
        .unwrap()
        .into_iter()
        .find(|d| d.key == k3)
        .unwrap();
    assert_eq!(
        (suppressed.status, suppressed.error, suppressed.attempts),
        (DeliveryStatus::Suppressed, blocked.error, 0)
    );
}

async fn topics_are_updated_in_place(b: Backend) {
    for t in default_topics() {
        b.topics.insert_if_absent(&t).await.unwrap();
    }
    let mut meteo = default_topics()[2].clone();
    meteo.name = "Alertes météo et submersion".into();
    meteo.active = false;
    assert!(b.topics.update(&meteo).await.unwrap());
    assert_eq!(b.topics.get(&meteo.slug).await.unwrap().unwrap(), meteo);
    assert_eq!(b.topics.list().await.unwrap()[2], meteo, "order is kept");
    let mut unknown = meteo.clone();
    unknown.slug = TopicSlug::from_str("inconnu").unwrap();
    assert!(!b.topics.update(&unknown).await.unwrap());
}

async fn only_deliveries_stuck_in_sending_before_the_cutoff_are_failed(b: Backend) {
    let c = CampaignId::new();
    let keys: Vec<DeliveryKey> = (0..3).map(|_| key(c, Channel::Email)).collect();
    let news: Vec<NewDelivery> = keys.iter().copied().map(queued).collect();
    b.deliveries.create_batch(&news).await.unwrap();
    // keys[0] stuck in sending, keys[1] sent, keys[2] still queued
    let claimed = b.deliveries.claim(&keys[..2]).await.unwrap().won;
    b.deliveries
        .finish(&[(
            claimed[1].clone(),
            DeliveryResult::Sent {
                provider_id: Some("p".into()),
                segments: 0,
            },
        )])
        .await
        .unwrap();
    // A second claim finds keys[0] held, as claimed (a store may also report keys[1] there,
    // its outcome kept elsewhere).
    let second = b.deliveries.claim(&keys[..2]).await.unwrap();
    assert!(second.won.is_empty());
    assert!(second.held.contains(&claimed[0]));
    assert!(
        second.held.iter().all(|d| claimed.contains(d)),
        "as claimed"
    );
    // Failing them as stale: only a claim still held and with no outcome is failed.
    assert_eq!(
        b.deliveries
            .fail_stale(&second.held, "interrompu")
            .await
            .unwrap(),
        vec![keys[0]]
    );
    assert!(
        b.deliveries
            .fail_stale(&second.held, "encore")
            .await
            .unwrap()
            .is_empty(),
        "already failed"
    );
    let listed = b.deliveries.list(c, 10, 0).await.unwrap();
    let status = |k: DeliveryKey| listed.iter().find(|d| d.key == k).unwrap().status;
    assert_eq!(status(keys[0]), DeliveryStatus::Failed);
    assert_eq!(
        listed
            .iter()
            .find(|d| d.key == keys[0])
            .unwrap()
            .error
            .as_deref(),
        Some("interrompu")
    );
    assert_eq!(status(keys[1]), DeliveryStatus::Sent);
    assert_eq!(status(keys[2]), DeliveryStatus::Queued);
}

async fn a_delivery_is_claimed_once_and_finished_with_its_outcome(b: Backend) {
    let c = CampaignId::new();
    let keys: Vec<DeliveryKey> = (0..4).map(|_| key(c, Channel::Sms)).collect();
    let news: Vec<NewDelivery> = keys.iter().copied().map(queued).collect();
    b.deliveries.create_batch(&news).await.unwrap();
    let absent = key(c, Channel::Email);

    let claimed = b
        .deliveries
        .claim(&[keys[0], keys[1], absent, keys[2], keys[3], keys[0]])
        .await
        .unwrap()
        .won;
    assert_eq!(
        claimed.iter().map(|d| d.key).collect::<Vec<_>>(),
        [keys[0], keys[1], absent, keys[2], keys[3]],
        "an absent delivery is created claimed; a repeated key is won once"
    );
    assert!(claimed
        .iter()
        .all(|d| d.status == DeliveryStatus::Sending && d.attempts == 1));
    let second = b
        .deliveries
        .claim(&[keys[0], keys[1], absent, keys[2], keys[3]])
        .await
        .unwrap();
    assert!(second.won.is_empty(), "a second claim wins nothing");
    assert_eq!(second.held, claimed, "and finds each held as claimed");
    let claimed_as = |k: DeliveryKey| claimed.iter().find(|d| d.key == k).unwrap().clone();

    b.deliveries
        .finish(&[
            (
                claimed_as(keys[0]),
                DeliveryResult::Sent {
                    provider_id: Some("sns-1".into()),
                    segments: 2,
                },
            ),
            (
                claimed_as(keys[1]),
                DeliveryResult::Failed {
                    error: "numéro invalide".into(),
                },
            ),
            (
                claimed_as(keys[2]),
                DeliveryResult::Suppressed {
                    reason: "abonné effacé".into(),
                },
            ),
            (
                claimed_as(keys[3]),
                DeliveryResult::Retry {
                    error: "throttled".into(),
                },
            ),
        ])
        .await
        .unwrap();
    let state = |key: DeliveryKey| {
        let deliveries = b.deliveries.clone();
        async move {
            let d = deliveries
                .list(key.campaign, 100, 0)
                .await
                .unwrap()
                .into_iter()
                .find(|d| d.key == key)
                .unwrap();
            (d.status, d.attempts, d.provider_id, d.error, d.segments)
        }
    };
    assert_eq!(
        state(keys[0]).await,
        (DeliveryStatus::Sent, 1, Some("sns-1".into()), None, 2)
    );
    assert_eq!(
        state(keys[1]).await,
        (
            DeliveryStatus::Failed,
            1,
            None,
            Some("numéro invalide".into()),
            0
        )
    );
    assert_eq!(
        state(keys[2]).await,
        (
            DeliveryStatus::Suppressed,
            1,
            None,
            Some("abonné effacé".into()),
            0
        )
    );
    assert_eq!(
        state(keys[3]).await,
        (DeliveryStatus::Queued, 1, None, Some("throttled".into()), 0)
    );

    // Only the retried one can be claimed again, with its second attempt counted.
    let again = b.deliveries.claim(&keys).await.unwrap().won;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].key, again[0].status, again[0].attempts),
        (keys[3], DeliveryStatus::Sending, 2)
    );
    b.deliveries
        .finish(&[(
            again[0].clone(),
            DeliveryResult::Sent {
                provider_id: Some("sns-2".into()),
                segments: 1,
            },
        )])
        .await
        .unwrap();
    let (status, attempts, provider, _, segments) = state(keys[3]).await;
    assert_eq!(
        (status, attempts, provider, segments),
        (DeliveryStatus::Sent, 2, Some("sns-2".into()), 1)
    );

    // A late outcome from a sender whose claim was not this one cannot undo a finished
    // delivery.
    let stale = Delivery {
        claim: Some("an-older-claim".into()),
        ..claimed_as(keys[0])
    };
    b.deliveries
        .finish(&[(
            stale,
            DeliveryResult::Retry {
                error: "late".into(),
            },
        )])
        .await
        .unwrap();
    assert_eq!(state(keys[0]).await.0, DeliveryStatus::Sent);
}

async fn deliveries_of_a_campaign_are_listed_page_by_page(b: Backend) {
    let c = CampaignId::new();
    let news: Vec<NewDelivery> = (0..5).map(|_| queued(key(c, Channel::Email))).collect();
    b.deliveries.create_batch(&news).await.unwrap();
    b.deliveries
        .create_batch(&[queued(key(CampaignId::new(), Channel::Email))])
        .await
        .unwrap();
    let all = b.deliveries.list(c, 10, 0).await.unwrap();
    assert_eq!(all.len(), 5, "only this campaign's");
    assert!(all
        .iter()
        .all(|d| d.status == DeliveryStatus::Queued && d.attempts == 0 && d.key.campaign == c));
    let created: HashSet<DeliveryKey> = news.iter().map(|n| n.key).collect();
    let listed: HashSet<DeliveryKey> = all.iter().map(|d| d.key).collect();
    assert_eq!(listed, created);
    let first = b.deliveries.list(c, 2, 0).await.unwrap();
    let second = b.deliveries.list(c, 2, 2).await.unwrap();
    let third = b.deliveries.list(c, 2, 4).await.unwrap();
    assert_eq!((first.len(), second.len(), third.len()), (2, 2, 1));
    let paged: Vec<DeliveryKey> = first
        .iter()
        .chain(&second)
        .chain(&third)
        .map(|d| d.key)
        .collect();
    assert_eq!(paged, all.iter().map(|d| d.key).collect::<Vec<_>>());
    // From a cursor (the repair's pass): the same order, each page after the last key read,
    // both channels of one subscriber in turn.
    let sms = queued(DeliveryKey {
        channel: Channel::Sms,
        ..all[2].key
    });
    b.deliveries
        .create_batch(std::slice::from_ref(&sms))
        .await
        .unwrap();
    let mut after = None;
    let mut walked = Vec::new();
    loop {
        let page = b.deliveries.list_after(c, after, 2).await.unwrap();
        assert!(page.len() <= 2);
        let Some(last) = page.last() else { break };
        after = Some(last.key);
        walked.extend(page.iter().map(|d| d.key));
    }
    let mut expected: Vec<DeliveryKey> = all.iter().map(|d| d.key).collect();
    expected.insert(3, sms.key);
    assert_eq!(walked, expected);
}

// ---------------------------------------------------------------------------------------------
// Suppressions.

async fn suppressions_are_idempotent_listed_and_lifted(b: Backend) {
    let s = |address: &str, reason: &str, minutes: i64| Suppression {
        address: address.into(),
        reason: reason.into(),
        at: t0() + Duration::minutes(minutes),
    };
    b.suppressions
        .suppress(&s("a@exemple.fr", "bounce", 0))
        .await
        .unwrap();
    b.suppressions
        .suppress(&s("+33612345678", "opt-out", 1))
        .await
        .unwrap();
    b.suppressions
        .suppress(&s("c@exemple.fr", "staff", 2))
        .await
        .unwrap();
    b.suppressions
        .suppress(&s("a@exemple.fr", "complaint", 3))
        .await
        .unwrap();

    assert_eq!(
        b.suppressions.list(10).await.unwrap(),
        [
            s("a@exemple.fr", "complaint", 3),
            s("c@exemple.fr", "staff", 2),
            s("+33612345678", "opt-out", 1),
        ],
        "one row per address, newest first"
    );
    assert_eq!(b.suppressions.list(1).await.unwrap().len(), 1);

    // More addresses than one SQL list holds.
    let mut asked: Vec<String> = (0..1200).map(|i| format!("x{i}@exemple.fr")).collect();
    asked[0] = "a@exemple.fr".into();
    asked[600] = "+33612345678".into();
    asked[1199] = "c@exemple.fr".into();
    let found = b.suppressions.suppressed_among(&asked).await.unwrap();
    assert_eq!(
        found,
        HashSet::from([
            "a@exemple.fr".to_owned(),
            "+33612345678".to_owned(),
            "c@exemple.fr".to_owned()
        ])
    );
    assert!(b
        .suppressions
        .suppressed_among(&[])
        .await
        .unwrap()
        .is_empty());

    // A few addresses, and a page of recipients, see a suppression lifted or added at once.
    assert!(b.suppressions.lift("a@exemple.fr").await.unwrap());
    assert!(!b.suppressions.lift("a@exemple.fr").await.unwrap());
    assert!(b
        .suppressions
        .suppressed_among(&["a@exemple.fr".to_owned()])
        .await
        .unwrap()
        .is_empty());
    assert!(!b
        .suppressions
        .suppressed_among(&asked)
        .await
        .unwrap()
        .contains("a@exemple.fr"));
    b.suppressions
        .suppress(&s("x7@exemple.fr", "bounce", 4))
        .await
        .unwrap();
    let few = ["x7@exemple.fr".to_owned(), "x8@exemple.fr".to_owned()];
    assert_eq!(
        b.suppressions.suppressed_among(&few).await.unwrap(),
        HashSet::from(["x7@exemple.fr".to_owned()])
    );
    assert!(b
        .suppressions
        .suppressed_among(&asked)
        .await
        .unwrap()
        .contains("x7@exemple.fr"));
    assert_eq!(b.suppressions.list(10).await.unwrap().len(), 3);
}

macro_rules! behaviour_suite {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::$backend().await).await;
                }
            )*
        }
    };
}

/// Every case of the ports all backends implement, plus the backend's own (`extra`).
async fn allowances_stop_at_their_limit_even_when_taken_at_once(b: Backend) {
    let now = Utc.with_ymd_and_hms(2026, 11, 30, 10, 0, 0).unwrap();
    let end = now + Duration::minutes(5);
    let key = format!("test-{}", uuid::Uuid::new_v4());
    // 20 takes at once against a limit of 5: exactly 5 succeed, counted 1 to 5.
    let takes = (0..20).map(|_| {
        let quotas = b.quotas.clone();
        let key = key.clone();
        async move { quotas.take(&key, 5, now, end).await.unwrap() }
    });
    let mut counts: Vec<u32> = futures_util::future::join_all(takes)
        .await
        .into_iter()
        .flatten()
        .collect();
    counts.sort();
    assert_eq!(counts, [1, 2, 3, 4, 5]);
    assert_eq!(b.quotas.take(&key, 5, now, end).await.unwrap(), None);
    // Another key has its own allowance; a limit of 0 allows nothing.
    assert_eq!(b.quotas.take("other", 5, now, end).await.unwrap(), Some(1));
    assert_eq!(b.quotas.take("none", 0, now, end).await.unwrap(), None);
    // Once the allowance has ended, it starts again.
    let later = end + chrono::Duration::seconds(1);
    let next_end = later + Duration::minutes(5);
    assert_eq!(
        b.quotas.take(&key, 5, later, next_end).await.unwrap(),
        Some(1)
    );
    assert_eq!(
        b.quotas.take(&key, 5, later, next_end).await.unwrap(),
        Some(2)
    );
}

fn alert_in_force(domain: &str, phenomenon: Phenomenon, colour: Colour) -> AlertInForce {
    let begins = Utc.with_ymd_and_hms(2026, 12, 1, 5, 0, 0).unwrap();
    AlertInForce {
        source: AlertSource {
            product_time: begins - Duration::hours(1),
            domain: domain.into(),
            phenomenon,
            colour,
            begins,
            ends: begins + Duration::hours(12),
        },
        campaign: CampaignId::new(),
    }
}

async fn weather_alerts_are_raised_once_per_colour_and_lifted_once(b: Backend) {
    let orange = alert_in_force("33", Phenomenon::Wind, Colour::Orange);
    // Ten cycles at once raise the same alert (each with its own campaign): one writes.
    let raises = (0..10).map(|_| {
        let weather = b.weather.clone();
        let mut alert = orange.clone();
        alert.campaign = CampaignId::new();
        async move { weather.raise(&alert).await.unwrap() }
    });
    let won = futures_util::future::join_all(raises)
        .await
        .into_iter()
        .filter(|w| *w)
        .count();
    assert_eq!(won, 1);
    let stored = b.weather.in_force().await.unwrap();
    assert_eq!(stored.len(), 1);
    let orange = stored[0].clone();
    // The same colour or lower is not raised again; a higher one is, in place.
    assert!(!b.weather.raise(&orange).await.unwrap());
    let yellow = alert_in_force("33", Phenomenon::Wind, Colour::Yellow);
    assert!(!b.weather.raise(&yellow).await.unwrap());
    let red = alert_in_force("33", Phenomenon::Wind, Colour::Red);
    assert!(b.weather.raise(&red).await.unwrap());
    // Another domain or phenomenon is another alert.
    let coast = alert_in_force("3310", Phenomenon::WavesSubmersion, Colour::Orange);
    assert!(b.weather.raise(&coast).await.unwrap());
    let mut all = b.weather.in_force().await.unwrap();
    all.sort_by(|a, b| a.source.domain.cmp(&b.source.domain));
    assert_eq!(all, [red.clone(), coast.clone()]);
    // Lifting needs the alert as read: the replaced orange is not lifted, the red once.
    assert!(!b.weather.lift(&orange).await.unwrap());
    let (first, second) = tokio::join!(b.weather.lift(&red), b.weather.lift(&red));
    assert_eq!(
        [first.unwrap(), second.unwrap()]
            .iter()
            .filter(|l| **l)
            .count(),
        1
    );
    assert_eq!(b.weather.in_force().await.unwrap(), [coast]);
    // Once lifted, a new episode is raised afresh.
    assert!(b.weather.raise(&orange).await.unwrap());
}

async fn weather_documents_and_alert_sources_round_trip(b: Backend) {
    assert_eq!(b.weather.templates().await.unwrap(), None);
    assert_eq!(b.weather.feed_state().await.unwrap(), None);
    let templates = AlertTemplates {
        end_notice: false,
        alert_sms: "Alerte {{ couleur }} à {{ ville }}".into(),
        ..AlertTemplates::default()
    };
    b.weather.save_templates(&templates).await.unwrap();
    b.weather
        .save_templates(&AlertTemplates {
            end_sms: "Fin.".into(),
            ..templates.clone()
        })
        .await
        .unwrap();
    let stored = b.weather.templates().await.unwrap().unwrap();
    assert_eq!(
        (stored.end_sms.as_str(), stored.end_notice),
        ("Fin.", false)
    );
    let state = FeedState {
        checked_at: t0(),
        error: Some("le flux de vigilance a répondu 503".into()),
        last_success: Some(t0() - Duration::minutes(5)),
        product_time: Some(t0() - Duration::hours(1)),
        failures_in_a_row: 2,
    };
    b.weather.save_feed_state(&state).await.unwrap();
    assert_eq!(b.weather.feed_state().await.unwrap(), Some(state));
    // A weather alert's campaign keeps its source.
    let mut c = campaign("Vigilance", CampaignStatus::Draft, t0(), None);
    c.kind = CampaignKind::WeatherAlert;
    c.source = Some(alert_in_force("3310", Phenomenon::WavesSubmersion, Colour::Red).source);
    insert_created(&b, &c).await;
    assert_eq!(b.campaigns.get(c.id).await.unwrap(), Some(c));
}

async fn the_audience_is_kept_month_by_month(b: Backend) {
    let count = |topic: &str, channel, subscribers| AudienceCount {
        topic: slug(topic),
        channel,
        subscribers,
    };
    let october = vec![count("alerte-meteo", Channel::Sms, 10)];
    b.stats.save_audience(m("2026-10"), &october).await.unwrap();
    b.stats
        .save_audience(m("2026-11"), &[count("alerte-meteo", Channel::Sms, 11)])
        .await
        .unwrap();
    // Saving a month again replaces it.
    let november = vec![
        count("alerte-meteo", Channel::Sms, 12),
        count("infos-pratiques", Channel::Email, 40),
    ];
    b.stats
        .save_audience(m("2026-11"), &november)
        .await
        .unwrap();
    b.stats
        .save_audience(m("2027-01"), &[count("alerte-meteo", Channel::Sms, 9)])
        .await
        .unwrap();
    assert_eq!(
        b.stats.audience(m("2026-10"), m("2026-12")).await.unwrap(),
        [(m("2026-10"), october), (m("2026-11"), november)]
    );
    // Kept apart from the monthly counters.
    assert!(b
        .stats
        .months(m("2026-10"), m("2027-01"))
        .await
        .unwrap()
        .is_empty());
}

async fn sending_slots_are_reserved_once_and_spaced(b: Backend) {
    let now = t0();
    let step = std::time::Duration::from_millis(100);
    let far = now + Duration::hours(1);
    // Ten senders reserve ten slots each at once: the blocks follow one another, none overlaps.
    let reservations = (0..10).map(|_| {
        let pace = b.pace.clone();
        async move {
            pace.reserve_slots(Channel::Email, 10, step, now, far)
                .await
                .unwrap()
        }
    });
    let mut booked = futures_util::future::join_all(reservations).await;
    booked.sort_by_key(|s| s.first);
    let expected: Vec<Slots> = (0..10)
        .map(|i| Slots {
            first: now + Duration::seconds(i),
            count: 10,
        })
        .collect();
    assert_eq!(booked, expected);
    // The other channel has its own pace; after a long pause the next slot is now.
    let sms = b
        .pace
        .reserve_slots(Channel::Sms, 1, step, now, far)
        .await
        .unwrap();
    assert_eq!(
        sms,
        Slots {
            first: now,
            count: 1
        }
    );
    let later = now + Duration::hours(1);
    let email = b
        .pace
        .reserve_slots(Channel::Email, 1, step, later, later + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        email,
        Slots {
            first: later,
            count: 1
        }
    );
}

async fn no_slot_is_booked_past_the_senders_limit(b: Backend) {
    let now = t0();
    let step = std::time::Duration::from_secs(1);
    let limit = now + Duration::seconds(4);
    // Ten wanted, five fit (now … now + 4 s): five are booked.
    let first = b
        .pace
        .reserve_slots(Channel::Email, 10, step, now, limit)
        .await
        .unwrap();
    assert_eq!(
        first,
        Slots {
            first: now,
            count: 5
        }
    );
    // Nothing fits any more: nothing is booked, and the answer says when the channel is free.
    for _ in 0..2 {
        let none = b
            .pace
            .reserve_slots(Channel::Email, 10, step, now, limit)
            .await
            .unwrap();
        assert_eq!(
            none,
            Slots {
                first: now + Duration::seconds(5),
                count: 0
            }
        );
    }
    // A sender with more time gets the slots that follow, never the same ones.
    let next = b
        .pace
        .reserve_slots(Channel::Email, 3, step, now, now + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        next,
        Slots {
            first: now + Duration::seconds(5),
            count: 3
        }
    );
}

async fn a_wait_gives_back_the_attempt_a_retry_spends(b: Backend) {
    let c = CampaignId::new();
    let (waits, retries) = (key(c, Channel::Email), key(c, Channel::Sms));
    b.deliveries
        .create_batch(&[queued(waits), queued(retries)])
        .await
        .unwrap();
    for round in 1..=3u32 {
        let won = b.deliveries.claim(&[waits, retries]).await.unwrap().won;
        let of = |k: DeliveryKey| won.iter().find(|d| d.key == k).unwrap().clone();
        // The provider asked to slow down every time: still the first attempt; a transient
        // failure spends one each time.
        assert_eq!(of(waits).attempts, 1, "round {round}");
        assert_eq!(of(retries).attempts, round, "round {round}");
        b.deliveries
            .finish(&[
                (
                    of(waits),
                    DeliveryResult::Wait {
                        error: "relais occupé".into(),
                    },
                ),
                (
                    of(retries),
                    DeliveryResult::Retry {
                        error: "erreur 503".into(),
                    },
                ),
            ])
            .await
            .unwrap();
    }
}

async fn a_paused_channel_keeps_its_first_reason_until_resumed_once(b: Backend) {
    let pause = |reason: &str, minutes| ChannelPause {
        channel: Channel::Email,
        campaign: None,
        reason: reason.into(),
        since: t0() + Duration::minutes(minutes),
    };
    assert!(b.pauses.pauses().await.unwrap().is_empty());
    b.pauses
        .pause(&pause("SendingPausedException", 0))
        .await
        .unwrap();
    b.pauses.pause(&pause("encore", 5)).await.unwrap();
    // A campaign braked on the same channel is a pause of its own.
    let braked = ChannelPause {
        campaign: Some(CampaignId::new()),
        ..pause("taux de rebond de 6,0 %", 7)
    };
    b.pauses.pause(&braked).await.unwrap();
    let mut found = b.pauses.pauses().await.unwrap();
    found.sort_by_key(|p| p.campaign);
    assert_eq!(found, [pause("SendingPausedException", 0), braked.clone()]);
    let (a, c) = tokio::join!(
        b.pauses.resume(Channel::Email, None),
        b.pauses.resume(Channel::Email, None)
    );
    assert_eq!([a.unwrap(), c.unwrap()].iter().filter(|r| **r).count(), 1);
    assert_eq!(
        b.pauses.pauses().await.unwrap(),
        std::slice::from_ref(&braked)
    );
    assert!(!b.pauses.resume(Channel::Sms, None).await.unwrap());
    assert!(!b
        .pauses
        .resume(Channel::Email, Some(CampaignId::new()))
        .await
        .unwrap());
    assert!(b
        .pauses
        .resume(Channel::Email, braked.campaign)
        .await
        .unwrap());
    assert!(b.pauses.pauses().await.unwrap().is_empty());
}

fn file_job(at: DateTime<Utc>) -> FileJob {
    FileJob::new(
        FileJobKind::Export {
            order: telmail_core::domain::file_job::ExportOrder::Contact,
        },
        &identity("redac"),
        FileJobStatus::Exporting,
        at,
    )
}

async fn file_jobs_are_saved_from_the_step_read_and_listed_newest_first(b: Backend) {
    let older = file_job(t0());
    let mut newer = file_job(t0() + Duration::minutes(5));
    b.file_jobs.insert_file_job(&older).await.unwrap();
    b.file_jobs.insert_file_job(&newer).await.unwrap();
    assert_eq!(
        b.file_jobs.file_job(newer.id).await.unwrap().as_ref(),
        Some(&newer)
    );
    assert_eq!(b.file_jobs.file_job(FileJobId::new()).await.unwrap(), None);

    newer.step = 1;
    newer.rows = 1000;
    b.file_jobs.save_file_job(&newer, 0).await.unwrap();
    // A second run of step 0 finds the job moved on.
    let mut late = newer.clone();
    late.rows = 7;
    assert!(matches!(
        b.file_jobs.save_file_job(&late, 0).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        b.file_jobs.file_job(newer.id).await.unwrap().unwrap().rows,
        1000
    );

    let recent = b.file_jobs.recent_file_jobs(10).await.unwrap();
    assert_eq!(
        recent.iter().map(|j| j.id).collect::<Vec<_>>(),
        [newer.id, older.id]
    );
    assert_eq!(b.file_jobs.recent_file_jobs(1).await.unwrap().len(), 1);
}

async fn the_whole_file_is_paged_once_whatever_the_page_size(b: Backend) {
    let mut all = BTreeSet::new();
    for i in 0..23 {
        let sub = subscriber(Some(&format!("page{i}@example.fr")), None);
        b.subscribers.insert(&sub).await.unwrap();
        all.insert(sub.id);
    }
    for size in [1, 5, 23, 100] {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = b.reports.page_all(cursor.as_deref(), size).await.unwrap();
            assert!(page.len() <= size);
            seen.extend(page.iter().map(|s| s.id));
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen.len(), all.len(), "page size {size}: each once");
        assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), all);
    }
}

async fn big_files_are_written_in_parts_read_by_range_and_removed(b: Backend) {
    let key = format!("jobs/{}/fichier.csv", FileJobId::new());
    assert_eq!(b.files.size(&key).await.unwrap(), None);
    let upload = b.files.start_parts(&key).await.unwrap();
    // S3 wants 5 MiB in every part but the last.
    let first = vec![b'a'; 5 << 20];
    let one = b.files.put_part(&key, &upload, 1, first).await.unwrap();
    let two = b
        .files
        .put_part(&key, &upload, 2, b"fin".to_vec())
        .await
        .unwrap();
    b.files
        .finish_parts(&key, &upload, &[one, two])
        .await
        .unwrap();
    let size = (5 << 20) + 3;
    assert_eq!(b.files.size(&key).await.unwrap(), Some(size));
    assert_eq!(
        b.files.read(&key, size - 5, 1 << 20).await.unwrap(),
        b"aafin"
    );
    assert!(b.files.read(&key, size, 10).await.unwrap().is_empty());
    // Closing the upload link (twice is harmless) leaves the file as it was.
    b.files.close_upload(&key).await.unwrap();
    b.files.close_upload(&key).await.unwrap();
    assert_eq!(b.files.size(&key).await.unwrap(), Some(size));

    let small = format!("jobs/{}/vus.bin", FileJobId::new());
    b.files.put(&small, b"12345".to_vec()).await.unwrap();
    assert_eq!(b.files.read(&small, 0, u64::MAX).await.unwrap(), b"12345");
    b.files.remove(&small).await.unwrap();
    b.files.remove(&small).await.unwrap();
    assert_eq!(b.files.size(&small).await.unwrap(), None);
}

fn proposal(at: DateTime<Utc>, title: &str) -> Proposal {
    let fields = ProposalFields {
        topics: vec![slug("culture-animations")],
        title: title.into(),
        text: "Place Thiers.".into(),
        matters_on: None,
        wants_sms: false,
        contact: "Service culture".into(),
    };
    Proposal::new(fields, &identity("culture1"), "Culture", at)
}

async fn proposals_change_from_the_version_read_and_list_newest_first(b: Backend) {
    let old = proposal(t0() - Duration::days(40), "Ancienne");
    let mut newer = proposal(t0(), "Marché de Noël");
    b.proposals.insert_proposal(&old).await.unwrap();
    b.proposals.insert_proposal(&newer).await.unwrap();
    assert_eq!(
        b.proposals.proposal(newer.id).await.unwrap().as_ref(),
        Some(&newer)
    );
    assert_eq!(b.proposals.proposal(ProposalId::new()).await.unwrap(), None);

    let read = newer.version;
    newer.withdraw(t0()).unwrap();
    b.proposals.update_proposal(&newer, read).await.unwrap();
    // A writer that read the first version finds it changed.
    assert!(matches!(
        b.proposals.update_proposal(&newer, read).await,
        Err(StoreError::Conflict(_))
    ));
    let listed = b
        .proposals
        .proposals_since(t0() - Duration::days(60))
        .await
        .unwrap();
    assert_eq!(listed, [newer.clone(), old]);
    let recent = b
        .proposals
        .proposals_since(t0() - Duration::days(1))
        .await
        .unwrap();
    assert_eq!(recent, [newer]);
}

fn archived(minutes: i64, topics: &[&str], event: Option<&str>) -> ArchivedMessage {
    ArchivedMessage {
        id: CampaignId::new(),
        title: format!("Message à {minutes} min"),
        topics: topics.iter().map(|t| slug(t)).collect(),
        sent_at: t0() + Duration::minutes(minutes),
        email: None,
        sms: Some(format!("Texte {minutes}")),
        kind: CampaignKind::Standard,
        alert: None,
        event_date: event.map(|d| d.parse().unwrap()),
    }
}

async fn the_archive_pages_newest_first_by_topic_and_a_withdrawn_message_stays_out(b: Backend) {
    // GIVEN four messages, two of them on « culture-animations »
    let a = b.archive.as_ref();
    let oldest = archived(1, &["infos-pratiques"], None);
    let culture = archived(2, &["culture-animations", "infos-pratiques"], None);
    let newer = archived(3, &["culture-animations"], None);
    let newest = archived(4, &["alerte-meteo"], None);
    for m in [&newer, &oldest, &newest, &culture] {
        assert!(a.publish(m).await.unwrap());
    }
    let ids = |page: Vec<ArchivedMessage>| page.into_iter().map(|m| m.id).collect::<Vec<_>>();
    // WHEN the archive is read two at a time
    let first = a.archive_page(None, None, 2).await.unwrap();
    let second = a
        .archive_page(None, Some(first[1].cursor()), 2)
        .await
        .unwrap();
    let third = a
        .archive_page(None, Some(second[1].cursor()), 2)
        .await
        .unwrap();
    // THEN pages go newest first, each message once
    assert_eq!(ids(first), [newest.id, newer.id]);
    assert_eq!(ids(second), [culture.id, oldest.id]);
    assert!(third.is_empty());
    // AND a topic's page holds its messages only, whole
    let topic = slug("culture-animations");
    let page = a.archive_page(Some(&topic), None, 10).await.unwrap();
    assert_eq!(page, [newer.clone(), culture.clone()]);
    assert_eq!(a.archived(culture.id).await.unwrap(), Some(culture.clone()));
    // WHEN staff withdraw one, THEN it is nowhere, and publishing it again changes nothing
    assert!(a.withdraw(culture.id).await.unwrap());
    assert!(!a.withdraw(culture.id).await.unwrap());
    assert!(!a.withdraw(CampaignId::new()).await.unwrap());
    assert!(!a.publish(&culture).await.unwrap());
    assert_eq!(a.archived(culture.id).await.unwrap(), None);
    assert_eq!(
        ids(a.archive_page(Some(&topic), None, 10).await.unwrap()),
        [newer.id]
    );
    assert_eq!(
        ids(a.archive_page(None, None, 10).await.unwrap()),
        [newest.id, newer.id, oldest.id]
    );
}

async fn the_agenda_lists_events_soonest_first_and_the_alert_record_round_trips(b: Backend) {
    // GIVEN messages announcing events on three days, and one announcing none
    let a = b.archive.as_ref();
    let past = archived(1, &["culture-animations"], Some("2026-11-02"));
    let later = archived(2, &["culture-animations"], Some("2026-12-24"));
    let sooner = archived(3, &["infos-pratiques"], Some("2026-12-05"));
    let plain = archived(4, &["infos-pratiques"], None);
    for m in [&past, &later, &sooner, &plain] {
        a.publish(m).await.unwrap();
    }
    // WHEN the agenda is read from 1 December
    let from = "2026-12-01".parse().unwrap();
    let agenda: Vec<_> = a.agenda(from, 10).await.unwrap();
    // THEN it holds the coming events, soonest first
    assert_eq!(agenda, [sooner.clone(), later.clone()]);
    a.withdraw(sooner.id).await.unwrap();
    assert_eq!(a.agenda(from, 10).await.unwrap(), [later]);
    // AND the alert record starts empty and keeps what is saved
    assert_eq!(a.public_alerts().await.unwrap(), PublicAlerts::default());
    let record = PublicAlerts {
        alerts: vec![PublicAlert {
            campaign: CampaignId::new(),
            domain: "3310".into(),
            phenomenon: Phenomenon::WavesSubmersion,
            colour: Colour::Orange,
            begins: t0(),
            ends: t0() + Duration::hours(12),
            text: "Vigilance orange vagues-submersion à Arcachon.".into(),
            path: "/messages/x-vigilance".into(),
        }],
    };
    a.save_public_alerts(&record).await.unwrap();
    assert_eq!(a.public_alerts().await.unwrap(), record);
}

fn zone(name: &str, streets: &[&str]) -> Zone {
    Zone::parse(&ZoneInput {
        name: Some(name.into()),
        description: Some(format!("La zone {name}.")),
        streets: streets.iter().map(|s| s.to_string()).collect(),
    })
    .unwrap()
}

async fn zones_are_created_once_and_listed_by_slug(b: Backend) {
    // GIVEN no zone
    assert!(b.zones.zones().await.unwrap().is_empty());
    // WHEN two are defined, and the first again with other streets
    let front = zone("Front de mer", &["Boulevard de la Plage"]);
    let moulleau = zone("Le Moulleau", &[]);
    assert!(b.zones.insert_zone(&moulleau).await.unwrap());
    assert!(b.zones.insert_zone(&front).await.unwrap());
    let again = zone("Front de mer", &["Autre rue"]);
    assert!(!b.zones.insert_zone(&again).await.unwrap());
    // THEN both are listed by slug, the first as written first
    assert_eq!(b.zones.zones().await.unwrap(), vec![front, moulleau]);
}

async fn subscribers_and_campaigns_keep_their_zones(b: Backend) {
    let mut s = subscriber(Some("zone@exemple.fr"), None);
    s.zones = [
        ZoneSlug::from_str("front-de-mer").unwrap(),
        ZoneSlug::from_str("aiguillon").unwrap(),
    ]
    .into();
    b.subscribers.insert(&s).await.unwrap();
    assert_eq!(
        b.subscribers.get(s.id).await.unwrap().unwrap().zones,
        s.zones
    );
    let many = b.audience.get_many(&[s.id]).await.unwrap();
    assert_eq!(many[0].zones, s.zones);
    s.zones.clear();
    b.subscribers.update(&s).await.unwrap();
    assert!(b
        .subscribers
        .get(s.id)
        .await
        .unwrap()
        .unwrap()
        .zones
        .is_empty());

    let mut c = campaign("Submersion", CampaignStatus::Draft, t0(), None);
    c.zones = Some(vec![ZoneSlug::from_str("front-de-mer").unwrap()]);
    c.include_unzoned = true;
    insert_created(&b, &c).await;
    assert_eq!(b.campaigns.get(c.id).await.unwrap().unwrap(), c);
}

async fn voice_members_are_found_and_their_counters_kept(b: Backend) {
    // GIVEN a landline taking weather alerts by call
    let mut s = subscriber(None, None);
    s.phone = Some(PhoneNumber::parse_for_calls("05 56 22 33 44").unwrap());
    s.choices = [Choice {
        topic: slug("alerte-meteo"),
        channel: Channel::Voice,
    }]
    .into();
    b.subscribers.insert(&s).await.unwrap();
    // THEN it is a recipient of (alerte-meteo, voice) only, at its number
    let mut voice = Vec::new();
    let mut sms = Vec::new();
    for shard in 0..b.shards {
        voice.extend(all_pages(&b, "alerte-meteo", Channel::Voice, shard, 10).await);
        sms.extend(all_pages(&b, "alerte-meteo", Channel::Sms, shard, 10).await);
    }
    let found: Vec<&Recipient> = voice.iter().flatten().collect();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].address.as_str(), "+33556223344");
    assert!(sms.iter().all(|p| p.is_empty()));
    assert_eq!(
        b.reports
            .count_recipients(&[slug("alerte-meteo")], Channel::Voice)
            .await
            .unwrap(),
        1
    );

    // AND a campaign's voice counters add up beside the others
    let c = campaign("Appel", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    let mut delta = Progress::default();
    delta.voice.targeted = 3;
    delta.voice.sent = 2;
    delta.sms.sent = 1;
    b.campaigns.add_progress(c.id, &delta).await.unwrap();
    delta.voice.targeted = 0;
    delta.voice.failed = 1;
    let p = b.campaigns.add_progress(c.id, &delta).await.unwrap();
    assert_eq!(
        (
            p.totals.voice.targeted,
            p.totals.voice.sent,
            p.totals.voice.failed
        ),
        (3, 4, 1)
    );
    assert_eq!(p.totals.sms.sent, 2);
    assert_eq!(b.campaigns.progress(c.id).await.unwrap(), p);
}

/// Residents' answers and providers' reports: the last one counts, a campaign reads its own,
/// and erasing a resident removes theirs from every campaign.
async fn answers_and_reports_are_kept_per_campaign_and_erased_with_the_resident(b: Backend) {
    use telmail_core::domain::reach::{Acknowledgement, Answer, ReachOutcome, ReachReport};
    let (s, other) = (
        subscriber(Some("a@exemple.fr"), Some("0612345678")),
        subscriber(Some("b@exemple.fr"), None),
    );
    b.subscribers.insert(&s).await.unwrap();
    b.subscribers.insert(&other).await.unwrap();
    let c = campaign("Submersion", CampaignStatus::Sent, t0(), None);
    let elsewhere = campaign("Tempête", CampaignStatus::Sending, t0(), None);
    insert_created(&b, &c).await;
    insert_created(&b, &elsewhere).await;
    let ack = |campaign: CampaignId, who: SubscriberId, answer, minutes| Acknowledgement {
        campaign,
        subscriber: who,
        answer,
        at: t0() + Duration::minutes(minutes),
    };
    // GIVEN answers: one changed (the last counts), one of another person, one elsewhere
    b.reach
        .acknowledge(&ack(c.id, s.id, Answer::Safe, 1))
        .await
        .unwrap();
    b.reach
        .acknowledge(&ack(c.id, s.id, Answer::NeedsHelp, 2))
        .await
        .unwrap();
    b.reach
        .acknowledge(&ack(c.id, other.id, Answer::Safe, 3))
        .await
        .unwrap();
    b.reach
        .acknowledge(&ack(elsewhere.id, s.id, Answer::Safe, 4))
        .await
        .unwrap();
    // AND reports: a call unanswered then answered by voicemail, a bounce
    let call = DeliveryKey {
        campaign: c.id,
        subscriber: s.id,
        channel: Channel::Voice,
    };
    let mail = DeliveryKey {
        subscriber: other.id,
        channel: Channel::Email,
        ..call
    };
    let report = |key, outcome, minutes| ReachReport {
        key,
        outcome,
        at: t0() + Duration::minutes(minutes),
    };
    b.reach
        .record_reach(&[report(call, ReachOutcome::NoAnswer, 1)])
        .await
        .unwrap();
    b.reach
        .record_reach(&[
            report(call, ReachOutcome::Voicemail, 6),
            report(mail, ReachOutcome::Bounced, 2),
        ])
        .await
        .unwrap();
    let elsewhere_call = DeliveryKey {
        campaign: elsewhere.id,
        ..call
    };
    b.reach
        .record_reach(&[report(elsewhere_call, ReachOutcome::Answered, 7)])
        .await
        .unwrap();

    // THEN each campaign reads its own, the last answer and report counting
    let mut acks = b.reach.acknowledgements(c.id).await.unwrap();
    acks.sort_by_key(|a| a.at);
    assert_eq!(
        acks,
        vec![
            ack(c.id, s.id, Answer::NeedsHelp, 2),
            ack(c.id, other.id, Answer::Safe, 3)
        ]
    );
    assert_eq!(
        b.reach.acknowledgement(c.id, s.id).await.unwrap(),
        Some(ack(c.id, s.id, Answer::NeedsHelp, 2))
    );
    let mut reports = b.reach.reach_reports(c.id).await.unwrap();
    reports.sort_by_key(|r| r.at);
    assert_eq!(
        reports,
        vec![
            report(mail, ReachOutcome::Bounced, 2),
            report(call, ReachOutcome::Voicemail, 6)
        ]
    );

    // WHEN the resident is erased
    assert!(b.subscribers.delete(s.id).await.unwrap());
    // THEN their answers and reports are gone from every campaign; the other's stay
    assert_eq!(
        b.reach.acknowledgements(c.id).await.unwrap(),
        vec![ack(c.id, other.id, Answer::Safe, 3)]
    );
    assert_eq!(b.reach.acknowledgement(c.id, s.id).await.unwrap(), None);
    assert!(b
        .reach
        .acknowledgements(elsewhere.id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        b.reach.reach_reports(c.id).await.unwrap(),
        vec![report(mail, ReachOutcome::Bounced, 2)]
    );
    assert!(b
        .reach
        .reach_reports(elsewhere.id)
        .await
        .unwrap()
        .is_empty());
}

async fn notice_settings_default_to_all_on_and_are_kept_per_account(b: Backend) {
    // GIVEN an account that never saved its settings: every notice is on
    assert_eq!(
        b.notices.notice_settings("maire").await.unwrap(),
        NoticeSettings::default()
    );
    // WHEN it turns two off, and another account one
    let some = NoticeSettings {
        off: [StaffNotice::SubmittedUrgentSms, StaffNotice::WeatherSms].into(),
    };
    b.notices
        .save_notice_settings("maire", &some)
        .await
        .unwrap();
    let other = NoticeSettings {
        off: [StaffNotice::DecisionEmail].into(),
    };
    b.notices
        .save_notice_settings("1f2e-cognito-sub", &other)
        .await
        .unwrap();
    // THEN each reads its own
    assert_eq!(b.notices.notice_settings("maire").await.unwrap(), some);
    assert_eq!(
        b.notices.notice_settings("1f2e-cognito-sub").await.unwrap(),
        other
    );
    // WHEN the first turns every notice on again: saved as such, not left as it was
    b.notices
        .save_notice_settings("maire", &NoticeSettings::default())
        .await
        .unwrap();
    assert_eq!(
        b.notices.notice_settings("maire").await.unwrap(),
        NoticeSettings::default()
    );
}

macro_rules! store_suite {
    ($backend:ident $(, $extra:ident)* $(,)?) => {
        behaviour_suite!($backend:
            round_trip_and_lookups,
            an_address_belongs_to_one_subscriber,
            many_are_inserted_at_once_and_a_clash_refuses_only_its_own,
            updates_replace_contacts_and_choices,
            delete_frees_everything,
            purge_removes_only_expired_pending,
            topics_keep_their_order_and_are_not_overwritten,
            counters_add_up_per_month,
            recipients_are_active_sharded_and_paged_in_id_order,
            recipients_of_several_shards_are_found_with_small_pages,
            count_recipients_dedups_topics_and_leaves_out_suppressed,
            search_filters_by_text_topic_and_status_newest_first,
            count_by_topic_counts_active_subscribers,
            get_many_returns_the_subscribers_found,
            changes_since_an_instant_are_reported,
            erasure_removes_finished_deliveries_and_leaves_those_in_flight,
            stats_add_many_at_once_and_read_months,
            campaign_updates_compare_and_set_and_keep_the_audit_trail,
            campaigns_list_newest_first_by_status,
            due_campaigns_are_scheduled_ones_whose_time_has_come,
            campaign_progress_adds_up_and_shards_count_once,
            sign_ups_are_counted_with_their_origin,
            fan_out_slices_are_marked_once_apart_from_the_shards,
            bounces_and_complaints_add_up_per_campaign,
            deliveries_are_created_once,
            a_delivery_is_claimed_once_and_finished_with_its_outcome,
            only_deliveries_stuck_in_sending_before_the_cutoff_are_failed,
            topics_are_updated_in_place,
            deliveries_of_a_campaign_are_listed_page_by_page,
            suppressions_are_idempotent_listed_and_lifted,
            allowances_stop_at_their_limit_even_when_taken_at_once,
            weather_alerts_are_raised_once_per_colour_and_lifted_once,
            weather_documents_and_alert_sources_round_trip,
            the_audience_is_kept_month_by_month,
            sending_slots_are_reserved_once_and_spaced,
            no_slot_is_booked_past_the_senders_limit,
            a_wait_gives_back_the_attempt_a_retry_spends,
            a_paused_channel_keeps_its_first_reason_until_resumed_once,
            file_jobs_are_saved_from_the_step_read_and_listed_newest_first,
            proposals_change_from_the_version_read_and_list_newest_first,
            the_whole_file_is_paged_once_whatever_the_page_size,
            big_files_are_written_in_parts_read_by_range_and_removed,
            the_archive_pages_newest_first_by_topic_and_a_withdrawn_message_stays_out,
            the_agenda_lists_events_soonest_first_and_the_alert_record_round_trips,
            zones_are_created_once_and_listed_by_slug,
            subscribers_and_campaigns_keep_their_zones,
            voice_members_are_found_and_their_counters_kept,
            answers_and_reports_are_kept_per_campaign_and_erased_with_the_resident,
            notice_settings_default_to_all_on_and_are_kept_per_account,
            $($extra,)*
        );
    };
}

store_suite!(
    sqlite,
    staff_accounts_are_unique_and_sessions_expire_by_caller
);
// Staff accounts are Cognito's on AWS: the DynamoDB store has no staff port.
store_suite!(dynamo);
