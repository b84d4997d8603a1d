//! The one integration-test binary: the real app over HTTP, on SQLite and,
//! when configured, on PostgreSQL + Redis.

#![expect(
    clippy::unwrap_used,
    reason = "a test should fail loudly at the first surprise"
)]

mod helpers;

mod accounts;
mod admin;
mod auth;
mod caching;
mod challenges;
mod cli;
mod credits;
mod edge;
mod event_order;
mod events;
mod faults;
mod instances;
mod logout_across_instances;
mod openapi;
mod ownership;
mod pods;
mod rate_limits;
mod retries;
mod session_cache;
mod staff_credits;
mod stream;
mod tiers;
mod webhooks;
