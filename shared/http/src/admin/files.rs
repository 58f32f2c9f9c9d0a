//! `/api/admin/files`: big exports and imports, done step by step beside the request; the file
//! itself goes to and from the file drop through links that expire (S3 on AWS).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use telmail_core::domain::file_job::{ExportOrder, FileJobId};
use telmail_core::FieldErrors;

use super::auth::Staff;
use super::subscribers::import_mode;
use super::AdminState;
use crate::error::ApiResult;
use crate::extract::{ApiQuery, Segment};

/// `GET /api/admin/files` — the latest exports and imports.
pub async fn recent(
    State(app): State<AdminState>,
    Staff(by): Staff,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.files.recent(&by).await?))
}

/// `?order=date|contact`
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    order: Option<String>,
}

/// `POST /api/admin/files/exports?order=` — starts writing the whole file, sorted by sign-up
/// date (the default) or by contact.
pub async fn export(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> ApiResult<impl IntoResponse> {
    let order = match q.order.as_deref() {
        None | Some("") | Some("date") => ExportOrder::Date,
        Some("contact") => ExportOrder::Contact,
        Some(other) => {
            return Err(FieldErrors::single(
                "order",
                format!("Ordre inconnu : « {other} » (date ou contact)."),
            )
            .into())
        }
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(app.files.start_export(&by, order).await?),
    ))
}

/// `?mode=all_or_nothing|valid_only&dry_run=true&update=true`
#[derive(Debug, Deserialize)]
pub struct FileImportQuery {
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    dry_run: Option<bool>,
    /// Update mode: lines of people already on file add their topics.
    #[serde(default)]
    update: Option<bool>,
}

/// `POST /api/admin/files/imports?mode=&dry_run=&update=` — an import waiting for its file,
/// and the link to send it to.
pub async fn import(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiQuery(q): ApiQuery<FileImportQuery>,
) -> ApiResult<impl IntoResponse> {
    let mode = import_mode(q.mode.as_deref())?;
    let started = app
        .files
        .start_import(
            &by,
            mode,
            q.dry_run.unwrap_or(false),
            q.update.unwrap_or(false),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// `GET /api/admin/files/{id}` — where a job stands, the export's link once ready.
pub async fn get(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<FileJobId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.files.view(&by, id).await?))
}

/// `POST /api/admin/files/{id}/received` — the import's file was sent: reading starts.
pub async fn received(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<FileJobId>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::ACCEPTED,
        Json(app.files.file_sent(&by, id).await?),
    ))
}
