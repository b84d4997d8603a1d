//! The seeded walk of verdicts: random chains of 1–12 reviews by alternating
//! managers over a talent's two submissions, with the talent's spends,
//! holds, releases and captures, grants, and an admin's reversals in
//! between. After every step, from outside:
//!
//! - each submission's rewards paid minus taken back lie in `0..=reward`,
//!   and equal the reward while the latest decision is accepted (unless an
//!   admin reversed that payment since);
//! - what `/me/credits` shows owed is exactly what the rejected
//!   submissions still hold, and nothing is available while it is owed;
//! - the ledger check is clean.
//!
//! `VERDICT_SEED` replays a run and `VERDICT_CASES` runs more cases; a
//! failure names the seed, case and step.

use kartel_tests::SplitMix64;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Answer, Backend, TestApp, User, challenge_spec, new_key, review_spec};

both_backends! {
    async fn random_chains_of_verdicts_pay_each_reward_once_and_owe_the_rest(app: &TestApp) {
        let seed = env_or("VERDICT_SEED", 0x7E7D_1C75);
        let cases = env_or("VERDICT_CASES", 12);
        let mut rng = SplitMix64::new(seed);
        let people = People {
            managers: [app.new_manager().await, app.new_manager().await],
            admin: app.new_admin().await,
        };
        for case in 0..cases {
            let case_seed = rng.next_u64();
            Walk::new(app, &people, case_seed, format!("seed {seed:#x}, case {case} ({case_seed:#x})")).await.run().await;
        }
    }
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

struct People {
    managers: [User; 2],
    admin: User,
}

/// What the walk knows of one submission.
struct Sub {
    id: String,
    reward: i64,
    /// The current review and its decision.
    current: Option<(Value, bool)>,
    /// The reviews written so far (the next comes from the other manager).
    reviews: usize,
    /// An admin reversed the payment of the current acceptance.
    reversed_since_accept: bool,
}

struct Walk<'a> {
    app: &'a TestApp,
    people: &'a People,
    rng: SplitMix64,
    name: String,
    talent: User,
    subs: Vec<Sub>,
    holds: Vec<String>,
    step: usize,
}

impl<'a> Walk<'a> {
    async fn new(app: &'a TestApp, people: &'a People, seed: u64, name: String) -> Self {
        let mut rng = SplitMix64::new(seed);
        let talent = app.new_talent().await;
        let manager = &people.managers[0];
        let mut subs = Vec::new();
        for _ in 0..2 {
            let reward = rng.between(1, 20);
            let mut spec = challenge_spec();
            spec["reward"] = json!(reward);
            let cid = app.open_challenge(manager, &spec).await;
            let id = app
                .new_submission(
                    &talent,
                    &cid,
                    &format!("https://x.example/{}.png", new_key()),
                )
                .await;
            app.transition(manager, &cid, "judging").await;
            subs.push(Sub {
                id,
                reward,
                current: None,
                reviews: 0,
                reversed_since_accept: false,
            });
        }
        let start = rng.between(0, 15);
        if start > 0 {
            app.new_grant(manager, talent.id, start).await;
        }
        Walk {
            app,
            people,
            rng,
            name,
            talent,
            subs,
            holds: Vec::new(),
            step: 0,
        }
    }

    async fn run(mut self) {
        let reviews = self.rng.between(1, 12);
        for _ in 0..reviews {
            for _ in 0..self.rng.below(3) {
                self.money_step().await;
                self.check().await;
            }
            self.review_step().await;
            self.check().await;
        }
    }

    fn ok(&self, what: &str, a: &Answer, allowed: &[u16]) {
        assert!(
            allowed.contains(&a.status),
            "{} step {}: {what} answered {} {}",
            self.name,
            self.step,
            a.status,
            a.text
        );
    }

    async fn review_step(&mut self) {
        self.step += 1;
        let i = self.rng.below(self.subs.len());
        let accept = self.rng.chance(50);
        let s = &self.subs[i];
        let by = &self.people.managers[s.reviews % 2];
        let (score, decision) = if accept {
            (8.0, "accepted")
        } else {
            (2.0, "rejected")
        };
        let mut body = review_spec(score, score, decision, 1);
        if let Some((current, _)) = &s.current {
            body["overturns"] = current["id"].clone();
        }
        let a = Answer::of(self.app.review(by, &s.id, &body).await).await;
        self.ok(&format!("review {decision} of submission {i}"), &a, &[201]);
        let was_accepted = s.current.as_ref().is_some_and(|c| c.1);
        let s = &mut self.subs[i];
        if accept && !was_accepted {
            s.reversed_since_accept = false;
        }
        s.current = Some((a.json(), accept));
        s.reviews += 1;
    }

    async fn money_step(&mut self) {
        self.step += 1;
        let (app, talent) = (self.app, &self.talent);
        match self.rng.below(6) {
            0 => {
                let amount = self.rng.between(1, 12);
                let a = Answer::of(app.spend(talent, &new_key(), amount).await).await;
                self.ok("spend", &a, &[201, 409]);
            }
            1 => {
                let amount = self.rng.between(1, 12);
                let a = Answer::of(
                    app.create_hold(talent, &new_key(), amount, Some(3600))
                        .await,
                )
                .await;
                self.ok("hold", &a, &[201, 409]);
                if a.status == 201 {
                    self.holds.push(a.json()["id"].as_str().unwrap().to_owned());
                }
            }
            2 | 3 if !self.holds.is_empty() => {
                let hold = self.holds.swap_remove(self.rng.below(self.holds.len()));
                let a = if self.rng.chance(50) {
                    Answer::of(app.release_hold(talent, &hold, &new_key()).await).await
                } else {
                    let part = self.rng.chance(50).then_some(1);
                    Answer::of(app.capture_hold(talent, &hold, &new_key(), part).await).await
                };
                self.ok("release or capture", &a, &[200]);
            }
            4 => {
                let amount = self.rng.between(1, 8);
                app.new_grant(&self.people.managers[1], talent.id, amount)
                    .await;
            }
            _ => self.admin_reversal().await,
        }
    }

    /// An admin reverses one of the talent's transactions, chosen at random.
    async fn admin_reversal(&mut self) {
        let history = self.app.all_history(&self.talent, "").await;
        if history.is_empty() {
            return;
        }
        let t = &history[self.rng.below(history.len())];
        let id = t["id"].as_str().unwrap();
        let a = Answer::of(
            self.app
                .reverse_transaction(&self.people.admin, id, &new_key())
                .await,
        )
        .await;
        self.ok(&format!("reversal of a {}", t["kind"]), &a, &[201, 409]);
        if a.status == 201 && t["kind"] == "reward" {
            let reference = t["reference"].as_str().unwrap_or_default();
            for s in &mut self.subs {
                if reference.starts_with(&format!("reward:{}:", s.id)) {
                    s.reversed_since_accept = true;
                }
            }
        }
    }

    async fn check(&self) {
        let at = format!("{} step {}", self.name, self.step);
        let history = self.app.all_history(&self.talent, "").await;
        let credits: Value = self
            .app
            .my_credits(&self.talent)
            .await
            .json()
            .await
            .unwrap();
        let (available, owed) = (
            credits["available"].as_i64().unwrap(),
            credits["owed"].as_i64().unwrap(),
        );
        let mut owed_expected = 0;
        for s in &self.subs {
            let net = net_reward(&history, &s.id);
            assert!(
                (0..=s.reward).contains(&net),
                "{at}: submission {} holds {net} of its reward {}",
                s.id,
                s.reward
            );
            match &s.current {
                Some((_, true)) if !s.reversed_since_accept => {
                    assert_eq!(
                        net, s.reward,
                        "{at}: accepted submission {} holds {net}",
                        s.id
                    );
                }
                Some((_, false)) => owed_expected += net,
                _ => {}
            }
        }
        assert_eq!(owed, owed_expected, "{at}: owed");
        assert!(
            owed == 0 || available == 0,
            "{at}: {available} available while {owed} owed"
        );
        let report: Value = self
            .app
            .ledger_check(&self.people.admin)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report["ok"], json!(true), "{at}: ledger check {report}");
    }
}

/// A submission's rewards minus its take-backs, from the talent's history:
/// payments `reward:<id>:…`, take-backs `clawback:<id>:…`, and reversals of
/// those payments.
pub(super) fn net_reward(history: &[Value], sid: &str) -> i64 {
    let paid: Vec<&Value> = history
        .iter()
        .filter(|t| {
            t["reference"]
                .as_str()
                .is_some_and(|r| r.starts_with(&format!("reward:{sid}:")))
        })
        .collect();
    let taken: i64 = history
        .iter()
        .filter(|t| {
            t["reference"]
                .as_str()
                .is_some_and(|r| r.starts_with(&format!("clawback:{sid}:")))
        })
        .map(|t| t["amount"].as_i64().unwrap())
        .sum();
    let reversed: i64 = history
        .iter()
        .filter(|t| t["kind"] == "reversal" && paid.iter().any(|p| p["id"] == t["reverses_id"]))
        .map(|t| t["amount"].as_i64().unwrap())
        .sum();
    paid.iter()
        .map(|t| t["amount"].as_i64().unwrap())
        .sum::<i64>()
        + taken
        + reversed
}
