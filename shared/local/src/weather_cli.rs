//! `telmail-local weather check FILE` (contract): one relay cycle on a saved Météo-France
//! `cartevigilance/encours` document, against the store of the data folder. A server running on
//! that folder sends what the cycle created. French lines, one per alert relayed or skipped.

use std::path::PathBuf;

use clap::Subcommand;
use telmail_core::domain::weather::read_bulletin;

use telmail_core::DomainError;

use crate::config::ServerArgs;
use crate::error::StartupError;

/// What `telmail-local weather` does.
#[derive(Debug, Subcommand)]
pub enum WeatherAction {
    /// Runs one relay cycle on a saved `cartevigilance/encours` document.
    Check {
        /// The document (JSON).
        file: PathBuf,
    },
}

/// Why a weather command did nothing; the message is what the terminal shows.
#[derive(Debug, thiserror::Error)]
pub enum WeatherCliError {
    #[error("Impossible de lire {} : {source}", file.display())]
    Unreadable {
        file: PathBuf,
        source: std::io::Error,
    },
    /// The settings or the data folder (the server's own start-up error).
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The document is not a vigilance map (the reader's French reason).
    #[error("{} : {reason}. Rien n'a été relayé.", file.display())]
    NotABulletin { file: PathBuf, reason: String },
    /// The relay cycle failed.
    #[error("{error} ({})", file.display())]
    Cycle { file: PathBuf, error: DomainError },
}

/// Runs one weather command; the lines to print, or why nothing could be done.
pub async fn run(
    server: ServerArgs,
    action: WeatherAction,
) -> Result<Vec<String>, WeatherCliError> {
    let WeatherAction::Check { file } = action;
    let text = std::fs::read_to_string(&file).map_err(|source| WeatherCliError::Unreadable {
        file: file.clone(),
        source,
    })?;
    let public_url = server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{}", server.bind, server.port));
    // The document is read before anything is opened: an unreadable one changes nothing.
    let policy = crate::server::service_config(&server, &public_url)?.weather;
    let bulletin =
        read_bulletin(&text, &policy.domains()).map_err(|e| WeatherCliError::NotABulletin {
            file: file.clone(),
            reason: e.to_string(),
        })?;
    let (services, _queue) = crate::server::wire_services(&server, &public_url).await?;
    let lines = services
        .use_cases
        .weather
        .cycle(&bulletin)
        .await
        .map_err(|error| WeatherCliError::Cycle {
            file: file.clone(),
            error,
        })?;
    if lines.is_empty() {
        return Ok(vec![format!(
            "Aucune vigilance pour les domaines {} dans ce document : rien à relayer.",
            policy.domains().join(", ")
        )]);
    }
    Ok(lines.iter().map(|l| l.describe()).collect())
}
