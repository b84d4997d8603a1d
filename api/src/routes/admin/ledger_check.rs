//! GET /admin/ledger/check: the reconciliation.

use crate::error::ApiResult;
use crate::error::responses::*;
use crate::extractors::Authorized;
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::ledger::{self, LedgerCheck};
use kartel_domain::policy::CheckLedger;

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
pub async fn check_ledger(st: State, allowed: Authorized<CheckLedger>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ledger::check(&st.db, &allowed).await?))
}
