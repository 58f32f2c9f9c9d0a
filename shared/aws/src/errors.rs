//! What an AWS SDK error means for the caller: retry later, or give up.

use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use telmail_core::error::{SendError, StoreError};

/// True when trying again later may succeed: throttling, 5xx, timeouts, network failures. Error
/// codes are judged by the SDK's own lists (those its retry strategy uses: `SlowDown`,
/// `RequestThrottledException`, `RequestTimeout`…), so they follow the SDK's updates.
pub fn is_transient<E: ProvideErrorMetadata>(err: &SdkError<E, Response>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ConstructionFailure(_) => false,
        _ => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            matches!(status, Some(429) | Some(500..=599))
                || err.code().is_some_and(|c| {
                    THROTTLING_ERRORS.contains(&c) || TRANSIENT_ERRORS.contains(&c)
                })
        }
    }
}

/// True when the provider asks to slow down (429, or a throttling code of the SDK's list —
/// SES's `TooManyRequestsException` and `LimitExceededException`, SNS's `Throttling`…).
pub fn is_throttled<E: ProvideErrorMetadata>(err: &SdkError<E, Response>) -> bool {
    matches!(err, SdkError::ServiceError(_))
        && (err.raw_response().map(|r| r.status().as_u16()) == Some(429)
            || err.code().is_some_and(|c| THROTTLING_ERRORS.contains(&c)))
}

/// True when SES refuses a send because the account's daily quota is used up ("Daily message
/// quota exceeded"), as opposed to its rate ("Maximum sending rate exceeded"): both come as
/// throttling (`LimitExceededException` in SES v2, `Throttling` in v1), only the message tells
/// them apart. The first lasts until the rolling 24 hours free some quota, not a minute.
pub fn is_daily_quota_exceeded<E: ProvideErrorMetadata>(err: &SdkError<E, Response>) -> bool {
    is_throttled(err)
        && err
            .message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("daily message quota"))
}

/// SES's answers when the account may not send at all now: the channel pauses (not a
/// failure) until staff resume it.
const ACCOUNT_PAUSED: [&str; 2] = ["SendingPausedException", "AccountSuspendedException"];

/// The message id of a send the provider accepted. An answer without one still means accepted:
/// retrying would send the message twice, so it is logged and the delivery counts as sent.
pub fn accepted(message_id: Option<&str>, what: &str) -> Option<String> {
    if message_id.is_none() {
        tracing::warn!(
            call = what,
            "provider accepted a message without returning its id"
        );
    }
    message_id.map(str::to_owned)
}

/// True when the request may have reached the provider and been acted on, but no readable
/// answer came back: a timeout (of the whole call or of the wait for the response) or a
/// response that could not be read. A failure to connect is not one: nothing was sent.
pub fn outcome_unknown<E>(err: &SdkError<E, Response>) -> bool {
    match err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => true,
        SdkError::DispatchFailure(failure) => failure.is_timeout(),
        _ => false,
    }
}

/// A provider error for a send: a lost answer is `Unknown` (the message may have gone),
/// throttling is waited out, other transient ones are retried, the rest fail the delivery.
pub fn send_error<E>(what: &str, err: SdkError<E, Response>) -> SendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let text = format!("{what}: {}", DisplayErrorContext(&err));
    if outcome_unknown(&err) {
        SendError::Unknown(text)
    } else if err.code().is_some_and(|c| ACCOUNT_PAUSED.contains(&c)) {
        SendError::Paused(text)
    } else if is_throttled(&err) {
        SendError::Throttled(text)
    } else if is_transient(&err) {
        SendError::Transient(text)
    } else {
        SendError::Permanent(text)
    }
}

/// A storage or queue error, for logs (never personal data: SDK errors carry none of ours).
pub fn store_error<E>(what: &str, err: SdkError<E, Response>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StoreError::Backend(format!("{what}: {}", DisplayErrorContext(&err)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    #[derive(Debug)]
    struct Fake(ErrorMetadata);
    impl std::fmt::Display for Fake {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("fake")
        }
    }
    impl std::error::Error for Fake {}
    impl ProvideErrorMetadata for Fake {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    fn service_error(code: &str, status: u16) -> SdkError<Fake, Response> {
        service_error_saying(code, status, "")
    }

    fn service_error_saying(code: &str, status: u16, message: &str) -> SdkError<Fake, Response> {
        SdkError::service_error(
            Fake(ErrorMetadata::builder().code(code).message(message).build()),
            Response::new(StatusCode::try_from(status).unwrap(), SdkBody::empty()),
        )
    }

    #[test]
    fn the_daily_quota_is_told_apart_from_the_rate() {
        // SES v2 and v1 words for the two limits.
        for code in ["LimitExceededException", "Throttling"] {
            assert!(is_daily_quota_exceeded(&service_error_saying(
                code,
                400,
                "Daily message quota exceeded."
            )));
            assert!(!is_daily_quota_exceeded(&service_error_saying(
                code,
                400,
                "Maximum sending rate exceeded."
            )));
        }
        // Not a throttling answer: not the quota either, whatever it says.
        assert!(!is_daily_quota_exceeded(&service_error_saying(
            "MessageRejected",
            400,
            "Daily message quota exceeded."
        )));
    }

    #[test]
    fn throttling_and_server_errors_are_retried_the_rest_fails() {
        assert!(is_transient(&service_error("Throttling", 400)));
        assert!(is_transient(&service_error("Whatever", 503)));
        assert!(is_transient(&service_error(
            "TooManyRequestsException",
            429
        )));
        // Codes a copied list used to miss, with the 400 status AWS answers them with.
        for code in [
            "RequestThrottledException",
            "SlowDown",
            "RequestTimeout",
            "RequestTimeoutException",
            "ProvisionedThroughputExceededException",
        ] {
            assert!(is_transient(&service_error(code, 400)), "{code}");
        }
        assert!(is_transient(&service_error("InternalFailure", 500)));
        assert!(!is_transient(&service_error("MessageRejected", 400)));
        assert!(!is_transient(&service_error("InvalidParameter", 400)));
        match send_error("SES", service_error("MessageRejected", 400)) {
            SendError::Permanent(text) => assert!(text.starts_with("SES: "), "{text}"),
            other => panic!("{other:?}"),
        }
        // Throttling is a wait, a server error a retry.
        for (code, status) in [
            ("Throttling", 400),
            ("TooManyRequestsException", 429),
            ("LimitExceededException", 400),
        ] {
            assert!(
                matches!(
                    send_error("SES", service_error(code, status)),
                    SendError::Throttled(_)
                ),
                "{code}"
            );
        }
        assert!(matches!(
            send_error("SNS", service_error("InternalFailure", 500)),
            SendError::Transient(_)
        ));
        for code in ["SendingPausedException", "AccountSuspendedException"] {
            assert!(matches!(
                send_error("SES", service_error(code, 400)),
                SendError::Paused(_)
            ));
        }
    }

    #[test]
    fn a_lost_answer_is_an_unknown_outcome_and_a_refused_connection_is_not() {
        use aws_smithy_runtime_api::client::result::ConnectorError;
        let timeout: SdkError<Fake, Response> = SdkError::timeout_error("operation timed out");
        assert!(matches!(send_error("SNS", timeout), SendError::Unknown(_)));
        let garbled: SdkError<Fake, Response> = SdkError::response_error(
            "unreadable body",
            Response::new(StatusCode::try_from(200).unwrap(), SdkBody::empty()),
        );
        assert!(matches!(send_error("SES", garbled), SendError::Unknown(_)));
        let read_timeout: SdkError<Fake, Response> =
            SdkError::dispatch_failure(ConnectorError::timeout("read timed out".into()));
        assert!(matches!(
            send_error("SNS", read_timeout),
            SendError::Unknown(_)
        ));
        let refused: SdkError<Fake, Response> =
            SdkError::dispatch_failure(ConnectorError::io("connection refused".into()));
        assert!(matches!(
            send_error("SNS", refused),
            SendError::Transient(_)
        ));
    }
}
