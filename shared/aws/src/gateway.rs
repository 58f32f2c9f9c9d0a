//! HTTP functions behind API Gateway (HTTP API, payload 2.0): the shared axum Router runs as
//! is; the client address and the staff identity come from the request context the gateway
//! filled (the JWT authorizer has already checked the token).

use std::net::IpAddr;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use lambda_http::request::RequestContext;
use telmail_core::domain::staff::StaffIdentity;
use telmail_http::admin::claims::identity_from_claims;
use telmail_http::extract::ClientAddr;

/// Serves a Router (already wrapped by [`with_gateway_context`]) as a Lambda function until the
/// runtime stops it.
pub async fn serve(router: Router) -> Result<(), lambda_http::Error> {
    lambda_http::run(router).await
}

/// Adds what the gateway tells about the request (client address, staff identity).
pub fn with_gateway_context(router: Router) -> Router {
    router.layer(middleware::from_fn(from_gateway))
}

/// Puts the gateway's source IP and verified JWT claims in the request, as the Router expects.
async fn from_gateway(mut req: Request, next: Next) -> Response {
    // Only the gateway may vouch for an identity: drop anything already there.
    req.extensions_mut().remove::<StaffIdentity>();
    let context = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => Some(ctx.clone()),
        _ => None,
    };
    if let Some(ctx) = context {
        if let Some(ip) = ctx
            .http
            .source_ip
            .as_deref()
            .and_then(|s| s.parse::<IpAddr>().ok())
        {
            req.extensions_mut().insert(ClientAddr(ip));
        }
        let claims = ctx.authorizer.and_then(|a| a.jwt).map(|jwt| jwt.claims);
        if let Some(identity) = claims.as_ref().and_then(identity_from_claims) {
            req.extensions_mut().insert(identity);
        }
    }
    next.run(req).await
}
