//! Logging out on one instance ends the session on every instance: two apps
//! on one PostgreSQL database and one Redis, sharing the signing key, as
//! behind a load balancer. PostgreSQL only, like `instances.rs`: SQLite is
//! one machine's database.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, PASSWORD, TestApp, assert_problem};

/// A second instance of `a`: its database, Redis prefix, signing key and
/// mail sink.
async fn second_instance(a: &TestApp) -> TestApp {
    let (url, prefix, key_file, smtp) = (
        a.settings.database_url.clone(),
        a.settings.redis_prefix.clone(),
        a.settings.signing_key_file.clone(),
        a.settings.smtp_url.clone(),
    );
    TestApp::spawn_with(Backend::Postgres, move |s| {
        s.database_url = url;
        s.redis_prefix = prefix;
        s.signing_key_file = key_file;
        s.smtp_url = smtp;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set TEST_DATABASE_URL (and TEST_REDIS_URL) to run the PostgreSQL variant"
)]
async fn logout_on_one_instance_refuses_the_token_on_the_other() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = second_instance(&a).await;
    let talent = a.new_talent().await;
    // A second session of the same person, signed in on b.
    let res = b.login(&talent.email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let other: Value = res.json().await.unwrap();
    let other_token = other["access_token"].as_str().unwrap().to_owned();

    // Before: the token works on both.
    for app in [&a, &b] {
        assert_eq!(app.me(Some(&talent.token)).await.status(), StatusCode::OK);
    }

    assert_eq!(a.logout(&talent).await.status(), StatusCode::NO_CONTENT);

    // At once on b, the instance that did not see the logout: neither the
    // access token nor the session's refresh token.
    let res = b.me(Some(&talent.token)).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "b still takes the access token a logged out"
    );
    assert_problem(res, 401, "session_revoked").await;
    let res = b.refresh(&talent.refresh).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "b still takes the refresh token of the session a ended"
    );
    assert_problem(res, 401, "session_revoked").await;
    assert_problem(a.me(Some(&talent.token)).await, 401, "session_revoked").await;
    // The other session goes on, on either instance.
    for app in [&a, &b] {
        assert_eq!(app.me(Some(&other_token)).await.status(), StatusCode::OK);
    }

    b.stop().await;
    a.stop().await;
}
