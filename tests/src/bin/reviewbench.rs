//! Benchmark of the review figures on PostgreSQL: seeds 500 judging
//! challenges of two reviewers per submission straight into a fresh
//! database (`kartel_tests::seed`) with 250,000 reviewed
//! submissions of two regular reviews each (500,000 reviews, by 100
//! reviewers; a tiebreak seat where the two decisions differ) and 10,000
//! waiting ones, then has `--clients` manager clients read
//! `GET /api/v1/reviews/metrics` (unfiltered, by track, by challenge, in
//! turn) for `--duration-secs` and prints p50/p99, and the plan of the
//! agreement query (`EXPLAIN ANALYZE`).
//!
//! ```text
//! cargo run --release -p kartel-tests --bin reviewbench -- --clients 8 --duration-secs 20
//! cargo run --release -p kartel-tests --bin reviewbench -- --cache-seconds 0   # every request computes
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use kartel_api::configuration::{Secret, Settings};
use kartel_api::startup::Application;
use kartel_tests::on_fresh_database;
use kartel_tests::seed::ReviewSeed;
use sea_orm::ConnectionTrait;
use serde_json::Value;
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";

#[derive(Parser, Debug)]
#[command(about = "Benchmark of the review figures on a seeded PostgreSQL")]
struct Args {
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    admin_url: String,
    #[arg(long, default_value_t = 8)]
    clients: usize,
    #[arg(long, default_value_t = 20)]
    duration_secs: u64,
    /// Reviewed submissions (two reviews each).
    #[arg(long, default_value_t = 250_000)]
    reviewed: u64,
    /// Submissions waiting for their reviews.
    #[arg(long, default_value_t = 10_000)]
    waiting: u64,
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// The app's `KARTEL_DASHBOARD_CACHE_SECONDS` (0: computed on every request).
    #[arg(long, default_value_t = 10)]
    cache_seconds: u64,
    /// Keep the database afterwards.
    #[arg(long)]
    keep_database: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    on_fresh_database(&args.admin_url, args.keep_database, async |url| {
        run(&args, url).await
    })
    .await
}

async fn run(args: &Args, url: &str) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("kartel-reviewbench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let s = Settings {
        database_url: Secret::new(url.to_owned()),
        addr: "127.0.0.1:0".parse()?,
        signing_key_file: Some(dir.join("signing-key.pem")),
        database_max_connections: u32::try_from(args.clients.max(4))?,
        workers: Some(args.workers),
        shutdown_timeout_seconds: 1,
        dashboard_cache_seconds: args.cache_seconds,
        ..Settings::default()
    };
    let app = Application::build(s).await?;
    let db = app.db();
    let handle = app.handle();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let started = Instant::now();
    ReviewSeed {
        challenges: 500,
        talents: 20_000,
        reviewers: 100,
        reviewed: args.reviewed,
        waiting: args.waiting,
        seats: 2,
    }
    .run(&db)
    .await?;
    println!(
        "seeded {} reviewed submissions ({} reviews) and {} waiting in {:.1} s",
        args.reviewed,
        args.reviewed * 2,
        args.waiting,
        started.elapsed().as_secs_f64()
    );
    let (http, token) = kartel_tests::bench_admin(
        &db,
        &base,
        "bench-admin@bench.example",
        "bench_admin",
        PASSWORD,
    )
    .await?;
    let metrics = format!("{base}/api/v1/reviews/metrics");
    let t = Instant::now();
    let first: Value = http
        .get(&metrics)
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    println!(
        "first (uncached) answer in {:.0} ms: backlog {}, p50 {} s, p90 {} s, past due {}, multi-reviewed {}, \
         agreement {}, alpha nominal {}, alpha interval {}, tiebreak rate {}, reviewers {}",
        t.elapsed().as_secs_f64() * 1000.0,
        first["backlog"],
        first["waiting_age_p50_seconds"],
        first["waiting_age_p90_seconds"],
        first["past_due"],
        first["multi_reviewed"],
        first["decision_agreement"],
        first["alpha_nominal"],
        first["alpha_interval"],
        first["tiebreak_rate"],
        first["reviewers_total"]
    );
    let challenge = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT CAST(id AS TEXT) FROM challenges ORDER BY id LIMIT 1",
        ))
        .await?
        .context("a challenge")?
        .try_get_by_index::<String>(0)?;
    let queries = [
        String::new(),
        "?track=preditor".to_owned(),
        format!("?challenge_id={challenge}"),
    ];

    // Warm up, then measure.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        for q in &queries {
            http.get(format!("{metrics}{q}"))
                .bearer_auth(&token)
                .send()
                .await?;
        }
    }
    let until = Instant::now() + Duration::from_secs(args.duration_secs);
    let tasks: Vec<_> = (0..args.clients)
        .map(|c| {
            let (http, metrics, token, queries) = (
                http.clone(),
                metrics.clone(),
                token.clone(),
                queries.clone(),
            );
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0u64;
                let mut i = c;
                while Instant::now() < until {
                    let t = Instant::now();
                    let q = &queries[i % queries.len()];
                    i += 1;
                    match http
                        .get(format!("{metrics}{q}"))
                        .bearer_auth(&token)
                        .send()
                        .await
                    {
                        Ok(r) if r.status().is_success() => {
                            let _ = r.bytes().await;
                            lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                        _ => errors += 1,
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut lat = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await?;
        lat.extend(l);
        errors += e;
    }
    lat.sort_by(f64::total_cmp);
    let q = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "\n| cache s | clients | requests | req/s | p50 ms | p99 ms | errors |\n| --- | --- | --- | --- | --- | --- | --- |\n| {} | {} | {} | {:.1} | {:.1} | {:.1} | {} |",
        args.cache_seconds,
        args.clients,
        lat.len(),
        lat.len() as f64 / args.duration_secs as f64,
        q(0.5),
        q(0.99),
        errors
    );
    println!("slowest: {:.1} ms", lat.last().copied().unwrap_or(0.0));
    println!(
        "target: p99 <= 200 ms: {}",
        if q(0.99) <= 200.0 && errors == 0 {
            "met"
        } else {
            "missed"
        }
    );

    let agreement = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) \
         SELECT rs.submission_id, CAST(COUNT(*) AS DOUBLE PRECISION) AS m, SUM(r.total) AS s, \
         SUM(r.total * r.total) AS q, \
         CAST(SUM(CASE WHEN r.decision = 'accepted' THEN 1 ELSE 0 END) AS DOUBLE PRECISION) AS d0 \
         FROM review_seats rs JOIN reviews r ON r.id = rs.review_id \
         WHERE rs.state = 'filled' AND rs.kind = 'regular' GROUP BY rs.submission_id HAVING COUNT(*) >= 2";
    println!("\nthe agreement query's units:");
    let stmt = sea_orm::Statement::from_string(db.get_database_backend(), agreement);
    for row in db.query_all_raw(stmt).await? {
        println!("    {}", row.try_get_by_index::<String>(0)?);
    }
    handle.stop(false).await;
    let _ = db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
