//! POST /submissions/{id}/reviews. A review changes the leaderboard: its
//! cached board is marked stale once the review is committed; a
//! certificate it re-issued is signed right after.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::challenges::{self, ReviewSpec, ReviewView};
use kartel_domain::policy::ReviewSubmissions;
use kartel_domain::tiers;
use uuid::Uuid;

/// Review a submission (community manager, admin).
///
/// Scores the submission against the challenge's current rubric while the
/// challenge is judging, filling one of its review seats: the one you
/// claimed from the review queue, or else one nobody holds (409
/// `seat_claimed` when every open seat is another reviewer's claim). Never
/// with a conflict of interest: 403 `conflict_of_interest`, its `conflict`
/// naming which — `author` (your own submission), `already_reviewed` (you
/// reviewed it before, or hold another of its seats' reviews),
/// `nominated` or `certified` (you nominated or certified its talent in
/// the challenge's track). To overturn, name a seat's current review in
/// `overturns` (only another manager than its author). Accepting pays the
/// reward once; an overturn to rejected takes it back, or records it as
/// owed when already spent.
///
/// With several reviewers per submission (the challenge's
/// `reviewers_per_submission`), each fills one seat (one per reviewer:
/// a second is `already_reviewed`) and the submission's decision, score
/// and reward follow their aggregate once every regular seat has a
/// review: the mean of their weighted totals and their common decision;
/// when they disagree (decisions differ, or totals more than the
/// challenge's `disagreement_threshold` apart) a tiebreak seat opens in
/// the review queue, and its review settles it with the median of all the
/// totals and the majority's decision (acceptance always needs the pass
/// mark). An overturn re-aggregates; the reward moves only when the
/// aggregate decision changes. While the challenge is judging the answer is
/// blind (no `talent_id`; `author_alias`). An `Idempotency-Key` is
/// optional. Refusals: 404 no such submission; 409
/// `challenge_not_judging`, `submission_withdrawn`, `review_conflict` (no
/// seat is open, or none has the review named), `same_reviewer` or
/// `idempotency_in_progress`; 422 `validation_failed` (scores outside the
/// rubric, accepted below the pass mark…) or `idempotency_key_reused`.
///
/// In a challenge that certifies a track, the talent's certificate follows
/// its evidence in the same transaction: overturning the submission it
/// cites re-issues it on other accepted certifying work, or else revokes
/// it and moves Tier 4 back to 3 (a Tier 5 goes on the dashboard's
/// attention list instead).
#[utoipa::path(
    tag = "submissions",
    operation_id = "create_review",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission's id"), OptionalIdempotencyHeader),
    request_body = ReviewSpec,
    responses(
        (status = 201, description = "The review", body = ReviewView),
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
    // A decision may have re-issued a certificate on other evidence in its
    // transaction, which has no key: signed now (the job and readers would
    // otherwise, soon).
    if let Err(e) = tiers::sign_pending(&st.db, &st.keys, None).await {
        tracing::warn!(error = %e, "signing re-issued certificates failed; the job retries");
    }
    Ok(HttpResponse::Created().json(r))
}
