//! The signed-in person: profile, password, own credits, tracks and progress.

pub mod change_email;
pub mod change_password;
pub mod credit_transactions;
pub mod credits;
pub mod enrol;
pub mod erase;
pub mod export;
pub mod get;
pub mod holds;
pub mod progress;
pub mod update;
