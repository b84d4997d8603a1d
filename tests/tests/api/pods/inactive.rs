//! Inactive people leave the pipeline: a suspended or erased account is
//! not certified, nominated, accepted or assigned (422
//! `account_not_active`), is not on the bench, and is not counted as
//! deployed; a suspension withdraws pending nominations, and a suspended
//! placed talent keeps the slot, marked.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, assert_problem};

/// A Tier 5 talent in `track` on the bench: nominated, accepted into a new
/// pod's slot by `lead`, then unassigned.
async fn benched(app: &TestApp, manager: &User, lead: &User, track: &str) -> User {
    let (talent, id) = app.nominated(manager, track).await;
    let (pod, slots) = app.pod_with_slots(lead, 1, &[track]).await;
    assert_eq!(
        app.accept(lead, &id, &slots[0]).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.unassign(lead, &pod, &slots[0]).await.status(),
        StatusCode::OK
    );
    talent
}

/// The talent ids on the bench page for `query`.
async fn bench_ids(app: &TestApp, by: &User, query: &str) -> Vec<Value> {
    let page: Value = app.bench(by, query).await.json().await.unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["talent_id"].clone())
        .collect()
}

/// The talent's tier in `track`, as staff read it.
async fn tier_of(app: &TestApp, by: &User, talent: &User, track: &str) -> i64 {
    let p: Value = app.talent_progress(by, talent).await.json().await.unwrap();
    p["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["track"] == track)
        .unwrap()["tier"]
        .as_i64()
        .unwrap()
}

both_backends! {
    async fn a_suspended_talent_is_not_certified_nominated_accepted_or_assigned(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        app.approve_playbook(&admin, "preditor").await;
        app.no_requirements(&admin, "preditor").await;

        // Certification: Tier 3 with accepted certifying work, then suspended.
        let three = app.new_talent().await;
        app.enrol(three.id, "preditor", 3).await;
        app.judged(&manager, &three, Some("preditor"), Some("preditor"), true).await;
        app.set_status(&admin, three.id, "suspended").await;
        let body = assert_problem(app.certify(&manager, &three, "preditor").await, 422, "account_not_active").await;
        assert!(body["detail"].as_str().unwrap().contains("suspended"), "{body}");
        assert_eq!(tier_of(app, &manager, &three, "preditor").await, 3);
        // Reactivated, the same talent is certified.
        app.set_status(&admin, three.id, "active").await;
        assert_eq!(app.certify(&manager, &three, "preditor").await.status(), StatusCode::OK);

        // Nomination.
        let four = app.new_talent().await;
        app.enrol_certified(four.id, "preditor").await;
        app.set_status(&admin, four.id, "suspended").await;
        assert_problem(app.nominate(&manager, &four, "preditor", None).await, 422, "account_not_active").await;

        // Accept: the suspension withdrew the nomination; the accept says why.
        let (nominee, nid) = app.nominated(&manager, "preditor").await;
        let (pod, slots) = app.pod_with_slots(&lead, 1, &["preditor"]).await;
        app.set_status(&admin, nominee.id, "suspended").await;
        assert_problem(app.accept(&lead, &nid, &slots[0]).await, 422, "account_not_active").await;
        assert_eq!(tier_of(app, &manager, &nominee, "preditor").await, 4);
        let open: Value = app.get_pod(&lead, &pod).await.json().await.unwrap();
        assert_eq!(open["slots"][0]["status"], "open");

        // Assignment: a benched Tier 5, suspended.
        let five = benched(app, &manager, &lead, "preditor").await;
        assert!(bench_ids(app, &manager, "").await.contains(&json!(five.id)));
        app.set_status(&admin, five.id, "suspended").await;
        assert!(!bench_ids(app, &manager, "").await.contains(&json!(five.id)), "not available");
        let page: Value = app.bench(&manager, "include_suspended=true").await.json().await.unwrap();
        let entry = page["items"].as_array().unwrap().iter().find(|e| e["talent_id"] == json!(five.id)).unwrap().clone();
        assert_eq!(entry["suspended"], true);
        assert!(page["items"].as_array().unwrap().iter().filter(|e| e["talent_id"] != json!(five.id)).all(|e| e["suspended"] == false));
        let (pod, slots) = app.pod_with_slots(&lead, 1, &["preditor"]).await;
        assert_problem(app.assign(&lead, &pod, &slots[0], &five).await, 422, "account_not_active").await;
        app.set_status(&admin, five.id, "active").await;
        assert_eq!(app.assign(&lead, &pod, &slots[0], &five).await.status(), StatusCode::OK);
    }

    async fn an_erased_talent_is_not_certified_nominated_assigned_nor_on_the_bench(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        app.approve_playbook(&admin, "preditor").await;
        app.no_requirements(&admin, "preditor").await;

        let three = app.new_talent().await;
        app.enrol(three.id, "preditor", 3).await;
        app.judged(&manager, &three, Some("preditor"), Some("preditor"), true).await;
        assert_eq!(app.erase_user(&admin, three.id).await.status(), StatusCode::NO_CONTENT);
        assert_problem(app.certify(&manager, &three, "preditor").await, 422, "account_not_active").await;

        let four = app.new_talent().await;
        app.enrol_certified(four.id, "preditor").await;
        assert_eq!(app.erase_user(&admin, four.id).await.status(), StatusCode::NO_CONTENT);
        let body = assert_problem(app.nominate(&manager, &four, "preditor", None).await, 422, "account_not_active").await;
        assert!(body["detail"].as_str().unwrap().contains("erased"), "{body}");

        // A Tier 5 on the bench, erased: gone from it, never assigned again.
        let five = benched(app, &manager, &lead, "preditor").await;
        assert_eq!(app.erase_user(&admin, five.id).await.status(), StatusCode::NO_CONTENT);
        assert!(!bench_ids(app, &manager, "").await.contains(&json!(five.id)));
        assert!(!bench_ids(app, &manager, "include_suspended=true").await.contains(&json!(five.id)));
        let (pod, slots) = app.pod_with_slots(&lead, 1, &["preditor"]).await;
        assert_problem(app.assign(&lead, &pod, &slots[0], &five).await, 422, "account_not_active").await;
        // Nor counted: nobody of the pipeline is deployed now.
        let d: Value = app.dashboard(&manager).await.json().await.unwrap();
        assert_eq!((d["tier5_deployed"].clone(), d["tier5_placed_now"].clone()), (json!(0), json!(0)));
    }

    async fn a_suspension_withdraws_pending_nominations_for_good(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        let (talent, first) = app.nominated(&manager, "preditor").await;
        app.enrol_certified(talent.id, "ai_generalist").await;
        let second: Value = app.nominate(&manager, &talent, "ai_generalist", None).await.json().await.unwrap();
        let (other, untouched) = app.nominated(&manager, "preditor").await;
        app.set_status(&admin, talent.id, "suspended").await;
        for id in [first.as_str(), second["id"].as_str().unwrap()] {
            let d: Value = app.handoff(&lead, id).await.json().await.unwrap();
            assert_eq!(d["nomination"]["status"], "withdrawn");
            assert!(d["nomination"]["decision_reason"].as_str().unwrap().contains("suspended"));
        }
        let d: Value = app.handoff(&lead, &untouched).await.json().await.unwrap();
        assert_eq!(d["nomination"]["status"], "pending", "someone else's stays");
        let waiting: Value = app.dashboard(&manager).await.json().await.unwrap();
        assert_eq!(waiting["nominations_waiting"], 1);
        // Reactivated: the withdrawn ones stay withdrawn; a manager nominates again.
        app.set_status(&admin, talent.id, "active").await;
        let d: Value = app.handoff(&lead, &first).await.json().await.unwrap();
        assert_eq!(d["nomination"]["status"], "withdrawn");
        assert_eq!(app.nominate(&manager, &talent, "preditor", None).await.status(), StatusCode::CREATED);
        let _ = other;
    }

    async fn a_suspended_placed_tier_5_keeps_the_slot_marked_and_is_not_counted_as_deployed(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        let core = ["workflow_engineer", "ai_generalist", "preditor", "data_lora_specialist"];
        let (pod, slots) = app.pod_with_slots(&lead, 1, &core).await;
        let mut placed = Vec::new();
        for (i, t) in core.iter().enumerate() {
            let (talent, id) = app.nominated(&manager, t).await;
            assert_eq!(app.accept(&lead, &id, &slots[i]).await.status(), StatusCode::OK);
            placed.push(talent);
        }
        let d: Value = app.dashboard(&manager).await.json().await.unwrap();
        assert_eq!((d["tier5_deployed"].clone(), d["tier5_placed_now"].clone(), d["tier5_placed_suspended"].clone()), (json!(4), json!(4), json!(0)));
        assert_eq!((d["pods"][0]["complete"].clone(), d["pods"][0]["suspended_placements"].clone()), (json!(true), json!(0)));

        let suspended = &placed[2];
        app.set_status(&admin, suspended.id, "suspended").await;
        let p: Value = app.get_pod(&lead, &pod).await.json().await.unwrap();
        let slot = &p["slots"][2];
        assert_eq!((slot["status"].clone(), slot["talent_id"].clone(), slot["suspended"].clone()), (json!("filled"), json!(suspended.id), json!(true)));
        assert!(p["slots"].as_array().unwrap().iter().enumerate().all(|(i, s)| i == 2 || s["suspended"] == false));
        assert_eq!((p["complete"].clone(), p["missing_roles"].clone()), (json!(false), json!(["preditor"])));
        assert_eq!(tier_of(app, &manager, suspended, "preditor").await, 5, "the tier stays");
        let d: Value = app.dashboard(&manager).await.json().await.unwrap();
        assert_eq!((d["tier5_deployed"].clone(), d["tier5_placed_now"].clone(), d["tier5_placed_suspended"].clone()), (json!(3), json!(3), json!(1)));
        let load = &d["pods"][0];
        assert_eq!((load["complete"].clone(), load["missing_roles"].clone(), load["suspended_placements"].clone()), (json!(false), json!(["preditor"]), json!(1)));
        // The slot is not open: nobody else is accepted into it.
        let (_, next) = app.nominated(&manager, "preditor").await;
        assert_problem(app.accept(&lead, &next, &slots[2]).await, 409, "slot_filled").await;

        // Reactivated: counted again.
        app.set_status(&admin, suspended.id, "active").await;
        let d: Value = app.dashboard(&manager).await.json().await.unwrap();
        assert_eq!((d["tier5_deployed"].clone(), d["tier5_placed_now"].clone(), d["pods"][0]["complete"].clone()), (json!(4), json!(4), json!(true)));
        // Erased: out of the slot and out of every count.
        assert_eq!(app.erase_user(&admin, placed[0].id).await.status(), StatusCode::NO_CONTENT);
        let d: Value = app.dashboard(&manager).await.json().await.unwrap();
        assert_eq!((d["tier5_deployed"].clone(), d["tier5_placed_now"].clone(), d["tier5_placed_suspended"].clone()), (json!(3), json!(3), json!(0)));
    }
}
