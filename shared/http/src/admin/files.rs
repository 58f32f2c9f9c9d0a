//! `/api/admin/files`: big exports and imports, done step by step beside the request; the file
//! itself goes to and from the file drop through links that expire (S3 on AWS).

use std::str::FromStr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use telmail_core::domain::file_job::FileJobId;

use super::auth::Staff;
use super::subscribers::{import_mode, ImportQuery};
use super::AdminState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Segment};

fn job_id(text: &str) -> Result<FileJobId, ApiError> {
    FileJobId::from_str(text).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Cet export ou cet import n'existe pas (ou plus).",
        )
    })
}

/// `GET /api/admin/files` — the latest exports and imports.
pub async fn recent(
    State(app): State<AdminState>,
    Staff(by): Staff,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.files.recent(&by).await?))
}

/// `POST /api/admin/files/exports` — starts writing the whole file.
pub async fn export(
    State(app): State<AdminState>,
    Staff(by): Staff,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::ACCEPTED,
        Json(app.files.start_export(&by).await?),
    ))
}

/// `POST /api/admin/files/imports?mode=&dry_run=` — an import waiting for its file, and the
/// link to send it to.
pub async fn import(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiQuery(q): ApiQuery<ImportQuery>,
) -> ApiResult<impl IntoResponse> {
    let mode = import_mode(q.mode.as_deref())?;
    let started = app
        .files
        .start_import(&by, mode, q.dry_run.unwrap_or(false))
        .await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// `GET /api/admin/files/{id}` — where a job stands, the export's link once ready.
pub async fn get(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.files.view(&by, job_id(&id)?).await?))
}

/// `POST /api/admin/files/{id}/received` — the import's file was sent: reading starts.
pub async fn received(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<String>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::ACCEPTED,
        Json(app.files.file_sent(&by, job_id(&id)?).await?),
    ))
}
