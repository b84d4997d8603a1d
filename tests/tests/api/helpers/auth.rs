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

    /// Registers and signs in a new talent whose address is verified.
    pub async fn new_talent(&self) -> User {
        let tag = Uuid::new_v4().simple().to_string();
        let email = format!("t{}@example.com", &tag[..12]);
        let res = self.register(&email, &format!("t{}", &tag[..12])).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json");
        let id = body["id"].as_str().expect("id").parse().expect("uuid");
        let token = self.mailed_token(&email, "ve_").await;
        let res = self.verify_email(&token).await;
        assert_eq!(res.status(), StatusCode::OK, "verify {email}");
        self.sign_in(id, &email).await
    }

    /// Registers and signs in a new talent who has not verified their address.
    pub async fn new_unverified_talent(&self) -> User {
        let tag = Uuid::new_v4().simple().to_string();
        let email = format!("u{}@example.com", &tag[..12]);
        let res = self.register(&email, &format!("u{}", &tag[..12])).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.expect("json");
        let id = body["id"].as_str().expect("id").parse().expect("uuid");
        self.sign_in(id, &email).await
    }

    /// `POST /api/v1/auth/verify-email`.
    pub async fn verify_email(&self, token: &str) -> Response {
        self.post(
            "/api/v1/auth/verify-email",
            None,
            &json!({ "token": token }),
        )
        .await
    }

    /// `POST /api/v1/auth/verify-email/resend`.
    pub async fn resend_verification(&self, who: &User) -> Response {
        self.post(
            "/api/v1/auth/verify-email/resend",
            Some(&who.token),
            &json!(null),
        )
        .await
    }

    /// `POST /api/v1/auth/password-reset`.
    pub async fn request_password_reset(&self, email: &str) -> Response {
        self.post(
            "/api/v1/auth/password-reset",
            None,
            &json!({ "email": email }),
        )
        .await
    }

    /// `POST /api/v1/auth/password-reset/confirm`.
    pub async fn confirm_password_reset(&self, token: &str, new_password: &str) -> Response {
        self.post(
            "/api/v1/auth/password-reset/confirm",
            None,
            &json!({ "token": token, "new_password": new_password }),
        )
        .await
    }

    /// `POST /api/v1/me/email`.
    pub async fn change_email(&self, who: &User, new_email: &str, password: &str) -> Response {
        self.post(
            "/api/v1/me/email",
            Some(&who.token),
            &json!({ "new_email": new_email, "password": password }),
        )
        .await
    }

    /// `GET /api/v1/me/export`.
    pub async fn export_me(&self, who: &User) -> Response {
        self.get("/api/v1/me/export", Some(&who.token)).await
    }

    /// `DELETE /api/v1/me`.
    pub async fn erase_me(&self, who: &User, password: &str) -> Response {
        self.client
            .delete(format!("{}/api/v1/me", self.address))
            .bearer_auth(&who.token)
            .json(&json!({ "password": password }))
            .send()
            .await
            .expect("request")
    }

    /// `DELETE /api/v1/admin/users/{id}`.
    pub async fn erase_user(&self, admin: &User, id: Uuid) -> Response {
        self.client
            .delete(format!("{}/api/v1/admin/users/{id}", self.address))
            .bearer_auth(&admin.token)
            .send()
            .await
            .expect("request")
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
