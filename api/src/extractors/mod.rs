//! Request extractors: who is calling (so no handler parses headers), and
//! the idempotency key.

mod auth;
mod idempotency;
mod json;

pub use auth::{Admin, AnyCaller, CurrentUser, Manager, MaybeUser, Staff};
pub use idempotency::IdempotencyKey;
pub use json::JsonBody;
