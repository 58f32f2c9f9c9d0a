//! The table definition (the SAM template declares the same one, see docs/dynamodb.md).

use std::time::Duration;

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use telmail_core::error::StoreError;

use super::items::built;
use super::DynamoStore;
use crate::errors::store_error;

/// The one global secondary index (`gsi1pk` / `gsi1sk`, all attributes projected): campaigns
/// by status and subscribers by creation.
pub const TABLE_GSI1: &str = "gsi1";

/// How long [`DynamoStore::create_table`] waits for the table to become active.
const CREATION_WAIT: Duration = Duration::from_secs(120);

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    built(
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build(),
    )
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    built(
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build(),
    )
}

impl DynamoStore {
    /// Creates the table with its index, on demand, and waits until it is active (tests,
    /// benchmarks, emulators; on AWS the SAM template creates it). A table already there is
    /// left as it is.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let gsi = built(
            GlobalSecondaryIndex::builder()
                .index_name(TABLE_GSI1)
                .key_schema(key("gsi1pk", KeyType::Hash)?)
                .key_schema(key("gsi1sk", KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build(),
        )?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                ["pk", "sk", "gsi1pk", "gsi1sk"]
                    .into_iter()
                    .map(string_attribute)
                    .collect::<Result<_, _>>()?,
            ))
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(gsi)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_resource_in_use_exception()) => {}
            Err(e) => return Err(store_error("DynamoDB CreateTable", e)),
        }
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(CREATION_WAIT)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::Backend(format!("waiting for table {}: {e}", self.table)))
    }
}
