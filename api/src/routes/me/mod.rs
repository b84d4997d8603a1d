//! The signed-in person: profile, password, own credits.

pub mod change_password;
pub mod credit_transactions;
pub mod credits;
pub mod get;
pub mod holds;
pub mod update;
