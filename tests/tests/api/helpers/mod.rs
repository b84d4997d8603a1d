//! `TestApp`: the real application on port 0, started and stopped here, and
//! `both_backends!`, which defines each test on SQLite and on PostgreSQL.
//!
//! Each app has its own database (a temp SQLite file, or a fresh PostgreSQL
//! database on the server `TEST_DATABASE_URL` names, dropped again when the
//! app stops or the test panics) and, with `TEST_REDIS_URL`, Redis under a
//! key prefix of its own. Without `TEST_DATABASE_URL` at build time the
//! PostgreSQL variants are compiled as *ignored* (`build.rs`), so a run
//! without PostgreSQL says so in its counts instead of passing them. The calls a test makes live next door, one
//! method per endpoint, grouped by area:
//! - [`http`]: the plain verbs (`get`, `post`, `post_idem`, …), [`Answer`],
//!   [`assert_problem`] and [`new_key`];
//! - [`auth`]: registering, signing in, `/me`, and new talents, managers, admins;
//! - [`admin`]: users, API keys, the audit log;
//! - [`credits`]: grants, spends, holds, reversals, the allowance, balances,
//!   history and the ledger check;
//! - [`mail`]: tokens mailed to an address, and an SMTP server to send to;
//! - [`queue`]: the review queue (claims, their leases, its depth);
//! - [`sql`]: raw SQL for the states no endpoint makes (`exec_sql`, `query_sql`);
//! - [`webhooks`]: webhook endpoints, their attempts, the events feed and
//!   catalogue, and the settings and waits webhook tests use.
//!
//! Each endpoint method returns the raw `Response`, for the test to judge;
//! the few `new_…`/`balance…`/`…_history` conveniences next to them assert
//! success and return what was made or read.

use std::sync::Once;

use kartel_api::configuration::{Secret, Settings};
use kartel_api::startup::Application;
use uuid::Uuid;

mod admin;
mod appeals;
mod auth;
mod challenges;
mod credits;
mod http;
mod mail;
mod pods;
mod queue;
mod runs;
mod sql;
mod stream;
mod tiers;
mod webhooks;

pub use challenges::{appeal_spec, challenge_spec, panel_spec, review_spec, submission_spec};
use http::with_query;
pub use http::{Answer, assert_problem, new_key};
pub use mail::SmtpSink;
pub use runs::Loop;
pub use stream::{Sse, SseEvent};
pub use webhooks::{eventually, webhook_settings};

/// The proof that `user`, holding `role`, may do `A`: for the few tests that
/// call a domain operation directly with its clock injected.
pub fn allowed<A: kartel_domain::policy::Action>(
    user: &User,
    role: kartel_domain::types::Role,
) -> kartel_domain::policy::Allowed<A> {
    use kartel_domain::caller::{Caller, UserCaller};
    let caller = Caller::User(UserCaller {
        id: user.id,
        session_id: Uuid::now_v7(),
        roles: kartel_domain::types::Roles::new(vec![role]),
    });
    kartel_domain::policy::authorize(caller).expect("allowed")
}

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
    /// The app's SMTP server: every mail it sends arrives here (or at
    /// another app's, when a test points `smtp_url` there).
    pub mail: SmtpSink,
    handle: Option<actix_web::dev::ServerHandle>,
    /// The PostgreSQL database of this app, until `stop` or `Drop` drops it.
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

/// The PostgreSQL server the tests create their databases on, from
/// `TEST_DATABASE_URL`. A PostgreSQL variant that runs without it fails: it
/// is compiled as ignored unless the variable was set when the tests were
/// built (`build.rs`), and never passes without having run.
pub fn pg_admin_url() -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "TEST_DATABASE_URL is not set: this PostgreSQL test cannot run \
             (it is ignored unless TEST_DATABASE_URL is set when the tests are built)"
        ),
    }
}

/// The Redis server of the PostgreSQL variants, from `TEST_REDIS_URL`.
pub fn redis_url() -> Option<String> {
    std::env::var("TEST_REDIS_URL")
        .ok()
        .filter(|u| !u.is_empty())
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Starts an app; for PostgreSQL `TEST_DATABASE_URL` must be set (it panics otherwise).
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        init_logs();
        let dir = tempfile_dir::TempDir::new();
        let mut s = Settings::default();
        let mut pg_name = None;
        match backend {
            Backend::Sqlite => {
                s.database_url = Secret::new(format!("sqlite://{}/kartel.db", dir.0.display()));
            }
            Backend::Postgres => {
                let admin = pg_admin_url();
                let name = format!("kartel_t_{}", Uuid::new_v4().simple());
                let url = kartel_tests::create_pg_database(&admin, &name)
                    .await
                    .expect("create test database");
                s.database_url = Secret::new(url);
                pg_name = Some(name);
                if let Some(r) = redis_url() {
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
        // The suite hashes thousands of passwords: both cores (the
        // service's default leaves one to the requests).
        s.password_hash_threads = Some(2);
        s.database_max_connections = 8;
        s.shutdown_timeout_seconds = 1;
        // Exact figures: each test counts what it made (one test turns it on).
        s.dashboard_cache_seconds = 0;
        s.public_cache_millis = 0;
        // Mail is looked for often, retried at once, and sent to a sink of
        // the test's own (the outbox keeps no token once a mail is sent).
        let mut mail = SmtpSink::start().await;
        s.smtp_url = Some(Secret::new(mail.url()));
        s.mail_poll_millis = 50;
        s.mail_retry_seconds = 1;
        tweak(&mut s);
        // Another app's sink, when the tweak sends mail there.
        if let Some(theirs) = s
            .smtp_url
            .as_ref()
            .and_then(|u| SmtpSink::of_url(u.expose()))
        {
            mail = theirs;
        }
        // From here on, a panic drops the database again (see `Drop`).
        let mut app = TestApp {
            address: String::new(),
            // No request waits forever: a hung server fails the test, not CI.
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .expect("client"),
            db: sea_orm::DatabaseConnection::default(),
            settings: s.clone(),
            mail,
            handle: None,
            pg_name,
            _dir: dir,
        };
        let server = Application::build(s).await.expect("application starts");
        app.address = format!("http://127.0.0.1:{}", server.port());
        app.db = server.db();
        app.handle = Some(server.handle());
        tokio::spawn(server.run_until_stopped());
        app
    }

    /// Stops the server and drops its PostgreSQL database.
    pub async fn stop(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop(false).await;
        }
        let _ = self.db.close_by_ref().await;
        if let Some(name) = self.pg_name.take() {
            let _ = kartel_tests::drop_pg_database(&pg_admin_url(), &name).await;
        }
    }

    /// Stops the server (open connections end), keeping its database; the
    /// test's `db` still reaches it. `start_again` restarts the instance.
    pub async fn stop_server(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop(false).await;
        }
    }

    /// Starts the instance again on the same database, signing key, Redis
    /// prefix and mail sink (on a new port).
    pub async fn start_again(&mut self) {
        self.stop_server().await;
        let _ = self.db.close_by_ref().await;
        let server = Application::build(self.settings.clone())
            .await
            .expect("application starts again");
        self.address = format!("http://127.0.0.1:{}", server.port());
        self.db = server.db();
        self.handle = Some(server.handle());
        tokio::spawn(server.run_until_stopped());
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

impl Drop for TestApp {
    /// A test that panicked never reached `stop`: the server is told to stop
    /// and the PostgreSQL database is dropped here (on a thread with a
    /// runtime of its own, since `drop` cannot await), so a failing test
    /// leaves no database behind.
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            // The command is sent at once; the returned future only waits for it.
            drop(handle.stop(false));
        }
        let Some(name) = self.pg_name.take() else {
            return;
        };
        let Ok(admin) = std::env::var("TEST_DATABASE_URL") else {
            return;
        };
        let dropped = std::thread::spawn(move || -> anyhow::Result<()> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(kartel_tests::drop_pg_database(&admin, &name))
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop a test database: {e:#}"),
            Err(_) => eprintln!("could not drop a test database: the thread panicked"),
        }
    }
}

/// Defines each test twice: on SQLite, and on PostgreSQL (+ Redis).
///
/// The PostgreSQL variant is *ignored* unless `TEST_DATABASE_URL` was set
/// when the tests were built (`build.rs` sets `cfg(postgres_tests)`), and
/// fails if it runs without it: it never counts as passed without running.
///
/// `#[settings(|s| …)]` before a test changes the app's settings.
#[macro_export]
macro_rules! both_backends {
    ($($(#[settings($tweak:expr)])? async fn $name:ident($app:ident: &TestApp) $body:block)*) => {
        $(
            mod $name {
                use super::*;
                async fn run($app: &TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = TestApp::spawn_with(Backend::Sqlite, $crate::both_backends!(@tweak $($tweak)?)).await;
                    run(&app).await;
                    app.stop().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(
                    not(postgres_tests),
                    ignore = "set TEST_DATABASE_URL (and TEST_REDIS_URL) to run the PostgreSQL variant"
                )]
                async fn postgres() {
                    let app = TestApp::spawn_with(Backend::Postgres, $crate::both_backends!(@tweak $($tweak)?)).await;
                    run(&app).await;
                    app.stop().await;
                }
            }
        )*
    };
    (@tweak) => {
        |_| {}
    };
    (@tweak $tweak:expr) => {
        $tweak
    };
}
