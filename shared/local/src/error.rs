//! Why the local server, or a command on its data folder, cannot start: typed, the message
//! naming the setting, file or folder at fault (what the operator reads in the terminal).

use std::path::PathBuf;

use telmail_core::DomainError;

/// The server (or a command) cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The service settings refused a value (the message, from the domain, names it).
    #[error("{0}")]
    Setting(#[from] telmail_core::config::SettingError),
    /// The email layout file is unusable.
    #[error(transparent)]
    Layout(#[from] telmail_core::render::messages::LayoutError),
    /// A setting's value does not parse; `reason` is the parser's.
    #[error("{setting}: {reason}")]
    Invalid {
        setting: &'static str,
        reason: String,
    },
    /// The SMTP relay's URL is not one lettre takes.
    #[error("TELMAIL_SMTP_URL is not valid: {0}")]
    SmtpUrl(String),
    /// The signing key given in the settings is too short.
    #[error("TELMAIL_SIGNING_KEY must be at least 32 characters")]
    SigningKeyTooShort,
    /// The signing key file holds no usable key.
    #[error("{}: {reason}", path.display())]
    SigningKeyFile { path: PathBuf, reason: String },
    /// A file or folder of the data folder cannot be made or read; `action` completes
    /// "cannot …" (`read`, `create outbox`…).
    #[error("cannot {action} {}: {source}", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// The address is taken or not allowed.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        source: std::io::Error,
    },
    /// The bound socket has no local address.
    #[error("{0}")]
    Address(std::io::Error),
    /// The open-file limit cannot be read.
    #[error(transparent)]
    FileLimit(#[from] crate::connections::FileLimitUnreadable),
    /// The open-file limit leaves fewer connections than asked.
    #[error(transparent)]
    TooManyConnections(#[from] crate::connections::limits::TooManyConnections),
    /// A Cognito pool without its app client.
    #[error("TELMAIL_COGNITO_CLIENT_ID is needed with TELMAIL_COGNITO_USER_POOL")]
    CognitoClientMissing,
    /// The user pool's keys.
    #[error(transparent)]
    Cognito(#[from] crate::cognito::CognitoError),
    /// The legal notice's settings.
    #[error(transparent)]
    Legal(#[from] telmail_http::legal::LegalError),
    /// The weather feed's client.
    #[error(transparent)]
    WeatherFeed(#[from] telmail_meteo::FeedClientError),
    /// The database.
    #[error(transparent)]
    Database(#[from] crate::db::DbError),
    /// The password hasher.
    #[error(transparent)]
    Passwords(#[from] crate::passwords::PasswordError),
    /// Seeding the default topics failed.
    #[error("{0}")]
    Domain(#[from] DomainError),
}

impl StartupError {
    /// A file or folder error: "cannot `action` `path`: …".
    pub fn file(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::File {
            action,
            path,
            source,
        }
    }
}

/// The running server did not stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum StopError {
    #[error("background task failed: {0}")]
    Background(tokio::task::JoinError),
    #[error("server task failed: {0}")]
    Task(tokio::task::JoinError),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}
