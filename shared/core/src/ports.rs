//! Ports: the capabilities use cases need, implemented by the local and AWS adapters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::contact::{Email, PhoneNumber};
use crate::error::{SendError, StoreError};
use crate::subscriber::{Subscriber, SubscriberId};
use crate::topic::{Topic, TopicSlug};

/// Reads and writes subscribers; an email or a phone number belongs to one subscriber at most.
#[async_trait]
pub trait SubscriberStore: Send + Sync {
    /// A subscriber by id.
    async fn get(&self, id: SubscriberId) -> Result<Option<Subscriber>, StoreError>;
    /// The subscriber owning an email address.
    async fn find_by_email(&self, email: &Email) -> Result<Option<Subscriber>, StoreError>;
    /// The subscriber owning a phone number.
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<Subscriber>, StoreError>;
    /// Creates a subscriber; `Conflict` when its email or phone is owned by another.
    async fn insert(&self, subscriber: &Subscriber) -> Result<(), StoreError>;
    /// Replaces a subscriber (profile, contacts, choices); `Conflict` as for insert.
    async fn update(&self, subscriber: &Subscriber) -> Result<(), StoreError>;
    /// Deletes a subscriber and every record naming them; false when there was none.
    async fn delete(&self, id: SubscriberId) -> Result<bool, StoreError>;
    /// Deletes pending sign-ups whose confirmation expired before `now`; returns how many.
    async fn purge_expired_pending(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Reads and writes topics.
#[async_trait]
pub trait TopicStore: Send + Sync {
    /// Every topic, open or not, by name.
    async fn list(&self) -> Result<Vec<Topic>, StoreError>;
    /// One topic.
    async fn get(&self, slug: &TopicSlug) -> Result<Option<Topic>, StoreError>;
    /// Creates a topic unless one has its slug; returns true when created.
    async fn insert_if_absent(&self, topic: &Topic) -> Result<bool, StoreError>;
}

/// Anonymous monthly counters (they survive erasure of the people counted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// A subscriber became active.
    SignUps,
    /// A subscriber unsubscribed from everything or was erased.
    Departures,
}

impl Counter {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Counter::SignUps => "signups",
            Counter::Departures => "departures",
        }
    }
}

/// Adds to monthly counters.
#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Adds `n` to the counter of `month` (`YYYY-MM`).
    async fn add(&self, month: &str, counter: Counter, n: i64) -> Result<(), StoreError>;
    /// The value of a counter for a month (0 when never set).
    async fn get(&self, month: &str, counter: Counter) -> Result<i64, StoreError>;
}

/// An email ready to send: both parts already rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    /// Recipient.
    pub to: Email,
    /// Subject line.
    pub subject: String,
    /// Plain-text part.
    pub text: String,
    /// HTML part.
    pub html: String,
    /// One-click unsubscribe URL (RFC 8058), when the message is part of a list.
    pub list_unsubscribe: Option<String>,
}

/// A text message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingSms {
    /// Recipient.
    pub to: PhoneNumber,
    /// Text.
    pub text: String,
}

/// Sends emails; returns the provider's message id.
#[async_trait]
pub trait EmailSender: Send + Sync {
    /// Sends one email.
    async fn send_email(&self, email: &OutgoingEmail) -> Result<String, SendError>;
}

/// Sends SMS; returns the provider's message id.
#[async_trait]
pub trait SmsSender: Send + Sync {
    /// Sends one SMS.
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<String, SendError>;
}
