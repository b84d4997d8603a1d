//! Request extractors: who is calling (so no handler parses headers), and
//! the idempotency key.

mod auth;
mod idempotency;
mod json;
mod query;

pub use auth::{AnyCaller, Authorized, CurrentUser, MaybeUser};
pub use idempotency::IdempotencyKey;
pub use json::{JsonBody, NUL_MESSAGE, json_error, json_payload_error, optional_json};
pub use query::{Query, query_error};
