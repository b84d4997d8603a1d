//! `TestApp`: the real application on port 0, started and stopped here, and
//! `both_backends!`, which defines each test on SQLite and on PostgreSQL.
//!
//! Each app has its own database (a temp SQLite file, or a fresh PostgreSQL
//! database when `TEST_DATABASE_URL` is set) and, with `TEST_REDIS_URL`, Redis
//! under a key prefix of its own. The calls a test makes live next door, one
//! method per endpoint, grouped by area:
//! - [`http`]: the plain verbs (`get`, `post`, `post_idem`, …), [`Answer`],
//!   [`assert_problem`] and [`new_key`];
//! - [`auth`]: registering, signing in, `/me`, and new talents, managers, admins;
//! - [`admin`]: users, API keys, the audit log;
//! - [`credits`]: grants, spends, holds, reversals, the allowance, balances,
//!   history and the ledger check.
//!
//! Each endpoint method returns the raw `Response`, for the test to judge;
//! the few `new_…`/`balance…`/`…_history` conveniences next to them assert
//! success and return what was made or read.

use std::sync::Once;

use kartel_api::configuration::{Secret, Settings};
use kartel_api::startup::Application;
use uuid::Uuid;

mod admin;
mod auth;
mod challenges;
mod credits;
mod http;

pub use challenges::{challenge_spec, review_spec, submission_spec};
use http::with_query;
pub use http::{Answer, assert_problem, new_key};

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

    /// `"sqlite"` or `"postgres"`, for what a test prints.
    pub fn backend_name(&self) -> &'static str {
        if self.settings.is_sqlite() {
            "sqlite"
        } else {
            "postgres"
        }
    }
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
