//! Corrections: an admin reverses a transaction with a new, opposite one —
//! at most once, never a reversal or a take-back, never their own, and not
//! if it would overdraw the talent.

use sea_orm::{DatabaseConnection, DatabaseTransaction, EntityTrait, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use super::posting::{
    Entry, NewTransaction, announce, collect_debts, insert_entries, insert_transaction, move_talent,
};
use super::rewards::{lock_account, reward_reversed};
use super::{CreditTransaction, TransactionKind};
use crate::caller::{Actor, Caller};
use crate::db;
use crate::entities::ledger_transactions;
use crate::error::{DomainError, Result};
use crate::idempotency::{self, Idempotency};
use crate::policy::{self, Allowed, ReverseTransaction};
use crate::types::Text;
use crate::{audit, now};

/// A checked reversal; its JSON is the idempotency fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct ReverseRequest {
    pub transaction_id: Uuid,
    pub reason: Text,
}

impl ReverseRequest {
    pub fn parse(transaction_id: Uuid, reason: &str) -> Result<Self> {
        let reason =
            Text::parse("reason", reason, 1, 500).map_err(|e| DomainError::Validation(vec![e]))?;
        Ok(Self {
            transaction_id,
            reason,
        })
    }
}

#[derive(FromQueryResult)]
struct OriginalEntry {
    account_id: Uuid,
    amount: i64,
    /// Set for talent accounts.
    talent_id: Option<Uuid>,
}

pub async fn reverse(
    db: &DatabaseConnection,
    allowed: &Allowed<ReverseTransaction>,
    idem: Option<&Idempotency>,
    req: ReverseRequest,
) -> Result<CreditTransaction> {
    let idem = Idempotency::required(idem)?;
    let actor = allowed.caller().actor();
    let caller = allowed.caller();
    idempotency::run(db, idem, "reverse", &req, async |tx| {
        let reversal =
            reverse_in(tx, caller, req.transaction_id, req.reason.as_str(), actor).await?;
        let target = Some(req.transaction_id.to_string());
        let after = Some(audit::json(&reversal));
        audit::record(
            tx,
            actor,
            "credits.reverse",
            "transaction",
            target,
            None,
            after,
        )
        .await?;
        Ok(reversal)
    })
    .await
}

/// Reverses `transaction_id` inside `tx`: once, never a reversal or a
/// take-back, never by the person whose credits it moved, refused with
/// `InsufficientCredits` when it would overdraw. A reversed reward is no
/// longer held by its submission; a refund pays what the talent owes first.
async fn reverse_in(
    tx: &DatabaseTransaction,
    caller: &Caller,
    transaction_id: Uuid,
    memo: &str,
    actor: Actor,
) -> Result<CreditTransaction> {
    let at = now();
    let orig = ledger_transactions::Entity::find_by_id(transaction_id)
        .one(tx)
        .await?
        .ok_or(DomainError::NotFound("transaction"))?;
    policy::may_reverse_for(caller, orig.talent_id)?;
    if matches!(
        orig.kind,
        TransactionKind::Reversal | TransactionKind::Clawback
    ) {
        return Err(DomainError::ReversalNotReversible);
    }
    // The talent's credits first, then a reward's submission (the order of
    // `ledger::rewards`).
    lock_account(tx, orig.talent_id).await?;
    if orig.kind == TransactionKind::Reward {
        reward_reversed(tx, orig.reference.as_deref(), orig.amount).await?;
    }
    let t = NewTransaction {
        kind: TransactionKind::Reversal,
        talent_id: orig.talent_id,
        amount: orig.amount,
        memo,
        reference: None,
        reverses_id: Some(orig.id),
        hold_id: None,
        actor,
    };
    let id = insert_transaction(tx, &t, at)
        .await?
        .ok_or(DomainError::AlreadyReversed)?;
    let originals: Vec<OriginalEntry> = db::fetch_all(
        tx,
        "SELECT e.account_id, e.amount, a.talent_id FROM ledger_entries e \
         JOIN ledger_accounts a ON a.id = e.account_id WHERE e.transaction_id = $1 ORDER BY e.account_id",
        [orig.id.into()],
    )
    .await?;
    let mut entries = Vec::new();
    let (mut talent_amount, mut balance_after) = (0, 0);
    for e in &originals {
        if e.talent_id.is_some() {
            let moved = move_talent(tx, orig.talent_id, -e.amount, 0, at).await?;
            talent_amount = -e.amount;
            balance_after = moved.posted;
            entries.push(Entry::talent(&moved, -e.amount));
        } else {
            entries.push(Entry::system(e.account_id, -e.amount));
        }
    }
    insert_entries(tx, id, &entries, at).await?;
    let kind = TransactionKind::Reversal;
    announce(tx, orig.talent_id, id, kind, talent_amount, balance_after).await?;
    if talent_amount > 0 {
        collect_debts(tx, orig.talent_id, at).await?;
    }
    Ok(CreditTransaction {
        id,
        kind: TransactionKind::Reversal,
        talent_id: orig.talent_id,
        amount: talent_amount,
        memo: memo.to_owned(),
        reference: None,
        reverses_id: Some(orig.id),
        hold_id: None,
        balance_after,
        created_at: at,
    })
}
