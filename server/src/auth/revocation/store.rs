//! `token_revocations` queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::Revocation;
use crate::error::AppError;
use crate::schema::token_revocations;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = token_revocations, check_for_backend(diesel::pg::Pg))]
struct NewRevocation {
    id: Uuid,
    account_id: Uuid,
    session_id: Option<Uuid>,
    revoked_at: DateTime<Utc>,
}

/// Stores `revocation` (in the caller's transaction: it takes effect
/// elsewhere only if the change it belongs to commits).
pub fn insert(conn: &mut PgConnection, revocation: &Revocation) -> Result<(), AppError> {
    let (account_id, session_id, revoked_at) = match *revocation {
        Revocation::Account { account_id, at } => (account_id, None, at),
        Revocation::Session { account_id, session_id, at } => (account_id, Some(session_id), at),
    };
    diesel::insert_into(token_revocations::table)
        .values(NewRevocation { id: Uuid::now_v7(), account_id, session_id, revoked_at })
        .execute(conn)?;
    Ok(())
}

/// The database's clock, and the revocations recorded after `since`.
pub fn recorded_since(
    conn: &mut PgConnection,
    since: DateTime<Utc>,
) -> Result<(DateTime<Utc>, Vec<Revocation>), AppError> {
    // Read the clock first: a row recorded after it is read again next time.
    let now: DateTime<Utc> =
        diesel::select(diesel::dsl::sql::<diesel::sql_types::Timestamptz>("now()")).get_result(conn)?;
    let rows: Vec<(Uuid, Option<Uuid>, DateTime<Utc>)> = token_revocations::table
        .filter(token_revocations::recorded_at.gt(since))
        .select((token_revocations::account_id, token_revocations::session_id, token_revocations::revoked_at))
        .load(conn)?;
    let revocations = rows
        .into_iter()
        .map(|(account_id, session_id, at)| match session_id {
            Some(session_id) => Revocation::Session { account_id, session_id, at },
            None => Revocation::Account { account_id, at },
        })
        .collect();
    Ok((now, revocations))
}

/// Deletes revocations recorded before `before`; how many.
pub fn delete_before(conn: &mut PgConnection, before: DateTime<Utc>) -> Result<usize, AppError> {
    Ok(diesel::delete(token_revocations::table.filter(token_revocations::recorded_at.lt(before))).execute(conn)?)
}
