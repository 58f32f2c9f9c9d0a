//! Wires the use cases over the embedded backend; shared by the server, tests and benchmarks.

use std::sync::Arc;

use chrono::Duration;
use telmail_core::campaigns::Campaigns;
use telmail_core::clock::Clock;
use telmail_core::config::ServiceConfig;
use telmail_core::dispatch::Dispatcher;
use telmail_core::messages::EmailLayout;
use telmail_core::ports::{EmailSender, SmsSender};
use telmail_core::residents::Residents;
use telmail_core::staff::StaffAuth;
use telmail_core::statistics::Statistics;
use telmail_core::subscriber_file::SubscriberFile;
use telmail_core::token::TokenSigner;
use telmail_core::topics_admin::TopicsAdmin;
use telmail_core::wiring::{Providers, UseCases};
use telmail_http::admin::AdminState;

use crate::queue::SqliteQueue;
use crate::store::SqliteStore;

/// Every use case of the service, built once.
#[derive(Clone)]
pub struct Services {
    /// Resident journeys.
    pub residents: Arc<Residents>,
    /// Staff campaigns.
    pub campaigns: Arc<Campaigns>,
    /// Subscriber file.
    pub subscriber_file: Arc<SubscriberFile>,
    /// Statistics.
    pub statistics: Arc<Statistics>,
    /// Topic management.
    pub topics_admin: Arc<TopicsAdmin>,
    /// Local staff accounts and sessions.
    pub staff_auth: Arc<StaffAuth>,
    /// Fan-out and sending.
    pub dispatcher: Arc<Dispatcher>,
    /// The store.
    pub store: Arc<SqliteStore>,
    /// The queue.
    pub queue: SqliteQueue,
    /// The same use cases, as one value.
    pub use_cases: UseCases,
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
            residents: use_cases.residents.clone(),
            campaigns: use_cases.campaigns.clone(),
            subscriber_file: use_cases.subscriber_file.clone(),
            statistics: use_cases.statistics.clone(),
            topics_admin: use_cases.topics_admin.clone(),
            dispatcher: use_cases.dispatcher.clone(),
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
