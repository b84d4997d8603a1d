//! A submission's reward through decisions and overturns: a small account of
//! its own on the submission row. `reward_net` is what of the reward its
//! talent holds now (payments minus take-backs), `reward_owed` the part of
//! that still to be taken back. Whatever the chain of reviews:
//!
//! - `0 ≤ reward_net ≤ reward` (the ledger check proves it from the rows);
//! - latest decision accepted: `reward_owed = 0`, and `reward_net = reward`
//!   unless an admin reversed the payment since;
//! - latest decision rejected: `reward_owed = reward_net` — whatever could
//!   not be taken back is owed, and the next credits coming in pay it.
//!
//! Every change here runs in the review's transaction after
//! [`lock_account`], so it is serialised with every other movement of the
//! talent's credits (the account row first, then the submission row).

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, FromQueryResult};
use uuid::Uuid;

use super::grants::reward_submission;
use super::posting::{claw_back, expire_holds, talent_account};
use crate::caller::Actor;
use crate::db;
use crate::error::{DomainError, Result};
use crate::now;
use crate::types::Amount;

/// The submission whose reward moves, and the challenge's reward.
#[derive(Debug, Clone, Copy)]
pub struct SubmissionReward {
    pub submission_id: Uuid,
    pub talent_id: Uuid,
    pub reward: i64,
}

/// What a decision did with the reward.
#[derive(Debug, Default, Clone, Copy)]
pub struct RewardMoves {
    /// The payment it made.
    pub paid: Option<Uuid>,
    /// The take-back it made (a `clawback` transaction).
    pub taken_back: Option<Uuid>,
    /// What it left owed.
    pub owed: i64,
}

#[derive(FromQueryResult)]
struct State {
    reward_net: i64,
    reward_owed: i64,
}

async fn state<C: ConnectionTrait>(db: &C, submission_id: Uuid) -> Result<State> {
    db::fetch_one(
        db,
        "SELECT reward_net, reward_owed FROM submissions WHERE id = $1",
        [submission_id.into()],
    )
    .await?
    .ok_or(DomainError::NotFound("submission"))
}

/// Takes the talent's account row for the rest of the transaction, so that
/// a decision about one of their rewards and any movement of their credits
/// happen one after the other (PostgreSQL; SQLite serialises writers).
pub async fn lock_account<C: ConnectionTrait>(db: &C, talent_id: Uuid) -> Result<()> {
    if db.get_database_backend() == DbBackend::Postgres {
        db::execute(
            db,
            "SELECT id FROM ledger_accounts WHERE talent_id = $1 FOR NO KEY UPDATE",
            [talent_id.into()],
        )
        .await?;
    }
    Ok(())
}

/// The submission became accepted: the debt, if any, is cancelled and the
/// talent is paid what they do not hold of the reward (all of it the first
/// time; what was taken back after an overturn), under
/// `reward:<submission>:<review>`. Never more than the reward in all.
pub async fn accept_reward(
    tx: &DatabaseTransaction,
    r: &SubmissionReward,
    review_id: Uuid,
    actor: Actor,
) -> Result<RewardMoves> {
    let st = state(tx, r.submission_id).await?;
    if st.reward_owed > 0 {
        db::execute(
            tx,
            "UPDATE submissions SET reward_owed = 0 WHERE id = $1",
            [r.submission_id.into()],
        )
        .await?;
        db::execute(
            tx,
            "UPDATE ledger_accounts SET owed = owed - $1 WHERE talent_id = $2",
            [st.reward_owed.into(), r.talent_id.into()],
        )
        .await?;
    }
    let mut moves = RewardMoves::default();
    let missing = r.reward - st.reward_net;
    if missing > 0 {
        let amount = Amount::parse("reward", missing)
            .map_err(|_| DomainError::bug("a reward top-up is not an amount"))?;
        let paid =
            reward_submission(tx, r.talent_id, r.submission_id, review_id, amount, actor).await?;
        db::execute(
            tx,
            "UPDATE submissions SET reward_net = reward_net + $1, reward_transaction_id = $2 WHERE id = $3",
            [missing.into(), paid.id.into(), r.submission_id.into()],
        )
        .await?;
        moves.paid = Some(paid.id);
    }
    Ok(moves)
}

/// The submission became rejected: what the talent holds of its reward is
/// taken back as far as their available credits go (expired holds released
/// first), as one `clawback` transaction; the rest is owed, and the next
/// credits coming in pay it (`collect_debts`). A hold cannot dodge it: while
/// anything is owed, nothing stays available to hold or spend.
pub async fn reject_reward(
    tx: &DatabaseTransaction,
    r: &SubmissionReward,
    review_id: Uuid,
    actor: Actor,
) -> Result<RewardMoves> {
    let at = now();
    let st = state(tx, r.submission_id).await?;
    let kept = st.reward_net - st.reward_owed;
    let mut moves = RewardMoves {
        owed: st.reward_owed,
        ..RewardMoves::default()
    };
    if kept <= 0 {
        return Ok(moves);
    }
    let mut account = talent_account(tx, r.talent_id).await?;
    if account.held > 0 && expire_holds(tx, r.talent_id, at).await? > 0 {
        account = talent_account(tx, r.talent_id).await?;
    }
    let take = kept.min(account.posted - account.held).max(0);
    if take > 0 {
        let reference = format!("clawback:{}:{review_id}", r.submission_id);
        let memo = format!("Overturned: submission {} rejected", r.submission_id);
        let id = claw_back(tx, r.talent_id, reference, &memo, take, actor, at).await?;
        moves.taken_back = Some(id);
    }
    let owed = kept - take;
    db::execute(
        tx,
        "UPDATE submissions SET reward_net = reward_net - $1, reward_owed = reward_owed + $2, \
         reward_transaction_id = NULL WHERE id = $3",
        [take.into(), owed.into(), r.submission_id.into()],
    )
    .await?;
    if owed > 0 {
        db::execute(
            tx,
            "UPDATE ledger_accounts SET owed = owed + $1 WHERE talent_id = $2",
            [owed.into(), r.talent_id.into()],
        )
        .await?;
    }
    moves.owed += owed;
    Ok(moves)
}

/// An admin reverses a reward payment (`reward:<submission>:<review>`): the
/// submission then holds that much less of its reward. Refused when it no
/// longer holds it — taken back already, in whole or part, or owed — since
/// reversing it too would take it back twice.
pub(super) async fn reward_reversed<C: ConnectionTrait>(
    db: &C,
    reference: Option<&str>,
    amount: i64,
) -> Result<()> {
    let Some(submission_id) = submission_of(reference, "reward:") else {
        return Ok(());
    };
    let moved = db::execute(
        db,
        "UPDATE submissions SET reward_net = reward_net - $1 \
         WHERE id = $2 AND reward_net >= $1 AND reward_owed = 0",
        [amount.into(), submission_id.into()],
    )
    .await?;
    let exists = db::exists(
        db,
        "SELECT 1 FROM submissions WHERE id = $1",
        [submission_id.into()],
    )
    .await?;
    if moved == 0 && exists {
        return Err(DomainError::RewardTakenBack);
    }
    Ok(())
}

/// The submission a reward (`reward:<id>:…`) or take-back (`clawback:<id>:…`)
/// reference names.
pub(super) fn submission_of(reference: Option<&str>, prefix: &str) -> Option<Uuid> {
    reference
        .and_then(|r| r.strip_prefix(prefix))
        .and_then(|r| r.get(..36))
        .and_then(|r| Uuid::parse_str(r).ok())
}
