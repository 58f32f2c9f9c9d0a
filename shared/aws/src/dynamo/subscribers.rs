//! Subscribers: the profile (JSON plus the attributes search filters on), the items reserving
//! its email and phone, the marker of a pending sign-up and, while active, one membership per
//! choice; all written in one transaction, with a version number against lost updates.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use futures_util::{stream, StreamExt, TryStreamExt};
use telmail_core::domain::contact::{Channel, Email, PhoneNumber};
use telmail_core::domain::subscriber::{Subscriber, SubscriberId, SubscriberStatus};
use telmail_core::domain::topic::TopicSlug;
use telmail_core::domain::zone::ZoneSlug;
use telmail_core::error::StoreError;
use telmail_core::ports::{
    AudienceStore, Recipient, SubscriberQuery, SubscriberReports, SubscriberStore,
};

use super::items::{self, batch_get, json, key, n, s, Condition, Fields, Item, Transaction};
use super::keys::{self, CHANGES, OWNER, PENDING, PROFILE};
use super::recent::LogRead;
use super::DynamoStore;

/// How long the change log keeps an entry (DynamoDB's time to live deletes it later, never
/// sooner).
const CHANGE_LOG_KEPT: Duration = Duration::days(3);

/// How far back the change log is trusted to be complete; older questions get "changed".
const CHANGE_LOG_TRUSTED: Duration = Duration::days(2);

/// An entry of the change log: written in the same transaction as every change of a
/// subscriber, so a sender can ask "who changed since fan-out?" with one query.
fn change_entry(id: SubscriberId, now: DateTime<Utc>) -> Item {
    let mut item = key(CHANGES, keys::change(now, id));
    item.insert(keys::EXPIRES.into(), n((now + CHANGE_LOG_KEPT).timestamp()));
    item
}

/// A change log entry: when, and whom.
fn change_logged(item: &Item) -> Result<(DateTime<Utc>, SubscriberId), StoreError> {
    let f = Fields(item);
    let sk = f.str("sk")?;
    let at = sk
        .split_once('#')
        .and_then(|(at, _)| DateTime::parse_from_rfc3339(at).ok())
        .ok_or_else(|| f.malformed("bad change log entry"))?;
    Ok((
        at.with_timezone(&Utc),
        stamped_id(item, "bad change log entry")?,
    ))
}

/// The subscriber named by a `<stamp>#<id>` sort key (pending markers, change log).
fn stamped_id(item: &Item, bad: &str) -> Result<SubscriberId, StoreError> {
    let f = Fields(item);
    f.str("sk")?
        .rsplit_once('#')
        .and_then(|(_, id)| SubscriberId::from_str(id).ok())
        .ok_or_else(|| f.malformed(bad))
}

/// Everything stored for one subscriber, by key.
struct Rows {
    profile: Item,
    /// Partition keys of the address reservations, with what a clash on each means.
    owners: Vec<(String, &'static str)>,
    /// Sort key of the pending marker.
    pending: Option<String>,
    /// Membership partition keys (sort key `SUB#<id>`) → the address for the channel.
    memberships: BTreeMap<String, Option<String>>,
    /// The topics of those memberships.
    member_topics: BTreeSet<TopicSlug>,
}

fn rows(sub: &Subscriber, version: u64) -> Result<Rows, StoreError> {
    let id = sub.id;
    let mut profile = key(keys::subscriber(id), PROFILE);
    profile.extend([
        ("profile".to_owned(), json(sub)?),
        ("status".to_owned(), s(sub.status().as_str())),
        ("version".to_owned(), n(version)),
        ("gsi1pk".to_owned(), s(keys::subscriber_list(id))),
        (
            "gsi1sk".to_owned(),
            s(keys::created_order(sub.created_at, id)),
        ),
    ]);
    let mut owners = Vec::new();
    if let Some(email) = &sub.email {
        // LIKE-style search ignores ASCII case: the filter compares lower-cased text.
        profile.insert("email_lc".into(), s(email.as_str().to_ascii_lowercase()));
        owners.push((
            keys::email_owner(email.as_str()),
            "adresse e-mail déjà utilisée",
        ));
    }
    if let Some(phone) = &sub.phone {
        profile.insert("phone".into(), s(phone.as_str()));
        owners.push((keys::phone_owner(phone.as_str()), "numéro déjà utilisé"));
    }
    let topics: BTreeSet<String> = sub.choices.iter().map(|c| c.topic.to_string()).collect();
    if !topics.is_empty() {
        profile.insert(
            "topics".into(),
            AttributeValue::Ss(topics.into_iter().collect()),
        );
    }
    let pending = sub
        .pending()
        .map(|p| keys::pending_marker(p.expires_at, id));
    let partition = keys::membership_partition(id);
    let mut memberships = BTreeMap::new();
    let mut member_topics = BTreeSet::new();
    if sub.status() == SubscriberStatus::Active {
        for c in &sub.choices {
            let address = match c.channel {
                Channel::Email => sub.email.as_ref().map(|e| e.as_str().to_owned()),
                Channel::Sms | Channel::Voice => sub.phone.as_ref().map(|p| p.as_str().to_owned()),
            };
            memberships.insert(keys::membership(&c.topic, c.channel, partition), address);
            member_topics.insert(c.topic.clone());
        }
    }
    Ok(Rows {
        profile,
        owners,
        pending,
        memberships,
        member_topics,
    })
}

fn owner_item(pk: &str, id: SubscriberId) -> Item {
    let mut item = key(pk, OWNER);
    item.insert("id".into(), s(id.to_string()));
    item
}

fn membership_item(pk: &str, id: SubscriberId, address: &Option<String>) -> Item {
    let mut item = key(pk, keys::subscriber(id));
    if let Some(a) = address {
        item.insert("address".into(), s(a));
    }
    item
}

/// Transactions an import has in flight at once.
const INSERTS_AT_ONCE: usize = 16;

/// The stored version must still be `version`.
fn unchanged(version: u64) -> Condition {
    Condition::new("#version = :version")
        .name("#version", "version")
        .value(":version", n(version))
}

const CHANGED: &str = "abonné modifié entre-temps";

/// A profile item: the subscriber and its version.
pub(super) fn profile(item: &Item) -> Result<(Subscriber, u64), StoreError> {
    let f = Fields(item);
    Ok((f.json("profile")?, f.num("version")?))
}

impl DynamoStore {
    /// The subscriber and its version, read consistently.
    async fn load(&self, id: SubscriberId) -> Result<Option<(Subscriber, u64)>, StoreError> {
        items::get_consistent(
            &self.client,
            &self.table,
            key(keys::subscriber(id), PROFILE),
            None,
            "subscriber",
        )
        .await?
        .as_ref()
        .map(profile)
        .transpose()
    }

    /// The subscriber owning an address (`EMAIL#…` or `PHONE#…` partition key).
    async fn owned_by(&self, owner_pk: String) -> Result<Option<Subscriber>, StoreError> {
        let Some(item) = items::get_consistent(
            &self.client,
            &self.table,
            key(owner_pk, OWNER),
            None,
            "address",
        )
        .await?
        else {
            return Ok(None);
        };
        let f = Fields(&item);
        let id = SubscriberId::from_str(f.str("id")?)
            .ok()
            .ok_or_else(|| f.malformed("bad id"))?;
        Ok(self.load(id).await?.map(|(sub, _)| sub))
    }

    /// Deletes everything stored for a subscriber read at `version`.
    async fn remove(&self, sub: &Subscriber, version: u64) -> Result<(), StoreError> {
        let old = rows(sub, version)?;
        let mut tx = Transaction::new(&self.table);
        tx.delete(
            key(keys::subscriber(sub.id), PROFILE),
            Some(unchanged(version)),
            CHANGED,
        )?;
        for (pk, _) in old.owners {
            tx.delete(key(pk, OWNER), None, "")?;
        }
        if let Some(sk) = old.pending {
            tx.delete(key(PENDING, sk), None, "")?;
        }
        for pk in old.memberships.into_keys() {
            tx.delete(key(pk, keys::subscriber(sub.id)), None, "")?;
        }
        tx.put(change_entry(sub.id, self.clock.now()), None, "")?;
        tx.commit(&self.client).await
    }

    /// Deletes one expired pending sign-up found by its marker, unless it changed meanwhile.
    async fn purge_one(&self, id: SubscriberId, bound: &str) -> Result<bool, StoreError> {
        let Some((sub, version)) = self.load(id).await? else {
            return Ok(false);
        };
        let expired = match sub.pending() {
            Some(p) => keys::pending_marker(p.expires_at, id).as_str() < bound,
            None => false,
        };
        if !expired {
            return Ok(false);
        }
        match self.remove(&sub, version).await {
            Ok(()) => Ok(true),
            // Confirmed or changed at this very moment: it is no longer expired.
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl SubscriberStore for DynamoStore {
    async fn get(&self, id: SubscriberId) -> Result<Option<Subscriber>, StoreError> {
        Ok(self.load(id).await?.map(|(sub, _)| sub))
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<Subscriber>, StoreError> {
        self.owned_by(keys::email_owner(email.as_str())).await
    }

    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<Subscriber>, StoreError> {
        self.owned_by(keys::phone_owner(phone.as_str())).await
    }

    async fn insert_many(
        &self,
        subscribers: &[Subscriber],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        // One transaction each (a subscriber's items must be written together), several at once.
        let answers: Vec<Result<(), StoreError>> = stream::iter(subscribers.to_vec())
            .map(|sub| async move { self.insert(&sub).await })
            .buffered(INSERTS_AT_ONCE)
            .collect()
            .await;
        // A clash is that subscriber's answer; any other failure is the store's.
        answers
            .into_iter()
            .map(|a| match a {
                Err(StoreError::Conflict(what)) => Ok(Err(StoreError::Conflict(what))),
                Err(e) => Err(e),
                Ok(()) => Ok(Ok(())),
            })
            .collect()
    }

    async fn insert(&self, subscriber: &Subscriber) -> Result<(), StoreError> {
        let id = subscriber.id;
        let new = rows(subscriber, 1)?;
        let mut tx = Transaction::new(&self.table);
        tx.put(
            new.profile,
            Some(Condition::absent()),
            "identifiant déjà utilisé",
        )?;
        for (pk, clash) in &new.owners {
            tx.put(owner_item(pk, id), Some(Condition::absent()), clash)?;
        }
        if let Some(sk) = new.pending {
            tx.put(key(PENDING, sk), None, "")?;
        }
        for (pk, address) in &new.memberships {
            tx.put(membership_item(pk, id, address), None, "")?;
        }
        self.note_topics_in_use(&new.member_topics).await?;
        tx.commit(&self.client).await
    }

    async fn update(&self, subscriber: &Subscriber) -> Result<(), StoreError> {
        let id = subscriber.id;
        let (stored, version) = self
            .load(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("subscriber {id} to update")))?;
        let old = rows(&stored, version)?;
        let new = rows(subscriber, version + 1)?;
        let mut tx = Transaction::new(&self.table);
        tx.put(new.profile, Some(unchanged(version)), CHANGED)?;
        tx.put(change_entry(id, self.clock.now()), None, "")?;
        for (pk, clash) in &new.owners {
            if !old.owners.iter().any(|(o, _)| o == pk) {
                let free_or_mine = Condition::new("attribute_not_exists(pk) OR #id = :id")
                    .name("#id", "id")
                    .value(":id", s(id.to_string()));
                tx.put(owner_item(pk, id), Some(free_or_mine), clash)?;
            }
        }
        for (pk, _) in &old.owners {
            if !new.owners.iter().any(|(o, _)| o == pk) {
                tx.delete(key(pk, OWNER), None, "")?;
            }
        }
        if old.pending != new.pending {
            if let Some(sk) = old.pending {
                tx.delete(key(PENDING, sk), None, "")?;
            }
            if let Some(sk) = new.pending {
                tx.put(key(PENDING, sk), None, "")?;
            }
        }
        for (pk, address) in &new.memberships {
            if old.memberships.get(pk) != Some(address) {
                tx.put(membership_item(pk, id, address), None, "")?;
            }
        }
        for pk in old.memberships.keys() {
            if !new.memberships.contains_key(pk) {
                tx.delete(key(pk, keys::subscriber(id)), None, "")?;
            }
        }
        let added: BTreeSet<TopicSlug> = new
            .member_topics
            .difference(&old.member_topics)
            .cloned()
            .collect();
        self.note_topics_in_use(&added).await?;
        tx.commit(&self.client).await
    }

    async fn delete(&self, id: SubscriberId) -> Result<bool, StoreError> {
        let Some((sub, version)) = self.load(id).await? else {
            return Ok(false);
        };
        // Deliveries first: if the profile transaction then fails, a retry finds the profile
        // and finishes the job.
        self.erase_finished_deliveries(id).await?;
        self.erase_reach(id).await?;
        self.remove(&sub, version).await?;
        Ok(true)
    }

    async fn purge_expired_pending(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // Expired means `expires_at < now` to the second, as the embedded store compares.
        let whole_second = DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now);
        let bound = keys::stamp(whole_second);
        let markers = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk < :bound")
            .expression_attribute_values(":pk", s(PENDING))
            .expression_attribute_values(":bound", s(&bound))
            .consistent_read(true);
        let ids = items::query(markers, usize::MAX, |item| {
            stamped_id(item, "bad pending marker").map(Some)
        })
        .await?;
        let bound = &bound;
        stream::iter(ids)
            .map(|id| self.purge_one(id, bound))
            .buffer_unordered(items::IN_FLIGHT)
            .try_fold(
                0,
                |purged, done| async move { Ok(purged + u64::from(done)) },
            )
            .await
    }
}

#[async_trait]
impl AudienceStore for DynamoStore {
    async fn changed_since(
        &self,
        ids: &[SubscriberId],
        since: DateTime<Utc>,
    ) -> Result<HashSet<SubscriberId>, StoreError> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        if since < self.clock.now() - CHANGE_LOG_TRUSTED {
            return Ok(ids.iter().copied().collect());
        }
        // Read once, then only what the log gained since (eventually consistent: a change
        // made in the last instant may be missed, as it would be by a send already under way).
        let mut log = self.recent.changes.lock().await;
        let now = self.clock.now();
        let read = log.to_read(since, now);
        let from = match read {
            LogRead::Nothing => None,
            LogRead::Since(from) | LogRead::Afresh(from) => Some(from),
        };
        if let Some(from) = from {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND sk >= :since")
                .expression_attribute_values(":pk", s(CHANGES))
                .expression_attribute_values(":since", s(keys::stamp(from)));
            let entries =
                items::query(query, usize::MAX, |item| change_logged(item).map(Some)).await?;
            log.absorb(read, now, entries, now - CHANGE_LOG_TRUSTED);
        }
        Ok(log.changed(ids, since))
    }

    async fn get_many(&self, ids: &[SubscriberId]) -> Result<Vec<Subscriber>, StoreError> {
        let mut seen = HashSet::new();
        let distinct: Vec<SubscriberId> =
            ids.iter().copied().filter(|id| seen.insert(*id)).collect();
        let keys = distinct
            .iter()
            .map(|id| key(keys::subscriber(*id), PROFILE))
            .collect();
        let found = batch_get(
            &self.client,
            &self.table,
            keys,
            Some(("pk, sk, #p, #v", &[("#p", "profile"), ("#v", "version")])),
            false,
        )
        .await?;
        let mut by_id: HashMap<SubscriberId, Subscriber> = found
            .iter()
            .map(|item| profile(item).map(|(sub, _)| (sub.id, sub)))
            .collect::<Result<_, _>>()?;
        // In the order asked, each once.
        Ok(distinct.iter().filter_map(|id| by_id.remove(id)).collect())
    }

    async fn recipients(
        &self,
        topic: &TopicSlug,
        channel: Channel,
        shard: u32,
        shards: u32,
        after: Option<SubscriberId>,
        limit: usize,
    ) -> Result<Vec<Recipient>, StoreError> {
        self.recipients_page(topic, channel, shard, shards, after, limit)
            .await
    }
}

#[async_trait]
impl SubscriberReports for DynamoStore {
    async fn count_recipients(
        &self,
        topics: &[TopicSlug],
        channel: Channel,
    ) -> Result<u64, StoreError> {
        self.count_distinct_recipients(topics, channel).await
    }

    async fn search(&self, query: &SubscriberQuery) -> Result<Vec<Subscriber>, StoreError> {
        self.search_subscribers(query).await
    }

    async fn count_by_topic(&self) -> Result<Vec<(TopicSlug, Channel, u64)>, StoreError> {
        self.count_members_by_topic().await
    }

    async fn count_by_zone(&self) -> Result<Vec<(Option<ZoneSlug>, u64)>, StoreError> {
        self.count_subscribers_by_zone().await
    }

    async fn page_all(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Subscriber>, Option<String>), StoreError> {
        self.page_of_file(cursor, limit).await
    }
}
