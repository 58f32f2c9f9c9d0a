//! The public archive: one row per published message (JSON beside the columns its pages sort
//! and filter on), one row per (topic, message) for the per-topic pages, and the weather alerts
//! record as a named document.

use async_trait::async_trait;
use chrono::NaiveDate;
use rusqlite::{params, OptionalExtension};
use telmail_core::domain::archive::{ArchiveCursor, ArchivedMessage, PublicAlerts};
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::topic::TopicSlug;
use telmail_core::error::StoreError;
use telmail_core::ports::ArchiveStore;

use super::{from_json, sql_int, to_json, SqliteStore};
use crate::db::{micros, sql_err};

/// The document holding the weather alerts the website shows.
const PUBLIC_ALERTS: &str = "public-alerts";

fn messages(rows: Vec<String>) -> Result<Vec<ArchivedMessage>, StoreError> {
    rows.iter()
        .map(|j| from_json("archived message", j))
        .collect()
}

#[async_trait]
impl ArchiveStore for SqliteStore {
    async fn publish(&self, message: &ArchivedMessage) -> Result<bool, StoreError> {
        let m = message.clone();
        let json = to_json(&m)?;
        self.db
            .write(move |tx| {
                let id = m.id.to_string();
                let withdrawn: Option<bool> = tx
                    .prepare_cached("SELECT withdrawn FROM archive WHERE id = ?1")
                    .and_then(|mut st| st.query_row([&id], |r| r.get(0)).optional())
                    .map_err(sql_err)?;
                if withdrawn == Some(true) {
                    return Ok(false);
                }
                let at = micros(m.sent_at);
                tx.prepare_cached(
                    "INSERT INTO archive (id, sent_at, event_date, message) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO UPDATE SET sent_at = excluded.sent_at,
                       event_date = excluded.event_date, message = excluded.message",
                )
                .and_then(|mut st| {
                    st.execute(params![
                        id,
                        at,
                        m.event_date.map(|d| d.to_string()),
                        json
                    ])
                })
                .map_err(sql_err)?;
                tx.prepare_cached("DELETE FROM archive_topics WHERE id = ?1")
                    .and_then(|mut st| st.execute([&id]))
                    .map_err(sql_err)?;
                let mut st = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO archive_topics (topic, sent_at, id) VALUES (?1, ?2, ?3)",
                    )
                    .map_err(sql_err)?;
                for topic in &m.topics {
                    st.execute(params![topic.as_str(), at, id])
                        .map_err(sql_err)?;
                }
                Ok(true)
            })
            .await
    }

    async fn archived(&self, id: CampaignId) -> Result<Option<ArchivedMessage>, StoreError> {
        let json: Option<String> = self
            .db
            .call(move |c| {
                c.prepare_cached("SELECT message FROM archive WHERE id = ?1 AND withdrawn = 0")
                    .and_then(|mut st| st.query_row([id.to_string()], |r| r.get(0)).optional())
                    .map_err(sql_err)
            })
            .await?;
        json.map(|j| from_json("archived message", &j)).transpose()
    }

    async fn archive_page(
        &self,
        topic: Option<&TopicSlug>,
        after: Option<ArchiveCursor>,
        limit: usize,
    ) -> Result<Vec<ArchivedMessage>, StoreError> {
        let topic = topic.map(|t| t.as_str().to_owned());
        // No cursor: after the newest possible position.
        let (at, id) = after.map_or((i64::MAX, String::new()), |c| {
            (micros(c.sent_at), c.id.to_string())
        });
        let limit = sql_int(limit);
        let rows = self
            .db
            .call(move |c| {
                let sql = match topic {
                    Some(_) => {
                        "SELECT a.message FROM archive_topics t JOIN archive a ON a.id = t.id
                         WHERE t.topic = ?1 AND a.withdrawn = 0
                           AND (t.sent_at < ?2 OR (t.sent_at = ?2 AND t.id < ?3))
                         ORDER BY t.sent_at DESC, t.id DESC LIMIT ?4"
                    }
                    None => {
                        "SELECT message FROM archive
                         WHERE ?1 IS NULL AND withdrawn = 0
                           AND (sent_at < ?2 OR (sent_at = ?2 AND id < ?3))
                         ORDER BY sent_at DESC, id DESC LIMIT ?4"
                    }
                };
                let id = if at == i64::MAX { "g".to_owned() } else { id };
                let mut st = c.prepare_cached(sql).map_err(sql_err)?;
                let rows = st
                    .query_map(params![topic, at, id, limit], |r| r.get::<_, String>(0))
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        messages(rows)
    }

    async fn agenda(
        &self,
        from: NaiveDate,
        limit: usize,
    ) -> Result<Vec<ArchivedMessage>, StoreError> {
        let limit = sql_int(limit);
        let rows = self
            .db
            .call(move |c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT message FROM archive
                         WHERE withdrawn = 0 AND event_date IS NOT NULL AND event_date >= ?1
                         ORDER BY event_date, id LIMIT ?2",
                    )
                    .map_err(sql_err)?;
                let rows = st
                    .query_map(params![from.to_string(), limit], |r| r.get::<_, String>(0))
                    .map_err(sql_err)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
            })
            .await?;
        messages(rows)
    }

    async fn withdraw(&self, id: CampaignId) -> Result<bool, StoreError> {
        self.db
            .write(move |tx| {
                let id = id.to_string();
                let changed = tx
                    .prepare_cached(
                        "UPDATE archive SET withdrawn = 1 WHERE id = ?1 AND withdrawn = 0",
                    )
                    .and_then(|mut st| st.execute([&id]))
                    .map_err(sql_err)?;
                tx.prepare_cached("DELETE FROM archive_topics WHERE id = ?1")
                    .and_then(|mut st| st.execute([&id]))
                    .map_err(sql_err)?;
                Ok(changed > 0)
            })
            .await
    }

    async fn public_alerts(&self) -> Result<PublicAlerts, StoreError> {
        Ok(self.document(PUBLIC_ALERTS).await?.unwrap_or_default())
    }

    async fn save_public_alerts(&self, alerts: &PublicAlerts) -> Result<(), StoreError> {
        self.save_document(PUBLIC_ALERTS, alerts).await
    }
}
