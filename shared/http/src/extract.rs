//! Request extractors with French rejections: JSON bodies, urlencoded forms, the client address.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use serde::de::DeserializeOwned;

use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::contact::Channel;
use telmail_core::domain::file_job::FileJobId;
use telmail_core::domain::proposal::ProposalId;
use telmail_core::domain::subscriber::SubscriberId;
use telmail_core::domain::topic::TopicSlug;

use crate::error::ApiError;

/// The client address, set by the runtime in front of the Router (the local server's socket
/// address, or the API Gateway request context on AWS).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// The reverse proxies allowed to name the client in `X-Forwarded-For`.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl TrustedProxies {
    /// Trusts the proxies in `networks` (none: every peer is the client itself).
    pub fn new(networks: Vec<IpNet>) -> Self {
        Self(Arc::new(networks))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client behind a trusted peer: the right-most `X-Forwarded-For` address that is not
    /// itself a trusted proxy (what any proxy may add on the left is the client's to forge).
    fn client_behind(&self, peer: IpAddr, headers: &header::HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|hop| hop.trim().parse().ok())
            .collect();
        hops.into_iter()
            .rev()
            .find(|hop| !self.trusts(*hop))
            .unwrap_or(peer)
    }
}

/// Middleware: behind trusted reverse proxies, the client is the one they name; the rate limit
/// and the consent record then count residents, not the proxy.
pub async fn forwarded_client(
    State(proxies): State<TrustedProxies>,
    mut req: Request,
    next: Next,
) -> Response {
    if !proxies.0.is_empty() {
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if let Some(peer) = peer {
            let client = proxies.client_behind(peer, req.headers());
            req.extensions_mut().insert(ClientAddr(client));
        }
    }
    next.run(req).await
}

/// The client's IP address, or `None` when the runtime gave none.
pub fn client_ip(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<ClientAddr>()
        .map(|c| c.0)
        .or_else(|| {
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip())
        })
}

/// Client IP and user agent, as proof of consent.
#[derive(Debug, Clone)]
pub struct Origin(pub telmail_core::use_cases::residents::WebOrigin);

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let ip = client_ip(parts)
            .map(|i| i.to_string())
            .unwrap_or_else(|| "inconnue".into());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(300)
            .collect();
        Ok(Origin(telmail_core::use_cases::residents::WebOrigin {
            ip,
            user_agent,
        }))
    }
}

pub(crate) async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "La requête est trop volumineuse.",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Le corps de la requête est illisible.",
            )
        }
    })
}

/// `415` with a French message unless the request has the expected content type.
fn require_content_type(req: &Request, expected: &str, message: &str) -> Result<(), ApiError> {
    if content_type_is(req, expected) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        ))
    }
}

fn content_type_is(req: &Request, expected: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case(expected)
        })
}

/// A JSON body whose errors name the offending field in French.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_content_type(
            &req,
            "application/json",
            "Envoyez le corps de la requête en JSON (Content-Type: application/json).",
        )?;
        let bytes = body_bytes(req, state).await?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad_json",
                "Le corps de la requête n'est pas du JSON valide.",
            )
        })?;
        // Every body of the API is an object. serde would read a struct from an array too
        // (`[]` giving every field its default), so anything else is refused here.
        if !value.is_object() {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Certaines informations sont invalides.",
            )
            .with_field("body", "Envoyez un objet JSON ({ … })."));
        }
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let field = path
                    .split(['.', '['])
                    .next()
                    .filter(|f| !f.is_empty() && *f != "?")
                    .unwrap_or("body")
                    .to_owned();
                let inner = e.inner().to_string();
                let invalid = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "Certaines informations sont invalides.",
                );
                // A missing top-level field is named itself, not the body around it.
                match inner
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next())
                {
                    Some(missing) if field == "body" => {
                        invalid.with_field(missing, "Ce champ est obligatoire.")
                    }
                    _ => invalid.with_field(
                        &field,
                        format!("Valeur de type incorrect pour « {path} » ({inner})."),
                    ),
                }
            })
    }
}

/// An `application/x-www-form-urlencoded` body, keeping repeated fields (checkbox groups).
#[derive(Debug, Default)]
pub struct FormFields(pub Vec<(String, String)>);

impl FormFields {
    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a field.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequest<S> for FormFields {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_content_type(
            &req,
            "application/x-www-form-urlencoded",
            "Ce formulaire attend des données de formulaire (application/x-www-form-urlencoded).",
        )?;
        let bytes = body_bytes(req, state).await?;
        Ok(FormFields(
            form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

/// The signed token of a link (`?t=`): the first `t` of the query, empty when absent, so a
/// malformed query string becomes a French "invalid link" page rather than a parser error.
#[derive(Debug, Clone)]
pub struct TokenParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for TokenParam {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let token = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "t")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        Ok(TokenParam(token))
    }
}

/// A JSON body that may be absent (empty body): then `T::default()`.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let empty = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == "0")
            || req.headers().get(header::CONTENT_TYPE).is_none();
        if empty {
            return Ok(OptionalJson(T::default()));
        }
        ApiJson::<T>::from_request(req, state)
            .await
            .map(|ApiJson(v)| OptionalJson(v))
    }
}

/// A raw request body (e.g. a CSV file); a body over the route's limit is a French 413.
#[derive(Debug)]
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        body_bytes(req, state).await.map(RawBody)
    }
}

/// Query parameters whose errors name the parameter in French.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let pairs = form_urlencoded::parse(query.as_bytes());
        let de = serde_urlencoded::Deserializer::new(pairs);
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| {
                let field = e.path().to_string();
                let field = if field.is_empty() || field == "." {
                    "query".to_owned()
                } else {
                    field
                };
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "validation",
                    "Certaines informations sont invalides.",
                )
                .with_field(
                    &field,
                    format!("Paramètre « {field} » invalide ({}).", e.inner()),
                )
            })
    }
}

/// One path segment, parsed: a segment that is not valid UTF-8 is a French 404, one that does
/// not parse as `T` the French 404 that names what does not exist.
#[derive(Debug)]
pub struct Segment<T>(pub T);

impl<T: PathValue, S: Send + Sync> FromRequestParts<S> for Segment<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| not_found("Cette adresse n'existe pas."))?;
        T::parse(&raw).map(Segment)
    }
}

/// What a path segment (or a query parameter naming a record) may hold.
pub trait PathValue: Sized + Send {
    /// The value the text names, or the French 404 saying it does not exist.
    fn parse(raw: &str) -> Result<Self, ApiError>;
}

impl PathValue for String {
    fn parse(raw: &str) -> Result<Self, ApiError> {
        Ok(raw.to_owned())
    }
}

/// A record id in the path: text that does not parse names no record, hence the 404.
macro_rules! path_id {
    ($($id:ty => $unknown:literal,)*) => {$(
        impl PathValue for $id {
            fn parse(raw: &str) -> Result<Self, ApiError> {
                <$id as std::str::FromStr>::from_str(raw).map_err(|_| not_found($unknown))
            }
        }
    )*};
}

path_id! {
    CampaignId => "Cette campagne n'existe pas.",
    SubscriberId => "Cet abonné n'existe pas.",
    ProposalId => "Cette proposition n'existe pas.",
    FileJobId => "Cet export ou cet import n'existe pas (ou plus).",
    Channel => "Canal inconnu (email ou sms).",
}

/// A topic in the path, by its slug: the use case says which slugs name no topic.
impl PathValue for TopicSlug {
    fn parse(raw: &str) -> Result<Self, ApiError> {
        <TopicSlug as std::str::FromStr>::from_str(raw)
            .map_err(|_| not_found(&format!("Le thème « {raw} » n'existe pas.")))
    }
}

pub(crate) fn not_found(message: &str) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
}
