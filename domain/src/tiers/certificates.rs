//! Certificates: reaching Tier 4 issues a credential in the shape of an Open
//! Badges 3.0 / W3C Verifiable Credential, signed as a compact JWS with the
//! service's Ed25519 key (the API holds the key; the domain asks a
//! [`CredentialSigner`]). Anyone verifies one offline with the public keys
//! at `/.well-known/jwks.json`; `GET /certificates/{id}` also says whether
//! it was revoked (a demotion below Tier 4 revokes it, and so does the
//! overturn of the evidence it cites). A certificate re-issued inside a
//! transaction that has no key (the tier code's reaction to a review) is
//! stored with its attestation and signed by the API right after, by the
//! job, or by the first reader (`sign_pending`). Every certificate signed
//! carries its `credentialStatus`, an entry in a status list
//! (`status_lists`).

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DeriveActiveEnum, EnumIter, FromQueryResult};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::attention;
use super::signer::CredentialSigner;
use super::status_lists::{self, CredentialStatus, Revoked, StatusPurpose};
use crate::db;
use crate::error::{DomainError, Result};
use crate::types::Track;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, EnumIter, DeriveActiveEnum,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub enum CertificateStatus {
    Valid,
    Revoked,
}

/// A certificate as anyone may read it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Certificate {
    pub id: Uuid,
    /// `revoked` once the certification was revoked or the talent demoted
    /// below Tier 4.
    pub status: CertificateStatus,
    pub talent_id: Uuid,
    pub track: Track,
    pub tier: i16,
    /// The version of the track's playbook it certified against.
    pub playbook_version: String,
    pub issued_at: DateTime<Utc>,
    #[schema(required = true)]
    pub revoked_at: Option<DateTime<Utc>>,
    /// The `kid` of the key that signed it (in `/.well-known/jwks.json`).
    pub kid: String,
    /// The signed credential: a compact JWS whose payload is the Open
    /// Badges 3.0 credential. Empty for the moment between a re-issue and
    /// its signature, and once the holder's account was erased.
    pub credential: String,
    /// The certificate issued in this one's place when the evidence it
    /// cited was overturned and other accepted work could stand.
    #[schema(required = true)]
    pub replaced_by: Option<Uuid>,
    /// Its entry in a status list, named as in the signed credential (W3C
    /// VC 2.0): the list at `statusListCredential` has bit
    /// `statusListIndex` set once the certificate is revoked. Null only for
    /// a certificate issued before status lists until it is read here or
    /// the job gives it one (its signed credential then stays without it).
    #[serde(rename = "credentialStatus")]
    #[schema(required = true)]
    pub credential_status: Option<CredentialStatus>,
}

/// A certificate's row with its status-list entry, if any.
#[derive(FromQueryResult)]
struct CertificateRow {
    id: Uuid,
    status: CertificateStatus,
    talent_id: Uuid,
    track: Track,
    tier: i16,
    playbook_version: String,
    issued_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    kid: String,
    credential: String,
    replaced_by: Option<Uuid>,
    status_list_url: Option<String>,
    status_purpose: Option<StatusPurpose>,
    status_list_index: Option<i32>,
}

impl From<CertificateRow> for Certificate {
    fn from(r: CertificateRow) -> Self {
        Self {
            id: r.id,
            status: r.status,
            talent_id: r.talent_id,
            track: r.track,
            tier: r.tier,
            playbook_version: r.playbook_version,
            issued_at: r.issued_at,
            revoked_at: r.revoked_at,
            kid: r.kid,
            credential: r.credential,
            replaced_by: r.replaced_by,
            credential_status: CredentialStatus::of_columns(
                r.status_list_url,
                r.status_purpose,
                r.status_list_index,
            ),
        }
    }
}

/// The certificates (`c`) with their entries, for a `WHERE` to follow.
const SELECT: &str = "SELECT c.id, c.status, c.talent_id, c.track, c.tier, c.playbook_version, c.issued_at, \
     c.revoked_at, c.kid, c.credential, c.replaced_by, l.url AS status_list_url, l.purpose AS status_purpose, \
     e.idx AS status_list_index \
     FROM certificates c LEFT JOIN status_list_entries e ON e.certificate_id = c.id \
     LEFT JOIN status_lists l ON l.id = e.list_id";

async fn fetch<C: ConnectionTrait>(
    db: &C,
    filter: &str,
    values: impl IntoIterator<Item = sea_orm::Value>,
) -> Result<Vec<Certificate>> {
    let rows: Vec<CertificateRow> =
        db::fetch_all(db, &format!("{SELECT} {filter}"), values).await?;
    Ok(rows.into_iter().map(Certificate::from).collect())
}

/// A certificate by id; no login needed.
pub async fn get_certificate<C: ConnectionTrait>(db: &C, id: Uuid) -> Result<Certificate> {
    fetch(db, "WHERE c.id = $1", [id.into()])
        .await?
        .pop()
        .ok_or(DomainError::NotFound("certificate"))
}

/// A talent's certificates, valid and revoked, oldest first.
pub async fn certificates_of<C: ConnectionTrait>(db: &C, talent: Uuid) -> Result<Vec<Certificate>> {
    fetch(
        db,
        "WHERE c.talent_id = $1 ORDER BY c.issued_at, c.id",
        [talent.into()],
    )
    .await
}

/// The valid certificate of a talent in a track, if any.
pub async fn valid_certificate<C: ConnectionTrait>(
    db: &C,
    talent: Uuid,
    track: Track,
) -> Result<Option<Certificate>> {
    Ok(fetch(
        db,
        "WHERE c.talent_id = $1 AND c.track = $2 AND c.status = 'valid'",
        [talent.into(), track.into()],
    )
    .await?
    .pop())
}

/// What a certificate attests, for its credential.
pub(crate) struct Attestation<'a> {
    pub id: Uuid,
    pub talent: Uuid,
    pub talent_name: &'a str,
    pub track: Track,
    pub track_name: &'a str,
    pub playbook_title: &'a str,
    pub playbook_url: &'a str,
    pub playbook_version: &'a str,
    pub challenge_title: &'a str,
    pub score: f64,
    pub issued_at: DateTime<Utc>,
    /// Its entry in a status list.
    pub status: &'a CredentialStatus,
}

/// The credential's payload: an Open Badges 3.0 `OpenBadgeCredential`
/// (W3C VC 2.0 shape) with its `credentialStatus`, plus the JWT claims `iss`, `sub`, `jti`, `iat`,
/// `nbf` that JOSE libraries check.
pub(crate) fn credential(a: &Attestation, issuer: (String, String)) -> serde_json::Value {
    let subject = format!("urn:uuid:{}", a.talent);
    let id = format!("urn:uuid:{}", a.id);
    serde_json::json!({
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
        ],
        "id": id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": { "id": issuer.0, "type": ["Profile"], "name": issuer.1 },
        "validFrom": a.issued_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "name": format!("Certified {} (Tier 4)", a.track_name),
        "credentialSubject": {
            "id": subject,
            "type": ["AchievementSubject"],
            "name": a.talent_name,
            "achievement": {
                "id": format!("urn:kartel:achievement:{}:tier-4", a.track.as_str()),
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": format!("Certified {}", a.track_name),
                "description": format!("Tier 4 (Certified) in the {} track of the Kartel community.", a.track_name),
                "criteria": {
                    "id": a.playbook_url,
                    "narrative": format!(
                        "Met the Tier 3 requirements of the {track} track, passed its certification challenge \
                         \"{challenge}\" (score {score:.1}) and was certified by a community manager against \
                         the playbook \"{title}\", version {version}.",
                        track = a.track_name,
                        challenge = a.challenge_title,
                        score = a.score,
                        title = a.playbook_title,
                        version = a.playbook_version,
                    )
                },
                "tag": [a.track.as_str(), "tier-4"],
                "version": a.playbook_version
            },
            "track": a.track.as_str(),
            "tier": 4
        },
        "credentialStatus": a.status,
        "iss": issuer.0,
        "sub": subject,
        "jti": id,
        "iat": a.issued_at.timestamp(),
        "nbf": a.issued_at.timestamp()
    })
}

/// Revokes the talent's valid certificate in `track`, if any; its id. The
/// talent leaves the attention list of the track (an admin decided).
pub(crate) async fn revoke<C: ConnectionTrait>(
    tx: &C,
    talent: Uuid,
    track: Track,
    reason: &str,
) -> Result<Option<Uuid>> {
    let Some(cert) = valid_certificate(tx, talent, track).await? else {
        return Ok(None);
    };
    db::execute(
        tx,
        "UPDATE certificates SET status = 'revoked', revoked_at = $1, revoked_reason = $2 \
         WHERE id = $3 AND status = 'valid'",
        [crate::now().into(), reason.into(), cert.id.into()],
    )
    .await?;
    status_lists::revoked(tx, Revoked::Certificate(cert.id)).await?;
    attention::clear(tx, talent, Some(track), "certificate_revoked").await?;
    Ok(Some(cert.id))
}

/// What a certificate issued without the key attests, stored until it is
/// signed (the holder's name as it was at the re-issue).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingAttestation {
    pub talent_name: String,
    pub track_name: String,
    pub playbook_title: String,
    pub playbook_url: String,
    pub playbook_version: String,
    pub challenge_title: String,
    pub score: f64,
}

#[derive(FromQueryResult)]
struct Pending {
    id: Uuid,
    talent_id: Uuid,
    track: Track,
    issued_at: DateTime<Utc>,
    pending_attestation: serde_json::Value,
}

/// Signs the certificates that wait for a signature (`only` that one, or
/// up to 100 of the oldest), each given its status-list entry first, in a
/// transaction of its own; how many it signed. The signature is one
/// guarded update (`pending_attestation IS NOT NULL`), so of two instances
/// signing one certificate, one writes (and the other's entry is the same
/// one, or rolled back); an erasure in between (which drops the
/// attestation) wins.
pub async fn sign_pending(
    db: &DatabaseConnection,
    signer: &dyn CredentialSigner,
    only: Option<Uuid>,
) -> Result<u64> {
    let mut b = db::SqlBuilder::new(
        "SELECT id, talent_id, track, issued_at, pending_attestation FROM certificates \
         WHERE pending_attestation IS NOT NULL",
    );
    if let Some(id) = only {
        let p = b.bind(id);
        b.push(&format!(" AND id = {p}"));
    }
    b.push(" ORDER BY issued_at LIMIT 100");
    let rows: Vec<Pending> = db::fetch_all(db, &b.sql, b.values).await?;
    let mut signed = 0;
    for row in rows {
        let a: PendingAttestation = serde_json::from_value(row.pending_attestation)
            .map_err(|_| DomainError::bug("a pending attestation that does not decode"))?;
        let tx = db::begin_write(db).await?;
        let status = status_lists::assign(&tx, signer, row.id).await?;
        let claims = credential(
            &Attestation {
                id: row.id,
                talent: row.talent_id,
                talent_name: &a.talent_name,
                track: row.track,
                track_name: &a.track_name,
                playbook_title: &a.playbook_title,
                playbook_url: &a.playbook_url,
                playbook_version: &a.playbook_version,
                challenge_title: &a.challenge_title,
                score: a.score,
                issued_at: row.issued_at,
                status: &status,
            },
            signer.issuer(),
        );
        let (kid, jws) = signer.sign(&claims).map_err(DomainError::Internal)?;
        let written = db::execute(
            &tx,
            "UPDATE certificates SET kid = $1, credential = $2, pending_attestation = NULL \
             WHERE id = $3 AND pending_attestation IS NOT NULL",
            [kid.into(), jws.into(), row.id.into()],
        )
        .await?;
        if written == 1 {
            tx.commit().await?;
            signed += 1;
        }
    }
    Ok(signed)
}
