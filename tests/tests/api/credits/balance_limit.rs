//! The balance limit: no talent's posted balance goes beyond `MAX_BALANCE`
//! (10¹² credits, far from any overflow). Credits up to it are accepted,
//! one more is refused as 409 `balance_limit_exceeded`, whatever brings it.

use futures::StreamExt;
use kartel_domain::ledger::MAX_BALANCE;
use kartel_domain::types::Amount;
use reqwest::StatusCode;
use serde_json::json;

use super::{body, id_of};
use crate::both_backends;
use crate::helpers::{Answer, Backend, TestApp, assert_problem, new_key};

both_backends! {
    async fn credits_reach_the_balance_limit_and_not_one_more(app: &TestApp) {
        let manager = app.new_manager().await;
        let admin = app.new_admin().await;
        let talent = app.new_talent().await;
        // 999 grants of the largest amount one request may move, eight at a time…
        let statuses: Vec<u16> = futures::stream::iter(0..999)
            .map(|_| async { app.grant(&manager, &new_key(), talent.id, Amount::MAX).await.status().as_u16() })
            .buffer_unordered(8)
            .collect()
            .await;
        assert!(statuses.iter().all(|s| *s == 201), "{:?}", statuses.iter().filter(|s| **s != 201).collect::<Vec<_>>());
        // …then up to the limit exactly.
        let t = app.new_grant(&manager, talent.id, Amount::MAX - 1).await;
        assert_eq!(t["balance_after"], json!(MAX_BALANCE - 1));
        let t = app.new_grant(&manager, talent.id, 1).await;
        assert_eq!(t["balance_after"], json!(MAX_BALANCE));
        assert_eq!(app.balance(&talent).await, (MAX_BALANCE, 0));

        // One more credit is refused, and the refusal is what its key answers.
        let key = new_key();
        let refused = Answer::of(app.grant(&manager, &key, talent.id, 1).await).await;
        refused.assert_problem(409, "balance_limit_exceeded");
        assert_eq!(Answer::of(app.grant(&manager, &key, talent.id, 1).await).await, refused);
        assert_problem(app.claim_allowance(&talent, &new_key()).await, 409, "balance_limit_exceeded").await;
        // Held credits are still posted: a hold makes no room.
        let hold = app.new_hold(&talent, 500, None).await;
        assert_problem(app.grant(&manager, &new_key(), talent.id, 1).await, 409, "balance_limit_exceeded").await;
        let res = app.release_hold(&talent, &hold, &new_key()).await;
        assert_eq!(res.status(), StatusCode::OK);
        // A refund by reversal is credit too.
        let res = app.spend(&talent, &new_key(), 10).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let spend = body(res).await;
        app.new_grant(&manager, talent.id, 10).await;
        assert_problem(app.reverse_transaction(&admin, &id_of(&spend), &new_key()).await, 409, "balance_limit_exceeded").await;
        // A reward at the limit is refused and rolls back with its transaction.
        let (submission, review) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let tx = kartel_domain::db::begin_write(&app.db).await.unwrap();
        let err = kartel_domain::ledger::reward_submission(&tx, talent.id, submission, review, Amount::parse("amount", 1).unwrap(), kartel_domain::caller::Actor::SYSTEM)
            .await
            .expect_err("over the limit");
        assert_eq!(err.code(), "balance_limit_exceeded");
        drop(tx);

        assert_eq!(app.balance(&talent).await, (MAX_BALANCE, 0));
        assert_eq!(app.all_history(&talent, "kind=grant").await.len(), 1_002);
        assert!(app.all_history(&talent, "kind=reversal").await.is_empty());
        assert!(app.all_history(&talent, "kind=allowance").await.is_empty());
        // Room again: the reward is paid.
        let res = app.spend(&talent, &new_key(), 1).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let tx = kartel_domain::db::begin_write(&app.db).await.unwrap();
        let paid = kartel_domain::ledger::reward_submission(&tx, talent.id, submission, review, Amount::parse("amount", 1).unwrap(), kartel_domain::caller::Actor::SYSTEM)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(paid.balance_after, MAX_BALANCE);
        app.ledger_ok(&admin).await;
    }
}
