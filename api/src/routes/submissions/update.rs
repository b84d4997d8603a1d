//! PATCH /submissions/{id}.

use crate::error::ApiResult;
use crate::extractors::{CurrentUser, JsonBody};
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, patch, web};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, Submission, SubmissionPatch};
use uuid::Uuid;

/// Edit your submission.
///
/// Send only the fields to change, while the challenge is open and inside
/// its window. Another talent's submission is 404. Refusals: 409
/// `submission_window_closed` or `submission_withdrawn` (also once it has
/// been reviewed); 422 `validation_failed`.
#[utoipa::path(
    tag = "submissions",
    operation_id = "update_submission",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission's id")),
    request_body = SubmissionPatch,
    responses(
        (status = 200, description = "The submission as changed", body = Submission),
        BadRequest,
        Unauthorized,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[patch("/submissions/{id}")]
pub async fn update_submission(
    st: State,
    user: CurrentUser,
    id: web::Path<Uuid>,
    body: JsonBody<SubmissionPatch>,
) -> ApiResult<HttpResponse> {
    let caller = Caller::User(user.0);
    let s = challenges::update_submission(&st.db, &caller, *id, body.into_inner()?).await?;
    Ok(HttpResponse::Ok().json(s))
}
