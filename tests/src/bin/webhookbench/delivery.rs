//! The delivery figure: `--events` events committed at once, the time until
//! every endpoint has every one (the sequencer placing them, the dispatcher
//! writing the deliveries, the workers sending them), and the spread of
//! arrival times.

use std::time::{Duration, Instant};

use kartel_domain::events::{Event, StatusChanged};
use kartel_domain::types::UserStatus;
use kartel_tests::receiver::Receiver;
use sea_orm::{DatabaseConnection, TransactionTrait};
use uuid::Uuid;

/// What the burst measured.
pub struct Burst {
    pub pairs: usize,
    pub all_secs: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub requests: usize,
    pub unverified: usize,
}

/// Writes `n` events' rows (without reactions) in one transaction.
pub async fn write_events(db: &DatabaseConnection, n: u64) -> anyhow::Result<()> {
    let tx = db.begin().await?;
    for _ in 0..n {
        let e = Event::UserSuspended(StatusChanged {
            from: UserStatus::Active,
            to: UserStatus::Suspended,
        });
        kartel_domain::events::write_row_for_tests(&tx, Uuid::now_v7(), &e).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Commits `events` events and waits (at most `timeout`) until every
/// receiver has each of them, on top of what each had before.
pub async fn burst(
    db: &DatabaseConnection,
    receivers: &[Receiver],
    events: u64,
    timeout: Duration,
) -> anyhow::Result<Burst> {
    let before: Vec<usize> = receivers.iter().map(Receiver::count).collect();
    let distinct_before: Vec<usize> = receivers.iter().map(Receiver::distinct).collect();
    write_events(db, events).await?;
    let committed = Instant::now();
    let want = usize::try_from(events)?;
    let deadline = committed + timeout;
    while !receivers
        .iter()
        .zip(&distinct_before)
        .all(|(rx, b)| rx.distinct() >= b + want)
    {
        anyhow::ensure!(Instant::now() < deadline, "not delivered in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut arrivals: Vec<f64> = Vec::new();
    let (mut requests, mut unverified) = (0usize, 0usize);
    for (rx, skip) in receivers.iter().zip(&before) {
        let got = rx.deliveries();
        let got = &got[*skip..];
        requests += got.len();
        unverified += got.iter().filter(|d| d.verified != vec![true]).count();
        let mut first = std::collections::HashMap::new();
        for d in got {
            first.entry(d.id.clone()).or_insert(d.at);
        }
        arrivals.extend(
            first
                .values()
                .map(|at| at.saturating_duration_since(committed).as_secs_f64()),
        );
    }
    arrivals.sort_by(f64::total_cmp);
    let q = |p: f64| arrivals[((arrivals.len() - 1) as f64 * p) as usize];
    Ok(Burst {
        pairs: arrivals.len(),
        all_secs: arrivals.last().copied().unwrap_or_default(),
        p50: q(0.5),
        p90: q(0.9),
        p99: q(0.99),
        requests,
        unverified,
    })
}

pub fn print(b: &Burst) {
    println!(
        "  delivered {} (event, endpoint) pairs in {:.2} s: {:.0}/s; arrival after commit \
         p50 {:.2} s, p90 {:.2} s, p99 {:.2} s; {} requests ({} duplicates), {} unverified",
        b.pairs,
        b.all_secs,
        b.pairs as f64 / b.all_secs.max(1e-9),
        b.p50,
        b.p90,
        b.p99,
        b.requests,
        b.requests - b.pairs,
        b.unverified
    );
}
