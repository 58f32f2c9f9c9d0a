//! Zones of the town: staff (`admin`) define them, residents and campaigns name them.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::domain::staff::{Role, StaffIdentity};
use crate::domain::zone::{self, Zone, ZoneInput, ZoneSlug};
use crate::error::{DomainError, FieldErrors};
use crate::ports::ZoneStore;

/// Zone use cases.
pub struct Zones {
    store: Arc<dyn ZoneStore>,
}

impl Zones {
    /// Builds the use cases over the store.
    pub fn new(store: Arc<dyn ZoneStore>) -> Self {
        Self { store }
    }

    /// Defines a zone (`admin`); its slug comes from its name, which must be new.
    pub async fn create(&self, by: &StaffIdentity, input: &ZoneInput) -> Result<Zone, DomainError> {
        by.require(Role::Admin)?;
        let zone = Zone::parse(input).map_err(DomainError::Validation)?;
        if self.store.insert_zone(&zone).await? {
            Ok(zone)
        } else {
            Err(DomainError::Conflict(format!(
                "Une zone porte déjà ce nom (identifiant « {} »).",
                zone.slug
            )))
        }
    }

    /// Every zone, by slug (public: residents choose among them).
    pub async fn list(&self) -> Result<Vec<Zone>, DomainError> {
        Ok(self.store.zones().await?)
    }
}

/// Refuses, under `field`, a zone of `wanted` that does not exist; reads the zones only when
/// some are named, so sign-ups and campaigns without zones cost nothing more.
pub async fn check_zones<'a>(
    store: &dyn ZoneStore,
    wanted: impl IntoIterator<Item = &'a ZoneSlug>,
    field: &str,
) -> Result<(), DomainError> {
    let wanted: BTreeSet<ZoneSlug> = wanted.into_iter().cloned().collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let known = store.zones().await?;
    let mut errors = FieldErrors::new();
    zone::check_known(&wanted, &known, field, &mut errors);
    errors.into_result()
}
