//! Automatic tiers 1–3: one step at a time from reviewed work, none when
//! one short, once under concurrent reviews, kept through the grace period
//! after an overturn, frozen by a lock.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{history, steps};
use crate::both_backends;
use crate::helpers::{
    Backend, Loop, TestApp, assert_problem, challenge_spec, new_key, review_spec,
};

both_backends! {
    async fn reviewed_work_promotes_one_tier_at_a_time_and_not_when_one_short(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        app.small_requirements(&admin, "preditor").await;
        let talent = app.new_talent().await;

        // Enrolled with an incomplete profile: Tier 0, and progress says why.
        let s = app.enrolled(&talent, "preditor").await;
        assert_eq!(s["tier"], 0);
        let p: Value = app.my_progress(&talent).await.json().await.unwrap();
        assert_eq!(p["profile_complete"], false);
        assert_eq!(p["tracks"][0]["next"], json!({"tier": 1, "requirements": [{"key": "profile_complete", "target": 1.0, "current": 0.0, "met": false}]}));
        assert_problem(app.enrol_in(&talent, "preditor").await, 409, "already_enrolled").await;

        app.complete_profile(&talent).await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 1);

        // One passed challenge of two: still Tier 1, and the numbers say so.
        app.judged(&manager, &talent, None, None, true).await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 1);
        let p: Value = app.my_progress(&talent).await.json().await.unwrap();
        assert_eq!(p["tracks"][0]["next"], json!({"tier": 2, "requirements": [{"key": "passed_challenges", "target": 2.0, "current": 1.0, "met": false}]}));

        let (second, _) = app.judged(&manager, &talent, None, None, true).await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 2);

        // Tier 3 needs two passed preditor challenges, two reviewed batches
        // and half of them successful: one accepted preditor batch is short.
        app.judged(&manager, &talent, Some("preditor"), None, true).await;
        app.judged(&manager, &talent, Some("preditor"), None, false).await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 2);
        let p: Value = app.talent_progress(&manager, &talent).await.json().await.unwrap();
        let needs: Vec<(String, f64, bool)> = p["tracks"][0]["next"]["requirements"].as_array().unwrap().iter()
            .map(|r| (r["key"].as_str().unwrap().to_owned(), r["current"].as_f64().unwrap(), r["met"].as_bool().unwrap()))
            .collect();
        assert_eq!(needs, vec![
            ("passed_track_challenges".to_owned(), 1.0, false),
            ("reviewed_batches".to_owned(), 2.0, true),
            ("bulk_run_success_rate".to_owned(), 0.5, true),
        ]);
        let (last, review) = app.judged(&manager, &talent, Some("preditor"), None, true).await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 3);

        // Each step is its own entry, automatic, with its evidence.
        let h = history(app, &talent, &talent).await;
        assert_eq!(steps(&h), vec![(0, 1), (1, 2), (2, 3)]);
        assert!(h.iter().all(|c| c["actor_kind"] == "automatic" && c["actor_id"].is_null()));
        assert_eq!(h[0]["evidence"]["submission_id"], json!(last));
        assert_eq!(h[0]["evidence"]["review_id"], review["id"]);
        assert_eq!(h[1]["evidence"]["submission_id"], json!(second));
        // Nobody else reads it.
        let stranger = app.new_talent().await;
        assert_problem(app.tier_history(&stranger, &talent, "").await, 404, "not_found").await;
        assert_problem(app.talent_progress(&stranger, &talent).await, 403, "forbidden").await;
    }

    async fn work_done_before_enrolling_counts_each_tier_in_turn(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        app.small_requirements(&admin, "ai_generalist").await;
        let talent = app.new_talent().await;
        app.complete_profile(&talent).await;
        app.judged(&manager, &talent, Some("ai_generalist"), None, true).await;
        app.judged(&manager, &talent, Some("ai_generalist"), None, true).await;
        let s = app.enrolled(&talent, "ai_generalist").await;
        assert_eq!(s["tier"], 3);
        let h = history(app, &manager, &talent).await;
        assert_eq!(steps(&h), vec![(0, 1), (1, 2), (2, 3)], "no tier is skipped");
        // The headline tier follows.
        let me: Value = app.me(Some(&talent.token)).await.json().await.unwrap();
        assert_eq!((me["headline_tier"].clone(), me["profile_complete"].clone()), (json!(3), json!(true)));
    }

    async fn concurrent_reviews_of_one_talent_promote_once(app: &TestApp) {
        let admin = app.new_admin().await;
        app.small_requirements(&admin, "data_engineer").await;
        let talent = app.new_talent().await;
        app.complete_profile(&talent).await;
        app.enrolled(&talent, "data_engineer").await;
        // Four submissions in four challenges, reviewed at once by four managers.
        // No reward: paying one would serialise the reviews on the talent's
        // ledger account, hiding a race in the tier code.
        let manager = app.new_manager().await;
        let mut spec = challenge_spec();
        spec["reward"] = json!(0);
        let mut subs = Vec::new();
        for _ in 0..4 {
            let cid = app.open_challenge(&manager, &spec).await;
            subs.push((cid.clone(), app.new_submission(&talent, &cid, &format!("https://x.example/{}.png", new_key())).await));
            app.transition(&manager, &cid, "judging").await;
        }
        let mut managers = Vec::new();
        for _ in 0..4 {
            managers.push(app.new_manager().await);
        }
        let body = review_spec(8.0, 8.0, "accepted", 1);
        let answers = futures::future::join_all(
            subs.iter().zip(&managers).map(|((_, sid), m)| app.review(m, sid, &body)),
        )
        .await;
        assert!(answers.iter().all(|r| r.status() == StatusCode::CREATED));
        assert_eq!(app.tier_in(&talent, "data_engineer").await, 2);
        let h = history(app, &talent, &talent).await;
        assert_eq!(steps(&h), vec![(0, 1), (1, 2)], "promoted exactly once");
    }

    #[settings(|s| s.hold_sweep_interval_seconds = 1)]
    async fn an_overturn_demotes_only_after_the_grace_period(app: &TestApp) {
        let admin = app.new_admin().await;
        let (m1, m2) = (app.new_manager().await, app.new_manager().await);
        app.small_requirements(&admin, "preditor").await;
        let talent = app.new_talent().await;
        app.complete_profile(&talent).await;
        app.enrolled(&talent, "preditor").await;
        app.judged(&m1, &talent, None, None, true).await;
        let (sid, first) = app.judged(&m1, &talent, None, None, true).await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 2);

        // Overturned: the evidence is gone, the tier stays for 14 days.
        let overturn = |by, of: &Value, decision: &str| {
            let mut body = if decision == "accepted" { review_spec(8.0, 8.0, "accepted", 1) } else { review_spec(1.0, 1.0, "rejected", 0) };
            body["overturns"] = of["id"].clone();
            let sid = sid.clone();
            async move { app.review(by, &sid, &body).await }
        };
        let res = overturn(&m2, &first, "rejected").await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let rejected: Value = res.json().await.unwrap();
        let p: Value = app.my_progress(&talent).await.json().await.unwrap();
        let t = &p["tracks"][0];
        assert_eq!(t["tier"], 2);
        let since: chrono::DateTime<chrono::Utc> = serde_json::from_value(t["below_requirements_since"].clone()).unwrap();
        let due: chrono::DateTime<chrono::Utc> = serde_json::from_value(t["demotion_due_at"].clone()).unwrap();
        assert_eq!(due - since, chrono::Duration::days(14));

        // Accepted again within the grace period: nothing happened.
        let res = overturn(&m1, &rejected, "accepted").await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let accepted: Value = res.json().await.unwrap();
        let p: Value = app.my_progress(&talent).await.json().await.unwrap();
        assert!(p["tracks"][0]["below_requirements_since"].is_null());
        assert_eq!(steps(&history(app, &talent, &talent).await), vec![(0, 1), (1, 2)]);

        // Rejected again: 13 days into the grace period, two job ticks later, still Tier 2.
        assert_eq!(overturn(&m2, &accepted, "rejected").await.status(), StatusCode::CREATED);
        app.exec_sql(
            "UPDATE talent_tracks SET below_since = $1 WHERE talent_id = $2",
            [(chrono::Utc::now() - chrono::Duration::days(13)).into(), talent.id.into()],
        )
        .await;
        // The job provably ran (two rounds after the change), and nothing moved.
        app.after_rounds(Loop::Jobs, 2).await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 2, "within the grace period");
        // Past it: the job demotes.
        app.exec_sql(
            "UPDATE talent_tracks SET below_since = $1 WHERE talent_id = $2",
            [(chrono::Utc::now() - chrono::Duration::days(15)).into(), talent.id.into()],
        )
        .await;
        app.after_rounds(Loop::Jobs, 2).await;
        assert_eq!(app.tier_in(&talent, "preditor").await, 1);
        let h = history(app, &talent, &talent).await;
        assert_eq!(steps(&h), vec![(0, 1), (1, 2), (2, 1)]);
        assert_eq!(h[0]["actor_kind"], "automatic");
        assert_eq!(h[0]["evidence"]["unmet"], json!(["passed_challenges"]));
        assert!(h[0]["reason"].as_str().unwrap().contains("grace period"), "the talent sees why: {}", h[0]["reason"]);
    }

    #[settings(|s| s.hold_sweep_interval_seconds = 1)]
    async fn tiers_4_and_5_never_move_automatically(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let (four, five) = (app.new_talent().await, app.new_talent().await);
        app.enrol(four.id, "preditor", 4).await;
        app.enrol(five.id, "preditor", 5).await;
        // Nothing of theirs meets even Tier 1: reviews, a requirements change
        // and an expired grace period leave them where they are.
        app.judged(&manager, &four, None, None, false).await;
        app.small_requirements(&admin, "preditor").await;
        app.exec_sql(
            "UPDATE talent_tracks SET below_since = $1",
            [(chrono::Utc::now() - chrono::Duration::days(100)).into()],
        )
        .await;
        app.after_rounds(Loop::Jobs, 2).await;
        assert_eq!((app.tier_in(&four, "preditor").await, app.tier_in(&five, "preditor").await), (4, 5));
        assert!(history(app, &four, &four).await.is_empty());
    }

    async fn a_locked_tier_does_not_move_until_unlocked(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        app.small_requirements(&admin, "workflow_engineer").await;
        let talent = app.new_talent().await;
        app.complete_profile(&talent).await;
        app.enrolled(&talent, "workflow_engineer").await;
        // Only staff lock, never their own.
        assert_problem(app.lock_tier(&talent, &talent, "workflow_engineer", true).await, 403, "forbidden").await;
        let res = app.lock_tier(&manager, &talent, "workflow_engineer", true).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.json::<Value>().await.unwrap()["locked"], true);
        app.judged(&manager, &talent, None, None, true).await;
        app.judged(&manager, &talent, None, None, true).await;
        assert_eq!(app.tier_in(&talent, "workflow_engineer").await, 1, "locked");
        let res = app.lock_tier(&manager, &talent, "workflow_engineer", false).await;
        assert_eq!(res.json::<Value>().await.unwrap()["tier"], 2, "unlocking evaluates");
        let h = history(app, &talent, &talent).await;
        assert_eq!(h[0]["evidence"]["unlocked_by"], json!(manager.id));
        let log: Value = app.audit_log(&admin, "action=tier.lock").await.json().await.unwrap();
        assert_eq!(log["items"].as_array().unwrap().len(), 1);
    }
}
