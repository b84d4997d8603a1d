//! The command line, and what it asks for.

use anyhow::bail;
use clap::Parser;

/// The largest amount one grant may carry.
pub const MAX_GRANT: i64 = 1_000_000_000;

/// The ledger's scenarios: a service key and a manager (against pgbench
/// tpcb-like), then the talents' own tokens (`my-…`).
pub const LEDGER_SCENARIOS: [&str; 8] = [
    "spread",
    "hot",
    "reads",
    "storm",
    "my-reads",
    "my-spends",
    "my-hot",
    "my-storm",
];
/// The challenges' scenarios (against pgbench -S).
pub const CHALLENGE_SCENARIOS: [&str; 3] = ["challenges", "leaderboard", "submit"];

#[derive(Parser, Debug)]
#[command(about = "Load benchmark of the credits API against PostgreSQL, next to pgbench")]
pub struct Args {
    /// A PostgreSQL URL whose role may create databases.
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub admin_url: String,
    /// Redis for the rate limiter and the session cache (optional).
    #[arg(long)]
    pub redis_url: Option<String>,
    /// Client counts, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "8,32")]
    pub clients: Vec<usize>,
    /// Measured seconds per scenario and client count.
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Unmeasured seconds before each scenario.
    #[arg(long, default_value_t = 1)]
    pub warmup_secs: u64,
    /// Runs of each scenario at each client count (each beside its own
    /// pgbench references); the summary gives min / median / max.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Talents the spread and `my-…` scenarios pick from.
    #[arg(long, default_value_t = 200)]
    pub talents: usize,
    /// Credits given to each hot talent (at most 1,000,000,000).
    #[arg(long, default_value_t = MAX_GRANT)]
    pub hot_balance: i64,
    /// The app's database pool size (default: the largest client count, as
    /// pgbench opens one connection per client).
    #[arg(long)]
    pub db_connections: Option<u32>,
    /// The app's HTTP worker threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Scenarios to run, comma separated: spread, hot, reads, storm (a
    /// service key and a manager, against pgbench tpcb-like); my-reads,
    /// my-storm (talents' own tokens, against pgbench -S), my-spends (against
    /// tpcb-like and a pgbench replay of the spend statement), my-hot
    /// (against tpcb-like and that replay on one account); challenges,
    /// leaderboard, submit (the challenges, against pgbench -S).
    #[arg(long, value_delimiter = ',', default_value = "spread,hot,reads")]
    pub scenarios: Vec<String>,
    /// Submissions seeded on the leaderboard's challenge (straight into the
    /// database, all reviewed), spread over `--board-talents` talents.
    #[arg(long, default_value_t = 100_000)]
    pub board_submissions: u64,
    #[arg(long, default_value_t = 10_000)]
    pub board_talents: u64,
    /// Sign-ins per second during the `storm` and `my-storm` scenarios
    /// (balance reads while people sign in).
    #[arg(long, default_value_t = 50)]
    pub logins_per_second: u32,
    /// Do not run pgbench.
    #[arg(long)]
    pub skip_pgbench: bool,
    /// The service's `KARTEL_PUBLIC_CACHE_MILLIS` (0: public pages built on
    /// every request, to compare).
    #[arg(long, default_value_t = 1000)]
    pub public_cache_millis: u64,
    /// Keep the databases afterwards.
    #[arg(long)]
    pub keep_databases: bool,
}

impl Args {
    pub fn check(&self) -> anyhow::Result<()> {
        if !(1..=MAX_GRANT).contains(&self.hot_balance) {
            bail!("--hot-balance must be between 1 and {MAX_GRANT}");
        }
        if self.clients.is_empty() || self.clients.contains(&0) || self.talents == 0 {
            bail!("--clients and --talents must be positive");
        }
        if self.runs == 0 {
            bail!("--runs must be at least 1");
        }
        if let Some(bad) = self.scenarios.iter().find(|s| {
            !LEDGER_SCENARIOS.contains(&s.as_str()) && !CHALLENGE_SCENARIOS.contains(&s.as_str())
        }) {
            bail!(
                "unknown scenario {bad}: use {} or {}",
                LEDGER_SCENARIOS.join(", "),
                CHALLENGE_SCENARIOS.join(", ")
            );
        }
        Ok(())
    }

    /// Whether any of `keys` is among the chosen scenarios.
    pub fn wants_any(&self, keys: &[&str]) -> bool {
        self.scenarios.iter().any(|s| keys.contains(&s.as_str()))
    }

    pub fn wants(&self, key: &str) -> bool {
        self.wants_any(&[key])
    }

    pub fn largest_clients(&self) -> usize {
        self.clients.iter().copied().max().unwrap_or(1)
    }
}
