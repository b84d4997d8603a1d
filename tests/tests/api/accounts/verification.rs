//! Registering mails a single-use, expiring link; until it is followed a
//! talent can sign in and edit its profile but not claim an allowance,
//! submit, or be certified or nominated.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem, new_key, submission_spec};

both_backends! {
    async fn a_new_address_is_verified_once_by_its_link(app: &TestApp) {
        let talent = app.new_unverified_talent().await;
        let me: Value = app.me(Some(&talent.token)).await.json().await.unwrap();
        assert_eq!(me["email_verified"], json!(false));
        // Signing in and editing the profile work unverified.
        app.complete_profile(&talent).await;

        // The allowance waits for the address, and that refusal is not
        // remembered by the key: the same key works once verified.
        let key = new_key();
        assert_problem(app.claim_allowance(&talent, &key).await, 403, "email_unverified").await;

        assert_problem(app.verify_email("ve_not-a-real-token").await, 400, "invalid_token").await;
        assert_problem(app.verify_email("pr_wrong-kind").await, 400, "invalid_token").await;
        let token = app.mailed_token(&talent.email, "ve_").await;
        let res = app.verify_email(&token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let account: Value = res.json().await.unwrap();
        assert_eq!(account["email_verified"], json!(true));
        assert_eq!(account["email"], json!(talent.email));
        // Single use.
        assert_problem(app.verify_email(&token).await, 400, "invalid_token").await;

        let me: Value = app.me(Some(&talent.token)).await.json().await.unwrap();
        assert_eq!(me["email_verified"], json!(true));
        assert_eq!(app.claim_allowance(&talent, &key).await.status(), StatusCode::CREATED);
        // Verified: a new link is refused.
        assert_problem(app.resend_verification(&talent).await, 409, "email_already_verified").await;
    }

    async fn an_expired_link_is_refused_and_a_new_one_replaces_the_old(app: &TestApp) {
        let talent = app.new_unverified_talent().await;
        let first = app.mailed_token(&talent.email, "ve_").await;
        app.exec_sql(
            "UPDATE account_tokens SET expires_at = $1 WHERE user_id = $2",
            [(chrono::Utc::now() - chrono::Duration::seconds(1)).into(), talent.id.into()],
        )
        .await;
        assert_problem(app.verify_email(&first).await, 400, "invalid_token").await;

        assert_eq!(app.resend_verification(&talent).await.status(), StatusCode::ACCEPTED);
        let second = app.mailed_token(&talent.email, "ve_").await;
        assert_ne!(first, second);
        assert_eq!(app.resend_verification(&talent).await.status(), StatusCode::ACCEPTED);
        let third = app.mailed_token(&talent.email, "ve_").await;
        // Only the newest link works.
        assert_problem(app.verify_email(&second).await, 400, "invalid_token").await;
        assert_eq!(app.verify_email(&third).await.status(), StatusCode::OK);
        // Resending needs a sign-in.
        let res = app.post("/api/v1/auth/verify-email/resend", None, &json!(null)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }

    async fn an_unverified_talent_cannot_submit_or_be_certified_or_nominated(app: &TestApp) {
        let manager = app.new_manager().await;
        let talent = app.new_unverified_talent().await;
        let challenge = app.open_challenge(&manager, &crate::helpers::challenge_spec()).await;
        assert_problem(
            app.submit(&talent, &challenge, &submission_spec("https://x.example/a.png")).await,
            403,
            "email_unverified",
        )
        .await;
        app.enrol(talent.id, "preditor", 3).await;
        assert_problem(app.certify(&manager, &talent, "preditor").await, 403, "email_unverified").await;
        app.exec_sql(
            "UPDATE talent_tracks SET tier = 4 WHERE talent_id = $1",
            [talent.id.into()],
        )
        .await;
        assert_problem(app.nominate(&manager, &talent, "preditor", None).await, 403, "email_unverified").await;
        app.give_certificate(talent.id, "preditor").await;

        // Verified, the same talent gets through.
        let token = app.mailed_token(&talent.email, "ve_").await;
        assert_eq!(app.verify_email(&token).await.status(), StatusCode::OK);
        assert_eq!(
            app.nominate(&manager, &talent, "preditor", None).await.status(),
            StatusCode::CREATED
        );
    }

    async fn staff_see_the_flag_and_filter_by_it(app: &TestApp) {
        let manager = app.new_manager().await;
        let verified = app.new_talent().await;
        let unverified = app.new_unverified_talent().await;
        let ids = |v: &Value| -> Vec<String> {
            v["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
        };
        let no: Value = app
            .get("/api/v1/talents?email_verified=false&limit=100", Some(&manager.token))
            .await
            .json()
            .await
            .unwrap();
        assert!(ids(&no).contains(&unverified.id.to_string()));
        assert!(!ids(&no).contains(&verified.id.to_string()));
        let yes: Value = app
            .get("/api/v1/talents?email_verified=true&limit=100", Some(&manager.token))
            .await
            .json()
            .await
            .unwrap();
        assert!(ids(&yes).contains(&verified.id.to_string()));
        assert!(!ids(&yes).contains(&unverified.id.to_string()));
        let bad = app.get("/api/v1/talents?email_verified=perhaps", Some(&manager.token)).await;
        assert_problem(bad, 422, "validation_failed").await;

        let staff_view: Value = app
            .get(&format!("/api/v1/talents/{}", unverified.id), Some(&manager.token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(staff_view["email_verified"], json!(false));
        let public: Value = app
            .get(&format!("/api/v1/talents/{}", unverified.id), None)
            .await
            .json()
            .await
            .unwrap();
        assert!(public.get("email_verified").is_none(), "{public}");
        // A talent does not search.
        let res = app.get("/api/v1/talents?email_verified=false", Some(&verified.token)).await;
        assert_problem(res, 403, "forbidden").await;
    }
}
