//! The talent-engine dashboard: its numbers equal counts taken from the
//! data the test made.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, assert_problem};

both_backends! {
    async fn the_dashboard_counts_what_the_data_holds(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        // Tiers: preditor 1, 1, 3, 4; ai_generalist 2 (the Tier 3 preditor).
        let mut talents = Vec::new();
        for tier in [1, 1, 3] {
            let t = app.new_talent().await;
            app.enrol(t.id, "preditor", tier).await;
            talents.push(t);
        }
        app.enrol(talents[2].id, "ai_generalist", 2).await;
        let (pod, slots) = app.pod_with_slots(&lead, 2, &["preditor", "ai_generalist"]).await;
        let (placed, id) = app.nominated(&manager, "preditor").await;
        assert_eq!(app.accept(&lead, &id, &slots[0]).await.status(), StatusCode::OK);
        let (_waiting, _) = app.nominated(&manager, "preditor").await;
        app.add_engagement(&lead, &pod, "Acme").await;
        // One reviewed batch in an ai_generalist challenge, successful.
        app.judged(&manager, &talents[0], Some("ai_generalist"), None, true).await;
        assert_problem(app.set_targets(&manager, &json!({"year": 2026, "tier5_target": 10})).await, 403, "forbidden").await;
        assert_problem(app.set_targets(&admin, &json!({"year": 2026, "tier5_target": 10, "quarterly": [1, 2]})).await, 422, "validation_failed").await;
        let year = chrono::Datelike::year(&chrono::Utc::now());
        assert_eq!(app.set_targets(&admin, &json!({"year": year, "tier5_target": 10})).await.status(), StatusCode::OK);

        assert_problem(app.dashboard(&talents[0]).await, 403, "forbidden").await;
        let res = app.dashboard(&manager).await;
        assert_eq!(res.status(), StatusCode::OK);
        let d: Value = res.json().await.unwrap();
        let tiers: Vec<(String, i64, i64)> = d["tiers"].as_array().unwrap().iter()
            .map(|t| (t["track"].as_str().unwrap().to_owned(), t["tier"].as_i64().unwrap(), t["talents"].as_i64().unwrap()))
            .collect();
        assert_eq!(tiers, vec![
            ("ai_generalist".into(), 2, 1),
            ("preditor".into(), 1, 2),
            ("preditor".into(), 3, 1),
            ("preditor".into(), 4, 1),
            ("preditor".into(), 5, 1),
        ]);
        // Registered: everyone with an account (3 talents, 2 nominees, staff).
        let registered: i64 = app.query_sql::<Count>("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM users", []).await.unwrap().n;
        let stage = |name: &str| d["funnel"].as_array().unwrap().iter().find(|s| s["stage"] == name).unwrap().clone();
        assert_eq!(stage("registered")["talents"], json!(registered));
        assert_eq!(stage("registered")["this_year"], json!(registered));
        let counts: Vec<i64> = (1..=5).map(|k| stage(&format!("tier_{k}"))["talents"].as_i64().unwrap()).collect();
        assert_eq!(counts, vec![5, 3, 3, 2, 1]);
        // This year only the handoff went through the history: 4 → 5.
        assert_eq!(stage("tier_5")["this_year"], 1);
        assert_eq!(d["nominations_waiting"], 1);
        assert!(d["oldest_nomination_age_seconds"].as_i64().unwrap() >= 0);
        assert_eq!(d["open_roles"], json!([{"pod_id": pod, "pod_name": d["open_roles"][0]["pod_name"], "track": "ai_generalist", "open_slots": 1}]));
        assert_eq!((d["tier5_deployed"].clone(), d["tier5_placed_now"].clone(), d["tier5_target"].clone()), (json!(1), json!(1), json!(10)));
        let pod_load = &d["pods"][0];
        assert_eq!((pod_load["active_engagements"].clone(), pod_load["client_capacity"].clone(), pod_load["peak_concurrent_engagements"].clone()), (json!(1), json!(2), json!(1)));
        assert_eq!(pod_load["missing_roles"], json!(["workflow_engineer", "ai_generalist", "data_lora_specialist"]));
        let bulk = d["bulk_run"].as_array().unwrap();
        assert_eq!(bulk.len(), 1);
        assert_eq!((bulk[0]["track"].clone(), bulk[0]["reviewed_batches"].clone(), bulk[0]["successful_batches"].clone()), (json!("ai_generalist"), json!(1), json!(1)));
        // Pace, as the HTTP answer gives it: the studio's rule on its own figures.
        let (expected, ratio) = (d["pace"]["expected_to_date"].as_f64().unwrap(), d["pace"]["ratio"].as_f64().unwrap());
        assert!((0.0..=10.0).contains(&expected), "{expected}");
        let rule = |ratio: f64| if ratio >= 1.0 { "on_pace" } else if ratio >= 0.8 { "slightly_off" } else { "off_pace" };
        assert_eq!(d["pace"]["status"], rule(ratio));
        // Pace at fixed dates (the clock injected), computed by hand: the
        // handoff moved to 2021-01-15, 10 to deploy in 2021 (a 365-day
        // year), quarters 2, 4, 6, 8 in 2023 with nobody deployed.
        app.exec_sql("UPDATE tier_changes SET created_at = $1 WHERE from_tier = 4 AND to_tier = 5", [at("2021-01-15T00:00:00Z").into()]).await;
        assert_eq!(app.set_targets(&admin, &json!({"year": 2021, "tier5_target": 10})).await.status(), StatusCode::OK);
        assert_eq!(app.set_targets(&admin, &json!({"year": 2023, "tier5_target": 20, "quarterly": [2, 4, 6, 8]})).await.status(), StatusCode::OK);
        for (moment, deployed, expected, status) in [
            ("2021-01-01T00:00:00Z", 0, 0.0, "on_pace"),
            ("2021-01-10T00:00:00Z", 0, 10.0 * 9.0 / 365.0, "off_pace"),
            ("2021-02-06T00:00:00Z", 1, 10.0 * 36.0 / 365.0, "on_pace"),
            ("2021-02-14T00:00:00Z", 1, 10.0 * 44.0 / 365.0, "slightly_off"),
            ("2021-07-02T12:00:00Z", 1, 5.0, "off_pace"),
            ("2023-01-01T00:00:00Z", 0, 0.0, "on_pace"),
            // Half of Q1 (45 of 90 days) of 2.
            ("2023-02-15T00:00:00Z", 0, 1.0, "off_pace"),
            ("2023-05-16T12:00:00Z", 0, 2.0 + 4.0 * 45.5 / 91.0, "off_pace"),
            ("2024-06-01T00:00:00Z", 0, 20.0 * 152.0 / 366.0, "off_pace"),
        ] {
            let d = dashboard_at(app, &admin, at(moment)).await;
            assert_eq!(d.tier5_deployed, deployed, "{moment}");
            assert!((d.pace.expected_to_date - expected).abs() < 1e-9, "{moment}: {:?} vs {expected}", d.pace);
            assert_eq!(serde_json::to_value(d.pace.status).unwrap(), json!(status), "{moment}: {:?}", d.pace);
            assert_eq!(d.pace.year, moment[..4].parse::<i32>().unwrap());
        }
        let _ = placed;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cached_dashboard_is_computed_once_per_period() {
    let app = TestApp::spawn_with(Backend::Sqlite, |s| s.dashboard_cache_seconds = 3600).await;
    let manager = app.new_manager().await;
    let first: Value = app.dashboard(&manager).await.json().await.unwrap();
    app.new_talent().await;
    let second: Value = app.dashboard(&manager).await.json().await.unwrap();
    assert_eq!(
        first["generated_at"], second["generated_at"],
        "served from the cache"
    );
    assert_eq!(
        first["funnel"][0]["talents"],
        second["funnel"][0]["talents"]
    );
    app.stop().await;
}

#[derive(sea_orm::FromQueryResult)]
struct Count {
    n: i64,
}

/// The dashboard as of `at`, as `admin` sees it: the domain's dashboard
/// with its clock injected.
async fn dashboard_at(
    app: &TestApp,
    admin: &User,
    at: chrono::DateTime<chrono::Utc>,
) -> kartel_domain::pods::Dashboard {
    let allowed = crate::helpers::allowed(admin, kartel_domain::types::Role::Admin);
    kartel_domain::pods::talent_engine_at(&app.db, &allowed, at)
        .await
        .expect("dashboard")
}

fn at(moment: &str) -> chrono::DateTime<chrono::Utc> {
    moment.parse().expect("a moment")
}
