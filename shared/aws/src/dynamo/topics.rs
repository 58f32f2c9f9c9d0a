//! Topics: one partition (`TOPICS`), an item per topic (`TOPIC#<slug>`, JSON and position) and
//! a counter (`SEQ`) handing out positions, so the list keeps the order of creation.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use telmail_core::domain::topic::{Topic, TopicSlug};
use telmail_core::error::StoreError;
use telmail_core::ports::TopicStore;

use super::items::{self, json, key, n, s, Fields};
use super::keys::{self, TOPICS, TOPIC_PREFIX, TOPIC_SEQ};
use super::DynamoStore;
use crate::errors::store_error;

impl DynamoStore {
    /// The next topic position (a gap is left when the insert then finds the slug taken).
    async fn next_topic_position(&self) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(TOPICS, TOPIC_SEQ)))
            .update_expression("ADD #next :one")
            .expression_attribute_names("#next", "next")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| store_error("DynamoDB UpdateItem (topic position)", e))?;
        let attributes = out.attributes.unwrap_or_default();
        Fields(&attributes).num("next")
    }
}

#[async_trait]
impl TopicStore for DynamoStore {
    async fn list(&self) -> Result<Vec<Topic>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(TOPICS))
            .expression_attribute_values(":prefix", s(TOPIC_PREFIX))
            .consistent_read(true);
        let mut found = items::query(q, usize::MAX, |item| {
            let f = Fields(item);
            Ok(Some((f.num::<u64>("position")?, f.json::<Topic>("topic")?)))
        })
        .await?;
        found.sort_by_key(|(position, _)| *position);
        Ok(found.into_iter().map(|(_, t)| t).collect())
    }

    async fn get(&self, slug: &TopicSlug) -> Result<Option<Topic>, StoreError> {
        items::get_consistent(
            &self.client,
            &self.table,
            key(TOPICS, keys::topic(slug)),
            None,
            "topic",
        )
        .await?
        .as_ref()
        .map(|i| Fields(i).json("topic"))
        .transpose()
    }

    async fn insert_if_absent(&self, topic: &Topic) -> Result<bool, StoreError> {
        // Seeding runs at every start: a read spares the counter when the topic exists.
        if TopicStore::get(self, &topic.slug).await?.is_some() {
            return Ok(false);
        }
        let position = self.next_topic_position().await?;
        let mut item = key(TOPICS, keys::topic(&topic.slug));
        item.insert("topic".into(), json(topic)?);
        item.insert("position".into(), n(position));
        self.put_new(item, "DynamoDB PutItem (topic)").await
    }

    async fn update(&self, topic: &Topic) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(TOPICS, keys::topic(&topic.slug))))
            .update_expression("SET #topic = :topic")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#topic", "topic")
            .expression_attribute_values(":topic", json(topic)?);
        items::conditional("DynamoDB UpdateItem (topic)", update.send()).await
    }
}

impl DynamoStore {
    /// Writes `item` unless an item with its key exists: true when written, false when taken.
    pub(super) async fn put_new(
        &self,
        item: super::items::Item,
        what: &'static str,
    ) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)");
        items::conditional(what, put.send()).await
    }
}
