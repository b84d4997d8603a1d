//! Reversals: an admin undoes a transaction once, never a reversal, and never
//! into an overdraft (held credits included); concurrent reversals make one.

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use super::{body, id_of};
use crate::both_backends;
use crate::helpers::{Answer, Backend, TestApp, assert_problem, new_key};

both_backends! {
    async fn an_admin_reverses_a_transaction_once_and_never_into_an_overdraft(app: &TestApp) {
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        let admin = app.new_admin().await;

        let g1 = app.new_grant(&manager, talent.id, 500).await;
        assert_eq!(app.balance(&talent).await, (500, 0));
        let res = app.reverse_transaction(&admin, &id_of(&g1), &new_key()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let r1 = body(res).await;
        assert_eq!(r1["kind"], "reversal");
        assert_eq!(r1["amount"], json!(-500));
        assert_eq!(r1["reverses_id"], g1["id"]);
        assert_eq!(r1["talent_id"], json!(talent.id));
        assert_eq!(r1["balance_after"], json!(0));
        assert_eq!(app.balance(&talent).await, (0, 0));
        assert_problem(app.reverse_transaction(&admin, &id_of(&g1), &new_key()).await, 409, "already_reversed").await;
        assert_problem(app.reverse_transaction(&admin, &id_of(&r1), &new_key()).await, 409, "reversal_not_reversible").await;
        assert_problem(app.reverse_transaction(&admin, &Uuid::new_v4().to_string(), &new_key()).await, 404, "not_found").await;

        // The credits of a grant were spent: reversing it would overdraw.
        let g2 = app.new_grant(&manager, talent.id, 300).await;
        let res = app.spend(&talent, &new_key(), 250).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let s = body(res).await;
        assert_problem(app.reverse_transaction(&admin, &id_of(&g2), &new_key()).await, 409, "insufficient_credits").await;
        assert_eq!(app.balance(&talent).await, (50, 0));
        // A spend reverses into a refund.
        let res = app.reverse_transaction(&admin, &id_of(&s), &new_key()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let r2 = body(res).await;
        assert_eq!(r2["amount"], json!(250));
        assert_eq!(r2["balance_after"], json!(300));
        assert_eq!(app.balance(&talent).await, (300, 0));

        // Held credits are not available to a reversal either.
        let h = app.new_hold(&talent, 100, None).await;
        assert_problem(app.reverse_transaction(&admin, &id_of(&g2), &new_key()).await, 409, "insufficient_credits").await;
        assert_eq!(app.balance(&talent).await, (200, 100));
        let res = app.release_hold(&talent, &h, &new_key()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app.reverse_transaction(&admin, &id_of(&g2), &new_key()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(app.balance(&talent).await, (0, 0));

        // Only admins reverse.
        let g3 = app.new_grant(&manager, talent.id, 10).await;
        assert_problem(app.reverse_transaction(&manager, &id_of(&g3), &new_key()).await, 403, "forbidden").await;
        assert_problem(app.reverse_transaction(&talent, &id_of(&g3), &new_key()).await, 403, "forbidden").await;
        assert_eq!(app.balance(&talent).await, (10, 0));

        // Six reversals of one grant at once: one reversal.
        let answers = join_all((0..6).map(|_| async { Answer::of(app.reverse_transaction(&admin, &id_of(&g3), &new_key()).await).await })).await;
        assert_eq!(answers.iter().filter(|a| a.status == 201).count(), 1, "{answers:?}");
        for a in answers.iter().filter(|a| a.status != 201) {
            a.assert_problem(409, "already_reversed");
        }
        assert_eq!(app.balance(&talent).await, (0, 0));
        assert_eq!(app.all_history(&talent, "kind=reversal").await.len(), 4);
        app.ledger_ok(&admin).await;
    }
}
