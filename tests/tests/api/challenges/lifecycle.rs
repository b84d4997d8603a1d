//! Creating, editing and moving challenges; drafts for staff only; the clock.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{exec_on, id};
use crate::both_backends;
use crate::helpers::{Backend, Loop, TestApp, assert_problem, challenge_spec};

both_backends! {
    async fn a_manager_creates_a_draft_that_only_staff_see(app: &TestApp) {
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        assert_problem(app.create_challenge(&talent, &challenge_spec()).await, 403, "forbidden").await;
        let res = app.create_challenge(&manager, &challenge_spec()).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let c: Value = res.json().await.unwrap();
        assert_eq!(c["status"], "draft");
        assert_eq!(c["rubric"]["version"], 1);
        let cid = id(&c);
        assert_problem(app.get_challenge(Some(&talent), &cid).await, 404, "not_found").await;
        assert_problem(app.get_challenge(None, &cid).await, 404, "not_found").await;
        assert_eq!(app.get_challenge(Some(&manager), &cid).await.status(), StatusCode::OK);
        let list: Value = app.list_challenges(Some(&talent), "").await.json().await.unwrap();
        assert!(list["items"].as_array().unwrap().iter().all(|c| c["id"] != json!(cid)));
        let list: Value = app.list_challenges(Some(&manager), "status=draft").await.json().await.unwrap();
        assert!(list["items"].as_array().unwrap().iter().any(|c| c["id"] == json!(cid)));

        app.transition(&manager, &cid, "open").await;
        let list: Value = app.list_challenges(None, "status=open&tier=3").await.json().await.unwrap();
        assert!(list["items"].as_array().unwrap().iter().any(|c| c["id"] == json!(cid)));
        let list: Value = app.list_challenges(None, "track=preditor").await.json().await.unwrap();
        assert!(list["items"].as_array().unwrap().iter().all(|c| c["id"] != json!(cid)));
    }

    async fn bad_challenges_are_refused_naming_every_field(app: &TestApp) {
        let manager = app.new_manager().await;
        let mut spec = challenge_spec();
        spec["title"] = json!("");
        spec["min_tier"] = json!(4);
        spec["max_tier"] = json!(2);
        spec["closes_at"] = spec["opens_at"].clone();
        spec["reference_assets"] = json!(["ftp://x"]);
        spec["rubric"]["criteria"][1]["key"] = json!("composition");
        spec["rubric"]["pass_mark"] = json!(101);
        spec["certifies_track"] = json!("preditor");
        let body = assert_problem(app.create_challenge(&manager, &spec).await, 422, "validation_failed").await;
        let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        for f in ["title", "max_tier", "closes_at", "reference_assets[0]", "rubric.criteria[1].key", "rubric.pass_mark", "certifies_track"] {
            assert!(fields.contains(&f), "{f} not in {fields:?}");
        }
    }

    async fn only_legal_transitions_land(app: &TestApp) {
        let manager = app.new_manager().await;
        let c: Value = app.create_challenge(&manager, &challenge_spec()).await.json().await.unwrap();
        let cid = id(&c);
        for to in ["judging", "closed", "draft"] {
            assert_problem(app.transition(&manager, &cid, to).await, 409, "illegal_transition").await;
        }
        assert_eq!(app.transition(&manager, &cid, "open").await.status(), StatusCode::OK);
        for to in ["open", "closed", "draft"] {
            assert_problem(app.transition(&manager, &cid, to).await, 409, "illegal_transition").await;
        }
        assert_eq!(app.transition(&manager, &cid, "judging").await.status(), StatusCode::OK);
        for to in ["open", "judging", "cancelled", "draft"] {
            assert_problem(app.transition(&manager, &cid, to).await, 409, "illegal_transition").await;
        }
        assert_eq!(app.transition(&manager, &cid, "closed").await.status(), StatusCode::OK);
        for to in ["open", "judging", "closed", "cancelled", "draft"] {
            assert_problem(app.transition(&manager, &cid, to).await, 409, "illegal_transition").await;
        }
        // Cancelling needs a reason, and is final.
        let c2: Value = app.create_challenge(&manager, &challenge_spec()).await.json().await.unwrap();
        let c2 = id(&c2);
        let res = app.post(&format!("/api/v1/challenges/{c2}/transitions"), Some(&manager.token), &json!({"to": "cancelled"})).await;
        assert_problem(res, 422, "validation_failed").await;
        let res = app.post(&format!("/api/v1/challenges/{c2}/transitions"), Some(&manager.token), &json!({"to": "cancelled", "reason": "brief withdrawn"})).await;
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["status"], "cancelled");
        assert_eq!(body["cancel_reason"], "brief withdrawn");
        assert_problem(app.transition(&manager, &c2, "open").await, 409, "illegal_transition").await;
        let talent = app.new_talent().await;
        assert_problem(app.transition(&talent, &c2, "open").await, 403, "forbidden").await;
    }

    async fn once_open_only_wording_assets_and_rubric_change(app: &TestApp) {
        let manager = app.new_manager().await;
        let cid = app.open_challenge(&manager, &challenge_spec()).await;
        let res = app.update_challenge(&manager, &cid, &json!({"reward": 99, "max_tier": 3})).await;
        let body = assert_problem(res, 409, "field_locked").await;
        assert!(body["detail"].as_str().unwrap().contains("reward"));
        let res = app.update_challenge(&manager, &cid, &json!({"title": "Neon shots, v2", "reference_assets": []})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let c: Value = res.json().await.unwrap();
        assert_eq!(c["title"], "Neon shots, v2");
        assert_eq!(c["rubric"]["version"], 1);
        assert_eq!(app.transition(&manager, &cid, "judging").await.status(), StatusCode::OK);
        assert_problem(app.update_challenge(&manager, &cid, &json!({"closes_at": "2030-01-01T00:00:00Z"})).await, 409, "field_locked").await;
        assert_eq!(app.transition(&manager, &cid, "closed").await.status(), StatusCode::OK);
        assert_problem(app.update_challenge(&manager, &cid, &json!({"title": "x"})).await, 409, "field_locked").await;
    }

    // The job's own round runs once at start and then not for an hour, so
    // only the call below and the manager race.
    #[settings(|s| s.hold_sweep_interval_seconds = 3600)]
    async fn the_clock_moves_open_challenges_to_judging_once_even_racing_a_manager(app: &TestApp) {
        app.until_rounds(Loop::Jobs, 1).await;
        let manager = app.new_manager().await;
        let cid = app.open_challenge(&manager, &challenge_spec()).await;
        exec_on(app, "UPDATE challenges SET closes_at = opens_at WHERE id = $1", &cid).await;
        let (clock, by_hand) = tokio::join!(
            kartel_domain::challenges::advance_clock(&app.db),
            app.transition(&manager, &cid, "judging"),
        );
        let moved_by_clock = clock.unwrap() == 1;
        let moved_by_hand = by_hand.status() == StatusCode::OK;
        assert!(moved_by_clock ^ moved_by_hand, "clock {moved_by_clock}, manager {moved_by_hand}");
        let c: Value = app.get_challenge(None, &cid).await.json().await.unwrap();
        assert_eq!(c["status"], "judging");
        assert_eq!(kartel_domain::challenges::advance_clock(&app.db).await.unwrap(), 0);
    }
}

both_backends! {
    async fn managers_routes_refuse_strangers_and_talents_and_submitting_needs_a_sign_in(app: &TestApp) {
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        let cid = app.open_challenge(&manager, &challenge_spec()).await;
        let sid = app.new_submission(&talent, &cid, "https://x.example/auth.png").await;
        app.transition(&manager, &cid, "judging").await;
        let review = crate::helpers::review_spec(8.0, 8.0, "accepted", 1);
        let routes = [
            ("/api/v1/challenges".to_owned(), challenge_spec(), reqwest::Method::POST),
            (format!("/api/v1/challenges/{cid}"), json!({"title": "x"}), reqwest::Method::PATCH),
            (format!("/api/v1/challenges/{cid}/transitions"), json!({"to": "closed"}), reqwest::Method::POST),
            (format!("/api/v1/submissions/{sid}/reviews"), review, reqwest::Method::POST),
        ];
        for (path, body, method) in &routes {
            let send = |token: Option<String>| {
                let mut r = app.client.request(method.clone(), app.url(path)).json(body);
                if let Some(t) = token {
                    r = r.bearer_auth(t);
                }
                r.send()
            };
            assert_problem(send(None).await.unwrap(), 401, "unauthorized").await;
            assert_problem(send(Some(talent.token.clone())).await.unwrap(), 403, "forbidden").await;
        }
        // A bad body from a talent is still a 403: who may comes before what was sent.
        let res = app.update_challenge(&talent, &cid, &json!({"no_such_field": 1})).await;
        assert_problem(res, 403, "forbidden").await;
        // Submitting and reading one's reviews need a sign-in.
        let res = app.post(&format!("/api/v1/challenges/{cid}/submissions"), None, &crate::helpers::submission_spec("https://x.example/anon.png")).await;
        assert_problem(res, 401, "unauthorized").await;
        assert_problem(app.get(&format!("/api/v1/submissions/{sid}/reviews"), None).await, 401, "unauthorized").await;
        // Nothing of that changed the challenge.
        let c: Value = app.get_challenge(None, &cid).await.json().await.unwrap();
        assert_eq!((c["status"].clone(), c["title"].clone()), (json!("judging"), json!("Neon product shots")));
    }
}
