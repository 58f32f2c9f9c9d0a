//! The crisis cell's members: one small partition (`CELL`), an item per member
//! (`MEMBER#<id>`, JSON). Removing one first erases what names them (finished deliveries,
//! reach reports, answers, as a resident's erasure does), then the member: a retry after a
//! failure in between finds the member and finishes the job.

use async_trait::async_trait;
use telmail_core::domain::cell::CellMember;
use telmail_core::domain::subscriber::SubscriberId;
use telmail_core::error::StoreError;
use telmail_core::ports::CellStore;

use super::items::{self, json, key, s, Fields};
use super::DynamoStore;
use crate::errors::store_error;

const CELL: &str = "CELL";
const MEMBER_PREFIX: &str = "MEMBER#";

fn member_key(id: SubscriberId) -> items::Item {
    key(CELL, format!("{MEMBER_PREFIX}{id}"))
}

fn member_item(member: &CellMember) -> Result<items::Item, StoreError> {
    let mut item = member_key(member.id);
    item.insert("member".into(), json(member)?);
    Ok(item)
}

#[async_trait]
impl CellStore for DynamoStore {
    async fn cell_members(&self) -> Result<Vec<CellMember>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(CELL))
            .expression_attribute_values(":prefix", s(MEMBER_PREFIX))
            .consistent_read(true);
        items::query(q, usize::MAX, |item| {
            Ok(Some(Fields(item).json::<CellMember>("member")?))
        })
        .await
    }

    async fn cell_member(&self, id: SubscriberId) -> Result<Option<CellMember>, StoreError> {
        items::get_consistent(
            &self.client,
            &self.table,
            member_key(id),
            None,
            "cell member",
        )
        .await?
        .as_ref()
        .map(|i| Fields(i).json("member"))
        .transpose()
    }

    async fn insert_cell_member(&self, member: &CellMember) -> Result<(), StoreError> {
        if self
            .put_new(member_item(member)?, "DynamoDB PutItem (cell member)")
            .await?
        {
            Ok(())
        } else {
            Err(StoreError::Conflict("membre déjà enregistré".into()))
        }
    }

    async fn update_cell_member(&self, member: &CellMember) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(member_item(member)?))
            .condition_expression("attribute_exists(pk)");
        items::conditional("DynamoDB PutItem (cell member)", put.send()).await
    }

    async fn delete_cell_member(&self, id: SubscriberId) -> Result<bool, StoreError> {
        if self.cell_member(id).await?.is_none() {
            return Ok(false);
        }
        self.erase_finished_deliveries(id).await?;
        self.erase_reach(id).await?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(member_key(id)))
            .send()
            .await
            .map_err(|e| store_error("DynamoDB DeleteItem (cell member)", e))?;
        Ok(true)
    }
}
