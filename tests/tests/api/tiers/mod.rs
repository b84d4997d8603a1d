//! Tracks, tiers and certificates through the HTTP API: requirements as
//! data and their re-evaluation, automatic promotion from reviews (steps,
//! concurrency, grace period, lock), certification and its signed,
//! revocable certificates, key rotation, certificates that follow their
//! evidence, their status lists, and what a talent can never do.

mod certification;
mod draft_playbook;
mod evidence;
mod promotion;
mod requirements;
mod status_lists;

use serde_json::Value;

use crate::helpers::{TestApp, User};

/// The talent's tier history, newest first.
pub(super) async fn history(app: &TestApp, by: &User, talent: &User) -> Vec<Value> {
    let res = app.tier_history(by, talent, "limit=100").await;
    assert_eq!(res.status(), reqwest::StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

/// `(from, to)` of each change, oldest first.
pub(super) fn steps(history: &[Value]) -> Vec<(i64, i64)> {
    history
        .iter()
        .rev()
        .map(|c| {
            (
                c["from_tier"].as_i64().unwrap(),
                c["to_tier"].as_i64().unwrap(),
            )
        })
        .collect()
}
