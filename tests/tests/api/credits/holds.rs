//! Holds: capture (whole or partial), release, expiry, and the races between
//! them; open holds count against what a talent can spend.

use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{body, expires_at, id_of, resolved_at, time_of};
use crate::both_backends;
use crate::helpers::{Answer, Backend, TestApp, assert_problem, new_key};

both_backends! {
    async fn a_capture_racing_a_release_of_one_hold_lets_exactly_one_win(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 1_000).await;
        let admin = app.new_admin().await;
        let mut captured = 0;
        for round in 0..10 {
            let id = app.new_hold(&talent, 100, None).await;
            let (ck, rk) = (new_key(), new_key());
            let (c, r) = if round % 2 == 0 {
                tokio::join!(app.capture_hold(&talent, &id, &ck, None), app.release_hold(&talent, &id, &rk))
            } else {
                let (r, c) = tokio::join!(app.release_hold(&talent, &id, &rk), app.capture_hold(&talent, &id, &ck, None));
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
            let h = app.read_hold(&talent, &id).await;
            assert_eq!(h["status"], winner, "round {round}: {h}");
            assert_eq!(app.balance(&talent).await, (1_000 - 100 * captured, 0), "round {round}");
        }
        let captures = app.all_history(&talent, "kind=capture").await;
        assert_eq!(captures.len() as i64, captured);
        let report = app.ledger_ok(&admin).await;
        assert_eq!(report["open_holds"], json!(0));
    }

    async fn a_partial_capture_releases_the_rest_and_a_settled_hold_stays_settled(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 1_000).await;

        let first = app.new_hold(&talent, 300, None).await;
        assert_eq!(app.balance(&talent).await, (700, 300));
        let res = app.capture_hold(&talent, &first, &new_key(), Some(120)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let h = body(res).await;
        assert_eq!(h["status"], "captured");
        assert_eq!(h["captured_amount"], json!(120));
        assert!(h["capture_transaction_id"].is_string(), "{h}");
        assert!(h["resolved_at"].is_string(), "{h}");
        assert_eq!(app.balance(&talent).await, (880, 0), "the other 180 went back");
        let captures = app.all_history(&talent, "kind=capture").await;
        assert_eq!(captures.len(), 1);
        assert_eq!(captures[0]["amount"], json!(-120));
        assert_eq!(captures[0]["balance_after"], json!(880));
        assert_eq!(captures[0]["hold_id"], json!(first));
        assert_eq!(captures[0]["id"], h["capture_transaction_id"]);
        // A captured hold cannot be captured or released again.
        assert_problem(app.capture_hold(&talent, &first, &new_key(), Some(1)).await, 409, "hold_not_pending").await;
        assert_problem(app.release_hold(&talent, &first, &new_key()).await, 409, "hold_not_pending").await;

        let second = app.new_hold(&talent, 200, None).await;
        assert_eq!(app.balance(&talent).await, (680, 200));
        assert_problem(app.capture_hold(&talent, &second, &new_key(), Some(201)).await, 422, "capture_exceeds_hold").await;
        assert_problem(app.capture_hold(&talent, &second, &new_key(), Some(0)).await, 422, "validation_failed").await;
        assert_problem(app.capture_hold(&talent, &second, &new_key(), Some(-5)).await, 422, "validation_failed").await;
        assert_eq!(app.read_hold(&talent, &second).await["status"], "pending");
        assert_eq!(app.balance(&talent).await, (680, 200), "refused captures changed nothing");

        let release_key = new_key();
        let res = app.release_hold(&talent, &second, &release_key).await;
        assert_eq!(res.status(), StatusCode::OK);
        let released = res.text().await.unwrap();
        let h: Value = serde_json::from_str(&released).unwrap();
        assert_eq!(h["status"], "released");
        assert!(h["captured_amount"].is_null());
        assert_eq!(app.balance(&talent).await, (880, 0));
        assert_problem(app.capture_hold(&talent, &second, &new_key(), None).await, 409, "hold_not_pending").await;
        assert_problem(app.release_hold(&talent, &second, &new_key()).await, 409, "hold_not_pending").await;
        // The first release's key still answers as it did.
        let again = app.release_hold(&talent, &second, &release_key).await;
        assert_eq!(again.status(), StatusCode::OK);
        assert_eq!(again.text().await.unwrap(), released);
        assert_eq!(app.balance(&talent).await, (880, 0));
        assert_problem(app.capture_hold(&talent, &Uuid::new_v4().to_string(), &new_key(), None).await, 404, "not_found").await;
        app.assert_books_balance().await;
    }

    async fn an_expired_hold_cannot_be_captured_and_open_holds_count_against_available(app: &TestApp) {
        let talent = app.new_talent().await;
        let manager = app.new_manager().await;
        app.new_grant(&manager, talent.id, 5_000).await;
        let short = app.create_hold(&talent, &new_key(), 1_000, Some(30)).await;
        assert_eq!(short.status(), StatusCode::CREATED);
        let short = body(short).await;
        assert_eq!(expires_at(&short) - time_of(&short), chrono::Duration::seconds(30));
        let short = id_of(&short);
        let long = app.new_hold(&talent, 600, Some(600)).await;
        assert_eq!(app.balance(&talent).await, (3_400, 1_600));
        // Its expiry comes (the clock moved for this hold, not waited for).
        expire_now(app, &short).await;
        assert_problem(app.capture_hold(&talent, &short, &new_key(), None).await, 409, "hold_expired").await;
        // Nor released: past its expiry it is expired, whatever comes first.
        assert_problem(app.release_hold(&talent, &short, &new_key()).await, 409, "hold_expired").await;
        // Nothing has read the balance since: the spend itself finds the expired
        // hold in its way and releases it.
        let res = app.spend(&talent, &new_key(), 4_000).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(body(res).await["balance_after"], json!(1_000));
        assert_eq!(app.balance(&talent).await, (400, 600), "the expired hold is released, the other is not");
        let h = app.read_hold(&talent, &short).await;
        assert_eq!(h["status"], "expired");
        assert!(h["captured_amount"].is_null());
        assert!(resolved_at(&h) >= expires_at(&h), "never released early: {h}");
        assert_eq!(app.read_hold(&talent, &long).await["status"], "pending");
        assert_problem(app.capture_hold(&talent, &short, &new_key(), None).await, 409, "hold_expired").await;
        assert_problem(app.release_hold(&talent, &short, &new_key()).await, 409, "hold_expired").await;
        let res = app.release_hold(&talent, &long, &new_key()).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(app.balance(&talent).await, (1_000, 0));
        app.new_grant(&manager, talent.id, 4_000).await;

        // Six holds of 1,000 on 5,000, all at once: five fit, the sixth does not.
        let answers = join_all((0..6).map(|_| async { Answer::of(app.create_hold(&talent, &new_key(), 1_000, None).await).await })).await;
        assert_eq!(answers.iter().filter(|a| a.status == 201).count(), 5, "{answers:?}");
        for a in answers.iter().filter(|a| a.status != 201) {
            a.assert_problem(409, "insufficient_credits");
        }
        assert_eq!(app.balance(&talent).await, (0, 5_000));
        assert_problem(app.spend(&talent, &new_key(), 1).await, 409, "insufficient_credits").await;
        assert_problem(app.create_hold(&talent, &new_key(), 1, None).await, 409, "insufficient_credits").await;
        let report = {
            let admin = app.new_admin().await;
            app.ledger_ok(&admin).await
        };
        assert_eq!(report["open_holds"], json!(5));
    }

    async fn a_capture_racing_the_expiry_of_its_hold_is_either_in_time_or_refused(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 1_000).await;
        let mut holds = Vec::new();
        for _ in 0..10 {
            let res = app.create_hold(&talent, &new_key(), 50, Some(1)).await;
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
                Answer::of(app.capture_hold(talent, &id, &new_key(), None).await).await
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
            let now = app.read_hold(&talent, &id_of(h)).await;
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
        eprintln!("{}: {captured} of 10 captures beat their expiry", app.backend_name());
        assert_eq!(app.balance(&talent).await, (1_000 - 50 * captured, 0));
        for h in &holds {
            let now = app.read_hold(&talent, &id_of(h)).await;
            assert!(now["status"] == "captured" || now["status"] == "expired", "{now}");
            if now["status"] == "expired" {
                assert!(resolved_at(&now) >= expires_at(&now), "released early: {now}");
            }
        }
        app.assert_books_balance().await;
    }
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct HoldRow {
    status: String,
    expires_at: chrono::DateTime<chrono::Utc>,
    resolved_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, sea_orm::FromQueryResult)]
struct Held {
    held: i64,
}

both_backends! {
    #[settings(|s| s.hold_sweep_interval_seconds = 1)]
    async fn the_sweeper_releases_an_expired_hold_that_nobody_reads(app: &TestApp) {
        let talent = app.new_talent().await;
        app.fund(talent.id, 100).await;
        let short = app.new_hold(&talent, 30, Some(600)).await;
        let long = app.new_hold(&talent, 20, None).await;
        // Watched in the database only: a balance read, a spend or a listing
        // would release the expired hold themselves.
        let hold = |id: &str| {
            let id: Uuid = id.parse().unwrap();
            async move {
                app.query_sql::<HoldRow>("SELECT status, expires_at, resolved_at FROM credit_holds WHERE id = $1", [id.into()])
                    .await
                    .unwrap()
            }
        };
        let held = || async {
            app.query_sql::<Held>("SELECT held FROM ledger_accounts WHERE talent_id = $1", [talent.id.into()])
                .await
                .unwrap()
                .held
        };
        assert_eq!(held().await, 50);
        // Its expiry comes (the clock moved for this hold, not waited for).
        expire_now(app, &short).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        let swept = loop {
            let h = hold(&short).await;
            if h.status != "pending" {
                break h;
            }
            assert!(std::time::Instant::now() < deadline, "not swept within 20 s: {h:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert_eq!(swept.status, "expired", "{swept:?}");
        assert!(swept.resolved_at.unwrap() >= swept.expires_at, "never before its expiry: {swept:?}");
        assert_eq!(held().await, 20, "the expired hold's credits are free again");
        assert_eq!(hold(&long).await.status, "pending");
        // As the API shows it.
        assert_eq!(app.read_hold(&talent, &short).await["status"], "expired");
        assert_eq!(app.balance(&talent).await, (80, 20));
        app.assert_books_balance().await;
    }
}

/// Moves a hold's expiry a second into the past: time passing for that hold
/// alone, so that no test waits on the clock (or races it on a busy machine).
async fn expire_now(app: &TestApp, hold_id: &str) {
    let id: Uuid = hold_id.parse().expect("hold id");
    let past = chrono::Utc::now() - chrono::Duration::seconds(1);
    let moved = app
        .exec_sql(
            "UPDATE credit_holds SET expires_at = $1 WHERE id = $2 AND status = 'pending'",
            [past.into(), id.into()],
        )
        .await;
    assert_eq!(moved, 1, "the hold is pending");
}
