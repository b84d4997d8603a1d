//! The review queue: claims never share a seat, a lapsed lease frees its
//! seat (through the job), a claim is its holder's, a claimed seat is
//! refused to other reviewers, and the queue's depth is counted.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::id;
use crate::both_backends;
use crate::helpers::{Backend, Loop, TestApp, User, assert_problem, challenge_spec, new_key};

/// A judging challenge with one submission by each of `n` new talents; the
/// challenge and the submissions in the order they were sent.
pub(super) async fn judging_with(app: &TestApp, manager: &User, n: usize) -> (String, Vec<String>) {
    judging_with_spec(app, manager, &challenge_spec(), n).await
}

/// The same, for a challenge made from `spec`.
pub(super) async fn judging_with_spec(
    app: &TestApp,
    manager: &User,
    spec: &serde_json::Value,
    n: usize,
) -> (String, Vec<String>) {
    let cid = app.open_challenge(manager, spec).await;
    let mut sids = Vec::new();
    for _ in 0..n {
        let talent = app.new_talent().await;
        let asset = format!("https://x.example/{}.png", new_key());
        sids.push(app.new_submission(&talent, &cid, &asset).await);
    }
    assert_eq!(
        app.transition(manager, &cid, "judging").await.status(),
        StatusCode::OK
    );
    (cid, sids)
}

/// Claims for `by` until the queue has nothing more for them; the claims.
async fn claim_all(app: &TestApp, by: &User, body: &Value) -> Vec<Value> {
    let mut claims = Vec::new();
    loop {
        let res = app.claim_review(by, body).await;
        match res.status() {
            StatusCode::CREATED => claims.push(res.json().await.unwrap()),
            StatusCode::NO_CONTENT => return claims,
            s => panic!("claim: {s} {}", res.text().await.unwrap()),
        }
    }
}

/// The kinds of the events about `subject`, oldest first.
pub(super) async fn event_kinds(app: &TestApp, subject: &str) -> Vec<String> {
    let events = kartel_domain::events::about(&app.db, subject.parse().unwrap())
        .await
        .unwrap();
    events
        .iter()
        .map(|e| e.event.kind().as_str().to_owned())
        .collect()
}

async fn line(app: &TestApp, by: &User, cid: &str) -> Value {
    let res = app.review_queue(by, &format!("challenge_id={cid}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    page["items"][0].clone()
}

both_backends! {
    async fn eight_managers_claiming_at_once_never_share_a_seat(app: &TestApp) {
        let owner = app.new_manager().await;
        let (cid, sids) = judging_with(app, &owner, 12).await;
        // Judging opened a seat per submission, announced once.
        assert_eq!(event_kinds(app, &cid).await.iter().filter(|k| *k == "review.needed").count(), 1);
        let q = line(app, &owner, &cid).await;
        assert_eq!((q["waiting"].clone(), q["claimed"].clone()), (json!(12), json!(0)), "{q}");
        assert!(q["oldest_age_seconds"].as_i64().unwrap() >= 0);

        let mut managers = Vec::new();
        for _ in 0..8 {
            managers.push(app.new_manager().await);
        }
        let body = json!({ "challenge_id": cid });
        let all = futures::future::join_all(managers.iter().map(|m| claim_all(app, m, &body))).await;
        let mut seats = BTreeSet::new();
        let mut claim_ids = BTreeSet::new();
        for (m, claims) in managers.iter().zip(&all) {
            for c in claims {
                assert_eq!(c["claim"]["reviewer_id"], json!(m.id));
                let seat = (c["claim"]["submission_id"].as_str().unwrap().to_owned(), c["claim"]["seat"].as_i64().unwrap());
                assert!(seats.insert(seat.clone()), "seat {seat:?} given twice");
                assert!(claim_ids.insert(c["claim"]["id"].as_str().unwrap().to_owned()));
                assert_eq!(c["submission"]["id"], c["claim"]["submission_id"]);
            }
        }
        assert_eq!(seats.len(), 12, "every seat claimed once");
        let claimed: BTreeSet<String> = seats.iter().map(|(s, _)| s.clone()).collect();
        assert_eq!(claimed, sids.iter().cloned().collect::<BTreeSet<_>>());
        let q = line(app, &owner, &cid).await;
        assert_eq!((q["waiting"].clone(), q["claimed"].clone(), q["oldest_age_seconds"].clone()), (json!(0), json!(12), Value::Null));
        // Each claim is an event about its submission.
        assert!(event_kinds(app, &sids[0]).await.contains(&"review.claimed".to_owned()));
    }

    async fn the_oldest_submission_is_offered_first_and_a_claimed_seat_is_its_reviewers(app: &TestApp) {
        let owner = app.new_manager().await;
        let (cid, sids) = judging_with(app, &owner, 2).await;
        let (a, b) = (app.new_manager().await, app.new_manager().await);
        let res = app.claim_review(&a, &json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let first: Value = res.json().await.unwrap();
        assert_eq!(first["claim"]["submission_id"], json!(sids[0]), "the oldest first");
        assert_eq!((first["claim"]["seat"].clone(), first["claim"]["kind"].clone()), (json!(1), json!("regular")));
        // Another manager cannot review the claimed seat.
        let body = crate::helpers::review_spec(8.0, 8.0, "accepted", 1);
        assert_problem(app.review(&b, &sids[0], &body).await, 409, "seat_claimed").await;
        assert_problem(app.claim_review(&b, &json!({ "submission_id": sids[0] })).await, 409, "seat_claimed").await;
        // The holder does, and the claim ends with the review.
        assert_eq!(app.review(&a, &sids[0], &body).await.status(), StatusCode::CREATED);
        assert_problem(app.extend_claim(&a, first["claim"]["id"].as_str().unwrap()).await, 404, "not_found").await;
        assert_problem(app.claim_review(&b, &json!({ "submission_id": sids[0] })).await, 409, "no_open_seat").await;
        // A review without a claim still works for a seat nobody holds.
        assert_eq!(app.review(&b, &sids[1], &body).await.status(), StatusCode::CREATED);
        assert_eq!(app.claim_review(&b, &json!({ "challenge_id": cid })).await.status(), StatusCode::NO_CONTENT);
        // Filters: another track's queue is empty; so is an unknown challenge's.
        assert_eq!(app.claim_review(&a, &json!({ "track": "preditor" })).await.status(), StatusCode::NO_CONTENT);
        let page: Value = app.review_queue(&a, "track=preditor").await.json().await.unwrap();
        assert_eq!(page["items"], json!([]));
    }

    #[settings(|s| s.hold_sweep_interval_seconds = 1)]
    async fn an_expired_lease_frees_the_seat(app: &TestApp) {
        let owner = app.new_manager().await;
        let (cid, sids) = judging_with(app, &owner, 1).await;
        let (a, b) = (app.new_manager().await, app.new_manager().await);
        let first: Value = app.claim_review(&a, &json!({})).await.json().await.unwrap();
        let claim = first["claim"]["id"].as_str().unwrap().to_owned();
        assert_eq!(app.claim_review(&b, &json!({})).await.status(), StatusCode::NO_CONTENT);
        // The lease runs out (the clock moved on), and the job sees it.
        crate::challenges::exec_on(app, "UPDATE review_seats SET lease_expires_at = claimed_at WHERE submission_id = $1", &sids[0]).await;
        app.after_rounds(Loop::Jobs, 2).await;
        assert!(event_kinds(app, &sids[0]).await.contains(&"review.lease_expired".to_owned()));
        let q = line(app, &owner, &cid).await;
        assert_eq!((q["waiting"].clone(), q["claimed"].clone()), (json!(1), json!(0)), "{q}");
        assert_problem(app.extend_claim(&a, &claim).await, 409, "claim_expired").await;
        // The seat is anyone's again.
        let res = app.claim_review(&b, &json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let second: Value = res.json().await.unwrap();
        assert_eq!(second["claim"]["submission_id"], json!(sids[0]));
        assert_ne!(second["claim"]["id"], first["claim"]["id"]);
        assert_problem(app.extend_claim(&a, &claim).await, 404, "not_found").await;
        let body = crate::helpers::review_spec(8.0, 8.0, "accepted", 1);
        assert_problem(app.review(&a, &sids[0], &body).await, 409, "seat_claimed").await;
        assert_eq!(app.review(&b, &sids[0], &body).await.status(), StatusCode::CREATED);
        let expired = event_kinds(app, &sids[0]).await.iter().filter(|k| *k == "review.lease_expired").count();
        assert_eq!(expired, 1, "announced once");
    }

    async fn a_claim_is_its_holders_to_extend_and_release_and_an_admins_to_release(app: &TestApp) {
        let owner = app.new_manager().await;
        let (_, sids) = judging_with(app, &owner, 1).await;
        let (a, b, admin) = (app.new_manager().await, app.new_manager().await, app.new_admin().await);
        let (talent, lead) = (app.new_talent().await, app.new_with_roles(&["generative_lead"]).await);
        for who in [&talent, &lead] {
            assert_problem(app.claim_review(who, &json!({})).await, 403, "forbidden").await;
            assert_problem(app.review_queue(who, "").await, 403, "forbidden").await;
        }
        let first: Value = app.claim_review(&a, &json!({})).await.json().await.unwrap();
        let claim = id(&first["claim"]);
        for who in [&talent, &lead] {
            assert_problem(app.extend_claim(who, &claim).await, 403, "forbidden").await;
            assert_problem(app.release_claim(who, &claim).await, 403, "forbidden").await;
        }
        assert_problem(app.extend_claim(&b, &claim).await, 403, "forbidden").await;
        assert_problem(app.release_claim(&b, &claim).await, 403, "forbidden").await;
        assert_problem(app.extend_claim(&admin, &claim).await, 403, "forbidden").await;
        let res = app.extend_claim(&a, &claim).await;
        assert_eq!(res.status(), StatusCode::OK);
        let extended: Value = res.json().await.unwrap();
        assert!(extended["lease_expires_at"].as_str().unwrap() > first["claim"]["lease_expires_at"].as_str().unwrap());
        // Claiming it again answers the live claim.
        let again: Value = app.claim_review(&a, &json!({ "submission_id": sids[0] })).await.json().await.unwrap();
        assert_eq!(again["claim"]["id"], json!(claim));
        // An admin releases someone else's claim; it is gone.
        assert_eq!(app.release_claim(&admin, &claim).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.release_claim(&a, &claim).await, 404, "not_found").await;
        assert!(event_kinds(app, &sids[0]).await.contains(&"review.released".to_owned()));
        // The holder releases their own.
        let res = app.claim_review(&b, &json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let claim = id(&res.json::<Value>().await.unwrap()["claim"]);
        assert_eq!(app.release_claim(&b, &claim).await.status(), StatusCode::NO_CONTENT);
        assert_eq!(app.claim_review(&a, &json!({})).await.status(), StatusCode::CREATED);
    }

    async fn a_retried_claim_with_its_key_is_one_claim(app: &TestApp) {
        let owner = app.new_manager().await;
        judging_with(app, &owner, 2).await;
        let manager = app.new_manager().await;
        let key = new_key();
        let empty = json!({});
        let answers = futures::future::join_all((0..3).map(|_| app.post_idem("/api/v1/review-queue/claim", Some(&manager.token), &key, &empty))).await;
        let mut bodies = Vec::new();
        for r in answers {
            assert_eq!(r.status(), StatusCode::CREATED);
            bodies.push(r.text().await.unwrap());
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "replays differ");
        let q: Value = app.review_queue(&owner, "").await.json().await.unwrap();
        assert_eq!(q["items"][0]["claimed"], 1);
    }
}
