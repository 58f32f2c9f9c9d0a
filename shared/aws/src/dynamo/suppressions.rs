//! Suppressed addresses: one partition (`SUPPRESSION` / `ADDR#<address>`). Recipients are
//! checked against the whole partition, read once per [`super::recent::SUPPRESSIONS_FRESH_FOR`]
//! and kept by the store instance (a town keeps a few thousand addresses: cheaper than a
//! BatchGetItem per recipient, see docs/dynamodb.md). A few addresses are looked up by key
//! instead when no fresh copy is kept and that costs less than reading the list again.

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

/// About what one suppression item weighs (keys, address, reason, time), to price a read of
/// the whole list.
const SUPPRESSION_ITEM_BYTES: usize = 96;

/// Whether looking `asked` addresses up by key costs less than reading the list again, whose
/// last read found `list_size` addresses (never read: read it, and know its size from then
/// on). A key read costs half a read unit found or not; the list, half a unit per started
/// 4 KB.
fn by_key_is_cheaper(asked: usize, list_size: Option<usize>) -> bool {
    list_size.is_some_and(|size| asked < (size * SUPPRESSION_ITEM_BYTES).div_ceil(4096).max(1))
}

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
        cached.last_size = Some(all.len());
        cached.list = Some((now, all.clone()));
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
        let by_key = {
            let cached = self.recent.suppressions.lock().await;
            Recent::fresh_suppressions(&cached, self.clock.now()).is_none()
                && by_key_is_cheaper(addresses.len(), cached.last_size)
        };
        if by_key {
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
        self.recent.suppressions.lock().await.list = None;
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
        self.recent.suppressions.lock().await.list = None;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_looked_up_by_key_only_when_that_reads_less_than_the_list() {
        // Never read: the list is read (its size is then known, its copy kept a while).
        assert!(!by_key_is_cheaper(1, None));
        // An empty or short list costs one read, as one key: the list is read.
        assert!(!by_key_is_cheaper(1, Some(0)));
        assert!(!by_key_is_cheaper(1, Some(30)));
        // 3,000 addresses weigh 71 blocks of 4 KB: 25 keys cost less, 100 more.
        assert!(by_key_is_cheaper(25, Some(3_000)));
        assert!(!by_key_is_cheaper(100, Some(3_000)));
    }
}
