//! Staff signing in with the town's Cognito user pool while the server runs on one machine: the
//! back office signs in from the page (as on AWS) and the server checks each ID token itself, as
//! API Gateway's JWT authorizer does there — signature against the pool's published keys,
//! issuer, audience (the app client), `token_use`, expiry.

use std::collections::HashMap;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, DecodingKey, Validation};
use telmail_http::admin::auth::{BearerVerifier, TokenRefusal};

/// A user pool's keys and what its ID tokens must say.
pub struct CognitoTokens {
    keys: HashMap<String, DecodingKey>,
    validation: Validation,
}

/// Why the user pool's keys cannot be had at start-up.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CognitoError {
    #[error("TELMAIL_COGNITO_USER_POOL: « {0} » is not a user pool id")]
    NotAPoolId(String),
    #[error("cannot read the user pool's keys at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the user pool's keys at {url} are unreadable: {reason}")]
    Unreadable { url: String, reason: String },
    #[error("the user pool publishes no usable key at {url}")]
    NoUsableKey { url: String },
}

/// The region a pool id names (`eu-west-3_AbC…` → `eu-west-3`).
fn region_of(pool_id: &str) -> Result<&str, CognitoError> {
    pool_id
        .split_once('_')
        .map(|(region, _)| region)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| CognitoError::NotAPoolId(pool_id.to_owned()))
}

impl CognitoTokens {
    /// Fetches the pool's keys from `endpoint` (Cognito's, or a stand-in's), once at start-up.
    pub async fn fetch(
        endpoint: &str,
        pool_id: &str,
        client_id: &str,
    ) -> Result<Self, CognitoError> {
        let region = region_of(pool_id)?;
        let url = format!(
            "{}/{pool_id}/.well-known/jwks.json",
            endpoint.trim_end_matches('/')
        );
        let set: JwkSet = reqwest::Client::new()
            .get(&url)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| CognitoError::Unreachable {
                url: url.clone(),
                reason: e.to_string(),
            })?
            .json()
            .await
            .map_err(|e| CognitoError::Unreadable {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            if let (Some(kid), Ok(key)) = (&jwk.common.key_id, DecodingKey::from_jwk(jwk)) {
                keys.insert(kid.clone(), key);
            }
        }
        if keys.is_empty() {
            return Err(CognitoError::NoUsableKey { url });
        }
        let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.set_issuer(&[format!(
            "https://cognito-idp.{region}.amazonaws.com/{pool_id}"
        )]);
        validation.set_audience(&[client_id]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        Ok(Self { keys, validation })
    }
}

impl BearerVerifier for CognitoTokens {
    fn claims(&self, token: &str) -> Result<HashMap<String, String>, TokenRefusal> {
        let invalid = |e: jsonwebtoken::errors::Error| TokenRefusal::Invalid(e.to_string());
        let header = decode_header(token).map_err(invalid)?;
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| self.keys.get(kid))
            .ok_or(TokenRefusal::UnknownKey)?;
        let data = decode::<HashMap<String, serde_json::Value>>(token, key, &self.validation)
            .map_err(invalid)?;
        if data.claims.get("token_use").and_then(|u| u.as_str()) != Some("id") {
            return Err(TokenRefusal::NotIdToken);
        }
        Ok(data
            .claims
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pool_id_names_its_region() {
        assert_eq!(region_of("eu-west-3_AbCdEf123"), Ok("eu-west-3"));
        assert_eq!(
            region_of("pool"),
            Err(CognitoError::NotAPoolId("pool".into()))
        );
    }
}
