//! A certification is made against the track's playbook approved as
//! onboarding-ready: with the playbook still a draft it is refused, even when
//! everything else is in place.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::history;
use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem};

fn playbook(status: &str) -> Value {
    json!({"playbook": {
        "title": "Data engineer playbook",
        "url": "https://handbook.example.com/data-engineer",
        "version": "2.0",
        "status": status
    }})
}

both_backends! {
    async fn certification_is_refused_while_the_playbook_is_a_draft(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let track = "data_engineer";
        app.no_requirements(&admin, track).await;
        // Tier 3 with accepted work in a challenge certifying the track.
        let talent = app.new_talent().await;
        app.complete_profile(&talent).await;
        app.enrol(talent.id, track, 3).await;
        app.judged(&manager, &talent, Some(track), Some(track), true).await;

        // The playbook written down, not yet approved.
        let res = app.update_track(&admin, track, &playbook("draft")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let t: Value = res.json().await.unwrap();
        assert_eq!(t["playbook"]["status"], "draft", "{t}");

        // Refused, naming the playbook and nothing else; nothing changed.
        let res = app.certify(&manager, &talent, track).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "certified against a draft playbook");
        let body = assert_problem(res, 422, "requirements_unmet").await;
        assert_eq!(
            body["errors"],
            json!([{"field": "playbook", "message": "the data_engineer playbook is not approved as onboarding-ready"}]),
            "{body}"
        );
        assert_eq!(app.tier_in(&talent, track).await, 3);
        assert!(history(app, &manager, &talent).await.iter().all(|c| c["to_tier"] != 4));

        // Approved as it stands: the same certification goes through against it.
        let res = app.update_track(&admin, track, &playbook("approved")).await;
        assert_eq!(res.status(), StatusCode::OK);
        let res = app.certify(&manager, &talent, track).await;
        assert_eq!(res.status(), StatusCode::OK);
        let s: Value = res.json().await.unwrap();
        assert_eq!((s["tier"].clone(), s["certificate"]["status"].clone()), (json!(4), json!("valid")));
        assert_eq!(s["certificate"]["playbook_version"], "2.0");
    }
}
