//! GET /challenges/{id}/leaderboard.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::MaybeUser;
use crate::routes::PageQuery;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, Leaderboard};
use uuid::Uuid;

/// A challenge's leaderboard: each talent's best accepted submission, higher
/// score first, then the earlier submission. Public once the challenge is
/// judging; staff see it sooner.
#[utoipa::path(
    tag = "challenges",
    operation_id = "get_leaderboard",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The challenge"), PageQuery),
    responses(
        (status = 200, description = "A page of places", body = Leaderboard),
        Unauthorized,
        NotFound,
        Unprocessable,
    )
)]
#[get("/challenges/{id}/leaderboard")]
pub async fn get_leaderboard(
    st: State,
    user: MaybeUser,
    id: web::Path<Uuid>,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let caller = user.0.map(Caller::User);
    let board = challenges::leaderboard(
        &st.db,
        caller.as_ref(),
        *id,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(board))
}
