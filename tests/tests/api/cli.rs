//! `kartel admin create`, the way a newcomer makes the first admin, and the
//! printing of the documents (`kartel openapi | head`).

use std::io::{self, Read, Write};

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

/// `kartel openapi | head`: the reader takes the first bytes and closes the
/// pipe while the document is still being written. The printing stops
/// quietly, with success, rather than failing (or panicking, as `println!`
/// did).
#[test]
fn a_document_printed_into_a_pipe_closed_early_ends_quietly() {
    let document = kartel_api::startup::openapi_doc();
    // Larger than a pipe's buffer (64 KiB on Linux), so the writer is still
    // writing when the reader goes.
    assert!(serde_json::to_string(&document).unwrap().len() > 128 * 1024);
    let (mut reader, writer) = io::pipe().unwrap();
    let head = std::thread::spawn(move || {
        let mut first = [0u8; 64];
        reader.read_exact(&mut first).unwrap();
        // `reader` is dropped here: the pipe has no reader any more.
        first
    });
    let written = kartel_api::cli::write_document(writer, &document);
    let first = head.join().unwrap();
    assert!(written.is_ok(), "{written:?}");
    assert!(
        first.starts_with(b"{\n  \""),
        "{:?}",
        String::from_utf8_lossy(&first)
    );
}

/// The whole document and a line break when the reader reads it all; any
/// error other than a closed pipe is still an error.
#[test]
fn a_document_is_printed_whole_and_other_write_errors_are_reported() {
    let document = serde_json::json!({"kinds": ["a", "b"]});
    let mut out = Vec::new();
    kartel_api::cli::write_document(&mut out, &document).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\n  \"kinds\": [\n    \"a\",\n    \"b\"\n  ]\n}\n"
    );

    struct Failing(io::ErrorKind);
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(self.0.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    assert!(kartel_api::cli::write_document(Failing(io::ErrorKind::BrokenPipe), &document).is_ok());
    let err = kartel_api::cli::write_document(Failing(io::ErrorKind::StorageFull), &document)
        .expect_err("a full disk is an error");
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
}
