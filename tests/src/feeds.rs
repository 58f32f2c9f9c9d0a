//! A stand-in for Météo-France's vigilance feed on 127.0.0.1, and documents for it.

use std::sync::{Arc, Mutex};

use chrono::{SecondsFormat, Utc};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A feed answering `(status, body)` as set, to every request.
pub struct StubFeed {
    /// Where it serves `cartevigilance/encours`.
    pub url: String,
    /// What it answers now: status and body.
    pub answer: Arc<Mutex<(u16, String)>>,
}

pub async fn stub_feed(status: u16, body: String) -> StubFeed {
    serve(status, body, None).await
}

/// A feed as the portal's: it answers as set to requests whose `apikey` header is `key`
/// (ASCII), 401 to the others.
pub async fn keyed_stub_feed(key: &str, body: String) -> StubFeed {
    serve(200, body, Some(key.to_ascii_lowercase())).await
}

async fn serve(status: u16, body: String, key: Option<String>) -> StubFeed {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/cartevigilance/encours",
        listener.local_addr().unwrap()
    );
    let answer = Arc::new(Mutex::new((status, body)));
    let served = answer.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let served = served.clone();
            let key = key.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let read = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..read]).to_ascii_lowercase();
                let (status, body) = match &key {
                    Some(key) if !request.contains(&format!("\r\napikey: {key}\r\n")) => {
                        (401, String::new())
                    }
                    _ => served.lock().unwrap().clone(),
                };
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(body.as_bytes()).await;
            });
        }
    });
    StubFeed { url, answer }
}

/// Red waves-submersion on Gironde's coast, from an hour ago to ten hours ahead.
pub fn red_waves_document() -> String {
    waves_document(4)
}

/// Waves-submersion on Gironde's coast at colour `colour_id` (1 green to 4 red), from an hour
/// ago to ten hours ahead, in a document produced now: for a service on the system clock (the
/// real server, or the functions on moto).
pub fn waves_document(colour_id: u32) -> String {
    // The clock of the service under test is the wall clock.
    #[allow(clippy::disallowed_methods)]
    let now = Utc::now();
    waves_document_at(colour_id, now)
}

/// [`waves_document`] produced at `now`, for a service on a manual clock.
pub fn waves_document_at(colour_id: u32, now: chrono::DateTime<Utc>) -> String {
    let t = |h: i64| (now + chrono::Duration::hours(h)).to_rfc3339_opts(SecondsFormat::Secs, true);
    json!({ "product": { "update_time": t(0), "periods": [{
        "echeance": "J", "begin_validity_time": t(-1), "end_validity_time": t(10),
        "timelaps": { "domain_ids": [{ "domain_id": "3310", "max_color_id": colour_id, "phenomenon_items": [{
            "phenomenon_id": "9", "phenomenon_max_color_id": colour_id,
            "timelaps_items": [{ "begin_time": t(-1), "end_time": t(10), "color_id": colour_id }]
        }]}]}
    }]}})
    .to_string()
}
