//! Admin: people's roles and status, service API keys, the audit log, the
//! ledger check.

use actix_web::{HttpResponse, delete, get, patch, post, web};
use kartel_domain::Caller;
use kartel_domain::accounts::{self, Account};
use kartel_domain::api_keys::{self, ApiKey, CreatedApiKey};
use kartel_domain::audit::{self, AuditEntry, AuditFilter};
use kartel_domain::ledger::{self, LedgerCheck};
use kartel_domain::types::{Role, Roles, Scope, UserStatus};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{PageOf, PageQuery};
use crate::error::responses::*;
use crate::error::{ApiError, ApiResult};
use crate::extractors::Admin;
use crate::extractors::JsonBody;
use crate::state::State;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// The full new set of roles (`talent` is always kept).
    pub roles: Option<Vec<Role>>,
    pub status: Option<UserStatus>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    #[schema(
        example = "generation-service",
        min_length = 1,
        max_length = 80,
        pattern = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]*$"
    )]
    pub name: String,
    /// At least one of the known scopes.
    #[schema(example = json!(["credits:hold"]), min_items = 1)]
    pub scopes: Vec<Scope>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `user.update`, `api_key.create`.
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub target_id: Option<String>,
}

fn admin_actor(a: &Admin) -> kartel_domain::caller::Actor {
    Caller::User(a.0.clone()).actor()
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
    admin: Admin,
    id: web::Path<Uuid>,
    body: JsonBody<UpdateUserRequest>,
) -> ApiResult<HttpResponse> {
    let body = body.into_inner();
    if body.roles.is_none() && body.status.is_none() {
        return Err(ApiError::validation(vec![kartel_domain::FieldError::new(
            "roles",
            "send roles and/or status",
        )]));
    }
    let account = accounts::admin_update_user(
        &st.db,
        &admin.0,
        *id,
        body.roles.map(Roles::new),
        body.status,
    )
    .await?;
    Ok(HttpResponse::Ok().json(account))
}

/// Create a service API key; its secret is shown only in this answer (admin).
#[utoipa::path(
    tag = "admin",
    operation_id = "create_api_key",
    security(("bearer" = [])),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, body = CreatedApiKey),
        Unauthorized,
        Forbidden,
        Unprocessable,
    )
)]
#[post("/admin/api-keys")]
pub async fn create_api_key(
    st: State,
    admin: Admin,
    body: JsonBody<CreateApiKeyRequest>,
) -> ApiResult<HttpResponse> {
    let scopes: Vec<String> = body.scopes.iter().map(|s| s.as_str().to_owned()).collect();
    let key = api_keys::create(&st.db, admin_actor(&admin), &body.name, &scopes).await?;
    Ok(HttpResponse::Created().json(key))
}

/// List service API keys (admin).
#[utoipa::path(
    tag = "admin",
    operation_id = "list_api_keys",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = PageOf<ApiKey>),
        Unauthorized,
        Forbidden,
    )
)]
#[get("/admin/api-keys")]
pub async fn list_api_keys(
    st: State,
    _admin: Admin,
    page: web::Query<PageQuery>,
) -> ApiResult<HttpResponse> {
    let page = api_keys::list(&st.db, page.cursor.as_deref(), page.limit()?).await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

/// One service API key (admin).
#[utoipa::path(
    tag = "admin",
    operation_id = "get_api_key",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 200, body = ApiKey),
        Forbidden,
        NotFound,
    )
)]
#[get("/admin/api-keys/{id}")]
pub async fn get_api_key(st: State, _admin: Admin, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(api_keys::get(&st.db, *id).await?))
}

/// Revoke a service API key (admin).
#[utoipa::path(
    tag = "admin",
    operation_id = "revoke_api_key",
    security(("bearer" = [])),
    params(("id" = Uuid, Path)),
    responses(
        (status = 204, description = "revoked"),
        Forbidden,
        NotFound,
    )
)]
#[delete("/admin/api-keys/{id}")]
pub async fn revoke_api_key(
    st: State,
    admin: Admin,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    api_keys::revoke(&st.db, admin_actor(&admin), *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The audit log, newest first (admin).
#[utoipa::path(
    tag = "admin",
    operation_id = "list_audit_log",
    security(("bearer" = [])),
    params(PageQuery, AuditQuery),
    responses(
        (status = 200, body = PageOf<AuditEntry>),
        Forbidden,
    )
)]
#[get("/admin/audit-log")]
pub async fn list_audit_log(
    st: State,
    _admin: Admin,
    page: web::Query<PageQuery>,
    q: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let f = AuditFilter {
        action: q.action,
        actor_id: q.actor_id,
        target_id: q.target_id,
    };
    let page = audit::list(&st.db, &f, page.cursor.as_deref(), page.limit()?).await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}

/// Reconciliation: prove that the books balance (admin).
#[utoipa::path(
    tag = "admin",
    operation_id = "check_ledger",
    security(("bearer" = [])),
    responses(
        (status = 200, body = LedgerCheck),
        Forbidden,
    )
)]
#[get("/admin/ledger/check")]
pub async fn check_ledger(st: State, _admin: Admin) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ledger::check(&st.db).await?))
}
