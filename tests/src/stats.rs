//! What a load run measured, and how the bench prints it: counts, latency
//! quantiles, CPU per request, and the markdown tables for docs/benchmarks.md (one
//! row per run, and min / median / max over the runs).
//!
//! The measuring is elsewhere (the HTTP clients in [`crate::raw`], the
//! `/proc` snapshots in [`crate::cpu`], pgbench in [`crate::pgbench`]);
//! this module only adds up and prints.

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

/// One line of the final table: a scenario at a client count, in one run.
pub struct Row {
    pub scenario: &'static str,
    pub clients: usize,
    /// 1 for the first run of the scenario at this client count.
    pub run: usize,
    pub stats: Stats,
    /// The pgbench figures of the same round this row is compared with: a
    /// label (`tpcb-like`, `select-only`, `spend replay`…) and its TPS.
    pub refs: Vec<(&'static str, f64)>,
}

impl Row {
    /// Successful requests per second over the reference's TPS.
    pub fn ratio(&self, tps: f64) -> f64 {
        self.stats.rate(self.stats.ok) / tps
    }
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

/// The table for docs/benchmarks.md: a header, then one markdown row per run (with
/// a run column when there were several).
pub fn print_markdown_table(rows: &[Row]) {
    let runs = rows.iter().any(|r| r.run > 1);
    let (run_head, run_rule) = if runs { (" run |", "---:|") } else { ("", "") };
    println!(
        "\n| scenario | clients |{run_head} requests | ok | refused (409) | errors | req/s | p50 ms | p99 ms | max ms | pgbench TPS | ratio |"
    );
    println!("|---|---:|{run_rule}---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        print_markdown_row(r, runs);
    }
}

/// One run as a row of the table in docs/benchmarks.md. With several references, each
/// figure and ratio is named.
pub fn print_markdown_row(r: &Row, with_run: bool) {
    let s = &r.stats;
    let (tps, ratio) = match r.refs.as_slice() {
        [] => ("–".into(), "–".into()),
        [(_, tps)] => (format!("{tps:.0}"), format!("{:.2}x", r.ratio(*tps))),
        refs => (
            refs.iter()
                .map(|(label, tps)| format!("{label} {tps:.0}"))
                .collect::<Vec<_>>()
                .join("; "),
            refs.iter()
                .map(|(label, tps)| format!("{:.2}x {label}", r.ratio(*tps)))
                .collect::<Vec<_>>()
                .join("; "),
        ),
    };
    let run = if with_run {
        format!(" {} |", r.run)
    } else {
        String::new()
    };
    println!(
        "| {} | {} |{run} {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {tps} | {ratio} |",
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

/// Min, median and max of some runs' figures (the median of an even count
/// is the mean of the middle two); `None` for no figures.
pub fn spread_of(mut values: Vec<f64>) -> Option<(f64, f64, f64)> {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let (first, last) = (*values.first()?, *values.last()?);
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    Some((first, median, last))
}

/// The runs of one scenario at one client count, summed up.
pub struct Summary {
    pub scenario: &'static str,
    pub clients: usize,
    pub runs: usize,
    /// req/s (every answer), as the per-run table.
    pub rate: (f64, f64, f64),
    pub p99_ms: (f64, f64, f64),
    /// Per reference: its label, the median of its TPS, and the ratio's spread.
    pub refs: Vec<(&'static str, f64, (f64, f64, f64))>,
}

/// One summary per scenario and client count, in the order they first ran.
pub fn summarize(rows: &[Row]) -> Vec<Summary> {
    let mut keys: Vec<(&'static str, usize)> = Vec::new();
    for r in rows {
        if !keys.contains(&(r.scenario, r.clients)) {
            keys.push((r.scenario, r.clients));
        }
    }
    let mut out = Vec::new();
    for (scenario, clients) in keys {
        let runs: Vec<&Row> = rows
            .iter()
            .filter(|r| r.scenario == scenario && r.clients == clients)
            .collect();
        let of = |f: &dyn Fn(&Row) -> f64| spread_of(runs.iter().map(|r| f(r)).collect());
        let (Some(rate), Some(p99_ms)) = (
            of(&|r| r.stats.rate(r.stats.requests())),
            of(&|r| r.stats.quantile_ms(0.99)),
        ) else {
            continue;
        };
        let mut labels: Vec<&'static str> = Vec::new();
        for (label, _) in runs.iter().flat_map(|r| &r.refs) {
            if !labels.contains(label) {
                labels.push(label);
            }
        }
        let refs = labels
            .into_iter()
            .filter_map(|label| {
                let with: Vec<(f64, f64)> = runs
                    .iter()
                    .filter_map(|r| {
                        let tps = r.refs.iter().find(|(l, _)| *l == label)?.1;
                        Some((tps, r.ratio(tps)))
                    })
                    .collect();
                let tps = spread_of(with.iter().map(|w| w.0).collect())?.1;
                let ratio = spread_of(with.iter().map(|w| w.1).collect())?;
                Some((label, tps, ratio))
            })
            .collect();
        out.push(Summary {
            scenario,
            clients,
            runs: runs.len(),
            rate,
            p99_ms,
            refs,
        });
    }
    out
}

/// The summary as a markdown table: one line per scenario, client count and
/// reference (a scenario with two references has two lines).
pub fn print_summary(summaries: &[Summary]) {
    println!(
        "\n| scenario | clients | runs | req/s min / median / max | p99 ms min / median / max | reference | reference TPS (median) | ratio min / median / max |"
    );
    println!("|---|---:|---:|---:|---:|---|---:|---:|");
    for s in summaries {
        let rate = format!("{:.0} / {:.0} / {:.0}", s.rate.0, s.rate.1, s.rate.2);
        let p99 = format!("{:.2} / {:.2} / {:.2}", s.p99_ms.0, s.p99_ms.1, s.p99_ms.2);
        let head = format!(
            "| {} | {} | {} | {rate} | {p99} |",
            s.scenario, s.clients, s.runs
        );
        if s.refs.is_empty() {
            println!("{head} – | – | – |");
        }
        for (label, tps, (lo, mid, hi)) in &s.refs {
            println!("{head} {label} | {tps:.0} | {lo:.2}× / {mid:.2}× / {hi:.2}× |");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Stats, spread_of};

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

    #[test]
    fn spread_gives_min_median_max() {
        assert_eq!(spread_of(vec![]), None);
        assert_eq!(spread_of(vec![2.0]), Some((2.0, 2.0, 2.0)));
        assert_eq!(spread_of(vec![3.0, 1.0, 2.0]), Some((1.0, 2.0, 3.0)));
        assert_eq!(spread_of(vec![4.0, 1.0, 2.0, 3.0]), Some((1.0, 2.5, 4.0)));
    }
}
