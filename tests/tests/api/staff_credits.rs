//! Staff actions on credits (allowance amounts are data an admin edits;
//! grants and reversals land in the audit log) and the hold listings.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Answer, Backend, TestApp, assert_problem, new_key};

both_backends! {
    async fn an_admin_sets_the_allowance_of_a_tier(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        let policies: Value = app.allowance_policies().await.json().await.unwrap();
        assert_eq!(policies.as_array().unwrap().len(), 6);
        assert_eq!(policies[0], json!({"tier": 0, "amount": 50}));

        assert_problem(app.set_allowance_policy(&manager, 0, 75).await, 403, "forbidden").await;
        assert_problem(app.set_allowance_policy(&admin, 9, 75).await, 422, "validation_failed").await;
        assert_problem(app.set_allowance_policy(&admin, 0, -1).await, 422, "validation_failed").await;
        let res = app.set_allowance_policy(&admin, 0, 75).await;
        assert_eq!(res.status(), StatusCode::OK);

        let res = app.claim_allowance(&talent, &new_key()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let t: Value = res.json().await.unwrap();
        assert_eq!(t["amount"], 75);

        // Zero turns it off.
        let res = app.set_allowance_policy(&admin, 0, 0).await;
        assert_eq!(res.status(), StatusCode::OK);
        let other = app.new_talent().await;
        let res = app.claim_allowance(&other, &new_key()).await;
        assert_problem(res, 409, "no_allowance").await;

        let log: Value = app.audit_log(&admin, "action=credits.allowance_policy").await.json().await.unwrap();
        let items = log["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["before"], json!({"tier": 0, "amount": 50}));
        assert_eq!(items[1]["after"], json!({"tier": 0, "amount": 75}));
    }

    async fn grants_and_reversals_are_audited(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        let res = app
            .post_idem("/api/v1/credits/grants", Some(&manager.token), "g-1", &json!({"talent_id": talent.id, "amount": 40, "reason": "welcome"}))
            .await;
        let first = Answer::of(res).await;
        assert_eq!(first.status, 201, "{first:?}");
        let grant = first.json();
        let id = grant["id"].as_str().unwrap();
        let res = app
            .post_idem(&format!("/api/v1/credits/transactions/{id}/reverse"), Some(&admin.token), "r-1", &json!({"reason": "granted by mistake"}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);

        let log: Value = app.audit_log(&admin, &format!("actor_id={}", manager.id)).await.json().await.unwrap();
        let entry = &log["items"][0];
        assert_eq!(entry["action"], "credits.grant");
        assert_eq!(entry["target_id"], json!(talent.id.to_string()));
        assert_eq!(entry["after"]["amount"], 40);
        let log: Value = app.audit_log(&admin, "action=credits.reverse").await.json().await.unwrap();
        assert_eq!(log["items"][0]["target_id"], json!(id));
        assert_eq!(log["items"][0]["actor_id"], json!(admin.id.to_string()));
        // A replayed grant answers as the first did, byte for byte, and is not audited twice.
        let replay = app.post_idem("/api/v1/credits/grants", Some(&manager.token), "g-1", &json!({"talent_id": talent.id, "amount": 40, "reason": "welcome"})).await;
        assert_eq!(Answer::of(replay).await, first);
        let log: Value = app.audit_log(&admin, "action=credits.grant").await.json().await.unwrap();
        assert_eq!(log["items"].as_array().unwrap().len(), 1);
    }

    async fn a_talent_lists_its_holds_and_nobody_else_does(app: &TestApp) {
        let talent = app.new_talent().await;
        let other = app.new_talent().await;
        let manager = app.new_manager().await;
        app.fund(talent.id, 100).await;
        let mut ids = Vec::new();
        for amount in [10, 20, 30] {
            let res = app
                .post_idem("/api/v1/credits/holds", Some(&talent.token), &Uuid::new_v4().to_string(), &json!({"amount": amount, "purpose": "render"}))
                .await;
            assert_eq!(res.status(), StatusCode::CREATED);
            let h: Value = res.json().await.unwrap();
            ids.push(h["id"].as_str().unwrap().to_owned());
        }
        let res = app.release_hold(&talent, &ids[0], "rel-1").await;
        assert_eq!(res.status(), StatusCode::OK);

        let page: Value = app.my_holds(&talent, "limit=2").await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["id"], json!(ids[2]), "newest first");
        let next = page["next_cursor"].as_str().unwrap();
        let rest: Value = app.my_holds(&talent, &format!("limit=2&cursor={next}")).await.json().await.unwrap();
        assert_eq!(rest["items"].as_array().unwrap().len(), 1);
        assert!(rest["next_cursor"].is_null());

        let pending: Value = app.my_holds(&talent, "status=pending").await.json().await.unwrap();
        let amounts: Vec<i64> = pending["items"].as_array().unwrap().iter().map(|h| h["amount"].as_i64().unwrap()).collect();
        assert_eq!(amounts, vec![30, 20]);
        assert_eq!(app.balance(&talent).await, (50, 50));

        assert_problem(app.talent_holds(&other, talent.id, "").await, 404, "not_found").await;
        let staff: Value = app.talent_holds(&manager, talent.id, "").await.json().await.unwrap();
        assert_eq!(staff["items"].as_array().unwrap().len(), 3);
        assert_problem(app.my_holds(&talent, "status=frozen").await, 422, "validation_failed").await;
        assert_problem(app.get("/api/v1/me/credits/holds", None).await, 401, "unauthorized").await;
    }

    async fn an_idempotency_key_is_forgotten_after_the_retention_window(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 100).await;
        let body = json!({"amount": 10, "purpose": "render"});
        let first = Answer::of(app.post_idem("/api/v1/credits/spends", Some(&talent.token), "once", &body).await).await;
        assert_eq!(first.status, 201, "{first:?}");
        let replay = Answer::of(app.post_idem("/api/v1/credits/spends", Some(&talent.token), "once", &body).await).await;
        assert_eq!(replay, first, "a replay within the window is the first answer, byte for byte");
        assert_eq!(app.balance(&talent).await, (90, 0), "a replay within the window moves nothing");

        let kept = kartel_domain::idempotency::forget_keys(&app.db, chrono::Duration::hours(1)).await.unwrap();
        assert_eq!(kept, 0, "young keys are kept");
        let forgotten = kartel_domain::idempotency::forget_keys(&app.db, chrono::Duration::zero()).await.unwrap();
        assert!(forgotten >= 1);
        let again = Answer::of(app.post_idem("/api/v1/credits/spends", Some(&talent.token), "once", &body).await).await;
        assert_eq!(again.status, 201, "{again:?}");
        assert_ne!(again.json()["id"], first.json()["id"], "after the window the key is a new request");
        assert_eq!(again.json()["balance_after"], json!(80));
        assert_eq!(app.balance(&talent).await, (80, 0), "after the window the key is a new request");
        app.assert_books_balance().await;
    }
}
