//! The challenges API, one method per endpoint: challenges, transitions,
//! leaderboards, submissions and reviews; and `challenge_spec`, a valid
//! challenge body open now, to adjust per test (`panel_spec` with several
//! reviewers per submission).

use chrono::{Duration, Utc};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::{TestApp, User, with_query};

/// A valid challenge, open from an hour ago to an hour from now, for tiers
/// 0–5, reward 10, one criterion pair and pass mark 50.
pub fn challenge_spec() -> Value {
    let now = Utc::now();
    json!({
        "title": "Neon product shots",
        "brief": "Three product shots of the sneaker in a neon-lit street.",
        "track": null,
        "min_tier": 0,
        "max_tier": 5,
        "opens_at": now - Duration::hours(1),
        "closes_at": now + Duration::hours(1),
        "review_due_at": now + Duration::hours(2),
        "max_submissions_per_talent": 2,
        "reward": 10,
        "prizes": [],
        "reference_assets": ["https://cdn.example.com/ref/1.png"],
        "rubric": {
            "criteria": [
                {"key": "composition", "name": "Composition", "weight": 3, "max_score": 10},
                {"key": "lighting", "name": "Lighting", "weight": 1, "max_score": 10}
            ],
            "pass_mark": 50
        },
        "certifies_track": null,
        "appeal_window_hours": 0
    })
}

/// `challenge_spec` taking appeals for `hours` after each decision (the
/// plain spec takes none, so that tests close right after reviewing).
pub fn appeal_spec(hours: i64) -> Value {
    let mut spec = challenge_spec();
    spec["appeal_window_hours"] = json!(hours);
    spec
}

/// `challenge_spec` with a review panel: `reviewers` per submission and,
/// if given, the disagreement threshold (points of the weighted total).
pub fn panel_spec(reviewers: i64, threshold: Option<f64>) -> Value {
    let mut spec = challenge_spec();
    spec["reviewers_per_submission"] = json!(reviewers);
    if let Some(t) = threshold {
        spec["disagreement_threshold"] = json!(t);
    }
    spec
}

/// A valid submission with one asset.
pub fn submission_spec(asset: &str) -> Value {
    json!({ "assets": [asset], "prompt": "sneaker on a wet neon street", "workflow": {"seed": 7}, "batch_size": 4 })
}

/// A review: `composition` and `lighting` scores, the decision, outputs meeting the standard.
pub fn review_spec(composition: f64, lighting: f64, decision: &str, outputs: i64) -> Value {
    json!({
        "scores": {"composition": composition, "lighting": lighting},
        "decision": decision,
        "outputs_meeting_standard": outputs,
        "feedback": "thanks"
    })
}

impl TestApp {
    pub async fn create_challenge(&self, by: &User, body: &Value) -> Response {
        self.post("/api/v1/challenges", Some(&by.token), body).await
    }

    pub async fn get_challenge(&self, who: Option<&User>, id: &str) -> Response {
        self.get(
            &format!("/api/v1/challenges/{id}"),
            who.map(|u| u.token.as_str()),
        )
        .await
    }

    pub async fn list_challenges(&self, who: Option<&User>, query: &str) -> Response {
        self.get(
            &with_query("/api/v1/challenges", query),
            who.map(|u| u.token.as_str()),
        )
        .await
    }

    pub async fn update_challenge(&self, by: &User, id: &str, changes: &Value) -> Response {
        self.patch(
            &format!("/api/v1/challenges/{id}"),
            Some(&by.token),
            changes,
        )
        .await
    }

    pub async fn transition(&self, by: &User, id: &str, to: &str) -> Response {
        self.post(
            &format!("/api/v1/challenges/{id}/transitions"),
            Some(&by.token),
            &json!({ "to": to, "reason": "test" }),
        )
        .await
    }

    pub async fn leaderboard(&self, who: Option<&User>, id: &str, query: &str) -> Response {
        self.get(
            &with_query(&format!("/api/v1/challenges/{id}/leaderboard"), query),
            who.map(|u| u.token.as_str()),
        )
        .await
    }

    pub async fn submit(&self, who: &User, challenge: &str, body: &Value) -> Response {
        self.post(
            &format!("/api/v1/challenges/{challenge}/submissions"),
            Some(&who.token),
            body,
        )
        .await
    }

    pub async fn challenge_submissions(&self, who: Option<&User>, challenge: &str) -> Response {
        self.get(
            &format!("/api/v1/challenges/{challenge}/submissions"),
            who.map(|u| u.token.as_str()),
        )
        .await
    }

    pub async fn get_submission(&self, who: Option<&User>, id: &str) -> Response {
        self.get(
            &format!("/api/v1/submissions/{id}"),
            who.map(|u| u.token.as_str()),
        )
        .await
    }

    pub async fn update_submission(&self, who: &User, id: &str, changes: &Value) -> Response {
        self.patch(
            &format!("/api/v1/submissions/{id}"),
            Some(&who.token),
            changes,
        )
        .await
    }

    pub async fn withdraw_submission(&self, who: &User, id: &str) -> Response {
        self.delete(&format!("/api/v1/submissions/{id}"), Some(&who.token))
            .await
    }

    pub async fn my_submissions(&self, who: &User) -> Response {
        self.get("/api/v1/me/submissions", Some(&who.token)).await
    }

    pub async fn review(&self, by: &User, submission: &str, body: &Value) -> Response {
        self.post(
            &format!("/api/v1/submissions/{submission}/reviews"),
            Some(&by.token),
            body,
        )
        .await
    }

    pub async fn review_with_key(
        &self,
        by: &User,
        submission: &str,
        key: &str,
        body: &Value,
    ) -> Response {
        self.post_idem(
            &format!("/api/v1/submissions/{submission}/reviews"),
            Some(&by.token),
            key,
            body,
        )
        .await
    }

    pub async fn reviews(&self, who: &User, submission: &str) -> Response {
        self.get(
            &format!("/api/v1/submissions/{submission}/reviews"),
            Some(&who.token),
        )
        .await
    }

    /// Creates `spec` as `by` and opens it; returns its id.
    pub async fn open_challenge(&self, by: &User, spec: &Value) -> String {
        let res = self.create_challenge(by, spec).await;
        assert_eq!(res.status(), StatusCode::CREATED, "create challenge");
        let c: Value = res.json().await.expect("json");
        let id = c["id"].as_str().expect("id").to_owned();
        let res = self.transition(by, &id, "open").await;
        assert_eq!(res.status(), StatusCode::OK, "open challenge");
        id
    }

    /// Submits and returns the new submission's id.
    pub async fn new_submission(&self, who: &User, challenge: &str, asset: &str) -> String {
        let res = self.submit(who, challenge, &submission_spec(asset)).await;
        assert_eq!(res.status(), StatusCode::CREATED, "submit");
        let s: Value = res.json().await.expect("json");
        s["id"].as_str().expect("id").to_owned()
    }
}
