//! Reading memberships: fan-out pages, audience estimates and per-topic counts, by Query on the
//! membership partitions `TOPIC#<slug>#<channel>#<partition>` (never a Scan).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use futures_util::future::try_join_all;
use futures_util::{stream, StreamExt, TryStreamExt};
use telmail_core::domain::contact::{Address, Channel};
use telmail_core::domain::subscriber::SubscriberId;
use telmail_core::domain::topic::TopicSlug;
use telmail_core::error::StoreError;
use telmail_core::ports::{Recipient, SuppressionStore};

use aws_sdk_dynamodb::types::Select;

use super::items::{self, s, Fields, Item, IN_FLIGHT};
use super::keys::{self, MEMBERSHIP_PARTITIONS, TOPICS, TOPIC_IN_USE_PREFIX};
use super::DynamoStore;

fn gcd(a: u32, b: u32) -> u32 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// The membership partitions that can hold members of fan-out shard `shard` of `shards`:
/// `k % shards == shard` and `k % P == p` are compatible iff `p ≡ shard (mod gcd(P, shards))`.
/// When `shards` divides P, every member of those partitions is in the shard.
fn partitions_of_shard(shard: u32, shards: u32) -> Vec<u32> {
    let g = gcd(MEMBERSHIP_PARTITIONS, shards);
    (0..MEMBERSHIP_PARTITIONS)
        .filter(|p| p % g == shard % g)
        .collect()
}

/// A membership's subscriber and address (none when they have no contact for the channel).
fn member(item: &Item, channel: Channel) -> Result<(SubscriberId, Option<Address>), StoreError> {
    let f = Fields(item);
    let address = f
        .opt_str("address")?
        .map(|a| Address::from_stored(channel, a.to_owned()).map_err(|e| f.malformed(e)))
        .transpose()?;
    Ok((keys::parse_member(f.str("sk")?)?, address))
}

impl DynamoStore {
    /// The query of one membership partition, reading ids and addresses only.
    fn members(
        &self,
        topic: &TopicSlug,
        channel: Channel,
        partition: u32,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::membership(topic, channel, partition)))
            .projection_expression("sk, #a")
            .expression_attribute_names("#a", "address")
    }

    /// One fan-out page: each partition of the shard gives its first `limit` members after
    /// `after`, and the merge keeps the first `limit` of all, in id order.
    pub(super) async fn recipients_page(
        &self,
        topic: &TopicSlug,
        channel: Channel,
        shard: u32,
        shards: u32,
        after: Option<SubscriberId>,
        limit: usize,
    ) -> Result<Vec<Recipient>, StoreError> {
        let shards = shards.max(1);
        let page = i32::try_from(limit).unwrap_or(i32::MAX).max(1);
        let reads = partitions_of_shard(shard, shards).into_iter().map(|p| {
            let mut q = self.members(topic, channel, p).limit(page);
            if let Some(after) = after {
                q = q
                    .key_condition_expression("pk = :pk AND sk > :after")
                    .expression_attribute_values(":after", s(keys::subscriber(after)));
            }
            items::query(q, limit, |item| {
                let (id, address) = member(item, channel)?;
                Ok(address
                    .filter(|_| id.shard(shards) == shard)
                    .map(|address| Recipient { id, address }))
            })
        });
        let mut merged: Vec<Recipient> = try_join_all(reads).await?.into_iter().flatten().collect();
        merged.sort_by_key(|r| r.id);
        merged.truncate(limit);
        Ok(merged)
    }

    /// Distinct active members with an address, over the topics, less suppressed addresses.
    /// A subscriber is in the same partition of every topic, so the partitions are counted one
    /// after the other (two at once): memory holds a quarter of the audience at most, not all.
    pub(super) async fn count_distinct_recipients(
        &self,
        topics: &[TopicSlug],
        channel: Channel,
    ) -> Result<u64, StoreError> {
        let mut topics = topics.to_vec();
        topics.sort();
        topics.dedup();
        let topics = &topics;
        stream::iter(0..MEMBERSHIP_PARTITIONS)
            .map(|p| self.count_partition(topics, channel, p))
            .buffer_unordered(2)
            .try_fold(0, |total, n| async move { Ok(total + n) })
            .await
    }

    /// Distinct members of one partition of the topics, less suppressed addresses.
    async fn count_partition(
        &self,
        topics: &[TopicSlug],
        channel: Channel,
        partition: u32,
    ) -> Result<u64, StoreError> {
        let reads = topics.iter().map(|t| {
            items::query(self.members(t, channel, partition), usize::MAX, |item| {
                let (id, address) = member(item, channel)?;
                Ok(address.map(|a| (id, String::from(a))))
            })
        });
        let people: HashMap<SubscriberId, String> =
            try_join_all(reads).await?.into_iter().flatten().collect();
        if people.is_empty() {
            return Ok(0);
        }
        let addresses: Vec<String> = people.into_values().collect();
        let suppressed = self.suppressed_among(&addresses).await?;
        Ok(addresses
            .iter()
            .filter(|a| !suppressed.contains(*a))
            .count() as u64)
    }

    /// Records, before memberships of these topics are written, that the topics have
    /// members: [`Self::count_members_by_topic`] reads this list instead of scanning. Written
    /// outside the membership transaction (an item many sign-ups share would make concurrent
    /// transactions conflict), and first, so a membership never exists unrecorded.
    pub(super) async fn note_topics_in_use(
        &self,
        topics: &BTreeSet<TopicSlug>,
    ) -> Result<(), StoreError> {
        let puts = topics
            .iter()
            .map(|t| items::put_request(items::key(TOPICS, keys::topic_in_use(t))))
            .collect::<Result<Vec<_>, _>>()?;
        items::batch_write(&self.client, &self.table, puts).await
    }

    /// The topics that have (or had) members.
    async fn topics_in_use(&self) -> Result<Vec<TopicSlug>, StoreError> {
        let q = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :used)")
            .expression_attribute_values(":pk", s(TOPICS))
            .expression_attribute_values(":used", s(TOPIC_IN_USE_PREFIX))
            .consistent_read(true);
        items::query(q, usize::MAX, |item| {
            let f = Fields(item);
            f.str("sk")?
                .strip_prefix(TOPIC_IN_USE_PREFIX)
                .and_then(|slug| TopicSlug::from_str(slug).ok())
                .map(Some)
                .ok_or_else(|| f.malformed("bad topic slug"))
        })
        .await
    }

    /// Members per (topic, channel), by `Select COUNT` queries of the membership partitions
    /// of every topic in use.
    pub(super) async fn count_members_by_topic(
        &self,
    ) -> Result<Vec<(TopicSlug, Channel, u64)>, StoreError> {
        let topics = self.topics_in_use().await?;
        let mut counts = Vec::new();
        for t in &topics {
            for c in Channel::ALL {
                for p in 0..MEMBERSHIP_PARTITIONS {
                    let q = self
                        .client
                        .query()
                        .table_name(&self.table)
                        .key_condition_expression("pk = :pk")
                        .expression_attribute_values(":pk", s(keys::membership(t, c, p)))
                        .select(Select::Count);
                    let group = (t.clone(), c);
                    counts
                        .push(async move { Ok::<_, StoreError>((group, items::count(q).await?)) });
                }
            }
        }
        let mut totals: BTreeMap<(TopicSlug, Channel), u64> = BTreeMap::new();
        for (group, n) in stream::iter(counts)
            .buffer_unordered(IN_FLIGHT)
            .try_collect::<Vec<_>>()
            .await?
        {
            *totals.entry(group).or_default() += n;
        }
        Ok(totals
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .map(|((t, c), n)| (t, c, n))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shard_reads_only_the_partitions_that_can_hold_its_members() {
        for shards in 1..=20 {
            for shard in 0..shards {
                let parts = partitions_of_shard(shard, shards);
                for _ in 0..200 {
                    let id = SubscriberId::new();
                    if id.shard(shards) == shard {
                        assert!(parts.contains(&id.shard(MEMBERSHIP_PARTITIONS)));
                    }
                }
            }
        }
        assert_eq!(partitions_of_shard(3, 8), [3]);
        assert_eq!(partitions_of_shard(1, 4), [1, 5]);
        assert_eq!(partitions_of_shard(9, 16), [1]);
    }
}
