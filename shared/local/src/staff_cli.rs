//! `telmail-local staff …`: the local staff accounts, managed from a terminal on the server
//! (on AWS, Cognito's console or CLI does this). Answers and errors are in French.

use std::io::BufRead;
use std::str::FromStr;
use std::sync::Arc;

use clap::Subcommand;
use telmail_core::clock::{Clock, SystemClock};
use telmail_core::domain::contact::{Email, EmailError, PhoneError, PhoneNumber};
use telmail_core::domain::staff::{parse_roles, StaffIdentity};
use telmail_core::use_cases::staff_auth::StaffAuth;
use telmail_core::DomainError;

use crate::config::ServerArgs;
use crate::error::StartupError;
use crate::passwords::PasswordError;

/// What `telmail-local staff` does.
#[derive(Debug, Subcommand)]
pub enum StaffAction {
    /// Creates an account; the password is read from TELMAIL_PASSWORD or standard input.
    Add {
        /// Login name.
        username: String,
        /// Comma-separated roles: redaction, cabinet, admin, accueil, service.
        #[arg(long)]
        roles: String,
        /// The town department a `service` member proposes for (e.g. « Culture »).
        #[arg(long)]
        department: Option<String>,
        /// Display name (default: the username).
        #[arg(long)]
        name: Option<String>,
        /// Where test emails go.
        #[arg(long)]
        email: Option<String>,
        /// Where test SMS go.
        #[arg(long)]
        phone: Option<String>,
    },
    /// Lists the accounts, their roles and whether they may sign in.
    List,
    /// Stops an account from signing in and ends its open sessions.
    Disable {
        /// Login name.
        username: String,
    },
    /// Lets a disabled account sign in again.
    Enable {
        /// Login name.
        username: String,
    },
    /// Unlocks an account locked after repeated wrong passwords.
    Unlock {
        /// Login name.
        username: String,
    },
    /// Sets a new password (from TELMAIL_PASSWORD or standard input) and ends the open sessions.
    Passwd {
        /// Login name.
        username: String,
    },
}

/// Why a staff command failed; the message is what the terminal shows.
#[derive(Debug, thiserror::Error)]
pub enum StaffCliError {
    /// The data folder cannot be opened (the server's own start-up error).
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The password hasher cannot start.
    #[error(transparent)]
    Passwords(#[from] PasswordError),
    #[error("lecture du mot de passe impossible : {0}")]
    PasswordUnreadable(std::io::Error),
    /// Roles that are not known, or none (the domain's French sentence).
    #[error(transparent)]
    Roles(#[from] telmail_core::domain::staff::RolesError),
    /// The test email address (its French sentence).
    #[error(transparent)]
    Email(#[from] EmailError),
    /// The test phone number (its French sentence).
    #[error(transparent)]
    Phone(#[from] PhoneError),
    /// The accounts refused: a refused field's French sentence, or the error's own.
    #[error("{}", french(.0))]
    Refused(#[from] DomainError),
}

fn read_password() -> Result<String, StaffCliError> {
    if let Ok(p) = std::env::var("TELMAIL_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(StaffCliError::PasswordUnreadable)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// A domain error as one French line (a refused field's message, or the error's own).
fn french(e: &DomainError) -> String {
    match e {
        DomainError::Validation(f) => f
            .iter()
            .map(|(_, m)| m.to_owned())
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// Runs one staff command on the data folder of `server`; returns what to print.
pub async fn run(server: ServerArgs, action: StaffAction) -> Result<String, StaffCliError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (store, _) = crate::server::open_data(&server, clock.clone())?;
    let auth = crate::app::staff_auth(store, clock)?;
    match action {
        StaffAction::Add {
            username,
            roles,
            department,
            name,
            email,
            phone,
        } => {
            let identity = StaffIdentity {
                name: name.unwrap_or_else(|| username.clone()),
                id: username,
                roles: parse_roles(&roles)?,
                email: email.map(|e| Email::from_str(&e)).transpose()?,
                phone: phone.map(|p| PhoneNumber::from_str(&p)).transpose()?,
                department: department
                    .map(|d| d.trim().to_owned())
                    .filter(|d| !d.is_empty()),
            };
            let id = identity.id.clone();
            auth.add_account(identity, &read_password()?).await?;
            Ok(format!("Compte « {id} » créé."))
        }
        StaffAction::List => list(&auth).await,
        StaffAction::Disable { username } => {
            let ended = auth.disable(&username).await?;
            Ok(format!(
                "Compte « {username} » désactivé ; {ended} session(s) fermée(s)."
            ))
        }
        StaffAction::Enable { username } => {
            auth.enable(&username).await?;
            Ok(format!("Compte « {username} » réactivé."))
        }
        StaffAction::Unlock { username } => {
            auth.unlock(&username).await?;
            Ok(format!("Compte « {username} » déverrouillé."))
        }
        StaffAction::Passwd { username } => {
            let ended = auth.set_password(&username, &read_password()?).await?;
            Ok(format!(
                "Mot de passe de « {username} » changé ; {ended} session(s) fermée(s)."
            ))
        }
    }
}

async fn list(auth: &StaffAuth) -> Result<String, StaffCliError> {
    let accounts = auth.accounts().await?;
    if accounts.is_empty() {
        return Ok("Aucun compte (telmail-local staff add … pour en créer un).".into());
    }
    let lines: Vec<String> = accounts
        .iter()
        .map(|a| {
            let roles: Vec<&str> = a.identity.roles.iter().map(|r| r.as_str()).collect();
            format!(
                "{:<20} {:<28} {:<24} {}",
                a.identity.id,
                a.identity.name,
                roles.join(","),
                if a.disabled { "désactivé" } else { "actif" }
            )
        })
        .collect();
    Ok(format!(
        "{:<20} {:<28} {:<24} {}\n{}",
        "identifiant",
        "nom",
        "rôles",
        "état",
        lines.join("\n")
    ))
}
