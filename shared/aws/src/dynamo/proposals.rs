//! The departments' proposals: one item each (`PROPOSAL#<id>`, `META`), the proposal as JSON
//! and its version, replaced only from the version read; listed newest first through the index
//! (`gsi1pk = PROPOSALS`, `gsi1sk = <created_at>`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use telmail_core::domain::proposal::{Proposal, ProposalId};
use telmail_core::error::StoreError;
use telmail_core::ports::ProposalStore;

use super::items::{self, condition_failed, json, key, n, s, Fields, Item};
use super::keys::{self, META, PROPOSALS};
use super::table::TABLE_GSI1;
use super::DynamoStore;
use crate::errors::store_error;

fn item(p: &Proposal) -> Result<Item, StoreError> {
    let mut item = key(keys::proposal(p.id), META);
    item.insert("proposal".into(), json(p)?);
    item.insert("version".into(), n(p.version));
    item.insert("gsi1pk".into(), s(PROPOSALS));
    item.insert("gsi1sk".into(), s(keys::stamp(p.created_at)));
    Ok(item)
}

#[async_trait]
impl ProposalStore for DynamoStore {
    async fn insert_proposal(&self, p: &Proposal) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(p)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("DynamoDB PutItem (proposal)", e))
    }

    async fn proposal(&self, id: ProposalId) -> Result<Option<Proposal>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::proposal(id), META)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("DynamoDB GetItem (proposal)", e))?;
        out.item.map(|i| Fields(&i).json("proposal")).transpose()
    }

    async fn update_proposal(&self, p: &Proposal, read: u32) -> Result<(), StoreError> {
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(p)?))
            .condition_expression("version = :read")
            .expression_attribute_values(":read", n(read))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(StoreError::Conflict(format!(
                "proposal {} changed since version {read}",
                p.id
            ))),
            Err(e) => Err(store_error("DynamoDB PutItem (proposal)", e)),
        }
    }

    async fn proposals_since(&self, since: DateTime<Utc>) -> Result<Vec<Proposal>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TABLE_GSI1)
            .key_condition_expression("gsi1pk = :all AND gsi1sk >= :since")
            .expression_attribute_values(":all", s(PROPOSALS))
            .expression_attribute_values(":since", s(keys::stamp(since)))
            .scan_index_forward(false);
        items::query(q, usize::MAX, |item| {
            Fields(item).json("proposal").map(Some)
        })
        .await
    }
}
