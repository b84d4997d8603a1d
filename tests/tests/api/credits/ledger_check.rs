// Corrupts the books on purpose: these tests UPDATE, INSERT and DELETE ledger
// rows behind the ledger's back so that each detector of the check has
// something to find. No other test may change a ledger row (the books are
// append-only: `append_only.rs`).

//! The reconciliation check: it must notice books that were changed behind
//! the ledger's back, each of its detectors on its own corruption.

use reqwest::StatusCode;
use sea_orm::FromQueryResult;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{body, id_of};
use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, new_key};

both_backends! {
    async fn the_ledger_check_notices_corrupted_books(app: &TestApp) {
        let talent = app.new_talent().await;
        let admin = app.new_admin().await;
        app.fund(talent.id, 100).await;
        app.ledger_ok(&admin).await;
        kartel_domain::db::execute(
            &app.db,
            "UPDATE ledger_accounts SET posted = posted + 7, held = held + 3, version = version + 1 WHERE talent_id = $1",
            [talent.id.into()],
        )
        .await
        .unwrap();
        let res = app.ledger_check(&admin).await;
        assert_eq!(res.status(), StatusCode::OK);
        let report = body(res).await;
        assert_eq!(report["ok"], json!(false), "{report}");
        let issue = |check: &str| {
            report["issues"].as_array().unwrap().iter().find(|i| i["check"] == check).cloned().unwrap_or_else(|| panic!("no {check}: {report}"))
        };
        let posted = issue("balance_mismatch");
        assert_eq!((posted["expected"].clone(), posted["actual"].clone()), (json!(100), json!(107)));
        let held = issue("held_mismatch");
        assert_eq!((held["expected"].clone(), held["actual"].clone()), (json!(0), json!(3)));
        let version = issue("version_mismatch");
        assert_eq!((version["expected"].clone(), version["actual"].clone()), (json!(1), json!(2)));
        assert_eq!(report["issues"].as_array().unwrap().len(), 3, "{report}");
    }
}

/// An issue as the report names it: check, subject, expected, actual.
type Issue = (String, Option<String>, Option<i64>, Option<i64>);

fn issue(check: &str, subject: Option<Uuid>, expected: i64, actual: i64) -> Issue {
    (
        check.to_owned(),
        subject.map(|s| s.to_string()),
        Some(expected),
        Some(actual),
    )
}

/// Runs the check and asserts it reports exactly `expected` (in any order).
async fn assert_reports(
    app: &TestApp,
    admin: &User,
    what: &str,
    mut expected: Vec<Issue>,
) -> Value {
    let res = app.ledger_check(admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    let report = body(res).await;
    assert_eq!(report["ok"], json!(false), "{what}: {report}");
    let mut found: Vec<Issue> = report["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert!(
                i["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{what}: {i}"
            );
            (
                i["check"].as_str().unwrap().to_owned(),
                i["subject_id"].as_str().map(str::to_owned),
                i["expected"].as_i64(),
                i["actual"].as_i64(),
            )
        })
        .collect();
    found.sort();
    expected.sort();
    assert_eq!(found, expected, "{what}: {report}");
    report
}

#[derive(Debug, FromQueryResult)]
struct AccountRow {
    id: Uuid,
    posted: i64,
    held: i64,
    version: i64,
}

/// Clean books to corrupt: one talent with two grants (100 and 50), a
/// pending hold of 40 and a hold of 30 captured for 20.
struct Books {
    admin: User,
    talent: User,
    first: Uuid,
    second: Uuid,
    pending: Uuid,
    captured: Uuid,
    account: Uuid,
}

async fn clean_books(app: &TestApp) -> Books {
    let admin = app.new_admin().await;
    let manager = app.new_manager().await;
    let talent = app.new_talent().await;
    let first = id_of(&app.new_grant(&manager, talent.id, 100).await);
    let second = id_of(&app.new_grant(&manager, talent.id, 50).await);
    let pending = app.new_hold(&talent, 40, None).await;
    let captured = app.new_hold(&talent, 30, None).await;
    let res = app
        .capture_hold(&talent, &captured, &new_key(), Some(20))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.balance(&talent).await, (90, 40));
    app.ledger_ok(&admin).await;
    let account: AccountRow = app
        .query_sql(
            "SELECT id, posted, held, version FROM ledger_accounts WHERE talent_id = $1",
            [talent.id.into()],
        )
        .await
        .unwrap();
    assert_eq!(
        (account.posted, account.held, account.version),
        (130, 40, 3),
        "{account:?}"
    );
    Books {
        admin,
        talent,
        first: first.parse().unwrap(),
        second: second.parse().unwrap(),
        pending: pending.parse().unwrap(),
        captured: captured.parse().unwrap(),
        account: account.id,
    }
}

/// Changes a talent account's columns (`$1` the amount, `$2` the talent).
fn talent_account(set: &str) -> String {
    format!("UPDATE ledger_accounts SET {set} WHERE talent_id = $2")
}

/// Moves the system side of a transaction's entries by `$1`.
const SYSTEM_ENTRY: &str =
    "UPDATE ledger_entries SET amount = amount + $1 WHERE transaction_id = $2 AND account_id = $3";
const GRANTS: Uuid = kartel_domain::ledger::system::GRANTS;

both_backends! {
    async fn the_balance_version_held_and_capture_detectors_each_report_their_corruption(app: &TestApp) {
        let b = clean_books(app).await;
        // The cached posted balance, the version and what is held, each on its own.
        for (set, undo, check, expected, actual) in [
            ("posted = posted + $1", "posted = posted - $1", "balance_mismatch", 130, 137),
            ("version = version + $1", "version = version - $1", "version_mismatch", 3, 10),
            ("held = held + $1", "held = held - $1", "held_mismatch", 40, 47),
        ] {
            assert_eq!(app.exec_sql(&talent_account(set), [7i64.into(), b.talent.id.into()]).await, 1);
            assert_reports(app, &b.admin, check, vec![issue(check, Some(b.account), expected, actual)]).await;
            app.exec_sql(&talent_account(undo), [7i64.into(), b.talent.id.into()]).await;
            app.ledger_ok(&b.admin).await;
        }

        // A captured hold whose amount disagrees with its capture transaction.
        let captured_amount = "UPDATE credit_holds SET captured_amount = captured_amount + $1 WHERE id = $2";
        assert_eq!(app.exec_sql(captured_amount, [(-1i64).into(), b.captured.into()]).await, 1);
        assert_reports(app, &b.admin, "capture", vec![issue("hold_capture_mismatch", Some(b.captured), 19, 20)]).await;
        app.exec_sql(captured_amount, [1i64.into(), b.captured.into()]).await;
        app.ledger_ok(&b.admin).await;
        // A released hold that has a capture transaction.
        let status = "UPDATE credit_holds SET status = $1 WHERE id = $2";
        app.exec_sql(status, ["released".into(), b.captured.into()]).await;
        assert_reports(app, &b.admin, "released with a capture", vec![issue("hold_capture_mismatch", Some(b.captured), 20, 20)]).await;
        app.exec_sql(status, ["captured".into(), b.captured.into()]).await;
        app.ledger_ok(&b.admin).await;
    }
}

both_backends! {
    async fn the_entry_transaction_overdraft_and_book_detectors_each_report_their_corruption(app: &TestApp) {
    let b = clean_books(app).await;

    // Two transactions out of balance, in opposite directions: the book still sums to zero.
    app.exec_sql(SYSTEM_ENTRY, [5i64.into(), b.first.into(), GRANTS.into()])
        .await;
    app.exec_sql(
        SYSTEM_ENTRY,
        [(-5i64).into(), b.second.into(), GRANTS.into()],
    )
    .await;
    let report = assert_reports(
        app,
        &b.admin,
        "unbalanced",
        vec![
            issue("unbalanced_transaction", Some(b.first), 0, 5),
            issue("unbalanced_transaction", Some(b.second), 0, -5),
        ],
    )
    .await;
    assert_eq!(report["book_total"], json!(0));
    app.exec_sql(
        SYSTEM_ENTRY,
        [(-5i64).into(), b.first.into(), GRANTS.into()],
    )
    .await;
    app.exec_sql(SYSTEM_ENTRY, [5i64.into(), b.second.into(), GRANTS.into()])
        .await;
    app.ledger_ok(&b.admin).await;

    // Credits from nowhere: the book no longer sums to zero (and that transaction is unbalanced).
    app.exec_sql(SYSTEM_ENTRY, [5i64.into(), b.first.into(), GRANTS.into()])
        .await;
    let report = assert_reports(
        app,
        &b.admin,
        "book",
        vec![
            ("book_not_zero".to_owned(), None, Some(0), Some(5)),
            issue("unbalanced_transaction", Some(b.first), 0, 5),
        ],
    )
    .await;
    assert_eq!(report["book_total"], json!(5));
    app.exec_sql(
        SYSTEM_ENTRY,
        [(-5i64).into(), b.first.into(), GRANTS.into()],
    )
    .await;
    app.ledger_ok(&b.admin).await;

    // A transaction row with no entries at all.
    let orphan = Uuid::now_v7();
    app.exec_sql(
        "INSERT INTO ledger_transactions (id, kind, talent_id, amount, memo, reference, reverses_id, hold_id, actor_kind, actor_id, created_at) \
         VALUES ($1, 'grant', $2, 10, 'no entries', NULL, NULL, NULL, 'system', NULL, $3)",
        [orphan.into(), b.talent.id.into(), chrono::Utc::now().into()],
    )
    .await;
    assert_reports(
        app,
        &b.admin,
        "no entries",
        vec![issue("transaction_without_entries", Some(orphan), 2, 0)],
    )
    .await;
    app.exec_sql(
        "DELETE FROM ledger_transactions WHERE id = $1",
        [orphan.into()],
    )
    .await;
    app.ledger_ok(&b.admin).await;

    // An entry moved onto an account that does not exist (nothing else changes).
    let ghost = Uuid::now_v7();
    let move_entry =
        "UPDATE ledger_entries SET account_id = $1 WHERE transaction_id = $2 AND account_id = $3";
    assert_eq!(
        app.exec_sql(move_entry, [ghost.into(), b.first.into(), GRANTS.into()])
            .await,
        1
    );
    assert_reports(
        app,
        &b.admin,
        "no account",
        vec![issue("entry_without_account", Some(b.first), 0, -100)],
    )
    .await;
    app.exec_sql(move_entry, [GRANTS.into(), b.first.into(), ghost.into()])
        .await;
    app.ledger_ok(&b.admin).await;

    // More held than posted, the hold and the held balance agreeing: only the overdraft shows.
    let more: i64 = 130 - 40 + 10;
    let hold_amount = "UPDATE credit_holds SET amount = amount + $1 WHERE id = $2";
    app.exec_sql(hold_amount, [more.into(), b.pending.into()])
        .await;
    app.exec_sql(
        &talent_account("held = held + $1"),
        [more.into(), b.talent.id.into()],
    )
    .await;
    assert_reports(
        app,
        &b.admin,
        "overdraft",
        vec![issue("negative_balance", Some(b.account), 0, -10)],
    )
    .await;
    app.exec_sql(hold_amount, [(-more).into(), b.pending.into()])
        .await;
    app.exec_sql(
        &talent_account("held = held - $1"),
        [more.into(), b.talent.id.into()],
    )
    .await;
    app.ledger_ok(&b.admin).await;
    }
}
