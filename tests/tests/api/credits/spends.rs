//! Spends: overdraft races, one effect and one answer per idempotency key
//! (even when the client gives up mid-request), and refusals that change nothing.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;

use crate::both_backends;
use crate::helpers::{Answer, Backend, TestApp, assert_problem, new_key};

both_backends! {
    async fn two_hundred_concurrent_spends_of_ten_on_a_thousand_let_exactly_one_hundred_through(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 1_000).await;
        let svc = app.new_api_key(&["credits:spend"]).await;
        let started = Instant::now();
        // Half with the talent's own token, half with a service key naming the talent.
        let answers = join_all((0..200).map(|i| {
            let (talent, svc) = (&talent, &svc);
            async move {
                let key = format!("race-{i}");
                let res = if i % 2 == 0 {
                    app.spend(talent, &key, 10).await
                } else {
                    let b = json!({ "talent_id": talent.id, "amount": 10, "purpose": "race" });
                    app.post_service("/api/v1/credits/spends", svc, &key, &b).await
                };
                Answer::of(res).await
            }
        }))
        .await;
        eprintln!("{}: 200 concurrent spends in {:?}", app.backend_name(), started.elapsed());

        let (ok, refused): (Vec<_>, Vec<_>) = answers.iter().partition(|a| a.status == 201);
        assert_eq!(ok.len(), 100, "successes");
        assert_eq!(refused.len(), 100, "refusals");
        for a in &refused {
            a.assert_problem(409, "insufficient_credits");
        }
        // Every success saw its own posted balance: 990, 980, … 0, each exactly once.
        let mut after: Vec<i64> = ok.iter().map(|a| a.json()["balance_after"].as_i64().unwrap()).collect();
        after.sort_unstable();
        assert_eq!(after, (0..100).map(|i| i * 10).collect::<Vec<i64>>());
        for a in &ok {
            assert_eq!(a.json()["amount"], json!(-10));
            assert_eq!(a.json()["kind"], "spend");
        }

        assert_eq!(app.balance(&talent).await, (0, 0));
        let spends = app.all_history(&talent, "kind=spend").await;
        assert_eq!(spends.len(), 100);
        app.assert_books_balance().await;
    }

    async fn fifty_concurrent_requests_with_one_idempotency_key_have_one_effect_and_one_answer(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 1_000).await;
        let key = new_key();
        let answers = join_all((0..50).map(|_| async { Answer::of(app.spend(&talent, &key, 10).await).await })).await;
        let first = answers[0].clone();
        assert_eq!(first.status, 201, "{first:?}");
        for a in &answers {
            assert_eq!(a, &first, "every answer to one key is the same");
        }
        let spends = app.all_history(&talent, "kind=spend").await;
        assert_eq!(spends.len(), 1, "one effect: {spends:?}");
        assert_eq!(spends[0]["id"], first.json()["id"]);
        assert_eq!(app.balance(&talent).await, (990, 0));

        // The same key with another body, or for another operation, is refused and changes nothing.
        assert_problem(app.spend(&talent, &key, 11).await, 422, "idempotency_key_reused").await;
        assert_problem(app.create_hold(&talent, &key, 10, None).await, 422, "idempotency_key_reused").await;
        // …and the original request still gets its original answer.
        assert_eq!(Answer::of(app.spend(&talent, &key, 10).await).await, first);
        assert_eq!(app.balance(&talent).await, (990, 0));
        assert_eq!(app.all_history(&talent, "").await.len(), 2);
        app.assert_books_balance().await;
    }

    async fn one_idempotency_key_sent_by_different_callers_is_a_request_of_each(app: &TestApp) {
        let alice = app.new_talent().await;
        let bob = app.new_talent().await;
        app.fund(alice.id, 100).await;
        app.fund(bob.id, 100).await;
        let key = "shared-key";
        // Two people, one key (even at once): each their own spend, whatever the body.
        let (a, b) = tokio::join!(app.spend(&alice, key, 10), app.spend(&bob, key, 20));
        let (a, b) = (Answer::of(a).await, Answer::of(b).await);
        assert_eq!((a.status, b.status), (201, 201), "{a:?} {b:?}");
        assert_ne!(a.json()["id"], b.json()["id"]);
        assert_eq!(a.json()["talent_id"], json!(alice.id));
        assert_eq!(b.json()["talent_id"], json!(bob.id));
        assert_eq!(app.balance(&alice).await, (90, 0));
        assert_eq!(app.balance(&bob).await, (80, 0));

        // Two service keys, the same Idempotency-Key, the same body: two spends.
        let svc1 = app.new_api_key(&["credits:spend"]).await;
        let svc2 = app.new_api_key(&["credits:spend"]).await;
        let body = json!({ "talent_id": alice.id, "amount": 5, "purpose": "render" });
        let s1 = Answer::of(app.post_service("/api/v1/credits/spends", &svc1, key, &body).await).await;
        let s2 = Answer::of(app.post_service("/api/v1/credits/spends", &svc2, key, &body).await).await;
        assert_eq!((s1.status, s2.status), (201, 201), "{s1:?} {s2:?}");
        assert_ne!(s1.json()["id"], s2.json()["id"]);
        assert_ne!(s1.json()["id"], a.json()["id"]);
        assert_eq!(app.balance(&alice).await, (80, 0));

        // Each caller's key still answers as it did for that caller.
        assert_eq!(Answer::of(app.spend(&alice, key, 10).await).await, a);
        assert_eq!(Answer::of(app.spend(&bob, key, 20).await).await, b);
        assert_eq!(Answer::of(app.post_service("/api/v1/credits/spends", &svc2, key, &body).await).await, s2);
        assert_problem(app.spend(&alice, key, 11).await, 422, "idempotency_key_reused").await;
        // The caller is the person, not the session: another sign-in replays.
        let again: serde_json::Value = app.login(&alice.email, crate::helpers::PASSWORD).await.json().await.unwrap();
        let second_session = crate::helpers::User {
            token: again["access_token"].as_str().unwrap().to_owned(),
            ..alice.clone()
        };
        assert_eq!(Answer::of(app.spend(&second_session, key, 10).await).await, a);
        assert_eq!(app.balance(&alice).await, (80, 0));
        assert_eq!(app.balance(&bob).await, (80, 0));
        assert_eq!(app.all_history(&alice, "kind=spend").await.len(), 3);
        app.assert_books_balance().await;
    }

    async fn a_client_that_gives_up_mid_request_and_retries_gets_exactly_one_effect(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 1_000).await;
        let svc = app.new_api_key(&["credits:spend", "credits:hold"]).await;
        let request = |i: usize| {
            let (path, body) = if i.is_multiple_of(2) {
                ("/api/v1/credits/spends", json!({ "talent_id": talent.id, "amount": 10, "purpose": "abandoned" }))
            } else {
                ("/api/v1/credits/holds", json!({ "talent_id": talent.id, "amount": 10, "purpose": "abandoned" }))
            };
            (path, body, format!("abandon-{i}"))
        };
        // Forty requests dropped by the client after 0.5 ms … 20 ms: before,
        // during or after their effect, whatever the server was doing then.
        let gave_up = join_all((0..40).map(|i| {
            let (path, body, key) = request(i);
            let svc = &svc;
            async move {
                let patience = Duration::from_micros(500 + 500 * i as u64);
                tokio::time::timeout(patience, app.post_service(path, svc, &key, &body)).await.is_err()
            }
        }))
        .await;
        let (available, held) = app.balance(&talent).await;
        eprintln!(
            "{}: {} of 40 requests abandoned; {} took effect",
            app.backend_name(),
            gave_up.iter().filter(|g| **g).count(),
            (1_000 - available) / 10,
        );
        assert!(held <= 200 && available + held >= 800, "at most one effect per key so far");

        // Each retried with its key: one effect per key, and a second retry
        // gets the same answer as the first.
        let mut ids = HashSet::new();
        for i in 0..40 {
            let (path, body, key) = request(i);
            let first = Answer::of(app.post_service(path, &svc, &key, &body).await).await;
            assert_eq!(first.status, 201, "{first:?}");
            assert!(ids.insert(first.json()["id"].as_str().unwrap().to_owned()), "one id per key");
            assert_eq!(Answer::of(app.post_service(path, &svc, &key, &body).await).await, first);
        }
        assert_eq!(app.balance(&talent).await, (600, 200));
        assert_eq!(app.all_history(&talent, "kind=spend").await.len(), 20);
        app.assert_books_balance().await;
    }

    async fn one_key_has_one_answer_even_when_funds_arrive_mid_flight(app: &TestApp) {
        // A refusal is stored too, but in a transaction of its own: a retry that
        // slips in between may run the request again. Whatever happens, every
        // caller of one key sees one answer, and there is at most one effect.
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        app.new_grant(&manager, talent.id, 5).await;
        let mut spent_by_key = 0;
        for round in 0..3 {
            let key = new_key();
            let spends = join_all((0..30).map(|_| async { Answer::of(app.spend(&talent, &key, 10).await).await }));
            let funding = async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                app.new_grant(&manager, talent.id, 100).await
            };
            let (answers, _) = tokio::join!(spends, funding);
            let first = answers[0].clone();
            for a in &answers {
                assert_eq!(a, &first, "round {round}: one key, one answer");
            }
            if first.status == 201 {
                assert_eq!(first.json()["amount"], json!(-10));
                spent_by_key += 1;
            } else {
                first.assert_problem(409, "insufficient_credits");
            }
            assert_eq!(Answer::of(app.spend(&talent, &key, 10).await).await, first, "round {round}: a later retry");
            // Leave 5 for the next round.
            let (available, _) = app.balance(&talent).await;
            let res = app.spend(&talent, &new_key(), available - 5).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            eprintln!("{}: round {round}: {}", app.backend_name(), first.status);
        }
        let spends = app.all_history(&talent, "kind=spend").await;
        let grants = app.all_history(&talent, "kind=grant").await;
        assert_eq!(grants.len(), 4);
        // Per round: the key's one effect if its answer was a success, none if
        // it was a refusal, and the spend that leaves 5.
        assert_eq!(spends.len(), spent_by_key + 3, "one effect per successful key: {spends:?}");
        assert_eq!(app.balance(&talent).await, (5, 0));
        app.assert_books_balance().await;
    }

    async fn a_refused_spend_changes_nothing_and_stays_refused_on_retry(app: &TestApp) {
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        let admin = app.new_admin().await;
        app.new_grant(&manager, talent.id, 5).await;
        let before = app.ledger_ok(&admin).await;
        let history_before = app.all_history(&talent, "").await;

        let key = new_key();
        let refused = Answer::of(app.spend(&talent, &key, 10).await).await;
        refused.assert_problem(409, "insufficient_credits");
        let hold_key = new_key();
        let refused_hold = Answer::of(app.create_hold(&talent, &hold_key, 10, None).await).await;
        refused_hold.assert_problem(409, "insufficient_credits");

        assert_eq!(app.balance(&talent).await, (5, 0));
        assert_eq!(app.all_history(&talent, "").await, history_before);
        let after = app.ledger_ok(&admin).await;
        for k in ["transactions", "entries", "open_holds", "book_total"] {
            assert_eq!(after[k], before[k], "{k}");
        }

        // Funded now, the same request under the same key is still the same refusal.
        app.new_grant(&manager, talent.id, 100).await;
        assert_eq!(Answer::of(app.spend(&talent, &key, 10).await).await, refused);
        assert_eq!(Answer::of(app.create_hold(&talent, &hold_key, 10, None).await).await, refused_hold);
        assert_eq!(app.balance(&talent).await, (105, 0));
        // A new key is a new request.
        let res = app.spend(&talent, &new_key(), 10).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(app.balance(&talent).await, (95, 0));
        app.ledger_ok(&admin).await;
    }
}
