//! The monthly allowance: paid once per talent and month, whatever the keys,
//! the retries and the concurrency.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::time_of;
use crate::both_backends;
use crate::helpers::{Answer, Backend, TestApp, assert_problem, new_key};

both_backends! {
    async fn the_monthly_allowance_is_paid_once(app: &TestApp) {
        let talent = app.new_talent().await;
        let key = new_key();
        let res = app.claim_allowance(&talent, &key).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let first = res.text().await.unwrap();
        let t: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(t["kind"], "allowance");
        assert_eq!(t["amount"], json!(50), "tier 0 gets 50 by default");
        assert_eq!(t["balance_after"], json!(50));
        // The month the claim was paid in, not the month now: a run across a
        // UTC month change must not fail.
        let period = time_of(&t).format("%Y-%m").to_string();
        assert_eq!(t["reference"], json!(format!("allowance:{}:{period}", talent.id)));

        let res = app.claim_allowance(&talent, &new_key()).await;
        assert_problem(res, 409, "allowance_already_claimed").await;
        let res = app.claim_allowance(&talent, &key).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(res.text().await.unwrap(), first, "the retry replays the first answer");
        let res = app.post("/api/v1/credits/allowance", Some(&talent.token), &json!({})).await;
        assert_problem(res, 422, "validation_failed").await;
        assert_eq!(app.balance(&talent).await, (50, 0));

        // Ten claims at once with ten keys: one payment.
        let other = app.new_talent().await;
        let answers = join_all((0..10).map(|_| async {
            Answer::of(app.claim_allowance(&other, &new_key()).await).await
        }))
        .await;
        assert_eq!(answers.iter().filter(|a| a.status == 201).count(), 1, "{answers:?}");
        for a in answers.iter().filter(|a| a.status != 201) {
            a.assert_problem(409, "allowance_already_claimed");
        }
        assert_eq!(app.balance(&other).await, (50, 0));
        app.assert_books_balance().await;
    }
}
