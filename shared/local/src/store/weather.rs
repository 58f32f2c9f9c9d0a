//! The weather relay's records: alerts in force (one row per domain and phenomenon, raised in
//! one conditional statement) and named documents (templates, the feed's state).

use async_trait::async_trait;
use rusqlite::params;
use telmail_core::domain::alert_templates::AlertTemplates;
use telmail_core::domain::weather::{AlertInForce, FeedState};
use telmail_core::error::StoreError;
use telmail_core::ports::WeatherStore;

use super::{from_json, to_json, SqliteStore};
use crate::db::sql_err;

/// Writes the alert unless its domain and phenomenon are in force at its colour or higher.
const RAISE: &str = "INSERT INTO weather_alerts (domain, phenomenon, colour, campaign_id, alert)
     VALUES (?1, ?2, ?3, ?4, ?5)
     ON CONFLICT (domain, phenomenon) DO UPDATE SET
        colour = excluded.colour, campaign_id = excluded.campaign_id, alert = excluded.alert
     WHERE weather_alerts.colour < excluded.colour";

const TEMPLATES: &str = "weather_templates";
const FEED_STATE: &str = "weather_feed_state";

#[async_trait]
impl WeatherStore for SqliteStore {
    async fn raise(&self, alert: &AlertInForce) -> Result<bool, StoreError> {
        let json = to_json(alert)?;
        let s = &alert.source;
        let (domain, phenomenon, colour) = (s.domain.clone(), s.phenomenon.id(), s.colour.id());
        let campaign = alert.campaign.to_string();
        self.db
            .write(move |tx| {
                tx.prepare_cached(RAISE)
                    .and_then(|mut st| {
                        st.execute(params![domain, phenomenon, colour, campaign, json])
                    })
                    .map(|n| n > 0)
                    .map_err(sql_err)
            })
            .await
    }

    async fn in_force(&self) -> Result<Vec<AlertInForce>, StoreError> {
        let rows: Vec<String> = self
            .db
            .call(|c| {
                let mut st = c
                    .prepare_cached("SELECT alert FROM weather_alerts ORDER BY domain, phenomenon")
                    .map_err(sql_err)?;
                let rows = st.query_map([], |r| r.get(0)).map_err(sql_err)?;
                rows.collect::<Result<_, _>>().map_err(sql_err)
            })
            .await?;
        rows.iter().map(|j| from_json("weather alert", j)).collect()
    }

    async fn lift(&self, alert: &AlertInForce) -> Result<bool, StoreError> {
        let s = &alert.source;
        let (domain, phenomenon) = (s.domain.clone(), s.phenomenon.id());
        let campaign = alert.campaign.to_string();
        self.db
            .write(move |tx| {
                tx.prepare_cached(
                    "DELETE FROM weather_alerts
                     WHERE domain = ?1 AND phenomenon = ?2 AND campaign_id = ?3",
                )
                .and_then(|mut st| st.execute(params![domain, phenomenon, campaign]))
                .map(|n| n > 0)
                .map_err(sql_err)
            })
            .await
    }

    async fn templates(&self) -> Result<Option<AlertTemplates>, StoreError> {
        self.document(TEMPLATES).await
    }

    async fn save_templates(&self, templates: &AlertTemplates) -> Result<(), StoreError> {
        self.save_document(TEMPLATES, templates).await
    }

    async fn feed_state(&self) -> Result<Option<FeedState>, StoreError> {
        self.document(FEED_STATE).await
    }

    async fn save_feed_state(&self, state: &FeedState) -> Result<(), StoreError> {
        self.save_document(FEED_STATE, state).await
    }
}
