//! Cursor pagination: opaque cursors, a page of items and the next cursor.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::error::{DomainError, FieldError};

#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `rows` was fetched with `limit + 1`; the extra row only says that more exist.
    pub fn from_rows(mut rows: Vec<T>, limit: u64, cursor_of: impl Fn(&T) -> String) -> Self {
        let more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| encode(&cursor_of(r)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

pub fn encode(raw: &str) -> String {
    URL_SAFE_NO_PAD.encode(raw.as_bytes())
}

fn bad_cursor() -> DomainError {
    DomainError::Validation(vec![FieldError::new(
        "cursor",
        "is not a cursor this list gave out",
    )])
}

/// Decodes a cursor into what it was made from.
pub fn decode<T: std::str::FromStr>(cursor: Option<&str>) -> Result<Option<T>, DomainError> {
    let Some(c) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| bad_cursor())?;
    let s = String::from_utf8(bytes).map_err(|_| bad_cursor())?;
    s.parse().map(Some).map_err(|_| bad_cursor())
}

pub fn encode_bytes(raw: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}
