//! Suppressed addresses: one partition (`SUPPRESSION` / `ADDR#<address>`). The town keeps a
//! few thousand at most, so reading the whole partition in one Query is cheaper than a
//! BatchGetItem per page of recipients (see docs/dynamodb.md).

use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use telmail_core::domain::delivery::Suppression;
use telmail_core::error::StoreError;
use telmail_core::ports::SuppressionStore;

use super::items::{self, key, s, Fields, Item};
use super::keys::{self, ADDRESS_PREFIX, SUPPRESSIONS};
use super::DynamoStore;
use crate::errors::store_error;

fn address<'a>(f: &Fields<'a>) -> Result<&'a str, StoreError> {
    f.0.get("sk")
        .and_then(|v| v.as_s().ok())
        .and_then(|sk| sk.strip_prefix(ADDRESS_PREFIX))
        .ok_or_else(|| f.malformed("not a suppressed address"))
}

fn suppression(item: &Item) -> Result<Suppression, StoreError> {
    let f = Fields(item);
    Ok(Suppression {
        address: address(&f)?.to_owned(),
        reason: f.str("reason")?.to_owned(),
        at: keys::parse_stamp(f.str("at")?, &f.key())?,
    })
}

impl DynamoStore {
    /// The whole partition: the keys only, or every attribute.
    fn suppression_partition(
        &self,
        keys_only: bool,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(SUPPRESSIONS));
        if keys_only {
            q.projection_expression("pk, sk")
        } else {
            q
        }
    }
}

#[async_trait]
impl SuppressionStore for DynamoStore {
    async fn suppressed_among(&self, addresses: &[String]) -> Result<HashSet<String>, StoreError> {
        if addresses.is_empty() {
            return Ok(HashSet::new());
        }
        let asked: HashSet<&str> = addresses.iter().map(String::as_str).collect();
        let found = items::query(self.suppression_partition(true), usize::MAX, |item| {
            let a = address(&Fields(item))?;
            Ok(asked.contains(a).then(|| a.to_owned()))
        })
        .await?;
        Ok(found.into_iter().collect())
    }

    async fn suppress(&self, suppression: &Suppression) -> Result<(), StoreError> {
        // Suppressing again keeps one item, with the latest reason and time.
        let mut item = key(SUPPRESSIONS, keys::suppressed(&suppression.address));
        item.insert("reason".into(), s(&suppression.reason));
        item.insert("at".into(), s(keys::stamp(suppression.at)));
        self.put(item, "suppression").await
    }

    async fn lift(&self, address: &str) -> Result<bool, StoreError> {
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(SUPPRESSIONS, keys::suppressed(address))))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(|e| store_error("DynamoDB DeleteItem (suppression)", e))?;
        Ok(out.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn list(&self, limit: usize) -> Result<Vec<Suppression>, StoreError> {
        let q = self.suppression_partition(false);
        let mut all = items::query(q, usize::MAX, |item| suppression(item).map(Some)).await?;
        all.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.address.cmp(&b.address)));
        all.truncate(limit);
        Ok(all)
    }
}
