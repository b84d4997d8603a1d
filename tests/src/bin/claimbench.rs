//! Benchmark of the review queue's claims on PostgreSQL (issue 24): seeds
//! `--waiting` submissions (20,000) over `--challenges` judging challenges
//! (200) with two open review seats each straight into a fresh database
//! (`kartel_tests::seed`), creates `--managers` community managers (64)
//! and signs each in once, then for each of `--clients` (8, 32), `--runs`
//! times (3): that many clients, each as its own manager, claim
//! (`POST /api/v1/review-queue/claim`) and release
//! (`POST /api/v1/review-queue/claims/{id}/release`) back to back for
//! `--duration-secs` after `--warmup-secs`, checking that no seat is given
//! to two clients at once; then `pgbench -S` at the same client count in
//! the same round. Prints claims/s, p50/p99 of the claims and the
//! releases, the ratio to `pgbench -S`, the min / median / max over runs,
//! the targets (p99 ≤ 50 ms at 32 clients; claims ≥ 0.3× `pgbench -S`),
//! and the plan of the claim's query (`EXPLAIN ANALYZE`) before and after.
//!
//! It exits non-zero when a seat was given twice, an answer was neither a
//! claim, a 204 nor a release, or seats stayed held after a run.
//!
//! ```text
//! cargo run --release -p kartel-tests --bin claimbench -- --clients 8,32 --runs 3 --duration-secs 10
//! ```
//!
//! The modules live in `claimbench/`: [`args`] the command line, [`setup`]
//! the app, the seed, the managers and the plan, [`load`] the claiming
//! clients and the seat check, [`report`] the tables and targets.

// A binary's root looks for its modules beside it, in `src/bin/`: they are
// in `claimbench/` instead.
#[path = "claimbench"]
mod parts {
    pub mod args;
    pub mod load;
    pub mod report;
    pub mod setup;
}
use parts::{args, load, report, setup};

use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use kartel_domain::challenges::ClaimSpec;
use kartel_tests::on_fresh_database;
use uuid::Uuid;

use crate::args::{Args, Filter};
use crate::load::Client;
use crate::report::Row;
use crate::setup::Managers;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    args.check()?;
    // The service logs as in production, its lines discarded.
    kartel_api::telemetry::init_with("text", std::io::sink, false);
    let clean = on_fresh_database(&args.admin_url, args.keep_database, async |url| {
        bench(&args, url).await
    })
    .await?;
    if !clean {
        std::process::exit(1);
    }
    Ok(())
}

/// The whole run; `Ok(false)` when a run was not clean.
async fn bench(args: &Args, url: &str) -> anyhow::Result<bool> {
    let dir = std::env::temp_dir().join(format!("kartel-claimbench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let (app, pool_size, ttl) = setup::build_app(args, url, &dir).await?;
    let db = app.db();
    let handle = app.handle();
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    println!(
        "kartel claimbench: {} CPUs, app workers {}, DB pool {pool_size}, clients {:?}, {} s per run (+{} s warm-up), {} run(s) each, filter {:?}, hold {} ms",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.workers,
        args.clients,
        args.duration_secs,
        args.warmup_secs,
        args.runs,
        args.filter,
        args.hold_ms,
    );

    let challenges = Arc::new(setup::seed(args, &db).await?);
    let base = format!("http://127.0.0.1:{port}");
    let mut managers = Managers::create(args.managers, &db, &base, ttl).await?;
    let spec = ClaimSpec {
        challenge_id: (args.filter == Filter::Challenge)
            .then(|| challenges.first().copied())
            .flatten(),
        track: (args.filter == Filter::Track).then_some(kartel_domain::types::Track::Preditor),
        submission_id: None,
    };
    let first = managers.ids.first().copied().unwrap_or_default();
    setup::explain(&db, first, &spec, "on the seeded queue").await?;

    let warmup = Duration::from_secs(args.warmup_secs);
    let duration = Duration::from_secs(args.duration_secs);
    let mut rows = Vec::new();
    for &clients in &args.clients {
        println!("\n== {clients} clients ==");
        for run in 1..=args.runs {
            if args.runs > 1 {
                println!("-- run {run} of {} --", args.runs);
            }
            managers.fresh_for(warmup + duration).await?;
            let who: Vec<Client> = (0..clients)
                .map(|i| Client {
                    addr: format!("127.0.0.1:{port}"),
                    token: managers.tokens[i].clone(),
                    me: managers.ids[i],
                    filter: args.filter,
                    challenges: challenges.clone(),
                    hold: Duration::from_millis(args.hold_ms),
                })
                .collect();
            let m = load::measure(&who, warmup, duration).await;
            let held_after = setup::held_seats(&db).await?;
            report::print_run(clients, &m, held_after);
            let pgbench = if args.skip_pgbench {
                None
            } else {
                match kartel_tests::pgbench::builtin(
                    &args.admin_url,
                    "select-only",
                    clients,
                    args.duration_secs,
                )
                .await
                {
                    Ok(tps) => {
                        println!("  pgbench select-only c={clients:<3} {tps:>8.0} TPS");
                        Some(tps)
                    }
                    Err(e) => {
                        println!("  pgbench -S not run: {e:#}");
                        None
                    }
                }
            };
            rows.push(Row {
                clients,
                run,
                m,
                pgbench,
                held_after,
            });
        }
    }
    setup::explain(&db, first, &spec, "after the runs").await?;
    report::print_all(&rows);

    handle.stop(false).await;
    let _ = db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    let clean = rows.iter().all(Row::clean);
    if !clean {
        println!(
            "FAIL: a seat was given twice, an answer was unexpected or a seat stayed held (see above)"
        );
    }
    Ok(clean)
}
