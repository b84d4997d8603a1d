//! What each run prints as it ends, and the tables and targets at the end
//! (issue 24: p99 ≤ 50 ms at 32 clients; claims ≥ 0.3× `pgbench -S`; no
//! seat given twice).

use kartel_tests::stats::{CLK_TCK, CpuUse, print_stats, spread_of};

use crate::load::Measured;

/// The client count the latency target is set at.
const P99_TARGET_CLIENTS: usize = 32;
const P99_TARGET_MS: f64 = 50.0;
/// Claims per second over `pgbench -S`'s TPS.
const RATIO_TARGET: f64 = 0.3;

/// One run at one client count, with the `pgbench -S` of its round.
pub struct Row {
    pub clients: usize,
    pub run: usize,
    pub m: Measured,
    pub pgbench: Option<f64>,
    /// Seats still under a claim once the clients stopped (all released: 0).
    pub held_after: i64,
}

impl Row {
    fn claims_per_s(&self) -> f64 {
        self.m.claims.rate(self.m.claims.ok)
    }
    fn ratio(&self) -> Option<f64> {
        self.pgbench.map(|tps| self.claims_per_s() / tps)
    }
    fn p99(&self) -> f64 {
        self.m.claims.quantile_ms(0.99)
    }
    /// Whatever makes the run fail: seats given twice, unexpected answers,
    /// seats left held.
    pub fn clean(&self) -> bool {
        self.m.twice == 0
            && self.m.claims.errors == 0
            && self.m.releases.errors == 0
            && self.held_after == 0
    }
}

/// The lines printed as a run's clients stop.
pub fn print_run(clients: usize, m: &Measured, held_after: i64) {
    print_stats("claim", clients, &m.claims);
    print_stats("release", clients, &m.releases);
    if let Some(cpu) = &m.cpu {
        print_cpu(cpu, m.claims.requests() + m.releases.requests());
    }
    println!(
        "      seats given twice {}; seats still held after the run {held_after}",
        m.twice
    );
    for s in &m.twice_samples {
        println!("      given twice: {s}");
    }
}

fn print_cpu(cpu: &CpuUse, requests: u64) {
    if requests == 0 {
        return;
    }
    let per = |ticks: u64| ticks as f64 * 1e6 / CLK_TCK / requests as f64;
    println!(
        "      CPU per request (claims and releases): whole machine {:.0} µs = app {:.0} + clients {:.0} + PostgreSQL {:.0} + other; machine busy {:.0}% of {} CPUs",
        per(cpu.busy),
        per(cpu.app),
        per(cpu.client),
        per(cpu.postgres),
        cpu.busy_share * 100.0,
        cpu.cpus
    );
}

/// The per-run table, the summary over runs and the targets.
pub fn print_all(rows: &[Row]) {
    println!(
        "\n| clients | run | claims | claims/s | p50 claim ms | p99 claim ms | max claim ms | releases/s | p99 release ms | 204 (nothing to claim) | errors | pgbench -S TPS | claims / pgbench -S | seats given twice |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let (c, rel) = (&r.m.claims, &r.m.releases);
        println!(
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0} | {:.2} | {} | {} | {} | {} | {} |",
            r.clients,
            r.run,
            c.ok,
            r.claims_per_s(),
            c.quantile_ms(0.5),
            r.p99(),
            c.quantile_ms(1.0),
            rel.rate(rel.ok),
            rel.quantile_ms(0.99),
            c.refused,
            c.errors + rel.errors,
            r.pgbench.map_or("–".into(), |t| format!("{t:.0}")),
            r.ratio().map_or("–".into(), |x| format!("{x:.2}×")),
            r.m.twice
        );
    }

    println!(
        "\n| clients | runs | claims/s min / median / max | p99 claim ms min / median / max | pgbench -S TPS (median) | claims / pgbench -S min / median / max | seats given twice |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    let mut counts: Vec<usize> = rows.iter().map(|r| r.clients).collect();
    counts.dedup();
    let spread = |v: Option<(f64, f64, f64)>, f: fn(f64) -> String| {
        v.map_or("–".into(), |(lo, mid, hi)| {
            format!("{} / {} / {}", f(lo), f(mid), f(hi))
        })
    };
    for &n in &counts {
        let runs: Vec<&Row> = rows.iter().filter(|r| r.clients == n).collect();
        let rate = spread_of(runs.iter().map(|r| r.claims_per_s()).collect());
        let p99 = spread_of(runs.iter().map(|r| r.p99()).collect());
        let tps = spread_of(runs.iter().filter_map(|r| r.pgbench).collect());
        let ratio = spread_of(runs.iter().filter_map(|r| r.ratio()).collect());
        println!(
            "| {n} | {} | {} | {} | {} | {} | {} |",
            runs.len(),
            spread(rate, |x| format!("{x:.0}")),
            spread(p99, |x| format!("{x:.2}")),
            tps.map_or("–".into(), |t| format!("{:.0}", t.1)),
            spread(ratio, |x| format!("{x:.2}×")),
            runs.iter().map(|r| r.m.twice).sum::<u64>()
        );
    }
    print_targets(rows, &counts);
}

fn print_targets(rows: &[Row], counts: &[usize]) {
    println!();
    let at = |n: usize| -> Vec<&Row> { rows.iter().filter(|r| r.clients == n).collect() };
    let runs = at(P99_TARGET_CLIENTS);
    match spread_of(runs.iter().map(|r| r.p99()).collect()) {
        Some((_, median, worst)) => println!(
            "target p99 <= {P99_TARGET_MS} ms at {P99_TARGET_CLIENTS} clients: {} (median of {} runs {median:.2} ms, worst {worst:.2} ms)",
            met(median <= P99_TARGET_MS),
            runs.len()
        ),
        None => println!(
            "target p99 <= {P99_TARGET_MS} ms at {P99_TARGET_CLIENTS} clients: not measured (no run at {P99_TARGET_CLIENTS} clients)"
        ),
    }
    for &n in counts {
        match spread_of(at(n).iter().filter_map(|r| r.ratio()).collect()) {
            Some((lo, median, _)) => println!(
                "target claims >= {RATIO_TARGET}x pgbench -S at {n} clients: {} (median {median:.2}x, lowest {lo:.2}x)",
                met(median >= RATIO_TARGET)
            ),
            None => println!(
                "target claims >= {RATIO_TARGET}x pgbench -S at {n} clients: not measured (no pgbench)"
            ),
        }
    }
    let twice: u64 = rows.iter().map(|r| r.m.twice).sum();
    let claims: u64 = rows.iter().map(|r| r.m.claims.ok).sum();
    println!(
        "no seat given twice: {} ({twice} of {claims} measured claims, warm-ups checked too)",
        met(twice == 0)
    );
}

fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "missed" }
}
