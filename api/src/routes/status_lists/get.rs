//! GET /status-lists/{id}.

use crate::error::ApiResult;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use kartel_domain::tiers;
use uuid::Uuid;

/// A certificate status list (anyone, no login).
///
/// The list a certificate's `credentialStatus.statusListCredential` names:
/// a W3C Bitstring Status List v1.0 `BitstringStatusListCredential`, as a
/// compact JWS (EdDSA, `typ` `vc+jwt`, the signing key's `kid`) that
/// verifies offline with `/.well-known/jwks.json`. Its payload's
/// `credentialSubject.encodedList` is the multibase (`u`, base64url) GZIP
/// of the bitstring (at least 131,072 bits; index 0 the first byte's most
/// significant bit): bit `statusListIndex` is 1 once that certificate was
/// revoked. `validUntil` is at most 7 days after `validFrom`; the list is
/// signed again when a revocation changes it, so a cache may keep it for
/// 5 minutes (`Cache-Control: max-age=300`, the subject's `ttl`).
#[utoipa::path(
    tag = "tiers",
    operation_id = "get_status_list",
    security(()),
    params(("id" = Uuid, Path, description = "The status list's id")),
    responses(
        (
            status = 200,
            description = "The signed status list credential (a compact JWS)",
            body = String,
            content_type = "application/vc+jwt",
            headers(("Cache-Control" = String, description = "`max-age=300`"))
        ),
        NotFound,
    )
)]
#[get("/status-lists/{id}")]
pub async fn get_status_list(st: State, id: web::Path<Uuid>) -> ApiResult<HttpResponse> {
    let jws = tiers::status_list_credential(&st.db, &st.keys, *id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            format!("max-age={}", tiers::TTL_SECONDS),
        ))
        .content_type("application/vc+jwt")
        .body(jws))
}
