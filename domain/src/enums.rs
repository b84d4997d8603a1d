//! The stored states that the error kinds and several aggregates share:
//! closed enums stored as text, each decoding fail-closed (a value this
//! version does not know is a decode error, never a default). A leaf: it
//! imports nothing of the crate, so `error.rs` can name them without
//! importing the modules that raise its errors. Each is re-exported from its
//! aggregate (`types::Track`, `challenges::ChallengeStatus`,
//! `ledger::HoldStatus`…), where callers name it.

use sea_orm::{DeriveActiveEnum, EnumIter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A person's account status.
// Stored as text; a value this version does not know is a decode error,
// never `Active`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum UserStatus {
    Active,
    Suspended,
    /// Erased at the person's request: the row stays (the books, reviews and
    /// history point at it) under a pseudonym, and nobody signs in as it.
    Erased,
}

impl UserStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Erased => "erased",
        }
    }
}

/// The five role tracks a talent is certified in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    ToSchema,
    EnumIter,
    DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum Track {
    WorkflowEngineer,
    AiGeneralist,
    Preditor,
    DataLoraSpecialist,
    DataEngineer,
}

impl Track {
    pub const ALL: [Track; 5] = [
        Track::WorkflowEngineer,
        Track::AiGeneralist,
        Track::Preditor,
        Track::DataLoraSpecialist,
        Track::DataEngineer,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Track::WorkflowEngineer => "workflow_engineer",
            Track::AiGeneralist => "ai_generalist",
            Track::Preditor => "preditor",
            Track::DataLoraSpecialist => "data_lora_specialist",
            Track::DataEngineer => "data_engineer",
        }
    }
}

/// Where a challenge stands.
// Stored as text; an unknown value is a decode error.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum ChallengeStatus {
    Draft,
    Open,
    Judging,
    Closed,
    Cancelled,
}

impl ChallengeStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Open => "open",
            Self::Judging => "judging",
            Self::Closed => "closed",
            Self::Cancelled => "cancelled",
        }
    }

    /// The legal moves: draft → open → judging → closed; draft or open → cancelled.
    pub fn can_become(self, to: Self) -> bool {
        use ChallengeStatus::*;
        matches!(
            (self, to),
            (Draft, Open) | (Open, Judging) | (Judging, Closed) | (Draft | Open, Cancelled)
        )
    }
}

/// What a transaction is.
// Stored as text; an unknown value is a decode error.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum TransactionKind {
    Grant,
    Allowance,
    Reward,
    Spend,
    Capture,
    Reversal,
    /// A reward taken back from its talent: an overturn to rejected, or the
    /// collection of what such an overturn left owed.
    Clawback,
}

/// Where a hold stands.
// Stored as text; an unknown value is a decode error, never `Pending`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum HoldStatus {
    Pending,
    Captured,
    Released,
    Expired,
}

impl HoldStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Captured => "captured",
            Self::Released => "released",
            Self::Expired => "expired",
        }
    }
}

/// A staff topic of the live stream: a family of events staff follow as a
/// feed (which events belong to which: `events::audience`; who may follow
/// which: `policy::may_follow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    /// Review work: the queue, decisions, tiebreaks, appeals.
    Reviews,
    /// The Tier 4 → 5 handoff: nominations, their decisions, placements.
    Handoffs,
    /// Challenges moving through their lifecycle.
    Challenges,
    /// Tier steps, demotions, certificates.
    Tiers,
    /// Every talent's credit movements.
    Credits,
    /// Accounts: profiles, suspensions, reactivations, erasures.
    Accounts,
}

impl Topic {
    pub const ALL: [Topic; 6] = [
        Topic::Reviews,
        Topic::Handoffs,
        Topic::Challenges,
        Topic::Tiers,
        Topic::Credits,
        Topic::Accounts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reviews => "reviews",
            Self::Handoffs => "handoffs",
            Self::Challenges => "challenges",
            Self::Tiers => "tiers",
            Self::Credits => "credits",
            Self::Accounts => "accounts",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}
