//! The credits ledger: double-entry, append-only books with cached balances on
//! talent accounts, holds, and every money movement in one DB transaction.
//!
//! Concurrency: a talent's balance changes only through one guarded UPDATE
//! (`WHERE posted + Δ - held - Δheld >= 0`, `sql/move_balance.sql`), never
//! read-check-write, and rows are locked in one order (holds → account →
//! idempotency key, always the last write). On PostgreSQL a spend is a single
//! statement. System accounts keep no balance row (their balance is the sum
//! of their entries), so spends of different talents never wait on a shared row.
//!
//! Rooms: `posting` (the building blocks every operation uses), `spends`,
//! `holds`, `grants` (grants, allowance, rewards), `rewards` (a submission's
//! reward through decisions and overturns), `reversal`, `reads`,
//! `policies` (allowance amounts), `reconcile` (the books check).

mod grants;
mod holds;
mod policies;
mod posting;
mod reads;
mod reconcile;
mod reversal;
mod rewards;
mod spends;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::enums::{HoldStatus, TransactionKind};
pub use grants::{
    GrantRequest, claim_allowance, claim_allowance_at, grant, reward, reward_submission,
};
pub use holds::{
    CaptureRequest, HoldRequest, capture, get_hold, hold, list_holds, release, sweep_expired_holds,
};
pub use policies::{AllowancePolicy, allowance_policies, set_allowance};
pub use posting::open_talent_account;
pub use reads::{HistoryFilter, balance, history};
pub use reconcile::{LedgerCheck, LedgerIssue, check};
pub use reversal::{ReverseRequest, reverse};
pub use rewards::{RewardMoves, SubmissionReward, accept_reward, lock_account, reject_reward};
pub use spends::{SpendRequest, spend};

/// System accounts (seeded by the migrations with these ids).
pub mod system {
    use uuid::Uuid;
    pub const GRANTS: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0001);
    pub const ALLOWANCES: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0002);
    pub const REWARDS: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0003);
    pub const GENERATION: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_0000_0000_0004);
}

/// Largest balance an account may reach; keeps every sum far from overflow.
pub const MAX_BALANCE: i64 = 1_000_000_000_000;
/// Hold expiry bounds, in seconds.
pub const HOLD_DEFAULT_SECONDS: i64 = 900;
pub const HOLD_MAX_SECONDS: i64 = 7 * 24 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Balance {
    pub talent_id: Uuid,
    /// What can be spent or held now: posted credits minus open holds.
    pub available: i64,
    /// Reserved by open holds.
    pub held: i64,
    /// Rewards of overturned submissions that could not be taken back yet:
    /// the next credits coming in (grants, allowance, rewards, released
    /// holds, refunds) pay it first, and while anything is owed nothing is
    /// available.
    pub owed: i64,
}

/// One transaction as it touched one talent's account.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CreditTransaction {
    pub id: Uuid,
    pub kind: TransactionKind,
    pub talent_id: Uuid,
    /// Signed, from the talent's side: positive credits in, negative out.
    pub amount: i64,
    /// The reason (grants, reversals) or purpose (spends, captures).
    pub memo: String,
    /// What makes it unique: `allowance:<talent>:<YYYY-MM>`,
    /// `reward:<submission>:<review>`, `prize:<challenge>:<place>` or
    /// `clawback:<submission>:<review>[:<owed before>]`.
    #[schema(required = true)]
    pub reference: Option<String>,
    #[schema(required = true)]
    pub reverses_id: Option<Uuid>,
    #[schema(required = true)]
    pub hold_id: Option<Uuid>,
    /// The talent's posted balance after this transaction.
    pub balance_after: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Hold {
    pub id: Uuid,
    pub talent_id: Uuid,
    pub amount: i64,
    pub purpose: String,
    pub status: HoldStatus,
    #[schema(required = true)]
    pub captured_amount: Option<i64>,
    #[schema(required = true)]
    pub capture_transaction_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub resolved_at: Option<DateTime<Utc>>,
}
