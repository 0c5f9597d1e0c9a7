//! Idempotent requests (ARCHITECTURE §3, §7.9): a key per (caller,
//! request_id) holding the request's fingerprint and the response, written
//! in the same transaction as the effect. A replay returns the stored
//! response; the same id with a different request is refused. Concurrent
//! replays wait on the key's row until the first commits, so exactly one
//! runs the effect.

use diesel::prelude::*;
use uuid::Uuid;

use crate::crypto::sha256;
use crate::error::AppError;
use crate::error::Reason;
use crate::schema::idempotency_keys;

pub const MAX_REQUEST_ID_LEN: usize = 128;

/// What claiming a key found.
pub enum Claim {
    /// First use: run the effect, then [`record`] the response.
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

pub fn claim(
    conn: &mut PgConnection,
    account_id: Uuid,
    request_id: &str,
    method: &str,
    fingerprint: &[u8],
) -> Result<Claim, AppError> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values((
            idempotency_keys::account_id.eq(account_id),
            idempotency_keys::request_id.eq(request_id),
            idempotency_keys::method.eq(method),
            idempotency_keys::fingerprint.eq(fingerprint),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?;
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let (stored_method, stored_fingerprint, response): (String, Vec<u8>, Option<Vec<u8>>) = idempotency_keys::table
        .find((account_id, request_id))
        .select((idempotency_keys::method, idempotency_keys::fingerprint, idempotency_keys::response))
        .first(conn)?;
    if stored_method != method || stored_fingerprint != fingerprint {
        return Err(reused());
    }
    response.map(Claim::Replay).ok_or_else(|| AppError::internal("idempotency key without a response"))
}

fn reused() -> AppError {
    AppError::AlreadyExists {
        reason: Reason::RequestIdReused,
        message: "this request_id was used for a different request".into(),
    }
}

pub fn record(conn: &mut PgConnection, account_id: Uuid, request_id: &str, response: &[u8]) -> Result<(), AppError> {
    diesel::update(idempotency_keys::table.find((account_id, request_id)))
        .set(idempotency_keys::response.eq(response))
        .execute(conn)?;
    Ok(())
}
