//! The local outbox: every email as an RFC 5322 `.eml` file, every SMS as one JSON line, and an
//! optional SMTP relay for emails.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use mail_parser::MessageParser;
use serde::Serialize;
use telmail_core::clock::Clock;
use telmail_core::error::{SendError, StoreError};
use telmail_core::ports::{
    EmailSender, OutboxEmail, OutboxListing, OutboxReader, OutboxSms, OutgoingEmail, OutgoingSms,
    SmsSender,
};
use telmail_core::render::mime::MimeBuilder;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::error::StartupError;

#[derive(Serialize)]
struct SmsLine<'a> {
    id: &'a str,
    to: &'a str,
    text: &'a str,
    sender: &'a str,
    at: String,
}

/// Writes messages under `<data-dir>/outbox/` and relays emails over SMTP when configured.
pub struct Outbox {
    email_dir: PathBuf,
    sms_file: PathBuf,
    mime: MimeBuilder,
    sms_sender: String,
    smtp: Option<AsyncSmtpTransport<Tokio1Executor>>,
    sms_lock: Mutex<()>,
    /// Stamps each message (file name, `at`) with the service's time.
    clock: Arc<dyn Clock>,
}

impl Outbox {
    /// Creates the outbox folders. `smtp_url` is a lettre URL such as `smtp://relay:25` or
    /// `smtps://user:pass@host`.
    pub fn new(
        data_dir: &Path,
        from: &str,
        sms_sender: &str,
        smtp_url: Option<&str>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let email_dir = data_dir.join("outbox").join("email");
        crate::private::create_dir_all(&email_dir)
            .map_err(StartupError::file("create outbox", &email_dir))?;
        let mime = MimeBuilder::new(from).map_err(|e| StartupError::Invalid {
            setting: "TELMAIL_EMAIL_FROM",
            reason: e.to_string(),
        })?;
        let smtp = smtp_url
            .map(|url| {
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map(|b| b.build())
                    .map_err(|e| StartupError::SmtpUrl(e.to_string()))
            })
            .transpose()?;
        Ok(Self {
            sms_file: data_dir.join("outbox").join("sms.jsonl"),
            email_dir,
            mime,
            sms_sender: sms_sender.to_owned(),
            smtp,
            sms_lock: Mutex::new(()),
            clock,
        })
    }

    /// The folder holding `.eml` files.
    pub fn email_dir(&self) -> &Path {
        &self.email_dir
    }
}

async fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = crate::private::open_options()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .await?;
    file.write_all(bytes).await?;
    file.flush().await?;
    drop(file);
    tokio::fs::rename(&tmp, dir.join(name)).await
}

#[async_trait]
impl EmailSender for Outbox {
    async fn send_email(&self, email: &OutgoingEmail) -> Result<Option<String>, SendError> {
        let id = Uuid::new_v4().to_string();
        let message = self.mime.build(email, &id)?;
        // The copy first: a disk that cannot take it fails the send before anything went out,
        // so the retry cannot send the same email twice through the relay.
        let name = format!("{}-{id}.eml", self.clock.now().format("%Y%m%dT%H%M%S%.6fZ"));
        write_atomically(&self.email_dir, &name, &message.formatted())
            .await
            .map_err(|e| SendError::Transient(format!("cannot write outbox email: {e}")))?;
        if let Some(smtp) = &self.smtp {
            if let Err(e) = smtp.send(message).await {
                // Not sent: no copy stays to say it was.
                if let Err(gone) = tokio::fs::remove_file(self.email_dir.join(&name)).await {
                    tracing::warn!(error = %gone, "cannot remove the copy of an email not relayed");
                }
                return Err(if e.is_permanent() {
                    SendError::Permanent(format!("SMTP relay refused the message: {e}"))
                } else if e.is_transient() {
                    // 4xx: busy, greylisting, a quota: the relay asks to come back later.
                    SendError::Throttled(format!("SMTP relay asks to wait: {e}"))
                } else {
                    SendError::Transient(format!("SMTP relay unavailable: {e}"))
                });
            }
        }
        Ok(Some(id))
    }
}

#[async_trait]
impl SmsSender for Outbox {
    async fn send_sms(&self, sms: &OutgoingSms) -> Result<Option<String>, SendError> {
        let id = Uuid::new_v4().to_string();
        let mut line = serde_json::to_string(&SmsLine {
            id: &id,
            to: sms.to.as_str(),
            text: &sms.text,
            sender: &self.sms_sender,
            at: self.clock.now().to_rfc3339(),
        })
        .map_err(|e| SendError::Permanent(e.to_string()))?;
        line.push('\n');
        // One writer at a time so lines never interleave.
        let _guard = self.sms_lock.lock().await;
        let mut file = crate::private::open_options()
            .create(true)
            .append(true)
            .open(&self.sms_file)
            .await
            .map_err(|e| SendError::Transient(format!("cannot open SMS outbox: {e}")))?;
        file.write_all(line.as_bytes())
            .await
            .map_err(|e| SendError::Transient(format!("cannot write SMS outbox: {e}")))?;
        file.flush()
            .await
            .map_err(|e| SendError::Transient(format!("cannot write SMS outbox: {e}")))?;
        Ok(Some(id))
    }
}

/// An SMS line as written, read back.
#[derive(serde::Deserialize)]
struct StoredSms {
    to: String,
    text: String,
    at: DateTime<Utc>,
}

/// The instant an email's file name starts with (`20261130T130501.123456Z-<id>.eml`).
fn written_at(name: &str) -> Option<DateTime<Utc>> {
    let stamp = name.split('-').next()?;
    chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S%.fZ")
        .ok()
        .map(|t| t.and_utc())
}

/// Reads one `.eml` file back: recipient, subject, HTML part.
fn read_email(name: &str, bytes: &[u8]) -> Option<OutboxEmail> {
    let message = MessageParser::default().parse(bytes)?;
    let to = message
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_owned();
    Some(OutboxEmail {
        to,
        subject: message.subject().unwrap_or_default().to_owned(),
        html: message
            .body_html(0)
            .map(|h| h.into_owned())
            .unwrap_or_default(),
        at: written_at(name)?,
    })
}

#[async_trait]
impl OutboxReader for Outbox {
    async fn recent(&self, limit: usize) -> Result<OutboxListing, StoreError> {
        let io = |e: std::io::Error| StoreError::Backend(format!("cannot read the outbox: {e}"));
        let mut names = Vec::new();
        let mut dir = tokio::fs::read_dir(&self.email_dir).await.map_err(io)?;
        while let Some(entry) = dir.next_entry().await.map_err(io)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".eml") {
                names.push(name);
            }
        }
        // Names start with the time written: newest last in text order.
        names.sort_unstable_by(|a, b| b.cmp(a));
        let mut emails = Vec::new();
        for name in names.into_iter().take(limit) {
            let bytes = tokio::fs::read(self.email_dir.join(&name))
                .await
                .map_err(io)?;
            match read_email(&name, &bytes) {
                Some(email) => emails.push(email),
                None => tracing::warn!(file = %name, "outbox email not readable"),
            }
        }
        let sms = match tokio::fs::read_to_string(&self.sms_file).await {
            Ok(text) => text
                .lines()
                .rev()
                .take(limit)
                .filter_map(|line| serde_json::from_str::<StoredSms>(line).ok())
                .map(|s| OutboxSms {
                    to: s.to,
                    text: s.text,
                    at: s.at,
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io(e)),
        };
        Ok(OutboxListing { emails, sms })
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use chrono::TimeZone;

    use super::*;
    use telmail_core::domain::contact::{Email, PhoneNumber};

    fn clock() -> Arc<dyn Clock> {
        Arc::new(telmail_core::clock::ManualClock::new(
            Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
        ))
    }

    fn outbox(dir: &Path) -> Outbox {
        Outbox::new(
            dir,
            "Ville d'Arcachon <ne-pas-repondre@arcachon.example>",
            "ARCACHON",
            None,
            clock(),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn an_email_becomes_a_multipart_eml_file_with_list_headers() {
        let dir = tempfile::tempdir().unwrap();
        let ob = outbox(dir.path());
        let email = OutgoingEmail {
            to: Email::from_str("jean@exemple.fr").unwrap(),
            subject: "Fête de la ville".into(),
            text: "Bonjour, voici le programme.".into(),
            html: "<p>Bonjour, voici le programme.</p>".into(),
            list_unsubscribe: Some("https://x.example/desabonnement?t=abc".into()),
            campaign: None,
        };
        ob.send_email(&email).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(ob.email_dir())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert!(files[0].extension().unwrap() == "eml");
        let raw = std::fs::read_to_string(&files[0]).unwrap();
        assert!(raw.contains("To: jean@exemple.fr"));
        assert!(raw.contains("List-Unsubscribe: <https://x.example/desabonnement?t=abc>"));
        assert!(raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"));
        assert!(raw.contains("multipart/alternative"));
        assert!(raw.contains("text/plain") && raw.contains("text/html"));
    }

    #[tokio::test]
    async fn the_viewer_reads_back_the_newest_emails_rendered_and_sms() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(telmail_core::clock::ManualClock::new(
            Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap(),
        ));
        let sent = Outbox::new(
            dir.path(),
            "a@arcachon.example",
            "ARCACHON",
            None,
            clock.clone(),
        )
        .unwrap();
        for n in 1..=3 {
            clock.advance(chrono::Duration::seconds(1));
            sent.send_email(&OutgoingEmail {
                to: Email::from_str(&format!("habitant{n}@exemple.fr")).unwrap(),
                subject: format!("Fête n° {n}"),
                text: "Programme".into(),
                html: format!("<p>Programme de la fête n° {n} — été</p>"),
                list_unsubscribe: None,
                campaign: None,
            })
            .await
            .unwrap();
            sent.send_sms(&OutgoingSms {
                to: PhoneNumber::from_str("+33612345678").unwrap(),
                text: format!("SMS {n}"),
            })
            .await
            .unwrap();
        }
        let seen = sent.recent(2).await.unwrap();
        let subjects: Vec<&str> = seen.emails.iter().map(|e| e.subject.as_str()).collect();
        assert_eq!(subjects, ["Fête n° 3", "Fête n° 2"]);
        assert_eq!(seen.emails[0].to, "habitant3@exemple.fr");
        assert!(
            seen.emails[0].html.contains("fête n° 3 — été"),
            "{}",
            seen.emails[0].html
        );
        let texts: Vec<&str> = seen.sms.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["SMS 3", "SMS 2"]);
        // An empty outbox is empty, not an error.
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(
            outbox(empty.path()).recent(10).await.unwrap(),
            OutboxListing::default()
        );
    }

    #[tokio::test]
    async fn each_sms_is_one_json_line() {
        let dir = tempfile::tempdir().unwrap();
        let ob = outbox(dir.path());
        for text in ["Alerte vent fort", "Réunion à 18h"] {
            ob.send_sms(&OutgoingSms {
                to: PhoneNumber::from_str("0612345678").unwrap(),
                text: text.into(),
            })
            .await
            .unwrap();
        }
        let raw = std::fs::read_to_string(dir.path().join("outbox/sms.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = raw
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["to"], "+33612345678");
        assert_eq!(lines[1]["text"], "Réunion à 18h");
        assert_eq!(lines[1]["sender"], "ARCACHON");
    }

    #[tokio::test]
    async fn an_email_that_cannot_be_copied_is_not_relayed() {
        // A relay that counts the connections it gets
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = connections.clone();
        tokio::spawn(async move {
            while let Ok((_socket, _)) = listener.accept().await {
                seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let url = format!("smtp://127.0.0.1:{port}");
        let ob = Outbox::new(
            dir.path(),
            "a@arcachon.example",
            "ARCACHON",
            Some(&url),
            clock(),
        )
        .unwrap();
        // The disk refuses the copy (a file where the folder was: even root cannot write there)
        std::fs::remove_dir_all(ob.email_dir()).unwrap();
        std::fs::write(ob.email_dir(), b"").unwrap();
        let email = OutgoingEmail {
            to: Email::from_str("jean@exemple.fr").unwrap(),
            subject: "Test".into(),
            text: "Bonjour".into(),
            html: "<p>Bonjour</p>".into(),
            list_unsubscribe: None,
            campaign: None,
        };
        let err = ob.send_email(&email).await.unwrap_err();
        assert!(
            matches!(err, SendError::Transient(ref m) if m.contains("outbox")),
            "{err}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(
            connections.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "nothing relayed"
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_outbox_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ob = outbox(&dir.path().join("data"));
        ob.send_sms(&OutgoingSms {
            to: PhoneNumber::from_str("0612345678").unwrap(),
            text: "x".into(),
        })
        .await
        .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(ob.email_dir()), 0o700);
        assert_eq!(mode(&dir.path().join("data/outbox/sms.jsonl")), 0o600);
    }

    #[test]
    fn a_bad_sender_or_smtp_url_fails_start_up() {
        let dir = tempfile::tempdir().unwrap();
        assert!(Outbox::new(dir.path(), "not a mailbox", "ARCACHON", None, clock()).is_err());
        assert!(Outbox::new(
            dir.path(),
            "a@b.fr",
            "ARCACHON",
            Some("ftp://nope"),
            clock()
        )
        .is_err());
    }
}
