//! Requirements as data: read by anyone, replaced by admins (422 for what
//! cannot be), re-evaluating the track's talents in the background; the
//! playbook; the complete profile; the staff's search by track and tier.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem};

both_backends! {
    async fn tracks_and_their_requirements_are_data_anyone_reads(app: &TestApp) {
        let res = app.tracks().await;
        assert_eq!(res.status(), StatusCode::OK);
        let t: Value = res.json().await.unwrap();
        let tracks: Vec<&str> = t["items"].as_array().unwrap().iter().map(|t| t["track"].as_str().unwrap()).collect();
        assert_eq!(tracks, vec!["workflow_engineer", "ai_generalist", "preditor", "data_lora_specialist", "data_engineer"]);
        let preditor = &t["items"][2];
        assert_eq!(preditor["demotion_grace_days"], 14);
        assert!(preditor["playbook"].is_null());
        assert_eq!(preditor["requirements"], json!([
            {"tier": 1, "key": "profile_complete", "target": 1.0},
            {"tier": 2, "key": "passed_challenges", "target": 3.0},
            {"tier": 3, "key": "passed_track_challenges", "target": 3.0},
            {"tier": 3, "key": "reviewed_batches", "target": 5.0},
            {"tier": 3, "key": "bulk_run_success_rate", "target": 0.8},
        ]));
    }

    async fn impossible_requirements_are_refused_naming_the_item(app: &TestApp) {
        let admin = app.new_admin().await;
        for (bad, field) in [
            (json!([{"tier": 2, "key": "karma", "target": 1}]), "requirements[0].key"),
            (json!([{"tier": 4, "key": "passed_challenges", "target": 1}]), "requirements[0].tier"),
            (json!([{"tier": 0, "key": "passed_challenges", "target": 1}]), "requirements[0].tier"),
            (json!([{"tier": 3, "key": "bulk_run_success_rate", "target": 1.5}]), "requirements[0].target"),
            (json!([{"tier": 3, "key": "reviewed_batches", "target": 2.5}]), "requirements[0].target"),
            (json!([{"tier": 2, "key": "passed_challenges", "target": -1}]), "requirements[0].target"),
            (json!([{"tier": 2, "key": "passed_challenges", "target": 1e9}]), "requirements[0].target"),
            (json!([{"tier": 1, "key": "profile_complete", "target": 2}]), "requirements[0].target"),
            (json!([{"tier": 2, "key": "passed_challenges", "target": 1}, {"tier": 2, "key": "passed_challenges", "target": 2}]), "requirements[1].key"),
        ] {
            let body = assert_problem(app.set_requirements(&admin, "preditor", &bad).await, 422, "validation_failed").await;
            assert_eq!(body["errors"][0]["field"], field, "{bad}: {body}");
        }
        let res = app.put("/api/v1/tracks/preditor/requirements", Some(&admin.token), &json!({"requirements": [], "extra": 1})).await;
        assert_problem(res, 422, "validation_failed").await;
        let res = app.put("/api/v1/tracks/painter/requirements", Some(&admin.token), &json!({"requirements": []})).await;
        assert_problem(res, 404, "not_found").await;
        // Managers cannot either.
        let manager = app.new_manager().await;
        assert_problem(app.set_requirements(&manager, "preditor", &json!([])).await, 403, "forbidden").await;
        // Nothing changed.
        let t: Value = app.tracks().await.json().await.unwrap();
        assert_eq!(t["items"][2]["requirements"].as_array().unwrap().len(), 5);
    }

    async fn a_requirements_change_reevaluates_the_track_and_says_how_many_moved(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let mut talents = Vec::new();
        for _ in 0..3 {
            let t = app.new_talent().await;
            app.complete_profile(&t).await;
            assert_eq!(app.enrolled(&t, "data_lora_specialist").await["tier"], 1);
            talents.push(t);
        }
        let locked = &talents[2];
        assert_eq!(app.lock_tier(&manager, locked, "data_lora_specialist", true).await.status(), StatusCode::OK);
        // Elsewhere: not evaluated.
        let other = app.new_talent().await;
        app.complete_profile(&other).await;
        app.enrolled(&other, "preditor").await;

        let res = app.set_requirements(&admin, "data_lora_specialist", &json!([
            {"tier": 1, "key": "profile_complete", "target": 1},
            {"tier": 2, "key": "passed_challenges", "target": 0},
            {"tier": 3, "key": "reviewed_batches", "target": 1}
        ])).await;
        assert_eq!(res.status(), StatusCode::OK);
        let changed: Value = res.json().await.unwrap();
        assert_eq!(changed["track"]["requirements"].as_array().unwrap().len(), 3);
        let id = changed["reevaluation"]["id"].as_str().unwrap().to_owned();
        let mut r = Value::Null;
        for _ in 0..100 {
            r = app.reevaluation(&manager, "data_lora_specialist", &id).await.json().await.unwrap();
            if r["status"] == "done" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!((r["status"].clone(), r["evaluated"].clone(), r["moved"].clone()), (json!("done"), json!(3), json!(2)));
        assert_eq!(app.tier_in(&talents[0], "data_lora_specialist").await, 2);
        assert_eq!(app.tier_in(&talents[1], "data_lora_specialist").await, 2);
        assert_eq!(app.tier_in(locked, "data_lora_specialist").await, 1);
        assert_eq!(app.tier_in(&other, "preditor").await, 1);
        let h = crate::tiers::history(app, &talents[0], &talents[0]).await;
        assert_eq!(h[0]["evidence"]["reevaluation_id"], json!(id));
        // Audited; talents cannot follow the re-evaluation.
        let log: Value = app.audit_log(&admin, "action=track.requirements").await.json().await.unwrap();
        assert_eq!(log["items"].as_array().unwrap().len(), 1);
        assert_problem(app.reevaluation(&talents[0], "data_lora_specialist", &id).await, 403, "forbidden").await;
    }

    async fn playbooks_and_grace_periods_are_edited_by_admins(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let pb = json!({"title": "Preditor playbook", "url": "https://handbook.example.com/preditor", "version": "3.0", "status": "draft"});
        assert_problem(app.update_track(&manager, "preditor", &json!({"playbook": pb})).await, 403, "forbidden").await;
        for (bad, field) in [
            (json!({"demotion_grace_days": 400}), "demotion_grace_days"),
            (json!({"playbook": {"title": "", "url": "https://x.example", "version": "1", "status": "draft"}}), "playbook.title"),
            (json!({"playbook": {"title": "P", "url": "ftp://x.example", "version": "1", "status": "draft"}}), "playbook.url"),
        ] {
            let body = assert_problem(app.update_track(&admin, "preditor", &bad).await, 422, "validation_failed").await;
            assert_eq!(body["errors"][0]["field"], field, "{bad}");
        }
        let res = app.update_track(&admin, "preditor", &json!({"playbook": pb, "demotion_grace_days": 7})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let t: Value = res.json().await.unwrap();
        assert_eq!((t["playbook"].clone(), t["demotion_grace_days"].clone()), (pb, json!(7)));
        let log: Value = app.audit_log(&admin, "action=track.update").await.json().await.unwrap();
        assert_eq!(log["items"].as_array().unwrap().len(), 1);
    }

    async fn a_complete_profile_has_a_bio_and_a_portfolio_link(app: &TestApp) {
        let talent = app.new_talent().await;
        for (bad, field) in [
            (json!({"portfolio_links": ["not a url"]}), "portfolio_links[0]"),
            (json!({"portfolio_links": ["https://a.example/1", "https://a.example/2", "https://a.example/3", "https://a.example/4", "https://a.example/5", "https://a.example/6"]}), "portfolio_links"),
        ] {
            let body = assert_problem(app.update_me(&talent, &bad).await, 422, "validation_failed").await;
            assert_eq!(body["errors"][0]["field"], field);
        }
        app.enrolled(&talent, "preditor").await;
        app.enrolled(&talent, "ai_generalist").await;
        let me: Value = app.update_me(&talent, &json!({"portfolio_links": ["https://a.example/1"]})).await.json().await.unwrap();
        assert_eq!((me["profile_complete"].clone(), me["headline_tier"].clone()), (json!(false), json!(0)));
        let me: Value = app.update_me(&talent, &json!({"bio": "Colourist."})).await.json().await.unwrap();
        assert_eq!((me["profile_complete"].clone(), me["headline_tier"].clone()), (json!(true), json!(1)));
        assert_eq!(app.tier_in(&talent, "ai_generalist").await, 1, "every enrolled track");
        let public: Value = app.get(&format!("/api/v1/talents/{}", talent.id), None).await.json().await.unwrap();
        assert_eq!(public["portfolio_links"], json!(["https://a.example/1"]));
    }

    async fn staff_find_talents_by_track_and_tier(app: &TestApp) {
        let manager = app.new_manager().await;
        let (a, b, c) = (app.new_talent().await, app.new_talent().await, app.new_talent().await);
        app.enrol(a.id, "preditor", 3).await;
        app.enrol(b.id, "preditor", 2).await;
        app.enrol(c.id, "ai_generalist", 3).await;
        app.enrol(c.id, "preditor", 3).await;
        let ids = |v: Value| v["items"].as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        let page: Value = app.search_talents(&manager, "track=preditor&tier=3&limit=1").await.json().await.unwrap();
        assert_eq!(ids(page.clone()), vec![a.id.to_string()]);
        let next = page["next_cursor"].as_str().unwrap();
        let page: Value = app.search_talents(&manager, &format!("track=preditor&tier=3&limit=1&cursor={next}")).await.json().await.unwrap();
        assert_eq!(ids(page.clone()), vec![c.id.to_string()]);
        assert!(page["next_cursor"].is_null());
        let page: Value = app.search_talents(&manager, "track=ai_generalist&tier=3").await.json().await.unwrap();
        assert_eq!(ids(page), vec![c.id.to_string()]);
        assert_problem(app.search_talents(&a, "track=preditor").await, 403, "forbidden").await;
        // A stranger to the route is told so whatever query it sends; staff get the 422.
        for q in ["limit=abc", "tier=9", "track=painter"] {
            assert_problem(app.search_talents(&a, q).await, 403, "forbidden").await;
            let status = app.search_talents(&manager, q).await.status();
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
        }
    }
}
