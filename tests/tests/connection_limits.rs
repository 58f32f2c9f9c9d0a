//! Idle and slow connections neither take the server down nor stay (#26, point 1): thousands of
//! idle, slowloris and stalled-body connections, held against the real `telmail-local`, leave a
//! resident's sign-up served at once, and the server closes them after its timeouts, as it does a
//! client that stops reading its responses; one address over its cap has its extra connections
//! closed at once while others are served.
//!
//! Every socket is on loopback; the clients bind 127.0.0.x source addresses so that the
//! per-client cap counts them as different clients.

#[path = "it/common/mod.rs"]
mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

use common::TestApp;
use futures_util::future::join_all;
use serde_json::json;
use telmail_tests::stopwatch;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The test servers' header-read and idle timeouts, in seconds (short, so the test is).
const HEADER_READ: u64 = 4;
const IDLE: u64 = 4;

/// A connection to `server` from the loopback address `127.0.0.<host>`.
async fn connect_from(host: u8, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket
        .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, host), 0)))
        .unwrap();
    socket.connect(server).await.unwrap()
}

/// `per_host` connections from each of the loopback addresses `hosts`.
async fn connect_many(
    hosts: std::ops::RangeInclusive<u8>,
    per_host: usize,
    server: SocketAddr,
) -> Vec<TcpStream> {
    let mut streams = Vec::new();
    for host in hosts {
        for _ in 0..per_host {
            streams.push(connect_from(host, server).await);
        }
    }
    streams
}

/// Whether the server has closed `stream`: it reads the end (after any last answer, such as a
/// 408) or an error before `deadline`.
async fn closed_before(stream: &mut TcpStream, deadline: Instant) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(stopwatch());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

/// Whether `stream` is still open with nothing to read: the server holds it.
fn held(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 1];
    matches!(stream.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// The connections the server holds, once their number is `reached` or `within` has passed.
async fn wait_for_open(app: &TestApp, within: Duration, reached: impl Fn(usize) -> bool) -> usize {
    let start = stopwatch();
    loop {
        let open = app.server().open_connections();
        if reached(open) || start.elapsed() > within {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A slowloris client: the start of a request, then one header byte every `every` (at most
/// `bytes`) until the server closes the connection. Returns whether it did.
async fn slowloris(mut stream: TcpStream, every: Duration, bytes: usize) -> bool {
    if stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: telmail\r\nX-Slow: ")
        .await
        .is_err()
    {
        return true;
    }
    for _ in 0..bytes {
        tokio::time::sleep(every).await;
        if !held(&stream) || stream.write_all(b"a").await.is_err() {
            return true;
        }
    }
    false
}

/// A sign-up from 127.0.0.1, and how long it took.
async fn sign_up(app: &TestApp, email: &str) -> Duration {
    let start = stopwatch();
    let body = json!({ "email": email, "subscriptions": [{ "topic": "infos-pratiques", "channels": ["email"] }], "consent": true });
    let resp = app.post_json("/api/subscriptions", &body).await;
    assert_eq!(resp.status(), 202, "{:?}", resp.text().await);
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_slow_connections_neither_block_a_resident_nor_stay() {
    // GIVEN a server with short timeouts and its default caps
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
        a.connections.header_read_timeout = HEADER_READ;
        a.connections.idle_timeout = IDLE;
    })
    .await;
    let server = app.server().addr;

    // WHEN 2,000 idle connections are held (100 of them kept alive after a first request)…
    let mut idle = connect_many(2..=41, 50, server).await;
    let mut kept_alive = idle.split_off(1_900);
    for stream in &mut kept_alive {
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: telmail\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let n = stream.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
    }
    // …with 500 slowloris clients sending a header byte every half second…
    let slow = connect_many(42..=51, 50, server).await;
    let slowloris: Vec<_> = slow
        .into_iter()
        .map(|s| tokio::spawn(slowloris(s, Duration::from_millis(500), 40)))
        .collect();
    // …and 50 clients that stop in the middle of a request body
    let mut stalled = connect_many(52..=52, 50, server).await;
    for stream in &mut stalled {
        stream
            .write_all(
                b"POST /api/subscriptions HTTP/1.1\r\nHost: telmail\r\n\
                  Content-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"email\":",
            )
            .await
            .unwrap();
    }
    let all = 2_000 + 500 + 50;
    let open = wait_for_open(&app, Duration::from_secs(2), |n| n >= all).await;
    assert!(open >= all, "the server holds them all: {open}");

    // THEN a resident signs up from another address in under a second…
    let took = sign_up(&app, "lea@exemple.fr").await;
    assert!(took < Duration::from_secs(1), "sign-up took {took:?}");
    assert_eq!(app.get("/healthz").await.status(), 200);
    // …while every connection was still held
    assert!(idle.iter().chain(&kept_alive).all(held));
    assert!(stalled.iter().all(held));
    assert!(slowloris.iter().all(|t| !t.is_finished()));

    // AND the server closes them all after its timeouts
    let deadline = stopwatch() + Duration::from_secs(HEADER_READ.max(IDLE) + 4);
    let closed = join_all(
        idle.iter_mut()
            .chain(&mut kept_alive)
            .chain(&mut stalled)
            .map(|s| closed_before(s, deadline)),
    )
    .await;
    assert!(
        closed.iter().all(|c| *c),
        "{} left open",
        closed.iter().filter(|c| !**c).count()
    );
    for task in slowloris {
        assert!(task.await.unwrap(), "a slowloris connection stayed open");
    }
    let open = wait_for_open(&app, Duration::from_secs(HEADER_READ + 2), |n| n == 0).await;
    assert_eq!(open, 0, "connections the server still holds");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_over_its_cap_is_closed_at_once_while_others_are_served() {
    // GIVEN a server allowing 8 connections per client, 127.0.0.9 being a trusted proxy
    let app = TestApp::spawn_with(|a| {
        a.rate_limit_per_minute = std::num::NonZeroU32::new(10_000).unwrap();
        a.connections.max_connections_per_client = NonZeroUsize::new(8).unwrap();
        a.trusted_proxies = vec!["127.0.0.9/32".parse().unwrap()];
    })
    .await;
    let server = app.server().addr;
    let first = connect_many(7..=7, 8, server).await;
    assert_eq!(
        wait_for_open(&app, Duration::from_secs(2), |n| n >= 8).await,
        8
    );

    // WHEN the same address opens 4 more
    let mut extra = connect_many(7..=7, 4, server).await;

    // THEN those are closed at once, the first 8 are kept…
    let deadline = stopwatch() + Duration::from_secs(1);
    for stream in &mut extra {
        assert!(closed_before(stream, deadline).await, "not closed at once");
    }
    assert!(first.iter().all(held));
    // …another address is served…
    assert_eq!(app.get("/healthz").await.status(), 200);
    let took = sign_up(&app, "paul@exemple.fr").await;
    assert!(took < Duration::from_secs(1), "sign-up took {took:?}");
    // …and the trusted proxy is not capped per client
    let proxied = connect_many(9..=9, 20, server).await;
    let open = wait_for_open(&app, Duration::from_secs(2), |n| n >= 8 + 20).await;
    assert!(open >= 8 + 20, "{open} open");
    assert!(proxied.iter().all(held));
    // (a connection that never sent a request waits out its header-read timeout at shutdown)
    drop((first, proxied));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_the_total_cap_connections_are_closed_at_once_until_one_frees() {
    // GIVEN a server allowing 16 connections in all, all of them held
    let app = TestApp::spawn_with(|a| {
        a.connections.max_connections = NonZeroUsize::new(16);
    })
    .await;
    let server = app.server().addr;
    let mut held_now = connect_many(20..=23, 4, server).await;
    assert_eq!(
        wait_for_open(&app, Duration::from_secs(2), |n| n >= 16).await,
        16
    );

    // WHEN another client connects, THEN it is closed at once
    let mut refused = connect_from(1, server).await;
    let deadline = stopwatch() + Duration::from_secs(1);
    assert!(
        closed_before(&mut refused, deadline).await,
        "not closed at once"
    );
    assert!(held_now.iter().all(held));

    // AND once one is let go, that client is served
    held_now.pop();
    assert_eq!(
        wait_for_open(&app, Duration::from_secs(2), |n| n < 16).await,
        15
    );
    assert_eq!(app.get("/healthz").await.status(), 200);
    drop(held_now);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_its_responses_is_closed_after_the_idle_timeout() {
    // GIVEN a server whose idle timeout is far shorter than its header-read timeout
    let app = TestApp::spawn_with(|a| {
        a.connections.header_read_timeout = 600;
        a.connections.idle_timeout = 2;
    })
    .await;
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket
        .bind(SocketAddr::from((Ipv4Addr::new(127, 0, 0, 60), 0)))
        .unwrap();
    let mut client = socket.connect(app.server().addr).await.unwrap();

    // WHEN the client pipelines page requests and never reads an answer, until the server,
    // stuck writing, stops reading them
    let requests = b"GET /inscription HTTP/1.1\r\nHost: telmail\r\n\r\n".repeat(100);
    let mut stuck = false;
    for _ in 0..1_000 {
        let write = client.write_all(&requests);
        if tokio::time::timeout(Duration::from_secs(1), write)
            .await
            .is_err()
        {
            stuck = true;
            break;
        }
    }
    assert!(stuck, "the server kept reading 100,000 requests");
    assert_eq!(app.server().open_connections(), 1);

    // THEN the server closes the connection after its idle timeout, not the header-read one
    let open = wait_for_open(&app, Duration::from_secs(2 + 4), |n| n == 0).await;
    assert_eq!(open, 0, "the stuck connection is still held");
    drop(client);
    app.stop().await;
}
