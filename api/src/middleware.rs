//! The edge of every request: HEAD answered like GET, queries with a NUL
//! refused, the request id and the security headers on every answer, CORS
//! for the configured browser origins, and each 5xx logged once.

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
    let authenticated = req.headers().contains_key(header::AUTHORIZATION)
        || req.headers().contains_key("x-api-key");
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
    if authenticated {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if head {
        res = res.map_body(|_, _| BoxBody::new(()));
    }
    Ok(res)
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
    use super::nul_in_query;

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
