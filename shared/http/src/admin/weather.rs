//! `/api/admin/weather`: the relay's state and policy, and its templates.

use axum::extract::State;
use axum::response::IntoResponse;
use axum::Json;
use telmail_core::domain::alert_templates::AlertTemplates;

use super::auth::Staff;
use super::AdminState;
use crate::error::ApiResult;
use crate::extract::ApiJson;

/// `GET /api/admin/weather`
pub async fn overview(
    State(app): State<AdminState>,
    Staff(by): Staff,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.weather.overview(&by).await?))
}

/// `GET /api/admin/weather/templates`
pub async fn templates(
    State(app): State<AdminState>,
    Staff(by): Staff,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.weather.templates(&by).await?))
}

/// `PUT /api/admin/weather/templates`
pub async fn save_templates(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiJson(templates): ApiJson<AlertTemplates>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.weather.save_templates(&by, templates).await?))
}
