//! Benchmark of webhook delivery: `--events` events (10,000 by default)
//! committed at once into a fresh database, `--endpoints` endpoints (2)
//! each wanting every kind, each a receiver on loopback that verifies
//! every signature with the `standardwebhooks` crate. Measures the time
//! from the events' commit until every endpoint has every event (the
//! sequencer placing them, the dispatcher writing the deliveries, the
//! workers sending them), and the spread of arrival times.
//!
//! ```text
//! cargo run --release -p kartel-tests --bin webhookbench -- --events 10000 --endpoints 2
//! cargo run --release -p kartel-tests --bin webhookbench -- --sqlite
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use kartel_api::configuration::{Secret, Settings};
use kartel_api::startup::Application;
use kartel_domain::events::{Event, StatusChanged};
use kartel_domain::types::UserStatus;
use kartel_tests::receiver::Receiver;
use kartel_tests::{create_pg_database, drop_pg_database};
use sea_orm::TransactionTrait;
use serde_json::{Value, json};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";

#[derive(Parser, Debug)]
#[command(about = "Benchmark of webhook delivery: N events to M endpoints")]
struct Args {
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    admin_url: String,
    /// Run on a SQLite file instead of PostgreSQL.
    #[arg(long)]
    sqlite: bool,
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    #[arg(long, default_value_t = 2)]
    endpoints: usize,
    /// The app's `KARTEL_WEBHOOK_CONCURRENCY`.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Give up after this long.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = std::env::temp_dir().join(format!("kartel-hookbench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    if args.sqlite {
        let url = format!("sqlite://{}/kartel.db", dir.display());
        let result = run(&args, &url, &dir).await;
        let _ = std::fs::remove_dir_all(&dir);
        return result;
    }
    let name = format!("kartel_bench_{}", Uuid::new_v4().simple());
    let url = create_pg_database(&args.admin_url, &name).await?;
    let result = run(&args, &url, &dir).await;
    drop_pg_database(&args.admin_url, &name).await?;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run(args: &Args, url: &str, dir: &std::path::Path) -> anyhow::Result<()> {
    let s = Settings {
        database_url: Secret::new(url.to_owned()),
        addr: "127.0.0.1:0".parse()?,
        signing_key_file: Some(dir.join("signing-key.pem")),
        workers: Some(args.workers),
        shutdown_timeout_seconds: 1,
        webhook_allow_http: true,
        webhook_allow_private: true,
        webhook_concurrency: args.concurrency,
        database_max_connections: 16,
        ..Settings::default()
    };
    let app = Application::build(s).await?;
    let db = app.db();
    let handle = app.handle();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    kartel_domain::accounts::create_admin(
        &db,
        "hook-admin@bench.example",
        PASSWORD,
        "hook_admin",
        "Bench Admin",
    )
    .await?;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": "hook-admin@bench.example", "password": PASSWORD }))
        .send()
        .await?
        .json()
        .await?;
    let token = login["access_token"].as_str().context("no token")?;
    let mut receivers = Vec::new();
    for n in 0..args.endpoints {
        let rx = Receiver::start().await?;
        let created: Value = http
            .post(format!("{base}/api/v1/webhooks/endpoints"))
            .bearer_auth(token)
            .json(&json!({ "url": rx.url(&format!("/bench/{n}")), "description": "bench" }))
            .send()
            .await?
            .json()
            .await?;
        let secret = created["secret"].as_str().context("no secret")?;
        rx.verify_with(&[secret]);
        receivers.push(rx);
    }

    // The events, committed at once (their rows, without reactions).
    let tx = db.begin().await?;
    for _ in 0..args.events {
        let e = Event::UserSuspended(StatusChanged {
            from: UserStatus::Active,
            to: UserStatus::Suspended,
        });
        kartel_domain::events::write_row_for_tests(&tx, Uuid::now_v7(), &e).await?;
    }
    tx.commit().await?;
    let committed = Instant::now();
    println!(
        "{} events committed; {} endpoints; concurrency {} ({})",
        args.events,
        args.endpoints,
        args.concurrency,
        if args.sqlite { "SQLite" } else { "PostgreSQL" }
    );

    let want = args.events as usize;
    let deadline = committed + Duration::from_secs(args.timeout_secs);
    loop {
        if receivers.iter().all(|rx| rx.distinct() >= want) {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "not delivered in time");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut arrivals: Vec<f64> = Vec::new();
    let (mut total, mut bad) = (0usize, 0usize);
    for rx in &receivers {
        let got = rx.deliveries();
        total += got.len();
        bad += got.iter().filter(|d| d.verified != vec![true]).count();
        let mut first = std::collections::HashMap::new();
        for d in &got {
            first.entry(d.id.clone()).or_insert(d.at);
        }
        arrivals.extend(
            first
                .values()
                .map(|at| at.duration_since(committed).as_secs_f64()),
        );
    }
    arrivals.sort_by(f64::total_cmp);
    let q = |p: f64| arrivals[((arrivals.len() - 1) as f64 * p) as usize];
    let all = arrivals.last().copied().unwrap_or_default();
    let unique = arrivals.len();
    println!(
        "delivered {unique} (event, endpoint) pairs in {all:.2} s: {:.0}/s; \
         arrival after commit p50 {:.2} s, p90 {:.2} s, p99 {:.2} s; \
         {} requests ({} duplicates), {bad} unverified",
        unique as f64 / all.max(1e-9),
        q(0.5),
        q(0.9),
        q(0.99),
        total,
        total - unique
    );
    anyhow::ensure!(bad == 0, "{bad} deliveries did not verify");
    handle.stop(false).await;
    Ok(())
}
