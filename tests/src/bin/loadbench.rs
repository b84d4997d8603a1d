//! Load benchmark: drives concurrent HTTP clients against the application
//! (started in this process, so a release build of this binary is a release
//! build of the app) on a fresh PostgreSQL database, and compares spend
//! throughput with `pgbench -b tpcb-like` at the same client count.
//!
//! ```text
//! cargo run --release -p kartel-tests --bin loadbench -- --clients 8,32 --duration-secs 10
//! ```
//!
//! Scenarios, each run for every client count:
//! - `spread`: spends of 1 credit on a random talent out of `--talents`;
//! - `hot`: spends of 1 credit, all on one talent (a fresh one per client
//!   count, funded with `--hot-balance`; when that runs out the answers are
//!   clean `409 insufficient_credits` refusals, counted apart);
//! - `reads`: `GET /api/v1/talents/{id}/credits` by a community manager.
//!
//! Afterwards it runs the reconciliation check; it exits non-zero when the
//! books do not balance or any answer was neither a success nor a clean refusal.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Parser;
use futures::{StreamExt, TryStreamExt};
use kartel_api::configuration::{Secret, Settings};
use kartel_api::startup::Application;
use kartel_tests::SplitMix64;
use kartel_tests::stats::{
    CLK_TCK, CpuUse, ERROR_SAMPLES, Row, Stats, print_markdown_table, print_stats,
};
use kartel_tests::{create_pg_database, drop_pg_database};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery staple";
/// The largest amount one grant may carry.
const MAX_GRANT: i64 = 1_000_000_000;

#[derive(Parser, Debug)]
#[command(about = "Load benchmark of the credits API against PostgreSQL, next to pgbench")]
struct Args {
    /// A PostgreSQL URL whose role may create databases.
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    admin_url: String,
    /// Redis for the rate limiter (optional).
    #[arg(long)]
    redis_url: Option<String>,
    /// Client counts, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "8,32")]
    clients: Vec<usize>,
    /// Measured seconds per scenario and client count.
    #[arg(long, default_value_t = 10)]
    duration_secs: u64,
    /// Unmeasured seconds before each scenario.
    #[arg(long, default_value_t = 1)]
    warmup_secs: u64,
    /// Talents the spread scenario picks from.
    #[arg(long, default_value_t = 200)]
    talents: usize,
    /// Credits given to each hot talent (at most 1,000,000,000).
    #[arg(long, default_value_t = MAX_GRANT)]
    hot_balance: i64,
    /// The app's database pool size (default: the largest client count, as
    /// pgbench opens one connection per client).
    #[arg(long)]
    db_connections: Option<u32>,
    /// The app's HTTP worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Scenarios to run, comma separated: spread, hot, reads (the ledger,
    /// against pgbench tpcb-like) and challenges, leaderboard, submit (the
    /// challenges, against pgbench -S select-only).
    #[arg(long, value_delimiter = ',', default_value = "spread,hot,reads")]
    scenarios: Vec<String>,
    /// Submissions seeded on the leaderboard's challenge (straight into the
    /// database, all reviewed), spread over `--board-talents` talents.
    #[arg(long, default_value_t = 100_000)]
    board_submissions: u64,
    #[arg(long, default_value_t = 10_000)]
    board_talents: u64,
    /// Sign-ins per second during the `storm` scenario (balance reads while
    /// people sign in).
    #[arg(long, default_value_t = 50)]
    logins_per_second: u32,
    /// Do not run pgbench.
    #[arg(long)]
    skip_pgbench: bool,
    /// The service's `KARTEL_PUBLIC_CACHE_MILLIS` (0: public pages built on
    /// every request, to compare).
    #[arg(long, default_value_t = 1000)]
    public_cache_millis: u64,
    /// Keep the databases afterwards.
    #[arg(long)]
    keep_databases: bool,
}

#[derive(Clone)]
enum Scenario {
    Spread {
        talents: Arc<Vec<Uuid>>,
    },
    Hot {
        talent: Uuid,
    },
    Reads {
        talents: Arc<Vec<Uuid>>,
        token: String,
    },
    /// Balance reads while `logins_per_second` sign-ins run beside them.
    Storm {
        talents: Arc<Vec<Uuid>>,
        token: String,
        emails: Arc<Vec<String>>,
    },
    /// `GET /challenges?status=open`, anonymous.
    Challenges,
    /// A random page of the seeded leaderboard (the first page half the time).
    Leaderboard {
        challenge: Uuid,
        places: u64,
    },
    /// A submission by a random signed-in talent to a random open challenge.
    Submit {
        talents: Arc<Vec<String>>,
        challenges: Arc<Vec<Uuid>>,
    },
}

const LEDGER_SCENARIOS: [&str; 4] = ["spread", "hot", "reads", "storm"];
const CHALLENGE_SCENARIOS: [&str; 3] = ["challenges", "leaderboard", "submit"];

impl Scenario {
    fn key(&self) -> &'static str {
        match self {
            Scenario::Spread { .. } => "spread",
            Scenario::Hot { .. } => "hot",
            Scenario::Reads { .. } => "reads",
            Scenario::Storm { .. } => "storm",
            Scenario::Challenges => "challenges",
            Scenario::Leaderboard { .. } => "leaderboard",
            Scenario::Submit { .. } => "submit",
        }
    }
    fn name(&self) -> &'static str {
        match self {
            Scenario::Spread { .. } => "spread spends",
            Scenario::Hot { .. } => "hot-talent spends",
            Scenario::Reads { .. } => "balance reads",
            Scenario::Storm { .. } => "balance reads during sign-ins",
            Scenario::Challenges => "challenge list",
            Scenario::Leaderboard { .. } => "leaderboard reads",
            Scenario::Submit { .. } => "submission creates",
        }
    }
}

struct Bench {
    base: String,
    http: reqwest::Client,
    api_key: String,
}

impl Bench {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn request(&self, scenario: &Scenario, rng: &mut SplitMix64) -> reqwest::RequestBuilder {
        match scenario {
            Scenario::Spread { talents } => {
                let talent = talents[rng.below(talents.len())];
                self.spend(talent)
            }
            Scenario::Hot { talent } => self.spend(*talent),
            Scenario::Reads { talents, token } | Scenario::Storm { talents, token, .. } => {
                let talent = talents[rng.below(talents.len())];
                self.http
                    .get(self.url(&format!("/api/v1/talents/{talent}/credits")))
                    .bearer_auth(token)
            }
            Scenario::Challenges => self
                .http
                .get(self.url("/api/v1/challenges?status=open&limit=20")),
            Scenario::Leaderboard { challenge, places } => {
                let pages = usize::try_from(places / 20).unwrap_or(1).max(1);
                let page = if rng.below(2) == 0 {
                    0
                } else {
                    rng.below(pages)
                };
                let cursor = if page == 0 {
                    String::new()
                } else {
                    URL_SAFE_NO_PAD.encode((page * 20).to_string())
                };
                self.http.get(self.url(&format!(
                    "/api/v1/challenges/{challenge}/leaderboard?limit=20&cursor={cursor}"
                )))
            }
            Scenario::Submit {
                talents,
                challenges,
            } => {
                let token = &talents[rng.below(talents.len())];
                let challenge = challenges[rng.below(challenges.len())];
                self.http
                    .post(self.url(&format!("/api/v1/challenges/{challenge}/submissions")))
                    .bearer_auth(token)
                    .json(&json!({
                        "assets": [format!("https://cdn.bench.example/{}.png", Uuid::new_v4())],
                        "prompt": "loadbench", "workflow": {"seed": 1}, "batch_size": 4
                    }))
            }
        }
    }

    fn spend(&self, talent: Uuid) -> reqwest::RequestBuilder {
        self.http
            .post(self.url("/api/v1/credits/spends"))
            .header("X-Api-Key", &self.api_key)
            .header("Idempotency-Key", Uuid::new_v4().to_string())
            .json(&json!({ "talent_id": talent, "amount": 1, "purpose": "loadbench" }))
    }

    /// One client: requests back to back until `until`. Unexpected answers
    /// are always counted; the rest only when `record` (not in the warm-up).
    async fn client(self: Arc<Self>, scenario: Scenario, until: Instant, record: bool) -> Stats {
        let mut stats = Stats::default();
        let mut rng = SplitMix64::new(Uuid::new_v4().as_u64_pair().0);
        let expected = match scenario {
            Scenario::Reads { .. }
            | Scenario::Storm { .. }
            | Scenario::Challenges
            | Scenario::Leaderboard { .. } => StatusCode::OK,
            _ => StatusCode::CREATED,
        };
        while Instant::now() < until {
            let req = self.request(&scenario, &mut rng);
            let started = Instant::now();
            let outcome = match req.send().await {
                Ok(res) => {
                    let status = res.status();
                    match res.bytes().await {
                        Ok(_) if status == expected => Ok(()),
                        Ok(body) if status == StatusCode::CONFLICT && is_refusal(&body) => {
                            Err(None)
                        }
                        Ok(body) => Err(Some(format!(
                            "{status}: {}",
                            String::from_utf8_lossy(&body)
                        ))),
                        Err(e) => Err(Some(format!("{status}: reading the body: {e}"))),
                    }
                }
                Err(e) => Err(Some(format!("request failed: {e}"))),
            };
            let took = started.elapsed();
            if record {
                stats
                    .latencies
                    .push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
            }
            match outcome {
                Ok(()) if record => stats.ok += 1,
                Err(None) if record => stats.refused += 1,
                Ok(()) | Err(None) => {}
                Err(Some(msg)) => {
                    stats.errors += 1;
                    if stats.samples.len() < ERROR_SAMPLES {
                        stats.samples.push(msg);
                    }
                }
            }
        }
        stats
    }

    async fn run(self: &Arc<Self>, scenario: &Scenario, clients: usize, args: &Args) -> Stats {
        let mut warmup = Stats::default();
        if args.warmup_secs > 0 {
            let until = Instant::now() + Duration::from_secs(args.warmup_secs);
            let warm = (0..clients)
                .map(|_| tokio::spawn(self.clone().client(scenario.clone(), until, false)));
            for t in futures::future::join_all(warm).await {
                match t {
                    Ok(s) => warmup.merge(s),
                    Err(e) => {
                        warmup.errors += 1;
                        warmup.samples.push(format!("client task failed: {e}"));
                    }
                }
            }
        }
        let cpu_before = CpuSnapshot::take();
        let started = Instant::now();
        let until = started + Duration::from_secs(args.duration_secs);
        let tasks: Vec<_> = (0..clients)
            .map(|_| tokio::spawn(self.clone().client(scenario.clone(), until, true)))
            .collect();
        // Unexpected answers in the warm-up count too.
        let mut total = Stats {
            errors: warmup.errors,
            samples: warmup.samples,
            ..Stats::default()
        };
        for t in futures::future::join_all(tasks).await {
            match t {
                Ok(s) => total.merge(s),
                Err(e) => {
                    total.errors += 1;
                    total.samples.push(format!("client task failed: {e}"));
                }
            }
        }
        total.elapsed = started.elapsed();
        total.cpu = cpu_before
            .zip(CpuSnapshot::take())
            .map(|(a, b)| b.since(&a));
        total.latencies.sort_unstable();
        total
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> anyhow::Result<Value> {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        expect_json(req, StatusCode::CREATED, path).await
    }

    async fn login(&self, email: &str) -> anyhow::Result<String> {
        let req = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": PASSWORD }));
        let body = expect_json(req, StatusCode::OK, "login").await?;
        str_field(&body, "access_token")
    }

    /// Registers a person; returns their id.
    async fn register(&self, email: &str, handle: &str) -> anyhow::Result<Uuid> {
        let body = self
            .post(
                "/api/v1/auth/register",
                None,
                &json!({ "email": email, "password": PASSWORD, "handle": handle, "display_name": "Bench Talent" }),
            )
            .await?;
        Ok(str_field(&body, "id")?.parse()?)
    }

    async fn grant(&self, manager: &str, talent: Uuid, amount: i64) -> anyhow::Result<()> {
        let req = self
            .http
            .post(self.url("/api/v1/credits/grants"))
            .bearer_auth(manager)
            .header("Idempotency-Key", Uuid::new_v4().to_string())
            .json(&json!({ "talent_id": talent, "amount": amount, "reason": "loadbench funds" }));
        expect_json(req, StatusCode::CREATED, "grant").await?;
        Ok(())
    }
}

fn is_refusal(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .is_ok_and(|v| v["code"].as_str() == Some("insufficient_credits"))
}

async fn expect_json(
    req: reqwest::RequestBuilder,
    status: StatusCode,
    what: &str,
) -> anyhow::Result<Value> {
    let res = req
        .send()
        .await
        .with_context(|| format!("{what}: request"))?;
    let got = res.status();
    let text = res.text().await?;
    if got != status {
        bail!("{what}: expected {status}, got {got}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("{what}: not JSON: {text}"))
}

fn str_field(v: &Value, name: &str) -> anyhow::Result<String> {
    v[name]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {name} in {v}"))
}

/// Runs pgbench on a database of its own; returns its TPS.
async fn pgbench(
    admin_url: &str,
    builtin: &'static str,
    clients: usize,
    duration: u64,
) -> anyhow::Result<f64> {
    let name = format!("kartel_pgbench_{}", Uuid::new_v4().simple());
    let url = create_pg_database(admin_url, &name).await?;
    let result =
        tokio::task::spawn_blocking(move || run_pgbench(&url, builtin, clients, duration)).await;
    let dropped = drop_pg_database(admin_url, &name).await;
    let tps = result??;
    dropped?;
    Ok(tps)
}

fn run_pgbench(url: &str, builtin: &str, clients: usize, duration: u64) -> anyhow::Result<f64> {
    use std::process::Command;
    let scale = clients.max(1).to_string();
    let init = Command::new("pgbench")
        .args(["-i", "-q", "-s", &scale, url])
        .output()
        .context("running pgbench -i (is pgbench installed?)")?;
    if !init.status.success() {
        bail!(
            "pgbench -i failed: {}",
            String::from_utf8_lossy(&init.stderr)
        );
    }
    let cpu_before = CpuSnapshot::take();
    let out = Command::new("pgbench")
        .args([
            "-b",
            builtin,
            "-c",
            &clients.to_string(),
            "-j",
            &clients.clamp(1, 2).to_string(),
            "-T",
            &duration.to_string(),
            "-n",
            url,
        ])
        .output()
        .context("running pgbench")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "pgbench failed: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tps = stdout
        .lines()
        .filter(|l| l.starts_with("tps = ") && l.contains("without initial connection time"))
        .find_map(|l| l["tps = ".len()..].split_whitespace().next()?.parse().ok())
        .with_context(|| format!("no tps line in pgbench output: {stdout}"))?;
    let latency = stdout
        .lines()
        .find(|l| l.starts_with("latency average"))
        .unwrap_or("");
    let processed: Option<f64> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|v| v.split('/').next()?.trim().parse().ok());
    let cpu = match (cpu_before.zip(CpuSnapshot::take()), processed) {
        (Some((a, b)), Some(n)) if n > 0.0 => {
            let c = b.since(&a);
            format!(
                "; CPU per transaction: whole machine {:.0} µs; machine busy {:.0}%",
                c.busy as f64 * 1e6 / CLK_TCK / n,
                c.busy_share * 100.0
            )
        }
        _ => String::new(),
    };
    println!("    pgbench: {latency}{cpu}");
    Ok(tps)
}

/// Cumulative CPU times read from `/proc`; `None` where that is unavailable.
struct CpuSnapshot {
    app: u64,
    client: u64,
    postgres: u64,
    machine_busy: u64,
    machine_total: u64,
    cpus: usize,
}

impl CpuSnapshot {
    fn take() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let cpu: Vec<u64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let machine_total: u64 = cpu.iter().take(8).sum();
        let idle = cpu.get(3)? + cpu.get(4).copied().unwrap_or(0);
        let cpus = stat
            .lines()
            .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
            .count();
        // The whole process (exited threads included), and the app's threads: actix
        // workers and the password hashing pool.
        let (_, process) = proc_stat(std::path::Path::new("/proc/self/stat"))?;
        let mut app = 0;
        for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            if let Some((comm, ticks)) = proc_stat(&task.path().join("stat"))
                && (comm.starts_with("actix") || comm.starts_with("argon2"))
            {
                app += ticks;
            }
        }
        let mut postgres = 0;
        for proc in std::fs::read_dir("/proc").ok()?.flatten() {
            let name = proc.file_name();
            if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            if let Some((comm, ticks)) = proc_stat(&proc.path().join("stat"))
                && comm == "postgres"
            {
                postgres += ticks;
            }
        }
        Some(Self {
            app,
            client: process.saturating_sub(app),
            postgres,
            machine_busy: machine_total - idle,
            machine_total,
            cpus,
        })
    }

    fn since(&self, before: &Self) -> CpuUse {
        let total = self
            .machine_total
            .saturating_sub(before.machine_total)
            .max(1);
        CpuUse {
            app: self.app.saturating_sub(before.app),
            client: self.client.saturating_sub(before.client),
            postgres: self.postgres.saturating_sub(before.postgres),
            busy: self.machine_busy.saturating_sub(before.machine_busy),
            busy_share: self.machine_busy.saturating_sub(before.machine_busy) as f64 / total as f64,
            cpus: self.cpus,
        }
    }
}

/// The command name and user + system ticks of a `/proc/…/stat` file.
fn proc_stat(path: &std::path::Path) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    // After the command: state is field 3, utime field 14, stime field 15.
    let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((comm, utime + stime))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if !(1..=MAX_GRANT).contains(&args.hot_balance) {
        bail!("--hot-balance must be between 1 and {MAX_GRANT}");
    }
    if args.clients.is_empty() || args.clients.contains(&0) || args.talents == 0 {
        bail!("--clients and --talents must be positive");
    }
    if let Some(bad) = args.scenarios.iter().find(|s| {
        !LEDGER_SCENARIOS.contains(&s.as_str()) && !CHALLENGE_SCENARIOS.contains(&s.as_str())
    }) {
        bail!("unknown scenario {bad}: use spread, hot, reads, challenges, leaderboard or submit");
    }

    let db_name = format!("kartel_bench_{}", Uuid::new_v4().simple());
    let url = create_pg_database(&args.admin_url, &db_name).await?;
    let result = bench(&args, &url).await;
    if args.keep_databases {
        println!("kept database {db_name}");
    } else if let Err(e) = drop_pg_database(&args.admin_url, &db_name).await {
        eprintln!("dropping {db_name} failed: {e}");
    }
    let clean = result?;
    if !clean {
        std::process::exit(1);
    }
    Ok(())
}

/// The whole run; `Ok(false)` when there were unexpected answers or the books
/// did not balance.
async fn bench(args: &Args, url: &str) -> anyhow::Result<bool> {
    let dir = std::env::temp_dir().join(format!("kartel-bench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let largest = args.clients.iter().copied().max().unwrap_or(8);
    let pool_size = args
        .db_connections
        .unwrap_or(u32::try_from(largest)?.max(8));
    let s = Settings {
        database_url: Secret::new(url.to_owned()),
        redis_url: args.redis_url.clone().map(Secret::new),
        redis_prefix: format!("kartel-bench:{}", Uuid::new_v4().simple()),
        addr: "127.0.0.1:0".parse()?,
        signing_key_file: Some(dir.join("signing-key.pem")),
        auth_rate_limit_per_ip: 1_000_000,
        auth_rate_limit_per_account: 1_000_000,
        database_max_connections: pool_size,
        workers: Some(args.workers),
        shutdown_timeout_seconds: 1,
        public_cache_millis: args.public_cache_millis,
        ..Settings::default()
    };
    s.validate().map_err(anyhow::Error::msg)?;

    let app = Application::build(s).await?;
    let db = app.db();
    if !args.skip_pgbench {
        // The app's pool stays open while pgbench runs with one connection per client.
        #[derive(sea_orm::FromQueryResult)]
        struct MaxConnections {
            max: i64,
        }
        let max = kartel_domain::db::fetch_one::<MaxConnections, _>(
            &db,
            "SELECT current_setting('max_connections')::bigint AS max",
            [],
        )
        .await?
        .context("no max_connections")?
        .max;
        let need = i64::from(pool_size) + i64::try_from(largest)? + 5;
        if need > max {
            bail!(
                "PostgreSQL allows {max} connections and this run needs about {need} \
                 (app pool {pool_size} + {largest} pgbench clients + a few): \
                 pass a smaller --db-connections, fewer --clients, or raise max_connections"
            );
        }
    }
    let handle = app.handle();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());

    let max_clients = args.clients.iter().copied().max().unwrap_or(1);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(max_clients * 2)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?;

    println!(
        "kartel loadbench: {} CPUs, app workers {}, DB pool {}, clients {:?}, {} s per run (+{} s warm-up), {} talents, hot balance {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.workers,
        pool_size,
        args.clients,
        args.duration_secs,
        args.warmup_secs,
        args.talents,
        args.hot_balance,
    );

    // Setup, through the API.
    let setup_started = Instant::now();
    let tag = &Uuid::new_v4().simple().to_string()[..8];
    let admin_email = format!("admin-{tag}@bench.example");
    kartel_domain::accounts::create_admin(
        &db,
        &admin_email,
        PASSWORD,
        &format!("admin_{tag}"),
        "Bench Admin",
    )
    .await?;
    let mut bench = Bench {
        base,
        http,
        api_key: String::new(),
    };
    let admin = bench.login(&admin_email).await?;
    let key = bench
        .post(
            "/api/v1/admin/api-keys",
            Some(&admin),
            &json!({ "name": "loadbench", "scopes": ["credits:spend"] }),
        )
        .await?;
    bench.api_key = str_field(&key, "secret")?;
    let bench = Arc::new(bench);

    let manager_email = format!("manager-{tag}@bench.example");
    let manager_id = bench
        .register(&manager_email, &format!("manager_{tag}"))
        .await?;
    let req = bench
        .http
        .patch(bench.url(&format!("/api/v1/admin/users/{manager_id}")))
        .bearer_auth(&admin)
        .json(&json!({ "roles": ["community_manager"] }));
    expect_json(req, StatusCode::OK, "make manager").await?;
    let manager = bench.login(&manager_email).await?;

    // Spread talents, then one hot talent per client count.
    let people = args.talents + args.clients.len();
    let ids: Vec<Uuid> = futures::stream::iter(0..people)
        .map(|i| {
            let bench = bench.clone();
            async move {
                bench
                    .register(&format!("t{i}-{tag}@bench.example"), &format!("t{i}_{tag}"))
                    .await
            }
        })
        .buffered(8)
        .try_collect()
        .await?;
    let (spread_ids, hot_ids) = ids.split_at(args.talents);
    // The bench's talents verified their addresses (submitting needs it);
    // done in SQL rather than through the mailed links.
    kartel_domain::db::execute(
        &db,
        "UPDATE users SET email_verified_at = created_at WHERE email LIKE '%@bench.example'",
        [],
    )
    .await?;
    let funding = spread_ids
        .iter()
        .map(|&id| (id, MAX_GRANT))
        .chain(hot_ids.iter().map(|&id| (id, args.hot_balance)));
    futures::stream::iter(funding)
        .map(|(id, amount)| {
            let bench = bench.clone();
            let manager = manager.clone();
            async move { bench.grant(&manager, id, amount).await }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    println!(
        "setup: admin, API key, manager, {people} talents registered and funded in {:.1} s",
        setup_started.elapsed().as_secs_f64()
    );

    let talents = Arc::new(spread_ids.to_vec());
    let emails = Arc::new(
        (0..spread_ids.len())
            .map(|i| format!("t{i}-{tag}@bench.example"))
            .collect::<Vec<_>>(),
    );
    let challenge_run = args
        .scenarios
        .iter()
        .any(|s| CHALLENGE_SCENARIOS.contains(&s.as_str()));
    let board = if challenge_run {
        Some(seed_challenges(&bench, &db, &manager, args, spread_ids, tag).await?)
    } else {
        None
    };
    let mut rows = Vec::new();
    for (n, &clients) in args.clients.iter().enumerate() {
        println!("\n== {clients} clients ==");
        // A fresh token for each round: access tokens live at most 15 minutes.
        let manager = bench.login(&manager_email).await?;
        let mut scenarios = vec![
            Scenario::Spread {
                talents: talents.clone(),
            },
            Scenario::Hot { talent: hot_ids[n] },
            Scenario::Reads {
                talents: talents.clone(),
                token: manager.clone(),
            },
            Scenario::Storm {
                talents: talents.clone(),
                token: manager,
                emails: emails.clone(),
            },
        ];
        if let Some(b) = &board {
            scenarios.extend([
                Scenario::Challenges,
                Scenario::Leaderboard {
                    challenge: b.board,
                    places: b.places,
                },
                Scenario::Submit {
                    talents: b.tokens.clone(),
                    challenges: b.open.clone(),
                },
            ]);
        }
        let mut spread_rate = None;
        for scenario in scenarios
            .iter()
            .filter(|sc| args.scenarios.iter().any(|w| w == sc.key()))
        {
            let storm = match scenario {
                Scenario::Storm { emails, .. } => Some(start_storm(
                    bench.clone(),
                    emails.clone(),
                    args.logins_per_second,
                )),
                _ => None,
            };
            let stats = bench.run(scenario, clients, args).await;
            print_stats(scenario.name(), clients, &stats);
            if let Some((task, counts)) = storm {
                task.abort();
                let secs = (args.duration_secs + args.warmup_secs).max(1) as f64;
                println!(
                    "      beside them: {} sign-ins answered 200 ({:.0}/s), {} not",
                    counts.0.load(Ordering::Relaxed),
                    counts.0.load(Ordering::Relaxed) as f64 / secs,
                    counts.1.load(Ordering::Relaxed),
                );
            }
            if matches!(scenario, Scenario::Spread { .. }) {
                spread_rate = Some(stats.rate(stats.ok));
            }
            rows.push(Row {
                scenario: scenario.name(),
                clients,
                stats,
                pgbench_tps: None,
            });
        }
        if args.skip_pgbench {
            continue;
        }
        let ledger_run = args
            .scenarios
            .iter()
            .any(|s| LEDGER_SCENARIOS.contains(&s.as_str()));
        if ledger_run {
            match pgbench(&args.admin_url, "tpcb-like", clients, args.duration_secs).await {
                Ok(tps) => {
                    let ratio = spread_rate.map_or(0.0, |r| r / tps);
                    println!(
                        "  pgbench tpcb-like  c={clients:<3} {tps:>8.0} TPS   spread spends / pgbench = {ratio:.2}x"
                    );
                    for row in rows
                        .iter_mut()
                        .filter(|r| r.clients == clients && !is_challenge_row(r))
                    {
                        row.pgbench_tps = Some(tps);
                    }
                }
                Err(e) => println!("  pgbench not run: {e:#}"),
            }
        }
        if challenge_run {
            match pgbench(&args.admin_url, "select-only", clients, args.duration_secs).await {
                Ok(tps) => {
                    println!("  pgbench select-only c={clients:<3} {tps:>8.0} TPS");
                    for row in rows
                        .iter_mut()
                        .filter(|r| r.clients == clients && is_challenge_row(r))
                    {
                        row.pgbench_tps = Some(tps);
                    }
                }
                Err(e) => println!("  pgbench -S not run: {e:#}"),
            }
        }
    }

    // The books must balance after all that.
    let admin = bench.login(&admin_email).await?;
    let req = bench
        .http
        .get(bench.url("/api/v1/admin/ledger/check"))
        .bearer_auth(&admin);
    let check = expect_json(req, StatusCode::OK, "ledger check").await?;
    let ledger_ok = check["ok"].as_bool() == Some(true);
    let issues = check["issues"].as_array().map_or(0, Vec::len);
    println!(
        "\nledger check: ok={ledger_ok}, issues={issues}, transactions={}, entries={}, book_total={}",
        check["transactions"], check["entries"], check["book_total"]
    );
    if let Some(list) = check["issues"].as_array() {
        for issue in list.iter().take(5) {
            println!("  issue: {issue}");
        }
    }

    // The table for docs/benchmarks.md.
    print_markdown_table(&rows);
    println!("\n(ratio = successful requests per second / pgbench TPS at the same client count)");
    // A sign-in storm must not starve the rest: reads' p99 at most twice the p99 alone.
    for storm in rows
        .iter()
        .filter(|r| r.scenario == "balance reads during sign-ins")
    {
        if let Some(alone) = rows
            .iter()
            .find(|r| r.scenario == "balance reads" && r.clients == storm.clients)
        {
            let (a, b) = (alone.stats.quantile_ms(0.99), storm.stats.quantile_ms(0.99));
            println!(
                "balance reads at {} clients: p99 {a:.1} ms alone, {b:.1} ms during {} sign-ins/s ({:.2}x; target <= 2x)",
                storm.clients,
                args.logins_per_second,
                b / a.max(0.001)
            );
        }
    }
    // The challenges' target: reads at 0.4x pgbench -S or better, p99 within 50 ms at 32 clients.
    for r in rows.iter().filter(|r| is_challenge_row(r)) {
        let s = &r.stats;
        let p99 = s.quantile_ms(0.99);
        let ratio = r.pgbench_tps.map(|tps| s.rate(s.ok) / tps);
        println!(
            "{} at {} clients: {} of pgbench -S, p99 {p99:.1} ms (target for reads: >= 0.4x, p99 <= 50 ms)",
            r.scenario,
            r.clients,
            ratio.map_or("no ratio".into(), |x| format!("{x:.2}x")),
        );
    }
    // The target: spread spends at 0.8x pgbench or better, with p99 within 50 ms.
    for r in rows.iter().filter(|r| r.scenario == "spread spends") {
        let s = &r.stats;
        let p99 = s.quantile_ms(0.99);
        let ratio = r.pgbench_tps.map(|tps| s.rate(s.ok) / tps);
        let verdict = match ratio {
            Some(x) if x >= 0.8 && p99 <= 50.0 && s.errors == 0 => "meets",
            Some(_) => "misses",
            None => "cannot judge (no pgbench figure) against",
        };
        println!(
            "target (spread >= 0.8x pgbench, p99 <= 50 ms) at {} clients: {verdict} it ({}, p99 {p99:.1} ms)",
            r.clients,
            ratio.map_or("no ratio".into(), |x| format!("{x:.2}x")),
        );
    }

    handle.stop(false).await;
    let _ = db.close().await;
    let _ = std::fs::remove_dir_all(&dir);

    let errors: u64 = rows.iter().map(|r| r.stats.errors).sum();
    if errors > 0 {
        println!("FAIL: {errors} unexpected answers");
    }
    if !ledger_ok {
        println!("FAIL: the ledger check found issues");
    }
    Ok(errors == 0 && ledger_ok)
}

/// Sign-ins answered 200, and the others.
type StormCounts = Arc<(AtomicU64, AtomicU64)>;

/// Starts `per_second` sign-ins a second, each on its own task (an open
/// loop: a slow answer does not slow the storm down), until aborted.
fn start_storm(
    bench: Arc<Bench>,
    emails: Arc<Vec<String>>,
    per_second: u32,
) -> (tokio::task::JoinHandle<()>, StormCounts) {
    let counts: StormCounts = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let c = counts.clone();
    let task = tokio::spawn(async move {
        let mut tick =
            tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(per_second.max(1))));
        let mut n = 0usize;
        loop {
            tick.tick().await;
            let (bench, email, c) = (bench.clone(), emails[n % emails.len()].clone(), c.clone());
            n += 1;
            tokio::spawn(async move {
                match bench.login(&email).await {
                    Ok(_) => c.0.fetch_add(1, Ordering::Relaxed),
                    Err(_) => c.1.fetch_add(1, Ordering::Relaxed),
                };
            });
        }
    });
    (task, counts)
}

fn is_challenge_row(r: &Row) -> bool {
    matches!(
        r.scenario,
        "challenge list" | "leaderboard reads" | "submission creates"
    )
}

/// What the challenge scenarios run against.
struct Board {
    /// The judging challenge with the seeded leaderboard.
    board: Uuid,
    places: u64,
    /// Open challenges taking submissions.
    open: Arc<Vec<Uuid>>,
    /// Access tokens of talents who submit.
    tokens: Arc<Vec<String>>,
}

/// Creates 20 open challenges through the API, and one with a leaderboard of
/// `--board-submissions` reviewed submissions by `--board-talents` talents,
/// seeded straight into the database (the API would take hours), then judging.
async fn seed_challenges(
    bench: &Arc<Bench>,
    db: &sea_orm::DatabaseConnection,
    manager: &str,
    args: &Args,
    talents: &[Uuid],
    tag: &str,
) -> anyhow::Result<Board> {
    use sea_orm::ConnectionTrait;
    let started = Instant::now();
    let now = chrono::Utc::now();
    let spec = |title: String| {
        json!({
            "title": title, "brief": "loadbench", "track": null, "min_tier": 0, "max_tier": 5,
            "opens_at": now - chrono::Duration::hours(1), "closes_at": now + chrono::Duration::hours(6),
            "review_due_at": now + chrono::Duration::hours(7), "max_submissions_per_talent": 100,
            "reward": 1, "prizes": [], "reference_assets": [],
            "rubric": {"criteria": [{"key": "q", "name": "Quality", "weight": 1, "max_score": 10}], "pass_mark": 50},
            "certifies_track": null
        })
    };
    let open_one = async |title: String| -> anyhow::Result<Uuid> {
        let c = bench
            .post("/api/v1/challenges", Some(manager), &spec(title))
            .await?;
        let id: Uuid = str_field(&c, "id")?.parse()?;
        let req = bench
            .http
            .post(bench.url(&format!("/api/v1/challenges/{id}/transitions")))
            .bearer_auth(manager)
            .json(&json!({ "to": "open" }));
        expect_json(req, StatusCode::OK, "open challenge").await?;
        Ok(id)
    };
    let mut open = Vec::new();
    for i in 0..20 {
        open.push(open_one(format!("Bench challenge {i}")).await?);
    }
    let board = open_one("Bench leaderboard".into()).await?;
    let seed = [
        format!(
            "INSERT INTO users (id, email, handle, display_name, bio, password_hash, roles, status, created_at, updated_at) \
             SELECT gen_random_uuid(), 'b' || g || '-{tag}@bench.example', 'b' || g || '_{tag}', 'Board ' || g, NULL, 'x', \
                    '[\"talent\"]'::json, 'active', now(), now() FROM generate_series(1, {n}) g",
            n = args.board_talents
        ),
        format!(
            "INSERT INTO submissions (id, challenge_id, talent_id, assets, prompt, workflow, batch_size, status, \
             copy_flagged, score, outputs_meeting_standard, review_id, reward_transaction_id, reward_owed, created_at, updated_at) \
             SELECT gen_random_uuid(), '{board}', u.id, '[\"https://cdn.bench.example/seed.png\"]'::json, 'seed', '{{}}'::json, 4, \
                    'accepted', false, round((random() * 100)::numeric, 2)::float8, 1, NULL, NULL, 0, \
                    now() - make_interval(secs => g), now() \
               FROM generate_series(1, {subs}) g \
               JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM users WHERE email LIKE 'b%-{tag}@bench.example') u \
                 ON u.rn = (g % {n}) + 1",
            subs = args.board_submissions,
            n = args.board_talents.max(1)
        ),
        "ANALYZE".to_owned(),
    ];
    for sql in seed {
        db.execute_unprepared(&sql).await?;
    }
    let req = bench
        .http
        .post(bench.url(&format!("/api/v1/challenges/{board}/transitions")))
        .bearer_auth(manager)
        .json(&json!({ "to": "judging" }));
    expect_json(req, StatusCode::OK, "judge the board").await?;
    let tokens: Vec<String> = futures::stream::iter(talents.iter().take(100).enumerate())
        .map(|(i, _)| {
            let bench = bench.clone();
            async move { bench.login(&format!("t{i}-{tag}@bench.example")).await }
        })
        .buffered(4)
        .try_collect()
        .await?;
    println!(
        "setup: 21 challenges, a board of {} submissions by {} talents, {} submitters in {:.1} s",
        args.board_submissions,
        args.board_talents,
        tokens.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(Board {
        board,
        places: args.board_talents.min(args.board_submissions),
        open: Arc::new(open),
        tokens: Arc::new(tokens),
    })
}
