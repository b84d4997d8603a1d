//! GET /challenges/{id}/leaderboard.

use crate::error::ApiResult;
use crate::extractors::{MaybeUser, Query};
use crate::routes::PageQuery;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, Leaderboard};
use uuid::Uuid;

/// A challenge's leaderboard.
///
/// Each talent's best accepted submission, higher score first, then the
/// earlier submission. Public once the challenge is judging or closed;
/// staff see it sooner; before that (and for drafts) it is 404 to everyone
/// else. A token that is sent must be valid (401 otherwise).
#[utoipa::path(
    tag = "challenges",
    operation_id = "get_leaderboard",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The challenge's id"), PageQuery),
    responses(
        (status = 200, description = "A page of places", body = Leaderboard),
        InvalidToken,
        NotFound,
        InvalidQuery,
    )
)]
#[get("/challenges/{id}/leaderboard")]
pub async fn get_leaderboard(
    st: State,
    user: MaybeUser,
    id: web::Path<Uuid>,
    page: Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let caller = user.0.map(Caller::User);
    let limit = page.limit()?;
    let offset = challenges::leaderboard_offset(page.cursor.as_deref())?;
    let board = async || -> ApiResult<_> {
        challenges::leaderboard_access(&st.db, caller.as_ref(), *id).await?;
        // From the cache (Redis, or this process), rebuilt from the database when missing.
        let items = st
            .leaderboards
            .page(&st.db, *id, offset, limit.get() + 1)
            .await?;
        Ok(challenges::leaderboard_page(items, offset, limit))
    };
    let key = || format!("leaderboard:{}:{offset}:{}", *id, limit.get());
    st.public_cache.json(caller.as_ref(), key, board).await
}
