//! POST /talents/{id}/tracks/{track}/certify.

use crate::error::ApiResult;
use crate::extractors::{Authorized, IdempotencyKey, JsonBody};
use crate::routes::OptionalIdempotencyHeader;
use crate::routes::responses::*;
use crate::state::State;
use actix_web::{HttpResponse, post, web};
use kartel_domain::policy::CertifyTalents;
use kartel_domain::tiers::{self, TrackStanding};
use kartel_domain::types::Track;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertifyRequest {
    /// Why, for the tier history (up to 2,000 characters).
    #[serde(default)]
    #[schema(example = "Clean node graphs; the certification piece met the playbook's standard.")]
    pub note: String,
}

/// Certify a Tier 3 talent to Tier 4 in a track (community manager, admin).
///
/// Needs the talent at Tier 3 in the track, an accepted submission in a
/// challenge that certifies the track, and the track's playbook approved:
/// otherwise 422 `requirements_unmet` with each missing item in `errors`
/// (`tier`, `certifying_submission`, `playbook`). Never for yourself (403);
/// a talent whose address is not verified: 403 `email_unverified`; a
/// suspended or erased account: 422 `account_not_active`.
/// 409 `already_certified` at Tier 4 or 5. Issues the signed certificate
/// (in the answer's `certificate`), writes the tier history and the audit
/// log.
#[utoipa::path(
    tag = "tiers",
    operation_id = "certify_talent",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The talent's id"),
        ("track" = Track, Path, description = "The track"),
        OptionalIdempotencyHeader,
    ),
    request_body = CertifyRequest,
    responses(
        (status = 200, description = "The talent's new standing, with the certificate", body = TrackStanding),
        BadRequest,
        Unauthorized,
        Forbidden,
        NotFound,
        Conflict,
        PayloadTooLarge,
        UnsupportedMediaType,
        (status = 422, description = "Invalid fields, or the certification's requirements are not met (`requirements_unmet`, see `errors`)", body = crate::error::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/talents/{id}/tracks/{track}/certify")]
pub async fn certify_talent(
    st: State,
    allowed: Authorized<CertifyTalents>,
    key: IdempotencyKey,
    path: web::Path<(Uuid, Track)>,
    body: JsonBody<CertifyRequest>,
) -> ApiResult<HttpResponse> {
    let (talent, track) = path.into_inner();
    let body = body.into_inner()?;
    let s = tiers::certify(
        &st.db,
        &allowed,
        key.for_caller(allowed.caller())?.as_ref(),
        &st.keys,
        talent,
        track,
        &body.note,
    )
    .await?;
    Ok(HttpResponse::Ok().json(s))
}
