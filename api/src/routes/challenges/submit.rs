//! POST /challenges/{id}/submissions.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::challenges::{self, Submission, SubmissionSpec};
use kartel_domain::policy::SubmitWork;
use uuid::Uuid;

/// Submit work to a challenge.
///
/// For a talent whose tier (in the challenge's track, or headline tier
/// without one) is in the challenge's range, while it is open and inside its
/// window, up to its limit per talent. An `Idempotency-Key` is optional: with
/// one, a retry with the same key and body answers the first outcome again.
/// Refusals: 403 `not_eligible`, or `email_unverified` until your address
/// is verified; 404 no such challenge (or a draft); 409
/// `submission_window_closed`, `submission_limit_reached` or
/// `idempotency_in_progress`; 422 `validation_failed` or
/// `idempotency_key_reused`.
#[utoipa::path(
    tag = "submissions",
    operation_id = "create_submission",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The challenge's id"), OptionalIdempotencyHeader),
    request_body = SubmissionSpec,
    responses(
        (status = 201, description = "The submission", body = Submission),
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
#[post("/challenges/{id}/submissions")]
pub async fn create_submission(
    st: State,
    allowed: Authorized<SubmitWork>,
    key: IdempotencyKey,
    id: web::Path<Uuid>,
    body: JsonBody<SubmissionSpec>,
) -> ApiResult<HttpResponse> {
    let idem = key.for_caller(allowed.caller())?;
    let s = challenges::submit(&st.db, &allowed, idem.as_ref(), *id, body.into_inner()?).await?;
    Ok(HttpResponse::Created().json(s))
}
