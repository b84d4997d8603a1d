//! Staff actions on credits: allowance amounts are data an admin edits, and
//! grants and reversals land in the audit log.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem};

both_backends! {
    async fn an_admin_sets_the_allowance_of_a_tier(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        let policies: Value = app.get("/api/v1/credits/allowance-policies", None).await.json().await.unwrap();
        assert_eq!(policies.as_array().unwrap().len(), 6);
        assert_eq!(policies[0], json!({"tier": 0, "amount": 50}));

        let body = json!({"amount": 75});
        assert_problem(app.client.put(app.url("/api/v1/credits/allowance-policies/0")).bearer_auth(&manager.token).json(&body).send().await.unwrap(), 403, "forbidden").await;
        assert_problem(app.client.put(app.url("/api/v1/credits/allowance-policies/9")).bearer_auth(&admin.token).json(&body).send().await.unwrap(), 422, "validation_failed").await;
        assert_problem(app.client.put(app.url("/api/v1/credits/allowance-policies/0")).bearer_auth(&admin.token).json(&json!({"amount": -1})).send().await.unwrap(), 422, "validation_failed").await;
        let res = app.client.put(app.url("/api/v1/credits/allowance-policies/0")).bearer_auth(&admin.token).json(&body).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);

        let res = app.post_idem("/api/v1/credits/allowance", Some(&talent.token), &Uuid::new_v4().to_string(), &json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let t: Value = res.json().await.unwrap();
        assert_eq!(t["amount"], 75);

        // Zero turns it off.
        let res = app.client.put(app.url("/api/v1/credits/allowance-policies/0")).bearer_auth(&admin.token).json(&json!({"amount": 0})).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let other = app.new_talent().await;
        let res = app.post_idem("/api/v1/credits/allowance", Some(&other.token), &Uuid::new_v4().to_string(), &json!({})).await;
        assert_problem(res, 409, "no_allowance").await;

        let log: Value = app.get("/api/v1/admin/audit-log?action=credits.allowance_policy", Some(&admin.token)).await.json().await.unwrap();
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
        let grant: Value = res.json().await.unwrap();
        let id = grant["id"].as_str().unwrap();
        let res = app
            .post_idem(&format!("/api/v1/credits/transactions/{id}/reverse"), Some(&admin.token), "r-1", &json!({"reason": "granted by mistake"}))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);

        let log: Value = app.get(&format!("/api/v1/admin/audit-log?actor_id={}", manager.id), Some(&admin.token)).await.json().await.unwrap();
        let entry = &log["items"][0];
        assert_eq!(entry["action"], "credits.grant");
        assert_eq!(entry["target_id"], json!(talent.id.to_string()));
        assert_eq!(entry["after"]["amount"], 40);
        let log: Value = app.get("/api/v1/admin/audit-log?action=credits.reverse", Some(&admin.token)).await.json().await.unwrap();
        assert_eq!(log["items"][0]["target_id"], json!(id));
        assert_eq!(log["items"][0]["actor_id"], json!(admin.id.to_string()));
        // A replayed grant is not audited twice.
        app.post_idem("/api/v1/credits/grants", Some(&manager.token), "g-1", &json!({"talent_id": talent.id, "amount": 40, "reason": "welcome"})).await;
        let log: Value = app.get("/api/v1/admin/audit-log?action=credits.grant", Some(&admin.token)).await.json().await.unwrap();
        assert_eq!(log["items"].as_array().unwrap().len(), 1);
    }
}
