//! `/api/admin/proposals`: the departments propose (`service`), the communication service takes,
//! merges or declines (`redaction`), everyone sees what became of each.

use std::str::FromStr;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use telmail_core::domain::proposal::{ProposalId, ProposalInput};
use telmail_core::FieldErrors;

use super::auth::Staff;
use super::stats::PeriodQuery;
use super::AdminState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, Segment};

/// `GET /api/admin/proposals` — the communication service's inbox.
pub async fn inbox(
    State(app): State<AdminState>,
    Staff(by): Staff,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.proposals.inbox(&by).await?))
}

/// `POST /api/admin/proposals` — a department proposes.
pub async fn propose(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiJson(input): ApiJson<ProposalInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(app.proposals.propose(&by, &input).await?),
    ))
}

/// `GET /api/admin/proposals/mine` — the caller's own proposals.
pub async fn mine(State(app): State<AdminState>, Staff(by): Staff) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.proposals.mine(&by).await?))
}

/// `GET /api/admin/proposals/{id}`
pub async fn get(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<ProposalId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.proposals.get(&by, id).await?))
}

/// `GET /api/admin/proposals/{id}/sent` — the SMS and email finally sent for it.
pub async fn sent(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<ProposalId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.proposals.sent_messages(&by, id).await?))
}

/// `PUT /api/admin/proposals/{id}` — its author edits it while it is new.
pub async fn edit(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<ProposalId>,
    ApiJson(input): ApiJson<ProposalInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.proposals.edit(&by, id, &input).await?))
}

/// `POST /api/admin/proposals/{id}/withdraw`
pub async fn withdraw(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<ProposalId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.proposals.withdraw(&by, id).await?))
}

/// `{ "reason" }`
#[derive(Debug, Deserialize)]
pub struct DeclineInput {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/admin/proposals/{id}/decline`
pub async fn decline(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<ProposalId>,
    ApiJson(input): ApiJson<DeclineInput>,
) -> ApiResult<impl IntoResponse> {
    let reason = input.reason.unwrap_or_default();
    Ok(Json(app.proposals.decline(&by, id, &reason).await?))
}

/// `{ "ids": [...] }`
#[derive(Debug, Deserialize)]
pub struct TakeInput {
    #[serde(default)]
    ids: Vec<String>,
}

/// `POST /api/admin/proposals/take` — one proposal, or several merged, into a draft campaign.
pub async fn take(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiJson(input): ApiJson<TakeInput>,
) -> ApiResult<impl IntoResponse> {
    let ids = input
        .ids
        .iter()
        .map(|raw| {
            ProposalId::from_str(raw).map_err(|_| {
                ApiError::from(FieldErrors::single(
                    "ids",
                    format!("Identifiant de proposition invalide : « {raw} »."),
                ))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let campaign = app.proposals.take(&by, &ids).await?;
    Ok((
        StatusCode::CREATED,
        Json(app.campaigns.view(&by, campaign.id).await?),
    ))
}

/// `GET /api/admin/proposals/stats?from=&to=` — by department.
pub async fn stats(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(
        app.proposals
            .stats(&by, q.from.as_deref(), q.to.as_deref())
            .await?,
    ))
}
