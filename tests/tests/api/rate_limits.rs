//! Rate limits of the sign-in endpoints beyond login and refresh (those are
//! in `auth`): registration, whose client IP counts (`X-Forwarded-For` only
//! when trusted), and Redis failing open.

use std::time::Duration;

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use crate::both_backends;
use crate::helpers::{Backend, PASSWORD, TestApp, assert_problem};

/// Asserts a 429 `rate_limited` with a sane `Retry-After` (seconds, within the minute window).
async fn assert_limited(res: Response) {
    let retry_after: u64 = res
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (1..=60).contains(&retry_after),
        "Retry-After: {retry_after}"
    );
    assert_problem(res, 429, "rate_limited").await;
}

/// `POST /auth/refresh` with a made-up token, as a client behind `forwarded_for`.
async fn refresh_from(app: &TestApp, forwarded_for: Option<&str>) -> Response {
    let mut r = app
        .client
        .post(app.url("/api/v1/auth/refresh"))
        .json(&json!({ "refresh_token": "rt_made_up" }));
    if let Some(ip) = forwarded_for {
        r = r.header("X-Forwarded-For", ip);
    }
    r.send().await.unwrap()
}

both_backends! {
    #[settings(|s| {
        s.auth_rate_limit_per_ip = 4;
        s.auth_rate_limit_per_account = 2;
    })]
    async fn registration_is_rate_limited_per_client_and_per_email(app: &TestApp) {
        assert_eq!(app.register("one@example.com", "one_1").await.status(), StatusCode::CREATED);
        assert_problem(app.register("one@example.com", "one_2").await, 409, "email_taken").await;
        // A third try for one email within the minute.
        assert_limited(app.register("ONE@example.com", "one_3").await).await;
        // Another email, from the same client: the client's fourth and last this minute.
        assert_eq!(app.register("two@example.com", "two_1").await.status(), StatusCode::CREATED);
        assert_limited(app.register("three@example.com", "three_1").await).await;
        // Signing in is counted apart.
        assert_eq!(app.login("two@example.com", PASSWORD).await.status(), StatusCode::OK);
    }

    #[settings(|s| s.auth_rate_limit_per_ip = 2)]
    async fn an_untrusted_x_forwarded_for_does_not_change_the_client(app: &TestApp) {
        assert_eq!(refresh_from(app, Some("203.0.113.1")).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refresh_from(app, Some("203.0.113.2")).await.status(), StatusCode::UNAUTHORIZED);
        assert_limited(refresh_from(app, Some("203.0.113.3")).await).await;
        assert_limited(refresh_from(app, None).await).await;
    }

    #[settings(|s| {
        s.auth_rate_limit_per_ip = 2;
        s.trust_forwarded_for = true;
    })]
    async fn a_trusted_x_forwarded_for_is_the_client(app: &TestApp) {
        for _ in 0..2 {
            assert_eq!(refresh_from(app, Some("203.0.113.1")).await.status(), StatusCode::UNAUTHORIZED);
        }
        assert_limited(refresh_from(app, Some("203.0.113.1")).await).await;
        // The first address of the chain is the client's.
        assert_limited(refresh_from(app, Some("203.0.113.1, 10.0.0.1")).await).await;
        // Other clients have their own count, the proxy's own address included.
        assert_eq!(refresh_from(app, Some("203.0.113.2")).await.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(refresh_from(app, Some("10.0.0.1, 203.0.113.1")).await.status(), StatusCode::UNAUTHORIZED);
        for _ in 0..2 {
            assert_eq!(refresh_from(app, None).await.status(), StatusCode::UNAUTHORIZED);
        }
        assert_limited(refresh_from(app, None).await).await;
    }
}

/// A TCP proxy in front of Redis that can be cut: the app connects through
/// it, so Redis can "go away" after the app has started.
pub(crate) struct RedisProxy {
    pub(crate) url: String,
    task: JoinHandle<()>,
}

impl RedisProxy {
    pub(crate) async fn start(redis_url: &str) -> Self {
        let rest = redis_url
            .strip_prefix("redis://")
            .expect("TEST_REDIS_URL is redis://…");
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (userinfo, target) = match authority.rsplit_once('@') {
            Some((u, t)) => (format!("{u}@"), t.to_owned()),
            None => (String::new(), authority.to_owned()),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            // Dropped with this task: every forwarded connection ends with it.
            let mut connections = JoinSet::new();
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                let target = target.clone();
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
        Self {
            url: format!("redis://{userinfo}127.0.0.1:{port}/{path}"),
            task,
        }
    }

    /// Closes the listening port and every open connection.
    pub(crate) async fn cut(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn ready(app: &TestApp) -> (StatusCode, Value) {
    let res = app.get("/readyz", None).await;
    (res.status(), res.json().await.unwrap())
}

/// PostgreSQL + Redis only: the limits of every instance live in Redis. A
/// Redis outage must not lock everyone out: the limiter fails open (and
/// `/readyz` says Redis is unavailable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(all(postgres_tests, redis_tests)),
    ignore = "set TEST_DATABASE_URL and TEST_REDIS_URL to run the PostgreSQL + Redis test"
)]
async fn when_redis_goes_away_the_rate_limits_fail_open() {
    let redis = crate::helpers::redis_url().expect("TEST_REDIS_URL is not set");
    let proxy = RedisProxy::start(&redis).await;
    let proxied = proxy.url.clone();
    let app = TestApp::spawn_with(Backend::Postgres, |s| {
        s.redis_url = Some(kartel_api::configuration::Secret::new(proxied));
        s.auth_rate_limit_per_account = 2;
    })
    .await;
    assert_eq!(
        ready(&app).await,
        (
            StatusCode::OK,
            json!({"status": "ok", "database": "ok", "redis": "ok"})
        )
    );
    let u = app.new_talent().await; // the first login of this email
    assert_problem(
        app.login(&u.email, "wrong password!!").await,
        401,
        "invalid_credentials",
    )
    .await;
    assert_limited(app.login(&u.email, PASSWORD).await).await;

    proxy.cut().await;
    // The limiter cannot count: the request is let through, not refused. It
    // is slow (each count waits for the Redis client to give up reconnecting:
    // about 10 s on this machine), so only an answer within a minute is asked.
    let started = std::time::Instant::now();
    let res = tokio::time::timeout(Duration::from_secs(60), app.login(&u.email, PASSWORD))
        .await
        .expect("an answer while Redis is gone");
    assert_eq!(res.status(), StatusCode::OK);
    eprintln!("a login with Redis gone took {:?}", started.elapsed());
    // Only the status: the Health body of a 503 does not reach the client
    // (the error handler of the app replaces it with a problem document).
    assert_eq!(
        app.get("/readyz", None).await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(app.get("/healthz", None).await.status(), StatusCode::OK);
    app.stop().await;
}
