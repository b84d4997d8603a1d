//! The clock is law: the background job itself (not a manager, not a test
//! calling `advance_clock`) moves an open challenge to judging once its
//! window has closed.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use sea_orm::FromQueryResult;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{
    Backend, TestApp, assert_problem, challenge_spec, review_spec, submission_spec,
};

#[derive(FromQueryResult)]
struct Event {
    kind: String,
    payload: String,
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

both_backends! {
    #[settings(|s| s.hold_sweep_interval_seconds = 1)]
    async fn the_clock_job_moves_an_open_challenge_to_judging_at_its_close(app: &TestApp) {
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        // A window that closes in a few seconds.
        let now = Utc::now();
        let mut spec = challenge_spec();
        spec["opens_at"] = json!(now - chrono::Duration::minutes(1));
        spec["closes_at"] = json!(now + chrono::Duration::seconds(5));
        spec["review_due_at"] = json!(now + chrono::Duration::hours(1));
        let cid = app.open_challenge(&manager, &spec).await;
        let sid = app.new_submission(&talent, &cid, "https://x.example/clock.png").await;

        // Nobody moves it: watch it through the API until the job has.
        let deadline = Instant::now() + Duration::from_secs(20);
        let c = loop {
            let res = app.get_challenge(Some(&manager), &cid).await;
            assert_eq!(res.status(), StatusCode::OK);
            let c: Value = res.json().await.unwrap();
            if c["status"] != "open" {
                break c;
            }
            assert!(Instant::now() < deadline, "still open 20 s after it was created: {c}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(c["status"], "judging", "{c}");
        let closes_at = time(&c["closes_at"]);
        assert!(time(&c["updated_at"]) >= closes_at, "moved before its close: {c}");

        // The move is the clock's: its one event says so.
        let id: uuid::Uuid = cid.parse().unwrap();
        let events: Vec<Event> = kartel_domain::db::fetch_all(
            &app.db,
            "SELECT type AS kind, CAST(payload AS TEXT) AS payload FROM events \
             WHERE subject_id = $1 AND type = 'challenge.judging'",
            [id.into()],
        )
        .await
        .unwrap();
        let moves: Vec<(String, Value)> = events
            .into_iter()
            .map(|e| (e.kind, serde_json::from_str(&e.payload).unwrap()))
            .collect();
        assert_eq!(
            moves,
            vec![("challenge.judging".to_owned(), json!({"from": "open", "to": "judging", "by": "clock"}))]
        );

        // Judging: no more work comes in, and the entry can be reviewed.
        assert_problem(app.submit(&talent, &cid, &submission_spec("https://x.example/late.png")).await, 409, "submission_window_closed").await;
        let res = app.review(&manager, &sid, &review_spec(8.0, 8.0, "accepted", 2)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
}
