//! The domain's one error type; the HTTP layer maps it to statuses in a single place.

use std::collections::BTreeMap;

/// A stored or typed name that is none of a type's names (statuses, counters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} inconnu : « {value} »")]
pub struct UnknownName {
    /// What was being named, in French (`statut de campagne`…).
    pub kind: &'static str,
    /// The text refused.
    pub value: String,
}

impl UnknownName {
    /// The error for `value` as a `kind`.
    pub fn new(kind: &'static str, value: &str) -> Self {
        Self {
            kind,
            value: value.to_owned(),
        }
    }
}

/// An identifier that is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Identifiant invalide : « {0} ».")]
pub struct InvalidId(pub String);

/// French messages keyed by the name of the field they are about.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, String>);

impl FieldErrors {
    /// An empty set of errors.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a message for a field, keeping the first one given.
    pub fn add(&mut self, field: &str, message: impl std::fmt::Display) {
        self.0
            .entry(field.to_owned())
            .or_insert_with(|| message.to_string());
    }

    /// True when no field has an error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for a field, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.get(field).map(String::as_str)
    }

    /// Iterates over (field, message).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// `Ok(())` when empty, otherwise a validation error.
    pub fn into_result(self) -> Result<(), DomainError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Validation(self))
        }
    }

    /// A validation error about one field.
    pub fn single(field: &str, message: impl std::fmt::Display) -> DomainError {
        let mut errors = Self::new();
        errors.add(field, message);
        DomainError::Validation(errors)
    }
}

/// Everything a use case can refuse or fail with. Messages are French: they reach residents and staff.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Input that breaks a rule, field by field.
    #[error("Certaines informations sont invalides.")]
    Validation(FieldErrors),
    /// A signed link that was altered, is for another purpose, or is unknown.
    #[error("Ce lien n'est pas valide. Vérifiez que vous l'avez copié en entier.")]
    InvalidToken,
    /// A signed link past its expiry.
    #[error("Ce lien a expiré. Recommencez la démarche pour en recevoir un nouveau.")]
    ExpiredToken,
    /// Too many wrong answers (e.g. SMS codes).
    #[error("{0}")]
    TooManyAttempts(String),
    /// No valid staff identity (French message).
    #[error("{0}")]
    Unauthorized(String),
    /// The identity lacks a role, or the rule forbids this actor (French message).
    #[error("{0}")]
    Forbidden(String),
    /// The thing asked for does not exist (French message).
    #[error("{0}")]
    NotFound(String),
    /// The request clashes with the current state (French message).
    #[error("{0}")]
    Conflict(String),
    /// A provider (email, SMS, storage) is unavailable for now; the request may be retried.
    #[error("Le service est momentanément indisponible. Réessayez dans quelques minutes.")]
    Unavailable(String),
    /// The storage is held by another program (a lock outlasting the wait): nothing was
    /// written, and the same request succeeds once it lets go. The text is for logs.
    #[error("Enregistrement impossible pour l'instant : la base de données du serveur est verrouillée par un autre programme. Rien n'a été modifié ; réessayez dans quelques instants.")]
    StorageBusy(String),
    /// The storage has no room left (a full disk): nothing was written, and the same request
    /// succeeds once space is freed. The text is for logs.
    #[error("Enregistrement impossible : le disque du serveur est plein. Rien n'a été modifié ; prévenez le service informatique, puis réessayez une fois de la place libérée.")]
    StorageFull(String),
    /// A bug or broken invariant; the detail goes to logs, never to the user.
    #[error("Une erreur inattendue s'est produite.")]
    Unexpected(String),
}

impl DomainError {
    /// A short stable code for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation",
            Self::InvalidToken => "invalid_token",
            Self::ExpiredToken => "expired_token",
            Self::TooManyAttempts(_) => "too_many_attempts",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::Unavailable(_) => "unavailable",
            Self::StorageBusy(_) => "storage_busy",
            Self::StorageFull(_) => "storage_full",
            Self::Unexpected(_) => "unexpected",
        }
    }
}

/// Failures of a storage adapter.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule would be broken (e.g. an email already owned by another subscriber).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend failed; the text is for logs.
    #[error("storage failure: {0}")]
    Backend(String),
    /// The record to change is gone (erased meanwhile); the text is for logs.
    #[error("not found: {0}")]
    NotFound(String),
    /// Another program holds the storage longer than the store waits (a lock); nothing was
    /// written. The text is for logs.
    #[error("storage busy: {0}")]
    Busy(String),
    /// The storage has no room left (a full disk); nothing was written. The text is for logs.
    #[error("storage full: {0}")]
    Full(String),
}

impl From<StoreError> for DomainError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => {
                DomainError::Conflict(format!("Conflit d'enregistrement ({what}). Réessayez."))
            }
            StoreError::Backend(detail) => DomainError::Unavailable(detail),
            StoreError::NotFound(_) => DomainError::NotFound(
                "Cet enregistrement n'existe plus : il a été effacé entre-temps.".into(),
            ),
            StoreError::Busy(detail) => DomainError::StorageBusy(detail),
            StoreError::Full(detail) => DomainError::StorageFull(detail),
        }
    }
}

/// Failures of an email or SMS provider.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SendError {
    /// Timeouts, 5xx: try again later.
    #[error("transient send failure: {0}")]
    Transient(String),
    /// The provider asks to slow down (throttling, a busy relay): wait, then try again — not
    /// a failed attempt.
    #[error("provider busy: {0}")]
    Throttled(String),
    /// The provider's account may not send on this channel now (sending paused, account
    /// suspended): the channel pauses until staff or the provider clear it.
    #[error("sending paused by the provider: {0}")]
    Paused(String),
    /// Refused for good (bad address, opted out…): do not retry.
    #[error("permanent send failure: {0}")]
    Permanent(String),
    /// No readable answer after the request went out (a timeout, a garbled response): the
    /// provider may have accepted the message. Sending again may send it twice.
    #[error("send outcome unknown: {0}")]
    Unknown(String),
}

impl SendError {
    /// What a person reads when a message to them could not be sent now: a provider refusing the
    /// address or number for good is a mistake in `field`, explained by `refused` (the provider's
    /// own words may quote the address: they are not repeated); anything else may be retried.
    pub fn for_field(self, field: &str, refused: &str) -> DomainError {
        match self {
            SendError::Transient(detail)
            | SendError::Throttled(detail)
            | SendError::Paused(detail)
            | SendError::Unknown(detail) => DomainError::Unavailable(detail),
            SendError::Permanent(_) => FieldErrors::single(field, refused),
        }
    }
}
