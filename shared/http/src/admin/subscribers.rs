//! `/api/admin/subscribers`: the subscriber file.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::str::FromStr;
use telmail_core::domain::contact::{Channel, Email, PhoneNumber};
use telmail_core::domain::subscriber::{Consent, Subscriber, SubscriberId, SubscriberStatus};
use telmail_core::domain::topic::TopicSlug;
use telmail_core::ports::SubscriberQuery;
use telmail_core::use_cases::subscriber_file::{
    too_big_for_one_request, EditInput, ImportMode, PaperInput, Shown,
};
use telmail_core::FieldErrors;

use super::auth::Staff;
use super::AdminState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiQuery, RawBody, Segment};

/// A subscriber as staff see it (never the confirmation secrets; contacts masked where the
/// use case says so).
#[derive(Debug, Serialize)]
pub struct SubscriberJson {
    id: SubscriberId,
    email: Option<String>,
    phone: Option<String>,
    status: SubscriberStatus,
    subscriptions: Vec<TopicChannels>,
    /// The zones of the town they named.
    zones: Vec<telmail_core::domain::zone::ZoneSlug>,
    consent: Consent,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Serialize)]
struct TopicChannels {
    topic: TopicSlug,
    channels: Vec<Channel>,
}

impl From<Subscriber> for SubscriberJson {
    /// A record its reader may see whole (one they just added or corrected).
    fn from(s: Subscriber) -> Self {
        Shown {
            email: s.email.as_ref().map(Email::to_string),
            phone: s.phone.as_ref().map(PhoneNumber::to_string),
            subscriber: s,
        }
        .into()
    }
}

impl From<Shown> for SubscriberJson {
    fn from(
        Shown {
            subscriber: s,
            email,
            phone,
        }: Shown,
    ) -> Self {
        let mut subscriptions: Vec<TopicChannels> = Vec::new();
        for c in &s.choices {
            match subscriptions.iter_mut().find(|t| t.topic == c.topic) {
                Some(t) => t.channels.push(c.channel),
                None => subscriptions.push(TopicChannels {
                    topic: c.topic.clone(),
                    channels: vec![c.channel],
                }),
            }
        }
        let status = s.status();
        Self {
            id: s.id,
            email,
            phone,
            status,
            subscriptions,
            zones: s.zones.into_iter().collect(),
            consent: s.consent,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

/// `?q=&topic=&status=&limit=&offset=`
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: Option<String>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    offset: Option<usize>,
}

/// `GET /api/admin/subscribers`
pub async fn search(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> ApiResult<impl IntoResponse> {
    let mut errors = FieldErrors::new();
    let topic = q.topic.as_deref().filter(|s| !s.is_empty()).and_then(|t| {
        TopicSlug::from_str(t)
            .map_err(|m| errors.add("topic", m))
            .ok()
    });
    let status = q.status.as_deref().filter(|s| !s.is_empty()).and_then(|s| {
        let parsed = SubscriberStatus::from_str(s).ok();
        if parsed.is_none() {
            errors.add(
                "status",
                format!("Statut inconnu : « {s} » (pending, active, unsubscribed)."),
            );
        }
        parsed
    });
    errors.into_result()?;
    let (limit, offset) = (q.limit.unwrap_or(50), q.offset.unwrap_or(0));
    let query = SubscriberQuery {
        text: q.q.filter(|s| !s.trim().is_empty()),
        topic,
        status,
        limit,
        offset,
    };
    let page = app.subscribers.search(&by, query).await?;
    let items: Vec<SubscriberJson> = page.items.into_iter().map(Into::into).collect();
    Ok(Json(
        serde_json::json!({ "items": items, "limit": page.limit, "offset": page.offset }),
    ))
}

/// `POST /api/admin/subscribers`
pub async fn add(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiJson(input): ApiJson<PaperInput>,
) -> ApiResult<impl IntoResponse> {
    let s = app.subscribers.add_paper(&by, &input).await?;
    if input.add_to_existing {
        // Perhaps someone else's entry: shown as a search would show it to this person.
        let shown = app.subscribers.get(&by, s.id).await?;
        return Ok((StatusCode::CREATED, Json(SubscriberJson::from(shown))));
    }
    Ok((StatusCode::CREATED, Json(SubscriberJson::from(s))))
}

/// `GET /api/admin/subscribers/{id}`
pub async fn get(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<SubscriberId>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(SubscriberJson::from(
        app.subscribers.get(&by, id).await?,
    )))
}

/// `PUT /api/admin/subscribers/{id}`
pub async fn edit(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<SubscriberId>,
    ApiJson(input): ApiJson<EditInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(SubscriberJson::from(
        app.subscribers.edit(&by, id, &input).await?,
    )))
}

/// `DELETE /api/admin/subscribers/{id}`
pub async fn erase(
    State(app): State<AdminState>,
    Staff(by): Staff,
    Segment(id): Segment<SubscriberId>,
) -> ApiResult<impl IntoResponse> {
    app.subscribers.erase(&by, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `?mode=all_or_nothing|valid_only&dry_run=true`
#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    #[serde(default)]
    pub(super) mode: Option<String>,
    #[serde(default)]
    pub(super) dry_run: Option<bool>,
}

/// The import mode named in a query (all-or-nothing when absent).
pub(super) fn import_mode(name: Option<&str>) -> Result<ImportMode, ApiError> {
    match name {
        None | Some("") | Some("all_or_nothing") => Ok(ImportMode::AllOrNothing),
        Some("valid_only") => Ok(ImportMode::ValidOnly),
        Some(other) => Err(FieldErrors::single(
            "mode",
            format!("Mode inconnu : « {other} » (all_or_nothing ou valid_only)."),
        )
        .into()),
    }
}

/// `POST /api/admin/subscribers/import` — the CSV file as the body, up to
/// `MAX_SYNC_IMPORT_BYTES` (1 MiB); a bigger one is a 413 pointing to the big-file import.
pub async fn import(
    State(app): State<AdminState>,
    Staff(by): Staff,
    ApiQuery(q): ApiQuery<ImportQuery>,
    body: Result<RawBody, ApiError>,
) -> ApiResult<impl IntoResponse> {
    let RawBody(body) = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                too_big_for_one_request(),
            )
            .with_field("file", too_big_for_one_request())
        } else {
            e
        }
    })?;
    let mode = import_mode(q.mode.as_deref())?;
    Ok(Json(
        app.subscribers
            .import(&by, &body, mode, q.dry_run.unwrap_or(false))
            .await?,
    ))
}

/// `GET /api/admin/subscribers/export`
pub async fn export(
    State(app): State<AdminState>,
    Staff(by): Staff,
) -> ApiResult<impl IntoResponse> {
    let csv = app.subscribers.export(&by).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"abonnes-telmail.csv\"",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        csv,
    ))
}
