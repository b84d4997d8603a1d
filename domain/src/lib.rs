//! Business rules and data access of the Kartel platform: accounts, sessions,
//! API keys, the audit log, who may do what (`policy`), idempotency and the
//! credits ledger. Knows nothing of HTTP.

pub mod accounts;
pub mod api_keys;
pub mod audit;
pub mod caller;
pub mod challenges;
pub mod db;
pub mod entities;
pub mod enums;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod ledger;
pub mod mail;
pub mod page;
pub mod password;
pub mod pods;
pub mod policy;
pub mod secret;
pub mod stream_tickets;
pub mod tiers;
pub mod types;
pub mod verification;
pub mod webhooks;

pub use caller::{Caller, ServiceCaller, UserCaller};
pub use error::{DomainError, FieldError};

/// Current time, truncated to microseconds so that what is stored (PostgreSQL
/// keeps microseconds) and what is returned agree.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    let t = chrono::Utc::now();
    chrono::DurationRound::duration_trunc(t, chrono::TimeDelta::microseconds(1)).unwrap_or(t)
}

/// A fresh, time-ordered id: pages ordered by id are ordered by creation.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
