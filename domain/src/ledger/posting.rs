//! The building blocks every ledger operation uses: opening an account, the
//! guarded balance move, the transaction and entry inserts, posting a talent
//! against a system account, and releasing expired holds. Each statement is
//! written once, in `sql/`.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult};
use uuid::Uuid;

use super::{CreditTransaction, MAX_BALANCE, TransactionKind};
use crate::caller::Actor;
use crate::db::{self, SqlBuilder};
use crate::error::{DomainError, Result};
use crate::events::{self, CreditsMoved, Event};
use crate::new_id;

const MOVE_BALANCE_SQL: &str = include_str!("sql/move_balance.sql");
const INSERT_TRANSACTION_SQL: &str = include_str!("sql/insert_transaction.sql");
const POST_SQL: &str = include_str!("sql/post.sql");
/// Only a transaction with a once-only reference can conflict; the others
/// skip `ON CONFLICT`'s speculative insertion.
static POST_ONCE_SQL: LazyLock<String> =
    LazyLock::new(|| POST_SQL.replace("/*on_conflict*/", "ON CONFLICT DO NOTHING"));

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

/// A talent account's cached balance.
#[derive(Debug, FromQueryResult)]
pub(super) struct TalentAccount {
    pub id: Uuid,
    pub posted: i64,
    pub held: i64,
    /// Rewards taken back by overturns that the talent still owes.
    pub owed: i64,
}

pub(super) async fn talent_account<C: ConnectionTrait>(
    db: &C,
    talent_id: Uuid,
) -> Result<TalentAccount> {
    db::fetch_one(
        db,
        "SELECT id, posted, held, owed FROM ledger_accounts WHERE talent_id = $1",
        [talent_id.into()],
    )
    .await?
    .ok_or(DomainError::NotFound("talent"))
}

/// A talent's balance after a move.
#[derive(Debug, FromQueryResult)]
pub(super) struct Moved {
    pub id: Uuid,
    pub posted: i64,
    pub held: i64,
    pub version: i64,
    pub owed: i64,
}

impl Moved {
    /// Whether credits that just came in owe something to a debt.
    fn collects(&self) -> bool {
        self.owed > 0 && self.posted > self.held
    }
}

/// Moves a talent's balance with the guarded statement. When that is refused
/// and holds are open, holds past their expiry are released and it is tried
/// once more — so expired holds never block a debit, and the common path
/// stays one statement.
pub(super) async fn move_talent<C: ConnectionTrait>(
    db: &C,
    talent_id: Uuid,
    posted_delta: i64,
    held_delta: i64,
    at: DateTime<Utc>,
) -> Result<Moved> {
    if let Some(moved) = try_move(db, talent_id, posted_delta, held_delta).await? {
        return Ok(moved);
    }
    let account = talent_account(db, talent_id).await?;
    let debit = posted_delta < 0 || held_delta > 0;
    if debit
        && account.held > 0
        && expire_holds(db, talent_id, at).await? > 0
        && let Some(moved) = try_move(db, talent_id, posted_delta, held_delta).await?
    {
        return Ok(moved);
    }
    Err(if posted_delta > 0 && held_delta <= 0 {
        DomainError::BalanceLimit
    } else {
        DomainError::InsufficientCredits
    })
}

/// `sql/move_balance.sql`: `None` when the guard refused.
async fn try_move<C: ConnectionTrait>(
    db: &C,
    talent_id: Uuid,
    posted_delta: i64,
    held_delta: i64,
) -> Result<Option<Moved>> {
    let bump = i64::from(posted_delta != 0);
    Ok(db::fetch_one(
        db,
        MOVE_BALANCE_SQL,
        [
            posted_delta.into(),
            held_delta.into(),
            bump.into(),
            talent_id.into(),
            MAX_BALANCE.into(),
        ],
    )
    .await?)
}

/// A move that cannot be refused (it only lowers what is held): a refusal
/// means the books are broken. What it frees pays what the talent owes first.
pub(super) async fn unhold<C: ConnectionTrait>(
    db: &C,
    talent_id: Uuid,
    posted_delta: i64,
    released: i64,
    at: DateTime<Utc>,
) -> Result<Moved> {
    let moved = try_move(db, talent_id, posted_delta, -released)
        .await?
        .ok_or_else(|| DomainError::bug("lowering what a talent holds was refused"))?;
    if moved.collects() {
        collect_debts(db, talent_id, at).await?;
    }
    Ok(moved)
}

pub(super) struct NewTransaction<'a> {
    pub kind: TransactionKind,
    pub talent_id: Uuid,
    pub amount: i64,
    pub memo: &'a str,
    pub reference: Option<String>,
    pub reverses_id: Option<Uuid>,
    pub hold_id: Option<Uuid>,
    pub actor: Actor,
}

impl NewTransaction<'_> {
    /// The values of `sql/insert_transaction.sql` (and the first eleven of `sql/post.sql`).
    fn values(&self, id: Uuid, at: DateTime<Utc>) -> Vec<sea_orm::Value> {
        vec![
            id.into(),
            self.kind.into(),
            self.talent_id.into(),
            self.amount.into(),
            self.memo.into(),
            self.reference.clone().into(),
            self.reverses_id.into(),
            self.hold_id.into(),
            self.actor.kind.into(),
            self.actor.id.into(),
            at.into(),
        ]
    }
}

/// Inserts a transaction row; `None` when its reference, reversed transaction
/// or hold is already taken (each may be used once).
pub(super) async fn insert_transaction<C: ConnectionTrait>(
    db: &C,
    t: &NewTransaction<'_>,
    at: DateTime<Utc>,
) -> Result<Option<Uuid>> {
    let id = new_id();
    let n = db::execute(db, INSERT_TRANSACTION_SQL, t.values(id, at)).await?;
    Ok((n == 1).then_some(id))
}

/// An entry: account, signed amount, and for talent accounts the account
/// version and posted balance after it.
pub(super) struct Entry {
    pub account: Uuid,
    pub amount: i64,
    pub after: Option<(i64, i64)>,
}

impl Entry {
    pub fn talent(moved: &Moved, amount: i64) -> Self {
        Self {
            account: moved.id,
            amount,
            after: Some((moved.version, moved.posted)),
        }
    }
    pub fn system(account: Uuid, amount: i64) -> Self {
        Self {
            account,
            amount,
            after: None,
        }
    }
}

pub(super) async fn insert_entries<C: ConnectionTrait>(
    db: &C,
    transaction_id: Uuid,
    entries: &[Entry],
    at: DateTime<Utc>,
) -> Result<()> {
    if entries.iter().map(|e| e.amount).sum::<i64>() != 0 {
        return Err(DomainError::bug(
            "a transaction's entries do not sum to zero",
        ));
    }
    let mut b = SqlBuilder::new(
        "INSERT INTO ledger_entries (transaction_id, account_id, amount, account_version, balance_after, created_at) VALUES ",
    );
    let mut rows = Vec::new();
    for e in entries {
        let ps = [
            b.bind(transaction_id),
            b.bind(e.account),
            b.bind(e.amount),
            b.bind(e.after.map(|a| a.0)),
            b.bind(e.after.map(|a| a.1)),
            b.bind(at),
        ];
        rows.push(format!("({})", ps.join(", ")));
    }
    b.push(&rows.join(", "));
    db::execute(db, &b.sql, b.values).await?;
    Ok(())
}

/// Credits (`signed` > 0) or debits a talent against a system account, as one
/// transaction. `None` when the transaction's once-only reference was taken.
pub(super) async fn post<C: ConnectionTrait>(
    db: &C,
    t: NewTransaction<'_>,
    system_account: Uuid,
    signed: i64,
    at: DateTime<Utc>,
) -> Result<Option<CreditTransaction>> {
    let (id, posted, collects) = if db.get_database_backend() == DbBackend::Postgres {
        match post_in_one_statement(db, &t, system_account, signed, at).await? {
            OneStatement::Taken => return Ok(None),
            OneStatement::Posted {
                id,
                posted,
                collects,
            } => (id, posted, collects),
            OneStatement::Refused { id } => {
                let moved = finish_post(db, id, t.talent_id, system_account, signed, at).await?;
                (id, moved.posted, moved.collects())
            }
        }
    } else {
        let Some(id) = insert_transaction(db, &t, at).await? else {
            return Ok(None);
        };
        let moved = finish_post(db, id, t.talent_id, system_account, signed, at).await?;
        (id, moved.posted, moved.collects())
    };
    announce(db, t.talent_id, id, t.kind, signed, posted).await?;
    // Credits coming in pay what the talent owes first, in this transaction.
    if signed > 0 && collects {
        collect_debts(db, t.talent_id, at).await?;
    }
    Ok(Some(CreditTransaction {
        id,
        kind: t.kind,
        talent_id: t.talent_id,
        amount: signed,
        memo: t.memo.to_owned(),
        reference: t.reference,
        reverses_id: t.reverses_id,
        hold_id: t.hold_id,
        balance_after: posted,
        created_at: at,
    }))
}

/// Announces a transaction that moved a talent's posted credits
/// (`credits.moved`), in its database transaction. PostgreSQL's one-statement
/// spend writes the same row in `sql/spend.sql` itself.
pub(super) async fn announce<C: ConnectionTrait>(
    db: &C,
    talent_id: Uuid,
    transaction_id: Uuid,
    kind: TransactionKind,
    amount: i64,
    balance_after: i64,
) -> Result<()> {
    let moved = CreditsMoved {
        transaction_id,
        talent_id,
        kind,
        amount,
        balance_after,
    };
    events::record(db, talent_id, Event::CreditsMoved(moved)).await
}

/// The balance move and the entries of a transaction already inserted;
/// returns the talent's balance after it.
async fn finish_post<C: ConnectionTrait>(
    db: &C,
    id: Uuid,
    talent_id: Uuid,
    system_account: Uuid,
    signed: i64,
    at: DateTime<Utc>,
) -> Result<Moved> {
    let moved = move_talent(db, talent_id, signed, 0, at).await?;
    let entries = [
        Entry::talent(&moved, signed),
        Entry::system(system_account, -signed),
    ];
    insert_entries(db, id, &entries, at).await?;
    Ok(moved)
}

enum OneStatement {
    /// The reference, reversal or hold was taken: nothing changed.
    Taken,
    /// Transaction, balance and entries are written; `collects`: a debt is
    /// to be paid from what came in.
    Posted {
        id: Uuid,
        posted: i64,
        collects: bool,
    },
    /// The transaction row is written, the guarded balance move was refused.
    Refused { id: Uuid },
}

#[derive(FromQueryResult)]
struct PostRow {
    inserted: i64,
    posted: Option<i64>,
    held: Option<i64>,
    owed: Option<i64>,
}

/// PostgreSQL: `sql/post.sql`, the whole posting in one round trip.
async fn post_in_one_statement<C: ConnectionTrait>(
    db: &C,
    t: &NewTransaction<'_>,
    system_account: Uuid,
    signed: i64,
    at: DateTime<Utc>,
) -> Result<OneStatement> {
    let id = new_id();
    let once_only = t.reference.is_some() || t.reverses_id.is_some() || t.hold_id.is_some();
    let sql = if once_only { &POST_ONCE_SQL } else { POST_SQL };
    let mut values = t.values(id, at);
    values.extend([signed.into(), MAX_BALANCE.into(), system_account.into()]);
    let row: PostRow = db::fetch_one(db, sql, values)
        .await?
        .ok_or_else(|| DomainError::bug("the posting statement returned no row"))?;
    Ok(match (row.inserted, row.posted) {
        (0, _) => OneStatement::Taken,
        (_, Some(posted)) => OneStatement::Posted {
            id,
            posted,
            collects: row.owed.unwrap_or_default() > 0 && posted > row.held.unwrap_or_default(),
        },
        (_, None) => OneStatement::Refused { id },
    })
}

#[derive(FromQueryResult)]
struct Amount {
    amount: i64,
}

/// Releases a talent's holds whose expiry has passed. Returns how many.
pub(super) async fn expire_holds<C: ConnectionTrait>(
    db: &C,
    talent_id: Uuid,
    at: DateTime<Utc>,
) -> Result<usize> {
    let rows: Vec<Amount> = db::fetch_all(
        db,
        "UPDATE credit_holds SET status = 'expired', resolved_at = $1 \
         WHERE talent_id = $2 AND status = 'pending' AND expires_at <= $1 RETURNING amount",
        [at.into(), talent_id.into()],
    )
    .await?;
    let total: i64 = rows.iter().map(|r| r.amount).sum();
    if total > 0 {
        unhold(db, talent_id, 0, total, at).await?;
    }
    Ok(rows.len())
}

#[derive(FromQueryResult)]
struct Debt {
    id: Uuid,
    review_id: Option<Uuid>,
    reward_owed: i64,
}

/// Takes `amount` of a submission's reward back from its talent into the
/// rewards account, as a `clawback` transaction under a once-only
/// `reference`. The caller has the talent's account row and checked that
/// `amount` is available.
pub(super) async fn claw_back<C: ConnectionTrait>(
    db: &C,
    talent_id: Uuid,
    reference: String,
    memo: &str,
    amount: i64,
    actor: Actor,
    at: DateTime<Utc>,
) -> Result<Uuid> {
    let t = NewTransaction {
        kind: TransactionKind::Clawback,
        talent_id,
        amount,
        memo,
        reference: Some(reference),
        reverses_id: None,
        hold_id: None,
        actor,
    };
    let id = insert_transaction(db, &t, at)
        .await?
        .ok_or_else(|| DomainError::bug("a take-back's once-only reference was taken"))?;
    let moved = try_move(db, talent_id, -amount, 0)
        .await?
        .ok_or(DomainError::InsufficientCredits)?;
    let entries = [
        Entry::talent(&moved, -amount),
        Entry::system(super::system::REWARDS, amount),
    ];
    insert_entries(db, id, &entries, at).await?;
    let kind = TransactionKind::Clawback;
    announce(db, talent_id, id, kind, -amount, moved.posted).await?;
    Ok(id)
}

/// Pays what a talent owes (rewards of overturned submissions that could not
/// be taken back) from what is available now, oldest debt first, each
/// payment its own `clawback` transaction referring to the debt
/// (`clawback:<submission>:<rejecting review>:<owed before>`). Runs in the
/// transaction that brought credits in, after it moved (so locked) the
/// account; while anything is owed, nothing stays available.
pub(super) async fn collect_debts<C: ConnectionTrait>(
    db: &C,
    talent_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    loop {
        let account = talent_account(db, talent_id).await?;
        let available = account.posted - account.held;
        if account.owed <= 0 || available <= 0 {
            return Ok(());
        }
        let debt: Debt = db::fetch_one(
            db,
            "SELECT id, review_id, reward_owed FROM submissions \
             WHERE talent_id = $1 AND reward_owed > 0 ORDER BY id LIMIT 1",
            [talent_id.into()],
        )
        .await?
        .ok_or_else(|| DomainError::bug("an account owes what no submission does"))?;
        let amount = available.min(debt.reward_owed);
        let review = debt.review_id.map(|r| r.to_string()).unwrap_or_default();
        let reference = format!("clawback:{}:{review}:{}", debt.id, debt.reward_owed);
        let memo = format!("Owed reward of submission {} collected", debt.id);
        claw_back(db, talent_id, reference, &memo, amount, Actor::SYSTEM, at).await?;
        let settled = db::execute(
            db,
            "UPDATE submissions SET reward_owed = reward_owed - $1, reward_net = reward_net - $1 \
             WHERE id = $2 AND reward_owed = $3",
            [amount.into(), debt.id.into(), debt.reward_owed.into()],
        )
        .await?;
        if settled != 1 {
            return Err(DomainError::bug("a debt moved while its account was held"));
        }
        db::execute(
            db,
            "UPDATE ledger_accounts SET owed = owed - $1 WHERE talent_id = $2",
            [amount.into(), talent_id.into()],
        )
        .await?;
    }
}
