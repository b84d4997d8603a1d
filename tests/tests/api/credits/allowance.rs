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

/// The allowance policy amount of each tier, as the API lists them.
async fn policy_amounts(app: &TestApp) -> Vec<i64> {
    let policies: Value = app.allowance_policies().await.json().await.unwrap();
    policies
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(tier, p)| {
            assert_eq!(p["tier"], json!(tier));
            p["amount"].as_i64().unwrap()
        })
        .collect()
}

/// `YYYY-MM` of the month before the one `at` is in.
fn month_before(at: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Datelike as _;
    let (year, month) = if at.month() == 1 {
        (at.year() - 1, 12)
    } else {
        (at.year(), at.month() - 1)
    };
    format!("{year:04}-{month:02}")
}

both_backends! {
    async fn the_allowance_is_the_amount_of_the_headline_tier(app: &TestApp) {
        let amounts = policy_amounts(app).await;
        assert_eq!(amounts, [50, 100, 200, 400, 800, 1500]);
        for (tracks, headline) in [
            (vec![("preditor", 3)], 3),
            (vec![("preditor", 2), ("ai_generalist", 4)], 4),
            (vec![("data_engineer", 5), ("workflow_engineer", 1)], 5),
            (vec![("data_lora_specialist", 1)], 1),
        ] {
            let talent = app.new_talent().await;
            for (track, tier) in &tracks {
                app.enrol(talent.id, track, *tier).await;
            }
            let res = app.claim_allowance(&talent, &new_key()).await;
            assert_eq!(res.status(), StatusCode::CREATED, "{tracks:?}");
            let t: Value = res.json().await.unwrap();
            assert_eq!(t["amount"], json!(amounts[headline]), "{tracks:?}: {t}");
            assert!(t["memo"].as_str().unwrap().contains(&format!("(tier {headline})")), "{t}");
            assert_eq!(app.balance(&talent).await, (amounts[headline], 0));
            let me: Value = app.me(Some(&talent.token)).await.json().await.unwrap();
            assert_eq!(me["headline_tier"], json!(headline));
        }
        app.assert_books_balance().await;
    }

    async fn after_the_month_changes_the_allowance_is_paid_again(app: &TestApp) {
        let talent = app.new_talent().await;
        let res = app.claim_allowance(&talent, &new_key()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let first: Value = res.json().await.unwrap();
        assert_problem(app.claim_allowance(&talent, &new_key()).await, 409, "allowance_already_claimed").await;

        // As if that claim had been last month's: its reference names the month before.
        let last_month = format!("allowance:{}:{}", talent.id, month_before(time_of(&first)));
        let id: uuid::Uuid = first["id"].as_str().unwrap().parse().unwrap();
        let changed = app
            .exec_sql("UPDATE ledger_transactions SET reference = $1 WHERE id = $2", [last_month.clone().into(), id.into()])
            .await;
        assert_eq!(changed, 1);
        let res = app.claim_allowance(&talent, &new_key()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let second: Value = res.json().await.unwrap();
        assert_ne!(second["id"], first["id"]);
        let this_month = format!("allowance:{}:{}", talent.id, time_of(&second).format("%Y-%m"));
        assert_eq!(second["reference"], json!(this_month));
        assert_eq!(second["balance_after"], json!(100));
        assert_problem(app.claim_allowance(&talent, &new_key()).await, 409, "allowance_already_claimed").await;

        let history = app.all_history(&talent, "kind=allowance").await;
        let references: Vec<&Value> = history.iter().map(|t| &t["reference"]).collect();
        assert_eq!(references, [&json!(this_month), &json!(last_month)]);
        assert_eq!(app.balance(&talent).await, (100, 0));
        app.assert_books_balance().await;
    }
}
