//! The one place where domain errors become HTTP responses: JSON for the API, HTML for pages.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use telmail_core::{DomainError, FieldErrors};

/// The HTTP status of a domain error.
pub fn status_of(e: &DomainError) -> StatusCode {
    match e {
        DomainError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
        DomainError::InvalidToken => StatusCode::BAD_REQUEST,
        DomainError::ExpiredToken => StatusCode::GONE,
        DomainError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
        DomainError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        DomainError::Forbidden(_) => StatusCode::FORBIDDEN,
        DomainError::NotFound(_) => StatusCode::NOT_FOUND,
        DomainError::Conflict(_) => StatusCode::CONFLICT,
        // A locked or full storage is unavailable for now too: the same request succeeds once
        // the lock is let go or space is freed (the code and message say which).
        DomainError::Unavailable(_) | DomainError::StorageBusy(_) | DomainError::StorageFull(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        DomainError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Logs what people must not see; returns nothing, so callers keep the error itself.
pub fn log_if_internal(e: &DomainError) {
    match e {
        DomainError::Unavailable(detail) => {
            tracing::warn!(error = %detail, "dependency unavailable")
        }
        DomainError::StorageBusy(detail) => {
            tracing::warn!(error = %detail, "storage locked by another program")
        }
        DomainError::StorageFull(detail) => tracing::error!(error = %detail, "storage full"),
        DomainError::Unexpected(detail) => tracing::error!(error = %detail, "unexpected error"),
        _ => {}
    }
}

/// An error answered as `{ "error", "message", "fields" }`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    fields: FieldErrors,
}

impl ApiError {
    /// The answer for an API path that does not exist.
    pub fn unknown_route() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Cette adresse d'API n'existe pas.",
        )
    }

    /// An error that does not come from the domain (bad JSON, body too large, rate limit…).
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            fields: FieldErrors::new(),
        }
    }

    /// The HTTP status it answers with.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Names a field the error is about.
    pub fn with_field(mut self, field: &str, message: impl std::fmt::Display) -> Self {
        self.fields.add(field, message);
        self
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        log_if_internal(&e);
        let fields = match &e {
            DomainError::Validation(f) => f.clone(),
            _ => FieldErrors::new(),
        };
        Self {
            status: status_of(&e),
            code: e.code(),
            message: e.to_string(),
            fields,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.code, "message": self.message, "fields": self.fields });
        (self.status, Json(body)).into_response()
    }
}

/// Result type of JSON handlers.
pub type ApiResult<T> = Result<T, ApiError>;
