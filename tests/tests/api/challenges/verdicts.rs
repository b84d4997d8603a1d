//! Verdicts that hold: a submission's reward is paid once, net, through any
//! chain of overturns; what cannot be taken back is owed and collected from
//! the talent's next incoming credits (a hold cannot dodge it); nobody
//! refunds themselves; a reversed reward does not jam a verdict; suspended
//! talents' work is not accepted nor paid; judging ends when judging is
//! done; the ledger check finds a submission paid more than its reward.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{
    Backend, TestApp, User, assert_problem, challenge_spec, new_key, review_spec,
};

/// An open challenge (reward 10) with one submission by a new talent, judging.
async fn judged(app: &TestApp, manager: &User) -> (String, String, User) {
    super::reviews::judged_submission(app, manager, &challenge_spec()).await
}

/// Reviews `sid` as `by`, overturning `current` (the current review's id, if
/// any); returns the new review.
async fn decide(
    app: &TestApp,
    by: &User,
    sid: &str,
    current: Option<&Value>,
    decision: &str,
) -> Value {
    let score = if decision == "accepted" { 8.0 } else { 2.0 };
    let mut body = review_spec(score, score, decision, 1);
    if let Some(c) = current {
        body["overturns"] = c["id"].clone();
    }
    let res = app.review(by, sid, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{decision}");
    res.json().await.unwrap()
}

/// The talent's rewards minus take-backs of one submission, from their history.
async fn net_reward(app: &TestApp, talent: &User, sid: &str) -> i64 {
    super::verdict_walk::net_reward(&app.all_history(talent, "").await, sid)
}

both_backends! {
    async fn the_chain_of_overturns_from_outside_pays_the_reward_once(app: &TestApp) {
        let (m1, m2) = (app.new_manager().await, app.new_manager().await);
        let (_, sid, talent) = judged(app, &m1).await;
        let r1 = decide(app, &m1, &sid, None, "accepted").await;
        assert_eq!(app.balance(&talent).await, (10, 0));
        // The talent holds all of it; an overturn cannot take it back now.
        let hold = app.new_hold(&talent, 10, Some(600)).await;
        let r2 = decide(app, &m2, &sid, Some(&r1), "rejected").await;
        assert_eq!(r2["reward_owed"], 10);
        assert!(r2["reversal_transaction_id"].is_null());
        assert_eq!(app.balance(&talent).await, (0, 10));
        assert_eq!(app.owed(&talent).await, 10);
        // A new hold cannot dodge the debt: nothing is available while it is owed.
        assert_problem(app.create_hold(&talent, &new_key(), 1, None).await, 409, "insufficient_credits").await;
        // Releasing the hold pays the debt first, in the same transaction.
        assert_eq!(app.release_hold(&talent, &hold, &new_key()).await.status(), StatusCode::OK);
        assert_eq!(app.balance(&talent).await, (0, 0));
        assert_eq!(app.owed(&talent).await, 0);
        let collected = app.all_history(&talent, "kind=clawback").await;
        assert_eq!(collected.len(), 1, "{collected:?}");
        assert_eq!(collected[0]["amount"], -10);
        assert!(collected[0]["reference"].as_str().unwrap().starts_with(&format!("clawback:{sid}:")));
        // Accept, reject, accept: paid back, taken back, paid back — once each.
        let r3 = decide(app, &m1, &sid, Some(&r2), "accepted").await;
        assert!(r3["reward_transaction_id"].is_string());
        assert_eq!(app.balance(&talent).await, (10, 0));
        let r4 = decide(app, &m2, &sid, Some(&r3), "rejected").await;
        assert!(r4["reversal_transaction_id"].is_string());
        assert_eq!(r4["reward_owed"], 0);
        assert_eq!(app.balance(&talent).await, (0, 0));
        let r5 = decide(app, &m1, &sid, Some(&r4), "accepted").await;
        assert_eq!(app.balance(&talent).await, (10, 0));
        assert_eq!(net_reward(app, &talent, &sid).await, 10);
        // A re-score that stays accepted moves nothing.
        decide(app, &m2, &sid, Some(&r5), "accepted").await;
        assert_eq!(app.balance(&talent).await, (10, 0));
        assert_eq!(net_reward(app, &talent, &sid).await, 10);
        app.assert_books_balance().await;
    }

    async fn what_is_owed_is_collected_from_grants_and_rewards_and_shown(app: &TestApp) {
        let (m1, m2) = (app.new_manager().await, app.new_manager().await);
        let (_, sid, talent) = judged(app, &m1).await;
        let r1 = decide(app, &m1, &sid, None, "accepted").await;
        assert_eq!(app.spend(&talent, &new_key(), 7).await.status(), StatusCode::CREATED);
        // 3 are left: taken back now, 7 owed.
        let r2 = decide(app, &m2, &sid, Some(&r1), "rejected").await;
        assert_eq!(r2["reward_owed"], 7);
        assert!(r2["reversal_transaction_id"].is_string());
        let me: Value = app.my_credits(&talent).await.json().await.unwrap();
        assert_eq!((me["available"].clone(), me["held"].clone(), me["owed"].clone()), (json!(0), json!(0), json!(7)));
        // Staff see it too.
        let staff: Value = app.talent_credits(&m1, talent.id).await.json().await.unwrap();
        assert_eq!(staff["owed"], 7);
        // A grant of 4 pays 4 of it; nothing is available yet.
        app.new_grant(&m1, talent.id, 4).await;
        assert_eq!(app.balance(&talent).await, (0, 0));
        assert_eq!(app.owed(&talent).await, 3);
        assert_problem(app.spend(&talent, &new_key(), 1).await, 409, "insufficient_credits").await;
        // Another challenge's reward pays the rest; what is left is available.
        let other = app.open_challenge(&m1, &challenge_spec()).await;
        let s2 = app.new_submission(&talent, &other, &format!("https://x.example/{}.png", new_key())).await;
        app.transition(&m1, &other, "judging").await;
        decide(app, &m1, &s2, None, "accepted").await;
        assert_eq!(app.balance(&talent).await, (7, 0));
        assert_eq!(app.owed(&talent).await, 0);
        // Each collection is its own transaction referring to the debt.
        let collected = app.all_history(&talent, "kind=clawback").await;
        let amounts: Vec<i64> = collected.iter().map(|t| t["amount"].as_i64().unwrap()).collect();
        assert_eq!(amounts, [-3, -4, -3], "{collected:?}");
        assert!(collected.iter().all(|t| t["reference"].as_str().unwrap().starts_with(&format!("clawback:{sid}:"))));
        assert_eq!(net_reward(app, &talent, &sid).await, 0);
        // Accepted again: the submission is paid its whole reward again, once.
        let r3: Value = app.reviews(&m1, &sid).await.json().await.unwrap();
        let current = r3["items"].as_array().unwrap().last().unwrap().clone();
        decide(app, &m1, &sid, Some(&current), "accepted").await;
        assert_eq!(net_reward(app, &talent, &sid).await, 10);
        assert_eq!(app.balance(&talent).await, (17, 0));
        app.assert_books_balance().await;
    }

    async fn accepting_again_while_owed_cancels_the_debt_and_pays_what_was_collected(app: &TestApp) {
        let (m1, m2) = (app.new_manager().await, app.new_manager().await);
        let (_, sid, talent) = judged(app, &m1).await;
        let r1 = decide(app, &m1, &sid, None, "accepted").await;
        assert_eq!(app.spend(&talent, &new_key(), 10).await.status(), StatusCode::CREATED);
        let r2 = decide(app, &m2, &sid, Some(&r1), "rejected").await;
        assert_eq!(app.owed(&talent).await, 10);
        app.new_grant(&m1, talent.id, 6).await;
        assert_eq!((app.balance(&talent).await, app.owed(&talent).await), ((0, 0), 4));
        // Accepted: the 4 still owed are forgiven, the 6 collected are paid back.
        let r3 = decide(app, &m1, &sid, Some(&r2), "accepted").await;
        assert!(r3["reward_transaction_id"].is_string());
        assert_eq!((app.balance(&talent).await, app.owed(&talent).await), ((6, 0), 0));
        assert_eq!(net_reward(app, &talent, &sid).await, 10);
        app.assert_books_balance().await;
    }

    async fn nobody_reverses_a_transaction_of_their_own_credits(app: &TestApp) {
        let (admin, other_admin) = (app.new_admin().await, app.new_admin().await);
        app.fund(admin.id, 50).await;
        let spent: Value = app.spend(&admin, &new_key(), 20).await.json().await.unwrap();
        let spend_id = spent["id"].as_str().unwrap();
        assert_problem(app.reverse_transaction(&admin, spend_id, &new_key()).await, 403, "forbidden").await;
        // Nor a capture of their own hold.
        let hold = app.new_hold(&admin, 10, None).await;
        let captured: Value = app.capture_hold(&admin, &hold, &new_key(), None).await.json().await.unwrap();
        let capture_id = captured["capture_transaction_id"].as_str().unwrap();
        assert_problem(app.reverse_transaction(&admin, capture_id, &new_key()).await, 403, "forbidden").await;
        assert_eq!(app.balance(&admin).await, (20, 0));
        // Another admin may.
        assert_eq!(app.reverse_transaction(&other_admin, spend_id, &new_key()).await.status(), StatusCode::CREATED);
        assert_eq!(app.reverse_transaction(&other_admin, capture_id, &new_key()).await.status(), StatusCode::CREATED);
        assert_eq!(app.balance(&admin).await, (50, 0));
        app.assert_books_balance().await;
    }

    async fn a_reversed_reward_does_not_jam_the_verdict(app: &TestApp) {
        let (m1, m2, admin) = (app.new_manager().await, app.new_manager().await, app.new_admin().await);
        let (_, sid, talent) = judged(app, &m1).await;
        let r1 = decide(app, &m1, &sid, None, "accepted").await;
        let paid = r1["reward_transaction_id"].as_str().unwrap().to_owned();
        assert_eq!(app.reverse_transaction(&admin, &paid, &new_key()).await.status(), StatusCode::CREATED);
        assert_eq!(app.balance(&talent).await, (0, 0));
        // Rejected: it stands, with nothing left to take back and nothing owed.
        let r2 = decide(app, &m2, &sid, Some(&r1), "rejected").await;
        assert!(r2["reversal_transaction_id"].is_null());
        assert_eq!(r2["reward_owed"], 0);
        assert_eq!((app.balance(&talent).await, app.owed(&talent).await), ((0, 0), 0));
        // Accepted again: paid once.
        let r3 = decide(app, &m1, &sid, Some(&r2), "accepted").await;
        assert_eq!(app.balance(&talent).await, (10, 0));
        assert_eq!(net_reward(app, &talent, &sid).await, 10);
        // A take-back is not reversible, and a reward taken back is not reversed again.
        let r4 = decide(app, &m2, &sid, Some(&r3), "rejected").await;
        let taken = r4["reversal_transaction_id"].as_str().unwrap();
        assert_problem(app.reverse_transaction(&admin, taken, &new_key()).await, 409, "reversal_not_reversible").await;
        let repaid = r3["reward_transaction_id"].as_str().unwrap();
        assert_problem(app.reverse_transaction(&admin, repaid, &new_key()).await, 409, "already_reversed").await;
        assert_eq!(app.balance(&talent).await, (0, 0));
        app.assert_books_balance().await;
    }

    async fn a_suspended_talents_work_is_not_accepted_nor_paid_but_can_be_rejected(app: &TestApp) {
        let (m1, m2, admin) = (app.new_manager().await, app.new_manager().await, app.new_admin().await);
        let (_, sid, talent) = judged(app, &m1).await;
        let suspend = app.update_user(&admin, talent.id, &json!({"status": "suspended"})).await;
        assert_eq!(suspend.status(), StatusCode::OK);
        assert_problem(app.review(&m1, &sid, &review_spec(8.0, 8.0, "accepted", 1)).await, 422, "account_not_active").await;
        let balance: Value = app.talent_credits(&m1, talent.id).await.json().await.unwrap();
        assert_eq!(balance["available"], 0);
        // Reactivated: accepted and paid.
        app.update_user(&admin, talent.id, &json!({"status": "active"})).await;
        let r1 = decide(app, &m1, &sid, None, "accepted").await;
        // Suspended again: an overturn to rejected still takes the reward back.
        app.update_user(&admin, talent.id, &json!({"status": "suspended"})).await;
        decide(app, &m2, &sid, Some(&r1), "rejected").await;
        let balance: Value = app.talent_credits(&m1, talent.id).await.json().await.unwrap();
        assert_eq!((balance["available"].clone(), balance["owed"].clone()), (json!(0), json!(0)));
        app.assert_books_balance().await;
    }

    async fn judging_ends_when_every_entry_has_a_decision_or_the_deadline_passed(app: &TestApp) {
        let (manager, admin) = (app.new_manager().await, app.new_admin().await);
        let mut spec = challenge_spec();
        spec["prizes"] = json!([100]);
        let cid = app.open_challenge(&manager, &spec).await;
        let (a, b, c) = (app.new_talent().await, app.new_talent().await, app.new_talent().await);
        let sa = app.new_submission(&a, &cid, "https://x.example/a.png").await;
        let sb = app.new_submission(&b, &cid, "https://x.example/b.png").await;
        let _sc = app.new_submission(&c, &cid, "https://x.example/c.png").await;
        app.transition(&manager, &cid, "judging").await;
        let body = assert_problem(app.transition(&manager, &cid, "closed").await, 409, "reviews_pending").await;
        assert!(body["detail"].as_str().unwrap().starts_with("3 "), "{body}");
        // b scores best but is suspended: b's entry cannot be accepted and no
        // longer holds judging up, and b earns no prize.
        decide(app, &manager, &sa, None, "accepted").await;
        let best = review_spec(10.0, 10.0, "accepted", 1);
        assert_eq!(app.review(&manager, &sb, &best).await.status(), StatusCode::CREATED);
        app.update_user(&admin, b.id, &json!({"status": "suspended"})).await;
        let body = assert_problem(app.transition(&manager, &cid, "closed").await, 409, "reviews_pending").await;
        assert!(body["detail"].as_str().unwrap().starts_with("1 "), "{body}");
        // The review deadline passes: judging may end with c's entry undecided.
        let past = chrono::Utc::now() - chrono::Duration::seconds(1);
        app.exec_sql("UPDATE challenges SET review_due_at = $1 WHERE id = $2", [past.into(), cid.parse::<Uuid>().unwrap().into()]).await;
        let closed = app.transition(&manager, &cid, "closed").await;
        assert_eq!(closed.status(), StatusCode::OK);
        let prizes = app.all_history(&a, "kind=reward").await;
        assert!(prizes.iter().any(|t| t["amount"] == 100), "a, the best active talent, wins: {prizes:?}");
        let b_paid: Value = app.talent_credit_history(&manager, b.id, "kind=reward").await.json().await.unwrap();
        assert!(b_paid["items"].as_array().unwrap().iter().all(|t| t["amount"] != 100), "{b_paid}");
        app.assert_books_balance().await;
    }

    async fn the_ledger_check_finds_a_submission_paid_more_than_its_reward(app: &TestApp) {
        let manager = app.new_manager().await;
        let admin = app.new_admin().await;
        let (_, sid, talent) = judged(app, &manager).await;
        decide(app, &manager, &sid, None, "accepted").await;
        app.ledger_ok(&admin).await;
        // A second payment under another review's reference (the bug the
        // detector exists for), made below the API.
        let tx = kartel_domain::db::begin_write(&app.db).await.unwrap();
        let amount = kartel_domain::types::Amount::parse("amount", 10).unwrap();
        kartel_domain::ledger::reward_submission(&tx, talent.id, sid.parse().unwrap(), Uuid::now_v7(), amount, kartel_domain::caller::Actor::SYSTEM).await.unwrap();
        tx.commit().await.unwrap();
        let report: Value = app.ledger_check(&admin).await.json().await.unwrap();
        assert_eq!(report["ok"], false);
        let found: Vec<(&str, Value, Value)> = report["issues"].as_array().unwrap().iter()
            .map(|i| (i["check"].as_str().unwrap(), i["expected"].clone(), i["actual"].clone()))
            .collect();
        assert!(found.contains(&("reward_exceeded", json!(10), json!(20))), "{found:?}");
        assert!(found.contains(&("reward_net_mismatch", json!(20), json!(10))), "{found:?}");
    }
}

both_backends! {
    async fn erasure_withdraws_the_persons_work_waiting_for_a_decision(app: &TestApp) {
        let (manager, admin) = (app.new_manager().await, app.new_admin().await);
        let talent = app.new_talent().await;
        let cid = app.open_challenge(&manager, &challenge_spec()).await;
        let sid = app.new_submission(&talent, &cid, "https://x.example/erased.png").await;
        assert_eq!(app.erase_user(&admin, talent.id).await.status(), StatusCode::NO_CONTENT);
        let s: Value = app.get_submission(Some(&manager), &sid).await.json().await.unwrap();
        assert_eq!(s["status"], "withdrawn");
        app.transition(&manager, &cid, "judging").await;
        assert_problem(app.review(&manager, &sid, &review_spec(8.0, 8.0, "accepted", 1)).await, 409, "submission_withdrawn").await;
        // Nothing holds judging up, and nothing was paid.
        assert_eq!(app.transition(&manager, &cid, "closed").await.status(), StatusCode::OK);
        let paid: Value = app.talent_credit_history(&manager, talent.id, "").await.json().await.unwrap();
        assert_eq!(paid["items"], json!([]));
    }
}
