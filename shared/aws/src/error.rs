//! Why a function cannot start, or cannot take an event: typed, with the setting, secret or event
//! at fault named in the message (what the operator reads in CloudWatch).

use telmail_core::error::StoreError;
use telmail_core::DomainError;

/// A function's cold start failed: a setting missing or wrong, a secret unreadable.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// A required variable is absent or blank.
    #[error("{0} must be set")]
    Missing(String),
    /// A variable's value does not parse; `reason` is the parser's.
    #[error("{name}: {reason}")]
    Invalid { name: String, reason: String },
    /// A variable's value is not of the shape it must have; `shape` completes "… must be".
    #[error("{name} must be {shape}")]
    NotA {
        name: &'static str,
        shape: &'static str,
    },
    /// The service settings (`ServiceConfig`) refused a value; the message names it.
    #[error("{0}")]
    Service(#[from] telmail_core::config::SettingError),
    /// The legal notice's settings (`TELMAIL_LEGAL_*`, `TELMAIL_ACCESSIBILITY_*`).
    #[error(transparent)]
    Legal(#[from] telmail_http::legal::LegalError),
    /// Secrets Manager did not give the secret.
    #[error("cannot read the {what} secret: {reason}")]
    SecretUnreadable { what: &'static str, reason: String },
    /// The secret holds binary, not text.
    #[error("the {what} secret has no SecretString")]
    SecretNotText { what: &'static str },
    /// The link-signing key is too short to sign with.
    #[error("the signing key secret must be at least 32 characters")]
    SigningKeyTooShort,
    /// The weather feed's client could not be built.
    #[error("{0}")]
    WeatherFeed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An event a function cannot take: unreadable, of a kind it does not handle, or whose work
/// failed (the runtime then reports the invocation failed, and the event is tried again).
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The event has a known source but does not read as one.
    #[error("unreadable {kind} event: {error}")]
    Unreadable {
        kind: &'static str,
        error: serde_json::Error,
    },
    /// The event comes from a source no function takes.
    #[error("unexpected event source {0}")]
    UnexpectedSource(String),
    /// The event has no recognisable shape.
    #[error("unexpected event: neither SQS, SNS, CloudWatch Logs nor a schedule")]
    Unrecognised,
    /// A queue consumer was given an event of another kind (`what` names it).
    #[error("a queue consumer does not take {what}")]
    NotForQueue { what: &'static str },
    /// A provider notification in the event is unreadable.
    #[error(transparent)]
    Notification(#[from] crate::feedback::NotificationError),
    /// The use case failed.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The answer to the runtime could not be written.
    #[error("cannot write the answer: {0}")]
    Answer(#[from] serde_json::Error),
}
