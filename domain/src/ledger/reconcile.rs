//! The reconciliation check: proves from the raw rows that the books balance.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    AccessMode, DatabaseConnection, DatabaseTransaction, DbBackend, FromQueryResult,
    IsolationLevel, TransactionTrait,
};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::TransactionKind;
use super::rewards::submission_of;
use crate::db;
use crate::error::Result;
use crate::now;
use crate::policy::{Allowed, CheckLedger};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerCheck {
    /// True when no issue was found.
    pub ok: bool,
    pub checked_at: DateTime<Utc>,
    pub transactions: i64,
    pub entries: i64,
    pub talent_accounts: i64,
    pub open_holds: i64,
    /// Sum of every entry in the books; must be 0.
    pub book_total: i64,
    /// At most 100 issues per check are listed.
    pub issues: Vec<LedgerIssue>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LedgerIssue {
    /// `unbalanced_transaction`, `transaction_without_entries`, `entry_without_account`, `book_not_zero`,
    /// `balance_mismatch`, `version_mismatch`, `held_mismatch`, `negative_balance`,
    /// `hold_capture_mismatch`, `owed_mismatch`, `owed_while_available`,
    /// `reward_exceeded` (a submission's rewards paid minus taken back are
    /// more than its challenge's reward, or less than none),
    /// `reward_net_mismatch`, `owed_exceeds_reward_held`.
    pub check: String,
    #[schema(required = true)]
    pub subject_id: Option<Uuid>,
    #[schema(required = true)]
    pub expected: Option<i64>,
    #[schema(required = true)]
    pub actual: Option<i64>,
    pub detail: String,
}

/// Each check run as SQL: its name, what a row it finds means, the query.
const CHECKS: &[(&str, &str, &str)] = &[
    (
        "unbalanced_transaction",
        "the transaction's entries do not sum to zero",
        "SELECT transaction_id AS subject, CAST(0 AS BIGINT) AS expected, CAST(SUM(amount) AS BIGINT) AS actual \
         FROM ledger_entries GROUP BY transaction_id HAVING SUM(amount) <> 0 LIMIT 100",
    ),
    (
        "transaction_without_entries",
        "the transaction has no entries",
        "SELECT t.id AS subject, CAST(2 AS BIGINT) AS expected, CAST(0 AS BIGINT) AS actual FROM ledger_transactions t \
         WHERE NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id) LIMIT 100",
    ),
    (
        "entry_without_account",
        "the entry names an account that does not exist",
        "SELECT e.transaction_id AS subject, CAST(0 AS BIGINT) AS expected, e.amount AS actual FROM ledger_entries e \
         LEFT JOIN ledger_accounts a ON a.id = e.account_id WHERE a.id IS NULL LIMIT 100",
    ),
    (
        "balance_mismatch",
        "the cached posted balance differs from the sum of the account's entries",
        "SELECT a.id AS subject, CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) AS expected, a.posted AS actual \
         FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id WHERE a.kind = 'talent' \
         GROUP BY a.id, a.posted HAVING a.posted <> COALESCE(SUM(e.amount), 0) LIMIT 100",
    ),
    (
        "version_mismatch",
        "the account version differs from its number of entries",
        "SELECT a.id AS subject, CAST(COUNT(e.transaction_id) AS BIGINT) AS expected, a.version AS actual \
         FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id WHERE a.kind = 'talent' \
         GROUP BY a.id, a.version HAVING a.version <> COUNT(e.transaction_id) LIMIT 100",
    ),
    (
        "held_mismatch",
        "the held balance differs from the sum of the account's pending holds",
        "SELECT a.id AS subject, CAST(COALESCE(SUM(h.amount), 0) AS BIGINT) AS expected, a.held AS actual \
         FROM ledger_accounts a LEFT JOIN credit_holds h ON h.account_id = a.id AND h.status = 'pending' \
         WHERE a.kind = 'talent' GROUP BY a.id, a.held HAVING a.held <> COALESCE(SUM(h.amount), 0) LIMIT 100",
    ),
    (
        "negative_balance",
        "the account's available balance is negative",
        "SELECT id AS subject, CAST(0 AS BIGINT) AS expected, posted - held AS actual FROM ledger_accounts \
         WHERE kind = 'talent' AND (posted < 0 OR held < 0 OR posted - held < 0) LIMIT 100",
    ),
    (
        "hold_capture_mismatch",
        "the hold's status and its capture transaction disagree",
        "SELECT h.id AS subject, h.captured_amount AS expected, t.amount AS actual \
         FROM credit_holds h LEFT JOIN ledger_transactions t ON t.hold_id = h.id \
         WHERE (h.status = 'captured' AND (t.id IS NULL OR h.captured_amount IS NULL \
                OR t.amount <> h.captured_amount OR h.captured_amount > h.amount)) \
            OR (h.status <> 'captured' AND t.id IS NOT NULL) LIMIT 100",
    ),
    (
        "owed_mismatch",
        "the account's owed total differs from the sum of its submissions' debts",
        "SELECT a.id AS subject, CAST(COALESCE(SUM(s.reward_owed), 0) AS BIGINT) AS expected, a.owed AS actual \
         FROM ledger_accounts a LEFT JOIN submissions s ON s.talent_id = a.talent_id AND s.reward_owed <> 0 \
         WHERE a.kind = 'talent' GROUP BY a.id, a.owed HAVING a.owed <> COALESCE(SUM(s.reward_owed), 0) LIMIT 100",
    ),
    (
        "owed_while_available",
        "credits are available while the talent owes a reward",
        "SELECT id AS subject, CAST(0 AS BIGINT) AS expected, posted - held AS actual FROM ledger_accounts \
         WHERE kind = 'talent' AND owed > 0 AND posted - held > 0 LIMIT 100",
    ),
    (
        "owed_exceeds_reward_held",
        "the submission owes more of its reward than its talent holds (or less than none)",
        "SELECT id AS subject, reward_net AS expected, reward_owed AS actual FROM submissions \
         WHERE reward_owed < 0 OR reward_owed > reward_net LIMIT 100",
    ),
];

#[derive(FromQueryResult)]
struct Count {
    n: Option<i64>,
}

/// A row a check found wrong.
#[derive(FromQueryResult)]
struct Found {
    subject: Option<Uuid>,
    expected: Option<i64>,
    actual: Option<i64>,
}

/// Runs every check on one consistent snapshot of the books.
pub async fn check(
    db: &DatabaseConnection,
    _allowed: &Allowed<CheckLedger>,
) -> Result<LedgerCheck> {
    let txn = if db.get_database_backend() == DbBackend::Postgres {
        db.begin_with_config(
            Some(IsolationLevel::RepeatableRead),
            Some(AccessMode::ReadOnly),
        )
        .await?
    } else {
        db.begin().await?
    };
    let count = async |sql: &str| -> Result<i64> {
        let row: Option<Count> = db::fetch_one(&txn, sql, []).await?;
        Ok(row.and_then(|r| r.n).unwrap_or(0))
    };
    let transactions = count("SELECT COUNT(*) AS n FROM ledger_transactions").await?;
    let entries = count("SELECT COUNT(*) AS n FROM ledger_entries").await?;
    let talent_accounts =
        count("SELECT COUNT(*) AS n FROM ledger_accounts WHERE kind = 'talent'").await?;
    let open_holds =
        count("SELECT COUNT(*) AS n FROM credit_holds WHERE status = 'pending'").await?;
    let book_total =
        count("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS n FROM ledger_entries").await?;

    let mut issues = Vec::new();
    if book_total != 0 {
        issues.push(LedgerIssue {
            check: "book_not_zero".into(),
            subject_id: None,
            expected: Some(0),
            actual: Some(book_total),
            detail: "the sum of all entries is not zero".into(),
        });
    }
    for (name, detail, sql) in CHECKS {
        let found: Vec<Found> = db::fetch_all(&txn, sql, []).await?;
        for r in found {
            issues.push(LedgerIssue {
                check: (*name).into(),
                subject_id: r.subject,
                expected: r.expected,
                actual: r.actual,
                detail: (*detail).into(),
            });
        }
    }
    issues.extend(reward_issues(&txn).await?);
    txn.commit().await?;
    issues.truncate(100);
    Ok(LedgerCheck {
        ok: issues.is_empty(),
        checked_at: now(),
        transactions,
        entries,
        talent_accounts,
        open_holds,
        book_total,
        issues,
    })
}

/// A reward-related transaction, as the check reads it.
#[derive(FromQueryResult)]
struct RewardMove {
    kind: TransactionKind,
    reference: Option<String>,
    amount: i64,
    reversed_reference: Option<String>,
}

#[derive(FromQueryResult)]
struct RewardHeld {
    id: Uuid,
    reward_net: i64,
    reward: i64,
}

const REWARD_EXCEEDED: (&str, &str) = (
    "reward_exceeded",
    "the submission's rewards paid minus taken back exceed its challenge's reward (or are negative)",
);
const REWARD_NET_MISMATCH: (&str, &str) = (
    "reward_net_mismatch",
    "the submission's recorded reward held differs from its rewards paid minus taken back",
);

/// One reward per submission, net: from the raw ledger rows, each
/// submission's rewards paid minus its take-backs (reversals of its payments
/// and clawbacks) lie between 0 and its challenge's reward, and equal what
/// the submission records as held.
async fn reward_issues(txn: &DatabaseTransaction) -> Result<Vec<LedgerIssue>> {
    let moves: Vec<RewardMove> = db::fetch_all(
        txn,
        "SELECT t.kind, t.reference, t.amount, r.reference AS reversed_reference FROM ledger_transactions t \
         LEFT JOIN ledger_transactions r ON r.id = t.reverses_id \
         WHERE t.kind IN ('reward', 'clawback') OR (t.kind = 'reversal' AND r.kind = 'reward')",
        [],
    )
    .await?;
    let mut net: HashMap<Uuid, i64> = HashMap::new();
    for m in moves {
        let (submission, signed) = match m.kind {
            TransactionKind::Reward => (submission_of(m.reference.as_deref(), "reward:"), m.amount),
            TransactionKind::Clawback => (
                submission_of(m.reference.as_deref(), "clawback:"),
                -m.amount,
            ),
            TransactionKind::Reversal => (
                submission_of(m.reversed_reference.as_deref(), "reward:"),
                -m.amount,
            ),
            // Not selected: they never move a submission's reward.
            TransactionKind::Grant
            | TransactionKind::Allowance
            | TransactionKind::Spend
            | TransactionKind::Capture => (None, 0),
        };
        if let Some(s) = submission {
            *net.entry(s).or_default() += signed;
        }
    }
    let rows: Vec<RewardHeld> = db::fetch_all(
        txn,
        "SELECT s.id, s.reward_net, c.reward FROM submissions s JOIN challenges c ON c.id = s.challenge_id \
         WHERE s.reward_net <> 0 OR s.review_id IS NOT NULL",
        [],
    )
    .await?;
    let mut issues = Vec::new();
    let mut issue = |(check, detail): (&str, &str), subject: Uuid, expected: i64, actual: i64| {
        issues.push(LedgerIssue {
            check: check.into(),
            subject_id: Some(subject),
            expected: Some(expected),
            actual: Some(actual),
            detail: detail.into(),
        });
    };
    for s in rows {
        let paid = net.remove(&s.id).unwrap_or(0);
        if paid < 0 || paid > s.reward {
            issue(REWARD_EXCEEDED, s.id, s.reward, paid);
        }
        if paid != s.reward_net {
            issue(REWARD_NET_MISMATCH, s.id, paid, s.reward_net);
        }
    }
    // Rewards of submissions never reviewed (a reference may also name
    // something that is not a submission of this service: not checked).
    for (id, paid) in net {
        let exists =
            db::exists(txn, "SELECT 1 FROM submissions WHERE id = $1", [id.into()]).await?;
        if paid != 0 && exists {
            issue(REWARD_NET_MISMATCH, id, paid, 0);
        }
    }
    Ok(issues)
}
