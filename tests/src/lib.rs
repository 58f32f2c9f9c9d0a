//! What the integration tests (tests/tests/) and the benchmarks (tests/benches/) share: staff
//! identities, the moto helpers, and the in-process service.

pub mod feeds;
pub mod moto;
pub mod world;

use telmail_core::domain::staff::{parse_roles, StaffIdentity};

/// A staff member with the roles listed (`"redaction,cabinet"`), no contact.
pub fn staff(id: &str, roles: &str) -> StaffIdentity {
    StaffIdentity {
        id: id.into(),
        name: id.into(),
        roles: parse_roles(roles).expect("known roles"),
        email: None,
        phone: None,
    }
}
