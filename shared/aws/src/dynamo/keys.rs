//! Every key of the table, built in one place (docs/dynamodb.md describes them), and the
//! sortable text form of instants used in sort keys and compared in conditions.

use chrono::{DateTime, Utc};
use std::str::FromStr;
use telmail_core::clock::Month;
use telmail_core::domain::campaign::{CampaignId, CampaignStatus};
use telmail_core::domain::contact::Channel;
use telmail_core::domain::file_job::FileJobId;
use telmail_core::domain::proposal::ProposalId;
use telmail_core::domain::subscriber::SubscriberId;
use telmail_core::domain::topic::TopicSlug;
use telmail_core::error::StoreError;

/// Membership partitions per (topic, channel): a subscriber's partition is
/// `shard_key % MEMBERSHIP_PARTITIONS`. Equal to the default fan-out shard count, so each
/// default shard reads exactly one partition.
pub const MEMBERSHIP_PARTITIONS: u32 = 8;

/// Delivery partitions per campaign (`shard_key % DELIVERY_PARTITIONS`): a campaign's
/// deliveries are written at up to 1,000 writes/s per partition.
pub const DELIVERY_PARTITIONS: u32 = 8;

/// Sort key of every subscriber profile.
pub const PROFILE: &str = "PROFILE";
/// Sort key of the items that reserve an address.
pub const OWNER: &str = "OWNER";
/// Partition of the markers of pending sign-ups, sorted by expiry.
pub const PENDING: &str = "PENDING";
/// GSI partition listing every subscriber by creation, as written before the list was spread
/// (still read, never written).
pub const ALL_SUBSCRIBERS: &str = "SUBS";

/// The GSI partitions listing subscribers by creation (`SUBS#<shard_key % 8>`): a big import
/// writes to eight index partitions, not one.
pub const SUBSCRIBER_LIST_PARTITIONS: u32 = 8;

/// `SUBS#<n>`: the GSI partition listing a subscriber.
pub fn subscriber_list(id: SubscriberId) -> String {
    format!("{ALL_SUBSCRIBERS}#{}", id.shard(SUBSCRIBER_LIST_PARTITIONS))
}

/// Every GSI partition listing subscribers, the one written before the list was spread included.
pub fn subscriber_lists() -> impl Iterator<Item = String> {
    std::iter::once(ALL_SUBSCRIBERS.to_owned())
        .chain((0..SUBSCRIBER_LIST_PARTITIONS).map(|n| format!("{ALL_SUBSCRIBERS}#{n}")))
}
/// Sort key of a campaign itself.
pub const META: &str = "META";
/// Sort key of a campaign's counters.
pub const PROGRESS: &str = "PROGRESS";
/// Prefix of a campaign's audit events.
pub const EVENT_PREFIX: &str = "EVENT#";
/// Partition of the topics (and of their position counter).
pub const TOPICS: &str = "TOPICS";
/// Sort-key prefix of one topic.
pub const TOPIC_PREFIX: &str = "TOPIC#";
/// Sort-key prefix of the record that a topic has (or had) members.
pub const TOPIC_IN_USE_PREFIX: &str = "USED#";
/// Sort key of the counter giving topics their position.
pub const TOPIC_SEQ: &str = "SEQ";
/// Partition of the monthly counters.
pub const STATS: &str = "STATS";
/// Partition of the suppressed addresses.
pub const SUPPRESSIONS: &str = "SUPPRESSION";
/// Sort-key prefix of a suppressed address.
pub const ADDRESS_PREFIX: &str = "ADDR#";
/// Partition of the log of subscriber changes (sort key `<stamp>#<id>`).
pub const CHANGES: &str = "CHANGES";
/// Sort key of an allowance item (its partition is [`quota`]).
pub const QUOTA_SK: &str = "QUOTA";
/// Partition of the weather relay's records: alerts in force and named documents.
pub const WEATHER: &str = "WEATHER";
/// Sort-key prefix of an alert in force (`ALERT#<domain>#<phenomenon id>`).
pub const ALERT_PREFIX: &str = "ALERT#";
/// The attribute DynamoDB's time to live reads (seconds since the epoch).
pub const EXPIRES: &str = "expires";
/// The index partition listing proposals, newest first.
pub const PROPOSALS: &str = "PROPOSALS";

/// A proposal's partition.
pub fn proposal(id: ProposalId) -> String {
    format!("PROPOSAL#{id}")
}

/// A staff account's partition (its id: a local username or a Cognito `sub`).
pub fn staff(id: &str) -> String {
    format!("STAFF#{id}")
}

/// The sort key of an account's notice settings.
pub const NOTICES: &str = "NOTICES";

/// The index partition listing big-file jobs, newest first.
pub const FILE_JOBS: &str = "FILEJOBS";

/// A big-file job's partition.
pub fn file_job(id: FileJobId) -> String {
    format!("FILEJOB#{id}")
}

/// An instant as fixed-width UTC text (`2026-11-01T10:00:00.000000Z`): text order is time order.
pub fn stamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `ALERT#<domain>#<phenomenon id>`: the sort key of an alert in force.
pub fn alert(domain: &str, phenomenon: u32) -> String {
    format!("{ALERT_PREFIX}{domain}#{phenomenon}")
}

/// `DOC#<name>`: the sort key of a named document (templates, the feed's state).
pub fn document(name: &str) -> String {
    format!("DOC#{name}")
}

/// Partition of one allowance: each key its own item, so counting never contends.
pub fn quota(key: &str) -> String {
    format!("QUOTA#{key}")
}

/// Parses [`stamp`]'s form; `what` names the item for the error.
pub fn parse_stamp(text: &str, what: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Backend(format!("malformed instant in {what}: {e}")))
}

/// `<stamp>#<id>`: a change of a subscriber in the change log.
pub fn change(at: DateTime<Utc>, id: SubscriberId) -> String {
    format!("{}#{id}", stamp(at))
}

/// `SUB#<id>`: the partition of a subscriber's profile.
pub fn subscriber(id: SubscriberId) -> String {
    format!("SUB#{id}")
}

/// `EMAIL#<address>`: reserves an email address for one subscriber.
pub fn email_owner(address: &str) -> String {
    format!("EMAIL#{address}")
}

/// `PHONE#<e164>`: reserves a phone number for one subscriber.
pub fn phone_owner(number: &str) -> String {
    format!("PHONE#{number}")
}

/// `<expires_at>#<id>`: a pending sign-up's marker in the [`PENDING`] partition.
pub fn pending_marker(expires_at: DateTime<Utc>, id: SubscriberId) -> String {
    format!("{}#{id}", stamp(expires_at))
}

/// `TOPIC#<slug>#<channel>#<partition>`: one membership partition.
pub fn membership(topic: &TopicSlug, channel: Channel, partition: u32) -> String {
    format!("TOPIC#{topic}#{}#{partition}", channel.as_str())
}

/// The membership partition of a subscriber.
pub fn membership_partition(id: SubscriberId) -> u32 {
    id.shard(MEMBERSHIP_PARTITIONS)
}

/// `<created_at>#<id>`: orders the subscriber listing (GSI) newest first when read backwards.
pub fn created_order(created_at: DateTime<Utc>, id: impl std::fmt::Display) -> String {
    format!("{}#{id}", stamp(created_at))
}

/// `SUB#<id>` (the same text as the profile partition) is a membership's sort key.
pub fn parse_member(sk: &str) -> Result<SubscriberId, StoreError> {
    sk.strip_prefix("SUB#")
        .and_then(|id| SubscriberId::from_str(id).ok())
        .ok_or_else(|| StoreError::Backend(format!("malformed membership key {sk}")))
}

/// `CAMPAIGN#<id>`: a campaign, its events and its counters.
pub fn campaign(id: CampaignId) -> String {
    format!("CAMPAIGN#{id}")
}

/// `CSTATUS#<status>`: the GSI partition of the campaigns in a status.
pub fn campaign_status(status: CampaignStatus) -> String {
    format!("CSTATUS#{}", status.as_str())
}

/// `DELIVERY#<campaign>#<partition>`.
pub fn delivery_partition(campaign: CampaignId, partition: u32) -> String {
    format!("DELIVERY#{campaign}#{partition}")
}

/// The (pk, sk) of a delivery: `DELIVERY#<campaign>#<partition>` / `<subscriber>#<channel>`.
pub fn delivery(
    campaign: CampaignId,
    subscriber: SubscriberId,
    channel: Channel,
) -> (String, String) {
    (
        delivery_partition(campaign, subscriber.shard(DELIVERY_PARTITIONS)),
        format!("{subscriber}#{}", channel.as_str()),
    )
}

/// `TOPIC#<slug>`: a topic's sort key in the [`TOPICS`] partition.
pub fn topic(slug: &TopicSlug) -> String {
    format!("{TOPIC_PREFIX}{slug}")
}

/// `USED#<slug>`: in the [`TOPICS`] partition, records that memberships of the topic exist.
pub fn topic_in_use(slug: &TopicSlug) -> String {
    format!("{TOPIC_IN_USE_PREFIX}{slug}")
}

/// `MONTH#YYYY-MM`: a month's counters in the [`STATS`] partition.
pub fn month(month: Month) -> String {
    format!("MONTH#{month}")
}

/// Partition of the channels the provider paused (sort key: the channel).
pub const PAUSES: &str = "PAUSES";
/// Sort key of a channel's sending pace item.
pub const PACE_SK: &str = "PACE";

/// `PACE#<channel>`: the partition of a channel's next free sending slot.
pub fn pace(channel: Channel) -> String {
    format!("PACE#{}", channel.as_str())
}

/// Sort-key prefix of a month's audience in the `STATS` partition.
pub const AUDIENCE_PREFIX: &str = "AUDIENCE#";

/// `AUDIENCE#YYYY-MM`: a month's subscribers per topic and channel.
pub fn audience(month: Month) -> String {
    format!("{AUDIENCE_PREFIX}{month}")
}

/// `ADDR#<address>`: a suppressed address in the [`SUPPRESSIONS`] partition.
pub fn suppressed(address: &str) -> String {
    format!("{ADDRESS_PREFIX}{address}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stamps_sort_as_time_and_parse_back() {
        let a = Utc.with_ymd_and_hms(2026, 11, 1, 9, 59, 59).unwrap();
        let b = a + chrono::Duration::microseconds(1);
        assert!(stamp(a) < stamp(b));
        assert_eq!(stamp(a), "2026-11-01T09:59:59.000000Z");
        assert_eq!(parse_stamp(&stamp(b), "x").unwrap(), b);
    }

    #[test]
    fn membership_sort_keys_sort_as_subscriber_ids() {
        let mut ids: Vec<SubscriberId> = (0..200).map(|_| SubscriberId::new()).collect();
        let mut keys: Vec<String> = ids.iter().map(|id| subscriber(*id)).collect();
        ids.sort();
        keys.sort();
        let parsed: Vec<SubscriberId> = keys.iter().map(|k| parse_member(k).unwrap()).collect();
        assert_eq!(parsed, ids);
    }
}
