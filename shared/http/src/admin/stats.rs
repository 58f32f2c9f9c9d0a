//! `/api/admin/stats`, `/health`, `/pauses`, `/outbox`: the town's figures for a period, the
//! service's health (queues, channels the provider paused and campaigns braked, resumed here), and the embedded
//! default's outbox.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use telmail_core::domain::campaign::CampaignId;
use telmail_core::domain::contact::Channel;

use super::auth::Staff;
use super::AdminState;
use crate::error::ApiResult;
use crate::extract::{ApiQuery, PathValue, Segment};

/// `?from=&to=` (dates or months).
#[derive(Debug, Deserialize)]
pub struct PeriodQuery {
    #[serde(default)]
    pub(super) from: Option<String>,
    #[serde(default)]
    pub(super) to: Option<String>,
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

/// `?campaign=`: the campaign braked (none: the channel the provider paused).
#[derive(Debug, Deserialize)]
pub struct ResumeQuery {
    #[serde(default)]
    campaign: Option<String>,
}

/// `POST /api/admin/pauses/{channel}/resume[?campaign=<id>]`: sending resumes on a channel the
/// provider paused, or a braked campaign's sending on it.
pub async fn resume(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiQuery(q): ApiQuery<ResumeQuery>,
    Segment(channel): Segment<Channel>,
) -> ApiResult<impl IntoResponse> {
    let campaign = q
        .campaign
        .as_deref()
        .map(<CampaignId as PathValue>::parse)
        .transpose()?;
    app.statistics
        .resume_sending(&by, channel, campaign)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
