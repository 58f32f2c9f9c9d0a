//! A stand-in SMTP relay on 127.0.0.1 for the local server's relay path: it accepts or refuses
//! recipients and messages as told, and keeps the recipients of the messages it accepted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::ports::RefusingPort;

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
    serve(TcpListener::bind("127.0.0.1:0").await.unwrap(), script)
}

/// The relay comes back on `port`, the address its clients know (a relay that was down:
/// [`crate::ports::refusing_port`]).
pub fn stub_smtp_on(port: RefusingPort, script: Script) -> SmtpStub {
    serve(port.listen(), script)
}

/// Serves the relay on `listener`.
fn serve(listener: TcpListener, script: Script) -> SmtpStub {
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
