//! `/api/admin/zones`: the zones of the town (`admin`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use telmail_core::domain::zone::ZoneInput;

use super::auth::Staff;
use super::AdminState;
use crate::error::ApiResult;
use crate::extract::ApiJson;

/// `POST /api/admin/zones`: 201 with the zone (its `slug` made from its name).
pub async fn create(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiJson(input): ApiJson<ZoneInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(app.zones.create(&by, &input).await?),
    ))
}
