//! Account, refresh-token and throttle queries.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::model::{AccountRow, AccountWithJurisdiction, RefreshTokenRow, ThrottleRow};
use crate::auth::{AccountKind, Role};
use crate::error::AppError;
use crate::error::Reason;
use crate::prepared::KeepPrepared;
use crate::schema::{accounts, login_throttle, organizations, refresh_tokens, regions};

/// Inserts an account, naming the uniqueness rule it broke if any.
pub fn insert_account(conn: &mut PgConnection, row: &AccountRow) -> Result<AccountRow, AppError> {
    diesel::insert_into(accounts::table).values(row).returning(AccountRow::as_returning()).get_result(conn).map_err(
        |e| {
            if let diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info) = &e {
                let (reason, message) = match info.constraint_name() {
                    Some("accounts_resident_id_index_key") => {
                        (Reason::ResidentIdRegistered, "an account with this resident ID number already exists")
                    }
                    Some("accounts_citizen_phone_idx") => {
                        (Reason::PhoneRegistered, "an account with this phone number already exists")
                    }
                    Some("accounts_login_name_key") => (Reason::LoginNameTaken, "this login name is taken"),
                    _ => (Reason::AlreadyExists, "the account already exists"),
                };
                return AppError::AlreadyExists { reason, message: message.into() };
            }
            e.into()
        },
    )
}

fn with_jurisdiction(conn: &mut PgConnection, account: AccountRow) -> Result<AccountWithJurisdiction, AppError> {
    let jurisdiction = match account.organization_id {
        None => None,
        Some(org) => organizations::table
            .inner_join(regions::table)
            .filter(organizations::id.eq(org))
            .select(regions::path)
            .first::<String>(conn)
            .optional()?,
    };
    Ok(AccountWithJurisdiction { account, jurisdiction })
}

pub fn find_account(conn: &mut PgConnection, id: Uuid) -> Result<Option<AccountWithJurisdiction>, AppError> {
    let account = accounts::table.find(id).select(AccountRow::as_select()).first(conn).optional()?;
    account.map(|a| with_jurisdiction(conn, a)).transpose()
}

/// The accounts with these ids (in no particular order), in one query.
pub fn find_accounts(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<AccountRow>, AppError> {
    // PostgreSQL plans `id = ANY($1)` anew at every call (its generic plan
    // is costed for ten ids); one id, the usual case, is a plain lookup.
    if let [id] = ids {
        return Ok(accounts::table.find(id).select(AccountRow::as_select()).load(conn)?);
    }
    Ok(accounts::table.filter(accounts::id.eq_any(ids)).select(AccountRow::as_select()).keep_prepared().load(conn)?)
}

/// A citizen by the blind index of their phone number.
pub fn find_citizen_by_phone(
    conn: &mut PgConnection,
    phone_index: &[u8],
) -> Result<Option<AccountWithJurisdiction>, AppError> {
    let account = accounts::table
        .filter(accounts::kind.eq(AccountKind::Citizen as i16))
        .filter(accounts::phone_index.eq(phone_index))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?;
    account.map(|a| with_jurisdiction(conn, a)).transpose()
}

pub fn find_by_login_name(
    conn: &mut PgConnection,
    login_name: &str,
) -> Result<Option<AccountWithJurisdiction>, AppError> {
    let account = accounts::table
        .filter(accounts::login_name.eq(login_name))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()?;
    account.map(|a| with_jurisdiction(conn, a)).transpose()
}

pub fn any_admin_exists(conn: &mut PgConnection) -> Result<bool, AppError> {
    Ok(diesel::select(diesel::dsl::exists(
        accounts::table.filter(accounts::roles.contains(vec![Some(Role::Admin as i16)])),
    ))
    .get_result(conn)?)
}

pub fn set_disabled(conn: &mut PgConnection, id: Uuid, disabled: bool) -> Result<Option<AccountRow>, AppError> {
    Ok(diesel::update(accounts::table.find(id))
        .set((accounts::disabled.eq(disabled), accounts::updated_at.eq(diesel::dsl::now)))
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .optional()?)
}

pub fn insert_refresh_token(conn: &mut PgConnection, row: &RefreshTokenRow) -> Result<(), AppError> {
    diesel::insert_into(refresh_tokens::table).values(row).execute(conn)?;
    Ok(())
}

/// The refresh token with this hash, locked for the rest of the transaction
/// so that two concurrent refreshes with one token cannot both rotate it.
pub fn find_refresh_token_for_update(
    conn: &mut PgConnection,
    hash: &[u8],
) -> Result<Option<RefreshTokenRow>, AppError> {
    Ok(refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshTokenRow::as_select())
        .for_update()
        .first(conn)
        .optional()?)
}

pub fn mark_rotated(conn: &mut PgConnection, id: Uuid, at: DateTime<Utc>) -> Result<(), AppError> {
    diesel::update(refresh_tokens::table.find(id)).set(refresh_tokens::rotated_at.eq(at)).execute(conn)?;
    Ok(())
}

pub fn revoke_family(conn: &mut PgConnection, family_id: Uuid, at: DateTime<Utc>) -> Result<(), AppError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)?;
    Ok(())
}

pub fn revoke_account_tokens(conn: &mut PgConnection, account_id: Uuid, at: DateTime<Utc>) -> Result<(), AppError> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::account_id.eq(account_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(at))
    .execute(conn)?;
    Ok(())
}

pub fn find_throttle(conn: &mut PgConnection, key: &str) -> Result<Option<ThrottleRow>, AppError> {
    Ok(login_throttle::table.find(key).select(ThrottleRow::as_select()).first(conn).optional()?)
}

pub fn find_throttle_for_update(conn: &mut PgConnection, key: &str) -> Result<Option<ThrottleRow>, AppError> {
    Ok(login_throttle::table.find(key).select(ThrottleRow::as_select()).for_update().first(conn).optional()?)
}

pub fn save_throttle(conn: &mut PgConnection, row: &ThrottleRow) -> Result<(), AppError> {
    diesel::insert_into(login_throttle::table)
        .values(row)
        .on_conflict(login_throttle::key)
        .do_update()
        .set(row)
        .execute(conn)?;
    Ok(())
}

pub fn clear_throttle(conn: &mut PgConnection, key: &str) -> Result<(), AppError> {
    diesel::delete(login_throttle::table.find(key)).execute(conn)?;
    Ok(())
}

/// The account's row, share-locked until the transaction ends: a disable
/// (an update) waits for the transaction, and one already committed is seen.
pub fn lock_account_for_share(conn: &mut PgConnection, id: Uuid) -> Result<Option<AccountRow>, AppError> {
    Ok(accounts::table.find(id).select(AccountRow::as_select()).for_share().first(conn).optional()?)
}
