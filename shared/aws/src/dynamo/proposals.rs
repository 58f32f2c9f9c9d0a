//! The departments' proposals: versioned records (`PROPOSAL#<id>`), listed under `PROPOSALS`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use telmail_core::domain::proposal::{Proposal, ProposalId};
use telmail_core::error::StoreError;
use telmail_core::ports::ProposalStore;

use super::keys::{self, PROPOSALS};
use super::versioned::{Expect, Record, Versioned};
use super::DynamoStore;

const RECORDS: Versioned = Versioned {
    list: PROPOSALS,
    what: "proposal",
};

impl DynamoStore {
    async fn put_proposal(&self, p: &Proposal, expect: Expect) -> Result<(), StoreError> {
        let record = Record {
            partition: keys::proposal(p.id),
            created: p.created_at,
            version: p.version,
            body: p,
            extra: Vec::new(),
        };
        self.put_versioned(RECORDS, record, expect).await
    }
}

#[async_trait]
impl ProposalStore for DynamoStore {
    async fn insert_proposal(&self, p: &Proposal) -> Result<(), StoreError> {
        self.put_proposal(p, Expect::New).await
    }

    async fn proposal(&self, id: ProposalId) -> Result<Option<Proposal>, StoreError> {
        self.get_versioned(RECORDS, keys::proposal(id)).await
    }

    async fn update_proposal(&self, p: &Proposal, read: u32) -> Result<(), StoreError> {
        self.put_proposal(p, Expect::Version(read)).await
    }

    async fn proposals_since(&self, since: DateTime<Utc>) -> Result<Vec<Proposal>, StoreError> {
        self.newest_versioned(RECORDS, since, usize::MAX).await
    }
}
