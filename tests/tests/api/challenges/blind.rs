//! Independent, blind review: every conflict of interest is refused when
//! reviewing and when claiming (and the queue never offers one), and what a
//! reviewer reads of work under review names no author.

use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::both_backends;
use crate::helpers::{
    Backend, TestApp, User, assert_problem, challenge_spec, new_key, review_spec,
};

/// Asserts a 403 `conflict_of_interest` naming `which`.
async fn conflict(res: reqwest::Response, which: &str) {
    let body = assert_problem(res, 403, "conflict_of_interest").await;
    assert_eq!(body["conflict"], which, "{body}");
}

/// `talent`'s submission to a new challenge of `track` (or none), moved to judging.
async fn judged(
    app: &TestApp,
    owner: &User,
    talent: &User,
    track: Option<&str>,
) -> (String, String) {
    let mut spec = challenge_spec();
    spec["track"] = json!(track);
    let cid = app.open_challenge(owner, &spec).await;
    let sid = app
        .new_submission(
            talent,
            &cid,
            &format!("https://x.example/{}.png", new_key()),
        )
        .await;
    assert_eq!(
        app.transition(owner, &cid, "judging").await.status(),
        StatusCode::OK
    );
    (cid, sid)
}

both_backends! {
    async fn every_conflict_of_interest_is_refused_when_claiming_and_reviewing(app: &TestApp) {
        let owner = app.new_manager().await;
        let body = review_spec(8.0, 8.0, "accepted", 1);
        // Author: a manager's own work.
        let author = app.new_manager().await;
        let (cid, own) = judged(app, &owner, &author, None).await;
        assert_eq!(app.claim_review(&author, &json!({ "challenge_id": cid })).await.status(), StatusCode::NO_CONTENT);
        conflict(app.claim_review(&author, &json!({ "submission_id": own })).await, "author").await;
        conflict(app.review(&author, &own, &body).await, "author").await;
        // Replayed under its key, the refusal still names the conflict.
        let key = new_key();
        for _ in 0..2 {
            conflict(app.review_with_key(&author, &own, &key, &body).await, "author").await;
        }
        // Already reviewed: a second first review, or a claim, by the same manager.
        let reviewer = app.new_manager().await;
        assert_eq!(app.review(&reviewer, &own, &body).await.status(), StatusCode::CREATED);
        conflict(app.review(&reviewer, &own, &body).await, "already_reviewed").await;
        conflict(app.claim_review(&reviewer, &json!({ "submission_id": own })).await, "already_reviewed").await;

        // Nominated: the manager who nominated the talent in the challenge's track.
        let nominator = app.new_manager().await;
        let (talent, _) = app.nominated(&nominator, "preditor").await;
        let (cid, sid) = judged(app, &owner, &talent, Some("preditor")).await;
        assert_eq!(app.claim_review(&nominator, &json!({ "challenge_id": cid })).await.status(), StatusCode::NO_CONTENT);
        conflict(app.claim_review(&nominator, &json!({ "submission_id": sid })).await, "nominated").await;
        conflict(app.review(&nominator, &sid, &body).await, "nominated").await;
        // In another track the nomination is no conflict.
        app.enrol(talent.id, "ai_generalist", 1).await;
        let (_, other) = judged(app, &owner, &talent, Some("ai_generalist")).await;
        assert_eq!(app.claim_review(&nominator, &json!({ "submission_id": other })).await.status(), StatusCode::CREATED);

        // Certified: the manager who signed the talent's certification; a
        // challenge without a track conflicts with any track's.
        let certifier = app.new_manager().await;
        let certified = app.new_talent().await;
        app.exec_sql(
            "INSERT INTO certificates (id, talent_id, track, tier, status, playbook_version, certified_by, \
             submission_id, review_id, kid, credential, issued_at) \
             VALUES ($1, $2, 'data_engineer', 4, 'revoked', '1.0', $3, $4, $5, 'test', 'test', $6)",
            [Uuid::now_v7().into(), certified.id.into(), certifier.id.into(), Uuid::now_v7().into(), Uuid::now_v7().into(), chrono::Utc::now().into()],
        ).await;
        let (cid, sid) = judged(app, &owner, &certified, None).await;
        assert_eq!(app.claim_review(&certifier, &json!({ "challenge_id": cid })).await.status(), StatusCode::NO_CONTENT);
        conflict(app.claim_review(&certifier, &json!({ "submission_id": sid })).await, "certified").await;
        conflict(app.review(&certifier, &sid, &body).await, "certified").await;
        // Someone without a conflict takes it from the queue.
        let free = app.new_manager().await;
        let res = app.claim_review(&free, &json!({ "challenge_id": cid })).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        assert_eq!(app.review(&free, &sid, &body).await.status(), StatusCode::CREATED);
    }

    async fn a_reviewer_reads_work_under_review_without_its_author(app: &TestApp) {
        let owner = app.new_manager().await;
        let talent = app.new_talent().await;
        let res = app.update_me(&talent, &json!({ "display_name": "Ada Quillfeather" })).await;
        assert_eq!(res.status(), StatusCode::OK);
        let me: Value = app.me(Some(&talent.token)).await.json().await.unwrap();
        let handle = me["handle"].as_str().unwrap().to_owned();
        let (cid, sid) = judged(app, &owner, &talent, None).await;
        let (reviewer, other) = (app.new_manager().await, app.new_manager().await);
        let simple = talent.id.simple().to_string();
        let secrets = [talent.id.to_string(), simple, handle, "Ada Quillfeather".to_owned(), talent.email.clone()];
        let leaks = |what: &str, text: &str| {
            for s in &secrets {
                assert!(!text.to_lowercase().contains(&s.to_lowercase()), "{what} shows {s}: {text}");
            }
        };

        let res = app.claim_review(&reviewer, &json!({})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let text = res.text().await.unwrap();
        leaks("the claim", &text);
        let claimed: Value = serde_json::from_str(&text).unwrap();
        let alias = claimed["submission"]["author_alias"].as_str().unwrap().to_owned();
        assert!(alias.starts_with("Talent-"), "{alias}");
        assert_eq!(claimed["submission"]["talent_id"], Value::Null);
        let views = [
            ("the submission", app.get_submission(Some(&other), &sid).await),
            ("the list", app.challenge_submissions(Some(&other), &cid).await),
        ];
        for (what, res) in views {
            assert_eq!(res.status(), StatusCode::OK);
            let text = res.text().await.unwrap();
            leaks(what, &text);
            assert!(text.contains(&alias), "{what} carries the same alias: {text}");
        }
        let res = app.review(&reviewer, &sid, &review_spec(8.0, 8.0, "accepted", 1)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        leaks("the review", &res.text().await.unwrap());
        let res = app.reviews(&other, &sid).await;
        let text = res.text().await.unwrap();
        leaks("the reviews", &text);
        assert!(text.contains(&alias));

        // The talent and staff who do not review see the author; a second
        // challenge gives the talent another alias.
        let lead = app.new_with_roles(&["generative_lead"]).await;
        for who in [&talent, &lead] {
            let s: Value = app.get_submission(Some(who), &sid).await.json().await.unwrap();
            assert_eq!((s["talent_id"].clone(), s["author_alias"].clone()), (json!(talent.id), Value::Null));
        }
        let (_, second) = judged(app, &owner, &talent, None).await;
        let s: Value = app.get_submission(Some(&other), &second).await.json().await.unwrap();
        assert_ne!(s["author_alias"], json!(alias));
        // Once the challenge closes everyone sees the author.
        assert_eq!(app.transition(&owner, &cid, "closed").await.status(), StatusCode::OK);
        for who in [&reviewer, &other] {
            let s: Value = app.get_submission(Some(who), &sid).await.json().await.unwrap();
            assert_eq!((s["talent_id"].clone(), s["author_alias"].clone()), (json!(talent.id), Value::Null));
        }
        let list: Value = app.challenge_submissions(None, &cid).await.json().await.unwrap();
        assert_eq!(list["items"][0]["talent_id"], json!(talent.id));
    }

    async fn closing_voids_the_seats_still_open(app: &TestApp) {
        let owner = app.new_manager().await;
        let mut spec = challenge_spec();
        let now = chrono::Utc::now();
        spec["closes_at"] = json!(now + chrono::Duration::seconds(2));
        spec["review_due_at"] = json!(now + chrono::Duration::seconds(3));
        let cid = app.open_challenge(&owner, &spec).await;
        let talent = app.new_talent().await;
        app.new_submission(&talent, &cid, "https://x.example/late.png").await;
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        assert_eq!(app.transition(&owner, &cid, "judging").await.status(), StatusCode::OK);
        assert_eq!(app.transition(&owner, &cid, "closed").await.status(), StatusCode::OK);
        let manager = app.new_manager().await;
        assert_eq!(app.claim_review(&manager, &json!({})).await.status(), StatusCode::NO_CONTENT);
        let q: Value = app.review_queue(&manager, "").await.json().await.unwrap();
        assert_eq!(q["items"], json!([]));
    }
}
