//! Export (everything about the person, nothing about anyone else) and
//! erasure (the person is gone; the books, reviews and history stay).

use reqwest::StatusCode;
use sea_orm::FromQueryResult;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{
    Backend, PASSWORD, TestApp, User, assert_problem, challenge_spec, new_key, review_spec,
};

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

/// A talent with a bit of everything: a profile, credits spent and held,
/// a reviewed (rewarded) submission, a placement-free Tier 4 certificate.
async fn busy_talent(app: &TestApp, manager: &User, admin: &User) -> (User, String) {
    let talent = app.new_talent().await;
    app.complete_profile(&talent).await;
    // A name of its own, to look for after an erasure.
    let name = format!("Zelda Q{}", &new_key()[..8]);
    let res = app
        .update_me(&talent, &json!({ "display_name": name }))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    app.new_grant(manager, talent.id, 500).await;
    assert_eq!(
        app.spend(&talent, &new_key(), 40).await.status(),
        StatusCode::CREATED
    );
    app.new_hold(&talent, 25, None).await;
    let mut spec = challenge_spec();
    spec["track"] = json!("preditor");
    spec["certifies_track"] = json!("preditor");
    let challenge = app.open_challenge(manager, &spec).await;
    // With a key: the remembered answer holds the work too.
    let mut work =
        crate::helpers::submission_spec(&format!("https://assets.example/{}.png", new_key()));
    work["workflow"] = json!({ "seed": 7, "lora": "https://assets.example/style.safetensors" });
    let res = app
        .post_idem(
            &format!("/api/v1/challenges/{challenge}/submissions"),
            Some(&talent.token),
            &new_key(),
            &work,
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED, "submit");
    let sub: Value = res.json().await.unwrap();
    let sub = sub["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.transition(manager, &challenge, "judging")
            .await
            .status(),
        StatusCode::OK
    );
    // The manager's review and certification with keys: their remembered
    // answers are about the talent.
    let res = app
        .review_with_key(
            manager,
            &sub,
            &new_key(),
            &review_spec(8.0, 8.0, "accepted", 2),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    app.enrol(talent.id, "preditor", 3).await;
    app.approve_playbook(admin, "preditor").await;
    let res = app
        .post_idem(
            &format!("/api/v1/talents/{}/tracks/preditor/certify", talent.id),
            Some(&manager.token),
            &new_key(),
            &json!({ "note": format!("{name} is ready") }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "certify");
    let standing: Value = res.json().await.unwrap();
    (
        talent,
        standing["certificate"]["id"].as_str().unwrap().to_owned(),
    )
}

both_backends! {
    async fn an_export_holds_my_data_and_nobody_elses(app: &TestApp) {
        let manager = app.new_manager().await;
        let admin = app.new_admin().await;
        let (talent, certificate) = busy_talent(app, &manager, &admin).await;
        let (other, _) = busy_talent(app, &manager, &admin).await;

        let res = app.export_me(&talent).await;
        assert_eq!(res.status(), StatusCode::OK);
        let text = res.text().await.unwrap();
        let data: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(data["account"]["email"], json!(talent.email));
        assert_eq!(data["account"]["profile_complete"], json!(true));
        assert_eq!(data["certificates"][0]["id"], json!(certificate));
        assert_eq!(data["submissions"].as_array().unwrap().len(), 1);
        assert_eq!(data["reviews_received"].as_array().unwrap().len(), 1);
        assert_eq!(data["holds"].as_array().unwrap().len(), 1);
        // Grant, spend, reward.
        assert_eq!(data["credit_transactions"].as_array().unwrap().len(), 3, "{}", data["credit_transactions"]);
        assert!(!data["tier_history"].as_array().unwrap().is_empty());
        assert!(!data["sessions"].as_array().unwrap().is_empty());
        assert_eq!(data["credits"]["held"], json!(25));
        // Nothing of the other talent.
        assert!(!text.contains(&other.email));
        assert!(!text.contains(&other.id.to_string()));
        // Signed in only.
        assert_eq!(app.get("/api/v1/me/export", None).await.status(), StatusCode::UNAUTHORIZED);
    }

    async fn erasure_removes_the_person_everywhere_and_keeps_the_books(app: &TestApp) {
        let manager = app.new_manager().await;
        let admin = app.new_admin().await;
        let (talent, certificate) = busy_talent(app, &manager, &admin).await;
        // The admin's audited changes hold snapshots of the account.
        let res = app.update_user(&admin, talent.id, &json!({ "roles": ["talent"] })).await;
        assert_eq!(res.status(), StatusCode::OK);
        let me: Value = app.me(Some(&talent.token)).await.json().await.unwrap();
        let handle = me["handle"].as_str().unwrap().to_owned();
        let name = me["display_name"].as_str().unwrap().to_owned();
        assert!(!app.tables_mentioning(&talent.email).await.is_empty());
        let remembered = "SELECT COUNT(*) AS n FROM idempotency_keys WHERE LOWER(CAST(response AS TEXT)) LIKE $1";
        let about = format!("%{}%", talent.id);
        assert!(app.query_sql::<Count>(remembered, [about.clone().into()]).await.unwrap().n >= 2, "the talent's submission and the manager's certification");

        assert_problem(app.erase_me(&talent, "not my password!!").await, 422, "validation_failed").await;
        assert_eq!(app.erase_me(&talent, PASSWORD).await.status(), StatusCode::NO_CONTENT);

        // Gone: no remembered answer is about the person any more…
        assert_eq!(app.query_sql::<Count>(remembered, [about.into()]).await.unwrap().n, 0);
        // …no table holds the address, the handle is replaced.
        assert_eq!(app.tables_mentioning(&talent.email).await, Vec::<String>::new());
        assert_eq!(app.tables_mentioning("https://assets.example/").await, Vec::<String>::new());
        // Nor the name (the certificate, its note, the audit log) or the handle.
        assert_eq!(app.tables_mentioning(&name).await, Vec::<String>::new());
        assert_eq!(app.tables_mentioning(&handle).await, Vec::<String>::new());
        assert_eq!(app.me(Some(&talent.token)).await.status(), StatusCode::UNAUTHORIZED);
        assert_problem(app.login(&talent.email, PASSWORD).await, 401, "invalid_credentials").await;
        assert_eq!(app.get(&format!("/api/v1/talents/{}", talent.id), None).await.status(), StatusCode::NOT_FOUND);
        let seen: Value = app
            .get(&format!("/api/v1/talents/{}", talent.id), Some(&manager.token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(seen["status"], json!("erased"));
        assert_ne!(seen["handle"], json!(handle));
        assert_eq!(seen["bio"], json!(null));
        assert_eq!(seen["portfolio_links"], json!([]));
        // The certificate is revoked and names nobody now.
        let cert: Value = app.certificate(&certificate).await.json().await.unwrap();
        assert_eq!(cert["status"], json!("revoked"));
        assert_eq!(cert["credential"], json!(""));

        // The books balance and the history still reads, under the pseudonym.
        app.ledger_ok(&admin).await;
        let history: Value = app
            .get(&format!("/api/v1/talents/{}/credits/transactions", talent.id), Some(&manager.token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(history["items"].as_array().unwrap().len(), 3);
        let tiers: Value = app.tier_history(&manager, &talent, "").await.json().await.unwrap();
        assert!(!tiers["items"].as_array().unwrap().is_empty());
        let audit: Value = app
            .get(&format!("/api/v1/admin/audit-log?target_id={}", talent.id), Some(&admin.token))
            .await
            .json()
            .await
            .unwrap();
        let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"user.erase") && actions.contains(&"user.update"), "{actions:?}");

        // Final: no reactivation, no second erasure; the address is free again.
        assert_problem(app.update_user(&admin, talent.id, &json!({ "status": "active" })).await, 404, "not_found").await;
        assert_problem(app.update_user(&admin, talent.id, &json!({ "status": "erased" })).await, 422, "validation_failed").await;
        assert_problem(app.erase_user(&admin, talent.id).await, 404, "not_found").await;
        assert_eq!(app.register(&talent.email, "back_again").await.status(), StatusCode::CREATED);
    }

    async fn an_admin_erases_a_placed_talent_and_the_slot_opens(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        let (pod, slots) = app.pod_with_slots(&lead, 2, &["preditor"]).await;
        let (talent, nomination) = app.nominated(&manager, "preditor").await;
        assert_eq!(app.accept(&lead, &nomination, &slots[0]).await.status(), StatusCode::OK);
        let (pending, pending_nomination) = app.nominated(&manager, "preditor").await;

        // Nobody else erases.
        assert_problem(app.erase_user(&manager, talent.id).await, 403, "forbidden").await;
        assert_problem(app.erase_user(&pending, talent.id).await, 403, "forbidden").await;
        assert_problem(app.erase_user(&admin, uuid::Uuid::now_v7()).await, 404, "not_found").await;

        assert_eq!(app.erase_user(&admin, talent.id).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.erase_user(&admin, pending.id).await.status(), StatusCode::NO_CONTENT);
        let p: Value = app.get_pod(&lead, &pod).await.json().await.unwrap();
        assert_eq!(p["slots"][0]["status"], json!("open"), "{p}");
        let n: Value = app.handoff(&lead, &pending_nomination).await.json().await.unwrap();
        assert_eq!(n["nomination"]["status"], json!("withdrawn"), "{n}");
        assert_eq!(app.tables_mentioning(&talent.email).await, Vec::<String>::new());
        app.ledger_ok(&admin).await;
    }
}

both_backends! {
    async fn the_account_routes_need_a_sign_in(app: &TestApp) {
        let res = app.post("/api/v1/me/email", None, &json!({ "new_email": "x@example.com", "password": PASSWORD })).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let res = app.client.delete(format!("{}/api/v1/me", app.address)).json(&json!({ "password": PASSWORD })).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let res = app.client.delete(format!("{}/api/v1/admin/users/{}", app.address, uuid::Uuid::now_v7())).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        // A talent does not erase anyone else.
        let talent = app.new_talent().await;
        let other = app.new_talent().await;
        assert_problem(app.erase_user(&talent, other.id).await, 403, "forbidden").await;
        assert_eq!(app.me(Some(&other.token)).await.status(), StatusCode::OK);
    }
}
