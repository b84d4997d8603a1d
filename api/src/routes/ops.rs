//! Liveness, readiness and the public keys.

use actix_web::{HttpResponse, get};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::State;

/// Whether this instance is alive (`/healthz`) or ready (`/readyz`).
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable`.
    pub status: String,
    /// The database: `ok` or `unavailable` (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Redis: `ok`, `unavailable` or `not_configured` (readiness only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
}

/// The process is alive.
///
/// Liveness: answers `{"status": "ok"}` while the process serves requests,
/// without looking at the database. Public; for probes (HEAD works too).
#[utoipa::path(
    tag = "operations",
    operation_id = "get_healthz",
    security(()),
    responses((status = 200, description = "Alive", body = Health))
)]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        database: None,
        redis: None,
    })
}

/// How long readiness waits for each dependency.
const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// The database (and Redis, when configured) answer.
///
/// Readiness: 200 when this instance can serve, 503 when the database or a
/// configured Redis does not answer within 2 seconds; the body says which. Public; for load
/// balancers (HEAD works too).
#[utoipa::path(
    tag = "operations",
    operation_id = "get_readyz",
    security(()),
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, description = "Not ready: a dependency does not answer", body = Health),
    )
)]
#[get("/readyz")]
pub async fn readyz(st: State) -> HttpResponse {
    // A probe answers within its own bound, not the pool's acquire timeout:
    // a database that does not answer in time is not ready.
    let db_ok = matches!(
        tokio::time::timeout(READY_WITHIN, st.db.ping()).await,
        Ok(Ok(()))
    );
    let redis = match &st.redis {
        None => "not_configured",
        Some(conn) => {
            let mut conn = conn.clone();
            let pong = tokio::time::timeout(
                READY_WITHIN,
                redis::cmd("PING").query_async::<String>(&mut conn),
            )
            .await;
            if matches!(pong, Ok(Ok(_))) {
                "ok"
            } else {
                "unavailable"
            }
        }
    };
    let ready = db_ok && redis != "unavailable";
    let body = Health {
        status: if ready { "ok" } else { "unavailable" }.into(),
        database: Some(if db_ok { "ok" } else { "unavailable" }.into()),
        redis: Some(redis.into()),
    };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// The public keys of this service.
///
/// A JSON Web Key Set (RFC 7517) with the Ed25519 keys that verify the
/// access tokens and certificates this service signs. Public.
#[utoipa::path(
    tag = "operations",
    operation_id = "get_jwks",
    security(()),
    responses((status = 200, description = "The key set (`{\"keys\": [...]}`)", body = Object))
)]
#[get("/.well-known/jwks.json")]
pub async fn jwks(st: State) -> HttpResponse {
    HttpResponse::Ok().json(st.keys.jwks())
}
