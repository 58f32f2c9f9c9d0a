//! Voice calls on AWS. Until a voice service is deployed (End User Messaging SMS and Voice v2,
//! see `docs/design-notes.md`), a call is refused for good with a French reason staff see in
//! the campaign's deliveries: nothing pretends to have called anyone.

use async_trait::async_trait;
use telmail_core::error::SendError;
use telmail_core::ports::{OutgoingCall, VoiceSender};

/// The voice sender of a deployment without a voice service.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoVoiceService;

#[async_trait]
impl VoiceSender for NoVoiceService {
    async fn call(&self, _call: &OutgoingCall) -> Result<Option<String>, SendError> {
        Err(SendError::Permanent(
            "aucun service d'appel vocal n'est configuré sur ce déploiement".into(),
        ))
    }
}
