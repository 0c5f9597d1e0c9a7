//! Idempotent requests (ARCHITECTURE §3, §7.9): a key per (caller,
//! request_id) holding the request's fingerprint and the response, written
//! in the same transaction as the effect. A replay returns the stored
//! response; the same id with a different request is refused. The key is
//! written once, with the response: of concurrent requests with one key,
//! the first to commit keeps its effect, the others roll theirs back and
//! answer with its response.

use diesel::prelude::*;
use uuid::Uuid;

use crate::crypto::sha256;
use crate::error::AppError;
use crate::error::Reason;
use crate::schema::idempotency_keys;

pub const MAX_REQUEST_ID_LEN: usize = 128;

/// What a key holds.
pub enum Claim {
    /// Nothing yet: run the effect, then [`record`] the response.
    New,
    /// A replay of a completed request: its encoded response.
    Replay(Vec<u8>),
}

/// Checks a request id's shape; empty means "not idempotent".
pub fn check_request_id(request_id: &str) -> Result<(), AppError> {
    if request_id.len() > MAX_REQUEST_ID_LEN || request_id.chars().any(char::is_control) {
        return Err(AppError::invalid("request_id", "must be at most 128 characters without control characters"));
    }
    Ok(())
}

/// The fingerprint of an encoded request to `method`.
pub fn fingerprint(method: &str, encoded_request: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(method.len() + 1 + encoded_request.len());
    input.extend_from_slice(method.as_bytes());
    input.push(0);
    input.extend_from_slice(encoded_request);
    sha256(&input).to_vec()
}

/// What the key of (`account_id`, `request_id`) holds; the same id with
/// another request is ALREADY_EXISTS `REQUEST_ID_REUSED`.
pub fn check(
    conn: &mut PgConnection,
    account_id: Uuid,
    request_id: &str,
    method: &str,
    fingerprint: &[u8],
) -> Result<Claim, AppError> {
    let stored: Option<(String, Vec<u8>, Option<Vec<u8>>)> = idempotency_keys::table
        .find((account_id, request_id))
        .select((idempotency_keys::method, idempotency_keys::fingerprint, idempotency_keys::response))
        .first(conn)
        .optional()?;
    let Some((stored_method, stored_fingerprint, response)) = stored else {
        return Ok(Claim::New);
    };
    if stored_method != method || stored_fingerprint != fingerprint {
        return Err(reused());
    }
    response.map(Claim::Replay).ok_or_else(|| AppError::internal("idempotency key without a response"))
}

/// Stores the key with the response, in the transaction of the effect.
/// `false` when a concurrent request with the same key committed first
/// (this insert waited for it): the caller rolls back and answers with
/// what that one stored.
pub fn record(
    conn: &mut PgConnection,
    account_id: Uuid,
    request_id: &str,
    method: &str,
    fingerprint: &[u8],
    response: &[u8],
) -> Result<bool, AppError> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::account_id.eq(account_id),
            idempotency_keys::request_id.eq(request_id),
            idempotency_keys::method.eq(method),
            idempotency_keys::fingerprint.eq(fingerprint),
            idempotency_keys::response.eq(response),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    Ok(inserted == 1)
}

fn reused() -> AppError {
    AppError::AlreadyExists {
        reason: Reason::RequestIdReused,
        message: "this request_id was used for a different request".into(),
    }
}
