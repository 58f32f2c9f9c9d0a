//! Suppressed addresses: one partition (`SUPPRESSION` / `ADDR#<address>`). A few addresses are
//! looked up by key; a page of recipients is checked against the whole partition, read once per
//! [`super::recent::SUPPRESSIONS_FRESH_FOR`] and kept by the store instance (a town keeps a few thousand
//! addresses: cheaper than a BatchGetItem per recipient, see docs/dynamodb.md).

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::ReturnValue;
use telmail_core::domain::delivery::Suppression;
use telmail_core::error::StoreError;
use telmail_core::ports::SuppressionStore;

use super::items::{self, key, s, Fields, Item};
use super::keys::{self, ADDRESS_PREFIX, SUPPRESSIONS};
use super::recent::Recent;
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

/// Asks of up to this many addresses are answered by key (BatchGetItem), exactly.
const LOOKED_UP_BY_KEY: usize = 25;

impl DynamoStore {
    /// Which of a few addresses are suppressed, by key.
    async fn suppressed_by_key(&self, addresses: &[String]) -> Result<HashSet<String>, StoreError> {
        let keys = addresses
            .iter()
            .map(|a| key(SUPPRESSIONS, keys::suppressed(a)))
            .collect();
        let found = items::batch_get(
            &self.client,
            &self.table,
            keys,
            Some(("pk, sk", &[])),
            false,
        )
        .await?;
        found
            .iter()
            .map(|item| address(&Fields(item)).map(str::to_owned))
            .collect()
    }

    /// Every suppressed address, as read less than [`super::recent::SUPPRESSIONS_FRESH_FOR`] ago.
    async fn suppression_snapshot(&self) -> Result<Arc<HashSet<String>>, StoreError> {
        let mut cached = self.recent.suppressions.lock().await;
        let now = self.clock.now();
        if let Some(fresh) = Recent::fresh_suppressions(&cached, now) {
            return Ok(fresh);
        }
        let all: HashSet<String> =
            items::query(self.suppression_partition(true), usize::MAX, |item| {
                address(&Fields(item)).map(|a| Some(a.to_owned()))
            })
            .await?
            .into_iter()
            .collect();
        let all = Arc::new(all);
        *cached = Some((now, all.clone()));
        Ok(all)
    }

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
        if addresses.len() <= LOOKED_UP_BY_KEY {
            return self.suppressed_by_key(addresses).await;
        }
        let all = self.suppression_snapshot().await?;
        Ok(addresses
            .iter()
            .filter(|a| all.contains(a.as_str()))
            .cloned()
            .collect())
    }

    async fn suppress(&self, suppression: &Suppression) -> Result<(), StoreError> {
        // Suppressing again keeps one item, with the latest reason and time.
        let mut item = key(SUPPRESSIONS, keys::suppressed(&suppression.address));
        item.insert("reason".into(), s(&suppression.reason));
        item.insert("at".into(), s(keys::stamp(suppression.at)));
        self.put(item, "suppression").await?;
        *self.recent.suppressions.lock().await = None;
        Ok(())
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
        *self.recent.suppressions.lock().await = None;
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
