//! The public reads' response cache (`KARTEL_PUBLIC_CACHE_MILLIS`): the
//! challenge list and leaderboard pages as non-staff see them are built once
//! per interval; staff always read the database.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, challenge_spec, review_spec};

async fn ids(app: &TestApp, token: Option<&str>) -> Vec<String> {
    let page: Value = app
        .get("/api/v1/challenges?limit=100", token)
        .await
        .json()
        .await
        .unwrap();
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

both_backends! {
    // An interval far longer than the test: what the cache served is what
    // anyone but staff sees until it ends.
    #[settings(|s: &mut kartel_api::configuration::Settings| s.public_cache_millis = 60_000)]
    async fn public_pages_are_built_once_per_interval_and_staff_read_fresh(app: &TestApp) {
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        let first = app.open_challenge(&manager, &challenge_spec()).await;
        assert_eq!(ids(app, None).await, vec![first.clone()]);

        let second = app.open_challenge(&manager, &challenge_spec()).await;
        // Anonymous and talents share the page built before the second opened.
        assert_eq!(ids(app, None).await, vec![first.clone()]);
        assert_eq!(ids(app, Some(&talent.token)).await, vec![first.clone()]);
        // Staff see it at once; another query is another page.
        assert_eq!(ids(app, Some(&manager.token)).await, vec![second.clone(), first.clone()]);
        let other: Value = app.get("/api/v1/challenges?limit=50", None).await.json().await.unwrap();
        assert_eq!(other["items"].as_array().unwrap().len(), 2);

        // Refusals are not kept: a board that is not public yet, then public.
        let sub = app.new_submission(&talent, &first, "https://x.example/cached.png").await;
        assert_eq!(app.leaderboard(None, &first, "").await.status(), StatusCode::NOT_FOUND);
        assert_eq!(app.transition(&manager, &first, "judging").await.status(), StatusCode::OK);
        let board: Value = app.leaderboard(None, &first, "").await.json().await.unwrap();
        assert_eq!(board["items"], json!([]));
        let res = app.review(&manager, &sub, &review_spec(8.0, 8.0, "accepted", 2)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        // The public page is the one built before the review; staff's is new.
        let board: Value = app.leaderboard(None, &first, "").await.json().await.unwrap();
        assert_eq!(board["items"], json!([]));
        let staff: Value = app.leaderboard(Some(&manager), &first, "").await.json().await.unwrap();
        assert_eq!(staff["items"].as_array().unwrap().len(), 1);
    }
}
