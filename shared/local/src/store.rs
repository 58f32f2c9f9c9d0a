//! SQLite implementations of the store ports.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use telmail_core::contact::{Email, PhoneNumber};
use telmail_core::error::StoreError;
use telmail_core::ports::{Counter, StatsStore, SubscriberStore, TopicStore};
use telmail_core::subscriber::{Subscriber, SubscriberId};
use telmail_core::topic::{Topic, TopicKind, TopicSlug};

use crate::db::{sql_err, Db};

/// The embedded store: subscribers, topics and counters in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    /// A store over an open database.
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("corrupt {what}: {e}"))
}

fn subscriber_from_json(json: String) -> Result<Subscriber, StoreError> {
    serde_json::from_str(&json).map_err(|e| corrupt("subscriber profile", e))
}

fn write_subscriber(tx: &Transaction<'_>, s: &Subscriber, insert: bool) -> Result<(), StoreError> {
    let profile = serde_json::to_string(s).map_err(|e| StoreError::Backend(e.to_string()))?;
    let expires = s.pending.as_ref().map(|p| p.expires_at.timestamp());
    let args = params![
        s.id.to_string(),
        s.email.as_ref().map(Email::as_str),
        s.phone.as_ref().map(PhoneNumber::as_str),
        s.status.as_str(),
        expires,
        profile,
        s.created_at.to_rfc3339(),
        s.updated_at.to_rfc3339(),
    ];
    let changed = if insert {
        tx.execute(
            "INSERT INTO subscribers (id, email, phone, status, pending_expires_at, profile, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            args,
        )
    } else {
        tx.execute(
            "UPDATE subscribers SET email = ?2, phone = ?3, status = ?4, pending_expires_at = ?5,
             profile = ?6, created_at = ?7, updated_at = ?8 WHERE id = ?1",
            args,
        )
    }
    .map_err(sql_err)?;
    if changed != 1 {
        return Err(StoreError::Backend(format!(
            "subscriber {} not found for update",
            s.id
        )));
    }
    tx.execute(
        "DELETE FROM subscriptions WHERE subscriber_id = ?1",
        [s.id.to_string()],
    )
    .map_err(sql_err)?;
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO subscriptions (subscriber_id, topic, channel) VALUES (?1, ?2, ?3)",
        )
        .map_err(sql_err)?;
    for c in &s.choices {
        stmt.execute(params![
            s.id.to_string(),
            c.topic.as_str(),
            c.channel.as_str()
        ])
        .map_err(sql_err)?;
    }
    Ok(())
}

impl SqliteStore {
    async fn find_one(
        &self,
        column: &'static str,
        value: String,
    ) -> Result<Option<Subscriber>, StoreError> {
        let json = self
            .db
            .call(move |c| {
                c.query_row(
                    &format!("SELECT profile FROM subscribers WHERE {column} = ?1"),
                    [value],
                    |r| r.get::<_, String>(0),
                )
                .optional()
                .map_err(sql_err)
            })
            .await?;
        json.map(subscriber_from_json).transpose()
    }

    async fn write(&self, s: &Subscriber, insert: bool) -> Result<(), StoreError> {
        let s = s.clone();
        self.db
            .call(move |c| {
                let tx = c.transaction().map_err(sql_err)?;
                write_subscriber(&tx, &s, insert)?;
                tx.commit().map_err(sql_err)
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

    async fn update(&self, subscriber: &Subscriber) -> Result<(), StoreError> {
        self.write(subscriber, false).await
    }

    async fn delete(&self, id: SubscriberId) -> Result<bool, StoreError> {
        self.db
            .call(move |c| {
                c.execute("DELETE FROM subscribers WHERE id = ?1", [id.to_string()])
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

fn topic_from_row(
    r: &Row<'_>,
) -> rusqlite::Result<(String, String, String, String, Option<String>, bool)> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn topic_from_parts(
    (slug, name, description, kind, ends_on, active): (
        String,
        String,
        String,
        String,
        Option<String>,
        bool,
    ),
) -> Result<Topic, StoreError> {
    Ok(Topic {
        slug: TopicSlug::parse(&slug).map_err(|e| corrupt("topic slug", e))?,
        name,
        description,
        kind: match kind.as_str() {
            "temporary" => TopicKind::Temporary,
            "permanent" => TopicKind::Permanent,
            other => return Err(corrupt("topic kind", other)),
        },
        ends_on: ends_on
            .map(|d| {
                NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|e| corrupt("topic end date", e))
            })
            .transpose()?,
        active,
    })
}

const TOPIC_COLUMNS: &str = "slug, name, description, kind, ends_on, active";

#[async_trait]
impl TopicStore for SqliteStore {
    async fn list(&self) -> Result<Vec<Topic>, StoreError> {
        let rows = self
            .db
            .call(|c| {
                let mut stmt = c
                    .prepare_cached(&format!(
                        "SELECT {TOPIC_COLUMNS} FROM topics ORDER BY position"
                    ))
                    .map_err(sql_err)?;
                let rows = stmt.query_map([], topic_from_row).map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        rows.into_iter().map(topic_from_parts).collect()
    }

    async fn get(&self, slug: &TopicSlug) -> Result<Option<Topic>, StoreError> {
        let slug = slug.as_str().to_owned();
        let row = self
            .db
            .call(move |c| {
                c.query_row(
                    &format!("SELECT {TOPIC_COLUMNS} FROM topics WHERE slug = ?1"),
                    [slug],
                    topic_from_row,
                )
                .optional()
                .map_err(sql_err)
            })
            .await?;
        row.map(topic_from_parts).transpose()
    }

    async fn insert_if_absent(&self, topic: &Topic) -> Result<bool, StoreError> {
        let t = topic.clone();
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO topics (slug, position, name, description, kind, ends_on, active)
                     VALUES (?1, (SELECT COALESCE(MAX(position), 0) + 1 FROM topics), ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (slug) DO NOTHING",
                    params![
                        t.slug.as_str(),
                        t.name,
                        t.description,
                        t.kind.as_str(),
                        t.ends_on.map(|d| d.format("%Y-%m-%d").to_string()),
                        t.active
                    ],
                )
                .map(|n| n == 1)
                .map_err(sql_err)
            })
            .await
    }
}

#[async_trait]
impl StatsStore for SqliteStore {
    async fn add(&self, month: &str, counter: Counter, n: i64) -> Result<(), StoreError> {
        let month = month.to_owned();
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO monthly_counters (month, counter, value) VALUES (?1, ?2, ?3)
                     ON CONFLICT (month, counter) DO UPDATE SET value = value + excluded.value",
                    params![month, counter.as_str(), n],
                )
                .map(|_| ())
                .map_err(sql_err)
            })
            .await
    }

    async fn get(&self, month: &str, counter: Counter) -> Result<i64, StoreError> {
        let month = month.to_owned();
        self.db
            .call(move |c| {
                c.query_row(
                    "SELECT value FROM monthly_counters WHERE month = ?1 AND counter = ?2",
                    params![month, counter.as_str()],
                    |r| r.get(0),
                )
                .optional()
                .map(|v| v.unwrap_or(0))
                .map_err(sql_err)
            })
            .await
    }
}
