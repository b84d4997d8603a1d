//! Challenges through the HTTP API: the lifecycle and its clock,
//! submissions (window, eligibility, limits, visibility, copied work),
//! reviews (rubric versions, rewards once, overturns, prizes, leaderboards),
//! the review queue, conflicts of interest and blind review, more than
//! one reviewer per submission (aggregates, tiebreaks), and the review
//! figures.

mod appeals;
mod blind;
mod bulk_run;
mod clock_job;
mod double_review;
mod lifecycle;
mod max_tier;
mod metrics;
mod public_cache;
mod queue;
mod reviews;
mod submissions;
mod verdict_walk;
mod verdicts;

use sea_orm::ConnectionTrait;
use serde_json::Value;

use crate::helpers::TestApp;

pub(super) fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_owned()
}

/// Runs `sql` with `$1` bound to `id` (ids are stored natively per backend).
pub(super) async fn exec_on(app: &TestApp, sql: &str, id: &str) {
    let id: uuid::Uuid = id.parse().expect("uuid");
    let stmt =
        sea_orm::Statement::from_sql_and_values(app.db.get_database_backend(), sql, [id.into()]);
    app.db.execute_raw(stmt).await.expect("sql");
}
