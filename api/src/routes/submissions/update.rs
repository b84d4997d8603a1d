//! PATCH /submissions/{id}.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::{CurrentUser, JsonBody};
use crate::state::State;
use actix_web::{HttpResponse, patch, web};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, Submission, SubmissionPatch};
use uuid::Uuid;

/// Edit your submission while the challenge's window is open.
#[utoipa::path(
    tag = "submissions",
    operation_id = "update_submission",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission")),
    request_body = SubmissionPatch,
    responses(
        (status = 200, description = "The submission as changed", body = Submission),
        Unauthorized,
        NotFound,
        Conflict,
        Unprocessable,
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
    let s = challenges::update_submission(&st.db, &caller, *id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(s))
}
