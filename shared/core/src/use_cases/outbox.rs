//! The outbox viewer of the embedded default: the emails and SMS that would have gone out.

use std::sync::Arc;

use crate::domain::staff::{Role, StaffIdentity};
use crate::error::DomainError;
use crate::ports::{OutboxListing, OutboxReader};

/// Messages shown at most, per channel.
const SHOWN: usize = 200;

/// Reads the outbox for staff; without one (on AWS, messages really leave), there is nothing.
pub struct OutboxViewer {
    reader: Option<Arc<dyn OutboxReader>>,
}

impl OutboxViewer {
    /// The viewer of `reader`'s outbox, or of none.
    pub fn new(reader: Option<Arc<dyn OutboxReader>>) -> Self {
        Self { reader }
    }

    /// The newest messages (any staff role); `NotFound` where messages really leave.
    pub async fn recent(&self, by: &StaffIdentity) -> Result<OutboxListing, DomainError> {
        by.require_any(&[Role::Redaction, Role::Cabinet, Role::Admin])?;
        match &self.reader {
            Some(reader) => Ok(reader.recent(SHOWN).await?),
            None => Err(DomainError::NotFound(
                "Pas de boîte d'envoi ici : les messages partent réellement (SES et SNS).".into(),
            )),
        }
    }
}
