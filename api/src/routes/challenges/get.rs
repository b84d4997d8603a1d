//! GET /challenges/{id}.

use crate::error::ApiResult;
use crate::extractors::MaybeUser;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, BulkRun, Challenge};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// A challenge with its bulk-run success so far.
#[derive(Serialize, ToSchema)]
pub struct ChallengeDetail {
    #[serde(flatten)]
    pub challenge: Challenge,
    /// Reviewed batches of this challenge and how many met the standard.
    pub bulk_run: BulkRun,
}

/// A challenge.
///
/// Public: anyone may read it without a token, with its current rubric and
/// its bulk-run success so far. Drafts exist only for staff (404 to
/// everyone else). A token that is sent must be valid (401 otherwise).
#[utoipa::path(
    tag = "challenges",
    operation_id = "get_challenge",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The challenge's id")),
    responses(
        (status = 200, description = "The challenge", body = ChallengeDetail),
        InvalidToken,
        NotFound,
    )
)]
#[get("/challenges/{id}")]
pub async fn get_challenge(
    st: State,
    user: MaybeUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let caller = user.0.map(Caller::User);
    let challenge = challenges::get(&st.db, caller.as_ref(), *id).await?;
    let bulk_run = challenges::bulk_run_of_challenge(&st.db, *id).await?;
    Ok(HttpResponse::Ok().json(ChallengeDetail {
        challenge,
        bulk_run,
    }))
}
