//! Webhooks and events out: one method per endpoint, the settings a
//! webhook test runs with, and waiting for what a receiver or the app
//! reports.

use std::time::{Duration, Instant};

use kartel_api::configuration::Settings;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::http::with_query;
use super::{TestApp, User};

/// Deliveries to loopback over plain http, looked for often and retried
/// after about a second.
pub fn webhook_settings(s: &mut Settings) {
    s.webhook_allow_http = true;
    s.webhook_allow_private = true;
    s.webhook_poll_millis = 50;
    s.webhook_retry_schedule = "1,1,1,1,1".into();
}

/// Waits (at most 30 s) until `done` holds, failing with `what`.
pub async fn eventually<F, Fut>(what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl TestApp {
    /// `POST /api/v1/webhooks/endpoints`.
    pub async fn create_endpoint(&self, by: &User, body: &Value) -> Response {
        self.post("/api/v1/webhooks/endpoints", Some(&by.token), body)
            .await
    }

    /// A new endpoint to `url` for `types` (all when empty): its id and secret.
    pub async fn new_endpoint(&self, by: &User, url: &str, types: &[&str]) -> (String, String) {
        let res = self
            .create_endpoint(by, &json!({ "url": url, "event_types": types }))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json");
        (
            body["id"].as_str().expect("id").to_owned(),
            body["secret"].as_str().expect("secret").to_owned(),
        )
    }

    /// `GET /api/v1/webhooks/endpoints?{query}`.
    pub async fn list_endpoints(&self, by: &User, query: &str) -> Response {
        self.get(
            &with_query("/api/v1/webhooks/endpoints", query),
            Some(&by.token),
        )
        .await
    }

    /// `GET /api/v1/webhooks/endpoints/{id}`.
    pub async fn get_endpoint(&self, by: &User, id: &str) -> Response {
        self.get(&format!("/api/v1/webhooks/endpoints/{id}"), Some(&by.token))
            .await
    }

    /// The endpoint as it is now (asserting 200).
    pub async fn endpoint(&self, by: &User, id: &str) -> Value {
        let res = self.get_endpoint(by, id).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }

    /// `PATCH /api/v1/webhooks/endpoints/{id}`.
    pub async fn update_endpoint(&self, by: &User, id: &str, changes: &Value) -> Response {
        self.patch(
            &format!("/api/v1/webhooks/endpoints/{id}"),
            Some(&by.token),
            changes,
        )
        .await
    }

    /// `DELETE /api/v1/webhooks/endpoints/{id}`.
    pub async fn delete_endpoint(&self, by: &User, id: &str) -> Response {
        self.delete(&format!("/api/v1/webhooks/endpoints/{id}"), Some(&by.token))
            .await
    }

    /// `POST /api/v1/webhooks/endpoints/{id}/rotate-secret`.
    pub async fn rotate_secret(&self, by: &User, id: &str) -> Response {
        self.post(
            &format!("/api/v1/webhooks/endpoints/{id}/rotate-secret"),
            Some(&by.token),
            &json!({}),
        )
        .await
    }

    /// `POST /api/v1/webhooks/endpoints/{id}/test`.
    pub async fn test_endpoint(&self, by: &User, id: &str) -> Response {
        self.post(
            &format!("/api/v1/webhooks/endpoints/{id}/test"),
            Some(&by.token),
            &json!({}),
        )
        .await
    }

    /// `GET /api/v1/webhooks/endpoints/{id}/attempts?{query}`.
    pub async fn endpoint_attempts(&self, by: &User, id: &str, query: &str) -> Response {
        self.get(
            &with_query(&format!("/api/v1/webhooks/endpoints/{id}/attempts"), query),
            Some(&by.token),
        )
        .await
    }

    /// The newest attempts at an endpoint (one page of 100).
    pub async fn attempts(&self, by: &User, id: &str) -> Vec<Value> {
        let res = self.endpoint_attempts(by, id, "limit=100").await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.expect("json");
        body["items"].as_array().expect("items").clone()
    }

    /// `POST /api/v1/webhooks/endpoints/{id}/recover`.
    pub async fn recover_endpoint(&self, by: &User, id: &str, since: &str) -> Response {
        self.post(
            &format!("/api/v1/webhooks/endpoints/{id}/recover"),
            Some(&by.token),
            &json!({ "since": since }),
        )
        .await
    }

    /// `POST /api/v1/webhooks/messages/{id}/resend`.
    pub async fn resend_message(&self, by: &User, id: &str) -> Response {
        self.post(
            &format!("/api/v1/webhooks/messages/{id}/resend"),
            Some(&by.token),
            &json!({}),
        )
        .await
    }

    /// `GET /api/v1/events?{query}` as a person.
    pub async fn list_events(&self, by: &User, query: &str) -> Response {
        self.get(&with_query("/api/v1/events", query), Some(&by.token))
            .await
    }

    /// `GET /api/v1/events?{query}` with an API key.
    pub async fn list_events_with_key(&self, key: &str, query: &str) -> Response {
        self.client
            .get(self.url(&with_query("/api/v1/events", query)))
            .header("X-Api-Key", key)
            .send()
            .await
            .expect("request")
    }

    /// `GET /api/v1/event-types`, anonymously.
    pub async fn event_types(&self) -> Response {
        self.get("/api/v1/event-types", None).await
    }

    /// Makes a `profile.updated` event about `who`.
    pub async fn touch_profile(&self, who: &User, n: usize) {
        let res = self
            .update_me(who, &json!({ "display_name": format!("Name {n}") }))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }

    /// Waits until every event stored so far has its position and the
    /// dispatcher has passed it.
    pub async fn dispatched(&self) {
        #[derive(sea_orm::FromQueryResult)]
        struct Behind {
            n: i64,
        }
        eventually("the dispatcher passes every event", || async {
            let b: Option<Behind> = kartel_domain::db::fetch_one(
                &self.db,
                "SELECT COUNT(*) AS n FROM events WHERE position IS NULL \
                 OR position > (SELECT position FROM webhook_dispatch WHERE id = 1)",
                [],
            )
            .await
            .expect("dispatch cursor");
            b.is_some_and(|b| b.n == 0)
        })
        .await;
    }

    /// The ids of the events stored so far, oldest first.
    pub async fn event_ids(&self) -> Vec<String> {
        #[derive(sea_orm::FromQueryResult)]
        struct Id {
            id: uuid::Uuid,
        }
        let rows: Vec<Id> = kartel_domain::db::fetch_all(
            &self.db,
            "SELECT id FROM events ORDER BY created_at, id",
            [],
        )
        .await
        .expect("events");
        rows.into_iter().map(|r| r.id.to_string()).collect()
    }
}
