//! Holds: credits reserved for a generation run, then captured (all or part,
//! the rest released), released, or expired — exactly one of these.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, FromQueryResult};
use serde::Serialize;
use uuid::Uuid;

use super::posting::{
    Entry, NewTransaction, announce, expire_holds, insert_entries, insert_transaction, move_talent,
    unhold,
};
use super::{HOLD_DEFAULT_SECONDS, HOLD_MAX_SECONDS, Hold, HoldStatus, TransactionKind, system};
use crate::caller::Caller;
use crate::db::{self, SqlBuilder};
use crate::entities::credit_holds;
use crate::error::{DomainError, FieldError, Result};
use crate::idempotency::{self, Idempotency};
use crate::page::{self, Page};
use crate::policy::{self, Allowed, HoldCredits};
use crate::types::{Amount, Limit, Text, Validator};
use crate::{new_id, now};

fn hold_view(h: credit_holds::Model) -> Hold {
    Hold {
        id: h.id,
        talent_id: h.talent_id,
        amount: h.amount,
        purpose: h.purpose,
        status: h.status,
        captured_amount: h.captured_amount,
        capture_transaction_id: h.capture_transaction_id,
        expires_at: h.expires_at,
        created_at: h.created_at,
        resolved_at: h.resolved_at,
    }
}

/// A checked hold; its JSON is the idempotency fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct HoldRequest {
    /// Required for a service key; a person may only name themselves.
    pub talent_id: Option<Uuid>,
    pub amount: Amount,
    pub purpose: Text,
    pub expires_in_seconds: i64,
}

impl HoldRequest {
    pub fn parse(
        talent_id: Option<Uuid>,
        amount: i64,
        purpose: &str,
        expires_in_seconds: Option<i64>,
    ) -> Result<Self> {
        let mut v = Validator::default();
        let amount = v.check(Amount::parse("amount", amount));
        let purpose = v.check(Text::parse("purpose", purpose, 1, 500));
        let secs = expires_in_seconds.unwrap_or(HOLD_DEFAULT_SECONDS);
        if !(1..=HOLD_MAX_SECONDS).contains(&secs) {
            v.push(FieldError::new(
                "expires_in_seconds",
                format!("must be between 1 and {HOLD_MAX_SECONDS}"),
            ));
        }
        v.finish_with(|| {
            Some(Self {
                talent_id,
                amount: amount?,
                purpose: purpose?,
                expires_in_seconds: secs,
            })
        })
    }
}

/// Reserves credits for a generation run until it finishes or the hold expires.
pub async fn hold(
    db: &DatabaseConnection,
    allowed: &Allowed<HoldCredits>,
    idem: Option<&Idempotency>,
    req: HoldRequest,
) -> Result<Hold> {
    let caller = allowed.caller();
    let talent_id = policy::credits_owner(caller, req.talent_id)?;
    let idem = Idempotency::required(idem)?;
    let actor = caller.actor();
    idempotency::run(db, idem, "hold", &req, async |tx| {
        let at = now();
        let moved = move_talent(tx, talent_id, 0, req.amount.get(), at).await?;
        let h = credit_holds::Model {
            id: new_id(),
            talent_id,
            account_id: moved.id,
            amount: req.amount.get(),
            purpose: req.purpose.as_str().to_owned(),
            status: HoldStatus::Pending,
            captured_amount: None,
            capture_transaction_id: None,
            actor_kind: actor.kind.into(),
            actor_id: actor.id,
            expires_at: at + chrono::Duration::seconds(req.expires_in_seconds),
            created_at: at,
            resolved_at: None,
        };
        credit_holds::Entity::insert(credit_holds::ActiveModel::from(h.clone()))
            .exec_without_returning(tx)
            .await?;
        Ok(hold_view(h))
    })
    .await
}

/// A hold, when `caller` may see and settle it (`policy::may_settle_hold`:
/// to anyone else it does not exist).
async fn hold_for<C: ConnectionTrait>(
    db: &C,
    caller: &Caller,
    hold_id: Uuid,
) -> Result<credit_holds::Model> {
    let h = credit_holds::Entity::find_by_id(hold_id)
        .one(db)
        .await?
        .ok_or(DomainError::NotFound("hold"))?;
    policy::may_settle_hold(caller, h.talent_id)?;
    Ok(h)
}

/// A hold, to its talent or a service with `credits:hold`.
pub async fn get_hold(db: &DatabaseConnection, caller: &Caller, hold_id: Uuid) -> Result<Hold> {
    hold_for(db, caller, hold_id).await.map(hold_view)
}

/// A talent's holds, newest first, optionally of one status. Expired holds
/// are released first, so `pending` means still reserved.
pub async fn list_holds(
    db: &DatabaseConnection,
    caller: &Caller,
    talent_id: Uuid,
    status: Option<HoldStatus>,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<Hold>> {
    let before: Option<Uuid> = page::decode(cursor)?;
    // Checks the caller, releases what has expired and 404s an unknown talent.
    super::balance(db, caller, talent_id).await?;
    let mut b = SqlBuilder::new("SELECT * FROM credit_holds WHERE talent_id = ");
    let p = b.bind(talent_id);
    b.push(&p);
    if let Some(st) = status {
        let p = b.bind(st);
        b.push(&format!(" AND status = {p}"));
    }
    if let Some(c) = before {
        let p = b.bind(c);
        b.push(&format!(" AND id < {p}"));
    }
    b.push(&format!(" ORDER BY id DESC LIMIT {}", limit.get() + 1));
    let rows = credit_holds::Entity::find()
        .from_raw_sql(db::stmt(db, &b.sql, b.values))
        .all(db)
        .await?;
    let holds = rows.into_iter().map(hold_view).collect();
    Ok(Page::from_rows(holds, limit.get(), |h: &Hold| {
        h.id.to_string()
    }))
}

/// A checked capture: the hold and, optionally, how much of it.
#[derive(Debug, Clone, Serialize)]
pub struct CaptureRequest {
    pub hold_id: Uuid,
    pub amount: Option<Amount>,
}

impl CaptureRequest {
    pub fn parse(hold_id: Uuid, amount: Option<i64>) -> Result<Self> {
        let amount = amount
            .map(|a| Amount::parse("amount", a))
            .transpose()
            .map_err(|e| DomainError::Validation(vec![e]))?;
        Ok(Self { hold_id, amount })
    }
}

/// Captures all of a hold or part of it (the rest is released) — once, and
/// only before it expires.
pub async fn capture(
    db: &DatabaseConnection,
    allowed: &Allowed<HoldCredits>,
    idem: Option<&Idempotency>,
    req: CaptureRequest,
) -> Result<Hold> {
    let caller = allowed.caller();
    let idem = Idempotency::required(idem)?;
    let actor = caller.actor();
    let hold_id = req.hold_id;
    idempotency::run(db, idem, "capture", &req, async |tx| {
        let at = now();
        let h = hold_for(tx, caller, hold_id).await?;
        let take = req.amount.map_or(h.amount, Amount::get);
        if take > h.amount {
            return Err(DomainError::CaptureExceedsHold);
        }
        let won = db::execute(
            tx,
            "UPDATE credit_holds SET status = 'captured', captured_amount = $1, resolved_at = $2 \
             WHERE id = $3 AND status = 'pending' AND expires_at > $2",
            [take.into(), at.into(), hold_id.into()],
        )
        .await?;
        if won == 0 {
            return Err(settled_error(tx, hold_id, at).await);
        }
        let t = NewTransaction {
            kind: TransactionKind::Capture,
            talent_id: h.talent_id,
            amount: take,
            memo: &h.purpose,
            reference: None,
            reverses_id: None,
            hold_id: Some(h.id),
            actor,
        };
        let id = insert_transaction(tx, &t, at)
            .await?
            .ok_or(DomainError::HoldNotPending(HoldStatus::Captured))?;
        let moved = unhold(tx, h.talent_id, -take, h.amount, at).await?;
        let entries = [
            Entry::talent(&moved, -take),
            Entry::system(system::GENERATION, take),
        ];
        insert_entries(tx, id, &entries, at).await?;
        let kind = TransactionKind::Capture;
        announce(tx, h.talent_id, id, kind, -take, moved.posted).await?;
        db::execute(
            tx,
            "UPDATE credit_holds SET capture_transaction_id = $1 WHERE id = $2",
            [id.into(), hold_id.into()],
        )
        .await?;
        reread(tx, hold_id).await
    })
    .await
}

async fn reread<C: ConnectionTrait>(db: &C, hold_id: Uuid) -> Result<Hold> {
    credit_holds::Entity::find_by_id(hold_id)
        .one(db)
        .await?
        .map(hold_view)
        .ok_or(DomainError::NotFound("hold"))
}

/// Why a hold could not be settled: it expired, or it was settled already.
/// Read after the guarded update lost, so it names what the winner did.
async fn settled_error<C: ConnectionTrait>(
    db: &C,
    hold_id: Uuid,
    at: DateTime<Utc>,
) -> DomainError {
    let h = match credit_holds::Entity::find_by_id(hold_id).one(db).await {
        Ok(Some(h)) => h,
        Ok(None) => return DomainError::NotFound("hold"),
        Err(e) => return e.into(),
    };
    match h.status {
        HoldStatus::Pending if h.expires_at <= at => DomainError::HoldExpired,
        HoldStatus::Expired => DomainError::HoldExpired,
        status => DomainError::HoldNotPending(status),
    }
}

/// Releases a pending hold in full.
pub async fn release(
    db: &DatabaseConnection,
    allowed: &Allowed<HoldCredits>,
    idem: Option<&Idempotency>,
    hold_id: Uuid,
) -> Result<Hold> {
    let caller = allowed.caller();
    let idem = Idempotency::required(idem)?;
    let request = serde_json::json!({ "hold_id": hold_id });
    idempotency::run(db, idem, "release", &request, async |tx| {
        let at = now();
        let h = hold_for(tx, caller, hold_id).await?;
        let won = db::execute(
            tx,
            "UPDATE credit_holds SET status = 'released', resolved_at = $1 \
             WHERE id = $2 AND status = 'pending' AND expires_at > $1",
            [at.into(), hold_id.into()],
        )
        .await?;
        if won == 0 {
            return Err(settled_error(tx, hold_id, at).await);
        }
        unhold(tx, h.talent_id, 0, h.amount, at).await?;
        reread(tx, hold_id).await
    })
    .await
}

#[derive(FromQueryResult)]
struct TalentWithExpired {
    talent_id: Uuid,
}

/// Releases every hold whose expiry has passed (the background sweeper), a
/// talent per transaction, at most `batch` talents per call.
pub async fn sweep_expired_holds(db: &DatabaseConnection, batch: u64) -> Result<usize> {
    let at = now();
    let talents: Vec<TalentWithExpired> = db::fetch_all(
        db,
        &format!(
            "SELECT DISTINCT talent_id FROM credit_holds \
             WHERE status = 'pending' AND expires_at <= $1 LIMIT {batch}"
        ),
        [at.into()],
    )
    .await?;
    let mut released = 0;
    for t in &talents {
        let txn = db::begin_write(db).await?;
        released += expire_holds(&txn, t.talent_id, at).await?;
        txn.commit().await?;
    }
    Ok(released)
}
