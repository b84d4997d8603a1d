//! The admin area beyond roles: reading and revoking one API key, an admin
//! who tries to suspend themselves, and the staff's talent search filters.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, PASSWORD, TestApp, User, assert_problem};

/// The ids on a page of the talent search.
async fn found(app: &TestApp, by: &User, query: &str) -> BTreeSet<Uuid> {
    let res = app.search_talents(by, &format!("limit=100&{query}")).await;
    assert_eq!(res.status(), StatusCode::OK, "{query}");
    let page: Value = res.json().await.unwrap();
    assert!(
        page["next_cursor"].is_null(),
        "{query}: one page holds them all"
    );
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

/// Registers someone with these fields; returns their id.
async fn person(app: &TestApp, email: &str, handle: &str, display_name: &str) -> Uuid {
    let res = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": email, "password": PASSWORD, "handle": handle, "display_name": display_name}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let body: Value = res.json().await.unwrap();
    body["id"].as_str().unwrap().parse().unwrap()
}

both_backends! {
    async fn an_admin_reads_one_api_key_and_revokes_it_once_with_an_audit_entry(app: &TestApp) {
        let admin = app.new_admin().await;
        let res = app.create_api_key(&admin, "renderer", &["credits:hold", "credits:spend"]).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let created: Value = res.json().await.unwrap();
        let id = created["id"].as_str().unwrap().to_owned();

        let res = app.get_api_key(&admin, &id).await;
        assert_eq!(res.status(), StatusCode::OK);
        let key: Value = res.json().await.unwrap();
        assert_eq!(key["id"], json!(id));
        assert_eq!(key["name"], "renderer");
        assert_eq!(key["scopes"], json!(["credits:hold", "credits:spend"]));
        assert_eq!(key["created_by"], json!(admin.id));
        assert_eq!(key["prefix"], created["prefix"]);
        assert!(created["secret"].as_str().unwrap().starts_with(key["prefix"].as_str().unwrap()), "{created}");
        assert!(key["revoked_at"].is_null(), "{key}");
        assert!(key.get("secret").is_none() && key.get("key_hash").is_none(), "the secret is never shown again: {key}");

        assert_eq!(app.revoke_api_key(&admin, &id).await.status(), StatusCode::NO_CONTENT);
        let key: Value = app.get_api_key(&admin, &id).await.json().await.unwrap();
        let revoked_at: chrono::DateTime<chrono::Utc> = key["revoked_at"].as_str().unwrap().parse().unwrap();
        // Revoking a revoked key changes nothing, and is not audited again.
        assert_eq!(app.revoke_api_key(&admin, &id).await.status(), StatusCode::NO_CONTENT);
        let again: Value = app.get_api_key(&admin, &id).await.json().await.unwrap();
        assert_eq!(again["revoked_at"].as_str().unwrap().parse::<chrono::DateTime<chrono::Utc>>().unwrap(), revoked_at);

        let unknown = Uuid::new_v4().to_string();
        assert_problem(app.get_api_key(&admin, &unknown).await, 404, "not_found").await;
        assert_problem(app.revoke_api_key(&admin, &unknown).await, 404, "not_found").await;

        let log: Value = app.audit_log(&admin, "action=api_key.revoke").await.json().await.unwrap();
        let items = log["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{log}");
        assert_eq!(items[0]["target_type"], "api_key");
        assert_eq!(items[0]["target_id"], json!(id));
        assert_eq!(items[0]["actor_id"], json!(admin.id.to_string()));
        let log: Value = app.audit_log(&admin, "action=api_key.create").await.json().await.unwrap();
        assert_eq!(log["items"][0]["target_id"], json!(id), "{log}");
    }

    async fn an_admin_cannot_suspend_themselves(app: &TestApp) {
        let admin = app.new_admin().await;
        assert_problem(app.update_user(&admin, admin.id, &json!({"status": "suspended"})).await, 409, "cannot_suspend_self").await;
        // Not with a role change in the same request either: nothing of it is applied.
        let res = app.update_user(&admin, admin.id, &json!({"roles": ["admin", "community_manager"], "status": "suspended"})).await;
        assert_problem(res, 409, "cannot_suspend_self").await;
        let me: Value = app.me(Some(&admin.token)).await.json().await.unwrap();
        assert_eq!(me["status"], "active");
        assert_eq!(me["roles"], json!(["talent", "admin"]));
        let log: Value = app.audit_log(&admin, "action=user.update").await.json().await.unwrap();
        assert_eq!(log["items"], json!([]), "a refusal is not audited");
        // Another admin may.
        let other = app.new_admin().await;
        let res = app.update_user(&other, admin.id, &json!({"status": "suspended"})).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_problem(app.me(Some(&admin.token)).await, 401, "session_revoked").await;
    }

    async fn the_talent_search_filters_by_text_status_role_track_and_tier(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let ada = person(app, "ada@example.com", "ada_l", "Ada Lovelace").await;
        let grace = person(app, "grace@example.com", "grace_h", "Grace Hopper").await;
        let alan = person(app, "alan@example.com", "turing", "Alan T").await;
        let kat = person(app, "kat@example.org", "kjohnson", "Katherine Johnson").await;
        app.enrol(ada, "preditor", 3).await;
        app.enrol(grace, "preditor", 1).await;
        app.enrol(grace, "ai_generalist", 3).await;
        assert_eq!(app.update_user(&admin, alan, &json!({"status": "suspended"})).await.status(), StatusCode::OK);
        assert_eq!(app.update_user(&admin, kat, &json!({"roles": ["generative_lead"]})).await.status(), StatusCode::OK);
        let set = |ids: &[Uuid]| ids.iter().copied().collect::<BTreeSet<Uuid>>();
        let everyone = found(app, &manager, "").await;
        assert!(everyone.is_superset(&set(&[ada, grace, alan, kat, manager.id, admin.id])), "{everyone:?}");

        // Text: display name, handle, email; any case; % and _ are plain characters.
        assert_eq!(found(app, &manager, "q=LOVELACE").await, set(&[ada]));
        assert_eq!(found(app, &manager, "q=turing").await, set(&[alan]));
        assert_eq!(found(app, &manager, "q=example.org").await, set(&[kat]));
        assert_eq!(found(app, &manager, "q=_").await, set(&[ada, grace]));
        assert_eq!(found(app, &manager, "q=%25").await, set(&[]));
        assert_eq!(found(app, &manager, "q=nobody-like-this").await, set(&[]));

        // Status and role.
        assert_eq!(found(app, &manager, "status=suspended").await, set(&[alan]));
        let active = found(app, &manager, "status=active").await;
        assert_eq!(active.len(), everyone.len() - 1);
        assert!(!active.contains(&alan) && active.contains(&ada), "{active:?}");
        assert_eq!(found(app, &manager, "role=generative_lead").await, set(&[kat]));
        assert_eq!(found(app, &manager, "role=community_manager").await, set(&[manager.id]));
        assert_eq!(found(app, &manager, "role=generative_lead&status=suspended").await, set(&[]));

        // Track and tier; together they must hold in the same track.
        assert_eq!(found(app, &manager, "track=preditor").await, set(&[ada, grace]));
        assert_eq!(found(app, &manager, "track=ai_generalist").await, set(&[grace]));
        assert_eq!(found(app, &manager, "tier=3").await, set(&[ada, grace]));
        assert_eq!(found(app, &manager, "tier=1").await, set(&[grace]));
        assert_eq!(found(app, &manager, "track=preditor&tier=3").await, set(&[ada]));
        assert_eq!(found(app, &manager, "track=ai_generalist&tier=1").await, set(&[]));
        assert_eq!(found(app, &manager, "track=data_engineer").await, set(&[]));
        assert_eq!(found(app, &manager, "tier=5").await, set(&[]));
        assert_eq!(found(app, &manager, "q=hopper&track=preditor&tier=1").await, set(&[grace]));

        // The page shows each one's headline tier.
        let page: Value = app.search_talents(&manager, "q=hopper").await.json().await.unwrap();
        assert_eq!(page["items"][0]["headline_tier"], 3);
        assert_problem(app.search_talents(&manager, "track=juggler").await, 422, "validation_failed").await;
        assert_problem(app.search_talents(&manager, "tier=6").await, 422, "validation_failed").await;
    }
}
