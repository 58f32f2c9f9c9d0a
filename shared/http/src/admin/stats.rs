//! `/api/admin/stats`, `/health`, `/pauses`, `/outbox`: the town's figures for a period, the
//! service's health (queues, channels the provider paused, resumed here), and the embedded
//! default's outbox.

use std::str::FromStr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use telmail_core::domain::contact::Channel;

use super::auth::Staff;
use super::AdminState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiQuery, Segment};

/// `?from=&to=` (dates or months).
#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
}

/// `GET /api/admin/stats`
pub async fn report(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        app.statistics
            .report(&by, q.from.as_deref(), q.to.as_deref())
            .await?,
    ))
}

/// `GET /api/admin/health`: jobs waiting and dead letters.
pub async fn health(
    State(app): State<AdminState>,
    Staff(by): Staff,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.statistics.queue_health(&by).await?))
}

/// `GET /api/admin/outbox`: the embedded default's outbox (404 where messages really leave).
pub async fn outbox(
    State(app): State<AdminState>,
    Staff(by): Staff,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.outbox.recent(&by).await?))
}

/// `POST /api/admin/pauses/{channel}/resume`: sending resumes on a channel the provider paused.
pub async fn resume(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(channel): Segment<String>,
) -> ApiResult<impl IntoResponse> {
    let channel = Channel::from_str(&channel).map_err(|_| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Canal inconnu (email ou sms).",
        )
    })?;
    app.statistics.resume_sending(&by, channel).await?;
    Ok(StatusCode::NO_CONTENT)
}
