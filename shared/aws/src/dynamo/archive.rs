//! The public archive. Each published message is a small partition (`ARCHIVE#<id>`): the
//! message (`META`), a copy per topic (`TOPIC#<slug>`) and one for the agenda (`AGENDA`) when it
//! announces an event. The copies are what the pages read, through the index: `gsi1pk` =
//! `ARCHIVE` (every message), `ARCHIVE#TOPIC#<slug>` or `ARCHIVE#AGENDA`, `gsi1sk` =
//! `<sent_at stamp>#<id>` (`<event date>#<id>` for the agenda). A page is one Query, newest
//! first, whatever the number of subscribers; no request of the website scans the table. A
//! withdrawn message keeps its `META` item, marked `withdrawn` and out of the index, so that a
//! later publication of the same campaign is refused by the put's condition. The weather alerts
//! the website shows are one item, `PUBLIC` / `ALERTS`. Withdrawing updates the partition's items
//! (never deletes them): the staff functions hold no delete permission.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use telmail_core::domain::archive::{ArchiveCursor, ArchivedMessage, PublicAlerts};
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::topic::TopicSlug;
use telmail_core::error::StoreError;
use telmail_core::ports::ArchiveStore;

use super::items::{self, json, key, s, Condition, Fields, Item, Transaction};
use super::keys::{self, META};
use super::table::TABLE_GSI1;
use super::DynamoStore;
use crate::errors::store_error;

/// Index partition of every published message.
const ARCHIVE: &str = "ARCHIVE";
/// Index partition of the messages announcing an event.
const AGENDA: &str = "ARCHIVE#AGENDA";
/// Sort key of a message's agenda copy.
const AGENDA_SK: &str = "AGENDA";
/// Sort-key prefix of a message's copy for one topic.
const TOPIC_PREFIX: &str = "TOPIC#";
/// Partition and sort key of the weather alerts record.
const PUBLIC: (&str, &str) = ("PUBLIC", "ALERTS");
/// Conflict text of a publication refused because staff withdrew the message.
const WITHDRAWN: &str = "message withdrawn from the archive";

fn partition(id: CampaignId) -> String {
    format!("ARCHIVE#{id}")
}

fn topic_list(topic: &TopicSlug) -> String {
    format!("ARCHIVE#TOPIC#{topic}")
}

fn position(cursor: &ArchiveCursor) -> String {
    format!("{}#{}", keys::stamp(cursor.sent_at), cursor.id)
}

/// An item of the message's partition, listed in the index at (`list`, `sort`).
fn copy(m: &ArchivedMessage, sk: &str, list: &str, sort: &str) -> Result<Item, StoreError> {
    let mut item = key(partition(m.id), sk);
    item.insert("body".into(), json(m)?);
    item.insert("gsi1pk".into(), s(list));
    item.insert("gsi1sk".into(), s(sort));
    Ok(item)
}

impl DynamoStore {
    /// The published messages of an index partition, in `forward` order of its sort key, past
    /// `after`.
    async fn archive_list(
        &self,
        list: &str,
        after: Option<String>,
        forward: bool,
        limit: usize,
    ) -> Result<Vec<ArchivedMessage>, StoreError> {
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TABLE_GSI1)
            .expression_attribute_values(":list", s(list))
            .scan_index_forward(forward)
            .limit(i32::try_from(limit.min(100)).unwrap_or(100));
        q = match after {
            Some(after) => q
                .key_condition_expression(if forward {
                    "gsi1pk = :list AND gsi1sk >= :after"
                } else {
                    "gsi1pk = :list AND gsi1sk < :after"
                })
                .expression_attribute_values(":after", s(after)),
            None => q.key_condition_expression("gsi1pk = :list"),
        };
        items::query(q, limit, |item| Fields(item).json("body").map(Some)).await
    }
}

#[async_trait]
impl ArchiveStore for DynamoStore {
    async fn publish(&self, m: &ArchivedMessage) -> Result<bool, StoreError> {
        let sort = position(&m.cursor());
        let mut tx = Transaction::new(&self.table);
        tx.put(
            copy(m, META, ARCHIVE, &sort)?,
            Some(Condition::new("attribute_not_exists(withdrawn)")),
            WITHDRAWN,
        )?;
        for topic in &m.topics {
            let sk = format!("{TOPIC_PREFIX}{topic}");
            tx.put(
                copy(m, &sk, &topic_list(topic), &sort)?,
                None,
                "archive topic",
            )?;
        }
        if let Some(day) = m.event_date {
            let sort = format!("{day}#{}", m.id);
            tx.put(copy(m, AGENDA_SK, AGENDA, &sort)?, None, "archive agenda")?;
        }
        match tx.commit(&self.client).await {
            Ok(()) => Ok(true),
            Err(StoreError::Conflict(what)) if what == WITHDRAWN => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn archived(&self, id: CampaignId) -> Result<Option<ArchivedMessage>, StoreError> {
        let item = items::get_eventual(
            &self.client,
            &self.table,
            key(partition(id), META),
            None,
            "archive",
        )
        .await?;
        match item {
            Some(item) if !item.contains_key("withdrawn") => Fields(&item).json("body").map(Some),
            _ => Ok(None),
        }
    }

    async fn archive_page(
        &self,
        topic: Option<&TopicSlug>,
        after: Option<ArchiveCursor>,
        limit: usize,
    ) -> Result<Vec<ArchivedMessage>, StoreError> {
        let list = topic.map_or_else(|| ARCHIVE.to_owned(), topic_list);
        self.archive_list(&list, after.as_ref().map(position), false, limit)
            .await
    }

    async fn agenda(
        &self,
        from: NaiveDate,
        limit: usize,
    ) -> Result<Vec<ArchivedMessage>, StoreError> {
        self.archive_list(AGENDA, Some(from.to_string()), true, limit)
            .await
    }

    async fn withdraw(&self, id: CampaignId) -> Result<bool, StoreError> {
        let mark = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(partition(id), META)))
            .update_expression("SET withdrawn = :yes REMOVE gsi1pk, gsi1sk")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(withdrawn)")
            .expression_attribute_values(
                ":yes",
                aws_sdk_dynamodb::types::AttributeValue::Bool(true),
            );
        if !items::conditional("DynamoDB UpdateItem (archive)", mark.send()).await? {
            return Ok(false);
        }
        // The copies the pages read leave the index too (the message's own partition: a few
        // items). Updated, not deleted: the functions serving staff never delete items.
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(partition(id)))
            .projection_expression("pk, sk");
        let copies = items::query(q, usize::MAX, |item| {
            let sk = Fields(item).str("sk")?.to_owned();
            Ok((sk != META).then_some(sk))
        })
        .await?;
        for sk in copies {
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(partition(id), sk)))
                .update_expression("SET withdrawn = :yes REMOVE gsi1pk, gsi1sk")
                .expression_attribute_values(":yes", AttributeValue::Bool(true))
                .send()
                .await
                .map_err(|e| store_error("DynamoDB UpdateItem (archive copy)", e))?;
        }
        Ok(true)
    }

    async fn public_alerts(&self) -> Result<PublicAlerts, StoreError> {
        items::get_eventual(
            &self.client,
            &self.table,
            key(PUBLIC.0, PUBLIC.1),
            None,
            "public alerts",
        )
        .await?
        .as_ref()
        .map(|i| Fields(i).json("body"))
        .transpose()
        .map(Option::unwrap_or_default)
    }

    async fn save_public_alerts(&self, alerts: &PublicAlerts) -> Result<(), StoreError> {
        let mut item = key(PUBLIC.0, PUBLIC.1);
        item.insert("body".into(), json(alerts)?);
        self.put(item, "public alerts").await
    }
}
