//! The HTTP side: the load clients, and the few calls setup makes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use kartel_tests::SplitMix64;
use kartel_tests::cpu::CpuSnapshot;
use kartel_tests::raw::{Conn, Request};
use kartel_tests::stats::{ERROR_SAMPLES, Stats};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::scenarios::Scenario;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct Bench {
    pub base: String,
    pub http: reqwest::Client,
    /// A service key with `credits:spend`.
    pub api_key: String,
}

impl Bench {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// `host:port` of the service, for the load clients.
    fn addr(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// A spend of 1 credit by the service key.
    pub fn spend(&self, talent: Uuid) -> Request {
        Request::post(
            "/api/v1/credits/spends".into(),
            &json!({ "talent_id": talent, "amount": 1, "purpose": "loadbench" }),
        )
        .header("X-Api-Key", self.api_key.clone())
        .header("Idempotency-Key", Uuid::new_v4().to_string())
    }

    /// A spend of 1 of the signed-in talent's own credits (no `talent_id`:
    /// a person spends their own).
    pub fn my_spend(&self, token: &str) -> Request {
        Request::post(
            "/api/v1/credits/spends".into(),
            &json!({ "amount": 1, "purpose": "loadbench" }),
        )
        .bearer(token)
        .header("Idempotency-Key", Uuid::new_v4().to_string())
    }

    /// One client: requests back to back until `until`. Unexpected answers
    /// are always counted; the rest only when `record` (not in the warm-up).
    async fn client(self: Arc<Self>, scenario: Scenario, until: Instant, record: bool) -> Stats {
        let mut stats = Stats::default();
        let mut rng = SplitMix64::new(Uuid::new_v4().as_u64_pair().0);
        let expected = scenario.expected().as_u16();
        let mut conn = Conn::new(self.addr());
        while Instant::now() < until {
            let req = scenario.request(&self, &mut rng);
            let started = Instant::now();
            let outcome = match conn.send(&req).await {
                Ok(a) if a.status == expected => Ok(()),
                Ok(a) if a.status == StatusCode::CONFLICT.as_u16() && is_refusal(&a.body) => {
                    Err(None)
                }
                Ok(a) => Err(Some(format!(
                    "{}: {}",
                    a.status,
                    String::from_utf8_lossy(&a.body)
                ))),
                Err(e) => Err(Some(format!("request failed: {e:#}"))),
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

    /// `clients` clients for `warmup` unmeasured, then `duration` measured.
    pub async fn run(
        self: &Arc<Self>,
        scenario: &Scenario,
        clients: usize,
        warmup: Duration,
        duration: Duration,
    ) -> Stats {
        let mut warm = Stats::default();
        if !warmup.is_zero() {
            let until = Instant::now() + warmup;
            let tasks = (0..clients)
                .map(|_| tokio::spawn(self.clone().client(scenario.clone(), until, false)));
            gather(&mut warm, tasks).await;
        }
        let cpu_before = CpuSnapshot::take();
        let started = Instant::now();
        let until = started + duration;
        let tasks: Vec<_> = (0..clients)
            .map(|_| tokio::spawn(self.clone().client(scenario.clone(), until, true)))
            .collect();
        // Unexpected answers in the warm-up count too.
        let mut total = Stats {
            errors: warm.errors,
            samples: warm.samples,
            ..Stats::default()
        };
        gather(&mut total, tasks).await;
        total.elapsed = started.elapsed();
        total.cpu = cpu_before
            .zip(CpuSnapshot::take())
            .map(|(a, b)| b.since(&a));
        total.latencies.sort_unstable();
        total
    }

    pub async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> anyhow::Result<Value> {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        expect_json(req, StatusCode::CREATED, path).await
    }

    /// Signs in; returns the access token.
    pub async fn login(&self, email: &str) -> anyhow::Result<String> {
        let req = self
            .http
            .post(self.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": PASSWORD }));
        let body = expect_json(req, StatusCode::OK, "login").await?;
        str_field(&body, "access_token")
    }

    /// Registers a person; returns their id.
    pub async fn register(&self, email: &str, handle: &str) -> anyhow::Result<Uuid> {
        let body = self
            .post(
                "/api/v1/auth/register",
                None,
                &json!({ "email": email, "password": PASSWORD, "handle": handle, "display_name": "Bench Talent" }),
            )
            .await?;
        Ok(str_field(&body, "id")?.parse()?)
    }

    pub async fn grant(&self, manager: &str, talent: Uuid, amount: i64) -> anyhow::Result<()> {
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

pub async fn expect_json(
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

pub fn str_field(v: &Value, name: &str) -> anyhow::Result<String> {
    v[name]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("no {name} in {v}"))
}

/// Adds up what the client tasks measured into `into`; a task that failed
/// counts as an error.
async fn gather(into: &mut Stats, tasks: impl IntoIterator<Item = tokio::task::JoinHandle<Stats>>) {
    for t in futures::future::join_all(tasks).await {
        match t {
            Ok(s) => into.merge(s),
            Err(e) => {
                into.errors += 1;
                into.samples.push(format!("client task failed: {e}"));
            }
        }
    }
}
