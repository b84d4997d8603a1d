//! `TestApp`: the real application on port 0 with its own database (a temp
//! SQLite file, or a fresh PostgreSQL database when `TEST_DATABASE_URL` is
//! set) and, with `TEST_REDIS_URL`, Redis under a key prefix of its own.

use std::sync::Once;

use kartel_api::configuration::{Secret, Settings};
use kartel_api::startup::Application;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: sea_orm::DatabaseConnection,
    pub settings: Settings,
    handle: actix_web::dev::ServerHandle,
    pg_name: Option<String>,
    _dir: tempfile_dir::TempDir,
}

/// A signed-in person as the tests use them.
#[derive(Clone, Debug)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub token: String,
    pub refresh: String,
}

mod tempfile_dir {
    /// A directory removed when dropped.
    pub struct TempDir(pub std::path::PathBuf);
    impl TempDir {
        pub fn new() -> Self {
            let p =
                std::env::temp_dir().join(format!("kartel-test-{}", uuid::Uuid::new_v4().simple()));
            std::fs::create_dir_all(&p).expect("temp dir");
            Self(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var("TEST_LOG").is_ok() {
            kartel_api::telemetry::init("text");
        }
    });
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts an app; `None` for PostgreSQL when `TEST_DATABASE_URL` is unset.
    pub async fn spawn_with(
        backend: Backend,
        tweak: impl FnOnce(&mut Settings),
    ) -> Option<TestApp> {
        init_logs();
        let dir = tempfile_dir::TempDir::new();
        let mut s = Settings::default();
        let mut pg_name = None;
        match backend {
            Backend::Sqlite => {
                s.database_url = Secret::new(format!("sqlite://{}/kartel.db", dir.0.display()));
            }
            Backend::Postgres => {
                let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
                    eprintln!(
                        "TEST_DATABASE_URL is not set: skipping the PostgreSQL run of this test"
                    );
                    return None;
                };
                let name = format!("kartel_t_{}", Uuid::new_v4().simple());
                let url = kartel_tests::create_pg_database(&admin, &name)
                    .await
                    .expect("create test database");
                s.database_url = Secret::new(url);
                pg_name = Some(name);
                if let Ok(r) = std::env::var("TEST_REDIS_URL") {
                    s.redis_url = Some(Secret::new(r));
                }
            }
        }
        s.addr = "127.0.0.1:0".parse().expect("addr");
        s.signing_key_file = Some(dir.0.join("signing-key.pem"));
        s.redis_prefix = format!("kartel-test:{}", Uuid::new_v4().simple());
        s.auth_rate_limit_per_ip = 100_000;
        s.auth_rate_limit_per_account = 100_000;
        s.workers = Some(2);
        s.database_max_connections = 8;
        s.shutdown_timeout_seconds = 1;
        tweak(&mut s);
        let app = Application::build(s.clone())
            .await
            .expect("application starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let db = app.db();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        Some(TestApp {
            address,
            client: reqwest::Client::builder().build().expect("client"),
            db,
            settings: s,
            handle,
            pg_name,
            _dir: dir,
        })
    }

    /// Stops the server and drops its PostgreSQL database.
    pub async fn stop(self) {
        self.handle.stop(false).await;
        let _ = self.db.close_by_ref().await;
        if let (Some(name), Ok(admin)) = (&self.pg_name, std::env::var("TEST_DATABASE_URL")) {
            let _ = kartel_tests::drop_pg_database(&admin, name).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut r = self.client.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut r = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    /// A POST with an `Idempotency-Key`.
    pub async fn post_idem(
        &self,
        path: &str,
        token: Option<&str>,
        key: &str,
        body: &Value,
    ) -> Response {
        let mut r = self
            .client
            .post(self.url(path))
            .header("Idempotency-Key", key)
            .json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    /// A POST with an API key and an `Idempotency-Key`.
    pub async fn post_service(
        &self,
        path: &str,
        api_key: &str,
        key: &str,
        body: &Value,
    ) -> Response {
        self.client
            .post(self.url(path))
            .header("X-Api-Key", api_key)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut r = self.client.patch(self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        let mut r = self.client.delete(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn register(&self, email: &str, handle: &str) -> Response {
        self.post(
            "/api/v1/auth/register",
            None,
            &json!({ "email": email, "password": PASSWORD, "handle": handle, "display_name": "Test Person" }),
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/login",
            None,
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    async fn sign_in(&self, id: Uuid, email: &str) -> User {
        let res = self.login(email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {email}");
        let t: Value = res.json().await.expect("json");
        User {
            id,
            email: email.to_owned(),
            token: t["access_token"].as_str().expect("access_token").to_owned(),
            refresh: t["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
        }
    }

    /// Registers and signs in a new talent.
    pub async fn new_talent(&self) -> User {
        let tag = Uuid::new_v4().simple().to_string();
        let email = format!("t{}@example.com", &tag[..12]);
        let res = self.register(&email, &format!("t{}", &tag[..12])).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json");
        let id = body["id"].as_str().expect("id").parse().expect("uuid");
        self.sign_in(id, &email).await
    }

    /// Creates an admin the way `kartel admin create` does, and signs in.
    pub async fn new_admin(&self) -> User {
        let tag = Uuid::new_v4().simple().to_string();
        let email = format!("a{}@example.com", &tag[..12]);
        let acct = kartel_domain::accounts::create_admin(
            &self.db,
            &email,
            PASSWORD,
            &format!("a{}", &tag[..12]),
            "Admin",
        )
        .await
        .expect("create admin");
        self.sign_in(acct.id, &email).await
    }

    /// A new person with `roles`, given by a new admin.
    pub async fn new_with_roles(&self, roles: &[&str]) -> User {
        let admin = self.new_admin().await;
        let user = self.new_talent().await;
        let res = self
            .patch(
                &format!("/api/v1/admin/users/{}", user.id),
                Some(&admin.token),
                &json!({ "roles": roles }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        user
    }

    pub async fn new_manager(&self) -> User {
        self.new_with_roles(&["community_manager"]).await
    }

    /// An API key with `scopes`, made by a new admin.
    pub async fn new_api_key(&self, scopes: &[&str]) -> String {
        let admin = self.new_admin().await;
        let res = self
            .post(
                "/api/v1/admin/api-keys",
                Some(&admin.token),
                &json!({ "name": "svc", "scopes": scopes }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json");
        body["secret"].as_str().expect("secret").to_owned()
    }

    /// Grants credits to `talent` by a new manager.
    pub async fn fund(&self, talent: Uuid, amount: i64) {
        let m = self.new_manager().await;
        let res = self
            .post_idem(
                "/api/v1/credits/grants",
                Some(&m.token),
                &Uuid::new_v4().to_string(),
                &json!({ "talent_id": talent, "amount": amount, "reason": "test funds" }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }

    pub async fn balance(&self, user: &User) -> (i64, i64) {
        let b: Value = self
            .get("/api/v1/me/credits", Some(&user.token))
            .await
            .json()
            .await
            .expect("json");
        (
            b["available"].as_i64().expect("available"),
            b["held"].as_i64().expect("held"),
        )
    }

    /// Runs the reconciliation as a new admin and asserts it is clean.
    pub async fn assert_books_balance(&self) {
        let admin = self.new_admin().await;
        let res = self
            .get("/api/v1/admin/ledger/check", Some(&admin.token))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let report: Value = res.json().await.expect("json");
        assert_eq!(report["ok"], json!(true), "ledger check: {report}");
    }
}

/// Reads a problem+json body and checks its status and code.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        ct.starts_with("application/problem+json"),
        "content-type was {ct}"
    );
    let body: Value = res.json().await.expect("problem json");
    assert_eq!(body["code"], json!(code), "problem: {body}");
    assert_eq!(body["status"], json!(status));
    body
}

/// Defines each test twice: on SQLite, and on PostgreSQL (+ Redis) when configured.
#[macro_export]
macro_rules! both_backends {
    ($(async fn $name:ident($app:ident: &TestApp) $body:block)*) => {
        $(
            mod $name {
                use super::*;
                async fn run($app: &TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = TestApp::spawn(Backend::Sqlite).await.expect("sqlite app");
                    run(&app).await;
                    app.stop().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = TestApp::spawn(Backend::Postgres).await {
                        run(&app).await;
                        app.stop().await;
                    }
                }
            }
        )*
    };
}
