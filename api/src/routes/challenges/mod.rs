//! Challenges: created, edited and moved through their lifecycle by
//! community managers; read by anyone (drafts: staff); their submissions
//! and leaderboard.

pub mod create;
pub mod get;
pub mod leaderboard;
pub mod list;
pub mod list_submissions;
pub mod submit;
pub mod transition;
pub mod update;
