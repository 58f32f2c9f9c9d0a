//! Starts the whole service on one machine: store, outbox, use cases, Router, background jobs.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use telmail_core::clock::{Clock, SystemClock};
use telmail_core::config::{ServiceConfig, Settings, VoiceRetries};
use telmail_core::domain::money::Prices;
use telmail_core::domain::topic::default_topics;
use telmail_core::ports::OutboxReader;
use telmail_core::render::messages::EmailLayout;
use telmail_core::token::TokenSigner;
use telmail_core::use_cases::proposals::Proposals;
use telmail_core::use_cases::residents::Residents;
use telmail_core::use_cases::staff_auth::AccountDirectory;
use telmail_core::use_cases::statistics::Statistics;
use telmail_core::use_cases::weather::WeatherRelay;
use telmail_core::DomainError;
use telmail_http::admin::auth::StaffAuthMode;
use telmail_http::backoffice::{BackOffice, StaffSignIn};
use telmail_http::legal::LegalNotice;
use telmail_http::HttpConfig;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::Services;
use crate::cognito::CognitoTokens;
use crate::config::ServerArgs;
use crate::connections::limits::connection_cap;
use crate::connections::{self, Bounds, ConnectionLimits};
use crate::db::Db;
use crate::error::{StartupError, StopError};
use crate::files::FolderDrop;
use crate::limits::LocalLimits;
use crate::outbox::Outbox;
use crate::queue::SqliteQueue;
use crate::store::SqliteStore;
use crate::worker::{Worker, WorkerConfig};
use telmail_core::wiring::Providers;
use telmail_meteo::HttpWeatherFeed;

/// A running local server.
pub struct RunningServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The base URL used in links.
    pub public_url: String,
    /// The data folder.
    pub data_dir: PathBuf,
    /// The use cases it serves (tests drive the dispatcher directly).
    pub services: Services,
    connections: Arc<ConnectionLimits>,
    stop: watch::Sender<bool>,
    serve: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl RunningServer {
    /// Client connections open now.
    pub fn open_connections(&self) -> usize {
        self.connections.open()
    }

    /// Stops accepting requests, finishes those in flight, and stops the worker and jobs.
    pub async fn stop(self) -> Result<(), StopError> {
        let _ = self.stop.send(true);
        for task in self.background {
            task.await.map_err(StopError::Background)?;
        }
        self.serve
            .await
            .map_err(StopError::Task)?
            .map_err(StopError::Serve)
    }
}

/// Starts listening for Ctrl+C and, on Unix, SIGTERM (systemd, `docker stop`) at once, and
/// returns what resolves with the signal's name: both stop the server the same clean way. Call
/// it before saying the server is ready, so that a signal sent right after is never missed (a
/// SIGTERM before the handler is installed would kill the process outright).
pub fn shutdown_signal() -> impl std::future::Future<Output = &'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate());
        let interrupt = signal(SignalKind::interrupt());
        async move {
            match (term, interrupt) {
                (Ok(mut term), Ok(mut interrupt)) => tokio::select! {
                    _ = interrupt.recv() => "Ctrl+C",
                    _ = term.recv() => "SIGTERM",
                },
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl+C only");
                    let _ = tokio::signal::ctrl_c().await;
                    "Ctrl+C"
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl+C"
    }
}

/// Reads the signing key from settings, or from `<data-dir>/signing.key`, creating it once.
pub fn signing_key(args: &ServerArgs) -> Result<TokenSigner, StartupError> {
    if let Some(key) = &args.signing_key {
        return TokenSigner::new(key.as_bytes().to_vec())
            .map_err(|_| StartupError::SigningKeyTooShort);
    }
    let path = args.data_dir.join("signing.key");
    let hex = match std::fs::read_to_string(&path) {
        Ok(s) => s.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(&path)?,
        Err(e) => return Err(StartupError::file("read", &path)(e)),
    };
    TokenSigner::new(hex.into_bytes()).map_err(|e| StartupError::SigningKeyFile {
        path,
        reason: e.to_string(),
    })
}

fn create_key_file(path: &Path) -> Result<String, StartupError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(StartupError::file("create", path))?;
    file.write_all(hex.as_bytes())
        .map_err(StartupError::file("write", path))?;
    Ok(hex)
}

/// The service's settings from the command line; an error names the setting.
pub(crate) fn service_config(
    args: &ServerArgs,
    public_url: &str,
) -> Result<ServiceConfig, StartupError> {
    ServiceConfig::from_settings(&Settings {
        public_url,
        town: &args.town,
        prices: Prices {
            sms_segment: args.sms_price,
            email: args.email_price,
            voice_call: args.voice_call_price,
        },
        sms_window: &args.sms_window,
        fanout_shards: args.fanout_shards,
        sms_countries: args.sms_countries.as_deref(),
        code_sms_per_day: args.code_sms_per_day,
        signups_per_hour: args.signups_per_hour,
        code_sms_interval_seconds: args.code_sms_interval,
        department: Some(&args.department),
        weather_threshold: Some(&args.weather_threshold),
        weather_at_once: Some(&args.weather_at_once),
        weather_phenomena: args.weather_phenomena.as_deref(),
        weather_zones: args.weather_zones.as_deref(),
        retry_hours: args.retry_hours.as_deref(),
        email_rate: args.email_rate.as_deref(),
        sms_rate: args.sms_rate.as_deref(),
        voice_rate: args.voice_rate.as_deref(),
    })
    .and_then(|mut config| {
        config.voice_retries = VoiceRetries::parse(&args.voice_retries, &args.voice_retry_minutes)?;
        Ok(config)
    })
    .map_err(StartupError::Setting)
}

/// Opens the data folder: database, store, queue.
pub fn open_data(
    args: &ServerArgs,
    clock: Arc<dyn Clock>,
) -> Result<(Arc<SqliteStore>, SqliteQueue), StartupError> {
    crate::private::create_dir_all(&args.data_dir)
        .map_err(StartupError::file("create data folder", &args.data_dir))?;
    let db = Db::open(&args.data_dir.join("telmail.sqlite"))?;
    Ok((
        Arc::new(SqliteStore::new(db.clone(), clock.clone())),
        SqliteQueue::new(db, clock),
    ))
}

/// Starts the service; returns once it accepts requests.
pub async fn start(args: ServerArgs) -> Result<RunningServer, StartupError> {
    let listener = tokio::net::TcpListener::bind((args.bind, args.port))
        .await
        .map_err(|source| StartupError::Listen {
            address: format!("{}:{}", args.bind, args.port),
            source,
        })?;
    let addr = listener.local_addr().map_err(StartupError::Address)?;
    let bounds = connection_bounds(&args)?;
    let connections = bounds.limits.clone();
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let (services, queue) = wire_services(&args, &public_url).await?;

    let sign_in = staff_sign_in(&args, &services, &public_url).await?;
    let app = router(&args, &services, sign_in)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let background = spawn_background(&args, &services, queue, &stop_rx)?;
    let serve = tokio::spawn(connections::serve(listener, app, bounds, stop_rx));
    Ok(RunningServer {
        addr,
        public_url,
        data_dir: args.data_dir,
        services,
        connections,
        stop: stop_tx,
        serve,
        background,
    })
}

/// The connections' timeouts and caps, under the open-file limit (raised first to the hard
/// limit, so that a usual soft limit of 1,024 does not cap a server the host allows more).
fn connection_bounds(args: &ServerArgs) -> Result<Bounds, StartupError> {
    let c = &args.connections;
    let file_limit = connections::raise_file_limit()?;
    let total = connection_cap(file_limit, c.max_connections)?;
    tracing::info!(
        file_limit,
        max_connections = total,
        per_client = c.max_connections_per_client.get(),
        "connection caps"
    );
    Ok(Bounds {
        header_read: Duration::from_secs(c.header_read_timeout),
        idle: Duration::from_secs(c.idle_timeout),
        limits: ConnectionLimits::new(
            total,
            c.max_connections_per_client,
            args.trusted_proxies.clone(),
        ),
    })
}

/// How staff sign in: local accounts with sessions, or the town's Cognito user pool (its ID
/// tokens checked here, as API Gateway does on AWS).
async fn staff_sign_in(
    args: &ServerArgs,
    services: &Services,
    public_url: &str,
) -> Result<(StaffAuthMode, StaffSignIn), StartupError> {
    let c = &args.cognito;
    let Some(pool) = c.cognito_user_pool.as_deref() else {
        let mode = StaffAuthMode::LocalSessions {
            auth: services.staff_auth.clone(),
            secure_cookie: public_url.starts_with("https://"),
        };
        return Ok((mode, StaffSignIn::Session));
    };
    let client_id = c
        .cognito_client_id
        .clone()
        .ok_or(StartupError::CognitoClientMissing)?;
    let region = pool.split('_').next().unwrap_or_default();
    let endpoint = c
        .cognito_endpoint
        .clone()
        .unwrap_or_else(|| format!("https://cognito-idp.{region}.amazonaws.com/"));
    let tokens = CognitoTokens::fetch(&endpoint, pool, &client_id).await?;
    Ok((
        StaffAuthMode::BearerTokens(Arc::new(tokens)),
        StaffSignIn::Cognito {
            endpoint,
            client_id,
        },
    ))
}

/// The whole HTTP surface: resident pages and API, the back office and the staff API.
fn router(
    args: &ServerArgs,
    services: &Services,
    (mode, sign_in): (StaffAuthMode, StaffSignIn),
) -> Result<axum::Router, StartupError> {
    let legal = LegalNotice::for_town(
        &args.town,
        &format!("les serveurs de la Ville d'{}", args.town),
        "son relais de messagerie",
    )
    .with(&args.legal.settings())?;
    let http = HttpConfig {
        rate_limit_per_minute: args.rate_limit_per_minute,
        trusted_proxies: args.trusted_proxies.clone(),
        back_office: BackOffice {
            sign_in,
            outbox: offers_outbox_viewer(args),
            // Big files go through this server's own links.
            file_origin: None,
        },
        legal: Some(legal),
        frame_ancestors: telmail_http::parse_frame_ancestors(
            args.frame_ancestors.as_deref().unwrap_or_default(),
        )
        .map_err(|e| StartupError::Invalid {
            setting: "--frame-ancestors",
            reason: e.to_string(),
        })?,
        ..HttpConfig::default()
    };
    Ok(telmail_http::router_with_admin(
        services.use_cases.residents.clone(),
        services.admin_state(),
        mode,
        &http,
    )
    .merge(telmail_http::website::router(
        services.use_cases.archive.clone(),
        &http,
    ))
    .merge(telmail_http::with_security_headers(services.files.routes())))
}

/// The work beside the requests: the queue consumers (unless another process runs them), the
/// hourly purge, and the weather poll when a feed is configured.
fn spawn_background(
    args: &ServerArgs,
    services: &Services,
    queue: SqliteQueue,
    stop: &watch::Receiver<bool>,
) -> Result<Vec<JoinHandle<()>>, StartupError> {
    let mut background = if args.worker {
        // Only the providers' pace is read from the settings here.
        let rates = service_config(args, "")?.send_rates;
        Worker::new(
            queue,
            services.use_cases.jobs.clone(),
            WorkerConfig::paced(rates),
        )
        .spawn(stop.clone())
    } else {
        Vec::new()
    };
    background.push(hourly(
        services.use_cases.residents.clone(),
        services.use_cases.statistics.clone(),
        stop.clone(),
    ));
    background.push(follow_proposals(
        services.use_cases.proposals.clone(),
        stop.clone(),
    ));
    if let Some(url) = &args.weather_feed_url {
        let feed = HttpWeatherFeed::new(url, args.weather_api_key.clone())?;
        background.push(poll_weather(
            services.use_cases.weather.clone(),
            feed,
            Duration::from_secs(args.weather_every.max(1)),
            stop.clone(),
        ));
    }
    Ok(background)
}

/// Whether the outbox viewer is offered: always without a relay (messages only land in the
/// outbox), with one only when asked for (`--outbox-viewer`), as messages then really leave.
fn offers_outbox_viewer(args: &ServerArgs) -> bool {
    args.smtp_url.is_none() || args.outbox_viewer
}

/// Opens the data, builds the providers and every use case, and seeds the default topics.
pub(crate) async fn wire_services(
    args: &ServerArgs,
    public_url: &str,
) -> Result<(Services, SqliteQueue), StartupError> {
    // The one clock of the service: everything that stamps or compares time reads it.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (store, queue) = open_data(args, clock.clone())?;
    let outbox = Arc::new(Outbox::new(
        &args.data_dir,
        &args.email_from,
        &args.sms_sender,
        args.smtp_url.as_deref(),
        clock.clone(),
    )?);
    let voice = Arc::new(crate::voice_outbox::VoiceOutbox::new(
        &args.data_dir,
        crate::voice_outbox::find_espeak(),
        clock.clone(),
    )?);
    let layout = match &args.email_layout {
        Some(path) => EmailLayout::from_file(path, &args.town)?,
        None => EmailLayout::embedded(&args.town),
    };
    let files = Arc::new(FolderDrop::new(
        &args.data_dir.join("files"),
        clock.clone(),
    )?);
    let limits = Arc::new(LocalLimits::new(
        store.clone(),
        args.email_daily_quota,
        args.sms_monthly_budget,
    ));
    let services = Services::wire(
        Providers {
            directory: Arc::new(AccountDirectory(store.clone())),
            limits,
            outbox: offers_outbox_viewer(args).then(|| outbox.clone() as Arc<dyn OutboxReader>),
            store,
            email: outbox.clone(),
            sms: outbox,
            voice,
            clock,
            layout: Arc::new(layout),
            signer: signing_key(args)?,
            config: service_config(args, public_url)?,
        },
        queue.clone(),
        files,
    )?;
    let seeded = services
        .use_cases
        .residents
        .seed_topics(&default_topics())
        .await?;
    if seeded > 0 {
        tracing::info!(count = seeded, "default topics created");
    }
    Ok((services, queue))
}

/// Polls the vigilance feed every `every` and relays what it says, until `stop` changes.
fn poll_weather(
    relay: Arc<WeatherRelay>,
    feed: HttpWeatherFeed,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            match relay.poll(&feed).await {
                Ok(lines) => {
                    for line in lines.iter().filter(|l| l.acted()) {
                        tracing::info!("{}", line.describe());
                    }
                }
                // A feed failure is counted and logged by the relay; the next poll tries again.
                Err(DomainError::Unavailable(e)) => {
                    tracing::debug!(error = %e, "weather poll gave nothing")
                }
                Err(e) => tracing::error!(error = %e, "weather relay failed"),
            }
        }
    })
}

/// Every hour until `stop` changes (and once at start): deletes expired pending sign-ups and
/// keeps the month's audience for the dashboard.
/// Every minute, as the AWS schedule: proposals whose campaign was sent are marked so, and
/// their authors told.
fn follow_proposals(proposals: Arc<Proposals>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            match proposals.follow_up().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(count = n, "proposers told their proposal was sent"),
                Err(e) => tracing::warn!(error = %e, "following proposals up failed"),
            }
        }
    })
}

fn hourly(
    residents: Arc<Residents>,
    statistics: Arc<Statistics>,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            match residents.purge_expired().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(count = n, "expired pending sign-ups purged"),
                Err(e) => tracing::warn!(error = %e, "purging expired sign-ups failed"),
            }
            if let Err(e) = statistics.record_audience().await {
                tracing::warn!(error = %e, "keeping the month's audience failed");
            }
        }
    })
}
