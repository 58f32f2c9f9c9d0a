//! Records kept whole as JSON, one item each (`<partition>`, `META`): `body`, and a `version` a
//! write must name (a big-file job's step, a proposal's version), so that of two writers who read
//! the same version only the first is kept; listed newest first through the index
//! (`gsi1pk = <list>`, `gsi1sk = <created_at>`).

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use telmail_core::error::StoreError;

use super::items::{self, json, key, n, s, Fields, Item};
use super::keys::{self, META};
use super::table::TABLE_GSI1;
use super::DynamoStore;

/// A kind of versioned record.
#[derive(Clone, Copy)]
pub(super) struct Versioned {
    /// The index partition listing them.
    pub list: &'static str,
    /// What a record is, in errors.
    pub what: &'static str,
}

/// A record to write: where, when it was created, its version, the record, and other attributes.
pub(super) struct Record<'a, T> {
    pub partition: String,
    pub created: DateTime<Utc>,
    pub version: u32,
    pub body: &'a T,
    pub extra: Vec<(&'static str, AttributeValue)>,
}

/// How a write finds the stored record.
pub(super) enum Expect {
    /// None with its key.
    New,
    /// The one at this version.
    Version(u32),
}

impl DynamoStore {
    /// Writes a record if the stored one is as expected.
    pub(super) async fn put_versioned<T: Serialize>(
        &self,
        t: Versioned,
        record: Record<'_, T>,
        expect: Expect,
    ) -> Result<(), StoreError> {
        let partition = record.partition;
        let mut item: Item = key(&partition, META);
        item.insert("body".into(), json(record.body)?);
        item.insert("version".into(), n(record.version));
        item.insert("gsi1pk".into(), s(t.list));
        item.insert("gsi1sk".into(), s(keys::stamp(record.created)));
        for (name, value) in record.extra {
            item.insert(name.to_owned(), value);
        }
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let put = match expect {
            Expect::New => put.condition_expression("attribute_not_exists(pk)"),
            Expect::Version(read) => put
                .condition_expression("version = :read")
                .expression_attribute_values(":read", n(read)),
        };
        if items::conditional(&format!("DynamoDB PutItem ({})", t.what), put.send()).await? {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "{} {partition} is not as read",
                t.what
            )))
        }
    }

    /// The record under `partition`, read consistently.
    pub(super) async fn get_versioned<T: DeserializeOwned>(
        &self,
        t: Versioned,
        partition: String,
    ) -> Result<Option<T>, StoreError> {
        items::get_consistent(
            &self.client,
            &self.table,
            key(partition, META),
            None,
            t.what,
        )
        .await?
        .map(|i| Fields(&i).json("body"))
        .transpose()
    }

    /// Those created since `since`, newest first, `limit` at most.
    pub(super) async fn newest_versioned<T: DeserializeOwned>(
        &self,
        t: Versioned,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<T>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TABLE_GSI1)
            .key_condition_expression("gsi1pk = :list AND gsi1sk >= :since")
            .expression_attribute_values(":list", s(t.list))
            .expression_attribute_values(":since", s(keys::stamp(since)))
            .scan_index_forward(false);
        items::query(q, limit, |item| Fields(item).json("body").map(Some)).await
    }
}
