//! HTTP functions behind API Gateway (HTTP API, payload 2.0): the shared axum Router runs as
//! is; the client address and the staff identity come from the request context the gateway
//! filled (the JWT authorizer has already checked the token).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::str::FromStr;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use lambda_http::request::RequestContext;
use telmail_core::domain::contact::{Email, PhoneNumber};
use telmail_core::domain::staff::{Role, StaffIdentity};
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

/// The staff member named by Cognito claims: `sub` is the id, `cognito:groups` the roles (the
/// HTTP API passes that array claim as one string such as `[redaction cabinet]`; a JSON array
/// is accepted too), `email` and `phone_number` where test sends go. Unknown groups are ignored.
pub fn identity_from_claims(claims: &HashMap<String, String>) -> Option<StaffIdentity> {
    let id = claims.get("sub").filter(|s| !s.is_empty())?.clone();
    let roles: BTreeSet<Role> = claims
        .get("cognito:groups")
        .map(|g| group_names(g))
        .unwrap_or_default()
        .iter()
        .filter_map(|g| g.parse().ok())
        .collect();
    let name = ["name", "cognito:username", "username", "email"]
        .iter()
        .find_map(|k| claims.get(*k).filter(|v| !v.is_empty()))
        .unwrap_or(&id)
        .clone();
    Some(StaffIdentity {
        id,
        name,
        roles,
        email: claims.get("email").and_then(|e| Email::from_str(e).ok()),
        phone: claims
            .get("phone_number")
            .and_then(|p| PhoneNumber::from_str(p).ok()),
    })
}

fn group_names(claim: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(claim) {
        return list;
    }
    claim
        .trim_matches(|c| c == '[' || c == ']')
        .split([' ', ','])
        .map(|g| g.trim_matches('"').trim())
        .filter(|g| !g.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn groups_come_as_the_gateway_spells_them() {
        let id = identity_from_claims(&claims(&[
            ("sub", "1f2e"),
            ("cognito:groups", "[redaction cabinet]"),
            ("email", "agent@arcachon.fr"),
            ("name", "Claire Martin"),
        ]))
        .unwrap();
        assert_eq!(id.id, "1f2e");
        assert_eq!(id.name, "Claire Martin");
        assert_eq!(id.roles, BTreeSet::from([Role::Redaction, Role::Cabinet]));
        assert_eq!(id.email.unwrap().as_str(), "agent@arcachon.fr");

        let json = identity_from_claims(&claims(&[
            ("sub", "x"),
            ("cognito:groups", r#"["admin","visitors"]"#),
        ]))
        .unwrap();
        assert_eq!(json.roles, BTreeSet::from([Role::Admin]));
        assert_eq!(json.name, "x");
    }

    #[test]
    fn no_subject_no_identity_and_no_groups_no_roles() {
        assert!(identity_from_claims(&claims(&[("cognito:groups", "[admin]")])).is_none());
        let bare = identity_from_claims(&claims(&[("sub", "y")])).unwrap();
        assert!(bare.roles.is_empty());
    }
}
