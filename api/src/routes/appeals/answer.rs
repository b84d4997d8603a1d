//! POST /appeals/{id}/answer. An upheld appeal re-scores the submission,
//! which may change the leaderboard and re-issue a certificate.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::challenges::{self, Appeal, AppealAnswer};
use kartel_domain::policy::ReviewSubmissions;
use kartel_domain::tiers;
use uuid::Uuid;

/// Answer an appeal (community manager, admin).
///
/// Until the appeal's `respond_by` only the appealed reviewer answers
/// (others 403 `forbidden`); after it only another manager or admin
/// without a conflict of interest with the submission (the appealed
/// reviewer 403 `forbidden`; a conflict 403 `conflict_of_interest`, its
/// `conflict` naming which). `upheld` needs `new_score` (0 to the
/// criterion's `max_score`, not the initial score; 422); `denied` takes
/// none. An appeal is answered once: a second answer is 409
/// `appeal_already_answered`. Upheld, the criterion is re-scored: a review
/// with the appealed one's scores but `new_score` replaces it in its seat
/// (its decision follows the pass mark when the new total crosses it;
/// otherwise the reviewer's decision stands), and the submission's outcome
/// is settled again as any review settles it — reward, tier progress,
/// leaderboard and prize order move once (`submission.rescored`). Denied
/// changes nothing. While the challenge is judging only (409
/// `challenge_not_judging`); 409 `review_conflict` when the appealed
/// review was overturned since. An `Idempotency-Key` is optional.
#[utoipa::path(
    tag = "appeals",
    operation_id = "answer_appeal",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The appeal's id"), OptionalIdempotencyHeader),
    request_body = AppealAnswer,
    responses(
        (status = 200, description = "The answered appeal", body = Appeal),
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
#[post("/appeals/{id}/answer")]
pub async fn answer_appeal(
    st: State,
    allowed: Authorized<ReviewSubmissions>,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: JsonBody<AppealAnswer>,
) -> ApiResult<HttpResponse> {
    let idem = key.for_caller(allowed.caller())?;
    let a = challenges::answer(&st.db, &allowed, idem.as_ref(), *id, body.into_inner()?).await?;
    st.leaderboards.changed(a.challenge_id).await;
    if let Err(e) = tiers::sign_pending(&st.db, &st.keys, None).await {
        tracing::warn!(error = %e, "signing re-issued certificates failed; the job retries");
    }
    Ok(HttpResponse::Ok().json(a))
}
