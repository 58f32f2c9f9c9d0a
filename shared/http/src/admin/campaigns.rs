//! `/api/admin/campaigns`: drafts, workflow, estimate, preview, test send, progress.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use telmail_core::domain::campaign::{CampaignId, CampaignInput, CampaignStatus};
use telmail_core::domain::provider_limits::SendingOutlook;
use telmail_core::use_cases::campaigns::CampaignView;
use telmail_core::use_cases::draft_estimate::DraftEstimateInput;
use telmail_core::FieldErrors;

use super::auth::Staff;
use super::AdminState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, OptionalJson, Segment};

/// `?status=&limit=`
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /api/admin/campaigns`
pub async fn list(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> ApiResult<impl IntoResponse> {
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(CampaignStatus::from_str(s).map_err(|_| {
            ApiError::from(FieldErrors::single(
                "status",
                format!("Statut inconnu : « {s} »."),
            ))
        })?),
    };
    Ok(Json(
        app.campaigns
            .list(&by, status, q.limit.unwrap_or(100))
            .await?,
    ))
}

/// `POST /api/admin/campaigns`
pub async fn create(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiJson(input): ApiJson<CampaignInput>,
) -> ApiResult<impl IntoResponse> {
    let c = app.campaigns.create(&by, &input).await?;
    Ok((
        StatusCode::CREATED,
        Json(app.campaigns.view(&by, c.id).await?),
    ))
}

/// `GET /api/admin/campaigns/{id}`
pub async fn get(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.campaigns.view(&by, id).await?))
}

/// `PUT /api/admin/campaigns/{id}`
pub async fn update(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
    ApiJson(input): ApiJson<CampaignInput>,
) -> ApiResult<impl IntoResponse> {
    app.campaigns.update(&by, id, &input).await?;
    Ok(Json(app.campaigns.view(&by, id).await?))
}

/// Body of reject and cancel.
#[derive(Debug, Default, Deserialize)]
pub struct ReasonInput {
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/admin/campaigns/{id}/estimate`
pub async fn estimate(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.campaigns.estimate(&by, id).await?))
}

/// `POST /api/admin/estimate`: the composer's estimate of what it holds, before saving.
pub async fn estimate_draft(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiJson(input): ApiJson<DraftEstimateInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.campaigns.estimate_draft(&by, &input).await?))
}

/// `POST /api/admin/campaigns/{id}/test`
pub async fn test_send(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.campaigns.test_send(&by, id).await?))
}

/// `POST /api/admin/campaigns/{id}/submit`
pub async fn submit(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
) -> ApiResult<impl IntoResponse> {
    app.campaigns.submit(&by, id).await?;
    Ok(Json(app.campaigns.view(&by, id).await?))
}

/// What an approval names: the version of the campaign that was read.
#[derive(Debug, Default, Deserialize)]
pub struct ApprovalInput {
    /// The campaign's `version` when it was read.
    #[serde(default)]
    version: Option<u32>,
}

/// A campaign just approved, with the outlook it was weighed by (its warnings).
#[derive(Serialize)]
struct Approved {
    #[serde(flatten)]
    view: CampaignView,
    outlook: SendingOutlook,
}

/// `POST /api/admin/campaigns/{id}/approve` with `{ "version" }` (the version read); `409`
/// when the campaign cannot start within the providers' limits.
pub async fn approve(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
    OptionalJson(body): OptionalJson<ApprovalInput>,
) -> ApiResult<impl IntoResponse> {
    let (_, outlook) = app
        .campaigns
        .approve_with_outlook(&by, id, body.version)
        .await?;
    Ok(Json(Approved {
        view: app.campaigns.view(&by, id).await?,
        outlook,
    }))
}

/// `POST /api/admin/campaigns/{id}/reject` with `{ "reason" }` (required).
pub async fn reject(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
    OptionalJson(body): OptionalJson<ReasonInput>,
) -> ApiResult<impl IntoResponse> {
    let reason = body.reason.as_deref().unwrap_or("");
    app.campaigns.reject(&by, id, reason).await?;
    Ok(Json(app.campaigns.view(&by, id).await?))
}

/// `POST /api/admin/campaigns/{id}/cancel` with an optional `{ "reason" }`.
pub async fn cancel(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
    OptionalJson(body): OptionalJson<ReasonInput>,
) -> ApiResult<impl IntoResponse> {
    app.campaigns
        .cancel(&by, id, body.reason.as_deref())
        .await?;
    Ok(Json(app.campaigns.view(&by, id).await?))
}

/// `GET /api/admin/campaigns/{id}/preview`
pub async fn preview(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.campaigns.preview(&by, id).await?))
}

/// `?limit=&offset=`
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    offset: Option<usize>,
}

/// `GET /api/admin/campaigns/{id}/deliveries`
pub async fn deliveries(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiQuery(q): ApiQuery<PageQuery>,
    Segment(id): Segment<CampaignId>,
) -> ApiResult<impl IntoResponse> {
    let items = app
        .campaigns
        .deliveries(&by, id, q.limit.unwrap_or(100), q.offset.unwrap_or(0))
        .await?;
    Ok(Json(items))
}

/// Body of `POST /api/admin/sms/analyze`.
#[derive(Debug, Deserialize)]
pub struct SmsText {
    #[serde(default)]
    text: String,
}

/// `POST /api/admin/sms/analyze`: the composer's live counter (not rate-limited like the
/// public analysis, and with the cost and the GSM-7 stand-ins).
pub async fn analyze_sms(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiJson(input): ApiJson<SmsText>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.campaigns.analyze_sms(&by, &input.text)?))
}

/// Body of `POST /api/admin/preview`.
#[derive(Debug, Deserialize)]
pub struct DraftEmail {
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body_markdown: String,
}

/// `POST /api/admin/preview`: an email being written, in the town's layout.
pub async fn preview_draft(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiJson(input): ApiJson<DraftEmail>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.campaigns.preview_draft(
        &by,
        &input.subject,
        &input.body_markdown,
    )?))
}

/// `POST /api/admin/archive/{id}/withdraw`: takes a message out of the public archive for good
/// (`redaction` or `admin`); 204.
pub async fn withdraw_from_archive(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<CampaignId>,
) -> ApiResult<impl IntoResponse> {
    app.archive.withdraw(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
