//! The departments' proposals: versioned records.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use telmail_core::domain::proposal::{Proposal, ProposalId};
use telmail_core::error::StoreError;
use telmail_core::ports::ProposalStore;

use super::versioned::Versioned;
use super::SqliteStore;

const PROPOSALS: Versioned = Versioned {
    table: "proposals",
    what: "proposal",
};

#[async_trait]
impl ProposalStore for SqliteStore {
    async fn insert_proposal(&self, p: &Proposal) -> Result<(), StoreError> {
        self.insert_versioned(PROPOSALS, p.id.to_string(), p.created_at, p.version, p)
            .await
    }

    async fn proposal(&self, id: ProposalId) -> Result<Option<Proposal>, StoreError> {
        self.versioned(PROPOSALS, id.to_string()).await
    }

    async fn update_proposal(&self, p: &Proposal, read: u32) -> Result<(), StoreError> {
        self.replace_versioned(PROPOSALS, p.id.to_string(), p.version, p, read)
            .await
    }

    async fn proposals_since(&self, since: DateTime<Utc>) -> Result<Vec<Proposal>, StoreError> {
        self.newest_versioned(PROPOSALS, since, usize::MAX).await
    }
}
