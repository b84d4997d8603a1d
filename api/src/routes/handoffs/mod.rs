//! The Tier 4 → 5 handoff: nominations by community managers, decided by
//! the generative lead.

pub mod accept;
pub mod decline;
pub mod get;
pub mod list;
pub mod nominate;
