//! Wires the use cases over the embedded backend; shared by the server, tests and benchmarks.

use std::sync::Arc;

use chrono::Duration;
use telmail_core::campaigns::{CampaignDeps, Campaigns};
use telmail_core::clock::Clock;
use telmail_core::config::ServiceConfig;
use telmail_core::dispatch::{DispatchDeps, Dispatcher};
use telmail_core::links::Links;
use telmail_core::messages::EmailLayout;
use telmail_core::ports::{EmailSender, SmsSender};
use telmail_core::residents::{ResidentDeps, Residents};
use telmail_core::staff::StaffAuth;
use telmail_core::statistics::Statistics;
use telmail_core::subscriber_file::SubscriberFile;
use telmail_core::token::TokenSigner;
use telmail_core::topics_admin::TopicsAdmin;
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
        let store = w.store;
        let dispatcher = Arc::new(Dispatcher::new(DispatchDeps {
            campaigns: store.clone(),
            deliveries: store.clone(),
            subscribers: store.clone(),
            suppressions: store.clone(),
            stats: store.clone(),
            queue: Arc::new(w.queue.clone()),
            email: w.email.clone(),
            sms: w.sms.clone(),
            clock: w.clock.clone(),
            layout: w.layout.clone(),
            links: Links::new(w.signer.clone(), w.config.clone()),
            config: w.config.clone(),
        }));
        let campaigns = Arc::new(Campaigns::new(CampaignDeps {
            campaigns: store.clone(),
            deliveries: store.clone(),
            subscribers: store.clone(),
            topics: store.clone(),
            email: w.email.clone(),
            sms: w.sms.clone(),
            clock: w.clock.clone(),
            layout: w.layout.clone(),
            dispatcher: dispatcher.clone(),
            config: w.config.clone(),
        }));
        let residents = Arc::new(Residents::new(ResidentDeps {
            subscribers: store.clone(),
            topics: store.clone(),
            stats: store.clone(),
            email: w.email,
            sms: w.sms,
            signer: w.signer,
            clock: w.clock.clone(),
            layout: w.layout,
            config: w.config,
        }));
        Self {
            subscriber_file: Arc::new(SubscriberFile::new(
                store.clone(),
                store.clone(),
                store.clone(),
                w.clock.clone(),
            )),
            statistics: Arc::new(Statistics::new(
                store.clone(),
                store.clone(),
                store.clone(),
                w.clock.clone(),
            )),
            topics_admin: Arc::new(TopicsAdmin::new(store.clone(), w.clock.clone())),
            staff_auth: Arc::new(StaffAuth::new(
                store.clone(),
                w.clock,
                Duration::hours(STAFF_SESSION_HOURS),
            )),
            residents,
            campaigns,
            dispatcher,
            store,
            queue: w.queue,
        }
    }

    /// The staff API's state.
    pub fn admin_state(&self) -> AdminState {
        AdminState {
            campaigns: self.campaigns.clone(),
            subscribers: self.subscriber_file.clone(),
            statistics: self.statistics.clone(),
            topics: self.topics_admin.clone(),
        }
    }
}
