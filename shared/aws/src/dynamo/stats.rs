//! Monthly counters: one item per month (`STATS` / `MONTH#YYYY-MM`), one number attribute per
//! counter, added to with `ADD` in a single UpdateItem; and each month's audience
//! (`STATS` / `AUDIENCE#YYYY-MM`, the counts as JSON).

use std::collections::BTreeMap;

use async_trait::async_trait;
use telmail_core::clock::Month;
use telmail_core::error::StoreError;
use telmail_core::ports::{AudienceCount, Counter, SignupOrigin, StatsStore};

use super::items::{self, json, key, n, s, Fields};
use super::keys::{self, STATS};
use super::DynamoStore;
use crate::errors::store_error;

impl DynamoStore {
    /// The query of the counters of the months from `from` to `to`.
    fn stats_months(
        &self,
        from: Month,
        to: Month,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(STATS))
            .expression_attribute_values(":from", s(keys::month(from)))
            .expression_attribute_values(":to", s(keys::month(to)))
    }
}

#[async_trait]
impl StatsStore for DynamoStore {
    async fn add_many(&self, month: Month, deltas: &[(Counter, i64)]) -> Result<(), StoreError> {
        // One ADD per attribute: a counter given twice is summed first.
        let mut sums: BTreeMap<Counter, i64> = BTreeMap::new();
        for (counter, delta) in deltas {
            *sums.entry(*counter).or_default() += delta;
        }
        if sums.is_empty() {
            return Ok(());
        }
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(STATS, keys::month(month))));
        let mut adds = Vec::new();
        for (i, (counter, delta)) in sums.into_iter().enumerate() {
            adds.push(format!("#c{i} :v{i}"));
            update = update
                .expression_attribute_names(format!("#c{i}"), counter.as_str())
                .expression_attribute_values(format!(":v{i}"), n(delta));
        }
        update
            .update_expression(format!("ADD {}", adds.join(", ")))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("DynamoDB UpdateItem (statistics)", e))
    }

    async fn get(&self, month: Month, counter: Counter) -> Result<i64, StoreError> {
        let item = items::get_consistent(
            &self.client,
            &self.table,
            key(STATS, keys::month(month)),
            Some(("pk, sk, #c", &[("#c", counter.as_str())])),
            "statistics",
        )
        .await?;
        match item {
            Some(item) => Ok(Fields(&item).opt_num(counter.as_str())?.unwrap_or(0)),
            None => Ok(0),
        }
    }

    async fn add_signups(&self, month: Month, origin: &str, n: i64) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(STATS, keys::month(month))))
            .update_expression("ADD #s :n, #o :n")
            .expression_attribute_names("#s", Counter::SignUps.as_str())
            .expression_attribute_names("#o", format!("{}{origin}", SignupOrigin::PREFIX))
            .expression_attribute_values(":n", super::items::n(n))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| store_error("DynamoDB UpdateItem (sign-ups)", e))
    }

    async fn signups_by_origin(
        &self,
        from: Month,
        to: Month,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let per_month = items::query(self.stats_months(from, to), usize::MAX, |item| {
            let f = Fields(item);
            let mut origins = Vec::new();
            for name in item.keys() {
                if let Some(origin) = name.strip_prefix(SignupOrigin::PREFIX) {
                    origins.push((origin.to_owned(), f.opt_num::<i64>(name)?.unwrap_or(0)));
                }
            }
            Ok(Some(origins))
        })
        .await?;
        let mut sums: BTreeMap<String, i64> = BTreeMap::new();
        for (origin, n) in per_month.into_iter().flatten() {
            *sums.entry(origin).or_default() += n;
        }
        Ok(sums.into_iter().collect())
    }

    async fn months(
        &self,
        from: Month,
        to: Month,
    ) -> Result<Vec<(Month, Counter, i64)>, StoreError> {
        let per_month = items::query(self.stats_months(from, to), usize::MAX, |item| {
            let f = Fields(item);
            let month: Month = f
                .str("sk")?
                .strip_prefix("MONTH#")
                .and_then(|m| m.parse().ok())
                .ok_or_else(|| f.malformed("not a month"))?;
            // Names this version does not know (written by a newer one) are skipped.
            let mut counters = Vec::new();
            for counter in Counter::ALL {
                if let Some(value) = f.opt_num::<i64>(counter.as_str())? {
                    counters.push((month, counter, value));
                }
            }
            Ok(Some(counters))
        })
        .await?;
        let mut out: Vec<(Month, Counter, i64)> = per_month.into_iter().flatten().collect();
        out.sort_by_key(|(month, counter, _)| (*month, *counter));
        Ok(out)
    }

    async fn save_audience(
        &self,
        month: Month,
        counts: &[AudienceCount],
    ) -> Result<(), StoreError> {
        let mut item = key(STATS, keys::audience(month));
        item.insert("counts".into(), json(&counts)?);
        self.put(item, "audience").await
    }

    async fn audience(
        &self,
        from: Month,
        to: Month,
    ) -> Result<Vec<(Month, Vec<AudienceCount>)>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
            .expression_attribute_values(":pk", s(STATS))
            .expression_attribute_values(":from", s(keys::audience(from)))
            .expression_attribute_values(":to", s(keys::audience(to)));
        items::query(q, usize::MAX, |item| {
            let f = Fields(item);
            let month: Month = f
                .str("sk")?
                .strip_prefix(keys::AUDIENCE_PREFIX)
                .and_then(|m| m.parse().ok())
                .ok_or_else(|| f.malformed("not a month"))?;
            Ok(Some((month, f.json("counts")?)))
        })
        .await
    }
}
