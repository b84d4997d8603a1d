//! One error type at the edge: everything becomes RFC 9457 problem+json with
//! a stable `code`. A 5xx carries its cause for the log and tells the client
//! nothing internal.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use std::borrow::Cow;

use kartel_domain::error::ErrorKind;
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
    /// Of a `conflict_of_interest`: which one (`author`,
    /// `already_reviewed`, `nominated`, `certified`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<kartel_domain::error::Conflict>)]
    pub conflict: Option<String>,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: Cow<'static, str>,
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// The conflict of interest a `conflict_of_interest` names.
    pub conflict: Option<kartel_domain::error::Conflict>,
    pub retry_after: Option<u64>,
    /// The cause of a 5xx: logged with its source chain and request id by
    /// `startup`'s response middleware, never sent.
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code: Cow::Borrowed(code),
            detail: detail.into(),
            errors: Vec::new(),
            conflict: None,
            retry_after: None,
            source: None,
        }
    }
    pub fn unauthorized(detail: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
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
    /// A bug on this side of the API (not the domain's): 500, cause logged.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "an internal error occurred",
        );
        e.source = Some(cause.into());
        e
    }
    pub fn problem(&self) -> Problem {
        Problem {
            type_: format!("urn:kartel:problem:{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_string(),
            errors: self.errors.clone(),
            conflict: self.conflict.map(|c| c.as_str().to_owned()),
        }
    }
    /// The problem an actix error stands for: our own (as the app's JSON
    /// config makes them) as it was, anything else as a 400.
    pub fn from_actix(e: &actix_web::Error) -> Self {
        match e.as_error::<ApiError>() {
            Some(a) => Self {
                status: a.status,
                code: a.code.clone(),
                detail: a.detail.clone(),
                errors: a.errors.clone(),
                conflict: a.conflict,
                retry_after: a.retry_after,
                source: None,
            },
            None => Self::new(
                e.as_response_error().status_code(),
                "bad_request",
                e.to_string(),
            ),
        }
    }

    /// The cause and its sources, outermost first, for the log.
    pub fn cause_chain(&self) -> Option<String> {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self.source.as_deref()?);
        let mut parts = Vec::new();
        while let Some(e) = cause {
            let text = e.to_string();
            // Many errors repeat their source in their own message.
            if !parts.last().is_some_and(|p: &String| p.contains(&text)) {
                parts.push(text);
            }
            cause = e.source();
        }
        Some(parts.join(": "))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

/// The HTTP status of each kind of domain error. Exhaustive: a new kind
/// without a status does not compile.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    use ErrorKind as K;
    match kind {
        K::Validation
        | K::CaptureExceedsHold
        | K::IdempotencyKeyReused
        | K::RequirementsUnmet
        | K::NotTierFour
        | K::AccountNotActive
        | K::CertificateRequired => StatusCode::UNPROCESSABLE_ENTITY,
        K::NotFound => StatusCode::NOT_FOUND,
        K::InvalidCredentials
        | K::SessionRevoked
        | K::InvalidRefreshToken
        | K::RefreshTokenReused => StatusCode::UNAUTHORIZED,
        K::AccountSuspended
        | K::Forbidden
        | K::NotEligible
        | K::OwnSubmission
        | K::ConflictOfInterest
        | K::EmailUnverified => StatusCode::FORBIDDEN,
        K::InvalidToken => StatusCode::BAD_REQUEST,
        K::EmailTaken
        | K::HandleTaken
        | K::OwnAdminRole
        | K::SelfSuspension
        | K::ReversalNotReversible
        | K::InsufficientCredits
        | K::BalanceLimit
        | K::HoldNotPending
        | K::HoldExpired
        | K::AlreadyReversed
        | K::ReviewsPending
        | K::AppealsPending
        | K::AppealWindowClosed
        | K::AppealExists
        | K::AppealAnswered
        | K::AllowanceAlreadyClaimed
        | K::NoAllowance
        | K::IllegalTransition
        | K::FieldLocked
        | K::SubmissionWindowClosed
        | K::SubmissionLimit
        | K::NotJudging
        | K::ReviewConflict
        | K::SameReviewer
        | K::SeatClaimed
        | K::NoOpenSeat
        | K::ClaimExpired
        | K::SubmissionWithdrawn
        | K::AlreadyEnrolled
        | K::AlreadyCertified
        | K::PodAtCapacity
        | K::PodClosed
        | K::SlotFilled
        | K::SlotEmpty
        | K::NominationPending
        | K::NominationNotPending
        | K::EngagementEnded
        | K::TalentPlaced
        | K::PodHasPlacements
        | K::EndpointDisabled
        | K::AlreadyVerified
        | K::IdempotencyInProgress => StatusCode::CONFLICT,
        K::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        K::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let kind = e.kind();
        let status = status_of(kind);
        let mut out = match (kind, e) {
            (_, DomainError::Validation(errors)) => return Self::validation(errors),
            (_, e @ DomainError::RequirementsUnmet(_)) => {
                let detail = e.to_string();
                let DomainError::RequirementsUnmet(errors) = e else {
                    unreachable!()
                };
                let mut out = Self::new(status, kind.code(), detail);
                out.errors = errors;
                return out;
            }
            (ErrorKind::Unavailable, e) => {
                let mut out = Self::new(
                    status,
                    kind.code(),
                    "the database is unavailable or overloaded; retry shortly",
                );
                out.retry_after = Some(1);
                out.source = Some(Box::new(e));
                out
            }
            (ErrorKind::Internal, e) => {
                let mut out = Self::new(status, kind.code(), "an internal error occurred");
                out.source = Some(Box::new(e));
                out
            }
            (_, e) => {
                let mut out = Self::new(status, kind.code(), e.to_string());
                out.conflict = e.conflict();
                out
            }
        };
        if out.status == StatusCode::UNAUTHORIZED {
            out.retry_after = None;
        }
        out
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_client_errors_and_faults_server_errors() {
        for kind in ErrorKind::ALL {
            let status = status_of(*kind);
            if kind.is_refusal() {
                assert!(
                    status.is_client_error(),
                    "{kind:?} is a refusal but {status}"
                );
            } else {
                assert!(
                    status.is_server_error()
                        || matches!(
                            kind,
                            ErrorKind::IdempotencyInProgress | ErrorKind::IdempotencyKeyReused
                        ),
                    "{kind:?} is not a refusal but {status}"
                );
            }
            assert_eq!(ErrorKind::from_code(kind.code()), Some(*kind));
        }
    }

    #[test]
    fn an_internal_error_keeps_its_cause_chain_and_says_nothing_of_it() {
        let db = sea_orm::DbErr::Custom("disk on fire".into());
        let e = ApiError::from(DomainError::Db(db));
        assert_eq!(e.status, StatusCode::INTERNAL_SERVER_ERROR);
        let chain = e.cause_chain().unwrap_or_default();
        assert!(chain.contains("disk on fire"), "{chain}");
        assert!(!e.problem().detail.contains("disk"));
    }
}
