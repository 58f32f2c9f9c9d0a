//! `/api/admin/topics`: topic management.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use telmail_core::domain::topic::TopicSlug;
use telmail_core::use_cases::topics_admin::TopicInput;

use super::auth::Staff;
use super::AdminState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, Segment};

/// `GET /api/admin/topics`
pub async fn list(State(app): State<AdminState>, Staff(by): Staff) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.topics.list(&by).await?))
}

/// `POST /api/admin/topics`
pub async fn create(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiJson(input): ApiJson<TopicInput>,
) -> ApiResult<impl IntoResponse> {
    Ok((
        StatusCode::CREATED,
        Json(app.topics.create(&by, &input).await?),
    ))
}

/// `PUT /api/admin/topics/{slug}`
pub async fn update(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(slug): Segment<TopicSlug>,
    ApiJson(input): ApiJson<TopicInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.topics.update(&by, &slug, &input).await?))
}

/// `POST /api/admin/topics/{slug}/close`
pub async fn close(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(slug): Segment<TopicSlug>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(app.topics.close(&by, &slug).await?))
}
