//! Work buffered between steps: fan-out of a campaign shard, delivery of one message.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::campaign::CampaignId;
use crate::domain::contact::{Address, Channel};
use crate::domain::delivery::{DeliveryKey, Progress};
use crate::domain::file_job::FileStep;
use crate::domain::outgoing::{OutgoingCall, OutgoingEmail, OutgoingSms};
use crate::domain::subscriber::SubscriberId;

/// The version written in every payload, so consumers can refuse what they do not understand.
pub const PAYLOAD_VERSION: u32 = 1;

/// The queues as staff see them: jobs waiting, and jobs given up after their retries (the
/// dead letters, which an operator looks into).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QueueHealth {
    /// Jobs waiting or being worked on.
    pub queued: u64,
    /// Jobs given up.
    pub dead_letters: u64,
}

/// A unit of queued work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Job {
    /// Fan out one slice of a campaign shard's recipients.
    Fanout(FanoutJob),
    /// Send one message.
    Deliver(DeliverJob),
    /// One step of a big-file export or import (on the fan-out queue: bulk work).
    File(FileStep),
    /// A sign-up's confirmation email or code SMS the provider did not take at once (on the
    /// urgent delivery lane: a resident is waiting for it).
    Notice(NoticeJob),
    /// A campaign call placed again after the provider reported it unanswered, busy or failed.
    CallAgain(CallAgainJob),
}

/// A campaign call to place again (attempt `attempt`, from 2): the delivery itself stays as
/// the first call left it (`sent`, counted once); the outcome of each call is its reach report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallAgainJob {
    /// Which delivery (its channel is `voice`).
    #[serde(flatten)]
    pub key: DeliveryKey,
    /// The attempt this call is.
    pub attempt: u32,
    /// When the provider reported the call before it: a provider down is tried again until
    /// the retry hours have passed since.
    pub reported_at: DateTime<Utc>,
    /// An urgent campaign's: on the urgent lane.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub urgent: bool,
}

/// A message to one person outside any campaign, queued while its provider is down or busy,
/// or (a sign-up code read to a landline, on AWS) by a function that places no call itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeJob {
    pub message: Notice,
    /// When it was first queued: retried until the retry hours have passed since.
    pub queued_at: DateTime<Utc>,
}

/// The message itself, rendered when it was queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Notice {
    Email(OutgoingEmail),
    Sms(OutgoingSms),
    /// Placed by the function that links the voice service (`send`).
    Voice(OutgoingCall),
}

impl Notice {
    /// The channel it goes out on.
    pub fn channel(&self) -> Channel {
        match self {
            Notice::Email(_) => Channel::Email,
            Notice::Sms(_) => Channel::Sms,
            Notice::Voice(_) => Channel::Voice,
        }
    }
}

/// One slice of a fan-out shard: a bounded share of its recipients, the rest handed to the
/// next slice's job, so no fan-out run outlasts its time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanoutJob {
    pub campaign: CampaignId,
    /// Shard number, `0..shards`.
    pub shard: u32,
    /// An urgent campaign's: taken before any other.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub urgent: bool,
    /// The slice's number in its shard, from 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub slice: u32,
    /// Where the slice starts (none: at the shard's beginning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<FanoutCursor>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl FanoutJob {
    /// The first slice of a shard.
    pub fn first(campaign: CampaignId, shard: u32, urgent: bool) -> Self {
        Self {
            campaign,
            shard,
            urgent,
            slice: 0,
            resume: None,
        }
    }
}

/// Where a fan-out shard resumes, channel by channel: the channels are read side by side (a page
/// of each in turn), so a campaign's SMS never queue behind all of its emails.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanoutCursor {
    pub email: ChannelCursor,
    pub sms: ChannelCursor,
    #[serde(default)]
    pub voice: ChannelCursor,
}

impl FanoutCursor {
    /// One channel's cursor, as it is.
    pub fn at(&self, channel: Channel) -> ChannelCursor {
        match channel {
            Channel::Email => self.email,
            Channel::Sms => self.sms,
            Channel::Voice => self.voice,
        }
    }

    /// One channel's cursor, to move on.
    pub fn of(&mut self, channel: Channel) -> &mut ChannelCursor {
        match channel {
            Channel::Email => &mut self.email,
            Channel::Sms => &mut self.sms,
            Channel::Voice => &mut self.voice,
        }
    }

    /// What the slices so far counted, as campaign counters.
    pub fn counted(&self) -> Progress {
        let mut p = Progress::default();
        for (counts, c) in [
            (&mut p.email, self.email),
            (&mut p.sms, self.sms),
            (&mut p.voice, self.voice),
        ] {
            counts.targeted = c.targeted;
            counts.suppressed = c.suppressed;
        }
        p
    }
}

/// How far a fan-out shard went on one channel, and what it counted there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelCursor {
    /// Recipients up to this id are handled (none: from the start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<SubscriberId>,
    /// Every recipient of the channel is handled.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub done: bool,
    /// Recipients met.
    pub targeted: u64,
    /// Of them, on the suppression list (not queued).
    pub suppressed: u64,
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliverJob {
    /// Which delivery.
    #[serde(flatten)]
    pub key: DeliveryKey,
    /// The address fan-out read, so the sender need not read the profile. Absent, the sender
    /// reads it.
    #[serde(flatten)]
    pub to: Option<KnownAddress>,
    /// An urgent campaign's message: it never waits behind ordinary ones.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub urgent: bool,
    /// A crisis follow-up on a channel the person did not choose for the topic: sent to their
    /// contact on file as long as they are subscribed, whatever their channel choices.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follow_up: bool,
}

/// An address fan-out read for a delivery, and when: valid at send time unless the subscriber
/// changed since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownAddress {
    pub address: Address,
    /// When fan-out read it.
    pub read_at: DateTime<Utc>,
}

impl From<DeliveryKey> for DeliverJob {
    fn from(key: DeliveryKey) -> Self {
        Self {
            key,
            to: None,
            urgent: false,
            follow_up: false,
        }
    }
}

#[derive(Serialize)]
struct OutgoingEnvelope<'a> {
    v: u32,
    job: &'a Job,
}

#[derive(Deserialize)]
struct Envelope {
    v: u32,
    job: Job,
}

impl Job {
    /// The queue it belongs on (`fanout` or `delivery`).
    pub fn queue(&self) -> QueueName {
        match self {
            Job::Fanout { .. } | Job::File(_) => QueueName::Fanout,
            Job::Deliver { .. } | Job::Notice(_) | Job::CallAgain(_) => QueueName::Delivery,
        }
    }

    /// Whether it belongs to an urgent campaign (queues hand those out first).
    pub fn is_urgent(&self) -> bool {
        match self {
            Job::Fanout(job) => job.urgent,
            Job::Deliver(job) => job.urgent,
            Job::File(_) => false,
            Job::Notice(_) => true,
            Job::CallAgain(job) => job.urgent,
        }
    }

    /// The versioned JSON payload.
    pub fn to_payload(&self) -> String {
        serde_json::to_string(&OutgoingEnvelope {
            v: PAYLOAD_VERSION,
            job: self,
        })
        .expect("jobs serialize")
    }

    /// Reads a payload; an error names what is wrong (a poison message).
    pub fn from_payload(payload: &str) -> Result<Job, PayloadError> {
        match DeliverPayload::read(payload) {
            Some(job) => Ok(Job::Deliver(job)),
            None => Self::read_any(payload),
        }
    }

    /// Reads any payload through serde's derived path.
    fn read_any(payload: &str) -> Result<Job, PayloadError> {
        let env: Envelope =
            serde_json::from_str(payload).map_err(|e| PayloadError::Unreadable(e.to_string()))?;
        if env.v != PAYLOAD_VERSION {
            return Err(PayloadError::Version(env.v));
        }
        Ok(env.job)
    }
}

/// A delivery job's payload read field by field: the form [`Job::to_payload`] writes for
/// [`Job::Deliver`] (its tag, the key and the known address flattened), without the
/// buffering serde does for a tagged enum and flattened fields (the general path parsed every
/// payload twice over: 4 % of a delivery's time). Anything else — another job, a field
/// more, an address without its instant — is left to the general path, which decides.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliverEnvelope {
    v: u32,
    job: DeliverPayload,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliverPayload {
    #[serde(rename = "type")]
    tag: DeliverTag,
    campaign: CampaignId,
    subscriber: SubscriberId,
    channel: Channel,
    address: Option<Address>,
    read_at: Option<DateTime<Utc>>,
    #[serde(default)]
    urgent: bool,
    #[serde(default)]
    follow_up: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum DeliverTag {
    Deliver,
}

impl DeliverPayload {
    /// The delivery job of a current payload, or `None` for the general path to read.
    fn read(payload: &str) -> Option<DeliverJob> {
        let env: DeliverEnvelope = serde_json::from_str(payload).ok()?;
        let DeliverPayload {
            tag: DeliverTag::Deliver,
            campaign,
            subscriber,
            channel,
            address,
            read_at,
            urgent,
            follow_up,
        } = env.job;
        let to = match (address, read_at) {
            (Some(address), Some(read_at)) => Some(KnownAddress { address, read_at }),
            (None, None) => None,
            _ => return None,
        };
        (env.v == PAYLOAD_VERSION).then_some(DeliverJob {
            key: DeliveryKey {
                campaign,
                subscriber,
                channel,
            },
            to,
            urgent,
            follow_up,
        })
    }
}

/// Why a queued payload is not a job (a poison message: it can never succeed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Not the JSON of a job envelope.
    #[error("unreadable job payload: {0}")]
    Unreadable(String),
    /// Written by a version of the service this one does not read.
    #[error("unsupported job payload version {0}")]
    Version(u32),
}

/// The two queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueName {
    /// One message per campaign shard.
    Fanout,
    /// One message per recipient and channel.
    Delivery,
}

impl QueueName {
    /// The name used by adapters.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::Fanout => "fanout",
            QueueName::Delivery => "delivery",
        }
    }
}

/// What a consumer did with a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Done (or nothing left to do): remove it from the queue.
    Done,
    /// Try again after this long (sending window, transient provider error).
    RetryAfter(std::time::Duration),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DeliveryKey {
        DeliveryKey {
            campaign: CampaignId::new(),
            subscriber: SubscriberId::new(),
            channel: Channel::Sms,
        }
    }

    #[test]
    fn a_delivery_payload_read_field_by_field_is_what_the_general_path_reads() {
        let (c, sub) = (CampaignId::new(), SubscriberId::new());
        let at = "2026-12-01T09:00:00.123456Z";
        let head = format!(r#""type":"deliver","campaign":"{c}","subscriber":"{sub}""#);
        let payloads = [
            format!(r#"{{"v":1,"job":{{{head},"channel":"sms"}}}}"#),
            format!(
                r#"{{"v":1,"job":{{{head},"channel":"email","address":"a@b.fr","read_at":"{at}"}}}}"#
            ),
            format!(
                r#"{{"job":{{"follow_up":true,{head},"channel":"sms","read_at":"{at}","address":"+33612345678","urgent":true}},"v":1}}"#
            ),
            // An address without its instant, or an address that is none: no known address.
            format!(r#"{{"v":1,"job":{{{head},"channel":"email","address":"a@b.fr"}}}}"#),
            format!(
                r#"{{"v":1,"job":{{{head},"channel":"email","address":"pas une adresse","read_at":"{at}"}}}}"#
            ),
            // Left to the general path: another version, another job, a field more.
            format!(r#"{{"v":2,"job":{{{head},"channel":"sms"}}}}"#),
            format!(r#"{{"v":1,"job":{{{head},"channel":"sms","attempt":2}}}}"#),
            format!(r#"{{"v":1,"job":{{{head},"channel":"fax"}}}}"#),
            Job::Fanout(FanoutJob::first(c, 3, false)).to_payload(),
        ];
        let mut fast = 0;
        for p in &payloads {
            let general = Job::read_any(p);
            assert_eq!(Job::from_payload(p), general, "{p}");
            if let Some(job) = DeliverPayload::read(p) {
                assert_eq!(Ok(Job::Deliver(job)), general, "{p}");
                fast += 1;
            }
        }
        assert_eq!(fast, 3, "the payloads written today take the fast path");
    }

    #[test]
    fn payloads_are_versioned_and_round_trip() {
        let job = Job::Deliver(DeliverJob {
            key: key(),
            to: Some(KnownAddress {
                address: Address::try_from("+33612345678".to_owned()).unwrap(),
                read_at: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 1, 9, 0, 0).unwrap(),
            }),
            urgent: true,
            follow_up: false,
        });
        let p = job.to_payload();
        assert!(p.starts_with("{\"v\":1,"), "{p}");
        assert!(p.contains("\"urgent\":true") && job.is_urgent(), "{p}");
        assert!(p.contains("\"address\":\"+33612345678\""), "{p}");
        assert_eq!(Job::from_payload(&p).unwrap(), job);
        // A payload without the address (written before addresses travelled) still reads.
        let bare = Job::Deliver(key().into());
        assert!(!bare.to_payload().contains("address"));
        assert_eq!(Job::from_payload(&bare.to_payload()).unwrap(), bare);
        let fan = Job::Fanout(FanoutJob::first(CampaignId::new(), 3, false));
        let p = fan.to_payload();
        assert!(
            !p.contains("urgent") && !p.contains("slice") && !p.contains("resume"),
            "a shard's first job keeps the old shape: {p}"
        );
        assert_eq!(Job::from_payload(&p).unwrap(), fan);
        assert_eq!(fan.queue(), QueueName::Fanout);
        let next = Job::Fanout(FanoutJob {
            slice: 4,
            resume: Some(FanoutCursor {
                email: ChannelCursor {
                    after: Some(SubscriberId::new()),
                    done: true,
                    targeted: 50_000,
                    suppressed: 12,
                },
                sms: ChannelCursor {
                    after: Some(SubscriberId::new()),
                    ..ChannelCursor::default()
                },
                voice: ChannelCursor::default(),
            }),
            ..FanoutJob::first(CampaignId::new(), 1, true)
        });
        assert_eq!(Job::from_payload(&next.to_payload()).unwrap(), next);
    }

    #[test]
    fn a_queued_sign_up_message_takes_the_urgent_delivery_lane_and_round_trips() {
        let job = Job::Notice(NoticeJob {
            message: Notice::Sms(OutgoingSms {
                to: "+33612345678".parse().unwrap(),
                text: "Votre code : 123456".into(),
            }),
            queued_at: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 1, 9, 0, 0).unwrap(),
        });
        assert_eq!(job.queue(), QueueName::Delivery);
        assert!(job.is_urgent());
        let p = job.to_payload();
        assert!(
            p.contains("\"type\":\"notice\"") && p.contains("\"channel\":\"sms\""),
            "{p}"
        );
        assert_eq!(Job::from_payload(&p).unwrap(), job);
    }

    #[test]
    fn poison_payloads_are_reported() {
        assert!(matches!(
            Job::from_payload("nope"),
            Err(PayloadError::Unreadable(_))
        ));
        let newer = Job::from_payload(r#"{"v":9,"job":{"type":"fanout","campaign":"00000000-0000-0000-0000-000000000000","shard":0}}"#).unwrap_err();
        assert_eq!(newer, PayloadError::Version(9));
        assert!(newer.to_string().contains("version 9"));
    }
}
