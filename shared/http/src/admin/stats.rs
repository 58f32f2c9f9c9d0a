//! `/api/admin/stats`: the town's figures for a period.

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
