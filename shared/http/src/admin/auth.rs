//! Staff authentication for `/api/admin/*`. Locally: login with a password, an HttpOnly
//! SameSite=Strict session cookie, and a CSRF token echoed in `X-CSRF-Token`. On AWS: the API
//! Gateway JWT authorizer has already checked the token, and the Lambda adapter puts the
//! `StaffIdentity` in the request extensions. Handlers only ever see a `Staff`.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use telmail_core::domain::staff::{csrf_matches, StaffIdentity};
use telmail_core::use_cases::staff_auth::StaffAuth;
use telmail_core::DomainError;

use super::claims::identity_from_claims;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "telmail_session";

/// Where staff identities come from.
#[derive(Clone)]
pub enum StaffAuthMode {
    /// Local accounts and server-side sessions.
    LocalSessions {
        /// Accounts and sessions.
        auth: Arc<StaffAuth>,
        /// Add `Secure` to the cookie (when served over HTTPS).
        secure_cookie: bool,
    },
    /// The runtime (API Gateway JWT authorizer) vouches for the identity it puts in extensions.
    TrustedGateway,
    /// The server checks the `Authorization: Bearer` ID token itself (a local server signing
    /// staff in with the town's Cognito user pool).
    BearerTokens(Arc<dyn BearerVerifier>),
}

/// Checks an ID token (signature, issuer, audience, expiry) and gives its claims, arrays as
/// JSON text.
pub trait BearerVerifier: Send + Sync {
    /// The token's claims, or why it is refused.
    fn claims(
        &self,
        token: &str,
    ) -> Result<std::collections::HashMap<String, String>, TokenRefusal>;
}

/// Why an ID token is refused (logged at debug level; the staff member reads only "connectez-vous").
#[derive(Debug, thiserror::Error)]
pub enum TokenRefusal {
    /// Unreadable, badly signed, expired, or for another issuer or audience: the JWT
    /// library's words.
    #[error("{0}")]
    Invalid(String),
    /// Signed with a key the pool does not publish.
    #[error("token signed with an unknown key")]
    UnknownKey,
    /// A valid token of another use (an access token).
    #[error("not an ID token")]
    NotIdToken,
}

/// The authenticated staff member of a request.
#[derive(Debug, Clone)]
pub struct Staff(pub StaffIdentity);

impl<S: Send + Sync> FromRequestParts<S> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<StaffIdentity>()
            .cloned()
            .map(Staff)
            .ok_or_else(|| unauthorized().into())
    }
}

fn unauthorized() -> DomainError {
    DomainError::Unauthorized("Connectez-vous pour accéder à l'espace des agents.".into())
}

pub(crate) fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

/// Middleware: establishes the staff identity, and checks CSRF on state-changing requests.
pub async fn authenticate(
    State(mode): State<StaffAuthMode>,
    mut req: Request,
    next: Next,
) -> Response {
    let identified = match mode {
        StaffAuthMode::TrustedGateway => {
            if req.extensions().get::<StaffIdentity>().is_none() {
                return ApiError::from(unauthorized()).into_response();
            }
            Ok(())
        }
        StaffAuthMode::BearerTokens(verifier) => bearer_identity(verifier.as_ref(), &mut req),
        StaffAuthMode::LocalSessions { auth, .. } => session_identity(&auth, &mut req).await,
    };
    match identified {
        Ok(()) => next.run(req).await,
        Err(refused) => refused.into_response(),
    }
}

/// Puts in the request the identity its verified `Authorization: Bearer` ID token gives;
/// refused without one.
fn bearer_identity(verifier: &dyn BearerVerifier, req: &mut Request) -> Result<(), ApiError> {
    // An identity can only come from a verified token here, never from upstream.
    req.extensions_mut().remove::<StaffIdentity>();
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or("");
    let identity = match verifier.claims(token) {
        Ok(claims) => identity_from_claims(&claims),
        Err(why) => {
            tracing::debug!(reason = %why, "staff token refused");
            None
        }
    };
    match identity {
        Some(identity) => {
            req.extensions_mut().insert(identity);
            Ok(())
        }
        None => Err(unauthorized().into()),
    }
}

/// Puts in the request the identity and CSRF token of its session cookie; refused without a
/// session, or when a state-changing request does not repeat the CSRF token.
async fn session_identity(auth: &StaffAuth, req: &mut Request) -> Result<(), ApiError> {
    // An identity can only come from the session here, never from upstream.
    req.extensions_mut().remove::<StaffIdentity>();
    let Some(token) = session_token(req.headers()) else {
        return Err(unauthorized().into());
    };
    let Some(session) = auth.session(&token).await? else {
        return Err(unauthorized().into());
    };
    let safe = matches!(*req.method(), Method::GET | Method::HEAD);
    let presented = req
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !safe && !csrf_matches(presented, &session.csrf_token) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf",
            "Jeton anti-falsification (X-CSRF-Token) manquant ou invalide : reconnectez-vous.",
        ));
    }
    req.extensions_mut().insert(session.identity);
    req.extensions_mut().insert(CsrfToken(session.csrf_token));
    Ok(())
}

/// Body of `POST /api/admin/login`.
#[derive(Debug, Deserialize)]
pub struct LoginInput {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

fn identity_json(id: &StaffIdentity) -> serde_json::Value {
    json!({
        "id": id.id,
        "name": id.name,
        "roles": id.roles,
        "email": id.email,
        "phone": id.phone,
    })
}

fn cookie(value: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}"
    ))
    .expect("cookie is ASCII")
}

/// `POST /api/admin/login`
pub async fn login(
    State(mode): State<StaffAuthMode>,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<Response> {
    let StaffAuthMode::LocalSessions {
        auth,
        secure_cookie,
    } = mode
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "La connexion se fait par le portail de la Ville.",
        ));
    };
    let grant = auth.login(&input.username, &input.password).await?;
    let mut resp =
        Json(json!({ "csrf_token": grant.csrf_token, "user": identity_json(&grant.identity) }))
            .into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        cookie(
            &grant.session_token,
            grant.max_age.num_seconds(),
            secure_cookie,
        ),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(resp)
}

/// `POST /api/admin/logout`
pub async fn logout(State(mode): State<StaffAuthMode>, headers: HeaderMap) -> ApiResult<Response> {
    if let StaffAuthMode::LocalSessions {
        auth,
        secure_cookie,
    } = mode
    {
        if let Some(token) = session_token(&headers) {
            auth.logout(&token).await?;
        }
        let mut resp = StatusCode::NO_CONTENT.into_response();
        resp.headers_mut()
            .insert(header::SET_COOKIE, cookie("", 0, secure_cookie));
        return Ok(resp);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The CSRF token of the request's local session.
#[derive(Debug, Clone)]
pub struct CsrfToken(String);

/// `GET /api/admin/me`: who is signed in, and (with a local session) the CSRF token the
/// back-office pages echo, so a new tab need not sign in again.
pub async fn me(
    Staff(staff): Staff,
    csrf: Option<axum::Extension<CsrfToken>>,
) -> Json<serde_json::Value> {
    let mut body = identity_json(&staff);
    if let Some(axum::Extension(CsrfToken(token))) = csrf {
        body["csrf_token"] = json!(token);
    }
    Json(body)
}

/// `GET /api/admin/me/notices`: the notices the caller receives, each on or off.
pub async fn my_notices(
    axum::extract::State(app): axum::extract::State<super::AdminState>,
    Staff(by): Staff,
) -> crate::error::ApiResult<Json<telmail_core::use_cases::account::MyNotices>> {
    Ok(Json(app.account.notices(&by).await?))
}

/// `PUT /api/admin/me/notices` `{ "off": [notice…] }`: turns those off, the others on.
pub async fn set_my_notices(
    axum::extract::State(app): axum::extract::State<super::AdminState>,
    Staff(by): Staff,
    crate::extract::ApiJson(input): crate::extract::ApiJson<
        telmail_core::use_cases::account::NoticesInput,
    >,
) -> crate::error::ApiResult<Json<telmail_core::use_cases::account::MyNotices>> {
    Ok(Json(app.account.set_notices(&by, &input).await?))
}
