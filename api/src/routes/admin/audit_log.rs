//! GET /admin/audit-log.

use crate::error::ApiResult;
use crate::extractors::{Authorized, Query};
use crate::routes::responses::*;
use crate::routes::{PageOf, PageQuery};
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::audit::{self, AuditEntry, AuditFilter};
use kartel_domain::policy::ReadAuditLog;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only this action, e.g. `user.update`, `api_key.create`,
    /// `credits.grant`.
    #[param(example = "user.update")]
    pub action: Option<String>,
    /// Only actions by this person (a user id).
    pub actor_id: Option<Uuid>,
    /// Only actions on this target: a user, API key or transaction id, or
    /// a tier for `credits.allowance_policy`.
    pub target_id: Option<String>,
}

/// The audit log, newest first (admin).
///
/// Staff actions and account events (`user.create`, `user.update`,
/// `api_key.create`, `api_key.revoke`, `credits.grant`, `credits.reverse`,
/// `credits.allowance_policy`) with who did it, to what, and the value
/// before and after. Filters combine.
#[utoipa::path(
    tag = "admin",
    operation_id = "list_audit_log",
    security(("bearer" = [])),
    params(PageQuery, AuditQuery),
    responses(
        (status = 200, description = "A page of entries", body = PageOf<AuditEntry>),
        Unauthorized,
        Forbidden,
        InvalidQuery,
    )
)]
#[get("/admin/audit-log")]
pub async fn list_audit_log(
    st: State,
    allowed: Authorized<ReadAuditLog>,
    page: Query<PageQuery>,
    q: Query<AuditQuery>,
) -> ApiResult<HttpResponse> {
    let page = page.into_inner()?;
    let q = q.into_inner()?;
    let f = AuditFilter {
        action: q.action,
        actor_id: q.actor_id,
        target_id: q.target_id,
    };
    let page = audit::list(&st.db, &allowed, &f, page.cursor.as_deref(), page.limit()?).await?;
    Ok(HttpResponse::Ok().json(PageOf::from(page)))
}
