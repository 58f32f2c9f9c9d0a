//! Two people changing one subscriber at the same moment (#16): on DynamoDB the second write
//! fails its version check. The agent is told the record changed (409, reload), never that the
//! address belongs to someone else, and nothing of the other change is lost.

use std::collections::{BTreeSet, HashSet};
use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use telmail_core::clock::SystemClock;
use telmail_core::domain::contact::{Email, PhoneNumber};
use telmail_core::domain::signup::SubscriptionInput;
use telmail_core::domain::subscriber::{Subscriber, SubscriberId};
use telmail_core::domain::topic::default_topics;
use telmail_core::error::{DomainError, StoreError};
use telmail_core::ports::{SubscriberStore, TopicStore};
use telmail_core::use_cases::subscriber_file::{EditInput, SubscriberFile, SubscriberFileDeps};
use telmail_local::store::SqliteStore;

/// A store where someone else changes the subscriber just before each update, which then fails
/// as a version check does.
struct Racing(Arc<SqliteStore>);

#[async_trait]
impl SubscriberStore for Racing {
    async fn get(&self, id: SubscriberId) -> Result<Option<Subscriber>, StoreError> {
        SubscriberStore::get(self.0.as_ref(), id).await
    }
    async fn find_by_email(&self, e: &Email) -> Result<Option<Subscriber>, StoreError> {
        self.0.find_by_email(e).await
    }
    async fn find_by_phone(&self, p: &PhoneNumber) -> Result<Option<Subscriber>, StoreError> {
        self.0.find_by_phone(p).await
    }
    async fn insert(&self, s: &Subscriber) -> Result<(), StoreError> {
        SubscriberStore::insert(self.0.as_ref(), s).await
    }
    async fn insert_many(
        &self,
        s: &[Subscriber],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        SubscriberStore::insert_many(self.0.as_ref(), s).await
    }
    async fn update(&self, s: &Subscriber) -> Result<(), StoreError> {
        let mut theirs = SubscriberStore::get(self.0.as_ref(), s.id)
            .await?
            .expect("stored");
        theirs.updated_at = telmail_tests::server_now() + Duration::seconds(1);
        SubscriberStore::update(self.0.as_ref(), &theirs).await?;
        Err(StoreError::Conflict("abonné modifié entre-temps".into()))
    }
    async fn delete(&self, id: SubscriberId) -> Result<bool, StoreError> {
        SubscriberStore::delete(self.0.as_ref(), id).await
    }
    async fn purge_expired_pending(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.0.purge_expired_pending(now).await
    }
}

#[tokio::test]
async fn an_edit_that_loses_the_race_is_a_conflict_not_an_address_clash() {
    let dir = tempfile::tempdir().unwrap();
    let db = telmail_local::db::Db::open(&dir.path().join("t.sqlite")).unwrap();
    let store = Arc::new(SqliteStore::new(db, Arc::new(SystemClock)));
    for t in default_topics() {
        store.insert_if_absent(&t).await.unwrap();
    }
    let sub = telmail_tests::paper_subscriber(
        Some(Email::from_str("marie@exemple.fr").unwrap()),
        None,
        BTreeSet::new(),
    );
    SubscriberStore::insert(store.as_ref(), &sub).await.unwrap();
    let file = SubscriberFile::new(SubscriberFileDeps {
        subscribers: Arc::new(Racing(store.clone())),
        reports: store.clone(),
        topics: store.clone(),
        stats: store.clone(),
        clock: Arc::new(SystemClock),
        suppressions: store.clone(),
        zones: store.clone(),
    });
    let edit = EditInput {
        email: Some("marie.martin@exemple.fr".into()),
        phone: None,
        subscriptions: vec![SubscriptionInput {
            topic: "alerte-meteo".into(),
            channels: HashSet::from(["email".into()]).into_iter().collect(),
        }],
    };
    let refused = file
        .edit(&telmail_tests::staff("redac", "redaction"), sub.id, &edit)
        .await;
    match refused {
        Err(DomainError::Conflict(message)) => assert!(message.contains("rechargez"), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The other change stands; this one wrote nothing.
    let stored = SubscriberStore::get(store.as_ref(), sub.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.email.unwrap().as_str(), "marie@exemple.fr");
}
