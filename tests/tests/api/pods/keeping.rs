//! Pods kept by the lead: validation, capacity and engagements, slots,
//! completeness, open roles.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, assert_problem};

both_backends! {
    async fn the_lead_keeps_pods_and_staff_read_them(app: &TestApp) {
        let lead = app.new_lead().await;
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        for (bad, field) in [
            (json!({"name": "", "client_capacity": 1}), "name"),
            (json!({"name": "P", "client_capacity": -1}), "client_capacity"),
            (json!({"name": "P", "client_capacity": 5000}), "client_capacity"),
        ] {
            let body = assert_problem(app.create_pod(&lead, &bad).await, 422, "validation_failed").await;
            assert_eq!(body["errors"][0]["field"], field);
        }
        assert_problem(app.create_pod(&manager, &json!({"name": "P", "client_capacity": 1})).await, 403, "forbidden").await;
        let res = app.create_pod(&lead, &json!({"name": "Aurora", "client_capacity": 2})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let pod: Value = res.json().await.unwrap();
        assert_eq!((pod["status"].clone(), pod["active_engagements"].clone(), pod["complete"].clone()), (json!("forming"), json!(0), json!(false)));
        let id = pod["id"].as_str().unwrap();
        assert_eq!(app.get_pod(&manager, id).await.status(), StatusCode::OK);
        assert_problem(app.get_pod(&talent, id).await, 403, "forbidden").await;
        assert_problem(app.list_pods(&talent, "").await, 403, "forbidden").await;
        let res = app.update_pod(&lead, id, &json!({"status": "active", "name": "Aurora One"})).await;
        assert_eq!(res.json::<Value>().await.unwrap()["status"], "active");
        assert_problem(app.update_pod(&manager, id, &json!({"status": "paused"})).await, 403, "forbidden").await;
        let page: Value = app.list_pods(&manager, "status=active").await.json().await.unwrap();
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
        // The lead's operations refuse a manager; the staff reads refuse a talent.
        let slot: Value = app.add_slot(&lead, id, "preditor").await.json().await.unwrap();
        let e: Value = app.add_engagement(&lead, id, "Acme").await.json().await.unwrap();
        assert_problem(app.add_engagement(&manager, id, "Acme").await, 403, "forbidden").await;
        assert_problem(app.end_engagement(&manager, id, e["id"].as_str().unwrap()).await, 403, "forbidden").await;
        assert_problem(app.unassign(&manager, id, slot["id"].as_str().unwrap()).await, 403, "forbidden").await;
        assert_problem(app.open_roles(&talent, "").await, 403, "forbidden").await;
        assert_problem(app.bench(&talent, "").await, 403, "forbidden").await;
        assert_eq!(app.end_engagement(&lead, id, e["id"].as_str().unwrap()).await.status(), StatusCode::OK);
        // Closed stays closed; no slots on it.
        assert_eq!(app.update_pod(&lead, id, &json!({"status": "closed"})).await.status(), StatusCode::OK);
        assert_problem(app.update_pod(&lead, id, &json!({"status": "active"})).await, 409, "pod_closed").await;
        assert_problem(app.add_slot(&lead, id, "preditor").await, 409, "pod_closed").await;
    }

    async fn engagements_stay_within_capacity_even_when_concurrent(app: &TestApp) {
        let lead = app.new_lead().await;
        let (pod, _) = app.pod_with_slots(&lead, 3, &[]).await;
        let clients: Vec<String> = (0..10).map(|i| format!("Client {i}")).collect();
        let answers = futures::future::join_all(clients.iter().map(|c| app.add_engagement(&lead, &pod, c))).await;
        let ok = answers.iter().filter(|r| r.status() == StatusCode::CREATED).count();
        assert_eq!(ok, 3);
        let refused = answers.into_iter().find(|r| r.status() != StatusCode::CREATED).unwrap();
        assert_problem(refused, 409, "pod_at_capacity").await;
        let p: Value = app.get_pod(&lead, &pod).await.json().await.unwrap();
        assert_eq!((p["active_engagements"].clone(), p["peak_concurrent_engagements"].clone()), (json!(3), json!(3)));
        // Capacity never below what it carries; ending one frees a place.
        let body = assert_problem(app.update_pod(&lead, &pod, &json!({"client_capacity": 2})).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "client_capacity");
        let e = p["open_engagements"][0]["id"].as_str().unwrap();
        assert_eq!(app.end_engagement(&lead, &pod, e).await.status(), StatusCode::OK);
        assert_problem(app.end_engagement(&lead, &pod, e).await, 409, "engagement_ended").await;
        assert_eq!(app.add_engagement(&lead, &pod, "Client X").await.status(), StatusCode::CREATED);
        let p: Value = app.get_pod(&lead, &pod).await.json().await.unwrap();
        assert_eq!((p["active_engagements"].clone(), p["peak_concurrent_engagements"].clone()), (json!(3), json!(3)));
        // Engagements one after another never overlap: the peak stays 1.
        let (seq, _) = app.pod_with_slots(&lead, 5, &[]).await;
        for c in ["A", "B", "C"] {
            let e: Value = app.add_engagement(&lead, &seq, c).await.json().await.unwrap();
            app.end_engagement(&lead, &seq, e["id"].as_str().unwrap()).await;
        }
        app.add_engagement(&lead, &seq, "D").await;
        let p: Value = app.get_pod(&lead, &seq).await.json().await.unwrap();
        assert_eq!((p["active_engagements"].clone(), p["peak_concurrent_engagements"].clone()), (json!(1), json!(1)));
        // Paused: none.
        app.update_pod(&lead, &pod, &json!({"status": "paused", "client_capacity": 10})).await;
        assert_problem(app.add_engagement(&lead, &pod, "Y").await, 409, "pod_closed").await;
    }

    async fn a_pod_is_complete_with_every_core_role_filled_and_open_roles_list_the_rest(app: &TestApp) {
        let lead = app.new_lead().await;
        let manager = app.new_manager().await;
        let core = ["workflow_engineer", "ai_generalist", "preditor", "data_lora_specialist"];
        let mut tracks = core.to_vec();
        tracks.push("data_engineer");
        let (pod, slots) = app.pod_with_slots(&lead, 1, &tracks).await;
        let roles: Value = app.open_roles(&manager, "limit=2").await.json().await.unwrap();
        assert_eq!(roles["items"].as_array().unwrap().len(), 2);
        assert!(roles["next_cursor"].is_string());
        for (i, t) in core.iter().enumerate() {
            let (_, id) = app.nominated(&manager, t).await;
            assert_eq!(app.accept(&lead, &id, &slots[i]).await.status(), StatusCode::OK);
        }
        let p: Value = app.get_pod(&lead, &pod).await.json().await.unwrap();
        assert_eq!((p["complete"].clone(), p["missing_roles"].clone()), (json!(true), json!([])));
        let roles: Value = app.open_roles(&manager, "").await.json().await.unwrap();
        let open: Vec<&str> = roles["items"].as_array().unwrap().iter().map(|r| r["track"].as_str().unwrap()).collect();
        assert_eq!(open, vec!["data_engineer"]);
    }
}
