//! The OpenAPI document, generated from the registered routes.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Doc, RefOr, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Kartel Community Platform API",
        version = "0.1.0",
        description = "Talent accounts and sign-in, the generation-credits ledger, service API keys, challenges \
                       with submissions, rubric reviews and leaderboards, Tier 1–5 certification per role \
                       track with signed certificates, and delivery pods with the Tier 4 → 5 handoff. \
                       Errors are RFC 9457 problem+json with a stable `code`; lists use `?limit=&cursor=`; \
                       money-moving POSTs need an `Idempotency-Key` header. People sign in with a bearer \
                       token (`POST /api/v1/auth/login`); internal services send `X-Api-Key`. \
                       A NUL character in any query parameter or body string is a 422 naming it, on \
                       every operation.",
        // The workspace is `license = "UNLICENSED"`: not open source. OpenAPI 3.1
        // takes an SPDX expression; `LicenseRef-…` is SPDX's form for a licence
        // of one's own.
        license(name = "Proprietary", identifier = "LicenseRef-Proprietary")
    ),
    servers(
        (url = "/", description = "The server that serves this document"),
        (url = "http://127.0.0.1:8080", description = "Local `cargo run`"),
    ),
    modifiers(&Security),
    components(schemas(Problem, kartel_domain::types::Track, kartel_domain::types::Role, kartel_domain::types::UserStatus, kartel_domain::ledger::TransactionKind)),
    tags(
        (name = "auth", description = "Registration and sessions"),
        (name = "me", description = "The signed-in person"),
        (name = "talents", description = "Talent profiles and search"),
        (name = "credits", description = "The generation-credits ledger"),
        (name = "challenges", description = "Challenges, their lifecycle and leaderboards"),
        (name = "submissions", description = "Work submitted to challenges, and its reviews"),
        (name = "review-queue", description = "Claiming reviews from the queue under a lease"),
        (name = "reviews", description = "Figures on reviewing: the backlog and how far reviewers agree"),
        (name = "appeals", description = "A talent's appeals of a review's criterion, and their answers"),
        (name = "stream", description = "The live stream of one's events (Server-Sent Events)"),
        (name = "admin", description = "Administration"),
        (name = "operations", description = "Health, readiness, keys"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Doc) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        c.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
    }
}

/// Every operation documents the problem+json error envelope as its default response.
pub fn finish(mut doc: Doc) -> Doc {
    let problem = ResponseBuilder::new()
        .description(
            "Any other error, as RFC 9457 problem+json: 503 `service_unavailable` (with \
             `Retry-After`) when the database is unreachable or busy, 500 `internal_error` on a bug. \
             Neither is remembered under an `Idempotency-Key`: retry with the same key.",
        )
        .content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name(
                    "Problem",
                ))))
                .build(),
        )
        .build();
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            op.responses
                .responses
                .entry("default".into())
                .or_insert_with(|| RefOr::T(problem.clone()));
            // OpenAPI requires a description on every response.
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(r) = response
                    && r.description.is_empty()
                {
                    r.description = status
                        .parse::<u16>()
                        .ok()
                        .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
                        .and_then(|s| s.canonical_reason())
                        .unwrap_or("Response")
                        .to_owned();
                }
            }
        }
    }
    doc
}
