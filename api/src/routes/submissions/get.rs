//! GET /submissions/{id}.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::MaybeUser;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, Submission};
use uuid::Uuid;

/// A submission: to its talent and staff; to everyone once its challenge is
/// closed. Anyone else gets 404.
#[utoipa::path(
    tag = "submissions",
    operation_id = "get_submission",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The submission")),
    responses(
        (status = 200, description = "The submission", body = Submission),
        Unauthorized,
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
