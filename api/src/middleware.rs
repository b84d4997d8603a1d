//! The edge of every request: HEAD answered like GET, queries with a NUL
//! refused, the request id and the security headers on every answer, which
//! answers caches may keep, CORS for the configured browser origins, and
//! each 5xx logged once.

use actix_cors::Cors;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};
use kartel_domain::FieldError;
use tracing_actix_web::RequestId;

use crate::error::ApiError;
use crate::extractors::NUL_MESSAGE;

/// Runs inside the request's tracing span, around routing and the handler.
pub async fn edge(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let request_id = req.extensions().get::<RequestId>().copied();
    // Load balancers probe with HEAD: answer as GET would, without the body.
    let head = req.method() == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
    }
    let mut res = match nul_in_query(req.query_string()) {
        Some(param) => {
            let e = ApiError::validation(vec![FieldError::new(param, NUL_MESSAGE)]);
            req.into_response(e.error_response())
        }
        None => next.call(req).await?.map_into_boxed_body(),
    };
    log_server_error(&res, request_id);
    let req = res.request();
    let uncacheable = no_store(
        req.method(),
        req.path(),
        || req.match_pattern(),
        res.status(),
    );
    let headers = res.headers_mut();
    if let Some(id) = request_id
        && let Ok(v) = HeaderValue::from_str(&id.to_string())
    {
        headers.insert(HeaderName::from_static("x-request-id"), v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if uncacheable {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if head {
        res = res.map_body(|_, _| BoxBody::new(()));
    }
    Ok(res)
}

/// The operations whose successful answers a cache may keep, as `(method,
/// route pattern)`: reference data that is the same for every caller and
/// names nobody. Listed here with why, and nowhere else in the code
/// (`tests/tests/api/caching.rs` holds its own copy by operation id and
/// fails when the two differ).
///
/// Not here, on purpose: the challenges (a challenge names the staff member
/// who made it, and staff also see drafts), leaderboards and talent profiles
/// (handles and people), certificates (a person's credential, even if anyone
/// may verify it).
const STORABLE: &[(&str, &str)] = &[
    // The tracks with their tier requirements and playbooks.
    ("GET", "/api/v1/tracks"),
    // The monthly credit allowance per tier.
    ("GET", "/api/v1/credits/allowance-policies"),
    // A certificate status list: signed bits that name nobody, for any
    // verifier; the answer says how long to keep it (`max-age=300`).
    ("GET", "/api/v1/status-lists/{id}"),
];

/// Whether an answer says `Cache-Control: no-store`: decided by what the
/// answer is (its operation and status), never by what the request looked
/// like, so a sign-in without credentials is covered like a read with them.
///
/// Every answer under `/api/` is `no-store`: tokens (login, refresh; RFC
/// 6749 §5.1 requires it), one-time secrets (a new API key's), personal
/// data (an account, a balance, a history), and errors too (a problem may
/// name what the caller asked for). The one exception is a successful answer
/// of [`STORABLE`]. So a new operation is `no-store` until someone argues
/// here that its answer is public and names nobody. Answers outside `/api/`
/// (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`, `/docs`,
/// `/.well-known/jwks.json`) carry nothing of anyone's and are left without
/// `Cache-Control`.
/// `pattern` (the matched route, which allocates) is asked only for a
/// successful answer under `/api/`.
fn no_store(
    method: &Method,
    path: &str,
    pattern: impl FnOnce() -> Option<String>,
    status: StatusCode,
) -> bool {
    if path != "/api" && !path.starts_with("/api/") {
        return false;
    }
    let storable = status.is_success()
        && pattern().is_some_and(|pattern| {
            STORABLE
                .iter()
                .any(|(m, p)| *m == method.as_str() && *p == pattern)
        });
    !storable
}

/// The name of the first query parameter whose name or decoded value holds
/// a NUL (PostgreSQL refuses NUL in text; no such text reaches it).
fn nul_in_query(query: &str) -> Option<String> {
    if !query.contains("%00") && !query.contains('\0') {
        return None;
    }
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
    pairs
        .into_iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| k.replace('\0', "\\u0000"))
        .or_else(|| Some("query".to_owned()))
}

/// Logs a 5xx once, with its cause chain and the request id (the client sees
/// neither). 4xx answers are the client's business and are not logged here.
fn log_server_error<B>(res: &ServiceResponse<B>, request_id: Option<RequestId>) {
    // A readiness probe's 503 is its answer, not a failure (probes ask
    // several times a second during an outage).
    if !res.status().is_server_error() || res.request().path() == "/readyz" {
        return;
    }
    let request_id = request_id.map(|id| id.to_string()).unwrap_or_default();
    let api_error = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>());
    let (code, cause) = match api_error {
        Some(e) => (e.code.to_string(), e.cause_chain().unwrap_or_default()),
        None => (
            "internal_error".to_owned(),
            res.response()
                .error()
                .map(ToString::to_string)
                .unwrap_or_default(),
        ),
    };
    let (method, path) = (res.request().method(), res.request().path());
    if res.status() == StatusCode::SERVICE_UNAVAILABLE {
        tracing::warn!(%request_id, %code, %method, %path, %cause, "request failed: service unavailable");
    } else {
        tracing::error!(%request_id, %code, %method, %path, %cause, "request failed");
    }
}

/// CORS for the configured origins: preflights for the API's methods and
/// headers; `x-request-id` and `Retry-After` readable by the page. Requests
/// from other origins are served without CORS headers (the browser then
/// keeps the answer from the page).
pub fn cors(origins: &[&str]) -> Cors {
    let mut cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("idempotency-key"),
        ])
        .expose_headers([HeaderName::from_static("x-request-id"), header::RETRY_AFTER])
        .max_age(3600)
        .block_on_origin_mismatch(false);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

#[cfg(test)]
mod tests {
    use actix_web::http::{Method, StatusCode};

    use super::{no_store, nul_in_query};

    #[test]
    fn only_the_successful_answers_of_public_operations_may_be_stored() {
        let api = |method: Method, path: &str, status: u16| {
            let status = StatusCode::from_u16(status).expect("status");
            no_store(&method, path, || Some(path.to_owned()), status)
        };
        // Tokens, secrets and accounts, whoever asked.
        assert!(api(Method::POST, "/api/v1/auth/login", 200));
        assert!(api(Method::POST, "/api/v1/auth/refresh", 200));
        assert!(api(Method::POST, "/api/v1/auth/register", 201));
        assert!(api(Method::POST, "/api/v1/admin/api-keys", 201));
        assert!(api(Method::GET, "/api/v1/me", 200));
        // Public reference data, unless the answer is an error.
        assert!(!api(Method::GET, "/api/v1/tracks", 200));
        assert!(!api(Method::GET, "/api/v1/credits/allowance-policies", 200));
        assert!(!api(Method::GET, "/api/v1/status-lists/{id}", 200));
        assert!(api(Method::GET, "/api/v1/status-lists/{id}", 404));
        assert!(api(Method::GET, "/api/v1/tracks", 503));
        assert!(api(Method::PATCH, "/api/v1/tracks", 405));
        // What decides is the matched route: without one, nothing is storable.
        assert!(no_store(
            &Method::GET,
            "/api/v1/tracks",
            || None,
            StatusCode::OK
        ));
        assert!(no_store(
            &Method::GET,
            "/api/v1/nowhere",
            || None,
            StatusCode::NOT_FOUND
        ));
        // Outside the API: left alone.
        for path in [
            "/healthz",
            "/readyz",
            "/metrics",
            "/openapi.json",
            "/docs/",
            "/.well-known/jwks.json",
        ] {
            assert!(
                !no_store(&Method::GET, path, || Some(path.to_owned()), StatusCode::OK),
                "{path}"
            );
        }
        assert!(no_store(
            &Method::GET,
            "/api",
            || None,
            StatusCode::NOT_FOUND
        ));
    }

    #[test]
    fn a_nul_in_a_query_names_its_parameter() {
        assert_eq!(nul_in_query("q=abc&limit=3"), None);
        assert_eq!(nul_in_query("q=a%00b"), Some("q".to_owned()));
        assert_eq!(
            nul_in_query("limit=1&action=%00"),
            Some("action".to_owned())
        );
        assert_eq!(nul_in_query("x%00=1"), Some("x\\u0000".to_owned()));
    }
}
