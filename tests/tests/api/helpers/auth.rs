//! Accounts and sessions: `/auth/*` and `/me`, one method per endpoint, and
//! the new talents, managers and admins most tests start from.
//!
//! `me` takes a raw token, because the auth tests forge and replay tokens.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{PASSWORD, TestApp, User};

impl TestApp {
    /// `POST /api/v1/auth/register` with the test password.
    pub async fn register(&self, email: &str, handle: &str) -> Response {
        self.post(
            "/api/v1/auth/register",
            None,
            &json!({ "email": email, "password": PASSWORD, "handle": handle, "display_name": "Test Person" }),
        )
        .await
    }

    /// `POST /api/v1/auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post(
            "/api/v1/auth/login",
            None,
            &json!({ "email": email, "password": password }),
        )
        .await
    }

    /// `POST /api/v1/auth/refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post(
            "/api/v1/auth/refresh",
            None,
            &json!({ "refresh_token": refresh_token }),
        )
        .await
    }

    /// `POST /api/v1/auth/logout`.
    pub async fn logout(&self, who: &User) -> Response {
        self.post("/api/v1/auth/logout", Some(&who.token), &json!({}))
            .await
    }

    /// `GET /api/v1/me` with whatever token (or none) the test has.
    pub async fn me(&self, token: Option<&str>) -> Response {
        self.get("/api/v1/me", token).await
    }

    /// `PATCH /api/v1/me`.
    pub async fn update_me(&self, who: &User, changes: &Value) -> Response {
        self.patch("/api/v1/me", Some(&who.token), changes).await
    }

    /// `POST /api/v1/me/password`.
    pub async fn change_password(&self, who: &User, current: &str, new: &str) -> Response {
        self.post(
            "/api/v1/me/password",
            Some(&who.token),
            &json!({ "current_password": current, "new_password": new }),
        )
        .await
    }

    pub async fn sign_in(&self, id: Uuid, email: &str) -> User {
        let res = self.login(email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {email}");
        let t: Value = res.json().await.expect("json");
        User {
            id,
            email: email.to_owned(),
            token: t["access_token"].as_str().expect("access_token").to_owned(),
            refresh: t["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
        }
    }

    /// Registers and signs in a new talent.
    pub async fn new_talent(&self) -> User {
        let tag = Uuid::new_v4().simple().to_string();
        let email = format!("t{}@example.com", &tag[..12]);
        let res = self.register(&email, &format!("t{}", &tag[..12])).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json");
        let id = body["id"].as_str().expect("id").parse().expect("uuid");
        self.sign_in(id, &email).await
    }

    /// Creates an admin the way `kartel admin create` does, and signs in.
    pub async fn new_admin(&self) -> User {
        let tag = Uuid::new_v4().simple().to_string();
        let email = format!("a{}@example.com", &tag[..12]);
        let acct = kartel_domain::accounts::create_admin(
            &self.db,
            &email,
            PASSWORD,
            &format!("a{}", &tag[..12]),
            "Admin",
        )
        .await
        .expect("create admin");
        self.sign_in(acct.id, &email).await
    }

    /// A new person with `roles`, given by a new admin.
    pub async fn new_with_roles(&self, roles: &[&str]) -> User {
        let admin = self.new_admin().await;
        let user = self.new_talent().await;
        let res = self
            .update_user(&admin, user.id, &json!({ "roles": roles }))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        user
    }

    pub async fn new_manager(&self) -> User {
        self.new_with_roles(&["community_manager"]).await
    }
}
