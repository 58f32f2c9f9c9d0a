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

/// How many members of each of `partitions` partitions one fan-out page reads at a time: a
/// quarter more than an even share, so that one read of each usually fills the page.
fn share_of_page(limit: usize, partitions: usize) -> usize {
    let even = limit.div_ceil(partitions.max(1));
    (even + even.div_ceil(4)).clamp(1, limit.max(1))
}

/// Where a fan-out page stands in one membership partition.
struct PartitionRead {
    partition: u32,
    /// The last member read (the page's start at first).
    after: Option<SubscriberId>,
    /// Read to its end: nothing after `after`.
    ended: bool,
    /// The members read that have an address for the channel.
    members: Vec<Recipient>,
}

impl PartitionRead {
    fn new(partition: u32, after: Option<SubscriberId>) -> Self {
        Self {
            partition,
            after,
            ended: false,
            members: Vec::new(),
        }
    }

    /// Keeps one read of up to `share` members (in id order); fewer means the end.
    fn take(&mut self, read: Vec<(SubscriberId, Option<Address>)>, share: usize) {
        self.ended = read.len() < share;
        if let Some((last, _)) = read.last() {
            self.after = Some(*last);
        }
        self.members.extend(
            read.into_iter()
                .filter_map(|(id, address)| address.map(|address| Recipient { id, address })),
        );
    }
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

    /// One fan-out page: the shard's first `limit` members after `after`, in id order (fewer
    /// only at the end). Ids are random, so each of the shard's P partitions holds about 1/P
    /// of any id range: each is read a share of the page at a time (a quarter more than
    /// `limit / P`), from its own position, and the page keeps the members up to the lowest
    /// id a partition with more to give stopped at, below which nothing is missing. Reading
    /// `limit` from every partition instead read up to P pages to keep one.
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
        let mut reads: Vec<PartitionRead> = partitions_of_shard(shard, shards)
            .into_iter()
            .map(|partition| PartitionRead::new(partition, after))
            .collect();
        let share = share_of_page(limit, reads.len());
        // Every partition first, then only the one(s) holding the page back.
        let mut bound = None;
        loop {
            let holding_back =
                |r: &&mut PartitionRead| !r.ended && (bound.is_none() || r.after == bound);
            let more = reads.iter_mut().filter(holding_back).map(|r| async {
                let read = self
                    .partition_page(topic, channel, (shard, shards), r.partition, r.after, share)
                    .await?;
                r.take(read, share);
                Ok::<_, StoreError>(())
            });
            try_join_all(more).await?;
            bound = reads
                .iter()
                .filter(|r| !r.ended)
                .filter_map(|r| r.after)
                .min();
            let complete = reads
                .iter()
                .flat_map(|r| &r.members)
                .filter(|m| bound.is_none_or(|b| m.id <= b))
                .count();
            if bound.is_none() || complete >= limit {
                let mut page: Vec<Recipient> = reads
                    .into_iter()
                    .flat_map(|r| r.members)
                    .filter(|m| bound.is_none_or(|b| m.id <= b))
                    .collect();
                page.sort_by_key(|r| r.id);
                page.truncate(limit);
                return Ok(page);
            }
        }
    }

    /// Up to `share` members of the shard in one membership partition, after `after`.
    async fn partition_page(
        &self,
        topic: &TopicSlug,
        channel: Channel,
        (shard, shards): (u32, u32),
        partition: u32,
        after: Option<SubscriberId>,
        share: usize,
    ) -> Result<Vec<(SubscriberId, Option<Address>)>, StoreError> {
        let mut q = self
            .members(topic, channel, partition)
            .limit(i32::try_from(share).unwrap_or(i32::MAX));
        if let Some(after) = after {
            q = q
                .key_condition_expression("pk = :pk AND sk > :after")
                .expression_attribute_values(":after", s(keys::subscriber(after)));
        }
        items::query(q, share, |item| {
            let (id, address) = member(item, channel)?;
            Ok((id.shard(shards) == shard).then_some((id, address)))
        })
        .await
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
