//! Voice calls on AWS: AWS End User Messaging SMS and Voice v2 (`SendVoiceMessage`) reads the
//! text aloud in French from the town's French number, through a configuration set whose
//! event destination reports each call (answered, no answer, busy, failed) to the `feedback`
//! function. A deployment without a number keeps [`NoVoiceService`]: every call is refused for
//! good with a French reason staff see in the campaign's deliveries, and nothing pretends to
//! have called anyone.
//!
//! Only the `send` function places calls, so only it builds the SDK client (the crate's
//! `voice` feature): the other functions' binaries do not carry it. `subscribe`, which reads
//! a sign-up code to a resident who gave a landline, hands the call to `send` through the
//! urgent queue ([`QueuedCalls`]).

use std::sync::Arc;

use async_trait::async_trait;
use telmail_core::clock::Clock;
use telmail_core::domain::queue::{Job, Notice, NoticeJob};
use telmail_core::error::SendError;
use telmail_core::ports::{JobQueue, OutgoingCall, VoiceSender};

/// Why a call is refused where no voice service is configured.
pub const NO_VOICE_SERVICE: &str = "aucun service d'appel vocal n'est configuré sur ce déploiement";

/// The voice sender of a deployment without a voice service.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoVoiceService;

#[async_trait]
impl VoiceSender for NoVoiceService {
    async fn call(&self, _call: &OutgoingCall) -> Result<Option<String>, SendError> {
        Err(SendError::Permanent(NO_VOICE_SERVICE.into()))
    }
}

/// The voice sender of a function that places no call itself (`subscribe`): a call (a sign-up
/// code read to a landline) is queued on the urgent lane as a notice, which `send` places
/// with the voice service, on the calls' pace and retry rules. Queued, not placed: the
/// resident hears it a few seconds later, as they would read an SMS.
pub struct QueuedCalls {
    queue: Arc<dyn JobQueue>,
    clock: Arc<dyn Clock>,
}

impl QueuedCalls {
    /// Calls queued on `queue`, stamped with `clock`.
    pub fn new(queue: Arc<dyn JobQueue>, clock: Arc<dyn Clock>) -> Self {
        Self { queue, clock }
    }
}

#[async_trait]
impl VoiceSender for QueuedCalls {
    async fn call(&self, call: &OutgoingCall) -> Result<Option<String>, SendError> {
        // A campaign's call goes through its delivery's claim, never as a notice.
        if call.delivery.is_some() {
            return Err(SendError::Permanent(
                "un appel de campagne ne passe pas par cette fonction".into(),
            ));
        }
        let job = Job::Notice(NoticeJob {
            message: Notice::Voice(call.clone()),
            queued_at: self.clock.now(),
        });
        self.queue
            .enqueue(&[job], std::time::Duration::ZERO)
            .await
            .map_err(|e| SendError::Transient(format!("appel non mis en file : {e}")))?;
        Ok(None)
    }
}

/// The keys of `SendVoiceMessage`'s `Context` naming the delivery a call places (the voice
/// events carry the context back: see [`crate::feedback::call_report`]).
pub mod context {
    pub const CAMPAIGN: &str = "campaign";
    pub const SUBSCRIBER: &str = "subscriber";
    pub const ATTEMPT: &str = "attempt";
}

/// What places calls on AWS: `TELMAIL_VOICE_ORIGINATION` (the French number's id, ARN or E.164
/// form; empty: no voice service), `TELMAIL_VOICE_CONFIGURATION_SET`, `TELMAIL_VOICE_ID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoiceSettings {
    /// The origination identity: the phone number (id, ARN or E.164) calls come from.
    pub origination: String,
    /// The configuration set whose event destination reports the calls.
    pub configuration_set: Option<String>,
    /// Amazon Polly's voice (`LEA` by default: French).
    pub voice_id: String,
}

impl VoiceSettings {
    /// From the environment; `None` when no origination identity is set.
    pub fn from_env() -> Option<Self> {
        Some(Self {
            origination: crate::env::optional("TELMAIL_VOICE_ORIGINATION")?,
            configuration_set: crate::env::optional("TELMAIL_VOICE_CONFIGURATION_SET"),
            voice_id: crate::env::or_default("TELMAIL_VOICE_ID", DEFAULT_VOICE),
        })
    }
}

/// Polly's French voice, Léa (`SendVoiceMessage` offers Céline, Léa and Mathieu in French).
pub const DEFAULT_VOICE: &str = "LEA";

#[cfg(feature = "voice")]
pub use sender::{voice_client, EndUserMessagingVoice};

#[cfg(feature = "voice")]
mod sender {
    use async_trait::async_trait;
    use aws_config::retry::RetryConfig;
    use aws_config::timeout::TimeoutConfig;
    use aws_sdk_pinpointsmsvoicev2::operation::send_voice_message::SendVoiceMessageError;
    use aws_sdk_pinpointsmsvoicev2::types::{VoiceId, VoiceMessageBodyTextType};
    use aws_smithy_runtime_api::client::result::SdkError;
    use aws_smithy_runtime_api::http::Response;
    use aws_smithy_types::error::display::DisplayErrorContext;
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;
    use telmail_core::error::SendError;
    use telmail_core::ports::{OutgoingCall, VoiceSender};

    use super::{context, VoiceSettings};
    use crate::error::StartupError;
    use crate::errors::{accepted, send_error};

    /// The SDK client for calls: answers within [`crate::backend::PROVIDER_CALL_TIMEOUT`],
    /// never retried by the SDK itself (a timed-out request may have placed the call, and a
    /// doubled emergency call cannot be taken back: the dispatcher decides).
    pub fn voice_client(sdk: &aws_config::SdkConfig) -> aws_sdk_pinpointsmsvoicev2::Client {
        let config = aws_sdk_pinpointsmsvoicev2::config::Builder::from(sdk)
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_attempt_timeout(crate::backend::PROVIDER_CALL_TIMEOUT)
                    .build(),
            )
            .retry_config(RetryConfig::disabled())
            .build();
        aws_sdk_pinpointsmsvoicev2::Client::from_conf(config)
    }

    /// Places calls with `SendVoiceMessage`: the text read by Polly's French voice, from the
    /// town's number, with the configuration set that reports each call's outcome.
    pub struct EndUserMessagingVoice {
        client: aws_sdk_pinpointsmsvoicev2::Client,
        origination: String,
        configuration_set: Option<String>,
        voice: VoiceId,
    }

    impl EndUserMessagingVoice {
        /// A sender from its settings; a voice the service does not know is refused at start.
        pub fn new(
            client: aws_sdk_pinpointsmsvoicev2::Client,
            settings: VoiceSettings,
        ) -> Result<Self, StartupError> {
            let name = settings.voice_id.to_ascii_uppercase();
            if !VoiceId::values().contains(&name.as_str()) {
                return Err(StartupError::NotA {
                    name: "TELMAIL_VOICE_ID",
                    shape: "an Amazon Polly voice SendVoiceMessage offers (LEA, CELINE or MATHIEU in French)",
                });
            }
            Ok(Self {
                client,
                origination: settings.origination,
                configuration_set: settings.configuration_set,
                voice: VoiceId::from(name.as_str()),
            })
        }
    }

    /// What a refused `SendVoiceMessage` means for the call: a number or text the service
    /// refuses fails that call for good; a spending limit, or a deployment whose number or
    /// configuration set is missing or not allowed, pauses calls for staff (every call would
    /// fail the same way); the rest as every provider (a lost answer is `Unknown`, throttling
    /// a wait, a server error a retry). The French reason comes first, the provider's words
    /// after it.
    pub fn call_error(err: SdkError<SendVoiceMessageError, Response>) -> SendError {
        let said = || format!("SendVoiceMessage: {}", DisplayErrorContext(&err));
        match err.code() {
            Some("ValidationException") => SendError::Permanent(format!(
                "le service d'appel refuse cet appel (numéro ou message non valide) — {}",
                said()
            )),
            Some("ConflictException") => SendError::Permanent(format!(
                "le service d'appel refuse d'appeler ce numéro (il a refusé les appels, ou le numéro d'appel de la ville n'est pas actif) — {}",
                said()
            )),
            Some("ServiceQuotaExceededException") => SendError::Paused(format!(
                "plafond de dépenses ou quota d'appels atteint chez AWS End User Messaging : relevez-le, puis reprenez les appels — {}",
                said()
            )),
            Some("AccessDeniedException" | "ResourceNotFoundException") => {
                SendError::Paused(format!(
                    "le numéro d'appel de la ville ou son jeu de configuration est introuvable ou non autorisé (paramètre VoiceOriginationNumberId du déploiement) — {}",
                    said()
                ))
            }
            _ => send_error("SendVoiceMessage", err),
        }
    }

    #[async_trait]
    impl VoiceSender for EndUserMessagingVoice {
        async fn call(&self, call: &OutgoingCall) -> Result<Option<String>, SendError> {
            let mut request = self
                .client
                .send_voice_message()
                .destination_phone_number(call.to.as_str())
                .origination_identity(&self.origination)
                .message_body(&call.text)
                .message_body_text_type(VoiceMessageBodyTextType::Text)
                .voice_id(self.voice.clone())
                .set_configuration_set_name(self.configuration_set.clone());
            if let Some(key) = call.delivery {
                request = request
                    .context(context::CAMPAIGN, key.campaign.to_string())
                    .context(context::SUBSCRIBER, key.subscriber.to_string())
                    .context(context::ATTEMPT, call.attempt.to_string());
            }
            let out = request.send().await.map_err(call_error)?;
            Ok(accepted(out.message_id(), "SendVoiceMessage"))
        }
    }
}

#[cfg(all(test, feature = "voice"))]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::http::{HeaderMap, StatusCode};
    use serde_json::Value;
    use telmail_core::domain::campaign::CampaignId;
    use telmail_core::domain::contact::{Channel, PhoneNumber};
    use telmail_core::domain::delivery::DeliveryKey;
    use telmail_core::domain::subscriber::SubscriberId;

    use super::*;
    use crate::error::StartupError;

    /// What the stand-in End User Messaging endpoint received: the `X-Amz-Target` and the body.
    type Seen = Arc<Mutex<Vec<(String, Value)>>>;

    /// An End User Messaging SMS and Voice v2 endpoint on 127.0.0.1 answering every request
    /// with `status` and `body` (AWS JSON 1.0, as the service answers), recording each request.
    async fn service_answering(status: u16, body: &'static str) -> (EndUserMessagingVoice, Seen) {
        let seen: Seen = Arc::default();
        let kept = seen.clone();
        let app = axum::Router::new().route(
            "/",
            axum::routing::post(move |headers: HeaderMap, request: String| {
                let target = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                kept.lock()
                    .unwrap()
                    .push((target, serde_json::from_str(&request).unwrap()));
                async move {
                    (
                        StatusCode::from_u16(status).unwrap(),
                        [("content-type", "application/x-amz-json-1.0")],
                        body,
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-3"))
            .credentials_provider(aws_sdk_pinpointsmsvoicev2::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .endpoint_url(url)
            .http_client(crate::backend::https_client())
            .load()
            .await;
        let sender = EndUserMessagingVoice::new(
            voice_client(&sdk),
            VoiceSettings {
                origination: "phone-0123456789abcdef0123456789abcdef".into(),
                configuration_set: Some("telmail-calls".into()),
                voice_id: "lea".into(),
            },
        )
        .unwrap();
        (sender, seen)
    }

    /// What a refusal must make of the call.
    type Expected = fn(&SendError) -> bool;

    fn a_call(delivery: Option<DeliveryKey>) -> OutgoingCall {
        OutgoingCall {
            to: PhoneNumber::parse_for_calls("05 56 22 33 44").unwrap(),
            text: "Message de la Ville d'Arcachon. Vigilance rouge vagues-submersion.".into(),
            attempt: 2,
            delivery,
        }
    }

    #[tokio::test]
    async fn a_campaign_call_goes_from_the_town_number_in_french_naming_its_delivery() {
        // GIVEN the service accepting the call (SendVoiceMessage's answer: the message id)
        let (sender, seen) = service_answering(
            200,
            r#"{"MessageId":"f6e0c2a1-0b7e-4b39-8f43-2d4a1c9e7b55"}"#,
        )
        .await;
        let key = DeliveryKey {
            campaign: CampaignId::new(),
            subscriber: SubscriberId::new(),
            channel: Channel::Voice,
        };
        // WHEN a campaign call is placed
        let id = sender.call(&a_call(Some(key))).await.unwrap();
        // THEN the provider's id comes back, and the request is the one documented
        assert_eq!(id.as_deref(), Some("f6e0c2a1-0b7e-4b39-8f43-2d4a1c9e7b55"));
        let seen = seen.lock().unwrap();
        let (target, body) = &seen[0];
        assert_eq!(target, "PinpointSMSVoiceV2.SendVoiceMessage");
        assert_eq!(body["DestinationPhoneNumber"], "+33556223344");
        assert_eq!(
            body["OriginationIdentity"],
            "phone-0123456789abcdef0123456789abcdef"
        );
        assert_eq!(body["VoiceId"], "LEA");
        assert_eq!(body["MessageBodyTextType"], "TEXT");
        assert_eq!(
            body["MessageBody"],
            "Message de la Ville d'Arcachon. Vigilance rouge vagues-submersion."
        );
        assert_eq!(body["ConfigurationSetName"], "telmail-calls");
        assert_eq!(body["Context"]["campaign"], key.campaign.to_string());
        assert_eq!(body["Context"]["subscriber"], key.subscriber.to_string());
        assert_eq!(body["Context"]["attempt"], "2");
    }

    #[tokio::test]
    async fn a_code_read_aloud_carries_no_delivery() {
        let (sender, seen) = service_answering(200, r#"{"MessageId":"m-1"}"#).await;
        sender.call(&a_call(None)).await.unwrap();
        assert!(seen.lock().unwrap()[0].1.get("Context").is_none());
    }

    #[tokio::test]
    async fn refusals_fail_the_call_pause_calls_or_wait_as_they_mean() {
        // The service's error answers (AWS JSON 1.0: the code in `__type`), and what each
        // makes of the call.
        let cases: [(u16, &'static str, Expected); 7] = [
            (
                400,
                r#"{"__type":"ValidationException","Message":"Invalid destination phone number","Reason":"INVALID_PARAMETER"}"#,
                |e| matches!(e, SendError::Permanent(why) if why.starts_with("le service d'appel refuse cet appel")),
            ),
            (
                400,
                r#"{"__type":"ConflictException","Message":"Destination phone number opted out","Reason":"DESTINATION_PHONE_NUMBER_OPTED_OUT"}"#,
                |e| matches!(e, SendError::Permanent(why) if why.contains("refuse d'appeler ce numéro")),
            ),
            (
                400,
                r#"{"__type":"ThrottlingException","Message":"Rate exceeded"}"#,
                |e| matches!(e, SendError::Throttled(_)),
            ),
            (
                402,
                r#"{"__type":"ServiceQuotaExceededException","Message":"Monthly voice spend limit reached","Reason":"MONTHLY_SPEND_LIMIT_REACHED_FOR_VOICE"}"#,
                |e| matches!(e, SendError::Paused(why) if why.starts_with("plafond de dépenses")),
            ),
            (
                404,
                r#"{"__type":"ResourceNotFoundException","Message":"Phone number not found","ResourceType":"phone-number"}"#,
                |e| matches!(e, SendError::Paused(why) if why.contains("VoiceOriginationNumberId")),
            ),
            (
                403,
                r#"{"__type":"AccessDeniedException","Message":"not authorized to perform: sms-voice:SendVoiceMessage"}"#,
                |e| matches!(e, SendError::Paused(_)),
            ),
            (
                500,
                r#"{"__type":"InternalServerException","Message":"Internal error"}"#,
                |e| matches!(e, SendError::Transient(_)),
            ),
        ];
        for (status, body, expected) in cases {
            let (sender, _) = service_answering(status, body).await;
            let error = sender.call(&a_call(None)).await.unwrap_err();
            assert!(expected(&error), "{body}: {error:?}");
        }
    }

    #[tokio::test]
    async fn a_voice_the_service_does_not_offer_is_refused_at_start() {
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("eu-west-3"))
            .build();
        let refused = EndUserMessagingVoice::new(
            voice_client(&sdk),
            VoiceSettings {
                origination: "phone-1".into(),
                configuration_set: None,
                voice_id: "Léa".into(),
            },
        );
        assert!(matches!(
            refused,
            Err(StartupError::NotA {
                name: "TELMAIL_VOICE_ID",
                ..
            })
        ));
    }
}
