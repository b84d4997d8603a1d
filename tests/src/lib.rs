//! Shared by the integration tests and the benchmarks: the test
//! database plumbing (a fresh PostgreSQL database or SQLite file per app).
//!
//! Also the one seeded random generator ([`rng::SplitMix64`]) both use, and
//! what the benchmarks share: their statistics and printing ([`stats`]),
//! the load clients' HTTP ([`raw`]), CPU snapshots ([`cpu`]), the pgbench
//! references ([`pgbench`]), the seeded review queue ([`seed`]) and the
//! webhook receiver the webhook tests and `webhookbench` deliver to
//! ([`receiver`]).

use sea_orm::{ConnectionTrait, Database};

pub mod cpu;
pub mod pgbench;
pub mod raw;
pub mod receiver;
pub mod rng;
pub mod seed;
pub mod stats;

pub use rng::SplitMix64;

/// Whether access tokens signed in `age` ago, each living `ttl`, must be
/// renewed before a measurement of `needed` (with a minute to spare); an
/// error when even fresh ones would expire during it.
pub fn must_sign_in_again(
    age: std::time::Duration,
    needed: std::time::Duration,
    ttl: std::time::Duration,
) -> anyhow::Result<bool> {
    let margin = std::time::Duration::from_secs(60);
    if needed + margin >= ttl {
        anyhow::bail!(
            "a measurement of {} s (warm-up included) would outlive the access tokens ({} s): \
             pass a shorter --duration-secs",
            needed.as_secs(),
            ttl.as_secs()
        );
    }
    Ok(age + needed + margin >= ttl)
}

/// Runs a benchmark on a fresh PostgreSQL database next to the one
/// `admin_url` names (`bench` gets its URL), then drops it — or keeps it,
/// saying so, when `keep`.
pub async fn on_fresh_database<T>(
    admin_url: &str,
    keep: bool,
    bench: impl AsyncFnOnce(&str) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let name = format!("kartel_bench_{}", uuid::Uuid::new_v4().simple());
    let url = create_pg_database(admin_url, &name).await?;
    let result = bench(&url).await;
    if keep {
        println!("kept database {name}");
    } else if let Err(e) = drop_pg_database(admin_url, &name).await {
        eprintln!("dropping {name} failed: {e}");
    }
    result
}

/// Creates a new, empty PostgreSQL database next to the one `admin_url` names
/// and returns its URL.
pub async fn create_pg_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let db = Database::connect(admin_url).await?;
    db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    db.close().await?;
    Ok(with_database(admin_url, name))
}

pub async fn drop_pg_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let db = Database::connect(admin_url).await?;
    db.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    db.close().await?;
    Ok(())
}

/// `postgres://u@h:p/db?x` with `db` replaced by `name`.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = base.rsplit_once('/').map_or(base, |(p, _)| p);
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

/// Creates an admin straight in `db` (`email`, `handle`, `password`) and
/// signs them in at the app on `base`: an HTTP client for setup calls (30 s
/// timeout) and the admin's access token. What the benchmarks' setups share.
pub async fn bench_admin(
    db: &sea_orm::DatabaseConnection,
    base: &str,
    email: &str,
    handle: &str,
    password: &str,
) -> anyhow::Result<(reqwest::Client, String)> {
    use anyhow::Context;
    kartel_domain::accounts::create_admin(db, email, password, handle, "Bench Admin").await?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&serde_json::json!({ "email": email, "password": password }))
        .send()
        .await?
        .json()
        .await?;
    let token = login["access_token"]
        .as_str()
        .context("no token")?
        .to_owned();
    Ok((http, token))
}
