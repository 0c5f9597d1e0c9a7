//! `petition.v1.IdentityService`: registration, sign-in, tokens, accounts.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{Duration, Utc};
use petition_proto::v1 as pb;
use petition_proto::v1::identity_service_server::IdentityService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::model::{AccountRow, AccountWithJurisdiction, PHONE_DOMAIN, RefreshTokenRow};
use super::phone::PhoneNumber;
use super::resident_id::ResidentId;
use super::rules;
use super::store;
use super::throttle::{self, ThrottlePolicy};
use crate::auth::policy::{self, Action, Resource};
use crate::auth::revocation::{self, Revocation};
use crate::auth::{AccountKind, Principal, Role, Scope, require_principal};
use crate::convert::{parse_id, system_time_to_timestamp, timestamp};
use crate::crypto::{random_token, sha256};
use crate::directory::store as directory_store;
use crate::error::Reason;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::pii::Pii;
use crate::state::AppState;
use crate::time::shanghai_today;

/// The blind-index domain of login names (throttling keys).
const LOGIN_DOMAIN: &str = "login";

pub struct IdentityApi {
    state: Arc<AppState>,
}

impl IdentityApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// Who is looking at an account decides how much personal data they see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Viewer {
    Owner,
    Admin,
}

fn roles_of(row: &AccountRow) -> Vec<Role> {
    row.roles.iter().flatten().filter_map(|r| Role::from_i32(i32::from(*r))).collect()
}

fn scopes_of(row: &AccountRow) -> Vec<Scope> {
    row.scopes.iter().flatten().filter_map(|s| Scope::from_i32(i32::from(*s))).collect()
}

fn invalid_credentials() -> AppError {
    AppError::unauthenticated(Reason::InvalidCredentials, "wrong login name or password")
}

fn registration_throttled(retry_after: Duration) -> AppError {
    throttled(Reason::RegistrationThrottled, "too many registrations from your address", retry_after)
}

fn invalid_refresh_token() -> AppError {
    AppError::unauthenticated(Reason::InvalidRefreshToken, "the refresh token is not valid; sign in again")
}

fn throttled(reason: Reason, what: &str, retry_after: Duration) -> AppError {
    AppError::ResourceExhausted {
        reason,
        message: format!("{what}; try again later"),
        retry_after: retry_after.to_std().unwrap_or_default(),
        quota: None,
    }
}

impl IdentityApi {
    fn account_view(&self, row: &AccountRow, viewer: Viewer) -> Result<pb::Account, AppError> {
        let pii = &self.state.pii;
        let (resident_id, phone) = match viewer {
            Viewer::Admin => (
                pii.reveal(row.id, row.resident_id_cipher.as_deref())?,
                pii.reveal(row.id, row.phone_cipher.as_deref())?,
            ),
            Viewer::Owner => {
                (row.resident_id_masked.clone().unwrap_or_default(), pii.reveal(row.id, row.phone_cipher.as_deref())?)
            }
        };
        Ok(pb::Account {
            id: row.id.to_string(),
            kind: i32::from(row.kind),
            login_name: row.login_name.clone().unwrap_or_default(),
            display_name: row.display_name.clone(),
            resident_id,
            phone,
            roles: roles_of(row).into_iter().map(|r| r as i32).collect(),
            organization_id: row.organization_id.map(|id| id.to_string()).unwrap_or_default(),
            scopes: scopes_of(row).into_iter().map(|s| s as i32).collect(),
            disabled: row.disabled,
            create_time: Some(timestamp(row.created_at)),
        })
    }

    fn principal_of(account: &AccountWithJurisdiction) -> Result<Principal, AppError> {
        let row = &account.account;
        Ok(Principal {
            account_id: row.id,
            kind: AccountKind::from_i32(i32::from(row.kind))
                .ok_or_else(|| AppError::internal("stored account has an unknown kind"))?,
            roles: roles_of(row),
            organization_id: row.organization_id,
            jurisdiction: account.jurisdiction.clone(),
            scopes: scopes_of(row),
        })
    }

    fn policy(&self, max_failures: u32, window_secs: u64) -> ThrottlePolicy {
        let auth = &self.state.auth;
        ThrottlePolicy {
            max_failures,
            window: seconds(window_secs),
            max_lockout: seconds(auth.login_max_lockout_secs.max(window_secs)),
        }
    }

    /// The throttle keys of a sign-in as `login` from `address`, each with
    /// its policy: the name from this address (locks soonest), the name
    /// from anywhere, and the address for any name. The name is hashed: it
    /// may be a phone number.
    fn sign_in_keys(&self, login: &str, address: Option<SocketAddr>) -> Vec<(String, ThrottlePolicy)> {
        let auth = &self.state.auth;
        let window = auth.login_lockout_secs;
        let name = crate::convert::hex(&self.state.pii.index(LOGIN_DOMAIN, login));
        let mut keys = vec![(format!("account:{name}"), self.policy(auth.login_max_failures, window))];
        if let Some(ip) = address.map(|a| a.ip()) {
            keys.push((
                format!("account-address:{name}:{ip}"),
                self.policy(auth.login_max_failures_per_name_and_address, window),
            ));
            keys.push((format!("address:{ip}"), self.policy(auth.login_max_failures_per_address, window)));
        }
        keys
    }

    /// Checks the sign-in's throttle keys, then verifies `secret` against
    /// the account `lookup` finds (or a dummy hash), recording a failure on
    /// every key unless it matches an enabled account. The same answer, at
    /// the same cost, for an unknown account, a wrong secret and a disabled
    /// account: none of them says which it is. A successful caller clears
    /// the returned keys in the transaction that starts its session.
    async fn authenticate<F>(
        &self,
        login: String,
        secret: String,
        address: Option<SocketAddr>,
        lookup: F,
    ) -> Result<(AccountWithJurisdiction, Vec<String>), AppError>
    where
        F: FnOnce(&mut diesel::PgConnection) -> Result<Option<AccountWithJurisdiction>, AppError> + Send + 'static,
    {
        let keys = self.sign_in_keys(&login, address);
        let names: Vec<String> = keys.iter().map(|(key, _)| key.clone()).collect();
        let now = Utc::now();
        let account = self
            .state
            .db
            .read(move |conn| {
                let mut blocked = None;
                for key in &names {
                    blocked = blocked.max(throttle::blocked_for(store::find_throttle(conn, key)?.as_ref(), now));
                }
                match blocked {
                    Some(wait) => Err(throttled(Reason::LoginThrottled, "too many failed sign-in attempts", wait)),
                    None => lookup(conn),
                }
            })
            .await?;
        let stored_hash = account.as_ref().map(|a| a.account.password_hash.clone());
        let matches = self.state.hasher.verify(secret, stored_hash).await?;
        match account {
            Some(account) if matches && !account.account.disabled => {
                // The name's own keys start over; the address's count stays
                // (one right password must not reset a spray of guesses).
                let clear = keys.into_iter().filter(|(key, _)| !key.starts_with("address:")).map(|(k, _)| k);
                Ok((account, clear.collect()))
            }
            _ => {
                self.state
                    .db
                    .run(move |conn| {
                        let now = Utc::now();
                        for (key, policy) in &keys {
                            let row = store::find_throttle_for_update(conn, key)?;
                            store::save_throttle(conn, &throttle::record_failure(row, key, *policy, now))?;
                        }
                        Ok(())
                    })
                    .await?;
                Err(invalid_credentials())
            }
        }
    }

    /// Starts a sign-in for `principal` (or continues `family_id`'s), on
    /// `conn`: stores the refresh token and signs an access token naming
    /// the sign-in. The account row must be share-locked by the caller, so
    /// that disabling it either waits for this or is seen by it.
    fn issue_pair(
        state: &AppState,
        conn: &mut diesel::PgConnection,
        principal: &Principal,
        family_id: Option<Uuid>,
    ) -> Result<pb::TokenPair, AppError> {
        let family_id = family_id.unwrap_or_else(Uuid::now_v7);
        let access = state.tokens.issue(principal, Some(family_id))?;
        let refresh = random_token(32);
        let now = Utc::now();
        let expires_at = now + seconds(state.auth.refresh_token_ttl_secs);
        let row = RefreshTokenRow {
            id: Uuid::now_v7(),
            family_id,
            account_id: principal.account_id,
            token_hash: sha256(refresh.as_bytes()).to_vec(),
            expires_at,
            created_at: now,
            rotated_at: None,
            revoked_at: None,
        };
        store::insert_refresh_token(conn, &row)?;
        Ok(pb::TokenPair {
            access_token: access.token,
            access_token_expire_time: Some(system_time_to_timestamp(access.expires_at)),
            refresh_token: refresh,
            refresh_token_expire_time: Some(timestamp(expires_at)),
        })
    }

    /// Ends sign-in `family_id` of `account_id` on `conn`: its refresh
    /// tokens, and its access tokens on every server once committed.
    fn end_session(
        conn: &mut diesel::PgConnection,
        account_id: Uuid,
        family_id: Uuid,
        at: chrono::DateTime<Utc>,
    ) -> Result<Revocation, AppError> {
        store::revoke_family(conn, family_id, at)?;
        let revocation = Revocation::Session { account_id, session_id: family_id, at };
        revocation::store::insert(conn, &revocation)?;
        Ok(revocation)
    }
}

/// `secs` as a chrono duration, saturating (config values are unchecked).
fn seconds(secs: u64) -> Duration {
    Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX).min(i64::MAX / 1000))
}

/// A phone-shaped login is a citizen's phone number; anything else a login name.
fn looks_like_phone(login: &str) -> bool {
    login.len() == 11 && login.bytes().all(|b| b.is_ascii_digit())
}

fn check_credentials_shape(login_field: &str, login: &str, secret_field: &str, secret: &str) -> Result<(), AppError> {
    let mut violations = Vec::new();
    if login.is_empty() || login.len() > 128 {
        violations.push(FieldViolation::new(login_field, "is required (at most 128 bytes)"));
    } else if crate::text::has_forbidden(login) {
        // No name holds these, and PostgreSQL refuses NUL outright.
        violations.push(FieldViolation::new(login_field, "holds control or formatting characters"));
    }
    if secret.is_empty() || secret.len() > 1024 {
        violations.push(FieldViolation::new(secret_field, "is required (at most 1024 bytes)"));
    }
    require_valid(violations)
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn register_citizen(
        &self,
        request: Request<pb::RegisterCitizenRequest>,
    ) -> Result<Response<pb::RegisterCitizenResponse>, Status> {
        let address = request.remote_addr();
        let req = request.into_inner();
        let mut violations = Vec::new();
        let real_name = rules::check_real_name(&req.real_name, &mut violations);
        let resident_id = ResidentId::parse(&req.resident_id, shanghai_today())
            .map_err(|e| violations.push(FieldViolation::new("resident_id", e.to_string())))
            .ok();
        let phone = PhoneNumber::parse(&req.phone)
            .map_err(|e| violations.push(FieldViolation::new("phone", e.to_string())))
            .ok();
        rules::check_password("password", &req.password, &mut violations);
        let (Some(resident_id), Some(phone), true) = (resident_id, phone, violations.is_empty()) else {
            return Err(AppError::InvalidArgument(violations).into());
        };
        // Either answer below says whether the ID or phone has an account,
        // so every call from an address that gets this far is counted.
        let throttle = address.map(|a| {
            let auth = &self.state.auth;
            (
                format!("register:{}", a.ip()),
                self.policy(auth.registration_max_per_address, auth.registration_window_secs),
            )
        });
        if let Some((key, _)) = throttle.clone() {
            // Checked before hashing too: a locked-out caller costs no argon2.
            let now = Utc::now();
            let row = self.state.db.read(move |conn| store::find_throttle(conn, &key)).await?;
            if let Some(wait) = throttle::blocked_for(row.as_ref(), now) {
                return Err(registration_throttled(wait).into());
            }
        }
        let password_hash = self.state.hasher.hash(req.password).await?;
        let id = Uuid::now_v7();
        let pii: &Pii = &self.state.pii;
        let row = AccountRow::new(id, AccountKind::Citizen, real_name, password_hash, &[Role::Citizen], Utc::now())
            .with_resident_id(pii, &resident_id)?
            .with_phone(pii, &phone)?;
        let row = self
            .state
            .db
            .run(move |conn| {
                if let Some((key, policy)) = &throttle {
                    let now = Utc::now();
                    let counted = store::find_throttle_for_update(conn, key)?;
                    if let Some(wait) = throttle::blocked_for(counted.as_ref(), now) {
                        return Ok(Err(registration_throttled(wait)));
                    }
                    store::save_throttle(conn, &throttle::record_failure(counted, key, *policy, now))?;
                }
                // In a savepoint: an ID or phone already registered rolls
                // back the insert, not the count.
                Ok(crate::db::transaction(conn, |conn| store::insert_account(conn, &row)))
            })
            .await??;
        self.state.accounts.remember(row.id);
        tracing::info!(account_id = %row.id, "citizen registered");
        Ok(Response::new(pb::RegisterCitizenResponse { account: Some(self.account_view(&row, Viewer::Owner)?) }))
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Result<Response<pb::LoginResponse>, Status> {
        let address = request.remote_addr();
        let req = request.into_inner();
        check_credentials_shape("login_name", &req.login_name, "password", &req.password)?;
        let login = req.login_name.clone();
        let phone_index = self.state.pii.index(PHONE_DOMAIN, &login);
        let (account, clear) = self
            .authenticate(req.login_name, req.password, address, move |conn| {
                let found = if looks_like_phone(&login) {
                    store::find_citizen_by_phone(conn, &phone_index)?
                } else {
                    store::find_by_login_name(conn, &login)?
                };
                // Service accounts use client credentials, not Login.
                Ok(found.filter(|a| a.account.kind != AccountKind::Service as i16))
            })
            .await?;
        let principal = Self::principal_of(&account)?;
        let state = self.state.clone();
        let (id, session_principal) = (principal.account_id, principal.clone());
        let tokens = self
            .state
            .db
            .run(move |conn| {
                // Disabled since the password was checked: the same answer.
                if store::lock_account_for_share(conn, id)?.is_none_or(|row| row.disabled) {
                    return Err(invalid_credentials());
                }
                for key in &clear {
                    store::clear_throttle(conn, key)?;
                }
                Self::issue_pair(&state, conn, &session_principal, None)
            })
            .await?;
        self.state.accounts.remember(id);
        tracing::info!(account_id = %id, "signed in");
        Ok(Response::new(pb::LoginResponse {
            tokens: Some(tokens),
            account: Some(self.account_view(&account.account, Viewer::Owner)?),
        }))
    }

    async fn refresh_token(
        &self,
        request: Request<pb::RefreshTokenRequest>,
    ) -> Result<Response<pb::RefreshTokenResponse>, Status> {
        let token = request.into_inner().refresh_token;
        if token.is_empty() || token.len() > 256 {
            return Err(AppError::invalid("refresh_token", "is required").into());
        }
        let hash = sha256(token.as_bytes()).to_vec();
        enum Outcome {
            Rotated(pb::TokenPair),
            Reused(Revocation),
            Ended(Revocation),
            Invalid,
        }
        let state = self.state.clone();
        let outcome = self
            .state
            .db
            .run(move |conn| {
                let now = Utc::now();
                let Some(row) = store::find_refresh_token_for_update(conn, &hash)? else { return Ok(Outcome::Invalid) };
                if row.revoked_at.is_some() || row.expires_at <= now {
                    return Ok(Outcome::Invalid);
                }
                if row.rotated_at.is_some() {
                    // A rotated token presented again was stolen or replayed:
                    // end the whole sign-in (RFC 6819 §5.2.2.3), its access
                    // tokens included.
                    return Ok(Outcome::Reused(Self::end_session(conn, row.account_id, row.family_id, now)?));
                }
                store::mark_rotated(conn, row.id, now)?;
                // Share-locked: a concurrent disable waits for this refresh,
                // and then revokes the token it issues.
                let enabled = store::lock_account_for_share(conn, row.account_id)?.is_some_and(|a| !a.disabled);
                match store::find_account(conn, row.account_id)? {
                    Some(account) if enabled => {
                        let principal = Self::principal_of(&account)?;
                        Ok(Outcome::Rotated(Self::issue_pair(&state, conn, &principal, Some(row.family_id))?))
                    }
                    _ => Ok(Outcome::Ended(Self::end_session(conn, row.account_id, row.family_id, now)?)),
                }
            })
            .await?;
        match outcome {
            Outcome::Rotated(tokens) => Ok(Response::new(pb::RefreshTokenResponse { tokens: Some(tokens) })),
            Outcome::Reused(revocation) => {
                self.state.revocations.apply([revocation]);
                tracing::warn!("rotated refresh token reused; sign-in revoked");
                Err(invalid_refresh_token().into())
            }
            Outcome::Ended(revocation) => {
                self.state.revocations.apply([revocation]);
                Err(invalid_refresh_token().into())
            }
            Outcome::Invalid => Err(invalid_refresh_token().into()),
        }
    }

    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Result<Response<pb::LogoutResponse>, Status> {
        let token = request.into_inner().refresh_token;
        if token.is_empty() || token.len() > 256 {
            return Err(AppError::invalid("refresh_token", "is required").into());
        }
        let hash = sha256(token.as_bytes()).to_vec();
        // Unknown or already revoked tokens succeed too: logging out twice is
        // not an error, and the answer reveals nothing.
        let ended = self
            .state
            .db
            .run(move |conn| match store::find_refresh_token_for_update(conn, &hash)? {
                Some(row) => Self::end_session(conn, row.account_id, row.family_id, Utc::now()).map(Some),
                None => Ok(None),
            })
            .await?;
        // At once here; other servers read it within a second.
        self.state.revocations.apply(ended);
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn get_me(&self, request: Request<pb::GetMeRequest>) -> Result<Response<pb::GetMeResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ReadOwnAccount, Resource::System)?;
        let id = principal.account_id;
        let account = self
            .state
            .db
            .read(move |conn| store::find_account(conn, id))
            .await?
            .ok_or(AppError::NotFound { resource: "account" })?;
        let viewer = if principal.is_admin() { Viewer::Admin } else { Viewer::Owner };
        Ok(Response::new(pb::GetMeResponse { account: Some(self.account_view(&account.account, viewer)?) }))
    }

    async fn create_staff_account(
        &self,
        request: Request<pb::CreateStaffAccountRequest>,
    ) -> Result<Response<pb::CreateStaffAccountResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ManageAccounts, Resource::System)?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        rules::check_login_name(&req.login_name, &mut violations);
        let display_name =
            crate::directory::rules::validate_name("display_name", &req.display_name, 100, &mut violations);
        rules::check_password("password", &req.password, &mut violations);
        let roles = rules::check_staff_roles(&req.roles, &mut violations);
        let organization_id = parse_id("organization_id", &req.organization_id)
            .map_err(|_| violations.push(FieldViolation::new("organization_id", "must be an organization id")))
            .ok();
        let phone = if req.phone.is_empty() {
            None
        } else {
            PhoneNumber::parse(&req.phone)
                .map_err(|e| violations.push(FieldViolation::new("phone", e.to_string())))
                .ok()
        };
        let (Some(organization_id), true) = (organization_id, violations.is_empty()) else {
            return Err(AppError::InvalidArgument(violations).into());
        };
        let password_hash = self.state.hasher.hash(req.password).await?;
        let id = Uuid::now_v7();
        let mut row = AccountRow::new(id, AccountKind::Staff, display_name, password_hash, &roles, Utc::now())
            .with_login_name(req.login_name)
            .with_organization(Some(organization_id));
        if let Some(phone) = &phone {
            row = row.with_phone(&self.state.pii, phone)?;
        }
        let row = self
            .state
            .db
            .run(move |conn| {
                directory_store::find_organization(conn, organization_id)?
                    .ok_or_else(|| AppError::invalid("organization_id", "no such organization"))?;
                store::insert_account(conn, &row)
            })
            .await?;
        tracing::info!(account_id = %row.id, by = %principal.account_id, "staff account created");
        Ok(Response::new(pb::CreateStaffAccountResponse { account: Some(self.account_view(&row, Viewer::Admin)?) }))
    }

    async fn create_service_account(
        &self,
        request: Request<pb::CreateServiceAccountRequest>,
    ) -> Result<Response<pb::CreateServiceAccountResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ManageAccounts, Resource::System)?;
        let req = request.into_inner();
        let mut violations = Vec::new();
        let display_name =
            crate::directory::rules::validate_name("display_name", &req.display_name, 100, &mut violations);
        let organization_id = parse_id("organization_id", &req.organization_id)
            .map_err(|_| violations.push(FieldViolation::new("organization_id", "must be an organization id")))
            .ok();
        let mut scopes = Vec::new();
        if req.scopes.is_empty() {
            violations.push(FieldViolation::new("scopes", "grant at least one scope"));
        }
        for (i, raw) in req.scopes.iter().enumerate() {
            match Scope::from_i32(*raw) {
                Some(scope) if !scopes.contains(&scope) => scopes.push(scope),
                Some(_) => {}
                None => violations.push(FieldViolation::new(format!("scopes[{i}]"), "unknown scope")),
            }
        }
        let (Some(organization_id), true) = (organization_id, violations.is_empty()) else {
            return Err(AppError::InvalidArgument(violations).into());
        };
        scopes.sort();
        let client_id = format!("svc-{}", random_token(12).to_ascii_lowercase().replace(['_', '-'], "x"));
        let client_secret = random_token(32);
        let secret_hash = self.state.hasher.hash(client_secret.clone()).await?;
        let row = AccountRow::new(
            Uuid::now_v7(),
            AccountKind::Service,
            display_name,
            secret_hash,
            &[Role::Partner],
            Utc::now(),
        )
        .with_login_name(client_id.clone())
        .with_organization(Some(organization_id))
        .with_scopes(&scopes);
        let row = self
            .state
            .db
            .run(move |conn| {
                directory_store::find_organization(conn, organization_id)?
                    .ok_or_else(|| AppError::invalid("organization_id", "no such organization"))?;
                store::insert_account(conn, &row)
            })
            .await?;
        tracing::info!(account_id = %row.id, by = %principal.account_id, "service account created");
        Ok(Response::new(pb::CreateServiceAccountResponse {
            account: Some(self.account_view(&row, Viewer::Admin)?),
            client_id,
            client_secret,
        }))
    }

    async fn exchange_client_credentials(
        &self,
        request: Request<pb::ExchangeClientCredentialsRequest>,
    ) -> Result<Response<pb::ExchangeClientCredentialsResponse>, Status> {
        let address = request.remote_addr();
        let req = request.into_inner();
        check_credentials_shape("client_id", &req.client_id, "client_secret", &req.client_secret)?;
        let wanted = req
            .scopes
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                Scope::from_i32(*raw).ok_or_else(|| FieldViolation::new(format!("scopes[{i}]"), "unknown scope"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|v| AppError::InvalidArgument(vec![v]))?;
        let client_id = req.client_id.clone();
        let (account, clear) = self
            .authenticate(req.client_id, req.client_secret, address, move |conn| {
                Ok(store::find_by_login_name(conn, &client_id)?
                    .filter(|a| a.account.kind == AccountKind::Service as i16))
            })
            .await?;
        let mut principal = Self::principal_of(&account)?;
        let id = principal.account_id;
        self.state
            .db
            .run(move |conn| {
                // Disabled since the secret was checked: the same answer.
                if store::lock_account_for_share(conn, id)?.is_none_or(|row| row.disabled) {
                    return Err(invalid_credentials());
                }
                clear.iter().try_for_each(|key| store::clear_throttle(conn, key))
            })
            .await?;
        self.state.accounts.remember(id);
        if let Some(missing) = wanted.iter().find(|s| !principal.scopes.contains(s)) {
            return Err(AppError::permission_denied(
                Reason::ScopeNotGranted,
                format!("scope {missing:?} is not granted to this client"),
            )
            .into());
        }
        if !wanted.is_empty() {
            principal.scopes = wanted;
        }
        // No sign-in to end: a client-credential token lives out its short
        // life unless the account is disabled.
        let access = self.state.tokens.issue(&principal, None)?;
        Ok(Response::new(pb::ExchangeClientCredentialsResponse {
            access_token: access.token,
            access_token_expire_time: Some(system_time_to_timestamp(access.expires_at)),
            scopes: principal.scopes.iter().map(|s| *s as i32).collect(),
        }))
    }

    async fn get_account(
        &self,
        request: Request<pb::GetAccountRequest>,
    ) -> Result<Response<pb::GetAccountResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ManageAccounts, Resource::System)?;
        let id = parse_id("id", &request.into_inner().id)?;
        let account = self
            .state
            .db
            .read(move |conn| store::find_account(conn, id))
            .await?
            .ok_or(AppError::NotFound { resource: "account" })?;
        Ok(Response::new(pb::GetAccountResponse { account: Some(self.account_view(&account.account, Viewer::Admin)?) }))
    }

    async fn set_account_disabled(
        &self,
        request: Request<pb::SetAccountDisabledRequest>,
    ) -> Result<Response<pb::SetAccountDisabledResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ManageAccounts, Resource::System)?;
        let req = request.into_inner();
        let id = parse_id("id", &req.id)?;
        if id == principal.account_id && req.disabled {
            return Err(AppError::FailedPrecondition {
                reason: Reason::CannotDisableSelf,
                message: "an admin cannot disable their own account".into(),
                subject: format!("accounts/{id}"),
            }
            .into());
        }
        let disabled = req.disabled;
        let (row, revoked) = self
            .state
            .db
            .run(move |conn| {
                let row = store::set_disabled(conn, id, disabled)?.ok_or(AppError::NotFound { resource: "account" })?;
                if !disabled {
                    return Ok((row, None));
                }
                // Taken after the update, which waited for any sign-in or
                // refresh holding the account: their tokens are covered.
                let revocation = Revocation::Account { account_id: id, at: Utc::now() };
                store::revoke_account_tokens(conn, id, Utc::now())?;
                revocation::store::insert(conn, &revocation)?;
                Ok((row, Some(revocation)))
            })
            .await?;
        // At once here; other servers read it within a second.
        self.state.revocations.apply(revoked);
        tracing::info!(account_id = %id, disabled, by = %principal.account_id, "account status changed");
        Ok(Response::new(pb::SetAccountDisabledResponse { account: Some(self.account_view(&row, Viewer::Admin)?) }))
    }
}
