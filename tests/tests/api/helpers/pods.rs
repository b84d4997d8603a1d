//! Pods, the handoff and the dashboard, one method per endpoint; and the
//! conveniences the handoff tests build on: a lead, a pod with slots, a
//! nominated Tier 4 talent.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::{TestApp, User, with_query};

impl TestApp {
    pub async fn new_lead(&self) -> User {
        self.new_with_roles(&["generative_lead"]).await
    }

    pub async fn create_pod(&self, by: &User, body: &Value) -> Response {
        self.post("/api/v1/pods", Some(&by.token), body).await
    }

    pub async fn get_pod(&self, by: &User, id: &str) -> Response {
        self.get(&format!("/api/v1/pods/{id}"), Some(&by.token))
            .await
    }

    pub async fn list_pods(&self, by: &User, query: &str) -> Response {
        self.get(&with_query("/api/v1/pods", query), Some(&by.token))
            .await
    }

    pub async fn update_pod(&self, by: &User, id: &str, body: &Value) -> Response {
        self.patch(&format!("/api/v1/pods/{id}"), Some(&by.token), body)
            .await
    }

    pub async fn add_slot(&self, by: &User, pod: &str, track: &str) -> Response {
        self.post(
            &format!("/api/v1/pods/{pod}/slots"),
            Some(&by.token),
            &json!({ "track": track }),
        )
        .await
    }

    pub async fn unassign(&self, by: &User, pod: &str, slot: &str) -> Response {
        self.delete(
            &format!("/api/v1/pods/{pod}/slots/{slot}/assignment"),
            Some(&by.token),
        )
        .await
    }

    pub async fn assign(&self, by: &User, pod: &str, slot: &str, talent: &User) -> Response {
        self.put(
            &format!("/api/v1/pods/{pod}/slots/{slot}/assignment"),
            Some(&by.token),
            &json!({ "talent_id": talent.id }),
        )
        .await
    }

    pub async fn add_engagement(&self, by: &User, pod: &str, client: &str) -> Response {
        self.post(
            &format!("/api/v1/pods/{pod}/engagements"),
            Some(&by.token),
            &json!({ "client_name": client }),
        )
        .await
    }

    pub async fn end_engagement(&self, by: &User, pod: &str, id: &str) -> Response {
        self.post(
            &format!("/api/v1/pods/{pod}/engagements/{id}/end"),
            Some(&by.token),
            &json!({}),
        )
        .await
    }

    pub async fn open_roles(&self, by: &User, query: &str) -> Response {
        self.get(&with_query("/api/v1/roles/open", query), Some(&by.token))
            .await
    }

    /// `GET /bench?{query}` (`include_suspended=true` lists the suspended too).
    pub async fn bench(&self, by: &User, query: &str) -> Response {
        self.get(&with_query("/api/v1/bench", query), Some(&by.token))
            .await
    }

    pub async fn nominate(
        &self,
        by: &User,
        talent: &User,
        track: &str,
        slot: Option<&str>,
    ) -> Response {
        self.post(
            "/api/v1/handoffs",
            Some(&by.token),
            &json!({ "talent_id": talent.id, "track": track, "slot_id": slot, "note": "ready" }),
        )
        .await
    }

    pub async fn handoffs(&self, by: &User, query: &str) -> Response {
        self.get(&with_query("/api/v1/handoffs", query), Some(&by.token))
            .await
    }

    pub async fn handoff(&self, by: &User, id: &str) -> Response {
        self.get(&format!("/api/v1/handoffs/{id}"), Some(&by.token))
            .await
    }

    pub async fn accept(&self, by: &User, id: &str, slot: &str) -> Response {
        self.post(
            &format!("/api/v1/handoffs/{id}/accept"),
            Some(&by.token),
            &json!({ "slot_id": slot }),
        )
        .await
    }

    pub async fn decline(&self, by: &User, id: &str, reason: &str) -> Response {
        self.post(
            &format!("/api/v1/handoffs/{id}/decline"),
            Some(&by.token),
            &json!({ "reason": reason }),
        )
        .await
    }

    pub async fn dashboard(&self, by: &User) -> Response {
        self.get("/api/v1/dashboard/talent-engine", Some(&by.token))
            .await
    }

    pub async fn set_targets(&self, by: &User, body: &Value) -> Response {
        self.put("/api/v1/dashboard/targets", Some(&by.token), body)
            .await
    }

    /// A new pod by `lead` with one open slot per track in `tracks`; the pod's
    /// id and its slots' ids in that order.
    pub async fn pod_with_slots(
        &self,
        lead: &User,
        capacity: i64,
        tracks: &[&str],
    ) -> (String, Vec<String>) {
        let res = self
            .create_pod(lead, &json!({ "name": format!("Pod {}", &uuid::Uuid::new_v4().simple().to_string()[..6]), "client_capacity": capacity }))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "create pod");
        let pod: Value = res.json().await.expect("json");
        let id = pod["id"].as_str().expect("id").to_owned();
        let mut slots = Vec::new();
        for t in tracks {
            let res = self.add_slot(lead, &id, t).await;
            assert_eq!(res.status(), StatusCode::CREATED, "add slot");
            let s: Value = res.json().await.expect("json");
            slots.push(s["id"].as_str().expect("id").to_owned());
        }
        (id, slots)
    }

    /// A certified Tier 4 talent in `track` (set directly), nominated by
    /// `manager`; the talent and the nomination's id.
    pub async fn nominated(&self, manager: &User, track: &str) -> (User, String) {
        let talent = self.new_talent().await;
        self.enrol_certified(talent.id, track).await;
        let res = self.nominate(manager, &talent, track, None).await;
        assert_eq!(res.status(), StatusCode::CREATED, "nominate");
        let n: Value = res.json().await.expect("json");
        (talent, n["id"].as_str().expect("id").to_owned())
    }
}
