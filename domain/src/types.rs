//! Newtypes that parse: once a value has one of these types it is valid, so
//! the rest of the domain never sees an unchecked email, handle or amount.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use crate::enums::{Track, UserStatus};
use crate::error::FieldError;

type Parsed<T> = Result<T, FieldError>;

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// A normalised (trimmed, lower-case) email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Parsed<Self> {
        let s = raw.trim().to_lowercase();
        let err = |m: &str| Err(FieldError::new(field, m));
        if s.is_empty() {
            return err("is required");
        }
        // Characters, as the documented `maxLength` counts them.
        if s.chars().count() > 254 {
            return err("must be at most 254 characters");
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return err("must not contain spaces");
        }
        let Some((local, domain)) = s.split_once('@') else {
            return err("must be an email address like name@example.com");
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.chars().count() > 64 || !domain_ok {
            return err("must be an email address like name@example.com");
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A public handle: 3–32 of a–z, 0–9 and `_`, starting with a letter; stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle(String);

impl Handle {
    pub fn parse(field: &str, raw: &str) -> Parsed<Self> {
        let s = raw.trim().to_lowercase();
        let n = s.chars().count();
        if !(3..=32).contains(&n) {
            return Err(FieldError::new(field, "must be 3 to 32 characters"));
        }
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase());
        if !first_ok
            || !s
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(FieldError::new(
                field,
                "must start with a letter and contain only letters, digits and underscores",
            ));
        }
        Ok(Self(s))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A display name: 1–80 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(field: &str, raw: &str) -> Parsed<Self> {
        let s = raw.trim();
        let n = s.chars().count();
        if n == 0 {
            return Err(FieldError::new(field, "is required"));
        }
        if n > 80 {
            return Err(FieldError::new(field, "must be at most 80 characters"));
        }
        if has_control(s) {
            return Err(FieldError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Free text with a length bound (bios, reasons, purposes); trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    pub fn parse(field: &str, raw: &str, min: usize, max: usize) -> Parsed<Self> {
        let s = raw.trim();
        let n = s.chars().count();
        if n < min {
            return Err(FieldError::new(
                field,
                if min <= 1 {
                    "is required".to_owned()
                } else {
                    format!("must be at least {min} characters")
                },
            ));
        }
        if n > max {
            return Err(FieldError::new(
                field,
                format!("must be at most {max} characters"),
            ));
        }
        if s.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
        {
            return Err(FieldError::new(
                field,
                "must not contain control characters",
            ));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn into_string(self) -> String {
        self.0
    }
}

/// An asset or reference link: an absolute http(s) URL of at most 2,048
/// characters, without spaces or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Url(String);

impl Url {
    pub const MAX: usize = 2048;
    pub fn parse(field: &str, raw: &str) -> Parsed<Self> {
        let s = raw.trim();
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"));
        let host_ok = rest.is_some_and(|r| {
            let host = r.split(['/', '?', '#']).next().unwrap_or_default();
            !host.is_empty()
        });
        if !host_ok {
            return Err(FieldError::new(field, "must be an http:// or https:// URL"));
        }
        if s.chars().count() > Self::MAX {
            return Err(FieldError::new(
                field,
                format!("must be at most {} characters", Self::MAX),
            ));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(FieldError::new(field, "must not contain spaces"));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new password: 10–128 characters, not only spaces. Never trimmed.
#[derive(Clone)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl Password {
    pub const MIN: usize = 10;
    pub const MAX: usize = 128;
    pub fn parse(field: &str, raw: &str) -> Parsed<Self> {
        let n = raw.chars().count();
        if n < Self::MIN {
            return Err(FieldError::new(
                field,
                format!("must be at least {} characters", Self::MIN),
            ));
        }
        if n > Self::MAX {
            return Err(FieldError::new(
                field,
                format!("must be at most {} characters", Self::MAX),
            ));
        }
        if raw.trim().is_empty() {
            return Err(FieldError::new(field, "must not be only spaces"));
        }
        Ok(Self(raw.to_owned()))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Talent,
    CommunityManager,
    GenerativeLead,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Talent,
        Role::CommunityManager,
        Role::GenerativeLead,
        Role::Admin,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Talent => "talent",
            Role::CommunityManager => "community_manager",
            Role::GenerativeLead => "generative_lead",
            Role::Admin => "admin",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A set of roles, sorted and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Roles(Vec<Role>);

impl Roles {
    pub fn new(mut roles: Vec<Role>) -> Self {
        roles.sort();
        roles.dedup();
        Self(roles)
    }
    pub fn talent() -> Self {
        Self(vec![Role::Talent])
    }
    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }
    pub fn as_slice(&self) -> &[Role] {
        &self.0
    }
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Array(self.0.iter().map(|r| r.as_str().into()).collect())
    }
    /// Reads the stored form. A name this version does not know is a decode
    /// error: nobody signs in on a row the code cannot read.
    pub fn decode(v: &serde_json::Value) -> Result<Self, crate::DomainError> {
        decode_names(v, "role", Role::parse).map(Self::new)
    }
}

/// What a service API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum Scope {
    /// Reserve, capture and release credits for generation runs.
    #[serde(rename = "credits:hold")]
    CreditsHold,
    /// Spend credits directly.
    #[serde(rename = "credits:spend")]
    CreditsSpend,
    /// Read the events (`GET /api/v1/events`), as webhooks would send them.
    #[serde(rename = "events:read")]
    EventsRead,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::CreditsHold, Scope::CreditsSpend, Scope::EventsRead];
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreditsHold => "credits:hold",
            Self::CreditsSpend => "credits:spend",
            Self::EventsRead => "events:read",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
    /// Reads a stored list of scopes; an unknown one is a decode error.
    pub fn decode_all(v: &serde_json::Value) -> Result<Vec<Self>, crate::DomainError> {
        decode_names(v, "scope", Self::parse)
    }
}

/// A stored JSON array of names, each of which must parse.
fn decode_names<T>(
    v: &serde_json::Value,
    what: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>, crate::DomainError> {
    let bad =
        || crate::DomainError::Internal(anyhow::anyhow!("unreadable stored {what} list: {v}"));
    v.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|x| x.as_str().and_then(&parse).ok_or_else(bad))
        .collect()
}

/// A tier: 0 (not enrolled, or enrolled without Tier 1 yet) to 5. Written once
/// here; a stored value outside the range is a decode error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "i16", try_from = "i16")]
pub struct Tier(i16);

impl From<Tier> for i16 {
    fn from(t: Tier) -> i16 {
        t.0
    }
}

impl TryFrom<i16> for Tier {
    type Error = String;
    fn try_from(raw: i16) -> Result<Self, String> {
        Self::new(raw).ok_or_else(|| format!("tier {raw} is outside 0-5"))
    }
}

impl Tier {
    pub const MIN: i16 = 0;
    pub const MAX: i16 = 5;
    pub const ZERO: Tier = Tier(0);
    pub fn new(raw: i16) -> Option<Self> {
        (Self::MIN..=Self::MAX).contains(&raw).then_some(Self(raw))
    }
    pub fn parse(field: &str, raw: i64) -> Parsed<Self> {
        i16::try_from(raw).ok().and_then(Self::new).ok_or_else(|| {
            FieldError::new(
                field,
                format!("must be between {} and {}", Self::MIN, Self::MAX),
            )
        })
    }
    pub fn get(self) -> i16 {
        self.0
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl From<Tier> for sea_orm::Value {
    fn from(t: Tier) -> Self {
        t.0.into()
    }
}

impl sea_orm::TryGetable for Tier {
    fn try_get_by<I: sea_orm::ColIdx>(
        res: &sea_orm::QueryResult,
        idx: I,
    ) -> Result<Self, sea_orm::TryGetError> {
        let raw = i16::try_get_by(res, idx)?;
        Self::new(raw).ok_or_else(|| {
            sea_orm::TryGetError::DbErr(sea_orm::DbErr::Type(format!(
                "stored tier {raw} is outside 0-5"
            )))
        })
    }
}

/// A positive amount of credits, small enough that no sum can overflow.
/// Read back (an event's payload) through the same check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "i64", try_from = "i64")]
pub struct Amount(i64);

impl From<Amount> for i64 {
    fn from(a: Amount) -> i64 {
        a.0
    }
}

impl TryFrom<i64> for Amount {
    type Error = String;
    fn try_from(raw: i64) -> std::result::Result<Self, String> {
        Self::parse("amount", raw).map_err(|e| e.message)
    }
}

impl Amount {
    /// Largest amount one operation may move.
    pub const MAX: i64 = 1_000_000_000;
    pub fn parse(field: &str, raw: i64) -> Parsed<Self> {
        if raw <= 0 {
            return Err(FieldError::new(
                field,
                "must be a positive whole number of credits",
            ));
        }
        if raw > Self::MAX {
            return Err(FieldError::new(
                field,
                format!("must be at most {}", Self::MAX),
            ));
        }
        Ok(Self(raw))
    }
    pub fn get(self) -> i64 {
        self.0
    }
}

/// Page size: default 20, at most 100.
#[derive(Debug, Clone, Copy)]
pub struct Limit(u64);

impl Limit {
    pub const DEFAULT: u64 = 20;
    pub const MAX: u64 = 100;
    pub fn parse(raw: Option<i64>) -> Parsed<Self> {
        match raw {
            None => Ok(Self(Self::DEFAULT)),
            Some(n) if (1..=Self::MAX as i64).contains(&n) => Ok(Self(n as u64)),
            Some(_) => Err(FieldError::new(
                "limit",
                format!("must be between 1 and {}", Self::MAX),
            )),
        }
    }
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Tells "absent" (None) from "null" (Some(None)) in a PATCH body:
/// `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: serde::Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Collects field errors so a client sees every invalid field at once.
#[derive(Default)]
pub struct Validator(Vec<FieldError>);

impl Validator {
    pub fn check<T>(&mut self, r: Parsed<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }
    pub fn finish(self) -> Result<(), crate::DomainError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(crate::DomainError::Validation(self.0))
        }
    }
    /// Ends validation: every field error at once, or what `build` makes of
    /// the checked fields (all present, since none was refused).
    pub fn finish_with<T>(
        self,
        build: impl FnOnce() -> Option<T>,
    ) -> Result<T, crate::DomainError> {
        self.finish()?;
        build().ok_or_else(|| crate::DomainError::bug("a checked field is missing"))
    }
}
