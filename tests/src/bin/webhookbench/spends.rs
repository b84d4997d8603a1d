//! The spend path with webhooks on and off, in one run on one app: spends
//! by a service key (`POST /credits/spends`, each with its idempotency
//! key) from `--clients` clients, while events are written in the
//! background at `--event-rate` a second in both phases. "On": the
//! endpoints are enabled, so every event is dispatched and delivered to
//! each; "off": they are disabled (the dispatcher passes the events and
//! writes nothing). Phases alternate, off first.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use kartel_tests::SplitMix64;
use kartel_tests::raw::{Conn, Request};
use kartel_tests::stats::{ERROR_SAMPLES, Stats};
use reqwest::StatusCode;
use sea_orm::DatabaseConnection;
use serde_json::{Value, json};
use uuid::Uuid;

use super::delivery::write_events;

pub const PASSWORD: &str = "correct horse battery staple";
const GRANT: i64 = 1_000_000_000;

/// What the spend phases need: the service, the key, the funded talents.
pub struct Spenders {
    pub addr: String,
    pub key: String,
    pub talents: Arc<Vec<Uuid>>,
}

async fn expect(
    req: reqwest::RequestBuilder,
    status: StatusCode,
    what: &str,
) -> anyhow::Result<Value> {
    let res = req.send().await.with_context(|| what.to_owned())?;
    let got = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    anyhow::ensure!(got == status, "{what}: {got} {body}");
    Ok(body)
}

/// A service key with `credits:spend` and `talents` talents, registered
/// and funded through the API by the admin.
pub async fn spenders(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    talents: usize,
) -> anyhow::Result<Spenders> {
    let started = Instant::now();
    let key = expect(
        http.post(format!("{base}/api/v1/admin/api-keys"))
            .bearer_auth(admin)
            .json(&json!({ "name": "webhookbench", "scopes": ["credits:spend"] })),
        StatusCode::CREATED,
        "API key",
    )
    .await?;
    let key = key["secret"].as_str().context("no secret")?.to_owned();
    let tag = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let ids: Vec<Uuid> = futures::stream::iter(0..talents)
        .map(|i| {
            let req = http
                .post(format!("{base}/api/v1/auth/register"))
                .json(&json!({
                    "email": format!("t{i}-{tag}@bench.example"),
                    "password": PASSWORD,
                    "handle": format!("t{i}_{tag}"),
                    "display_name": "Bench Talent",
                }));
            async move {
                let body = expect(req, StatusCode::CREATED, "register").await?;
                anyhow::Ok(body["id"].as_str().context("no id")?.parse::<Uuid>()?)
            }
        })
        .buffered(4)
        .try_collect()
        .await?;
    futures::stream::iter(ids.clone())
        .map(|id| {
            let req = http
                .post(format!("{base}/api/v1/credits/grants"))
                .bearer_auth(admin)
                .header("Idempotency-Key", Uuid::new_v4().to_string())
                .json(&json!({ "talent_id": id, "amount": GRANT, "reason": "webhookbench funds" }));
            async move { expect(req, StatusCode::CREATED, "grant").await.map(|_| ()) }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    println!(
        "setup: a service key and {talents} talents registered and funded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Spenders {
        addr: base.trim_start_matches("http://").to_owned(),
        key,
        talents: Arc::new(ids),
    })
}

/// One client: spends back to back until `until`, recorded when `record`.
async fn client(s: Arc<Spenders>, until: Instant, record: bool) -> Stats {
    let mut stats = Stats::default();
    let mut rng = SplitMix64::new(Uuid::new_v4().as_u64_pair().0);
    let mut conn = Conn::new(&s.addr);
    while Instant::now() < until {
        let talent = s.talents[rng.below(s.talents.len())];
        let req = Request::post(
            "/api/v1/credits/spends".into(),
            &json!({ "talent_id": talent, "amount": 1, "purpose": "webhookbench" }),
        )
        .header("X-Api-Key", s.key.clone())
        .header("Idempotency-Key", Uuid::new_v4().to_string());
        let started = Instant::now();
        let outcome = conn.send(&req).await;
        let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
        match outcome {
            Ok(a) if a.status == 201 => {
                if record {
                    stats.ok += 1;
                    stats.latencies.push(micros);
                }
            }
            Ok(a) => {
                stats.errors += 1;
                if stats.samples.len() < ERROR_SAMPLES {
                    stats.samples.push(format!(
                        "{}: {}",
                        a.status,
                        String::from_utf8_lossy(&a.body)
                    ));
                }
            }
            Err(e) => {
                stats.errors += 1;
                if stats.samples.len() < ERROR_SAMPLES {
                    stats.samples.push(format!("{e:#}"));
                }
            }
        }
    }
    stats
}

/// `clients` clients for `warmup` (not recorded) then `measure`.
pub async fn measure(
    s: &Arc<Spenders>,
    clients: usize,
    warmup: Duration,
    measure: Duration,
) -> Stats {
    let start = Instant::now();
    let (warm_until, until) = (start + warmup, start + warmup + measure);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let mut warm = client(s.clone(), warm_until, false).await;
            let mut stats = client(s, until, true).await;
            stats.errors += warm.errors;
            stats.samples.append(&mut warm.samples);
            stats
        }));
    }
    let mut total = Stats::default();
    for t in tasks {
        match t.await {
            Ok(s) => total.merge(s),
            Err(e) => total.samples.push(format!("a client panicked: {e}")),
        }
    }
    total.elapsed = measure;
    total.latencies.sort_unstable();
    total
}

/// Writes `rate` events a second (in tenths) until stopped; returns how many.
pub fn background_events(
    db: DatabaseConnection,
    rate: u64,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<anyhow::Result<u64>> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let (mut written, started) = (0u64, Instant::now());
        while !stop.load(Ordering::Relaxed) {
            tick.tick().await;
            // Catch up to the rate, so a slow write does not lower it.
            let due = (started.elapsed().as_secs_f64() * rate as f64) as u64;
            if due > written {
                write_events(&db, due - written).await?;
                written = due;
            }
        }
        Ok(written)
    })
}
