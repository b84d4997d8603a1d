//! Benchmark of the talent-engine dashboard on PostgreSQL: seeds a studio
//! straight into a fresh database (100,000 talents across tracks and
//! tiers, 1,000 pods with slots and engagements, 500,000 reviewed
//! submissions by default), then has `--clients` staff clients read
//! `GET /api/v1/dashboard/talent-engine` for `--duration-secs` and prints
//! p50/p99, and the plan of the heaviest query (`EXPLAIN ANALYZE`).
//!
//! ```text
//! cargo run --release -p kartel-tests --bin dashbench -- --clients 8 --duration-secs 20
//! ```

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use kartel_api::configuration::{Secret, Settings};
use kartel_api::startup::Application;
use kartel_tests::on_fresh_database;
use sea_orm::ConnectionTrait;
use serde_json::Value;
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";

#[derive(Parser, Debug)]
#[command(about = "Benchmark of the talent-engine dashboard on a seeded PostgreSQL")]
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
    #[arg(long, default_value_t = 100_000)]
    talents: u64,
    #[arg(long, default_value_t = 1_000)]
    pods: u64,
    #[arg(long, default_value_t = 500_000)]
    submissions: u64,
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

/// The seed: one statement each, all generated in the database.
fn seed(a: &Args) -> Vec<String> {
    let tracks = "(ARRAY['workflow_engineer','ai_generalist','preditor','data_lora_specialist','data_engineer'])";
    vec![
        format!(
            "INSERT INTO users (id, email, handle, display_name, bio, password_hash, roles, status, created_at, updated_at) \
             SELECT gen_random_uuid(), 'd' || g || '@bench.example', 'd' || g, 'Talent ' || g, 'bio', 'x', \
                    '[\"talent\"]'::json, 'active', now() - make_interval(days => g % 700), now() \
               FROM generate_series(1, {t}) g",
            t = a.talents
        ),
        // Each talent in one or two tracks; tiers 0–5, thinning out upwards.
        format!(
            "INSERT INTO talent_tracks (talent_id, track, tier, enrolled_at, updated_at, locked, below_since) \
             SELECT u.id, {tracks}[1 + (u.rn % 5)], \
                    (CASE WHEN u.rn % 100 < 40 THEN 1 WHEN u.rn % 100 < 70 THEN 2 WHEN u.rn % 100 < 88 THEN 3 \
                          WHEN u.rn % 100 < 97 THEN 0 WHEN u.rn % 100 < 99 THEN 4 ELSE 5 END)::smallint, now(), now(), false, NULL::timestamptz \
               FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM users WHERE email LIKE 'd%@bench.example') u \
             UNION ALL \
             SELECT u.id, {tracks}[1 + ((u.rn + 2) % 5)], 1::smallint, now(), now(), false, NULL::timestamptz \
               FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM users WHERE email LIKE 'd%@bench.example') u \
              WHERE u.rn % 3 = 0"
        ),
        // Tier history this year: one promotion row per talent above Tier 1.
        "INSERT INTO tier_changes (id, talent_id, track, from_tier, to_tier, actor_kind, actor_id, reason, evidence, certificate_id, created_at) \
         SELECT gen_random_uuid(), talent_id, track, tier - 1, tier, 'automatic', NULL, 'seed', '{}'::json, NULL, \
                date_trunc('year', now()) + make_interval(hours => (abs(hashtext(talent_id::text)) % 7000)) \
           FROM talent_tracks WHERE tier >= 1".to_owned(),
        format!(
            "INSERT INTO pods (id, name, status, client_capacity, active_engagements, created_by, created_at, updated_at) \
             SELECT gen_random_uuid(), 'Pod ' || g, (ARRAY['forming','active','active','paused'])[1 + g % 4], 1 + g % 5, 0, NULL, now(), now() \
               FROM generate_series(1, {p}) g",
            p = a.pods
        ),
        // Six slots a pod, one per track plus a second preditor.
        format!(
            "INSERT INTO pod_slots (id, pod_id, track, status, talent_id, filled_at, created_at) \
             SELECT gen_random_uuid(), p.id, ({tracks} || ARRAY['preditor'])[s], 'open', NULL, NULL, now() \
               FROM pods p CROSS JOIN generate_series(1, 6) s"
        ),
        // Tier 5 talents fill the slots of their track, one each.
        "WITH five AS (SELECT talent_id, track, row_number() OVER (PARTITION BY track ORDER BY talent_id) AS rn \
                        FROM (SELECT DISTINCT ON (talent_id) talent_id, track FROM talent_tracks WHERE tier = 5 ORDER BY talent_id, track) f), \
              open AS (SELECT id, track, row_number() OVER (PARTITION BY track ORDER BY id) AS rn FROM pod_slots) \
         UPDATE pod_slots s SET status = 'filled', talent_id = five.talent_id, filled_at = now() \
           FROM open JOIN five ON five.track = open.track AND five.rn = open.rn WHERE s.id = open.id".to_owned(),
        // Engagements: three a pod over the year, the last still open.
        "INSERT INTO engagements (id, pod_id, client_name, started_at, ended_at, created_at) \
         SELECT gen_random_uuid(), p.id, 'Client ' || e, now() - make_interval(days => 90 * e), \
                CASE WHEN e = 1 THEN NULL ELSE now() - make_interval(days => 90 * e - 120) END, now() \
           FROM pods p CROSS JOIN generate_series(1, 3) e".to_owned(),
        "UPDATE pods SET active_engagements = 1 WHERE client_capacity >= 1".to_owned(),
        // 1,000 closed challenges across tracks, then the reviewed submissions.
        format!(
            "INSERT INTO challenges (id, title, brief, track, min_tier, max_tier, opens_at, closes_at, review_due_at, \
             max_submissions_per_talent, reward, prizes, reference_assets, certifies_track, rubric_version, status, \
             cancel_reason, created_by, created_at, updated_at) \
             SELECT gen_random_uuid(), 'Bench ' || g, 'b', CASE WHEN g % 6 = 0 THEN NULL ELSE {tracks}[1 + g % 5] END, 0, 5, \
                    now() - interval '30 days', now() - interval '20 days', now() - interval '10 days', 10, 0, '[]'::json, '[]'::json, \
                    NULL, 1, 'closed', NULL, gen_random_uuid(), now(), now() FROM generate_series(1, 1000) g"
        ),
        format!(
            "INSERT INTO submissions (id, challenge_id, talent_id, assets, prompt, workflow, batch_size, status, \
             copy_flagged, score, outputs_meeting_standard, review_id, reward_transaction_id, reward_owed, created_at, updated_at) \
             SELECT gen_random_uuid(), c.id, u.id, '[]'::json, 'p', '{{}}'::json, 4, \
                    CASE WHEN g % 3 = 0 THEN 'rejected' ELSE 'accepted' END, false, 60, g % 4, NULL, NULL, 0, now(), now() \
               FROM generate_series(1, {s}) g \
               JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM challenges) c ON c.rn = 1 + g % 1000 \
               JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM users WHERE email LIKE 'd%@bench.example') u \
                 ON u.rn = 1 + (g::bigint * 7919) % {t}",
            s = a.submissions,
            t = a.talents
        ),
        "INSERT INTO nominations (id, talent_id, track, slot_id, note, status, nominated_by, expires_at, created_at) \
         SELECT gen_random_uuid(), talent_id, track, NULL, 'seed', 'pending', talent_id, now() + interval '20 days', \
                now() - make_interval(hours => (abs(hashtext(talent_id::text)) % 500)) \
           FROM talent_tracks WHERE tier = 4".to_owned(),
        "VACUUM ANALYZE".to_owned(),
    ]
}

async fn run(args: &Args, url: &str) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("kartel-dashbench-{}", Uuid::new_v4().simple()));
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
    for sql in seed(args) {
        db.execute_unprepared(&sql)
            .await
            .with_context(|| sql.chars().take(120).collect::<String>())?;
    }
    println!(
        "seeded {} talents, {} pods, {} reviewed submissions in {:.1} s",
        args.talents,
        args.pods,
        args.submissions,
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
    let first: Value = http
        .get(format!("{base}/api/v1/dashboard/talent-engine"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    println!(
        "dashboard: tier5_deployed {}, nominations waiting {}, {} pods, funnel {}",
        first["tier5_deployed"],
        first["nominations_waiting"],
        first["pods"].as_array().map_or(0, Vec::len),
        first["funnel"]
    );

    // Warm up, then measure.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        http.get(format!("{base}/api/v1/dashboard/talent-engine"))
            .bearer_auth(&token)
            .send()
            .await?;
    }
    let until = Instant::now() + Duration::from_secs(args.duration_secs);
    let tasks: Vec<_> = (0..args.clients)
        .map(|_| {
            let (http, base, token) = (http.clone(), base.clone(), token.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < until {
                    let t = Instant::now();
                    match http
                        .get(format!("{base}/api/v1/dashboard/talent-engine"))
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
        "target: p99 <= 200 ms at 8 clients: {}",
        if q(0.99) <= 200.0 && errors == 0 {
            "met"
        } else {
            "missed"
        }
    );

    let heaviest = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT c.track, CAST(COUNT(*) AS BIGINT) AS reviewed, \
       CAST(COALESCE(SUM(CASE WHEN s.outputs_meeting_standard >= 1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS successful \
       FROM submissions s JOIN challenges c ON c.id = s.challenge_id \
       WHERE s.status IN ('accepted', 'rejected') GROUP BY c.track";
    println!("\nthe heaviest query (bulk-run success per track):");
    let stmt = sea_orm::Statement::from_string(db.get_database_backend(), heaviest);
    for row in db.query_all_raw(stmt).await? {
        println!("    {}", row.try_get_by_index::<String>(0)?);
    }
    handle.stop(false).await;
    let _ = db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
