//! The types that carry the rules: parsed once at the edge, valid wherever they exist. Pure: no
//! port, no I/O.

pub mod alert_templates;
pub mod archive;
pub mod campaign;
pub mod cell;
pub mod client;
pub mod contact;
pub mod counter;
pub mod delivery;
pub mod file_job;
pub mod money;
pub mod notices;
pub mod outgoing;
pub mod proposal;
pub mod provider_limits;
pub mod queue;
pub mod reach;
pub mod reputation;
pub mod sending_window;
pub mod signup;
pub mod sms;
pub mod staff;
pub mod subscriber;
pub mod topic;
pub mod weather;
pub mod zone;
