//! Managing webhook endpoints: admins only, validated fields, a secret
//! shown once, filters by kind, recovery of what an endpoint missed, and
//! attempts listed newest first in pages.

use std::collections::BTreeSet;

use base64::Engine as _;
use kartel_tests::receiver::Receiver;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem, eventually, webhook_settings};

both_backends! {
    #[settings(webhook_settings)]
    async fn admins_register_change_list_and_delete_endpoints(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let body = json!({ "url": "https://hooks.example.com/k", "description": "CRM", "event_types": ["tier.changed", "tier.changed"] });
        let res = app.create_endpoint(&manager, &body).await;
        assert_problem(res, 403, "forbidden").await;

        let res = app.create_endpoint(&admin, &body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let created: Value = res.json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_owned();
        let secret = created["secret"].as_str().unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(secret.strip_prefix("whsec_").unwrap())
            .unwrap();
        assert_eq!(raw.len(), 32);
        assert_eq!(created["event_types"], json!(["tier.changed"]));
        assert_eq!(created["disabled"], json!(false));

        // The secret is never shown again.
        let got = app.endpoint(&admin, &id).await;
        assert!(got.get("secret").is_none(), "{got}");
        assert_eq!(got["description"], "CRM");

        for (change, field) in [
            (json!({ "event_types": ["no.such"] }), "event_types"),
            (json!({ "url": "ftp://x.example.com/" }), "url"),
            (json!({ "description": "x".repeat(501) }), "description"),
        ] {
            let res = app.update_endpoint(&admin, &id, &change).await;
            let p = assert_problem(res, 422, "validation_failed").await;
            assert_eq!(p["errors"][0]["field"], field, "{change}");
        }
        let res = app
            .update_endpoint(&admin, &id, &json!({ "disabled": true, "event_types": [] }))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let changed: Value = res.json().await.unwrap();
        assert_eq!(changed["disabled_reason"], "admin");
        assert_eq!(changed["event_types"], json!([]));
        let res = app.update_endpoint(&admin, &id, &json!({ "disabled": false })).await;
        let changed: Value = res.json().await.unwrap();
        assert_eq!(changed["disabled"], json!(false));
        assert!(changed["disabled_reason"].is_null());

        // Pages.
        for n in 0..2 {
            let url = format!("https://hooks{n}.example.com/k");
            app.new_endpoint(&admin, &url, &[]).await;
        }
        let first: Value = app.list_endpoints(&admin, "limit=2").await.json().await.unwrap();
        assert_eq!(first["items"].as_array().unwrap().len(), 2);
        let cursor = first["next_cursor"].as_str().unwrap();
        let rest: Value = app
            .list_endpoints(&admin, &format!("limit=2&cursor={cursor}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(rest["items"].as_array().unwrap().len(), 1);
        assert!(rest["next_cursor"].is_null());

        let res = app.delete_endpoint(&admin, &id).await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        let res = app.get_endpoint(&admin, &id).await;
        assert_problem(res, 404, "not_found").await;
        let entries: Value = app
            .audit_log(&admin, "action=webhook_endpoint.create")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(entries["items"].as_array().unwrap().len(), 3);
        assert!(!entries.to_string().contains(secret), "the audit log keeps no secret");
    }

    async fn plain_http_is_refused_unless_the_operator_allows_it(app: &TestApp) {
        let admin = app.new_admin().await;
        let res = app
            .create_endpoint(&admin, &json!({ "url": "http://hooks.example.com/k" }))
            .await;
        let p = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(p["errors"][0]["field"], "url");
        let res = app
            .create_endpoint(&admin, &json!({ "url": "https://hooks.example.com/k", "secret": "mine" }))
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "unknown fields are refused");
    }

    #[settings(webhook_settings)]
    async fn an_endpoint_gets_only_the_kinds_it_asked_for(app: &TestApp) {
        let admin = app.new_admin().await;
        let rx = Receiver::start().await.unwrap();
        app.new_endpoint(&admin, &rx.url("/s"), &["user.suspended"]).await;
        let talent = app.new_talent().await;
        app.touch_profile(&talent, 1).await;
        app.set_status(&admin, talent.id, "suspended").await;
        app.set_status(&admin, talent.id, "active").await;
        eventually("the suspension arrives", || async { rx.count() >= 1 }).await;
        app.dispatched().await;
        app.after_rounds(crate::helpers::Loop::Webhooks, 3).await;
        let types: Vec<Value> = rx.deliveries().iter().map(|d| d.json()["type"].clone()).collect();
        assert_eq!(types, vec![json!("user.suspended")]);
    }

    #[settings(webhook_settings)]
    async fn recover_sends_what_an_endpoint_missed_while_it_was_disabled(app: &TestApp) {
        let admin = app.new_admin().await;
        let rx = Receiver::start().await.unwrap();
        let (id, _) = app.new_endpoint(&admin, &rx.url("/r"), &["profile.updated"]).await;
        let res = app.update_endpoint(&admin, &id, &json!({ "disabled": true })).await;
        assert_eq!(res.status(), StatusCode::OK);
        let since = chrono::Utc::now() - chrono::Duration::seconds(5);
        let before: BTreeSet<String> = app.event_ids().await.into_iter().collect();
        let talent = app.new_talent().await;
        for n in 0..3 {
            app.touch_profile(&talent, n).await;
        }
        let missed: BTreeSet<String> =
            app.event_ids().await.into_iter().filter(|i| !before.contains(i)).collect();
        app.dispatched().await;
        app.after_rounds(crate::helpers::Loop::Webhooks, 3).await;
        assert_eq!(rx.count(), 0, "nothing goes to a disabled endpoint");
        let res = app.recover_endpoint(&admin, &id, &since.to_rfc3339()).await;
        assert_problem(res, 409, "endpoint_disabled").await;

        app.update_endpoint(&admin, &id, &json!({ "disabled": false })).await;
        // The dispatcher has passed them: only a recovery sends them.
        let res = app.recover_endpoint(&admin, &id, &since.to_rfc3339()).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        let queued: Value = res.json().await.unwrap();
        assert_eq!(queued["queued"].as_u64().unwrap(), 3, "{queued}");
        eventually("the missed events arrive", || async {
            let got: BTreeSet<String> = rx.deliveries().into_iter().map(|d| d.id).collect();
            got.len() == 3 && got.is_subset(&missed)
        })
        .await;
        // Delivered ones are not queued again.
        eventually("the deliveries are recorded", || async {
            app.attempts(&admin, &id).await.iter().filter(|a| a["succeeded"] == json!(true)).count() == 3
        })
        .await;
        let res = app.recover_endpoint(&admin, &id, &since.to_rfc3339()).await;
        assert_eq!(res.json::<Value>().await.unwrap()["queued"], json!(0));
        let old = (chrono::Utc::now() - chrono::Duration::days(15)).to_rfc3339();
        let res = app.recover_endpoint(&admin, &id, &old).await;
        let p = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(p["errors"][0]["field"], "since");
    }

    #[settings(webhook_settings)]
    async fn attempts_come_newest_first_in_pages(app: &TestApp) {
        let admin = app.new_admin().await;
        let rx = Receiver::start().await.unwrap();
        let (id, _) = app.new_endpoint(&admin, &rx.url("/a"), &[]).await;
        for _ in 0..3 {
            let res = app.test_endpoint(&admin, &id).await;
            assert_eq!(res.status(), StatusCode::ACCEPTED);
        }
        eventually("three attempts", || async { app.attempts(&admin, &id).await.len() == 3 }).await;
        let page: Value = app.endpoint_attempts(&admin, &id, "limit=2").await.json().await.unwrap();
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert!(items[0]["id"].as_str() > items[1]["id"].as_str());
        assert_eq!(items[0]["event_type"], "webhook.test");
        assert!(items[0]["latency_ms"].as_i64().unwrap() >= 0);
        let cursor = page["next_cursor"].as_str().unwrap();
        let rest: Value = app
            .endpoint_attempts(&admin, &id, &format!("limit=2&cursor={cursor}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(rest["items"].as_array().unwrap().len(), 1);
        let manager = app.new_manager().await;
        let res = app.endpoint_attempts(&manager, &id, "").await;
        assert_problem(res, 403, "forbidden").await;
        let res = app.resend_message(&admin, &uuid::Uuid::new_v4().to_string()).await;
        assert_problem(res, 404, "not_found").await;
    }
}
