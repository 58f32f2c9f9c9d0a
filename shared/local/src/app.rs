//! Wires the use cases over the embedded backend; shared by the server, tests and benchmarks.

use std::sync::Arc;

use chrono::Duration;
use telmail_core::clock::Clock;
use telmail_core::config::ServiceConfig;
use telmail_core::messages::EmailLayout;
use telmail_core::ports::{EmailSender, SmsSender};
use telmail_core::staff::StaffAuth;
use telmail_core::token::TokenSigner;
use telmail_core::wiring::{Providers, UseCases};
use telmail_http::admin::AdminState;

use crate::queue::SqliteQueue;
use crate::store::SqliteStore;

/// Every use case of the service, built once, with the local staff accounts, the store and the
/// queue (the use cases are reached through `Deref`: `services.residents`…).
#[derive(Clone)]
pub struct Services {
    /// The use cases shared with the AWS backend.
    pub use_cases: UseCases,
    /// Local staff accounts and sessions.
    pub staff_auth: Arc<StaffAuth>,
    /// The store.
    pub store: Arc<SqliteStore>,
    /// The queue.
    pub queue: SqliteQueue,
}

impl std::ops::Deref for Services {
    type Target = UseCases;
    fn deref(&self) -> &UseCases {
        &self.use_cases
    }
}

/// The providers and settings the use cases are built from.
pub struct Wiring {
    /// Store.
    pub store: Arc<SqliteStore>,
    /// Queue.
    pub queue: SqliteQueue,
    /// Email provider.
    pub email: Arc<dyn EmailSender>,
    /// SMS provider.
    pub sms: Arc<dyn SmsSender>,
    /// Clock.
    pub clock: Arc<dyn Clock>,
    /// Email layout.
    pub layout: Arc<EmailLayout>,
    /// Link signer.
    pub signer: TokenSigner,
    /// Settings.
    pub config: ServiceConfig,
}

/// How long a staff session lasts.
pub const STAFF_SESSION_HOURS: i64 = 8;

impl Services {
    /// Builds every use case.
    pub fn wire(w: Wiring) -> Self {
        let use_cases = UseCases::wire(Providers {
            store: w.store.clone(),
            queue: Arc::new(w.queue.clone()),
            email: w.email,
            sms: w.sms,
            clock: w.clock.clone(),
            layout: w.layout,
            signer: w.signer,
            config: w.config,
        });
        Self {
            staff_auth: Arc::new(StaffAuth::new(
                w.store.clone(),
                w.clock,
                Duration::hours(STAFF_SESSION_HOURS),
            )),
            use_cases,
            store: w.store,
            queue: w.queue,
        }
    }

    /// The staff API's state.
    pub fn admin_state(&self) -> AdminState {
        AdminState::from(&self.use_cases)
    }
}
