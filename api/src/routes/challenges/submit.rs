//! POST /challenges/{id}/submissions.

use super::OptionalIdempotencyHeader;
use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::challenges::{self, Submission, SubmissionSpec};
use kartel_domain::policy::SubmitWork;
use uuid::Uuid;

/// Submit work to an open challenge, inside its window, when your tier fits
/// its range (in its track), up to its limit per talent.
#[utoipa::path(
    tag = "submissions",
    operation_id = "create_submission",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The challenge"), OptionalIdempotencyHeader),
    request_body = SubmissionSpec,
    responses(
        (status = 201, description = "The submission", body = Submission),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
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
    let s = challenges::submit(&st.db, &allowed, idem.as_ref(), *id, body.into_inner()).await?;
    Ok(HttpResponse::Created().json(s))
}
