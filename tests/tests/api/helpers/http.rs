//! The plain HTTP verbs of `TestApp`, for requests no endpoint method covers
//! (odd bodies, missing headers, raw tokens), and the ways a test reads answers.

use reqwest::Response;
use serde_json::{Value, json};
use uuid::Uuid;

use super::TestApp;

/// `path?query`, or `path` when there is no query.
pub(super) fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// A new `Idempotency-Key`.
pub fn new_key() -> String {
    Uuid::new_v4().to_string()
}

impl TestApp {
    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut r = self.client.get(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut r = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    /// A POST with an `Idempotency-Key`.
    pub async fn post_idem(
        &self,
        path: &str,
        token: Option<&str>,
        key: &str,
        body: &Value,
    ) -> Response {
        let mut r = self
            .client
            .post(self.url(path))
            .header("Idempotency-Key", key)
            .json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    /// A POST with an API key and an `Idempotency-Key`.
    pub async fn post_service(
        &self,
        path: &str,
        api_key: &str,
        key: &str,
        body: &Value,
    ) -> Response {
        self.client
            .post(self.url(path))
            .header("X-Api-Key", api_key)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut r = self.client.put(self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut r = self.client.patch(self.url(path)).json(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        let mut r = self.client.delete(self.url(path));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.expect("request")
    }
}

/// Reads a problem+json body and checks its status and code.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        ct.starts_with("application/problem+json"),
        "content-type was {ct}"
    );
    let body: Value = res.json().await.expect("problem json");
    assert_eq!(body["code"], json!(code), "problem: {body}");
    assert_eq!(body["status"], json!(status));
    body
}

/// An answer as the client saw it: status, content type and raw body, to
/// compare a retry's answer with the first one byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub text: String,
}

impl Answer {
    pub async fn of(res: Response) -> Self {
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Self {
            status,
            content_type,
            text: res.text().await.expect("body"),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).expect("json")
    }

    /// Asserts a problem+json answer with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "answer: {self:?}");
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "answer: {self:?}"
        );
        assert_eq!(self.json()["code"], json!(code), "answer: {self:?}");
    }
}
