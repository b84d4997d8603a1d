//! Pods kept by the generative lead: slots, engagements, assignments, open
//! roles and the bench.

pub mod add_engagement;
pub mod add_slot;
pub mod assign;
pub mod bench;
pub mod create;
pub mod end_engagement;
pub mod get;
pub mod list;
pub mod open_roles;
pub mod unassign;
pub mod update;
