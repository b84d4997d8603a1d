//! GET /talents/{id}: a profile.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::MaybeUser;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::accounts::{self, TalentProfile};
use uuid::Uuid;

/// A talent's profile: public for anyone; staff also see email, roles and status.
#[utoipa::path(
    tag = "talents",
    operation_id = "get_talent",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = TalentProfile), NotFound)
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
