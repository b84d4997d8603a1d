//! Password reset by mail, and changing one's address.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, PASSWORD, TestApp, assert_problem};

const NEW_PASSWORD: &str = "a brand new passphrase";

both_backends! {
    async fn a_reset_answers_alike_for_known_and_unknown_addresses(app: &TestApp) {
        let talent = app.new_talent().await;
        let unknown = "nobody-here@example.com";
        let mut bodies = Vec::new();
        for _ in 0..5 {
            for email in [talent.email.as_str(), unknown] {
                let res = app.request_password_reset(email).await;
                assert_eq!(res.status(), StatusCode::ACCEPTED);
                bodies.push(res.text().await.unwrap());
            }
        }
        // The same body, whoever asked. (That the answer times are alike too
        // is measured by `tests/bench/reset_timing.sh`: a timing comparison
        // is noise on a busy machine, not a test.)
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
        // Only the known address gets mail.
        app.mailed_token(&talent.email, "pr_").await;
        assert_eq!(app.outbox_count(unknown).await, 0);
    }

    async fn a_reset_link_sets_the_password_once_and_ends_every_session(app: &TestApp) {
        let talent = app.new_unverified_talent().await;
        assert_eq!(app.request_password_reset(&talent.email.to_uppercase()).await.status(), StatusCode::ACCEPTED);
        let token = app.mailed_token(&talent.email, "pr_").await;

        // A password too short is refused and leaves the token usable.
        assert_problem(app.confirm_password_reset(&token, "short").await, 422, "validation_failed").await;
        assert_problem(app.confirm_password_reset("pr_made-up", NEW_PASSWORD).await, 400, "invalid_token").await;
        // A verification token is no reset token.
        let verify = app.mailed_token(&talent.email, "ve_").await;
        assert_problem(app.confirm_password_reset(&verify, NEW_PASSWORD).await, 400, "invalid_token").await;

        assert_eq!(app.confirm_password_reset(&token, NEW_PASSWORD).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.confirm_password_reset(&token, NEW_PASSWORD).await, 400, "invalid_token").await;
        // Every session ended; the old password is gone; the new one works.
        assert_eq!(app.me(Some(&talent.token)).await.status(), StatusCode::UNAUTHORIZED);
        assert_problem(app.refresh(&talent.refresh).await, 401, "session_revoked").await;
        assert_problem(app.login(&talent.email, PASSWORD).await, 401, "invalid_credentials").await;
        let res = app.login(&talent.email, NEW_PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK);
        let token: Value = res.json().await.unwrap();
        // The mail reached the address: it counts as verified.
        let me: Value = app.me(Some(token["access_token"].as_str().unwrap())).await.json().await.unwrap();
        assert_eq!(me["email_verified"], json!(true));
    }

    async fn an_expired_or_superseded_reset_link_is_refused(app: &TestApp) {
        let talent = app.new_talent().await;
        app.request_password_reset(&talent.email).await;
        let first = app.mailed_token(&talent.email, "pr_").await;
        app.exec_sql(
            "UPDATE account_tokens SET expires_at = $1 WHERE user_id = $2 AND purpose = 'password_reset'",
            [(chrono::Utc::now() - chrono::Duration::seconds(1)).into(), talent.id.into()],
        )
        .await;
        assert_problem(app.confirm_password_reset(&first, NEW_PASSWORD).await, 400, "invalid_token").await;
        app.request_password_reset(&talent.email).await;
        let second = wait_for_new_token(app, &talent.email, &first).await;
        app.request_password_reset(&talent.email).await;
        let third = wait_for_new_token(app, &talent.email, &second).await;
        assert_problem(app.confirm_password_reset(&second, NEW_PASSWORD).await, 400, "invalid_token").await;
        assert_eq!(app.confirm_password_reset(&third, NEW_PASSWORD).await.status(), StatusCode::NO_CONTENT);
    }

    async fn changing_the_address_verifies_the_new_one_and_tells_the_old(app: &TestApp) {
        let talent = app.new_talent().await;
        let other = app.new_talent().await;
        let new_email = format!("new-{}", talent.email);
        assert_problem(app.change_email(&talent, &new_email, "wrong password!!").await, 422, "validation_failed").await;
        assert_problem(app.change_email(&talent, "not an address", PASSWORD).await, 422, "validation_failed").await;
        assert_problem(app.change_email(&talent, &other.email, PASSWORD).await, 409, "email_taken").await;
        assert_problem(app.change_email(&talent, &talent.email, PASSWORD).await, 422, "validation_failed").await;

        assert_eq!(app.change_email(&talent, &new_email, PASSWORD).await.status(), StatusCode::ACCEPTED);
        let token = app.mailed_token(&new_email, "ve_").await;
        #[derive(sea_orm::FromQueryResult)]
        struct Body {
            body: String,
        }
        let notice: Body = app
            .query_sql(
                "SELECT body FROM mail_outbox WHERE to_address = $1 AND kind = 'email_change_notice'",
                [talent.email.clone().into()],
            )
            .await
            .expect("a notice to the old address");
        assert!(notice.body.contains(&new_email), "{}", notice.body);
        // Until the link is followed, the old address signs in.
        assert_eq!(app.login(&talent.email, PASSWORD).await.status(), StatusCode::OK);

        let res = app.verify_email(&token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let account: Value = res.json().await.unwrap();
        assert_eq!(account["email"], json!(new_email));
        assert_eq!(account["email_verified"], json!(true));
        assert_problem(app.login(&talent.email, PASSWORD).await, 401, "invalid_credentials").await;
        assert_eq!(app.login(&new_email, PASSWORD).await.status(), StatusCode::OK);
        // The old address is free again.
        assert_eq!(app.register(&talent.email, "someone_new").await.status(), StatusCode::CREATED);
    }

    async fn taking_the_account_back_ends_a_pending_email_change(app: &TestApp) {
        let talent = app.new_talent().await;
        let theirs = format!("attacker-{}", talent.email);
        assert_eq!(app.change_email(&talent, &theirs, PASSWORD).await.status(), StatusCode::ACCEPTED);
        let token = app.mailed_token(&theirs, "ve_").await;
        // The owner changes the password, as the notice tells them.
        assert_eq!(app.change_password(&talent, PASSWORD, NEW_PASSWORD).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.verify_email(&token).await, 400, "invalid_token").await;
        let me: Value = app.me(Some(&talent.token)).await.json().await.unwrap();
        assert_eq!(me["email"], json!(talent.email));
    }

    async fn a_new_address_taken_meanwhile_is_refused_at_the_link(app: &TestApp) {
        let talent = app.new_talent().await;
        let wanted = format!("wanted-{}", talent.email);
        assert_eq!(app.change_email(&talent, &wanted, PASSWORD).await.status(), StatusCode::ACCEPTED);
        let token = app.mailed_token(&wanted, "ve_").await;
        assert_eq!(app.register(&wanted, "quicker").await.status(), StatusCode::CREATED);
        assert_problem(app.verify_email(&token).await, 409, "email_taken").await;
        let me: Value = app.me(Some(&talent.token)).await.json().await.unwrap();
        assert_eq!(me["email"], json!(talent.email));
    }
}

/// The newest reset token mailed to `to`, once it is not `old`.
async fn wait_for_new_token(app: &TestApp, to: &str, old: &str) -> String {
    for _ in 0..100 {
        let t = app.mailed_token(to, "pr_").await;
        if t != old {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no new reset token for {to}");
}

async fn reset_rate_limit_case(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.auth_rate_limit_per_ip = 1000;
        s.auth_rate_limit_per_account = 2;
    })
    .await;
    // Per address, known or not, with the same answer.
    for email in ["limited@example.com", "LIMITED@example.com"] {
        assert_eq!(
            app.request_password_reset(email).await.status(),
            StatusCode::ACCEPTED
        );
    }
    let res = app.request_password_reset("limited@example.com").await;
    assert!(res.headers().get("retry-after").is_some());
    assert_problem(res, 429, "rate_limited").await;
    assert_eq!(
        app.request_password_reset("other@example.com")
            .await
            .status(),
        StatusCode::ACCEPTED
    );
    app.stop().await;

    let app = TestApp::spawn_with(backend, |s| s.auth_rate_limit_per_ip = 2).await;
    for i in 0..2 {
        let res = app
            .request_password_reset(&format!("ip{i}@example.com"))
            .await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
    }
    assert_problem(
        app.request_password_reset("ip3@example.com").await,
        429,
        "rate_limited",
    )
    .await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_requests_are_rate_limited_per_address_and_ip_sqlite() {
    reset_rate_limit_case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set TEST_DATABASE_URL (and TEST_REDIS_URL) to run the PostgreSQL variant"
)]
async fn reset_requests_are_rate_limited_per_address_and_ip_postgres() {
    reset_rate_limit_case(Backend::Postgres).await;
}
