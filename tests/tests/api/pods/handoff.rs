//! Nominate, decide, place: who may, what is refused, and races.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem};

both_backends! {
    async fn only_tier_4_is_nominated_once_per_track_and_never_oneself(app: &TestApp) {
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        let three = app.new_talent().await;
        app.enrol(three.id, "preditor", 3).await;
        let body = assert_problem(app.nominate(&manager, &three, "preditor", None).await, 422, "not_tier_four").await;
        assert!(body["detail"].as_str().unwrap().contains("Tier 3"));
        let (four, first) = app.nominated(&manager, "preditor").await;
        assert_problem(app.nominate(&manager, &four, "preditor", None).await, 409, "nomination_pending").await;
        // Who may nominate: managers, not talents or the lead; never oneself.
        assert_problem(app.nominate(&four, &four, "preditor", None).await, 403, "forbidden").await;
        assert_problem(app.nominate(&lead, &four, "ai_generalist", None).await, 403, "forbidden").await;
        app.enrol(manager.id, "ai_generalist", 4).await;
        assert_problem(app.nominate(&manager, &manager, "ai_generalist", None).await, 403, "forbidden").await;
        // A slot of another track is 422.
        let (_, slots) = app.pod_with_slots(&lead, 2, &["ai_generalist"]).await;
        let other = app.new_talent().await;
        app.enrol_certified(other.id, "preditor").await;
        let body = assert_problem(app.nominate(&manager, &other, "preditor", Some(&slots[0])).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "slot_id");

        // Declined with a reason: still Tier 4, and can be nominated again.
        assert_problem(app.decline(&manager, &first, "no").await, 403, "forbidden").await;
        assert_problem(app.decline(&lead, &first, "").await, 422, "validation_failed").await;
        let res = app.decline(&lead, &first, "needs more video work").await;
        assert_eq!(res.status(), StatusCode::OK);
        let n: Value = res.json().await.unwrap();
        assert_eq!((n["status"].clone(), n["decision_reason"].clone()), (json!("declined"), json!("needs more video work")));
        assert_problem(app.decline(&lead, &first, "again").await, 409, "nomination_not_pending").await;
        assert_eq!(app.tier_in(&four, "preditor").await, 4);
        assert_eq!(app.nominate(&manager, &four, "preditor", None).await.status(), StatusCode::CREATED);
    }

    async fn a_pending_nomination_expires_and_says_so(app: &TestApp) {
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        let (talent, id) = app.nominated(&manager, "preditor").await;
        app.exec_sql("UPDATE nominations SET expires_at = $1", [(chrono::Utc::now() - chrono::Duration::minutes(1)).into()]).await;
        let n: Value = app.handoffs(&lead, "status=expired").await.json().await.unwrap();
        assert_eq!(n["items"][0]["id"], json!(id));
        assert_eq!(n["items"][0]["status"], "expired");
        let waiting: Value = app.handoffs(&lead, "status=pending").await.json().await.unwrap();
        assert!(waiting["items"].as_array().unwrap().is_empty());
        let (_, slots) = app.pod_with_slots(&lead, 1, &["preditor"]).await;
        let body = assert_problem(app.accept(&lead, &id, &slots[0]).await, 409, "nomination_not_pending").await;
        assert!(body["detail"].as_str().unwrap().contains("expired"));
        // It no longer blocks a new one.
        assert_eq!(app.nominate(&manager, &talent, "preditor", None).await.status(), StatusCode::CREATED);
    }

    async fn the_lead_accepts_into_an_open_slot_of_the_track_and_the_talent_is_tier_5(app: &TestApp) {
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        let admin = app.new_admin().await;
        app.approve_playbook(&admin, "preditor").await;
        app.no_requirements(&admin, "preditor").await;
        // A certified talent, the way it really happens.
        let talent = app.new_talent().await;
        app.enrol(talent.id, "preditor", 3).await;
        app.judged(&manager, &talent, Some("preditor"), Some("preditor"), true).await;
        assert_eq!(app.certify(&manager, &talent, "preditor").await.status(), StatusCode::OK);
        let res = app.nominate(&manager, &talent, "preditor", None).await;
        let id = res.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();

        // The evidence in one call.
        let d: Value = app.handoff(&lead, &id).await.json().await.unwrap();
        assert_eq!(d["certificate"]["status"], "valid");
        assert_eq!(d["accepted_submissions"].as_array().unwrap().len(), 1);
        assert!(d["accepted_submissions"][0]["score"].as_f64().unwrap() >= 50.0);
        assert_eq!(d["bulk_run"]["overall"]["reviewed_batches"], 1);
        assert_eq!(d["tier_history"][0]["to_tier"], 4);
        assert_problem(app.handoff(&talent, &id).await, 403, "forbidden").await;
        assert_problem(app.handoffs(&talent, "status=maybe&limit=0").await, 403, "forbidden").await;
        assert_problem(app.handoffs(&lead, "status=maybe").await, 422, "validation_failed").await;

        let (pod, slots) = app.pod_with_slots(&lead, 2, &["ai_generalist", "preditor"]).await;
        // A manager cannot decide; another track's slot is 422.
        assert_problem(app.accept(&manager, &id, &slots[1]).await, 403, "forbidden").await;
        let body = assert_problem(app.accept(&lead, &id, &slots[0]).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "slot_id");
        let res = app.accept(&lead, &id, &slots[1]).await;
        assert_eq!(res.status(), StatusCode::OK);
        let n: Value = res.json().await.unwrap();
        assert_eq!((n["status"].clone(), n["placed_slot_id"].clone()), (json!("accepted"), json!(slots[1])));
        assert_eq!(app.tier_in(&talent, "preditor").await, 5);
        let p: Value = app.get_pod(&lead, &pod).await.json().await.unwrap();
        assert_eq!(p["slots"][1]["talent_id"], json!(talent.id));
        assert_eq!(p["missing_roles"], json!(["workflow_engineer", "ai_generalist", "data_lora_specialist"]));
        let h = crate::tiers::history(app, &talent, &talent).await;
        assert_eq!((h[0]["from_tier"].clone(), h[0]["to_tier"].clone(), h[0]["actor_id"].clone()), (json!(4), json!(5), json!(lead.id)));
        assert_eq!(h[0]["evidence"]["nomination_id"], json!(id));
        let log: Value = app.audit_log(&admin, "action=handoff.accept").await.json().await.unwrap();
        assert_eq!(log["items"].as_array().unwrap().len(), 1);

        // A filled slot is 409 for the next one.
        let (_, next) = app.nominated(&manager, "preditor").await;
        assert_problem(app.accept(&lead, &next, &slots[1]).await, 409, "slot_filled").await;
    }

    async fn twenty_accepts_racing_for_one_slot_fill_it_once(app: &TestApp) {
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        let (pod, slots) = app.pod_with_slots(&lead, 1, &["workflow_engineer"]).await;
        let mut nominations = Vec::new();
        for _ in 0..20 {
            nominations.push(app.nominated(&manager, "workflow_engineer").await);
        }
        let answers = futures::future::join_all(nominations.iter().map(|(_, id)| app.accept(&lead, id, &slots[0]))).await;
        let ok = answers.iter().filter(|r| r.status() == StatusCode::OK).count();
        let conflicts = answers.iter().filter(|r| r.status() == StatusCode::CONFLICT).count();
        assert_eq!((ok, conflicts), (1, 19));
        let mut fives = 0;
        for (t, _) in &nominations {
            fives += i32::from(app.tier_in(t, "workflow_engineer").await == 5);
        }
        assert_eq!(fives, 1, "exactly one talent became Tier 5");
        let p: Value = app.get_pod(&lead, &pod).await.json().await.unwrap();
        assert_eq!(p["slots"][0]["status"], "filled");
        let pending: Value = app.handoffs(&lead, "status=pending&limit=100").await.json().await.unwrap();
        assert_eq!(pending["items"].as_array().unwrap().len(), 19, "the others still wait");

        // One nomination accepted into two slots at once: placed once.
        let (_, two) = app.pod_with_slots(&lead, 1, &["ai_generalist", "ai_generalist"]).await;
        let (talent, id) = app.nominated(&manager, "ai_generalist").await;
        let answers = futures::future::join_all(two.iter().map(|s| app.accept(&lead, &id, s))).await;
        let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 1, "{statuses:?}");
        let h = crate::tiers::history(app, &talent, &talent).await;
        assert_eq!(h.iter().filter(|c| c["to_tier"] == 5).count(), 1);
    }

    async fn placed_talent_is_unassigned_reassigned_and_freed_by_a_demotion(app: &TestApp) {
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        let admin = app.new_admin().await;
        let (pod_a, a) = app.pod_with_slots(&lead, 1, &["preditor"]).await;
        let (pod_b, b) = app.pod_with_slots(&lead, 1, &["preditor", "ai_generalist"]).await;
        let (talent, id) = app.nominated(&manager, "preditor").await;
        assert_eq!(app.accept(&lead, &id, &a[0]).await.status(), StatusCode::OK);

        // Reassigned: moved to pod B, pod A's slot opens.
        assert_problem(app.assign(&manager, &pod_b, &b[0], &talent).await, 403, "forbidden").await;
        let body = assert_problem(app.assign(&lead, &pod_b, &b[1], &talent).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "talent_id");
        let res = app.assign(&lead, &pod_b, &b[0], &talent).await;
        assert_eq!(res.status(), StatusCode::OK);
        let pa: Value = app.get_pod(&lead, &pod_a).await.json().await.unwrap();
        assert_eq!(pa["slots"][0]["status"], "open");
        // Unassigned: the bench, still Tier 5.
        let res = app.unassign(&lead, &pod_b, &b[0]).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_problem(app.unassign(&lead, &pod_b, &b[0]).await, 409, "slot_empty").await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 5);
        let bench: Value = app.bench(&lead, "track=preditor").await.json().await.unwrap();
        assert_eq!(bench["items"][0]["talent_id"], json!(talent.id));
        // Back from the bench into pod A.
        assert_eq!(app.assign(&lead, &pod_a, &a[0], &talent).await.status(), StatusCode::OK);
        let bench: Value = app.bench(&lead, "").await.json().await.unwrap();
        assert!(bench["items"].as_array().unwrap().is_empty());
        let h = crate::tiers::history(app, &talent, &talent).await;
        let reasons: Vec<&str> = h.iter().take(3).map(|c| c["evidence"]["action"].as_str().unwrap()).collect();
        assert_eq!(reasons, vec!["assigned", "unassigned", "assigned"]);

        // Demoted out of Tier 5 by an admin (a manager cannot): the slot is free.
        assert_problem(app.demote(&manager, &talent, "preditor", &json!({"tier": 4, "reason": "x"})).await, 403, "forbidden").await;
        let res = app.demote(&admin, &talent, "preditor", &json!({"tier": 4, "reason": "left the studio's client work"})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let pa: Value = app.get_pod(&lead, &pod_a).await.json().await.unwrap();
        assert_eq!((pa["slots"][0]["status"].clone(), pa["slots"][0]["talent_id"].clone()), (json!("open"), Value::Null));
        let roles: Value = app.open_roles(&manager, "track=preditor").await.json().await.unwrap();
        assert_eq!(roles["items"].as_array().unwrap().len(), 2);
        // A pending nomination of a talent demoted below Tier 4 is withdrawn.
        let (nominee, nid) = app.nominated(&manager, "ai_generalist").await;
        assert_eq!(app.demote(&manager, &nominee, "ai_generalist", &json!({"tier": 3, "reason": "lapsed"})).await.status(), StatusCode::OK);
        let d: Value = app.handoff(&lead, &nid).await.json().await.unwrap();
        assert_eq!(d["nomination"]["status"], "withdrawn");
        // A placed talent is not nominated again; a pod with placements does not close.
        assert_eq!(app.assign(&lead, &pod_a, &a[0], &talent).await.status(), StatusCode::UNPROCESSABLE_ENTITY, "Tier 4 now");
        let (placed, pid) = app.nominated(&manager, "ai_generalist").await;
        assert_eq!(app.accept(&lead, &pid, &b[1]).await.status(), StatusCode::OK);
        app.enrol_certified(placed.id, "preditor").await;
        assert_problem(app.nominate(&manager, &placed, "preditor", None).await, 409, "talent_already_placed").await;
        assert_problem(app.update_pod(&lead, &pod_b, &json!({"status": "closed"})).await, 409, "pod_has_placements").await;
    }

    async fn a_talent_never_reaches_tier_5_by_a_route_of_its_own(app: &TestApp) {
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        let (talent, id) = app.nominated(&manager, "preditor").await;
        let (pod, slots) = app.pod_with_slots(&lead, 1, &["preditor"]).await;
        assert_problem(app.accept(&talent, &id, &slots[0]).await, 403, "forbidden").await;
        assert_problem(app.assign(&talent, &pod, &slots[0], &talent).await, 403, "forbidden").await;
        assert_problem(app.nominate(&talent, &talent, "preditor", Some(&slots[0])).await, 403, "forbidden").await;
        assert_problem(app.create_pod(&talent, &json!({"name": "Mine", "client_capacity": 1})).await, 403, "forbidden").await;
        assert_problem(app.add_slot(&talent, &pod, "preditor").await, 403, "forbidden").await;
        // A lead who is also the nominated talent cannot accept themselves.
        let admin = app.new_admin().await;
        let res = app.update_user(&admin, talent.id, &json!({"roles": ["talent", "generative_lead"]})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body = assert_problem(app.accept(&talent, &id, &slots[0]).await, 403, "forbidden").await;
        assert!(body["detail"].as_str().unwrap().contains("own tier"), "{body}");
        // Nor does whoever nominated decide: an admin may do both, but not for one talent.
        let other = app.new_talent().await;
        app.enrol_certified(other.id, "preditor").await;
        let n: Value = app.nominate(&admin, &other, "preditor", None).await.json().await.unwrap();
        let nid = n["id"].as_str().unwrap();
        let body = assert_problem(app.accept(&admin, nid, &slots[0]).await, 403, "forbidden").await;
        assert!(body["detail"].as_str().unwrap().contains("nominated"), "{body}");
        assert_problem(app.decline(&admin, nid, "no").await, 403, "forbidden").await;
        assert_eq!(app.accept(&lead, nid, &slots[0]).await.status(), StatusCode::OK);
        assert_eq!(app.tier_in(&talent, "preditor").await, 4);
    }
}
