//! Two instances of the app on one PostgreSQL database keep one ledger:
//! no overdraft and one answer per key, whichever instance serves a request.

use std::time::Instant;

use futures::future::join_all;
use serde_json::json;

use crate::helpers::{Answer, Backend, TestApp, User, new_key};

/// A spend at the instance at `base`, as the client saw the answer.
async fn spend_at(
    client: &reqwest::Client,
    base: &str,
    who: &User,
    key: &str,
    amount: i64,
) -> Answer {
    let res = client
        .post(format!("{base}/api/v1/credits/spends"))
        .bearer_auth(&who.token)
        .header("Idempotency-Key", key)
        .json(&json!({ "amount": amount, "purpose": "two instances" }))
        .send()
        .await
        .unwrap();
    Answer::of(res).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set TEST_DATABASE_URL (and TEST_REDIS_URL) to run the PostgreSQL variant"
)]
async fn two_instances_on_one_postgres_database_keep_one_ledger() {
    let app = TestApp::spawn(Backend::Postgres).await;
    assert_eq!(app.backend_name(), "postgres");
    let mut settings = app.settings.clone();
    settings.addr = "127.0.0.1:0".parse().unwrap();
    let second = kartel_api::startup::Application::build(settings)
        .await
        .unwrap();
    let second_base = format!("http://127.0.0.1:{}", second.port());
    let second_handle = second.handle();
    tokio::spawn(second.run_until_stopped());
    let bases = [app.address.clone(), second_base];

    let talent = app.new_talent().await;
    app.fund(talent.id, 1_000).await;
    let started = Instant::now();
    let answers = join_all((0..200).map(|i| {
        let (base, talent, client) = (&bases[i % 2], &talent, &app.client);
        async move {
            (
                i % 2,
                spend_at(client, base, talent, &format!("two-{i}"), 10).await,
            )
        }
    }))
    .await;
    eprintln!("200 spends over two instances in {:?}", started.elapsed());
    let ok: Vec<_> = answers.iter().filter(|(_, a)| a.status == 201).collect();
    assert_eq!(ok.len(), 100, "successes");
    for (_, a) in answers.iter().filter(|(_, a)| a.status != 201) {
        a.assert_problem(409, "insufficient_credits");
    }
    assert!(
        ok.iter().any(|(i, _)| *i == 0) && ok.iter().any(|(i, _)| *i == 1),
        "both instances served spends"
    );
    let mut after: Vec<i64> = ok
        .iter()
        .map(|(_, a)| a.json()["balance_after"].as_i64().unwrap())
        .collect();
    after.sort_unstable();
    assert_eq!(after, (0..100).map(|i| i * 10).collect::<Vec<i64>>());
    assert_eq!(app.balance(&talent).await, (0, 0));

    // One key, twenty times to each instance at once: one effect, one answer.
    let other = app.new_talent().await;
    app.fund(other.id, 100).await;
    let key = new_key();
    let answers = join_all((0..40).map(|i| {
        let (base, other, client, key) = (&bases[i % 2], &other, &app.client, &key);
        async move { spend_at(client, base, other, key, 7).await }
    }))
    .await;
    assert_eq!(answers[0].status, 201, "{:?}", answers[0]);
    for a in &answers {
        assert_eq!(a, &answers[0]);
    }
    assert_eq!(app.all_history(&other, "kind=spend").await.len(), 1);
    assert_eq!(app.balance(&other).await, (93, 0));
    app.assert_books_balance().await;

    second_handle.stop(false).await;
    app.stop().await;
}
