//! A status list as verifiers read it: a `BitstringStatusListCredential`
//! (W3C VC 2.0 shape, Bitstring Status List v1.0) signed as a compact JWS
//! with the current key, valid for [`VALID_FOR`]. The signed credential is
//! kept on the list's row and served as is until the list changes (a
//! revocation moved its `revision`), the key rotates, or a day of its
//! validity has passed; then the next reader (or the job) signs it again
//! from the certificates' statuses as they are.

use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ConnectionTrait, FromQueryResult};
use uuid::Uuid;

use super::signer::CredentialSigner;
use super::status_lists::StatusPurpose;
use crate::db;
use crate::error::{DomainError, Result};

/// The fewest bits a published list has, whatever its size: the
/// specification's minimum (16 KiB), for the holders' privacy.
const MIN_BITS: usize = 131_072;

/// How long a signed list is valid (`validUntil` − `validFrom`).
pub const VALID_FOR: Duration = Duration::days(7);

/// How old a signed list may be before it is signed again, changed or not,
/// so a reader always gets at least six days of validity.
const RESIGN_AFTER: Duration = Duration::days(1);

/// How long a verifier may keep a fetched list (the credential's `ttl` and
/// the answer's `Cache-Control: max-age`), in seconds.
pub const TTL_SECONDS: u32 = 300;

/// A list and what its stored credential shows.
#[derive(Debug, FromQueryResult)]
struct ListRow {
    id: Uuid,
    purpose: StatusPurpose,
    size: i32,
    url: String,
    revision: i64,
    credential: Option<String>,
    kid: Option<String>,
    signed_revision: Option<i64>,
    valid_until: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, purpose, size, url, revision, credential, kid, signed_revision, valid_until";

impl ListRow {
    /// The stored credential, while it shows this revision, is signed by
    /// the current key and was signed less than a day ago.
    fn fresh(&self, kid: &str, now: DateTime<Utc>) -> Option<&str> {
        let current = self.signed_revision == Some(self.revision)
            && self.kid.as_deref() == Some(kid)
            && self
                .valid_until
                .is_some_and(|until| until - VALID_FOR + RESIGN_AFTER > now);
        self.credential.as_deref().filter(|_| current)
    }
}

/// The signed status list `id` (a compact JWS), signed again first when
/// the stored one is stale. Public: anyone verifies a certificate with it.
pub async fn status_list_credential<C: ConnectionTrait>(
    db: &C,
    signer: &dyn CredentialSigner,
    id: Uuid,
) -> Result<String> {
    let row: ListRow = db::fetch_one(
        db,
        &format!("SELECT {COLUMNS} FROM status_lists WHERE id = $1"),
        [id.into()],
    )
    .await?
    .ok_or(DomainError::NotFound("status list"))?;
    match row.fresh(&signer.kid(), crate::now()) {
        Some(jws) => Ok(jws.to_owned()),
        None => publish(db, signer, &row).await,
    }
}

/// Signs again every list whose stored credential is stale (the job, so
/// that readers seldom wait for a signature); how many it signed.
pub async fn republish_lists<C: ConnectionTrait>(
    db: &C,
    signer: &dyn CredentialSigner,
) -> Result<u64> {
    let now = crate::now();
    let rows: Vec<ListRow> = db::fetch_all(
        db,
        &format!(
            "SELECT {COLUMNS} FROM status_lists WHERE credential IS NULL OR signed_revision IS NULL \
             OR signed_revision <> revision OR kid IS NULL OR kid <> $1 OR valid_until IS NULL OR valid_until < $2 \
             ORDER BY id"
        ),
        [signer.kid().into(), (now + VALID_FOR - RESIGN_AFTER).into()],
    )
    .await?;
    let mut signed = 0;
    for row in rows {
        publish(db, signer, &row).await?;
        signed += 1;
    }
    Ok(signed)
}

#[derive(FromQueryResult)]
struct Revoked {
    idx: i32,
}

/// Signs `row`'s list as the certificates stand now and stores it, unless
/// a credential showing a later revision was stored meanwhile; the JWS.
///
/// The revision was read before the bits: a revocation committed after
/// that read has moved the revision past the one stored here, so the list
/// is signed again on the next read even if these bits already show it.
async fn publish<C: ConnectionTrait>(
    db: &C,
    signer: &dyn CredentialSigner,
    row: &ListRow,
) -> Result<String> {
    let revoked: Vec<Revoked> = match row.purpose {
        StatusPurpose::Revocation => {
            db::fetch_all(
                db,
                "SELECT e.idx FROM status_list_entries e JOIN certificates c ON c.id = e.certificate_id \
                 WHERE e.list_id = $1 AND c.status = 'revoked'",
                [row.id.into()],
            )
            .await?
        }
    };
    let size =
        usize::try_from(row.size).map_err(|_| DomainError::bug("a list of negative size"))?;
    let bits = bitstring(
        size,
        revoked.iter().filter_map(|r| usize::try_from(r.idx).ok()),
    );
    let from = crate::now();
    let until = from + VALID_FOR;
    let claims = credential(
        row,
        &encoded_list(&bits).map_err(DomainError::Internal)?,
        &signer.issuer().0,
        from,
        until,
    );
    let (kid, jws) = signer.sign(&claims).map_err(DomainError::Internal)?;
    db::execute(
        db,
        "UPDATE status_lists SET credential = $1, kid = $2, signed_revision = $3, valid_until = $4 \
         WHERE id = $5 AND (signed_revision IS NULL OR signed_revision <= $3)",
        [
            jws.as_str().into(),
            kid.into(),
            row.revision.into(),
            until.into(),
            row.id.into(),
        ],
    )
    .await?;
    Ok(jws)
}

/// The list's bits: at least [`MIN_BITS`], index 0 the first byte's most
/// significant bit; `set` are the indexes whose bit is 1.
fn bitstring(size: usize, set: impl IntoIterator<Item = usize>) -> Vec<u8> {
    let mut bytes = vec![0u8; size.max(MIN_BITS).div_ceil(8)];
    for i in set {
        if let Some(byte) = bytes.get_mut(i / 8) {
            *byte |= 0x80 >> (i % 8);
        }
    }
    bytes
}

/// `encodedList`: the GZIP-compressed bits, base64url without padding,
/// with the multibase prefix `u`.
fn encoded_list(bits: &[u8]) -> anyhow::Result<String> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bits)?;
    Ok(format!("u{}", URL_SAFE_NO_PAD.encode(gz.finish()?)))
}

/// The credential's payload: a `BitstringStatusListCredential`, plus the
/// JWT claims `iss`, `jti`, `iat`, `nbf` and `exp` that JOSE libraries
/// check.
fn credential(
    row: &ListRow,
    encoded: &str,
    issuer: &str,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> serde_json::Value {
    let time = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    serde_json::json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": row.url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": time(from),
        "validUntil": time(until),
        "credentialSubject": {
            "id": format!("{}#list", row.url),
            "type": "BitstringStatusList",
            "statusPurpose": row.purpose.as_str(),
            "encodedList": encoded,
            "ttl": u64::from(TTL_SECONDS) * 1000
        },
        "iss": issuer,
        "jti": row.url,
        "iat": from.timestamp(),
        "nbf": from.timestamp(),
        "exp": until.timestamp()
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn decode(encoded: &str) -> Vec<u8> {
        let gz = URL_SAFE_NO_PAD
            .decode(encoded.strip_prefix('u').expect("multibase u"))
            .expect("base64url");
        let mut bits = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut bits)
            .expect("gzip");
        bits
    }

    #[test]
    fn index_zero_is_the_first_bytes_most_significant_bit() {
        let bits = bitstring(16, [0, 9, 15]);
        assert_eq!(bits.len(), MIN_BITS / 8, "padded to the minimum");
        assert_eq!(&bits[..2], &[0b1000_0000, 0b0100_0001]);
        assert!(bits[2..].iter().all(|b| *b == 0));
        // Past the end: ignored, not a panic.
        assert_eq!(bitstring(8, [MIN_BITS + 1]), vec![0; MIN_BITS / 8]);
        let big = bitstring(MIN_BITS * 2, [MIN_BITS * 2 - 1]);
        assert_eq!((big.len(), big[big.len() - 1]), (MIN_BITS / 4, 1));
    }

    #[test]
    fn the_encoded_list_is_multibase_base64url_of_gzip() {
        let bits = bitstring(MIN_BITS, [3, 131_071]);
        let encoded = encoded_list(&bits).expect("encodes");
        assert!(
            encoded.starts_with('u') && !encoded.contains('='),
            "{encoded}"
        );
        assert_eq!(decode(&encoded), bits);
        // Sixteen KiB of almost nothing compress to little.
        assert!(encoded.len() < 200, "{}", encoded.len());
    }

    #[test]
    fn a_stored_list_is_served_while_current() {
        let now = crate::now();
        let row = |revision, signed, kid: &str, until| ListRow {
            id: Uuid::nil(),
            purpose: StatusPurpose::Revocation,
            size: 8,
            url: "https://x.example/l".into(),
            revision,
            credential: Some("jws".into()),
            kid: Some(kid.into()),
            signed_revision: Some(signed),
            valid_until: Some(until),
        };
        assert_eq!(row(2, 2, "k", now + VALID_FOR).fresh("k", now), Some("jws"));
        assert_eq!(
            row(3, 2, "k", now + VALID_FOR).fresh("k", now),
            None,
            "changed"
        );
        assert_eq!(
            row(2, 2, "old", now + VALID_FOR).fresh("k", now),
            None,
            "rotated"
        );
        let aged = now + VALID_FOR - RESIGN_AFTER;
        assert_eq!(row(2, 2, "k", aged).fresh("k", now), None, "a day old");
    }
}
