//! What each scenario sends, what it expects back, and which pgbench
//! figures it is compared with.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kartel_tests::SplitMix64;
use kartel_tests::raw::Request;
use reqwest::StatusCode;
use serde_json::json;
use uuid::Uuid;

use crate::args::{CHALLENGE_SCENARIOS, LEDGER_SCENARIOS};
use crate::client::Bench;

#[derive(Clone)]
pub enum Scenario {
    /// Spends by the service key on a random talent.
    Spread { talents: Arc<Vec<Uuid>> },
    /// Spends by the service key, all on one talent.
    Hot { talent: Uuid },
    /// A manager reads a random talent's balance.
    Reads {
        talents: Arc<Vec<Uuid>>,
        token: String,
    },
    /// Balance reads while `logins_per_second` sign-ins run beside them.
    Storm {
        talents: Arc<Vec<Uuid>>,
        token: String,
        emails: Arc<Vec<String>>,
    },
    /// `GET /me/credits` by a random talent with their own token.
    MyReads { tokens: Arc<Vec<String>> },
    /// A random talent spends 1 of their own credits with their own token.
    MySpends { tokens: Arc<Vec<String>> },
    /// One talent spends their own credits with their own token.
    MyHot { token: String },
    /// `my-reads` while `logins_per_second` sign-ins run beside them.
    MyStorm {
        tokens: Arc<Vec<String>>,
        emails: Arc<Vec<String>>,
    },
    /// `GET /challenges?status=open`, anonymous.
    Challenges,
    /// A random page of the seeded leaderboard (the first page half the time).
    Leaderboard { challenge: Uuid, places: u64 },
    /// A submission by a random signed-in talent to a random open challenge.
    Submit {
        talents: Arc<Vec<String>>,
        challenges: Arc<Vec<Uuid>>,
    },
}

/// A pgbench figure run in the same round, to compare with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reference {
    /// `pgbench -b tpcb-like` on a database of its own.
    TpcbLike,
    /// `pgbench -b select-only` (`-S`) on a database of its own.
    SelectOnly,
    /// The service's one-statement spend replayed by pgbench on the bench's
    /// own tables, on a random talent out of `--talents`.
    SpendReplay,
    /// The same replay, all on one talent.
    HotReplay,
}

impl Reference {
    pub const ALL: [Reference; 4] = [
        Reference::TpcbLike,
        Reference::SelectOnly,
        Reference::SpendReplay,
        Reference::HotReplay,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Reference::TpcbLike => "tpcb-like",
            Reference::SelectOnly => "select-only",
            Reference::SpendReplay => "spend replay",
            Reference::HotReplay => "spend replay, one account",
        }
    }
}

impl Scenario {
    /// The name `--scenarios` knows it by.
    pub fn key(&self) -> &'static str {
        match self {
            Scenario::Spread { .. } => "spread",
            Scenario::Hot { .. } => "hot",
            Scenario::Reads { .. } => "reads",
            Scenario::Storm { .. } => "storm",
            Scenario::MyReads { .. } => "my-reads",
            Scenario::MySpends { .. } => "my-spends",
            Scenario::MyHot { .. } => "my-hot",
            Scenario::MyStorm { .. } => "my-storm",
            Scenario::Challenges => "challenges",
            Scenario::Leaderboard { .. } => "leaderboard",
            Scenario::Submit { .. } => "submit",
        }
    }

    /// The name printed in the results.
    pub fn name(&self) -> &'static str {
        name_of(self.key())
    }

    /// The status of a success; anything else but a clean `409
    /// insufficient_credits` is an unexpected answer.
    pub fn expected(&self) -> StatusCode {
        match self {
            Scenario::Reads { .. }
            | Scenario::Storm { .. }
            | Scenario::MyReads { .. }
            | Scenario::MyStorm { .. }
            | Scenario::Challenges
            | Scenario::Leaderboard { .. } => StatusCode::OK,
            Scenario::Spread { .. }
            | Scenario::Hot { .. }
            | Scenario::MySpends { .. }
            | Scenario::MyHot { .. }
            | Scenario::Submit { .. } => StatusCode::CREATED,
        }
    }

    /// The sign-ins to run beside the scenario, if it is a storm.
    pub fn storm_emails(&self) -> Option<&Arc<Vec<String>>> {
        match self {
            Scenario::Storm { emails, .. } | Scenario::MyStorm { emails, .. } => Some(emails),
            _ => None,
        }
    }

    /// The next request of one client.
    pub fn request(&self, bench: &Bench, rng: &mut SplitMix64) -> Request {
        match self {
            Scenario::Spread { talents } => {
                let talent = talents[rng.below(talents.len())];
                bench.spend(talent)
            }
            Scenario::Hot { talent } => bench.spend(*talent),
            Scenario::Reads { talents, token } | Scenario::Storm { talents, token, .. } => {
                let talent = talents[rng.below(talents.len())];
                Request::get(format!("/api/v1/talents/{talent}/credits")).bearer(token)
            }
            Scenario::MyReads { tokens } | Scenario::MyStorm { tokens, .. } => {
                Request::get("/api/v1/me/credits".into()).bearer(&tokens[rng.below(tokens.len())])
            }
            Scenario::MySpends { tokens } => bench.my_spend(&tokens[rng.below(tokens.len())]),
            Scenario::MyHot { token } => bench.my_spend(token),
            Scenario::Challenges => Request::get("/api/v1/challenges?status=open&limit=20".into()),
            Scenario::Leaderboard { challenge, places } => {
                let pages = usize::try_from(places / 20).unwrap_or(1).max(1);
                let page = if rng.below(2) == 0 {
                    0
                } else {
                    rng.below(pages)
                };
                let cursor = if page == 0 {
                    String::new()
                } else {
                    URL_SAFE_NO_PAD.encode((page * 20).to_string())
                };
                Request::get(format!(
                    "/api/v1/challenges/{challenge}/leaderboard?limit=20&cursor={cursor}"
                ))
            }
            Scenario::Submit {
                talents,
                challenges,
            } => {
                let token = &talents[rng.below(talents.len())];
                let challenge = challenges[rng.below(challenges.len())];
                Request::post(
                    format!("/api/v1/challenges/{challenge}/submissions"),
                    &json!({
                        "assets": [format!("https://cdn.bench.example/{}.png", Uuid::new_v4())],
                        "prompt": "loadbench", "workflow": {"seed": 1}, "batch_size": 4
                    }),
                )
                .bearer(token)
            }
        }
    }
}

/// The printed name of the scenario `--scenarios` calls `key`.
pub fn name_of(key: &str) -> &'static str {
    match key {
        "spread" => "spread spends",
        "hot" => "hot-talent spends",
        "reads" => "balance reads",
        "storm" => "balance reads during sign-ins",
        "my-reads" => "my balance reads",
        "my-spends" => "my spends",
        "my-hot" => "my hot spends",
        "my-storm" => "my reads during sign-ins",
        "challenges" => "challenge list",
        "leaderboard" => "leaderboard reads",
        "submit" => "submission creates",
        _ => "?",
    }
}

/// The pgbench figures the scenario `--scenarios` calls `key` is compared with.
pub fn references_of(key: &str) -> &'static [Reference] {
    match key {
        "spread" | "hot" | "reads" | "storm" => &[Reference::TpcbLike],
        "my-spends" => &[Reference::TpcbLike, Reference::SpendReplay],
        "my-hot" => &[Reference::TpcbLike, Reference::HotReplay],
        "my-reads" | "my-storm" | "challenges" | "leaderboard" | "submit" => {
            &[Reference::SelectOnly]
        }
        _ => &[],
    }
}

/// The same for the scenario printed as `name`.
pub fn references_of_name(name: &str) -> &'static [Reference] {
    LEDGER_SCENARIOS
        .iter()
        .chain(&CHALLENGE_SCENARIOS)
        .find(|k| name_of(k) == name)
        .map_or(&[], |k| references_of(k))
}

/// Sign-ins answered 200, and the others.
pub type StormCounts = Arc<(AtomicU64, AtomicU64)>;

/// Starts `per_second` sign-ins a second, each on its own task (an open
/// loop: a slow answer does not slow the storm down), until aborted.
pub fn start_storm(
    bench: Arc<Bench>,
    emails: Arc<Vec<String>>,
    per_second: u32,
) -> (tokio::task::JoinHandle<()>, StormCounts) {
    let counts: StormCounts = Arc::new((AtomicU64::new(0), AtomicU64::new(0)));
    let c = counts.clone();
    let task = tokio::spawn(async move {
        let mut tick =
            tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(per_second.max(1))));
        let mut n = 0usize;
        loop {
            tick.tick().await;
            let (bench, email, c) = (bench.clone(), emails[n % emails.len()].clone(), c.clone());
            n += 1;
            tokio::spawn(async move {
                match bench.login(&email).await {
                    Ok(_) => c.0.fetch_add(1, Ordering::Relaxed),
                    Err(_) => c.1.fetch_add(1, Ordering::Relaxed),
                };
            });
        }
    });
    (task, counts)
}

/// Prints what the sign-ins beside a storm scenario got.
pub fn print_storm(counts: &StormCounts, secs: u64) {
    let secs = secs.max(1) as f64;
    println!(
        "      beside them: {} sign-ins answered 200 ({:.0}/s), {} not",
        counts.0.load(Ordering::Relaxed),
        counts.0.load(Ordering::Relaxed) as f64 / secs,
        counts.1.load(Ordering::Relaxed),
    );
}
