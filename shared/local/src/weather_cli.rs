//! `telmail-local weather check FILE` (contract): one relay cycle on a saved Météo-France
//! `cartevigilance/encours` document, against the store of the data folder. A server running on
//! that folder sends what the cycle created. French lines, one per alert relayed or skipped.

use std::path::PathBuf;

use clap::Subcommand;
use telmail_core::domain::weather::read_bulletin;

use crate::config::ServerArgs;

/// What `telmail-local weather` does.
#[derive(Debug, Subcommand)]
pub enum WeatherAction {
    /// Runs one relay cycle on a saved `cartevigilance/encours` document.
    Check {
        /// The document (JSON).
        file: PathBuf,
    },
}

/// Runs one weather command; the lines to print, or why nothing could be done.
pub async fn run(server: ServerArgs, action: WeatherAction) -> Result<Vec<String>, String> {
    let WeatherAction::Check { file } = action;
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("Impossible de lire {} : {e}", file.display()))?;
    let public_url = server
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}:{}", server.bind, server.port));
    // The document is read before anything is opened: an unreadable one changes nothing.
    let policy = crate::server::service_config(&server, &public_url)?.weather;
    let bulletin = read_bulletin(&text, &policy.domains())
        .map_err(|e| format!("{} : {e}. Rien n'a été relayé.", file.display()))?;
    let (services, _queue) = crate::server::wire_services(&server, &public_url).await?;
    let lines = services
        .use_cases
        .weather
        .cycle(&bulletin)
        .await
        .map_err(|e| format!("{e} ({})", file.display()))?;
    if lines.is_empty() {
        return Ok(vec![format!(
            "Aucune vigilance pour les domaines {} dans ce document : rien à relayer.",
            policy.domains().join(", ")
        )]);
    }
    Ok(lines.iter().map(|l| l.describe()).collect())
}
