//! More than one reviewer: a submission's outcome is its reviewers'
//! aggregate, decided once every regular seat has a review; a disagreement
//! (decisions, or totals beyond the threshold) opens a tiebreak seat in the
//! queue; the reward moves with the aggregate only, once, through retries,
//! concurrent reviews and chains of overturns; a reviewer fills one seat of
//! a submission; the settings are checked and fixed once judging starts.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::queue::event_kinds;
use super::reviews::judged_submission;
use crate::both_backends;
use crate::helpers::{
    Backend, TestApp, User, assert_problem, challenge_spec, new_key, panel_spec, review_spec,
};

/// Reviews `sid` as `by` (overturning review `overturns`, if given) and
/// expects it to land; the review.
async fn reviewed(
    app: &TestApp,
    by: &User,
    sid: &str,
    mut body: Value,
    overturns: Option<&Value>,
) -> Value {
    if let Some(o) = overturns {
        body["overturns"] = o["id"].clone();
    }
    let res = app.review(by, sid, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "review of {sid}");
    res.json().await.unwrap()
}

/// The submission as staff read it: status, score, outputs.
async fn outcome(app: &TestApp, staff: &User, sid: &str) -> (Value, Value, Value) {
    let s: Value = app
        .get_submission(Some(staff), sid)
        .await
        .json()
        .await
        .unwrap();
    (
        s["status"].clone(),
        s["score"].clone(),
        s["outputs_meeting_standard"].clone(),
    )
}

/// How many events of `kind` are about `subject`.
async fn count(app: &TestApp, subject: &str, kind: &str) -> usize {
    event_kinds(app, subject)
        .await
        .iter()
        .filter(|k| *k == kind)
        .count()
}

/// Open seats waiting in the challenge's queue line (0 without a line).
async fn waiting(app: &TestApp, by: &User, cid: &str) -> i64 {
    let page: Value = app
        .review_queue(by, &format!("challenge_id={cid}"))
        .await
        .json()
        .await
        .unwrap();
    page["items"][0]["waiting"].as_i64().unwrap_or(0)
}

async fn rewards_of(app: &TestApp, talent: &User, sid: &str) -> i64 {
    super::verdict_walk::net_reward(&app.all_history(talent, "").await, sid)
}

both_backends! {
    async fn an_agreeing_double_review_decides_once_and_pays_once(app: &TestApp) {
        let owner = app.new_manager().await;
        let (cid, sid, talent) = judged_submission(app, &owner, &panel_spec(2, None)).await;
        let c: Value = app.get_challenge(Some(&owner), &cid).await.json().await.unwrap();
        assert_eq!((c["reviewers_per_submission"].clone(), c["disagreement_threshold"].clone()), (json!(2), json!(15.0)));
        assert_eq!(waiting(app, &owner, &cid).await, 2, "two regular seats");
        let (a, b, late) = (app.new_manager().await, app.new_manager().await, app.new_manager().await);
        let first = reviewed(app, &a, &sid, review_spec(8.0, 8.0, "accepted", 3), None).await;
        assert_eq!(first["seat"], 1);
        // One review is no outcome: nothing decided, nothing paid.
        assert_eq!(outcome(app, &owner, &sid).await, (json!("submitted"), Value::Null, Value::Null));
        // While a seat waits, staff see only their own reviews of the work:
        // the second reviewer writes without the first's scores in view.
        for (who, n) in [(&b, 0), (&owner, 0), (&a, 1), (&talent, 1)] {
            let page: Value = app.reviews(who, &sid).await.json().await.unwrap();
            assert_eq!(page["items"].as_array().map(Vec::len), Some(n), "{page}");
        }
        assert_eq!(app.balance(&talent).await, (0, 0));
        // The same manager fills no second seat, nor claims it.
        let refused = assert_problem(app.review(&a, &sid, &review_spec(8.0, 8.0, "accepted", 3)).await, 403, "conflict_of_interest").await;
        assert_eq!(refused["conflict"], "already_reviewed");
        let refused = assert_problem(app.claim_review(&a, &json!({ "submission_id": sid })).await, 403, "conflict_of_interest").await;
        assert_eq!(refused["conflict"], "already_reviewed");
        assert_eq!(app.claim_review(&a, &json!({ "challenge_id": cid })).await.status(), StatusCode::NO_CONTENT);
        // The second, agreeing review decides: the mean, and their decision.
        let second = reviewed(app, &b, &sid, review_spec(7.0, 7.0, "accepted", 1), None).await;
        assert_eq!(second["seat"], 2);
        assert_eq!(outcome(app, &owner, &sid).await, (json!("accepted"), json!(75.0), json!(1)));
        let s: Value = app.get_submission(Some(&owner), &sid).await.json().await.unwrap();
        assert_eq!(s["review_id"], second["id"], "the review that decided it");
        assert_eq!(app.balance(&talent).await, (10, 0));
        assert_eq!(app.all_history(&talent, "kind=reward").await.len(), 1);
        let page: Value = app.reviews(&owner, &sid).await.json().await.unwrap();
        assert_eq!(page["items"].as_array().map(Vec::len), Some(2), "every seat filled: all shown");
        assert!(second["reward_transaction_id"].is_string() && first["reward_transaction_id"].is_null());
        // Every seat is filled: a third review has nowhere to go.
        assert_problem(app.review(&late, &sid, &review_spec(2.0, 2.0, "rejected", 0)).await, 409, "review_conflict").await;
        assert_eq!(waiting(app, &owner, &cid).await, 0);
        let board: Value = app.leaderboard(Some(&owner), &cid, "").await.json().await.unwrap();
        assert_eq!(board["items"][0]["score"], json!(75.0));
        // Each review is recorded; the outcome is announced once, with the aggregate.
        assert_eq!(count(app, &sid, "review.recorded").await, 2);
        assert_eq!(count(app, &sid, "submission.reviewed").await, 1);
        assert_eq!(count(app, &sid, "review.tiebreak_needed").await, 0);
        let events = kartel_domain::events::about(&app.db, sid.parse().unwrap()).await.unwrap();
        let decided = events.iter().find_map(|e| match &e.event {
            kartel_domain::events::Event::SubmissionReviewed(d) => Some(d.clone()),
            _ => None,
        }).unwrap();
        let o = decided.outcome.expect("the aggregate");
        assert_eq!((o.score, o.reviews, o.tiebreak), (75.0, 2, false));
        app.assert_books_balance().await;
    }

    async fn disagreeing_decisions_need_a_tiebreak_that_decides_once_and_pays_once(app: &TestApp) {
        let owner = app.new_manager().await;
        let (cid, sid, talent) = judged_submission(app, &owner, &panel_spec(2, None)).await;
        let (a, b, c, d) = (app.new_manager().await, app.new_manager().await, app.new_manager().await, app.new_manager().await);
        reviewed(app, &a, &sid, review_spec(8.0, 8.0, "accepted", 3), None).await;
        reviewed(app, &b, &sid, review_spec(4.0, 4.0, "rejected", 0), None).await;
        // Undecided: the tiebreak seat is open in the queue.
        assert_eq!(outcome(app, &owner, &sid).await.0, json!("submitted"));
        assert_eq!(app.balance(&talent).await, (0, 0));
        assert_eq!(count(app, &sid, "review.tiebreak_needed").await, 1);
        assert_eq!(waiting(app, &owner, &cid).await, 1);
        assert_problem(app.transition(&owner, &cid, "closed").await, 409, "reviews_pending").await;
        // Not for the two who disagree; the first other manager claims it.
        assert_eq!(app.claim_review(&a, &json!({})).await.status(), StatusCode::NO_CONTENT);
        let refused = assert_problem(app.claim_review(&b, &json!({ "submission_id": sid })).await, 403, "conflict_of_interest").await;
        assert_eq!(refused["conflict"], "already_reviewed");
        let res = app.claim_review(&c, &json!({ "challenge_id": cid })).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let claim: Value = res.json().await.unwrap();
        assert_eq!((claim["claim"]["kind"].clone(), claim["claim"]["seat"].clone()), (json!("tiebreak"), json!(3)));
        assert_problem(app.review(&d, &sid, &review_spec(6.0, 6.0, "accepted", 2)).await, 409, "seat_claimed").await;
        // The tiebreak decides: median 60 of 80, 40, 60; two of three accepted.
        let key = new_key();
        let body = review_spec(6.0, 6.0, "accepted", 2);
        let res = app.review_with_key(&c, &sid, &key, &body).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let tiebreak = res.text().await.unwrap();
        assert_eq!(serde_json::from_str::<Value>(&tiebreak).unwrap()["seat"], 3);
        assert_eq!(outcome(app, &owner, &sid).await, (json!("accepted"), json!(60.0), json!(2)));
        assert_eq!(app.balance(&talent).await, (10, 0));
        // Its retry replays the answer and moves nothing.
        let again = app.review_with_key(&c, &sid, &key, &body).await;
        assert_eq!(again.status(), StatusCode::CREATED);
        assert_eq!(again.text().await.unwrap(), tiebreak);
        assert_eq!(app.balance(&talent).await, (10, 0));
        assert_eq!(app.all_history(&talent, "kind=reward").await.len(), 1);
        assert_eq!(count(app, &sid, "submission.reviewed").await, 1);
        assert_eq!(count(app, &sid, "review.recorded").await, 3);
        assert_eq!(waiting(app, &owner, &cid).await, 0);
        assert_eq!(app.transition(&owner, &cid, "closed").await.status(), StatusCode::OK);
        app.assert_books_balance().await;
    }

    async fn totals_further_apart_than_the_threshold_need_a_tiebreak(app: &TestApp) {
        let owner = app.new_manager().await;
        let cid = app.open_challenge(&owner, &panel_spec(2, Some(10.0))).await;
        let (t1, t2) = (app.new_talent().await, app.new_talent().await);
        let s1 = app.new_submission(&t1, &cid, &format!("https://x.example/{}.png", new_key())).await;
        let s2 = app.new_submission(&t2, &cid, &format!("https://x.example/{}.png", new_key())).await;
        assert_eq!(app.transition(&owner, &cid, "judging").await.status(), StatusCode::OK);
        let (a, b, c) = (app.new_manager().await, app.new_manager().await, app.new_manager().await);
        // Both accept, 20 points apart: more than the threshold of 10.
        reviewed(app, &a, &s1, review_spec(9.0, 9.0, "accepted", 2), None).await;
        reviewed(app, &b, &s1, review_spec(7.0, 7.0, "accepted", 1), None).await;
        assert_eq!(outcome(app, &owner, &s1).await.0, json!("submitted"));
        let events = kartel_domain::events::about(&app.db, s1.parse().unwrap()).await.unwrap();
        let needed = events.iter().find_map(|e| match &e.event {
            kartel_domain::events::Event::ReviewTiebreakNeeded(t) => Some(t.clone()),
            _ => None,
        }).expect("review.tiebreak_needed");
        assert_eq!((needed.seat, needed.gap, needed.threshold), (3, 20.0, 10.0));
        assert_eq!(serde_json::to_value(needed.disagreement).unwrap(), json!("scores"));
        // The tiebreak rejects at 30: two of three accepted, at the median 70.
        reviewed(app, &c, &s1, review_spec(3.0, 3.0, "rejected", 0), None).await;
        assert_eq!(outcome(app, &owner, &s1).await, (json!("accepted"), json!(70.0), json!(1)));
        assert_eq!(app.balance(&t1).await, (10, 0));
        // Exactly the threshold apart is no disagreement: the mean decides.
        reviewed(app, &a, &s2, review_spec(8.0, 8.0, "accepted", 2), None).await;
        reviewed(app, &b, &s2, review_spec(7.0, 7.0, "accepted", 2), None).await;
        assert_eq!(outcome(app, &owner, &s2).await, (json!("accepted"), json!(75.0), json!(2)));
        assert_eq!(count(app, &s2, "review.tiebreak_needed").await, 0);
        assert_eq!(app.balance(&t2).await, (10, 0));
        app.assert_books_balance().await;
    }

    async fn overturns_re_aggregate_and_the_reward_moves_with_the_aggregate_only(app: &TestApp) {
        let owner = app.new_manager().await;
        let (cid, sid, talent) = judged_submission(app, &owner, &panel_spec(2, None)).await;
        let mut m = Vec::new();
        for _ in 0..7 {
            m.push(app.new_manager().await);
        }
        let ra = reviewed(app, &m[0], &sid, review_spec(8.0, 8.0, "accepted", 2), None).await;
        let rb = reviewed(app, &m[1], &sid, review_spec(7.0, 7.0, "accepted", 2), None).await;
        assert_eq!(app.balance(&talent).await, (10, 0));
        // An overturn to a rejection opens a disagreement: the outcome stands
        // until the tiebreak review.
        let rc = reviewed(app, &m[2], &sid, review_spec(4.0, 4.0, "rejected", 0), Some(&rb)).await;
        assert_eq!(outcome(app, &owner, &sid).await, (json!("accepted"), json!(75.0), json!(2)));
        assert_eq!(app.balance(&talent).await, (10, 0));
        assert_eq!(count(app, &sid, "review.tiebreak_needed").await, 1);
        assert_eq!(waiting(app, &owner, &cid).await, 1);
        // The tiebreak rejects: median 40, rejected; the reward is taken back.
        let rd = reviewed(app, &m[3], &sid, review_spec(3.0, 3.0, "rejected", 0), None).await;
        assert_eq!(rd["seat"], 3);
        assert_eq!(outcome(app, &owner, &sid).await, (json!("rejected"), json!(40.0), json!(0)));
        assert_eq!(app.balance(&talent).await, (0, 0));
        assert_eq!(count(app, &sid, "submission.rescored").await, 1);
        // The tiebreak overturned to an acceptance: accepted at 60, paid again.
        reviewed(app, &m[4], &sid, review_spec(6.0, 6.0, "accepted", 1), Some(&rd)).await;
        assert_eq!(outcome(app, &owner, &sid).await, (json!("accepted"), json!(60.0), json!(1)));
        assert_eq!(app.balance(&talent).await, (10, 0));
        assert_eq!(count(app, &sid, "submission.rescored").await, 2);
        // An overturn with the same figures changes nothing and announces nothing.
        reviewed(app, &m[5], &sid, review_spec(8.0, 8.0, "accepted", 2), Some(&ra)).await;
        assert_eq!(count(app, &sid, "submission.rescored").await, 2);
        // The regular reviews agree again: their mean decides, the tiebreak no longer counts.
        reviewed(app, &m[6], &sid, review_spec(7.0, 7.0, "accepted", 2), Some(&rc)).await;
        assert_eq!(outcome(app, &owner, &sid).await, (json!("accepted"), json!(75.0), json!(2)));
        assert_eq!(count(app, &sid, "submission.rescored").await, 3);
        assert_eq!(count(app, &sid, "review.tiebreak_needed").await, 1);
        // Paid, taken back, paid: the talent holds the reward once.
        assert_eq!(app.balance(&talent).await, (10, 0));
        assert_eq!(rewards_of(app, &talent, &sid).await, 10);
        assert_eq!(app.all_history(&talent, "kind=reward").await.len(), 2);
        app.assert_books_balance().await;
    }

    async fn an_overturn_that_settles_the_disagreement_closes_the_tiebreak_seat(app: &TestApp) {
        let owner = app.new_manager().await;
        let (cid, sid, talent) = judged_submission(app, &owner, &panel_spec(2, None)).await;
        let (a, b, c, d) = (app.new_manager().await, app.new_manager().await, app.new_manager().await, app.new_manager().await);
        reviewed(app, &a, &sid, review_spec(8.0, 8.0, "accepted", 2), None).await;
        let rb = reviewed(app, &b, &sid, review_spec(4.0, 4.0, "rejected", 0), None).await;
        let res = app.claim_review(&d, &json!({ "submission_id": sid })).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let claim: Value = res.json().await.unwrap();
        assert_eq!(claim["claim"]["kind"], "tiebreak");
        // The rejection is overturned: the two agree, their mean decides.
        reviewed(app, &c, &sid, review_spec(7.0, 7.0, "accepted", 2), Some(&rb)).await;
        assert_eq!(outcome(app, &owner, &sid).await, (json!("accepted"), json!(75.0), json!(2)));
        assert_eq!(app.balance(&talent).await, (10, 0));
        assert_eq!(count(app, &sid, "submission.reviewed").await, 1);
        // The tiebreak seat is gone from the queue, and its claim with it.
        assert_eq!(waiting(app, &owner, &cid).await, 0);
        assert_problem(app.review(&d, &sid, &review_spec(3.0, 3.0, "rejected", 0)).await, 409, "review_conflict").await;
        assert_problem(app.extend_claim(&d, claim["claim"]["id"].as_str().unwrap()).await, 409, "claim_expired").await;
        app.assert_books_balance().await;
    }

    async fn concurrent_and_retried_double_reviews_double_nothing(app: &TestApp) {
        let owner = app.new_manager().await;
        let cid = app.open_challenge(&owner, &panel_spec(2, None)).await;
        let (t1, t2) = (app.new_talent().await, app.new_talent().await);
        let s1 = app.new_submission(&t1, &cid, &format!("https://x.example/{}.png", new_key())).await;
        let s2 = app.new_submission(&t2, &cid, &format!("https://x.example/{}.png", new_key())).await;
        assert_eq!(app.transition(&owner, &cid, "judging").await.status(), StatusCode::OK);
        let (a, b) = (app.new_manager().await, app.new_manager().await);
        // Two reviewers at once, each to a seat: one outcome, one reward.
        let body = review_spec(8.0, 8.0, "accepted", 3);
        let answers = futures::future::join(app.review(&a, &s1, &body), app.review(&b, &s1, &body)).await;
        assert_eq!((answers.0.status(), answers.1.status()), (StatusCode::CREATED, StatusCode::CREATED));
        assert_eq!(outcome(app, &owner, &s1).await, (json!("accepted"), json!(80.0), json!(3)));
        assert_eq!(app.balance(&t1).await, (10, 0));
        assert_eq!(count(app, &s1, "submission.reviewed").await, 1);
        // One reviewer twice at once: one seat, the other refused.
        let answers = futures::future::join(app.review(&a, &s2, &body), app.review(&a, &s2, &body)).await;
        let mut statuses = [answers.0.status().as_u16(), answers.1.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 403]);
        // Retries under one key: one review, answered alike.
        let key = new_key();
        let replies = futures::future::join_all((0..4).map(|_| app.review_with_key(&b, &s2, &key, &body))).await;
        let mut texts = Vec::new();
        for r in replies {
            assert_eq!(r.status(), StatusCode::CREATED);
            texts.push(r.text().await.unwrap());
        }
        assert!(texts.windows(2).all(|w| w[0] == w[1]), "replays differ");
        let reviews: Value = app.reviews(&owner, &s2).await.json().await.unwrap();
        assert_eq!(reviews["items"].as_array().unwrap().len(), 2);
        assert_eq!(app.balance(&t2).await, (10, 0));
        assert_eq!(app.all_history(&t2, "kind=reward").await.len(), 1);
        assert_eq!(count(app, &s2, "submission.reviewed").await, 1);
        app.assert_books_balance().await;
    }

    async fn the_panel_is_checked_shown_and_fixed_once_judging_starts(app: &TestApp) {
        let owner = app.new_manager().await;
        for (reviewers, threshold, fields) in [
            (json!(0), json!(15), vec!["reviewers_per_submission"]),
            (json!(4), json!(15), vec!["reviewers_per_submission"]),
            (json!(2), json!(-1), vec!["disagreement_threshold"]),
            (json!(2), json!(100.5), vec!["disagreement_threshold"]),
            (json!(9), json!(101), vec!["reviewers_per_submission", "disagreement_threshold"]),
        ] {
            let mut spec = challenge_spec();
            spec["reviewers_per_submission"] = reviewers;
            spec["disagreement_threshold"] = threshold;
            let body = assert_problem(app.create_challenge(&owner, &spec).await, 422, "validation_failed").await;
            let named: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
            assert_eq!(named, fields, "{body}");
        }
        // Absent, they default to one reviewer and 15 points.
        let res = app.create_challenge(&owner, &challenge_spec()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let c: Value = res.json().await.unwrap();
        assert_eq!((c["reviewers_per_submission"].clone(), c["disagreement_threshold"].clone()), (json!(1), json!(15.0)));
        let cid = c["id"].as_str().unwrap().to_owned();
        let res = app.update_challenge(&owner, &cid, &json!({ "reviewers_per_submission": 3, "disagreement_threshold": 20 })).await;
        assert_eq!(res.status(), StatusCode::OK);
        let c: Value = res.json().await.unwrap();
        assert_eq!((c["reviewers_per_submission"].clone(), c["disagreement_threshold"].clone()), (json!(3), json!(20.0)));
        // Still while open; the same checks.
        assert_eq!(app.transition(&owner, &cid, "open").await.status(), StatusCode::OK);
        assert_problem(app.update_challenge(&owner, &cid, &json!({ "reviewers_per_submission": 0 })).await, 422, "validation_failed").await;
        assert_eq!(app.update_challenge(&owner, &cid, &json!({ "reviewers_per_submission": 2 })).await.status(), StatusCode::OK);
        let talent = app.new_talent().await;
        app.new_submission(&talent, &cid, &format!("https://x.example/{}.png", new_key())).await;
        assert_eq!(app.transition(&owner, &cid, "judging").await.status(), StatusCode::OK);
        assert_eq!(waiting(app, &owner, &cid).await, 2, "the seats follow the setting");
        // Judging: the seats are open, the panel is fixed.
        for change in [json!({ "reviewers_per_submission": 1 }), json!({ "disagreement_threshold": 5 })] {
            assert_problem(app.update_challenge(&owner, &cid, &change).await, 409, "field_locked").await;
        }
        let c: Value = app.get_challenge(None, &cid).await.json().await.unwrap();
        assert_eq!((c["reviewers_per_submission"].clone(), c["disagreement_threshold"].clone()), (json!(2), json!(20.0)));
    }
    async fn tiers_count_the_aggregate_not_one_review(app: &TestApp) {
        let (admin, owner) = (app.new_admin().await, app.new_manager().await);
        app.small_requirements(&admin, "preditor").await;
        let talent = app.new_talent().await;
        app.enrolled(&talent, "preditor").await;
        app.complete_profile(&talent).await;
        // One passed challenge of the two Tier 2 needs.
        app.judged(&owner, &talent, None, None, true).await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 1);
        let cid = app.open_challenge(&owner, &panel_spec(2, None)).await;
        let sid = app.new_submission(&talent, &cid, &format!("https://x.example/{}.png", new_key())).await;
        assert_eq!(app.transition(&owner, &cid, "judging").await.status(), StatusCode::OK);
        let (a, b) = (app.new_manager().await, app.new_manager().await);
        // One acceptance of two is not a pass: no promotion, no leaderboard entry.
        reviewed(app, &a, &sid, review_spec(8.0, 8.0, "accepted", 2), None).await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 1);
        let board: Value = app.leaderboard(Some(&owner), &cid, "").await.json().await.unwrap();
        assert_eq!(board["items"], json!([]));
        // The second makes the aggregate a pass: Tier 2.
        reviewed(app, &b, &sid, review_spec(8.0, 8.0, "accepted", 2), None).await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 2);
        let board: Value = app.leaderboard(Some(&owner), &cid, "").await.json().await.unwrap();
        assert_eq!(board["items"][0]["score"], json!(80.0));
    }
}
