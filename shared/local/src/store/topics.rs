//! Topics, in the order they were created.

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{OptionalExtension, Row};
use std::str::FromStr;
use telmail_core::domain::topic::{Topic, TopicKind, TopicSlug};
use telmail_core::error::StoreError;
use telmail_core::ports::TopicStore;

use super::{corrupt, SqliteStore};
use crate::db::sql_err;

type TopicRow = (String, String, String, String, Option<String>, bool);

/// The six stored columns of a topic, in the order the statements use: slug, name,
/// description, kind, end date, active.
fn topic_params(t: &Topic) -> (String, String, String, &'static str, Option<String>, bool) {
    (
        t.slug.to_string(),
        t.name.clone(),
        t.description.clone(),
        t.kind.as_str(),
        t.ends_on.map(|d| d.format("%Y-%m-%d").to_string()),
        t.active,
    )
}

fn topic_row(r: &Row<'_>) -> rusqlite::Result<TopicRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn topic_from_row(
    (slug, name, description, kind, ends_on, active): TopicRow,
) -> Result<Topic, StoreError> {
    Ok(Topic {
        slug: TopicSlug::from_str(&slug).map_err(|e| corrupt("topic slug", e))?,
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
                let rows = stmt.query_map([], topic_row).map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        rows.into_iter().map(topic_from_row).collect()
    }

    async fn get(&self, slug: &TopicSlug) -> Result<Option<Topic>, StoreError> {
        let slug = slug.as_str().to_owned();
        let row = self
            .db
            .call(move |c| {
                c.prepare_cached(&format!(
                    "SELECT {TOPIC_COLUMNS} FROM topics WHERE slug = ?1"
                ))
                .and_then(|mut st| st.query_row([slug], topic_row).optional())
                .map_err(sql_err)
            })
            .await?;
        row.map(topic_from_row).transpose()
    }

    async fn insert_if_absent(&self, topic: &Topic) -> Result<bool, StoreError> {
        let t = topic.clone();
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO topics (slug, position, name, description, kind, ends_on, active)
                     VALUES (?1, (SELECT COALESCE(MAX(position), 0) + 1 FROM topics), ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (slug) DO NOTHING",
                    topic_params(&t),
                )
                .map(|n| n == 1)
                .map_err(sql_err)
            })
            .await
    }

    async fn update(&self, topic: &Topic) -> Result<bool, StoreError> {
        let t = topic.clone();
        self.db
            .call(move |c| {
                c.execute(
                    "UPDATE topics SET name = ?2, description = ?3, kind = ?4, ends_on = ?5, active = ?6 WHERE slug = ?1",
                    topic_params(&t),
                )
                .map(|n| n == 1)
                .map_err(sql_err)
            })
            .await
    }
}
