//! The DynamoDB single-table store: every store port but staff accounts (Cognito keeps those).
//! `docs/dynamodb.md` describes the items, the access patterns and what each call costs.

mod archive;
mod campaigns;
mod cell;
mod deliveries;
mod fanout;
mod file_jobs;
mod items;
mod keys;
mod notices;
mod pacing;
mod pauses;
mod proposals;
mod quotas;
mod reach;
mod recent;
mod search;
mod stats;
mod subscribers;
mod suppressions;
mod table;
mod topics;
mod versioned;
mod weather;
mod zones;

pub use keys::{DELIVERY_PARTITIONS, MEMBERSHIP_PARTITIONS};
pub use table::TABLE_GSI1;

/// The store: a DynamoDB client and the name of its one table.
#[derive(Clone)]
pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
    /// What the hot paths remember between calls (shared by the clones).
    recent: std::sync::Arc<recent::Recent>,
    /// Stamps what the store writes (claims, outcomes, the change log): the service's clock, so
    /// a stamp and the rule that later compares it read the same time.
    clock: std::sync::Arc<dyn telmail_core::clock::Clock>,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl DynamoStore {
    /// A store on `table` (created by the SAM template, or by [`DynamoStore::create_table`]),
    /// stamping with `clock`.
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        table: impl Into<String>,
        clock: std::sync::Arc<dyn telmail_core::clock::Clock>,
    ) -> Self {
        Self {
            client,
            table: table.into(),
            recent: Default::default(),
            clock,
        }
    }

    /// Writes an item, replacing any with its key; `what` names it in errors.
    async fn put(
        &self,
        item: items::Item,
        what: &str,
    ) -> Result<(), telmail_core::error::StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| crate::errors::store_error(&format!("DynamoDB PutItem ({what})"), e))
    }
}
