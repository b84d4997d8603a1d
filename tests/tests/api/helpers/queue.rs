//! The review queue, one method per endpoint: claim, extend, release, and
//! the queue's depth, and the review figures.

use reqwest::Response;
use serde_json::Value;

use super::{TestApp, User, with_query};

impl TestApp {
    pub async fn claim_review(&self, by: &User, body: &Value) -> Response {
        self.post("/api/v1/review-queue/claim", Some(&by.token), body)
            .await
    }

    pub async fn extend_claim(&self, by: &User, claim: &str) -> Response {
        self.post(
            &format!("/api/v1/review-queue/claims/{claim}/extend"),
            Some(&by.token),
            &Value::Null,
        )
        .await
    }

    pub async fn release_claim(&self, by: &User, claim: &str) -> Response {
        self.post(
            &format!("/api/v1/review-queue/claims/{claim}/release"),
            Some(&by.token),
            &Value::Null,
        )
        .await
    }

    pub async fn review_queue(&self, by: &User, query: &str) -> Response {
        self.get(&with_query("/api/v1/review-queue", query), Some(&by.token))
            .await
    }

    /// The review figures (`GET /reviews/metrics`), as `by` or anonymously.
    pub async fn review_metrics(&self, by: Option<&User>, query: &str) -> Response {
        self.get(
            &with_query("/api/v1/reviews/metrics", query),
            by.map(|u| u.token.as_str()),
        )
        .await
    }
}
