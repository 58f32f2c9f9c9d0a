//! Request guards for the public surface: a per-client rate limit on state-changing requests,
//! and a same-origin check on HTML form posts (CSRF defence that needs no session).
//!
//! A refusal is answered in the form the client reads: a French HTML page for a browser
//! (`Accept: text/html`), the JSON error shape for everything else.

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;
use crate::extract::client_ip;
use crate::render::{Link, Pages, Tone};

/// A per-client limit on requests (an IPv4 address, or an IPv6 /64: see
/// [`telmail_core::domain::client::client_network`]).
#[derive(Clone)]
pub struct RateLimit {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    pages: Option<Arc<Pages>>,
}

impl RateLimit {
    /// Allows `per_minute` requests a minute per address, in bursts of up to that many.
    pub fn per_minute(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
            pages: None,
        }
    }

    /// Answers browsers that hit the limit with a French page rendered by `pages`.
    pub fn with_pages(mut self, pages: Arc<Pages>) -> Self {
        self.pages = Some(pages);
        self
    }

    fn check(&self, ip: IpAddr) -> bool {
        // Forget idle clients now and then so memory stays bounded.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&telmail_core::domain::client::client_network(ip))
            .is_ok()
    }
}

/// Middleware: refuses state-changing requests past the client's quota with 429.
pub async fn rate_limited(State(limit): State<RateLimit>, req: Request, next: Next) -> Response {
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let ip = client_ip(&parts).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if !limit.check(ip) {
        let refusal = Refusal {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "rate_limited",
            title: "Trop de demandes",
            message:
                "Trop de demandes depuis votre connexion. Patientez une minute puis réessayez.",
        };
        let mut resp = refusal.answer(limit.pages.as_deref(), &parts.headers);
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return resp;
    }
    next.run(Request::from_parts(parts, body)).await
}

/// A request refused by a guard, before any handler ran.
struct Refusal {
    status: StatusCode,
    code: &'static str,
    title: &'static str,
    message: &'static str,
}

impl Refusal {
    /// A French page for a browser, the JSON error shape for an API client.
    fn answer(&self, pages: Option<&Pages>, headers: &HeaderMap) -> Response {
        match pages {
            Some(pages) if wants_html(headers) => pages.message(
                self.status,
                Tone::Error,
                self.title,
                &[self.message],
                Some(Link {
                    href: "/inscription".into(),
                    label: "Revenir à l'inscription".into(),
                }),
            ),
            _ => ApiError::new(self.status, self.code, self.message).into_response(),
        }
    }
}

/// Whether the client asked for HTML: browsers navigating to a page (or posting a form) send
/// `Accept: text/html,…`; API clients ask for JSON or send nothing.
fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"))
}

/// What the form guard knows of the site: where its pages are served from.
#[derive(Clone)]
pub struct SameOrigin {
    /// `scheme://host[:port]` of the public URL, as a browser writes it in `Origin`.
    public_origin: Option<String>,
    pages: Arc<Pages>,
}

impl SameOrigin {
    /// The guard for a site whose pages are served under `public_url`.
    pub fn new(public_url: &str, pages: Arc<Pages>) -> Self {
        Self {
            public_origin: origin_of(public_url),
            pages,
        }
    }

    /// Whether a browser sent this post from one of the site's own pages (see the design notes):
    ///
    /// - `Sec-Fetch-Site` (Chrome/Edge 76+, Firefox 90+, Safari 16.4+, on HTTPS and localhost) is
    ///   set by the browser and cannot be forged by a page: `same-origin` or `none` (typed by the
    ///   person) pass, `same-site` and `cross-site` are refused, whatever `Origin` says.
    /// - Without it, `Origin` must be the public URL's origin or the one of the host addressed.
    ///   `null` is refused: with the pages' `Referrer-Policy: same-origin`, browsers write the real
    ///   origin on a same-origin post and `null` only on a cross-origin one or from a sandbox.
    /// - With neither header the client is not a browser acting for someone: it carries no
    ///   ambient authority to abuse, and is let through.
    fn allows(&self, headers: &HeaderMap) -> bool {
        if let Some(site) = headers.get("sec-fetch-site") {
            return matches!(site.to_str(), Ok("same-origin" | "none"));
        }
        let Some(origin) = headers.get(header::ORIGIN) else {
            return true;
        };
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        if self.public_origin.as_deref() == Some(origin) {
            return true;
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        origin != "null" && host.is_some() && host == host_of_origin(origin)
    }
}

/// `scheme://host[:port]` of a URL, lower-cased as browsers serialise it.
fn origin_of(url: &str) -> Option<String> {
    let uri: Uri = url.parse().ok()?;
    Some(format!(
        "{}://{}",
        uri.scheme_str()?,
        uri.authority()?.as_str().to_ascii_lowercase()
    ))
}

fn host_of_origin(origin: &str) -> Option<&str> {
    origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
}

/// Middleware: refuses a form post that a browser reports as coming from another site.
pub async fn same_origin_posts(
    State(guard): State<SameOrigin>,
    req: Request,
    next: Next,
) -> Response {
    if req.method() == Method::POST && !guard.allows(req.headers()) {
        return Refusal {
            status: StatusCode::FORBIDDEN,
            code: "cross_site_request",
            title: "Envoi refusé",
            message: "Ce formulaire doit être envoyé depuis le site de la Ville.",
        }
        .answer(Some(&guard.pages), req.headers());
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> SameOrigin {
        SameOrigin::new(
            "https://telmail.arcachon.fr",
            Arc::new(Pages::new("Arcachon", "partiellement conforme")),
        )
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_static(value));
        }
        h
    }

    #[test]
    fn fetch_metadata_decides_where_the_browser_sends_it() {
        let g = guard();
        assert!(g.allows(&headers(&[
            ("sec-fetch-site", "same-origin"),
            ("origin", "null")
        ])));
        assert!(g.allows(&headers(&[("sec-fetch-site", "none")])));
        for site in ["same-site", "cross-site", "bogus"] {
            let h = headers(&[
                ("sec-fetch-site", site),
                ("origin", "https://telmail.arcachon.fr"),
            ]);
            assert!(!g.allows(&h), "{site}");
        }
    }

    #[test]
    fn without_fetch_metadata_the_origin_must_be_the_site() {
        let g = guard();
        assert!(g.allows(&headers(&[("origin", "https://telmail.arcachon.fr")])));
        assert!(g.allows(&headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080"),
        ])));
        assert!(!g.allows(&headers(&[("origin", "https://evil.example")])));
        assert!(!g.allows(&headers(&[
            ("origin", "https://evil.example"),
            ("host", "telmail.arcachon.fr"),
        ])));
        assert!(!g.allows(&headers(&[("origin", "null"), ("host", "null")])));
        assert!(!g.allows(&headers(&[("origin", "null")])));
    }

    #[test]
    fn clients_that_are_not_browsers_pass() {
        assert!(guard().allows(&HeaderMap::new()));
    }

    #[test]
    fn the_public_origin_drops_path_and_case() {
        assert_eq!(
            origin_of("https://Telmail.Arcachon.fr/base/").as_deref(),
            Some("https://telmail.arcachon.fr")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("pas une adresse"), None);
    }

    #[test]
    fn browsers_get_a_page_and_api_clients_json() {
        assert!(wants_html(&headers(&[(
            "accept",
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )])));
        assert!(!wants_html(&headers(&[("accept", "application/json")])));
        assert!(!wants_html(&HeaderMap::new()));
    }
}
