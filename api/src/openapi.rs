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
                       every operation. Events go out as signed webhooks (Standard Webhooks 1.0; \
                       this document's `webhooks`) and can be pulled from `GET /api/v1/events`.",
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
    components(schemas(Problem, kartel_domain::webhooks::TestData, kartel_domain::types::Track, kartel_domain::types::Role, kartel_domain::types::UserStatus, kartel_domain::ledger::TransactionKind)),
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
        (name = "webhooks", description = "Webhook endpoints (admin): events pushed out by the Standard Webhooks spec; the payloads are this document's `webhooks`"),
        (name = "events", description = "Events out, pulled: the feed in order and the catalogue of kinds"),
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

/// The payloads webhooks deliver: one POST per event kind (and the test
/// message) with the Standard Webhooks headers and `{type, timestamp,
/// data}`, the data's schema among the components.
fn webhooks() -> serde_json::Value {
    use kartel_domain::events::{EventKind, data_schema};
    use sea_orm::Iterable;
    let header = |name: &str, kind: &str, description: &str| {
        serde_json::json!({
            "name": name, "in": "header", "required": true, "description": description,
            "schema": { "type": kind },
        })
    };
    let parameters = [
        header(
            "webhook-id",
            "string",
            "The message's id: the event's, the same on every attempt. Deduplicate by it.",
        ),
        header(
            "webhook-timestamp",
            "integer",
            "When this attempt was signed, in Unix seconds. Refuse one far from now (5 minutes).",
        ),
        header(
            "webhook-signature",
            "string",
            "`v1,` and the base64 HMAC-SHA256 of `{webhook-id}.{webhook-timestamp}.{body}`, keyed \
             by the base64-decoded part of the secret after `whsec_`. Space-separated when two \
             secrets sign (24 h after a rotation): accept if any matches.",
        ),
    ];
    let mut kinds: Vec<(String, String, String)> = EventKind::iter()
        .map(|k| {
            (
                k.as_str().to_owned(),
                data_schema(k).to_owned(),
                format!(
                    "A `{}` event (its subject: a {}).",
                    k.as_str(),
                    k.subject_type()
                ),
            )
        })
        .collect();
    kinds.push((
        kartel_domain::webhooks::TEST_TYPE.to_owned(),
        "TestData".to_owned(),
        "A test message an admin asked for (`POST /api/v1/webhooks/endpoints/{id}/test`)."
            .to_owned(),
    ));
    let items: serde_json::Map<String, serde_json::Value> = kinds
        .into_iter()
        .map(|(kind, schema, description)| {
            let op = serde_json::json!({
                "post": {
                    "tags": ["webhooks"],
                    "operationId": format!("webhook_{}", kind.replace('.', "_")),
                    "summary": kind,
                    "description": format!("{description} Sent at least once (retried for about a day and a half); events may arrive out of order."),
                    "parameters": parameters,
                    // The receiver checks the `webhook-signature` header
                    // (described above), not a credential of this API.
                    "security": [{}],
                    "requestBody": {
                        "required": true,
                        "content": { "application/json": { "schema": {
                            "type": "object",
                            "required": ["type", "timestamp", "data"],
                            "properties": {
                                "type": { "type": "string", "const": kind },
                                "timestamp": { "type": "string", "format": "date-time" },
                                "data": { "$ref": format!("#/components/schemas/{schema}") },
                            },
                        } } },
                    },
                    "responses": {
                        "2XX": { "description": "Received (the answer's first 4 KiB are kept for admins)" },
                        "410": { "description": "Gone: the endpoint is disabled and nothing more is sent" },
                        "429": { "description": "Too many: retried after `Retry-After` (also on 503)" },
                        "default": { "description": "Not received: retried after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h" },
                    },
                },
            });
            (kind, op)
        })
        .collect();
    serde_json::Value::Object(items)
}

/// Every operation documents the problem+json error envelope as its default response.
pub fn finish(mut doc: Doc) -> Doc {
    let c = doc.components.get_or_insert_with(Default::default);
    c.schemas
        .extend(kartel_domain::events::public_components().schemas);
    match serde_json::from_value(webhooks()) {
        Ok(paths) => doc.webhooks = Some(paths),
        Err(e) => tracing::error!(error = %e, "the webhooks of the OpenAPI document do not build"),
    }
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
