//! Before measuring: the app on its fresh database, and the people, money
//! and access tokens the scenarios use — all through the API, but for the
//! verified addresses and the seeded leaderboard.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kartel_api::configuration::{Secret, Settings};
use kartel_api::startup::Application;
use reqwest::StatusCode;
use sea_orm::DatabaseConnection;
use serde_json::json;
use uuid::Uuid;

use crate::args::{Args, MAX_GRANT};
use crate::client::{Bench, PASSWORD, expect_json, str_field};

/// Builds the app on the database at `url`; returns it with its pool size
/// and how long its access tokens live.
pub async fn build_app(
    args: &Args,
    url: &str,
    dir: &Path,
) -> anyhow::Result<(Application, u32, Duration)> {
    let largest = args.largest_clients();
    let pool_size = args
        .db_connections
        .unwrap_or(u32::try_from(largest)?.max(8));
    let s = Settings {
        database_url: Secret::new(url.to_owned()),
        redis_url: args.redis_url.clone().map(Secret::new),
        redis_prefix: format!("kartel-bench:{}", Uuid::new_v4().simple()),
        addr: "127.0.0.1:0".parse()?,
        signing_key_file: Some(dir.join("signing-key.pem")),
        auth_rate_limit_per_ip: 1_000_000,
        auth_rate_limit_per_account: 1_000_000,
        database_max_connections: pool_size,
        workers: Some(args.workers),
        shutdown_timeout_seconds: 1,
        public_cache_millis: args.public_cache_millis,
        ..Settings::default()
    };
    s.validate().map_err(anyhow::Error::msg)?;
    let token_ttl = Duration::from_secs(u64::try_from(s.access_token_ttl_seconds)?);
    let app = Application::build(s).await?;
    if !args.skip_pgbench {
        kartel_tests::pgbench::check_connections(&app.db(), pool_size, largest).await?;
    }
    Ok((app, pool_size, token_ttl))
}

/// Who the scenarios act as.
pub struct People {
    pub tag: String,
    pub admin_email: String,
    pub manager_email: String,
    /// The `--talents` talents, each funded with the largest grant.
    pub talents: Arc<Vec<Uuid>>,
    pub emails: Arc<Vec<String>>,
    /// The `hot` scenario's talents, one per client count and run (funded
    /// with `--hot-balance`).
    pub hot: Vec<Uuid>,
    /// The `my-hot` scenario's talents (the same), when it runs.
    pub my_hot_emails: Vec<String>,
}

impl People {
    /// The hot talent of the `slot`-th round (client count × run).
    pub fn hot(&self, slot: usize) -> Uuid {
        self.hot[slot % self.hot.len()]
    }
}

/// An admin, a service API key, a manager, and the talents registered and
/// funded; returns the bench (with the key) and the people.
pub async fn people(
    args: &Args,
    db: &DatabaseConnection,
    base: String,
    http: reqwest::Client,
) -> anyhow::Result<(Arc<Bench>, People)> {
    let started = Instant::now();
    let tag = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let admin_email = format!("admin-{tag}@bench.example");
    kartel_domain::accounts::create_admin(
        db,
        &admin_email,
        PASSWORD,
        &format!("admin_{tag}"),
        "Bench Admin",
    )
    .await?;
    let mut bench = Bench {
        base,
        http,
        api_key: String::new(),
    };
    let admin = bench.login(&admin_email).await?;
    let key = bench
        .post(
            "/api/v1/admin/api-keys",
            Some(&admin),
            &json!({ "name": "loadbench", "scopes": ["credits:spend"] }),
        )
        .await?;
    bench.api_key = str_field(&key, "secret")?;
    let bench = Arc::new(bench);

    let manager_email = format!("manager-{tag}@bench.example");
    let manager_id = bench
        .register(&manager_email, &format!("manager_{tag}"))
        .await?;
    let req = bench
        .http
        .patch(bench.url(&format!("/api/v1/admin/users/{manager_id}")))
        .bearer_auth(&admin)
        .json(&json!({ "roles": ["community_manager"] }));
    expect_json(req, StatusCode::OK, "make manager").await?;
    let manager = bench.login(&manager_email).await?;

    // The talents, then one hot talent per round, then (for my-hot) another.
    let rounds = args.clients.len() * args.runs;
    let my_hot = if args.wants("my-hot") { rounds } else { 0 };
    let people = args.talents + rounds + my_hot;
    let email = |i: usize| format!("t{i}-{tag}@bench.example");
    let ids: Vec<Uuid> = futures::stream::iter(0..people)
        .map(|i| {
            let bench = bench.clone();
            let (email, handle) = (email(i), format!("t{i}_{tag}"));
            async move { bench.register(&email, &handle).await }
        })
        .buffered(8)
        .try_collect()
        .await?;
    let (spread_ids, hot_ids) = ids.split_at(args.talents);
    // The bench's talents verified their addresses (submitting needs it);
    // done in SQL rather than through the mailed links.
    kartel_domain::db::execute(
        db,
        "UPDATE users SET email_verified_at = created_at WHERE email LIKE '%@bench.example'",
        [],
    )
    .await?;
    let funding = spread_ids
        .iter()
        .map(|&id| (id, MAX_GRANT))
        .chain(hot_ids.iter().map(|&id| (id, args.hot_balance)));
    futures::stream::iter(funding)
        .map(|(id, amount)| {
            let bench = bench.clone();
            let manager = manager.clone();
            async move { bench.grant(&manager, id, amount).await }
        })
        .buffer_unordered(8)
        .try_collect::<Vec<()>>()
        .await?;
    println!(
        "setup: admin, API key, manager, {people} talents registered and funded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let people = People {
        admin_email,
        manager_email,
        talents: Arc::new(spread_ids.to_vec()),
        emails: Arc::new((0..args.talents).map(email).collect()),
        hot: hot_ids[..rounds].to_vec(),
        my_hot_emails: (args.talents + rounds..people).map(email).collect(),
        tag,
    };
    Ok((bench, people))
}

/// Access tokens of some people, signed in again before they could expire
/// during a measurement.
pub struct SignedIn {
    emails: Vec<String>,
    tokens: Arc<Vec<String>>,
    at: Instant,
    ttl: Duration,
}

impl SignedIn {
    /// Signs each of `emails` in once (a few at a time).
    pub async fn new(
        bench: &Arc<Bench>,
        emails: Vec<String>,
        ttl: Duration,
    ) -> anyhow::Result<Self> {
        let at = Instant::now();
        let tokens = sign_in(bench, &emails).await?;
        Ok(Self {
            emails,
            tokens: Arc::new(tokens),
            at,
            ttl,
        })
    }

    /// The tokens, good for at least `needed` more (plus a minute's margin):
    /// everyone signs in again when they would not be.
    pub async fn fresh_for(
        &mut self,
        bench: &Arc<Bench>,
        needed: Duration,
    ) -> anyhow::Result<Arc<Vec<String>>> {
        let age = self.at.elapsed();
        if kartel_tests::must_sign_in_again(age, needed, self.ttl)? {
            let started = Instant::now();
            self.tokens = Arc::new(sign_in(bench, &self.emails).await?);
            self.at = started;
            println!(
                "  signed {} people in again ({:.0} s after the last time, in {:.1} s)",
                self.emails.len(),
                age.as_secs_f64(),
                started.elapsed().as_secs_f64()
            );
        }
        Ok(self.tokens.clone())
    }

    /// The first person's token as it is now.
    pub fn first(&self) -> String {
        self.tokens.first().cloned().unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.emails.len()
    }
}

async fn sign_in(bench: &Arc<Bench>, emails: &[String]) -> anyhow::Result<Vec<String>> {
    futures::stream::iter(emails.iter().cloned())
        .map(|email| {
            let bench = bench.clone();
            async move { bench.login(&email).await }
        })
        .buffered(8)
        .try_collect()
        .await
}

/// What the challenge scenarios run against.
pub struct Board {
    /// The judging challenge with the seeded leaderboard.
    pub board: Uuid,
    pub places: u64,
    /// Open challenges taking submissions.
    pub open: Arc<Vec<Uuid>>,
}

/// Creates 20 open challenges through the API, and one with a leaderboard of
/// `--board-submissions` reviewed submissions by `--board-talents` talents,
/// seeded straight into the database (the API would take hours), then judging.
pub async fn seed_challenges(
    bench: &Arc<Bench>,
    db: &DatabaseConnection,
    manager: &str,
    args: &Args,
    tag: &str,
) -> anyhow::Result<Board> {
    use sea_orm::ConnectionTrait;
    let started = Instant::now();
    let now = chrono::Utc::now();
    let spec = |title: String| {
        json!({
            "title": title, "brief": "loadbench", "track": null, "min_tier": 0, "max_tier": 5,
            "opens_at": now - chrono::Duration::hours(1), "closes_at": now + chrono::Duration::hours(6),
            "review_due_at": now + chrono::Duration::hours(7), "max_submissions_per_talent": 100,
            "reward": 1, "prizes": [], "reference_assets": [],
            "rubric": {"criteria": [{"key": "q", "name": "Quality", "weight": 1, "max_score": 10}], "pass_mark": 50},
            "certifies_track": null
        })
    };
    let open_one = async |title: String| -> anyhow::Result<Uuid> {
        let c = bench
            .post("/api/v1/challenges", Some(manager), &spec(title))
            .await?;
        let id: Uuid = str_field(&c, "id")?.parse()?;
        let req = bench
            .http
            .post(bench.url(&format!("/api/v1/challenges/{id}/transitions")))
            .bearer_auth(manager)
            .json(&json!({ "to": "open" }));
        expect_json(req, StatusCode::OK, "open challenge").await?;
        Ok(id)
    };
    let mut open = Vec::new();
    for i in 0..20 {
        open.push(open_one(format!("Bench challenge {i}")).await?);
    }
    let board = open_one("Bench leaderboard".into()).await?;
    let seed = [
        format!(
            "INSERT INTO users (id, email, handle, display_name, bio, password_hash, roles, status, created_at, updated_at) \
             SELECT gen_random_uuid(), 'b' || g || '-{tag}@bench.example', 'b' || g || '_{tag}', 'Board ' || g, NULL, 'x', \
                    '[\"talent\"]'::json, 'active', now(), now() FROM generate_series(1, {n}) g",
            n = args.board_talents
        ),
        format!(
            "INSERT INTO submissions (id, challenge_id, talent_id, assets, prompt, workflow, batch_size, status, \
             copy_flagged, score, outputs_meeting_standard, review_id, reward_transaction_id, reward_owed, created_at, updated_at) \
             SELECT gen_random_uuid(), '{board}', u.id, '[\"https://cdn.bench.example/seed.png\"]'::json, 'seed', '{{}}'::json, 4, \
                    'accepted', false, round((random() * 100)::numeric, 2)::float8, 1, NULL, NULL, 0, \
                    now() - make_interval(secs => g), now() \
               FROM generate_series(1, {subs}) g \
               JOIN (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM users WHERE email LIKE 'b%-{tag}@bench.example') u \
                 ON u.rn = (g % {n}) + 1",
            subs = args.board_submissions,
            n = args.board_talents.max(1)
        ),
        "ANALYZE".to_owned(),
    ];
    for sql in seed {
        db.execute_unprepared(&sql).await?;
    }
    let req = bench
        .http
        .post(bench.url(&format!("/api/v1/challenges/{board}/transitions")))
        .bearer_auth(manager)
        .json(&json!({ "to": "judging" }));
    expect_json(req, StatusCode::OK, "judge the board").await?;
    println!(
        "setup: 21 challenges, a board of {} submissions by {} talents in {:.1} s",
        args.board_submissions,
        args.board_talents,
        started.elapsed().as_secs_f64()
    );
    Ok(Board {
        board,
        places: args.board_talents.min(args.board_submissions),
        open: Arc::new(open),
    })
}
