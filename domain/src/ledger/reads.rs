//! Reading the books: a talent's balance and history, to the talent and staff.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, FromQueryResult};
use uuid::Uuid;

use super::posting::{collect_debts, expire_holds, talent_account};
use super::{Balance, CreditTransaction, TransactionKind};
use crate::caller::Caller;
use crate::db::{self, SqlBuilder};
use crate::entities::ledger_transactions;
use crate::error::{DomainError, Result};
use crate::now;
use crate::page::{self, Page};
use crate::policy;
use crate::types::Limit;

/// Available and held credits. Expired holds are released first, so what is
/// shown is what can be spent.
pub async fn balance(db: &DatabaseConnection, caller: &Caller, talent_id: Uuid) -> Result<Balance> {
    policy::may_read_private_of(caller, talent_id)?;
    let mut account = talent_account(db, talent_id).await?;
    if account.held > 0 {
        let at = now();
        let expired = db::exists(
            db,
            "SELECT 1 FROM credit_holds WHERE talent_id = $1 AND status = 'pending' AND expires_at <= $2 LIMIT 1",
            [talent_id.into(), at.into()],
        )
        .await?;
        if expired {
            let txn = db::begin_write(db).await?;
            expire_holds(&txn, talent_id, at).await?;
            txn.commit().await?;
            account = talent_account(db, talent_id).await?;
        }
    }
    // Anything owed is paid from what is available before it is shown (an
    // account can owe with credits available only from before debts were
    // collected).
    if account.owed > 0 && account.posted > account.held {
        let txn = db::begin_write(db).await?;
        collect_debts(&txn, talent_id, now()).await?;
        txn.commit().await?;
        account = talent_account(db, talent_id).await?;
    }
    Ok(Balance {
        talent_id,
        available: account.posted - account.held,
        held: account.held,
        owed: account.owed,
    })
}

#[derive(Debug, Default)]
pub struct HistoryFilter {
    pub kind: Option<TransactionKind>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// A history row: the transaction as it touched the talent's account.
#[derive(FromQueryResult)]
struct HistoryRow {
    id: Uuid,
    kind: TransactionKind,
    talent_id: Uuid,
    memo: String,
    reference: Option<String>,
    reverses_id: Option<Uuid>,
    hold_id: Option<Uuid>,
    created_at: DateTime<Utc>,
    amount: i64,
    balance_after: Option<i64>,
    account_version: i64,
}

impl From<HistoryRow> for CreditTransaction {
    fn from(r: HistoryRow) -> Self {
        Self {
            id: r.id,
            kind: r.kind,
            talent_id: r.talent_id,
            amount: r.amount,
            memo: r.memo,
            reference: r.reference,
            reverses_id: r.reverses_id,
            hold_id: r.hold_id,
            balance_after: r.balance_after.unwrap_or_default(),
            created_at: r.created_at,
        }
    }
}

const HISTORY_COLUMNS: &str = "SELECT t.id, t.kind, t.talent_id, t.memo, t.reference, t.reverses_id, \
     t.hold_id, t.created_at, e.amount, e.balance_after, e.account_version \
     FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id";

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
    policy::may_read_private_of(caller, talent_id)?;
    let before: Option<i64> = page::decode(cursor)?;
    let account = talent_account(db, talent_id).await?;
    let mut b = SqlBuilder::new(HISTORY_COLUMNS);
    let p = b.bind(account.id);
    b.push(&format!(" WHERE e.account_id = {p}"));
    if let Some(k) = f.kind {
        let p = b.bind(k);
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
    let rows: Vec<HistoryRow> = db::fetch_all(db, &b.sql, b.values).await?;
    Ok(
        Page::from_rows(rows, limit.get(), |r| r.account_version.to_string())
            .map(CreditTransaction::from),
    )
}

/// A transaction as it touched its talent's account.
pub(super) async fn transaction_for_talent<C: ConnectionTrait>(
    db: &C,
    t: &ledger_transactions::Model,
) -> Result<CreditTransaction> {
    let row: HistoryRow = db::fetch_one(
        db,
        &format!(
            "{HISTORY_COLUMNS} JOIN ledger_accounts a ON a.id = e.account_id \
             WHERE e.transaction_id = $1 AND a.talent_id = $2"
        ),
        [t.id.into(), t.talent_id.into()],
    )
    .await?
    .ok_or(DomainError::NotFound("transaction"))?;
    Ok(row.into())
}
