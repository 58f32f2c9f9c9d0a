//! The local voice outbox: every call attempt as one JSON line of
//! `<data-dir>/outbox/voice.jsonl` (`to` in E.164, `text`, `at`, `attempt`), with an audio
//! rendering beside it (`outbox/voice/<id>.wav`, named in `audio`) when Debian's `espeak-ng` is
//! installed. Without it the text is still written, and start-up says so plainly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use telmail_core::clock::Clock;
use telmail_core::error::SendError;
use telmail_core::ports::{OutgoingCall, VoiceSender};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::error::StartupError;

#[derive(Serialize)]
struct CallLine<'a> {
    id: &'a str,
    to: &'a str,
    text: &'a str,
    at: String,
    attempt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    audio: Option<String>,
}

/// Writes each call to the outbox instead of placing it.
pub struct VoiceOutbox {
    file: PathBuf,
    audio_dir: PathBuf,
    /// The `espeak-ng` program, when installed.
    espeak: Option<PathBuf>,
    lock: Mutex<()>,
    clock: Arc<dyn Clock>,
}

/// The first `espeak-ng` on the `PATH`.
pub fn find_espeak() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("espeak-ng"))
        .find(|p| p.is_file())
}

impl VoiceOutbox {
    /// An outbox under `data_dir/outbox`, rendering audio with `espeak` when given.
    pub fn new(
        data_dir: &Path,
        espeak: Option<PathBuf>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let outbox = data_dir.join("outbox");
        let audio_dir = outbox.join("voice");
        crate::private::create_dir_all(&audio_dir)
            .map_err(StartupError::file("create outbox", &audio_dir))?;
        match &espeak {
            Some(p) => tracing::info!(espeak = %p.display(), "voice calls in the outbox are rendered as audio"),
            None => tracing::info!("espeak-ng absent : les appels vocaux du dossier d'envoi n'ont pas de rendu audio (le texte est écrit dans outbox/voice.jsonl). Installez le paquet Debian espeak-ng pour les écouter."),
        }
        Ok(Self {
            file: outbox.join("voice.jsonl"),
            audio_dir,
            espeak,
            lock: Mutex::new(()),
            clock,
        })
    }

    /// Whether calls get an audio rendering.
    pub fn renders_audio(&self) -> bool {
        self.espeak.is_some()
    }

    /// Renders `text` to `<id>.wav` with espeak-ng's French voice; the file name, or none
    /// (logged) when the program fails.
    async fn render(&self, id: &str, text: &str) -> Option<String> {
        let program = self.espeak.as_ref()?;
        let name = format!("{id}.wav");
        let out = tokio::process::Command::new(program)
            .arg("-v")
            .arg("fr")
            .arg("-w")
            .arg(self.audio_dir.join(&name))
            .arg("--")
            .arg(text)
            .kill_on_drop(true)
            .output()
            .await;
        match out {
            Ok(o) if o.status.success() => Some(name),
            Ok(o) => {
                tracing::warn!(status = %o.status, "espeak-ng could not render a call");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "espeak-ng could not be run");
                None
            }
        }
    }
}

#[async_trait]
impl VoiceSender for VoiceOutbox {
    async fn call(&self, call: &OutgoingCall) -> Result<Option<String>, SendError> {
        let id = Uuid::new_v4().to_string();
        let audio = self.render(&id, &call.text).await;
        let mut line = serde_json::to_string(&CallLine {
            id: &id,
            to: call.to.as_str(),
            text: &call.text,
            at: self.clock.now().to_rfc3339(),
            attempt: call.attempt,
            audio: audio.map(|a| format!("voice/{a}")),
        })
        .map_err(|e| SendError::Permanent(e.to_string()))?;
        line.push('\n');
        let _guard = self.lock.lock().await;
        let mut file = crate::private::open_options()
            .create(true)
            .append(true)
            .open(&self.file)
            .await
            .map_err(|e| SendError::Transient(format!("cannot open voice outbox: {e}")))?;
        file.write_all(line.as_bytes())
            .await
            .map_err(|e| SendError::Transient(format!("cannot write voice outbox: {e}")))?;
        file.flush()
            .await
            .map_err(|e| SendError::Transient(format!("cannot write voice outbox: {e}")))?;
        Ok(Some(id))
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use telmail_core::clock::SystemClock;
    use telmail_core::domain::contact::PhoneNumber;

    use super::*;

    #[tokio::test]
    async fn each_call_attempt_is_one_json_line_with_its_number_text_time_and_attempt() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = VoiceOutbox::new(dir.path(), None, Arc::new(SystemClock)).unwrap();
        for attempt in [1, 2] {
            outbox
                .call(&OutgoingCall {
                    to: PhoneNumber::parse_for_calls("05 56 22 33 44").unwrap(),
                    text: "Message de la Ville d'Arcachon. Vigilance rouge.".into(),
                    attempt,
                    delivery: None,
                })
                .await
                .unwrap();
        }
        let raw = std::fs::read_to_string(dir.path().join("outbox/voice.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = raw
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["to"], "+33556223344");
        assert_eq!(lines[1]["attempt"], 2);
        assert!(lines[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Message de la Ville"));
        assert!(chrono::DateTime::parse_from_rfc3339(lines[0]["at"].as_str().unwrap()).is_ok());
        assert!(
            lines[0].get("audio").is_none(),
            "no audio without espeak-ng"
        );
        let _ = PhoneNumber::from_str("06 12 34 56 78").unwrap();
    }
}
