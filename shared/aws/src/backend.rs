//! The service on AWS: settings read once from the environment, SDK clients built once, the
//! use cases wired over DynamoDB, SQS, SES and SNS.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::SharedCredentialsProvider;
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use telmail_core::clock::{Clock, SystemClock};
use telmail_core::config::{ServiceConfig, Settings, VoiceRetries};
use telmail_core::domain::money::{Money, Prices};
use telmail_core::ports::VoiceSender;
use telmail_core::render::messages::EmailLayout;
use telmail_core::token::TokenSigner;
use telmail_core::wiring::{Providers, UseCases};
use telmail_http::backoffice::{BackOffice, StaffSignIn};
use telmail_http::legal::{LegalNotice, LegalSettings};
use telmail_http::HttpConfig;
use tracing_subscriber::filter::Targets;

use crate::dynamo::DynamoStore;
use crate::env;
use crate::error::StartupError;
use crate::limits::AwsLimits;
use crate::ses::SesEmailSender;
use crate::sns::SnsSmsSender;
use crate::sqs::SqsQueue;

/// Everything a function needs, built once per cold start.
#[derive(Clone)]
pub struct Aws {
    pub use_cases: UseCases,
    /// The store (scheduled jobs and feedback use it directly).
    pub store: Arc<DynamoStore>,
    /// The queues (consumers re-enqueue retries).
    pub queue: Arc<SqsQueue>,
    /// The SMS sender (opt-out list).
    pub sms: Arc<SnsSmsSender>,
    /// Secrets Manager (the weather feed's key, read at a cold start and when refused).
    pub secrets: aws_sdk_secretsmanager::Client,
    /// HTTP settings.
    pub http: HttpConfig,
    /// The service's time (the schedule's tick and feedback read it).
    pub clock: Arc<dyn Clock>,
    /// How unanswered, busy or failed campaign calls are placed again (feedback queues them).
    pub voice_retries: VoiceRetries,
}

/// What a function is configured with: `TELMAIL_*` environment variables on Lambda, set
/// directly by tests and benchmarks.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// DynamoDB table.
    pub table: String,
    /// Queue of fan-out jobs (one per campaign shard) and big-file steps.
    pub fanout_queue_url: String,
    /// S3 bucket of big files (exports, imports).
    pub files_bucket: String,
    /// Queue of delivery jobs (batches of messages to send).
    pub delivery_queue_url: String,
    /// Queue of urgent campaigns' delivery jobs (their own lane to the sender).
    pub urgent_queue_url: String,
    /// The dead-letter queues (their depth is shown to staff).
    pub dead_letter_queue_urls: Vec<String>,
    /// Secrets Manager secret (name or ARN) holding the link-signing key; only the functions
    /// that make or check links (`subscribe`, `send`) are given it.
    pub signing_key_secret: Option<String>,
    /// Email sender, `Name <address>`.
    pub email_from: String,
    /// SES configuration set (bounce and complaint events).
    pub ses_configuration_set: Option<String>,
    /// Pace emails at the account's maximum send rate, read from SES at start-up
    /// (`TELMAIL_EMAIL_RATE=account`).
    pub email_rate_of_account: bool,
    /// SMS SenderID.
    pub sms_sender: String,
    /// SNS SMSType.
    pub sms_type: String,
    /// Town name.
    pub town: String,
    /// The staff's Cognito user pool (its groups are the roles).
    pub user_pool_id: String,
    /// Service settings (links, prices, window, shards).
    pub service: ServiceConfig,
    /// HTTP settings.
    pub http: HttpConfig,
}

impl AwsSettings {
    /// Reads the environment; an error names the variable at fault.
    pub fn from_env() -> Result<Self, StartupError> {
        let town = env::or_default("TELMAIL_TOWN", "Arcachon");
        let service = service_from_env(&town)?;
        let files_bucket = env::required("TELMAIL_FILES_BUCKET")?;
        let http = http_from_env(&town, &files_bucket)?;
        Ok(Self {
            table: env::required("TELMAIL_TABLE")?,
            fanout_queue_url: env::required("TELMAIL_FANOUT_QUEUE_URL")?,
            files_bucket,
            delivery_queue_url: env::required("TELMAIL_DELIVERY_QUEUE_URL")?,
            urgent_queue_url: env::required("TELMAIL_URGENT_QUEUE_URL")?,
            user_pool_id: env::required("TELMAIL_USER_POOL_ID")?,
            dead_letter_queue_urls: env::required("TELMAIL_DEAD_LETTER_QUEUE_URLS")?
                .split(',')
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .map(str::to_owned)
                .collect(),
            signing_key_secret: env::optional("TELMAIL_SIGNING_KEY_SECRET"),
            email_from: env::required("TELMAIL_EMAIL_FROM")?,
            ses_configuration_set: env::optional("TELMAIL_SES_CONFIGURATION_SET"),
            email_rate_of_account: env::optional("TELMAIL_EMAIL_RATE").as_deref()
                == Some(ACCOUNT_RATE),
            sms_sender: env::or_default("TELMAIL_SMS_SENDER", "ARCACHON"),
            sms_type: env::or_default("TELMAIL_SMS_TYPE", "Transactional"),
            service,
            http,
            town,
        })
    }
}

/// The service settings (links, prices, window, shards, weather, rates) from `TELMAIL_*`.
fn service_from_env(town: &str) -> Result<ServiceConfig, StartupError> {
    let public_url = env::required("TELMAIL_PUBLIC_URL")?;
    let mut service = ServiceConfig::from_settings(&Settings {
        public_url: &public_url,
        town,
        prices: Prices {
            sms_segment: env::parsed::<Money>("TELMAIL_SMS_PRICE", "0.10")?,
            email: env::parsed::<Money>("TELMAIL_EMAIL_PRICE", "0.02")?,
            voice_call: env::parsed::<Money>("TELMAIL_VOICE_CALL_PRICE", "0.15")?,
        },
        sms_window: &env::or_default("TELMAIL_SMS_WINDOW", "08:00-20:00"),
        fanout_shards: env::parsed("TELMAIL_FANOUT_SHARDS", "8")?,
        sms_countries: env::optional("TELMAIL_SMS_COUNTRIES").as_deref(),
        code_sms_per_day: env::optional_parsed("TELMAIL_CODE_SMS_PER_DAY", "a whole number")?,
        signups_per_hour: env::optional_parsed("TELMAIL_SIGNUPS_PER_HOUR", "a whole number")?,
        department: env::optional("TELMAIL_DEPARTMENT").as_deref(),
        weather_threshold: env::optional("TELMAIL_WEATHER_THRESHOLD").as_deref(),
        weather_at_once: env::optional("TELMAIL_WEATHER_AT_ONCE").as_deref(),
        weather_phenomena: env::optional("TELMAIL_WEATHER_PHENOMENA").as_deref(),
        weather_zones: env::optional("TELMAIL_WEATHER_ZONES").as_deref(),
        retry_hours: env::optional("TELMAIL_RETRY_HOURS").as_deref(),
        email_rate: env::optional("TELMAIL_EMAIL_RATE")
            .filter(|r| r != ACCOUNT_RATE)
            .as_deref(),
        sms_rate: env::optional("TELMAIL_SMS_RATE").as_deref(),
        voice_rate: env::optional("TELMAIL_VOICE_RATE").as_deref(),
        code_sms_interval_seconds: env::optional_parsed(
            "TELMAIL_CODE_SMS_INTERVAL",
            "a number of seconds",
        )?,
    })
    .map_err(StartupError::Service)?;
    // The longest function that sends (fan-out, 120 s; `send` has 30 s) and a minute.
    service.claim_expiry = chrono::Duration::minutes(3);
    service.voice_retries = VoiceRetries::parse(
        &env::or_default("TELMAIL_VOICE_RETRIES", "2"),
        &env::or_default("TELMAIL_VOICE_RETRY_MINUTES", "5"),
    )
    .map_err(StartupError::Service)?;
    Ok(service)
}

/// The HTTP settings: rate limit, Cognito sign-in, legal pages, framing; big imports go
/// straight to `files_bucket` (a presigned link).
fn http_from_env(town: &str, files_bucket: &str) -> Result<HttpConfig, StartupError> {
    let file_origin = format!(
        "https://{files_bucket}.s3.{}.amazonaws.com",
        env::required("AWS_REGION")?
    );
    Ok(HttpConfig {
        rate_limit_per_minute: env::parsed::<NonZeroU32>("TELMAIL_RATE_LIMIT_PER_MINUTE", "10")?,
        back_office: BackOffice {
            sign_in: cognito_sign_in()?,
            outbox: false,
            file_origin: Some(file_origin),
        },
        legal: Some(legal_notice(town)?),
        frame_ancestors: telmail_http::parse_frame_ancestors(&env::or_default(
            "TELMAIL_FRAME_ANCESTORS",
            "",
        ))
        .map_err(|e| StartupError::Invalid {
            name: "TELMAIL_FRAME_ANCESTORS".to_owned(),
            reason: e.to_string(),
        })?,
        ..HttpConfig::default()
    })
}

/// Staff sign in from the back office's pages with the user pool's app client (no secret).
fn cognito_sign_in() -> Result<StaffSignIn, StartupError> {
    let region = env::required("AWS_REGION")?;
    Ok(StaffSignIn::Cognito {
        endpoint: env::optional("TELMAIL_COGNITO_ENDPOINT")
            .unwrap_or_else(|| format!("https://cognito-idp.{region}.amazonaws.com/")),
        client_id: env::required("TELMAIL_COGNITO_CLIENT_ID")?,
    })
}

/// The legal pages: AWS as host and sender, and what the town set (`TELMAIL_LEGAL_*`,
/// `TELMAIL_ACCESSIBILITY_*`).
fn legal_notice(town: &str) -> Result<LegalNotice, StartupError> {
    let var = |name: &str| env::optional(name);
    let (contact, dpo, publisher, controller, host) = (
        var("TELMAIL_LEGAL_CONTACT"),
        var("TELMAIL_LEGAL_DPO"),
        var("TELMAIL_LEGAL_PUBLISHER"),
        var("TELMAIL_LEGAL_CONTROLLER"),
        var("TELMAIL_LEGAL_HOST"),
    );
    let (status, date, audit) = (
        var("TELMAIL_ACCESSIBILITY_STATUS"),
        var("TELMAIL_ACCESSIBILITY_DATE"),
        var("TELMAIL_ACCESSIBILITY_AUDIT"),
    );
    LegalNotice::for_town(
        town,
        "Amazon Web Services EMEA SARL, 38 avenue John F. Kennedy, L-1855 Luxembourg ; données hébergées dans la région AWS de Paris",
        "Amazon Web Services (e-mails par Amazon SES, SMS par Amazon SNS)",
    )
    .with(&LegalSettings {
        contact: contact.as_deref(),
        dpo: dpo.as_deref(),
        publisher: publisher.as_deref(),
        controller: controller.as_deref(),
        host: host.as_deref(),
        accessibility_status: status.as_deref(),
        accessibility_date: date.as_deref(),
        accessibility_audit: audit.as_deref(),
    })
    .map_err(StartupError::from)
}

/// SDK clients, one per service, from one SDK configuration.
#[derive(Clone)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    /// SES v2.
    pub ses: aws_sdk_sesv2::Client,
    pub sns: aws_sdk_sns::Client,
    /// Secrets Manager.
    pub secrets: aws_sdk_secretsmanager::Client,
    /// Cognito user pools (the staff directory), in the functions that tell staff something.
    #[cfg(feature = "directory")]
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    /// S3 (big files), in the functions that handle them.
    #[cfg(feature = "files")]
    pub s3: aws_sdk_s3::Client,
}

/// Longest wait for one answer of SES or SNS: past it the send's outcome is unknown, and the
/// function still has time to record it (its timeout is 10 s).
pub const PROVIDER_CALL_TIMEOUT: Duration = Duration::from_secs(4);

impl Clients {
    /// Builds every client from one configuration (region, credentials, endpoint). SES and SNS
    /// answer within [`PROVIDER_CALL_TIMEOUT`]; SNS is never retried by the SDK itself: a
    /// timed-out Publish may have sent the SMS, and the sender decides (no second SMS).
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        let timeouts = TimeoutConfig::builder()
            .operation_attempt_timeout(PROVIDER_CALL_TIMEOUT)
            .build();
        let ses = aws_sdk_sesv2::config::Builder::from(sdk)
            .timeout_config(timeouts.clone())
            .build();
        let sns = aws_sdk_sns::config::Builder::from(sdk)
            .timeout_config(timeouts)
            .retry_config(RetryConfig::disabled())
            .build();
        Self {
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            ses: aws_sdk_sesv2::Client::from_conf(ses),
            sns: aws_sdk_sns::Client::from_conf(sns),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            #[cfg(feature = "directory")]
            cognito: aws_sdk_cognitoidentityprovider::Client::new(sdk),
            #[cfg(feature = "files")]
            s3: crate::s3::client(sdk),
        }
    }
}

/// `TELMAIL_EMAIL_RATE`'s value asking for the account's own maximum send rate.
pub const ACCOUNT_RATE: &str = "account";

/// The rate used when SES does not say the account's (SES's usual production start).
const EMAIL_RATE_UNKNOWN: f64 = 14.0;

/// The account's maximum SES send rate; SES's usual production rate, with an error logged,
/// when it cannot be read (throttling beyond it is waited out, never a failure).
async fn email_rate_of_account(ses: &aws_sdk_sesv2::Client) -> f64 {
    match crate::ses::max_send_rate(ses).await {
        Ok(rate) => {
            tracing::info!(rate, "emails paced at the account's SES send rate");
            rate
        }
        Err(e) => {
            tracing::error!(error = %e, fallback = EMAIL_RATE_UNKNOWN, "cannot read the account's SES send rate");
            EMAIL_RATE_UNKNOWN
        }
    }
}

/// The one HTTPS client of every SDK client (and of the credential providers): rustls with
/// ring, the system's root certificates.
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// The SDK configuration of a function on Lambda: the region and the role's credentials that
/// Lambda puts in the environment (`AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), and `AWS_ENDPOINT_URL` when set (a local stand-in). Not the SDK's
/// default chain: its profile files, SSO, web identity through STS and instance metadata are
/// never used on Lambda, and linking them made every function's zip about 0.2 MiB larger. The
/// clients' own defaults (standard retries, timeouts, the credentials cache) still apply.
pub fn sdk_config_of_lambda() -> Result<SdkConfig, StartupError> {
    let mut sdk = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(env::required("AWS_REGION")?))
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .http_client(https_client());
    if let Some(url) = env::optional("AWS_ENDPOINT_URL") {
        sdk = sdk.endpoint_url(url);
    }
    Ok(sdk.build())
}

/// How a function's calls go out.
pub enum Calls {
    /// Refused for good ([`crate::voice::NoVoiceService`]): no voice service here.
    Refused,
    /// Placed by this voice sender (`send`: End User Messaging).
    Placed(Arc<dyn VoiceSender>),
    /// Queued on the urgent lane for `send` to place ([`crate::voice::QueuedCalls`]).
    Queued,
}

impl Aws {
    /// The Lambda start-up: reads the environment (`TELMAIL_*`, and the SDK's own `AWS_*`),
    /// builds the clients, fetches the signing key.
    pub async fn from_env() -> Result<Self, StartupError> {
        let settings = AwsSettings::from_env()?;
        let sdk = sdk_config_of_lambda()?;
        Self::new(Clients::new(&sdk), settings, Arc::new(SystemClock)).await
    }

    /// The `send` function's start-up: as [`Aws::from_env`], and calls are placed with End
    /// User Messaging SMS and Voice v2 from `TELMAIL_VOICE_ORIGINATION` (without it, every call
    /// is refused as by [`crate::voice::NoVoiceService`]).
    #[cfg(feature = "voice")]
    pub async fn from_env_placing_calls() -> Result<Self, StartupError> {
        let settings = AwsSettings::from_env()?;
        let sdk = sdk_config_of_lambda()?;
        let voice = match crate::voice::VoiceSettings::from_env() {
            Some(v) => Calls::Placed(Arc::new(crate::voice::EndUserMessagingVoice::new(
                crate::voice::voice_client(&sdk),
                v,
            )?)),
            None => {
                tracing::warn!("TELMAIL_VOICE_ORIGINATION is empty: campaign calls are refused (no voice service)");
                Calls::Refused
            }
        };
        Self::with_voice(Clients::new(&sdk), settings, Arc::new(SystemClock), voice).await
    }

    /// The `subscribe` function's start-up: as [`Aws::from_env`], and a sign-up code read to a
    /// landline is handed to `send` through the urgent queue ([`crate::voice::QueuedCalls`]),
    /// without the voice SDK in this binary; refused at once when the deployment has no voice
    /// service (`TELMAIL_VOICE_ORIGINATION` empty), so the form says so.
    pub async fn from_env_queueing_calls() -> Result<Self, StartupError> {
        let settings = AwsSettings::from_env()?;
        let sdk = sdk_config_of_lambda()?;
        let calls = match crate::voice::VoiceSettings::from_env() {
            Some(_) => Calls::Queued,
            None => Calls::Refused,
        };
        Self::with_voice(Clients::new(&sdk), settings, Arc::new(SystemClock), calls).await
    }

    /// Wires the service over these clients, on `clock` (the one time everything stamps and
    /// compares with); reads the signing key from Secrets Manager (and, when asked, the
    /// account's SES send rate).
    pub async fn new(
        clients: Clients,
        s: AwsSettings,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        Self::with_voice(clients, s, clock, Calls::Refused).await
    }

    /// As [`Aws::new`], calls placed, queued or refused as `calls` says.
    pub async fn with_voice(
        clients: Clients,
        mut s: AwsSettings,
        clock: Arc<dyn Clock>,
        calls: Calls,
    ) -> Result<Self, StartupError> {
        let signer = signer_of(&clients, &s).await?;
        s.service.send_rates.email = email_rate(&clients, &s).await;
        let secrets = clients.secrets.clone();
        let files = crate::file_drop::file_drop(&clients, &s.files_bucket);
        let directory = crate::staff_directory::staff_directory(&clients, s.user_pool_id);
        let voice_retries = s.service.voice_retries;
        let store = Arc::new(DynamoStore::new(clients.dynamodb, s.table, clock.clone()));
        let queue = Arc::new(
            SqsQueue::new(
                clients.sqs,
                s.fanout_queue_url,
                s.delivery_queue_url,
                s.urgent_queue_url,
            )
            .with_dead_letters(s.dead_letter_queue_urls),
        );
        let voice = calls.sender(&queue, &clock);
        let limits = Arc::new(AwsLimits::new(clients.ses.clone(), clients.sns.clone()));
        let email = Arc::new(SesEmailSender::new(
            clients.ses,
            &s.email_from,
            s.ses_configuration_set,
            clock.clone(),
        )?);
        let sms = Arc::new(SnsSmsSender::new(clients.sns, &s.sms_sender, &s.sms_type)?);
        let use_cases = UseCases::wire(
            Providers {
                store: store.clone(),
                directory,
                outbox: None,
                limits,
                email,
                sms: sms.clone(),
                voice,
                clock: clock.clone(),
                layout: Arc::new(EmailLayout::embedded(&s.town)),
                signer,
                config: s.service,
            },
            queue.clone(),
            files,
        );
        Ok(Self {
            use_cases,
            store,
            queue,
            sms,
            secrets,
            http: s.http,
            clock,
            voice_retries,
        })
    }
}

/// The signer of links: the town's key from Secrets Manager where the function makes or checks
/// links, else a key of its own.
async fn signer_of(clients: &Clients, s: &AwsSettings) -> Result<TokenSigner, StartupError> {
    match &s.signing_key_secret {
        Some(id) => signing_key(&clients.secrets, id).await,
        None => Ok(unshared_signer()),
    }
}

/// The email rate the senders share: the account's own when asked (`EmailRate=account`),
/// else the setting's.
async fn email_rate(clients: &Clients, s: &AwsSettings) -> Option<f64> {
    if s.email_rate_of_account {
        Some(email_rate_of_account(&clients.ses).await)
    } else {
        s.service.send_rates.email
    }
}

impl Calls {
    /// What places this function's calls (queued calls go to `queue`'s urgent lane).
    fn sender(self, queue: &Arc<SqsQueue>, clock: &Arc<dyn Clock>) -> Arc<dyn VoiceSender> {
        match self {
            Calls::Refused => Arc::new(crate::voice::NoVoiceService),
            Calls::Placed(voice) => voice,
            Calls::Queued => Arc::new(crate::voice::QueuedCalls::new(queue.clone(), clock.clone())),
        }
    }
}

/// The link-signing key, from a Secrets Manager secret.
/// The signer of a function that makes and checks no link (only `subscribe` and `send` do): a
/// key of its own, drawn at start, so the function needs no access to the town's signing key. A
/// link it made by mistake would be refused where links are checked ("lien invalide"), never
/// accepted.
fn unshared_signer() -> TokenSigner {
    let mut key = vec![0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut key);
    TokenSigner::new(key).expect("a 32-byte key")
}

async fn signing_key(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
) -> Result<TokenSigner, StartupError> {
    let key = read_secret(client, id, "signing key").await?;
    TokenSigner::new(key.into_bytes()).map_err(|_| StartupError::SigningKeyTooShort)
}

/// A secret's text from Secrets Manager (read at a cold start, the weather key again when the
/// feed refuses it); `what` names it in errors.
pub async fn read_secret(
    client: &aws_sdk_secretsmanager::Client,
    id: &str,
    what: &'static str,
) -> Result<String, StartupError> {
    let secret = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| StartupError::SecretUnreadable {
            what,
            reason: aws_smithy_types::error::display::DisplayErrorContext(&e).to_string(),
        })?;
    secret
        .secret_string()
        .map(str::to_owned)
        .ok_or(StartupError::SecretNotText { what })
}

/// Logs for CloudWatch: no colours, no timestamps (CloudWatch adds them), levels from `RUST_LOG`
/// (`info` by default, or `warn,telmail_aws=debug`: a level per target, no span or field
/// filters, whose regular expressions would weigh on every function's zip). A `RUST_LOG` that
/// does not parse is said in the log, and `info` applies. Personal data is never logged.
pub fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let setting = std::env::var("RUST_LOG").ok();
    let (filter, refused) = log_filter(setting.as_deref());
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().without_time())
        .with(filter)
        .init();
    if let Some(reason) = refused {
        tracing::warn!(%reason, "RUST_LOG does not parse: logging at info");
    }
}

/// The log levels `RUST_LOG` asks for, and why it was refused when it does not parse.
fn log_filter(setting: Option<&str>) -> (Targets, Option<String>) {
    let info = || Targets::new().with_default(tracing::Level::INFO);
    match setting.map(str::trim).filter(|s| !s.is_empty()) {
        None => (info(), None),
        Some(directives) => match directives.parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(e) => (info(), Some(e.to_string())),
        },
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;

    use super::log_filter;

    #[test]
    fn logs_at_info_unless_rust_log_says_otherwise() {
        let (filter, refused) = log_filter(None);
        assert!(filter.would_enable("telmail_aws", &Level::INFO));
        assert!(!filter.would_enable("telmail_aws", &Level::DEBUG));
        assert_eq!(refused, None);
        assert!(log_filter(Some("  ")).0.would_enable("hyper", &Level::INFO));
    }

    #[test]
    fn rust_log_sets_a_level_per_target() {
        let (filter, refused) = log_filter(Some("warn,telmail_aws=debug"));
        assert_eq!(refused, None);
        assert!(filter.would_enable("telmail_aws::sqs", &Level::DEBUG));
        assert!(!filter.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(filter.would_enable("aws_smithy_runtime", &Level::WARN));
    }

    #[test]
    fn a_rust_log_that_does_not_parse_is_said_and_info_applies() {
        let (filter, refused) = log_filter(Some("telmail_aws=loud"));
        assert!(refused.is_some());
        assert!(filter.would_enable("telmail_aws", &Level::INFO));
        assert!(!filter.would_enable("telmail_aws", &Level::DEBUG));
    }
}
