//! Tracks, tiers and certificates, one method per endpoint; and the
//! conveniences the tier tests build on: a complete profile, an approved
//! playbook, small requirements, and a challenge passed (or failed) end to
//! end.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use super::{TestApp, User, challenge_spec, new_key, review_spec, with_query};

impl TestApp {
    pub async fn tracks(&self) -> Response {
        self.get("/api/v1/tracks", None).await
    }

    pub async fn update_track(&self, by: &User, track: &str, changes: &Value) -> Response {
        self.patch(&format!("/api/v1/tracks/{track}"), Some(&by.token), changes)
            .await
    }

    pub async fn set_requirements(&self, by: &User, track: &str, reqs: &Value) -> Response {
        self.put(
            &format!("/api/v1/tracks/{track}/requirements"),
            Some(&by.token),
            &json!({ "requirements": reqs }),
        )
        .await
    }

    pub async fn reevaluation(&self, by: &User, track: &str, id: &str) -> Response {
        self.get(
            &format!("/api/v1/tracks/{track}/reevaluations/{id}"),
            Some(&by.token),
        )
        .await
    }

    pub async fn enrol_in(&self, who: &User, track: &str) -> Response {
        self.post(
            "/api/v1/me/tracks",
            Some(&who.token),
            &json!({ "track": track }),
        )
        .await
    }

    pub async fn my_progress(&self, who: &User) -> Response {
        self.get("/api/v1/me/progress", Some(&who.token)).await
    }

    pub async fn talent_progress(&self, by: &User, talent: &User) -> Response {
        self.get(
            &format!("/api/v1/talents/{}/progress", talent.id),
            Some(&by.token),
        )
        .await
    }

    pub async fn tier_history(&self, by: &User, talent: &User, query: &str) -> Response {
        self.get(
            &with_query(
                &format!("/api/v1/talents/{}/tier-history", talent.id),
                query,
            ),
            Some(&by.token),
        )
        .await
    }

    pub async fn certify(&self, by: &User, talent: &User, track: &str) -> Response {
        self.post(
            &format!("/api/v1/talents/{}/tracks/{track}/certify", talent.id),
            Some(&by.token),
            &json!({ "note": "meets the playbook" }),
        )
        .await
    }

    pub async fn demote(&self, by: &User, talent: &User, track: &str, body: &Value) -> Response {
        self.post(
            &format!("/api/v1/talents/{}/tracks/{track}/tier", talent.id),
            Some(&by.token),
            body,
        )
        .await
    }

    pub async fn lock_tier(&self, by: &User, talent: &User, track: &str, locked: bool) -> Response {
        self.put(
            &format!("/api/v1/talents/{}/tracks/{track}/lock", talent.id),
            Some(&by.token),
            &json!({ "locked": locked, "reason": "test" }),
        )
        .await
    }

    pub async fn certificate(&self, id: &str) -> Response {
        self.get(&format!("/api/v1/certificates/{id}"), None).await
    }

    /// The status list at `url` (a certificate's `statusListCredential`),
    /// fetched from this app by the URL's path.
    pub async fn status_list(&self, url: &str) -> Response {
        let path = &url[url.find("/api/").expect("a status-list URL")..];
        self.get(path, None).await
    }

    pub async fn jwks(&self) -> Value {
        let res = self.get("/.well-known/jwks.json", None).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.expect("json")
    }

    /// Bio and one portfolio link: with the display name, a complete profile.
    pub async fn complete_profile(&self, who: &User) {
        let res = self
            .update_me(
                who,
                &json!({ "bio": "I make images.", "portfolio_links": ["https://portfolio.example.com/me"] }),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "complete profile");
    }

    /// Enrols and returns the standing.
    pub async fn enrolled(&self, who: &User, track: &str) -> Value {
        let res = self.enrol_in(who, track).await;
        assert_eq!(res.status(), StatusCode::CREATED, "enrol");
        res.json().await.expect("json")
    }

    /// Small requirements for `track`: Tier 2 two passed challenges of any
    /// track; Tier 3 two passed in the track, two reviewed batches, success
    /// rate 0.5.
    pub async fn small_requirements(&self, admin: &User, track: &str) {
        let res = self
            .set_requirements(
                admin,
                track,
                &json!([
                    {"tier": 1, "key": "profile_complete", "target": 1},
                    {"tier": 2, "key": "passed_challenges", "target": 2},
                    {"tier": 3, "key": "passed_track_challenges", "target": 2},
                    {"tier": 3, "key": "reviewed_batches", "target": 2},
                    {"tier": 3, "key": "bulk_run_success_rate", "target": 0.5}
                ]),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "set requirements");
    }

    /// No requirements at all in `track`: every tier holds (for tests that
    /// set a tier directly and must not see it lapse).
    pub async fn no_requirements(&self, admin: &User, track: &str) {
        let res = self.set_requirements(admin, track, &json!([])).await;
        assert_eq!(res.status(), StatusCode::OK, "set requirements");
    }

    /// An approved playbook for `track`.
    pub async fn approve_playbook(&self, admin: &User, track: &str) {
        let res = self
            .update_track(
                admin,
                track,
                &json!({"playbook": {"title": "Playbook", "url": "https://handbook.example.com/p", "version": "1.2", "status": "approved"}}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "approve playbook");
    }

    /// A challenge (of `track`, certifying `certifies`) that `talent` enters
    /// once and `manager` reviews: accepted with 2 outputs meeting the
    /// standard, or rejected with none. Returns (submission id, review).
    pub async fn judged(
        &self,
        manager: &User,
        talent: &User,
        track: Option<&str>,
        certifies: Option<&str>,
        accepted: bool,
    ) -> (String, Value) {
        let mut spec = challenge_spec();
        spec["track"] = json!(track);
        spec["certifies_track"] = json!(certifies);
        let cid = self.open_challenge(manager, &spec).await;
        let sid = self
            .new_submission(
                talent,
                &cid,
                &format!("https://x.example/{}.png", new_key()),
            )
            .await;
        assert_eq!(
            self.transition(manager, &cid, "judging").await.status(),
            StatusCode::OK
        );
        let body = if accepted {
            review_spec(8.0, 8.0, "accepted", 2)
        } else {
            review_spec(2.0, 2.0, "rejected", 0)
        };
        let res = self.review(manager, &sid, &body).await;
        assert_eq!(res.status(), StatusCode::CREATED, "review");
        (sid, res.json().await.expect("json"))
    }

    /// The talent's tier in `track` from its progress (0 when not enrolled).
    pub async fn tier_in(&self, who: &User, track: &str) -> i64 {
        let p: Value = self.my_progress(who).await.json().await.expect("json");
        p["tracks"]
            .as_array()
            .expect("tracks")
            .iter()
            .find(|t| t["track"] == track)
            .map_or(0, |t| t["tier"].as_i64().expect("tier"))
    }
}
