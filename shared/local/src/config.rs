//! Local-server settings: command-line flags, each with an environment variable.

use std::net::IpAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;

use clap::Args;
use ipnet::IpNet;
use telmail_core::domain::money::Money;

/// Settings of the local server (`telmail-local --help` lists them).
#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "TELMAIL_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, env = "TELMAIL_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Folder holding the database, the signing key and the outbox.
    #[arg(long, env = "TELMAIL_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Public base URL used in links (default: http://<bind>:<port>).
    #[arg(long, env = "TELMAIL_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Town name shown in pages and messages.
    #[arg(long, env = "TELMAIL_TOWN", default_value = "Arcachon")]
    pub town: String,
    /// Sender of emails.
    #[arg(
        long,
        env = "TELMAIL_EMAIL_FROM",
        default_value = "Ville d'Arcachon <ne-pas-repondre@arcachon.example>"
    )]
    pub email_from: String,
    /// Alphanumeric SMS sender id.
    #[arg(long, env = "TELMAIL_SMS_SENDER", default_value = "ARCACHON")]
    pub sms_sender: String,
    /// Optional SMTP relay for emails (e.g. smtp://relay.mairie.local:25); the outbox keeps a copy.
    #[arg(long, env = "TELMAIL_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Offer the back office's outbox viewer (administrators, secrets masked) even with a relay:
    /// without one it is always offered; with one, messages really leave and it stays off.
    #[arg(long, env = "TELMAIL_OUTBOX_VIEWER")]
    pub outbox_viewer: bool,
    /// Email layout template replacing the embedded one (editable without recompiling).
    #[arg(long, env = "TELMAIL_EMAIL_LAYOUT")]
    pub email_layout: Option<PathBuf>,
    /// Public state-changing requests allowed per client address and minute.
    #[arg(long, env = "TELMAIL_RATE_LIMIT_PER_MINUTE", default_value = "10")]
    pub rate_limit_per_minute: NonZeroU32,
    /// Reverse proxies in front of the server (addresses or networks, comma-separated, e.g.
    /// `127.0.0.1,10.0.0.0/8`): only their `X-Forwarded-For` is believed.
    #[arg(long, env = "TELMAIL_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<IpNet>,
    /// Origins allowed to show the resident pages in a frame (the town's website, e.g.
    /// `https://www.arcachon.fr`), comma-separated; default: none.
    #[arg(long, env = "TELMAIL_FRAME_ANCESTORS")]
    pub frame_ancestors: Option<String>,
    /// Connections: timeouts and caps (what an idle or slow client may hold).
    #[command(flatten)]
    pub connections: ConnectionArgs,
    /// Secret for signing links (at least 32 characters); default: a random key kept in the data folder.
    #[arg(long, env = "TELMAIL_SIGNING_KEY", hide_env_values = true)]
    pub signing_key: Option<String>,
    /// Price of one SMS segment, € HT.
    #[arg(long, env = "TELMAIL_SMS_PRICE", default_value = "0.10")]
    pub sms_price: Money,
    /// Price of one voice call (€ HT), for estimates and costs.
    #[arg(long, env = "TELMAIL_VOICE_CALL_PRICE", default_value = "0.15")]
    pub voice_call_price: Money,
    /// Campaign calls placed again after the provider reports one unanswered, busy or failed
    /// (0 to 5). Only a voice service that reports outcomes (AWS) triggers them: the local
    /// outbox never learns whether anyone answered.
    #[arg(long, env = "TELMAIL_VOICE_RETRIES", default_value = "2")]
    pub voice_retries: String,
    /// Minutes between such a report and the call placed again (1 to 15).
    #[arg(long, env = "TELMAIL_VOICE_RETRY_MINUTES", default_value = "5")]
    pub voice_retry_minutes: String,
    /// Price of one email, € HT.
    #[arg(long, env = "TELMAIL_EMAIL_PRICE", default_value = "0.02")]
    pub email_price: Money,
    /// Hours (Europe/Paris) when non-urgent SMS may go out; never on Sundays and public holidays.
    #[arg(long, env = "TELMAIL_SMS_WINDOW", default_value = "08:00-20:00")]
    pub sms_window: String,
    /// Fan-out jobs per campaign.
    #[arg(long, env = "TELMAIL_FANOUT_SHARDS", default_value_t = 8)]
    pub fanout_shards: u32,
    /// Country calling codes whose mobile numbers may sign up (default: France, metropolitan
    /// and overseas).
    #[arg(long, env = "TELMAIL_SMS_COUNTRIES")]
    pub sms_countries: Option<String>,
    /// Code SMS the public sign-up may send in a day, for the whole service (default 200).
    #[arg(long, env = "TELMAIL_CODE_SMS_PER_DAY")]
    pub code_sms_per_day: Option<u32>,
    /// Sign-ups one client address may make in an hour (default 30; a town hall's shared
    /// connection may need more).
    #[arg(long, env = "TELMAIL_SIGNUPS_PER_HOUR")]
    pub signups_per_hour: Option<u32>,
    /// Seconds before a number may be sent another sign-up code (default 300; 0: no wait).
    #[arg(long, env = "TELMAIL_CODE_SMS_INTERVAL")]
    pub code_sms_interval: Option<u32>,
    /// The department whose Météo-France vigilance is relayed (its coastal sub-domain too).
    #[arg(long, env = "TELMAIL_DEPARTMENT", default_value = "33")]
    pub department: String,
    /// The lowest vigilance colour relayed: jaune, orange, rouge.
    #[arg(long, env = "TELMAIL_WEATHER_THRESHOLD", default_value = "orange")]
    pub weather_threshold: String,
    /// From this colour up, alerts are sent at once (below: submitted to the cabinet); `aucune`:
    /// every alert is submitted.
    #[arg(long, env = "TELMAIL_WEATHER_AT_ONCE", default_value = "rouge")]
    pub weather_at_once: String,
    /// The phenomena relayed, comma-separated, by French name or number (default: all but
    /// avalanches).
    #[arg(long, env = "TELMAIL_WEATHER_PHENOMENA")]
    pub weather_phenomena: Option<String>,
    /// Phenomena whose alerts go only to some zones of the town, e.g.
    /// `vagues-submersion=front-de-mer,crues=front-de-mer+aiguillon` (zone identifiers joined
    /// by `+`); residents who named no zone get them too. Default: every alert to the whole topic.
    #[arg(long, env = "TELMAIL_WEATHER_ZONES")]
    pub weather_zones: Option<String>,
    /// Hours a failing send is tried again before it is marked failed (default 6; a provider
    /// asking to wait does not count).
    #[arg(long, env = "TELMAIL_RETRY_HOURS")]
    pub retry_hours: Option<String>,
    /// Emails per second handed to the provider (the SMTP relay), shared by every sender of
    /// this data folder (default: as fast as it answers).
    #[arg(long, env = "TELMAIL_EMAIL_RATE")]
    pub email_rate: Option<String>,
    /// SMS per second handed to the provider, shared by every sender (default: as fast as it
    /// answers).
    #[arg(long, env = "TELMAIL_SMS_RATE")]
    pub sms_rate: Option<String>,
    /// Calls placed per second, shared by every sender (`2`, `0,5`; default: as fast as the
    /// voice service answers).
    #[arg(long, env = "TELMAIL_VOICE_RATE")]
    pub voice_rate: Option<String>,
    /// Emails the provider (the SMTP relay) accepts in any 24 hours: approval refuses a
    /// campaign whose emails exceed what is left (default: no limit).
    #[arg(long, env = "TELMAIL_EMAIL_DAILY_QUOTA")]
    pub email_daily_quota: Option<u64>,
    /// The most a month's SMS may cost, € HT at `--sms-price`: approval refuses a campaign
    /// whose SMS exceed what is left (default: no limit).
    #[arg(long, env = "TELMAIL_SMS_MONTHLY_BUDGET")]
    pub sms_monthly_budget: Option<Money>,
    /// Météo-France's `cartevigilance/encours` URL: when set, the server polls it and relays.
    #[arg(long, env = "TELMAIL_WEATHER_FEED_URL")]
    pub weather_feed_url: Option<String>,
    /// The Météo-France portal's API key for the feed.
    #[arg(long, env = "TELMAIL_WEATHER_API_KEY", hide_env_values = true)]
    pub weather_api_key: Option<String>,
    /// Seconds between two polls of the feed.
    #[arg(long, env = "TELMAIL_WEATHER_EVERY", default_value_t = 300)]
    pub weather_every: u64,
    /// What the legal pages say.
    #[command(flatten)]
    pub legal: LegalArgs,
    /// Staff sign in with the town's Cognito user pool instead of local accounts.
    #[command(flatten)]
    pub cognito: CognitoArgs,
    /// Run the fan-out and delivery consumers in this process (false: another process runs them).
    #[arg(long, env = "TELMAIL_WORKER", default_value_t = true, action = clap::ArgAction::Set)]
    pub worker: bool,
}

/// How long a connection may stay idle or slow, and how many may be open at once.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionArgs {
    /// Seconds a client has to send a request's headers, counted from the connection's opening
    /// or, on a kept-alive connection, from the end of the previous response (1 to 86,400).
    #[arg(
        long,
        env = "TELMAIL_HEADER_READ_TIMEOUT",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub header_read_timeout: u64,
    /// Seconds a connection may go without a byte moving either way while no request on it is
    /// being worked on (a stalled request body, a response the client stops reading; 1 to
    /// 86,400).
    #[arg(
        long,
        env = "TELMAIL_IDLE_TIMEOUT",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    pub idle_timeout: u64,
    /// Connections open at once, all clients together (default: what the open-file limit leaves
    /// once the database, outbox and relay have theirs).
    #[arg(long, env = "TELMAIL_MAX_CONNECTIONS")]
    pub max_connections: Option<NonZeroUsize>,
    /// Connections one client may hold open at once (an IPv6 client counts by its /64; trusted
    /// proxies are not capped).
    #[arg(long, env = "TELMAIL_MAX_CONNECTIONS_PER_CLIENT", default_value = "64")]
    pub max_connections_per_client: NonZeroUsize,
}

impl Default for ConnectionArgs {
    fn default() -> Self {
        Self {
            header_read_timeout: 10,
            idle_timeout: 30,
            max_connections: None,
            max_connections_per_client: NonZeroUsize::new(64).expect("non-zero"),
        }
    }
}

/// The town's Cognito user pool, when staff sign in with it rather than with local accounts
/// (the back office signs in from the page; the server checks each ID token).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CognitoArgs {
    /// The user pool id (`eu-west-3_…`); setting it turns local accounts off.
    #[arg(long, env = "TELMAIL_COGNITO_USER_POOL")]
    pub cognito_user_pool: Option<String>,
    /// The pool's app client without secret (the one the SAM template creates).
    #[arg(long, env = "TELMAIL_COGNITO_CLIENT_ID")]
    pub cognito_client_id: Option<String>,
    /// Cognito's endpoint (default `https://cognito-idp.<region>.amazonaws.com/`).
    #[arg(long, env = "TELMAIL_COGNITO_ENDPOINT")]
    pub cognito_endpoint: Option<String>,
}

/// What only the town knows for its legal pages (*Données personnelles*, *Accessibilité*,
/// *Mentions légales*).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LegalArgs {
    /// Where residents write about their data and about accessibility.
    #[arg(long, env = "TELMAIL_LEGAL_CONTACT")]
    pub legal_contact: Option<String>,
    /// The data protection officer's address.
    #[arg(long, env = "TELMAIL_LEGAL_DPO")]
    pub legal_dpo: Option<String>,
    /// The director of publication (default: the mayor).
    #[arg(long, env = "TELMAIL_LEGAL_PUBLISHER")]
    pub legal_publisher: Option<String>,
    /// The town as data controller, with its address.
    #[arg(long, env = "TELMAIL_LEGAL_CONTROLLER")]
    pub legal_controller: Option<String>,
    /// The host of this server, with its address.
    #[arg(long, env = "TELMAIL_LEGAL_HOST")]
    pub legal_host: Option<String>,
    /// RGAA status: non conforme, partiellement conforme, totalement conforme.
    #[arg(long, env = "TELMAIL_ACCESSIBILITY_STATUS")]
    pub accessibility_status: Option<String>,
    /// When the accessibility statement was made.
    #[arg(long, env = "TELMAIL_ACCESSIBILITY_DATE")]
    pub accessibility_date: Option<String>,
    /// The accessibility audit behind the statement.
    #[arg(long, env = "TELMAIL_ACCESSIBILITY_AUDIT")]
    pub accessibility_audit: Option<String>,
}

impl LegalArgs {
    /// As the HTTP surface takes them.
    pub fn settings(&self) -> telmail_http::legal::LegalSettings<'_> {
        telmail_http::legal::LegalSettings {
            contact: self.legal_contact.as_deref(),
            dpo: self.legal_dpo.as_deref(),
            publisher: self.legal_publisher.as_deref(),
            controller: self.legal_controller.as_deref(),
            host: self.legal_host.as_deref(),
            accessibility_status: self.accessibility_status.as_deref(),
            accessibility_date: self.accessibility_date.as_deref(),
            accessibility_audit: self.accessibility_audit.as_deref(),
        }
    }
}

impl ServerArgs {
    /// Defaults with a given data folder, listening on a free port.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            port: 0,
            bind: IpAddr::from([127, 0, 0, 1]),
            data_dir: data_dir.into(),
            public_url: None,
            town: "Arcachon".into(),
            email_from: "Ville d'Arcachon <ne-pas-repondre@arcachon.example>".into(),
            sms_sender: "ARCACHON".into(),
            smtp_url: None,
            outbox_viewer: false,
            email_layout: None,
            rate_limit_per_minute: NonZeroU32::new(10).expect("non-zero"),
            trusted_proxies: Vec::new(),
            frame_ancestors: None,
            connections: ConnectionArgs::default(),
            signing_key: None,
            sms_price: "0.10".parse().expect("valid price"),
            voice_call_price: "0.15".parse().expect("valid price"),
            voice_retries: "2".into(),
            voice_retry_minutes: "5".into(),
            email_price: "0.02".parse().expect("valid price"),
            sms_window: "08:00-20:00".into(),
            fanout_shards: 8,
            sms_countries: None,
            code_sms_per_day: None,
            signups_per_hour: None,
            code_sms_interval: None,
            department: "33".into(),
            weather_threshold: "orange".into(),
            weather_at_once: "rouge".into(),
            weather_phenomena: None,
            weather_zones: None,
            retry_hours: None,
            email_rate: None,
            sms_rate: None,
            voice_rate: None,
            email_daily_quota: None,
            sms_monthly_budget: None,
            weather_feed_url: None,
            weather_api_key: None,
            weather_every: 300,
            legal: LegalArgs::default(),
            cognito: CognitoArgs::default(),
            worker: true,
        }
    }
}

/// A proxy address (`10.0.0.2`) or network (`10.0.0.0/8`).
fn parse_proxy(text: &str) -> Result<IpNet, NotAProxy> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| NotAProxy(text.to_owned()))
}

/// A trusted proxy that is neither an address nor a network.
#[derive(Debug, thiserror::Error)]
#[error("« {0} » is neither an IP address nor a network (10.0.0.0/8)")]
pub struct NotAProxy(String);
