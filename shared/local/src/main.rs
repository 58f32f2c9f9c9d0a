//! `telmail-local`: runs the whole service on this machine, and manages local staff accounts.

use std::io::BufRead;
use std::str::FromStr;

use clap::{Parser, Subcommand};
use telmail_core::domain::contact::{Email, PhoneNumber};
use telmail_core::domain::staff::{parse_roles, StaffIdentity};
use telmail_local::ServerArgs;

/// Télmail, the town's SMS and email messages, on one machine.
#[derive(Parser)]
#[command(name = "telmail-local", version)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Staff accounts.
    Staff {
        #[command(subcommand)]
        action: StaffAction,
    },
}

#[derive(Subcommand)]
enum StaffAction {
    /// Creates an account; the password is read from TELMAIL_PASSWORD or standard input.
    Add {
        /// Login name.
        username: String,
        /// Comma-separated roles: redaction, cabinet, admin.
        #[arg(long)]
        roles: String,
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
}

fn read_password() -> Result<String, String> {
    if let Ok(p) = std::env::var("TELMAIL_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| format!("lecture du mot de passe impossible : {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn add_staff(server: ServerArgs, action: StaffAction) -> Result<String, String> {
    let StaffAction::Add {
        username,
        roles,
        name,
        email,
        phone,
    } = action;
    let identity = StaffIdentity {
        name: name.unwrap_or_else(|| username.clone()),
        id: username,
        roles: parse_roles(&roles)?,
        email: email
            .map(|e| Email::from_str(&e))
            .transpose()
            .map_err(|e| e.to_string())?,
        phone: phone
            .map(|p| PhoneNumber::from_str(&p))
            .transpose()
            .map_err(|e| e.to_string())?,
    };
    let password = read_password()?;
    let (store, _) = telmail_local::server::open_data(&server)?;
    let auth = telmail_local::app::staff_auth(
        store,
        std::sync::Arc::new(telmail_core::clock::SystemClock),
    )?;
    let id = identity.id.clone();
    auth.add_account(identity, &password)
        .await
        .map_err(|e| match e {
            telmail_core::DomainError::Validation(f) => f
                .iter()
                .map(|(_, m)| m.to_owned())
                .collect::<Vec<_>>()
                .join(" "),
            other => other.to_string(),
        })?;
    Ok(format!("Compte « {id} » créé."))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    if let Some(Command::Staff { action }) = cli.command {
        return match add_staff(cli.server, action).await {
            Ok(message) => {
                println!("{message}");
                std::process::ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let server = match telmail_local::start(cli.server).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Télmail n'a pas pu démarrer : {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("Télmail est prêt.");
    println!(
        "  Inscription des habitants : {}/inscription",
        server.public_url
    );
    println!(
        "  API des agents            : {}/api/admin/ (compte : telmail-local staff add …)",
        server.public_url
    );
    println!(
        "  Messages envoyés (outbox) : {}",
        server.data_dir.join("outbox").display()
    );
    println!("Ctrl+C pour arrêter.");
    let signal = telmail_local::server::shutdown_signal().await;
    println!("Arrêt demandé ({signal}) : les envois en cours se terminent…");
    match server.stop().await {
        Ok(()) => {
            println!("Télmail est arrêté.");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
