//! Spends: credits paid for something already delivered (no hold). On
//! PostgreSQL the commonest request is one autocommitted statement.

use sea_orm::{DatabaseConnection, DbBackend, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use super::posting::{NewTransaction, post};
use super::{CreditTransaction, MAX_BALANCE, TransactionKind, system};
use crate::caller::Actor;
use crate::db;
use crate::error::{DomainError, Result};
use crate::idempotency::{self, Idempotency};
use crate::policy::{self, Allowed, SpendCredits};
use crate::types::{Amount, Text, Validator};
use crate::{new_id, now};

const SPEND_SQL: &str = include_str!("sql/spend.sql");

/// A checked spend; its JSON is the idempotency fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct SpendRequest {
    /// Required for a service key; a person may only name themselves.
    pub talent_id: Option<Uuid>,
    pub amount: Amount,
    pub purpose: Text,
}

impl SpendRequest {
    pub fn parse(talent_id: Option<Uuid>, amount: i64, purpose: &str) -> Result<Self> {
        let mut v = Validator::default();
        let amount = v.check(Amount::parse("amount", amount));
        let purpose = v.check(Text::parse("purpose", purpose, 1, 500));
        v.finish_with(|| {
            Some(Self {
                talent_id,
                amount: amount?,
                purpose: purpose?,
            })
        })
    }
}

/// Spends credits: a person their own, a service key with `credits:spend` anyone's.
pub async fn spend(
    db: &DatabaseConnection,
    allowed: &Allowed<SpendCredits>,
    idem: Option<&Idempotency>,
    req: SpendRequest,
) -> Result<CreditTransaction> {
    let caller = allowed.caller();
    let talent_id = policy::credits_owner(caller, req.talent_id)?;
    let idem = Idempotency::required(idem)?;
    let actor = caller.actor();
    if db.get_database_backend() == DbBackend::Postgres
        && let Some(done) = spend_in_one_statement(db, idem, &req, talent_id, actor).await?
    {
        return Ok(done);
    }
    idempotency::run(db, idem, "spend", &req, async |tx| {
        let t = NewTransaction {
            kind: TransactionKind::Spend,
            talent_id,
            amount: req.amount.get(),
            memo: req.purpose.as_str(),
            reference: None,
            reverses_id: None,
            hold_id: None,
            actor,
        };
        post(tx, t, system::GENERATION, -req.amount.get(), now())
            .await?
            .ok_or_else(|| DomainError::bug("a new transaction id collided"))
    })
    .await
}

#[derive(FromQueryResult)]
struct Posted {
    posted: i64,
}

/// PostgreSQL's path for the commonest request: `sql/spend.sql`, committed on
/// its own (a statement is atomic), so a spend costs one round trip. `None`
/// when the guard refused the debit — too few credits available, perhaps
/// because of holds past their expiry, or no such talent: nothing was
/// written, and the caller takes the general path, which releases expired
/// holds, tries again and stores a refusal under the key. A key already used
/// fails the key insert, which undoes the whole statement; the stored outcome
/// is then replayed.
async fn spend_in_one_statement(
    db: &DatabaseConnection,
    idem: &Idempotency,
    req: &SpendRequest,
    talent_id: Uuid,
    actor: Actor,
) -> Result<Option<CreditTransaction>> {
    let hash = idempotency::fingerprint("spend", req)?;
    let amount = req.amount.get();
    let mut done = CreditTransaction {
        id: new_id(),
        kind: TransactionKind::Spend,
        talent_id,
        amount: -amount,
        memo: req.purpose.as_str().to_owned(),
        reference: None,
        reverses_id: None,
        hold_id: None,
        // Filled in by the statement, in the stored response too.
        balance_after: 0,
        created_at: now(),
    };
    let response = serde_json::to_value(&done).map_err(|e| anyhow::anyhow!(e))?;
    let row = db::fetch_one::<Posted, _>(
        db,
        SPEND_SQL,
        [
            done.amount.into(),
            talent_id.into(),
            MAX_BALANCE.into(),
            done.id.into(),
            amount.into(),
            req.purpose.as_str().into(),
            actor.kind.into(),
            actor.id.into(),
            done.created_at.into(),
            system::GENERATION.into(),
            idem.scope.clone().into(),
            idem.key.clone().into(),
            hash.clone().into(),
            response.into(),
            new_id().into(),
        ],
    )
    .await;
    match row {
        Ok(Some(row)) => {
            done.balance_after = row.posted;
            Ok(Some(done))
        }
        Ok(None) => Ok(None),
        Err(e) if idempotency::key_taken(&e) => {
            idempotency::replay(db, idem, &hash).await.map(Some)
        }
        Err(e) => Err(e.into()),
    }
}
