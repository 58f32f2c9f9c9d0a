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
use axum::response::IntoResponse;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use telmail_core::campaigns::Campaigns;
use telmail_core::statistics::Statistics;
use telmail_core::subscriber_file::SubscriberFile;
use telmail_core::topics_admin::TopicsAdmin;
use telmail_core::wiring::UseCases;

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

impl From<&UseCases> for AdminState {
    fn from(u: &UseCases) -> Self {
        Self {
            campaigns: u.campaigns.clone(),
            subscribers: u.subscriber_file.clone(),
            statistics: u.statistics.clone(),
            topics: u.topics_admin.clone(),
        }
    }
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

/// A part of the staff API, served by its own Lambda function on AWS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Drafting and following campaigns (communication service).
    Campaigns,
    /// Approving or rejecting campaigns (mayor's office).
    Approval,
    /// Subscriber file, topics, statistics and the caller's identity.
    File,
}

/// The campaign actions that belong to the approval part.
const APPROVAL_ACTIONS: [&str; 2] = ["approve", "reject"];

impl Part {
    fn serves(self, path: &str) -> bool {
        let campaign_route = path.starts_with("/api/admin/campaigns");
        match self {
            Part::Campaigns => campaign_route,
            Part::Approval => path == "/api/admin/campaigns/{id}/{action}",
            Part::File => !campaign_route,
        }
    }

    /// Whether a campaign action (`approve`, `submit`…) is this part's.
    fn owns_action(self, action: &str) -> bool {
        match self {
            Part::Approval => APPROVAL_ACTIONS.contains(&action),
            Part::Campaigns => !APPROVAL_ACTIONS.contains(&action),
            Part::File => false,
        }
    }
}

/// Refuses campaign actions served by another part (API Gateway routes them apart; this keeps a
/// misrouted request from reaching the wrong function's permissions).
async fn own_actions_only(
    axum::extract::State(part): axum::extract::State<Part>,
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let segments: Vec<&str> = req.uri().path().trim_matches('/').split('/').collect();
    if let ["api", "admin", "campaigns", _, action] = segments.as_slice() {
        if !matches!(*action, "preview" | "deliveries") && !part.owns_action(action) {
            return crate::error::ApiError::unknown_route().into_response();
        }
    }
    next.run(req).await
}

/// One part of the staff API behind identities vouched for by the gateway (AWS).
pub fn part_router(state: AdminState, part: Part) -> Router {
    staff_routes()
        .into_iter()
        .filter(|(path, _)| part.serves(path))
        .fold(Router::new(), |r, (path, m)| r.route(path, m))
        .with_state(state)
        .layer(middleware::from_fn_with_state(part, own_actions_only))
        .layer(middleware::from_fn_with_state(
            StaffAuthMode::TrustedGateway,
            auth::authenticate,
        ))
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
