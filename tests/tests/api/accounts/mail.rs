//! Mail over SMTP (an SMTP server in the test process): handed off once,
//! and an outage delays mail without losing or doubling any.

use std::time::Duration;

use reqwest::StatusCode;

use crate::helpers::{Backend, Loop, TestApp};

#[derive(sea_orm::FromQueryResult)]
struct State {
    attempts: i32,
    sent: bool,
    last_error: Option<String>,
}

async fn outbox_state(app: &TestApp, to: &str) -> State {
    app.query_sql(
        "SELECT attempts, sent_at IS NOT NULL AS sent, last_error FROM mail_outbox WHERE to_address = $1",
        [to.into()],
    )
    .await
    .expect("a message to {to}")
}

async fn register(app: &TestApp, tag: &str) -> String {
    let email = format!(
        "{tag}-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let handle = format!("{tag}_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    assert_eq!(
        app.register(&email, &handle).await.status(),
        StatusCode::CREATED
    );
    email
}

async fn sent_once_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sink = app.mail.clone();
    let email = register(&app, "mailed").await;
    let got = sink.wait_for(&email, 1).await;
    let token = app.mailed_token(&email, "ve_").await;
    let id = got[0].message_id().expect("a Message-ID").to_owned();
    assert!(id.ends_with("@kartel>"), "{id}");
    assert!(
        got[0].data.contains("Subject: Confirm your email address"),
        "{}",
        got[0].data
    );
    // Handed off once, and never again: the mailer has looked at the outbox
    // twice more since.
    app.after_rounds(Loop::Mailer, 2).await;
    assert_eq!(sink.to(&email).len(), 1);
    let state = outbox_state(&app, &email).await;
    assert!(state.sent);
    assert_eq!(state.attempts, 1);
    // Once sent, no live token sits at rest: the outbox keeps the mail with
    // its link blanked, and no table holds the token (only its digest).
    let bodies = app.outbox_bodies(&email).await;
    assert_eq!(bodies.len(), 1);
    assert!(
        bodies[0].contains("token=[removed once sent]"),
        "{}",
        bodies[0]
    );
    assert_eq!(app.tables_mentioning(&token).await, Vec::<String>::new());
    // The token still works.
    assert_eq!(app.verify_email(&token).await.status(), StatusCode::OK);
    app.stop().await;
}

async fn outage_case(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let sink = app.mail.clone();
    sink.set_down(true);
    let first = register(&app, "first").await;
    let second = register(&app, "second").await;
    // The server refuses for a while: the mail waits, and is tried again.
    for _ in 0..250 {
        if outbox_state(&app, &first).await.attempts >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let state = outbox_state(&app, &first).await;
    assert!(state.attempts >= 2, "retried: {}", state.attempts);
    assert!(!state.sent);
    assert!(state.last_error.is_some());
    assert!(sink.received().is_empty());

    sink.set_down(false);
    sink.wait_for(&first, 1).await;
    sink.wait_for(&second, 1).await;
    app.after_rounds(Loop::Mailer, 2).await;
    assert_eq!(sink.to(&first).len(), 1, "once");
    assert_eq!(sink.to(&second).len(), 1, "once");
    assert!(outbox_state(&app, &second).await.sent);
    app.stop().await;
}

async fn restart_case(backend: Backend) {
    // Mail whose retry is far off waits for it, and goes out once due.
    let app = TestApp::spawn_with(backend, |s| {
        // Tried once, then not again for a long while.
        s.mail_retry_seconds = 3600;
    })
    .await;
    let sink = app.mail.clone();
    sink.set_down(true);
    let email = register(&app, "later").await;
    for _ in 0..250 {
        if outbox_state(&app, &email).await.attempts >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!outbox_state(&app, &email).await.sent);
    // An operator makes it due now (as time would).
    app.exec_sql(
        "UPDATE mail_outbox SET next_attempt_at = $1",
        [(chrono::Utc::now() - chrono::Duration::seconds(1)).into()],
    )
    .await;
    sink.set_down(false);
    sink.wait_for(&email, 1).await;
    app.after_rounds(Loop::Mailer, 2).await;
    assert_eq!(sink.to(&email).len(), 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_is_handed_to_the_smtp_server_once_sqlite() {
    sent_once_case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set TEST_DATABASE_URL (and TEST_REDIS_URL) to run the PostgreSQL variant"
)]
async fn mail_is_handed_to_the_smtp_server_once_postgres() {
    sent_once_case(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_smtp_outage_delays_mail_and_loses_or_doubles_none_sqlite() {
    outage_case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set TEST_DATABASE_URL (and TEST_REDIS_URL) to run the PostgreSQL variant"
)]
async fn an_smtp_outage_delays_mail_and_loses_or_doubles_none_postgres() {
    outage_case(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_waiting_for_a_retry_goes_out_when_due_sqlite() {
    restart_case(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set TEST_DATABASE_URL (and TEST_REDIS_URL) to run the PostgreSQL variant"
)]
async fn mail_waiting_for_a_retry_goes_out_when_due_postgres() {
    restart_case(Backend::Postgres).await;
}
