//! The AWS backend end to end on a moto server: API Gateway v2 events into the HTTP functions'
//! Routers, the `fanout` queue's real SQS messages fed to `fan-out` as SQS events, then the
//! `delivery` messages fed to `send`, and what SES and SNS received read back from moto.
//!
//! Needs `TELMAIL_MOTO_URL` (set by `bash scripts/test-all.sh`, which starts moto).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, QueueAttributeName};
use serde_json::{json, Value};
use telmail_aws::handlers::{
    feedback_event, public_router, queue_event, staff_router, tick, weather_tick,
};
use telmail_aws::weather_key::SecretKeyedFeed;
use telmail_aws::{Aws, AwsSettings, Calls, Clients};
use telmail_core::clock::SystemClock;
use telmail_core::config::ServiceConfig;
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::contact::Channel;
use telmail_core::domain::delivery::DeliveryKey;
use telmail_core::domain::queue::Job;
use telmail_core::domain::subscriber::SubscriberId;
use telmail_core::ports::SuppressionStore;
use telmail_http::admin::Part;
use telmail_http::HttpConfig;
use telmail_tests::moto;
use tower::ServiceExt;

const SENDER: &str = "alertes@arcachon.example";
const PUBLIC_URL: &str = "https://alertes.arcachon.example";

/// One isolated deployment on the shared moto server: its own table, queues and secret.
struct Deployment {
    aws: Aws,
    clients: Clients,
    moto: String,
    fanout_url: String,
    delivery_url: String,
    urgent_url: String,
    /// The staff's Cognito user pool.
    user_pool: String,
    sdk: aws_config::SdkConfig,
    /// Makes addresses unique to this test on the shared server.
    tag: String,
    /// What the functions were configured with.
    settings: AwsSettings,
}

impl Deployment {
    /// The service as a function that makes no link is given it: without the signing key.
    async fn without_signing_key(&self) -> Aws {
        let settings = AwsSettings {
            signing_key_secret: None,
            ..self.settings.clone()
        };
        Aws::new(self.clients.clone(), settings, Arc::new(SystemClock))
            .await
            .unwrap()
    }
}

async fn deploy() -> Deployment {
    deploy_with(ServiceConfig::with_public_url(PUBLIC_URL)).await
}

async fn deploy_with(service: ServiceConfig) -> Deployment {
    let moto = moto::url_from_env();
    let sdk = moto::sdk_config(&moto).await;
    let clients = Clients::new(&sdk);
    let tag = uuid::Uuid::new_v4().simple().to_string()[..10].to_owned();
    let table = format!("telmail-e2e-{tag}");
    moto::create_table(&sdk, &table).await;
    let fanout = moto::create_queue(&sdk, &format!("fanout-{tag}"), 720).await;
    let delivery = moto::create_queue(&sdk, &format!("delivery-{tag}"), 180).await;
    let urgent = moto::create_queue(&sdk, &format!("urgent-{tag}"), 180).await;
    let dead = moto::create_queue(&sdk, &format!("dead-{tag}"), 30).await;
    moto::create_email_identity(&sdk, SENDER).await;
    let configuration_set = format!("telmail-{tag}");
    clients
        .ses
        .create_configuration_set()
        .configuration_set_name(&configuration_set)
        .send()
        .await
        .unwrap();
    let secret = moto::create_secret(&sdk, &format!("telmail-signing-{tag}")).await;
    let user_pool_id = moto::create_user_pool(&sdk, &format!("staff-{tag}")).await;
    let files_bucket = moto::create_bucket(&sdk, &format!("telmail-files-{tag}")).await;
    let settings = AwsSettings {
        table,
        files_bucket,
        fanout_queue_url: fanout.url.clone(),
        delivery_queue_url: delivery.url.clone(),
        urgent_queue_url: urgent.url.clone(),
        signing_key_secret: Some(secret),
        email_from: format!("Ville d'Arcachon <{SENDER}>"),
        ses_configuration_set: Some(configuration_set),
        email_rate_of_account: false,
        sms_sender: "ARCACHON".into(),
        sms_type: "Transactional".into(),
        town: "Arcachon".into(),
        user_pool_id: user_pool_id.clone(),
        dead_letter_queue_urls: vec![dead.url],
        service,
        http: HttpConfig::default(),
    };
    let aws = Aws::new(clients.clone(), settings.clone(), Arc::new(SystemClock))
        .await
        .unwrap();
    // The schedule's first run creates the default topics.
    tick(&aws).await.unwrap();
    Deployment {
        aws,
        clients,
        moto,
        fanout_url: fanout.url,
        delivery_url: delivery.url,
        urgent_url: urgent.url,
        user_pool: user_pool_id,
        sdk,
        tag,
        settings,
    }
}

/// A staff member as the Cognito JWT authorizer describes them.
fn claims(sub: &str, groups: &str) -> Value {
    json!({ "sub": sub, "cognito:groups": groups, "email": format!("{sub}@arcachon.example"), "name": sub })
}

/// An API Gateway HTTP API (payload 2.0) event, shaped like the recorded sample.
fn http_event(method: &str, target: &str, body: Option<Value>, claims: Option<Value>) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut event: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/aws/aws_apigw_v2_http_api_jwt_authorizer.json"
        ))
        .unwrap(),
    )
    .unwrap();
    event["rawPath"] = json!(path);
    event["rawQueryString"] = json!(query);
    event["routeKey"] = json!(format!("{method} {path}"));
    event["cookies"] = json!([]);
    event["queryStringParameters"] = Value::Null;
    event["pathParameters"] = Value::Null;
    event["headers"] = json!({ "host": "alertes.arcachon.example", "user-agent": "Mozilla/5.0" });
    if body.is_some() {
        event["headers"]["content-type"] = json!("application/json");
    }
    event["requestContext"]["http"] = json!({
        "method": method, "path": path, "protocol": "HTTP/1.1",
        "sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0"
    });
    match claims {
        Some(c) => {
            event["requestContext"]["authorizer"] =
                json!({ "jwt": { "claims": c, "scopes": null } })
        }
        None => {
            event["requestContext"]
                .as_object_mut()
                .unwrap()
                .remove("authorizer");
        }
    }
    event["body"] = body.map_or(Value::Null, |b| json!(b.to_string()));
    event.to_string()
}

/// Sends one event through a function's Router; returns status and JSON body.
async fn call(router: &axum::Router, event: String) -> (u16, Value) {
    let req = lambda_http::request::from_str(&event).expect("valid API Gateway event");
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes))),
    )
}

/// Receives up to ten messages and shapes them as the Lambda SQS event source does.
async fn receive(d: &Deployment, url: &str) -> Option<(Value, Vec<(String, String)>)> {
    let out = d
        .clients
        .sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    let messages = out.messages();
    if messages.is_empty() {
        return None;
    }
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": { "ApproximateReceiveCount": "1" },
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-3:123456789012:queue",
                "awsRegion": "eu-west-3"
            })
        })
        .collect();
    let handles = messages
        .iter()
        .map(|m| {
            (
                m.message_id().unwrap().to_owned(),
                m.receipt_handle().unwrap().to_owned(),
            )
        })
        .collect();
    Some((json!({ "Records": records }), handles))
}

/// Deletes what the function did not report as failed, as the event source mapping does.
async fn acknowledge(d: &Deployment, url: &str, handles: &[(String, String)], response: &Value) {
    let failed: Vec<&str> = response["batchItemFailures"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["itemIdentifier"].as_str())
                .collect()
        })
        .unwrap_or_default();
    let entries: Vec<DeleteMessageBatchRequestEntry> = handles
        .iter()
        .filter(|(id, _)| !failed.contains(&id.as_str()))
        .map(|(id, handle)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(id)
                .receipt_handle(handle)
                .build()
                .unwrap()
        })
        .collect();
    if !entries.is_empty() {
        d.clients
            .sqs
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap();
    }
}

/// The deadline of an invocation starting now: the `send` function's 30 s.
fn send_deadline(d: &Deployment) -> chrono::DateTime<chrono::Utc> {
    d.aws.clock.now() + chrono::Duration::seconds(30)
}

/// Runs a queue's consumer until the queue is empty; returns how many batches it handled. With
/// `twice`, every batch is handed to the function a second time (SQS may deliver a message again).
async fn drain(d: &Deployment, url: &str, twice: bool) -> usize {
    drain_by(d, &d.aws, url, twice).await
}

/// [`drain`], the queue consumed by `send` as wired in `aws`.
async fn drain_by(d: &Deployment, send: &Aws, url: &str, twice: bool) -> usize {
    let mut batches = 0;
    while let Some((event, handles)) = receive(d, url).await {
        let response = queue_event(send, event.clone(), send_deadline(d))
            .await
            .unwrap();
        if twice {
            let again = queue_event(send, event, send_deadline(d)).await.unwrap();
            assert_eq!(again["batchItemFailures"], json!([]), "{again}");
        }
        acknowledge(d, url, &handles, &response).await;
        batches += 1;
    }
    batches
}

/// What moto's SES and SNS received, for addresses of this test only.
struct Sent {
    /// Raw MIME of each email, by recipient.
    emails: HashMap<String, Vec<String>>,
    /// Texts of each SMS, by number.
    sms: HashMap<String, Vec<String>>,
}

async fn sent(d: &Deployment) -> Sent {
    // moto builds data.json from state other tests change meanwhile: a read that comes back
    // unreadable is taken again.
    let mut data: Option<Value> = None;
    for _ in 0..5 {
        let answer = reqwest::get(format!("{}/moto-api/data.json", d.moto))
            .await
            .unwrap();
        if let Ok(json) = answer.json::<Value>().await {
            data = Some(json);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let data = data.expect("moto's data.json readable");
    let mut emails: HashMap<String, Vec<String>> = HashMap::new();
    for m in data["ses"]["RawMessage"].as_array().into_iter().flatten() {
        let raw = m["raw_data"].as_str().unwrap_or_default();
        let to = raw
            .lines()
            .find_map(|l| l.strip_prefix("To: "))
            .unwrap_or_default()
            .trim()
            .to_owned();
        if to.contains(&d.tag) {
            emails.entry(to).or_default().push(raw.to_owned());
        }
    }
    let mut sms: HashMap<String, Vec<String>> = HashMap::new();
    for m in data["sns"]["SMS"].as_array().into_iter().flatten() {
        sms.entry(m["phone_number"].as_str().unwrap().to_owned())
            .or_default()
            .push(m["message"].as_str().unwrap().to_owned());
    }
    Sent { emails, sms }
}

/// Adds a resident from a paper form through the `admin` function; returns its JSON.
async fn add_on_paper(
    d: &Deployment,
    by: &Value,
    email: Option<&str>,
    phone: Option<&str>,
    topic: &str,
) -> Value {
    let channels: Vec<&str> = [email.map(|_| "email"), phone.map(|_| "sms")]
        .into_iter()
        .flatten()
        .collect();
    // Without the welcome message (its own test covers it): these tests count campaigns' messages.
    let body = json!({
        "email": email, "phone": phone, "paper_form_reference": "F-2026-7",
        "subscriptions": [{ "topic": topic, "channels": channels }], "welcome": false
    });
    let admin = staff_router(&d.aws, Part::File);
    let event = http_event(
        "POST",
        "/api/admin/subscribers",
        Some(body),
        Some(by.clone()),
    );
    let (status, v) = call(&admin, event).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["status"], "active");
    v
}

/// Drafts a campaign and submits it through the `campaigns` function; returns its id.
/// Creates and submits a campaign; returns its id and the version the cabinet reads.
async fn draft_and_submit(d: &Deployment, author: &Value, draft: Value) -> (String, u64) {
    let campaigns = staff_router(&d.aws, Part::Campaigns);
    let event = http_event(
        "POST",
        "/api/admin/campaigns",
        Some(draft),
        Some(author.clone()),
    );
    let (status, created) = call(&campaigns, event).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let submit = format!("/api/admin/campaigns/{id}/submit");
    let (status, v) = call(
        &campaigns,
        http_event("POST", &submit, None, Some(author.clone())),
    )
    .await;
    assert_eq!(
        (status, v["status"].as_str()),
        (200, Some("submitted")),
        "{v}"
    );
    (id, v["version"].as_u64().expect("the campaign's version"))
}

/// A mobile number unique enough for one test run (+33 6 12 xx xx xx).
fn mobile(seed: &str, n: u32) -> String {
    let digits: u32 = seed
        .bytes()
        .fold(n, |a, b| a.wrapping_mul(31).wrapping_add(b as u32));
    format!("+33612{:06}", digits % 1_000_000)
}

#[tokio::test]
async fn a_campaign_goes_from_the_api_through_both_queues_to_ses_and_sns_once_each() {
    let d = deploy().await;
    let campaigns = staff_router(&d.aws, Part::Campaigns);
    // The approve function has no access to the signing key (it makes no link).
    let keyless = d.without_signing_key().await;
    let approve = staff_router(&keyless, Part::Approval);
    let keeper = claims("agent-1", "[redaction admin]");

    // Three residents typed in from paper forms, on email, SMS or both.
    let people = [
        (
            Some(format!("jeanne.{}@example.org", d.tag)),
            Some(mobile(&d.tag, 1)),
        ),
        (Some(format!("paul.{}@example.org", d.tag)), None),
        (None, Some(mobile(&d.tag, 2))),
    ];
    for (email, phone) in &people {
        add_on_paper(
            &d,
            &keeper,
            email.as_deref(),
            phone.as_deref(),
            "alerte-meteo",
        )
        .await;
    }

    // The communication service writes an urgent alert and submits it.
    let draft = json!({
        "title": "Vent violent",
        "topics": ["alerte-meteo"],
        "sms": { "text": "Alerte vent violent : évitez le front de mer jusqu'à 18 h." },
        "email": { "subject": "Alerte vent violent", "body_markdown": "**Vigilance orange** vent violent.\n\nÉvitez le front de mer." },
        "urgent": true,
        "send_at": null
    });
    let (id, version) = draft_and_submit(&d, &keeper, draft).await;
    let read = json!({ "version": version });

    // A percent-encoded action is not an approval for any function (each matches its actions
    // literally): the campaign stays submitted.
    for disguised in ["appr%6Fve", "%61pprove", "APPROVE"] {
        let path = format!("/api/admin/campaigns/{id}/{disguised}");
        for part in [Part::Campaigns, Part::Approval, Part::File, Part::Files] {
            let (status, _) = call(
                &staff_router(&d.aws, part),
                http_event(
                    "POST",
                    &path,
                    Some(read.clone()),
                    Some(claims("cab-1", "[cabinet]")),
                ),
            )
            .await;
            assert_eq!(status, 404, "{disguised} on {part:?}");
        }
    }

    // The campaigns function does not serve approvals, and the author may not approve.
    let approve_path = format!("/api/admin/campaigns/{id}/approve");
    let (status, _) = call(
        &campaigns,
        http_event(
            "POST",
            &approve_path,
            Some(read.clone()),
            Some(claims("cab-1", "[cabinet]")),
        ),
    )
    .await;
    assert_eq!(status, 404);
    let (status, v) = call(
        &approve,
        http_event(
            "POST",
            &approve_path,
            Some(read.clone()),
            Some(keeper.clone()),
        ),
    )
    .await;
    assert_eq!(status, 403, "{v}");

    // The mayor's office approves: the fan-out shards are on the queue.
    let (status, v) = call(
        &approve,
        http_event(
            "POST",
            &approve_path,
            Some(read),
            Some(claims("cab-1", "[cabinet]")),
        ),
    )
    .await;
    assert_eq!(
        (status, v["status"].as_str()),
        (200, Some("sending")),
        "{v}"
    );

    // Every batch is handed over twice (SQS may deliver a message again): nothing may be
    // fanned out or sent twice. An urgent campaign's messages take the urgent lane.
    assert!(drain(&d, &d.fanout_url, true).await >= 1);
    assert_eq!(
        drain(&d, &d.delivery_url, true).await,
        0,
        "nothing in the ordinary lane"
    );
    assert!(drain(&d, &d.urgent_url, true).await >= 1);

    let sent = sent(&d).await;
    for (email, _) in &people {
        let Some(email) = email else { continue };
        let got = &sent.emails[email];
        assert_eq!(got.len(), 1, "one email to {email}");
        let raw = &got[0];
        assert!(raw.contains("Subject: Alerte vent violent"), "{raw}");
        assert!(
            raw.contains("List-Unsubscribe: <https://alertes.arcachon.example/"),
            "{raw}"
        );
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
    }
    for (_, phone) in &people {
        let Some(phone) = phone else { continue };
        assert_eq!(
            sent.sms[phone],
            vec!["Alerte vent violent : évitez le front de mer jusqu'à 18 h.".to_owned()]
        );
    }

    let (status, v) = call(
        &campaigns,
        http_event(
            "GET",
            &format!("/api/admin/campaigns/{id}"),
            None,
            Some(keeper.clone()),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(v["status"], "sent", "{v}");
    assert_eq!(v["counts"]["email"]["sent"], 2);
    assert_eq!(v["counts"]["sms"]["sent"], 2);

    // One of its emails bounces: SES's event carries the campaign tag, the bounce is counted
    // against the campaign (a campaign that ended brakes nothing).
    let first = people.iter().find_map(|(email, _)| email.clone()).unwrap();
    feedback_event(&d.aws, ses_bounce(&first, Some(&id)))
        .await
        .unwrap();
    let (_, v) = call(
        &campaigns,
        http_event(
            "GET",
            &format!("/api/admin/campaigns/{id}"),
            None,
            Some(keeper),
        ),
    )
    .await;
    assert_eq!(
        v["counts"]["feedback"],
        json!({ "bounces": 1, "complaints": 0 })
    );
    // AND the bounce is recorded against that person's email, for the crisis view
    let reports =
        telmail_core::ports::ReachStore::reach_reports(&*d.aws.store, id.parse().unwrap())
            .await
            .unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(
        reports[0].outcome,
        telmail_core::domain::reach::ReachOutcome::Bounced
    );
    assert_eq!(
        reports[0].key.channel,
        telmail_core::domain::contact::Channel::Email
    );
    // A bounce naming a campaign this deployment does not know is recorded, not retried.
    let stray = format!("ailleurs.{}@example.org", d.tag);
    let unknown = CampaignId::new().to_string();
    let out = feedback_event(&d.aws, ses_bounce(&stray, Some(&unknown)))
        .await
        .unwrap();
    assert_eq!(out["suppressed"], 1);

    // SNS's delivery logs of its two SMS, in their real format, name only the message id SNS
    // answered each send with: tied to the deliveries through the index the send batch wrote,
    // one is recorded delivered, the other failed.
    use telmail_core::domain::reach::ReachOutcome;
    use telmail_core::ports::{DeliveryStore, ReachStore, SubscriberStore};
    let campaign: CampaignId = id.parse().unwrap();
    let store = d.aws.store.as_ref();
    let sms: Vec<_> = DeliveryStore::list(store, campaign, 100, 0)
        .await
        .unwrap()
        .into_iter()
        .filter(|x| x.key.channel == Channel::Sms)
        .collect();
    assert_eq!(sms.len(), 2, "{sms:?}");
    let message_id = |i: usize| sms[i].provider_id.clone().expect("SNS's message id");
    let (first_id, second_id) = (message_id(0), message_id(1));
    let logs = sms_delivery_logs(&[
        ("aws_sns_sms_delivery_status_success.json", Some(&first_id)),
        ("aws_sns_sms_delivery_status_failure.json", Some(&second_id)),
    ]);
    let out = feedback_event(&d.aws, logs.clone()).await.unwrap();
    assert_eq!(
        (out["receipts"].as_u64(), out["reached"].as_u64()),
        (Some(2), Some(2)),
        "{out}"
    );
    let sms_outcome = |reports: &[telmail_core::domain::reach::ReachReport], i: usize| {
        reports
            .iter()
            .find(|r| r.key == sms[i].key)
            .map(|r| r.outcome)
    };
    let reports = ReachStore::reach_reports(store, campaign).await.unwrap();
    assert_eq!(sms_outcome(&reports, 0), Some(ReachOutcome::Delivered));
    assert_eq!(sms_outcome(&reports, 1), Some(ReachOutcome::Failed));
    // AND the crisis view on AWS shows it: the one whose only message failed is to call back
    let admin = claims("agent-1", "[redaction admin]");
    let (status, view) = call(
        &campaigns,
        http_event(
            "GET",
            &format!("/api/admin/campaigns/{id}/crisis"),
            None,
            Some(admin),
        ),
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (
            view["totals"]["people"].as_u64(),
            view["totals"]["not_reached"].as_u64()
        ),
        (Some(3), Some(1)),
        "{view}"
    );
    let failed = sms[1].key.subscriber.to_string();
    let callback = view["callbacks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["subscriber"] == failed.as_str())
        .unwrap_or_else(|| panic!("{view}"));
    assert_eq!(callback["state"], "not_reached", "{view}");
    let by_sms = callback["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["channel"] == "sms")
        .unwrap_or_else(|| panic!("{view}"));
    assert_eq!(
        (by_sms["reach"].as_str(), by_sms["label"].as_str()),
        (Some("not_reached"), Some("non distribué")),
        "{view}"
    );
    // A receipt SNS logs again changes nothing; once its resident is erased, their index goes
    // with them and the log no longer leads to them.
    SubscriberStore::delete(store, sms[0].key.subscriber)
        .await
        .unwrap();
    let again = feedback_event(&d.aws, logs).await.unwrap();
    assert_eq!(
        (again["receipts"].as_u64(), again["reached"].as_u64()),
        (Some(0), Some(1)),
        "{again}"
    );
    let reports = ReachStore::reach_reports(store, campaign).await.unwrap();
    assert_eq!(sms_outcome(&reports, 0), None, "{reports:?}");
    assert_eq!(sms_outcome(&reports, 1), Some(ReachOutcome::Failed));
}

/// A CloudWatch Logs subscription event carrying these SNS delivery status log entries, each
/// with the message id given (else the fixture's own).
fn sms_delivery_logs(fixtures: &[(&str, Option<&str>)]) -> Value {
    let events: Vec<Value> = fixtures
        .iter()
        .enumerate()
        .map(|(i, (name, message_id))| {
            let path = format!("{}/fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
            let mut message = std::fs::read_to_string(path).unwrap();
            if let Some(id) = message_id {
                let mut entry: Value = serde_json::from_str(&message).unwrap();
                entry["notification"]["messageId"] = json!(id);
                message = entry.to_string();
            }
            json!({ "id": i.to_string(), "timestamp": 1_467_074_434_558_i64, "message": message })
        })
        .collect();
    let data = json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "sns/eu-west-3/123456789012/DirectPublishToPhoneNumber",
        "logStream": "stream",
        "subscriptionFilters": ["sms-receipts"],
        "logEvents": events,
    });
    json!({ "awslogs": { "data": gzip_base64(&data) } })
}

/// What CloudWatch Logs sends a subscriber: the JSON gzipped, then in base64.
fn gzip_base64(data: &Value) -> String {
    use base64::Engine;
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data.to_string().as_bytes()).unwrap();
    base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap())
}

/// SES's hard bounce of `address` (tagged with `campaign`), published to SNS, as `feedback`
/// receives it.
fn ses_bounce(address: &str, campaign: Option<&str>) -> Value {
    let fixture = |name: &str| -> Value {
        let path = format!("{}/fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let mut ses = fixture("aws_sesv2_event_publishing_sns_bounce.json");
    ses["bounce"]["bouncedRecipients"][0]["emailAddress"] = json!(address);
    if let Some(id) = campaign {
        ses["mail"]["tags"]["campaign"] = json!([id]);
    }
    let mut envelope = fixture("aws_sns_lambda_event_envelope.json");
    envelope["Records"][0]["Sns"]["Message"] = json!(ses.to_string());
    envelope
}

#[tokio::test]
async fn residents_sign_up_through_the_public_function_and_staff_need_a_verified_identity() {
    let d = deploy().await;
    let public = public_router(&d.aws);
    let (status, topics) = call(&public, http_event("GET", "/api/topics", None, None)).await;
    assert_eq!(status, 200);
    assert!(topics
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["slug"] == "alerte-meteo"));

    let address = format!("lea.{}@example.org", d.tag);
    let body = json!({
        "email": address, "consent": true,
        "subscriptions": [{ "topic": "culture-animations", "channels": ["email"] }]
    });
    let (status, v) = call(
        &public,
        http_event("POST", "/api/subscriptions", Some(body), None),
    )
    .await;
    assert_eq!(status, 202, "{v}");
    let sent = sent(&d).await;
    let mail = &sent.emails[&address];
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("/confirmation?t="), "{}", mail[0]);

    let (status, v) = call(
        &public,
        http_event("POST", "/api/subscriptions", Some(json!({})), None),
    )
    .await;
    assert_eq!(status, 422, "{v}");

    // No verified claims: 401; a role the route does not allow: 403.
    let admin = staff_router(&d.aws, Part::File);
    let (status, v) = call(
        &admin,
        http_event("GET", "/api/admin/subscribers", None, None),
    )
    .await;
    assert_eq!(status, 401, "{v}");
    assert!(v["message"].as_str().unwrap().contains("Connectez-vous"));
    let (status, _) = call(
        &admin,
        http_event(
            "GET",
            "/api/admin/subscribers",
            None,
            Some(claims("cab-2", "[cabinet]")),
        ),
    )
    .await;
    assert_eq!(status, 403);
    let (status, me) = call(
        &admin,
        http_event(
            "GET",
            "/api/admin/me",
            None,
            Some(claims("agent-2", "[redaction cabinet]")),
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(me["roles"], json!(["redaction", "cabinet"]));
}

#[tokio::test]
async fn a_sign_up_while_ses_is_unreachable_is_accepted_and_its_email_leaves_through_the_urgent_lane(
) {
    // GIVEN the public function cannot reach SES (nothing listens on its endpoint)
    let d = deploy().await;
    let dead = telmail_tests::ports::refusing_port();
    let mut clients = d.clients.clone();
    clients.ses = aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&d.sdk)
            .endpoint_url(format!("http://{}", dead.addr))
            .build(),
    );
    let down = Aws::new(clients, d.settings.clone(), Arc::new(SystemClock))
        .await
        .unwrap();

    // WHEN a resident signs up
    let address = format!("panne.{}@example.org", d.tag);
    let body = json!({
        "email": address, "consent": true,
        "subscriptions": [{ "topic": "culture-animations", "channels": ["email"] }]
    });
    let (status, v) = call(
        &public_router(&down),
        http_event("POST", "/api/subscriptions", Some(body), None),
    )
    .await;

    // THEN the sign-up is accepted, nothing sent yet, the email waiting on the urgent lane
    assert_eq!(status, 202, "{v}");
    assert!(v["message"].as_str().unwrap().contains("quelques minutes"));
    assert!(!sent(&d).await.emails.contains_key(&address));
    // WHEN the send function, which reaches SES, takes the urgent lane
    assert_eq!(drain(&d, &d.urgent_url, false).await, 1);
    // THEN the confirmation went once, and its link opens the confirmation page
    let mail = &sent(&d).await.emails[&address];
    assert_eq!(mail.len(), 1);
    let text = mail_parser::MessageParser::default()
        .parse(mail[0].as_bytes())
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .expect("a text part");
    let start = text.find("/confirmation?t=").expect("a confirmation link");
    let target: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let (status, page) = call(
        &public_router(&d.aws),
        http_event("GET", &target, None, None),
    )
    .await;
    assert_eq!(status, 200, "{page}");
}

/// The voice service as the tests see it: the calls placed (moto does not know End User
/// Messaging's `SendVoiceMessage`).
#[derive(Default)]
struct RecordedCalls(std::sync::Mutex<Vec<telmail_core::ports::OutgoingCall>>);

#[async_trait::async_trait]
impl telmail_core::ports::VoiceSender for RecordedCalls {
    async fn call(
        &self,
        call: &telmail_core::ports::OutgoingCall,
    ) -> Result<Option<String>, telmail_core::error::SendError> {
        self.0.lock().unwrap().push(call.clone());
        Ok(Some("appel-1".into()))
    }
}

#[tokio::test]
async fn a_landline_signing_up_hears_its_code_from_the_send_function() {
    // GIVEN `subscribe` as deployed with a voice service (it queues calls, without the voice
    // SDK), and `send` placing them
    let d = deploy().await;
    let wired = |calls| {
        Aws::with_voice(
            d.clients.clone(),
            d.settings.clone(),
            Arc::new(SystemClock),
            calls,
        )
    };
    let subscribe = wired(Calls::Queued).await.unwrap();
    let voice = Arc::new(RecordedCalls::default());
    let send = wired(Calls::Placed(voice.clone())).await.unwrap();

    // WHEN a resident signs up on the web form with a landline, for weather alerts by call
    let body = json!({
        "phone": "05 56 22 33 44", "consent": true,
        "subscriptions": [{ "topic": "alerte-meteo", "channels": ["voice"] }]
    });
    let (status, v) = call(
        &public_router(&subscribe),
        http_event("POST", "/api/subscriptions", Some(body), None),
    )
    .await;

    // THEN the sign-up is accepted, the call waiting on the urgent lane, none placed yet
    assert_eq!(status, 202, "{v}");
    assert!(v["code_url"].as_str().is_some(), "{v}");
    assert!(voice.0.lock().unwrap().is_empty());
    // WHEN `send` takes the urgent lane
    assert_eq!(drain_by(&d, &send, &d.urgent_url, false).await, 1);
    // THEN the landline hears its six-digit code, said twice, once
    let calls = voice.0.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].to.as_str(), "+33556223344");
    assert_eq!(calls[0].delivery, None);
    let said = &calls[0].text;
    let code = crate::common::spoken_code(said);
    assert_eq!(code.len(), 6, "{said}");
    assert!(said.contains("Je répète."), "{said}");
    // AND a deployment without a voice service refuses the landline on the form at once
    let refused = wired(Calls::Refused).await.unwrap();
    let body = json!({
        "phone": "05 56 22 33 45", "consent": true,
        "subscriptions": [{ "topic": "alerte-meteo", "channels": ["voice"] }]
    });
    let (status, v) = call(
        &public_router(&refused),
        http_event("POST", "/api/subscriptions", Some(body), None),
    )
    .await;
    assert_eq!(status, 422, "{v}");
    assert!(v["fields"]["phone"].as_str().is_some(), "{v}");
    assert!(receive(&d, &d.urgent_url).await.is_none(), "nothing queued");
}

#[tokio::test]
async fn a_poison_message_fails_alone_and_feedback_becomes_suppressions() {
    let d = deploy().await;
    let missing = json!({"v":1,"job":{"type":"deliver","campaign":"00000000-0000-0000-0000-000000000001","subscriber":"00000000-0000-0000-0000-000000000002","channel":"email"}});
    let event = json!({ "Records": [
        { "messageId": "good", "receiptHandle": "h1", "body": missing.to_string(), "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {} },
        { "messageId": "poison", "receiptHandle": "h2", "body": "{\"v\":9}", "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {} },
        { "messageId": "garbage", "receiptHandle": "h3", "body": "pas du JSON", "eventSource": "aws:sqs", "attributes": {}, "messageAttributes": {} }
    ]});
    let response = queue_event(&d.aws, event, send_deadline(&d)).await.unwrap();
    assert_eq!(
        response["batchItemFailures"],
        json!([{ "itemIdentifier": "poison" }, { "itemIdentifier": "garbage" }])
    );

    // An SES hard bounce, published by the configuration set to SNS, delivered to `feedback`.
    let bounced = format!("rebond.{}@example.org", d.tag);
    let out = feedback_event(&d.aws, ses_bounce(&bounced, None))
        .await
        .unwrap();
    assert_eq!(out["suppressed"], 1);

    // The hourly schedule copies SNS's opted-out numbers (moto lists a few fixed ones).
    let schedule: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fixtures/aws/aws_eventbridge_scheduled_event.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let first = feedback_event(&d.aws, schedule.clone()).await.unwrap();
    assert!(first["suppressed"].as_u64().unwrap() > 0, "{first}");
    let again = feedback_event(&d.aws, schedule).await.unwrap();
    assert_eq!(
        again["suppressed"], 0,
        "already known numbers are not rewritten"
    );

    // SNS's SMS delivery receipts, through the CloudWatch Logs subscription of its log groups:
    // counted once in the month's statistics, however often the batch is delivered.
    let receipts = sms_delivery_logs(&[
        ("aws_sns_sms_delivery_status_success.json", None),
        ("aws_sns_sms_delivery_status_failure.json", None),
    ]);
    let out = feedback_event(&d.aws, receipts.clone()).await.unwrap();
    assert_eq!(out["receipts"], 2);
    let again = feedback_event(&d.aws, receipts).await.unwrap();
    assert_eq!(again["receipts"], 0);
    let june = telmail_core::clock::Month::of(
        chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2016, 6, 28, 12, 0, 0).unwrap(),
    );
    let counted = |c| telmail_core::ports::StatsStore::get(d.aws.store.as_ref(), june, c);
    use telmail_core::ports::Counter;
    assert_eq!(counted(Counter::SmsDelivered).await.unwrap(), 1);
    assert_eq!(counted(Counter::SmsUndelivered).await.unwrap(), 1);
    assert_eq!(counted(Counter::SmsBilledMicroUsd).await.unwrap(), 12_900);
    let control = json!({ "awslogs": { "data": gzip_base64(&json!({
        "messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "",
        "logStream": "", "subscriptionFilters": [], "logEvents": []
    })) } });
    assert_eq!(
        feedback_event(&d.aws, control).await.unwrap()["receipts"],
        0
    );

    let found = d
        .aws
        .store
        .suppressed_among(&[bounced.clone(), "+447420500600".into(), "a@b.fr".into()])
        .await
        .unwrap();
    assert!(found.contains(&bounced) && found.contains("+447420500600"));
    assert_eq!(found.len(), 2);
}

/// A sending window that is closed now: it opens in three hours (Paris is UTC+1 or +2).
fn closed_window() -> String {
    use chrono::Timelike;
    let start = (telmail_tests::server_now().hour() + 3) % 24;
    let end = if start == 23 {
        "23:59".to_owned()
    } else {
        format!("{:02}:00", start + 1)
    };
    format!("{start:02}:00-{end}")
}

#[tokio::test]
async fn sms_outside_the_window_wait_on_the_queue_with_a_delay() {
    let mut service = ServiceConfig::with_public_url(PUBLIC_URL);
    service.sending_window = closed_window().parse().unwrap();
    let d = deploy_with(service).await;
    let keeper = claims("agent-3", "[redaction admin]");
    let phone = mobile(&d.tag, 3);
    let v = add_on_paper(&d, &keeper, None, Some(&phone), "infos-pratiques").await;
    let draft = json!({
        "title": "Inscriptions scolaires", "topics": ["infos-pratiques"],
        "sms": { "text": "Inscriptions scolaires ouvertes en mairie." },
        "email": null, "urgent": false, "send_at": null
    });
    let (id, version) = draft_and_submit(&d, &keeper, draft).await;
    let approve = staff_router(&d.aws, Part::Approval);
    let (status, _) = call(
        &approve,
        http_event(
            "POST",
            &format!("/api/admin/campaigns/{id}/approve"),
            Some(json!({ "version": version })),
            Some(claims("cab-3", "[cabinet]")),
        ),
    )
    .await;
    assert_eq!(status, 200);
    drain(&d, &d.fanout_url, false).await;

    // The delivery was enqueued with SQS's longest delay; nothing is visible or sent yet.
    let delayed = |d: &Deployment| {
        let sqs = d.clients.sqs.clone();
        let url = d.delivery_url.clone();
        async move {
            let attrs = sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
                .send()
                .await
                .unwrap();
            attrs.attributes().unwrap()[&QueueAttributeName::ApproximateNumberOfMessagesDelayed]
                .parse::<u32>()
                .unwrap()
        }
    };
    assert_eq!(delayed(&d).await, 1);
    assert_eq!(drain(&d, &d.delivery_url, false).await, 0);

    // Should the job come back early, the consumer puts it back with a delay instead of sending
    // (or of failing it towards the dead-letter queue).
    let job = Job::Deliver(
        DeliveryKey {
            campaign: CampaignId::from_str(&id).unwrap(),
            subscriber: SubscriberId::from_str(v["id"].as_str().unwrap())
                .ok()
                .unwrap(),
            channel: Channel::Sms,
        }
        .into(),
    );
    d.clients
        .sqs
        .send_message()
        .queue_url(&d.delivery_url)
        .message_body(job.to_payload())
        .send()
        .await
        .unwrap();
    assert_eq!(drain(&d, &d.delivery_url, false).await, 1);
    assert_eq!(delayed(&d).await, 2);
    assert!(!sent(&d).await.sms.contains_key(&phone));
}

#[tokio::test]
async fn the_weather_function_relays_a_red_alert_once_through_the_urgent_lane() {
    let d = deploy().await;
    let keeper = claims("agent-w", "[redaction admin]");
    let email = format!("plage-{}@arcachon.example", d.tag);
    let phone = mobile(&d.tag, 9);
    add_on_paper(&d, &keeper, Some(&email), Some(&phone), "alerte-meteo").await;

    // The feed is down first: nothing happens, the failure is counted
    let stub = telmail_tests::feeds::stub_feed(503, String::new()).await;
    let feed = telmail_meteo::HttpWeatherFeed::new(&stub.url, Some("clé".into())).unwrap();
    let answer = weather_tick(&d.aws, &feed).await.unwrap();
    assert!(
        answer["failed"].as_str().unwrap().contains("503"),
        "{answer}"
    );

    // Then a red alert: two overlapping runs relay it once, sent at once on the urgent lane
    *stub.answer.lock().unwrap() = (200, telmail_tests::feeds::red_waves_document());
    let (a, b) = tokio::join!(weather_tick(&d.aws, &feed), weather_tick(&d.aws, &feed));
    let relayed = a.unwrap()["relayed"].as_u64().unwrap() + b.unwrap()["relayed"].as_u64().unwrap();
    assert_eq!(relayed, 1);
    assert!(drain(&d, &d.fanout_url, false).await >= 1);
    assert_eq!(drain(&d, &d.delivery_url, false).await, 0);
    assert!(drain(&d, &d.urgent_url, false).await >= 1);
    let sent = sent(&d).await;
    assert_eq!(sent.sms[&phone].len(), 1);
    assert!(sent.sms[&phone][0].contains("vigilance rouge vagues-submersion"));
    assert!(sent.emails[&email][0].contains("Vigilance rouge vagues-submersion"));
    let stats = call(
        &staff_router(&d.aws, Part::File),
        http_event("GET", "/api/admin/stats", None, Some(keeper.clone())),
    )
    .await
    .1;
    assert_eq!(stats["totals"]["weather_alerts_sent"], 1, "{stats}");
    assert_eq!(stats["totals"]["weather_feed_failures"], 1, "{stats}");

    // The town's website reads it from the public function: the alert in force (one item of
    // the table), its page in the archive and the feed (one Query each).
    let public = public_router(&d.aws);
    let (status, alert) = call(&public, http_event("GET", "/api/public/alert", None, None)).await;
    assert_eq!(status, 200, "{alert}");
    assert_eq!(alert["alert"]["colour"], "rouge", "{alert}");
    assert_eq!(alert["alert"]["phenomenon"], "vagues-submersion");
    let url = alert["alert"]["url"].as_str().unwrap();
    let path = url
        .split_once("/messages/")
        .map(|(_, p)| format!("/messages/{p}"))
        .unwrap();
    let (status, page) = call(&public, http_event("GET", &path, None, None)).await;
    assert_eq!(status, 200, "{page}");
    assert!(page
        .as_str()
        .unwrap()
        .contains("Vigilance rouge vagues-submersion"));
    assert!(
        !page.as_str().unwrap().contains(&email),
        "no resident on a public page"
    );
    let (status, feed) = call(&public, http_event("GET", "/messages.atom", None, None)).await;
    assert_eq!(status, 200);
    assert!(feed.as_str().unwrap().contains(&path), "{feed}");

    // The dashboard's health reads the queues' depth; there is no outbox on AWS.
    let admin = staff_router(&d.aws, Part::File);
    let (status, health) = call(
        &admin,
        http_event("GET", "/api/admin/health", None, Some(keeper.clone())),
    )
    .await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(
        health,
        json!({ "queued": 0, "dead_letters": 0, "paused": [] })
    );
    let (status, outbox) = call(
        &admin,
        http_event("GET", "/api/admin/outbox", None, Some(keeper)),
    )
    .await;
    assert_eq!(status, 404, "{outbox}");
}

#[tokio::test]
async fn the_weather_key_set_after_a_cold_start_is_read_again_when_the_feed_refuses_the_old_one() {
    // GIVEN the key's secret as the stack creates it (a placeholder), read by a cold start, and
    // the portal's feed wanting the real key
    let d = deploy().await;
    let secret = format!("telmail-weather-key-{}", d.tag);
    d.clients
        .secrets
        .create_secret()
        .name(&secret)
        .secret_string("à-remplir")
        .send()
        .await
        .unwrap();
    let stub = telmail_tests::feeds::keyed_stub_feed(
        "vraie-cle",
        telmail_tests::feeds::red_waves_document(),
    )
    .await;
    let url = stub.url.clone();
    let feed = SecretKeyedFeed::new(d.clients.secrets.clone(), secret.clone(), move |key| {
        telmail_meteo::HttpWeatherFeed::new(&url, Some(key))
    })
    .await
    .unwrap();
    let answer = weather_tick(&d.aws, &feed).await.unwrap();
    assert!(
        answer["failed"].as_str().unwrap().contains("401"),
        "{answer}"
    );

    // WHEN the operator puts the real key in the secret, the instance still warm
    d.clients
        .secrets
        .put_secret_value()
        .secret_id(&secret)
        .secret_string("vraie-cle\n")
        .send()
        .await
        .unwrap();
    let answer = weather_tick(&d.aws, &feed).await.unwrap();

    // THEN the next poll reads the feed with it, and relays the alert
    assert_eq!(answer["relayed"], 1, "{answer}");
}

#[tokio::test]
async fn an_orange_alert_tells_the_cognito_cabinet_and_goes_out_once_approved() {
    let d = deploy().await;
    let keeper = claims("agent-o", "[redaction admin]");
    let resident = mobile(&d.tag, 11);
    add_on_paper(&d, &keeper, None, Some(&resident), "alerte-meteo").await;
    // The cabinet as the deployment guide creates it: a Cognito user in the `cabinet` group.
    let cabinet_email = format!("cabinet-{}@arcachon.example", d.tag);
    let cabinet_phone = mobile(&d.tag, 12);
    moto::add_staff(
        &d.sdk,
        &d.user_pool,
        "maire-adjointe",
        "cabinet",
        &[
            ("name", "Maire adjointe"),
            ("email", &cabinet_email),
            ("phone_number", &cabinet_phone),
        ],
    )
    .await;
    let writer_email = format!("redaction-{}@arcachon.example", d.tag);
    moto::add_staff(
        &d.sdk,
        &d.user_pool,
        "redacteur",
        "redaction",
        &[("email", &writer_email)],
    )
    .await;

    let stub = telmail_tests::feeds::stub_feed(200, telmail_tests::feeds::waves_document(3)).await;
    let feed = telmail_meteo::HttpWeatherFeed::new(&stub.url, Some("clé".into())).unwrap();
    let answer = weather_tick(&d.aws, &feed).await.unwrap();
    assert_eq!(answer["relayed"], 1, "{answer}");
    let line = answer["lines"][0].as_str().unwrap();
    assert!(
        line.contains("cabinet prévenu : 1 courriel(s), 1 SMS"),
        "{line}"
    );

    // Only the cabinet is told, with a link to the campaign; residents wait for its approval.
    let told = sent(&d).await;
    let email = &told.emails[&cabinet_email][0];
    assert!(email.contains("/admin/campagnes/"), "{email}");
    assert!(told.sms[&cabinet_phone][0].contains("vigilance orange vagues-submersion"));
    assert!(!told.emails.contains_key(&writer_email));
    assert!(!told.sms.contains_key(&resident));

    // The cabinet approves from the link: the alert goes out on the urgent lane.
    let (_, waiting) = call(
        &staff_router(&d.aws, Part::Campaigns),
        http_event(
            "GET",
            "/api/admin/campaigns?status=submitted",
            None,
            Some(keeper.clone()),
        ),
    )
    .await;
    let campaign = &waiting[0];
    assert_eq!(
        campaign["source"]["phenomenon"], "waves_submersion",
        "{campaign}"
    );
    assert_eq!(campaign["source"]["colour"], "orange");
    let (status, _) = call(
        &staff_router(&d.aws, Part::Approval),
        http_event(
            "POST",
            &format!(
                "/api/admin/campaigns/{}/approve",
                campaign["id"].as_str().unwrap()
            ),
            Some(json!({ "version": campaign["version"] })),
            Some(claims("maire-adjointe", "[cabinet]")),
        ),
    )
    .await;
    assert_eq!(status, 200);
    drain(&d, &d.fanout_url, false).await;
    drain(&d, &d.urgent_url, false).await;
    assert_eq!(sent(&d).await.sms[&resident].len(), 1);

    // Météo-France lifts it: the end goes to the cabinet as the alert did.
    *stub.answer.lock().unwrap() = (200, telmail_tests::feeds::waves_document(2));
    let answer = weather_tick(&d.aws, &feed).await.unwrap();
    let lines = answer["lines"].to_string();
    assert!(
        lines.contains("fin d'alerte soumise au cabinet"),
        "{answer}"
    );
    assert_eq!(sent(&d).await.sms[&cabinet_phone].len(), 2);
}

#[tokio::test]
async fn big_files_go_through_presigned_s3_links_and_the_fan_out_queue() {
    let d = deploy().await;
    let redac = claims("redac-files", "redaction");
    // The admin function does not serve big files: the `files` function does.
    let (status, _) = call(
        &staff_router(&d.aws, Part::File),
        http_event("GET", "/api/admin/files", None, Some(redac.clone())),
    )
    .await;
    assert_eq!(status, 404);
    let admin = staff_router(&d.aws, Part::Files);
    let email = |i: usize| format!("grand-fichier-{i}-{}@arcachon.example", d.tag);

    // An import: the link is S3's, presigned; the browser's PUT needs no other credential.
    let (status, started) = call(
        &admin,
        http_event(
            "POST",
            "/api/admin/files/imports?mode=valid_only",
            None,
            Some(redac.clone()),
        ),
    )
    .await;
    assert_eq!(status, 201, "{started}");
    let upload = started["upload_url"].as_str().unwrap();
    assert!(upload.contains("X-Amz-Signature="), "{upload}");
    assert!(upload.contains("X-Amz-Expires=1800"), "{upload}");
    let mut csv = String::from("email;themes;reference\r\n");
    for i in 0..40 {
        csv.push_str(&format!("{};Alerte météo;F-{i}\r\n", email(i)));
    }
    csv.push_str("pas-une-adresse;Alerte météo;F-X\r\n");
    let put = reqwest::Client::new()
        .put(upload)
        .body(csv)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "{:?}", put.text().await);
    let id = started["id"].as_str().unwrap().to_owned();
    let (status, reading) = call(
        &admin,
        http_event(
            "POST",
            &format!("/api/admin/files/{id}/received"),
            None,
            Some(redac.clone()),
        ),
    )
    .await;
    assert_eq!(status, 202, "{reading}");
    // The steps run on the fan-out queue, as the fan-out function receives them.
    assert!(drain(&d, &d.fanout_url, true).await >= 1);
    let (_, job) = call(
        &admin,
        http_event(
            "GET",
            &format!("/api/admin/files/{id}"),
            None,
            Some(redac.clone()),
        ),
    )
    .await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(
        (job["imported"].clone(), job["refused_lines"].clone()),
        (json!(40), json!(1))
    );
    assert_eq!(job["errors"][0]["line"], 42);

    // An export: written to S3 in parts, downloaded through a presigned link that names the file.
    let (status, started) = call(
        &admin,
        http_event(
            "POST",
            "/api/admin/files/exports",
            None,
            Some(redac.clone()),
        ),
    )
    .await;
    assert_eq!(status, 202, "{started}");
    let id = started["id"].as_str().unwrap().to_owned();
    drain(&d, &d.fanout_url, false).await;
    let (_, job) = call(
        &admin,
        http_event(
            "GET",
            &format!("/api/admin/files/{id}"),
            None,
            Some(redac.clone()),
        ),
    )
    .await;
    assert_eq!(job["status"], "done", "{job}");
    let link = job["download_url"].as_str().unwrap();
    assert!(link.contains("X-Amz-Signature="), "{link}");
    let file = reqwest::get(link).await.unwrap();
    assert_eq!(file.status(), 200);
    assert!(file.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("abonnes-telmail-"));
    let text = file.text().await.unwrap();
    for i in 0..40 {
        assert!(text.contains(&email(i)), "{i} exported");
    }
}

#[tokio::test]
async fn a_department_proposal_is_taken_through_the_campaigns_function_on_dynamodb() {
    let d = deploy().await;
    let campaigns = staff_router(&d.aws, Part::Campaigns);
    let mut culture = claims("culture-e2e", "service");
    culture["custom:department"] = json!("Culture");
    let redac = claims("redac-e2e", "redaction");
    let (status, p) = call(
        &campaigns,
        http_event(
            "POST",
            "/api/admin/proposals",
            Some(json!({
                "topics": ["culture-animations"], "title": "Marché de Noël",
                "text": "Place Thiers.", "contact": "Service culture", "wants_sms": false
            })),
            Some(culture.clone()),
        ),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    assert_eq!(p["department"], "Culture");
    let id = p["id"].as_str().unwrap().to_owned();
    // Another department's member does not see it.
    let (status, _) = call(
        &campaigns,
        http_event(
            "GET",
            &format!("/api/admin/proposals/{id}"),
            None,
            Some(claims("voirie-e2e", "service")),
        ),
    )
    .await;
    assert_eq!(status, 404);
    let (status, campaign) = call(
        &campaigns,
        http_event(
            "POST",
            "/api/admin/proposals/take",
            Some(json!({ "ids": [id] })),
            Some(redac.clone()),
        ),
    )
    .await;
    assert_eq!(status, 201, "{campaign}");
    assert_eq!(campaign["status"], "draft");
    let (_, mine) = call(
        &campaigns,
        http_event("GET", "/api/admin/proposals/mine", None, Some(culture)),
    )
    .await;
    assert_eq!(mine[0]["status"], "taken", "{mine}");
    assert_eq!(mine[0]["campaign"], campaign["id"]);
}

#[tokio::test]
async fn the_sms_spend_limit_is_read_from_sns_and_weighed_by_the_estimate() {
    use telmail_core::domain::money::Money;
    use telmail_core::domain::provider_limits::{Currency, SpendLimit};
    use telmail_core::ports::ProviderLimits;
    // GIVEN an account whose SNS monthly SMS spend limit is 250 $ (moto keeps the attribute)
    let d = deploy().await;
    d.clients
        .sns
        .set_sms_attributes()
        .attributes(telmail_aws::limits::MONTHLY_SPEND_LIMIT, "250")
        .send()
        .await
        .unwrap();
    // WHEN the AWS adapter reads the limits
    let limits = telmail_aws::limits::AwsLimits::new(d.clients.ses.clone(), d.clients.sns.clone());
    let quotas = limits
        .quotas("2026-03-04T10:00:00Z".parse().unwrap())
        .await
        .unwrap();
    // THEN the SNS limit comes in dollars; SES's GetAccount, which moto does not serve, is
    // left unknown rather than invented (its reading is tested on recorded answers in ses.rs)
    assert_eq!(
        quotas.sms_monthly_limit,
        Some(SpendLimit {
            amount: Money::from_ten_thousandths(2_500_000),
            currency: Currency::Dollar,
        })
    );
    assert_eq!(quotas.email_daily_quota, None);

    // AND the campaigns function's estimate weighs an SMS campaign against it
    let keeper = claims("agent-9", "[redaction admin]");
    add_on_paper(
        &d,
        &keeper,
        None,
        Some(&mobile(&d.tag, 9)),
        "infos-pratiques",
    )
    .await;
    let draft = json!({
        "title": "Collecte", "topics": ["infos-pratiques"],
        "sms": { "text": "Collecte des encombrants lundi." },
        "email": null, "urgent": false, "send_at": null
    });
    let (id, _) = draft_and_submit(&d, &keeper, draft).await;
    let (status, e) = call(
        &staff_router(&d.aws, Part::Campaigns),
        http_event(
            "POST",
            &format!("/api/admin/campaigns/{id}/estimate"),
            None,
            Some(keeper.clone()),
        ),
    )
    .await;
    assert_eq!(status, 200, "{e}");
    let sms = &e["outlook"]["sms"];
    assert_eq!(
        (&sms["monthly_limit"], &sms["currency"], &sms["fits_limit"]),
        (&json!(250.0), &json!("USD"), &json!(true)),
        "{e}"
    );
    assert_eq!(e["outlook"]["email"], Value::Null);
}

/// End User Messaging's voice event for a call of `campaign` to `subscriber` (the configuration
/// set's SNS destination), as `feedback` receives it.
fn voice_event(kind: &str, campaign: &str, subscriber: &str, attempt: &str) -> Value {
    let fixture = |name: &str| -> Value {
        let path = format!("{}/fixtures/aws/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let mut call = fixture("aws_eum_voice_event_no_answer.json");
    call["eventType"] = json!(kind);
    call["context"] = json!({ "campaign": campaign, "subscriber": subscriber, "attempt": attempt });
    let mut envelope = fixture("aws_sns_lambda_event_envelope.json");
    envelope["Records"][0]["Sns"]["Message"] = json!(call.to_string());
    envelope
}

#[tokio::test]
async fn an_unanswered_call_is_recorded_and_queued_again_on_the_urgent_lane_once() {
    use telmail_core::domain::reach::ReachOutcome;
    use telmail_core::ports::ReachStore;
    let d = deploy().await;
    let author = claims("agent-1", "[redaction admin]");
    let (id, _) = draft_and_submit(
        &d,
        &author,
        json!({ "title": "Submersion", "topics": ["alerte-meteo"], "urgent": true,
                "voice": { "text": "Quittez le front de mer." } }),
    )
    .await;
    let subscriber = SubscriberId::new().to_string();
    let urgent_waiting = || async {
        d.clients
            .sqs
            .get_queue_attributes()
            .queue_url(&d.urgent_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .unwrap()
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessagesDelayed))
            .map(|n| n.parse::<u64>().unwrap())
            .unwrap_or(0)
    };
    // WHEN the call is reported unanswered, the report delivered twice by SNS
    let event = voice_event("VOICE_NO_ANSWER", &id, &subscriber, "1");
    let out = feedback_event(&d.aws, event.clone()).await.unwrap();
    assert_eq!(
        (out["call_reports"].as_u64(), out["calls_again"].as_u64()),
        (Some(1), Some(1)),
        "{out}"
    );
    let again = feedback_event(&d.aws, event).await.unwrap();
    assert_eq!(again["calls_again"], 0, "{again}");
    // THEN the outcome is the delivery's report, and one call waits (five minutes) on the
    // urgent lane
    let reports = d
        .aws
        .store
        .reach_reports(CampaignId::from_str(&id).unwrap())
        .await
        .unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].outcome, ReachOutcome::NoAnswer);
    assert_eq!(reports[0].key.channel, Channel::Voice);
    assert_eq!(urgent_waiting().await, 1);
    // AND an answer ends it: recorded, nothing queued; a call's start is not even read
    let answered = feedback_event(&d.aws, voice_event("VOICE_ANSWERED", &id, &subscriber, "2"))
        .await
        .unwrap();
    assert_eq!(answered["calls_again"], 0, "{answered}");
    let ringing = feedback_event(&d.aws, voice_event("VOICE_RINGING", &id, &subscriber, "2"))
        .await
        .unwrap();
    assert_eq!(ringing["suppressed"], 0, "{ringing}");
    let reports = d
        .aws
        .store
        .reach_reports(CampaignId::from_str(&id).unwrap())
        .await
        .unwrap();
    assert_eq!(reports[0].outcome, ReachOutcome::Answered);
    assert_eq!(urgent_waiting().await, 1);
}
