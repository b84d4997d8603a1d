//! Appeals: filing, listing and answering them.

use reqwest::Response;
use serde_json::Value;

use super::{TestApp, User};

impl TestApp {
    pub async fn file_appeal(&self, who: &User, submission: &str, body: &Value) -> Response {
        self.post(
            &format!("/api/v1/submissions/{submission}/appeals"),
            Some(&who.token),
            body,
        )
        .await
    }

    pub async fn file_appeal_with_key(
        &self,
        who: &User,
        submission: &str,
        key: &str,
        body: &Value,
    ) -> Response {
        self.post_idem(
            &format!("/api/v1/submissions/{submission}/appeals"),
            Some(&who.token),
            key,
            body,
        )
        .await
    }

    pub async fn appeals(&self, who: &User, submission: &str) -> Response {
        self.get(
            &format!("/api/v1/submissions/{submission}/appeals"),
            Some(&who.token),
        )
        .await
    }

    pub async fn answer_appeal(&self, by: &User, appeal: &str, body: &Value) -> Response {
        self.post(
            &format!("/api/v1/appeals/{appeal}/answer"),
            Some(&by.token),
            body,
        )
        .await
    }

    pub async fn answer_appeal_with_key(
        &self,
        by: &User,
        appeal: &str,
        key: &str,
        body: &Value,
    ) -> Response {
        self.post_idem(
            &format!("/api/v1/appeals/{appeal}/answer"),
            Some(&by.token),
            key,
            body,
        )
        .await
    }
}
