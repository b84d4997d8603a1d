//! Submitting: the window (the clock is law), eligibility, the limit under
//! concurrency, edits and withdrawal, visibility, copied work.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{exec_on, id};
use crate::both_backends;
use crate::helpers::{
    Backend, TestApp, assert_problem, challenge_spec, review_spec, submission_spec,
};

both_backends! {
    async fn submissions_land_only_inside_the_window_whatever_the_status_says(app: &TestApp) {
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        // A draft takes nothing (and is not there for a talent).
        let draft: Value = app.create_challenge(&manager, &challenge_spec()).await.json().await.unwrap();
        assert_problem(app.submit(&talent, &id(&draft), &submission_spec("https://x.example/1.png")).await, 404, "not_found").await;

        let cid = app.open_challenge(&manager, &challenge_spec()).await;
        // Before the window, status open.
        exec_on(app, "UPDATE challenges SET opens_at = review_due_at WHERE id = $1", &cid).await;
        assert_problem(app.submit(&talent, &cid, &submission_spec("https://x.example/1.png")).await, 409, "submission_window_closed").await;
        exec_on(app, "UPDATE challenges SET opens_at = created_at WHERE id = $1", &cid).await;
        let sid = app.new_submission(&talent, &cid, "https://x.example/1.png").await;
        // After the window, status still open: refused, and so are edits and withdrawal.
        exec_on(app, "UPDATE challenges SET closes_at = opens_at WHERE id = $1", &cid).await;
        assert_problem(app.submit(&talent, &cid, &submission_spec("https://x.example/2.png")).await, 409, "submission_window_closed").await;
        assert_problem(app.update_submission(&talent, &sid, &json!({"prompt": "late"})).await, 409, "submission_window_closed").await;
        assert_problem(app.withdraw_submission(&talent, &sid).await, 409, "submission_window_closed").await;
    }

    async fn ineligible_talents_and_talents_over_the_limit_are_refused(app: &TestApp) {
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        let mut spec = challenge_spec();
        spec["track"] = json!("preditor");
        spec["min_tier"] = json!(1);
        let cid = app.open_challenge(&manager, &spec).await;
        let body = assert_problem(app.submit(&talent, &cid, &submission_spec("https://x.example/1.png")).await, 403, "not_eligible").await;
        assert!(body["detail"].as_str().unwrap().contains("1–5"), "{body}");

        // Two allowed, raced by six: exactly two land.
        let open = app.open_challenge(&manager, &challenge_spec()).await;
        let bodies: Vec<Value> = (0..6).map(|i| submission_spec(&format!("https://x.example/{i}.png"))).collect();
        let sends = bodies.iter().map(|b| app.submit(&talent, &open, b));
        let answers = futures::future::join_all(sends).await;
        let created = answers.iter().filter(|r| r.status() == StatusCode::CREATED).count();
        let refused = answers.iter().filter(|r| r.status() == StatusCode::CONFLICT).count();
        assert_eq!((created, refused), (2, 4));
        // A withdrawn one does not count.
        let mine: Value = app.my_submissions(&talent).await.json().await.unwrap();
        let first = id(&mine["items"][0]);
        assert_eq!(app.withdraw_submission(&talent, &first).await.status(), StatusCode::OK);
        assert_problem(app.withdraw_submission(&talent, &first).await, 409, "submission_withdrawn").await;
        assert_eq!(app.submit(&talent, &open, &submission_spec("https://x.example/again.png")).await.status(), StatusCode::CREATED);
        assert_problem(app.submit(&talent, &open, &submission_spec("https://x.example/more.png")).await, 409, "submission_limit_reached").await;
    }

    async fn bad_submissions_are_refused_naming_the_field(app: &TestApp) {
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        let cid = app.open_challenge(&manager, &challenge_spec()).await;
        let bad = json!({"assets": ["javascript:alert(1)"], "prompt": "", "workflow": [1], "batch_size": 1001});
        let body = assert_problem(app.submit(&talent, &cid, &bad).await, 422, "validation_failed").await;
        let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, ["assets[0]", "prompt", "workflow", "batch_size"]);
        let big = json!({"assets": ["https://x.example/1.png"], "prompt": "p", "workflow": {"blob": "x".repeat(17 * 1024)}, "batch_size": 1});
        assert_problem(app.submit(&talent, &cid, &big).await, 422, "validation_failed").await;
        let none = json!({"assets": [], "prompt": "p", "batch_size": 1});
        assert_problem(app.submit(&talent, &cid, &none).await, 422, "validation_failed").await;
    }

    async fn another_talents_submission_is_hidden_until_the_challenge_closes(app: &TestApp) {
        let manager = app.new_manager().await;
        let (alice, bob) = (app.new_talent().await, app.new_talent().await);
        let cid = app.open_challenge(&manager, &challenge_spec()).await;
        let sid = app.new_submission(&alice, &cid, "https://x.example/a.png").await;
        assert_eq!(app.get_submission(Some(&alice), &sid).await.status(), StatusCode::OK);
        assert_problem(app.get_submission(Some(&bob), &sid).await, 404, "not_found").await;
        assert_problem(app.get_submission(None, &sid).await, 404, "not_found").await;
        assert_problem(app.update_submission(&bob, &sid, &json!({"prompt": "mine now"})).await, 404, "not_found").await;
        assert_problem(app.withdraw_submission(&bob, &sid).await, 404, "not_found").await;
        let seen: Value = app.challenge_submissions(Some(&bob), &cid).await.json().await.unwrap();
        assert_eq!(seen["items"], json!([]));
        let staff_view: Value = app.get_submission(Some(&manager), &sid).await.json().await.unwrap();
        assert_eq!(staff_view["copy_flagged"], json!(false));
        let own_view: Value = app.get_submission(Some(&alice), &sid).await.json().await.unwrap();
        assert!(own_view.get("copy_flagged").is_none());
        // The owner edits while open.
        let res = app.update_submission(&alice, &sid, &json!({"prompt": "sharper", "batch_size": 8})).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.json::<Value>().await.unwrap()["batch_size"], 8);

        app.transition(&manager, &cid, "judging").await;
        assert_problem(app.get_submission(Some(&bob), &sid).await, 404, "not_found").await;
        // Judging ends once every entry has its decision.
        assert_eq!(app.review(&manager, &sid, &review_spec(8.0, 8.0, "accepted", 1)).await.status(), StatusCode::CREATED);
        assert_eq!(app.transition(&manager, &cid, "closed").await.status(), StatusCode::OK);
        assert_eq!(app.get_submission(Some(&bob), &sid).await.status(), StatusCode::OK);
        assert_eq!(app.get_submission(None, &sid).await.status(), StatusCode::OK);
        let seen: Value = app.challenge_submissions(None, &cid).await.json().await.unwrap();
        assert_eq!(seen["items"].as_array().unwrap().len(), 1);
        // Closed: no more edits.
        assert_problem(app.update_submission(&alice, &sid, &json!({"prompt": "after"})).await, 409, "submission_window_closed").await;
    }

    async fn an_asset_already_in_another_talents_submission_is_flagged_for_the_reviewer(app: &TestApp) {
        let manager = app.new_manager().await;
        let (alice, bob) = (app.new_talent().await, app.new_talent().await);
        let cid = app.open_challenge(&manager, &challenge_spec()).await;
        let a = app.new_submission(&alice, &cid, "https://x.example/shared.png").await;
        let b = app.new_submission(&bob, &cid, "https://x.example/shared.png").await;
        let a: Value = app.get_submission(Some(&manager), &a).await.json().await.unwrap();
        let b: Value = app.get_submission(Some(&manager), &b).await.json().await.unwrap();
        assert_eq!((a["copy_flagged"].clone(), b["copy_flagged"].clone()), (json!(false), json!(true)));
        // The same talent reusing its own asset in another submission is not copying.
        let c = app.new_submission(&alice, &cid, "https://x.example/own.png").await;
        let res = app.update_submission(&alice, &c, &json!({"assets": ["https://x.example/own.png", "https://x.example/extra.png"]})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let c: Value = app.get_submission(Some(&manager), &c).await.json().await.unwrap();
        assert_eq!(c["copy_flagged"], json!(false));
    }
}
