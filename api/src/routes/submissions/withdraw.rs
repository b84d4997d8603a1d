//! DELETE /submissions/{id}: withdraw.

use crate::error::ApiResult;
use crate::extractors::CurrentUser;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, delete, web};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, Submission};
use uuid::Uuid;

/// Withdraw your submission.
///
/// While the challenge is open and inside its window; it then no longer
/// counts towards the limit per talent and stays private. Another talent's
/// submission is 404. Refusals: 409 `submission_window_closed` or
/// `submission_withdrawn` (already withdrawn, or reviewed).
#[utoipa::path(
    tag = "submissions",
    operation_id = "withdraw_submission",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission's id")),
    responses(
        (status = 200, description = "The withdrawn submission", body = Submission),
        Unauthorized,
        NotFound,
        Conflict,
    )
)]
#[delete("/submissions/{id}")]
pub async fn withdraw_submission(
    st: State,
    user: CurrentUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let caller = Caller::User(user.0);
    Ok(HttpResponse::Ok().json(challenges::withdraw(&st.db, &caller, *id).await?))
}
