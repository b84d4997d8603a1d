//! PATCH /admin/users/{id}: roles and status.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::Authorized;
use crate::extractors::JsonBody;
use crate::state::State;
use actix_web::{HttpResponse, patch, web};
use kartel_domain::accounts::{self, Account, UserChange};
use kartel_domain::policy::ManageUsers;
use kartel_domain::types::{Role, UserStatus};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// The full new set of roles (`talent` is always kept).
    pub roles: Option<Vec<Role>>,
    pub status: Option<UserStatus>,
}

/// Change someone's roles, or suspend / reactivate them (admin).
#[utoipa::path(
    tag = "admin",
    operation_id = "update_user",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = Account),
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        Unprocessable,
    )
)]
#[patch("/admin/users/{id}")]
pub async fn update_user(
    st: State,
    allowed: Authorized<ManageUsers>,
    id: web::Path<Uuid>,
    body: JsonBody<UpdateUserRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    let change = UserChange::new(body.roles, body.status);
    let account = accounts::admin_update_user(&st.db, &allowed, *id, change).await?;
    Ok(HttpResponse::Ok().json(account))
}
