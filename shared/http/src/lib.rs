//! The HTTP surface of Télmail: one axum `Router` built from the core use cases, mounted by the
//! local server and by the Lambda functions alike.

pub mod admin;
pub mod api;
pub mod backoffice;
pub mod error;
pub mod extract;
pub mod guard;
pub mod legal;
pub mod pages;
pub mod render;
pub mod website;

use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use telmail_core::use_cases::residents::Residents;

use crate::admin::auth::StaffAuthMode;
use crate::admin::AdminState;
use crate::backoffice::BackOffice;
use crate::error::ApiError;
use crate::extract::TrustedProxies;
use crate::guard::{RateLimit, SameOrigin};
use crate::legal::LegalNotice;
use crate::render::{Link, Pages, Tone};
pub use ipnet::IpNet;

/// Settings of the HTTP surface.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// State-changing public requests allowed per client address and minute.
    pub rate_limit_per_minute: NonZeroU32,
    /// Largest accepted body of a public request, in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted body of a staff request, in bytes: a campaign's email may hold
    /// 100,000 characters of Markdown (up to 4 bytes each), besides its SMS and fields.
    pub max_staff_body_bytes: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client (none: the peer is the client).
    pub trusted_proxies: Vec<IpNet>,
    /// The staff's pages under `/admin`.
    pub back_office: BackOffice,
    /// What the legal pages say (none: the town's defaults).
    pub legal: Option<LegalNotice>,
    /// Origins allowed to show the resident pages in a frame (`--frame-ancestors`,
    /// `TELMAIL_FRAME_ANCESTORS`); none: no site may.
    pub frame_ancestors: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            rate_limit_per_minute: NonZeroU32::new(10).expect("non-zero"),
            max_body_bytes: 16 * 1024,
            max_staff_body_bytes: 512 * 1024,
            trusted_proxies: Vec::new(),
            back_office: BackOffice::default(),
            legal: None,
            frame_ancestors: Vec::new(),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// Resident use cases.
    pub residents: Arc<Residents>,
    /// Page templates.
    pub pages: Arc<Pages>,
    /// What the legal pages say.
    pub legal: Arc<LegalNotice>,
}

const STYLESHEET: &str = include_str!("../static/telmail.css");

/// The icon browsers ask for on every page: the town's blue, a white envelope.
const FAVICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#005a8c"/><path d="M7 10h18v12H7z" fill="#fff"/><path d="M7 10l9 7 9-7" fill="none" stroke="#005a8c" stroke-width="2"/></svg>"##;

async fn favicon() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        FAVICON,
    )
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

async fn not_found(
    axum::extract::State(app): axum::extract::State<AppState>,
    req: Request,
) -> Response {
    if req.uri().path().starts_with("/api/") {
        return ApiError::unknown_route().into_response();
    }
    app.pages.message(
        StatusCode::NOT_FOUND,
        Tone::Error,
        "Page introuvable",
        &["La page demandée n'existe pas."],
        Some(Link {
            href: "/inscription".into(),
            label: "Aller à l'inscription".into(),
        }),
    )
}

/// Security headers on every response. The referrer policy matters: links carry signed tokens.
/// `same-origin` sends no `Referer` to any other site, and lets browsers write the page's real
/// `Origin` on its own form posts (`no-referrer` would make it `null`: see `guard`).
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // Pages that need another policy (the back office's) set their own.
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; frame-ancestors 'none'"),
        );
    }
    resp
}

/// Which sites may frame the resident pages: a CSP `frame-ancestors` list (see
/// [`parse_frame_ancestors`]); empty, none may (and `X-Frame-Options: DENY` says so to old
/// browsers too).
#[derive(Debug, Clone)]
pub struct FramePolicy {
    csp: HeaderValue,
    deny: bool,
}

impl FramePolicy {
    /// The policy for these origins.
    pub fn new(origins: &[String]) -> Self {
        let ancestors = if origins.is_empty() {
            "'none'".to_owned()
        } else {
            origins.join(" ")
        };
        let csp = format!("default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; frame-ancestors {ancestors}");
        Self {
            csp: HeaderValue::from_str(&csp)
                .unwrap_or_else(|_| HeaderValue::from_static("frame-ancestors 'none'")),
            deny: origins.is_empty(),
        }
    }
}

/// A `--frame-ancestors` value that is no origin; the message names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameAncestorError {
    #[error("frame ancestor « {0} »: an origin starts with https:// (or http://)")]
    NoScheme(String),
    #[error(
        "frame ancestor « {0} »: expected an origin such as https://www.arcachon.fr (no path)"
    )]
    NotAnOrigin(String),
}

/// Reads `--frame-ancestors`: origins (`https://www.arcachon.fr`, `http://127.0.0.1:8081`)
/// separated by commas or spaces; anything else is refused, naming the value.
pub fn parse_frame_ancestors(raw: &str) -> Result<Vec<String>, FrameAncestorError> {
    raw.split([',', ' '])
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"))
                .ok_or_else(|| FrameAncestorError::NoScheme(o.to_owned()))?;
            let valid = !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'));
            if valid {
                Ok(o.to_owned())
            } else {
                Err(FrameAncestorError::NotAnOrigin(o.to_owned()))
            }
        })
        .collect()
}

/// The security headers of the public pages, framing as the policy allows: a page that set
/// its own policy (the back office's) keeps it and `X-Frame-Options: DENY`.
pub async fn framed_security_headers(
    axum::extract::State(policy): axum::extract::State<FramePolicy>,
    req: Request,
    next: Next,
) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let own_policy = h.contains_key(header::CONTENT_SECURITY_POLICY);
    if !own_policy {
        h.insert(header::CONTENT_SECURITY_POLICY, policy.csp.clone());
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if own_policy || policy.deny {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    resp
}

/// `router` with the security headers every answer of the service carries (for routes merged
/// from outside this crate, such as the embedded file drop's links).
pub fn with_security_headers(router: Router) -> Router {
    router.layer(middleware::from_fn(security_headers))
}

type Routes = Vec<(&'static str, MethodRouter<AppState>)>;

/// Resident form pages: their posts must come from the town's own site.
fn form_routes() -> Routes {
    vec![
        (
            "/inscription",
            get(pages::signup_page).post(pages::signup_submit),
        ),
        (
            "/inscription/code",
            get(pages::code_page).post(pages::code_submit),
        ),
        (
            "/confirmation",
            get(pages::confirm_page).post(pages::confirm_submit),
        ),
        (
            "/preferences",
            get(pages::preferences_page).post(pages::preferences_submit),
        ),
        ("/preferences/effacer", post(pages::erase_submit)),
        (
            telmail_core::domain::reach::REPLY_PATH,
            get(pages::reply_page).post(pages::reply_submit),
        ),
    ]
}

/// Public routes outside the forms (rate-limited like them).
fn public_routes() -> Routes {
    vec![
        ("/", get(|| async { Redirect::to("/inscription") })),
        ("/preferences/donnees", get(pages::export_data)),
        (
            "/desabonnement",
            get(pages::unsubscribe_page).post(pages::unsubscribe_submit),
        ),
        ("/api/topics", get(api::topics)),
        ("/api/zones", get(api::zones)),
        ("/api/subscriptions", post(api::subscribe)),
        ("/api/sms/analyze", post(api::analyze_sms)),
    ]
}

/// Routes with no guard.
fn open_routes() -> Routes {
    let [privacy, accessibility, notice] = legal::PAGES;
    vec![
        ("/healthz", get(api::healthz)),
        ("/static/telmail.css", get(stylesheet)),
        ("/favicon.ico", get(favicon)),
        (privacy.0, get(|s| legal::page(s, 0))),
        (accessibility.0, get(|s| legal::page(s, 1))),
        (notice.0, get(|s| legal::page(s, 2))),
    ]
}

fn mount(routes: Routes) -> Router<AppState> {
    routes
        .into_iter()
        .fold(Router::new(), |r, (path, m)| r.route(path, m))
}

/// Every path the full Router serves, from the same tables that build it (checked against
/// `docs/openapi.yaml` by a test).
pub fn route_paths() -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = [form_routes(), public_routes(), open_routes()]
        .into_iter()
        .flatten()
        .map(|(path, _)| path)
        .collect();
    paths.extend(admin::route_paths());
    paths.extend(backoffice::route_paths());
    paths.extend(website::PATHS);
    paths
}

/// The whole surface: public pages and API, and the staff API.
pub fn router_with_admin(
    residents: Arc<Residents>,
    admin: AdminState,
    mode: StaffAuthMode,
    config: &HttpConfig,
) -> Router {
    let limit = RateLimit::per_minute(config.rate_limit_per_minute);
    router(residents, config).merge(
        admin::router(admin, mode, limit)
            .layer(DefaultBodyLimit::max(config.max_staff_body_bytes))
            .layer(middleware::from_fn(security_headers))
            .layer(middleware::from_fn_with_state(
                TrustedProxies::new(config.trusted_proxies.clone()),
                extract::forwarded_client,
            )),
    )
}

/// One part of the staff API as a whole service (AWS: one Lambda function per part), identities
/// coming from the gateway's JWT authorizer.
pub fn staff_part_router(admin: AdminState, part: admin::Part, config: &HttpConfig) -> Router {
    admin::part_router(admin, part)
        .fallback(api_not_found)
        .layer(DefaultBodyLimit::max(config.max_staff_body_bytes))
        .layer(middleware::from_fn(security_headers))
}

async fn api_not_found() -> Response {
    ApiError::unknown_route().into_response()
}

/// The public Router: resident pages, the public JSON API and the health check.
pub fn router(residents: Arc<Residents>, config: &HttpConfig) -> Router {
    let town = residents.config().town_name.clone();
    let mut legal = config.legal.clone().unwrap_or_else(|| {
        LegalNotice::for_town(
            &town,
            "l'hébergeur choisi par la Ville",
            "ses prestataires d'envoi de SMS et d'e-mails",
        )
    });
    legal.pending_days = residents.config().pending_ttl.num_days();
    let accessibility = legal.accessibility_status.clone();
    let pages = Arc::new(Pages::new(&town, &accessibility));
    let limit = RateLimit::per_minute(config.rate_limit_per_minute).with_pages(pages.clone());
    let same_origin = SameOrigin::new(&residents.config().public_url, pages.clone());
    let state = AppState {
        residents,
        pages,
        legal: Arc::new(legal),
    };

    let forms = mount(form_routes()).layer(middleware::from_fn_with_state(
        same_origin,
        guard::same_origin_posts,
    ));
    let public = mount(public_routes())
        .merge(forms)
        .layer(middleware::from_fn_with_state(limit, guard::rate_limited));

    mount(open_routes())
        .merge(public)
        .fallback(not_found)
        .with_state(state)
        .merge(backoffice::routes(
            &town,
            &accessibility,
            config.back_office.clone(),
        ))
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            FramePolicy::new(&config.frame_ancestors),
            framed_security_headers,
        ))
        .layer(middleware::from_fn_with_state(
            TrustedProxies::new(config.trusted_proxies.clone()),
            extract::forwarded_client,
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_ancestors_are_origins_and_a_refusal_names_the_value() {
        assert_eq!(
            parse_frame_ancestors("https://www.arcachon.fr, http://127.0.0.1:8081").unwrap(),
            ["https://www.arcachon.fr", "http://127.0.0.1:8081"]
        );
        assert!(parse_frame_ancestors("").unwrap().is_empty());
        assert_eq!(
            parse_frame_ancestors("arcachon.fr"),
            Err(FrameAncestorError::NoScheme("arcachon.fr".into()))
        );
        let path = parse_frame_ancestors("https://arcachon.fr/page").unwrap_err();
        assert_eq!(
            path,
            FrameAncestorError::NotAnOrigin("https://arcachon.fr/page".into())
        );
        assert_eq!(
            path.to_string(),
            "frame ancestor « https://arcachon.fr/page »: expected an origin such as https://www.arcachon.fr (no path)"
        );
    }
}
