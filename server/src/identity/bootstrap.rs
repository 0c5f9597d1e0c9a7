//! The first admin. On a fresh database with no admin, an account `admin` is
//! created with the configured password or, when none is configured, a
//! random one-time password that the caller prints once. There is never a
//! built-in password.

use chrono::Utc;
use diesel::RunQueryDsl;
use uuid::Uuid;

use super::model::AccountRow;
use super::store;
use crate::auth::{AccountKind, Role};
use crate::crypto::random_token;
use crate::error::AppError;
use crate::state::AppState;

pub const BOOTSTRAP_ADMIN_LOGIN: &str = "admin";
/// Serializes bootstrap across replicas starting at once.
const BOOTSTRAP_LOCK: i64 = 0x7065_7469_7469_6f6e;

/// The outcome of [`ensure_admin`].
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// An admin already existed.
    Existing,
    /// Created with the configured password.
    Configured,
    /// Created with this generated password, to be shown once.
    Generated(String),
}

pub async fn ensure_admin(state: &AppState) -> Result<Bootstrap, AppError> {
    if state.db.run(store::any_admin_exists).await? {
        return Ok(Bootstrap::Existing);
    }
    let (password, outcome) = match &state.auth.bootstrap_admin_password {
        Some(secret) => (secret.expose().to_owned(), Bootstrap::Configured),
        None => {
            let generated = random_token(18);
            (generated.clone(), Bootstrap::Generated(generated))
        }
    };
    let password_hash = state.hasher.hash(password).await?;
    let created = state
        .db
        .run(move |conn| {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({BOOTSTRAP_LOCK})")).execute(conn)?;
            if store::any_admin_exists(conn)? {
                return Ok(false);
            }
            let admin = AccountRow::new(
                Uuid::now_v7(),
                AccountKind::Staff,
                "Administrator".into(),
                password_hash,
                &[Role::Admin],
                Utc::now(),
            );
            store::insert_account(conn, &admin.with_login_name(BOOTSTRAP_ADMIN_LOGIN))?;
            Ok(true)
        })
        .await?;
    Ok(if created { outcome } else { Bootstrap::Existing })
}
