//! What a connection is doing, for the idle timeout: bytes moving either way, and requests being
//! worked on (not waiting for their body from the client).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicIsize, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use hyper::body::{Bytes, Incoming};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Checks per idle timeout: a connection is closed after between one and 1¼ timeouts of quiet.
const CHECKS: u32 = 4;

/// The activity of one connection.
#[derive(Debug, Default)]
pub struct Activity {
    /// Reads and writes that moved at least one byte.
    moves: AtomicU64,
    /// Requests being worked on, less those waiting for their body.
    working: AtomicIsize,
}

impl Activity {
    fn moved(&self) {
        self.moves.fetch_add(1, Ordering::Relaxed);
    }

    fn work(&self, change: isize) {
        self.working.fetch_add(change, Ordering::Relaxed);
    }

    /// Returns once `idle` has passed with no byte moved and no request worked on.
    pub async fn until_idle_for(&self, idle: Duration) {
        let mut tick = tokio::time::interval(idle / CHECKS);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is at once
        let mut seen = self.moves.load(Ordering::Relaxed);
        let mut quiet = 0;
        while quiet < CHECKS {
            tick.tick().await;
            let moves = self.moves.load(Ordering::Relaxed);
            if moves != seen || self.working.load(Ordering::Relaxed) > 0 {
                seen = moves;
                quiet = 0;
            } else {
                quiet += 1;
            }
        }
    }
}

/// A request being worked on, from the service's call to its response (the response body then
/// moves bytes, or is idle).
pub struct Working(Arc<Activity>);

impl Working {
    /// Counts a request as worked on until this is dropped.
    pub fn start(activity: &Arc<Activity>) -> Self {
        activity.work(1);
        Self(activity.clone())
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        self.0.work(-1);
    }
}

/// A TCP stream that notes every read and write that moved bytes.
pub struct TrackedStream {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl TrackedStream {
    /// `inner`, noting its moves in `activity`.
    pub fn new(inner: TcpStream, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }

    fn note<T>(&self, done: Poll<io::Result<T>>, moved: bool) -> Poll<io::Result<T>> {
        if moved && matches!(done, Poll::Ready(Ok(_))) {
            self.activity.moved();
        }
        done
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let done = Pin::new(&mut self.inner).poll_read(cx, buf);
        let moved = buf.filled().len() > before;
        self.note(done, moved)
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let done = Pin::new(&mut self.inner).poll_write(cx, buf);
        let moved = matches!(done, Poll::Ready(Ok(n)) if n > 0);
        self.note(done, moved)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let done = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        let moved = matches!(done, Poll::Ready(Ok(n)) if n > 0);
        self.note(done, moved)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// A request body: while the handler waits for it from the client, the request is not counted
/// as worked on, so a client that stalls mid-body is idle.
pub struct ClientBody {
    inner: Incoming,
    activity: Arc<Activity>,
    waiting: Option<Waiting>,
}

/// A request waiting for its body; counted as worked on again when dropped.
struct Waiting(Arc<Activity>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.work(1);
    }
}

impl ClientBody {
    /// `inner`, noting its waits in `activity`.
    pub fn new(inner: Incoming, activity: Arc<Activity>) -> Self {
        Self {
            inner,
            activity,
            waiting: None,
        }
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        if polled.is_pending() {
            if this.waiting.is_none() {
                this.activity.work(-1);
                this.waiting = Some(Waiting(this.activity.clone()));
            }
        } else {
            this.waiting = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
