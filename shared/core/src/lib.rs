//! Télmail domain: the types that carry the rules, the ports adapters implement, and the use cases.
//!
//! Nothing here knows about AWS, SQL or HTTP: adapters live in sibling crates. The folder says the
//! layer: `domain/` (types and their rules, pure), `use_cases/` (what residents and staff do,
//! over the ports), `render/` (messages, MIME and links as people receive them); `ports.rs` is
//! what adapters implement and `wiring.rs` builds every use case over one backend.

pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod ports;
pub mod render;
pub mod spreadsheet;
pub mod token;
pub mod use_cases;
pub mod wiring;

pub use error::{DomainError, FieldErrors};
