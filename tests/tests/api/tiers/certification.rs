//! Certification 3 → 4 by a manager, its certificate (verifiable with the
//! JWKS alone, revoked by a demotion), key rotation, and what nobody may do
//! to their own tier.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{history, steps};
use crate::both_backends;
use crate::helpers::{Backend, TestApp, User, assert_problem};

/// Verifies a compact JWS with the key its `kid` names in `jwks`; the payload.
pub(super) fn verify(jws: &str, jwks: &Value) -> Result<Value, String> {
    let parts: Vec<&str> = jws.split('.').collect();
    let [h, p, s] = parts[..] else {
        return Err("not a compact JWS".into());
    };
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    if header["alg"] != "EdDSA" {
        return Err(format!("alg {}", header["alg"]));
    }
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .ok_or("no key with this kid")?;
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(key["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(s).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    VerifyingKey::from_bytes(&x)
        .unwrap()
        .verify(format!("{h}.{p}").as_bytes(), &sig)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).map_err(|e| e.to_string())
}

/// A talent at Tier 3 in `track` (set directly: the promotion tests cover
/// how it is reached) with an accepted submission in a challenge that
/// certifies the track.
pub(super) async fn certifiable(app: &TestApp, manager: &User, track: &str) -> User {
    let admin = app.new_admin().await;
    app.no_requirements(&admin, track).await;
    let talent = app.new_talent().await;
    app.complete_profile(&talent).await;
    app.enrol(talent.id, track, 3).await;
    app.judged(manager, &talent, Some(track), Some(track), true)
        .await;
    talent
}

both_backends! {
    async fn certification_needs_tier_3_a_certifying_submission_and_an_approved_playbook(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        let talent = app.new_talent().await;
        app.enrol(talent.id, "preditor", 3).await;
        // Nothing certifying, the playbook not approved: 422 naming both.
        let body = assert_problem(app.certify(&manager, &talent, "preditor").await, 422, "requirements_unmet").await;
        let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, vec!["certifying_submission", "playbook"]);
        // A Tier 2 talent is told about its tier too.
        let low = app.new_talent().await;
        app.enrol(low.id, "preditor", 2).await;
        let body = assert_problem(app.certify(&manager, &low, "preditor").await, 422, "requirements_unmet").await;
        assert_eq!(body["errors"][0]["field"], "tier");
        assert!(body["errors"][0]["message"].as_str().unwrap().contains("Tier 2"));

        // Who may: managers and admins, never for themselves.
        app.approve_playbook(&admin, "preditor").await;
        app.no_requirements(&admin, "preditor").await;
        app.judged(&manager, &talent, Some("preditor"), Some("preditor"), true).await;
        assert_problem(app.certify(&talent, &talent, "preditor").await, 403, "forbidden").await;
        let other = app.new_talent().await;
        assert_problem(app.certify(&other, &talent, "preditor").await, 403, "forbidden").await;
        let self_manager = app.new_manager().await;
        app.enrol(self_manager.id, "preditor", 3).await;
        let detail = assert_problem(app.certify(&self_manager, &self_manager, "preditor").await, 403, "forbidden").await;
        assert!(detail["detail"].as_str().unwrap().contains("own tier"));

        let res = app.certify(&manager, &talent, "preditor").await;
        assert_eq!(res.status(), StatusCode::OK);
        let s: Value = res.json().await.unwrap();
        assert_eq!((s["tier"].clone(), s["certificate"]["status"].clone()), (json!(4), json!("valid")));
        assert_eq!(s["certificate"]["playbook_version"], "1.2");
        assert_problem(app.certify(&manager, &talent, "preditor").await, 409, "already_certified").await;

        let h = history(app, &talent, &talent).await;
        assert_eq!((h[0]["from_tier"].clone(), h[0]["to_tier"].clone()), (json!(3), json!(4)));
        assert_eq!(h[0]["actor_id"], json!(manager.id));
        assert_eq!(h[0]["certificate_id"], s["certificate"]["id"]);
        assert_eq!(h[0]["evidence"]["playbook_version"], "1.2");
        assert!(h[0]["evidence"]["review_id"].is_string());
        let p: Value = app.my_progress(&talent).await.json().await.unwrap();
        assert_eq!(p["tracks"][0]["next"]["tier"], 5);
    }

    async fn a_certificate_verifies_with_the_jwks_alone_and_reads_revoked_after_demotion(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        app.approve_playbook(&admin, "workflow_engineer").await;
        let talent = certifiable(app, &manager, "workflow_engineer").await;
        let s: Value = app.certify(&manager, &talent, "workflow_engineer").await.json().await.unwrap();
        let id = s["certificate"]["id"].as_str().unwrap().to_owned();

        // Anyone, without logging in.
        let res = app.certificate(&id).await;
        assert_eq!(res.status(), StatusCode::OK);
        let cert: Value = res.json().await.unwrap();
        assert_eq!((cert["status"].clone(), cert["tier"].clone(), cert["track"].clone()), (json!("valid"), json!(4), json!("workflow_engineer")));
        assert_eq!(cert["talent_id"], json!(talent.id));
        let jwks = app.jwks().await;
        let jws = cert["credential"].as_str().unwrap();
        let vc = verify(jws, &jwks).expect("verifies with the JWKS");
        assert_eq!(vc["type"], json!(["VerifiableCredential", "OpenBadgeCredential"]));
        assert_eq!(vc["@context"][0], "https://www.w3.org/ns/credentials/v2");
        assert_eq!(vc["id"], format!("urn:uuid:{id}"));
        assert_eq!(vc["credentialSubject"]["id"], format!("urn:uuid:{}", talent.id));
        assert_eq!(vc["credentialSubject"]["track"], "workflow_engineer");
        assert_eq!(vc["credentialSubject"]["tier"], 4);
        assert!(vc["credentialSubject"]["achievement"]["criteria"]["narrative"].as_str().unwrap().contains("version 1.2"));
        assert!(vc["validFrom"].is_string() && vc["issuer"]["id"].is_string());

        // A tampered payload fails; so does one re-signed with another key.
        let parts: Vec<&str> = jws.split('.').collect();
        let mut forged = vc.clone();
        forged["credentialSubject"]["track"] = json!("preditor");
        let forged_p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        assert!(verify(&format!("{}.{forged_p}.{}", parts[0], parts[2]), &jwks).is_err());
        let other = SigningKey::from_bytes(&[7u8; 32]);
        let sig = other.sign(format!("{}.{forged_p}", parts[0]).as_bytes());
        let resigned = format!("{}.{forged_p}.{}", parts[0], URL_SAFE_NO_PAD.encode(sig.to_bytes()));
        assert!(verify(&resigned, &jwks).is_err());

        // Demoted below 4 (with a reason): revoked, and the talent sees why.
        assert_problem(app.demote(&manager, &talent, "workflow_engineer", &json!({"tier": 4, "reason": "x"})).await, 422, "validation_failed").await;
        assert_problem(app.demote(&manager, &talent, "workflow_engineer", &json!({"tier": 3, "reason": ""})).await, 422, "validation_failed").await;
        let res = app.demote(&manager, &talent, "workflow_engineer", &json!({"tier": 3, "reason": "copied work in the certification piece"})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let s: Value = res.json().await.unwrap();
        assert_eq!((s["tier"].clone(), s["locked"].clone(), s["certificate"].clone()), (json!(3), json!(true), Value::Null));
        let cert: Value = app.certificate(&id).await.json().await.unwrap();
        assert_eq!(cert["status"], "revoked");
        assert!(cert["revoked_at"].is_string());
        let h = history(app, &talent, &talent).await;
        assert_eq!(h[0]["reason"], "copied work in the certification piece");
        assert_eq!(h[0]["certificate_id"], json!(id));
        assert_eq!(steps(&h[..2]), vec![(3, 4), (4, 3)]);
        // Not straight back: the track is locked and the cited submission spent.
        let body = assert_problem(app.certify(&manager, &talent, "workflow_engineer").await, 422, "requirements_unmet").await;
        let fields: Vec<&str> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert_eq!(fields, vec!["locked", "certifying_submission"]);
        // A certificate is not an access token, though the same key signs both.
        let res = app.get("/api/v1/me", Some(jws)).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_problem(app.certificate(&uuid::Uuid::new_v4().to_string()).await, 404, "not_found").await;
    }

    async fn a_talent_never_changes_its_own_tier_or_requirements(app: &TestApp) {
        let talent = app.new_talent().await;
        app.complete_profile(&talent).await;
        app.enrolled(&talent, "preditor").await;
        let reqs = json!([{"tier": 2, "key": "passed_challenges", "target": 0}]);
        assert_problem(app.set_requirements(&talent, "preditor", &reqs).await, 403, "forbidden").await;
        assert_problem(app.update_track(&talent, "preditor", &json!({"demotion_grace_days": 0})).await, 403, "forbidden").await;
        assert_problem(app.certify(&talent, &talent, "preditor").await, 403, "forbidden").await;
        assert_problem(app.demote(&talent, &talent, "preditor", &json!({"tier": 0, "reason": "x"})).await, 403, "forbidden").await;
        assert_problem(app.lock_tier(&talent, &talent, "preditor", false).await, 403, "forbidden").await;
        assert_problem(app.update_me(&talent, &json!({"tier": 5})).await, 422, "validation_failed").await;
        let res = app.post("/api/v1/me/tracks", Some(&talent.token), &json!({"track": "ai_generalist", "tier": 4})).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        // Nor staff their own.
        let admin = app.new_admin().await;
        app.enrol(admin.id, "ai_generalist", 2).await;
        assert_problem(app.demote(&admin, &admin, "ai_generalist", &json!({"tier": 1, "reason": "x"})).await, 403, "forbidden").await;
        assert_problem(app.lock_tier(&admin, &admin, "ai_generalist", true).await, 403, "forbidden").await;
        // Out of Tier 5 needs an admin.
        let star = app.new_talent().await;
        app.enrol(star.id, "preditor", 5).await;
        let manager = app.new_manager().await;
        assert_problem(app.demote(&manager, &star, "preditor", &json!({"tier": 4, "reason": "x"})).await, 403, "forbidden").await;
        assert_eq!(app.demote(&admin, &star, "preditor", &json!({"tier": 4, "reason": "left the pod"})).await.status(), StatusCode::OK);
        assert_eq!(app.tier_in(&talent, "preditor").await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_certificates_verify_after_a_key_rotation() {
    let first = TestApp::spawn(Backend::Sqlite).await;
    let admin = first.new_admin().await;
    let manager = first.new_manager().await;
    first.approve_playbook(&admin, "preditor").await;
    let talent = certifiable(&first, &manager, "preditor").await;
    let old: Value = first
        .certify(&manager, &talent, "preditor")
        .await
        .json()
        .await
        .unwrap();
    let old_jwks = first.jwks().await;
    let old_key = old_jwks["keys"][0].clone();
    // Its status list, signed (and kept) with the old key.
    let list = old["certificate"]["credentialStatus"]["statusListCredential"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(first.status_list(&list).await.status(), StatusCode::OK);

    // The same database, a new signing key; the old public key retired.
    let url = first.settings.database_url.clone();
    let smtp = first.settings.smtp_url.clone();
    let retired = old_key["x"].as_str().unwrap().to_owned();
    let second = TestApp::spawn_with(Backend::Sqlite, move |s| {
        s.database_url = url;
        s.smtp_url = smtp;
        s.retired_public_keys = retired;
    })
    .await;
    let jwks = second.jwks().await;
    let kids: Vec<&Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert_eq!(kids.len(), 2);
    assert_ne!(kids[0], &old_key["kid"], "a new key signs");
    assert_eq!(
        kids[1], &old_key["kid"],
        "the retired key is still published"
    );
    let cert: Value = second
        .certificate(old["certificate"]["id"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(cert["status"], "valid");
    verify(cert["credential"].as_str().unwrap(), &jwks)
        .expect("an old certificate verifies after rotation");
    // The list is signed again with the new key.
    let jws = second.status_list(&list).await.text().await.unwrap();
    verify(&jws, &jwks).expect("the list verifies");
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(jws.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(&header["kid"], kids[0], "the current key signs the list");

    // New certificates are signed with the new key.
    let manager2 = second.sign_in(manager.id, &manager.email).await;
    let talent2 = certifiable(&second, &manager2, "preditor").await;
    let new: Value = second
        .certify(&manager2, &talent2, "preditor")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(new["certificate"]["kid"], *kids[0]);
    verify(new["certificate"]["credential"].as_str().unwrap(), &jwks).expect("verifies");
    assert!(
        verify(
            new["certificate"]["credential"].as_str().unwrap(),
            &old_jwks
        )
        .is_err()
    );
    second.stop().await;
    first.stop().await;
}
