//! Télmail domain: the types that carry the rules, the ports adapters implement, and the use cases.
//!
//! Nothing here knows about AWS, SQL or HTTP: adapters live in sibling crates.

pub mod campaign;
pub mod campaign_render;
pub mod campaigns;
pub mod clock;
pub mod config;
pub mod contact;
pub mod csv_file;
pub mod delivery;
pub mod dispatch;
pub mod error;
pub mod links;
pub mod messages;
pub mod mime;
pub mod money;
pub mod ports;
pub mod queue;
pub mod residents;
pub mod sending_window;
pub mod signup;
pub mod sms;
pub mod staff;
pub mod statistics;
pub mod subscriber;
pub mod subscriber_file;
pub mod token;
pub mod topic;
pub mod topics_admin;
pub mod wiring;

pub use error::{DomainError, FieldErrors};
