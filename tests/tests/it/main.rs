//! The integration tests, one module per behaviour, built as one binary. As 28 binaries, each
//! compiled its own copy of the shared helpers and of every generic it used, and was linked
//! against the whole workspace; and `cargo test` ran them one after the other, each waiting for
//! its slowest test. Two suites stay binaries of their own, because they need the process
//! to themselves: `no_personal_data_in_logs` installs the process's log subscriber and reads every
//! line, and `connection_limits` holds thousands of connections against the file limit.

mod common;

mod aws_end_to_end;
mod bad_input;
mod behind_a_proxy;
mod big_files;
mod call_retries;
mod concurrent_edits;
mod consent;
mod crisis_cell;
mod dispatch;
mod emergency_reach;
mod hostile_input;
mod killed_mid_send;
mod locked_and_full;
mod openapi;
mod pending_expiry;
mod proposals;
mod provider_timeouts;
mod relay_outage;
mod resident_journeys;
mod sending_pace;
mod staff_api;
mod staff_lockout;
mod store_behaviour;
mod template_routes;
mod template_rules;
mod unprivileged;
mod weather;
mod weather_feed;
mod website;
