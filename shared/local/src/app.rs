//! Wires the use cases over the embedded backend; shared by the server, tests and benchmarks.

use std::sync::Arc;

use chrono::Duration;
use telmail_core::clock::Clock;
use telmail_core::use_cases::staff_auth::StaffAuth;
use telmail_core::wiring::{Providers, UseCases};
use telmail_http::admin::AdminState;

use crate::files::FolderDrop;
use crate::passwords::{Argon2Passwords, PasswordError};
use crate::queue::SqliteQueue;
use crate::store::SqliteStore;

/// Every use case of the service, built once, with the local staff accounts, the store and the
/// queue.
#[derive(Clone)]
pub struct Services {
    /// The use cases shared with the AWS backend.
    pub use_cases: UseCases,
    /// Local staff accounts and sessions.
    pub staff_auth: Arc<StaffAuth>,
    pub store: Arc<SqliteStore>,
    pub queue: SqliteQueue,
    /// Big files, served by the links it signs.
    pub files: Arc<FolderDrop>,
}

/// How long a staff session lasts.
pub const STAFF_SESSION_HOURS: i64 = 8;

/// Local staff accounts over the embedded store, passwords hashed with Argon2id.
pub fn staff_auth(
    store: Arc<SqliteStore>,
    clock: Arc<dyn Clock>,
) -> Result<StaffAuth, PasswordError> {
    Ok(StaffAuth::new(
        store.clone(),
        store,
        Arc::new(Argon2Passwords::new()?),
        clock,
        Duration::hours(STAFF_SESSION_HOURS),
    ))
}

impl Services {
    /// Builds every use case over the embedded store, enqueueing on the embedded `queue`, big
    /// files in `files`.
    pub fn wire(
        p: Providers<SqliteStore>,
        queue: SqliteQueue,
        files: Arc<FolderDrop>,
    ) -> Result<Self, PasswordError> {
        let store = p.store.clone();
        let staff_auth = Arc::new(staff_auth(store.clone(), p.clock.clone())?);
        Ok(Self {
            use_cases: UseCases::wire(p, Arc::new(queue.clone()), files.clone()),
            staff_auth,
            store,
            queue,
            files,
        })
    }

    /// The staff API's state.
    pub fn admin_state(&self) -> AdminState {
        AdminState::from(&self.use_cases)
    }
}
