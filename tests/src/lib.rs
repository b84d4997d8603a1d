//! Shared by the integration tests and the load benchmark: the test
//! database plumbing (a fresh PostgreSQL database or SQLite file per app).
//!
//! Also the one seeded random generator ([`rng::SplitMix64`]) both use, the
//! bench's statistics and their printing ([`stats`]), and the webhook
//! receiver the webhook tests and `webhookbench` deliver to ([`receiver`]).

use sea_orm::{ConnectionTrait, Database};

pub mod receiver;
pub mod rng;
pub mod stats;

pub use rng::SplitMix64;

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
