//! The measuring: for each client count, `--runs` rounds of every chosen
//! scenario, each round followed by the pgbench references its scenarios
//! are compared with, so that every ratio pairs figures of the same round.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kartel_tests::stats::{Row, print_stats};
use sea_orm::DatabaseConnection;

use crate::args::{Args, CHALLENGE_SCENARIOS, LEDGER_SCENARIOS};
use crate::client::Bench;
use crate::pgbench;
use crate::scenarios::{
    Reference, Scenario, print_storm, references_of, references_of_name, start_storm,
};
use crate::setup::{Board, People, SignedIn};

/// Everything the rounds need.
pub struct Rounds<'a> {
    pub args: &'a Args,
    pub bench: Arc<Bench>,
    pub db: DatabaseConnection,
    /// The bench database's URL, where the spend replays run.
    pub url: String,
    pub people: People,
    pub manager: SignedIn,
    /// The `--talents` talents' own tokens, when a scenario needs them.
    pub talents: Option<SignedIn>,
    /// The `my-hot` talents' tokens, one per round.
    pub my_hot: Option<SignedIn>,
    pub board: Option<Board>,
    /// The replay scripts: spread over the talents, and on one account.
    pub spread_replay: Option<PathBuf>,
    pub hot_replay: Option<PathBuf>,
    /// What went wrong outside the scenarios' answers (a replay that did not
    /// write what pgbench counted).
    pub failures: Vec<String>,
}

impl Rounds<'_> {
    /// Every round; one row per scenario, client count and run.
    pub async fn run_all(&mut self) -> anyhow::Result<Vec<Row>> {
        let args = self.args;
        let mut rows = Vec::new();
        for (n, &clients) in args.clients.iter().enumerate() {
            println!("\n== {clients} clients ==");
            for run in 1..=args.runs {
                if args.runs > 1 {
                    println!("-- run {run} of {} --", args.runs);
                }
                let slot = n * args.runs + run - 1;
                let first = rows.len();
                self.round(clients, run, slot, &mut rows).await?;
                if !args.skip_pgbench {
                    self.references(clients, &mut rows[first..]).await;
                }
            }
        }
        Ok(rows)
    }

    /// One run of each chosen scenario, in the order of the scenario lists.
    async fn round(
        &mut self,
        clients: usize,
        run: usize,
        slot: usize,
        rows: &mut Vec<Row>,
    ) -> anyhow::Result<()> {
        let args = self.args;
        let warmup = Duration::from_secs(args.warmup_secs);
        let duration = Duration::from_secs(args.duration_secs);
        let keys = LEDGER_SCENARIOS.iter().chain(&CHALLENGE_SCENARIOS);
        for key in keys.filter(|k| args.wants(k)) {
            let Some(scenario) = self.scenario(key, slot, warmup + duration).await? else {
                continue;
            };
            let storm = scenario.storm_emails().map(|emails| {
                start_storm(self.bench.clone(), emails.clone(), args.logins_per_second)
            });
            let stats = self.bench.run(&scenario, clients, warmup, duration).await;
            print_stats(scenario.name(), clients, &stats);
            if let Some((task, counts)) = storm {
                task.abort();
                print_storm(&counts, args.duration_secs + args.warmup_secs);
            }
            rows.push(Row {
                scenario: scenario.name(),
                clients,
                run,
                stats,
                refs: Vec::new(),
            });
        }
        Ok(())
    }

    /// The scenario `key` of round `slot`, its tokens good for `needed`.
    async fn scenario(
        &mut self,
        key: &str,
        slot: usize,
        needed: Duration,
    ) -> anyhow::Result<Option<Scenario>> {
        let bench = &self.bench;
        let talents = self.people.talents.clone();
        let emails = self.people.emails.clone();
        let mut own = async || match &mut self.talents {
            Some(s) => s.fresh_for(bench, needed).await.map(Some),
            None => Ok(None),
        };
        Ok(match key {
            "spread" => Some(Scenario::Spread { talents }),
            "hot" => Some(Scenario::Hot {
                talent: self.people.hot(slot),
            }),
            "reads" | "storm" => {
                let token = self.manager.fresh_for(bench, needed).await?[0].clone();
                Some(if key == "reads" {
                    Scenario::Reads { talents, token }
                } else {
                    Scenario::Storm {
                        talents,
                        token,
                        emails,
                    }
                })
            }
            "my-reads" => own().await?.map(|tokens| Scenario::MyReads { tokens }),
            "my-spends" => own().await?.map(|tokens| Scenario::MySpends { tokens }),
            "my-storm" => own()
                .await?
                .map(|tokens| Scenario::MyStorm { tokens, emails }),
            "my-hot" => match &mut self.my_hot {
                Some(s) => {
                    let tokens = s.fresh_for(bench, needed).await?;
                    Some(Scenario::MyHot {
                        token: tokens[slot % tokens.len()].clone(),
                    })
                }
                None => None,
            },
            "challenges" => Some(Scenario::Challenges),
            "leaderboard" => self.board.as_ref().map(|b| Scenario::Leaderboard {
                challenge: b.board,
                places: b.places,
            }),
            "submit" => {
                let open = self.board.as_ref().map(|b| b.open.clone());
                match (own().await?, open) {
                    (Some(tokens), Some(challenges)) => Some(Scenario::Submit {
                        talents: Arc::new(tokens.iter().take(100).cloned().collect()),
                        challenges,
                    }),
                    _ => None,
                }
            }
            _ => None,
        })
    }

    /// Runs the references the round's rows are compared with, and gives
    /// each row its figures.
    async fn references(&mut self, clients: usize, rows: &mut [Row]) {
        let args = self.args;
        let duration = args.duration_secs;
        let chosen = |r: Reference| {
            LEDGER_SCENARIOS
                .iter()
                .chain(&CHALLENGE_SCENARIOS)
                .any(|k| args.wants(k) && references_of(k).contains(&r))
        };
        for reference in Reference::ALL.into_iter().filter(|r| chosen(*r)) {
            let result = match reference {
                Reference::TpcbLike => {
                    pgbench::builtin(&args.admin_url, "tpcb-like", clients, duration).await
                }
                Reference::SelectOnly => {
                    pgbench::builtin(&args.admin_url, "select-only", clients, duration).await
                }
                Reference::SpendReplay | Reference::HotReplay => {
                    let script = if reference == Reference::SpendReplay {
                        &self.spread_replay
                    } else {
                        &self.hot_replay
                    };
                    match script {
                        Some(script) => {
                            let label = reference.label();
                            pgbench::replay(&self.db, &self.url, script, label, clients, duration)
                                .await
                        }
                        None => continue,
                    }
                }
            };
            let tps = match result {
                Ok(tps) => tps,
                Err(e) => {
                    match reference {
                        Reference::TpcbLike => println!("  pgbench not run: {e:#}"),
                        Reference::SelectOnly => println!("  pgbench -S not run: {e:#}"),
                        _ => {
                            println!("  pgbench {} failed: {e:#}", reference.label());
                            self.failures
                                .push(format!("pgbench {}: {e:#}", reference.label()));
                        }
                    }
                    continue;
                }
            };
            match reference {
                Reference::TpcbLike => {
                    let spread = rows
                        .iter()
                        .find(|r| r.scenario == "spread spends")
                        .map_or(String::new(), |r| {
                            format!("   spread spends / pgbench = {:.2}x", r.ratio(tps))
                        });
                    println!("  pgbench tpcb-like  c={clients:<3} {tps:>8.0} TPS{spread}");
                }
                Reference::SelectOnly => {
                    println!("  pgbench select-only c={clients:<3} {tps:>8.0} TPS");
                }
                _ => println!(
                    "  pgbench {} c={clients:<3} {tps:>8.0} TPS",
                    reference.label()
                ),
            }
            for row in rows
                .iter_mut()
                .filter(|r| references_of_name(r.scenario).contains(&reference))
            {
                row.refs.push((reference.label(), tps));
            }
        }
        // The talents' own scenarios against each of their references.
        for row in rows.iter().filter(|r| r.scenario.starts_with("my ")) {
            let ratios: Vec<String> = row
                .refs
                .iter()
                .map(|(label, tps)| format!("{:.2}x {label}", row.ratio(*tps)))
                .collect();
            if !ratios.is_empty() {
                println!(
                    "  {:<18} c={clients:<3} {:>8.0} ok/s = {}",
                    row.scenario,
                    row.stats.rate(row.stats.ok),
                    ratios.join(", ")
                );
            }
        }
    }
}
