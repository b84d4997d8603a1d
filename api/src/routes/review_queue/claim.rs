//! POST /review-queue/claim.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post};
use kartel_domain::challenges::{self, ClaimSpec, ClaimedWork};
use kartel_domain::policy::ReviewSubmissions;

/// Claim the next review (community manager, admin).
///
/// Gives you the oldest submission that still needs a review and that you
/// may review — of one challenge or track if you name it — holding its
/// review seat for you under a lease (`KARTEL_REVIEW_LEASE_MINUTES`,
/// default 30): nobody else gets that seat until you review, release it,
/// or the lease runs out (then it goes back to the queue). The submission
/// comes blind: no author identity, an alias stable within the challenge.
/// The queue never offers work you have a conflict of interest with (your
/// own, one you reviewed, a talent you nominated or certified in the
/// track). With `submission_id` you claim a seat of that submission:
/// refused 403 `conflict_of_interest` (its `conflict` says which), 409
/// `seat_claimed` (every open seat is someone else's), `no_open_seat`,
/// `challenge_not_judging` or `submission_withdrawn`; your live claim on it
/// is answered again. **204 No Content** when nothing in the queue is
/// yours to review. An `Idempotency-Key` is optional.
#[utoipa::path(
    tag = "review-queue",
    operation_id = "claim_review",
    security(("bearer" = [])),
    params(OptionalIdempotencyHeader),
    request_body = ClaimSpec,
    responses(
        (status = 201, description = "The claim and the submission, blind", body = ClaimedWork),
        (status = 204, description = "Nothing in the queue needs a review from you"),
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
#[post("/review-queue/claim")]
pub async fn claim_review(
    st: State,
    allowed: Authorized<ReviewSubmissions>,
    key: IdempotencyKey,
    body: JsonBody<ClaimSpec>,
) -> ApiResult<HttpResponse> {
    let idem = key.for_caller(allowed.caller())?;
    let lease = st.settings.review_lease();
    match challenges::claim(&st.db, &allowed, idem.as_ref(), body.into_inner()?, lease).await? {
        Some(work) => Ok(HttpResponse::Created().json(work)),
        None => Ok(HttpResponse::NoContent().finish()),
    }
}
