//! Starts the whole service on one machine: store, outbox, use cases, Router, background jobs.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;
use telmail_core::clock::SystemClock;
use telmail_core::config::ServiceConfig;
use telmail_core::messages::EmailLayout;
use telmail_core::residents::{ResidentDeps, Residents};
use telmail_core::token::TokenSigner;
use telmail_core::topic::default_topics;
use telmail_http::HttpConfig;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::ServerArgs;
use crate::db::Db;
use crate::outbox::Outbox;
use crate::store::SqliteStore;

/// A running local server.
pub struct RunningServer {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// The base URL used in links.
    pub public_url: String,
    /// The data folder.
    pub data_dir: PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    serve: JoinHandle<std::io::Result<()>>,
    purge: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting requests, finishes those in flight, and stops background jobs.
    pub async fn stop(mut self) -> Result<(), String> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.purge.abort();
        self.serve
            .await
            .map_err(|e| format!("server task failed: {e}"))?
            .map_err(|e| format!("server failed: {e}"))
    }
}

/// Reads the signing key from settings, or from `<data-dir>/signing.key`, creating it once.
fn signing_key(args: &ServerArgs) -> Result<TokenSigner, String> {
    if let Some(key) = &args.signing_key {
        return TokenSigner::new(key.as_bytes().to_vec())
            .map_err(|_| "TELMAIL_SIGNING_KEY must be at least 32 characters".to_owned());
    }
    let path = args.data_dir.join("signing.key");
    let hex = match std::fs::read_to_string(&path) {
        Ok(s) => s.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create_key_file(&path)?,
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    TokenSigner::new(hex.into_bytes()).map_err(|e| format!("{}: {e}", path.display()))
}

fn create_key_file(path: &Path) -> Result<String, String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(hex.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(hex)
}

/// Starts the service; returns once it accepts requests.
pub async fn start(args: ServerArgs) -> Result<RunningServer, String> {
    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| format!("cannot create data folder {}: {e}", args.data_dir.display()))?;
    let db = Db::open(&args.data_dir.join("telmail.sqlite"))?;
    let store = Arc::new(SqliteStore::new(db));
    let outbox = Arc::new(Outbox::new(
        &args.data_dir,
        &args.email_from,
        &args.sms_sender,
        args.smtp_url.as_deref(),
    )?);
    let layout = match &args.email_layout {
        Some(path) => EmailLayout::from_file(path, &args.town)?,
        None => EmailLayout::embedded(&args.town),
    };
    let signer = signing_key(&args)?;

    let listener = tokio::net::TcpListener::bind((args.bind, args.port))
        .await
        .map_err(|e| format!("cannot listen on {}:{}: {e}", args.bind, args.port))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{addr}"));
    let mut service = ServiceConfig::with_public_url(&public_url);
    service.town_name = args.town.clone();

    let residents = Arc::new(Residents::new(ResidentDeps {
        subscribers: store.clone(),
        topics: store.clone(),
        stats: store.clone(),
        email: outbox.clone(),
        sms: outbox,
        signer,
        clock: Arc::new(SystemClock),
        layout: Arc::new(layout),
        config: service,
    }));
    let seeded = residents
        .seed_topics(&default_topics())
        .await
        .map_err(|e| e.to_string())?;
    if seeded > 0 {
        tracing::info!(count = seeded, "default topics created");
    }

    let http = HttpConfig {
        rate_limit_per_minute: args.rate_limit_per_minute,
        ..HttpConfig::default()
    };
    let app = telmail_http::router(residents.clone(), &http);
    let (tx, rx) = oneshot::channel::<()>();
    let serve = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = rx.await;
        })
        .await
    });
    let purge = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            match residents.purge_expired().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(count = n, "expired pending sign-ups purged"),
                Err(e) => tracing::warn!(error = %e, "purging expired sign-ups failed"),
            }
        }
    });
    Ok(RunningServer {
        addr,
        public_url,
        data_dir: args.data_dir,
        shutdown: Some(tx),
        serve,
        purge,
    })
}
