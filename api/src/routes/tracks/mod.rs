//! Tracks as data: their requirements per tier, playbooks and grace
//! periods; read by anyone, changed by admins.

pub mod get_reevaluation;
pub mod list;
pub mod set_requirements;
pub mod update;
