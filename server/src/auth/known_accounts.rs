//! Which accounts a validly signed token may name: those that exist. A
//! token is signed for an account that exists, so a subject that does not
//! means a leaked key or a token of another deployment sharing it; such a
//! token must be UNAUTHENTICATED rather than act for nobody. Accounts are
//! never deleted, so an account seen once is remembered and the database
//! is read only on the first call for an account (per server process).

use std::collections::HashSet;
use std::sync::RwLock;

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::Db;
use crate::error::AppError;
use crate::error::Reason;
use crate::schema::accounts;

/// Accounts remembered at most; past it the memory starts afresh (and
/// refills, one read per account, as callers come back).
const CAPACITY: usize = 1_000_000;

/// The accounts this server has found to exist.
#[derive(Debug, Default)]
pub struct KnownAccounts {
    seen: RwLock<HashSet<Uuid>>,
}

impl KnownAccounts {
    /// UNAUTHENTICATED `INVALID_TOKEN` unless account `id` exists.
    pub async fn require(&self, db: &Db, id: Uuid) -> Result<(), AppError> {
        if self.seen.read().unwrap_or_else(|poisoned| poisoned.into_inner()).contains(&id) {
            return Ok(());
        }
        let exists: bool = db
            .read(move |conn| {
                Ok(diesel::select(diesel::dsl::exists(accounts::table.filter(accounts::id.eq(id)))).get_result(conn)?)
            })
            .await?;
        if !exists {
            return Err(AppError::unauthenticated(Reason::InvalidToken, "the token's account does not exist"));
        }
        self.remember(id);
        Ok(())
    }

    /// Remembers an account that exists (just created or signed in).
    pub fn remember(&self, id: Uuid) {
        let mut seen = self.seen.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if seen.len() >= CAPACITY {
            seen.clear();
        }
        seen.insert(id);
    }
}
