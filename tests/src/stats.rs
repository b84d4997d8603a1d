//! What a load run measured, and how the bench prints it: counts, latency
//! quantiles, CPU per request, and the markdown table for docs/benchmarks.md.
//!
//! The measuring (HTTP clients, `/proc` snapshots, pgbench) stays in the
//! `loadbench` binary; this module only adds up and prints.

use std::time::Duration;

/// How many unexpected answers are kept to print.
pub const ERROR_SAMPLES: usize = 5;

/// Clock ticks per second of `/proc` CPU times (`getconf CLK_TCK`, 100 on Linux).
pub const CLK_TCK: f64 = 100.0;

/// What one measured run saw.
#[derive(Default)]
pub struct Stats {
    pub ok: u64,
    pub refused: u64,
    pub errors: u64,
    /// Microseconds per answered (or failed) request.
    pub latencies: Vec<u32>,
    pub elapsed: Duration,
    pub samples: Vec<String>,
    /// Where the CPU went during the run (Linux only).
    pub cpu: Option<CpuUse>,
}

impl Stats {
    pub fn requests(&self) -> u64 {
        self.ok + self.refused + self.errors
    }
    pub fn rate(&self, n: u64) -> f64 {
        n as f64 / self.elapsed.as_secs_f64()
    }
    pub fn merge(&mut self, other: Stats) {
        self.ok += other.ok;
        self.refused += other.refused;
        self.errors += other.errors;
        self.latencies.extend(other.latencies);
        for s in other.samples {
            if self.samples.len() < ERROR_SAMPLES {
                self.samples.push(s);
            }
        }
    }
    /// The latency at quantile `q` in milliseconds (latencies must be sorted).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        f64::from(self.latencies[rank - 1]) / 1000.0
    }
}

/// CPU time used over a run, in clock ticks.
pub struct CpuUse {
    /// actix-web worker threads: the application's request handling.
    pub app: u64,
    /// The rest of this process: the load clients on `main`'s tokio runtime
    /// (and whatever else runs there).
    pub client: u64,
    /// Every process named `postgres`.
    pub postgres: u64,
    /// The whole machine, all processes.
    pub busy: u64,
    pub busy_share: f64,
    pub cpus: usize,
}

/// One line of the final table: a scenario at a client count.
pub struct Row {
    pub scenario: &'static str,
    pub clients: usize,
    pub stats: Stats,
    pub pgbench_tps: Option<f64>,
}

/// The lines printed as each run ends.
pub fn print_stats(name: &str, clients: usize, s: &Stats) {
    println!(
        "  {name:<18} c={clients:<3} {:>7} req  ok {:>7}  refused {:>6}  errors {:>4}  {:>8.0} req/s  p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>7.2} ms",
        s.requests(),
        s.ok,
        s.refused,
        s.errors,
        s.rate(s.requests()),
        s.quantile_ms(0.50),
        s.quantile_ms(0.99),
        s.quantile_ms(1.0),
    );
    if let Some(cpu) = &s.cpu
        && s.requests() > 0
    {
        let per_req = |ticks: u64| ticks as f64 * 1e6 / CLK_TCK / s.requests() as f64;
        println!(
            "      CPU per request: whole machine {:.0} µs = app (actix workers, password hashing) {:.0} + load clients (rest of this process) {:.0} + PostgreSQL {:.0} + other; machine busy {:.0}% of {} CPUs",
            per_req(cpu.busy),
            per_req(cpu.app),
            per_req(cpu.client),
            per_req(cpu.postgres),
            cpu.busy_share * 100.0,
            cpu.cpus,
        );
    }
    for sample in &s.samples {
        println!("      unexpected answer: {sample}");
    }
}

/// The table for docs/benchmarks.md: a header, then one markdown row per run.
pub fn print_markdown_table(rows: &[Row]) {
    println!(
        "\n| scenario | clients | requests | ok | refused (409) | errors | req/s | p50 ms | p99 ms | max ms | pgbench TPS | ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        print_markdown_row(r);
    }
}

/// One run as a row of the table in docs/benchmarks.md.
pub fn print_markdown_row(r: &Row) {
    let s = &r.stats;
    let (tps, ratio) = match r.pgbench_tps {
        Some(tps) => (format!("{tps:.0}"), format!("{:.2}x", s.rate(s.ok) / tps)),
        None => ("–".into(), "–".into()),
    };
    println!(
        "| {} | {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {tps} | {ratio} |",
        r.scenario,
        r.clients,
        s.requests(),
        s.ok,
        s.refused,
        s.errors,
        s.rate(s.requests()),
        s.quantile_ms(0.50),
        s.quantile_ms(0.99),
        s.quantile_ms(1.0),
    );
}

#[cfg(test)]
mod tests {
    use super::Stats;

    #[test]
    fn quantiles_are_nearest_rank_over_sorted_latencies() {
        let s = Stats {
            latencies: (1..=100).map(|ms| ms * 1000).collect(),
            ..Stats::default()
        };
        assert_eq!(s.quantile_ms(0.50), 50.0);
        assert_eq!(s.quantile_ms(0.99), 99.0);
        assert_eq!(s.quantile_ms(1.0), 100.0);
        assert_eq!(s.quantile_ms(0.0), 1.0);
        assert_eq!(Stats::default().quantile_ms(0.99), 0.0);
    }
}
