//! The command line.

use anyhow::bail;
use clap::{Parser, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    about = "Benchmark of the review queue's claims on a seeded PostgreSQL, next to pgbench -S"
)]
pub struct Args {
    /// A PostgreSQL URL whose role may create databases.
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub admin_url: String,
    /// Client counts, comma separated; each client claims with its own
    /// manager's token.
    #[arg(long, value_delimiter = ',', default_value = "8,32")]
    pub clients: Vec<usize>,
    /// Measured runs at each client count, each beside its own `pgbench -S`.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Measured seconds per run (pgbench -S runs as long).
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Unmeasured seconds of claims before each run.
    #[arg(long, default_value_t = 1)]
    pub warmup_secs: u64,
    /// Submissions waiting for their reviews (two open seats each).
    #[arg(long, default_value_t = 20_000)]
    pub waiting: u64,
    /// Reviewed submissions seeded beside them (two reviews each by 100
    /// other reviewers), for a queue with a history.
    #[arg(long, default_value_t = 0)]
    pub reviewed: u64,
    /// Judging challenges the submissions are dealt out over.
    #[arg(long, default_value_t = 200)]
    pub challenges: u64,
    /// Talents the waiting submissions are by.
    #[arg(long, default_value_t = 10_000)]
    pub talents: u64,
    /// Community managers, each signed in once (at least the largest
    /// client count).
    #[arg(long, default_value_t = 64)]
    pub managers: usize,
    /// What each claim asks for: the oldest seat of any challenge, of a
    /// random track, or of a random seeded challenge.
    #[arg(long, value_enum, default_value_t = Filter::None)]
    pub filter: Filter,
    /// Milliseconds each client keeps a claimed seat before releasing it
    /// (0: at once). Longer holds check "no seat given twice" over a wider
    /// window, at fewer claims per second.
    #[arg(long, default_value_t = 0)]
    pub hold_ms: u64,
    /// The app's database pool size (default: the largest client count, at
    /// least 8).
    #[arg(long)]
    pub db_connections: Option<u32>,
    /// The app's HTTP worker threads.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Do not run pgbench.
    #[arg(long)]
    pub skip_pgbench: bool,
    /// Keep the database afterwards.
    #[arg(long)]
    pub keep_database: bool,
}

/// What a claim's body names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Filter {
    /// `{}`: the oldest seat of the whole queue.
    None,
    /// `{"track": …}`, one of the five tracks at random.
    Track,
    /// `{"challenge_id": …}`, one of the seeded challenges at random.
    Challenge,
}

impl Args {
    pub fn check(&self) -> anyhow::Result<()> {
        if self.clients.is_empty() || self.clients.contains(&0) {
            bail!("--clients must be positive");
        }
        if self.runs == 0 || self.duration_secs == 0 {
            bail!("--runs and --duration-secs must be at least 1");
        }
        if self.managers < self.largest_clients() {
            bail!(
                "--managers ({}) must be at least the largest client count ({}): each client claims as its own manager",
                self.managers,
                self.largest_clients()
            );
        }
        if self.waiting == 0 || self.challenges == 0 || self.talents == 0 {
            bail!("--waiting, --challenges and --talents must be positive");
        }
        Ok(())
    }

    pub fn largest_clients(&self) -> usize {
        self.clients.iter().copied().max().unwrap_or(1)
    }
}
