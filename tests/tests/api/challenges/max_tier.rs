//! Eligibility from above: a talent whose tier in the challenge's track is
//! over its `max_tier` may not submit.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem, challenge_spec, submission_spec};

both_backends! {
    async fn a_talent_above_max_tier_in_the_track_is_refused(app: &TestApp) {
        let manager = app.new_manager().await;
        let mut spec = challenge_spec();
        spec["track"] = json!("preditor");
        spec["min_tier"] = json!(0);
        spec["max_tier"] = json!(2);
        let cid = app.open_challenge(&manager, &spec).await;

        // Tier 3 in the track: over the top of the range.
        let over = app.new_talent().await;
        app.enrol(over.id, "preditor", 3).await;
        let res = app.submit(&over, &cid, &submission_spec("https://x.example/over.png")).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "a Tier 3 talent submitted to a challenge for tiers 0–2");
        let body = assert_problem(res, 403, "not_eligible").await;
        assert!(body["detail"].as_str().unwrap().contains("0–2"), "{body}");
        let mine: Value = app.my_submissions(&over).await.json().await.unwrap();
        assert_eq!(mine["items"], json!([]), "nothing was stored");

        // Tier 2 in the track, at the top of the range: in. So is Tier 2 in
        // the track with Tier 3 elsewhere: the challenge's track counts.
        let top = app.new_talent().await;
        app.enrol(top.id, "preditor", 2).await;
        let elsewhere = app.new_talent().await;
        app.enrol(elsewhere.id, "preditor", 2).await;
        app.enrol(elsewhere.id, "ai_generalist", 3).await;
        for who in [&top, &elsewhere] {
            let res = app.submit(who, &cid, &submission_spec(&format!("https://x.example/{}.png", who.id))).await;
            assert_eq!(res.status(), StatusCode::CREATED);
        }
        let all: Value = app.challenge_submissions(Some(&manager), &cid).await.json().await.unwrap();
        let talents: Vec<&Value> = all["items"].as_array().unwrap().iter().map(|s| &s["talent_id"]).collect();
        assert_eq!(talents.len(), 2, "{all}");
        assert!(!talents.contains(&&json!(over.id)), "{all}");

        // Without a track the headline tier counts: Tier 3 anywhere is over.
        spec["track"] = json!(null);
        let open = app.open_challenge(&manager, &spec).await;
        assert_problem(app.submit(&elsewhere, &open, &submission_spec("https://x.example/h.png")).await, 403, "not_eligible").await;
        assert_eq!(app.submit(&top, &open, &submission_spec("https://x.example/top.png")).await.status(), StatusCode::CREATED);
    }
}
