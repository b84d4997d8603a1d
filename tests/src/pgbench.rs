//! pgbench as the benchmarks' reference, run in the same round as what it
//! is compared with: a built-in workload on a database of its own
//! ([`builtin`]), or any workload on a given database ([`run_pgbench`]);
//! and the check that the app's pool and pgbench's clients fit the server.

use std::process::Command;

use anyhow::{Context, bail};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::cpu::CpuSnapshot;
use crate::stats::CLK_TCK;
use crate::{create_pg_database, drop_pg_database};

/// Runs a built-in pgbench workload (`tpcb-like`, `select-only`…) on a
/// database of its own (scale = the client count); returns its TPS.
pub async fn builtin(
    admin_url: &str,
    builtin: &'static str,
    clients: usize,
    duration: u64,
) -> anyhow::Result<f64> {
    let name = format!("kartel_pgbench_{}", Uuid::new_v4().simple());
    let url = create_pg_database(admin_url, &name).await?;
    let result = tokio::task::spawn_blocking(move || {
        let scale = clients.max(1).to_string();
        let init = Command::new("pgbench")
            .args(["-i", "-q", "-s", &scale, &url])
            .output()
            .context("running pgbench -i (is pgbench installed?)")?;
        if !init.status.success() {
            bail!(
                "pgbench -i failed: {}",
                String::from_utf8_lossy(&init.stderr)
            );
        }
        run_pgbench(&url, &["-b", builtin], clients, duration, "pgbench")
    })
    .await;
    let dropped = drop_pg_database(admin_url, &name).await;
    let (tps, _) = result??;
    dropped?;
    Ok(tps)
}

/// Runs pgbench with `workload` (its `-b` or `-M … -f` arguments) for
/// `duration` seconds; prints its latency and CPU per transaction under
/// `label`; returns the TPS and the transactions processed. Blocks: call
/// it from `spawn_blocking`.
pub fn run_pgbench(
    url: &str,
    workload: &[&str],
    clients: usize,
    duration: u64,
    label: &str,
) -> anyhow::Result<(f64, Option<i64>)> {
    let cpu_before = CpuSnapshot::take();
    let out = Command::new("pgbench")
        .args(workload)
        .args([
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
    let failed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("number of failed transactions: "))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
    if failed.is_some_and(|n| n > 0) {
        bail!("pgbench counted failed transactions: {stdout}");
    }
    let latency = stdout
        .lines()
        .find(|l| l.starts_with("latency average"))
        .unwrap_or("");
    let processed: Option<i64> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
        .and_then(|v| v.split('/').next()?.trim().parse().ok());
    let cpu = match (cpu_before.zip(CpuSnapshot::take()), processed) {
        (Some((a, b)), Some(n)) if n > 0 => {
            let c = b.since(&a);
            format!(
                "; CPU per transaction: whole machine {:.0} µs; machine busy {:.0}%",
                c.busy as f64 * 1e6 / CLK_TCK / n as f64,
                c.busy_share * 100.0
            )
        }
        _ => String::new(),
    };
    println!("    {label}: {latency}{cpu}");
    Ok((tps, processed))
}

/// Refuses to start when the app's pool (`pool_size`) stays open while
/// pgbench runs `clients` connections and the server would not take them.
pub async fn check_connections(
    db: &DatabaseConnection,
    pool_size: u32,
    clients: usize,
) -> anyhow::Result<()> {
    #[derive(sea_orm::FromQueryResult)]
    struct MaxConnections {
        max: i64,
    }
    let max = kartel_domain::db::fetch_one::<MaxConnections, _>(
        db,
        "SELECT current_setting('max_connections')::bigint AS max",
        [],
    )
    .await?
    .context("no max_connections")?
    .max;
    let need = i64::from(pool_size) + i64::try_from(clients)? + 5;
    if need > max {
        bail!(
            "PostgreSQL allows {max} connections and this run needs about {need} \
             (app pool {pool_size} + {clients} pgbench clients + a few): \
             pass a smaller --db-connections, fewer --clients, or raise max_connections"
        );
    }
    Ok(())
}
