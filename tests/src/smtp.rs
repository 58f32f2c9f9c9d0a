//! A stand-in SMTP relay on 127.0.0.1 for the local server's relay path: it accepts or refuses
//! recipients and messages as told, and keeps the recipients of the messages it accepted.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// How the relay answers.
#[derive(Debug, Default)]
pub struct Script {
    /// The answer to `RCPT TO` for an address (default `250 OK`).
    pub rcpt: HashMap<String, &'static str>,
    /// Messages refused with `451` (busy: try again later) before the relay accepts any.
    pub busy_for: usize,
}

/// The relay: its `smtp://` URL, what it accepted, and how it answers.
pub struct SmtpStub {
    pub url: String,
    /// Recipients of each message accepted, in order.
    pub accepted: Arc<Mutex<Vec<Vec<String>>>>,
    /// Every address given in `RCPT TO`, accepted or refused, in order.
    pub tried: Arc<Mutex<Vec<String>>>,
    pub script: Arc<Mutex<Script>>,
}

/// Starts the relay.
pub async fn stub_smtp(script: Script) -> SmtpStub {
    stub_smtp_at("127.0.0.1:0", script).await
}

/// An address where nothing listens: a relay that is down (connection refused) until a test
/// starts [`stub_smtp_at`] on it. The port is free when returned, so the kernel may hand it out
/// again; no two calls in one process return the same one, or a test's relay coming back could
/// answer another test whose relay must stay down.
pub fn down_relay_address() -> String {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let mut given = GIVEN.lock().unwrap();
    let given = given.get_or_insert_with(HashSet::new);
    loop {
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        if given.insert(addr.port()) {
            return addr.to_string();
        }
    }
}

/// Starts the relay on `addr` (a relay coming back on the address its clients know).
pub async fn stub_smtp_at(addr: &str, script: Script) -> SmtpStub {
    let listener = TcpListener::bind(addr).await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let tried = Arc::new(Mutex::new(Vec::new()));
    let script = Arc::new(Mutex::new(script));
    let (kept, seen, told) = (accepted.clone(), tried.clone(), script.clone());
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let (kept, seen, told) = (kept.clone(), seen.clone(), told.clone());
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                let _ = write.write_all(b"220 relais.mairie ESMTP\r\n").await;
                let mut rcpts: Vec<String> = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let answer = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        "250 relais.mairie".to_owned()
                    } else if upper.starts_with("MAIL FROM") {
                        rcpts.clear();
                        "250 OK".to_owned()
                    } else if upper.starts_with("RCPT TO") {
                        let address = line[8..]
                            .trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_owned();
                        seen.lock().unwrap().push(address.clone());
                        let code = told
                            .lock()
                            .unwrap()
                            .rcpt
                            .get(&address)
                            .copied()
                            .unwrap_or("250 OK");
                        if code.starts_with('2') {
                            rcpts.push(address);
                        }
                        code.to_owned()
                    } else if upper.starts_with("DATA") {
                        let _ = write.write_all(b"354 Go ahead\r\n").await;
                        while let Ok(Some(body)) = lines.next_line().await {
                            if body == "." {
                                break;
                            }
                        }
                        let mut s = told.lock().unwrap();
                        if s.busy_for > 0 {
                            s.busy_for -= 1;
                            "451 4.3.2 Busy, try again later".to_owned()
                        } else {
                            kept.lock().unwrap().push(rcpts.clone());
                            "250 2.0.0 Queued".to_owned()
                        }
                    } else if upper.starts_with("QUIT") {
                        let _ = write.write_all(b"221 Bye\r\n").await;
                        return;
                    } else {
                        "250 OK".to_owned()
                    };
                    if write
                        .write_all(format!("{answer}\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    SmtpStub {
        url,
        accepted,
        tried,
        script,
    }
}
