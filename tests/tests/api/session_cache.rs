//! The session cache (`api/src/session_cache.rs`) never outlives a
//! revocation: with the cache on, two instances on one database and one
//! Redis, a session warmed into instance b's cache is refused by b at once
//! after a logout, suspension, password change, refresh-token reuse, role
//! change or erasure on instance a (the revocation's answer leaves a only
//! after every instance confirmed it); and when b loses Redis mid-test it
//! turns its cache off, checks the database and still refuses a revoked
//! token. Both backends
//! (two SQLite instances share one file, as on one machine); each needs
//! Redis, since without it the cache is off.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Backend, PASSWORD, TestApp, User, assert_problem, redis_url};
use crate::rate_limits::RedisProxy;

/// A second instance of `a`: its database, Redis prefix, signing key and
/// mail sink; `redis` overrides the Redis address (a proxy that can be cut).
async fn second_instance(a: &TestApp, backend: Backend, redis: Option<String>) -> TestApp {
    let (url, prefix, key_file, smtp) = (
        a.settings.database_url.clone(),
        a.settings.redis_prefix.clone(),
        a.settings.signing_key_file.clone(),
        a.settings.smtp_url.clone(),
    );
    let redis = redis.or_else(redis_url).expect("TEST_REDIS_URL is not set");
    TestApp::spawn_with(backend, move |s| {
        s.database_url = url;
        s.redis_prefix = prefix;
        s.signing_key_file = key_file;
        s.smtp_url = smtp;
        s.redis_url = Some(kartel_api::configuration::Secret::new(redis));
    })
    .await
}

/// Instance a, with Redis on either backend and the cache on.
async fn first_instance(backend: Backend) -> TestApp {
    let redis = redis_url().expect("TEST_REDIS_URL is not set");
    TestApp::spawn_with(backend, move |s| {
        s.redis_url = Some(kartel_api::configuration::Secret::new(redis));
        s.session_cache_seconds = 60;
    })
    .await
}

/// A counter of `/metrics`.
async fn counter(app: &TestApp, name: &str) -> u64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse::<f64>().ok())
        .map_or(0, |v| v as u64)
}

/// Reads `/me` on `app` until the session comes from its cache (the first
/// read checks the database): proof that the cache holds it.
async fn warm(app: &TestApp, token: &str) {
    let before = counter(app, "kartel_session_cache_hits_total").await;
    for _ in 0..2 {
        assert_eq!(app.me(Some(token)).await.status(), StatusCode::OK);
    }
    let after = counter(app, "kartel_session_cache_hits_total").await;
    assert!(
        after > before,
        "the session was not taken from the cache ({before} → {after} hits)"
    );
}

async fn refused(app: &TestApp, token: &str, what: &str) {
    let res = app.me(Some(token)).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "b still takes the token after {what} on a"
    );
}

/// `GET /admin/audit-log` (admins only): its status.
async fn audit_log(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/v1/admin/audit-log", Some(token))
        .await
        .status()
}

/// A second session of `who`, signed in on `app`: its access token.
async fn second_session(app: &TestApp, who: &User) -> String {
    let res = app.login(&who.email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_owned()
}

async fn every_revocation_reaches_the_other_instance_at_once(backend: Backend) {
    let a = first_instance(backend).await;
    let b = second_instance(&a, backend, None).await;
    let admin = a.new_admin().await;

    // Logout.
    let t = a.new_talent().await;
    warm(&b, &t.token).await;
    assert_eq!(a.logout(&t).await.status(), StatusCode::NO_CONTENT);
    let res = b.me(Some(&t.token)).await;
    assert_problem(res, 401, "session_revoked").await;

    // Suspension: every session of the person.
    let t = a.new_talent().await;
    let other = second_session(&b, &t).await;
    warm(&b, &t.token).await;
    warm(&b, &other).await;
    let res = a
        .update_user(&admin, t.id, &json!({ "status": "suspended" }))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    refused(&b, &t.token, "a suspension").await;
    refused(&b, &other, "a suspension").await;

    // Password change: the other sessions end, the changing one goes on.
    let t = a.new_talent().await;
    let other = second_session(&b, &t).await;
    warm(&b, &other).await;
    let res = a
        .change_password(&t, PASSWORD, "another long password 42")
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    refused(&b, &other, "a password change").await;
    assert_eq!(b.me(Some(&t.token)).await.status(), StatusCode::OK);

    // Refresh-token reuse ends the login.
    let t = a.new_talent().await;
    let res = a.refresh(&t.refresh).await;
    assert_eq!(res.status(), StatusCode::OK);
    let fresh: Value = res.json().await.unwrap();
    let fresh = fresh["access_token"].as_str().unwrap().to_owned();
    warm(&b, &fresh).await;
    assert_problem(a.refresh(&t.refresh).await, 401, "refresh_token_reused").await;
    refused(&b, &fresh, "refresh-token reuse").await;

    // Roles: given and taken back, each seen by b at once.
    let t = a.new_talent().await;
    warm(&b, &t.token).await;
    assert_eq!(audit_log(&b, &t.token).await, StatusCode::FORBIDDEN);
    let res = a
        .update_user(&admin, t.id, &json!({ "roles": ["admin"] }))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(audit_log(&b, &t.token).await, StatusCode::OK);
    warm(&b, &t.token).await;
    let res = a.update_user(&admin, t.id, &json!({ "roles": [] })).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(audit_log(&b, &t.token).await, StatusCode::FORBIDDEN);

    // Erasure, by the person and by an admin.
    let t = a.new_talent().await;
    warm(&b, &t.token).await;
    assert_eq!(
        a.erase_me(&t, PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );
    refused(&b, &t.token, "an erasure").await;
    let t = a.new_talent().await;
    warm(&b, &t.token).await;
    assert_eq!(
        a.erase_user(&admin, t.id).await.status(),
        StatusCode::NO_CONTENT
    );
    refused(&b, &t.token, "an erasure by an admin").await;

    b.stop().await;
    a.stop().await;
}

async fn without_redis_the_database_decides(backend: Backend) {
    let redis = redis_url().expect("TEST_REDIS_URL is not set");
    let proxy = RedisProxy::start(&redis).await;
    let a = first_instance(backend).await;
    let b = second_instance(&a, backend, Some(proxy.url.clone())).await;
    let t = a.new_talent().await;
    let other = a.new_talent().await;
    warm(&b, &t.token).await;
    warm(&b, &other.token).await;

    // b loses Redis; a logs t out (a still reaches Redis, but b cannot read
    // the mark): b checks the database.
    proxy.cut().await;
    // b notices at once that its subscription to revocations ended (the
    // connection closes) and turns its cache off; poll only for the
    // instant that takes, never for a revocation.
    let mut waited = 0;
    while counter(&b, "kartel_session_cache_on").await != 0 {
        assert!(waited < 200, "b kept its cache on after losing Redis");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
    }
    assert_eq!(a.logout(&t).await.status(), StatusCode::NO_CONTENT);
    let misses = counter(&b, "kartel_session_cache_misses_total").await;
    let hits = counter(&b, "kartel_session_cache_hits_total").await;
    assert_problem(b.me(Some(&t.token)).await, 401, "session_revoked").await;
    // The others still get in, from the database, never from the cache.
    for _ in 0..3 {
        assert_eq!(b.me(Some(&other.token)).await.status(), StatusCode::OK);
    }
    assert_eq!(
        counter(&b, "kartel_session_cache_hits_total").await,
        hits,
        "b took a session from its cache while it could not read Redis"
    );
    assert_eq!(
        counter(&b, "kartel_session_cache_misses_total").await,
        misses,
        "without Redis b does not even consult the cache"
    );

    b.stop().await;
    a.stop().await;
}

macro_rules! with_redis_on_both_backends {
    ($($name:ident),*) => {
        $(
            mod $name {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(redis_tests), ignore = "set TEST_REDIS_URL to run the session cache tests")]
                async fn sqlite() {
                    super::$name(Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(
                    not(all(postgres_tests, redis_tests)),
                    ignore = "set TEST_DATABASE_URL and TEST_REDIS_URL to run the PostgreSQL variant"
                )]
                async fn postgres() {
                    super::$name(Backend::Postgres).await;
                }
            }
        )*
    };
}

with_redis_on_both_backends!(
    every_revocation_reaches_the_other_instance_at_once,
    without_redis_the_database_decides
);
