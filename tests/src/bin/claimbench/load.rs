//! The claiming clients: each, as its own manager, claims the next seat,
//! notes it among the seats held, keeps it `--hold-ms` and releases it,
//! back to back. A seat claimed while another client holds it (from its
//! claim's answer until its release is sent) was given twice; a release
//! refused (404: the claim is gone) is the other trace a double give
//! leaves, since a seat carries one claim and a second one replaces it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kartel_domain::challenges::ClaimedWork;
use kartel_tests::SplitMix64;
use kartel_tests::cpu::CpuSnapshot;
use kartel_tests::raw::{Conn, Request};
use kartel_tests::stats::{CpuUse, ERROR_SAMPLES, Stats};
use serde_json::json;
use uuid::Uuid;

use crate::args::Filter;

/// The tracks a `--filter track` claim picks from.
const TRACKS: [&str; 5] = [
    "workflow_engineer",
    "ai_generalist",
    "preditor",
    "data_lora_specialist",
    "data_engineer",
];

/// The seats currently held, by the client holding each: (submission, seat).
type Held = Mutex<HashMap<(Uuid, i16), usize>>;

/// What the clients of one run saw.
#[derive(Default)]
pub struct Measured {
    /// Claims: 201 ok, 204 refused (nothing to claim), anything else an error.
    pub claims: Stats,
    /// Releases: 204 ok, anything else an error.
    pub releases: Stats,
    /// Claims of a seat another client held at the time.
    pub twice: u64,
    pub twice_samples: Vec<String>,
    /// Where the CPU went while measuring (Linux only).
    pub cpu: Option<CpuUse>,
}

/// One client's identity and what it asks for.
#[derive(Clone)]
pub struct Client {
    pub addr: String,
    pub token: String,
    pub me: Uuid,
    pub filter: Filter,
    pub challenges: Arc<Vec<Uuid>>,
    /// How long a claimed seat is kept before its release.
    pub hold: Duration,
}

impl Client {
    fn claim(&self, rng: &mut SplitMix64) -> Request {
        let pick = |n: usize, rng: &mut SplitMix64| (rng.next_u64() % n as u64) as usize;
        let body = match self.filter {
            Filter::None => json!({}),
            Filter::Track => json!({ "track": TRACKS[pick(TRACKS.len(), rng)] }),
            Filter::Challenge => {
                json!({ "challenge_id": self.challenges[pick(self.challenges.len(), rng)] })
            }
        };
        Request::post("/api/v1/review-queue/claim".into(), &body).bearer(&self.token)
    }

    fn release(&self, claim: Uuid) -> Request {
        Request {
            method: "POST",
            ..Request::get(format!("/api/v1/review-queue/claims/{claim}/release"))
        }
        .bearer(&self.token)
    }
}

/// `clients` (one per entry of `who`) for `warmup` unmeasured, then
/// `duration` measured; seats given twice and unexpected answers count in
/// both.
pub async fn measure(who: &[Client], warmup: Duration, duration: Duration) -> Measured {
    let held: Arc<Held> = Arc::default();
    // The warm-up records only what went wrong.
    let mut total = if warmup.is_zero() {
        Measured::default()
    } else {
        phase(who, &held, Instant::now() + warmup, false).await
    };
    let cpu_before = CpuSnapshot::take();
    let started = Instant::now();
    let run = phase(who, &held, started + duration, true).await;
    let elapsed = started.elapsed();
    merge(&mut total, run);
    for s in [&mut total.claims, &mut total.releases] {
        s.elapsed = elapsed;
        s.latencies.sort_unstable();
    }
    total.cpu = cpu_before
        .zip(CpuSnapshot::take())
        .map(|(a, b)| b.since(&a));
    total
}

async fn phase(who: &[Client], held: &Arc<Held>, until: Instant, record: bool) -> Measured {
    let tasks: Vec<_> = who
        .iter()
        .enumerate()
        .map(|(i, c)| tokio::spawn(client(c.clone(), i, held.clone(), until, record)))
        .collect();
    let mut out = Measured::default();
    for t in futures::future::join_all(tasks).await {
        match t {
            Ok(m) => merge(&mut out, m),
            Err(e) => {
                out.claims.errors += 1;
                out.claims.samples.push(format!("client task failed: {e}"));
            }
        }
    }
    out
}

fn merge(into: &mut Measured, m: Measured) {
    into.claims.merge(m.claims);
    into.releases.merge(m.releases);
    into.twice += m.twice;
    for s in m.twice_samples {
        if into.twice_samples.len() < ERROR_SAMPLES {
            into.twice_samples.push(s);
        }
    }
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

fn error(s: &mut Stats, msg: String) {
    s.errors += 1;
    if s.samples.len() < ERROR_SAMPLES {
        s.samples.push(msg);
    }
}

/// One client, claim after release until `until`.
async fn client(c: Client, me: usize, held: Arc<Held>, until: Instant, record: bool) -> Measured {
    let mut m = Measured::default();
    let mut rng = SplitMix64::new(Uuid::new_v4().as_u64_pair().0);
    let mut conn = Conn::new(&c.addr);
    while Instant::now() < until {
        let started = Instant::now();
        let answer = conn.send(&c.claim(&mut rng)).await;
        if record {
            m.claims.latencies.push(micros(started.elapsed()));
        }
        let work = match answer {
            Ok(a) if a.status == 201 => match serde_json::from_slice::<ClaimedWork>(&a.body) {
                Ok(w) => w,
                Err(e) => {
                    error(
                        &mut m.claims,
                        format!("201 not a claim ({e}): {}", text(&a.body)),
                    );
                    continue;
                }
            },
            Ok(a) if a.status == 204 => {
                if record {
                    m.claims.refused += 1;
                }
                continue;
            }
            Ok(a) => {
                error(
                    &mut m.claims,
                    format!("claim: {}: {}", a.status, text(&a.body)),
                );
                continue;
            }
            Err(e) => {
                error(&mut m.claims, format!("claim failed: {e:#}"));
                continue;
            }
        };
        if record {
            m.claims.ok += 1;
        }
        let claim = &work.claim;
        if claim.reviewer_id != c.me {
            error(
                &mut m.claims,
                format!("a claim for {} answered to {}", claim.reviewer_id, c.me),
            );
        }
        let seat = (claim.submission_id, claim.seat);
        let other = {
            let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
            let other = held.get(&seat).copied();
            if other.is_none() {
                held.insert(seat, me);
            }
            other
        };
        if let Some(other) = other {
            m.twice += 1;
            if m.twice_samples.len() < ERROR_SAMPLES {
                m.twice_samples.push(format!(
                    "seat {} of {} claimed (claim {}) by client {me} while client {other} held it",
                    claim.seat, claim.submission_id, claim.id
                ));
            }
        }
        if !c.hold.is_zero() {
            tokio::time::sleep(c.hold).await;
        }
        // No longer noted as held once the release is sent: when it
        // commits, the seat may rightly go to the next claimer.
        {
            let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
            if held.get(&seat) == Some(&me) {
                held.remove(&seat);
            }
        }
        let started = Instant::now();
        let answer = conn.send(&c.release(claim.id)).await;
        if record {
            m.releases.latencies.push(micros(started.elapsed()));
        }
        match answer {
            Ok(a) if a.status == 204 => {
                if record {
                    m.releases.ok += 1;
                }
            }
            Ok(a) => error(
                &mut m.releases,
                format!("release: {}: {}", a.status, text(&a.body)),
            ),
            Err(e) => error(&mut m.releases, format!("release failed: {e:#}")),
        }
    }
    m
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).chars().take(300).collect()
}
