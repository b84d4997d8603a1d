//! Certificate status lists (W3C Bitstring Status List v1.0, as Open Badges
//! 3.0 uses): every certificate has an entry, a random free index in a list
//! of [`LIST_SIZE`] bits, and the list's bit there says whether it was
//! revoked. The bit is the certificate's own status, read when the list is
//! signed (`status_list_credential`): a revocation marks the list changed
//! (`revision`) in the revoking transaction, so the list published next
//! shows it, and the bit and the status can never disagree.
//!
//! An entry is given when a certificate is signed (certification, or the
//! signature of a re-issue), so the signed credential carries its
//! `credentialStatus`; certificates issued before status lists get one when
//! read (`GET /certificates/{id}`) or by the job (`give_entries`), in the
//! API's JSON only (their signed credential stays as issued).

use sea_orm::{
    ConnectionTrait, DatabaseConnection, DbBackend, DeriveActiveEnum, EnumIter, FromQueryResult,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::signer::CredentialSigner;
use crate::db;
use crate::error::{DomainError, Result};
use crate::{new_id, now};

/// Bits in a new list: the specification's minimum (16 KiB), large enough
/// that a list says little about any one holder.
pub const LIST_SIZE: i32 = 131_072;

/// Random picks of an index before looking among the ones left.
const RANDOM_TRIES: usize = 16;

/// What a list's bits say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text", rename_all = "snake_case")]
pub(super) enum StatusPurpose {
    /// Set once the certificate was revoked; never cleared.
    Revocation,
}

impl StatusPurpose {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Revocation => "revocation",
        }
    }
}

/// A certificate's entry in a status list, as its credential carries it
/// (a `BitstringStatusListEntry`). Fetch the list at
/// `statusListCredential`, verify it with the JWKS and read the bit at
/// `statusListIndex`: 1 means revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialStatus {
    /// `<statusListCredential>#<statusListIndex>`.
    pub id: String,
    /// Always `BitstringStatusListEntry`.
    #[serde(rename = "type")]
    #[schema(example = "BitstringStatusListEntry")]
    pub kind: String,
    /// Always `revocation`: the bit is 1 once the certificate was revoked.
    #[schema(example = "revocation")]
    pub status_purpose: String,
    /// The bit's index in the list: a base-10 integer written as a string,
    /// as the specification has it. Index 0 is the most significant bit of
    /// the list's first byte.
    #[schema(example = "94567")]
    pub status_list_index: String,
    /// The URL of the list's signed `BitstringStatusListCredential`
    /// (`GET /api/v1/status-lists/{id}`, public).
    pub status_list_credential: String,
}

impl CredentialStatus {
    fn new(url: &str, purpose: StatusPurpose, index: i32) -> Self {
        Self {
            id: format!("{url}#{index}"),
            kind: "BitstringStatusListEntry".to_owned(),
            status_purpose: purpose.as_str().to_owned(),
            status_list_index: index.to_string(),
            status_list_credential: url.to_owned(),
        }
    }

    /// From the entry's columns read beside a certificate (all or none).
    pub(super) fn of_columns(
        url: Option<String>,
        purpose: Option<StatusPurpose>,
        index: Option<i32>,
    ) -> Option<Self> {
        let (Some(url), Some(purpose), Some(index)) = (url, purpose, index) else {
            return None;
        };
        Some(Self::new(&url, purpose, index))
    }
}

#[derive(FromQueryResult)]
struct EntryRow {
    url: String,
    purpose: StatusPurpose,
    idx: i32,
}

/// The certificate's entry, if it has one.
async fn entry_of<C: ConnectionTrait>(
    db: &C,
    certificate: Uuid,
) -> Result<Option<CredentialStatus>> {
    let row: Option<EntryRow> = db::fetch_one(
        db,
        "SELECT l.url, l.purpose, e.idx FROM status_list_entries e JOIN status_lists l ON l.id = e.list_id \
         WHERE e.certificate_id = $1",
        [certificate.into()],
    )
    .await?;
    Ok(row.map(|r| CredentialStatus::new(&r.url, r.purpose, r.idx)))
}

#[derive(FromQueryResult)]
struct OpenList {
    id: Uuid,
    size: i32,
    /// As read before taking a place (others may have taken some since).
    used: i32,
    url: String,
}

impl OpenList {
    /// Fewer than a quarter of its indexes free: a random pick would mostly
    /// land on a taken one.
    fn crowded(&self) -> bool {
        (i64::from(self.size) - i64::from(self.used)) * 4 < i64::from(self.size)
    }
}

/// The certificate's entry, given one first when it has none: a random
/// free index of the oldest list with room, or of a new list when every
/// one is full. The list's `used` is a guarded counter (`used < size`), so
/// a list never gives out more entries than it has bits; on PostgreSQL it
/// also makes the issuers of one list take turns until they commit, and
/// the primary key (list, index) with `ON CONFLICT DO NOTHING` keeps an
/// index to one certificate whatever happens. Run it in a writing
/// transaction.
pub(super) async fn assign<C: ConnectionTrait>(
    tx: &C,
    signer: &dyn CredentialSigner,
    certificate: Uuid,
) -> Result<CredentialStatus> {
    if let Some(status) = entry_of(tx, certificate).await? {
        return Ok(status);
    }
    loop {
        let list = match open_list(tx).await? {
            Some(list) => list,
            None => new_list(tx, signer).await?,
        };
        // A place in the list (it may have filled meanwhile: then the
        // next). Giving an entry to a certificate already revoked changes
        // what the list says.
        let reserved = db::execute(
            tx,
            "UPDATE status_lists SET used = used + 1, revision = revision + \
               CASE WHEN EXISTS (SELECT 1 FROM certificates WHERE id = $2 AND status = 'revoked') THEN 1 ELSE 0 END \
             WHERE id = $1 AND used < size",
            [list.id.into(), certificate.into()],
        )
        .await?;
        if reserved == 0 {
            continue;
        }
        if let Some(index) = take_index(tx, &list, certificate).await? {
            return Ok(CredentialStatus::new(
                &list.url,
                StatusPurpose::Revocation,
                index,
            ));
        }
        // Another transaction gave it one first: the place goes back.
        db::execute(
            tx,
            "UPDATE status_lists SET used = used - 1 WHERE id = $1",
            [list.id.into()],
        )
        .await?;
        return entry_of(tx, certificate)
            .await?
            .ok_or_else(|| DomainError::bug("an entry that was taken is not there"));
    }
}

/// The oldest revocation list with room.
async fn open_list<C: ConnectionTrait>(tx: &C) -> Result<Option<OpenList>> {
    Ok(db::fetch_one(
        tx,
        "SELECT id, size, used, url FROM status_lists WHERE purpose = 'revocation' AND used < size \
         ORDER BY created_at, id LIMIT 1",
        [],
    )
    .await?)
}

/// Starts a list of [`LIST_SIZE`] bits. Starting one takes turns on
/// PostgreSQL (a transaction-scoped advisory lock, then a second look), so
/// issuers that found every list full start one list between them, not one
/// each; SQLite's writers take turns anyway.
async fn new_list<C: ConnectionTrait>(tx: &C, signer: &dyn CredentialSigner) -> Result<OpenList> {
    if tx.get_database_backend() == DbBackend::Postgres {
        db::execute(
            tx,
            "SELECT pg_advisory_xact_lock(hashtextextended('status_lists.new', 0))",
            [],
        )
        .await?;
        if let Some(list) = open_list(tx).await? {
            return Ok(list);
        }
    }
    let id = new_id();
    let url = signer.status_list_url(id);
    db::execute(
        tx,
        "INSERT INTO status_lists (id, purpose, size, used, url, revision, created_at) \
         VALUES ($1, $2, $3, 0, $4, 0, $5)",
        [
            id.into(),
            StatusPurpose::Revocation.as_str().into(),
            LIST_SIZE.into(),
            url.as_str().into(),
            now().into(),
        ],
    )
    .await?;
    Ok(OpenList {
        id,
        size: LIST_SIZE,
        used: 0,
        url,
    })
}

#[derive(FromQueryResult)]
struct Index {
    idx: i32,
}

/// A free index of `list` for `certificate` (the caller holds a place in
/// the list): random picks while at least a quarter is free, then (or
/// when every pick was taken) a random one of those left. `None` when the
/// certificate has been given an entry by another transaction.
async fn take_index<C: ConnectionTrait>(
    tx: &C,
    list: &OpenList,
    certificate: Uuid,
) -> Result<Option<i32>> {
    let tries = if list.crowded() { 0 } else { RANDOM_TRIES };
    for _ in 0..tries {
        let index = random_below(list.size)?;
        match insert_entry(tx, list.id, index, certificate).await? {
            Insert::Done => return Ok(Some(index)),
            Insert::CertificateHasOne => return Ok(None),
            Insert::IndexTaken => {}
        }
    }
    // A random one of the free indexes. The place held in the list's
    // counter means one is free.
    for _ in 0..RANDOM_TRIES {
        let taken: Vec<Index> = db::fetch_all(
            tx,
            "SELECT idx FROM status_list_entries WHERE list_id = $1",
            [list.id.into()],
        )
        .await?;
        let mut free = vec![true; usize::try_from(list.size).unwrap_or(0)];
        for t in taken {
            if let Some(slot) = usize::try_from(t.idx).ok().and_then(|i| free.get_mut(i)) {
                *slot = false;
            }
        }
        let free: Vec<i32> = (0..list.size)
            .zip(free)
            .filter_map(|(i, f)| f.then_some(i))
            .collect();
        let Some(n) = i32::try_from(free.len()).ok().filter(|n| *n > 0) else {
            return Err(DomainError::bug(
                "a status list with a place but no free index",
            ));
        };
        let index = free[usize::try_from(random_below(n)?).unwrap_or(0)];
        match insert_entry(tx, list.id, index, certificate).await? {
            Insert::Done => return Ok(Some(index)),
            Insert::CertificateHasOne => return Ok(None),
            Insert::IndexTaken => {}
        }
    }
    Err(DomainError::bug(
        "no free index found in a status list with room",
    ))
}

enum Insert {
    Done,
    IndexTaken,
    CertificateHasOne,
}

async fn insert_entry<C: ConnectionTrait>(
    tx: &C,
    list: Uuid,
    index: i32,
    certificate: Uuid,
) -> Result<Insert> {
    let inserted = db::execute(
        tx,
        "INSERT INTO status_list_entries (list_id, idx, certificate_id) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
        [list.into(), index.into(), certificate.into()],
    )
    .await?;
    if inserted == 1 {
        return Ok(Insert::Done);
    }
    Ok(if entry_of(tx, certificate).await?.is_some() {
        Insert::CertificateHasOne
    } else {
        Insert::IndexTaken
    })
}

/// A uniformly random number in `0..n` (`n` > 0; exact for a power of two
/// such as [`LIST_SIZE`]).
fn random_below(n: i32) -> Result<i32> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let n = u64::try_from(n).map_err(|_| DomainError::bug("a list of no size"))?;
    i32::try_from(u64::from_le_bytes(bytes) % n.max(1))
        .map_err(|_| DomainError::bug("an index out of range"))
}

/// Whose certificates were revoked.
pub(crate) enum Revoked {
    Certificate(Uuid),
    /// Every certificate of a talent (an erasure).
    AllOf(Uuid),
}

#[derive(FromQueryResult)]
struct ListId {
    list_id: Uuid,
}

/// Marks the lists holding the revoked certificates' entries changed, in
/// the revoking transaction: the next read or the job signs the list
/// again, with the bits as of then. Lists are taken in id order, so two
/// erasures never wait for each other in a circle.
pub(crate) async fn revoked<C: ConnectionTrait>(tx: &C, which: Revoked) -> Result<()> {
    let (filter, id) = match which {
        Revoked::Certificate(id) => ("c.id = $1", id),
        Revoked::AllOf(talent) => ("c.talent_id = $1", talent),
    };
    let lists: Vec<ListId> = db::fetch_all(
        tx,
        &format!(
            "SELECT DISTINCT e.list_id FROM status_list_entries e JOIN certificates c ON c.id = e.certificate_id \
             WHERE {filter} ORDER BY e.list_id"
        ),
        [id.into()],
    )
    .await?;
    for l in lists {
        db::execute(
            tx,
            "UPDATE status_lists SET revision = revision + 1 WHERE id = $1",
            [l.list_id.into()],
        )
        .await?;
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct Unlisted {
    id: Uuid,
}

/// Gives an entry to certificates issued before status lists (`only` that
/// one, or up to `limit` of the oldest), each in a transaction of its own;
/// how many it gave. Safe beside another instance doing the same: a
/// certificate keeps the first entry it was given.
pub async fn give_entries(
    db: &DatabaseConnection,
    signer: &dyn CredentialSigner,
    only: Option<Uuid>,
    limit: u64,
) -> Result<u64> {
    let mut b = db::SqlBuilder::new(
        "SELECT c.id FROM certificates c WHERE NOT EXISTS \
         (SELECT 1 FROM status_list_entries e WHERE e.certificate_id = c.id)",
    );
    if let Some(id) = only {
        let p = b.bind(id);
        b.push(&format!(" AND c.id = {p}"));
    }
    let p = b.bind(i64::try_from(limit).unwrap_or(i64::MAX));
    b.push(&format!(" ORDER BY c.issued_at, c.id LIMIT {p}"));
    let rows: Vec<Unlisted> = db::fetch_all(db, &b.sql, b.values).await?;
    let mut given = 0;
    for row in rows {
        let tx = db::begin_write(db).await?;
        assign(&tx, signer, row.id).await?;
        tx.commit().await?;
        given += 1;
    }
    Ok(given)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_is_crowded_with_less_than_a_quarter_free() {
        let list = |size, used| OpenList {
            id: Uuid::nil(),
            size,
            used,
            url: String::new(),
        };
        assert!(!list(8, 6).crowded());
        assert!(list(8, 7).crowded());
        assert!(!list(LIST_SIZE, LIST_SIZE / 4 * 3).crowded());
        assert!(list(LIST_SIZE, LIST_SIZE / 4 * 3 + 1).crowded());
        assert!(!list(LIST_SIZE, 0).crowded());
    }

    #[test]
    fn random_indexes_stay_in_range() {
        for _ in 0..1000 {
            let i = random_below(8).expect("random");
            assert!((0..8).contains(&i));
        }
        assert_eq!(random_below(1).expect("random"), 0);
    }
}
