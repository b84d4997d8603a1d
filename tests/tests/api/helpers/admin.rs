//! The admin area: users, API keys and the audit log, one method per
//! endpoint (the ledger check sits with the credits), and the staff's talent
//! search.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{TestApp, User, with_query};

impl TestApp {
    /// `PATCH /api/v1/admin/users/{id}`: roles or status.
    pub async fn update_user(&self, by: &User, user: Uuid, changes: &Value) -> Response {
        self.patch(
            &format!("/api/v1/admin/users/{user}"),
            Some(&by.token),
            changes,
        )
        .await
    }

    /// Suspends (`suspended`) or reactivates (`active`) `user` as `admin`.
    pub async fn set_status(&self, admin: &User, user: Uuid, status: &str) {
        let res = self
            .update_user(admin, user, &json!({ "status": status }))
            .await;
        assert_eq!(res.status(), StatusCode::OK, "set status {status}");
    }

    /// `POST /api/v1/admin/api-keys`.
    pub async fn create_api_key(&self, by: &User, name: &str, scopes: &[&str]) -> Response {
        self.post(
            "/api/v1/admin/api-keys",
            Some(&by.token),
            &json!({ "name": name, "scopes": scopes }),
        )
        .await
    }

    /// `GET /api/v1/admin/api-keys`.
    pub async fn list_api_keys(&self, by: &User) -> Response {
        self.get("/api/v1/admin/api-keys", Some(&by.token)).await
    }

    /// `GET /api/v1/admin/api-keys/{id}`.
    pub async fn get_api_key(&self, by: &User, id: &str) -> Response {
        self.get(&format!("/api/v1/admin/api-keys/{id}"), Some(&by.token))
            .await
    }

    /// `DELETE /api/v1/admin/api-keys/{id}`.
    pub async fn revoke_api_key(&self, by: &User, id: &str) -> Response {
        self.delete(&format!("/api/v1/admin/api-keys/{id}"), Some(&by.token))
            .await
    }

    /// `GET /api/v1/admin/audit-log?{query}`.
    pub async fn audit_log(&self, by: &User, query: &str) -> Response {
        self.get(
            &with_query("/api/v1/admin/audit-log", query),
            Some(&by.token),
        )
        .await
    }

    /// `GET /api/v1/talents?{query}`: the staff's search.
    pub async fn search_talents(&self, by: &User, query: &str) -> Response {
        self.get(&with_query("/api/v1/talents", query), Some(&by.token))
            .await
    }

    /// An API key with `scopes`, made by a new admin; returns its secret.
    pub async fn new_api_key(&self, scopes: &[&str]) -> String {
        let admin = self.new_admin().await;
        let res = self.create_api_key(&admin, "svc", scopes).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json");
        body["secret"].as_str().expect("secret").to_owned()
    }
}
