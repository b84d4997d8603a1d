//! Reviewer quality, measured (`GET /reviews/metrics`): who may read it,
//! how its filters are checked, and its figures on a small set built
//! through the API (two reviewers per submission, a real tiebreak; only
//! the times work was submitted are moved in SQL); alpha itself is
//! unit-tested against published examples in
//! `domain/src/challenges/agreement.rs`.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::queue::{judging_with, judging_with_spec};
use crate::both_backends;
use crate::helpers::{
    Backend, TestApp, User, assert_problem, challenge_spec, new_key, panel_spec, review_spec,
};

async fn metrics(app: &TestApp, by: &User, query: &str) -> Value {
    let res = app.review_metrics(Some(by), query).await;
    assert_eq!(res.status(), StatusCode::OK, "metrics?{query}");
    res.json().await.expect("json")
}

/// A time as a query parameter (`Z`, so no `+` to escape).
fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn uuid(s: &str) -> Uuid {
    s.parse().expect("uuid")
}

/// `submission` submitted `seconds` ago, as its seats know it.
async fn submitted_ago(app: &TestApp, submission: &str, seconds: i64) {
    app.exec_sql(
        "UPDATE review_seats SET submitted_at = $1 WHERE submission_id = $2",
        [
            (Utc::now() - Duration::seconds(seconds)).into(),
            uuid(submission).into(),
        ],
    )
    .await;
}

/// Interval alpha of the units (80, 67.5) and (90, 85), worked out by the
/// coincidence matrix.
const ALPHA_EARLY: f64 = 0.513_966_480_446_927_4;

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < 1e-9)
}

both_backends! {
    async fn only_managers_and_admins_read_the_review_metrics(app: &TestApp) {
        assert_problem(app.review_metrics(None, "").await, 401, "unauthorized").await;
        let talent = app.new_talent().await;
        assert_problem(app.review_metrics(Some(&talent), "").await, 403, "forbidden").await;
        let lead = app.new_lead().await;
        assert_problem(app.review_metrics(Some(&lead), "").await, 403, "forbidden").await;
        // A bad filter from someone who may not read it is still 403.
        assert_problem(app.review_metrics(Some(&talent), "from=soon").await, 403, "forbidden").await;
        for staff in [app.new_manager().await, app.new_admin().await] {
            let m = metrics(app, &staff, "").await;
            assert_eq!((m["backlog"].clone(), m["multi_reviewed"].clone()), (json!(0), json!(0)), "{m}");
            assert_eq!((m["alpha_nominal"].clone(), m["alpha_interval"].clone()), (Value::Null, Value::Null));
            assert_eq!((m["waiting_age_p50_seconds"].clone(), m["reviewers"].clone()), (Value::Null, json!([])));
        }
    }

    async fn bad_filters_are_refused_naming_the_field(app: &TestApp) {
        let manager = app.new_manager().await;
        let now = Utc::now();
        let q = format!("from={}&to={}", at(now), at(now - Duration::seconds(1)));
        let p = assert_problem(app.review_metrics(Some(&manager), &q).await, 422, "validation_failed").await;
        assert_eq!(p["errors"][0]["field"], json!("from"), "{p}");
        for q in ["track=sculptor", "challenge_id=nope", "from=yesterday", "limit=0", "limit=101"] {
            assert_problem(app.review_metrics(Some(&manager), q).await, 422, "validation_failed").await;
        }
        // An empty window is fine.
        metrics(app, &manager, &format!("from={0}&to={0}", at(now))).await;
    }

    async fn the_backlog_its_ages_and_the_reviews_per_reviewer_follow_the_seats(app: &TestApp) {
        let owner = app.new_manager().await;
        let (cid, sids) = judging_with(app, &owner, 4).await;
        // Another challenge, of a track, with one waiting submission.
        let mut spec = challenge_spec();
        spec["track"] = json!("preditor");
        let other = app.open_challenge(&owner, &spec).await;
        let talent = app.new_talent().await;
        app.new_submission(&talent, &other, &format!("https://x.example/{}.png", new_key())).await;
        assert_eq!(app.transition(&owner, &other, "judging").await.status(), StatusCode::OK);

        let mine = format!("challenge_id={cid}");
        let m = metrics(app, &owner, &mine).await;
        assert_eq!((m["backlog"].clone(), m["waiting_submissions"].clone(), m["past_due"].clone()), (json!(4), json!(4), json!(0)), "{m}");
        assert_eq!(metrics(app, &owner, "").await["backlog"], json!(5));
        assert_eq!(metrics(app, &owner, "track=preditor").await["backlog"], json!(1));
        assert_eq!(metrics(app, &owner, "track=data_engineer").await["backlog"], json!(0));

        // Ages: submitted 100, 200, 300 and 400 seconds ago; nearest rank
        // from the youngest: p50 the 2nd (200 s), p90 the 4th (400 s).
        for (sid, ago) in sids.iter().zip([100, 200, 300, 400]) {
            submitted_ago(app, sid, ago).await;
        }
        let m = metrics(app, &owner, &mine).await;
        let age = |k: &str| m[k].as_i64().unwrap_or(-1);
        assert!((200..205).contains(&age("waiting_age_p50_seconds")), "{m}");
        assert!((400..405).contains(&age("waiting_age_p90_seconds")), "{m}");
        // The window selects by submission time.
        let now = Utc::now();
        let recent = format!("{mine}&from={}", at(now - Duration::seconds(250)));
        assert_eq!(metrics(app, &owner, &recent).await["backlog"], json!(2));
        let older = format!("{mine}&to={}", at(now - Duration::seconds(250)));
        assert_eq!(metrics(app, &owner, &older).await["backlog"], json!(2));

        // Past the challenge's review deadline, everything waiting is late.
        app.exec_sql("UPDATE challenges SET review_due_at = $1 WHERE id = $2", [(now - Duration::minutes(1)).into(), uuid(&cid).into()]).await;
        assert_eq!(metrics(app, &owner, &mine).await["past_due"], json!(4));
        assert_eq!(metrics(app, &owner, "").await["past_due"], json!(4), "the other challenge is not due");

        // A claim, then reviews: two by one manager, one by another.
        let (a, b) = (app.new_manager().await, app.new_manager().await);
        assert_eq!(app.claim_review(&a, &json!({ "submission_id": sids[0] })).await.status(), StatusCode::CREATED);
        assert_eq!(metrics(app, &owner, &mine).await["backlog_claimed"], json!(1));
        for (by, sid) in [(&a, &sids[0]), (&a, &sids[1]), (&b, &sids[2])] {
            let res = app.review(by, sid, &review_spec(8.0, 8.0, "accepted", 1)).await;
            assert_eq!(res.status(), StatusCode::CREATED);
        }
        let m = metrics(app, &owner, &mine).await;
        assert_eq!((m["backlog"].clone(), m["backlog_claimed"].clone(), m["past_due"].clone()), (json!(1), json!(0), json!(1)), "{m}");
        assert!((400..410).contains(&m["waiting_age_p50_seconds"].as_i64().unwrap_or(-1)), "{m}");
        let want = json!([
            {"reviewer_id": a.id, "reviews": 2, "tiebreaks": 0, "appeals": 0, "appeals_upheld": 0},
            {"reviewer_id": b.id, "reviews": 1, "tiebreaks": 0, "appeals": 0, "appeals_upheld": 0},
        ]);
        assert_eq!((m["reviewers"].clone(), m["reviewers_total"].clone()), (want, json!(2)));
        // One review each is no agreement data.
        assert_eq!((m["multi_reviewed"].clone(), m["decision_agreement"].clone()), (json!(0), Value::Null));
        // The list is bounded by `limit`; the total still counts everyone.
        let top = metrics(app, &owner, &format!("{mine}&limit=1")).await;
        assert_eq!((top["reviewers"].as_array().map(Vec::len), top["reviewers_total"].clone()), (Some(1), json!(2)));
        assert_eq!(top["reviewers"][0]["reviewer_id"], json!(a.id));
        // The other challenge's figures are its own.
        let m = metrics(app, &owner, &format!("challenge_id={other}")).await;
        assert_eq!((m["backlog"].clone(), m["reviewers_total"].clone()), (json!(1), json!(0)), "{m}");
    }

    async fn agreement_and_alpha_are_over_submissions_with_two_regular_reviews(app: &TestApp) {
        let owner = app.new_manager().await;
        let (cid, sids) = judging_with_spec(app, &owner, &panel_spec(2, None), 5).await;
        let (a, b) = (app.new_manager().await, app.new_manager().await);
        // Totals: 2.5 × (3 · composition + lighting).
        let first = [(8.0, 8.0, "accepted"), (2.0, 2.0, "rejected"), (9.0, 9.0, "accepted"), (3.0, 3.0, "rejected"), (6.0, 6.0, "accepted")];
        for (sid, (c, l, d)) in sids.iter().zip(first) {
            assert_eq!(app.review(&a, sid, &review_spec(c, l, d, 1)).await.status(), StatusCode::CREATED);
        }
        // Totals 67.5, 65, 85 and 40.
        let second = [(7.0, 6.0, "accepted"), (7.0, 5.0, "accepted"), (9.0, 7.0, "accepted"), (4.0, 4.0, "rejected")];
        for (sid, (c, l, d)) in sids.iter().zip(second) {
            assert_eq!(app.review(&b, sid, &review_spec(c, l, d, 1)).await.status(), StatusCode::CREATED);
        }
        // The reviewers split on the second submission: its tiebreak seat
        // opened; the fifth still waits for its second review.

        let m = metrics(app, &owner, &format!("challenge_id={cid}")).await;
        // Units: (80, 67.5), (20, 65), (90, 85), (30, 40); the fifth has one
        // review and is not pairable.
        assert_eq!(m["multi_reviewed"], json!(4), "{m}");
        assert!(close(&m["decision_agreement"], 0.75), "{m}");
        // Decisions: n = 8 (5 accepted, 3 rejected), one disagreeing unit:
        // α = 1 − 7 · 2 / (2 · 5 · 3).
        assert!(close(&m["alpha_nominal"], 1.0 - 7.0 * 2.0 / 30.0), "{m}");
        // Scores, worked out by the coincidence matrix.
        assert!(close(&m["alpha_interval"], 0.588_628_762_541_806_1), "{m}");
        assert_eq!((m["tiebreaks"].clone(), m["backlog"].clone()), (json!(1), json!(2)), "{m}");
        assert!(close(&m["tiebreak_rate"], 0.25), "{m}");
        let want = json!([
            {"reviewer_id": a.id, "reviews": 5, "tiebreaks": 0, "appeals": 0, "appeals_upheld": 0},
            {"reviewer_id": b.id, "reviews": 4, "tiebreaks": 0, "appeals": 0, "appeals_upheld": 0},
        ]);
        assert_eq!(m["reviewers"], want);

        // The tiebreak's review counts for its reviewer, not for agreement.
        let t = app.new_manager().await;
        assert_eq!(app.review(&t, &sids[1], &review_spec(5.0, 5.0, "accepted", 1)).await.status(), StatusCode::CREATED);
        let after = metrics(app, &owner, &format!("challenge_id={cid}")).await;
        assert_eq!((after["alpha_nominal"].clone(), after["multi_reviewed"].clone()), (m["alpha_nominal"].clone(), json!(4)));
        assert_eq!(after["backlog"], json!(1), "the fifth's second seat");
        assert!(after["reviewers"].as_array().is_some_and(|r| r.contains(&json!({"reviewer_id": t.id, "reviews": 1, "tiebreaks": 1, "appeals": 0, "appeals_upheld": 0}))), "{after}");

        // Where every decision is the same (the first and third, submitted
        // earlier than the rest), nominal alpha is undefined while the
        // scores still vary.
        for sid in [&sids[0], &sids[2]] {
            submitted_ago(app, sid, 1000).await;
        }
        let early = format!("challenge_id={cid}&to={}", at(Utc::now() - Duration::seconds(500)));
        let m = metrics(app, &owner, &early).await;
        assert_eq!((m["multi_reviewed"].clone(), m["alpha_nominal"].clone()), (json!(2), Value::Null), "{m}");
        assert!(close(&m["decision_agreement"], 1.0), "{m}");
        assert!(close(&m["alpha_interval"], ALPHA_EARLY), "{m}");
    }
}
