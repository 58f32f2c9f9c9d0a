//! The public JSON API (contract: DESIGN.md §10).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::json;
use telmail_core::domain::signup::SignupInput;
use telmail_core::domain::sms::analyze;
use telmail_core::domain::topic::TopicKind;
use telmail_core::use_cases::residents::SignupReceipt;
use telmail_core::FieldErrors;

use crate::error::ApiResult;
use crate::extract::{ApiJson, Origin};
use crate::AppState;

/// `GET /healthz`: the server is up and its store migrated.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// One topic as the town's website sees it.
#[derive(Debug, Serialize)]
pub struct TopicJson {
    slug: String,
    name: String,
    description: String,
    kind: TopicKind,
    ends_on: Option<NaiveDate>,
}

/// `GET /api/topics`: topics open for sign-up today.
pub async fn topics(State(app): State<AppState>) -> ApiResult<Json<Vec<TopicJson>>> {
    let topics = app.residents.open_topics().await?;
    Ok(Json(
        topics
            .into_iter()
            .map(|t| TopicJson {
                slug: t.slug.to_string(),
                name: t.name,
                description: t.description,
                kind: t.kind,
                ends_on: t.ends_on,
            })
            .collect(),
    ))
}

/// One zone as residents and the town's website see it.
#[derive(Debug, Serialize)]
pub struct ZoneJson {
    slug: String,
    name: String,
    description: String,
    /// Its streets, so a form can find the zone from a street.
    streets: Vec<String>,
}

/// `GET /api/zones`: the zones of the town.
pub async fn zones(State(app): State<AppState>) -> ApiResult<Json<Vec<ZoneJson>>> {
    let zones = app.residents.zones().await?;
    Ok(Json(
        zones
            .into_iter()
            .map(|z| ZoneJson {
                slug: z.slug.to_string(),
                name: z.name,
                description: z.description,
                streets: z.streets,
            })
            .collect(),
    ))
}

/// `POST /api/subscriptions`: 202 whatever the address's previous state.
pub async fn subscribe(
    State(app): State<AppState>,
    Origin(origin): Origin,
    ApiJson(input): ApiJson<SignupInput>,
) -> ApiResult<impl IntoResponse> {
    let receipt = app.residents.sign_up(&input, origin).await?;
    let (message, code_url) = match &receipt {
        SignupReceipt::SmsCode { token: t } => (
            "Un code de confirmation vous est envoyé par SMS (il peut mettre quelques minutes à arriver) : saisissez-le sur la page indiquée.",
            Some(format!(
                "{}/inscription/code?t={t}",
                app.residents.config().public_url
            )),
        ),
        SignupReceipt::EmailLink => (
            "Un e-mail de confirmation vous est envoyé (il peut mettre quelques minutes à arriver) : cliquez sur le lien qu'il contient.",
            None,
        ),
    };
    let mut body = json!({
        "status": "pending",
        "confirmation": receipt.confirmation(),
        "message": message,
    });
    if let Some(url) = code_url {
        body["code_url"] = json!(url);
    }
    Ok((StatusCode::ACCEPTED, Json(body)))
}

/// Body of `POST /api/sms/analyze`.
#[derive(Debug, Deserialize)]
pub struct AnalyzeInput {
    /// The SMS text.
    #[serde(default)]
    text: Option<String>,
}

/// `POST /api/sms/analyze`: encoding, length, segments and the characters forcing UCS-2.
pub async fn analyze_sms(ApiJson(input): ApiJson<AnalyzeInput>) -> ApiResult<impl IntoResponse> {
    let Some(text) = input.text else {
        return Err(FieldErrors::single("text", "Indiquez le texte du SMS à analyser.").into());
    };
    Ok(Json(analyze(&text)))
}
