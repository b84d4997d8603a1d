//! Domain errors. Every error has a kind ([`ErrorKind`]): a closed set with a
//! stable snake_case code, which the API maps to an HTTP status by an
//! exhaustive `match`, so a new kind without a status does not compile.
//! Refusals (every kind but the faults) are what an idempotency key remembers.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::enums::{ChallengeStatus, HoldStatus, Track, UserStatus};

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

macro_rules! error_kinds {
    ($($(#[$doc:meta])* $kind:ident => $code:literal,)*) => {
        /// What went wrong, as clients see it: one stable code per kind.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorKind {
            $($(#[$doc])* $kind,)*
        }

        impl ErrorKind {
            pub const ALL: &[ErrorKind] = &[$(ErrorKind::$kind,)*];

            /// The stable machine-readable code clients rely on.
            pub fn code(self) -> &'static str {
                match self {
                    $(ErrorKind::$kind => $code,)*
                }
            }

            /// The kind of a stored code; `None` for a code this version does
            /// not know (a stored answer is then not replayed but refused).
            pub fn from_code(code: &str) -> Option<Self> {
                match code {
                    $($code => Some(ErrorKind::$kind),)*
                    _ => None,
                }
            }
        }
    };
}

error_kinds! {
    Validation => "validation_failed",
    NotFound => "not_found",
    EmailTaken => "email_taken",
    HandleTaken => "handle_taken",
    InvalidCredentials => "invalid_credentials",
    AccountSuspended => "account_suspended",
    SessionRevoked => "session_revoked",
    InvalidRefreshToken => "invalid_refresh_token",
    RefreshTokenReused => "refresh_token_reused",
    /// The caller may not do this (role, scope or ownership).
    Forbidden => "forbidden",
    /// An admin tried to drop their own admin role.
    OwnAdminRole => "cannot_remove_own_admin_role",
    /// An admin tried to suspend themselves.
    SelfSuspension => "cannot_suspend_self",
    /// A reversal was to be reversed.
    ReversalNotReversible => "reversal_not_reversible",
    InsufficientCredits => "insufficient_credits",
    BalanceLimit => "balance_limit_exceeded",
    HoldNotPending => "hold_not_pending",
    HoldExpired => "hold_expired",
    CaptureExceedsHold => "capture_exceeds_hold",
    AlreadyReversed => "already_reversed",
    /// Judging cannot end while entries wait for a decision.
    ReviewsPending => "reviews_pending",
    /// A challenge does not close while an appeal is open or an appeal window runs.
    AppealsPending => "appeals_pending",
    /// The submission cannot be appealed now (no decision yet, no window,
    /// the window has passed, or the challenge is no longer judging).
    AppealWindowClosed => "appeal_window_closed",
    /// The submission already has an appeal of this criterion.
    AppealExists => "appeal_exists",
    /// The appeal was answered already.
    AppealAnswered => "appeal_already_answered",
    AllowanceAlreadyClaimed => "allowance_already_claimed",
    NoAllowance => "no_allowance",
    /// A challenge cannot move from its status to the one asked for.
    IllegalTransition => "illegal_transition",
    /// A field that may no longer change in the challenge's status.
    FieldLocked => "field_locked",
    /// Outside the challenge's submission window, or the challenge is not open.
    SubmissionWindowClosed => "submission_window_closed",
    /// The talent's tier is outside the challenge's range.
    NotEligible => "not_eligible",
    SubmissionLimit => "submission_limit_reached",
    /// Nobody reviews their own submission (before `conflict_of_interest`
    /// named it `author`; kept so that answers stored under an idempotency
    /// key still replay).
    OwnSubmission => "own_submission",
    /// The reviewer has a conflict of interest with the submission (the
    /// problem's `conflict` names which).
    ConflictOfInterest => "conflict_of_interest",
    /// Every open review seat of the submission is claimed by another reviewer.
    SeatClaimed => "seat_claimed",
    /// The submission has no open review seat: it needs no review now.
    NoOpenSeat => "no_open_seat",
    /// The claim's lease ran out (its seat went back to the queue).
    ClaimExpired => "claim_expired",
    /// Reviews happen while the challenge is judging.
    NotJudging => "challenge_not_judging",
    /// Another review of the submission landed first.
    ReviewConflict => "review_conflict",
    /// An overturn is another manager's review.
    SameReviewer => "same_reviewer",
    SubmissionWithdrawn => "submission_withdrawn",
    AlreadyEnrolled => "already_enrolled",
    RequirementsUnmet => "requirements_unmet",
    AlreadyCertified => "already_certified",
    NotTierFour => "not_tier_four",
    PodAtCapacity => "pod_at_capacity",
    PodClosed => "pod_closed",
    SlotFilled => "slot_filled",
    SlotEmpty => "slot_empty",
    NominationPending => "nomination_pending",
    NominationNotPending => "nomination_not_pending",
    EngagementEnded => "engagement_ended",
    TalentPlaced => "talent_already_placed",
    PodHasPlacements => "pod_has_placements",
    /// A test or recovery asked of a disabled webhook endpoint.
    EndpointDisabled => "endpoint_disabled",
    /// The person's account is suspended or erased: out of the pipeline.
    AccountNotActive => "account_not_active",
    /// Nominating needs a valid certificate in the track.
    CertificateRequired => "certificate_required",
    /// The talent has not verified their email address yet.
    EmailUnverified => "email_unverified",
    /// A verification or reset token that is wrong, used or expired.
    InvalidToken => "invalid_token",
    AlreadyVerified => "email_already_verified",
    IdempotencyKeyReused => "idempotency_key_reused",
    IdempotencyInProgress => "idempotency_in_progress",
    /// The database cannot be reached or has no free connection: retry soon.
    Unavailable => "service_unavailable",
    /// A bug or a broken invariant.
    Internal => "internal_error",
}

impl ErrorKind {
    /// A business refusal (as opposed to a fault or a question about the key
    /// itself): the same request would be refused again, so an idempotency
    /// key stores it and replays it. Faults are never stored: a retry runs again.
    pub fn is_refusal(self) -> bool {
        !matches!(
            self,
            Self::Unavailable
                | Self::Internal
                | Self::IdempotencyInProgress
                | Self::IdempotencyKeyReused
        )
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
    /// `user`: whose login ended (the API tells the other instances).
    #[error("this refresh token was already used; every session of this login is revoked")]
    RefreshTokenReused { user: Uuid },
    #[error("{0}")]
    Forbidden(Denied),
    #[error("an admin cannot remove their own admin role")]
    OwnAdminRole,
    #[error("an admin cannot suspend their own account")]
    SelfSuspension,
    #[error("a reversal or a reward's take-back cannot itself be reversed")]
    ReversalNotReversible,
    #[error("insufficient credits: the available balance does not cover this amount")]
    InsufficientCredits,
    #[error("the balance would exceed the maximum allowed")]
    BalanceLimit,
    #[error("the hold is {}, not pending", .0.as_str())]
    HoldNotPending(HoldStatus),
    #[error("the hold has expired and was released")]
    HoldExpired,
    #[error("the capture amount exceeds the held amount")]
    CaptureExceedsHold,
    #[error("this transaction was already reversed")]
    AlreadyReversed,
    #[error(
        "this reward was already taken back from the talent (in whole or part, or it is owed); there is nothing left to reverse"
    )]
    RewardTakenBack,
    #[error(
        "{0} submitted entries have no decision yet; review them or wait until the review deadline"
    )]
    ReviewsPending(i64),
    #[error("{0}")]
    AppealsPending(String),
    #[error("this submission cannot be appealed now: {0}")]
    AppealWindowClosed(&'static str),
    #[error("this submission already has an appeal of this criterion (one per criterion)")]
    AppealExists,
    #[error("this appeal was already answered")]
    AppealAnswered,
    #[error("this period's allowance was already claimed")]
    AllowanceAlreadyClaimed,
    #[error("there is no allowance for your tier")]
    NoAllowance,
    #[error("a {} challenge cannot become {}", .from.as_str(), .to.as_str())]
    IllegalTransition {
        from: ChallengeStatus,
        to: ChallengeStatus,
    },
    #[error("these fields can no longer change while the challenge is {}: {}", .status.as_str(), .fields.join(", "))]
    FieldLocked {
        status: ChallengeStatus,
        fields: Vec<&'static str>,
    },
    #[error("the challenge is not taking submissions now (its window or status)")]
    SubmissionWindowClosed,
    #[error("your tier in this challenge's track is outside its range ({min}–{max})")]
    NotEligible { min: i16, max: i16 },
    #[error("you already have the most submissions this challenge allows ({0})")]
    SubmissionLimit(i32),
    #[error("nobody reviews their own submission")]
    OwnSubmission,
    #[error("{}", .0.detail())]
    ConflictOfInterest(Conflict),
    #[error(
        "every open review seat of this submission is claimed by another reviewer; take another from the queue"
    )]
    SeatClaimed,
    #[error("this submission has no open review seat: it needs no review now")]
    NoOpenSeat,
    #[error("this claim's lease ran out and its seat went back to the queue; claim again")]
    ClaimExpired,
    #[error("submissions are reviewed while the challenge is judging")]
    NotJudging,
    #[error("another review of this submission landed first; read it and review again")]
    ReviewConflict,
    #[error("an overturn must come from another manager than the review it replaces")]
    SameReviewer,
    #[error("this submission was withdrawn")]
    SubmissionWithdrawn,
    #[error("already enrolled in this track")]
    AlreadyEnrolled,
    #[error("the requirements are not met: {}", .0.iter().map(|e| e.field.as_str()).collect::<Vec<_>>().join(", "))]
    RequirementsUnmet(Vec<FieldError>),
    #[error("the talent is already Tier {0} in this track")]
    AlreadyCertified(i16),
    #[error("this needs a Tier 4 (certified) talent in the track; the talent is Tier {0}")]
    NotTierFour(i16),
    #[error("the pod already carries as many client engagements as its capacity ({0})")]
    PodAtCapacity(i32),
    #[error("the pod is {0}")]
    PodClosed(&'static str),
    #[error("this slot is already filled")]
    SlotFilled,
    #[error("this slot has nobody assigned")]
    SlotEmpty,
    #[error("this talent already has a pending nomination in this track")]
    NominationPending,
    #[error("this nomination is {0}, not pending")]
    NominationNotPending(&'static str),
    #[error("this engagement has already ended")]
    EngagementEnded,
    #[error("this talent already fills a pod slot; unassign or reassign them first")]
    TalentPlaced,
    #[error(
        "the pod still has talent placed in its slots; unassign or move them before closing it"
    )]
    PodHasPlacements,
    #[error("this webhook endpoint is disabled; enable it first (PATCH disabled: false)")]
    EndpointDisabled,
    #[error("the talent's account is {}: suspended and erased people's work is not accepted, and they are not certified, nominated or placed", .0.as_str())]
    AccountNotActive(UserStatus),
    #[error("this needs a valid certificate in {}; the talent has none (revoked, or its evidence was overturned)", .0.as_str())]
    CertificateRequired(Track),
    #[error(
        "the email address is not verified yet; follow the link mailed to it (or ask for a new one)"
    )]
    EmailUnverified,
    #[error("this link is invalid, expired or already used; ask for a new one")]
    InvalidToken,
    #[error("this email address is already verified")]
    AlreadyVerified,
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still being processed")]
    IdempotencyInProgress,
    /// A refusal remembered by an idempotency key, replayed as it was first
    /// given (with the conflict it named, if any).
    #[error("{detail}")]
    Replayed {
        kind: ErrorKind,
        detail: String,
        conflict: Option<Conflict>,
    },
    #[error("database error")]
    Db(#[from] sea_orm::DbErr),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl DomainError {
    pub fn kind(&self) -> ErrorKind {
        use ErrorKind as K;
        match self {
            Self::Validation(_) => K::Validation,
            Self::NotFound(_) => K::NotFound,
            Self::EmailTaken => K::EmailTaken,
            Self::HandleTaken => K::HandleTaken,
            Self::InvalidCredentials => K::InvalidCredentials,
            Self::AccountSuspended => K::AccountSuspended,
            Self::SessionRevoked => K::SessionRevoked,
            Self::InvalidRefreshToken => K::InvalidRefreshToken,
            Self::RefreshTokenReused { .. } => K::RefreshTokenReused,
            Self::Forbidden(_) => K::Forbidden,
            Self::OwnAdminRole => K::OwnAdminRole,
            Self::SelfSuspension => K::SelfSuspension,
            Self::ReversalNotReversible => K::ReversalNotReversible,
            Self::InsufficientCredits => K::InsufficientCredits,
            Self::BalanceLimit => K::BalanceLimit,
            Self::HoldNotPending(_) => K::HoldNotPending,
            Self::HoldExpired => K::HoldExpired,
            Self::CaptureExceedsHold => K::CaptureExceedsHold,
            Self::AlreadyReversed | Self::RewardTakenBack => K::AlreadyReversed,
            Self::ReviewsPending(_) => K::ReviewsPending,
            Self::AppealsPending(_) => K::AppealsPending,
            Self::AppealWindowClosed(_) => K::AppealWindowClosed,
            Self::AppealExists => K::AppealExists,
            Self::AppealAnswered => K::AppealAnswered,
            Self::AllowanceAlreadyClaimed => K::AllowanceAlreadyClaimed,
            Self::NoAllowance => K::NoAllowance,
            Self::IllegalTransition { .. } => K::IllegalTransition,
            Self::FieldLocked { .. } => K::FieldLocked,
            Self::SubmissionWindowClosed => K::SubmissionWindowClosed,
            Self::NotEligible { .. } => K::NotEligible,
            Self::SubmissionLimit(_) => K::SubmissionLimit,
            Self::OwnSubmission => K::OwnSubmission,
            Self::ConflictOfInterest(_) => K::ConflictOfInterest,
            Self::SeatClaimed => K::SeatClaimed,
            Self::NoOpenSeat => K::NoOpenSeat,
            Self::ClaimExpired => K::ClaimExpired,
            Self::NotJudging => K::NotJudging,
            Self::ReviewConflict => K::ReviewConflict,
            Self::SameReviewer => K::SameReviewer,
            Self::SubmissionWithdrawn => K::SubmissionWithdrawn,
            Self::AlreadyEnrolled => K::AlreadyEnrolled,
            Self::RequirementsUnmet(_) => K::RequirementsUnmet,
            Self::AlreadyCertified(_) => K::AlreadyCertified,
            Self::NotTierFour(_) => K::NotTierFour,
            Self::PodAtCapacity(_) => K::PodAtCapacity,
            Self::PodClosed(_) => K::PodClosed,
            Self::SlotFilled => K::SlotFilled,
            Self::SlotEmpty => K::SlotEmpty,
            Self::NominationPending => K::NominationPending,
            Self::NominationNotPending(_) => K::NominationNotPending,
            Self::EngagementEnded => K::EngagementEnded,
            Self::TalentPlaced => K::TalentPlaced,
            Self::PodHasPlacements => K::PodHasPlacements,
            Self::EndpointDisabled => K::EndpointDisabled,
            Self::AccountNotActive(_) => K::AccountNotActive,
            Self::CertificateRequired(_) => K::CertificateRequired,
            Self::EmailUnverified => K::EmailUnverified,
            Self::InvalidToken => K::InvalidToken,
            Self::AlreadyVerified => K::AlreadyVerified,
            Self::IdempotencyKeyReused => K::IdempotencyKeyReused,
            Self::IdempotencyInProgress => K::IdempotencyInProgress,
            Self::Replayed { kind, .. } => *kind,
            Self::Db(e) if crate::db::is_unavailable(e) => K::Unavailable,
            Self::Db(_) | Self::Internal(_) => K::Internal,
        }
    }

    /// The stable machine-readable code clients rely on.
    pub fn code(&self) -> &'static str {
        self.kind().code()
    }

    /// The conflict of interest a refusal names (`conflict` in the problem).
    pub fn conflict(&self) -> Option<Conflict> {
        if let Self::Replayed { conflict, .. } = self {
            return *conflict;
        }
        if let Self::ConflictOfInterest(c) = self {
            return Some(*c);
        }
        None
    }

    /// See [`ErrorKind::is_refusal`].
    pub fn is_refusal(&self) -> bool {
        !matches!(self, Self::Replayed { .. }) && self.kind().is_refusal()
    }

    pub fn field(field: &str, message: &str) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// A broken invariant: a bug, reported as an internal error with `what`.
    pub fn bug(what: &'static str) -> Self {
        Self::Internal(anyhow::anyhow!(what))
    }
}

pub type Result<T, E = DomainError> = std::result::Result<T, E>;

/// Why a caller was refused (403 `forbidden`); the rules that refuse are
/// in `policy`, which re-exports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// The action needs a role or scope the caller lacks.
    Needs(&'static str),
    /// A person moves only their own credits.
    OwnCreditsOnly,
    /// Nobody grants credits to themselves.
    SelfGrant,
    /// Nobody reverses a transaction of their own credits (a self-refund).
    SelfRefund,
    /// Nobody certifies, demotes or locks their own tier.
    OwnTier,
    /// Only an admin moves a talent out of Tier 5.
    TierFiveNeedsAdmin,
    /// Who nominated a talent does not also decide the nomination.
    OwnNomination,
    /// A claim is extended by its holder, and released by its holder or an admin.
    NotYourClaim,
    /// Until its deadline an appeal is the appealed reviewer's to answer.
    AppealedReviewerFirst,
    /// After its deadline an appeal is another manager's to answer.
    AppealOverdue,
}

/// Why a reviewer may not review a submission (403 `conflict_of_interest`,
/// `conflict` naming which); the rule is `policy::conflict_of_interest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Conflict {
    /// The reviewer wrote the submission.
    Author,
    /// The reviewer already reviewed this submission (a first review or a
    /// claim), or holds another of its seats' current reviews (an overturn).
    AlreadyReviewed,
    /// The reviewer nominated the submission's talent for a pod role in the
    /// challenge's track (any track for a challenge without one).
    Nominated,
    /// The reviewer certified the submission's talent in the challenge's
    /// track (any track for a challenge without one).
    Certified,
}

impl Conflict {
    const ALL: [Self; 4] = [
        Self::Author,
        Self::AlreadyReviewed,
        Self::Nominated,
        Self::Certified,
    ];

    /// The conflict a stored code names; `None` for one this version does not know.
    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Author => "author",
            Self::AlreadyReviewed => "already_reviewed",
            Self::Nominated => "nominated",
            Self::Certified => "certified",
        }
    }

    fn detail(self) -> &'static str {
        match self {
            Self::Author => "conflict of interest: nobody reviews their own submission",
            Self::AlreadyReviewed => {
                "conflict of interest: you already reviewed this submission; another reviewer takes this seat"
            }
            Self::Nominated => {
                "conflict of interest: you nominated this submission's talent in this track"
            }
            Self::Certified => {
                "conflict of interest: you certified this submission's talent in this track"
            }
        }
    }
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Needs(who) => write!(f, "this needs {who}"),
            Self::OwnCreditsOnly => f.write_str("you can only use your own credits"),
            Self::SelfGrant => f.write_str("nobody can grant credits to themselves"),
            Self::SelfRefund => {
                f.write_str("nobody can reverse a transaction of their own credits")
            }
            Self::OwnTier => f.write_str("nobody can change their own tier"),
            Self::TierFiveNeedsAdmin => f.write_str("only an admin moves a talent out of Tier 5"),
            Self::OwnNomination => {
                f.write_str("who nominated a talent does not also decide the nomination")
            }
            Self::NotYourClaim => f.write_str(
                "a claim is extended by the reviewer holding it, and released by them or an admin",
            ),
            Self::AppealedReviewerFirst => {
                f.write_str("until its respond_by an appeal is answered by the reviewer it appeals")
            }
            Self::AppealOverdue => {
                f.write_str("this appeal's respond_by has passed: another manager answers it now")
            }
        }
    }
}
