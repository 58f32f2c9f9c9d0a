//! `telmail-local`: runs the whole service on this machine.

use clap::Parser;
use telmail_local::ServerArgs;

/// Télmail, the town's SMS and email messages, on one machine.
#[derive(Parser)]
#[command(name = "telmail-local", version)]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
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
        "  Messages envoyés (outbox) : {}",
        server.data_dir.join("outbox").display()
    );
    println!("Ctrl+C pour arrêter.");
    let _ = tokio::signal::ctrl_c().await;
    match server.stop().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
