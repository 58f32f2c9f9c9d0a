//! The behaviour every store adapter must have, written against the ports only, so the same suite
//! runs on each backend (here the embedded SQLite one).

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use telmail_core::contact::{Channel, Email, PhoneNumber};
use telmail_core::error::StoreError;
use telmail_core::ports::{Counter, StatsStore, SubscriberStore, TopicStore};
use telmail_core::subscriber::{
    Choice, ConfirmationMethod, Consent, ConsentSource, PendingConfirmation, Subscriber,
    SubscriberId, SubscriberStatus,
};
use telmail_core::topic::{default_topics, TopicSlug};

/// The three ports of one backend.
struct Backend {
    subscribers: Arc<dyn SubscriberStore>,
    topics: Arc<dyn TopicStore>,
    stats: Arc<dyn StatsStore>,
    _guard: Box<dyn std::any::Any + Send>,
}

fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let db = telmail_local::db::Db::open(&dir.path().join("s.sqlite")).unwrap();
    let store = Arc::new(telmail_local::store::SqliteStore::new(db));
    Backend {
        subscribers: store.clone(),
        topics: store.clone(),
        stats: store,
        _guard: Box::new(dir),
    }
}

fn subscriber(email: Option<&str>, phone: Option<&str>) -> Subscriber {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0).unwrap();
    Subscriber {
        id: SubscriberId::new(),
        email: email.map(|e| Email::parse(e).unwrap()),
        phone: phone.map(|p| PhoneNumber::parse(p).unwrap()),
        choices: BTreeSet::from([Choice {
            topic: TopicSlug::parse("alerte-meteo").unwrap(),
            channel: Channel::Email,
        }]),
        status: SubscriberStatus::Active,
        language: "fr".into(),
        consent: Consent {
            source: ConsentSource::Paper {
                staff_id: "agent-1".into(),
                form_reference: "F-2026-001".into(),
            },
            at: t0,
            wording_version: "2026-11-v1".into(),
        },
        pending: None,
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
            .find_by_email(&Email::parse("b@exemple.fr").unwrap())
            .await
            .unwrap()
            .is_none(),
        "a refused insert leaves nothing"
    );

    let mut c = subscriber(Some("c@exemple.fr"), None);
    b.subscribers.insert(&c).await.unwrap();
    c.email = Some(Email::parse("a@exemple.fr").unwrap());
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

async fn updates_replace_contacts_and_choices(b: Backend) {
    let mut s = subscriber(Some("a@exemple.fr"), None);
    b.subscribers.insert(&s).await.unwrap();
    s.email = Some(Email::parse("nouvelle@exemple.fr").unwrap());
    s.phone = Some(PhoneNumber::parse("0781234501").unwrap());
    s.choices.insert(Choice {
        topic: TopicSlug::parse("infos-pratiques").unwrap(),
        channel: Channel::Sms,
    });
    b.subscribers.update(&s).await.unwrap();
    assert_eq!(b.subscribers.get(s.id).await.unwrap().unwrap(), s);
    assert!(
        b.subscribers
            .find_by_email(&Email::parse("a@exemple.fr").unwrap())
            .await
            .unwrap()
            .is_none(),
        "the old address is free"
    );
    let other = subscriber(Some("a@exemple.fr"), None);
    b.subscribers.insert(&other).await.unwrap();
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
        s.status = SubscriberStatus::Pending;
        s.pending = Some(PendingConfirmation {
            expires_at: now + expires_in,
            method: ConfirmationMethod::EmailLink,
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
        .get(&TopicSlug::parse("inconnu").unwrap())
        .await
        .unwrap()
        .is_none());
}

async fn counters_add_up_per_month(b: Backend) {
    b.stats.add("2026-11", Counter::SignUps, 2).await.unwrap();
    b.stats.add("2026-11", Counter::SignUps, 3).await.unwrap();
    b.stats
        .add("2026-11", Counter::Departures, 1)
        .await
        .unwrap();
    assert_eq!(b.stats.get("2026-11", Counter::SignUps).await.unwrap(), 5);
    assert_eq!(
        b.stats.get("2026-11", Counter::Departures).await.unwrap(),
        1
    );
    assert_eq!(b.stats.get("2026-12", Counter::SignUps).await.unwrap(), 0);
}

macro_rules! behaviour_suite {
    ($backend:ident: $($case:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $case() {
                    super::$case(super::$backend()).await;
                }
            )*
        }
    };
}

behaviour_suite!(sqlite:
    round_trip_and_lookups,
    an_address_belongs_to_one_subscriber,
    updates_replace_contacts_and_choices,
    delete_frees_everything,
    purge_removes_only_expired_pending,
    topics_keep_their_order_and_are_not_overwritten,
    counters_add_up_per_month,
);
