//! The talent-engine dashboard and its targets.

pub mod get;
pub mod set_targets;
