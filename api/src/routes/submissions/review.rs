//! POST /submissions/{id}/reviews. A review changes the leaderboard: its
//! cached board is marked stale once the review is committed.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::challenges::{self, Review, ReviewSpec};
use kartel_domain::policy::ReviewSubmissions;
use uuid::Uuid;

/// Review a submission (community manager, admin).
///
/// Scores the submission against the challenge's current rubric while the
/// challenge is judging; never your own submission (403 `own_submission`).
/// To overturn, name the current review in `overturns` (only another
/// manager than its author). Accepting pays the reward once; an overturn to
/// rejected takes it back, or records it as owed when already spent. An
/// `Idempotency-Key` is optional. Refusals: 404 no such submission; 409
/// `challenge_not_judging`, `submission_withdrawn`, `review_conflict` (the
/// submission's current review is not the one named), `same_reviewer` or
/// `idempotency_in_progress`; 422 `validation_failed` (scores outside the
/// rubric, accepted below the pass mark…) or `idempotency_key_reused`.
#[utoipa::path(
    tag = "submissions",
    operation_id = "create_review",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission's id"), OptionalIdempotencyHeader),
    request_body = ReviewSpec,
    responses(
        (status = 201, description = "The review", body = Review),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        Unprocessable,
    )
)]
#[post("/submissions/{id}/reviews")]
pub async fn create_review(
    st: State,
    allowed: Authorized<ReviewSubmissions>,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: JsonBody<ReviewSpec>,
) -> ApiResult<HttpResponse> {
    let idem = key.for_caller(allowed.caller())?;
    let r = challenges::review(&st.db, &allowed, idem.as_ref(), *id, body.into_inner()?).await?;
    st.leaderboards.changed(r.challenge_id).await;
    Ok(HttpResponse::Created().json(r))
}
