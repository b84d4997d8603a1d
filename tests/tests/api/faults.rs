//! Values read from the database fail closed, and faults are never
//! remembered: a row the code cannot read signs nobody in and reads as no
//! state at all; a request that failed inside runs again when retried.

use reqwest::StatusCode;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Answer, Backend, TestApp, assert_problem, new_key};

async fn exec(app: &TestApp, sql: &str) {
    app.db.execute_unprepared(sql).await.unwrap();
}

/// Runs `sql` with `$1` bound to `id` (ids are stored natively per backend).
async fn exec_on(app: &TestApp, sql: &str, id: impl Into<sea_orm::Value>) {
    let stmt =
        sea_orm::Statement::from_sql_and_values(app.db.get_database_backend(), sql, [id.into()]);
    app.db.execute_raw(stmt).await.unwrap();
}

both_backends! {
    async fn an_unknown_account_status_signs_nobody_in(app: &TestApp) {
        let talent = app.new_talent().await;
        assert_eq!(app.me(Some(&talent.token)).await.status(), StatusCode::OK);
        exec_on(app, "UPDATE users SET status = 'frozen' WHERE id = $1", talent.id).await;

        // Neither the live token, nor a new sign-in, nor a refresh gets through.
        assert_problem(app.me(Some(&talent.token)).await, 500, "internal_error").await;
        assert_problem(app.login(&talent.email, crate::helpers::PASSWORD).await, 500, "internal_error").await;
        assert_problem(app.refresh(&talent.refresh).await, 500, "internal_error").await;

        // Known again: in.
        exec_on(app, "UPDATE users SET status = 'active' WHERE id = $1", talent.id).await;
        assert_eq!(app.me(Some(&talent.token)).await.status(), StatusCode::OK);
    }

    async fn an_unknown_role_signs_nobody_in(app: &TestApp) {
        let talent = app.new_talent().await;
        exec_on(app, r#"UPDATE users SET roles = '["talent","root"]' WHERE id = $1"#, talent.id).await;
        assert_problem(app.me(Some(&talent.token)).await, 500, "internal_error").await;
    }

    async fn an_unknown_hold_status_is_never_read_as_pending(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 100).await;
        let id = app.new_hold(&talent, 40, None).await;
        exec_on(app, "UPDATE credit_holds SET status = 'paused' WHERE id = $1", id.parse::<uuid::Uuid>().unwrap()).await;
        assert_problem(app.get_hold(&talent, &id).await, 500, "internal_error").await;
        // Nor can it be captured as if it were pending.
        let res = app.capture_hold(&talent, &id, &new_key(), None).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        // Nothing moved: still 40 held, no capture in the books, and the
        // ledger check names exactly the corrupted hold's account.
        assert_eq!(app.balance(&talent).await, (60, 40));
        let kinds: Vec<Value> = app.all_history(&talent, "").await.iter().map(|t| t["kind"].clone()).collect();
        assert_eq!(kinds, [json!("grant")]);
        let admin = app.new_admin().await;
        let report: Value = app.ledger_check(&admin).await.json().await.unwrap();
        let issues: Vec<(Value, Value, Value)> = report["issues"].as_array().unwrap().iter()
            .map(|i| (i["check"].clone(), i["expected"].clone(), i["actual"].clone()))
            .collect();
        assert_eq!(issues, [(json!("held_mismatch"), json!(0), json!(40))], "{report}");
    }

    async fn a_request_that_failed_inside_runs_again_when_retried_with_its_key(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 100).await;
        let key = new_key();
        // Break the books' table for a moment: the spend fails inside.
        exec(app, "ALTER TABLE ledger_entries RENAME TO ledger_entries_away").await;
        assert_problem(app.spend(&talent, &key, 30).await, 500, "internal_error").await;
        exec(app, "ALTER TABLE ledger_entries_away RENAME TO ledger_entries").await;

        // The failure was not stored under the key: the retry runs, once.
        let first = Answer::of(app.spend(&talent, &key, 30).await).await;
        assert_eq!(first.status, 201, "{first:?}");
        let again = Answer::of(app.spend(&talent, &key, 30).await).await;
        assert_eq!(again, first, "the second retry replays the first success, byte for byte");
        assert_eq!(app.balance(&talent).await, (70, 0));
        assert_eq!(first.json()["amount"], json!(-30));
        app.assert_books_balance().await;
    }
}

both_backends! {
    async fn with_the_database_gone_readyz_and_requests_answer_503(app: &TestApp) {
        let talent = app.new_talent().await;
        assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
        // The app's own pool (the test holds a handle to it), closed for good.
        app.db.close_by_ref().await.unwrap();

        // Only the status: the Health body of a 503 does not reach the client
        // (the error handler of the app replaces it with a problem document).
        assert_eq!(app.get("/readyz", None).await.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK, "the process is alive");
        for res in [
            app.me(Some(&talent.token)).await,
            app.login(&talent.email, crate::helpers::PASSWORD).await,
            app.spend(&talent, &new_key(), 1).await,
        ] {
            let retry_after = res.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
            assert!(retry_after.is_some_and(|s| s.parse::<u64>().is_ok_and(|n| n > 0)), "Retry-After");
            assert_problem(res, 503, "service_unavailable").await;
        }
    }
}
