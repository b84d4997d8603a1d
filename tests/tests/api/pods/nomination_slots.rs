//! Nominating for a slot: an open slot of the nomination's track is recorded
//! with it; a slot of another track is refused and nothing is recorded.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem};

both_backends! {
    async fn a_nomination_names_an_open_slot_of_its_track_and_never_one_of_another(app: &TestApp) {
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        let (pod, slots) = app.pod_with_slots(&lead, 2, &["preditor", "ai_generalist"]).await;
        let talent = app.new_talent().await;
        app.enrol_certified(talent.id, "preditor").await;

        // The ai_generalist slot for a preditor nomination: 422, nothing recorded.
        let res = app.nominate(&manager, &talent, "preditor", Some(&slots[1])).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a preditor nomination for an ai_generalist slot");
        let body = assert_problem(res, 422, "validation_failed").await;
        assert_eq!(body["errors"], json!([{"field": "slot_id", "message": "the slot is for ai_generalist, not preditor"}]), "{body}");
        let all: Value = app.handoffs(&lead, "").await.json().await.unwrap();
        assert_eq!(all["items"], json!([]), "{all}");

        // The open preditor slot: 201, and the slot is recorded with it.
        let res = app.nominate(&manager, &talent, "preditor", Some(&slots[0])).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let n: Value = res.json().await.unwrap();
        assert_eq!(
            (n["talent_id"].clone(), n["track"].clone(), n["status"].clone(), n["slot_id"].clone()),
            (json!(talent.id), json!("preditor"), json!("pending"), json!(slots[0])),
            "{n}"
        );
        let id = n["id"].as_str().unwrap().to_owned();
        let pending: Value = app.handoffs(&lead, "status=pending").await.json().await.unwrap();
        let listed: Vec<(Value, Value)> = pending["items"].as_array().unwrap().iter().map(|n| (n["id"].clone(), n["slot_id"].clone())).collect();
        assert_eq!(listed, vec![(json!(id), json!(slots[0]))]);
        let res = app.handoff(&lead, &id).await;
        assert_eq!(res.status(), StatusCode::OK);
        let detail: Value = res.json().await.unwrap();
        assert_eq!(detail["nomination"]["slot_id"], json!(slots[0]), "{detail}");

        // The lead places the talent there.
        let res = app.accept(&lead, &id, &slots[0]).await;
        assert_eq!(res.status(), StatusCode::OK);
        let p: Value = app.get_pod(&lead, &pod).await.json().await.unwrap();
        assert_eq!(p["slots"][0]["talent_id"], json!(talent.id), "{p}");
        assert_eq!(p["slots"][1]["status"], "open", "{p}");
    }
}
