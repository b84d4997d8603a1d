//! Liveness, readiness and the public keys.

use actix_web::{HttpResponse, get};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::State;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable`.
    pub status: String,
    /// Per dependency: `ok`, `unavailable` or `not_configured`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
}

/// The process is alive.
#[utoipa::path(tag = "operations", operation_id = "get_healthz", responses((status = 200, body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "ok".into(),
        database: None,
        redis: None,
    })
}

/// The database (and Redis, when configured) answer.
#[utoipa::path(
    tag = "operations",
    operation_id = "get_readyz",
    responses((status = 200, body = Health), (status = 503, body = Health))
)]
#[get("/readyz")]
pub async fn readyz(st: State) -> HttpResponse {
    let db_ok = st.db.ping().await.is_ok();
    let redis = match &st.redis {
        None => "not_configured",
        Some(conn) => {
            let mut conn = conn.clone();
            let pong: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut conn).await;
            if pong.is_ok() { "ok" } else { "unavailable" }
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

/// The public keys that verify tokens and certificates issued by this service.
#[utoipa::path(tag = "operations", operation_id = "get_jwks", responses((status = 200, body = Object)))]
#[get("/.well-known/jwks.json")]
pub async fn jwks(st: State) -> HttpResponse {
    HttpResponse::Ok().json(st.keys.jwks())
}
