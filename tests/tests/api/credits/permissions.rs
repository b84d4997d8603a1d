//! Who may move and read which credits: talents, managers, admins, service
//! keys by scope, and strangers.

use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use super::{body, id_of};
use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem, new_key};

both_backends! {
    async fn nobody_moves_or_reads_credits_they_have_no_right_to(app: &TestApp) {
        let alice = app.new_talent().await;
        let bob = app.new_talent().await;
        let manager = app.new_manager().await;
        app.fund(alice.id, 100).await;
        app.fund(bob.id, 100).await;

        // Grants: talents never; managers never to themselves.
        let res = app
            .post_idem("/api/v1/credits/grants", Some(&alice.token), &new_key(), &json!({ "talent_id": bob.id, "amount": 5, "reason": "gift" }))
            .await;
        assert_problem(res, 403, "forbidden").await;
        let res = app
            .post_idem("/api/v1/credits/grants", Some(&manager.token), &new_key(), &json!({ "talent_id": manager.id, "amount": 5, "reason": "me" }))
            .await;
        assert_problem(res, 403, "forbidden").await;
        let res = app
            .post_idem("/api/v1/credits/grants", None, &new_key(), &json!({ "talent_id": bob.id, "amount": 5, "reason": "anon" }))
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

        // Spending and holding another talent's credits.
        let res = app
            .post_idem("/api/v1/credits/spends", Some(&alice.token), &new_key(), &json!({ "talent_id": bob.id, "amount": 5, "purpose": "theft" }))
            .await;
        assert_problem(res, 403, "forbidden").await;
        let res = app
            .post_idem("/api/v1/credits/holds", Some(&alice.token), &new_key(), &json!({ "talent_id": bob.id, "amount": 5, "purpose": "theft" }))
            .await;
        assert_problem(res, 403, "forbidden").await;
        // Naming oneself is fine.
        let res = app
            .post_idem("/api/v1/credits/spends", Some(&alice.token), &new_key(), &json!({ "talent_id": alice.id, "amount": 5, "purpose": "mine" }))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);

        // Reading: another talent's balance, history and holds do not exist.
        assert_problem(app.talent_credits(&alice, bob.id).await, 404, "not_found").await;
        assert_problem(app.talent_credit_history(&alice, bob.id, "").await, 404, "not_found").await;
        assert_eq!(app.balance_of(&alice, alice.id).await, (95, 0));
        let bobs = app.new_hold(&bob, 40, None).await;
        assert_problem(app.get_hold(&alice, &bobs).await, 404, "not_found").await;
        assert_problem(app.capture_hold(&alice, &bobs, &new_key(), None).await, 404, "not_found").await;
        assert_problem(app.release_hold(&alice, &bobs, &new_key()).await, 404, "not_found").await;
        assert_problem(app.get_hold(&manager, &bobs).await, 404, "not_found").await;
        assert_eq!(app.read_hold(&bob, &bobs).await["status"], "pending");

        // Reversing is for admins.
        let spent = body(app.spend(&bob, &new_key(), 10).await).await;
        assert_problem(app.reverse_transaction(&alice, &id_of(&spent), &new_key()).await, 403, "forbidden").await;
        assert_problem(app.reverse_transaction(&bob, &id_of(&spent), &new_key()).await, 403, "forbidden").await;

        // Staff read any talent's balance and history.
        assert_eq!(app.balance_of(&manager, bob.id).await, (50, 40));
        let res = app.talent_credit_history(&manager, bob.id, "").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(body(res).await["items"].as_array().unwrap().len(), 2);
        assert_problem(app.talent_credits(&manager, Uuid::new_v4()).await, 404, "not_found").await;

        // Service keys: the scope decides, and the talent must be named.
        let spender = app.new_api_key(&["credits:spend"]).await;
        let holder = app.new_api_key(&["credits:hold"]).await;
        let b = json!({ "talent_id": bob.id, "amount": 5, "purpose": "run" });
        assert_problem(app.post_service("/api/v1/credits/holds", &spender, &new_key(), &b).await, 403, "forbidden").await;
        assert_problem(app.post_service("/api/v1/credits/spends", &holder, &new_key(), &b).await, 403, "forbidden").await;
        let res = app.post_service("/api/v1/credits/spends", &spender, &new_key(), &json!({ "amount": 5, "purpose": "run" })).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "talent_id");
        assert_problem(app.post_service(&format!("/api/v1/credits/holds/{bobs}/capture"), &spender, &new_key(), &json!({})).await, 403, "forbidden").await;
        assert_problem(app.post_service(&format!("/api/v1/credits/holds/{bobs}/release"), &spender, &new_key(), &json!({})).await, 403, "forbidden").await;
        let res = app.post_service("/api/v1/credits/holds", &holder, &new_key(), &b).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let svc_hold = id_of(&body(res).await);
        let res = app.post_service(&format!("/api/v1/credits/holds/{bobs}/capture"), &holder, &new_key(), &json!({ "amount": 15 })).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app.post_service(&format!("/api/v1/credits/holds/{svc_hold}/release"), &holder, &new_key(), &json!({})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app.post_service("/api/v1/credits/spends", "kk_not_a_real_key", &new_key(), &b).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        // A service key is not a person: no grants, no allowance, no /me.
        let res = app.post_service("/api/v1/credits/grants", &spender, &new_key(), &json!({ "talent_id": bob.id, "amount": 5, "reason": "svc" })).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

        assert_eq!(app.balance(&alice).await, (95, 0));
        assert_eq!(app.balance(&bob).await, (75, 0));
        app.assert_books_balance().await;
    }
}

both_backends! {
    async fn a_generative_lead_reads_like_staff_but_grants_nothing_and_administers_nothing(app: &TestApp) {
        let lead = app.new_with_roles(&["generative_lead"]).await;
        let talent = app.new_talent().await;
        app.fund(talent.id, 100).await;
        app.new_hold(&talent, 10, None).await;

        // Staff: finds talents, sees their private fields and reads their credits.
        let res = app.search_talents(&lead, &format!("q={}", &talent.email[..13])).await;
        assert_eq!(res.status(), StatusCode::OK);
        let page = body(res).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
        assert_eq!(page["items"][0]["id"], json!(talent.id));
        let profile = body(app.get(&format!("/api/v1/talents/{}", talent.id), Some(&lead.token)).await).await;
        assert_eq!(profile["email"], json!(talent.email));
        assert_eq!(app.balance_of(&lead, talent.id).await, (90, 10));
        let history = body(app.talent_credit_history(&lead, talent.id, "").await).await;
        assert_eq!(history["items"].as_array().unwrap().len(), 1);
        let holds = body(app.talent_holds(&lead, talent.id, "").await).await;
        assert_eq!(holds["items"].as_array().unwrap().len(), 1);

        // Not a manager: no grants, no reversals.
        assert_problem(app.grant(&lead, &new_key(), talent.id, 5).await, 403, "forbidden").await;
        let grant = id_of(&app.new_grant(&app.new_manager().await, talent.id, 5).await);
        assert_problem(app.reverse_transaction(&lead, &grant, &new_key()).await, 403, "forbidden").await;
        // Not an admin: none of the admin routes.
        let some = Uuid::new_v4().to_string();
        assert_problem(app.update_user(&lead, talent.id, &json!({"status": "suspended"})).await, 403, "forbidden").await;
        assert_problem(app.create_api_key(&lead, "x", &["credits:hold"]).await, 403, "forbidden").await;
        assert_problem(app.list_api_keys(&lead).await, 403, "forbidden").await;
        assert_problem(app.get_api_key(&lead, &some).await, 403, "forbidden").await;
        assert_problem(app.revoke_api_key(&lead, &some).await, 403, "forbidden").await;
        assert_problem(app.audit_log(&lead, "").await, 403, "forbidden").await;
        assert_problem(app.ledger_check(&lead).await, 403, "forbidden").await;
        assert_problem(app.set_allowance_policy(&lead, 0, 1).await, 403, "forbidden").await;
        assert_eq!(app.balance(&talent).await, (95, 10));
    }
}
