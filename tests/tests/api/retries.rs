//! Retries of the non-repeatable POSTs that move no credits (challenges,
//! their transitions, pods, slots, engagements, nominations and their
//! decisions, enrolment, certification, demotion): with one
//! `Idempotency-Key` a retry answers the first outcome again, byte for
//! byte, and the effect happens once — also when the retries race. Another
//! body under the key is 422 `idempotency_key_reused`; a key is the caller's
//! own; a refusal stays the key's answer.

use futures::future::join_all;
use sea_orm::FromQueryResult;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{Answer, Backend, TestApp, User, challenge_spec, new_key};

#[derive(FromQueryResult)]
struct Count {
    n: i64,
}

async fn count(app: &TestApp, sql: &str, id: Uuid) -> i64 {
    app.query_sql::<Count>(sql, [id.into()])
        .await
        .expect("a count")
        .n
}

/// A POST with `key`, as the client saw its answer.
async fn send(app: &TestApp, by: &User, path: &str, key: &str, body: &Value) -> Answer {
    Answer::of(app.post_idem(path, Some(&by.token), key, body).await).await
}

/// Sends the request twice with one key: both answers are `status` and the same.
async fn twice(app: &TestApp, by: &User, path: &str, body: &Value, status: u16) -> Value {
    let key = new_key();
    let first = send(app, by, path, &key, body).await;
    assert_eq!(first.status, status, "{path}: {first:?}");
    let again = send(app, by, path, &key, body).await;
    assert_eq!(again, first, "{path}: the retry answers the first outcome");
    first.json()
}

fn id(v: &Value) -> Uuid {
    v["id"].as_str().expect("id").parse().expect("uuid")
}

both_backends! {
    async fn a_retried_challenge_create_or_transition_has_one_effect(app: &TestApp) {
        let manager = app.new_manager().await;
        let created = twice(app, &manager, "/api/v1/challenges", &challenge_spec(), 201).await;
        let cid = id(&created);
        assert_eq!(count(app, "SELECT COUNT(*) AS n FROM challenges WHERE created_by = $1", manager.id).await, 1);

        // Ten retries at once: one challenge, ten identical answers.
        let key = new_key();
        let spec = challenge_spec();
        let answers = join_all((0..10).map(|_| send(app, &manager, "/api/v1/challenges", &key, &spec))).await;
        assert_eq!(answers[0].status, 201, "{:?}", answers[0]);
        assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
        assert_eq!(count(app, "SELECT COUNT(*) AS n FROM challenges WHERE created_by = $1", manager.id).await, 2);

        // The key with another body is refused and makes nothing.
        let mut other = challenge_spec();
        other["title"] = json!("Another title");
        send(app, &manager, "/api/v1/challenges", &key, &other).await.assert_problem(422, "idempotency_key_reused");
        assert_eq!(count(app, "SELECT COUNT(*) AS n FROM challenges WHERE created_by = $1", manager.id).await, 2);

        // A transition retried answers 200 again instead of 409 (already open);
        // without the key the second one is the 409 it always was.
        let path = format!("/api/v1/challenges/{cid}/transitions");
        let opened = twice(app, &manager, &path, &json!({ "to": "open" }), 200).await;
        assert_eq!(opened["status"], "open");
        send(app, &manager, &path, &new_key(), &json!({ "to": "open" })).await.assert_problem(409, "illegal_transition");
        assert_eq!(count(app, "SELECT COUNT(*) AS n FROM events WHERE subject_id = $1", cid).await, 1, "one event of the move");
    }

    async fn retried_pod_slot_and_engagement_requests_have_one_effect(app: &TestApp) {
        let lead = app.new_lead().await;
        let pod = twice(app, &lead, "/api/v1/pods", &json!({ "name": "Pod Retry", "client_capacity": 3 }), 201).await;
        let pid = id(&pod);
        assert_eq!(count(app, "SELECT COUNT(*) AS n FROM pods WHERE created_by = $1", lead.id).await, 1);

        // A key belongs to its caller: another lead's request with the same key is new.
        let other_lead = app.new_lead().await;
        let key = new_key();
        let a = send(app, &lead, "/api/v1/pods", &key, &json!({ "name": "Pod A", "client_capacity": 1 })).await;
        let b = send(app, &other_lead, "/api/v1/pods", &key, &json!({ "name": "Pod A", "client_capacity": 1 })).await;
        assert_eq!((a.status, b.status), (201, 201));
        assert_ne!(a.json()["id"], b.json()["id"]);

        twice(app, &lead, &format!("/api/v1/pods/{pid}/slots"), &json!({ "track": "preditor" }), 201).await;
        assert_eq!(count(app, "SELECT COUNT(*) AS n FROM pod_slots WHERE pod_id = $1", pid).await, 1);

        let e = twice(app, &lead, &format!("/api/v1/pods/{pid}/engagements"), &json!({ "client_name": "Acme" }), 201).await;
        let got: Value = app.get_pod(&lead, &pid.to_string()).await.json().await.unwrap();
        assert_eq!(got["active_engagements"], 1, "one engagement counted: {got}");

        let end = format!("/api/v1/pods/{pid}/engagements/{}/end", id(&e));
        twice(app, &lead, &end, &json!({}), 200).await;
        let got: Value = app.get_pod(&lead, &pid.to_string()).await.json().await.unwrap();
        assert_eq!(got["active_engagements"], 0, "{got}");
    }

    async fn retried_nominations_and_decisions_have_one_effect(app: &TestApp) {
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        let (_pod, slots) = app.pod_with_slots(&lead, 2, &["preditor", "preditor"]).await;

        // A refusal is the key's answer: the talent becomes Tier 4 later, and
        // the retry is refused the same way (a new key is a new request).
        let talent = app.new_talent().await;
        app.enrol(talent.id, "preditor", 3).await;
        let body = json!({ "talent_id": talent.id, "track": "preditor", "note": "ready" });
        let key = new_key();
        let refused = send(app, &manager, "/api/v1/handoffs", &key, &body).await;
        refused.assert_problem(422, "not_tier_four");
        app.exec_sql("UPDATE talent_tracks SET tier = 4 WHERE talent_id = $1", [talent.id.into()]).await;
        app.give_certificate(talent.id, "preditor").await;
        assert_eq!(send(app, &manager, "/api/v1/handoffs", &key, &body).await, refused);

        let n = twice(app, &manager, "/api/v1/handoffs", &body, 201).await;
        assert_eq!(count(app, "SELECT COUNT(*) AS n FROM nominations WHERE talent_id = $1", talent.id).await, 1);
        let accept = format!("/api/v1/handoffs/{}/accept", id(&n));
        let accepted = twice(app, &lead, &accept, &json!({ "slot_id": slots[0] }), 200).await;
        assert_eq!(accepted["status"], "accepted");
        assert_eq!(count(app, "SELECT COUNT(*) AS n FROM pod_slots WHERE talent_id = $1", talent.id).await, 1);
        assert_eq!(count(app, "SELECT COUNT(*) AS n FROM tier_changes WHERE talent_id = $1", talent.id).await, 1, "one step to Tier 5");

        let (_other, n2) = app.nominated(&manager, "preditor").await;
        let decline = format!("/api/v1/handoffs/{n2}/decline");
        let declined = twice(app, &lead, &decline, &json!({ "reason": "not this quarter" }), 200).await;
        assert_eq!(declined["status"], "declined");
    }

    async fn retried_enrolment_certification_and_demotion_have_one_effect(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;

        let enrolled = twice(app, &talent, "/api/v1/me/tracks", &json!({ "track": "ai_generalist" }), 201).await;
        assert_eq!(enrolled["track"], "ai_generalist");

        app.approve_playbook(&admin, "preditor").await;
        app.no_requirements(&admin, "preditor").await;
        app.complete_profile(&talent).await;
        app.enrol(talent.id, "preditor", 3).await;
        app.judged(&manager, &talent, Some("preditor"), Some("preditor"), true).await;
        let path = format!("/api/v1/talents/{}/tracks/preditor/certify", talent.id);
        let certified = twice(app, &manager, &path, &json!({ "note": "meets the playbook" }), 200).await;
        assert_eq!(certified["tier"], 4);
        assert_eq!(count(app, "SELECT COUNT(*) AS n FROM certificates WHERE talent_id = $1", talent.id).await, 1);

        let path = format!("/api/v1/talents/{}/tracks/preditor/tier", talent.id);
        let demoted = twice(app, &manager, &path, &json!({ "tier": 2, "reason": "copied work" }), 200).await;
        assert_eq!(demoted["tier"], 2);
        assert_eq!(
            count(app, "SELECT COUNT(*) AS n FROM tier_changes WHERE talent_id = $1 AND to_tier = 2", talent.id).await,
            1,
            "one demotion in the history"
        );
    }
}
