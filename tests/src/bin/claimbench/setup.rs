//! Before and around the measuring: the app on its fresh database, the
//! seeded queue, the managers and their tokens, the claim query's plan and
//! the seats left held.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::Utc;
use futures::{StreamExt, TryStreamExt};
use kartel_api::configuration::{Secret, Settings};
use kartel_api::startup::Application;
use kartel_domain::accounts::{NewAccount, create_account};
use kartel_domain::caller::Actor;
use kartel_domain::challenges::{ClaimSpec, next_seat_query};
use kartel_domain::mail::Links;
use kartel_domain::types::{Role, Roles};
use kartel_tests::seed::ReviewSeed;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::args::Args;

const PASSWORD: &str = "correct horse battery staple";

/// The app on the database at `url`, with its pool size and how long its
/// access tokens live.
pub async fn build_app(
    args: &Args,
    url: &str,
    dir: &Path,
) -> anyhow::Result<(Application, u32, Duration)> {
    let pool_size = args
        .db_connections
        .unwrap_or(u32::try_from(args.largest_clients())?.max(8));
    let s = Settings {
        database_url: Secret::new(url.to_owned()),
        addr: "127.0.0.1:0".parse()?,
        signing_key_file: Some(dir.join("signing-key.pem")),
        auth_rate_limit_per_ip: 1_000_000,
        auth_rate_limit_per_account: 1_000_000,
        database_max_connections: pool_size,
        workers: Some(args.workers),
        shutdown_timeout_seconds: 1,
        ..Settings::default()
    };
    s.validate().map_err(anyhow::Error::msg)?;
    let ttl = Duration::from_secs(u64::try_from(s.access_token_ttl_seconds)?);
    let app = Application::build(s).await?;
    if !args.skip_pgbench {
        kartel_tests::pgbench::check_connections(&app.db(), pool_size, args.largest_clients())
            .await?;
    }
    Ok((app, pool_size, ttl))
}

/// The waiting submissions over their judging challenges, two open seats
/// each (and the reviewed ones, if any); returns the challenges' ids.
pub async fn seed(args: &Args, db: &DatabaseConnection) -> anyhow::Result<Vec<Uuid>> {
    let started = Instant::now();
    ReviewSeed {
        challenges: args.challenges,
        talents: args.talents,
        reviewers: 100,
        reviewed: args.reviewed,
        waiting: args.waiting,
        seats: 2,
    }
    .run(db)
    .await?;
    let rows = db
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT id FROM challenges ORDER BY id",
        ))
        .await?;
    let challenges = rows
        .iter()
        .map(|r| r.try_get_by_index::<Uuid>(0))
        .collect::<Result<Vec<_>, _>>()?;
    println!(
        "seeded {} waiting submissions and {} reviewed ({} open seats) over {} judging challenges in {:.1} s",
        args.waiting,
        args.reviewed,
        open_seats(db).await?,
        challenges.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(challenges)
}

async fn count(db: &DatabaseConnection, sql: &str) -> anyhow::Result<i64> {
    db.query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await?
        .context("a count")?
        .try_get_by_index::<i64>(0)
        .map_err(Into::into)
}

async fn open_seats(db: &DatabaseConnection) -> anyhow::Result<i64> {
    count(db, "SELECT COUNT(*) FROM review_seats WHERE state = 'open'").await
}

/// Seats under a claim: none once every client released what it claimed.
pub async fn held_seats(db: &DatabaseConnection) -> anyhow::Result<i64> {
    count(
        db,
        "SELECT COUNT(*) FROM review_seats WHERE claimed_by IS NOT NULL",
    )
    .await
}

/// The community managers who claim, and their access tokens.
pub struct Managers {
    pub ids: Vec<Uuid>,
    emails: Vec<String>,
    pub tokens: Vec<String>,
    signed_in_at: Instant,
    ttl: Duration,
    http: reqwest::Client,
    base: String,
}

impl Managers {
    /// Creates `n` verified community managers and signs each in once.
    pub async fn create(
        n: usize,
        db: &DatabaseConnection,
        base: &str,
        ttl: Duration,
    ) -> anyhow::Result<Self> {
        let started = Instant::now();
        let emails: Vec<String> = (1..=n)
            .map(|i| format!("claim-manager-{i}@bench.example"))
            .collect();
        let ids: Vec<Uuid> = futures::stream::iter(emails.iter().enumerate())
            .map(|(i, email)| async move {
                let mut new = NewAccount::parse(
                    email,
                    PASSWORD,
                    &format!("claim_manager_{}", i + 1),
                    "Bench Manager",
                )?;
                new.roles = Roles::new(vec![Role::Talent, Role::CommunityManager]);
                new.verified = true;
                let account = create_account(db, new, Actor::CLI, &Links::new("")).await?;
                anyhow::Ok(account.id)
            })
            .buffered(4)
            .try_collect()
            .await?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()?;
        let mut managers = Self {
            ids,
            emails,
            tokens: Vec::new(),
            signed_in_at: Instant::now(),
            ttl,
            http,
            base: base.to_owned(),
        };
        managers.sign_in().await?;
        println!(
            "{n} community managers created and signed in in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        Ok(managers)
    }

    async fn sign_in(&mut self) -> anyhow::Result<()> {
        let at = Instant::now();
        let url = format!("{}/api/v1/auth/login", self.base);
        let http = &self.http;
        self.tokens = futures::stream::iter(&self.emails)
            .map(|email| {
                let url = &url;
                async move {
                    let res = http
                        .post(url)
                        .json(&json!({ "email": email, "password": PASSWORD }))
                        .send()
                        .await?;
                    let status = res.status();
                    let body: Value = res.json().await?;
                    body["access_token"]
                        .as_str()
                        .map(str::to_owned)
                        .with_context(|| format!("signing {email} in: {status} {body}"))
                }
            })
            .buffered(4)
            .try_collect()
            .await?;
        self.signed_in_at = at;
        Ok(())
    }

    /// Signs everyone in again unless the tokens stay good for `needed`
    /// more (and a minute).
    pub async fn fresh_for(&mut self, needed: Duration) -> anyhow::Result<()> {
        if kartel_tests::must_sign_in_again(self.signed_in_at.elapsed(), needed, self.ttl)? {
            self.sign_in().await?;
            println!("  the managers signed in again");
        }
        Ok(())
    }
}

/// Prints the plan of the claim's query as the service runs it, for
/// manager `me` asking `spec` (in a transaction rolled back: the query
/// locks the seat it finds).
pub async fn explain(
    db: &DatabaseConnection,
    me: Uuid,
    spec: &ClaimSpec,
    when: &str,
) -> anyhow::Result<()> {
    let tx = db.begin().await?;
    let q = next_seat_query(&tx, me, spec, Utc::now());
    let stmt = Statement::from_sql_and_values(
        DbBackend::Postgres,
        format!("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) {}", q.sql),
        q.values,
    );
    println!("\nthe claim's query ({when}), {spec:?}:");
    for row in tx.query_all_raw(stmt).await? {
        println!("    {}", row.try_get_by_index::<String>(0)?);
    }
    tx.rollback().await?;
    Ok(())
}
