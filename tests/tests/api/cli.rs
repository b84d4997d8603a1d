//! `kartel admin create`, the way a newcomer makes the first admin.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{Backend, TestApp, assert_problem};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_admin_is_created_from_the_command_line_and_can_sign_in() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let password = "a long admin password\n";
    let account = kartel_api::cli::create_admin(
        &app.settings,
        "Boss@Example.com",
        None,
        "The Boss",
        password.as_bytes(),
    )
    .await
    .expect("created");
    assert_eq!(account.email, "boss@example.com");
    assert!(account.handle.starts_with("admin_"));

    let res = app.login("boss@example.com", "a long admin password").await;
    assert_eq!(res.status(), StatusCode::OK);
    let t: Value = res.json().await.unwrap();
    let token = t["access_token"].as_str().unwrap();
    let me: Value = app
        .get("/api/v1/me", Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["roles"], serde_json::json!(["talent", "admin"]));
    assert_eq!(
        app.get("/api/v1/admin/audit-log", Some(token))
            .await
            .status(),
        StatusCode::OK
    );
    // The creation is in the audit log, by the command line.
    let log: Value = app
        .get("/api/v1/admin/audit-log?action=user.create", Some(token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(log["items"][0]["actor_kind"], "cli");

    let err = kartel_api::cli::create_admin(
        &app.settings,
        "boss@example.com",
        None,
        "Again",
        password.as_bytes(),
    )
    .await
    .expect_err("duplicate");
    assert!(err.to_string().contains("already exists"), "{err}");
    let err = kartel_api::cli::create_admin(
        &app.settings,
        "weak@example.com",
        None,
        "Weak",
        "short\n".as_bytes(),
    )
    .await
    .expect_err("weak password");
    assert!(err.to_string().contains("password"), "{err}");
    assert_problem(
        app.login("weak@example.com", "short").await,
        401,
        "invalid_credentials",
    )
    .await;
    app.stop().await;
}
