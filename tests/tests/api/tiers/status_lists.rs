//! Certificate status lists (W3C Bitstring Status List v1.0): every
//! certificate names its bit in a public list whose signed credential a
//! verifier checks with the JWKS alone; a revocation sets the bit; indexes
//! are random and unique within a list, and a full list gives way to a new
//! one; certificates from before the lists get an entry when read, or from
//! the job when an instance starts.

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

use super::certification::{certifiable, verify};
use crate::both_backends;
use crate::helpers::{Backend, Loop, TestApp, User, assert_problem};

const TRACKS: [&str; 5] = [
    "workflow_engineer",
    "ai_generalist",
    "preditor",
    "data_lora_specialist",
    "data_engineer",
];

/// The decoded JOSE header of a compact JWS.
fn header_of(jws: &str) -> Value {
    let h = jws.split('.').next().unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap()
}

/// The bits of an `encodedList`: multibase `u` (base64url), then GZIP.
fn bits_of(encoded: &str) -> Vec<u8> {
    let gz = URL_SAFE_NO_PAD
        .decode(encoded.strip_prefix('u').expect("multibase base64url"))
        .unwrap();
    let mut bits = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut bits)
        .expect("gzip");
    bits
}

/// The bit at `index` (a `statusListIndex`): index 0 is the first byte's
/// most significant bit.
fn bit(bits: &[u8], index: &str) -> u8 {
    let i: usize = index.parse().unwrap();
    (bits[i / 8] >> (7 - i % 8)) & 1
}

fn ones(bits: &[u8]) -> u32 {
    bits.iter().map(|b| b.count_ones()).sum()
}

/// The list at `url` as a verifier reads it: fetched without logging in,
/// its signature checked with the JWKS alone (the current key signs it);
/// the credential and its bits.
async fn verified_list(app: &TestApp, url: &str) -> (Value, Vec<u8>) {
    let res = app.status_list(url).await;
    assert_eq!(res.status(), StatusCode::OK, "{url}");
    assert_eq!(res.headers()["content-type"], "application/vc+jwt");
    assert_eq!(res.headers()["cache-control"], "max-age=300");
    let jws = res.text().await.unwrap();
    let jwks = app.jwks().await;
    let header = header_of(&jws);
    assert_eq!(
        (header["alg"].clone(), header["typ"].clone()),
        (json!("EdDSA"), json!("vc+jwt"))
    );
    assert_eq!(
        header["kid"], jwks["keys"][0]["kid"],
        "the current key signs"
    );
    let vc = verify(&jws, &jwks).expect("a list verifies with the JWKS alone");
    let bits = bits_of(vc["credentialSubject"]["encodedList"].as_str().unwrap());
    assert!(bits.len() >= 16 * 1024, "at least 131,072 bits");
    (vc, bits)
}

/// A certificate's `credentialStatus`, checked for its shape: `(list URL,
/// index)`.
fn entry_of(cert: &Value) -> (String, String) {
    let s = &cert["credentialStatus"];
    assert_eq!(s["type"], "BitstringStatusListEntry", "{cert}");
    assert_eq!(s["statusPurpose"], "revocation");
    let url = s["statusListCredential"].as_str().unwrap().to_owned();
    let index = s["statusListIndex"].as_str().expect("a string").to_owned();
    assert!(index.parse::<u32>().unwrap() < 131_072);
    assert!(
        url.starts_with("http://127.0.0.1:") && url.contains("/api/v1/status-lists/"),
        "{url}"
    );
    assert_eq!(s["id"], format!("{url}#{index}"));
    (url, index)
}

async fn certificate(app: &TestApp, id: &str) -> Value {
    let res = app.certificate(id).await;
    assert_eq!(res.status(), StatusCode::OK);
    res.json().await.unwrap()
}

/// Certificates as a store from before status lists has them, one per
/// talent and track (`n` of them, over new talents).
async fn old_certificates(app: &TestApp, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::new();
    let mut talent: Option<User> = None;
    for i in 0..n {
        if i % TRACKS.len() == 0 {
            talent = Some(app.new_talent().await);
        }
        let t = talent.as_ref().unwrap();
        ids.push(app.give_certificate(t.id, TRACKS[i % TRACKS.len()]).await);
    }
    ids
}

both_backends! {
    async fn a_revoked_certificates_bit_is_1_in_its_list_verified_with_the_jwks_alone(app: &TestApp) {
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        app.approve_playbook(&admin, "workflow_engineer").await;
        let a = certifiable(app, &manager, "workflow_engineer").await;
        let b = certifiable(app, &manager, "workflow_engineer").await;
        let mut certs = Vec::new();
        for t in [&a, &b] {
            let s: Value = app.certify(&manager, t, "workflow_engineer").await.json().await.unwrap();
            certs.push(certificate(app, s["certificate"]["id"].as_str().unwrap()).await);
        }
        let (url, a_index) = entry_of(&certs[0]);
        let (b_url, b_index) = entry_of(&certs[1]);
        assert_eq!(url, b_url, "one list until it is full");
        assert!(url.starts_with(&app.url("/api/v1/status-lists/")), "served here: {url}");
        assert_ne!(a_index, b_index);
        // The signed certificate carries the same entry.
        let jwks = app.jwks().await;
        let vc = verify(certs[0]["credential"].as_str().unwrap(), &jwks).unwrap();
        assert_eq!(vc["credentialStatus"], certs[0]["credentialStatus"]);

        let (list, bits) = verified_list(app, &url).await;
        assert_eq!(list["@context"], json!(["https://www.w3.org/ns/credentials/v2"]));
        assert_eq!(list["id"], url.as_str());
        assert_eq!(list["type"], json!(["VerifiableCredential", "BitstringStatusListCredential"]));
        assert_eq!(list["issuer"], vc["issuer"]["id"], "the certificates' issuer");
        let from: DateTime<Utc> = list["validFrom"].as_str().unwrap().parse().unwrap();
        let until: DateTime<Utc> = list["validUntil"].as_str().unwrap().parse().unwrap();
        assert!(until > Utc::now() && until - from <= chrono::Duration::days(7), "{from} – {until}");
        assert_eq!(list["credentialSubject"]["id"], format!("{url}#list"));
        assert_eq!(list["credentialSubject"]["type"], "BitstringStatusList");
        assert_eq!(list["credentialSubject"]["statusPurpose"], "revocation");
        assert_eq!((bit(&bits, &a_index), bit(&bits, &b_index), ones(&bits)), (0, 0, 0));

        // A demotion below Tier 4 revokes: the list published next shows it.
        let res = app.demote(&manager, &a, "workflow_engineer", &json!({"tier": 3, "reason": "copied work"})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let (_, bits) = verified_list(app, &url).await;
        assert_eq!((bit(&bits, &a_index), bit(&bits, &b_index), ones(&bits)), (1, 0, 1));
        assert_eq!(certificate(app, certs[0]["id"].as_str().unwrap()).await["status"], "revoked");

        // An erasure revokes every certificate of the person.
        assert_eq!(app.erase_user(&admin, b.id).await.status(), StatusCode::NO_CONTENT);
        let (_, bits) = verified_list(app, &url).await;
        assert_eq!((bit(&bits, &a_index), bit(&bits, &b_index), ones(&bits)), (1, 1, 2));

        // Public, and no list is made up.
        let unknown = app.url(&format!("/api/v1/status-lists/{}", Uuid::new_v4()));
        assert_problem(app.status_list(&unknown).await, 404, "not_found").await;
    }

    async fn indexes_are_random_and_unique_and_a_full_list_gives_way_to_a_new_one(app: &TestApp) {
        // A list of 8 bits first (lists are data: a new one has 131,072).
        let small = Uuid::now_v7();
        let small_url = app.url(&format!("/api/v1/status-lists/{small}"));
        app.exec_sql(
            "INSERT INTO status_lists (id, purpose, size, used, url, revision, created_at) \
             VALUES ($1, 'revocation', 8, 0, $2, 0, $3)",
            [small.into(), small_url.as_str().into(), Utc::now().into()],
        )
        .await;
        let ids = old_certificates(app, 20).await;
        // One already revoked before it had an entry: its bit is set.
        app.exec_sql(
            "UPDATE certificates SET status = 'revoked', revoked_at = $1 WHERE id = $2",
            [Utc::now().into(), ids[7].into()],
        )
        .await;
        // Every certificate read twice at once: 40 concurrent readers give
        // out the 20 entries.
        let reads = join_all(ids.iter().chain(ids.iter()).map(|id| async move {
            certificate(app, &id.to_string()).await
        }))
        .await;
        let mut by_list: std::collections::BTreeMap<String, Vec<u32>> = Default::default();
        for (i, cert) in reads[..20].iter().enumerate() {
            assert_eq!(cert["credentialStatus"], reads[20 + i]["credentialStatus"], "one entry per certificate");
            let (url, index) = entry_of(cert);
            by_list.entry(url).or_default().push(index.parse().unwrap());
        }
        assert_eq!(by_list.len(), 2, "{by_list:?}");
        let mut first = by_list.remove(&small_url).expect("the small list filled first");
        first.sort_unstable();
        assert_eq!(first, (0..8).collect::<Vec<u32>>());
        let (next_url, mut next) = by_list.pop_first().unwrap();
        next.sort_unstable();
        next.dedup();
        assert_eq!(next.len(), 12, "unique within the list");
        assert!(next[11] - next[0] > 1000, "spread at random: {next:?}");

        // Concurrent certifications take their own indexes of the open list.
        let admin = app.new_admin().await;
        let manager = app.new_manager().await;
        app.approve_playbook(&admin, "preditor").await;
        let mut talents = Vec::new();
        for _ in 0..3 {
            talents.push(certifiable(app, &manager, "preditor").await);
        }
        let certified = join_all(talents.iter().map(|t| app.certify(&manager, t, "preditor"))).await;
        for res in certified {
            assert_eq!(res.status(), StatusCode::OK);
            let s: Value = res.json().await.unwrap();
            let (url, index) = entry_of(&s["certificate"]);
            assert_eq!(url, next_url);
            next.push(index.parse().unwrap());
        }
        next.sort_unstable();
        next.dedup();
        assert_eq!(next.len(), 15, "unique within the list");

        // The revoked one's bit, wherever it went, and nobody else's.
        let revoked = entry_of(&reads[7]);
        for url in [&small_url, &next_url] {
            let (_, bits) = verified_list(app, url).await;
            if *url == revoked.0 {
                assert_eq!((bit(&bits, &revoked.1), ones(&bits)), (1, 1));
            } else {
                assert_eq!(ones(&bits), 0);
            }
        }
    }

    async fn the_job_gives_older_certificates_their_entries_when_an_instance_starts(app: &TestApp) {
        let talent = app.new_talent().await;
        app.enrol(talent.id, "preditor", 4).await;
        let id = app.give_certificate(talent.id, "preditor").await;
        let export: Value = app.export_me(&talent).await.json().await.unwrap();
        assert_eq!(export["certificates"][0]["credentialStatus"], Value::Null, "{export}");

        // Another instance on the same database: its job's first round.
        let url = app.settings.database_url.clone();
        let backend = if app.settings.is_sqlite() { Backend::Sqlite } else { Backend::Postgres };
        let other = TestApp::spawn_with(backend, move |s| s.database_url = url).await;
        other.after_rounds(Loop::Jobs, 1).await;
        let export: Value = app.export_me(&talent).await.json().await.unwrap();
        let (url, index) = entry_of(&export["certificates"][0]);
        assert_eq!(export["certificates"][0]["id"], json!(id));
        other.stop().await;

        // Its revocation shows in the list.
        let (_, bits) = verified_list(app, &url).await;
        assert_eq!(bit(&bits, &index), 0);
        let manager = app.new_manager().await;
        let res = app.demote(&manager, &talent, "preditor", &json!({"tier": 3, "reason": "left"})).await;
        assert_eq!(res.status(), StatusCode::OK);
        let (_, bits) = verified_list(app, &url).await;
        assert_eq!((bit(&bits, &index), ones(&bits)), (1, 1));
    }
}
