//! Two instances of the service on one PostgreSQL database and one Redis,
//! sharing the signing key, as behind a load balancer: the books, the
//! idempotency keys, the rate limits and revocations hold across them.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_problem, new_key};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set TEST_DATABASE_URL (and TEST_REDIS_URL) to run the PostgreSQL variant"
)]
async fn two_instances_share_the_books_the_rate_limits_and_revocations() {
    let tune = |s: &mut kartel_api::configuration::Settings| {
        s.auth_rate_limit_per_account = 5;
        s.api_key_cache_seconds = 1;
    };
    let a = TestApp::spawn_with(Backend::Postgres, tune).await;
    let (url, prefix, key_file, smtp) = (
        a.settings.database_url.clone(),
        a.settings.redis_prefix.clone(),
        a.settings.signing_key_file.clone(),
        a.settings.smtp_url.clone(),
    );
    let b = TestApp::spawn_with(Backend::Postgres, move |s| {
        tune(s);
        s.database_url = url;
        s.redis_prefix = prefix;
        s.signing_key_file = key_file;
        // Either instance's mailer may send a's mail: one sink for both.
        s.smtp_url = smtp;
    })
    .await;
    let both = [&a, &b];

    // Spends on both instances, each retried on the other with its key:
    // every one lands once.
    let manager = a.new_manager().await;
    let talent = a.new_talent().await;
    assert_eq!(
        a.grant(&manager, &new_key(), talent.id, 1000)
            .await
            .status(),
        StatusCode::CREATED
    );
    let keys: Vec<String> = (0..30).map(|_| new_key()).collect();
    let first = futures::future::join_all(
        keys.iter()
            .enumerate()
            .map(|(i, k)| both[i % 2].spend(&talent, k, 10)),
    )
    .await;
    let retries = futures::future::join_all(
        keys.iter()
            .enumerate()
            .map(|(i, k)| both[(i + 1) % 2].spend(&talent, k, 10)),
    )
    .await;
    for (x, y) in first.into_iter().zip(retries) {
        assert_eq!(
            (x.status(), y.status()),
            (StatusCode::CREATED, StatusCode::CREATED)
        );
        assert_eq!(
            x.text().await.unwrap(),
            y.text().await.unwrap(),
            "a retry on the other instance replays"
        );
    }
    assert_eq!(a.balance(&talent).await, (700, 0));
    assert_eq!(b.balance(&talent).await, (700, 0));

    // The per-account sign-in limit counts across instances (5 a minute).
    let limited = a.new_talent().await;
    let mut answers = Vec::new();
    for i in 0..8 {
        let res = both[i % 2]
            .login(&limited.email, "not the password at all")
            .await;
        answers.push(res.status());
    }
    // Signing in (when the talent was made) took one of the five; four
    // wrong passwords are answered, the rest refused, whichever instance
    // is asked.
    let (u, t) = (StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answers, [u, u, u, u, t, t, t, t], "the limit is shared");

    // A suspension on one instance holds on the other at once.
    let admin = a.new_admin().await;
    let res = a
        .update_user(&admin, talent.id, &json!({"status": "suspended"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(b.me(Some(&talent.token)).await, 401, "session_revoked").await;

    // A key revoked on one instance stops on the other within its cache time.
    let res = a.create_api_key(&admin, "svc", &["credits:spend"]).await;
    let created: Value = res.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    let payer = a.new_talent().await;
    a.grant(&manager, &new_key(), payer.id, 100).await;
    let body = json!({ "talent_id": payer.id, "amount": 1, "purpose": "render" });
    let spend = async |app: &TestApp| {
        app.post_service("/api/v1/credits/spends", &secret, &new_key(), &body)
            .await
            .status()
    };
    assert_eq!(spend(&b).await, StatusCode::CREATED);
    let res = a
        .revoke_api_key(&admin, created["id"].as_str().unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        spend(&a).await,
        StatusCode::UNAUTHORIZED,
        "at once where it was revoked"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        spend(&b).await,
        StatusCode::UNAUTHORIZED,
        "within the cache time elsewhere"
    );

    a.assert_books_balance().await;
    b.stop().await;
    a.stop().await;
}
