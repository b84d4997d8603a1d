//! GET /submissions/{id}.

use crate::error::ApiResult;
use crate::extractors::MaybeUser;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, Submission};
use uuid::Uuid;

/// A submission.
///
/// To its talent and to staff; to everyone (even without a token) once its
/// challenge is closed, unless withdrawn. Anyone else gets 404. Staff also
/// see whether it was flagged as copied work. While its challenge is
/// judging, community managers and admins (its potential reviewers) see it
/// blind: no `talent_id`, an `author_alias` stable within the challenge. A
/// token that is sent must be valid (401 otherwise).
#[utoipa::path(
    tag = "submissions",
    operation_id = "get_submission",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission's id")),
    responses(
        (status = 200, description = "The submission", body = Submission),
        InvalidToken,
        NotFound,
    )
)]
#[get("/submissions/{id}")]
pub async fn get_submission(
    st: State,
    user: MaybeUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let caller = user.0.map(Caller::User);
    Ok(HttpResponse::Ok().json(challenges::get_submission(&st.db, caller.as_ref(), *id).await?))
}
