//! GET /admin/audit-log.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::Authorized;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::audit::{self, AuditEntry, AuditFilter};
use kartel_domain::policy::ReadAuditLog;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `user.update`, `api_key.create`.
    pub action: Option<String>,
    pub actor_id: Option<Uuid>,
    pub target_id: Option<String>,
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
    allowed: Authorized<ReadAuditLog>,
    page: web::Query<PageQuery>,
    q: web::Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    let f = AuditFilter {
        action: q.action,
        actor_id: q.actor_id,
        target_id: q.target_id,
    };
    let page = audit::list(&st.db, &allowed, &f, page.cursor.as_deref(), page.limit()?).await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}
