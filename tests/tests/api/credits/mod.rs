//! The credits ledger through the HTTP API, one file per feature; the
//! invariants are those of the ledger notes (LEDGER.md).
//!
//! - [`spends`]: overdraft races, one effect and one answer per idempotency key;
//! - [`holds`]: capture, release, expiry and their races;
//! - [`reversals`]: once, never of a reversal, never into an overdraft;
//! - [`allowance`]: the monthly allowance, paid once, by tier and month;
//! - [`rewards`]: a submission's reward, paid once;
//! - [`balance_limit`]: no balance beyond `MAX_BALANCE`;
//! - [`permissions`]: who may move and read which credits;
//! - [`bad_input`]: refused without effect;
//! - [`history`]: cursor pages and filters;
//! - [`ledger_check`]: the reconciliation notices corrupted books;
//! - [`append_only`]: reversals, captures, the sweeper and erasure change no earlier ledger row;
//! - [`model_walk`]: a seeded random walk against an in-memory model;
//! - [`two_instances`]: two apps on one PostgreSQL database.
//!
//! The requests themselves are `TestApp` methods (`helpers/credits.rs`);
//! here are only the readers of the fields the tests compare.

use reqwest::Response;
use serde_json::Value;

mod allowance;
mod append_only;
mod bad_input;
mod balance_limit;
mod history;
mod holds;
mod ledger_check;
mod model_walk;
mod permissions;
mod reversals;
mod rewards;
mod spends;
mod two_instances;

async fn body(res: Response) -> Value {
    res.json().await.unwrap()
}

fn time_of(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v["created_at"].as_str().unwrap().parse().unwrap()
}

fn expires_at(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v["expires_at"].as_str().unwrap().parse().unwrap()
}

fn resolved_at(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v["resolved_at"].as_str().unwrap().parse().unwrap()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}
