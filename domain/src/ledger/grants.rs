//! Credits coming in: grants by staff, the monthly allowance by tier, and
//! challenge rewards — each a posting against its own system account.

use sea_orm::{
    ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, FromQueryResult, QueryFilter,
};
use serde::Serialize;
use uuid::Uuid;

use super::posting::{NewTransaction, post};
use super::reads::transaction_for_talent;
use super::{CreditTransaction, TransactionKind, system};
use crate::caller::{Actor, Caller};
use crate::db;
use crate::entities::ledger_transactions;
use crate::error::{DomainError, Result};
use crate::idempotency::{self, Idempotency};
use crate::policy::{self, Allowed, ClaimAllowance, GrantCredits};
use crate::types::{Amount, Text, Validator};
use crate::{audit, now, tiers, verification};

/// A checked grant; its JSON is the idempotency fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct GrantRequest {
    pub talent_id: Uuid,
    pub amount: Amount,
    pub reason: Text,
}

impl GrantRequest {
    pub fn parse(talent_id: Uuid, amount: i64, reason: &str) -> Result<Self> {
        let mut v = Validator::default();
        let amount = v.check(Amount::parse("amount", amount));
        let reason = v.check(Text::parse("reason", reason, 1, 500));
        v.finish_with(|| {
            Some(Self {
                talent_id,
                amount: amount?,
                reason: reason?,
            })
        })
    }
}

/// A community manager or admin grants credits to a talent (never to themselves).
pub async fn grant(
    db: &DatabaseConnection,
    allowed: &Allowed<GrantCredits>,
    idem: Option<&Idempotency>,
    req: GrantRequest,
) -> Result<CreditTransaction> {
    let caller = allowed.caller();
    policy::may_grant_to(caller, req.talent_id)?;
    let idem = Idempotency::required(idem)?;
    let actor = caller.actor();
    idempotency::run(db, idem, "grant", &req, async |tx| {
        let t = NewTransaction {
            kind: TransactionKind::Grant,
            talent_id: req.talent_id,
            amount: req.amount.get(),
            memo: req.reason.as_str(),
            reference: None,
            reverses_id: None,
            hold_id: None,
            actor,
        };
        let granted = post(tx, t, system::GRANTS, req.amount.get(), now())
            .await?
            .ok_or_else(|| DomainError::bug("a new transaction id collided"))?;
        let target = Some(req.talent_id.to_string());
        let after = Some(audit::json(&granted));
        audit::record(tx, actor, "credits.grant", "talent", target, None, after).await?;
        Ok(granted)
    })
    .await
}

#[derive(FromQueryResult)]
struct PolicyAmount {
    amount: i64,
}

/// A talent claims this calendar month's (UTC) allowance for their headline tier, once.
pub async fn claim_allowance(
    db: &DatabaseConnection,
    allowed: &Allowed<ClaimAllowance>,
    idem: Option<&Idempotency>,
) -> Result<CreditTransaction> {
    claim_allowance_at(db, allowed, idem, now()).await
}

/// The claim as of `at` (the clock injected): the month is `at`'s.
pub async fn claim_allowance_at(
    db: &DatabaseConnection,
    allowed: &Allowed<ClaimAllowance>,
    idem: Option<&Idempotency>,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<CreditTransaction> {
    let Caller::User(me) = allowed.caller() else {
        return Err(DomainError::bug("an allowance claimed by a service"));
    };
    let idem = Idempotency::required(idem)?;
    let me = me.id;
    // Checked before the key is used, so that a claim refused while
    // unverified is not replayed after the address is verified.
    verification::require_verified(db, me).await?;
    idempotency::run(db, idem, "allowance", &serde_json::json!({}), async |tx| {
        let tier = tiers::headline_tier(tx, me).await?;
        let amount = db::fetch_one::<PolicyAmount, _>(
            tx,
            "SELECT amount FROM allowance_policies WHERE tier = $1",
            [tier.into()],
        )
        .await?
        .map_or(0, |p| p.amount);
        if amount <= 0 {
            return Err(DomainError::NoAllowance);
        }
        let period = at.format("%Y-%m").to_string();
        let memo = format!("Monthly allowance {period} (tier {tier})");
        let t = NewTransaction {
            kind: TransactionKind::Allowance,
            talent_id: me,
            amount,
            memo: &memo,
            reference: Some(format!("allowance:{me}:{period}")),
            reverses_id: None,
            hold_id: None,
            actor: Actor::user(me),
        };
        post(tx, t, system::ALLOWANCES, amount, at)
            .await?
            .ok_or(DomainError::AllowanceAlreadyClaimed)
    })
    .await
}

/// Pays credits from the rewards account under a once-only `reference`
/// (`reward:<submission>:<review>`, `prize:<challenge>:<place>`): a second call
/// with the same reference returns the first payment. It takes the
/// transaction of what earned it, so a refusal (the balance limit) rolls back
/// with it and never leaves a transaction without entries.
pub async fn reward(
    tx: &DatabaseTransaction,
    talent_id: Uuid,
    reference: String,
    amount: Amount,
    memo: &str,
    actor: Actor,
) -> Result<CreditTransaction> {
    let t = NewTransaction {
        kind: TransactionKind::Reward,
        talent_id,
        amount: amount.get(),
        memo,
        reference: Some(reference.clone()),
        reverses_id: None,
        hold_id: None,
        actor,
    };
    match post(tx, t, system::REWARDS, amount.get(), now()).await? {
        Some(paid) => Ok(paid),
        None => {
            let paid = ledger_transactions::Entity::find()
                .filter(ledger_transactions::Column::Reference.eq(reference))
                .one(tx)
                .await?
                .ok_or(DomainError::NotFound("reward"))?;
            transaction_for_talent(tx, &paid).await
        }
    }
}

/// Pays the reward of an accepted submission, exactly once per accepting
/// review (`reward:<submission>:<review>`).
pub async fn reward_submission(
    tx: &DatabaseTransaction,
    talent_id: Uuid,
    submission_id: Uuid,
    review_id: Uuid,
    amount: Amount,
    actor: Actor,
) -> Result<CreditTransaction> {
    let memo = format!("Reward for submission {submission_id}");
    let reference = format!("reward:{submission_id}:{review_id}");
    reward(tx, talent_id, reference, amount, &memo, actor).await
}
