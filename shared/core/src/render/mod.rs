//! What people receive: email layout and messages, campaign rendering, MIME, signed links.

pub mod campaign_render;
pub mod links;
pub mod messages;
pub mod mime;
