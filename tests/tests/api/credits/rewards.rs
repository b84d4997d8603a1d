//! Challenge rewards (`kartel_domain::ledger::reward_submission`, which an
//! accepting review calls in its own transaction): an acceptance is paid
//! once, however often and however concurrently its payment is made, and
//! every call returns that one payment.

use futures::future::join_all;
use kartel_domain::caller::Actor;
use kartel_domain::ledger::{CreditTransaction, reward_submission};
use kartel_domain::types::Amount;
use serde_json::json;
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, TestApp};

fn amount(n: i64) -> Amount {
    Amount::parse("amount", n).unwrap()
}

/// Pays the reward in a transaction of its own, as a review will (the
/// function is documented to run inside the review's transaction).
async fn pay_in_a_transaction(
    app: &TestApp,
    talent: Uuid,
    submission: Uuid,
    review: Uuid,
    n: i64,
) -> CreditTransaction {
    let tx = kartel_domain::db::begin_write(&app.db).await.unwrap();
    let paid = reward_submission(&tx, talent, submission, review, amount(n), Actor::SYSTEM)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    paid
}

both_backends! {
    async fn a_submission_is_rewarded_once_and_every_call_returns_that_payment(app: &TestApp) {
        let talent = app.new_talent().await;

        // Twice in a row.
        let (submission, review) = (Uuid::now_v7(), Uuid::now_v7());
        let first = pay_in_a_transaction(app, talent.id, submission, review, 25).await;
        assert_eq!(serde_json::to_value(first.kind).unwrap(), json!("reward"));
        assert_eq!(first.amount, 25);
        assert_eq!(first.balance_after, 25);
        assert_eq!(first.reference.as_deref(), Some(format!("reward:{submission}:{review}").as_str()));
        let second = pay_in_a_transaction(app, talent.id, submission, review, 25).await;
        assert_eq!(serde_json::to_value(&second).unwrap(), serde_json::to_value(&first).unwrap(), "the first payment, as it was");
        assert_eq!(app.balance(&talent).await, (25, 0));

        // Ten at once, each in a transaction of its own.
        let (submission, review) = (Uuid::now_v7(), Uuid::now_v7());
        let paid = join_all((0..10).map(|_| pay_in_a_transaction(app, talent.id, submission, review, 40))).await;
        for p in &paid {
            assert_eq!(p.id, paid[0].id, "one payment: {paid:?}");
            assert_eq!(p.balance_after, 65);
        }
        assert_eq!(app.balance(&talent).await, (65, 0));

        let rewards = app.all_history(&talent, "kind=reward").await;
        assert_eq!(rewards.len(), 2, "{rewards:?}");
        assert_eq!(rewards[0]["id"], json!(paid[0].id));
        assert_eq!(rewards[1]["id"], json!(first.id));
        app.assert_books_balance().await;
    }
}
