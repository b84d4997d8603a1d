//! GET /talents/{id}: a profile.

use crate::error::ApiResult;
use crate::extractors::MaybeUser;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::accounts::{self, TalentProfile};
use uuid::Uuid;

/// A talent's profile.
///
/// Public: anyone may call it without a token and sees handle, display
/// name, bio, tiers and tracks. Staff who send their bearer token also see
/// email, roles and status, and see suspended talents, who are 404 to
/// everyone else. A token that is sent must be valid (401 otherwise).
#[utoipa::path(
    tag = "talents",
    operation_id = "get_talent",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "The talent's id (their user id)")),
    responses(
        (status = 200, description = "The profile", body = TalentProfile),
        InvalidToken,
        NotFound,
    )
)]
#[get("/talents/{id}")]
pub async fn get_talent(
    st: State,
    user: MaybeUser,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let caller = user.0.map(kartel_domain::Caller::User);
    Ok(HttpResponse::Ok().json(accounts::talent_profile(&st.db, caller.as_ref(), *id).await?))
}
