//! GET /admin/ledger/check: the reconciliation.

use crate::error::ApiResult;
use crate::extractors::Authorized;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get};
use kartel_domain::ledger::{self, LedgerCheck};
use kartel_domain::policy::CheckLedger;

/// Prove that the books balance (admin).
///
/// Reconciles the ledger from its raw rows: every transaction's entries sum
/// to zero, every cached balance and version matches the account's entries,
/// what is held matches the pending holds, no talent is below zero, captured
/// holds match their transactions. `ok` is true when nothing is wrong;
/// `issues` lists up to 100 findings.
#[utoipa::path(
    tag = "admin",
    operation_id = "check_ledger",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The reconciliation", body = LedgerCheck),
        Unauthorized,
        Forbidden,
    )
)]
#[get("/admin/ledger/check")]
pub async fn check_ledger(st: State, allowed: Authorized<CheckLedger>) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(ledger::check(&st.db, &allowed).await?))
}
