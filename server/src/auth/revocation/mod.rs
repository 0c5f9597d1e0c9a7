//! Revocation of access tokens before they expire: ended sign-ins (Logout,
//! a reused refresh token) and accounts whose tokens were all withdrawn
//! (disabled). Every call is checked against this server's in-memory copy,
//! never the database: the writes update it at once in-process, and
//! [`watch`] brings in every other server's within about a second.

pub mod store;
pub mod watch;

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::tokens::VerifiedToken;
use crate::error::AppError;
use crate::error::Reason;

/// One revocation, as stored in `token_revocations`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// Every token of the account issued at or before `at`.
    Account { account_id: Uuid, at: DateTime<Utc> },
    /// Every token of one sign-in (refresh-token family), whenever issued:
    /// an ended sign-in never gets new ones.
    Session { account_id: Uuid, session_id: Uuid, at: DateTime<Utc> },
}

/// The revocations that may still concern an unexpired token.
#[derive(Debug, Default)]
pub struct Revocations {
    lists: RwLock<Lists>,
}

#[derive(Debug, Default)]
struct Lists {
    /// Tokens of the account issued in or before this second (`iat` has
    /// whole seconds) are refused.
    accounts: HashMap<Uuid, i64>,
    /// Ended sign-ins, with the second they ended (to forget them later).
    sessions: HashMap<Uuid, i64>,
}

fn revoked() -> AppError {
    AppError::unauthenticated(Reason::TokenRevoked, "this sign-in has ended; sign in again")
}

impl Revocations {
    /// UNAUTHENTICATED `TOKEN_REVOKED` when `token` was revoked.
    pub fn check(&self, token: &VerifiedToken) -> Result<(), AppError> {
        let lists = self.lists.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        let issued_at = i64::try_from(token.issued_at).unwrap_or(i64::MAX);
        if lists.accounts.get(&token.principal.account_id).is_some_and(|cutoff| issued_at <= *cutoff) {
            return Err(revoked());
        }
        if token.session_id.is_some_and(|sid| lists.sessions.contains_key(&sid)) {
            return Err(revoked());
        }
        Ok(())
    }

    /// Takes `revocations` in (again: applying one twice changes nothing).
    pub fn apply(&self, revocations: impl IntoIterator<Item = Revocation>) {
        let mut lists = self.lists.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        for revocation in revocations {
            match revocation {
                Revocation::Account { account_id, at } => {
                    let cutoff = lists.accounts.entry(account_id).or_insert(at.timestamp());
                    *cutoff = (*cutoff).max(at.timestamp());
                }
                Revocation::Session { session_id, at, .. } => {
                    lists.sessions.entry(session_id).or_insert(at.timestamp());
                }
            }
        }
    }

    /// Forgets revocations made before `horizon`: every token they could
    /// refuse has expired by now.
    pub fn forget_before(&self, horizon: DateTime<Utc>) {
        let horizon = horizon.timestamp();
        let mut lists = self.lists.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        lists.accounts.retain(|_, at| *at >= horizon);
        lists.sessions.retain(|_, at| *at >= horizon);
    }

    /// How many revocations are held (accounts, sessions).
    pub fn len(&self) -> (usize, usize) {
        let lists = self.lists.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        (lists.accounts.len(), lists.sessions.len())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::auth::{AccountKind, Principal, Role};

    fn token(account_id: Uuid, issued_at: DateTime<Utc>, session_id: Option<Uuid>) -> VerifiedToken {
        VerifiedToken {
            principal: Principal {
                account_id,
                kind: AccountKind::Citizen,
                roles: vec![Role::Citizen],
                organization_id: None,
                jurisdiction: None,
                scopes: vec![],
            },
            issued_at: u64::try_from(issued_at.timestamp()).unwrap_or(0),
            session_id,
        }
    }

    #[test]
    fn an_account_cutoff_refuses_tokens_issued_up_to_it_only() {
        let (list, account, t) = (Revocations::default(), Uuid::now_v7(), Utc::now());
        list.apply([Revocation::Account { account_id: account, at: t }]);
        assert_eq!(
            list.check(&token(account, t - Duration::minutes(5), None)).map_err(|e| e.reason()),
            Err(Reason::TokenRevoked)
        );
        assert!(list.check(&token(account, t, Some(Uuid::now_v7()))).is_err(), "the same second is refused");
        assert!(list.check(&token(account, t + Duration::seconds(1), None)).is_ok(), "issued after");
        assert!(list.check(&token(Uuid::now_v7(), t - Duration::minutes(5), None)).is_ok(), "another account");
        // An older cut-off arriving later (from another server) does not move it back.
        list.apply([Revocation::Account { account_id: account, at: t - Duration::minutes(1) }]);
        assert!(list.check(&token(account, t, None)).is_err());
    }

    #[test]
    fn an_ended_session_refuses_its_tokens_whenever_issued() {
        let (list, account, session, t) = (Revocations::default(), Uuid::now_v7(), Uuid::now_v7(), Utc::now());
        list.apply([Revocation::Session { account_id: account, session_id: session, at: t }]);
        assert!(list.check(&token(account, t + Duration::seconds(5), Some(session))).is_err());
        assert!(list.check(&token(account, t, Some(Uuid::now_v7()))).is_ok(), "other sign-ins go on");
        assert!(list.check(&token(account, t, None)).is_ok());
    }

    #[test]
    fn old_revocations_are_forgotten() {
        let (list, t) = (Revocations::default(), Utc::now());
        let (a, b, s) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        list.apply([
            Revocation::Account { account_id: a, at: t - Duration::hours(1) },
            Revocation::Account { account_id: b, at: t },
            Revocation::Session { account_id: a, session_id: s, at: t - Duration::hours(1) },
        ]);
        assert_eq!(list.len(), (2, 1));
        list.forget_before(t - Duration::minutes(20));
        assert_eq!(list.len(), (1, 0));
    }
}
