//! List paging (ARCHITECTURE §3): `page_size` 0 means the default, values
//! above the maximum are capped, negatives are INVALID_ARGUMENT; page tokens
//! are opaque keyset cursors, signed so that a client cannot forge one, and
//! bound to the list and filter they came from. A token only says where to
//! resume: every page is still filtered by the caller's authorization.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

use crate::error::AppError;

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;
/// Bytes of the HMAC kept in a token: forging needs 2^128 tries.
const MAC_LEN: usize = 16;

/// The number of rows a page holds.
pub fn page_size(requested: i32) -> Result<i64, AppError> {
    match requested {
        n if n < 0 => Err(AppError::invalid("page_size", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        n => Ok(i64::from(n).min(MAX_PAGE_SIZE)),
    }
}

/// Signs and checks keyset cursors.
#[derive(Clone)]
pub struct PageTokens {
    keyed: Hmac<Sha256>,
}

impl PageTokens {
    pub fn new(key: [u8; 32]) -> Self {
        // HMAC takes keys of any length, so this cannot fail.
        let keyed = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap_or_else(|_| unreachable!());
        Self { keyed }
    }

    fn mac(&self, scope: &str, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac = self.keyed.clone();
        mac.update(&(scope.len() as u64).to_be_bytes());
        mac.update(scope.as_bytes());
        mac.update(payload);
        mac
    }

    /// A token resuming after `cursor` in the list identified by `scope`
    /// (the list's name and its filter).
    pub fn encode<K: Serialize>(&self, scope: &str, cursor: &K) -> Result<String, AppError> {
        let mut payload = serde_json::to_vec(cursor).map_err(AppError::internal)?;
        let tag = self.mac(scope, &payload).finalize().into_bytes();
        payload.extend_from_slice(&tag[..MAC_LEN]);
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload))
    }

    /// The `next_page_token` of a page: `cursor`'s token, empty after the
    /// last page.
    pub fn next_token<K: Serialize>(&self, scope: &str, cursor: Option<K>) -> Result<String, AppError> {
        cursor.map(|c| self.encode(scope, &c)).transpose().map(Option::unwrap_or_default)
    }

    /// The cursor in `token`, `None` for the first page; INVALID_ARGUMENT if
    /// the token is forged, corrupted or from another list or filter.
    pub fn decode<K: DeserializeOwned>(&self, scope: &str, token: &str) -> Result<Option<K>, AppError> {
        if token.is_empty() {
            return Ok(None);
        }
        let invalid = || AppError::invalid("page_token", "not a page token of this list with these filters");
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
        if raw.len() <= MAC_LEN {
            return Err(invalid());
        }
        let (payload, tag) = raw.split_at(raw.len() - MAC_LEN);
        self.mac(scope, payload).verify_truncated_left(tag).map_err(|_| invalid())?;
        serde_json::from_slice(payload).map(Some).map_err(|_| invalid())
    }
}

/// Splits `rows` fetched with `limit + 1` into a page and the cursor of its
/// last row when more follow.
pub fn finish_page<T, K>(mut rows: Vec<T>, limit: i64, cursor_of: impl Fn(&T) -> K) -> (Vec<T>, Option<K>) {
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    let next = if has_more { rows.last().map(cursor_of) } else { None };
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_rules() {
        assert_eq!(page_size(0).ok(), Some(50));
        assert_eq!(page_size(1).ok(), Some(1));
        assert_eq!(page_size(500).ok(), Some(500));
        assert_eq!(page_size(501).ok(), Some(500));
        assert_eq!(page_size(i32::MAX).ok(), Some(500));
        assert!(page_size(-1).is_err());
        assert!(page_size(i32::MIN).is_err());
    }

    #[test]
    fn tokens_round_trip_and_resist_forgery() -> Result<(), AppError> {
        let pages = PageTokens::new([3; 32]);
        let token = pages.encode("regions:", &("360702".to_owned(),))?;
        assert_eq!(pages.decode::<(String,)>("regions:", &token)?, Some(("360702".to_owned(),)));
        assert_eq!(pages.decode::<(String,)>("regions:", "")?, None);
        assert!(pages.decode::<(String,)>("regions:parent=1", &token).is_err(), "other filter");
        assert!(PageTokens::new([4; 32]).decode::<(String,)>("regions:", &token).is_err(), "other key");
        let mut forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&token).map_err(AppError::internal)?;
        forged[2] ^= 1;
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged);
        assert!(pages.decode::<(String,)>("regions:", &forged).is_err());
        assert!(pages.decode::<(String,)>("regions:", "not base64 !").is_err());
        assert!(pages.decode::<(String,)>("regions:", "AAAA").is_err());
        Ok(())
    }

    #[test]
    fn finishing_a_page() {
        let (rows, next) = finish_page(vec![1, 2, 3], 2, |r| *r);
        assert_eq!((rows, next), (vec![1, 2], Some(2)));
        let (rows, next) = finish_page(vec![1, 2], 2, |r| *r);
        assert_eq!((rows, next), (vec![1, 2], None));
    }
}
