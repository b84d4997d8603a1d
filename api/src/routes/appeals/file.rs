//! POST /submissions/{id}/appeals.

use crate::error::ApiResult;
use crate::extractors::{CurrentUser, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, Appeal, AppealSpec};
use uuid::Uuid;

/// Appeal one criterion of your submission's review.
///
/// Only the submission's talent (anyone else gets 404), after its decision
/// and within the challenge's `appeal_window_hours` of it (counted from
/// the review that gave or last changed the decision), while the challenge
/// is judging: otherwise 409 `appeal_window_closed`. One appeal per
/// rubric criterion (409 `appeal_exists`); the criterion must be one of
/// the appealed review's rubric (422). With several reviewers per
/// submission, name the appealed review (one of its current reviews) in
/// `review_id`. The appealed reviewer answers by `respond_by` (the
/// challenge's `appeal_response_hours`); after it, another manager does.
/// The challenge does not close while an appeal is open. An
/// `Idempotency-Key` is optional (the same key and body replays the answer).
#[utoipa::path(
    tag = "appeals",
    operation_id = "create_appeal",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission's id"), OptionalIdempotencyHeader),
    request_body = AppealSpec,
    responses(
        (status = 201, description = "The appeal", body = Appeal),
        BadRequest,
        Unauthorized,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
    )
)]
#[post("/submissions/{id}/appeals")]
pub async fn create_appeal(
    st: State,
    user: CurrentUser,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: JsonBody<AppealSpec>,
) -> ApiResult<HttpResponse> {
    let caller = Caller::User(user.0);
    let idem = key.for_caller(&caller)?;
    let a = challenges::file(&st.db, &caller, idem.as_ref(), *id, body.into_inner()?).await?;
    Ok(HttpResponse::Created().json(a))
}
