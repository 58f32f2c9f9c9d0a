//! The staff API under `/api/admin/`: JSON only, every route behind a staff identity and a role
//! check in the use case.

pub mod auth;
pub mod campaigns;
pub mod cell;
pub mod claims;
pub mod crisis;
pub mod files;
pub mod proposals;
pub mod stats;
pub mod subscribers;
pub mod suppressions;
pub mod topics;
pub mod weather;
pub mod zones;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use telmail_core::use_cases::account::Account;
use telmail_core::use_cases::archive::Archive;
use telmail_core::use_cases::campaigns::Campaigns;
use telmail_core::use_cases::cell::CrisisCell;
use telmail_core::use_cases::crisis::Crisis;
use telmail_core::use_cases::file_jobs::FileJobs;
use telmail_core::use_cases::outbox::OutboxViewer;
use telmail_core::use_cases::proposals::Proposals;
use telmail_core::use_cases::statistics::Statistics;
use telmail_core::use_cases::subscriber_file::{SubscriberFile, MAX_SYNC_IMPORT_BYTES};
use telmail_core::use_cases::topics_admin::TopicsAdmin;
use telmail_core::use_cases::weather::WeatherRelay;
use telmail_core::use_cases::zones::Zones;
use telmail_core::wiring::UseCases;

use self::auth::StaffAuthMode;
use crate::guard::RateLimit;

/// The staff use cases.
#[derive(Clone)]
pub struct AdminState {
    pub campaigns: Arc<Campaigns>,
    /// Subscriber file.
    pub subscribers: Arc<SubscriberFile>,
    pub statistics: Arc<Statistics>,
    /// Topic management.
    pub topics: Arc<TopicsAdmin>,
    /// The weather relay's state and templates.
    pub weather: Arc<WeatherRelay>,
    /// The embedded default's outbox.
    pub outbox: Arc<OutboxViewer>,
    /// Big exports and imports.
    pub files: Arc<FileJobs>,
    /// The departments' proposals.
    pub proposals: Arc<Proposals>,
    /// The public archive (staff withdraw messages from it).
    pub archive: Arc<Archive>,
    /// The town's zones.
    pub zones: Arc<Zones>,
    /// The crisis view of urgent campaigns.
    pub crisis: Arc<Crisis>,
    /// The caller's own settings.
    pub account: Arc<Account>,
    /// The crisis cell.
    pub cell: Arc<CrisisCell>,
}

impl From<&UseCases> for AdminState {
    fn from(u: &UseCases) -> Self {
        Self {
            campaigns: u.campaigns.clone(),
            subscribers: u.subscriber_file.clone(),
            statistics: u.statistics.clone(),
            topics: u.topics_admin.clone(),
            weather: u.weather.clone(),
            outbox: u.outbox.clone(),
            files: u.file_jobs.clone(),
            proposals: u.proposals.clone(),
            archive: u.archive.clone(),
            zones: u.zones.clone(),
            crisis: u.crisis.clone(),
            account: u.account.clone(),
            cell: u.cell.clone(),
        }
    }
}

/// A part of the staff API, served by its own Lambda function on AWS (`template.yaml` routes
/// each path to its part's function).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Drafting and following campaigns (communication service).
    Campaigns,
    /// Approving or rejecting campaigns (mayor's office).
    Approval,
    /// Subscriber file, topics, statistics and the caller's identity.
    File,
    /// Big files: the links to send an import or download an export, and their jobs (a
    /// function of its own on AWS, the only staff one linking the S3 SDK).
    Files,
}

/// One staff route: its path, the part that serves it, and its handlers.
type StaffRoute = (&'static str, Part, MethodRouter<AdminState>);

impl Part {
    /// Every part.
    pub const ALL: [Part; 4] = [Part::Campaigns, Part::Approval, Part::File, Part::Files];
}

/// Every route that needs a staff identity, with its part: the one list the full Router, the
/// OpenAPI check and the template check read.
fn staff_routes() -> Vec<StaffRoute> {
    Part::ALL
        .into_iter()
        .flat_map(|part| {
            routes_of(part)
                .into_iter()
                .map(move |(path, m)| (path, part, m))
        })
        .collect()
}

/// The routes of one part. Each part's table is a function of its own, so that a Lambda
/// function, which mounts one part, links only that part's handlers (the part is a constant
/// of its `main`, and a match on it leaves the other tables unreachable).
fn routes_of(part: Part) -> Vec<(&'static str, MethodRouter<AdminState>)> {
    match part {
        Part::Campaigns => campaign_routes(),
        Part::Approval => approval_routes(),
        Part::File => file_routes(),
        Part::Files => big_file_routes(),
    }
}

/// Drafting and following campaigns, proposals, the crisis view.
fn campaign_routes() -> Vec<(&'static str, MethodRouter<AdminState>)> {
    vec![
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
        ("/api/admin/campaigns/{id}/crisis", get(crisis::view)),
        (
            "/api/admin/campaigns/{id}/crisis/export",
            get(crisis::export),
        ),
        (
            "/api/admin/campaigns/{id}/crisis/follow-up",
            post(crisis::follow_up),
        ),
        (
            "/api/admin/campaigns/{id}/estimate",
            post(campaigns::estimate),
        ),
        ("/api/admin/estimate", post(campaigns::estimate_draft)),
        ("/api/admin/campaigns/{id}/test", post(campaigns::test_send)),
        ("/api/admin/campaigns/{id}/submit", post(campaigns::submit)),
        ("/api/admin/campaigns/{id}/cancel", post(campaigns::cancel)),
        (
            "/api/admin/archive/{id}/withdraw",
            post(campaigns::withdraw_from_archive),
        ),
        (
            "/api/admin/proposals",
            get(proposals::inbox).post(proposals::propose),
        ),
        ("/api/admin/proposals/mine", get(proposals::mine)),
        ("/api/admin/proposals/take", post(proposals::take)),
        ("/api/admin/proposals/stats", get(proposals::stats)),
        (
            "/api/admin/proposals/{id}",
            get(proposals::get).put(proposals::edit),
        ),
        ("/api/admin/proposals/{id}/sent", get(proposals::sent)),
        (
            "/api/admin/proposals/{id}/withdraw",
            post(proposals::withdraw),
        ),
        (
            "/api/admin/proposals/{id}/decline",
            post(proposals::decline),
        ),
        ("/api/admin/sms/analyze", post(campaigns::analyze_sms)),
        ("/api/admin/preview", post(campaigns::preview_draft)),
    ]
}

/// The cabinet's decision.
fn approval_routes() -> Vec<(&'static str, MethodRouter<AdminState>)> {
    vec![
        (
            "/api/admin/campaigns/{id}/approve",
            post(campaigns::approve),
        ),
        ("/api/admin/campaigns/{id}/reject", post(campaigns::reject)),
    ]
}

/// The subscriber file, topics, zones, the crisis cell, statistics, the weather relay.
fn file_routes() -> Vec<(&'static str, MethodRouter<AdminState>)> {
    vec![
        ("/api/admin/me", get(auth::me)),
        (
            "/api/admin/me/notices",
            get(auth::my_notices).put(auth::set_my_notices),
        ),
        (
            "/api/admin/subscribers",
            get(subscribers::search).post(subscribers::add),
        ),
        ("/api/admin/subscribers/export", get(subscribers::export)),
        (
            "/api/admin/subscribers/import",
            post(subscribers::import).layer(DefaultBodyLimit::max(MAX_SYNC_IMPORT_BYTES)),
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
        ("/api/admin/zones", post(zones::create)),
        (
            "/api/admin/cell/members",
            get(cell::members).post(cell::add),
        ),
        (
            "/api/admin/cell/members/{id}",
            axum::routing::put(cell::edit).delete(cell::remove),
        ),
        (
            "/api/admin/cell/alerts",
            get(cell::alerts).post(cell::alert),
        ),
        ("/api/admin/cell/alerts/{id}", get(cell::view)),
        (
            "/api/admin/cell/alerts/{id}/follow-up",
            post(cell::follow_up),
        ),
        ("/api/admin/stats", get(stats::report)),
        ("/api/admin/health", get(stats::health)),
        ("/api/admin/pauses/{channel}/resume", post(stats::resume)),
        ("/api/admin/outbox", get(stats::outbox)),
        ("/api/admin/suppressions", get(suppressions::list)),
        (
            "/api/admin/suppressions/{address}",
            axum::routing::delete(suppressions::lift),
        ),
        ("/api/admin/weather", get(weather::overview)),
        (
            "/api/admin/weather/templates",
            get(weather::templates).put(weather::save_templates),
        ),
    ]
}

/// Big files: the links and their jobs.
fn big_file_routes() -> Vec<(&'static str, MethodRouter<AdminState>)> {
    vec![
        ("/api/admin/files", get(files::recent)),
        ("/api/admin/files/exports", post(files::export)),
        ("/api/admin/files/imports", post(files::import)),
        ("/api/admin/files/{id}", get(files::get)),
        ("/api/admin/files/{id}/received", post(files::received)),
    ]
}

/// The staff paths a part serves.
pub fn part_paths(part: Part) -> Vec<&'static str> {
    staff_routes()
        .into_iter()
        .filter(|(_, p, _)| *p == part)
        .map(|(path, _, _)| path)
        .collect()
}

fn mount(routes: impl IntoIterator<Item = StaffRoute>) -> Router<AdminState> {
    routes
        .into_iter()
        .fold(Router::new(), |r, (path, _, m)| r.route(path, m))
}

/// One part of the staff API behind identities vouched for by the gateway (AWS).
pub fn part_router(state: AdminState, part: Part) -> Router {
    routes_of(part)
        .into_iter()
        .fold(Router::new(), |r, (path, m)| r.route(path, m))
        .with_state(state)
        .layer(middleware::from_fn_with_state(
            StaffAuthMode::TrustedGateway,
            auth::authenticate,
        ))
}

/// Every admin path (login and logout included).
pub fn route_paths() -> Vec<&'static str> {
    let mut paths = vec!["/api/admin/login", "/api/admin/logout"];
    paths.extend(staff_routes().into_iter().map(|(p, _, _)| p));
    paths
}

/// The staff Router. Login is outside authentication (and rate-limited per client address);
/// everything else inside.
pub fn router(state: AdminState, mode: StaffAuthMode, limit: RateLimit) -> Router {
    let protected = mount(staff_routes())
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
