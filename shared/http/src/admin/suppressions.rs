//! `/api/admin/suppressions`: the addresses and numbers that receive nothing any more.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;

use super::auth::Staff;
use super::AdminState;
use crate::error::ApiResult;
use crate::extract::Segment;

/// `GET /api/admin/suppressions`
pub async fn list(State(app): State<AdminState>, Staff(by): Staff) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.subscribers.suppressions(&by).await?))
}

/// `DELETE /api/admin/suppressions/{address}`
pub async fn lift(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(address): Segment<String>,
) -> ApiResult<impl IntoResponse> {
    app.subscribers.lift_suppression(&by, &address).await?;
    Ok(StatusCode::NO_CONTENT)
}
