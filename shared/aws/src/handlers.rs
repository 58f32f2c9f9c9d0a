//! What each function does with its events, apart from the Lambda runtime so tests can feed
//! real event payloads to the same code.

use std::sync::Arc;

use axum::Router;
use chrono::{DateTime, Timelike, Utc};
use serde_json::Value;
use telmail_core::domain::topic::default_topics;
use telmail_core::ports::{TopicStore, WeatherFeed};
use telmail_core::DomainError;
use telmail_http::admin::{AdminState, Part};

use crate::backend::Aws;
use crate::consumer::{batch_response, Consumer};
use crate::error::EventError;
use crate::events::Incoming;
use crate::feedback::{sms_receipts, voice_event, Feedback, VoiceEvent};

/// The public Router (`subscribe`): resident pages and the public API.
pub fn public_router(aws: &Aws) -> Router {
    crate::gateway::with_gateway_context(
        telmail_http::router(aws.use_cases.residents.clone(), &aws.http).merge(
            telmail_http::website::router(aws.use_cases.archive.clone(), &aws.http),
        ),
    )
}

/// One part of the staff API (`campaigns`, `approve`, `admin`).
pub fn staff_router(aws: &Aws, part: Part) -> Router {
    crate::gateway::with_gateway_context(telmail_http::staff_part_router(
        AdminState::from(&aws.use_cases),
        part,
        &aws.http,
    ))
}

/// `fan-out` and `send`: an SQS batch (partial batch response), or for `fan-out` the schedule
/// that starts due campaigns, purges expired sign-ups and creates the default topics once.
/// A batch's deliveries are all done by `deadline` (the invocation's end): what cannot be sent
/// before it goes back to the queue unclaimed.
pub async fn queue_event(
    aws: &Aws,
    event: Value,
    deadline: DateTime<Utc>,
) -> Result<Value, EventError> {
    match Incoming::parse(event)? {
        Incoming::Sqs(batch) => {
            let consumer = Consumer::new(aws.use_cases.jobs.clone(), aws.queue.clone());
            Ok(serde_json::to_value(
                consumer.handle(batch, deadline).await,
            )?)
        }
        Incoming::Scheduled => {
            tick(aws).await?;
            Ok(Value::Null)
        }
        Incoming::Sns(_) => Err(EventError::NotForQueue {
            what: "SNS notifications",
        }),
        Incoming::Logs(_) => Err(EventError::NotForQueue {
            what: "CloudWatch Logs events",
        }),
    }
}

/// The every-minute housekeeping of the `fan-out` function.
pub async fn tick(aws: &Aws) -> Result<(), EventError> {
    let residents = &aws.use_cases.residents;
    if aws.store.list().await?.is_empty() {
        let created = residents.seed_topics(&default_topics()).await?;
        tracing::info!(count = created, "default topics created");
    }
    let started = aws.use_cases.dispatcher.start_due().await?;
    let repaired = aws.use_cases.dispatcher.repair_stuck().await?;
    let purged = residents.purge_expired().await?;
    let proposers_told = aws.use_cases.proposals.follow_up().await?;
    // Once an hour (the schedule runs every minute): the month's audience for the dashboard.
    if aws.clock.now().minute() == 0 {
        aws.use_cases.statistics.record_audience().await?;
    }
    tracing::info!(
        started,
        purged,
        fanouts_requeued = repaired.fanouts_requeued,
        recounted = repaired.recounted,
        stuck = repaired.stuck,
        proposers_told,
        "scheduled run"
    );
    Ok(())
}

/// `feedback`: SES bounce and complaint notifications through SNS, the schedule that syncs SMS
/// opt-outs, or SNS's SMS delivery receipts from its CloudWatch Logs. Returns how many addresses
/// were suppressed (or receipts counted, and how many were tied to a campaign's delivery).
pub async fn feedback_event(aws: &Aws, event: Value) -> Result<Value, EventError> {
    let feedback = Feedback::new(
        aws.store.clone(),
        Arc::clone(&aws.sms),
        Arc::clone(&aws.use_cases.dispatcher),
        aws.queue.clone(),
        aws.voice_retries,
        aws.clock.clone(),
    );
    let now = aws.clock.now();
    let suppressed = match Incoming::parse(event)? {
        Incoming::Sns(notifications) => {
            let mut n = 0;
            let mut calls = Vec::new();
            for record in &notifications.records {
                match voice_event(&record.sns.message)? {
                    VoiceEvent::NotVoice => {
                        n += feedback.record_ses(&record.sns.message, now).await?
                    }
                    VoiceEvent::Ignored => {}
                    VoiceEvent::Report(report) => calls.push(report),
                }
            }
            if !calls.is_empty() {
                let again = feedback.record_calls(&calls).await?;
                tracing::info!(reports = calls.len(), again, "call outcomes recorded");
                return Ok(serde_json::json!({
                    "suppressed": n,
                    "call_reports": calls.len(),
                    "calls_again": again,
                }));
            }
            n
        }
        Incoming::Scheduled => feedback.sync_sms_opt_outs(now).await?,
        Incoming::Sqs(batch) => {
            // Not wired in the template; refuse every record rather than drop them.
            let ids = batch.into_iter().map(|r| r.message_id).collect();
            return Ok(serde_json::to_value(batch_response(ids))?);
        }
        Incoming::Logs(logs) => {
            let receipts = sms_receipts(&logs)?;
            let counted = aws.use_cases.receipts.record_sms(&receipts).await?;
            let reached = feedback.record_sms_reach(&receipts).await?;
            tracing::info!(
                received = receipts.len(),
                counted,
                reached,
                "SMS receipts recorded"
            );
            return Ok(serde_json::json!({ "receipts": counted, "reached": reached }));
        }
    };
    tracing::info!(suppressed, "feedback recorded");
    Ok(serde_json::json!({ "suppressed": suppressed }))
}

/// The `weather` function's scheduled run: one poll of the vigilance feed. A failed poll (feed
/// down, refusing, unreadable, stale) is counted and logged by the relay, whose log the alarm
/// watches; it is not an error of the invocation, which would only make EventBridge try again.
pub async fn weather_tick(aws: &Aws, feed: &dyn WeatherFeed) -> Result<Value, EventError> {
    match aws.use_cases.weather.poll(feed).await {
        Ok(lines) => {
            // What the cycle did (relays, ends), in French; the vigilances it skipped are left out.
            let acted: Vec<String> = lines
                .iter()
                .filter(|l| l.acted())
                .map(|l| l.describe())
                .collect();
            for line in &acted {
                tracing::info!("{line}");
            }
            let relayed = lines.iter().filter(|l| l.relayed()).count();
            Ok(serde_json::json!({ "vigilances": lines.len(), "relayed": relayed, "lines": acted }))
        }
        Err(DomainError::Unavailable(why)) => Ok(serde_json::json!({ "failed": why })),
        Err(e) => Err(e.into()),
    }
}

/// Runs `fan-out` or `send` under the Lambda runtime until it stops: each event with its
/// invocation's deadline.
pub async fn run_queue(aws: Aws) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            let aws = aws.clone();
            async move {
                let deadline = i64::try_from(event.context.deadline)
                    .ok()
                    .and_then(DateTime::from_timestamp_millis)
                    .ok_or("the invocation's deadline is unreadable")?;
                queue_event(&aws, event.payload, deadline)
                    .await
                    .map_err(lambda_runtime::Error::from)
            }
        },
    ))
    .await
}

/// Runs an event handler under the Lambda runtime until it stops.
pub async fn run_events<F, Fut>(aws: Aws, handler: F) -> Result<(), lambda_runtime::Error>
where
    F: Fn(Aws, Value) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Value, EventError>> + Send,
{
    let handler = &handler;
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            let aws = aws.clone();
            async move {
                handler(aws, event.payload)
                    .await
                    .map_err(lambda_runtime::Error::from)
            }
        },
    ))
    .await
}
