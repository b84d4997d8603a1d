//! GET /certificates/{id}.

use crate::error::ApiResult;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, get, web};
use kartel_domain::tiers::{self, Certificate};
use uuid::Uuid;

/// Verify a certificate (anyone, no login).
///
/// `status` says whether it still stands (`revoked` after the
/// certification was revoked, the talent demoted below Tier 4, or the
/// evidence it cites overturned; `replaced_by` then names the certificate
/// re-issued on other evidence, if any).
/// `credential` is the compact JWS (EdDSA, `typ` `vc+jwt`) whose payload
/// is an Open Badges 3.0 credential; it verifies offline with the key of
/// its `kid` at `/.well-known/jwks.json`. `credentialStatus` (also inside
/// the credential) names its bit in a public status list
/// (`GET /status-lists/{id}`), which verifiers check for revocation.
#[utoipa::path(
    tag = "tiers",
    operation_id = "get_certificate",
    security(()),
    params(("id" = Uuid, Path, description = "The certificate's id")),
    responses(
        (status = 200, description = "The certificate and its status", body = Certificate),
        NotFound,
    )
)]
#[get("/certificates/{id}")]
pub async fn get_certificate(st: State, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    // One re-issued a moment ago may still wait for its signature, and one
    // issued before status lists for its entry.
    tiers::sign_pending(&st.db, &st.keys, Some(*id)).await?;
    let mut certificate = tiers::get_certificate(&st.db, *id).await?;
    if certificate.credential_status.is_none() {
        tiers::give_entries(&st.db, &st.keys, Some(*id), 1).await?;
        certificate = tiers::get_certificate(&st.db, *id).await?;
    }
    Ok(HttpResponse::Ok().json(certificate))
}
