//! The credits ledger: double-entry, append-only books with cached balances on
//! talent accounts, holds, and every money movement in one DB transaction.
//!
//! Concurrency: a talent's balance changes only through one guarded UPDATE
//! (`WHERE posted + Δ - held - Δheld >= 0`), never read-check-write, and rows
//! are locked in one order (holds → account → idempotency key, always the
//! last write). On PostgreSQL a spend is a single statement. System
//! accounts keep no balance row (their balance is the sum of their entries),
//! so spends of different talents never wait on a shared row.

mod idempotency;
mod reconcile;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use idempotency::Idempotency;
pub use reconcile::{LedgerCheck, LedgerIssue, check};

use crate::caller::{Actor, Caller};
use crate::db::{self, SqlBuilder};
use crate::entities::{credit_holds, ledger_accounts, ledger_transactions};
use crate::error::{DomainError, Result};
use crate::page::{self, Page};
use crate::types::{Amount, Limit, Role, Scope, Text, Validator};
use crate::{accounts, audit, new_id, now};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransactionKind {
    Grant,
    Allowance,
    Reward,
    Spend,
    Capture,
    Reversal,
}

impl TransactionKind {
    pub const ALL: [Self; 6] = [
        Self::Grant,
        Self::Allowance,
        Self::Reward,
        Self::Spend,
        Self::Capture,
        Self::Reversal,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grant => "grant",
            Self::Allowance => "allowance",
            Self::Reward => "reward",
            Self::Spend => "spend",
            Self::Capture => "capture",
            Self::Reversal => "reversal",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
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
    fn from_db(s: &str) -> Self {
        match s {
            "captured" => Self::Captured,
            "released" => Self::Released,
            "expired" => Self::Expired,
            _ => Self::Pending,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Balance {
    pub talent_id: Uuid,
    /// What can be spent or held now: posted credits minus open holds.
    pub available: i64,
    /// Reserved by open holds.
    pub held: i64,
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
    /// What makes it unique: `allowance:<talent>:<YYYY-MM>` or `reward:<submission>`.
    pub reference: Option<String>,
    pub reverses_id: Option<Uuid>,
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
    pub captured_amount: Option<i64>,
    pub capture_transaction_id: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

fn hold_view(h: &credit_holds::Model) -> Hold {
    Hold {
        id: h.id,
        talent_id: h.talent_id,
        amount: h.amount,
        purpose: h.purpose.clone(),
        status: HoldStatus::from_db(&h.status),
        captured_amount: h.captured_amount,
        capture_transaction_id: h.capture_transaction_id,
        expires_at: h.expires_at,
        created_at: h.created_at,
        resolved_at: h.resolved_at,
    }
}

// ---- requests (as sent; their JSON is the idempotency fingerprint) ----

#[derive(Debug, Clone, Serialize)]
pub struct GrantRequest {
    pub talent_id: Uuid,
    pub amount: i64,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpendRequest {
    pub talent_id: Option<Uuid>,
    pub amount: i64,
    pub purpose: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct HoldRequest {
    pub talent_id: Option<Uuid>,
    pub amount: i64,
    pub purpose: String,
    pub expires_in_seconds: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReverseRequest {
    pub reason: String,
}

fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

// ---- building blocks ----

/// Opens the credits account of a new talent (inside the registration transaction).
pub async fn open_talent_account<C: ConnectionTrait>(
    db: &C,
    talent_id: Uuid,
    t: DateTime<Utc>,
) -> Result<()> {
    db::execute(
        db,
        "INSERT INTO ledger_accounts (id, kind, code, talent_id, posted, held, version, created_at) \
         VALUES ($1, 'talent', $2, $3, 0, 0, 0, $4)",
        [new_id().into(), format!("talent:{talent_id}").into(), talent_id.into(), t.into()],
    )
    .await?;
    Ok(())
}

async fn talent_account<C: ConnectionTrait>(
    db: &C,
    talent_id: Uuid,
) -> Result<ledger_accounts::Model> {
    ledger_accounts::Entity::find()
        .filter(ledger_accounts::Column::TalentId.eq(talent_id))
        .one(db)
        .await?
        .ok_or(DomainError::NotFound("talent"))
}

/// The one guarded statement that changes a talent's balance: posted by
/// `posted_delta`, held by `held_delta`. `None` when it would leave less than
/// zero available or exceed the maximum balance.
async fn move_balance<C: ConnectionTrait>(
    db: &C,
    account_id: Uuid,
    posted_delta: i64,
    held_delta: i64,
) -> Result<Option<(i64, i64, i64)>> {
    let bump = i64::from(posted_delta != 0);
    let row = db::query_one(
        db,
        "UPDATE ledger_accounts SET posted = posted + $1, held = held + $2, version = version + $3 \
         WHERE id = $4 AND posted + $1 - held - $2 >= 0 AND posted + $1 <= $5 \
         RETURNING posted, held, version",
        [
            posted_delta.into(),
            held_delta.into(),
            bump.into(),
            account_id.into(),
            MAX_BALANCE.into(),
        ],
    )
    .await?;
    row.map(|r| {
        Ok((
            db::get(&r, "posted")?,
            db::get(&r, "held")?,
            db::get(&r, "version")?,
        ))
    })
    .transpose()
}

struct NewTransaction<'a> {
    kind: TransactionKind,
    talent_id: Uuid,
    amount: i64,
    memo: &'a str,
    reference: Option<String>,
    reverses_id: Option<Uuid>,
    hold_id: Option<Uuid>,
    actor: Actor,
}

/// Inserts a transaction row; `None` when its reference, reversed transaction
/// or hold is already taken (each may be used once).
async fn insert_transaction<C: ConnectionTrait>(
    db: &C,
    t: NewTransaction<'_>,
    at: DateTime<Utc>,
) -> Result<Option<Uuid>> {
    let id = new_id();
    let n = db::execute(
        db,
        "INSERT INTO ledger_transactions \
         (id, kind, talent_id, amount, memo, reference, reverses_id, hold_id, actor_kind, actor_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
        [
            id.into(),
            t.kind.as_str().into(),
            t.talent_id.into(),
            t.amount.into(),
            t.memo.into(),
            t.reference.into(),
            t.reverses_id.into(),
            t.hold_id.into(),
            t.actor.kind.into(),
            t.actor.id.into(),
            at.into(),
        ],
    )
    .await?;
    Ok((n == 1).then_some(id))
}

/// An entry: (account, signed amount, account version and balance after — for talent accounts).
type Entry = (Uuid, i64, Option<i64>, Option<i64>);

async fn insert_entries<C: ConnectionTrait>(
    db: &C,
    transaction_id: Uuid,
    entries: &[Entry],
    at: DateTime<Utc>,
) -> Result<()> {
    debug_assert_eq!(entries.iter().map(|e| e.1).sum::<i64>(), 0);
    let mut b = SqlBuilder::new(
        "INSERT INTO ledger_entries (transaction_id, account_id, amount, account_version, balance_after, created_at) VALUES ",
    );
    let mut rows = Vec::new();
    for (account, amount, version, after) in entries {
        let ps = [
            b.bind(transaction_id),
            b.bind(*account),
            b.bind(*amount),
            b.bind(*version),
            b.bind(*after),
            b.bind(at),
        ];
        rows.push(format!("({})", ps.join(", ")));
    }
    b.push(&rows.join(", "));
    db::execute(db, &b.sql, b.values).await?;
    Ok(())
}

/// Credits or debits a talent against a system account, as one transaction.
async fn post<C: ConnectionTrait>(
    db: &C,
    t: NewTransaction<'_>,
    system_account: Uuid,
    signed: i64,
    at: DateTime<Utc>,
) -> Result<Option<CreditTransaction>> {
    let (kind, talent_id, memo) = (t.kind, t.talent_id, t.memo.to_owned());
    let (reference, reverses_id, hold_id) = (t.reference.clone(), t.reverses_id, t.hold_id);
    let (id, posted) = if db.get_database_backend() == DbBackend::Postgres {
        match post_in_one_statement(db, &t, system_account, signed, at).await? {
            OneStatement::Taken => return Ok(None),
            OneStatement::Posted { id, posted } => (id, posted),
            OneStatement::Refused { id } => (
                id,
                finish_post(db, id, talent_id, system_account, signed, at).await?,
            ),
        }
    } else {
        let Some(id) = insert_transaction(db, t, at).await? else {
            return Ok(None);
        };
        (
            id,
            finish_post(db, id, talent_id, system_account, signed, at).await?,
        )
    };
    Ok(Some(CreditTransaction {
        id,
        kind,
        talent_id,
        amount: signed,
        memo,
        reference,
        reverses_id,
        hold_id,
        balance_after: posted,
        created_at: at,
    }))
}

/// The balance move and the entries of a transaction already inserted;
/// returns the talent's posted balance after it.
async fn finish_post<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    talent_id: Uuid,
    system_account: Uuid,
    signed: i64,
    at: DateTime<Utc>,
) -> Result<i64> {
    let moved = move_talent(db, talent_id, signed, 0, at).await?;
    let entries = [
        (
            moved.account_id,
            signed,
            Some(moved.version),
            Some(moved.posted),
        ),
        (system_account, -signed, None, None),
    ];
    insert_entries(db, id, &entries, at).await?;
    Ok(moved.posted)
}

enum OneStatement {
    /// The reference, reversal or hold was taken: nothing changed.
    Taken,
    /// Transaction, balance and entries are written.
    Posted { id: Uuid, posted: i64 },
    /// The transaction row is written, the guarded balance move was refused.
    Refused { id: Uuid },
}

/// PostgreSQL: the transaction row, the guarded balance move and both entries
/// in one round trip. The move runs only if the row was inserted, and the
/// entries only if the move was allowed.
async fn post_in_one_statement<C: ConnectionTrait>(
    db: &C,
    t: &NewTransaction<'_>,
    system_account: Uuid,
    signed: i64,
    at: DateTime<Utc>,
) -> Result<OneStatement> {
    let id = new_id();
    // Only a transaction with a once-only reference can conflict; the others
    // skip ON CONFLICT's speculative insertion.
    let once_only = t.reference.is_some() || t.reverses_id.is_some() || t.hold_id.is_some();
    let sql = if once_only { POST_ONCE_SQL } else { POST_SQL };
    let row = db::query_one(
        db,
        sql,
        [
            id.into(),
            t.kind.as_str().into(),
            t.talent_id.into(),
            t.amount.into(),
            t.memo.into(),
            t.reference.clone().into(),
            t.reverses_id.into(),
            t.hold_id.into(),
            t.actor.kind.into(),
            t.actor.id.into(),
            at.into(),
            signed.into(),
            MAX_BALANCE.into(),
            system_account.into(),
        ],
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("the posting statement returned no row"))?;
    let inserted: i64 = db::get(&row, "inserted")?;
    let posted: Option<i64> = db::get(&row, "posted")?;
    Ok(match (inserted, posted) {
        (0, _) => OneStatement::Taken,
        (_, Some(posted)) => OneStatement::Posted { id, posted },
        (_, None) => OneStatement::Refused { id },
    })
}

macro_rules! post_sql {
    ($on_conflict:literal) => {
        concat!(
            "WITH tx AS ( \
            INSERT INTO ledger_transactions \
            (id, kind, talent_id, amount, memo, reference, reverses_id, hold_id, actor_kind, actor_id, created_at) \
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ",
            $on_conflict,
            " RETURNING id \
        ), acct AS ( \
            UPDATE ledger_accounts SET posted = posted + $12, version = version + 1 \
            WHERE talent_id = $3 AND posted + $12 - held >= 0 AND posted + $12 <= $13 \
              AND EXISTS (SELECT 1 FROM tx) \
            RETURNING id, posted, version \
        ), entries AS ( \
            INSERT INTO ledger_entries (transaction_id, account_id, amount, account_version, balance_after, created_at) \
            SELECT tx.id, acct.id, $12, acct.version, acct.posted, $11 FROM tx, acct \
            UNION ALL \
            SELECT tx.id, $14, -$12, NULL, NULL, $11 FROM tx, acct \
        ) \
        SELECT (SELECT COUNT(*) FROM tx) AS inserted, acct.posted AS posted \
        FROM (SELECT 1) AS one LEFT JOIN acct ON TRUE"
        )
    };
}

const POST_SQL: &str = post_sql!("");
const POST_ONCE_SQL: &str = post_sql!("ON CONFLICT DO NOTHING");

/// A talent's balance after a move.
struct Moved {
    account_id: Uuid,
    posted: i64,
    version: i64,
}

/// Moves a talent's balance with the guarded statement. When that is refused
/// and holds are open, holds past their expiry are released and it is tried
/// once more — so expired holds never block a spend, and the common path
/// stays one statement.
async fn move_talent<C: ConnectionTrait>(
    db: &C,
    talent_id: Uuid,
    posted_delta: i64,
    held_delta: i64,
    at: DateTime<Utc>,
) -> Result<Moved> {
    let sql = "UPDATE ledger_accounts SET posted = posted + $1, held = held + $2, version = version + $3 \
               WHERE talent_id = $4 AND posted + $1 - held - $2 >= 0 AND posted + $1 <= $5 \
               RETURNING id, posted, version";
    let bump = i64::from(posted_delta != 0);
    let values = [
        posted_delta.into(),
        held_delta.into(),
        bump.into(),
        talent_id.into(),
        MAX_BALANCE.into(),
    ];
    let mut row = db::query_one(db, sql, values.clone()).await?;
    if row.is_none() {
        let account = talent_account(db, talent_id).await?;
        let debit = posted_delta < 0 || held_delta > 0;
        if debit && account.held > 0 && expire_holds(db, talent_id, account.id, at).await? > 0 {
            row = db::query_one(db, sql, values).await?;
        }
    }
    match row {
        Some(r) => Ok(Moved {
            account_id: db::get(&r, "id")?,
            posted: db::get(&r, "posted")?,
            version: db::get(&r, "version")?,
        }),
        None if posted_delta > 0 && held_delta <= 0 => Err(DomainError::BalanceLimit),
        None => Err(DomainError::InsufficientCredits),
    }
}

fn duplicate_id() -> DomainError {
    DomainError::Internal(anyhow::anyhow!("a new transaction id collided"))
}

/// Releases a talent's holds whose expiry has passed. Returns how many.
async fn expire_holds<C: ConnectionTrait>(
    db: &C,
    talent_id: Uuid,
    account_id: Uuid,
    at: DateTime<Utc>,
) -> Result<usize> {
    let rows = db::query_all(
        db,
        "UPDATE credit_holds SET status = 'expired', resolved_at = $1 \
         WHERE talent_id = $2 AND status = 'pending' AND expires_at <= $1 RETURNING amount",
        [at.into(), talent_id.into()],
    )
    .await?;
    let total: i64 = rows
        .iter()
        .map(|r| db::get::<i64>(r, "amount"))
        .sum::<std::result::Result<i64, _>>()?;
    if total > 0 {
        move_balance(db, account_id, 0, -total)
            .await?
            .ok_or_else(|| anyhow::anyhow!("releasing expired holds was refused"))?;
    }
    Ok(rows.len())
}

fn require_key(idem: Option<&Idempotency>) -> Result<&Idempotency> {
    idem.ok_or_else(|| {
        DomainError::field(
            "Idempotency-Key",
            "this request needs an Idempotency-Key header",
        )
    })
}

fn parse_amount(v: &mut Validator, raw: i64) -> Option<Amount> {
    v.check(Amount::parse("amount", raw))
}

/// The talent a caller moves credits of: a person moves only their own; a
/// service key with `scope` names the talent.
fn target_talent(caller: &Caller, named: Option<Uuid>, scope: Scope) -> Result<Uuid> {
    match caller {
        Caller::User(u) => match named {
            None => Ok(u.id),
            Some(t) if t == u.id => Ok(t),
            Some(_) => Err(DomainError::Forbidden("you can only use your own credits")),
        },
        Caller::Service(s) => {
            if !s.scopes.contains(&scope) {
                return Err(DomainError::Forbidden(
                    "this API key lacks the scope this operation needs",
                ));
            }
            named.ok_or_else(|| {
                DomainError::field("talent_id", "is required when a service key calls")
            })
        }
    }
}

/// A talent's own account is readable by them and by staff; to anyone else it
/// does not exist.
fn can_read(caller: &Caller, talent_id: Uuid) -> Result<()> {
    if caller.user_id() == Some(talent_id) || caller.is_staff() {
        Ok(())
    } else {
        Err(DomainError::NotFound("talent"))
    }
}

// ---- operations ----

/// A community manager or admin grants credits to a talent (never to themselves).
pub async fn grant(
    db: &DatabaseConnection,
    caller: &Caller,
    idem: Option<&Idempotency>,
    req: GrantRequest,
) -> Result<CreditTransaction> {
    if !(caller.has_role(Role::CommunityManager) || caller.has_role(Role::Admin)) {
        return Err(DomainError::Forbidden(
            "only community managers and admins grant credits",
        ));
    }
    if caller.user_id() == Some(req.talent_id) {
        return Err(DomainError::Forbidden(
            "nobody can grant credits to themselves",
        ));
    }
    let mut v = Validator::default();
    let amount = parse_amount(&mut v, req.amount);
    let reason = v.check(Text::parse("reason", &req.reason, 1, 500));
    v.finish()?;
    let (Some(amount), Some(reason)) = (amount, reason) else {
        return Err(DomainError::Validation(vec![]));
    };
    let idem = require_key(idem)?;
    let actor = caller.actor();
    idempotency::run(db, idem, "grant", to_json(&req), async |tx| {
        let t = NewTransaction {
            kind: TransactionKind::Grant,
            talent_id: req.talent_id,
            amount: amount.get(),
            memo: reason.as_str(),
            reference: None,
            reverses_id: None,
            hold_id: None,
            actor,
        };
        let granted = post(tx, t, system::GRANTS, amount.get(), now())
            .await?
            .ok_or_else(duplicate_id)?;
        let target = Some(req.talent_id.to_string());
        let after = Some(audit::json(&granted));
        audit::record(tx, actor, "credits.grant", "talent", target, None, after).await?;
        Ok(granted)
    })
    .await
}

/// A talent claims this calendar month's (UTC) allowance for their headline tier, once.
pub async fn claim_allowance(
    db: &DatabaseConnection,
    caller: &Caller,
    idem: Option<&Idempotency>,
) -> Result<CreditTransaction> {
    let Caller::User(me) = caller else {
        return Err(DomainError::Forbidden(
            "only a signed-in talent claims an allowance",
        ));
    };
    let idem = require_key(idem)?;
    let me = me.id;
    idempotency::run(db, idem, "allowance", serde_json::json!({}), async |tx| {
        let at = now();
        let tier = accounts::headline_tier(tx, me).await?;
        let amount: i64 = match db::query_one(
            tx,
            "SELECT amount FROM allowance_policies WHERE tier = $1",
            [tier.into()],
        )
        .await?
        {
            Some(r) => db::get(&r, "amount")?,
            None => 0,
        };
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
            actor: Actor {
                kind: "user",
                id: Some(me),
            },
        };
        post(tx, t, system::ALLOWANCES, amount, at)
            .await?
            .ok_or(DomainError::AllowanceAlreadyClaimed)
    })
    .await
}

/// Pays the reward of an accepted submission, exactly once ever: a second call
/// for the same submission returns the first payment. For the challenges code;
/// call it inside the review's transaction.
pub async fn reward_submission<C: ConnectionTrait>(
    tx: &C,
    talent_id: Uuid,
    submission_id: Uuid,
    amount: Amount,
    memo: &str,
    actor: Actor,
) -> Result<CreditTransaction> {
    let reference = format!("reward:{submission_id}");
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

/// Spends credits for something already delivered (no hold).
pub async fn spend(
    db: &DatabaseConnection,
    caller: &Caller,
    idem: Option<&Idempotency>,
    req: SpendRequest,
) -> Result<CreditTransaction> {
    let talent_id = target_talent(caller, req.talent_id, Scope::CreditsSpend)?;
    let mut v = Validator::default();
    let amount = parse_amount(&mut v, req.amount);
    let purpose = v.check(Text::parse("purpose", &req.purpose, 1, 500));
    v.finish()?;
    let (Some(amount), Some(purpose)) = (amount, purpose) else {
        return Err(DomainError::Validation(vec![]));
    };
    let idem = require_key(idem)?;
    let actor = caller.actor();
    let request = to_json(&req);
    if db.get_database_backend() == DbBackend::Postgres {
        let spend = OneStatementSpend {
            talent_id,
            amount: amount.get(),
            purpose: purpose.as_str(),
            actor,
        };
        if let Some(done) = spend_in_one_statement(db, idem, &request, spend).await? {
            return Ok(done);
        }
    }
    idempotency::run(db, idem, "spend", request, async |tx| {
        let at = now();
        let t = NewTransaction {
            kind: TransactionKind::Spend,
            talent_id,
            amount: amount.get(),
            memo: purpose.as_str(),
            reference: None,
            reverses_id: None,
            hold_id: None,
            actor,
        };
        post(tx, t, system::GENERATION, -amount.get(), at)
            .await?
            .ok_or_else(duplicate_id)
    })
    .await
}

struct OneStatementSpend<'a> {
    talent_id: Uuid,
    amount: i64,
    purpose: &'a str,
    actor: Actor,
}

/// PostgreSQL's path for the commonest request: the guarded debit, the
/// transaction, both entries and the idempotency key with its response are one
/// statement, committed on its own (a statement is atomic), so a spend costs
/// one round trip. `None` when the guard refused the debit — too few credits
/// available, perhaps because of holds past their expiry, or no such talent:
/// nothing was written, and the caller takes the general path, which releases
/// expired holds, tries again and stores a refusal under the key. A key already
/// used fails the key insert, which undoes the whole statement; the stored
/// outcome is then replayed.
async fn spend_in_one_statement(
    db: &DatabaseConnection,
    idem: &Idempotency,
    request: &serde_json::Value,
    spend: OneStatementSpend<'_>,
) -> Result<Option<CreditTransaction>> {
    let hash = idempotency::fingerprint("spend", request);
    let mut done = CreditTransaction {
        id: new_id(),
        kind: TransactionKind::Spend,
        talent_id: spend.talent_id,
        amount: -spend.amount,
        memo: spend.purpose.to_owned(),
        reference: None,
        reverses_id: None,
        hold_id: None,
        // Filled in by the statement, in the stored response too.
        balance_after: 0,
        created_at: now(),
    };
    let row = db::query_one(
        db,
        SPEND_SQL,
        [
            done.amount.into(),
            spend.talent_id.into(),
            MAX_BALANCE.into(),
            done.id.into(),
            spend.amount.into(),
            spend.purpose.into(),
            spend.actor.kind.into(),
            spend.actor.id.into(),
            done.created_at.into(),
            system::GENERATION.into(),
            idem.scope.clone().into(),
            idem.key.clone().into(),
            hash.clone().into(),
            to_json(&done).into(),
        ],
    )
    .await;
    match row {
        Ok(Some(row)) => {
            done.balance_after = db::get(&row, "posted")?;
            Ok(Some(done))
        }
        Ok(None) => Ok(None),
        Err(e) if idempotency::key_taken(&e) => {
            idempotency::replay(db, idem, &hash).await.map(Some)
        }
        Err(e) => Err(e.into()),
    }
}

/// See [`spend_in_one_statement`]. Each part runs only if the one before it
/// wrote its row; the key row is the last write, as on the general path.
const SPEND_SQL: &str = "WITH acct AS ( \
        UPDATE ledger_accounts SET posted = posted + $1, version = version + 1 \
        WHERE talent_id = $2 AND posted + $1 - held >= 0 AND posted + $1 <= $3 \
        RETURNING id, posted, version \
    ), tx AS ( \
        INSERT INTO ledger_transactions \
        (id, kind, talent_id, amount, memo, reference, reverses_id, hold_id, actor_kind, actor_id, created_at) \
        SELECT $4, 'spend', $2, $5, $6, NULL, NULL, NULL, $7, $8, $9 FROM acct \
        RETURNING id \
    ), entries AS ( \
        INSERT INTO ledger_entries (transaction_id, account_id, amount, account_version, balance_after, created_at) \
        SELECT tx.id, acct.id, $1, acct.version, acct.posted, $9 FROM tx, acct \
        UNION ALL \
        SELECT tx.id, $10, -$1, NULL, NULL, $9 FROM tx, acct \
    ), claimed AS ( \
        INSERT INTO idempotency_keys (scope, key, operation, request_hash, outcome, response, created_at) \
        SELECT $11, $12, 'spend', $13, 'ok', jsonb_set($14, '{balance_after}', to_jsonb(acct.posted))::json, $9 \
        FROM tx, acct \
    ) \
    SELECT acct.posted AS posted FROM acct";

/// Reserves credits for a generation run until it finishes or the hold expires.
pub async fn hold(
    db: &DatabaseConnection,
    caller: &Caller,
    idem: Option<&Idempotency>,
    req: HoldRequest,
) -> Result<Hold> {
    let talent_id = target_talent(caller, req.talent_id, Scope::CreditsHold)?;
    let mut v = Validator::default();
    let amount = parse_amount(&mut v, req.amount);
    let purpose = v.check(Text::parse("purpose", &req.purpose, 1, 500));
    let secs = req.expires_in_seconds.unwrap_or(HOLD_DEFAULT_SECONDS);
    if !(1..=HOLD_MAX_SECONDS).contains(&secs) {
        v.push(crate::FieldError::new(
            "expires_in_seconds",
            format!("must be between 1 and {HOLD_MAX_SECONDS}"),
        ));
    }
    v.finish()?;
    let (Some(amount), Some(purpose)) = (amount, purpose) else {
        return Err(DomainError::Validation(vec![]));
    };
    let idem = require_key(idem)?;
    let actor = caller.actor();
    idempotency::run(db, idem, "hold", to_json(&req), async |tx| {
        let at = now();
        let moved = move_talent(tx, talent_id, 0, amount.get(), at).await?;
        let h = credit_holds::Model {
            id: new_id(),
            talent_id,
            account_id: moved.account_id,
            amount: amount.get(),
            purpose: purpose.into_string(),
            status: "pending".into(),
            captured_amount: None,
            capture_transaction_id: None,
            actor_kind: actor.kind.into(),
            actor_id: actor.id,
            expires_at: at + chrono::Duration::seconds(secs),
            created_at: at,
            resolved_at: None,
        };
        credit_holds::Entity::insert(credit_holds::ActiveModel::from(h.clone()))
            .exec_without_returning(tx)
            .await?;
        Ok(hold_view(&h))
    })
    .await
}

/// A hold as its owner or a service with `credits:hold` may see it; anyone else gets 404.
async fn hold_for<C: ConnectionTrait>(
    db: &C,
    caller: &Caller,
    hold_id: Uuid,
) -> Result<credit_holds::Model> {
    let h = credit_holds::Entity::find_by_id(hold_id)
        .one(db)
        .await?
        .ok_or(DomainError::NotFound("hold"))?;
    let allowed = caller.user_id() == Some(h.talent_id) || caller.has_scope(Scope::CreditsHold);
    if allowed {
        Ok(h)
    } else {
        Err(DomainError::NotFound("hold"))
    }
}

pub async fn get_hold(db: &DatabaseConnection, caller: &Caller, hold_id: Uuid) -> Result<Hold> {
    let h = hold_for(db, caller, hold_id).await?;
    Ok(hold_view(&h))
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
    can_read(caller, talent_id)?;
    let before: Option<Uuid> = page::decode(cursor)?;
    // Releases what has expired (and 404s an unknown talent).
    balance(db, caller, talent_id).await?;
    let mut b = SqlBuilder::new("SELECT * FROM credit_holds WHERE talent_id = ");
    let p = b.bind(talent_id);
    b.push(&p);
    if let Some(st) = status {
        let p = b.bind(st.as_str());
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
    let holds = rows.iter().map(hold_view).collect();
    Ok(Page::from_rows(holds, limit.get(), |h: &Hold| {
        h.id.to_string()
    }))
}

/// Captures all of a hold or part of it (the rest is released) — once, and
/// only before it expires.
pub async fn capture(
    db: &DatabaseConnection,
    caller: &Caller,
    idem: Option<&Idempotency>,
    hold_id: Uuid,
    amount: Option<i64>,
) -> Result<Hold> {
    if let Caller::Service(_) = caller
        && !caller.has_scope(Scope::CreditsHold)
    {
        return Err(DomainError::Forbidden(
            "this API key lacks the scope this operation needs",
        ));
    }
    if let Some(a) = amount {
        Amount::parse("amount", a).map_err(|e| DomainError::Validation(vec![e]))?;
    }
    let idem = require_key(idem)?;
    let actor = caller.actor();
    let request = serde_json::json!({ "hold_id": hold_id, "amount": amount });
    idempotency::run(db, idem, "capture", request, async |tx| {
        let at = now();
        let h = hold_for(tx, caller, hold_id).await?;
        let take = amount.unwrap_or(h.amount);
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
        let id = insert_transaction(tx, t, at)
            .await?
            .ok_or(DomainError::HoldNotPending("captured".into()))?;
        let (posted, _, version) = move_balance(tx, h.account_id, -take, -h.amount)
            .await?
            .ok_or_else(|| anyhow::anyhow!("capturing a pending hold was refused"))?;
        insert_entries(
            tx,
            id,
            &[
                (h.account_id, -take, Some(version), Some(posted)),
                (system::GENERATION, take, None, None),
            ],
            at,
        )
        .await?;
        db::execute(
            tx,
            "UPDATE credit_holds SET capture_transaction_id = $1 WHERE id = $2",
            [id.into(), hold_id.into()],
        )
        .await?;
        let h = credit_holds::Entity::find_by_id(hold_id)
            .one(tx)
            .await?
            .ok_or(DomainError::NotFound("hold"))?;
        Ok(hold_view(&h))
    })
    .await
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
    match HoldStatus::from_db(&h.status) {
        HoldStatus::Pending if h.expires_at <= at => DomainError::HoldExpired,
        HoldStatus::Expired => DomainError::HoldExpired,
        _ => DomainError::HoldNotPending(h.status.clone()),
    }
}

/// Releases a pending hold in full.
pub async fn release(
    db: &DatabaseConnection,
    caller: &Caller,
    idem: Option<&Idempotency>,
    hold_id: Uuid,
) -> Result<Hold> {
    if let Caller::Service(_) = caller
        && !caller.has_scope(Scope::CreditsHold)
    {
        return Err(DomainError::Forbidden(
            "this API key lacks the scope this operation needs",
        ));
    }
    let idem = require_key(idem)?;
    let request = serde_json::json!({ "hold_id": hold_id });
    idempotency::run(db, idem, "release", request, async |tx| {
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
        move_balance(tx, h.account_id, 0, -h.amount)
            .await?
            .ok_or_else(|| anyhow::anyhow!("releasing a pending hold was refused"))?;
        let h = credit_holds::Entity::find_by_id(hold_id)
            .one(tx)
            .await?
            .ok_or(DomainError::NotFound("hold"))?;
        Ok(hold_view(&h))
    })
    .await
}

/// An admin reverses a transaction with a new, opposite one — once, and not if
/// it would overdraw the talent.
pub async fn reverse(
    db: &DatabaseConnection,
    caller: &Caller,
    idem: Option<&Idempotency>,
    transaction_id: Uuid,
    req: ReverseRequest,
) -> Result<CreditTransaction> {
    if !caller.has_role(Role::Admin) {
        return Err(DomainError::Forbidden("only admins reverse transactions"));
    }
    let reason =
        Text::parse("reason", &req.reason, 1, 500).map_err(|e| DomainError::Validation(vec![e]))?;
    let idem = require_key(idem)?;
    let actor = caller.actor();
    let request = serde_json::json!({ "transaction_id": transaction_id, "reason": req.reason });
    idempotency::run(db, idem, "reverse", request, async |tx| {
        let at = now();
        let orig = ledger_transactions::Entity::find_by_id(transaction_id)
            .one(tx)
            .await?
            .ok_or(DomainError::NotFound("transaction"))?;
        if orig.kind == TransactionKind::Reversal.as_str() {
            return Err(DomainError::InvalidOperation("a reversal cannot itself be reversed"));
        }
        let t = NewTransaction {
            kind: TransactionKind::Reversal,
            talent_id: orig.talent_id,
            amount: orig.amount,
            memo: reason.as_str(),
            reference: None,
            reverses_id: Some(orig.id),
            hold_id: None,
            actor,
        };
        let id = insert_transaction(tx, t, at).await?.ok_or(DomainError::AlreadyReversed)?;
        let rows = db::query_all(
            tx,
            "SELECT e.account_id, e.amount, a.kind FROM ledger_entries e \
             JOIN ledger_accounts a ON a.id = e.account_id WHERE e.transaction_id = $1 ORDER BY e.account_id",
            [orig.id.into()],
        )
        .await?;
        let mut entries = Vec::new();
        let mut talent_amount = 0;
        let mut balance_after = 0;
        for r in &rows {
            let account: Uuid = db::get(r, "account_id")?;
            let amount: i64 = db::get(r, "amount")?;
            let kind: String = db::get(r, "kind")?;
            if kind == "talent" {
                let moved = move_talent(tx, orig.talent_id, -amount, 0, at).await?;
                let (posted, version) = (moved.posted, moved.version);
                talent_amount = -amount;
                balance_after = posted;
                entries.push((account, -amount, Some(version), Some(posted)));
            } else {
                entries.push((account, -amount, None, None));
            }
        }
        insert_entries(tx, id, &entries, at).await?;
        let reversal = CreditTransaction {
            id,
            kind: TransactionKind::Reversal,
            talent_id: orig.talent_id,
            amount: talent_amount,
            memo: reason.into_string(),
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

async fn transaction_for_talent<C: ConnectionTrait>(
    db: &C,
    t: &ledger_transactions::Model,
) -> Result<CreditTransaction> {
    let row = db::query_one(
        db,
        "SELECT e.amount, e.balance_after FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id \
         WHERE e.transaction_id = $1 AND a.talent_id = $2",
        [t.id.into(), t.talent_id.into()],
    )
    .await?
    .ok_or(DomainError::NotFound("transaction"))?;
    Ok(CreditTransaction {
        id: t.id,
        kind: TransactionKind::parse(&t.kind)
            .ok_or_else(|| anyhow::anyhow!("unknown kind {}", t.kind))?,
        talent_id: t.talent_id,
        amount: db::get(&row, "amount")?,
        memo: t.memo.clone(),
        reference: t.reference.clone(),
        reverses_id: t.reverses_id,
        hold_id: t.hold_id,
        balance_after: db::get::<Option<i64>>(&row, "balance_after")?.unwrap_or_default(),
        created_at: t.created_at,
    })
}

// ---- reads ----

/// Available and held credits. Expired holds are released first, so what is
/// shown is what can be spent.
pub async fn balance(db: &DatabaseConnection, caller: &Caller, talent_id: Uuid) -> Result<Balance> {
    can_read(caller, talent_id)?;
    let mut account = talent_account(db, talent_id).await?;
    if account.held == 0 {
        // No open hold, so none past its expiry either.
        return Ok(Balance {
            talent_id,
            available: account.posted,
            held: 0,
        });
    }
    let at = now();
    let expired = db::query_one(
        db,
        "SELECT 1 AS x FROM credit_holds WHERE talent_id = $1 AND status = 'pending' AND expires_at <= $2 LIMIT 1",
        [talent_id.into(), at.into()],
    )
    .await?;
    if expired.is_some() {
        let txn = db::begin_write(db).await?;
        expire_holds(&txn, talent_id, account.id, at).await?;
        txn.commit().await?;
        account = talent_account(db, talent_id).await?;
    }
    Ok(Balance {
        talent_id,
        available: account.posted - account.held,
        held: account.held,
    })
}

#[derive(Debug, Default)]
pub struct HistoryFilter {
    pub kind: Option<TransactionKind>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A talent's transactions, newest first. The cursor is the account version,
/// which rises by exactly one per entry: no gaps or repeats between pages.
pub async fn history(
    db: &DatabaseConnection,
    caller: &Caller,
    talent_id: Uuid,
    f: &HistoryFilter,
    cursor: Option<&str>,
    limit: Limit,
) -> Result<Page<CreditTransaction>> {
    can_read(caller, talent_id)?;
    let before: Option<i64> = page::decode(cursor)?;
    let account = talent_account(db, talent_id).await?;
    let mut b = SqlBuilder::new(
        "SELECT t.id, t.kind, t.talent_id, t.memo, t.reference, t.reverses_id, t.hold_id, t.created_at, \
         e.amount, e.balance_after, e.account_version \
         FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id WHERE e.account_id = ",
    );
    let p = b.bind(account.id);
    b.push(&p);
    if let Some(k) = f.kind {
        let p = b.bind(k.as_str());
        b.push(&format!(" AND t.kind = {p}"));
    }
    if let Some(from) = f.from {
        let p = b.bind(from);
        b.push(&format!(" AND t.created_at >= {p}"));
    }
    if let Some(to) = f.to {
        let p = b.bind(to);
        b.push(&format!(" AND t.created_at < {p}"));
    }
    if let Some(c) = before {
        let p = b.bind(c);
        b.push(&format!(" AND e.account_version < {p}"));
    }
    b.push(&format!(
        " ORDER BY e.account_version DESC LIMIT {}",
        limit.get() + 1
    ));
    let rows = db::query_all(db, &b.sql, b.values).await?;
    let items = rows
        .iter()
        .map(|r| {
            let kind: String = db::get(r, "kind")?;
            Ok((
                db::get::<i64>(r, "account_version")?,
                CreditTransaction {
                    id: db::get(r, "id")?,
                    kind: TransactionKind::parse(&kind)
                        .ok_or_else(|| anyhow::anyhow!("unknown kind {kind}"))?,
                    talent_id: db::get(r, "talent_id")?,
                    amount: db::get(r, "amount")?,
                    memo: db::get(r, "memo")?,
                    reference: db::get(r, "reference")?,
                    reverses_id: db::get(r, "reverses_id")?,
                    hold_id: db::get(r, "hold_id")?,
                    balance_after: db::get::<Option<i64>>(r, "balance_after")?.unwrap_or_default(),
                    created_at: db::get(r, "created_at")?,
                },
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Page::from_rows(items, limit.get(), |(v, _)| v.to_string()).map(|(_, t)| t))
}

/// Releases every hold whose expiry has passed (the background sweeper).
pub async fn sweep_expired_holds(db: &DatabaseConnection, batch: u64) -> Result<usize> {
    let at = now();
    let rows = db::query_all(
        db,
        &format!(
            "SELECT DISTINCT talent_id, account_id FROM credit_holds \
             WHERE status = 'pending' AND expires_at <= $1 LIMIT {batch}"
        ),
        [at.into()],
    )
    .await?;
    let mut released = 0;
    for r in &rows {
        let txn = db::begin_write(db).await?;
        released += expire_holds(
            &txn,
            db::get(r, "talent_id")?,
            db::get(r, "account_id")?,
            at,
        )
        .await?;
        txn.commit().await?;
    }
    Ok(released)
}

/// Forgets idempotency keys older than `retention`: a retry after that is a
/// new request. Returns how many were removed.
pub async fn forget_idempotency_keys(
    db: &DatabaseConnection,
    retention: chrono::Duration,
) -> Result<u64> {
    let before = now() - retention;
    Ok(db::execute(
        db,
        "DELETE FROM idempotency_keys WHERE created_at < $1",
        [before.into()],
    )
    .await?)
}

/// Allowance amounts per headline tier.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AllowancePolicy {
    pub tier: i16,
    pub amount: i64,
}

/// An admin sets the monthly allowance of a tier (0 turns it off).
pub async fn set_allowance(
    db: &DatabaseConnection,
    caller: &Caller,
    tier: i16,
    amount: i64,
) -> Result<AllowancePolicy> {
    if !caller.has_role(Role::Admin) {
        return Err(DomainError::Forbidden("only admins change allowances"));
    }
    let mut v = Validator::default();
    if !(0..=5).contains(&tier) {
        v.push(crate::FieldError::new("tier", "must be between 0 and 5"));
    }
    if !(0..=Amount::MAX).contains(&amount) {
        v.push(crate::FieldError::new(
            "amount",
            format!("must be between 0 and {}", Amount::MAX),
        ));
    }
    v.finish()?;
    let txn = db::begin_write(db).await?;
    let before = db::query_one(
        &txn,
        "SELECT amount FROM allowance_policies WHERE tier = $1",
        [tier.into()],
    )
    .await?
    .map(|r| db::get::<i64>(&r, "amount"))
    .transpose()?;
    db::execute(
        &txn,
        "INSERT INTO allowance_policies (tier, amount, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (tier) DO UPDATE SET amount = excluded.amount, updated_at = excluded.updated_at",
        [tier.into(), amount.into(), now().into()],
    )
    .await?;
    let policy = AllowancePolicy { tier, amount };
    audit::record(
        &txn,
        caller.actor(),
        "credits.allowance_policy",
        "tier",
        Some(tier.to_string()),
        before.map(|a| serde_json::json!({ "tier": tier, "amount": a })),
        Some(audit::json(&policy)),
    )
    .await?;
    txn.commit().await?;
    Ok(policy)
}

pub async fn allowance_policies(db: &DatabaseConnection) -> Result<Vec<AllowancePolicy>> {
    db::query_all(
        db,
        "SELECT tier, amount FROM allowance_policies ORDER BY tier",
        [],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(AllowancePolicy {
            tier: db::get(r, "tier")?,
            amount: db::get(r, "amount")?,
        })
    })
    .collect()
}
