//! moto, the local stand-in for AWS: the server (the one named by `TELMAIL_MOTO_URL`, or
//! one started here), an SDK configuration pointed at it, and the resources a deployment needs.

use std::net::TcpListener as StdListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{json, Map, Value};
use telmail_aws::dynamo::DynamoStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The region of every test and benchmark deployment.
pub const REGION: &str = "eu-west-3";

/// The moto server the test command started (`TELMAIL_MOTO_URL`); tests of the AWS backend
/// cannot run without one.
pub fn url_from_env() -> String {
    std::env::var("TELMAIL_MOTO_URL")
        .map(|url| url.trim_end_matches('/').to_owned())
        .expect(
            "TELMAIL_MOTO_URL is not set: run `bash scripts/test-all.sh` (it starts moto), or \
             start `moto_server -H 127.0.0.1 -p 5000` and set TELMAIL_MOTO_URL=http://127.0.0.1:5000",
        )
}

/// A moto server: the one named by `TELMAIL_MOTO_URL`, or one this process started (and stops
/// when dropped).
pub struct Moto {
    /// Base URL, e.g. `http://127.0.0.1:5000`.
    pub url: String,
    child: Option<Child>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Moto {
    /// Whether this process started the server (so the benchmark may say so).
    pub fn is_ours(&self) -> bool {
        self.child.is_some()
    }
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// Uses `TELMAIL_MOTO_URL`, or starts `moto_server` (the project's venv one, else the one on
/// PATH) on a free port and waits until it answers.
pub async fn moto() -> Moto {
    if let Ok(url) = std::env::var("TELMAIL_MOTO_URL") {
        let url = url.trim_end_matches('/').to_owned();
        wait_ready(&url).await;
        return Moto { url, child: None };
    }
    let venv = "/tmp/awsvenv/bin/moto_server";
    let program = if Path::new(venv).exists() {
        venv
    } else {
        "moto_server"
    };
    let port = free_port();
    let child = Command::new(program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start {program} ({e}); install moto[server] or set TELMAIL_MOTO_URL")
        });
    let moto = Moto {
        url: format!("http://127.0.0.1:{port}"),
        child: Some(child),
    };
    wait_ready(&moto.url).await;
    moto
}

async fn wait_ready(url: &str) {
    let deadline = crate::stopwatch() + Duration::from_secs(60);
    loop {
        if let Ok((200, _)) = http_get(&format!("{url}/moto-api/")).await {
            return;
        }
        assert!(
            crate::stopwatch() < deadline,
            "moto at {url} did not answer within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `GET url` over HTTP/1.0 (the whole body; no chunked encoding to handle).
pub async fn http_get(url: &str) -> Result<(u16, Vec<u8>), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("not an http URL: {url}"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(host)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .await
        .map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header end")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    Ok((status, raw[split + 4..].to_vec()))
}

/// An SDK configuration for moto: its endpoint, dummy credentials, eu-west-3.
pub async fn sdk_config(url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(telmail_aws::https_client())
        .region(Region::new(REGION))
        .endpoint_url(url)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .load()
        .await
}

/// A 64-character signing key (what the template's secret generates).
pub fn signing_key() -> String {
    "k".repeat(32) + &"7".repeat(32)
}

/// Creates the Secrets Manager secret holding the link-signing key; returns its name.
pub async fn create_secret(sdk: &SdkConfig, name: &str) -> String {
    aws_sdk_secretsmanager::Client::new(sdk)
        .create_secret()
        .name(name)
        .secret_string(signing_key())
        .send()
        .await
        .expect("create the signing key secret on moto");
    name.to_owned()
}

/// Verifies a sender's address or domain in SES (moto refuses unverified senders).
pub async fn create_email_identity(sdk: &SdkConfig, identity: &str) {
    aws_sdk_sesv2::Client::new(sdk)
        .create_email_identity()
        .email_identity(identity)
        .send()
        .await
        .expect("create the SES identity on moto");
}

/// Creates the staff's user pool with the template's groups (`redaction`, `cabinet`,
/// `admin`); returns its id.
pub async fn create_user_pool(sdk: &SdkConfig, name: &str) -> String {
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(sdk);
    let pool = cognito
        .create_user_pool()
        .pool_name(name)
        .send()
        .await
        .expect("create a user pool on moto")
        .user_pool
        .and_then(|p| p.id)
        .expect("moto returns the pool id");
    for group in ["redaction", "cabinet", "admin"] {
        cognito
            .create_group()
            .user_pool_id(&pool)
            .group_name(group)
            .send()
            .await
            .expect("create a group on moto");
    }
    pool
}

/// Creates a staff account in the pool with its attributes (`name`, `email`,
/// `phone_number`…) and adds it to `group`, as the deployment guide has an administrator do.
pub async fn add_staff(
    sdk: &SdkConfig,
    pool: &str,
    username: &str,
    group: &str,
    attributes: &[(&str, &str)],
) {
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(sdk);
    let mut create = cognito
        .admin_create_user()
        .user_pool_id(pool)
        .username(username);
    for (name, value) in attributes {
        create = create.user_attributes(
            aws_sdk_cognitoidentityprovider::types::AttributeType::builder()
                .name(*name)
                .value(*value)
                .build()
                .expect("an attribute with a name"),
        );
    }
    create.send().await.expect("create a staff user on moto");
    cognito
        .admin_add_user_to_group()
        .user_pool_id(pool)
        .username(username)
        .group_name(group)
        .send()
        .await
        .expect("add the user to its group on moto");
}

/// A queue's URL and ARN.
pub struct QueueRef {
    pub url: String,
    /// ARN (put in the events, as Lambda does).
    pub arn: String,
}

/// Creates a standard queue with the template's visibility timeout (6 × the consumer's
/// timeout: 720 s for `fanout`, 180 s for `delivery`).
pub async fn create_queue(sdk: &SdkConfig, name: &str, visibility_timeout: u32) -> QueueRef {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            visibility_timeout.to_string(),
        )
        .send()
        .await
        .expect("create a queue on moto")
        .queue_url()
        .expect("moto returns the queue URL")
        .to_owned();
    QueueRef {
        arn: format!("arn:aws:sqs:{REGION}:123456789012:{name}"),
        url,
    }
}

/// Creates the bucket of big files, in the template's region; gives its name.
pub async fn create_bucket(sdk: &SdkConfig, name: &str) -> String {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .expect("create a bucket on moto");
    name.to_owned()
}

/// Creates the table (with its index) through the store's own definition.
pub async fn create_table(sdk: &SdkConfig, name: &str) {
    // Creating a table reads no time: any clock serves.
    DynamoStore::new(
        aws_sdk_dynamodb::Client::new(sdk),
        name,
        std::sync::Arc::new(telmail_core::clock::SystemClock),
    )
    .create_table()
    .await
    .expect("create the table on moto");
}

/// For seeding only: sends a `TransactWriteItems` made of puts as a `BatchWriteItem` of the same
/// items (conditions dropped). moto deep-copies the whole table for every item of a transaction,
/// so seeding thousands of subscribers through transactions takes quadratic time (and fails
/// when two run at once); the items stored are the same. A transaction with anything else (a
/// campaign's transition updates its counters item) goes as it is: there are few.
#[derive(Debug, Clone, Copy)]
pub struct TransactAsBatch;

impl Intercept for TransactAsBatch {
    fn name(&self) -> &'static str {
        "TransactAsBatch"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if request.headers().get("x-amz-target") != Some("DynamoDB_20120810.TransactWriteItems") {
            return Ok(());
        }
        let body: Value = serde_json::from_slice(request.body().bytes().ok_or("streamed body")?)?;
        let items = body
            .get("TransactItems")
            .and_then(Value::as_array)
            .ok_or("no TransactItems")?;
        if !items.iter().all(|i| i.get("Put").is_some()) {
            return Ok(());
        }
        let mut tables: Map<String, Value> = Map::new();
        for item in items {
            let put = item.get("Put").ok_or("checked above")?;
            let table = put
                .get("TableName")
                .and_then(Value::as_str)
                .ok_or("no TableName")?;
            tables
                .entry(table.to_owned())
                .or_insert_with(|| json!([]))
                .as_array_mut()
                .ok_or("table list")?
                .push(json!({ "PutRequest": { "Item": put.get("Item") } }));
        }
        let batch = json!({ "RequestItems": tables }).to_string();
        request
            .headers_mut()
            .insert("x-amz-target", "DynamoDB_20120810.BatchWriteItem");
        request
            .headers_mut()
            .insert("content-length", batch.len().to_string());
        *request.body_mut() = SdkBody::from(batch);
        Ok(())
    }
}
