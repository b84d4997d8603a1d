//! Submissions: read by their talent and staff (everyone once the challenge
//! is closed), edited or withdrawn by their talent while the window is
//! open, reviewed by community managers.

pub mod get;
pub mod list_reviews;
pub mod mine;
pub mod review;
pub mod update;
pub mod withdraw;

use kartel_domain::challenges::SubmissionStatus;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SubmissionQuery {
    /// Only submissions in this status.
    pub status: Option<SubmissionStatus>,
}
