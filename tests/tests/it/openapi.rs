//! Keeps `docs/openapi.yaml` true against the real local server: the description must name
//! exactly the paths the Router serves; every documented method must be routed and answer a
//! status the description lists (in a listed media type); every other method must answer 405.
//!
//! The probes carry a staff session cookie and its `X-CSRF-Token`, so the staff API's
//! authentication lets them through and the method router decides.

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::path::PathBuf;

use crate::common::TestApp;
use reqwest::Method;
use serde_norway::Value;
use telmail_core::domain::campaign::CampaignId;
use telmail_http::route_paths;

/// The methods probed on every path.
const PROBED: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
];

/// Keys of an OpenAPI path item that are operations.
const OPERATION_KEYS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The staff account the probes log in as: every role, so role checks do not hide routes.
const PROBE_STAFF: &str = "openapi-probe";

/// The route that ends the probe's session (it logs in again after probing it).
const LOGOUT: &str = "/api/admin/logout";

// ---------------------------------------------------------------------------------------------
// The description.

fn spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml")
}

fn spec() -> Value {
    let path = spec_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_norway::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

/// A mapping key as text (YAML may read an unquoted `200` as a number).
fn key_text(key: &Value) -> String {
    match key {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("unexpected mapping key {other:?}"),
    }
}

fn entries(value: Option<&Value>) -> Vec<(String, &Value)> {
    value
        .and_then(Value::as_mapping)
        .map(|m| m.iter().map(|(k, v)| (key_text(k), v)).collect())
        .unwrap_or_default()
}

/// Follows a local `$ref` (`#/components/...`), if the node is one.
fn resolve<'a>(root: &'a Value, node: &'a Value) -> Result<&'a Value, String> {
    let Some(reference) = node.get("$ref").and_then(Value::as_str) else {
        return Ok(node);
    };
    let pointer = reference
        .strip_prefix("#/")
        .ok_or_else(|| format!("only local references are supported: {reference}"))?;
    let target = pointer.split('/').try_fold(root, |at, segment| {
        at.get(segment.replace("~1", "/").replace("~0", "~").as_str())
            .ok_or_else(|| format!("dangling reference {reference}"))
    })?;
    resolve(root, target)
}

fn paths(spec: &Value) -> Vec<(String, &Value)> {
    entries(spec.get("paths"))
}

/// The operations of a path item, by lower-case method name.
fn operations(item: &Value) -> Vec<(String, &Value)> {
    entries(Some(item))
        .into_iter()
        .filter(|(k, _)| OPERATION_KEYS.contains(&k.as_str()))
        .collect()
}

/// A plausible value for a path parameter, so the request reaches its handler.
fn sample(param: &str) -> Option<String> {
    match param {
        "id" => Some(CampaignId::new().to_string()),
        "slug" => Some("alerte-meteo".into()),
        "action" => Some("estimate".into()),
        "name" => Some("api.js".into()),
        "channel" => Some("email".into()),
        "address" => Some("habitant%40exemple.fr".into()),
        "key" => Some(format!("{}-message", CampaignId::new())),
        _ => None,
    }
}

/// A concrete URL for a path template, or the name of a parameter with no sample value.
fn concrete(path: &str) -> Result<String, String> {
    path.split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(param) => sample(param).ok_or_else(|| {
                    format!("{path}: no sample value for the path parameter {{{param}}}; add one")
                }),
                None => Ok(seg.to_owned()),
            },
        )
        .collect::<Result<Vec<_>, _>>()
        .map(|segments| segments.join("/"))
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn the_description_is_a_well_formed_openapi_3_document() {
    let spec = spec();
    let version = spec.get("openapi").and_then(Value::as_str).unwrap_or("");
    assert!(
        version.starts_with("3.0."),
        "openapi version is {version:?}"
    );
    assert!(spec.get("info").and_then(|i| i.get("title")).is_some());

    let declared_tags: BTreeSet<String> = spec
        .get("tags")
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
        .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let schemes: BTreeSet<String> = entries(
        spec.get("components")
            .and_then(|c| c.get("securitySchemes")),
    )
    .into_iter()
    .map(|(name, _)| name)
    .collect();
    let mut problems = Vec::new();
    let mut operation_ids = BTreeSet::new();
    for (path, item) in paths(&spec) {
        for (method, op) in operations(item) {
            let at = format!("{} {path}", method.to_uppercase());
            match op.get("operationId").and_then(Value::as_str) {
                Some(id) if !operation_ids.insert(id.to_owned()) => {
                    problems.push(format!("{at}: operationId {id} is used twice"))
                }
                Some(_) => {}
                None => problems.push(format!("{at}: no operationId")),
            }
            let tags: Vec<&str> = op
                .get("tags")
                .and_then(Value::as_sequence)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if tags.is_empty() {
                problems.push(format!("{at}: no tag"));
            }
            for tag in tags {
                if !declared_tags.contains(tag) {
                    problems.push(format!("{at}: tag {tag} is not declared"));
                }
            }
            if entries(op.get("responses")).is_empty() {
                problems.push(format!("{at}: no responses"));
            }
            let requirements = op.get("security").and_then(Value::as_sequence);
            for (scheme, _) in requirements
                .into_iter()
                .flatten()
                .flat_map(|r| entries(Some(r)))
            {
                if !schemes.contains(&scheme) {
                    problems.push(format!("{at}: security scheme {scheme} is not declared"));
                }
            }
        }
    }

    // Every local `$ref` must point somewhere.
    fn walk(root: &Value, node: &Value, problems: &mut Vec<String>) {
        match node {
            Value::Mapping(m) => {
                if let Err(e) = resolve(root, node) {
                    problems.push(e);
                }
                for (_, v) in m {
                    walk(root, v, problems);
                }
            }
            Value::Sequence(s) => s.iter().for_each(|v| walk(root, v, problems)),
            _ => {}
        }
    }
    walk(&spec, &spec, &mut problems);

    assert!(
        problems.is_empty(),
        "problems in {}:\n  {}",
        spec_path().display(),
        problems.join("\n  ")
    );
}

#[test]
fn the_description_has_exactly_the_router_paths() {
    let spec = spec();
    let documented: BTreeSet<String> = paths(&spec).into_iter().map(|(p, _)| p).collect();
    let served: BTreeSet<String> = route_paths().into_iter().map(str::to_owned).collect();
    assert_eq!(
        served.len(),
        route_paths().len(),
        "route_paths() lists a path twice"
    );

    let undocumented: Vec<_> = served.difference(&documented).collect();
    let not_served: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty() && not_served.is_empty(),
        "docs/openapi.yaml and telmail_http::route_paths() differ\n  \
         served by the Router but missing from docs/openapi.yaml: {undocumented:?}\n  \
         in docs/openapi.yaml but not served by the Router: {not_served:?}"
    );
}

/// A server with the probe account (every staff role).
async fn probe_app() -> TestApp {
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = NonZeroU32::new(10_000).unwrap();
        a.worker = false;
    })
    .await;
    app.add_staff(PROBE_STAFF, "redaction,cabinet,admin", None, None)
        .await;
    app
}

/// Logs the probe account in; returns the session cookie and the CSRF token.
async fn log_in(app: &TestApp) -> (String, String) {
    let staff = app.login(PROBE_STAFF).await;
    (staff.cookie, staff.csrf)
}

#[tokio::test]
async fn documented_methods_are_routed_and_the_others_answer_405() {
    let spec = spec();
    let app = probe_app().await;
    let (mut cookie, mut csrf) = log_in(&app).await;
    let mut problems = Vec::new();

    for (path, item) in paths(&spec) {
        let ops = operations(item);
        for (method, _) in &ops {
            if !PROBED
                .iter()
                .any(|m| m.as_str().eq_ignore_ascii_case(method))
            {
                problems.push(format!(
                    "{} {path}: only GET/POST/PUT/PATCH/DELETE are checked; document {method} \
                     only with a test for it",
                    method.to_uppercase()
                ));
            }
        }
        let url = match concrete(&path) {
            Ok(url) => url,
            Err(e) => {
                problems.push(e);
                continue;
            }
        };

        for method in PROBED {
            let documented = ops
                .iter()
                .find(|(m, _)| m.eq_ignore_ascii_case(method.as_str()))
                .map(|(_, op)| *op);
            let response = app
                .client
                .request(method.clone(), app.url(&url))
                .header("cookie", &cookie)
                .header("x-csrf-token", &csrf)
                .send()
                .await
                .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
            let status = response.status();
            let at = format!("{method} {path} ({url})");
            if path == LOGOUT && status.is_success() {
                // The probe just ended its own session.
                (cookie, csrf) = log_in(&app).await;
            }

            if status == reqwest::StatusCode::UNAUTHORIZED {
                problems.push(format!(
                    "{at}: answered 401: the probe's staff session was not accepted"
                ));
                continue;
            }

            let Some(op) = documented else {
                if status != reqwest::StatusCode::METHOD_NOT_ALLOWED {
                    problems.push(format!(
                        "{at}: not documented, but answered {status} instead of 405"
                    ));
                }
                continue;
            };
            if status == reqwest::StatusCode::METHOD_NOT_ALLOWED {
                problems.push(format!("{at}: documented, but answered 405"));
                continue;
            }

            // The probe's answer must be one the description lists, in a listed media type.
            let responses = entries(op.get("responses"));
            let code = status.as_str().to_owned();
            let range = format!("{}XX", &code[..1]);
            let Some((_, listed)) = responses
                .iter()
                .find(|(k, _)| *k == code || k.eq_ignore_ascii_case(&range))
                .or_else(|| responses.iter().find(|(k, _)| k == "default"))
            else {
                let keys: Vec<_> = responses.iter().map(|(k, _)| k.as_str()).collect();
                let body = response.text().await.unwrap_or_default();
                problems.push(format!(
                    "{at}: answered {status}, which is not among the documented responses \
                     {keys:?} (body: {body})"
                ));
                continue;
            };
            let listed = match resolve(&spec, listed) {
                Ok(r) => r,
                Err(e) => {
                    problems.push(format!("{at}: {e}"));
                    continue;
                }
            };
            if let Some(content_type) = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
            {
                let media = content_type
                    .split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase();
                let types: Vec<String> = entries(listed.get("content"))
                    .into_iter()
                    .map(|(k, _)| k)
                    .collect();
                if !types.iter().any(|t| t.eq_ignore_ascii_case(&media)) {
                    problems.push(format!(
                        "{at}: answered {status} as {media}, but the description lists {types:?}"
                    ));
                }
            }
        }
    }

    app.stop().await;
    assert!(
        problems.is_empty(),
        "the Router and {} disagree:\n  {}",
        spec_path().display(),
        problems.join("\n  ")
    );
}

/// The JSON body's top-level properties and their types, as the description gives them.
fn body_properties(spec: &Value, op: &Value) -> Vec<(String, String)> {
    let schema = op
        .get("requestBody")
        .and_then(|b| resolve(spec, b).ok())
        .and_then(|b| b.get("content"))
        .and_then(|c| c.get("application/json"))
        .and_then(|j| j.get("schema"))
        .and_then(|s| resolve(spec, s).ok());
    entries(schema.and_then(|s| s.get("properties")))
        .into_iter()
        .map(|(name, p)| {
            let p = resolve(spec, p).unwrap_or(p);
            let kind = match p.get("type") {
                Some(Value::String(t)) => t.clone(),
                Some(Value::Sequence(ts)) => ts
                    .iter()
                    .filter_map(Value::as_str)
                    .find(|t| *t != "null")
                    .unwrap_or("")
                    .to_owned(),
                _ => String::new(),
            };
            (name, kind)
        })
        .collect()
}

/// A value of another type than `kind`.
fn wrong_value(kind: &str) -> serde_json::Value {
    match kind {
        "string" => serde_json::json!(12),
        "integer" | "number" => serde_json::json!("douze"),
        "boolean" => serde_json::json!("oui"),
        "array" => serde_json::json!({ "un": 1 }),
        _ => serde_json::json!([true]),
    }
}

/// What the staff lists hold: compared before and after the hostile bodies.
async fn state(app: &TestApp, cookie: &str) -> Vec<String> {
    let mut out = Vec::new();
    for list in [
        "/api/admin/campaigns",
        "/api/admin/subscribers?limit=500",
        "/api/admin/topics",
        "/api/admin/proposals",
        "/api/admin/suppressions",
        "/api/admin/files",
    ] {
        let resp = app
            .client
            .get(app.url(list))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        out.push(format!("{list}: {}", resp.text().await.unwrap()));
    }
    out
}

#[tokio::test]
async fn every_route_taking_json_refuses_hostile_bodies_in_french_and_changes_nothing() {
    let spec = spec();
    let app = probe_app().await;
    let (cookie, csrf) = log_in(&app).await;
    let before = state(&app, &cookie).await;
    let oversized = format!("{{\"title\":\"{}\"}}", "a".repeat(600 * 1024));
    let hostile: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", "{\"title\": \"Marché".as_bytes().to_vec()),
        ("invalid UTF-8", b"{\"title\": \"\xff\xfe\"}".to_vec()),
        ("an array", b"[1, 2, 3]".to_vec()),
        // serde reads a struct whose fields all have defaults from an empty array.
        ("an empty array", b"[]".to_vec()),
        ("a string", b"\"texte\"".to_vec()),
        ("oversized", oversized.into_bytes()),
    ];
    let mut problems = Vec::new();
    let mut probed = 0;
    for (path, item) in paths(&spec) {
        for (method, op) in operations(item) {
            let takes_json = op
                .get("requestBody")
                .and_then(|b| resolve(&spec, b).ok())
                .is_some_and(|b| {
                    b.get("content")
                        .and_then(|c| c.get("application/json"))
                        .is_some()
                });
            if !takes_json || path == "/api/admin/login" {
                continue;
            }
            let url = match concrete(&path) {
                Ok(url) => url,
                Err(e) => {
                    problems.push(e);
                    continue;
                }
            };
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let mut bodies: Vec<(&str, Vec<u8>)> = hostile.clone();
            let properties = body_properties(&spec, op);
            if let Some((first, _)) = properties.first() {
                let wrong: serde_json::Map<String, serde_json::Value> = properties
                    .iter()
                    .map(|(name, kind)| (name.clone(), wrong_value(kind)))
                    .collect();
                bodies.push((
                    "every field of the wrong type",
                    serde_json::to_vec(&wrong).unwrap(),
                ));
                bodies.push((
                    "a field given twice",
                    format!("{{\"{first}\": {0}, \"{first}\": {0}}}", wrong_value("")).into_bytes(),
                ));
            }
            for (what, body) in &bodies {
                probed += 1;
                let response = app
                    .client
                    .request(method.clone(), app.url(&url))
                    .header("cookie", &cookie)
                    .header("x-csrf-token", &csrf)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                let french = body["error"].is_string()
                    && body["message"].as_str().is_some_and(|m| !m.is_empty());
                if !status.is_client_error()
                    || status == reqwest::StatusCode::UNAUTHORIZED
                    || status == reqwest::StatusCode::METHOD_NOT_ALLOWED
                    || !french
                {
                    problems.push(format!("{method} {path}, {what}: answered {status} {body}"));
                }
            }
        }
    }
    assert!(
        probed > 100,
        "only {probed} requests: the description lost its bodies?"
    );
    assert!(
        problems.is_empty(),
        "hostile bodies:\n  {}",
        problems.join("\n  ")
    );
    assert_eq!(state(&app, &cookie).await, before, "nothing changed");
    app.stop().await;
}
