//! What residents, staff and the scheduled jobs do, each use case over the ports it needs.

pub mod account;
pub mod archive;
pub mod call_outcomes;
pub mod campaigns;
pub mod cell;
pub mod crisis;
pub mod dispatch;
pub mod draft_estimate;
pub mod file_jobs;
pub mod jobs;
pub mod outbox;
pub mod proposals;
pub mod receipts;
pub mod residents;
pub mod staff_auth;
mod staff_notices;
pub mod statistics;
pub mod subscriber_file;
pub mod topics_admin;
pub mod weather;
pub mod welcome;
pub mod zones;
