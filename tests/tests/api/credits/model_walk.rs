//! The seeded model test: a random walk of grants, spends, holds, captures,
//! releases, reversals and replays, checked step by step against a model.
//!
//! `CREDITS_SEED` replays a run and `CREDITS_STEPS` makes it longer; a failure
//! names the seed and step.

use std::collections::BTreeMap;
use std::time::Instant;

use kartel_tests::SplitMix64;
use serde_json::{Value, json};

use super::id_of;
use crate::both_backends;
use crate::helpers::{Answer, Backend, TestApp, User, new_key};

both_backends! {
    async fn a_seeded_random_walk_matches_an_in_memory_model(app: &TestApp) {
        random_walk(app, seed(), steps()).await;
    }
}

/// `CREDITS_STEPS` makes a longer walk; 150 by default.
fn steps() -> usize {
    std::env::var("CREDITS_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150)
}

/// `CREDITS_SEED` replays a run; otherwise a fixed seed.
fn seed() -> u64 {
    std::env::var("CREDITS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_2026)
}

#[derive(Debug, Default, Clone, Copy)]
struct ModelAccount {
    posted: i64,
    held: i64,
}

impl ModelAccount {
    fn available(self) -> i64 {
        self.posted - self.held
    }
}

#[derive(Debug)]
struct ModelHold {
    id: String,
    talent: usize,
    amount: i64,
    open: bool,
}

#[derive(Debug)]
struct ModelTx {
    id: String,
    talent: usize,
    /// Signed, from the talent's side.
    amount: i64,
    is_reversal: bool,
    reversed: bool,
}

/// A request that was sent, with its answer, to send again later.
struct Sent {
    path: String,
    token: String,
    key: String,
    body: Value,
    answer: Answer,
}

struct Walk<'a> {
    app: &'a TestApp,
    rng: SplitMix64,
    seed: u64,
    step: usize,
    talents: Vec<User>,
    manager: User,
    admin: User,
    accounts: Vec<ModelAccount>,
    holds: Vec<ModelHold>,
    txs: Vec<ModelTx>,
    sent: Vec<Sent>,
    /// How often each operation got each status: printed, and every
    /// operation must have succeeded at least once.
    tally: BTreeMap<String, usize>,
}

impl Walk<'_> {
    fn at(&self) -> String {
        format!(
            "{}, seed {}, step {}",
            self.app.backend_name(),
            self.seed,
            self.step
        )
    }

    async fn send(&mut self, path: String, token: String, body: Value) -> Answer {
        let key = new_key();
        let answer = Answer::of(self.app.post_idem(&path, Some(&token), &key, &body).await).await;
        let op = path.rsplit('/').next().unwrap_or_default();
        *self
            .tally
            .entry(format!("{op} {}", answer.status))
            .or_default() += 1;
        self.sent.push(Sent {
            path,
            token,
            key,
            body,
            answer: answer.clone(),
        });
        answer
    }

    fn expect_ok(&self, answer: &Answer, status: u16, what: &str) -> Value {
        assert_eq!(answer.status, status, "{what} at {}: {answer:?}", self.at());
        answer.json()
    }

    fn expect_problem(&self, answer: &Answer, status: u16, code: &str, what: &str) {
        assert_eq!(answer.status, status, "{what} at {}: {answer:?}", self.at());
        assert_eq!(
            answer.json()["code"],
            json!(code),
            "{what} at {}: {answer:?}",
            self.at()
        );
    }

    async fn grant(&mut self) {
        let t = self.rng.below(self.talents.len());
        let amount = self.rng.between(1, 600);
        let b = json!({ "talent_id": self.talents[t].id, "amount": amount, "reason": "walk" });
        let token = self.manager.token.clone();
        let a = self.send("/api/v1/credits/grants".into(), token, b).await;
        let tx = self.expect_ok(&a, 201, "grant");
        self.accounts[t].posted += amount;
        assert_eq!(
            tx["balance_after"],
            json!(self.accounts[t].posted),
            "grant at {}",
            self.at()
        );
        self.txs.push(ModelTx {
            id: id_of(&tx),
            talent: t,
            amount,
            is_reversal: false,
            reversed: false,
        });
    }

    async fn spend(&mut self) {
        let t = self.rng.below(self.talents.len());
        let amount = self.rng.between(1, 300);
        let b = json!({ "amount": amount, "purpose": "walk" });
        let token = self.talents[t].token.clone();
        let a = self.send("/api/v1/credits/spends".into(), token, b).await;
        if self.accounts[t].available() >= amount {
            let tx = self.expect_ok(&a, 201, "spend");
            self.accounts[t].posted -= amount;
            assert_eq!(
                tx["balance_after"],
                json!(self.accounts[t].posted),
                "spend at {}",
                self.at()
            );
            self.txs.push(ModelTx {
                id: id_of(&tx),
                talent: t,
                amount: -amount,
                is_reversal: false,
                reversed: false,
            });
        } else {
            self.expect_problem(&a, 409, "insufficient_credits", "spend");
        }
    }

    async fn hold(&mut self) {
        let t = self.rng.below(self.talents.len());
        let amount = self.rng.between(1, 300);
        let b = json!({ "amount": amount, "purpose": "walk" });
        let token = self.talents[t].token.clone();
        let a = self.send("/api/v1/credits/holds".into(), token, b).await;
        if self.accounts[t].available() >= amount {
            let h = self.expect_ok(&a, 201, "hold");
            self.accounts[t].held += amount;
            self.holds.push(ModelHold {
                id: id_of(&h),
                talent: t,
                amount,
                open: true,
            });
        } else {
            self.expect_problem(&a, 409, "insufficient_credits", "hold");
        }
    }

    /// A hold to settle: mostly an open one, sometimes any.
    fn pick_hold(&mut self) -> Option<usize> {
        let open: Vec<usize> = (0..self.holds.len())
            .filter(|&i| self.holds[i].open)
            .collect();
        if !open.is_empty() && self.rng.chance(80) {
            Some(open[self.rng.below(open.len())])
        } else if self.holds.is_empty() {
            None
        } else {
            Some(self.rng.below(self.holds.len()))
        }
    }

    async fn capture(&mut self) {
        let Some(i) = self.pick_hold() else {
            return self.hold().await;
        };
        let (id, t, held, open) = (
            self.holds[i].id.clone(),
            self.holds[i].talent,
            self.holds[i].amount,
            self.holds[i].open,
        );
        let roll = self.rng.below(10);
        let amount = match roll {
            0 => Some(held + 1),
            1..=4 => None,
            _ => Some(self.rng.between(1, held)),
        };
        let b = amount.map_or_else(|| json!({}), |a| json!({ "amount": a }));
        let token = self.talents[t].token.clone();
        let a = self
            .send(format!("/api/v1/credits/holds/{id}/capture"), token, b)
            .await;
        if roll == 0 {
            self.expect_problem(&a, 422, "capture_exceeds_hold", "capture over the hold");
        } else if !open {
            self.expect_problem(&a, 409, "hold_not_pending", "capture of a settled hold");
        } else {
            let h = self.expect_ok(&a, 200, "capture");
            let take = amount.unwrap_or(held);
            assert_eq!(h["status"], "captured", "capture at {}", self.at());
            assert_eq!(
                h["captured_amount"],
                json!(take),
                "capture at {}",
                self.at()
            );
            self.holds[i].open = false;
            self.accounts[t].held -= held;
            self.accounts[t].posted -= take;
            let tx = h["capture_transaction_id"].as_str().unwrap().to_owned();
            self.txs.push(ModelTx {
                id: tx,
                talent: t,
                amount: -take,
                is_reversal: false,
                reversed: false,
            });
        }
    }

    async fn release(&mut self) {
        let Some(i) = self.pick_hold() else {
            return self.spend().await;
        };
        let (id, t, held, open) = (
            self.holds[i].id.clone(),
            self.holds[i].talent,
            self.holds[i].amount,
            self.holds[i].open,
        );
        let token = self.talents[t].token.clone();
        let a = self
            .send(
                format!("/api/v1/credits/holds/{id}/release"),
                token,
                json!({}),
            )
            .await;
        if open {
            let h = self.expect_ok(&a, 200, "release");
            assert_eq!(h["status"], "released", "release at {}", self.at());
            self.holds[i].open = false;
            self.accounts[t].held -= held;
        } else {
            self.expect_problem(&a, 409, "hold_not_pending", "release of a settled hold");
        }
    }

    async fn reverse(&mut self) {
        if self.txs.is_empty() {
            return self.grant().await;
        }
        let i = self.rng.below(self.txs.len());
        let (id, t, amount) = (
            self.txs[i].id.clone(),
            self.txs[i].talent,
            self.txs[i].amount,
        );
        let token = self.admin.token.clone();
        let b = json!({ "reason": "walk" });
        let a = self
            .send(
                format!("/api/v1/credits/transactions/{id}/reverse"),
                token,
                b,
            )
            .await;
        if self.txs[i].is_reversal {
            self.expect_problem(&a, 409, "reversal_not_reversible", "reversal of a reversal");
        } else if self.txs[i].reversed {
            self.expect_problem(&a, 409, "already_reversed", "second reversal");
        } else if amount > 0 && self.accounts[t].available() < amount {
            self.expect_problem(
                &a,
                409,
                "insufficient_credits",
                "reversal into an overdraft",
            );
        } else {
            let tx = self.expect_ok(&a, 201, "reversal");
            self.accounts[t].posted -= amount;
            assert_eq!(tx["amount"], json!(-amount), "reversal at {}", self.at());
            assert_eq!(
                tx["balance_after"],
                json!(self.accounts[t].posted),
                "reversal at {}",
                self.at()
            );
            self.txs[i].reversed = true;
            self.txs.push(ModelTx {
                id: id_of(&tx),
                talent: t,
                amount: -amount,
                is_reversal: true,
                reversed: false,
            });
        }
    }

    /// Sends an earlier request again, with its key: the same answer, no effect.
    async fn replay(&mut self) {
        if self.sent.is_empty() {
            return self.grant().await;
        }
        let i = self.rng.below(self.sent.len());
        let s = &self.sent[i];
        let again = Answer::of(
            self.app
                .post_idem(&s.path, Some(&s.token), &s.key, &s.body)
                .await,
        )
        .await;
        assert_eq!(
            again,
            s.answer,
            "replay of {} {} at {}",
            s.path,
            s.body,
            self.at()
        );
        *self.tally.entry("replay".to_owned()).or_default() += 1;
    }

    async fn compare_balances(&self) {
        for (t, talent) in self.talents.iter().enumerate() {
            let m = self.accounts[t];
            let got = self.app.balance_of(&self.manager, talent.id).await;
            assert_eq!(got, (m.available(), m.held), "talent {t} at {}", self.at());
        }
    }

    async fn check_books(&self) {
        let report = self.app.ledger_ok(&self.admin).await;
        let open = self.holds.iter().filter(|h| h.open).count();
        assert_eq!(
            report["open_holds"],
            json!(open),
            "at {}: {report}",
            self.at()
        );
        assert_eq!(
            report["transactions"],
            json!(self.txs.len()),
            "at {}: {report}",
            self.at()
        );
        assert_eq!(
            report["entries"],
            json!(2 * self.txs.len()),
            "at {}: {report}",
            self.at()
        );
    }
}

async fn random_walk(app: &TestApp, seed: u64, steps: usize) {
    let started = Instant::now();
    let mut talents = Vec::new();
    for _ in 0..3 {
        talents.push(app.new_talent().await);
    }
    let mut w = Walk {
        app,
        rng: SplitMix64::new(seed),
        seed,
        step: 0,
        accounts: vec![ModelAccount::default(); talents.len()],
        talents,
        manager: app.new_manager().await,
        admin: app.new_admin().await,
        holds: Vec::new(),
        txs: Vec::new(),
        sent: Vec::new(),
        tally: BTreeMap::new(),
    };
    for step in 1..=steps {
        w.step = step;
        match w.rng.below(100) {
            0..=17 => w.grant().await,
            18..=35 => w.spend().await,
            36..=53 => w.hold().await,
            54..=68 => w.capture().await,
            69..=78 => w.release().await,
            79..=91 => w.reverse().await,
            _ => w.replay().await,
        }
        w.compare_balances().await;
        if step % 10 == 0 {
            w.check_books().await;
        }
    }
    w.check_books().await;
    // Each talent's history folds to their posted balance.
    for (t, talent) in w.talents.iter().enumerate() {
        let items = app.all_history(talent, "").await;
        let sum: i64 = items.iter().map(|i| i["amount"].as_i64().unwrap()).sum();
        assert_eq!(
            sum,
            w.accounts[t].posted,
            "talent {t} history at {}",
            w.at()
        );
        assert_eq!(
            items.len(),
            w.txs.iter().filter(|x| x.talent == t).count(),
            "talent {t} at {}",
            w.at()
        );
    }
    // The walk tested what it exercised: every operation, each with at
    // least one success (its effect checked against the model), and replays.
    for op in ["grants", "spends", "holds", "capture", "release", "reverse"] {
        let succeeded = w
            .tally
            .iter()
            .filter(|(k, _)| *k == &format!("{op} 200") || *k == &format!("{op} 201"))
            .map(|(_, n)| n)
            .sum::<usize>();
        assert!(
            succeeded > 0,
            "no {op} succeeded in {} (try more CREDITS_STEPS): {:?}",
            w.at(),
            w.tally
        );
    }
    assert!(
        w.tally.get("replay").is_some_and(|n| *n > 0),
        "no replay in {}: {:?}",
        w.at(),
        w.tally
    );
    let settled = w.holds.iter().filter(|h| !h.open).count();
    eprintln!(
        "{}: {steps} steps (seed {seed}) in {:?}: {} transactions, {} holds ({settled} settled), {:?}",
        app.backend_name(),
        started.elapsed(),
        w.txs.len(),
        w.holds.len(),
        w.tally
    );
}
