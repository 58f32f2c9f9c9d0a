//! `telmail-local`: runs the whole service on this machine, and manages local staff accounts.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use telmail_local::staff_cli::StaffAction;
use telmail_local::weather_cli::WeatherAction;
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
    /// Météo-France vigilance.
    Weather {
        #[command(subcommand)]
        action: WeatherAction,
    },
}

/// Blocking threads of the runtime: the store's calls wait on one SQLite connection, so more
/// would only queue on it, each growing its own malloc arena (the million-recipient benchmark's
/// memory stays flat with a bound, and grows without one).
const BLOCKING_THREADS: usize = 8;

fn main() -> ExitCode {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(command) => run_command(cli.server, command).await,
        None => serve(cli.server).await,
    }
}

/// A one-off command (`staff …`, `weather …`): its French lines, or its error, and the exit code.
async fn run_command(server: ServerArgs, command: Command) -> ExitCode {
    let done: Result<Vec<String>, Box<dyn std::error::Error>> = match command {
        Command::Staff { action } => telmail_local::staff_cli::run(server, action)
            .await
            .map(|line| vec![line])
            .map_err(Into::into),
        Command::Weather { action } => telmail_local::weather_cli::run(server, action)
            .await
            .map_err(Into::into),
    };
    match done {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the service until Ctrl+C or SIGTERM.
async fn serve(server: ServerArgs) -> ExitCode {
    let server = match telmail_local::start(server).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Télmail n'a pas pu démarrer : {e}");
            return ExitCode::FAILURE;
        }
    };
    // Listening before saying so: a SIGTERM right after "prêt" must stop it cleanly.
    let signal = telmail_local::server::shutdown_signal();
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
    let signal = signal.await;
    println!("Arrêt demandé ({signal}) : les envois en cours se terminent…");
    match server.stop().await {
        Ok(()) => {
            println!("Télmail est arrêté.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
