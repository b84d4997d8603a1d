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

use serde::Deserialize;
use utoipa::IntoParams;

/// An optional `Idempotency-Key`: a retry with the same key and body gets the
/// first answer instead of a second effect.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Header)]
pub struct OptionalIdempotencyHeader {
    /// Unique per intended operation (a UUID is a good choice).
    #[serde(rename = "Idempotency-Key")]
    #[param(
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]+$",
        example = "3f0c2a8e-5b1d-4c1e-9a57-0d6f2b7c9e11"
    )]
    pub idempotency_key: Option<String>,
}
