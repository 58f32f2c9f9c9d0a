//! `/api/admin/campaigns/{id}/crisis`: who an urgent campaign reached and who is safe, the
//! call-back list as CSV, and the follow-up to those not reached.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use telmail_core::domain::campaign::CampaignId;

use super::auth::Staff;
use super::AdminState;
use crate::error::ApiResult;
use crate::extract::Segment;

/// `GET /api/admin/campaigns/{id}/crisis`
pub async fn view(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.crisis.view(&by, id).await?))
}

/// `GET /api/admin/campaigns/{id}/crisis/export`: the people to call back, as CSV.
pub async fn export(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
) -> ApiResult<impl IntoResponse> {
    let csv = app.crisis.callbacks_csv(&by, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"personnes-a-rappeler.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    ))
}

/// `POST /api/admin/campaigns/{id}/crisis/follow-up`
pub async fn follow_up(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.crisis.follow_up(&by, id).await?))
}
