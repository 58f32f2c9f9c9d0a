//! The resident pages: sign-up, confirmation (link or SMS code), preferences, unsubscribe.
//! They work without JavaScript; a GET never changes anything (mail scanners follow links).

use std::collections::BTreeSet;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::context;
use serde::Serialize;
use telmail_core::domain::contact::Channel;
use telmail_core::domain::reach::Answer;
use telmail_core::domain::signup::{SignupInput, SubscriptionInput};
use telmail_core::domain::subscriber::{
    Subscriber, SubscriberId, SubscriberStatus, CONSENT_WORDING,
};
use telmail_core::domain::topic::EMERGENCY_TOPICS;
use telmail_core::token::TokenPurpose;
use telmail_core::use_cases::residents::{
    CodeOutcome, CodePage, ConfirmationState, EmailConfirmed, ReplyPage, SignupReceipt,
};
use telmail_core::{DomainError, FieldErrors};

use crate::extract::{FormFields, Origin, TokenParam};
use crate::render::{Link, Tone};
use crate::AppState;

/// What the form fields held, to fill the form again after an error.
#[derive(Debug, Default, Serialize)]
struct FormValues {
    email: String,
    phone: String,
    consent: bool,
    choices: Vec<String>,
    /// Zones ticked, or found from the street typed.
    zones: Vec<String>,
    street: String,
}

/// Turns `choix=slug:channel` checkbox values into subscriptions, keeping the topics' order.
fn subscriptions_from(form: &FormFields) -> Vec<SubscriptionInput> {
    let mut out: Vec<SubscriptionInput> = Vec::new();
    for value in form.all("choix") {
        let (topic, channel) = value.split_once(':').unwrap_or((value, ""));
        match out.iter_mut().find(|s| s.topic == topic) {
            Some(s) => s.channels.push(channel.to_owned()),
            None => out.push(SubscriptionInput {
                topic: topic.to_owned(),
                channels: vec![channel.to_owned()],
            }),
        }
    }
    out
}

/// The zones ticked on the form (`zone` checkboxes).
fn zones_from(form: &FormFields) -> Vec<String> {
    form.all("zone").map(str::to_owned).collect()
}

fn choice_keys(sub: &Subscriber) -> Vec<String> {
    sub.choices
        .iter()
        .map(|c| format!("{}:{}", c.topic, c.channel))
        .collect()
}

/// `GET /inscription`
pub async fn signup_page(State(app): State<AppState>) -> Response {
    signup_form(
        &app,
        StatusCode::OK,
        FormValues::default(),
        FieldErrors::new(),
    )
    .await
}

async fn signup_form(
    app: &AppState,
    status: StatusCode,
    values: FormValues,
    errors: FieldErrors,
) -> Response {
    match app.residents.open_topics().await {
        Ok(topics) => app.pages.render(
            status,
            "signup.html",
            "S'inscrire aux messages de la Ville",
            context! { topics, values, errors, consent_wording => CONSENT_WORDING,
                emergency_topics => EMERGENCY_TOPICS, zones => app.residents.zones().await.unwrap_or_default() },
        ),
        Err(e) => app.pages.error(e),
    }
}

/// `POST /inscription`
pub async fn signup_submit(
    State(app): State<AppState>,
    Origin(origin): Origin,
    form: FormFields,
) -> Response {
    let mut zones = zones_from(&form);
    let street = form.get("street").map(str::trim).unwrap_or("").to_owned();
    let street_error = match add_street_zones(&app, &street, &mut zones).await {
        Ok(refused) => refused,
        Err(e) => return app.pages.error(e),
    };
    let input = SignupInput {
        email: form.get("email").map(str::to_owned),
        phone: form.get("phone").map(str::to_owned),
        subscriptions: subscriptions_from(&form),
        consent: form.get("consent").is_some(),
        zones,
    };
    if let Some(message) = street_error {
        let mut errors = FieldErrors::new();
        errors.add("street", message);
        let values = signup_values(input, &form, street);
        return signup_form(&app, StatusCode::UNPROCESSABLE_ENTITY, values, errors).await;
    }
    match app.residents.sign_up(&input, origin).await {
        Ok(receipt) => signed_up(&app, receipt),
        Err(DomainError::Validation(errors)) => {
            let values = signup_values(input, &form, street);
            signup_form(&app, StatusCode::UNPROCESSABLE_ENTITY, values, errors).await
        }
        Err(e) => app.pages.error(e),
    }
}

/// Adds the zones that include `street` (when given) to `zones`; a street in no zone is the
/// French error for the `street` field.
async fn add_street_zones(
    app: &AppState,
    street: &str,
    zones: &mut Vec<String>,
) -> Result<Option<String>, DomainError> {
    if street.is_empty() {
        return Ok(None);
    }
    let found = app.residents.zones_of_street(street).await?;
    if found.is_empty() {
        return Ok(Some(format!("Aucune zone ne comprend la rue « {street} » : cochez une zone ou laissez ce champ vide.")));
    }
    for z in found.into_iter().map(String::from) {
        if !zones.contains(&z) {
            zones.push(z);
        }
    }
    Ok(None)
}

/// What the resident typed, to show the form again with its errors.
fn signup_values(input: SignupInput, form: &FormFields, street: String) -> FormValues {
    FormValues {
        email: input.email.unwrap_or_default(),
        phone: input.phone.unwrap_or_default(),
        consent: input.consent,
        choices: form.all("choix").map(str::to_owned).collect(),
        zones: input.zones,
        street,
    }
}

/// The page after a sign-up: the SMS code form, or "check your mailbox".
fn signed_up(app: &AppState, receipt: SignupReceipt) -> Response {
    match receipt {
        SignupReceipt::SmsCode { token } => {
            Redirect::to(&format!("/inscription/code?t={token}")).into_response()
        }
        SignupReceipt::EmailLink => app.pages.message(
            StatusCode::OK,
            Tone::Success,
            "Vérifiez votre messagerie",
            &[
                "Nous vous envoyons un e-mail : il peut mettre quelques minutes à arriver. Cliquez sur le lien qu'il contient pour confirmer votre inscription (il est valable 7 jours).",
                "Pensez à regarder dans vos courriers indésirables si vous ne le voyez pas.",
            ],
            None,
        ),
    }
}

fn confirmed_page(app: &AppState, id: SubscriberId) -> Response {
    app.pages.message(
        StatusCode::OK,
        Tone::Success,
        "Inscription confirmée",
        &[
            "Merci ! Vous recevrez désormais les messages de la Ville sur les thèmes choisis.",
            "Chaque message contient un lien pour modifier vos choix ou vous désabonner.",
        ],
        Some(Link {
            href: app.residents.manage_url(id),
            label: "Gérer mes abonnements".into(),
        }),
    )
}

/// `GET /confirmation?t=` — shows a button; confirming needs the POST.
pub async fn confirm_page(State(app): State<AppState>, TokenParam(t): TokenParam) -> Response {
    match app.residents.confirmation_state(&t).await {
        Ok(ConfirmationState::Pending(_)) => app.pages.render(
            StatusCode::OK,
            "confirm.html",
            "Confirmer mon inscription",
            context! { token => t },
        ),
        Ok(ConfirmationState::AlreadyActive(id)) => confirmed_page(&app, id),
        Err(e) => app.pages.error(e),
    }
}

/// `POST /confirmation` — the email is proven; a mobile in the sign-up is next.
pub async fn confirm_submit(State(app): State<AppState>, form: FormFields) -> Response {
    match app
        .residents
        .confirm_email(form.get("t").unwrap_or(""))
        .await
    {
        Ok(EmailConfirmed::Done(id)) => confirmed_page(&app, id),
        Ok(EmailConfirmed::CodeNext {
            token,
            refused: None,
        }) => Redirect::to(&format!("/inscription/code?t={token}")).into_response(),
        Ok(EmailConfirmed::CodeNext {
            token,
            refused: Some(why),
        }) => {
            let mut errors = FieldErrors::new();
            errors.add("phone", why);
            let page = CodePage { can_skip: true };
            code_form(&app, StatusCode::OK, &token, &page, errors)
        }
        Err(e) => app.pages.error(e),
    }
}

/// `GET /inscription/code?t=`
pub async fn code_page(State(app): State<AppState>, TokenParam(t): TokenParam) -> Response {
    match app.residents.code_page(&t).await {
        Ok(page) => code_form(&app, StatusCode::OK, &t, &page, FieldErrors::new()),
        Err(e) => app.pages.error(e),
    }
}

fn code_form(
    app: &AppState,
    status: StatusCode,
    token: &str,
    page: &CodePage,
    errors: FieldErrors,
) -> Response {
    code_form_with(app, status, token, page, errors, None)
}

/// The code form with a notice above it (a new code was sent).
fn code_form_with(
    app: &AppState,
    status: StatusCode,
    token: &str,
    page: &CodePage,
    errors: FieldErrors,
    notice: Option<&str>,
) -> Response {
    app.pages.render(
        status,
        "code.html",
        "Saisir le code reçu par SMS",
        context! { token, errors, notice, can_skip => page.can_skip },
    )
}

/// A code page that leads nowhere any more: the same whatever the sign-up became, no link.
fn no_longer_pending(app: &AppState) -> Response {
    app.pages.message(
        StatusCode::OK,
        Tone::Info,
        "Ce lien n'est plus utilisable",
        &["Cette inscription a déjà été confirmée ou abandonnée. Les messages de la Ville contiennent un lien pour gérer vos abonnements."],
        None,
    )
}

/// `POST /inscription/code` — checks the code, or goes on without SMS (`action=sans-sms`).
pub async fn code_submit(State(app): State<AppState>, form: FormFields) -> Response {
    let token = form.get("t").unwrap_or("");
    // A new code (the form still carries its `code` field, as every code form does).
    if form.get("action") == Some("renvoyer") && form.get("code").is_some() {
        return match app.residents.resend_code(token).await {
            Ok(true) => match app.residents.code_page(token).await {
                Ok(page) => code_form_with(&app, StatusCode::OK, token, &page, FieldErrors::new(), Some("Un nouveau code vient de vous être envoyé par SMS : saisissez-le ci-dessous (l'ancien ne marche plus).")),
                Err(e) => app.pages.error(e),
            },
            Ok(false) => no_longer_pending(&app),
            Err(DomainError::Validation(errors)) => match app.residents.code_page(token).await {
                Ok(page) => code_form(&app, StatusCode::UNPROCESSABLE_ENTITY, token, &page, errors),
                Err(e) => app.pages.error(e),
            },
            Err(e) => app.pages.error(e),
        };
    }
    let outcome = if form.get("action") == Some("sans-sms") {
        app.residents.skip_phone(token).await
    } else {
        app.residents
            .confirm_code(token, form.get("code").unwrap_or(""))
            .await
    };
    match outcome {
        Ok(CodeOutcome::Confirmed(id)) => confirmed_page(&app, id),
        Ok(CodeOutcome::NoLongerPending) => no_longer_pending(&app),
        Ok(CodeOutcome::Abandoned) => app.pages.message(
            StatusCode::OK,
            Tone::Info,
            "Inscription abandonnée",
            &["Vous n'aviez choisi que des SMS : sans numéro confirmé, il n'y a rien à vous envoyer. Aucune donnée n'est conservée."],
            Some(Link { href: "/inscription".into(), label: "Recommencer l'inscription".into() }),
        ),
        Err(DomainError::Validation(errors)) => match app.residents.code_page(token).await {
            Ok(page) => code_form(&app, StatusCode::UNPROCESSABLE_ENTITY, token, &page, errors),
            Err(e) => app.pages.error(e),
        },
        Err(e) => app.pages.error(e),
    }
}

async fn preferences_form(
    app: &AppState,
    token: &str,
    status: StatusCode,
    notice: Option<&str>,
    errors: FieldErrors,
) -> Response {
    preferences_form_left(app, token, status, notice, errors, None).await
}

/// The preferences page; after leaving one topic (`left`, its slug) the notice names it.
async fn preferences_form_left(
    app: &AppState,
    token: &str,
    status: StatusCode,
    notice: Option<&str>,
    errors: FieldErrors,
    left: Option<&str>,
) -> Response {
    let view = match app.residents.preferences(token).await {
        Ok(v) => v,
        Err(e) => return app.pages.error(e),
    };
    let left_notice = left.map(|slug| {
        let name = view
            .topics
            .iter()
            .find(|t| t.slug.as_str() == slug)
            .map_or(slug, |t| t.name.as_str());
        format!("Vous ne recevrez plus les messages « {name} ». Vos autres abonnements restent inchangés.")
    });
    let notice = left_notice.as_deref().or(notice);
    let sub = &view.subscriber;
    let disabled: Vec<&str> = Channel::ALL
        .iter()
        .filter(|c| !sub.can_receive(**c))
        .map(|c| c.as_str())
        .collect();
    let subscribed: BTreeSet<_> = sub.choices.iter().map(|c| &c.topic).collect();
    let subscribed_topics: Vec<_> = view
        .topics
        .iter()
        .filter(|t| subscribed.contains(&t.slug))
        .collect();
    app.pages.render(
        status,
        "preferences.html",
        "Mes abonnements",
        context! {
            token,
            notice,
            errors,
            topics => view.topics,
            subscribed_topics,
            disabled_channels => disabled,
            emergency_topics => EMERGENCY_TOPICS,
            values => context! { choices => choice_keys(sub) },
            email => sub.email.as_ref().map(|e| e.masked()),
            phone => sub.phone.as_ref().map(|p| p.masked()),
            status => sub.status().as_str(),
        },
    )
}

/// `GET /preferences?t=`
pub async fn preferences_page(State(app): State<AppState>, TokenParam(t): TokenParam) -> Response {
    preferences_form(&app, &t, StatusCode::OK, None, FieldErrors::new()).await
}

fn unsubscribed_page(app: &AppState, manage_token: Option<&str>) -> Response {
    app.pages.message(
        StatusCode::OK,
        Tone::Success,
        "Vous êtes désabonné(e)",
        &["Vous ne recevrez plus de messages de la Ville. Vous pouvez vous réinscrire à tout moment."],
        Some(match manage_token {
            Some(t) => Link { href: format!("/preferences?t={t}"), label: "Me réabonner".into() },
            None => Link { href: "/inscription".into(), label: "Me réinscrire".into() },
        }),
    )
}

/// `POST /preferences` — save choices, leave one topic, or leave everything.
pub async fn preferences_submit(
    State(app): State<AppState>,
    Origin(origin): Origin,
    form: FormFields,
) -> Response {
    let token = form.get("t").unwrap_or("").to_owned();
    let result: Result<Option<Subscriber>, DomainError> = if let Some(topic) = form.get("topic_off")
    {
        app.residents
            .unsubscribe_topic(&token, topic)
            .await
            .map(Some)
    } else if form.get("action") == Some("unsubscribe_all") {
        app.residents
            .unsubscribe_all(TokenPurpose::Manage, &token)
            .await
            .map(|_| None)
    } else {
        app.residents
            .save_preferences(&token, &subscriptions_from(&form), origin)
            .await
            .map(Some)
    };
    match result {
        Ok(Some(sub)) if sub.status() != SubscriberStatus::Unsubscribed => {
            preferences_form_left(
                &app,
                &token,
                StatusCode::OK,
                Some("Vos choix sont enregistrés."),
                FieldErrors::new(),
                form.get("topic_off"),
            )
            .await
        }
        Ok(_) => unsubscribed_page(&app, Some(&token)),
        Err(DomainError::Validation(errors)) => {
            preferences_form(&app, &token, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await
        }
        Err(e) => app.pages.error(e),
    }
}

/// `GET /preferences/donnees?t=` — downloads everything held, as JSON.
pub async fn export_data(State(app): State<AppState>, TokenParam(t): TokenParam) -> Response {
    match app.residents.export(&t).await {
        Ok(data) => (
            [
                (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                (
                    header::CONTENT_DISPOSITION,
                    "attachment; filename=\"mes-donnees-telmail.json\"",
                ),
                (header::CACHE_CONTROL, "no-store"),
            ],
            serde_json::to_string_pretty(&data).unwrap_or_default(),
        )
            .into_response(),
        Err(e) => app.pages.error(e),
    }
}

/// `POST /preferences/effacer` — erases the subscriber once the box is ticked.
pub async fn erase_submit(State(app): State<AppState>, form: FormFields) -> Response {
    let token = form.get("t").unwrap_or("");
    if form.get("confirm").is_none() {
        let errors = match FieldErrors::single(
            "confirm",
            "Cochez la case pour confirmer l'effacement de vos données.",
        ) {
            DomainError::Validation(f) => f,
            _ => FieldErrors::new(),
        };
        return preferences_form(&app, token, StatusCode::UNPROCESSABLE_ENTITY, None, errors).await;
    }
    match app.residents.erase(token).await {
        Ok(()) => app.pages.message(
            StatusCode::OK,
            Tone::Success,
            "Vos données ont été effacées",
            &["Nous ne conservons plus aucune donnée personnelle vous concernant. Vous ne recevrez plus de messages."],
            Some(Link { href: "/inscription".into(), label: "Me réinscrire".into() }),
        ),
        Err(e) => app.pages.error(e),
    }
}

/// `GET /desabonnement?t=` — shows a button; unsubscribing needs the POST.
pub async fn unsubscribe_page(State(app): State<AppState>, TokenParam(t): TokenParam) -> Response {
    match app.residents.check_unsubscribe_token(&t).await {
        Ok(sub) if sub.status() == SubscriberStatus::Unsubscribed => unsubscribed_page(&app, None),
        Ok(sub) => app.pages.render(
            StatusCode::OK,
            "unsubscribe.html",
            "Me désabonner",
            context! {
                token => t,
                email => sub.email.as_ref().map(|e| e.masked()),
                phone => sub.phone.as_ref().map(|p| p.masked()),
            },
        ),
        Err(e) => app.pages.error(e),
    }
}

/// `POST /desabonnement?t=` — one-click unsubscribe (RFC 8058) and the page's button.
pub async fn unsubscribe_submit(
    State(app): State<AppState>,
    TokenParam(t): TokenParam,
) -> Response {
    match app
        .residents
        .unsubscribe_all(TokenPurpose::Unsubscribe, &t)
        .await
    {
        Ok(()) => unsubscribed_page(&app, None),
        Err(e) => app.pages.error(e),
    }
}

/// The reply page of an urgent campaign: two buttons, with the answer already given.
fn reply_form(
    app: &AppState,
    status: StatusCode,
    token: &str,
    page: &ReplyPage,
    errors: FieldErrors,
) -> Response {
    app.pages.render(
        status,
        "reply.html",
        "Êtes-vous en sécurité ?",
        context! {
            token => token,
            campaign_title => page.title,
            answer => page.answer.map(|a| a.label()),
            errors => errors,
        },
    )
}

/// `GET /s?t=` — the link of an urgent campaign's SMS or email: shows the two answers;
/// answering needs the POST.
pub async fn reply_page(State(app): State<AppState>, TokenParam(t): TokenParam) -> Response {
    match app.residents.reply_page(&t).await {
        Ok(page) => reply_form(&app, StatusCode::OK, &t, &page, FieldErrors::new()),
        Err(e) => app.pages.error(e),
    }
}

/// `POST /s` — records « Je suis en sécurité » or « J'ai besoin d'aide ».
pub async fn reply_submit(State(app): State<AppState>, form: FormFields) -> Response {
    let token = form.get("t").unwrap_or("");
    match app
        .residents
        .reply(token, form.get("answer").unwrap_or(""))
        .await
    {
        Ok(Answer::Safe) => app.pages.message(
            StatusCode::OK,
            Tone::Success,
            "Merci, votre réponse est enregistrée",
            &[
                "Vous avez indiqué être en sécurité. Suivez les consignes des autorités.",
                "Si votre situation change, rouvrez le lien du message pour nous le dire.",
            ],
            None,
        ),
        Ok(Answer::NeedsHelp) => app.pages.message(
            StatusCode::OK,
            Tone::Info,
            "Votre demande d'aide est enregistrée",
            &[
                "Les équipes de la Ville vont vous contacter ou venir vous voir.",
                "En cas de danger immédiat, appelez le 112.",
            ],
            None,
        ),
        Err(DomainError::Validation(errors)) => match app.residents.reply_page(token).await {
            Ok(page) => reply_form(&app, StatusCode::UNPROCESSABLE_ENTITY, token, &page, errors),
            Err(e) => app.pages.error(e),
        },
        Err(e) => app.pages.error(e),
    }
}
