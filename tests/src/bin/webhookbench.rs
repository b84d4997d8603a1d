//! Benchmark of webhooks, in one run on one app (PostgreSQL by default):
//!
//! 1. Delivery: `--events` events (10,000) committed at once, `--endpoints`
//!    endpoints (2) each wanting every kind, each a receiver on loopback
//!    that verifies every signature with the `standardwebhooks` crate; the
//!    time until every endpoint has every event, and the arrival spread.
//! 2. The spend path with webhooks on and off: spends by a service key from
//!    `--clients` clients while `--event-rate` events a second are written
//!    in the background, with the endpoints enabled (every event delivered
//!    to each) and disabled, alternating, `--runs` times each; throughput
//!    and p99 of each, and on against off (the target: within 10 %).
//!
//! ```text
//! CARGO_TARGET_DIR=/work/target-webhooks-release \
//!   cargo run --release -p kartel-tests --bin webhookbench -- --events 10000 --endpoints 2
//! cargo run --release -p kartel-tests --bin webhookbench -- --sqlite --skip-spends
//! ```

// A binary's root looks for its modules beside it, in `src/bin/`: they are
// in `webhookbench/` instead, and this file keeps the name ARCHITECTURE.md gives.
#[path = "webhookbench"]
mod parts {
    pub mod delivery;
    pub mod spends;
}
use parts::{delivery, spends};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use kartel_api::configuration::{Secret, Settings};
use kartel_api::startup::Application;
use kartel_tests::cpu::CpuSnapshot;
use kartel_tests::on_fresh_database;
use kartel_tests::receiver::Receiver;
use kartel_tests::stats::{Stats, print_stats};
use serde_json::{Value, json};
use uuid::Uuid;

use spends::PASSWORD;

#[derive(Parser, Debug)]
#[command(
    about = "Benchmark of webhooks: delivery of N events to M endpoints, and the spend path with webhooks on and off"
)]
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
    /// The app's actix workers.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// The app's database pool.
    #[arg(long, default_value_t = 16)]
    db_connections: u32,
    /// Give the delivery up after this long.
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    /// Only the spend comparison.
    #[arg(long)]
    skip_delivery: bool,
    /// Only the delivery.
    #[arg(long)]
    skip_spends: bool,
    /// Spending clients.
    #[arg(long, default_value_t = 8)]
    clients: usize,
    /// Funded talents the spends are spread over.
    #[arg(long, default_value_t = 32)]
    talents: usize,
    /// Events written a second in the background during the spend phases.
    #[arg(long, default_value_t = 100)]
    event_rate: u64,
    #[arg(long, default_value_t = 5)]
    warmup_secs: u64,
    #[arg(long, default_value_t = 20)]
    measure_secs: u64,
    /// Pairs of phases (off, on).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The endpoints' `event_types` filter (comma-separated; empty: every
    /// kind, so each spend's own `credits.moved` is delivered too). The
    /// bench's events are `user.suspended`: `--event-types user.suspended`
    /// delivers them and not the spends'.
    #[arg(long, value_delimiter = ',')]
    event_types: Vec<String>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The service logs as it does in production, its lines discarded.
    kartel_api::telemetry::init_with("text", std::io::sink, false);
    let dir = std::env::temp_dir().join(format!("kartel-hookbench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let result = if args.sqlite {
        let url = format!("sqlite://{}/kartel.db", dir.display());
        run(&args, &url, &dir).await
    } else {
        on_fresh_database(&args.admin_url, false, async |url| {
            run(&args, url, &dir).await
        })
        .await
    };
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
        auth_rate_limit_per_ip: 1_000_000,
        auth_rate_limit_per_account: 1_000_000,
        webhook_allow_http: true,
        webhook_allow_private: true,
        webhook_concurrency: args.concurrency,
        database_max_connections: args.db_connections,
        ..Settings::default()
    };
    s.validate().map_err(anyhow::Error::msg)?;
    let app = Application::build(s).await?;
    let db = app.db();
    let handle = app.handle();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    println!(
        "webhookbench on {}: {} endpoints, webhook concurrency {}, {} actix workers, pool {}",
        if args.sqlite { "SQLite" } else { "PostgreSQL" },
        args.endpoints,
        args.concurrency,
        args.workers,
        args.db_connections
    );

    let (http, token) = kartel_tests::bench_admin(
        &db,
        &base,
        "hook-admin@bench.example",
        "hook_admin",
        PASSWORD,
    )
    .await?;
    let mut receivers = Vec::new();
    let mut endpoints = Vec::new();
    for n in 0..args.endpoints {
        let rx = Receiver::start().await?;
        let created: Value = http
            .post(format!("{base}/api/v1/webhooks/endpoints"))
            .bearer_auth(&token)
            .json(&json!({
                "url": rx.url(&format!("/bench/{n}")),
                "description": "bench",
                "event_types": args.event_types,
            }))
            .send()
            .await?
            .json()
            .await?;
        let secret = created["secret"].as_str().context("no secret")?;
        rx.verify_with(&[secret]);
        endpoints.push(created["id"].as_str().context("no id")?.to_owned());
        receivers.push(rx);
    }

    if !args.skip_delivery {
        println!("\n## Delivery: {} events committed at once", args.events);
        let timeout = Duration::from_secs(args.timeout_secs);
        let b = delivery::burst(&db, &receivers, args.events, timeout).await?;
        delivery::print(&b);
        anyhow::ensure!(
            b.unverified == 0,
            "{} deliveries did not verify",
            b.unverified
        );
    }

    if !args.skip_spends {
        println!(
            "\n## Spends, {} clients, {} events/s in the background, webhooks off and on",
            args.clients, args.event_rate
        );
        let spenders = Arc::new(spends::spenders(&http, &base, &token, args.talents).await?);
        let (mut off, mut on) = (Vec::new(), Vec::new());
        for run in 1..=args.runs {
            for enabled in [false, true] {
                set_enabled(&http, &base, &token, &endpoints, enabled).await?;
                let arrived: usize = receivers.iter().map(Receiver::count).sum();
                let stop = Arc::new(AtomicBool::new(false));
                let bg = spends::background_events(db.clone(), args.event_rate, stop.clone());
                let warmup = Duration::from_secs(args.warmup_secs);
                let cpu = CpuSnapshot::take();
                let mut stats = spends::measure(
                    &spenders,
                    args.clients,
                    warmup,
                    Duration::from_secs(args.measure_secs),
                )
                .await;
                stats.cpu = cpu.and_then(|b| CpuSnapshot::take().map(|a| a.since(&b)));
                stop.store(true, Ordering::Relaxed);
                let written = bg.await??;
                let delivered = receivers.iter().map(Receiver::count).sum::<usize>() - arrived;
                let name = if enabled {
                    "webhooks on"
                } else {
                    "webhooks off"
                };
                print_stats(&format!("{name} #{run}"), args.clients, &stats);
                println!(
                    "      {written} events written, {delivered} deliveries received meanwhile"
                );
                anyhow::ensure!(stats.errors == 0, "unexpected answers: {:?}", stats.samples);
                (if enabled { &mut on } else { &mut off }).push(stats);
            }
        }
        compare(&off, &on);
    }
    handle.stop(false).await;
    Ok(())
}

async fn set_enabled(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    endpoints: &[String],
    enabled: bool,
) -> anyhow::Result<()> {
    for id in endpoints {
        let res = http
            .patch(format!("{base}/api/v1/webhooks/endpoints/{id}"))
            .bearer_auth(token)
            .json(&json!({ "disabled": !enabled }))
            .send()
            .await?;
        anyhow::ensure!(
            res.status().is_success(),
            "PATCH endpoint: {}",
            res.status()
        );
    }
    Ok(())
}

/// The medians of throughput and p99 over the runs, and on against off.
fn compare(off: &[Stats], on: &[Stats]) {
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    let tput = |s: &[Stats]| median(s.iter().map(|x| x.rate(x.ok)).collect());
    let p99 = |s: &[Stats]| median(s.iter().map(|x| x.quantile_ms(0.99)).collect());
    let (t_off, t_on, p_off, p_on) = (tput(off), tput(on), p99(off), p99(on));
    println!(
        "\n| webhooks | spends/s (median of {}) | p99 ms (median) |",
        off.len()
    );
    println!("| --- | ---: | ---: |");
    println!("| off | {t_off:.0} | {p_off:.2} |");
    println!("| on | {t_on:.0} | {p_on:.2} |");
    println!(
        "on against off: throughput {:+.1} %, p99 {:+.1} % (target: within 10 %)",
        (t_on / t_off - 1.0) * 100.0,
        (p_on / p_off - 1.0) * 100.0
    );
}
