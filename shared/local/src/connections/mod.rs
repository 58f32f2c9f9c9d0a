//! Serves HTTP/1 connections within bounds: a header-read timeout, an idle timeout, and caps on
//! the connections open at once, all clients together and each client, so that idle or slow
//! clients can neither use up the process's file descriptors nor hold connections for ever.
//!
//! hyper's header-read timeout also covers a kept-alive connection waiting for its next
//! request: once a response is written, hyper 1 re-arms it for the next head
//! (`proto/h1/conn.rs`, `State::idle`). The idle timeout here covers what it does not: a request
//! body the client stops sending, a response the client stops reading.

mod activity;
pub mod limits;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceExt;

use activity::{Activity, ClientBody, TrackedStream, Working};
pub use limits::ConnectionLimits;

/// The bounds of every connection.
#[derive(Debug, Clone)]
pub struct Bounds {
    /// Time to send a request's headers (from the opening, or the previous response).
    pub header_read: Duration,
    /// Time without a byte moving while no request is worked on.
    pub idle: Duration,
    /// The caps on connections open at once.
    pub limits: Arc<ConnectionLimits>,
}

/// The open-file limit cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read the open-file limit: {0}")]
pub struct FileLimitUnreadable(std::io::Error);

/// Raises the soft open-file limit to the hard one; returns the limit now in force.
#[cfg(unix)]
pub fn raise_file_limit() -> Result<u64, FileLimitUnreadable> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Ok(limit),
        Err(e) => {
            let (soft, _) =
                rlimit::getrlimit(rlimit::Resource::NOFILE).map_err(FileLimitUnreadable)?;
            tracing::warn!(error = %e, limit = soft, "cannot raise the open-file limit");
            Ok(soft)
        }
    }
}

/// Sockets are not files here: no limit to raise.
#[cfg(not(unix))]
pub fn raise_file_limit() -> Result<u64, FileLimitUnreadable> {
    Ok(u64::MAX)
}

/// Serves `app` on `listener` within `bounds` until `stop` changes; then stops accepting,
/// lets the requests in flight finish, and returns once every connection is closed.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    bounds: Bounds,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(bounds.header_read);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    wait_after_accept_error(e).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        // Over a cap, the connection is closed at once (dropped).
        let Some(slot) = bounds.limits.admit(peer.ip()) else {
            tracing::debug!("connection refused: over the connection cap");
            continue;
        };
        let activity = Arc::new(Activity::default());
        let connection = http.serve_connection(
            TokioIo::new(TrackedStream::new(stream, activity.clone())),
            Handler {
                app: app.clone(),
                peer,
                activity: activity.clone(),
            },
        );
        let connection = graceful.watch(connection);
        let idle = bounds.idle;
        tokio::spawn(async move {
            let _slot = slot;
            tokio::select! {
                served = connection => if let Err(e) = served {
                    tracing::debug!(error = %e, "connection ended with an error");
                },
                _ = activity.until_idle_for(idle) => {
                    tracing::debug!("idle connection closed");
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// The service of one connection: the app, with the peer's address as `ConnectInfo` (the rate
/// limiter and trusted proxies read it) and each request counted as worked on.
struct Handler {
    app: axum::Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for Handler {
    type Response = axum::response::Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let working = Working::start(&self.activity);
        let activity = self.activity.clone();
        let mut request =
            request.map(|body| axum::body::Body::new(ClientBody::new(body, activity)));
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let response = self.app.clone().oneshot(request);
        Box::pin(async move {
            let response = response.await;
            drop(working);
            response
        })
    }
}

/// After a failed accept: a connection that went away before it was accepted is nothing; any
/// other error (out of file descriptors) is logged and waited out a moment, as axum does.
async fn wait_after_accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept connections");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
