//! Domain errors: each has a stable snake_case code; the API maps codes to
//! HTTP statuses. Refusals are the errors an idempotency key remembers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The request field, as named in the request body or query.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("the request has invalid fields")]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("this handle is taken")]
    HandleTaken,
    #[error("email or password is incorrect")]
    InvalidCredentials,
    #[error("this account is suspended")]
    AccountSuspended,
    #[error("the session has ended; sign in again")]
    SessionRevoked,
    #[error("the refresh token is invalid or expired")]
    InvalidRefreshToken,
    #[error("this refresh token was already used; every session of this login is revoked")]
    RefreshTokenReused,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    InvalidOperation(&'static str),
    #[error("insufficient credits: the available balance does not cover this amount")]
    InsufficientCredits,
    #[error("the balance would exceed the maximum allowed")]
    BalanceLimit,
    #[error("the hold is {0}, not pending")]
    HoldNotPending(String),
    #[error("the hold has expired and was released")]
    HoldExpired,
    #[error("the capture amount exceeds the held amount")]
    CaptureExceedsHold,
    #[error("this transaction was already reversed")]
    AlreadyReversed,
    #[error("this period's allowance was already claimed")]
    AllowanceAlreadyClaimed,
    #[error("there is no allowance for your tier")]
    NoAllowance,
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInProgress,
    /// A refusal remembered by an idempotency key, replayed as it was first given.
    #[error("{detail}")]
    Replayed { code: String, detail: String },
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl DomainError {
    /// The stable machine-readable code clients rely on.
    pub fn code(&self) -> &str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::NotFound(_) => "not_found",
            Self::EmailTaken => "email_taken",
            Self::HandleTaken => "handle_taken",
            Self::InvalidCredentials => "invalid_credentials",
            Self::AccountSuspended => "account_suspended",
            Self::SessionRevoked => "session_revoked",
            Self::InvalidRefreshToken => "invalid_refresh_token",
            Self::RefreshTokenReused => "refresh_token_reused",
            Self::Forbidden(_) => "forbidden",
            Self::InvalidOperation(_) => "invalid_operation",
            Self::InsufficientCredits => "insufficient_credits",
            Self::BalanceLimit => "balance_limit_exceeded",
            Self::HoldNotPending(_) => "hold_not_pending",
            Self::HoldExpired => "hold_expired",
            Self::CaptureExceedsHold => "capture_exceeds_hold",
            Self::AlreadyReversed => "already_reversed",
            Self::AllowanceAlreadyClaimed => "allowance_already_claimed",
            Self::NoAllowance => "no_allowance",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdempotencyInProgress => "idempotency_in_progress",
            Self::Replayed { code, .. } => code,
            Self::Db(_) | Self::Internal(_) => "internal_error",
        }
    }

    /// A business refusal (as opposed to a fault): the same request would be
    /// refused again, so an idempotency key stores it and replays it.
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            Self::Db(_)
                | Self::Internal(_)
                | Self::IdempotencyInProgress
                | Self::IdempotencyKeyReused
                | Self::Replayed { .. }
        )
    }

    pub fn field(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }
}

pub type Result<T, E = DomainError> = std::result::Result<T, E>;
