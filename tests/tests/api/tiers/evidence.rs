//! Certificates follow their evidence: overturning the accepted submission
//! a certificate cites revokes it and moves Tier 4 back to 3, unless other
//! accepted certifying work can stand (then it is re-issued citing that);
//! a Tier 5 goes on the dashboard's attention list instead, placement
//! untouched; and a nomination needs a valid certificate.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::certification::verify;
use super::history;
use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, assert_problem, review_spec};

const TRACK: &str = "preditor";

/// A certified Tier 4 talent in `TRACK`, the way it really happens: Tier 3,
/// an accepted submission of a certifying challenge, a manager's
/// certification. The talent, the cited submission, its review and the
/// certificate's id.
async fn certified(app: &TestApp, manager: &User) -> (User, String, Value, String) {
    let admin = app.new_admin().await;
    app.approve_playbook(&admin, TRACK).await;
    app.no_requirements(&admin, TRACK).await;
    let talent = app.new_talent().await;
    app.complete_profile(&talent).await;
    app.enrol(talent.id, TRACK, 3).await;
    let (sid, review) = app
        .judged(manager, &talent, Some(TRACK), Some(TRACK), true)
        .await;
    let s: Value = app
        .certify(manager, &talent, TRACK)
        .await
        .json()
        .await
        .unwrap();
    let cert = s["certificate"]["id"].as_str().unwrap().to_owned();
    assert_eq!(s["certificate"]["status"], "valid");
    (talent, sid, review, cert)
}

/// A second manager decides `decision` on `submission`, overturning its
/// current review; the new review.
async fn overturn(
    app: &TestApp,
    by: &User,
    submission: &str,
    current: &Value,
    decision: &str,
) -> Value {
    let mut body = if decision == "accepted" {
        review_spec(9.0, 9.0, "accepted", 2)
    } else {
        review_spec(2.0, 2.0, "rejected", 0)
    };
    body["overturns"] = current["id"].clone();
    let res = app.review(by, submission, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED, "overturn");
    res.json().await.unwrap()
}

async fn certificate(app: &TestApp, id: &str) -> Value {
    let res = app.certificate(id).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// The open entries of the dashboard's attention list.
async fn attention(app: &TestApp, by: &User) -> Vec<Value> {
    let d: Value = app.dashboard(by).await.json().await.unwrap();
    d["attention"].as_array().unwrap().clone()
}

both_backends! {
    async fn overturning_the_cited_evidence_of_a_tier_4_revokes_the_certificate_and_drops_to_tier_3(app: &TestApp) {
        let manager = app.new_manager().await;
        let other = app.new_manager().await;
        let lead = app.new_lead().await;
        let (talent, sid, review, cert) = certified(app, &manager).await;
        let n: Value = app.nominate(&manager, &talent, TRACK, None).await.json().await.unwrap();

        let rejected = overturn(app, &other, &sid, &review, "rejected").await;
        let c = certificate(app, &cert).await;
        assert_eq!((c["status"].clone(), c["replaced_by"].clone()), (json!("revoked"), Value::Null));
        assert!(c["revoked_at"].is_string());
        assert_eq!(app.tier_in(&talent, TRACK).await, 3);
        let h = history(app, &talent, &talent).await;
        assert_eq!((h[0]["from_tier"].clone(), h[0]["to_tier"].clone()), (json!(4), json!(3)));
        assert_eq!((h[0]["reason"].clone(), h[0]["actor_kind"].clone()), (json!("evidence_overturned"), json!("automatic")));
        assert_eq!(h[0]["certificate_id"], json!(cert));
        assert_eq!((h[0]["evidence"]["submission_id"].clone(), h[0]["evidence"]["review_id"].clone()), (json!(sid), rejected["id"].clone()));
        // The pending nomination went with the certificate; no new one.
        let d: Value = app.handoff(&lead, n["id"].as_str().unwrap()).await.json().await.unwrap();
        assert_eq!(d["nomination"]["status"], "withdrawn");
        assert_problem(app.nominate(&manager, &talent, TRACK, None).await, 422, "not_tier_four").await;
        assert!(attention(app, &manager).await.is_empty(), "a Tier 4 is decided by the rule");

        // Accepted again, the work stands again: not a certificate by itself
        // (Tier 4 is a manager's signature), but a manager may certify on it.
        let third = app.new_manager().await;
        overturn(app, &third, &sid, &rejected, "accepted").await;
        assert_eq!(app.tier_in(&talent, TRACK).await, 3);
        let res = app.certify(&manager, &talent, TRACK).await;
        assert_eq!(res.status(), StatusCode::OK);
        let s: Value = res.json().await.unwrap();
        assert_ne!(s["certificate"]["id"], json!(cert));
        assert_eq!(s["tier"], 4);
    }

    async fn with_other_accepted_certifying_work_the_certificate_is_reissued_citing_it(app: &TestApp) {
        let manager = app.new_manager().await;
        let other = app.new_manager().await;
        let lead = app.new_lead().await;
        let (talent, sid, review, cert) = certified(app, &manager).await;
        // Judged by another manager: who certified the talent has a conflict of interest.
        let judge = app.new_manager().await;
        let (second, _) = app.judged(&judge, &talent, Some(TRACK), Some(TRACK), true).await;
        let n: Value = app.nominate(&manager, &talent, TRACK, None).await.json().await.unwrap();

        overturn(app, &other, &sid, &review, "rejected").await;
        assert_eq!(app.tier_in(&talent, TRACK).await, 4, "the tier stays");
        let old = certificate(app, &cert).await;
        assert_eq!(old["status"], "revoked");
        let new_id = old["replaced_by"].as_str().expect("replaced").to_owned();
        let new = certificate(app, &new_id).await;
        assert_eq!((new["status"].clone(), new["talent_id"].clone(), new["track"].clone(), new["tier"].clone()), (json!("valid"), json!(talent.id), json!(TRACK), json!(4)));
        assert_eq!(new["playbook_version"], old["playbook_version"]);
        // Signed by the service's key, like any certificate.
        let vc = verify(new["credential"].as_str().unwrap(), &app.jwks().await).expect("the re-issued certificate verifies");
        assert_eq!(vc["id"], format!("urn:uuid:{new_id}"));
        assert_eq!(vc["credentialSubject"]["id"], format!("urn:uuid:{}", talent.id));
        let h = history(app, &talent, &talent).await;
        assert_eq!((h[0]["from_tier"].clone(), h[0]["to_tier"].clone(), h[0]["reason"].clone()), (json!(4), json!(4), json!("evidence_replaced")));
        assert_eq!((h[0]["certificate_id"].clone(), h[0]["evidence"]["certificate_revoked"].clone()), (json!(new_id), json!(cert)));
        assert_eq!((h[0]["evidence"]["submission_id"].clone(), h[0]["evidence"]["evidence_submission_id"].clone()), (json!(sid), json!(second)));
        // The standing names the new one; the nomination stands.
        let p: Value = app.talent_progress(&manager, &talent).await.json().await.unwrap();
        assert_eq!(p["tracks"][0]["tier"], 4);
        let d: Value = app.handoff(&lead, n["id"].as_str().unwrap()).await.json().await.unwrap();
        assert_eq!((d["nomination"]["status"].clone(), d["certificate"]["id"].clone()), (json!("pending"), json!(new_id)));
    }

    async fn a_tier_5_whose_evidence_is_overturned_goes_on_the_attention_list_and_keeps_the_slot(app: &TestApp) {
        let manager = app.new_manager().await;
        let other = app.new_manager().await;
        let lead = app.new_lead().await;
        let admin = app.new_admin().await;
        let (talent, sid, review, cert) = certified(app, &manager).await;
        let n: Value = app.nominate(&manager, &talent, TRACK, None).await.json().await.unwrap();
        let (pod, slots) = app.pod_with_slots(&lead, 1, &[TRACK]).await;
        assert_eq!(app.accept(&lead, n["id"].as_str().unwrap(), &slots[0]).await.status(), StatusCode::OK);

        let rejected = overturn(app, &other, &sid, &review, "rejected").await;
        // Nothing moves by itself: tier, slot, certificate.
        assert_eq!(app.tier_in(&talent, TRACK).await, 5);
        let p: Value = app.get_pod(&lead, &pod).await.json().await.unwrap();
        assert_eq!(p["slots"][0]["talent_id"], json!(talent.id));
        assert_eq!(certificate(app, &cert).await["status"], "valid");
        let d: Value = app.dashboard(&manager).await.json().await.unwrap();
        assert_eq!((d["tier5_deployed"].clone(), d["tier5_placed_now"].clone()), (json!(1), json!(1)));
        let list = d["attention"].as_array().unwrap();
        assert_eq!(list.len(), 1);
        let a = &list[0];
        assert_eq!((a["talent_id"].clone(), a["track"].clone(), a["tier"].clone(), a["reason"].clone()), (json!(talent.id), json!(TRACK), json!(5), json!("evidence_overturned")));
        assert_eq!((a["submission_id"].clone(), a["certificate_id"].clone(), a["suspended"].clone()), (json!(sid), json!(cert), json!(false)));
        assert!(a["since"].is_string());

        // Evidence accepted again: off the list.
        let third = app.new_manager().await;
        let accepted = overturn(app, &third, &sid, &rejected, "accepted").await;
        assert!(attention(app, &manager).await.is_empty());
        // Overturned again: back on it, once.
        overturn(app, &other, &sid, &accepted, "rejected").await;
        assert_eq!(attention(app, &manager).await.len(), 1);
        // An admin decides: Tier 4 would keep a certificate on overturned
        // work, so no; below 4 revokes it, frees the slot and clears the entry.
        let body = assert_problem(app.demote(&admin, &talent, TRACK, &json!({"tier": 4, "reason": "evidence"})).await, 422, "validation_failed").await;
        assert_eq!(body["errors"][0]["field"], "tier");
        assert_eq!(app.demote(&admin, &talent, TRACK, &json!({"tier": 3, "reason": "the certification piece was rejected"})).await.status(), StatusCode::OK);
        assert!(attention(app, &manager).await.is_empty());
        assert_eq!(certificate(app, &cert).await["status"], "revoked");
        let p: Value = app.get_pod(&lead, &pod).await.json().await.unwrap();
        assert_eq!(p["slots"][0]["status"], "open");
    }

    async fn a_tier_5_with_other_certifying_work_gets_a_reissued_certificate_not_an_entry(app: &TestApp) {
        let manager = app.new_manager().await;
        let other = app.new_manager().await;
        let lead = app.new_lead().await;
        let (talent, sid, review, cert) = certified(app, &manager).await;
        let n: Value = app.nominate(&manager, &talent, TRACK, None).await.json().await.unwrap();
        let (_, slots) = app.pod_with_slots(&lead, 1, &[TRACK]).await;
        assert_eq!(app.accept(&lead, n["id"].as_str().unwrap(), &slots[0]).await.status(), StatusCode::OK);
        // Judged by another manager: who certified the talent has a conflict of interest.
        let judge = app.new_manager().await;
        let (second, _) = app.judged(&judge, &talent, Some(TRACK), Some(TRACK), true).await;

        overturn(app, &other, &sid, &review, "rejected").await;
        assert_eq!(app.tier_in(&talent, TRACK).await, 5);
        assert!(attention(app, &manager).await.is_empty());
        let old = certificate(app, &cert).await;
        assert_eq!(old["status"], "revoked");
        let new = certificate(app, old["replaced_by"].as_str().unwrap()).await;
        assert_eq!(new["status"], "valid");
        let h = history(app, &talent, &talent).await;
        assert_eq!((h[0]["from_tier"].clone(), h[0]["to_tier"].clone(), h[0]["evidence"]["evidence_submission_id"].clone()), (json!(5), json!(5), json!(second)));
    }

    async fn a_nomination_and_an_accept_need_a_valid_certificate_not_only_tier_4(app: &TestApp) {
        let manager = app.new_manager().await;
        let lead = app.new_lead().await;
        let bare = app.new_talent().await;
        app.enrol(bare.id, TRACK, 4).await;
        let body = assert_problem(app.nominate(&manager, &bare, TRACK, None).await, 422, "certificate_required").await;
        assert!(body["detail"].as_str().unwrap().contains(TRACK), "{body}");
        // A revoked one is not valid.
        let revoked = app.new_talent().await;
        app.enrol(revoked.id, TRACK, 4).await;
        let id = app.give_certificate(revoked.id, TRACK).await;
        app.exec_sql("UPDATE certificates SET status = 'revoked' WHERE id = $1", [id.into()]).await;
        assert_problem(app.nominate(&manager, &revoked, TRACK, None).await, 422, "certificate_required").await;
        // One in another track is not either.
        let elsewhere = app.new_talent().await;
        app.enrol(elsewhere.id, TRACK, 4).await;
        app.give_certificate(elsewhere.id, "ai_generalist").await;
        assert_problem(app.nominate(&manager, &elsewhere, TRACK, None).await, 422, "certificate_required").await;
        // Nominated with one that is revoked before the decision: not accepted.
        let (talent, nid) = app.nominated(&manager, TRACK).await;
        app.exec_sql("UPDATE certificates SET status = 'revoked' WHERE talent_id = $1", [talent.id.into()]).await;
        let (_, slots) = app.pod_with_slots(&lead, 1, &[TRACK]).await;
        assert_problem(app.accept(&lead, &nid, &slots[0]).await, 422, "certificate_required").await;
        assert_eq!(app.tier_in(&talent, TRACK).await, 4);
    }
}
