//! The staff API under `/api/admin/`: JSON only, every route behind a staff identity and a role
//! check in the use case.

pub mod auth;
pub mod campaigns;
pub mod stats;
pub mod subscribers;
pub mod topics;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use telmail_core::campaigns::Campaigns;
use telmail_core::statistics::Statistics;
use telmail_core::subscriber_file::SubscriberFile;
use telmail_core::topics_admin::TopicsAdmin;

use self::auth::StaffAuthMode;
use crate::guard::RateLimit;

/// Largest CSV import accepted.
pub const MAX_IMPORT_BYTES: usize = 5 * 1024 * 1024;

/// The staff use cases.
#[derive(Clone)]
pub struct AdminState {
    /// Campaigns.
    pub campaigns: Arc<Campaigns>,
    /// Subscriber file.
    pub subscribers: Arc<SubscriberFile>,
    /// Statistics.
    pub statistics: Arc<Statistics>,
    /// Topic management.
    pub topics: Arc<TopicsAdmin>,
}

type Routes = Vec<(&'static str, MethodRouter<AdminState>)>;

/// Routes that need a staff identity.
fn staff_routes() -> Routes {
    vec![
        ("/api/admin/me", get(auth::me)),
        (
            "/api/admin/campaigns",
            get(campaigns::list).post(campaigns::create),
        ),
        (
            "/api/admin/campaigns/{id}",
            get(campaigns::get).put(campaigns::update),
        ),
        ("/api/admin/campaigns/{id}/preview", get(campaigns::preview)),
        (
            "/api/admin/campaigns/{id}/deliveries",
            get(campaigns::deliveries),
        ),
        (
            "/api/admin/campaigns/{id}/{action}",
            post(campaigns::action),
        ),
        (
            "/api/admin/subscribers",
            get(subscribers::search).post(subscribers::add),
        ),
        ("/api/admin/subscribers/export", get(subscribers::export)),
        (
            "/api/admin/subscribers/import",
            post(subscribers::import).layer(DefaultBodyLimit::max(MAX_IMPORT_BYTES)),
        ),
        (
            "/api/admin/subscribers/{id}",
            get(subscribers::get)
                .put(subscribers::edit)
                .delete(subscribers::erase),
        ),
        ("/api/admin/topics", get(topics::list).post(topics::create)),
        (
            "/api/admin/topics/{slug}",
            axum::routing::put(topics::update),
        ),
        ("/api/admin/topics/{slug}/close", post(topics::close)),
        ("/api/admin/stats", get(stats::report)),
    ]
}

/// Every admin path (login and logout included).
pub fn route_paths() -> Vec<&'static str> {
    let mut paths = vec!["/api/admin/login", "/api/admin/logout"];
    paths.extend(staff_routes().into_iter().map(|(p, _)| p));
    paths
}

/// The staff Router. Login is outside authentication (and rate-limited per client address);
/// everything else inside.
pub fn router(state: AdminState, mode: StaffAuthMode, limit: RateLimit) -> Router {
    let protected = staff_routes()
        .into_iter()
        .fold(Router::new(), |r, (path, m)| r.route(path, m))
        .with_state(state)
        .merge(
            Router::new()
                .route("/api/admin/logout", post(auth::logout))
                .with_state(mode.clone()),
        )
        .layer(middleware::from_fn_with_state(
            mode.clone(),
            auth::authenticate,
        ));
    Router::new()
        .route("/api/admin/login", post(auth::login))
        .layer(middleware::from_fn_with_state(
            limit,
            crate::guard::rate_limited,
        ))
        .with_state(mode)
        .merge(protected)
}
