//! Deliveries by the Standard Webhooks spec, checked by a receiver on
//! loopback that verifies every signature with the `standardwebhooks`
//! crate: every event arrives at least once and deduplicates by
//! `webhook-id`; a receiver that was down gets it later; a 410 disables;
//! a rotation signs with both secrets; an inward address is refused
//! without `KARTEL_WEBHOOK_ALLOW_PRIVATE`; `Retry-After` is honoured on 429
//! and 503; a failure streak disables; redirects are not followed.

use std::collections::BTreeSet;

use kartel_tests::receiver::{Plan, Receiver};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, Loop, TestApp, eventually, webhook_settings};

both_backends! {
    #[settings(webhook_settings)]
    async fn every_event_arrives_signed_and_thin_and_deduplicates_by_its_id(app: &TestApp) {
        let admin = app.new_admin().await;
        let rx = Receiver::start().await.unwrap();
        let (endpoint, secret) = app.new_endpoint(&admin, &rx.url("/hook"), &[]).await;
        rx.verify_with(&[&secret]);
        let before: BTreeSet<String> = app.event_ids().await.into_iter().collect();
        let talent = app.new_talent().await;
        for n in 0..4 {
            app.touch_profile(&talent, n).await;
        }
        app.set_status(&admin, talent.id, "suspended").await;
        app.set_status(&admin, talent.id, "active").await;
        let expected: BTreeSet<String> = app
            .event_ids()
            .await
            .into_iter()
            .filter(|id| !before.contains(id))
            .collect();
        assert!(expected.len() >= 6, "{expected:?}");
        eventually("every event arrives", || async {
            let got: BTreeSet<String> = rx.deliveries().into_iter().map(|d| d.id).collect();
            expected.is_subset(&got)
        })
        .await;

        // A resend arrives again under the same id: the receiver dedupes.
        let again = expected.iter().next().unwrap().clone();
        // Once its delivery is recorded (a delivery in a worker's hands is
        // not queued again).
        eventually("the first delivery is recorded", || async {
            app.attempts(&admin, &endpoint)
                .await
                .iter()
                .any(|a| a["message_id"] == json!(again) && a["succeeded"] == json!(true))
        })
        .await;
        let res = app.resend_message(&admin, &again).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        assert_eq!(res.json::<Value>().await.unwrap()["queued"], json!(1));
        eventually("the resend arrives", || async {
            rx.deliveries().iter().filter(|d| d.id == again).count() >= 2
        })
        .await;

        let got = rx.deliveries();
        let unique: BTreeSet<&str> = got.iter().map(|d| d.id.as_str()).collect();
        assert!(got.len() > unique.len(), "a duplicate arrived");
        for d in &got {
            assert_eq!(d.path, "/hook");
            assert_eq!(d.verified, vec![true], "signature of {}: {}", d.id, d.signature);
            assert!(d.signature.starts_with("v1,") && !d.signature.contains(' '));
            let ts: i64 = d.timestamp.parse().unwrap();
            assert!((chrono::Utc::now().timestamp() - ts).abs() < 120);
            let body = d.json();
            let keys: BTreeSet<&str> = body.as_object().unwrap().keys().map(|k| k.as_str()).collect();
            assert_eq!(keys, BTreeSet::from(["data", "timestamp", "type"]), "{body}");
            // Thin: no address, no name.
            assert!(!d.body.contains(&talent.email) && !d.body.contains("Name "), "{}", d.body);
        }
        let suspended = got.iter().find(|d| d.json()["type"] == "user.suspended").unwrap();
        assert_eq!(
            suspended.json()["data"],
            json!({ "user_id": talent.id, "from": "active", "to": "suspended" })
        );
        let profile = got.iter().find(|d| d.json()["type"] == "profile.updated").unwrap();
        assert_eq!(profile.json()["data"]["user_id"], json!(talent.id));
    }

    #[settings(webhook_settings)]
    async fn a_receiver_that_was_down_gets_the_event_later(app: &TestApp) {
        let admin = app.new_admin().await;
        let port = Receiver::free_port().await.unwrap();
        let url = format!("http://127.0.0.1:{port}/later");
        let (id, secret) = app.new_endpoint(&admin, &url, &["user.suspended"]).await;
        let talent = app.new_talent().await;
        app.set_status(&admin, talent.id, "suspended").await;
        eventually("an attempt failed", || async {
            app.attempts(&admin, &id).await.iter().any(|a| a["status_code"].is_null())
        })
        .await;
        let failed = app.attempts(&admin, &id).await;
        assert_eq!(failed[0]["succeeded"], json!(false));
        assert!(failed[0]["error"].as_str().unwrap().len() > 3, "{failed:?}");
        assert!(app.endpoint(&admin, &id).await["failing_since"].is_string());

        let rx = Receiver::start_on(port).await.unwrap();
        rx.verify_with(&[&secret]);
        eventually("the retry arrives", || async { rx.count() >= 1 }).await;
        let d = &rx.deliveries()[0];
        assert_eq!(d.verified, vec![true]);
        assert_eq!(d.json()["type"], "user.suspended");
        eventually("the success is recorded", || async {
            app.attempts(&admin, &id).await[0]["succeeded"] == json!(true)
        })
        .await;
        // A success ends the failure streak; the id was stable across retries.
        assert!(app.endpoint(&admin, &id).await["failing_since"].is_null());
        let ids: BTreeSet<String> = app
            .attempts(&admin, &id)
            .await
            .iter()
            .map(|a| a["message_id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids, BTreeSet::from([d.id.clone()]));
    }

    #[settings(webhook_settings)]
    async fn an_endpoint_that_answers_410_is_disabled_and_the_admins_are_told(app: &TestApp) {
        let admin = app.new_admin().await;
        let rx = Receiver::start().await.unwrap();
        rx.answer(Plan { status: 410, ..Plan::default() });
        let (id, _) = app.new_endpoint(&admin, &rx.url("/gone"), &[]).await;
        let talent = app.new_talent().await;
        app.touch_profile(&talent, 1).await;
        eventually("the endpoint is disabled", || async {
            app.endpoint(&admin, &id).await["disabled"] == json!(true)
        })
        .await;
        let e = app.endpoint(&admin, &id).await;
        assert_eq!(e["disabled_reason"], "gone");
        let mails = app.mail.wait_for(&admin.email, 1).await;
        assert!(mails.iter().any(|m| m.text().contains(&id)), "the admin is mailed");
        let arrived = rx.count();

        // Nothing more is sent to it, and a test message is refused.
        app.touch_profile(&talent, 2).await;
        app.dispatched().await;
        app.after_rounds(Loop::Webhooks, 3).await;
        assert_eq!(rx.count(), arrived);
        let res = app.test_endpoint(&admin, &id).await;
        crate::helpers::assert_problem(res, 409, "endpoint_disabled").await;
    }

    #[settings(webhook_settings)]
    async fn after_a_rotation_both_secrets_sign_for_a_day(app: &TestApp) {
        let admin = app.new_admin().await;
        let rx = Receiver::start().await.unwrap();
        let (id, old) = app.new_endpoint(&admin, &rx.url("/rot"), &[]).await;
        let res = app.test_endpoint(&admin, &id).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        eventually("the first test arrives", || async { rx.count() >= 1 }).await;

        let res = app.rotate_secret(&admin, &id).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        let new = body["secret"].as_str().unwrap().to_owned();
        assert_ne!(new, old);
        let until = chrono::DateTime::parse_from_rfc3339(body["previous_secret_until"].as_str().unwrap()).unwrap();
        let hours = (until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes();
        assert!((23 * 60..=24 * 60).contains(&hours), "{hours} minutes");

        rx.verify_with(&[&new, &old]);
        let res = app.test_endpoint(&admin, &id).await;
        let message: Value = res.json().await.unwrap();
        eventually("the second test arrives", || async { rx.count() >= 2 }).await;
        let before = &rx.deliveries()[0];
        let after = rx
            .deliveries()
            .into_iter()
            .find(|d| d.id == message["message_id"].as_str().unwrap())
            .unwrap();
        assert_eq!(before.signature.split(' ').count(), 1);
        assert_eq!(after.signature.split(' ').count(), 2, "{}", after.signature);
        assert_eq!(after.verified, vec![true, true], "each secret verifies it");
        assert_eq!(after.json()["type"], "webhook.test");
        assert_eq!(after.json()["data"], json!({ "endpoint_id": id }));
    }

    #[settings(|s| {
        webhook_settings(s);
        s.webhook_allow_private = false;
    })]
    async fn an_inward_address_is_refused_without_the_flag(app: &TestApp) {
        let admin = app.new_admin().await;
        let rx = Receiver::start().await.unwrap();
        // An address literal is refused at once.
        for url in [
            format!("http://127.0.0.1:{}/x", rx.addr.port()),
            "https://169.254.169.254/latest".to_owned(),
            "https://[::1]/x".to_owned(),
            "https://10.0.0.8/x".to_owned(),
        ] {
            let res = app.create_endpoint(&admin, &json!({ "url": url })).await;
            let body = crate::helpers::assert_problem(res, 422, "validation_failed").await;
            assert_eq!(body["errors"][0]["field"], "url", "{url}");
        }
        // A name is checked when delivering, on what it resolves to then.
        let url = format!("http://localhost:{}/x", rx.addr.port());
        let (id, _) = app.new_endpoint(&admin, &url, &[]).await;
        let res = app.test_endpoint(&admin, &id).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        eventually("the attempt is refused", || async {
            !app.attempts(&admin, &id).await.is_empty()
        })
        .await;
        let a = &app.attempts(&admin, &id).await[0];
        assert!(a["status_code"].is_null());
        let error = a["error"].as_str().unwrap();
        assert!(error.contains("refused") && error.contains("loopback"), "{error}");
        assert_eq!(rx.count(), 0, "nothing reached the receiver");
    }

    #[settings(|s| {
        webhook_settings(s);
        s.webhook_retry_schedule = "60,60".into();
    })]
    async fn retry_after_is_honoured_and_answers_are_cut_at_4_kib(app: &TestApp) {
        let admin = app.new_admin().await;
        let rx = Receiver::start().await.unwrap();
        rx.answer(Plan {
            status: 429,
            retry_after: Some("1".into()),
            ..Plan::default()
        });
        let (id, _) = app.new_endpoint(&admin, &rx.url("/busy"), &[]).await;
        let res = app.test_endpoint(&admin, &id).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        eventually("the first attempt", || async { rx.count() >= 1 }).await;
        rx.answer(Plan {
            status: 503,
            retry_after: Some("1".into()),
            body: "x".repeat(10_000),
            ..Plan::default()
        });
        // The schedule says a minute; the receiver asked for a second.
        eventually("the retry it asked for", || async { rx.count() >= 2 }).await;
        rx.answer(Plan::default());
        eventually("the second retry it asked for", || async { rx.count() >= 3 }).await;
        eventually("the attempts are recorded", || async {
            app.attempts(&admin, &id).await.len() >= 3
        })
        .await;
        let attempts = app.attempts(&admin, &id).await;
        let (ok, busy, many) = (&attempts[0], &attempts[1], &attempts[2]);
        assert_eq!(many["status_code"], 429);
        assert_eq!(busy["status_code"], 503);
        assert_eq!(busy["response"].as_str().unwrap().len(), 4096);
        assert_eq!(ok["status_code"], 204);
        assert_eq!(ok["succeeded"], json!(true));
        let ids: BTreeSet<&str> = attempts.iter().map(|a| a["message_id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 1, "one message, retried");
    }

    #[settings(|s| {
        webhook_settings(s);
        s.webhook_disable_after_seconds = 2;
        s.webhook_retry_schedule = "1,1,1,1,1,1,1,1".into();
    })]
    async fn an_endpoint_whose_every_attempt_fails_long_enough_is_disabled(app: &TestApp) {
        let admin = app.new_admin().await;
        let port = Receiver::free_port().await.unwrap();
        let (id, _) = app
            .new_endpoint(&admin, &format!("http://127.0.0.1:{port}/down"), &[])
            .await;
        let res = app.test_endpoint(&admin, &id).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        eventually("the endpoint is disabled", || async {
            app.endpoint(&admin, &id).await["disabled"] == json!(true)
        })
        .await;
        let e = app.endpoint(&admin, &id).await;
        assert_eq!(e["disabled_reason"], "failing");
        assert!(e["failing_since"].is_string());
        let attempts = app.attempts(&admin, &id).await;
        assert!(attempts.len() >= 2, "{attempts:?}");
        assert!(attempts.iter().all(|a| a["succeeded"] == json!(false)));
        let mails = app.mail.wait_for(&admin.email, 1).await;
        assert!(mails.iter().any(|m| m.text().contains(&id)), "the admin is mailed");
        // Nothing more is tried.
        let tried = attempts.len();
        app.after_rounds(Loop::Webhooks, 3).await;
        assert_eq!(app.attempts(&admin, &id).await.len(), tried);
    }

    #[settings(|s| {
        webhook_settings(s);
        s.webhook_retry_schedule = "60".into();
    })]
    async fn a_redirect_is_not_followed(app: &TestApp) {
        let admin = app.new_admin().await;
        let elsewhere = Receiver::start().await.unwrap();
        let rx = Receiver::start().await.unwrap();
        rx.answer(Plan {
            status: 307,
            location: Some(elsewhere.url("/elsewhere")),
            ..Plan::default()
        });
        let (id, _) = app.new_endpoint(&admin, &rx.url("/moved"), &[]).await;
        let res = app.test_endpoint(&admin, &id).await;
        assert_eq!(res.status(), StatusCode::ACCEPTED);
        eventually("the attempt is recorded", || async {
            !app.attempts(&admin, &id).await.is_empty()
        })
        .await;
        let a = &app.attempts(&admin, &id).await[0];
        assert_eq!(a["status_code"], 307);
        assert_eq!(a["succeeded"], json!(false));
        assert_eq!(rx.count(), 1);
        assert_eq!(elsewhere.count(), 0, "the redirect was not followed");
    }
}
