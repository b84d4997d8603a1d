//! The books are append-only: a reversal, a capture, the hold sweeper and an
//! erasure add rows (or none) and never change or remove one. Each test takes
//! every row of `ledger_transactions` and `ledger_entries`, every column as
//! the database stores it, before the operation, and checks that the digest
//! of those same rows is unchanged after it.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sea_orm::FromQueryResult;
use serde_json::Value;
use uuid::Uuid;

use super::{body, id_of};
use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, assert_problem, new_key, review_spec};

/// Every ledger row: (table, primary key) → the whole row as text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Books(BTreeMap<(String, String), String>);

#[derive(FromQueryResult)]
struct BookRow {
    tbl: String,
    key: String,
    row: String,
}

#[derive(FromQueryResult)]
struct Column {
    name: String,
}

/// The two tables and the columns of their primary keys.
const TABLES: [(&str, &[&str]); 2] = [
    ("ledger_transactions", &["id"]),
    ("ledger_entries", &["transaction_id", "account_id"]),
];

impl Books {
    /// Every row of the books, read straight from the database: on
    /// PostgreSQL each row as its record text, on SQLite every column
    /// (listed by the schema, so a new column is included) `quote()`d.
    async fn read(app: &TestApp) -> Books {
        let mut selects = Vec::new();
        for (table, key) in TABLES {
            let select = if app.settings.is_sqlite() {
                let columns: Vec<Column> = kartel_domain::db::fetch_all(
                    &app.db,
                    &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
                    [],
                )
                .await
                .unwrap();
                assert!(columns.len() > key.len(), "{table} has columns");
                let row = columns
                    .iter()
                    .map(|c| format!("quote(\"{}\")", c.name))
                    .collect::<Vec<_>>()
                    .join(" || ',' || ");
                let key = key
                    .iter()
                    .map(|k| format!("hex(\"{k}\")"))
                    .collect::<Vec<_>>()
                    .join(" || ' ' || ");
                format!("SELECT '{table}' AS tbl, {key} AS key, {row} AS row FROM {table}")
            } else {
                let key = key
                    .iter()
                    .map(|k| format!("r.{k}::text"))
                    .collect::<Vec<_>>()
                    .join(" || ' ' || ");
                format!(
                    "SELECT '{table}'::text AS tbl, {key} AS key, r::text AS row FROM {table} r"
                )
            };
            selects.push(select);
        }
        let rows: Vec<BookRow> =
            kartel_domain::db::fetch_all(&app.db, &selects.join(" UNION ALL "), [])
                .await
                .unwrap();
        let books: BTreeMap<_, _> = rows.into_iter().map(|r| ((r.tbl, r.key), r.row)).collect();
        Books(books)
    }

    /// SHA-256 of the rows in (table, key) order.
    fn digest(&self) -> String {
        let text: String = self
            .0
            .iter()
            .map(|((t, k), row)| format!("{t} {k} {row}\n"))
            .collect();
        kartel_domain::secret::digest(&text)
    }

    /// The rows of `later` that have the keys of these rows.
    fn same_rows_in(&self, later: &Books) -> Books {
        Books(
            self.0
                .keys()
                .filter_map(|k| later.0.get_key_value(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    }

    /// How many rows of `table` `later` has that these have not.
    fn added_in(&self, later: &Books, table: &str) -> usize {
        later
            .0
            .keys()
            .filter(|k| k.0 == table && !self.0.contains_key(*k))
            .count()
    }

    fn count(&self, table: &str) -> usize {
        self.0.keys().filter(|k| k.0 == table).count()
    }
}

/// Fails, naming each changed or missing row, unless every row of `before`
/// is in `after` exactly as it was.
fn assert_earlier_rows_unchanged(before: &Books, after: &Books, what: &str) {
    let now = before.same_rows_in(after);
    if now.digest() == before.digest() {
        return;
    }
    let changes: Vec<String> = before
        .0
        .iter()
        .filter(|(k, row)| after.0.get(*k) != Some(*row))
        .map(|((t, k), row)| match after.0.get(&(t.clone(), k.clone())) {
            Some(new) => format!("{t} {k} changed:\n  was {row}\n  now {new}"),
            None => format!("{t} {k} removed: was {row}"),
        })
        .collect();
    panic!(
        "{what} changed earlier ledger rows (digest {} became {}):\n{}",
        before.digest(),
        now.digest(),
        changes.join("\n")
    );
}

/// Books with a bit of everything: for `talent` two grants, this month's
/// allowance, a spend, a hold captured in full, one in part (the rest
/// released), a released hold, a reward taken back by an overturn; for
/// `other` a grant and a reversed grant.
struct Busy {
    admin: User,
    talent: User,
    other: User,
    allowance: String,
    spend: String,
    other_grant: String,
}

async fn busy_books(app: &TestApp) -> Busy {
    let admin = app.new_admin().await;
    let manager = app.new_manager().await;
    let talent = app.new_talent().await;
    let other = app.new_talent().await;
    app.new_grant(&manager, talent.id, 500).await;
    app.new_grant(&manager, talent.id, 20).await;
    let other_grant = id_of(&app.new_grant(&manager, other.id, 200).await);
    let taken_back = id_of(&app.new_grant(&manager, other.id, 30).await);
    let res = app
        .reverse_transaction(&admin, &taken_back, &new_key())
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let res = app.claim_allowance(&talent, &new_key()).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let allowance = id_of(&body(res).await);
    let res = app.spend(&talent, &new_key(), 40).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let spend = id_of(&body(res).await);
    let whole = app.new_hold(&talent, 30, None).await;
    let res = app.capture_hold(&talent, &whole, &new_key(), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let part = app.new_hold(&talent, 50, None).await;
    let res = app.capture_hold(&talent, &part, &new_key(), Some(20)).await;
    assert_eq!(res.status(), StatusCode::OK);
    let released = app.new_hold(&talent, 25, None).await;
    let res = app.release_hold(&talent, &released, &new_key()).await;
    assert_eq!(res.status(), StatusCode::OK);

    // A reward of 10, paid and taken back by another manager's overturn.
    let (sid, accepted) = app.judged(&manager, &talent, None, None, true).await;
    let mut overturn = review_spec(2.0, 2.0, "rejected", 0);
    overturn["overturns"] = accepted["id"].clone();
    let res = app.review(&app.new_manager().await, &sid, &overturn).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let rejected: Value = res.json().await.unwrap();
    assert_eq!(rejected["reward_owed"], 0, "{rejected}");

    // 500 + 20 + 50 - 40 - 30 - 20 + 10 - 10.
    assert_eq!(app.balance(&talent).await, (480, 0));
    assert_eq!(app.balance(&other).await, (200, 0));
    app.ledger_ok(&admin).await;
    Busy {
        admin,
        talent,
        other,
        allowance,
        spend,
        other_grant,
    }
}

both_backends! {
    async fn reversals_change_no_earlier_ledger_row(app: &TestApp) {
        let b = busy_books(app).await;
        let before = Books::read(app).await;
        for id in [&b.spend, &b.allowance, &b.other_grant] {
            let res = app.reverse_transaction(&b.admin, id, &new_key()).await;
            assert_eq!(res.status(), StatusCode::CREATED, "reverse {id}");
        }
        // A refused reversal (already reversed) writes nothing either.
        assert_problem(app.reverse_transaction(&b.admin, &b.spend, &new_key()).await, 409, "already_reversed").await;
        let after = Books::read(app).await;
        assert_earlier_rows_unchanged(&before, &after, "three reversals");
        // Three new transactions of two entries each, nothing else.
        assert_eq!(before.added_in(&after, "ledger_transactions"), 3);
        assert_eq!(before.added_in(&after, "ledger_entries"), 6);
        assert_eq!(after.0.len(), before.0.len() + 9);
        assert_eq!(app.balance(&b.talent).await, (480 + 40 - 50, 0));
        assert_eq!(app.balance(&b.other).await, (0, 0));
        app.ledger_ok(&b.admin).await;
    }

    async fn captures_change_no_earlier_ledger_row(app: &TestApp) {
        let b = busy_books(app).await;
        let whole = app.new_hold(&b.talent, 100, None).await;
        let part = app.new_hold(&b.talent, 60, None).await;
        let before = Books::read(app).await;
        let res = app.capture_hold(&b.talent, &whole, &new_key(), None).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app.capture_hold(&b.talent, &part, &new_key(), Some(15)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(body(res).await["captured_amount"], 15);
        let after = Books::read(app).await;
        assert_earlier_rows_unchanged(&before, &after, "two captures");
        assert_eq!(before.added_in(&after, "ledger_transactions"), 2);
        assert_eq!(before.added_in(&after, "ledger_entries"), 4);
        assert_eq!(after.0.len(), before.0.len() + 6);
        assert_eq!(app.balance(&b.talent).await, (480 - 100 - 15, 0));
        app.ledger_ok(&b.admin).await;
    }

    #[settings(|s| s.hold_sweep_interval_seconds = 1)]
    async fn the_hold_sweeper_changes_no_earlier_ledger_row(app: &TestApp) {
        let b = busy_books(app).await;
        let before = Books::read(app).await;
        // A hold that expires in a second, which nobody reads: only the
        // background job releases it (a balance read would do it itself).
        let short: Uuid = app.new_hold(&b.talent, 70, Some(1)).await.parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let hold = loop {
            let h: HoldRow = app
                .query_sql("SELECT status, expires_at, resolved_at FROM credit_holds WHERE id = $1", [short.into()])
                .await
                .unwrap();
            if h.status != "pending" {
                break h;
            }
            assert!(Instant::now() < deadline, "the sweeper did not release the hold within 20 s: {h:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(hold.status, "expired", "{hold:?}");
        assert!(hold.resolved_at.unwrap() >= hold.expires_at, "{hold:?}");
        let after = Books::read(app).await;
        assert_earlier_rows_unchanged(&before, &after, "the hold sweeper");
        assert_eq!(app.balance(&b.talent).await, (480, 0));
        app.ledger_ok(&b.admin).await;
    }

    async fn an_erasure_changes_no_ledger_row(app: &TestApp) {
        let b = busy_books(app).await;
        let before = Books::read(app).await;
        // Four grants, a reversal, the allowance, a spend, two captures, the
        // reward and its take-back; two entries each.
        assert_eq!((before.count("ledger_transactions"), before.count("ledger_entries")), (11, 22));
        let res = app.erase_user(&b.admin, b.talent.id).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        assert_problem(app.me(Some(&b.talent.token)).await, 401, "session_revoked").await;
        let after = Books::read(app).await;
        assert_earlier_rows_unchanged(&before, &after, "the erasure");
        // Ledger rows carry no personal data: the books are untouched.
        assert_eq!(after.digest(), before.digest(), "the erasure added ledger rows");
        app.ledger_ok(&b.admin).await;
    }
}

#[derive(Debug, FromQueryResult)]
struct HoldRow {
    status: String,
    expires_at: chrono::DateTime<chrono::Utc>,
    resolved_at: Option<chrono::DateTime<chrono::Utc>>,
}
