//! `/api/admin/cell`: the crisis cell's members (`admin` keeps them, `cabinet` and `admin`
//! read them), its alert by SMS and call, and the alert's live view.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::cell::{CellAlertInput, CellMemberInput};
use telmail_core::domain::subscriber::SubscriberId;

use super::auth::Staff;
use super::AdminState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{not_found, ApiJson, PathValue, Segment};

/// A member of the crisis cell in the path: a member is no subscriber, hence its own 404.
pub struct MemberId(SubscriberId);

impl PathValue for MemberId {
    fn parse(raw: &str) -> Result<Self, ApiError> {
        raw.parse()
            .map(MemberId)
            .map_err(|_| not_found("Ce membre de la cellule de crise n'existe pas."))
    }
}

/// `GET /api/admin/cell/members`
pub async fn members(
    State(app): State<AdminState>,
    Staff(by): Staff,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.cell.members(&by).await?))
}

/// `POST /api/admin/cell/members`: 201 with the member.
pub async fn add(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiJson(input): ApiJson<CellMemberInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((StatusCode::CREATED, Json(app.cell.add(&by, &input).await?)))
}

/// `PUT /api/admin/cell/members/{id}`
pub async fn edit(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(MemberId(id)): Segment<MemberId>,
    ApiJson(input): ApiJson<CellMemberInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.cell.edit(&by, id, &input).await?))
}

/// `DELETE /api/admin/cell/members/{id}`: 204.
pub async fn remove(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(MemberId(id)): Segment<MemberId>,
) -> ApiResult<impl IntoResponse> {
    app.cell.remove(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/admin/cell/alerts`: the recent alerts of the cell.
pub async fn alerts(
    State(app): State<AdminState>,
    Staff(by): Staff,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.cell.alerts(&by).await?))
}

/// `POST /api/admin/cell/alerts`: 201 with what was queued.
pub async fn alert(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiJson(input): ApiJson<CellAlertInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(app.cell.alert(&by, &input).await?),
    ))
}

/// `GET /api/admin/cell/alerts/{id}`: the alert's live view.
pub async fn view(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.cell.view(&by, id).await?))
}

/// `POST /api/admin/cell/alerts/{id}/follow-up`: the members not reached alerted again; what
/// was queued.
pub async fn follow_up(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.cell.follow_up(&by, id).await?))
}
