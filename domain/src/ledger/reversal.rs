//! Corrections: an admin reverses a transaction with a new, opposite one —
//! at most once, never a reversal, and not if it would overdraw the talent.

use sea_orm::{DatabaseConnection, EntityTrait, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use super::posting::{Entry, NewTransaction, insert_entries, insert_transaction, move_talent};
use super::{CreditTransaction, TransactionKind};
use crate::db;
use crate::entities::ledger_transactions;
use crate::error::{DomainError, Result};
use crate::idempotency::{self, Idempotency};
use crate::policy::{Allowed, ReverseTransaction};
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
    idempotency::run(db, idem, "reverse", &req, async |tx| {
        let at = now();
        let orig = ledger_transactions::Entity::find_by_id(req.transaction_id)
            .one(tx)
            .await?
            .ok_or(DomainError::NotFound("transaction"))?;
        if orig.kind == TransactionKind::Reversal {
            return Err(DomainError::ReversalNotReversible);
        }
        let t = NewTransaction {
            kind: TransactionKind::Reversal,
            talent_id: orig.talent_id,
            amount: orig.amount,
            memo: req.reason.as_str(),
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
        let reversal = CreditTransaction {
            id,
            kind: TransactionKind::Reversal,
            talent_id: orig.talent_id,
            amount: talent_amount,
            memo: req.reason.as_str().to_owned(),
            reference: None,
            reverses_id: Some(orig.id),
            hold_id: None,
            balance_after,
            created_at: at,
        };
        let target = Some(orig.id.to_string());
        let after = Some(audit::json(&reversal));
        audit::record(tx, actor, "credits.reverse", "transaction", target, None, after).await?;
        Ok(reversal)
    })
    .await
}
