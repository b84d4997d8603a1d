//! POST /submissions/{id}/reviews. A review changes the leaderboard: its
//! cached board is marked stale once the review is committed.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::challenges::OptionalIdempotencyHeader;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::challenges::{self, Review, ReviewSpec};
use kartel_domain::policy::ReviewSubmissions;
use uuid::Uuid;

/// Review a submission against the challenge's current rubric (community
/// manager, admin; never your own; while the challenge is judging). To
/// overturn, name the current review in `overturns` (another manager than
/// its author). Accepting pays the reward once; an overturn to rejected
/// takes it back, or records it as owed when already spent.
#[utoipa::path(
    tag = "submissions",
    operation_id = "create_review",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission"), OptionalIdempotencyHeader),
    request_body = ReviewSpec,
    responses(
        (status = 201, description = "The review", body = Review),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
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
    let r = challenges::review(&st.db, &allowed, idem.as_ref(), *id, body.into_inner()).await?;
    st.leaderboards.changed(r.challenge_id).await;
    Ok(HttpResponse::Created().json(r))
}
