//! Database rows of accounts, refresh tokens and sign-in throttling.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::phone::PhoneNumber;
use super::resident_id::ResidentId;
use crate::auth::{AccountKind, Role, Scope};
use crate::error::AppError;
use crate::pii::Pii;
use crate::schema::{accounts, login_throttle, refresh_tokens};

/// Blind-index domains: one per kind of value, so that equal values of
/// different kinds never share an index.
pub const RESIDENT_ID_DOMAIN: &str = "resident_id";
pub const PHONE_DOMAIN: &str = "phone";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = accounts, check_for_backend(diesel::pg::Pg))]
pub struct AccountRow {
    pub id: Uuid,
    pub kind: i16,
    pub login_name: Option<String>,
    pub display_name: String,
    pub resident_id_cipher: Option<Vec<u8>>,
    pub resident_id_index: Option<Vec<u8>>,
    pub resident_id_masked: Option<String>,
    pub phone_cipher: Option<Vec<u8>>,
    pub phone_index: Option<Vec<u8>>,
    pub phone_masked: Option<String>,
    pub password_hash: String,
    pub roles: Vec<Option<i16>>,
    pub organization_id: Option<Uuid>,
    pub scopes: Vec<Option<i16>>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AccountRow {
    /// A new account of `kind`, enabled, created `now`, with `roles` and
    /// nothing else: no login name, personal data, organization or scopes
    /// until the `with_*` methods add what its kind has.
    pub fn new(
        id: Uuid,
        kind: AccountKind,
        display_name: String,
        password_hash: String,
        roles: &[Role],
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            kind: kind.as_i16(),
            login_name: None,
            display_name,
            resident_id_cipher: None,
            resident_id_index: None,
            resident_id_masked: None,
            phone_cipher: None,
            phone_index: None,
            phone_masked: None,
            password_hash,
            roles: roles.iter().map(|r| Some(r.as_i16())).collect(),
            organization_id: None,
            scopes: vec![],
            disabled: false,
            created_at: now,
            updated_at: now,
        }
    }

    /// Staff and service accounts sign in by name (citizens by phone).
    pub fn with_login_name(self, login_name: impl Into<String>) -> Self {
        Self { login_name: Some(login_name.into()), ..self }
    }

    pub fn with_organization(self, organization_id: Option<Uuid>) -> Self {
        Self { organization_id, ..self }
    }

    pub fn with_scopes(self, scopes: &[Scope]) -> Self {
        Self { scopes: scopes.iter().map(|s| Some(s.as_i16())).collect(), ..self }
    }

    /// The resident ID sealed to this account, its blind index and its
    /// masked form.
    pub fn with_resident_id(self, pii: &Pii, resident_id: &ResidentId) -> Result<Self, AppError> {
        let (resident_id_cipher, resident_id_index, resident_id_masked) =
            sealed(pii, self.id, RESIDENT_ID_DOMAIN, resident_id.as_str(), resident_id.masked())?;
        Ok(Self { resident_id_cipher, resident_id_index, resident_id_masked, ..self })
    }

    /// The phone number sealed to this account, its blind index and its
    /// masked form.
    pub fn with_phone(self, pii: &Pii, phone: &PhoneNumber) -> Result<Self, AppError> {
        let (phone_cipher, phone_index, phone_masked) =
            sealed(pii, self.id, PHONE_DOMAIN, phone.as_str(), phone.masked())?;
        Ok(Self { phone_cipher, phone_index, phone_masked, ..self })
    }
}

/// The three columns of a personal value: sealed to account `owner`, its
/// blind index in `domain`, and `masked`.
type SealedColumns = (Option<Vec<u8>>, Option<Vec<u8>>, Option<String>);

fn sealed(pii: &Pii, owner: Uuid, domain: &str, value: &str, masked: String) -> Result<SealedColumns, AppError> {
    Ok((Some(pii.seal(owner, value)?), Some(pii.index(domain, value)), Some(masked)))
}

/// An account with the region path of its organization (its jurisdiction).
#[derive(Debug, Clone)]
pub struct AccountWithJurisdiction {
    pub account: AccountRow,
    pub jurisdiction: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub struct RefreshTokenRow {
    pub id: Uuid,
    pub family_id: Uuid,
    pub account_id: Uuid,
    pub token_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = login_throttle, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub struct ThrottleRow {
    pub key: String,
    pub failures: i32,
    pub window_start: DateTime<Utc>,
    pub blocked_until: Option<DateTime<Utc>>,
    /// Lockouts in a row (each lasts twice the one before).
    pub lockouts: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SecretKey;

    #[test]
    fn a_new_account_holds_what_its_kind_has_sealed_to_its_id() -> Result<(), AppError> {
        let pii = Pii::new(&SecretKey::generate(), &SecretKey::generate());
        let (id, now) = (Uuid::now_v7(), Utc::now());
        let today = chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default();
        let resident_id = ResidentId::parse("11010519491231002X", today).map_err(AppError::internal)?;
        let phone = PhoneNumber::parse("13907970001").map_err(AppError::internal)?;
        let citizen = AccountRow::new(id, AccountKind::Citizen, "刘群众".into(), "hash".into(), &[Role::Citizen], now)
            .with_resident_id(&pii, &resident_id)?
            .with_phone(&pii, &phone)?;
        assert_eq!((citizen.kind, citizen.roles.as_slice()), (1, &[Some(Role::Citizen.as_i16())][..]));
        assert_eq!((citizen.login_name, citizen.organization_id, citizen.disabled), (None, None, false));
        assert_eq!((citizen.created_at, citizen.updated_at), (now, now));
        assert_eq!(pii.reveal(id, citizen.resident_id_cipher.as_deref())?, resident_id.as_str());
        assert_eq!(citizen.resident_id_index, Some(pii.index(RESIDENT_ID_DOMAIN, resident_id.as_str())));
        assert_eq!(citizen.resident_id_masked, Some(resident_id.masked()));
        assert_eq!(pii.reveal(id, citizen.phone_cipher.as_deref())?, phone.as_str());
        assert_eq!(citizen.phone_index, Some(pii.index(PHONE_DOMAIN, phone.as_str())));
        assert_eq!(citizen.phone_masked, Some(phone.masked()));

        let org = Uuid::now_v7();
        let service = AccountRow::new(id, AccountKind::Service, "法院".into(), "hash".into(), &[Role::Partner], now)
            .with_login_name("svc-x")
            .with_organization(Some(org))
            .with_scopes(&[Scope::CasesRead, Scope::DirectoryRead]);
        assert_eq!((service.login_name.as_deref(), service.organization_id), (Some("svc-x"), Some(org)));
        assert_eq!(service.scopes, [Some(1), Some(3)]);
        assert!(service.phone_cipher.is_none() && service.resident_id_cipher.is_none());
        Ok(())
    }
}
