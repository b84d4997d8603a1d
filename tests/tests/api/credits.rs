//! The credits ledger through the HTTP API: overdraft races, one effect per
//! idempotency key, holds (capture, release, expiry), reversals, permissions,
//! bad input, history pages, two instances on one database, and a seeded
//! model test. The invariants are those of the ledger notes (LEDGER.md).

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use futures::future::join_all;
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, assert_problem};

// ---- helpers ----

fn backend(app: &TestApp) -> &'static str {
    if app.settings.is_sqlite() {
        "sqlite"
    } else {
        "postgres"
    }
}

fn new_key() -> String {
    Uuid::new_v4().to_string()
}

async fn body(res: Response) -> Value {
    res.json().await.unwrap()
}

/// An answer as the client saw it: status, content type and raw body.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Answer {
    status: u16,
    content_type: String,
    text: String,
}

impl Answer {
    async fn of(res: Response) -> Self {
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        Self {
            status,
            content_type,
            text: res.text().await.unwrap(),
        }
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap()
    }
    /// Asserts a problem+json answer with this status and code.
    fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "answer: {self:?}");
        assert!(
            self.content_type.starts_with("application/problem+json"),
            "answer: {self:?}"
        );
        assert_eq!(self.json()["code"], json!(code), "answer: {self:?}");
    }
}

async fn grant(app: &TestApp, by: &User, talent: Uuid, amount: i64) -> Value {
    let res = app
        .post_idem(
            "/api/v1/credits/grants",
            Some(&by.token),
            &new_key(),
            &json!({ "talent_id": talent, "amount": amount, "reason": "test grant" }),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    body(res).await
}

async fn spend(app: &TestApp, who: &User, key: &str, amount: i64) -> Response {
    app.post_idem(
        "/api/v1/credits/spends",
        Some(&who.token),
        key,
        &json!({ "amount": amount, "purpose": "test spend" }),
    )
    .await
}

async fn hold(
    app: &TestApp,
    who: &User,
    key: &str,
    amount: i64,
    expires_in_seconds: Option<i64>,
) -> Response {
    app.post_idem(
        "/api/v1/credits/holds",
        Some(&who.token),
        key,
        &json!({ "amount": amount, "purpose": "test hold", "expires_in_seconds": expires_in_seconds }),
    )
    .await
}

/// Places a hold that must succeed; returns its id.
async fn new_hold(
    app: &TestApp,
    who: &User,
    amount: i64,
    expires_in_seconds: Option<i64>,
) -> String {
    let res = hold(app, who, &new_key(), amount, expires_in_seconds).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let h = body(res).await;
    assert_eq!(h["status"], "pending");
    assert_eq!(h["amount"], json!(amount));
    h["id"].as_str().unwrap().to_owned()
}

async fn capture(
    app: &TestApp,
    who: &User,
    hold_id: &str,
    key: &str,
    amount: Option<i64>,
) -> Response {
    let b = amount.map_or_else(|| json!({}), |a| json!({ "amount": a }));
    app.post_idem(
        &format!("/api/v1/credits/holds/{hold_id}/capture"),
        Some(&who.token),
        key,
        &b,
    )
    .await
}

async fn release(app: &TestApp, who: &User, hold_id: &str, key: &str) -> Response {
    app.post_idem(
        &format!("/api/v1/credits/holds/{hold_id}/release"),
        Some(&who.token),
        key,
        &json!({}),
    )
    .await
}

async fn reverse(app: &TestApp, who: &User, transaction_id: &str, key: &str) -> Response {
    app.post_idem(
        &format!("/api/v1/credits/transactions/{transaction_id}/reverse"),
        Some(&who.token),
        key,
        &json!({ "reason": "test reversal" }),
    )
    .await
}

async fn get_hold(app: &TestApp, who: &User, hold_id: &str) -> Value {
    let res = app
        .get(
            &format!("/api/v1/credits/holds/{hold_id}"),
            Some(&who.token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    body(res).await
}

/// (available, held) of `talent` as `viewer` reads it.
async fn balance_of(app: &TestApp, viewer: &User, talent: Uuid) -> (i64, i64) {
    let res = app
        .get(
            &format!("/api/v1/talents/{talent}/credits"),
            Some(&viewer.token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let b = body(res).await;
    assert_eq!(b["talent_id"], json!(talent));
    (
        b["available"].as_i64().unwrap(),
        b["held"].as_i64().unwrap(),
    )
}

/// Every page of the caller's history, following `next_cursor`; `query` adds filters.
async fn history(app: &TestApp, who: &User, limit: u32, query: &str) -> Vec<Vec<Value>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/me/credits/transactions?limit={limit}");
        if !query.is_empty() {
            path.push('&');
            path.push_str(query);
        }
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let res = app.get(&path, Some(&who.token)).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let page = body(res).await;
        pages.push(page["items"].as_array().unwrap().clone());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return pages,
        }
        assert!(pages.len() < 1000, "history does not end");
    }
}

async fn all_history(app: &TestApp, who: &User, query: &str) -> Vec<Value> {
    history(app, who, 100, query).await.concat()
}

/// The reconciliation report, asserted clean.
async fn ledger_ok(app: &TestApp, admin: &User) -> Value {
    let res = app
        .get("/api/v1/admin/ledger/check", Some(&admin.token))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let report = body(res).await;
    assert_eq!(report["ok"], json!(true), "ledger check: {report}");
    assert_eq!(report["book_total"], json!(0), "ledger check: {report}");
    report
}

fn time_of(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v["created_at"].as_str().unwrap().parse().unwrap()
}

fn expires_at(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v["expires_at"].as_str().unwrap().parse().unwrap()
}

fn resolved_at(v: &Value) -> chrono::DateTime<chrono::Utc> {
    v["resolved_at"].as_str().unwrap().parse().unwrap()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

// ---- the tests ----

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
                    spend(app, talent, &key, 10).await
                } else {
                    let b = json!({ "talent_id": talent.id, "amount": 10, "purpose": "race" });
                    app.post_service("/api/v1/credits/spends", svc, &key, &b).await
                };
                Answer::of(res).await
            }
        }))
        .await;
        eprintln!("{}: 200 concurrent spends in {:?}", backend(app), started.elapsed());

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
        let spends = all_history(app, &talent, "kind=spend").await;
        assert_eq!(spends.len(), 100);
        app.assert_books_balance().await;
    }

    async fn fifty_concurrent_requests_with_one_idempotency_key_have_one_effect_and_one_answer(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 1_000).await;
        let key = new_key();
        let answers = join_all((0..50).map(|_| async { Answer::of(spend(app, &talent, &key, 10).await).await })).await;
        let first = answers[0].clone();
        assert_eq!(first.status, 201, "{first:?}");
        for a in &answers {
            assert_eq!(a, &first, "every answer to one key is the same");
        }
        let spends = all_history(app, &talent, "kind=spend").await;
        assert_eq!(spends.len(), 1, "one effect: {spends:?}");
        assert_eq!(spends[0]["id"], first.json()["id"]);
        assert_eq!(app.balance(&talent).await, (990, 0));

        // The same key with another body, or for another operation, is refused and changes nothing.
        assert_problem(spend(app, &talent, &key, 11).await, 422, "idempotency_key_reused").await;
        assert_problem(hold(app, &talent, &key, 10, None).await, 422, "idempotency_key_reused").await;
        // …and the original request still gets its original answer.
        assert_eq!(Answer::of(spend(app, &talent, &key, 10).await).await, first);
        assert_eq!(app.balance(&talent).await, (990, 0));
        assert_eq!(all_history(app, &talent, "").await.len(), 2);
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
            backend(app),
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
        assert_eq!(all_history(app, &talent, "kind=spend").await.len(), 20);
        app.assert_books_balance().await;
    }

    async fn one_key_has_one_answer_even_when_funds_arrive_mid_flight(app: &TestApp) {
        // A refusal is stored too, but in a transaction of its own: a retry that
        // slips in between may run the request again. Whatever happens, every
        // caller of one key sees one answer, and there is at most one effect.
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        grant(app, &manager, talent.id, 5).await;
        for round in 0..3 {
            let key = new_key();
            let spends = join_all((0..30).map(|_| async { Answer::of(spend(app, &talent, &key, 10).await).await }));
            let funding = async {
                tokio::time::sleep(Duration::from_millis(5)).await;
                grant(app, &manager, talent.id, 100).await
            };
            let (answers, _) = tokio::join!(spends, funding);
            let first = answers[0].clone();
            for a in &answers {
                assert_eq!(a, &first, "round {round}: one key, one answer");
            }
            if first.status == 201 {
                assert_eq!(first.json()["amount"], json!(-10));
            } else {
                first.assert_problem(409, "insufficient_credits");
            }
            assert_eq!(Answer::of(spend(app, &talent, &key, 10).await).await, first, "round {round}: a later retry");
            // Leave 5 for the next round.
            let (available, _) = app.balance(&talent).await;
            let res = spend(app, &talent, &new_key(), available - 5).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            eprintln!("{}: round {round}: {}", backend(app), first.status);
        }
        let spends = all_history(app, &talent, "kind=spend").await;
        let grants = all_history(app, &talent, "kind=grant").await;
        assert_eq!(grants.len(), 4);
        assert!(spends.len() <= 6, "at most one effect per key: {spends:?}");
        assert_eq!(app.balance(&talent).await, (5, 0));
        app.assert_books_balance().await;
    }

    async fn a_capture_racing_a_release_of_one_hold_lets_exactly_one_win(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 1_000).await;
        let admin = app.new_admin().await;
        let mut captured = 0;
        for round in 0..10 {
            let id = new_hold(app, &talent, 100, None).await;
            let (ck, rk) = (new_key(), new_key());
            let (c, r) = if round % 2 == 0 {
                tokio::join!(capture(app, &talent, &id, &ck, None), release(app, &talent, &id, &rk))
            } else {
                let (r, c) = tokio::join!(release(app, &talent, &id, &rk), capture(app, &talent, &id, &ck, None));
                (c, r)
            };
            let (c, r) = (Answer::of(c).await, Answer::of(r).await);
            let winner = match (c.status, r.status) {
                (200, _) => {
                    r.assert_problem(409, "hold_not_pending");
                    captured += 1;
                    assert_eq!(c.json()["captured_amount"], json!(100));
                    "captured"
                }
                (_, 200) => {
                    c.assert_problem(409, "hold_not_pending");
                    "released"
                }
                _ => panic!("round {round}: neither won: capture {c:?}, release {r:?}"),
            };
            let h = get_hold(app, &talent, &id).await;
            assert_eq!(h["status"], winner, "round {round}: {h}");
            assert_eq!(app.balance(&talent).await, (1_000 - 100 * captured, 0), "round {round}");
        }
        let captures = all_history(app, &talent, "kind=capture").await;
        assert_eq!(captures.len() as i64, captured);
        let report = ledger_ok(app, &admin).await;
        assert_eq!(report["open_holds"], json!(0));
    }

    async fn a_partial_capture_releases_the_rest_and_a_settled_hold_stays_settled(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 1_000).await;

        let first = new_hold(app, &talent, 300, None).await;
        assert_eq!(app.balance(&talent).await, (700, 300));
        let res = capture(app, &talent, &first, &new_key(), Some(120)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let h = body(res).await;
        assert_eq!(h["status"], "captured");
        assert_eq!(h["captured_amount"], json!(120));
        assert!(h["capture_transaction_id"].is_string(), "{h}");
        assert!(h["resolved_at"].is_string(), "{h}");
        assert_eq!(app.balance(&talent).await, (880, 0), "the other 180 went back");
        let captures = all_history(app, &talent, "kind=capture").await;
        assert_eq!(captures.len(), 1);
        assert_eq!(captures[0]["amount"], json!(-120));
        assert_eq!(captures[0]["balance_after"], json!(880));
        assert_eq!(captures[0]["hold_id"], json!(first));
        assert_eq!(captures[0]["id"], h["capture_transaction_id"]);
        // A captured hold cannot be captured or released again.
        assert_problem(capture(app, &talent, &first, &new_key(), Some(1)).await, 409, "hold_not_pending").await;
        assert_problem(release(app, &talent, &first, &new_key()).await, 409, "hold_not_pending").await;

        let second = new_hold(app, &talent, 200, None).await;
        assert_eq!(app.balance(&talent).await, (680, 200));
        assert_problem(capture(app, &talent, &second, &new_key(), Some(201)).await, 422, "capture_exceeds_hold").await;
        assert_problem(capture(app, &talent, &second, &new_key(), Some(0)).await, 422, "validation_failed").await;
        assert_problem(capture(app, &talent, &second, &new_key(), Some(-5)).await, 422, "validation_failed").await;
        assert_eq!(get_hold(app, &talent, &second).await["status"], "pending");
        assert_eq!(app.balance(&talent).await, (680, 200), "refused captures changed nothing");

        let release_key = new_key();
        let res = release(app, &talent, &second, &release_key).await;
        assert_eq!(res.status(), StatusCode::OK);
        let released = res.text().await.unwrap();
        let h: Value = serde_json::from_str(&released).unwrap();
        assert_eq!(h["status"], "released");
        assert!(h["captured_amount"].is_null());
        assert_eq!(app.balance(&talent).await, (880, 0));
        assert_problem(capture(app, &talent, &second, &new_key(), None).await, 409, "hold_not_pending").await;
        assert_problem(release(app, &talent, &second, &new_key()).await, 409, "hold_not_pending").await;
        // The first release's key still answers as it did.
        let again = release(app, &talent, &second, &release_key).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(again.text().await.unwrap(), released);
        assert_eq!(app.balance(&talent).await, (880, 0));
        assert_problem(capture(app, &talent, &Uuid::new_v4().to_string(), &new_key(), None).await, 404, "not_found").await;
        app.assert_books_balance().await;
    }

    async fn an_expired_hold_cannot_be_captured_and_open_holds_count_against_available(app: &TestApp) {
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        grant(app, &manager, talent.id, 5_000).await;
        let short = hold(app, &talent, &new_key(), 1_000, Some(1)).await;
        assert_eq!(short.status(), StatusCode::CREATED);
        let short = body(short).await;
        assert_eq!(expires_at(&short) - time_of(&short), chrono::Duration::seconds(1));
        let short = id_of(&short);
        let long = new_hold(app, &talent, 500, Some(60)).await;
        assert_eq!(app.balance(&talent).await, (3_500, 1_500));

        tokio::time::sleep(Duration::from_millis(2_500)).await;
        assert_problem(capture(app, &talent, &short, &new_key(), None).await, 409, "hold_expired").await;
        // Nor released: past its expiry it is expired, whatever comes first.
        assert_problem(release(app, &talent, &short, &new_key()).await, 409, "hold_expired").await;
        // Nothing has read the balance since: the spend itself finds the expired
        // hold in its way and releases it.
        let res = spend(app, &talent, &new_key(), 4_000).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(body(res).await["balance_after"], json!(1_000));
        assert_eq!(app.balance(&talent).await, (500, 500), "the expired hold is released, the other is not");
        let h = get_hold(app, &talent, &short).await;
        assert_eq!(h["status"], "expired");
        assert!(h["captured_amount"].is_null());
        assert!(resolved_at(&h) >= expires_at(&h), "never released early: {h}");
        assert_eq!(get_hold(app, &talent, &long).await["status"], "pending");
        assert_problem(capture(app, &talent, &short, &new_key(), None).await, 409, "hold_expired").await;
        assert_problem(release(app, &talent, &short, &new_key()).await, 409, "hold_expired").await;
        let res = release(app, &talent, &long, &new_key()).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(app.balance(&talent).await, (1_000, 0));
        grant(app, &manager, talent.id, 4_000).await;

        // Six holds of 1,000 on 5,000, all at once: five fit, the sixth does not.
        let answers = join_all((0..6).map(|_| async { Answer::of(hold(app, &talent, &new_key(), 1_000, None).await).await })).await;
        assert_eq!(answers.iter().filter(|a| a.status == 201).count(), 5, "{answers:?}");
        for a in answers.iter().filter(|a| a.status != 201) {
            a.assert_problem(409, "insufficient_credits");
        }
        assert_eq!(app.balance(&talent).await, (0, 5_000));
        assert_problem(spend(app, &talent, &new_key(), 1).await, 409, "insufficient_credits").await;
        assert_problem(hold(app, &talent, &new_key(), 1, None).await, 409, "insufficient_credits").await;
        let report = {
            let admin = app.new_admin().await;
            ledger_ok(app, &admin).await
        };
        assert_eq!(report["open_holds"], json!(5));
    }

    async fn a_capture_racing_the_expiry_of_its_hold_is_either_in_time_or_refused(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 1_000).await;
        let mut holds = Vec::new();
        for _ in 0..10 {
            let res = hold(app, &talent, &new_key(), 50, Some(1)).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            holds.push(body(res).await);
        }
        // Aim the captures (10 ms apart) and some balance reads, which expire
        // holds, at the moments the holds expire.
        let first = expires_at(&holds[0]);
        let wait = (first - chrono::Utc::now() - chrono::Duration::milliseconds(30)).to_std().unwrap_or_default();
        tokio::time::sleep(wait).await;
        let captures = holds.iter().enumerate().map(|(i, h)| {
            let (talent, id) = (&talent, id_of(h));
            async move {
                tokio::time::sleep(Duration::from_millis(10 * i as u64)).await;
                Answer::of(capture(app, talent, &id, &new_key(), None).await).await
            }
        });
        let reads = (0..5).map(|i| {
            let talent = &talent;
            async move {
                tokio::time::sleep(Duration::from_millis(20 * i)).await;
                app.balance(talent).await
            }
        });
        let (answers, _) = tokio::join!(join_all(captures), join_all(reads));
        let mut captured = 0;
        for (h, a) in holds.iter().zip(&answers) {
            let now = get_hold(app, &talent, &id_of(h)).await;
            if a.status == 200 {
                captured += 1;
                assert_eq!(now["status"], "captured");
                assert!(resolved_at(&now) < expires_at(&now), "captured after expiry: {now}");
            } else {
                a.assert_problem(409, "hold_expired");
                // Expired (by a balance read or the spend path) or still pending until the next read.
                assert!(now["status"] == "expired" || now["status"] == "pending", "{now}");
            }
        }
        eprintln!("{}: {captured} of 10 captures beat their expiry", backend(app));
        assert_eq!(app.balance(&talent).await, (1_000 - 50 * captured, 0));
        for h in &holds {
            let now = get_hold(app, &talent, &id_of(h)).await;
            assert!(now["status"] == "captured" || now["status"] == "expired", "{now}");
            if now["status"] == "expired" {
                assert!(resolved_at(&now) >= expires_at(&now), "released early: {now}");
            }
        }
        app.assert_books_balance().await;
    }

    async fn the_ledger_check_notices_corrupted_books(app: &TestApp) {
        let talent = app.new_talent().await;
        let admin = app.new_admin().await;
        app.fund(talent.id, 100).await;
        ledger_ok(app, &admin).await;
        kartel_domain::db::execute(
            &app.db,
            "UPDATE ledger_accounts SET posted = posted + 7, held = held + 3, version = version + 1 WHERE talent_id = $1",
            [talent.id.into()],
        )
        .await
        .unwrap();
        let res = app.get("/api/v1/admin/ledger/check", Some(&admin.token)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let report = body(res).await;
        assert_eq!(report["ok"], json!(false), "{report}");
        let issue = |check: &str| {
            report["issues"].as_array().unwrap().iter().find(|i| i["check"] == check).cloned().unwrap_or_else(|| panic!("no {check}: {report}"))
        };
        let posted = issue("balance_mismatch");
        assert_eq!((posted["expected"].clone(), posted["actual"].clone()), (json!(100), json!(107)));
        let held = issue("held_mismatch");
        assert_eq!((held["expected"].clone(), held["actual"].clone()), (json!(0), json!(3)));
        let version = issue("version_mismatch");
        assert_eq!((version["expected"].clone(), version["actual"].clone()), (json!(1), json!(2)));
        assert_eq!(report["issues"].as_array().unwrap().len(), 3, "{report}");
    }

    async fn an_admin_reverses_a_transaction_once_and_never_into_an_overdraft(app: &TestApp) {
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        let admin = app.new_admin().await;

        let g1 = grant(app, &manager, talent.id, 500).await;
        assert_eq!(app.balance(&talent).await, (500, 0));
        let res = reverse(app, &admin, &id_of(&g1), &new_key()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let r1 = body(res).await;
        assert_eq!(r1["kind"], "reversal");
        assert_eq!(r1["amount"], json!(-500));
        assert_eq!(r1["reverses_id"], g1["id"]);
        assert_eq!(r1["talent_id"], json!(talent.id));
        assert_eq!(r1["balance_after"], json!(0));
        assert_eq!(app.balance(&talent).await, (0, 0));
        assert_problem(reverse(app, &admin, &id_of(&g1), &new_key()).await, 409, "already_reversed").await;
        assert_problem(reverse(app, &admin, &id_of(&r1), &new_key()).await, 409, "invalid_operation").await;
        assert_problem(reverse(app, &admin, &Uuid::new_v4().to_string(), &new_key()).await, 404, "not_found").await;

        // The credits of a grant were spent: reversing it would overdraw.
        let g2 = grant(app, &manager, talent.id, 300).await;
        let res = spend(app, &talent, &new_key(), 250).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let s = body(res).await;
        assert_problem(reverse(app, &admin, &id_of(&g2), &new_key()).await, 409, "insufficient_credits").await;
        assert_eq!(app.balance(&talent).await, (50, 0));
        // A spend reverses into a refund.
        let res = reverse(app, &admin, &id_of(&s), &new_key()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let r2 = body(res).await;
        assert_eq!(r2["amount"], json!(250));
        assert_eq!(r2["balance_after"], json!(300));
        assert_eq!(app.balance(&talent).await, (300, 0));

        // Held credits are not available to a reversal either.
        let h = new_hold(app, &talent, 100, None).await;
        assert_problem(reverse(app, &admin, &id_of(&g2), &new_key()).await, 409, "insufficient_credits").await;
        assert_eq!(app.balance(&talent).await, (200, 100));
        let res = release(app, &talent, &h, &new_key()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = reverse(app, &admin, &id_of(&g2), &new_key()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(app.balance(&talent).await, (0, 0));

        // Only admins reverse.
        let g3 = grant(app, &manager, talent.id, 10).await;
        assert_problem(reverse(app, &manager, &id_of(&g3), &new_key()).await, 403, "forbidden").await;
        assert_problem(reverse(app, &talent, &id_of(&g3), &new_key()).await, 403, "forbidden").await;
        assert_eq!(app.balance(&talent).await, (10, 0));

        // Six reversals of one grant at once: one reversal.
        let answers = join_all((0..6).map(|_| async { Answer::of(reverse(app, &admin, &id_of(&g3), &new_key()).await).await })).await;
        assert_eq!(answers.iter().filter(|a| a.status == 201).count(), 1, "{answers:?}");
        for a in answers.iter().filter(|a| a.status != 201) {
            a.assert_problem(409, "already_reversed");
        }
        assert_eq!(app.balance(&talent).await, (0, 0));
        assert_eq!(all_history(app, &talent, "kind=reversal").await.len(), 4);
        ledger_ok(app, &admin).await;
    }

    async fn the_monthly_allowance_is_paid_once(app: &TestApp) {
        let talent = app.new_talent().await;
        let key = new_key();
        let res = app.post_idem("/api/v1/credits/allowance", Some(&talent.token), &key, &json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let first = res.text().await.unwrap();
        let t: Value = serde_json::from_str(&first).unwrap();
        assert_eq!(t["kind"], "allowance");
        assert_eq!(t["amount"], json!(50), "tier 0 gets 50 by default");
        assert_eq!(t["balance_after"], json!(50));
        let period = chrono::Utc::now().format("%Y-%m").to_string();
        assert_eq!(t["reference"], json!(format!("allowance:{}:{period}", talent.id)));

        let res = app.post_idem("/api/v1/credits/allowance", Some(&talent.token), &new_key(), &json!({})).await;
        assert_problem(res, 409, "allowance_already_claimed").await;
        let res = app.post_idem("/api/v1/credits/allowance", Some(&talent.token), &key, &json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(res.text().await.unwrap(), first, "the retry replays the first answer");
        let res = app.post("/api/v1/credits/allowance", Some(&talent.token), &json!({})).await;
        assert_problem(res, 422, "validation_failed").await;
        assert_eq!(app.balance(&talent).await, (50, 0));

        // Ten claims at once with ten keys: one payment.
        let other = app.new_talent().await;
        let answers = join_all((0..10).map(|_| async {
            Answer::of(app.post_idem("/api/v1/credits/allowance", Some(&other.token), &new_key(), &json!({})).await).await
        }))
        .await;
        assert_eq!(answers.iter().filter(|a| a.status == 201).count(), 1, "{answers:?}");
        for a in answers.iter().filter(|a| a.status != 201) {
            a.assert_problem(409, "allowance_already_claimed");
        }
        assert_eq!(app.balance(&other).await, (50, 0));
        app.assert_books_balance().await;
    }

    async fn nobody_moves_or_reads_credits_they_have_no_right_to(app: &TestApp) {
        let alice = app.new_talent().await;
        let bob = app.new_talent().await;
        let manager = app.new_manager().await;
        app.fund(alice.id, 100).await;
        app.fund(bob.id, 100).await;

        // Grants: talents never; managers never to themselves.
        let res = app
            .post_idem("/api/v1/credits/grants", Some(&alice.token), &new_key(), &json!({ "talent_id": bob.id, "amount": 5, "reason": "gift" }))
            .await;
        assert_problem(res, 403, "forbidden").await;
        let res = app
            .post_idem("/api/v1/credits/grants", Some(&manager.token), &new_key(), &json!({ "talent_id": manager.id, "amount": 5, "reason": "me" }))
            .await;
        assert_problem(res, 403, "forbidden").await;
        let res = app
            .post_idem("/api/v1/credits/grants", None, &new_key(), &json!({ "talent_id": bob.id, "amount": 5, "reason": "anon" }))
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

        // Spending and holding another talent's credits.
        let res = app
            .post_idem("/api/v1/credits/spends", Some(&alice.token), &new_key(), &json!({ "talent_id": bob.id, "amount": 5, "purpose": "theft" }))
            .await;
        assert_problem(res, 403, "forbidden").await;
        let res = app
            .post_idem("/api/v1/credits/holds", Some(&alice.token), &new_key(), &json!({ "talent_id": bob.id, "amount": 5, "purpose": "theft" }))
            .await;
        assert_problem(res, 403, "forbidden").await;
        // Naming oneself is fine.
        let res = app
            .post_idem("/api/v1/credits/spends", Some(&alice.token), &new_key(), &json!({ "talent_id": alice.id, "amount": 5, "purpose": "mine" }))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);

        // Reading: another talent's balance, history and holds do not exist.
        assert_problem(app.get(&format!("/api/v1/talents/{}/credits", bob.id), Some(&alice.token)).await, 404, "not_found").await;
        assert_problem(app.get(&format!("/api/v1/talents/{}/credits/transactions", bob.id), Some(&alice.token)).await, 404, "not_found").await;
        assert_eq!(balance_of(app, &alice, alice.id).await, (95, 0));
        let bobs = new_hold(app, &bob, 40, None).await;
        assert_problem(app.get(&format!("/api/v1/credits/holds/{bobs}"), Some(&alice.token)).await, 404, "not_found").await;
        assert_problem(capture(app, &alice, &bobs, &new_key(), None).await, 404, "not_found").await;
        assert_problem(release(app, &alice, &bobs, &new_key()).await, 404, "not_found").await;
        assert_problem(app.get(&format!("/api/v1/credits/holds/{bobs}"), Some(&manager.token)).await, 404, "not_found").await;
        assert_eq!(get_hold(app, &bob, &bobs).await["status"], "pending");

        // Reversing is for admins.
        let spent = body(spend(app, &bob, &new_key(), 10).await).await;
        assert_problem(reverse(app, &alice, &id_of(&spent), &new_key()).await, 403, "forbidden").await;
        assert_problem(reverse(app, &bob, &id_of(&spent), &new_key()).await, 403, "forbidden").await;

        // Staff read any talent's balance and history.
        assert_eq!(balance_of(app, &manager, bob.id).await, (50, 40));
        let res = app.get(&format!("/api/v1/talents/{}/credits/transactions", bob.id), Some(&manager.token)).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(body(res).await["items"].as_array().unwrap().len(), 2);
        assert_problem(app.get(&format!("/api/v1/talents/{}/credits", Uuid::new_v4()), Some(&manager.token)).await, 404, "not_found").await;

        // Service keys: the scope decides, and the talent must be named.
        let spender = app.new_api_key(&["credits:spend"]).await;
        let holder = app.new_api_key(&["credits:hold"]).await;
        let b = json!({ "talent_id": bob.id, "amount": 5, "purpose": "run" });
        assert_problem(app.post_service("/api/v1/credits/holds", &spender, &new_key(), &b).await, 403, "forbidden").await;
        assert_problem(app.post_service("/api/v1/credits/spends", &holder, &new_key(), &b).await, 403, "forbidden").await;
        let res = app.post_service("/api/v1/credits/spends", &spender, &new_key(), &json!({ "amount": 5, "purpose": "run" })).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "talent_id");
        assert_problem(app.post_service(&format!("/api/v1/credits/holds/{bobs}/capture"), &spender, &new_key(), &json!({})).await, 403, "forbidden").await;
        assert_problem(app.post_service(&format!("/api/v1/credits/holds/{bobs}/release"), &spender, &new_key(), &json!({})).await, 403, "forbidden").await;
        let res = app.post_service("/api/v1/credits/holds", &holder, &new_key(), &b).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let svc_hold = id_of(&body(res).await);
        let res = app.post_service(&format!("/api/v1/credits/holds/{bobs}/capture"), &holder, &new_key(), &json!({ "amount": 15 })).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app.post_service(&format!("/api/v1/credits/holds/{svc_hold}/release"), &holder, &new_key(), &json!({})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app
            .client
            .post(app.url("/api/v1/credits/spends"))
            .header("X-Api-Key", "kk_not_a_real_key")
            .header("Idempotency-Key", new_key())
            .json(&b)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        // A service key is not a person: no grants, no allowance, no /me.
        let res = app
            .client
            .post(app.url("/api/v1/credits/grants"))
            .header("X-Api-Key", &spender)
            .header("Idempotency-Key", new_key())
            .json(&json!({ "talent_id": bob.id, "amount": 5, "reason": "svc" }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

        assert_eq!(app.balance(&alice).await, (95, 0));
        assert_eq!(app.balance(&bob).await, (75, 0));
        app.assert_books_balance().await;
    }

    async fn bad_amounts_and_missing_fields_are_refused_without_effect(app: &TestApp) {
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        app.fund(talent.id, 1_000).await;
        let bad_amounts = [json!(0), json!(-10), json!(1.5), json!("10"), json!(i64::MAX), json!(i64::MIN), json!(null), json!(1_000_000_001_i64)];
        for amount in &bad_amounts {
            let res = app
                .post_idem("/api/v1/credits/spends", Some(&talent.token), &new_key(), &json!({ "amount": amount, "purpose": "x" }))
                .await;
            assert_problem(res, 422, "validation_failed").await;
            let res = app
                .post_idem("/api/v1/credits/holds", Some(&talent.token), &new_key(), &json!({ "amount": amount, "purpose": "x" }))
                .await;
            assert_problem(res, 422, "validation_failed").await;
            let res = app
                .post_idem("/api/v1/credits/grants", Some(&manager.token), &new_key(), &json!({ "talent_id": talent.id, "amount": amount, "reason": "x" }))
                .await;
            assert_problem(res, 422, "validation_failed").await;
        }
        let cases = [
            ("/api/v1/credits/spends", json!({ "amount": 10 })),
            ("/api/v1/credits/spends", json!({ "amount": 10, "purpose": "" })),
            ("/api/v1/credits/spends", json!({ "amount": 10, "purpose": "x".repeat(501) })),
            ("/api/v1/credits/spends", json!({ "amount": 10, "purpose": "x", "memo": "extra" })),
            ("/api/v1/credits/holds", json!({ "amount": 10 })),
            ("/api/v1/credits/holds", json!({ "amount": 10, "purpose": "x", "expires_in_seconds": 0 })),
            ("/api/v1/credits/holds", json!({ "amount": 10, "purpose": "x", "expires_in_seconds": 604_801 })),
            ("/api/v1/credits/grants", json!({ "amount": 10, "reason": "x" })),
            ("/api/v1/credits/grants", json!({ "talent_id": talent.id, "amount": 10 })),
            ("/api/v1/credits/grants", json!({ "talent_id": "not-a-uuid", "amount": 10, "reason": "x" })),
        ];
        for (path, b) in &cases {
            let token = if path.ends_with("grants") { &manager.token } else { &talent.token };
            let res = app.post_idem(path, Some(token), &new_key(), b).await;
            let problem = assert_problem(res, 422, "validation_failed").await;
            assert!(problem["errors"].as_array().is_some_and(|e| !e.is_empty()), "{path} {b}: {problem}");
        }
        // The Idempotency-Key header is required, and must be sane.
        let res = app.post("/api/v1/credits/spends", Some(&talent.token), &json!({ "amount": 10, "purpose": "x" })).await;
        let problem = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(problem["errors"][0]["field"], "Idempotency-Key");
        for bad in ["x".repeat(256), "has space".to_owned()] {
            let res = app.post_idem("/api/v1/credits/spends", Some(&talent.token), &bad, &json!({ "amount": 10, "purpose": "x" })).await;
            assert_problem(res, 422, "validation_failed").await;
        }
        let res = app.post("/api/v1/credits/grants", Some(&manager.token), &json!({ "talent_id": talent.id, "amount": 10, "reason": "x" })).await;
        assert_problem(res, 422, "validation_failed").await;
        let id = new_hold(app, &talent, 10, None).await;
        let res = app.post(&format!("/api/v1/credits/holds/{id}/capture"), Some(&talent.token), &json!({})).await;
        assert_problem(res, 422, "validation_failed").await;
        let res = app.post(&format!("/api/v1/credits/holds/{id}/release"), Some(&talent.token), &json!({})).await;
        assert_problem(res, 422, "validation_failed").await;

        // A grant to nobody.
        let res = app
            .post_idem("/api/v1/credits/grants", Some(&manager.token), &new_key(), &json!({ "talent_id": Uuid::new_v4(), "amount": 10, "reason": "x" }))
            .await;
        assert_problem(res, 404, "not_found").await;
        // A service key naming nobody.
        let svc = app.new_api_key(&["credits:spend"]).await;
        let res = app
            .post_service("/api/v1/credits/spends", &svc, &new_key(), &json!({ "talent_id": Uuid::new_v4(), "amount": 10, "purpose": "x" }))
            .await;
        assert_problem(res, 404, "not_found").await;
        // A bad cursor, a bad page size, a bad kind filter.
        assert_problem(app.get("/api/v1/me/credits/transactions?cursor=bm9wZQ", Some(&talent.token)).await, 422, "validation_failed").await;
        assert_problem(app.get("/api/v1/me/credits/transactions?limit=0", Some(&talent.token)).await, 422, "validation_failed").await;
        assert_problem(app.get("/api/v1/me/credits/transactions?limit=101", Some(&talent.token)).await, 422, "validation_failed").await;
        assert_problem(app.get("/api/v1/me/credits/transactions?kind=gift", Some(&talent.token)).await, 422, "validation_failed").await;

        assert_eq!(app.balance(&talent).await, (990, 10));
        assert_eq!(all_history(app, &talent, "").await.len(), 1, "only the funding grant");
        app.assert_books_balance().await;
    }

    async fn history_pages_have_no_gaps_or_repeats_and_filter_by_kind(app: &TestApp) {
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        let mut made = vec![id_of(&grant(app, &manager, talent.id, 1_000).await)];
        for i in 1..=20 {
            let res = spend(app, &talent, &new_key(), i).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            made.push(id_of(&body(res).await));
        }
        for amount in [30, 40] {
            let h = new_hold(app, &talent, amount, None).await;
            let res = capture(app, &talent, &h, &new_key(), Some(amount - 5)).await;
            assert_eq!(res.status(), StatusCode::OK);
            made.push(body(res).await["capture_transaction_id"].as_str().unwrap().to_owned());
        }
        made.push(id_of(&grant(app, &manager, talent.id, 7).await));
        let admin = app.new_admin().await;
        let res = reverse(app, &admin, &made[3], &new_key()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        made.push(id_of(&body(res).await));
        assert_eq!(made.len(), 25);

        // Page through 7 at a time; new transactions in between do not shift the pages.
        let mut items: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut sizes = Vec::new();
        let mut later = Vec::new();
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/me/credits/transactions?limit=7&cursor={c}"),
                None => "/api/v1/me/credits/transactions?limit=7".to_owned(),
            };
            let page = body(app.get(&path, Some(&talent.token)).await).await;
            let page_items = page["items"].as_array().unwrap().clone();
            sizes.push(page_items.len());
            items.extend(page_items);
            let res = spend(app, &talent, &new_key(), 1).await;
            assert_eq!(res.status(), StatusCode::CREATED);
            later.push(id_of(&body(res).await));
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(sizes, [7, 7, 7, 4]);
        let ids: Vec<String> = items.iter().map(id_of).collect();
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "no repeats");
        let mut newest_first = made.clone();
        newest_first.reverse();
        assert_eq!(ids, newest_first, "exactly what was made, newest first");
        for pair in items.windows(2) {
            let (newer, older) = (&pair[0], &pair[1]);
            assert_eq!(
                newer["balance_after"].as_i64().unwrap() - newer["amount"].as_i64().unwrap(),
                older["balance_after"].as_i64().unwrap(),
                "balance_after chains: {newer} after {older}"
            );
            assert!(time_of(newer) >= time_of(older), "newest first: {newer} after {older}");
        }
        assert_eq!(items.last().unwrap()["balance_after"], json!(1_000));

        // Now with the later spends: the whole history folds to the balance.
        let all = all_history(app, &talent, "").await;
        assert_eq!(all.len(), 25 + later.len());
        let posted: i64 = all.iter().map(|t| t["amount"].as_i64().unwrap()).sum();
        let (available, held) = app.balance(&talent).await;
        assert_eq!(held, 0);
        assert_eq!(posted, available);
        assert_eq!(all[0]["balance_after"], json!(available));

        // Filters by kind, through pages too.
        let spends: Vec<Value> = history(app, &talent, 3, "kind=spend").await.concat();
        assert_eq!(spends.len(), 20 + later.len());
        assert!(spends.iter().all(|t| t["kind"] == "spend"));
        let spend_ids: HashSet<String> = spends.iter().map(id_of).collect();
        assert_eq!(spend_ids.len(), spends.len());
        let captures = all_history(app, &talent, "kind=capture").await;
        assert_eq!(captures.iter().map(|t| t["amount"].as_i64().unwrap()).collect::<Vec<_>>(), [-35, -25]);
        assert_eq!(all_history(app, &talent, "kind=grant").await.len(), 2);
        let reversals = all_history(app, &talent, "kind=reversal").await;
        assert_eq!(reversals.len(), 1);
        assert_eq!(reversals[0]["reverses_id"], json!(made[3]));
        assert_eq!(reversals[0]["amount"], json!(3));
        assert!(all_history(app, &talent, "kind=allowance").await.is_empty());
        // A time window: everything is after the epoch, nothing before it.
        assert_eq!(all_history(app, &talent, "from=2000-01-01T00:00:00Z").await.len(), all.len());
        assert!(all_history(app, &talent, "to=2000-01-01T00:00:00Z").await.is_empty());
        ledger_ok(app, &admin).await;
    }

    async fn a_refused_spend_changes_nothing_and_stays_refused_on_retry(app: &TestApp) {
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        let admin = app.new_admin().await;
        grant(app, &manager, talent.id, 5).await;
        let before = ledger_ok(app, &admin).await;
        let history_before = all_history(app, &talent, "").await;

        let key = new_key();
        let refused = Answer::of(spend(app, &talent, &key, 10).await).await;
        refused.assert_problem(409, "insufficient_credits");
        let hold_key = new_key();
        let refused_hold = Answer::of(hold(app, &talent, &hold_key, 10, None).await).await;
        refused_hold.assert_problem(409, "insufficient_credits");

        assert_eq!(app.balance(&talent).await, (5, 0));
        assert_eq!(all_history(app, &talent, "").await, history_before);
        let after = ledger_ok(app, &admin).await;
        for k in ["transactions", "entries", "open_holds", "book_total"] {
            assert_eq!(after[k], before[k], "{k}");
        }

        // Funded now, the same request under the same key is still the same refusal.
        grant(app, &manager, talent.id, 100).await;
        assert_eq!(Answer::of(spend(app, &talent, &key, 10).await).await, refused);
        assert_eq!(Answer::of(hold(app, &talent, &hold_key, 10, None).await).await, refused_hold);
        assert_eq!(app.balance(&talent).await, (105, 0));
        // A new key is a new request.
        let res = spend(app, &talent, &new_key(), 10).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(app.balance(&talent).await, (95, 0));
        ledger_ok(app, &admin).await;
    }

    async fn a_seeded_random_walk_matches_an_in_memory_model(app: &TestApp) {
        random_walk(app, seed(), steps()).await;
    }
}

// ---- two instances, one PostgreSQL database ----

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
async fn two_instances_on_one_postgres_database_keep_one_ledger() {
    let Some(app) = TestApp::spawn_with(Backend::Postgres, |_| {}).await else {
        return;
    };
    assert_eq!(backend(&app), "postgres");
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
    assert_eq!(all_history(&app, &other, "kind=spend").await.len(), 1);
    assert_eq!(app.balance(&other).await, (93, 0));
    app.assert_books_balance().await;

    second_handle.stop(false).await;
    app.stop().await;
}

// ---- the seeded model test ----

/// SplitMix64: small, deterministic, good enough to pick test steps.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// A number in `lo..=hi`.
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as i64
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
}

/// `CREDITS_STEPS` makes a longer walk; 150 by default.
fn steps() -> usize {
    std::env::var("CREDITS_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150)
}

/// `CREDITS_SEED` replays a run; otherwise a fixed seed.
fn seed() -> u64 {
    std::env::var("CREDITS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_2026)
}

#[derive(Debug, Default, Clone, Copy)]
struct ModelAccount {
    posted: i64,
    held: i64,
}

impl ModelAccount {
    fn available(self) -> i64 {
        self.posted - self.held
    }
}

#[derive(Debug)]
struct ModelHold {
    id: String,
    talent: usize,
    amount: i64,
    open: bool,
}

#[derive(Debug)]
struct ModelTx {
    id: String,
    talent: usize,
    /// Signed, from the talent's side.
    amount: i64,
    is_reversal: bool,
    reversed: bool,
}

/// A request that was sent, with its answer, to send again later.
struct Sent {
    path: String,
    token: String,
    key: String,
    body: Value,
    answer: Answer,
}

struct Walk<'a> {
    app: &'a TestApp,
    rng: Rng,
    seed: u64,
    step: usize,
    talents: Vec<User>,
    manager: User,
    admin: User,
    accounts: Vec<ModelAccount>,
    holds: Vec<ModelHold>,
    txs: Vec<ModelTx>,
    sent: Vec<Sent>,
    /// How often each operation got each status, to see what a seed covers.
    tally: BTreeMap<String, usize>,
}

impl Walk<'_> {
    fn at(&self) -> String {
        format!(
            "{}, seed {}, step {}",
            backend(self.app),
            self.seed,
            self.step
        )
    }

    async fn send(&mut self, path: String, token: String, body: Value) -> Answer {
        let key = new_key();
        let answer = Answer::of(self.app.post_idem(&path, Some(&token), &key, &body).await).await;
        let op = path.rsplit('/').next().unwrap_or_default();
        *self
            .tally
            .entry(format!("{op} {}", answer.status))
            .or_default() += 1;
        self.sent.push(Sent {
            path,
            token,
            key,
            body,
            answer: answer.clone(),
        });
        answer
    }

    fn expect_ok(&self, answer: &Answer, status: u16, what: &str) -> Value {
        assert_eq!(answer.status, status, "{what} at {}: {answer:?}", self.at());
        answer.json()
    }

    fn expect_problem(&self, answer: &Answer, status: u16, code: &str, what: &str) {
        assert_eq!(answer.status, status, "{what} at {}: {answer:?}", self.at());
        assert_eq!(
            answer.json()["code"],
            json!(code),
            "{what} at {}: {answer:?}",
            self.at()
        );
    }

    async fn grant(&mut self) {
        let t = self.rng.below(self.talents.len());
        let amount = self.rng.between(1, 600);
        let b = json!({ "talent_id": self.talents[t].id, "amount": amount, "reason": "walk" });
        let token = self.manager.token.clone();
        let a = self.send("/api/v1/credits/grants".into(), token, b).await;
        let tx = self.expect_ok(&a, 201, "grant");
        self.accounts[t].posted += amount;
        assert_eq!(
            tx["balance_after"],
            json!(self.accounts[t].posted),
            "grant at {}",
            self.at()
        );
        self.txs.push(ModelTx {
            id: id_of(&tx),
            talent: t,
            amount,
            is_reversal: false,
            reversed: false,
        });
    }

    async fn spend(&mut self) {
        let t = self.rng.below(self.talents.len());
        let amount = self.rng.between(1, 300);
        let b = json!({ "amount": amount, "purpose": "walk" });
        let token = self.talents[t].token.clone();
        let a = self.send("/api/v1/credits/spends".into(), token, b).await;
        if self.accounts[t].available() >= amount {
            let tx = self.expect_ok(&a, 201, "spend");
            self.accounts[t].posted -= amount;
            assert_eq!(
                tx["balance_after"],
                json!(self.accounts[t].posted),
                "spend at {}",
                self.at()
            );
            self.txs.push(ModelTx {
                id: id_of(&tx),
                talent: t,
                amount: -amount,
                is_reversal: false,
                reversed: false,
            });
        } else {
            self.expect_problem(&a, 409, "insufficient_credits", "spend");
        }
    }

    async fn hold(&mut self) {
        let t = self.rng.below(self.talents.len());
        let amount = self.rng.between(1, 300);
        let b = json!({ "amount": amount, "purpose": "walk" });
        let token = self.talents[t].token.clone();
        let a = self.send("/api/v1/credits/holds".into(), token, b).await;
        if self.accounts[t].available() >= amount {
            let h = self.expect_ok(&a, 201, "hold");
            self.accounts[t].held += amount;
            self.holds.push(ModelHold {
                id: id_of(&h),
                talent: t,
                amount,
                open: true,
            });
        } else {
            self.expect_problem(&a, 409, "insufficient_credits", "hold");
        }
    }

    /// A hold to settle: mostly an open one, sometimes any.
    fn pick_hold(&mut self) -> Option<usize> {
        let open: Vec<usize> = (0..self.holds.len())
            .filter(|&i| self.holds[i].open)
            .collect();
        if !open.is_empty() && self.rng.chance(80) {
            Some(open[self.rng.below(open.len())])
        } else if self.holds.is_empty() {
            None
        } else {
            Some(self.rng.below(self.holds.len()))
        }
    }

    async fn capture(&mut self) {
        let Some(i) = self.pick_hold() else {
            return self.hold().await;
        };
        let (id, t, held, open) = (
            self.holds[i].id.clone(),
            self.holds[i].talent,
            self.holds[i].amount,
            self.holds[i].open,
        );
        let roll = self.rng.below(10);
        let amount = match roll {
            0 => Some(held + 1),
            1..=4 => None,
            _ => Some(self.rng.between(1, held)),
        };
        let b = amount.map_or_else(|| json!({}), |a| json!({ "amount": a }));
        let token = self.talents[t].token.clone();
        let a = self
            .send(format!("/api/v1/credits/holds/{id}/capture"), token, b)
            .await;
        if roll == 0 {
            self.expect_problem(&a, 422, "capture_exceeds_hold", "capture over the hold");
        } else if !open {
            self.expect_problem(&a, 409, "hold_not_pending", "capture of a settled hold");
        } else {
            let h = self.expect_ok(&a, 200, "capture");
            let take = amount.unwrap_or(held);
            assert_eq!(h["status"], "captured", "capture at {}", self.at());
            assert_eq!(
                h["captured_amount"],
                json!(take),
                "capture at {}",
                self.at()
            );
            self.holds[i].open = false;
            self.accounts[t].held -= held;
            self.accounts[t].posted -= take;
            let tx = h["capture_transaction_id"].as_str().unwrap().to_owned();
            self.txs.push(ModelTx {
                id: tx,
                talent: t,
                amount: -take,
                is_reversal: false,
                reversed: false,
            });
        }
    }

    async fn release(&mut self) {
        let Some(i) = self.pick_hold() else {
            return self.spend().await;
        };
        let (id, t, held, open) = (
            self.holds[i].id.clone(),
            self.holds[i].talent,
            self.holds[i].amount,
            self.holds[i].open,
        );
        let token = self.talents[t].token.clone();
        let a = self
            .send(
                format!("/api/v1/credits/holds/{id}/release"),
                token,
                json!({}),
            )
            .await;
        if open {
            let h = self.expect_ok(&a, 200, "release");
            assert_eq!(h["status"], "released", "release at {}", self.at());
            self.holds[i].open = false;
            self.accounts[t].held -= held;
        } else {
            self.expect_problem(&a, 409, "hold_not_pending", "release of a settled hold");
        }
    }

    async fn reverse(&mut self) {
        if self.txs.is_empty() {
            return self.grant().await;
        }
        let i = self.rng.below(self.txs.len());
        let (id, t, amount) = (
            self.txs[i].id.clone(),
            self.txs[i].talent,
            self.txs[i].amount,
        );
        let token = self.admin.token.clone();
        let b = json!({ "reason": "walk" });
        let a = self
            .send(
                format!("/api/v1/credits/transactions/{id}/reverse"),
                token,
                b,
            )
            .await;
        if self.txs[i].is_reversal {
            self.expect_problem(&a, 409, "invalid_operation", "reversal of a reversal");
        } else if self.txs[i].reversed {
            self.expect_problem(&a, 409, "already_reversed", "second reversal");
        } else if amount > 0 && self.accounts[t].available() < amount {
            self.expect_problem(
                &a,
                409,
                "insufficient_credits",
                "reversal into an overdraft",
            );
        } else {
            let tx = self.expect_ok(&a, 201, "reversal");
            self.accounts[t].posted -= amount;
            assert_eq!(tx["amount"], json!(-amount), "reversal at {}", self.at());
            assert_eq!(
                tx["balance_after"],
                json!(self.accounts[t].posted),
                "reversal at {}",
                self.at()
            );
            self.txs[i].reversed = true;
            self.txs.push(ModelTx {
                id: id_of(&tx),
                talent: t,
                amount: -amount,
                is_reversal: true,
                reversed: false,
            });
        }
    }

    /// Sends an earlier request again, with its key: the same answer, no effect.
    async fn replay(&mut self) {
        if self.sent.is_empty() {
            return self.grant().await;
        }
        let i = self.rng.below(self.sent.len());
        let s = &self.sent[i];
        let again = Answer::of(
            self.app
                .post_idem(&s.path, Some(&s.token), &s.key, &s.body)
                .await,
        )
        .await;
        assert_eq!(
            again,
            s.answer,
            "replay of {} {} at {}",
            s.path,
            s.body,
            self.at()
        );
        *self.tally.entry("replay".to_owned()).or_default() += 1;
    }

    async fn compare_balances(&self) {
        for (t, talent) in self.talents.iter().enumerate() {
            let m = self.accounts[t];
            let got = balance_of(self.app, &self.manager, talent.id).await;
            assert_eq!(got, (m.available(), m.held), "talent {t} at {}", self.at());
        }
    }

    async fn check_books(&self) {
        let report = ledger_ok(self.app, &self.admin).await;
        let open = self.holds.iter().filter(|h| h.open).count();
        assert_eq!(
            report["open_holds"],
            json!(open),
            "at {}: {report}",
            self.at()
        );
        assert_eq!(
            report["transactions"],
            json!(self.txs.len()),
            "at {}: {report}",
            self.at()
        );
        assert_eq!(
            report["entries"],
            json!(2 * self.txs.len()),
            "at {}: {report}",
            self.at()
        );
    }
}

async fn random_walk(app: &TestApp, seed: u64, steps: usize) {
    let started = Instant::now();
    let mut talents = Vec::new();
    for _ in 0..3 {
        talents.push(app.new_talent().await);
    }
    let mut w = Walk {
        app,
        rng: Rng(seed),
        seed,
        step: 0,
        accounts: vec![ModelAccount::default(); talents.len()],
        talents,
        manager: app.new_manager().await,
        admin: app.new_admin().await,
        holds: Vec::new(),
        txs: Vec::new(),
        sent: Vec::new(),
        tally: BTreeMap::new(),
    };
    for step in 1..=steps {
        w.step = step;
        match w.rng.below(100) {
            0..=17 => w.grant().await,
            18..=35 => w.spend().await,
            36..=53 => w.hold().await,
            54..=68 => w.capture().await,
            69..=78 => w.release().await,
            79..=91 => w.reverse().await,
            _ => w.replay().await,
        }
        w.compare_balances().await;
        if step % 10 == 0 {
            w.check_books().await;
        }
    }
    w.check_books().await;
    // Each talent's history folds to their posted balance.
    for (t, talent) in w.talents.iter().enumerate() {
        let items = all_history(app, talent, "").await;
        let sum: i64 = items.iter().map(|i| i["amount"].as_i64().unwrap()).sum();
        assert_eq!(
            sum,
            w.accounts[t].posted,
            "talent {t} history at {}",
            w.at()
        );
        assert_eq!(
            items.len(),
            w.txs.iter().filter(|x| x.talent == t).count(),
            "talent {t} at {}",
            w.at()
        );
    }
    let settled = w.holds.iter().filter(|h| !h.open).count();
    eprintln!(
        "{}: {steps} steps (seed {seed}) in {:?}: {} transactions, {} holds ({settled} settled), {:?}",
        backend(app),
        started.elapsed(),
        w.txs.len(),
        w.holds.len(),
        w.tally
    );
}
