//! `/api/admin/stats`, `/health`, `/outbox`: the town's figures for a period, the queues' health,
//! and the embedded default's outbox.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;

use super::auth::Staff;
use super::AdminState;
use crate::error::ApiResult;
use crate::extract::ApiQuery;

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
