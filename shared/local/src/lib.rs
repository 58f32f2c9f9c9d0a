//! Télmail on one machine: SQLite store, file outbox with optional SMTP relay, and the local
//! server that mounts the same Router as the Lambda functions.

pub mod app;
pub mod cognito;
pub mod config;
pub mod connections;
pub mod db;
pub mod error;
pub mod files;
pub mod limits;
pub mod outbox;
pub mod passwords;
pub mod private;
pub mod queue;
pub mod server;
pub mod staff_cli;
pub mod store;
pub mod voice_outbox;
pub mod weather_cli;
pub mod worker;

pub use config::ServerArgs;
pub use error::{StartupError, StopError};
pub use server::{start, RunningServer};
