//! Keeps `docs/openapi.yaml` true: it must describe exactly the paths the Router serves, every
//! documented method must be routed (and answer a status the description lists, in a documented
//! media type), and every other method must be answered 405.

use std::collections::{BTreeSet, HashMap};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::{DateTime, Utc};
use serde_norway::Value;
use telmail_core::clock::SystemClock;
use telmail_core::config::ServiceConfig;
use telmail_core::contact::{Email, PhoneNumber};
use telmail_core::error::{SendError, StoreError};
use telmail_core::messages::EmailLayout;
use telmail_core::ports::{
    Counter, EmailSender, OutgoingEmail, OutgoingSms, SmsSender, StatsStore, SubscriberStore,
    TopicStore,
};
use telmail_core::residents::{ResidentDeps, Residents};
use telmail_core::subscriber::{Subscriber, SubscriberId};
use telmail_core::token::TokenSigner;
use telmail_core::topic::{default_topics, Topic, TopicSlug};
use telmail_http::{route_paths, router, HttpConfig};
use tower::ServiceExt;

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

// ---------------------------------------------------------------------------------------------
// Ports in memory: just enough for the Router to answer.

#[derive(Default)]
struct Memory {
    subscribers: Mutex<HashMap<SubscriberId, Subscriber>>,
    topics: Mutex<Vec<Topic>>,
    counters: Mutex<HashMap<(String, &'static str), i64>>,
}

impl Memory {
    fn write(&self, s: &Subscriber, must_exist: bool) -> Result<(), StoreError> {
        let mut map = self.subscribers.lock().unwrap();
        let owned_by_other = map.values().any(|o| {
            o.id != s.id
                && ((s.email.is_some() && o.email == s.email)
                    || (s.phone.is_some() && o.phone == s.phone))
        });
        if owned_by_other || map.contains_key(&s.id) != must_exist {
            return Err(StoreError::Conflict("contact or id".into()));
        }
        map.insert(s.id, s.clone());
        Ok(())
    }

    fn find(&self, f: impl Fn(&Subscriber) -> bool) -> Option<Subscriber> {
        self.subscribers
            .lock()
            .unwrap()
            .values()
            .find(|s| f(s))
            .cloned()
    }
}

#[async_trait]
impl SubscriberStore for Memory {
    async fn get(&self, id: SubscriberId) -> Result<Option<Subscriber>, StoreError> {
        Ok(self.subscribers.lock().unwrap().get(&id).cloned())
    }
    async fn find_by_email(&self, email: &Email) -> Result<Option<Subscriber>, StoreError> {
        Ok(self.find(|s| s.email.as_ref() == Some(email)))
    }
    async fn find_by_phone(&self, phone: &PhoneNumber) -> Result<Option<Subscriber>, StoreError> {
        Ok(self.find(|s| s.phone.as_ref() == Some(phone)))
    }
    async fn insert(&self, subscriber: &Subscriber) -> Result<(), StoreError> {
        self.write(subscriber, false)
    }
    async fn update(&self, subscriber: &Subscriber) -> Result<(), StoreError> {
        self.write(subscriber, true)
    }
    async fn delete(&self, id: SubscriberId) -> Result<bool, StoreError> {
        Ok(self.subscribers.lock().unwrap().remove(&id).is_some())
    }
    async fn purge_expired_pending(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut map = self.subscribers.lock().unwrap();
        let before = map.len();
        map.retain(|_, s| !s.is_expired_pending(now));
        Ok((before - map.len()) as u64)
    }
}

#[async_trait]
impl TopicStore for Memory {
    async fn list(&self) -> Result<Vec<Topic>, StoreError> {
        Ok(self.topics.lock().unwrap().clone())
    }
    async fn get(&self, slug: &TopicSlug) -> Result<Option<Topic>, StoreError> {
        let topics = self.topics.lock().unwrap();
        Ok(topics.iter().find(|t| &t.slug == slug).cloned())
    }
    async fn insert_if_absent(&self, topic: &Topic) -> Result<bool, StoreError> {
        let mut topics = self.topics.lock().unwrap();
        if topics.iter().any(|t| t.slug == topic.slug) {
            return Ok(false);
        }
        topics.push(topic.clone());
        Ok(true)
    }
}

#[async_trait]
impl StatsStore for Memory {
    async fn add(&self, month: &str, counter: Counter, n: i64) -> Result<(), StoreError> {
        let mut counters = self.counters.lock().unwrap();
        *counters
            .entry((month.to_owned(), counter.as_str()))
            .or_default() += n;
        Ok(())
    }
    async fn get(&self, month: &str, counter: Counter) -> Result<i64, StoreError> {
        let counters = self.counters.lock().unwrap();
        let key = (month.to_owned(), counter.as_str());
        Ok(counters.get(&key).copied().unwrap_or(0))
    }
}

#[async_trait]
impl EmailSender for Memory {
    async fn send_email(&self, _: &OutgoingEmail) -> Result<String, SendError> {
        Ok("email-id".into())
    }
}

#[async_trait]
impl SmsSender for Memory {
    async fn send_sms(&self, _: &OutgoingSms) -> Result<String, SendError> {
        Ok("sms-id".into())
    }
}

fn app() -> axum::Router {
    let memory = Arc::new(Memory {
        topics: Mutex::new(default_topics()),
        ..Memory::default()
    });
    let deps = ResidentDeps {
        subscribers: memory.clone(),
        topics: memory.clone(),
        stats: memory.clone(),
        email: memory.clone(),
        sms: memory,
        signer: TokenSigner::new(vec![1u8; 32]).expect("a 32-byte key"),
        clock: Arc::new(SystemClock),
        layout: Arc::new(EmailLayout::embedded("Arcachon")),
        config: ServiceConfig::with_public_url("http://test"),
    };
    let config = HttpConfig {
        rate_limit_per_minute: NonZeroU32::new(10_000).expect("non-zero"),
        ..HttpConfig::default()
    };
    router(Arc::new(Residents::new(deps)), &config)
}

// ---------------------------------------------------------------------------------------------
// The description.

fn spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.yaml")
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

/// A concrete URL for a path template: each `{param}` becomes `test`.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') && seg.ends_with('}') {
                "test"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
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

#[tokio::test]
async fn documented_methods_are_routed_and_the_others_answer_405() {
    let spec = spec();
    let app = app();
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

        for method in PROBED {
            let documented = ops
                .iter()
                .find(|(m, _)| m.eq_ignore_ascii_case(method.as_str()))
                .map(|(_, op)| *op);
            let request = Request::builder()
                .method(method.clone())
                .uri(concrete(&path))
                .body(Body::empty())
                .expect("request");
            let response = app.clone().oneshot(request).await.expect("infallible");
            let status = response.status();
            let at = format!("{method} {path}");

            let Some(op) = documented else {
                if status != StatusCode::METHOD_NOT_ALLOWED {
                    problems.push(format!(
                        "{at}: not documented, but answered {status} instead of 405"
                    ));
                }
                continue;
            };
            if status == StatusCode::METHOD_NOT_ALLOWED {
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
                problems.push(format!(
                    "{at}: answered {status}, which is not among the documented responses {keys:?}"
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
                .get(header::CONTENT_TYPE)
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

    assert!(
        problems.is_empty(),
        "the Router and {} disagree:\n  {}",
        spec_path().display(),
        problems.join("\n  ")
    );
}
