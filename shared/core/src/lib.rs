//! Télmail domain: the types that carry the rules, the ports adapters implement, and the use cases.
//!
//! Nothing here knows about AWS, SQL or HTTP: adapters live in sibling crates.

pub mod clock;
pub mod config;
pub mod contact;
pub mod error;
pub mod messages;
pub mod money;
pub mod ports;
pub mod residents;
pub mod signup;
pub mod sms;
pub mod subscriber;
pub mod token;
pub mod topic;

pub use error::{DomainError, FieldErrors};
