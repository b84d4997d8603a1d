//! Reviewing: who may, scores against the rubric and its versions, rewards
//! exactly once (concurrent accepts, retries, overturns), prizes once under
//! concurrent closes, leaderboards and bulk-run success.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{
    Backend, TestApp, User, assert_problem, challenge_spec, new_key, review_spec,
};

/// An open challenge with one submission by a new talent, moved to judging.
pub(super) async fn judged_submission(
    app: &TestApp,
    manager: &User,
    spec: &Value,
) -> (String, String, User) {
    let talent = app.new_talent().await;
    let cid = app.open_challenge(manager, spec).await;
    let sid = app
        .new_submission(
            &talent,
            &cid,
            &format!("https://x.example/{}.png", new_key()),
        )
        .await;
    assert_eq!(
        app.transition(manager, &cid, "judging").await.status(),
        StatusCode::OK
    );
    (cid, sid, talent)
}

both_backends! {
    async fn reviews_come_from_other_managers_while_judging_against_the_whole_rubric(app: &TestApp) {
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        let cid = app.open_challenge(&manager, &challenge_spec()).await;
        let sid = app.new_submission(&talent, &cid, "https://x.example/1.png").await;
        // Not while open.
        assert_problem(app.review(&manager, &sid, &review_spec(8.0, 8.0, "accepted", 1)).await, 409, "challenge_not_judging").await;
        app.transition(&manager, &cid, "judging").await;
        assert_problem(app.review(&talent, &sid, &review_spec(8.0, 8.0, "accepted", 1)).await, 403, "forbidden").await;
        // A manager's own submission.
        let own_cid = app.open_challenge(&manager, &challenge_spec()).await;
        let own = app.new_submission(&manager, &own_cid, "https://x.example/own.png").await;
        app.transition(&manager, &own_cid, "judging").await;
        let refused = assert_problem(app.review(&manager, &own, &review_spec(8.0, 8.0, "accepted", 1)).await, 403, "conflict_of_interest").await;
        assert_eq!(refused["conflict"], "author");

        for (bad, field) in [
            (json!({"scores": {"composition": 8}, "decision": "accepted", "outputs_meeting_standard": 1}), "scores.lighting"),
            (json!({"scores": {"composition": 11, "lighting": 1}, "decision": "rejected", "outputs_meeting_standard": 1}), "scores.composition"),
            (json!({"scores": {"composition": 1, "lighting": 1, "color": 1}, "decision": "rejected", "outputs_meeting_standard": 1}), "scores.color"),
            (json!({"scores": {"composition": 1, "lighting": 1}, "decision": "rejected", "outputs_meeting_standard": 5}), "outputs_meeting_standard"),
            (json!({"scores": {"composition": 2, "lighting": 2}, "decision": "accepted", "outputs_meeting_standard": 1}), "decision"),
        ] {
            let body = assert_problem(app.review(&manager, &sid, &bad).await, 422, "validation_failed").await;
            assert!(body["errors"].as_array().unwrap().iter().any(|e| e["field"] == field), "{field}: {body}");
        }
        let res = app.review(&manager, &sid, &review_spec(6.0, 10.0, "accepted", 2)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let r: Value = res.json().await.unwrap();
        // (0.6 * 3 + 1.0 * 1) / 4 = 70 %
        assert_eq!(r["total"], json!(70.0));
        assert_eq!(r["rubric_version"], 1);
        let s: Value = app.get_submission(Some(&talent), &sid).await.json().await.unwrap();
        assert_eq!((s["status"].clone(), s["score"].clone()), (json!("accepted"), json!(70.0)));
        // The talent reads the feedback; another talent does not.
        let res = app.reviews(&talent, &sid).await;
        assert_eq!(res.status(), StatusCode::OK);
        let read: Value = res.json().await.unwrap();
        let feedback: Vec<&Value> = read["items"].as_array().unwrap().iter().map(|r| &r["feedback"]).collect();
        assert_eq!(feedback, [&json!("thanks")]);
        let stranger = app.new_talent().await;
        assert_problem(app.reviews(&stranger, &sid).await, 404, "not_found").await;
    }

    async fn an_edited_rubric_is_a_new_version_and_past_reviews_keep_theirs(app: &TestApp) {
        let manager = app.new_manager().await;
        let (cid, sid, talent) = judged_submission(app, &manager, &challenge_spec()).await;
        let first: Value = app.review(&manager, &sid, &review_spec(6.0, 10.0, "accepted", 2)).await.json().await.unwrap();
        let rubric = json!({"criteria": [{"key": "impact", "name": "Impact", "weight": 1, "max_score": 5}], "pass_mark": 80});
        let c: Value = app.update_challenge(&manager, &cid, &json!({"rubric": rubric})).await.json().await.unwrap();
        assert_eq!(c["rubric"]["version"], 2);
        let reviews: Value = app.reviews(&talent, &sid).await.json().await.unwrap();
        assert_eq!(reviews["items"][0]["total"], first["total"]);
        assert_eq!(reviews["items"][0]["rubric_version"], 1);
        assert_eq!(reviews["items"][0]["decision"], "accepted");
        // An overturn scores against the new version.
        let other = app.new_manager().await;
        let body = json!({"scores": {"impact": 2}, "decision": "rejected", "outputs_meeting_standard": 0, "overturns": first["id"]});
        let second: Value = app.review(&other, &sid, &body).await.json().await.unwrap();
        assert_eq!((second["rubric_version"].clone(), second["total"].clone()), (json!(2), json!(40.0)));
    }

    async fn twenty_managers_accepting_at_once_pay_the_reward_once(app: &TestApp) {
        let manager = app.new_manager().await;
        let (_, sid, talent) = judged_submission(app, &manager, &challenge_spec()).await;
        let mut managers = Vec::new();
        for _ in 0..20 {
            managers.push(app.new_manager().await);
        }
        let body = review_spec(8.0, 8.0, "accepted", 3);
        let answers = futures::future::join_all(managers.iter().map(|m| app.review(m, &sid, &body))).await;
        let ok = answers.iter().filter(|r| r.status() == StatusCode::CREATED).count();
        let conflicts = answers.iter().filter(|r| r.status() == StatusCode::CONFLICT).count();
        assert_eq!((ok, conflicts), (1, 19));
        assert_eq!(app.balance(&talent).await, (10, 0));
        let rewards = app.all_history(&talent, "kind=reward").await;
        assert_eq!(rewards.len(), 1);
        app.assert_books_balance().await;
    }

    async fn a_retried_review_with_its_key_is_one_review_and_one_reward(app: &TestApp) {
        let manager = app.new_manager().await;
        let (_, sid, talent) = judged_submission(app, &manager, &challenge_spec()).await;
        let key = new_key();
        let body = review_spec(8.0, 8.0, "accepted", 3);
        let answers = futures::future::join_all((0..5).map(|_| app.review_with_key(&manager, &sid, &key, &body))).await;
        let mut bodies = Vec::new();
        for r in answers {
            assert_eq!(r.status(), StatusCode::CREATED);
            bodies.push(r.text().await.unwrap());
        }
        assert!(bodies.windows(2).all(|w| w[0] == w[1]), "replays differ");
        assert_eq!(app.balance(&talent).await, (10, 0));
        let reviews: Value = app.reviews(&manager, &sid).await.json().await.unwrap();
        assert_eq!(reviews["items"].as_array().unwrap().len(), 1);
    }

    async fn an_overturn_to_rejected_takes_the_reward_back_or_records_it_owed(app: &TestApp) {
        let manager = app.new_manager().await;
        let other = app.new_manager().await;
        let (_, sid, talent) = judged_submission(app, &manager, &challenge_spec()).await;
        let first: Value = app.review(&manager, &sid, &review_spec(8.0, 8.0, "accepted", 3)).await.json().await.unwrap();
        assert_eq!(app.balance(&talent).await, (10, 0));
        // Not by the same manager; not without naming the current review.
        let mut body = review_spec(2.0, 2.0, "rejected", 0);
        assert_problem(app.review(&other, &sid, &body).await, 409, "review_conflict").await;
        body["overturns"] = first["id"].clone();
        assert_problem(app.review(&manager, &sid, &body).await, 409, "same_reviewer").await;
        let second: Value = app.review(&other, &sid, &body).await.json().await.unwrap();
        assert!(second["reversal_transaction_id"].is_string());
        assert_eq!(app.balance(&talent).await, (0, 0));
        // Accepted again: paid again, once.
        let mut again = review_spec(9.0, 9.0, "accepted", 4);
        again["overturns"] = second["id"].clone();
        let third: Value = app.review(&manager, &sid, &again).await.json().await.unwrap();
        assert_eq!(app.balance(&talent).await, (10, 0));
        // Partly spent, then rejected again: the overturn stands, what is
        // left is taken back and the rest is owed.
        assert_eq!(app.spend(&talent, &new_key(), 7).await.status(), StatusCode::CREATED);
        let mut reject = review_spec(1.0, 1.0, "rejected", 0);
        reject["overturns"] = third["id"].clone();
        let fourth: Value = app.review(&other, &sid, &reject).await.json().await.unwrap();
        assert_eq!(fourth["reward_owed"], 7);
        assert!(fourth["reversal_transaction_id"].is_string());
        assert_eq!(app.balance(&talent).await, (0, 0));
        assert_eq!(app.owed(&talent).await, 7);
        let s: Value = app.get_submission(Some(&talent), &sid).await.json().await.unwrap();
        assert_eq!(s["status"], "rejected");
        app.assert_books_balance().await;
    }

    async fn closing_pays_the_prizes_once_even_when_two_managers_close_together(app: &TestApp) {
        let manager = app.new_manager().await;
        let other = app.new_manager().await;
        let mut spec = challenge_spec();
        spec["prizes"] = json!([100, 50]);
        spec["reward"] = json!(0);
        let cid = app.open_challenge(&manager, &spec).await;
        let (a, b, c) = (app.new_talent().await, app.new_talent().await, app.new_talent().await);
        let sa = app.new_submission(&a, &cid, "https://x.example/a.png").await;
        let sb = app.new_submission(&b, &cid, "https://x.example/b.png").await;
        let sc = app.new_submission(&c, &cid, "https://x.example/c.png").await;
        app.transition(&manager, &cid, "judging").await;
        // a and b tie on score: a submitted first, so a ranks first.
        for (sid, score) in [(&sa, 9.0), (&sb, 9.0), (&sc, 6.0)] {
            assert_eq!(app.review(&manager, sid, &review_spec(score, score, "accepted", 1)).await.status(), StatusCode::CREATED);
        }
        let board: Value = app.leaderboard(None, &cid, "").await.json().await.unwrap();
        let order: Vec<Value> = board["items"].as_array().unwrap().iter().map(|e| e["talent_id"].clone()).collect();
        assert_eq!(order, [json!(a.id), json!(b.id), json!(c.id)]);
        assert_eq!(board["items"][0]["rank"], 1);
        let page: Value = app.leaderboard(None, &cid, "limit=2").await.json().await.unwrap();
        let rest: Value = app.leaderboard(None, &cid, &format!("limit=2&cursor={}", page["next_cursor"].as_str().unwrap())).await.json().await.unwrap();
        assert_eq!(rest["items"][0]["rank"], 3);

        let (x, y) = tokio::join!(app.transition(&manager, &cid, "closed"), app.transition(&other, &cid, "closed"));
        let mut statuses = [x.status().as_u16(), y.status().as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 409]);
        assert_eq!(app.balance(&a).await, (100, 0));
        assert_eq!(app.balance(&b).await, (50, 0));
        assert_eq!(app.balance(&c).await, (0, 0));
        app.assert_books_balance().await;
    }

    async fn the_leaderboard_is_public_once_judging_and_bulk_run_success_is_counted(app: &TestApp) {
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        let cid = app.open_challenge(&manager, &challenge_spec()).await;
        let s1 = app.new_submission(&talent, &cid, "https://x.example/1.png").await;
        let s2 = app.new_submission(&talent, &cid, "https://x.example/2.png").await;
        assert_problem(app.leaderboard(None, &cid, "").await, 404, "not_found").await;
        assert_eq!(app.leaderboard(Some(&manager), &cid, "").await.status(), StatusCode::OK);
        app.transition(&manager, &cid, "judging").await;
        app.review(&manager, &s1, &review_spec(8.0, 8.0, "accepted", 2)).await;
        app.review(&manager, &s2, &review_spec(1.0, 1.0, "rejected", 0)).await;
        let board: Value = app.leaderboard(None, &cid, "").await.json().await.unwrap();
        assert_eq!(board["items"].as_array().unwrap().len(), 1);
        assert_eq!(board["items"][0]["submission_id"], json!(s1));
        let c: Value = app.get_challenge(None, &cid).await.json().await.unwrap();
        assert_eq!(c["bulk_run"], json!({"reviewed_batches": 2, "successful_batches": 1, "rate": 0.5}));
        let profile: Value = app.get(&format!("/api/v1/talents/{}", talent.id), None).await.json().await.unwrap();
        assert_eq!(profile["bulk_run"]["overall"], json!({"reviewed_batches": 2, "successful_batches": 1, "rate": 0.5}));
    }
}

/// Deletes every Redis key of this app (as if Redis were flushed) and says
/// how many leaderboard boards there were; `None` when the app runs without Redis.
async fn flush_redis(app: &TestApp) -> Option<usize> {
    let url = app.settings.redis_url.as_ref()?;
    let client = redis::Client::open(url.expose()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}:*", app.settings.redis_prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    Some(keys.iter().filter(|k| k.contains(":lb:")).count())
}

/// A judging challenge whose board shows b (90) above a (80); returns the
/// challenge and what its board shows.
async fn two_on_the_board(app: &TestApp) -> (String, Vec<Value>) {
    let manager = app.new_manager().await;
    let (a, b) = (app.new_talent().await, app.new_talent().await);
    let cid = app.open_challenge(&manager, &challenge_spec()).await;
    let sa = app
        .new_submission(&a, &cid, "https://x.example/a.png")
        .await;
    let sb = app
        .new_submission(&b, &cid, "https://x.example/b.png")
        .await;
    app.transition(&manager, &cid, "judging").await;
    assert_eq!(board(app, &cid).await, Vec::<Value>::new());
    app.review(&manager, &sa, &review_spec(8.0, 8.0, "accepted", 1))
        .await;
    assert_eq!(board(app, &cid).await, [json!([1, a.id, 80.0])]);
    app.review(&manager, &sb, &review_spec(9.0, 9.0, "accepted", 1))
        .await;
    let expected = vec![json!([1, b.id, 90.0]), json!([2, a.id, 80.0])];
    assert_eq!(board(app, &cid).await, expected);
    (cid, expected)
}

/// The public board of `cid` as `[rank, talent, score]` rows.
async fn board(app: &TestApp, cid: &str) -> Vec<Value> {
    let board: Value = app.leaderboard(None, cid, "").await.json().await.unwrap();
    board["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| json!([e["rank"], e["talent_id"], e["score"]]))
        .collect()
}

both_backends! {
    async fn the_leaderboard_follows_reviews(app: &TestApp) {
        let (cid, expected) = two_on_the_board(app).await;
        assert_eq!(board(app, &cid).await, expected, "read again from the cache");
    }
}

/// With Redis, the board is served from a sorted set there, and rebuilt
/// from the database when the set is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "set TEST_DATABASE_URL (and TEST_REDIS_URL) to run the PostgreSQL variant"
)]
async fn the_leaderboard_is_rebuilt_after_redis_is_flushed() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let (cid, expected) = two_on_the_board(&app).await;
    let flushed = flush_redis(&app)
        .await
        .expect("the PostgreSQL variant runs with Redis (TEST_REDIS_URL)");
    assert!(
        flushed >= 1,
        "the board was a sorted set in Redis: {flushed}"
    );
    assert_eq!(board(&app, &cid).await, expected, "after a flush");
    assert_eq!(board(&app, &cid).await, expected);
    app.stop().await;
}
