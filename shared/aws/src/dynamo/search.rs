//! Staff search: the GSI partitions listing subscribers newest first (`gsi1pk = SUBS#<n>`, and
//! `SUBS` as written before the list was spread), each read with a filter expression until
//! `offset + limit` profiles match, then merged. Never a Scan.

use std::collections::BTreeMap;

use futures_util::future::try_join_all;
use telmail_core::domain::contact::PhoneNumber;
use telmail_core::domain::subscriber::{Subscriber, SubscriberStatus};
use telmail_core::domain::zone::ZoneSlug;
use telmail_core::error::StoreError;
use telmail_core::ports::SubscriberQuery;

use super::items::{self, s, Item};
use super::keys;
use super::subscribers::profile;
use super::table::TABLE_GSI1;
use super::DynamoStore;
use crate::errors::store_error;

impl DynamoStore {
    /// Newest first (`created_at`, then id, descending), every filter given matching.
    pub(super) async fn search_subscribers(
        &self,
        q: &SubscriberQuery,
    ) -> Result<Vec<Subscriber>, StoreError> {
        let wanted = q.offset.saturating_add(q.limit);
        if q.limit == 0 {
            return Ok(Vec::new());
        }
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TABLE_GSI1)
            .key_condition_expression("gsi1pk = :list")
            .scan_index_forward(false);
        let mut filters = Vec::new();
        if let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            let (compact, international) = PhoneNumber::search_fragments(text);
            filters.push("(contains(#email, :text) OR contains(#phone, :compact) OR contains(#phone, :intl))");
            query = query
                .expression_attribute_names("#email", "email_lc")
                .expression_attribute_names("#phone", "phone")
                .expression_attribute_values(":text", s(text.to_ascii_lowercase()))
                .expression_attribute_values(":compact", s(compact))
                .expression_attribute_values(":intl", s(international));
        }
        if let Some(topic) = &q.topic {
            filters.push("contains(#topics, :topic)");
            query = query
                .expression_attribute_names("#topics", "topics")
                .expression_attribute_values(":topic", s(topic.as_str()));
        }
        if let Some(status) = q.status {
            filters.push("#status = :status");
            query = query
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":status", s(status.as_str()));
        }
        if filters.is_empty() {
            // Every item matches: read exactly the rows wanted.
            query = query.limit(i32::try_from(wanted).unwrap_or(i32::MAX));
        } else {
            // Matches may be sparse: read 1 MB pages (about a thousand profiles each).
            query = query.filter_expression(filters.join(" AND "));
        }
        let reads = keys::subscriber_lists().map(|list| {
            let query = query.clone().expression_attribute_values(":list", s(list));
            items::query(query, wanted, |item| {
                profile(item).map(|(sub, _)| Some(sub))
            })
        });
        let mut found: Vec<Subscriber> = try_join_all(reads).await?.into_iter().flatten().collect();
        found.sort_by_key(|s| std::cmp::Reverse((s.created_at, s.id)));
        Ok(found.into_iter().skip(q.offset).take(q.limit).collect())
    }

    /// Active subscribers per zone named (`None`: none named). The zones live in the profile,
    /// so this reads every active profile through the staff lists, in parallel, like an export
    /// does: about one read unit per 8 KB, so a few thousand units (well under a cent on demand)
    /// for a town's 30,000 subscribers, paid when staff open the statistics, never while
    /// sending. A counter per zone kept at each change would save the reads but add a write to
    /// every sign-up and change of zones, and drift on any missed one.
    pub(super) async fn count_subscribers_by_zone(
        &self,
    ) -> Result<Vec<(Option<ZoneSlug>, u64)>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(TABLE_GSI1)
            .key_condition_expression("gsi1pk = :list")
            .filter_expression("#status = :active")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":active", s(SubscriberStatus::Active.as_str()))
            .projection_expression("profile, version");
        let reads = keys::subscriber_lists().map(|list| {
            let query = query.clone().expression_attribute_values(":list", s(list));
            items::query(query, usize::MAX, |item| {
                profile(item).map(|(sub, _)| Some(sub.zones))
            })
        });
        let mut counts: BTreeMap<Option<ZoneSlug>, u64> = BTreeMap::new();
        for zones in try_join_all(reads).await?.into_iter().flatten() {
            if zones.is_empty() {
                *counts.entry(None).or_default() += 1;
            }
            for z in zones {
                *counts.entry(Some(z)).or_default() += 1;
            }
        }
        Ok(counts.into_iter().collect())
    }

    /// One page of the whole file: the staff lists' partitions one after the other, each in
    /// its index order. The cursor is the partition's number and the index's last key, as JSON.
    pub(super) async fn page_of_file(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Subscriber>, Option<String>), StoreError> {
        let lists: Vec<String> = keys::subscriber_lists().collect();
        let (mut list, mut start) = match cursor {
            None => (0, None),
            Some(text) => read_cursor(text)?,
        };
        let mut out = Vec::new();
        while list < lists.len() && out.len() < limit {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(TABLE_GSI1)
                .key_condition_expression("gsi1pk = :list")
                .expression_attribute_values(":list", s(&lists[list]))
                .limit(i32::try_from(limit - out.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| store_error("DynamoDB Query (file page)", e))?;
            for item in page.items() {
                out.push(profile(item)?.0);
            }
            start = page.last_evaluated_key.filter(|k| !k.is_empty());
            if start.is_none() {
                list += 1;
            }
        }
        let next = (list < lists.len()).then(|| write_cursor(list, start.as_ref()));
        Ok((out, next))
    }
}

/// A file page's cursor as text.
fn write_cursor(list: usize, start: Option<&Item>) -> String {
    let keys: BTreeMap<&str, &str> = start
        .into_iter()
        .flatten()
        .filter_map(|(name, value)| Some((name.as_str(), value.as_s().ok()?.as_str())))
        .collect();
    serde_json::json!({ "list": list, "after": keys }).to_string()
}

/// A file page's cursor back; an error when it is not one.
fn read_cursor(text: &str) -> Result<(usize, Option<Item>), StoreError> {
    #[derive(serde::Deserialize)]
    struct Cursor {
        list: usize,
        after: BTreeMap<String, String>,
    }
    let c: Cursor = serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("unreadable file cursor: {e}")))?;
    let start: Item = c.after.into_iter().map(|(k, v)| (k, s(v))).collect();
    Ok((c.list, (!start.is_empty()).then_some(start)))
}
