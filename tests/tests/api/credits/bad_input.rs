//! Bad input to the credits API: amounts, missing or extra fields, the
//! `Idempotency-Key` header, unknown talents, bad cursors; none has an effect.

use serde_json::json;
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem, new_key};

both_backends! {
    async fn bad_amounts_and_missing_fields_are_refused_without_effect(app: &TestApp) {
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        app.fund(talent.id, 1_000).await;
        let bad_amounts = [json!(0), json!(-10), json!(1.5), json!("10"), json!(i64::MAX), json!(i64::MIN), json!(null), json!(1_000_000_001_i64)];
        for amount in &bad_amounts {
            let res = app
                .post_idem("/api/v1/credits/spends", Some(&talent.token), &new_key(), &json!({ "amount": amount, "purpose": "x" }))
                .await;
            assert_problem(res, 422, "validation_failed").await;
            let res = app
                .post_idem("/api/v1/credits/holds", Some(&talent.token), &new_key(), &json!({ "amount": amount, "purpose": "x" }))
                .await;
            assert_problem(res, 422, "validation_failed").await;
            let res = app
                .post_idem("/api/v1/credits/grants", Some(&manager.token), &new_key(), &json!({ "talent_id": talent.id, "amount": amount, "reason": "x" }))
                .await;
            assert_problem(res, 422, "validation_failed").await;
        }
        let cases = [
            ("/api/v1/credits/spends", json!({ "amount": 10 })),
            ("/api/v1/credits/spends", json!({ "amount": 10, "purpose": "" })),
            ("/api/v1/credits/spends", json!({ "amount": 10, "purpose": "x".repeat(501) })),
            ("/api/v1/credits/spends", json!({ "amount": 10, "purpose": "x", "memo": "extra" })),
            ("/api/v1/credits/holds", json!({ "amount": 10 })),
            ("/api/v1/credits/holds", json!({ "amount": 10, "purpose": "x", "expires_in_seconds": 0 })),
            ("/api/v1/credits/holds", json!({ "amount": 10, "purpose": "x", "expires_in_seconds": 604_801 })),
            ("/api/v1/credits/grants", json!({ "amount": 10, "reason": "x" })),
            ("/api/v1/credits/grants", json!({ "talent_id": talent.id, "amount": 10 })),
            ("/api/v1/credits/grants", json!({ "talent_id": "not-a-uuid", "amount": 10, "reason": "x" })),
        ];
        for (path, b) in &cases {
            let token = if path.ends_with("grants") { &manager.token } else { &talent.token };
            let res = app.post_idem(path, Some(token), &new_key(), b).await;
            let problem = assert_problem(res, 422, "validation_failed").await;
            assert!(problem["errors"].as_array().is_some_and(|e| !e.is_empty()), "{path} {b}: {problem}");
        }
        // The Idempotency-Key header is required, and must be sane.
        let res = app.post("/api/v1/credits/spends", Some(&talent.token), &json!({ "amount": 10, "purpose": "x" })).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
        for bad in ["x".repeat(256), "has space".to_owned()] {
            let res = app.post_idem("/api/v1/credits/spends", Some(&talent.token), &bad, &json!({ "amount": 10, "purpose": "x" })).await;
            assert_problem(res, 422, "validation_failed").await;
        }
        let res = app.post("/api/v1/credits/grants", Some(&manager.token), &json!({ "talent_id": talent.id, "amount": 10, "reason": "x" })).await;
        assert_problem(res, 422, "validation_failed").await;
        let id = app.new_hold(&talent, 10, None).await;
        let res = app.post(&format!("/api/v1/credits/holds/{id}/capture"), Some(&talent.token), &json!({})).await;
        assert_problem(res, 422, "validation_failed").await;
        let res = app.post(&format!("/api/v1/credits/holds/{id}/release"), Some(&talent.token), &json!({})).await;
        assert_problem(res, 422, "validation_failed").await;

        // A grant to nobody.
        let res = app
            .post_idem("/api/v1/credits/grants", Some(&manager.token), &new_key(), &json!({ "talent_id": Uuid::new_v4(), "amount": 10, "reason": "x" }))
            .await;
        assert_problem(res, 404, "not_found").await;
        // A service key naming nobody.
        let svc = app.new_api_key(&["credits:spend"]).await;
        let res = app
            .post_service("/api/v1/credits/spends", &svc, &new_key(), &json!({ "talent_id": Uuid::new_v4(), "amount": 10, "purpose": "x" }))
            .await;
        assert_problem(res, 404, "not_found").await;
        // A bad cursor, a bad page size, a bad kind filter.
        assert_problem(app.credit_history(&talent, "cursor=bm9wZQ").await, 422, "validation_failed").await;
        assert_problem(app.credit_history(&talent, "limit=0").await, 422, "validation_failed").await;
        assert_problem(app.credit_history(&talent, "limit=101").await, 422, "validation_failed").await;
        assert_problem(app.credit_history(&talent, "kind=gift").await, 422, "validation_failed").await;

        assert_eq!(app.balance(&talent).await, (990, 10));
        assert_eq!(app.all_history(&talent, "").await.len(), 1, "only the funding grant");
        app.assert_books_balance().await;
    }
}
