//! Bulk-run success, the studio's QC measure: a batch succeeds when at least
//! one of its outputs met the visual standard, whatever the decision — a
//! rejected batch with outputs meeting the standard counts. The figures per
//! challenge, per talent (overall and per track), per track on the dashboard
//! and in the tier requirements are exact counts of what the test made.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, challenge_spec, review_spec, submission_spec};

/// `reviewed_batches`, `successful_batches` and their rate, as the API shows them.
fn figures(reviewed: i64, successful: i64) -> Value {
    json!({
        "reviewed_batches": reviewed,
        "successful_batches": successful,
        "rate": successful as f64 / reviewed as f64,
    })
}

/// Opens a challenge of `track` taking up to 4 submissions per talent.
async fn challenge(app: &TestApp, manager: &User, track: Option<&str>) -> String {
    let mut spec = challenge_spec();
    spec["track"] = json!(track);
    spec["max_submissions_per_talent"] = json!(4);
    app.open_challenge(manager, &spec).await
}

/// `who` enters `challenge` `n` times; the submissions' ids.
async fn entries(app: &TestApp, who: &User, challenge: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let asset = format!("https://x.example/{}-{challenge}-{i}.png", who.id);
        let res = app.submit(who, challenge, &submission_spec(&asset)).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        let s: Value = res.json().await.unwrap();
        ids.push(s["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn review(app: &TestApp, manager: &User, submission: &str, decision: &str, outputs: i64) {
    let score = if decision == "accepted" { 8.0 } else { 3.0 };
    let res = app
        .review(
            manager,
            submission,
            &review_spec(score, score, decision, outputs),
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "{decision} with {outputs}"
    );
}

async fn json_of(res: reqwest::Response) -> Value {
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

both_backends! {
    async fn a_rejected_batch_with_outputs_meeting_the_standard_is_a_successful_batch(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        // Tier 3 in preditor needs 4 reviewed batches, at least 3 in 4 successful.
        let res = app
            .set_requirements(&admin, "preditor", &json!([
                {"tier": 3, "key": "reviewed_batches", "target": 4},
                {"tier": 3, "key": "bulk_run_success_rate", "target": 0.75}
            ]))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
        let talent = app.new_talent().await;
        let other = app.new_talent().await;
        assert_eq!(app.enrolled(&talent, "preditor").await["tier"], 2);

        // preditor: rejected with 3 and with 1 outputs meeting the standard
        // (successful), rejected with none (not), and later accepted with 2.
        let preditor = challenge(app, &manager, Some("preditor")).await;
        let p = entries(app, &talent, &preditor, 4).await;
        // ai_generalist: the talent's rejected batch with 2 (successful), the
        // other's with none.
        let generalist = challenge(app, &manager, Some("ai_generalist")).await;
        let a = entries(app, &talent, &generalist, 1).await;
        let a_other = entries(app, &other, &generalist, 1).await;
        // No track: a rejected batch with 1.
        let trackless = challenge(app, &manager, None).await;
        let n = entries(app, &talent, &trackless, 1).await;
        for c in [&preditor, &generalist, &trackless] {
            assert_eq!(app.transition(&manager, c, "judging").await.status(), StatusCode::OK);
        }
        review(app, &manager, &p[0], "rejected", 3).await;
        review(app, &manager, &p[1], "rejected", 1).await;
        review(app, &manager, &p[2], "rejected", 0).await;
        review(app, &manager, &a[0], "rejected", 2).await;
        review(app, &manager, &a_other[0], "rejected", 0).await;
        review(app, &manager, &n[0], "rejected", 1).await;

        // Every figure, each compared on its own so that a failure lists them all.
        let mut wrong = Vec::new();
        let mut check = |what: &str, actual: &Value, expected: Value| {
            if *actual != expected {
                wrong.push(format!("{what}: {actual} (expected {expected})"));
            }
        };
        // Three preditor batches reviewed, two successful (both rejected):
        // 2/3 is short of 0.75, so still Tier 2, and progress says so.
        let progress = json_of(app.talent_progress(&manager, &talent).await).await;
        let track = &progress["tracks"][0];
        check("preditor tier after three", &track["tier"], json!(2));
        check("preditor progress after three", &track["next"], json!({"tier": 3, "requirements": [
            {"key": "reviewed_batches", "target": 4.0, "current": 3.0, "met": false},
            {"key": "bulk_run_success_rate", "target": 0.75, "current": 2.0 / 3.0, "met": false}
        ]}));
        // The fourth, accepted with 2: 3 in 4, Tier 3.
        review(app, &manager, &p[3], "accepted", 2).await;
        check("preditor tier after four", &json!(app.tier_in(&talent, "preditor").await), json!(3));

        for (what, id, expected) in [
            ("preditor challenge", &preditor, figures(4, 3)),
            ("ai_generalist challenge", &generalist, figures(2, 1)),
            ("trackless challenge", &trackless, figures(1, 1)),
        ] {
            let c = json_of(app.get_challenge(None, id).await).await;
            check(what, &c["bulk_run"], expected);
        }
        let profile = json_of(app.get(&format!("/api/v1/talents/{}", talent.id), None).await).await;
        check("talent overall", &profile["bulk_run"]["overall"], figures(6, 5));
        let mut ai = figures(1, 1);
        ai["track"] = json!("ai_generalist");
        let mut pr = figures(4, 3);
        pr["track"] = json!("preditor");
        check("talent per track", &profile["bulk_run"]["tracks"], json!([ai, pr]));
        let profile = json_of(app.get(&format!("/api/v1/talents/{}", other.id), None).await).await;
        let mut ai = figures(1, 0);
        ai["track"] = json!("ai_generalist");
        check("other talent", &profile["bulk_run"], json!({"overall": figures(1, 0), "tracks": [ai]}));

        let dashboard = json_of(app.dashboard(&manager).await).await;
        let mut rows = Vec::new();
        for (track, r, s) in [(json!(null), 1, 1), (json!("ai_generalist"), 2, 1), (json!("preditor"), 4, 3)] {
            let mut row = figures(r, s);
            row["track"] = track;
            rows.push(row);
        }
        check("dashboard per track", &dashboard["bulk_run"], json!(rows));
        assert!(wrong.is_empty(), "bulk-run figures:\n{}", wrong.join("\n"));
    }
}
