//! SQLite implementations of the store ports: one type, [`SqliteStore`], implements them all,
//! one module per port.

mod archive;
mod campaigns;
mod cell;
mod deliveries;
mod documents;
mod file_jobs;
mod notices;
mod pacing;
mod pauses;
mod proposals;
mod quotas;
mod reach;
mod staff;
mod stats;
mod subscribers;
mod suppressions;
mod topics;
mod versioned;
mod weather;
mod zones;

use serde::de::DeserializeOwned;
use serde::Serialize;
use telmail_core::domain::contact::Channel;
use telmail_core::error::StoreError;

use std::sync::Arc;

use telmail_core::clock::Clock;

use crate::db::Db;

/// The embedded store: every record of Télmail in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    db: Db,
    /// Stamps what the store writes (claims, outcomes): the service's clock, so a stamp and
    /// the rule that later compares it read the same time.
    clock: Arc<dyn Clock>,
}

impl SqliteStore {
    /// A store over an open database, stamping with `clock`.
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock }
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("corrupt {what}: {e}"))
}

fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(format!("cannot encode: {e}")))
}

fn from_json<T: DeserializeOwned>(what: &str, json: &str) -> Result<T, StoreError> {
    serde_json::from_str(json).map_err(|e| corrupt(what, e))
}

fn parse_channel(s: &str) -> Result<Channel, StoreError> {
    s.parse().map_err(|e| corrupt("channel", e))
}

/// Converts a count or size to SQLite's integer type (saturating: no such size is real).
fn sql_int(n: impl TryInto<i64>) -> i64 {
    n.try_into().unwrap_or(i64::MAX)
}
