//! PATCH /admin/users/{id}: roles and status.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::extractors::JsonBody;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, patch, web};
use kartel_domain::accounts::{self, Account, UserChange};
use kartel_domain::policy::ManageUsers;
use kartel_domain::types::{Role, UserStatus};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// Send `roles` and/or `status`; what is absent or null stays as it is. An
/// empty change (`{}`, or both null) returns the account unchanged.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// The full new set of roles (`talent` is always kept); absent or null:
    /// roles unchanged.
    #[schema(example = json!(["community_manager"]))]
    pub roles: Option<Vec<Role>>,
    /// `suspended` ends every session of theirs at once; `active` lets them
    /// sign in again. Absent or null: status unchanged.
    pub status: Option<SettableStatus>,
}

/// The statuses an admin sets (erasure is `erase_user`, and final).
#[derive(Deserialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum SettableStatus {
    Active,
    Suspended,
}

impl From<SettableStatus> for UserStatus {
    fn from(s: SettableStatus) -> Self {
        match s {
            SettableStatus::Active => Self::Active,
            SettableStatus::Suspended => Self::Suspended,
        }
    }
}

/// Change someone's roles or status (admin).
///
/// Send `roles` (the full new set; `talent` is always kept) and/or
/// `status`. Suspending someone ends all their sessions at once and
/// withdraws their pending nominations (a placed Tier 5 keeps the slot,
/// marked suspended, and is not counted as deployed); reactivating lets
/// them sign in again. An empty change (`{}`, or both
/// null) changes nothing and returns the account as it is. An admin cannot
/// drop their own admin role (409 `cannot_remove_own_admin_role`) or
/// suspend themselves (409 `cannot_suspend_self`). Audited with before and
/// after.
#[utoipa::path(
    tag = "admin",
    operation_id = "update_user",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The user's id")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The account as it now is", body = Account),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        InvalidBody,
    )
)]
#[patch("/admin/users/{id}")]
pub async fn update_user(
    st: State,
    allowed: Authorized<ManageUsers>,
    id: web::Path<Uuid>,
    body: JsonBody<UpdateUserRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner()?;
    let change = UserChange::new(body.roles, body.status.map(Into::into));
    let account = accounts::admin_update_user(&st.db, &allowed, *id, change).await?;
    // Roles or status changed: sessions checked before are stale everywhere.
    st.sessions.revoked(*id).await;
    Ok(HttpResponse::Ok().json(account))
}
