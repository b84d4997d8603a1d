//! One error type at the edge: everything becomes RFC 9457 problem+json with
//! a stable `code`. A 5xx logs its cause and tells the client nothing internal.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use kartel_domain::{DomainError, FieldError};
use serde::Serialize;
use utoipa::ToSchema;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:kartel:problem:<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable machine-readable code, e.g. `insufficient_credits`.
    pub code: String,
    /// Per-field messages of a validation error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub retry_after: Option<u64>,
    /// The cause of a 5xx, logged and never sent.
    pub source: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            source: None,
        }
    }
    pub fn unauthorized(detail: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }
    pub fn forbidden(detail: &str) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the request has invalid fields",
        );
        e.errors = errors;
        e
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests; retry later",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred",
        );
        e.source = Some(cause.to_string());
        e
    }
    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("urn:kartel:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.clone(),
            errors: self.errors.clone(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

/// The HTTP status of each domain code.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "validation_failed" | "capture_exceeds_hold" | "idempotency_key_reused" => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        "not_found" => StatusCode::NOT_FOUND,
        "invalid_credentials"
        | "session_revoked"
        | "invalid_refresh_token"
        | "refresh_token_reused" => StatusCode::UNAUTHORIZED,
        "account_suspended" | "forbidden" => StatusCode::FORBIDDEN,
        "email_taken"
        | "handle_taken"
        | "invalid_operation"
        | "insufficient_credits"
        | "balance_limit_exceeded"
        | "hold_not_pending"
        | "hold_expired"
        | "already_reversed"
        | "allowance_already_claimed"
        | "no_allowance"
        | "idempotency_in_progress" => StatusCode::CONFLICT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            // Every connection is busy: the instance is overloaded, not broken.
            DomainError::Db(sea_orm::DbErr::ConnectionAcquire(_)) => {
                tracing::warn!("database pool exhausted");
                let mut out = Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "service_unavailable",
                    "the service is overloaded; retry shortly",
                );
                out.retry_after = Some(1);
                out
            }
            DomainError::Db(_) | DomainError::Internal(_) => Self::internal(format!("{e:#}")),
            DomainError::Validation(errors) => Self::validation(errors),
            e => {
                let code = e.code().to_owned();
                let mut out = Self::new(status_of(&code), &code, e.to_string());
                if out.status == StatusCode::UNAUTHORIZED {
                    out.retry_after = None;
                }
                out
            }
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(cause) = &self.source {
            tracing::error!(code = %self.code, cause = %cause, "request failed");
        }
        let mut res = HttpResponse::build(self.status);
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        ));
        if let Some(secs) = self.retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        res.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

fn problem_response(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(Ref::from_schema_name("Problem"))))
                    .build(),
            )
            .build(),
    )
}

macro_rules! problem_responses {
    ($($(#[$doc:meta])* $name:ident => $status:literal, $description:literal;)*) => {
        $(
            $(#[$doc])*
            pub struct $name;

            impl utoipa::IntoResponses for $name {
                fn responses() -> std::collections::BTreeMap<String, utoipa::openapi::RefOr<utoipa::openapi::Response>> {
                    [($status.to_owned(), problem_response($description))].into()
                }
            }
        )*
    };
}

/// The documented error responses, for `#[utoipa::path(responses(...))]`.
pub mod responses {
    use super::problem_response;

    problem_responses! {
        BadRequest => "400", "The body is not valid JSON";
        Unauthorized => "401", "Not signed in, or the token or key is invalid, expired or revoked";
        Forbidden => "403", "Signed in, but not allowed to do this";
        NotFound => "404", "No such resource, or not yours to see";
        Conflict => "409", "Conflicts with the current state (taken, insufficient credits, already settled…)";
        Unprocessable => "422", "Invalid fields (see `errors`), or an Idempotency-Key reused with another body";
        TooManyRequests => "429", "Rate limited; retry after `Retry-After` seconds";
    }
}
