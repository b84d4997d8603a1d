//! Benchmark of the live stream: `--streams` open streams (1,000 by
//! default) on one instance, spread over `--people` signed-in talents,
//! while an admin grants credits (`--events` grants at `--rate` a second,
//! each a `credits.moved` for one talent's streams). Prints the instance's
//! resident memory before and after the streams opened and after the
//! events, and each delivery's latency from the grant's commit to the
//! client, as two bounds: from the moment the grant was sent (an upper
//! bound: it includes the grant's own handling) and from its answer (a
//! lower bound: the commit happened before the answer). Target: p99 ≤ 1 s.
//!
//! The instance runs in a child process (this binary with `serve`, the
//! service with mimalloc as `kartel` has it), so its memory is its own; the
//! clients are plain HTTP/1.1 connections on tokio, in this process.
//!
//! ```text
//! cargo run --release -p kartel-tests --bin streambench -- --streams 1000
//! cargo run --release -p kartel-tests --bin streambench -- --postgres
//! ```

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use kartel_tests::{create_pg_database, drop_pg_database};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use uuid::Uuid;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PASSWORD: &str = "correct horse battery staple";

#[derive(Parser, Debug)]
#[command(about = "Benchmark of the live stream: open streams, memory and event latency")]
struct Args {
    /// `serve`: run the instance (the bench starts itself this way).
    mode: Option<String>,
    #[arg(long, default_value_t = 1000)]
    streams: usize,
    #[arg(long, default_value_t = 100)]
    people: usize,
    #[arg(long, default_value_t = 300)]
    events: usize,
    /// Grants per second.
    #[arg(long, default_value_t = 30)]
    rate: u64,
    /// On PostgreSQL (a fresh database next to TEST_DATABASE_URL, with
    /// TEST_REDIS_URL when set) instead of a SQLite file.
    #[arg(long)]
    postgres: bool,
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    admin_url: String,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if args.mode.as_deref() == Some("serve") {
        return rt.block_on(serve());
    }
    rt.block_on(bench(&args))
}

/// The instance, configured from the environment like `kartel serve`.
async fn serve() -> anyhow::Result<()> {
    kartel_api::telemetry::init_with("text", std::io::sink, false);
    let settings = kartel_api::configuration::Settings::load().map_err(anyhow::Error::msg)?;
    let app = kartel_api::startup::Application::build(settings).await?;
    app.run_until_stopped().await?;
    Ok(())
}

async fn bench(args: &Args) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("kartel-streambench-{}", Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    let pg = if args.postgres {
        let name = format!("kartel_bench_{}", Uuid::new_v4().simple());
        Some((
            name.clone(),
            create_pg_database(&args.admin_url, &name).await?,
        ))
    } else {
        None
    };
    let url = match &pg {
        Some((_, url)) => url.clone(),
        None => format!("sqlite://{}/kartel.db", dir.display()),
    };
    let result = run(args, &url, &dir).await;
    if let Some((name, _)) = &pg
        && let Err(e) = drop_pg_database(&args.admin_url, name).await
    {
        eprintln!("dropping {name} failed: {e}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// The child instance, killed when dropped.
struct Instance(Child);

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Instance {
    fn rss_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    }
}

async fn run(args: &Args, url: &str, dir: &std::path::Path) -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("serve")
        .env("DATABASE_URL", url)
        .env("KARTEL_ADDR", &addr)
        .env("KARTEL_SIGNING_KEY_FILE", dir.join("signing-key.pem"))
        .env("KARTEL_AUTH_RATE_LIMIT_PER_IP", "1000000")
        .env("KARTEL_AUTH_RATE_LIMIT_PER_ACCOUNT", "1000000")
        .env_remove("REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if args.postgres
        && let Ok(redis) = std::env::var("TEST_REDIS_URL")
    {
        cmd.env("REDIS_URL", redis).env(
            "KARTEL_REDIS_PREFIX",
            format!("bench:{}", Uuid::new_v4().simple()),
        );
    }
    let instance = Instance(cmd.spawn().context("starting the instance")?);
    let base = format!("http://{addr}");
    let http = reqwest::Client::new();
    wait_until_up(&http, &base).await?;
    let backend = if args.postgres {
        "PostgreSQL + Redis"
    } else {
        "SQLite"
    };
    println!("instance pid {} on {addr}, {backend}", instance.0.id());

    let db = kartel_domain::db::connect(url, 2).await?;
    let email = format!(
        "a{}@example.com",
        &Uuid::new_v4().simple().to_string()[..12]
    );
    kartel_domain::accounts::create_admin(&db, &email, PASSWORD, "bench_admin", "Admin").await?;
    let admin = login(&http, &base, &email).await?;
    let mut people = Vec::new();
    for i in 0..args.people {
        let tag = format!("s{}{i}", &Uuid::new_v4().simple().to_string()[..8]);
        let email = format!("{tag}@example.com");
        let body =
            json!({ "email": email, "password": PASSWORD, "handle": tag, "display_name": tag });
        let res = http
            .post(format!("{base}/api/v1/auth/register"))
            .json(&body)
            .send()
            .await?;
        let made: Value = res.json().await?;
        let id = made["id"].as_str().context("registered")?.to_owned();
        people.push((id, login(&http, &base, &email).await?));
    }
    let before = instance.rss_mib();
    println!(
        "{} people signed in; instance RSS {before:.1} MiB",
        people.len()
    );

    let (tx, mut rx) = mpsc::unbounded_channel::<(usize, String, Instant)>();
    let opened = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    for s in 0..args.streams {
        let person = s % args.people;
        let token = people[person].1.clone();
        let (addr, tx, opened) = (addr.clone(), tx.clone(), opened.clone());
        tokio::spawn(async move {
            if let Err(e) = follow(&addr, &token, s, &tx, &opened).await {
                eprintln!("stream {s}: {e:#}");
            }
        });
    }
    drop(tx);
    while opened.load(Ordering::Relaxed) < args.streams {
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "only {} of {} streams opened",
                opened.load(Ordering::Relaxed),
                args.streams
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!(
        "{} streams open in {:.2} s",
        args.streams,
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let open = instance.rss_mib();

    // The grants: one at a time at `rate`, each a credits.moved for one
    // talent (to all of its streams).
    let mut sent: HashMap<String, (usize, Instant, Instant)> = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / args.rate.max(1)));
    for k in 0..args.events {
        tick.tick().await;
        let person = k % args.people;
        let body = json!({ "talent_id": people[person].0, "amount": 1, "reason": "bench" });
        let t0 = Instant::now();
        let res = http
            .post(format!("{base}/api/v1/credits/grants"))
            .bearer_auth(&admin)
            .header("Idempotency-Key", Uuid::new_v4().to_string())
            .json(&body)
            .send()
            .await?;
        let t1 = Instant::now();
        let granted: Value = res.json().await?;
        let id = granted["id"].as_str().context("granted")?.to_owned();
        sent.insert(id, (person, t0, t1));
    }
    let per_event = args.streams / args.people;
    let expected = args.events * per_event;
    let mut got: Vec<(usize, String, Instant)> = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.len() < expected {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(d)) => got.push(d),
            Ok(None) | Err(_) => break,
        }
    }
    let after = instance.rss_mib();

    let (mut upper, mut lower) = (Vec::new(), Vec::new());
    let mut seen = std::collections::HashSet::new();
    let (mut duplicates, mut strangers) = (0, 0);
    for (stream, id, at) in &got {
        let Some((person, t0, t1)) = sent.get(id) else {
            strangers += 1;
            continue;
        };
        if stream % args.people != *person {
            strangers += 1;
        }
        if !seen.insert((*stream, id.clone())) {
            duplicates += 1;
        }
        upper.push(at.saturating_duration_since(*t0));
        lower.push(at.saturating_duration_since(*t1));
    }
    upper.sort();
    lower.sort();
    println!();
    println!("| measure | value |");
    println!("| --- | --- |");
    println!("| backend | {backend} |");
    println!(
        "| streams open | {} ({} people, {per_event} each) |",
        args.streams, args.people
    );
    println!("| resident memory: signed in, no stream | {before:.1} MiB |");
    println!(
        "| resident memory: streams open | {open:.1} MiB (+{:.1} KiB a stream) |",
        (open - before) * 1024.0 / args.streams as f64
    );
    println!("| resident memory: after the events | {after:.1} MiB |");
    println!("| events (grants) | {} at {}/s |", args.events, args.rate);
    println!(
        "| deliveries | {} of {expected} expected; {duplicates} duplicates, {strangers} to the wrong person |",
        got.len()
    );
    for (name, v) in [
        ("from the grant sent (upper bound)", &upper),
        ("from its answer (lower bound)", &lower),
    ] {
        println!(
            "| latency {name} | p50 {} ms, p90 {} ms, p99 {} ms, max {} ms |",
            pct(v, 50.0),
            pct(v, 90.0),
            pct(v, 99.0),
            pct(v, 100.0)
        );
    }
    let p99 = pct(&upper, 99.0);
    if got.len() < expected || duplicates > 0 || strangers > 0 || p99 > 1000 {
        bail!(
            "target missed: p99 {p99} ms (≤ 1000), {} of {expected} delivered, {duplicates} duplicates, {strangers} strangers",
            got.len()
        );
    }
    Ok(())
}

fn pct(sorted: &[Duration], p: f64) -> u128 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((p / 100.0 * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_millis()
}

async fn wait_until_up(http: &reqwest::Client, base: &str) -> anyhow::Result<()> {
    for _ in 0..600 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the instance did not come up")
}

async fn login(http: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<String> {
    let res = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({ "email": email, "password": PASSWORD }))
        .send()
        .await?;
    let tokens: Value = res.json().await?;
    Ok(tokens["access_token"]
        .as_str()
        .context("signed in")?
        .to_owned())
}

/// One stream on a plain connection: the request, the head, then the
/// chunked body's SSE events; each `credits.moved` is reported with its
/// transaction id and when it arrived.
async fn follow(
    addr: &str,
    token: &str,
    stream: usize,
    tx: &mpsc::UnboundedSender<(usize, String, Instant)>,
    opened: &AtomicUsize,
) -> anyhow::Result<()> {
    let mut conn = TcpStream::connect(addr).await?;
    let req = format!(
        "GET /api/v1/stream HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    conn.write_all(req.as_bytes()).await?;
    let mut raw: Vec<u8> = Vec::with_capacity(4096);
    let mut body = String::new();
    let mut head_done = false;
    let mut chunk = [0u8; 4096];
    loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            bail!("the stream closed");
        }
        raw.extend_from_slice(&chunk[..n]);
        if !head_done {
            let mut headers = [httparse::EMPTY_HEADER; 32];
            let mut res = httparse::Response::new(&mut headers);
            let httparse::Status::Complete(len) = res.parse(&raw)? else {
                continue;
            };
            if res.code != Some(200) {
                bail!("status {:?}", res.code);
            }
            raw.drain(..len);
            head_done = true;
            opened.fetch_add(1, Ordering::Relaxed);
        }
        // Chunked: `<hex size>\r\n<data>\r\n`, as many as are complete.
        while let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&raw[..eol])?.trim(), 16)?;
            if raw.len() < eol + 2 + size + 2 {
                break;
            }
            body.push_str(std::str::from_utf8(&raw[eol + 2..eol + 2 + size])?);
            raw.drain(..eol + 2 + size + 2);
        }
        let now = Instant::now();
        while let Some(end) = body.find("\n\n") {
            let block: String = body.drain(..end + 2).collect();
            if !block.contains("event: credits.moved") {
                continue;
            }
            let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            let event: Value = serde_json::from_str(data)?;
            if let Some(id) = event["data"]["transaction_id"].as_str() {
                let _ = tx.send((stream, id.to_owned(), now));
            }
        }
    }
}
