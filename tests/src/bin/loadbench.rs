//! Load benchmark: drives concurrent HTTP clients against the application
//! (started in this process, so a release build of this binary is a release
//! build of the app) on a fresh PostgreSQL database, and compares each
//! scenario with a `pgbench` figure of the same round.
//!
//! ```text
//! cargo run --release -p kartel-tests --bin loadbench -- --clients 8,32 --duration-secs 10
//! ```
//!
//! Scenarios, each run `--runs` times for every client count:
//! - `spread`: spends of 1 credit by a service key on a random talent out of
//!   `--talents`;
//! - `hot`: spends of 1 credit, all on one talent (a fresh one per client
//!   count and run, funded with `--hot-balance`; when that runs out the
//!   answers are clean `409 insufficient_credits` refusals, counted apart);
//! - `reads`: `GET /api/v1/talents/{id}/credits` by a community manager;
//! - `storm`: those reads while `--logins-per-second` sign-ins run beside them;
//! - `my-reads`, `my-spends`, `my-hot`, `my-storm`: the same with the
//!   talents' own access tokens (`GET /me/credits`, spends of their own
//!   credits), `my-spends` also against a pgbench replay of the service's
//!   one-statement spend on the bench's own tables;
//! - `challenges`, `leaderboard`, `submit`: the challenges, against `pgbench -S`.
//!
//! Afterwards it runs the reconciliation check; it exits non-zero when the
//! books do not balance, a replay did not write what pgbench counted, or any
//! answer was neither a success nor a clean refusal.
//!
//! The modules live in `loadbench/`: [`args`] the command line, [`setup`]
//! the app and its people, [`scenarios`] what each sends, [`client`] the
//! load clients (their HTTP in `kartel_tests::raw`), [`rounds`] the measuring, [`pgbench`] the
//! references (pgbench itself and where the CPU went in `kartel_tests::pgbench` and
//! `kartel_tests::cpu`), [`report`] the tables and targets.

// A binary's root looks for its modules beside it, in `src/bin/`: they are
// in `loadbench/` instead, and this file keeps the name ARCHITECTURE.md gives.
#[path = "loadbench"]
mod parts {
    pub mod args;
    pub mod client;
    pub mod pgbench;
    pub mod report;
    pub mod rounds;
    pub mod scenarios;
    pub mod setup;
}
use parts::{args, client, pgbench, report, rounds, scenarios, setup};

use std::time::Duration;

use clap::Parser;
use kartel_tests::on_fresh_database;
use uuid::Uuid;

use crate::args::{Args, CHALLENGE_SCENARIOS};
use crate::rounds::Rounds;
use crate::setup::SignedIn;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    args.check()?;
    // The service logs as it does in production (`kartel` sets up the
    // same), its lines discarded: what logging costs is in the figures.
    kartel_api::telemetry::init_with("text", std::io::sink, false);
    let clean = on_fresh_database(&args.admin_url, args.keep_databases, async |url| {
        bench(&args, url).await
    })
    .await?;
    if !clean {
        std::process::exit(1);
    }
    Ok(())
}

/// The whole run; `Ok(false)` when there were unexpected answers, a replay
/// went wrong or the books did not balance.
async fn bench(args: &Args, url: &str) -> anyhow::Result<bool> {
    let dir = std::env::temp_dir().join(format!("kartel-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let (app, pool_size, token_ttl) = setup::build_app(args, url, &dir).await?;
    let db = app.db();
    let handle = app.handle();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(args.largest_clients() * 2)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?;

    println!(
        "kartel loadbench: {} CPUs, app workers {}, DB pool {}, clients {:?}, {} s per run (+{} s warm-up), {} run(s) each, {} talents, hot balance {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.workers,
        pool_size,
        args.clients,
        args.duration_secs,
        args.warmup_secs,
        args.runs,
        args.talents,
        args.hot_balance,
    );

    let (bench, people) = setup::people(args, &db, base, http).await?;
    let manager = SignedIn::new(&bench, vec![people.manager_email.clone()], token_ttl).await?;
    let board = if args.wants_any(&CHALLENGE_SCENARIOS) {
        Some(setup::seed_challenges(&bench, &db, &manager.first(), args, &people.tag).await?)
    } else {
        None
    };
    // The talents' own tokens: each signs in once here (and again should
    // their tokens come near their expiry).
    let own = ["my-reads", "my-spends", "my-storm", "submit"];
    let talents = if args.wants_any(&own) {
        let started = std::time::Instant::now();
        let signed = SignedIn::new(&bench, people.emails.to_vec(), token_ttl).await?;
        println!(
            "setup: {} talents signed in in {:.1} s",
            signed.count(),
            started.elapsed().as_secs_f64()
        );
        Some(signed)
    } else {
        None
    };
    let my_hot = if args.wants("my-hot") {
        Some(SignedIn::new(&bench, people.my_hot_emails.clone(), token_ttl).await?)
    } else {
        None
    };
    let script = |name: &str, talents: &[Uuid]| -> anyhow::Result<std::path::PathBuf> {
        let path = dir.join(name);
        std::fs::write(&path, pgbench::replay_script(talents)?)?;
        Ok(path)
    };
    let spread_replay = args
        .wants("my-spends")
        .then(|| script("spend-replay.sql", &people.talents))
        .transpose()?;
    let hot_replay = args
        .wants("my-hot")
        .then(|| script("hot-replay.sql", &people.talents[..1]))
        .transpose()?;

    let mut rounds = Rounds {
        args,
        bench: bench.clone(),
        db: db.clone(),
        url: url.to_owned(),
        people,
        manager,
        talents,
        my_hot,
        board,
        spread_replay,
        hot_replay,
        failures: Vec::new(),
    };
    let rows = rounds.run_all().await?;

    // The books must balance after all that.
    let admin = bench.login(&rounds.people.admin_email).await?;
    let ledger_ok = report::ledger_check(&bench, &admin).await?;
    report::tables(args, &rows);

    handle.stop(false).await;
    let _ = db.close().await;
    let _ = std::fs::remove_dir_all(&dir);

    let errors: u64 = rows.iter().map(|r| r.stats.errors).sum();
    if errors > 0 {
        println!("FAIL: {errors} unexpected answers");
    }
    for failure in &rounds.failures {
        println!("FAIL: {failure}");
    }
    if !ledger_ok {
        println!("FAIL: the ledger check found issues");
    }
    Ok(errors == 0 && rounds.failures.is_empty() && ledger_ok)
}
