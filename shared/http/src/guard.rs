//! Request guards for the public surface: a per-client rate limit on state-changing requests,
//! and a same-origin check on HTML form posts (CSRF defence that needs no session).

use std::net::{IpAddr, Ipv4Addr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;
use crate::extract::client_ip;

/// A per-client-address limit on requests.
#[derive(Clone)]
pub struct RateLimit {
    limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl RateLimit {
    /// Allows `per_minute` requests a minute per address, in bursts of up to that many.
    pub fn per_minute(per_minute: NonZeroU32) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(per_minute))),
        }
    }

    fn check(&self, ip: IpAddr) -> bool {
        // Forget idle clients now and then so memory stays bounded.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&ip).is_ok()
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
        let mut resp = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Trop de demandes depuis votre connexion. Patientez une minute puis réessayez.",
        )
        .into_response();
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return resp;
    }
    next.run(Request::from_parts(parts, body)).await
}

fn host_of_origin(origin: &str) -> Option<&str> {
    origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'))
}

/// Middleware: refuses a form post that a browser reports as coming from another site.
/// Browsers send `Sec-Fetch-Site` and `Origin` on cross-site posts; other clients are not browsers
/// and carry no ambient authority to abuse.
pub async fn same_origin_posts(req: Request, next: Next) -> Response {
    if req.method() == Method::POST {
        let headers = req.headers();
        let cross_site = headers
            .get("sec-fetch-site")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == "cross-site");
        let origin_mismatch = match (
            headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()),
            headers.get(header::HOST).and_then(|v| v.to_str().ok()),
        ) {
            (Some("null"), _) => true,
            (Some(origin), Some(host)) => host_of_origin(origin) != Some(host),
            _ => false,
        };
        if cross_site || origin_mismatch {
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "cross_site_request",
                "Ce formulaire doit être envoyé depuis le site de la Ville.",
            )
            .into_response();
        }
    }
    next.run(req).await
}
