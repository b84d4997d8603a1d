//! Appeals: a talent appeals one criterion of a decided submission's
//! review within the challenge's window; the appealed reviewer answers by
//! the deadline, then another manager without a conflict of interest; an
//! upheld appeal re-scores through the review path (reward once, tiers,
//! leaderboard), a denied one changes nothing; a challenge does not close
//! while an appeal is open or a window runs, and nothing is appealed after.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::exec_on;
use super::queue::event_kinds;
use super::reviews::judged_submission;
use crate::both_backends;
use crate::helpers::{
    Backend, TestApp, User, appeal_spec, assert_problem, new_key, panel_spec, review_spec,
};

/// A submission of a challenge taking appeals for `hours`, rejected by a
/// new manager (4 and 4: a total of 40, under the pass mark of 50):
/// (challenge, submission, talent, reviewer, review).
async fn rejected(app: &TestApp, owner: &User, hours: i64) -> (String, String, User, User, Value) {
    let (cid, sid, talent) = judged_submission(app, owner, &appeal_spec(hours)).await;
    let reviewer = app.new_manager().await;
    let review = reviewed(app, &reviewer, &sid, review_spec(4.0, 4.0, "rejected", 0)).await;
    (cid, sid, talent, reviewer, review)
}

async fn reviewed(app: &TestApp, by: &User, sid: &str, body: Value) -> Value {
    let res = app.review(by, sid, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "review of {sid}");
    res.json().await.unwrap()
}

fn appeal_of(criterion: &str) -> Value {
    json!({ "criterion": criterion, "reason": "The brief asked for exactly this." })
}

fn upheld(score: f64) -> Value {
    json!({ "outcome": "upheld", "new_score": score, "response": "Agreed, re-scored." })
}

fn denied() -> Value {
    json!({ "outcome": "denied", "response": "The score stands." })
}

async fn filed(app: &TestApp, talent: &User, sid: &str, body: &Value) -> Value {
    let res = app.file_appeal(talent, sid, body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "appeal of {sid}");
    res.json().await.unwrap()
}

async fn answered(app: &TestApp, by: &User, appeal: &Value, body: &Value) -> Value {
    let res = app
        .answer_appeal(by, appeal["id"].as_str().unwrap(), body)
        .await;
    assert_eq!(res.status(), StatusCode::OK, "answer");
    res.json().await.unwrap()
}

async fn submission(app: &TestApp, staff: &User, sid: &str) -> (Value, Value) {
    let s: Value = app
        .get_submission(Some(staff), sid)
        .await
        .json()
        .await
        .unwrap();
    (s["status"].clone(), s["score"].clone())
}

async fn count(app: &TestApp, subject: &str, kind: &str) -> usize {
    event_kinds(app, subject)
        .await
        .iter()
        .filter(|k| *k == kind)
        .count()
}

async fn rewards_of(app: &TestApp, talent: &User, sid: &str) -> i64 {
    super::verdict_walk::net_reward(&app.all_history(talent, "").await, sid)
}

/// Moves the appeals of `sid` past their deadline.
async fn overdue(app: &TestApp, sid: &str) {
    exec_on(
        app,
        "UPDATE appeals SET respond_by = filed_at WHERE submission_id = $1",
        sid,
    )
    .await;
}

both_backends! {
    async fn an_upheld_appeal_crossing_the_pass_mark_pays_once_and_promotes(app: &TestApp) {
        let admin = app.new_admin().await;
        let owner = app.new_manager().await;
        app.small_requirements(&admin, "preditor").await;
        let talent = app.new_talent().await;
        app.complete_profile(&talent).await;
        app.enrolled(&talent, "preditor").await;
        app.judged(&owner, &talent, None, None, true).await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 1, "one passed challenge of two");
        let cid = app.open_challenge(&owner, &appeal_spec(48)).await;
        let sid = app.new_submission(&talent, &cid, &format!("https://x.example/{}.png", new_key())).await;
        app.transition(&owner, &cid, "judging").await;
        let reviewer = app.new_manager().await;
        let review = reviewed(app, &reviewer, &sid, review_spec(4.0, 4.0, "rejected", 0)).await;
        let before = app.balance(&talent).await;

        let appeal = filed(app, &talent, &sid, &appeal_of("composition")).await;
        assert_eq!((appeal["status"].clone(), appeal["initial_score"].clone()), (json!("open"), json!(4.0)));
        assert_eq!((appeal["review_id"].clone(), appeal["reviewer_id"].clone()), (review["id"].clone(), json!(reviewer.id)));
        assert!(appeal["final_score"].is_null() && appeal["respond_by"].is_string());
        // Before the deadline the appealed reviewer answers, nobody else.
        let other = app.new_manager().await;
        let id = appeal["id"].as_str().unwrap();
        assert_problem(app.answer_appeal(&other, id, &upheld(6.0)).await, 403, "forbidden").await;
        assert_problem(app.answer_appeal(&talent, id, &upheld(6.0)).await, 403, "forbidden").await;

        let key = new_key();
        let res = app.answer_appeal_with_key(&reviewer, id, &key, &upheld(6.0)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let first: Value = res.json().await.unwrap();
        assert_eq!((first["status"].clone(), first["initial_score"].clone(), first["final_score"].clone()), (json!("upheld"), json!(4.0), json!(6.0)));
        assert!(first["rescore_review_id"].is_string());
        // A retry with the key replays; another answer is refused.
        let again: Value = app.answer_appeal_with_key(&reviewer, id, &key, &upheld(6.0)).await.json().await.unwrap();
        assert_eq!(again, first);
        assert_problem(app.answer_appeal(&reviewer, id, &denied()).await, 409, "appeal_already_answered").await;

        // Re-scored across the pass mark: accepted, paid once, promoted.
        assert_eq!(submission(app, &owner, &sid).await, (json!("accepted"), json!(55.0)));
        assert_eq!(app.balance(&talent).await, (before.0 + 10, 0));
        assert_eq!(rewards_of(app, &talent, &sid).await, 10);
        assert_eq!(app.tier_in(&talent, "preditor").await, 2);
        let board: Value = app.leaderboard(Some(&owner), &cid, "").await.json().await.unwrap();
        assert_eq!(board["items"][0]["score"], json!(55.0));
        // The re-score replaced the appealed review; both are kept.
        let reviews: Value = app.reviews(&talent, &sid).await.json().await.unwrap();
        let items = reviews["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1]["overturns_id"], review["id"]);
        assert_eq!((items[0]["scores"]["composition"].clone(), items[1]["scores"]["composition"].clone()), (json!(4.0), json!(6.0)));
        assert_eq!((count(app, &sid, "appeal.filed").await, count(app, &sid, "appeal.answered").await, count(app, &sid, "submission.rescored").await), (1, 1, 1));

        // The talent sees the answer; another talent sees nothing.
        let mine: Value = app.appeals(&talent, &sid).await.json().await.unwrap();
        assert_eq!((mine["items"][0]["status"].clone(), mine["items"][0]["response"].clone()), (json!("upheld"), json!("Agreed, re-scored.")));
        let stranger = app.new_talent().await;
        assert_problem(app.appeals(&stranger, &sid).await, 404, "not_found").await;

        // The reviewer's figures carry it.
        let m: Value = app.review_metrics(Some(&owner), &format!("challenge_id={cid}")).await.json().await.unwrap();
        let mine = m["reviewers"].as_array().unwrap().iter().find(|r| r["reviewer_id"] == json!(reviewer.id)).unwrap().clone();
        assert_eq!((mine["appeals"].clone(), mine["appeals_upheld"].clone()), (json!(1), json!(1)));
        assert_eq!((m["appeals"].clone(), m["appeal_rate"].clone(), m["upheld_rate"].clone()), (json!(1), json!(1.0), json!(1.0)));
        app.assert_books_balance().await;
    }

    async fn a_denied_appeal_changes_nothing(app: &TestApp) {
        let owner = app.new_manager().await;
        let (_, sid, talent, reviewer, _) = rejected(app, &owner, 48).await;
        let appeal = filed(app, &talent, &sid, &appeal_of("lighting")).await;
        let id = appeal["id"].as_str().unwrap();
        let no_score = json!({ "outcome": "upheld", "response": "Yes" });
        assert_problem(app.answer_appeal(&reviewer, id, &no_score).await, 422, "validation_failed").await;
        let scored_denial = json!({ "outcome": "denied", "new_score": 5, "response": "No" });
        assert_problem(app.answer_appeal(&reviewer, id, &scored_denial).await, 422, "validation_failed").await;
        assert_problem(app.answer_appeal(&reviewer, id, &upheld(11.0)).await, 422, "validation_failed").await;
        assert_problem(app.answer_appeal(&reviewer, id, &upheld(4.0)).await, 422, "validation_failed").await;
        assert_eq!(submission(app, &owner, &sid).await, (json!("rejected"), json!(40.0)));

        let a = answered(app, &reviewer, &appeal, &denied()).await;
        assert_eq!((a["status"].clone(), a["final_score"].clone()), (json!("denied"), json!(4.0)));
        assert!(a["rescore_review_id"].is_null());
        assert_eq!(submission(app, &owner, &sid).await, (json!("rejected"), json!(40.0)));
        assert_eq!(app.balance(&talent).await, (0, 0));
        let reviews: Value = app.reviews(&talent, &sid).await.json().await.unwrap();
        assert_eq!(reviews["items"].as_array().unwrap().len(), 1);
        assert_eq!((count(app, &sid, "appeal.answered").await, count(app, &sid, "submission.rescored").await), (1, 0));
        let m: Value = app.review_metrics(Some(&owner), "").await.json().await.unwrap();
        let r = m["reviewers"].as_array().unwrap().iter().find(|r| r["reviewer_id"] == json!(reviewer.id)).unwrap().clone();
        assert_eq!((r["appeals"].clone(), r["appeals_upheld"].clone()), (json!(1), json!(0)));
    }

    async fn a_challenge_does_not_close_while_an_appeal_is_open_or_a_window_runs(app: &TestApp) {
        let owner = app.new_manager().await;
        let (cid, sid, talent, reviewer, _) = rejected(app, &owner, 1).await;
        // Decided a moment ago: the window runs.
        assert_problem(app.transition(&owner, &cid, "closed").await, 409, "appeals_pending").await;
        let appeal = filed(app, &talent, &sid, &appeal_of("composition")).await;
        // The window passes; the appeal is still open.
        exec_on(app, "UPDATE reviews SET created_at = (SELECT opens_at FROM challenges c WHERE c.id = reviews.challenge_id) WHERE submission_id = $1", &sid).await;
        assert_problem(app.transition(&owner, &cid, "closed").await, 409, "appeals_pending").await;
        assert_problem(app.file_appeal(&talent, &sid, &appeal_of("lighting")).await, 409, "appeal_window_closed").await;
        answered(app, &reviewer, &appeal, &denied()).await;
        assert_eq!(app.transition(&owner, &cid, "closed").await.status(), StatusCode::OK);
        // After close nothing is appealed.
        assert_problem(app.file_appeal(&talent, &sid, &appeal_of("composition")).await, 409, "appeal_window_closed").await;
    }

    async fn one_appeal_per_criterion_by_the_author_only_after_the_decision(app: &TestApp) {
        let owner = app.new_manager().await;
        let (_, sid, talent, reviewer, _) = rejected(app, &owner, 48).await;
        let stranger = app.new_talent().await;
        assert_problem(app.file_appeal(&stranger, &sid, &appeal_of("composition")).await, 404, "not_found").await;
        assert_problem(app.file_appeal(&reviewer, &sid, &appeal_of("composition")).await, 404, "not_found").await;
        assert_problem(app.file_appeal(&talent, &sid, &appeal_of("colour")).await, 422, "validation_failed").await;
        assert_problem(app.file_appeal(&talent, &sid, &json!({ "criterion": "composition", "reason": "" })).await, 422, "validation_failed").await;

        let key = new_key();
        let res = app.file_appeal_with_key(&talent, &sid, &key, &appeal_of("composition")).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let first: Value = res.json().await.unwrap();
        let res = app.file_appeal_with_key(&talent, &sid, &key, &appeal_of("composition")).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(res.json::<Value>().await.unwrap()["id"], first["id"], "replayed");
        assert_problem(app.file_appeal_with_key(&talent, &sid, &key, &appeal_of("lighting")).await, 422, "idempotency_key_reused").await;
        assert_problem(app.file_appeal(&talent, &sid, &appeal_of("composition")).await, 409, "appeal_exists").await;
        filed(app, &talent, &sid, &appeal_of("lighting")).await;
        let listed: Value = app.appeals(&owner, &sid).await.json().await.unwrap();
        assert_eq!(listed["items"].as_array().unwrap().len(), 2);
        assert_eq!(count(app, &sid, "appeal.filed").await, 2);

        // Not before the decision, and not where the challenge takes none.
        let (_, waiting, author) = judged_submission(app, &owner, &appeal_spec(48)).await;
        assert_problem(app.file_appeal(&author, &waiting, &appeal_of("composition")).await, 409, "appeal_window_closed").await;
        let (_, none, author, _, _) = rejected(app, &owner, 0).await;
        assert_problem(app.file_appeal(&author, &none, &appeal_of("composition")).await, 409, "appeal_window_closed").await;
    }

    async fn after_the_deadline_another_manager_without_a_conflict_answers(app: &TestApp) {
        let owner = app.new_manager().await;
        let mut spec = panel_spec(2, Some(100.0));
        spec["appeal_window_hours"] = json!(48);
        let (_, sid, talent) = judged_submission(app, &owner, &spec).await;
        let (a, b) = (app.new_manager().await, app.new_manager().await);
        let ra = reviewed(app, &a, &sid, review_spec(4.0, 4.0, "rejected", 0)).await;
        reviewed(app, &b, &sid, review_spec(4.0, 6.0, "rejected", 0)).await;
        assert_eq!(submission(app, &owner, &sid).await.0, json!("rejected"));
        // Two reviews: the appeal names one.
        assert_problem(app.file_appeal(&talent, &sid, &appeal_of("composition")).await, 422, "validation_failed").await;
        let mut body = appeal_of("composition");
        body["review_id"] = ra["id"].clone();
        let appeal = filed(app, &talent, &sid, &body).await;
        assert_eq!(appeal["reviewer_id"], json!(a.id));
        let id = appeal["id"].as_str().unwrap();
        let c = app.new_manager().await;
        assert_problem(app.answer_appeal(&c, id, &denied()).await, 403, "forbidden").await;
        overdue(app, &sid).await;
        // Past the deadline: not the appealed reviewer, not another of its reviewers.
        assert_problem(app.answer_appeal(&a, id, &denied()).await, 403, "forbidden").await;
        let refused = assert_problem(app.answer_appeal(&b, id, &denied()).await, 403, "conflict_of_interest").await;
        assert_eq!(refused["conflict"], "already_reviewed");
        // A manager with no part in it re-scores: a's review becomes 55,
        // accepted, against b's rejection: the panel needs its tiebreak.
        let a2 = answered(app, &c, &appeal, &upheld(6.0)).await;
        assert_eq!((a2["status"].clone(), a2["answered_by"].clone()), (json!("upheld"), json!(c.id)));
        assert_eq!(count(app, &sid, "review.tiebreak_needed").await, 1);
        assert_eq!(submission(app, &owner, &sid).await.0, json!("rejected"), "the last outcome stands until the tiebreak");
        assert_eq!(app.balance(&talent).await, (0, 0));
    }

    async fn of_concurrent_answers_one_lands_and_the_reward_moves_once(app: &TestApp) {
        let owner = app.new_manager().await;
        let (_, sid, talent, _, _) = rejected(app, &owner, 48).await;
        let appeal = filed(app, &talent, &sid, &appeal_of("composition")).await;
        overdue(app, &sid).await;
        let (c, d) = (app.new_manager().await, app.new_manager().await);
        let id = appeal["id"].as_str().unwrap();
        let (x, y) = futures::future::join(app.answer_appeal(&c, id, &upheld(6.0)), app.answer_appeal(&d, id, &upheld(7.0))).await;
        let mut statuses = vec![x.status().as_u16(), y.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, vec![200, 409]);
        assert_eq!(submission(app, &owner, &sid).await.0, json!("accepted"));
        assert_eq!(app.balance(&talent).await, (10, 0));
        assert_eq!(rewards_of(app, &talent, &sid).await, 10);
        assert_eq!(count(app, &sid, "submission.rescored").await, 1);
        app.assert_books_balance().await;
    }

    async fn appeal_hours_are_checked_and_fixed_once_judging_starts(app: &TestApp) {
        let owner = app.new_manager().await;
        let mut spec = appeal_spec(721);
        assert_problem(app.create_challenge(&owner, &spec).await, 422, "validation_failed").await;
        spec["appeal_window_hours"] = json!(12);
        spec["appeal_response_hours"] = json!(0);
        assert_problem(app.create_challenge(&owner, &spec).await, 422, "validation_failed").await;
        let created: Value = app.create_challenge(&owner, &crate::helpers::challenge_spec()).await.json().await.unwrap();
        let cid = created["id"].as_str().unwrap();
        let c: Value = app.update_challenge(&owner, cid, &json!({ "appeal_window_hours": 24, "appeal_response_hours": 6 })).await.json().await.unwrap();
        assert_eq!((c["appeal_window_hours"].clone(), c["appeal_response_hours"].clone()), (json!(24), json!(6)));
        app.transition(&owner, cid, "open").await;
        app.transition(&owner, cid, "judging").await;
        assert_problem(app.update_challenge(&owner, cid, &json!({ "appeal_window_hours": 1 })).await, 409, "field_locked").await;
    }
}
