//! GET /talents: staff search.

use crate::error::ApiResult;
use crate::extractors::{Authorized, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::accounts::{self, Account, TalentFilter};
use kartel_domain::policy::SearchTalents;
use kartel_domain::types::{Role, Track, UserStatus};
use serde::Deserialize;
use utoipa::IntoParams;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TalentQuery {
    /// Matches handle, display name or email (case-insensitive, substring).
    pub q: Option<String>,
    /// Only accounts with this status.
    pub status: Option<UserStatus>,
    /// Only people with this role.
    pub role: Option<Role>,
    /// Enrolled in this track (with `tier`: at this tier in it).
    pub track: Option<Track>,
    /// At this tier in some track (or in `track`).
    #[param(minimum = 0, maximum = 5)]
    pub tier: Option<i16>,
    /// Only talents whose address is (`true`) or is not yet (`false`) verified.
    pub email_verified: Option<bool>,
}

/// Search and filter talents (staff).
///
/// For community managers, generative leads and admins (403 for anyone
/// else). Every filter is optional and they combine; results are in sign-up
/// order and include private fields (email, roles, status).
#[utoipa::path(
    tag = "talents",
    operation_id = "list_talents",
    security(("bearer" = [])),
    params(PageQuery, TalentQuery),
    responses(
        (status = 200, description = "A page of matching accounts", body = PageOf<Account>),
        Unauthorized,
        Forbidden,
        InvalidQuery,
    )
)]
#[get("/talents")]
pub async fn list_talents(
    st: State,
    allowed: Authorized<SearchTalents>,
    page: Query<PageQuery>,
    q: Query<TalentQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let filter = TalentFilter {
        q: q.q,
        status: q.status,
        role: q.role,
        track: q.track,
        tier: crate::routes::tier_filter(q.tier)?,
        email_verified: q.email_verified,
    };
    let page = accounts::list_talents(
        &st.db,
        &allowed,
        &filter,
        page.cursor.as_deref(),
        page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}
