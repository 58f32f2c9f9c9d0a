//! Subscribers: the profile as JSON beside the columns queries use (contacts, unique; status;
//! creation), and one membership row per (topic, channel) carrying the fan-out shard key.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, OptionalExtension, Transaction};
use telmail_core::domain::contact::{Address, Channel, Email, PhoneNumber};
use telmail_core::domain::subscriber::{Subscriber, SubscriberId};
use telmail_core::domain::topic::TopicSlug;
use telmail_core::domain::zone::ZoneSlug;
use telmail_core::error::StoreError;
use telmail_core::ports::{
    AudienceStore, Recipient, SubscriberQuery, SubscriberReports, SubscriberStore,
};

use super::{corrupt, from_json, parse_channel, sql_int, to_json, SqliteStore};
use crate::db::{micros, placeholders, sql_err, IN_CHUNK};

fn profile(json: &str) -> Result<Subscriber, StoreError> {
    from_json("subscriber profile", json)
}

fn parse_id(text: &str) -> Result<SubscriberId, StoreError> {
    SubscriberId::from_str(text)
        .ok()
        .ok_or_else(|| corrupt("subscriber id", text))
}

/// The subscribers column holding the address a channel writes to.
fn address_column(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Sms | Channel::Voice => "phone",
    }
}

/// Erasure also removes the person's finished deliveries (memberships go by cascade). Those
/// still queued or being sent stay: the sender finds the person gone and closes them as
/// suppressed, which the campaign's counters need to reach their end. The unique delivery index
/// is probed once per campaign, so no index by subscriber slows every fan-out insert.
pub(super) const ERASE_FINISHED_DELIVERIES: &str = "DELETE FROM deliveries
     WHERE campaign_id IN (SELECT id FROM campaigns) AND subscriber_id = ?1
       AND status IN ('sent', 'failed', 'suppressed', 'unknown')";

fn write_subscriber(tx: &Transaction<'_>, s: &Subscriber, insert: bool) -> Result<(), StoreError> {
    let id = s.id.to_string();
    let args = params![
        id,
        s.email.as_ref().map(Email::as_str),
        s.phone.as_ref().map(PhoneNumber::as_str),
        s.status().as_str(),
        s.pending().map(|p| p.expires_at.timestamp()),
        to_json(s)?,
        micros(s.created_at),
        micros(s.updated_at),
    ];
    let sql = if insert {
        "INSERT INTO subscribers (id, email, phone, status, pending_expires_at, profile, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    } else {
        "UPDATE subscribers SET email = ?2, phone = ?3, status = ?4, pending_expires_at = ?5,
         profile = ?6, created_at = ?7, updated_at = ?8 WHERE id = ?1"
    };
    let changed = tx
        .prepare_cached(sql)
        .and_then(|mut st| st.execute(args))
        .map_err(sql_err)?;
    if changed != 1 {
        return Err(StoreError::NotFound(format!("subscriber {id} to update")));
    }
    tx.prepare_cached("DELETE FROM subscriptions WHERE subscriber_id = ?1")
        .and_then(|mut st| st.execute([&id]))
        .map_err(sql_err)?;
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO subscriptions (subscriber_id, topic, channel, shard_key) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(sql_err)?;
    let shard_key = s.id.shard_key();
    for c in &s.choices {
        stmt.execute(params![id, c.topic.as_str(), c.channel.as_str(), shard_key])
            .map_err(sql_err)?;
    }
    Ok(())
}

/// `%text%` for LIKE, with LIKE's own wildcards (and the escape character) taken literally.
fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// The statement and arguments of a staff search.
fn search_sql(q: &SubscriberQuery) -> (String, Vec<Value>) {
    let mut sql = String::from("SELECT profile FROM subscribers sub WHERE 1 = 1");
    let mut args = Vec::new();
    if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let (compact, international) = PhoneNumber::search_fragments(text);
        sql.push_str(
            " AND (sub.email LIKE ? ESCAPE '\\' OR sub.phone LIKE ? ESCAPE '\\' OR sub.phone LIKE ? ESCAPE '\\')",
        );
        args.extend([text, &compact, &international].map(|t| Value::Text(contains_pattern(t))));
    }
    if let Some(topic) = &q.topic {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.subscriber_id = sub.id AND s.topic = ?)",
        );
        args.push(Value::Text(topic.as_str().to_owned()));
    }
    if let Some(status) = q.status {
        sql.push_str(" AND sub.status = ?");
        args.push(Value::Text(status.as_str().to_owned()));
    }
    sql.push_str(" ORDER BY sub.created_at DESC, sub.id DESC LIMIT ? OFFSET ?");
    args.push(Value::Integer(sql_int(q.limit)));
    args.push(Value::Integer(sql_int(q.offset)));
    (sql, args)
}

/// Subscribers `insert_many` writes in one transaction.
const INSERT_CHUNK: usize = 1000;

impl SqliteStore {
    async fn find_one(
        &self,
        column: &'static str,
        value: String,
    ) -> Result<Option<Subscriber>, StoreError> {
        let json = self
            .db
            .call(move |c| {
                c.prepare_cached(&format!(
                    "SELECT profile FROM subscribers WHERE {column} = ?1"
                ))
                .and_then(|mut st| st.query_row([value], |r| r.get::<_, String>(0)).optional())
                .map_err(sql_err)
            })
            .await?;
        json.as_deref().map(profile).transpose()
    }

    async fn write(&self, s: &Subscriber, insert: bool) -> Result<(), StoreError> {
        let s = s.clone();
        self.db
            .write(move |tx| write_subscriber(tx, &s, insert))
            .await
    }

    /// One chunk of `insert_many`, in one transaction.
    async fn insert_chunk(
        &self,
        subscribers: Vec<Subscriber>,
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        self.db
            .write(move |tx| {
                let mut answers = Vec::with_capacity(subscribers.len());
                for s in &subscribers {
                    tx.execute_batch("SAVEPOINT line").map_err(sql_err)?;
                    match write_subscriber(tx, s, true) {
                        Ok(()) => {
                            tx.execute_batch("RELEASE line").map_err(sql_err)?;
                            answers.push(Ok(()));
                        }
                        Err(StoreError::Conflict(what)) => {
                            tx.execute_batch("ROLLBACK TO line; RELEASE line")
                                .map_err(sql_err)?;
                            answers.push(Err(StoreError::Conflict(what)));
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(answers)
            })
            .await
    }

    /// Creates many subscribers in one transaction: all or none (a clash of addresses is a
    /// `Conflict` and writes nothing).
    pub async fn insert_all(&self, subscribers: Vec<Subscriber>) -> Result<(), StoreError> {
        self.db
            .write(move |tx| {
                subscribers
                    .iter()
                    .try_for_each(|s| write_subscriber(tx, s, true))
            })
            .await
    }
}

#[async_trait]
impl SubscriberStore for SqliteStore {
    async fn get(&self, id: SubscriberId) -> Result<Option<Subscriber>, StoreError> {
        self.find_one("id", id.to_string()).await
    }

    async fn find_by_email(&self, email: &Email) -> Result<Option<Subscriber>, StoreError> {
        self.find_one("email", email.as_str().to_owned()).await
    }

    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<Subscriber>, StoreError> {
        self.find_one("phone", phone.as_str().to_owned()).await
    }

    async fn insert(&self, subscriber: &Subscriber) -> Result<(), StoreError> {
        self.write(subscriber, true).await
    }

    async fn insert_many(
        &self,
        subscribers: &[Subscriber],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        // One transaction per chunk (an import of thousands of lines writes in seconds, and a
        // chunk's memory stays small); each subscriber in a savepoint of its own, so a clash
        // undoes that one only.
        let mut answers = Vec::with_capacity(subscribers.len());
        for chunk in subscribers.chunks(INSERT_CHUNK) {
            answers.extend(self.insert_chunk(chunk.to_vec()).await?);
        }
        Ok(answers)
    }

    async fn update(&self, subscriber: &Subscriber) -> Result<(), StoreError> {
        self.write(subscriber, false).await
    }

    async fn delete(&self, id: SubscriberId) -> Result<bool, StoreError> {
        self.db
            .write(move |tx| {
                let id = id.to_string();
                tx.prepare_cached(ERASE_FINISHED_DELIVERIES)
                    .and_then(|mut st| st.execute([&id]))
                    .map_err(sql_err)?;
                for erase in [
                    "DELETE FROM reach_reports WHERE subscriber_id = ?1",
                    "DELETE FROM acknowledgements WHERE subscriber_id = ?1",
                ] {
                    tx.prepare_cached(erase)
                        .and_then(|mut st| st.execute([&id]))
                        .map_err(sql_err)?;
                }
                tx.prepare_cached("DELETE FROM subscribers WHERE id = ?1")
                    .and_then(|mut st| st.execute([&id]))
                    .map(|n| n > 0)
                    .map_err(sql_err)
            })
            .await
    }

    async fn purge_expired_pending(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.db
            .call(move |c| {
                c.execute(
                    "DELETE FROM subscribers WHERE status = 'pending' AND pending_expires_at < ?1",
                    [now.timestamp()],
                )
                .map(|n| n as u64)
                .map_err(sql_err)
            })
            .await
    }
}

#[async_trait]
impl AudienceStore for SqliteStore {
    async fn get_many(&self, ids: &[SubscriberId]) -> Result<Vec<Subscriber>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = ids.iter().map(SubscriberId::to_string).collect();
        let (ids, mut rows) = self
            .db
            .call(move |c| {
                let mut rows = HashMap::with_capacity(ids.len());
                for chunk in ids.chunks(IN_CHUNK) {
                    let sql = format!(
                        "SELECT id, profile FROM subscribers WHERE id IN ({})",
                        placeholders(chunk.len())
                    );
                    let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
                    let found = st
                        .query_map(params_from_iter(chunk), |r| {
                            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                        })
                        .map_err(sql_err)?;
                    for row in found {
                        let (id, json) = row.map_err(sql_err)?;
                        rows.insert(id, json);
                    }
                }
                Ok((ids, rows))
            })
            .await?;
        // In the order asked, each once.
        ids.iter()
            .filter_map(|id| rows.remove(id))
            .map(|json| profile(&json))
            .collect()
    }

    async fn changed_since(
        &self,
        ids: &[SubscriberId],
        since: DateTime<Utc>,
    ) -> Result<HashSet<SubscriberId>, StoreError> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let asked: Vec<String> = ids.iter().map(SubscriberId::to_string).collect();
        // Every change goes through `update` with a new `updated_at`; an erased row is gone.
        let unchanged = self
            .db
            .call(move |c| {
                let mut unchanged = HashSet::new();
                for chunk in asked.chunks(IN_CHUNK - 1) {
                    let mut st = c
                        .prepare_cached(&unchanged_sql(chunk.len()))
                        .map_err(sql_err)?;
                    let args = std::iter::once(Value::Integer(micros(since)))
                        .chain(chunk.iter().cloned().map(Value::Text));
                    let found = st
                        .query_map(params_from_iter(args), |r| r.get::<_, String>(0))
                        .map_err(sql_err)?;
                    for id in found {
                        unchanged.insert(id.map_err(sql_err)?);
                    }
                }
                Ok(unchanged)
            })
            .await?;
        Ok(ids
            .iter()
            .filter(|id| !unchanged.contains(&id.to_string()))
            .copied()
            .collect())
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
        let sql = recipients_sql(channel);
        let args = (
            topic.as_str().to_owned(),
            channel.as_str(),
            // The empty string sorts before every id.
            after.map(|a| a.to_string()).unwrap_or_default(),
            i64::from(shards.max(1)),
            i64::from(shard),
            sql_int(limit),
        );
        let rows = self
            .db
            .call(move |c| {
                let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
                let rows = st
                    .query_map(args, |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        rows.into_iter()
            .map(|(id, address)| {
                Ok(Recipient {
                    id: parse_id(&id)?,
                    address: Address::from_stored(channel, address)
                        .map_err(|e| corrupt("recipient address", e))?,
                })
            })
            .collect()
    }
}

#[async_trait]
impl SubscriberReports for SqliteStore {
    async fn count_recipients(
        &self,
        topics: &[TopicSlug],
        channel: Channel,
    ) -> Result<u64, StoreError> {
        if topics.is_empty() {
            return Ok(0);
        }
        let col = address_column(channel);
        // Each subscriber counted at their first topic of the list (no other of the list sorts
        // before it): the rows stream from the indexes, where a DISTINCT builds a temporary
        // B-tree of every id (in memory: temp_store), growing with the audience.
        let topic_args: Vec<String> = (2..topics.len() + 2).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "SELECT COUNT(*)
             FROM subscriptions s CROSS JOIN subscribers sub ON sub.id = s.subscriber_id
             WHERE s.channel = ?1 AND s.topic IN ({topics})
               AND NOT EXISTS (SELECT 1 FROM subscriptions e
                               WHERE e.subscriber_id = s.subscriber_id AND e.topic < s.topic
                                 AND e.channel = s.channel AND e.topic IN ({topics}))
               AND sub.status = 'active' AND sub.{col} IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM suppressions x WHERE x.address = sub.{col})",
            topics = topic_args.join(", ")
        );
        let mut args = vec![channel.as_str().to_owned()];
        args.extend(topics.iter().map(|t| t.as_str().to_owned()));
        self.db
            .call(move |c| {
                c.prepare_cached(&sql)
                    .and_then(|mut st| st.query_row(params_from_iter(args), |r| r.get::<_, i64>(0)))
                    .map(|n| n as u64)
                    .map_err(sql_err)
            })
            .await
    }

    async fn search(&self, query: &SubscriberQuery) -> Result<Vec<Subscriber>, StoreError> {
        let (sql, args) = search_sql(query);
        let rows = self
            .db
            .call(move |c| {
                let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
                let rows = st
                    .query_map(params_from_iter(args), |r| r.get::<_, String>(0))
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        rows.iter().map(|json| profile(json)).collect()
    }

    async fn count_by_topic(&self) -> Result<Vec<(TopicSlug, Channel, u64)>, StoreError> {
        let rows = self
            .db
            .call(|c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT s.topic, s.channel, COUNT(*)
                         FROM subscriptions s CROSS JOIN subscribers sub ON sub.id = s.subscriber_id
                         WHERE sub.status = 'active'
                         GROUP BY s.topic, s.channel
                         ORDER BY s.topic, s.channel",
                    )
                    .map_err(sql_err)?;
                let rows = st
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                        ))
                    })
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        rows.into_iter()
            .map(|(topic, channel, n)| {
                let topic = TopicSlug::from_str(&topic).map_err(|e| corrupt("topic slug", e))?;
                Ok((topic, parse_channel(&channel)?, n as u64))
            })
            .collect()
    }

    /// Two passes over the subscribers, each active profile's JSON read by `json_each`: the
    /// zones live only in the profile (no column, no index to keep), and the cost, linear in the
    /// file, is paid only when staff open the statistics, never while sending.
    async fn count_by_zone(&self) -> Result<Vec<(Option<ZoneSlug>, u64)>, StoreError> {
        let rows = self
            .db
            .call(|c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT z.value, COUNT(*)
                         FROM subscribers sub, json_each(sub.profile, '$.zones') z
                         WHERE sub.status = 'active'
                         GROUP BY z.value
                         UNION ALL
                         SELECT NULL, COUNT(*) FROM subscribers
                         WHERE status = 'active'
                           AND COALESCE(json_array_length(profile, '$.zones'), 0) = 0",
                    )
                    .map_err(sql_err)?;
                let rows = st
                    .query_map([], |r| {
                        Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
                    })
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        rows.into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|(zone, n)| {
                let zone = zone
                    .map(|z| ZoneSlug::from_str(&z).map_err(|e| corrupt("zone slug", e)))
                    .transpose()?;
                Ok((zone, n as u64))
            })
            .collect()
    }

    async fn page_all(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Subscriber>, Option<String>), StoreError> {
        let after = cursor.unwrap_or_default().to_owned();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<(String, String)> = self
            .db
            .call(move |c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT id, profile FROM subscribers WHERE id > ?1 ORDER BY id LIMIT ?2",
                    )
                    .map_err(sql_err)?;
                let rows = st
                    .query_map(params![after, limit], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        let next = (rows.len() as i64 == limit)
            .then(|| rows.last().map(|(id, _)| id.clone()))
            .flatten();
        let page = rows
            .iter()
            .map(|(_, json)| profile(json))
            .collect::<Result<_, _>>()?;
        Ok((page, next))
    }
}

/// Which of `n` subscribers (`?2`…) are unchanged since `?1`: read from the sending index
/// (id and updated_at), never the row.
fn unchanged_sql(n: usize) -> String {
    format!(
        "SELECT id FROM subscribers INDEXED BY subscribers_sending
         WHERE updated_at < ? AND id IN ({})",
        placeholders(n)
    )
}

/// A page of one topic's recipients on `channel` (topic, channel, after, shards, shard, limit).
fn recipients_sql(channel: Channel) -> String {
    let col = address_column(channel);
    // CROSS JOIN keeps the membership index as the outer loop: it yields rows in id order
    // from `after` on, filtered by shard, so the page stops after `limit` hits. Status and
    // address come from the sending index, in the same id order.
    format!(
        "SELECT s.subscriber_id, sub.{col}
         FROM subscriptions s CROSS JOIN subscribers sub INDEXED BY subscribers_sending
           ON sub.id = s.subscriber_id
         WHERE s.topic = ?1 AND s.channel = ?2 AND s.subscriber_id > ?3 AND s.shard_key % ?4 = ?5
           AND sub.status = 'active' AND sub.{col} IS NOT NULL
         ORDER BY s.subscriber_id
         LIMIT ?6"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sending_reads_subscribers_from_the_sending_index_not_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        let db = crate::db::Db::open(&dir.path().join("t.sqlite")).unwrap();
        let plans = db
            .call(|c| {
                let plan = |sql: String, args: usize| {
                    let mut st = c
                        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                        .map_err(sql_err)?;
                    let rows = st
                        .query_map(params_from_iter(vec![Value::Integer(1); args]), |r| {
                            r.get::<_, String>(3)
                        })
                        .map_err(sql_err)?;
                    rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
                };
                Ok([
                    plan(unchanged_sql(3), 4)?,
                    plan(recipients_sql(Channel::Email), 6)?,
                    plan(recipients_sql(Channel::Sms), 6)?,
                ])
            })
            .await
            .unwrap();
        for plan in plans {
            let subscribers: Vec<&String> = plan
                .iter()
                .filter(|d| d.contains(" subscribers ") || d.contains(" sub "))
                .collect();
            assert_eq!(subscribers.len(), 1, "{plan:#?}");
            assert!(
                subscribers[0].contains("USING COVERING INDEX subscribers_sending"),
                "{plan:#?}"
            );
        }
    }

    #[test]
    fn like_wildcards_are_taken_literally() {
        assert_eq!(contains_pattern("a_b%c\\d"), "%a\\_b\\%c\\\\d%");
    }
}
