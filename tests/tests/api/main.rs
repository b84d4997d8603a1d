//! The one integration-test binary: the real app over HTTP, on SQLite and,
//! when configured, on PostgreSQL + Redis.

mod helpers;

mod auth;
mod openapi;
