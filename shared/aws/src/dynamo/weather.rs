//! The weather relay's records in one small partition (`WEATHER`): an item per alert in force
//! (`ALERT#<domain>#<phenomenon>`, its colour compared in the put's condition) and named
//! documents (`DOC#<name>`: templates, the feed's state).

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::Serialize;
use telmail_core::domain::alert_templates::AlertTemplates;
use telmail_core::domain::weather::{AlertInForce, FeedState};
use telmail_core::error::StoreError;
use telmail_core::ports::WeatherStore;

use super::items::{self, json, key, n, s, Fields};
use super::keys::{self, ALERT_PREFIX, WEATHER};
use super::DynamoStore;

const TEMPLATES: &str = "weather_templates";
const FEED_STATE: &str = "weather_feed_state";

impl DynamoStore {
    async fn document<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        items::get_consistent(
            &self.client,
            &self.table,
            key(WEATHER, keys::document(name)),
            None,
            "document",
        )
        .await?
        .as_ref()
        .map(|i| Fields(i).json("body"))
        .transpose()
    }

    async fn save_document<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StoreError> {
        let mut item = key(WEATHER, keys::document(name));
        item.insert("body".into(), json(value)?);
        self.put(item, "document").await
    }
}

#[async_trait]
impl WeatherStore for DynamoStore {
    async fn raise(&self, alert: &AlertInForce) -> Result<bool, StoreError> {
        let source = &alert.source;
        let mut item = key(WEATHER, keys::alert(&source.domain, source.phenomenon.id()));
        item.insert("colour".into(), n(source.colour.id()));
        item.insert("campaign".into(), s(alert.campaign.to_string()));
        item.insert("alert".into(), json(alert)?);
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR colour < :colour")
            .expression_attribute_values(":colour", n(source.colour.id()));
        items::conditional("DynamoDB PutItem (weather alert)", put.send()).await
    }

    async fn in_force(&self) -> Result<Vec<AlertInForce>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(WEATHER))
            .expression_attribute_values(":prefix", s(ALERT_PREFIX))
            .consistent_read(true);
        items::query(q, usize::MAX, |item| Fields(item).json("alert").map(Some)).await
    }

    async fn lift(&self, alert: &AlertInForce) -> Result<bool, StoreError> {
        let source = &alert.source;
        let delete = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(
                WEATHER,
                keys::alert(&source.domain, source.phenomenon.id()),
            )))
            .condition_expression("campaign = :campaign")
            .expression_attribute_values(":campaign", s(alert.campaign.to_string()));
        items::conditional("DynamoDB DeleteItem (weather alert)", delete.send()).await
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
