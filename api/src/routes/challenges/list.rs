//! GET /challenges: the list, filtered.

use crate::error::ApiResult;
use crate::extractors::{MaybeUser, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::Caller;
use kartel_domain::challenges::{self, Challenge, ChallengeFilter, ChallengeStatus};
use kartel_domain::types::Track;
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChallengeQuery {
    /// Only challenges in this status (drafts: staff only).
    pub status: Option<ChallengeStatus>,
    /// Only challenges of this track.
    pub track: Option<Track>,
    /// Only challenges a talent of this tier may enter.
    #[param(minimum = 0, maximum = 5)]
    pub tier: Option<i16>,
}

/// Challenges, newest first.
///
/// Public: anyone may list them without a token; drafts are listed for
/// staff only. Filters combine. A token that is sent must be valid (401
/// otherwise).
#[utoipa::path(
    tag = "challenges",
    operation_id = "list_challenges",
    security((), ("bearer" = [])),
    params(PageQuery, ChallengeQuery),
    responses(
        (status = 200, description = "A page of challenges", body = PageOf<Challenge>),
        InvalidToken,
        InvalidQuery,
    )
)]
#[get("/challenges")]
pub async fn list_challenges(
    st: State,
    user: MaybeUser,
    page: Query<PageQuery>,
    q: Query<ChallengeQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let caller = user.0.map(Caller::User);
    let filter = ChallengeFilter {
        status: q.status,
        track: q.track,
        tier: crate::routes::tier_filter(q.tier)?,
    };
    let limit = page.limit()?;
    let list = async || -> ApiResult<PageOf<Challenge>> {
        Ok(PageOf::from(
            challenges::list(
                &st.db,
                caller.as_ref(),
                &filter,
                page.cursor.as_deref(),
                limit,
            )
            .await?,
        ))
    };
    let key = || {
        format!(
            "challenges:{:?}:{:?}:{:?}:{:?}:{}",
            filter.status,
            filter.track,
            filter.tier.map(|t| t.get()),
            page.cursor,
            limit.get()
        )
    };
    st.public_cache.json(caller.as_ref(), key, list).await
}
