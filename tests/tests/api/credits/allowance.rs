//! The monthly allowance: paid once per talent and month, whatever the keys,
//! the retries and the concurrency.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::time_of;
use crate::both_backends;
use crate::helpers::{Answer, Backend, TestApp, User, assert_problem, new_key};

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
        // Last month's claim, with the clock injected (half a day before
        // this month began).
        let now = chrono::Utc::now();
        let this_month_began = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, chrono::Datelike::year(&now), chrono::Datelike::month(&now), 1, 0, 0, 0).unwrap();
        let a_month_ago = this_month_began - chrono::Duration::hours(12);
        let first = claim_at(app, &talent, a_month_ago).await;
        let last_month = format!("allowance:{}:{}", talent.id, a_month_ago.format("%Y-%m"));
        assert_eq!(first.reference.as_deref(), Some(last_month.as_str()));
        // This month's is paid again, once.
        let res = app.claim_allowance(&talent, &new_key()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let second: Value = res.json().await.unwrap();
        assert_ne!(second["id"], json!(first.id));
        let this_month = format!("allowance:{}:{}", talent.id, time_of(&second).format("%Y-%m"));
        assert_ne!(this_month, last_month);
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

/// Claims `talent`'s allowance as of `at`: the domain's claim with its clock
/// injected (the API claims as of now).
async fn claim_at(
    app: &TestApp,
    talent: &User,
    at: chrono::DateTime<chrono::Utc>,
) -> kartel_domain::ledger::CreditTransaction {
    let allowed = crate::helpers::allowed(talent, kartel_domain::types::Role::Talent);
    let key =
        kartel_domain::idempotency::Idempotency::parse(format!("user:{}", talent.id), &new_key())
            .expect("a key");
    kartel_domain::ledger::claim_allowance_at(&app.db, &allowed, Some(&key), at)
        .await
        .expect("claimed")
}
