//! The SDK against an in-process fake server (no database): token
//! attachment, proactive and reactive renewal, single-flight refresh,
//! client-credential re-exchange, sign-out, error details over the wire,
//! paging, and retries beside renewal.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use futures::TryStreamExt;
use petition_sdk::pb::directory_service_server::{DirectoryService, DirectoryServiceServer};
use petition_sdk::pb::identity_service_server::{IdentityService, IdentityServiceServer};
use petition_sdk::tonic::{self, Code, Request, Response, Status};
use petition_sdk::tonic_types::{ErrorDetails, StatusExt};
use petition_sdk::{Client, ErrorKind, RetryPolicy, pb};

type Reply<T> = Result<Response<T>, Status>;

#[derive(Default)]
struct Tokens {
    next: usize,
    access: HashSet<String>,
    refresh: HashSet<String>,
    used_refresh: HashSet<String>,
}

#[derive(Default)]
struct Fake {
    /// Lifetime of access tokens issued.
    access_lifetime: Mutex<Duration>,
    /// How long RefreshToken and ExchangeClientCredentials take.
    renewal_delay: Mutex<Duration>,
    tokens: Mutex<Tokens>,
    refreshes: AtomicUsize,
    exchanges: AtomicUsize,
    /// A used refresh token was presented again.
    reuse_detected: AtomicBool,
    /// `authorization` values seen, by RPC.
    seen: Mutex<Vec<(&'static str, Option<String>)>>,
    logged_out: Mutex<Vec<String>>,
    exchange_scopes: Mutex<Vec<Vec<i32>>>,
    /// Answers for authenticated calls, before their real one.
    failures: Mutex<VecDeque<Status>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().expect("fake server lock")
}

impl Fake {
    fn with_lifetime(lifetime: Duration) -> Arc<Fake> {
        let fake = Arc::new(Fake::default());
        *lock(&fake.access_lifetime) = lifetime;
        fake
    }

    fn record<T>(&self, rpc: &'static str, request: &Request<T>) -> Option<String> {
        let header = request.metadata().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
        lock(&self.seen).push((rpc, header.clone()));
        header
    }

    fn issue(&self, with_refresh: bool) -> pb::TokenPair {
        let mut tokens = lock(&self.tokens);
        tokens.next += 1;
        let access = format!("A{}", tokens.next);
        tokens.access.insert(access.clone());
        let refresh = if with_refresh {
            let refresh = format!("R{}", tokens.next);
            tokens.refresh.insert(refresh.clone());
            refresh
        } else {
            String::new()
        };
        let lifetime = *lock(&self.access_lifetime);
        pb::TokenPair {
            access_token: access,
            access_token_expire_time: Some((SystemTime::now() + lifetime).into()),
            refresh_token: refresh,
            refresh_token_expire_time: Some((SystemTime::now() + Duration::from_secs(86_400)).into()),
        }
    }

    fn authenticate<T>(&self, rpc: &'static str, request: &Request<T>) -> Result<(), Status> {
        let header = self.record(rpc, request);
        let token = header.as_deref().and_then(|h| h.strip_prefix("Bearer "));
        match token {
            Some(token) if lock(&self.tokens).access.contains(token) => {
                lock(&self.failures).pop_front().map_or(Ok(()), Err)
            }
            _ => Err(Status::unauthenticated("missing or invalid access token")),
        }
    }

    /// Server-side expiry of every access token issued so far.
    fn expire_access_tokens(&self) {
        lock(&self.tokens).access.clear();
    }

    /// Revokes everything, as disabling the account would.
    fn revoke_all(&self) {
        let mut tokens = lock(&self.tokens);
        tokens.access.clear();
        tokens.refresh.clear();
    }

    fn account() -> pb::Account {
        pb::Account {
            id: "0190a1b2-0000-7000-8000-000000000001".into(),
            kind: pb::AccountKind::Citizen.into(),
            login_name: "13800138000".into(),
            display_name: "张三".into(),
            ..Default::default()
        }
    }
}

#[derive(Clone)]
struct Server(Arc<Fake>);

#[tonic::async_trait]
impl IdentityService for Server {
    async fn register_citizen(
        &self,
        request: Request<pb::RegisterCitizenRequest>,
    ) -> Reply<pb::RegisterCitizenResponse> {
        self.0.record("RegisterCitizen", &request);
        let request = request.into_inner();
        if request.phone.len() != 11 {
            let details = ErrorDetails::with_bad_request_violation("phone", "must be 11 digits starting with 1");
            return Err(Status::with_error_details(Code::InvalidArgument, "invalid fields", details));
        }
        Ok(Response::new(pb::RegisterCitizenResponse { account: Some(Fake::account()) }))
    }

    async fn login(&self, request: Request<pb::LoginRequest>) -> Reply<pb::LoginResponse> {
        self.0.record("Login", &request);
        let request = request.into_inner();
        if request.password != "correct horse" {
            let mut details =
                ErrorDetails::with_error_info("LOGIN_THROTTLED", "petition.v1", std::collections::HashMap::new());
            details.set_retry_info(Some(Duration::from_secs(30)));
            return Err(Status::with_error_details(Code::ResourceExhausted, "too many attempts", details));
        }
        let tokens = self.0.issue(true);
        Ok(Response::new(pb::LoginResponse { tokens: Some(tokens), account: Some(Fake::account()) }))
    }

    async fn refresh_token(&self, request: Request<pb::RefreshTokenRequest>) -> Reply<pb::RefreshTokenResponse> {
        self.0.record("RefreshToken", &request);
        self.0.refreshes.fetch_add(1, Ordering::SeqCst);
        let delay = *lock(&self.0.renewal_delay);
        tokio::time::sleep(delay).await;
        let presented = request.into_inner().refresh_token;
        {
            let mut tokens = lock(&self.0.tokens);
            if tokens.used_refresh.contains(&presented) {
                self.0.reuse_detected.store(true, Ordering::SeqCst);
                tokens.access.clear();
                tokens.refresh.clear();
                return Err(Status::unauthenticated("refresh token reused"));
            }
            if !tokens.refresh.remove(&presented) {
                return Err(Status::unauthenticated("unknown refresh token"));
            }
            tokens.used_refresh.insert(presented);
        }
        Ok(Response::new(pb::RefreshTokenResponse { tokens: Some(self.0.issue(true)) }))
    }

    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Reply<pb::LogoutResponse> {
        self.0.record("Logout", &request);
        let presented = request.into_inner().refresh_token;
        lock(&self.0.tokens).refresh.remove(&presented);
        lock(&self.0.logged_out).push(presented);
        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn get_me(&self, request: Request<pb::GetMeRequest>) -> Reply<pb::GetMeResponse> {
        self.0.authenticate("GetMe", &request)?;
        Ok(Response::new(pb::GetMeResponse { account: Some(Fake::account()) }))
    }

    async fn create_staff_account(
        &self,
        _: Request<pb::CreateStaffAccountRequest>,
    ) -> Reply<pb::CreateStaffAccountResponse> {
        Err(Status::unimplemented("fake"))
    }

    async fn create_service_account(
        &self,
        _: Request<pb::CreateServiceAccountRequest>,
    ) -> Reply<pb::CreateServiceAccountResponse> {
        Err(Status::unimplemented("fake"))
    }

    async fn exchange_client_credentials(
        &self,
        request: Request<pb::ExchangeClientCredentialsRequest>,
    ) -> Reply<pb::ExchangeClientCredentialsResponse> {
        self.0.record("ExchangeClientCredentials", &request);
        self.0.exchanges.fetch_add(1, Ordering::SeqCst);
        let delay = *lock(&self.0.renewal_delay);
        tokio::time::sleep(delay).await;
        let request = request.into_inner();
        if request.client_id != "court-1" || request.client_secret != "s3cr3t" {
            return Err(Status::unauthenticated("bad client credentials"));
        }
        lock(&self.0.exchange_scopes).push(request.scopes.clone());
        let pair = self.0.issue(false);
        Ok(Response::new(pb::ExchangeClientCredentialsResponse {
            access_token: pair.access_token,
            access_token_expire_time: pair.access_token_expire_time,
            scopes: request.scopes,
        }))
    }

    async fn get_account(&self, _: Request<pb::GetAccountRequest>) -> Reply<pb::GetAccountResponse> {
        // Contract violation on purpose: no account.
        Ok(Response::new(pb::GetAccountResponse { account: None }))
    }

    async fn set_account_disabled(
        &self,
        _: Request<pb::SetAccountDisabledRequest>,
    ) -> Reply<pb::SetAccountDisabledResponse> {
        Err(Status::unimplemented("fake"))
    }
}

#[tonic::async_trait]
impl DirectoryService for Server {
    async fn create_region(&self, request: Request<pb::CreateRegionRequest>) -> Reply<pb::CreateRegionResponse> {
        self.0.authenticate("CreateRegion", &request)?;
        let request = request.into_inner();
        let region = pb::Region { code: request.code, name: request.name, ..Default::default() };
        Ok(Response::new(pb::CreateRegionResponse { region: Some(region) }))
    }

    async fn get_region(&self, request: Request<pb::GetRegionRequest>) -> Reply<pb::GetRegionResponse> {
        self.0.authenticate("GetRegion", &request)?;
        let code = request.into_inner().code;
        Ok(Response::new(pb::GetRegionResponse {
            region: Some(pb::Region { code, name: "南京市".into(), ..Default::default() }),
        }))
    }

    /// 7 regions, 320101..=320107, in pages of `page_size` (default 3);
    /// the page token is the index to start at.
    async fn list_regions(&self, request: Request<pb::ListRegionsRequest>) -> Reply<pb::ListRegionsResponse> {
        self.0.authenticate("ListRegions", &request)?;
        let request = request.into_inner();
        let start: usize = if request.page_token.is_empty() {
            0
        } else {
            request.page_token.parse().map_err(|_| Status::invalid_argument("bad page token"))?
        };
        let size = if request.page_size == 0 { 3 } else { request.page_size as usize };
        let end = (start + size).min(7);
        let regions = (start..end)
            .map(|i| pb::Region {
                code: format!("3201{:02}", i + 1),
                name: format!("区{i}"),
                level: pb::RegionLevel::County.into(),
                parent_code: request.parent_code.clone(),
            })
            .collect();
        let next_page_token = if end < 7 { end.to_string() } else { String::new() };
        Ok(Response::new(pb::ListRegionsResponse { regions, next_page_token }))
    }

    async fn create_organization(
        &self,
        _: Request<pb::CreateOrganizationRequest>,
    ) -> Reply<pb::CreateOrganizationResponse> {
        Err(Status::unimplemented("fake"))
    }

    async fn get_organization(&self, _: Request<pb::GetOrganizationRequest>) -> Reply<pb::GetOrganizationResponse> {
        Err(Status::unimplemented("fake"))
    }

    async fn list_organizations(
        &self,
        _: Request<pb::ListOrganizationsRequest>,
    ) -> Reply<pb::ListOrganizationsResponse> {
        Err(Status::unimplemented("fake"))
    }

    async fn update_organization(
        &self,
        _: Request<pb::UpdateOrganizationRequest>,
    ) -> Reply<pb::UpdateOrganizationResponse> {
        Err(Status::unimplemented("fake"))
    }

    async fn list_staff(&self, _: Request<pb::ListStaffRequest>) -> Reply<pb::ListStaffResponse> {
        Err(Status::unimplemented("fake"))
    }
}

async fn start(fake: &Arc<Fake>) -> Client {
    let incoming = tonic::transport::server::TcpIncoming::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .expect("bind a loopback port");
    let addr = incoming.local_addr().expect("local address");
    let server = Server(Arc::clone(fake));
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(IdentityServiceServer::new(server.clone()))
            .add_service(DirectoryServiceServer::new(server))
            .serve_with_incoming(incoming),
    );
    let client = Client::connect(format!("http://{addr}")).await.expect("connect to the fake server");
    // The default policy, in milliseconds.
    client.with_retry_policy(
        RetryPolicy::default()
            .with_initial_backoff(Duration::from_millis(2))
            .with_max_backoff(Duration::from_millis(10)),
    )
}

fn auth_headers(fake: &Fake, rpc: &str) -> Vec<Option<String>> {
    lock(&fake.seen).iter().filter(|(name, _)| *name == rpc).map(|(_, header)| header.clone()).collect()
}

const LONG: Duration = Duration::from_secs(900);

#[tokio::test]
async fn login_stores_tokens_and_calls_send_them() {
    let fake = Fake::with_lifetime(LONG);
    let client = start(&fake).await;

    let account = client.login("13800138000", "correct horse").await.expect("login");
    assert_eq!(account.display_name, "张三");
    assert_eq!(client.tokens().map(|t| t.refresh_token), Some("R1".into()));

    let me = client.identity().get_me().await.expect("get_me");
    assert_eq!(me.id, account.id);
    assert_eq!(auth_headers(&fake, "GetMe"), vec![Some("Bearer A1".into())]);
    // Sign-in RPCs never carry the token.
    assert_eq!(auth_headers(&fake, "Login"), vec![None]);
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn anonymous_calls_carry_no_token() {
    let fake = Fake::with_lifetime(LONG);
    let client = start(&fake).await;
    client.login("13800138000", "correct horse").await.expect("login");
    let request = pb::RegisterCitizenRequest { phone: "13900139000".into(), ..Default::default() };
    client.identity().register_citizen(request).await.expect("register");
    assert_eq!(auth_headers(&fake, "RegisterCitizen"), vec![None]);
}

#[tokio::test]
async fn not_signed_in_calls_are_rejected_by_the_server() {
    let fake = Fake::with_lifetime(LONG);
    let client = start(&fake).await;
    let error = client.identity().get_me().await.expect_err("not signed in");
    assert_eq!(error.code(), Code::Unauthenticated);
    assert_eq!(auth_headers(&fake, "GetMe"), vec![None]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_share_one_proactive_refresh() {
    let fake = Fake::with_lifetime(Duration::from_secs(2));
    *lock(&fake.renewal_delay) = Duration::from_millis(100);
    let client = start(&fake).await;
    client.login("13800138000", "correct horse").await.expect("login");

    // Margin for a 2 s token is 1 s: after 1.2 s it is due, not yet expired.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.identity().get_me().await })
        })
        .collect();
    for call in calls {
        call.await.expect("task").expect("get_me after refresh");
    }
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 1);
    assert!(!fake.reuse_detected.load(Ordering::SeqCst));
    assert_eq!(client.tokens().map(|t| t.refresh_token), Some("R2".into()));
    assert!(auth_headers(&fake, "GetMe").iter().all(|h| h.as_deref() == Some("Bearer A2")));
    assert_eq!(auth_headers(&fake, "RefreshToken"), vec![None]);
}

#[tokio::test]
async fn a_rejected_token_is_renewed_and_the_call_retried_once() {
    let fake = Fake::with_lifetime(LONG);
    let client = start(&fake).await;
    client.login("13800138000", "correct horse").await.expect("login");

    fake.expire_access_tokens();
    let me = client.identity().get_me().await.expect("retried with a renewed token");
    assert_eq!(me.login_name, "13800138000");
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 1);
    assert_eq!(auth_headers(&fake, "GetMe"), vec![Some("Bearer A1".into()), Some("Bearer A2".into())]);
}

#[tokio::test]
async fn a_revoked_sign_in_clears_the_tokens() {
    let fake = Fake::with_lifetime(LONG);
    let client = start(&fake).await;
    client.login("13800138000", "correct horse").await.expect("login");

    fake.revoke_all();
    let error = client.identity().get_me().await.expect_err("revoked");
    assert_eq!(error.code(), Code::Unauthenticated);
    assert_eq!(error.message(), "unknown refresh token");
    assert_eq!(client.tokens(), None);
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 1);
    // Later calls go out without a token and do not try to refresh again.
    let error = client.identity().get_me().await.expect_err("signed out");
    assert_eq!(error.code(), Code::Unauthenticated);
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_caller_giving_up_mid_refresh_does_not_lose_the_rotated_token() {
    let fake = Fake::with_lifetime(Duration::from_secs(2));
    *lock(&fake.renewal_delay) = Duration::from_millis(300);
    let client = start(&fake).await;
    client.login("13800138000", "correct horse").await.expect("login");
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // Gives up while the refresh is in flight.
    let gave_up = tokio::time::timeout(Duration::from_millis(50), client.identity().get_me()).await;
    assert!(gave_up.is_err());
    // The renewal finishes in the background and stores the new pair...
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(client.tokens().map(|t| t.refresh_token), Some("R2".into()));
    // ...so nothing presents R1 again.
    client.identity().get_me().await.expect("get_me");
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 1);
    assert!(!fake.reuse_detected.load(Ordering::SeqCst));
}

#[tokio::test]
async fn client_credentials_are_exchanged_again_near_expiry() {
    let fake = Fake::with_lifetime(Duration::from_secs(2));
    let client = start(&fake).await;
    let response = client
        .login_with_client_credentials("court-1", "s3cr3t", [pb::Scope::CasesRead, pb::Scope::DirectoryRead])
        .await
        .expect("exchange");
    assert_eq!(response.scopes().collect::<Vec<_>>(), vec![pb::Scope::CasesRead, pb::Scope::DirectoryRead]);
    let tokens = client.tokens().expect("signed in");
    assert_eq!((tokens.access_token.as_str(), tokens.refresh_token.as_str()), ("A1", ""));

    client.identity().get_me().await.expect("get_me");
    assert_eq!(fake.exchanges.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    client.identity().get_me().await.expect("get_me after re-exchange");
    assert_eq!(fake.exchanges.load(Ordering::SeqCst), 2);
    assert_eq!(auth_headers(&fake, "GetMe"), vec![Some("Bearer A1".into()), Some("Bearer A2".into())]);
    let scopes = lock(&fake.exchange_scopes).clone();
    assert_eq!(scopes, vec![vec![1, 3], vec![1, 3]]);
    assert!(!format!("{client:?}").contains("s3cr3t"));

    // Logging out forgets the credentials; there is nothing to revoke.
    client.logout().await.expect("logout");
    assert_eq!(client.tokens(), None);
    assert!(lock(&fake.logged_out).is_empty());
}

#[tokio::test]
async fn logout_revokes_the_latest_refresh_token_and_forgets_tokens() {
    let fake = Fake::with_lifetime(LONG);
    let client = start(&fake).await;
    client.logout().await.expect("logout when signed out is a no-op");

    client.login("13800138000", "correct horse").await.expect("login");
    fake.expire_access_tokens();
    client.identity().get_me().await.expect("renewed");
    client.logout().await.expect("logout");
    assert_eq!(*lock(&fake.logged_out), vec!["R2".to_owned()]);
    assert_eq!(client.tokens(), None);
}

#[tokio::test]
async fn static_access_tokens_are_sent_but_never_renewed() {
    let fake = Fake::with_lifetime(LONG);
    let client = start(&fake).await;
    let pair = fake.issue(true);
    let static_client = client.with_access_token(pair.access_token.clone()).expect("token");
    static_client.identity().get_me().await.expect("get_me");
    assert_eq!(client.tokens(), None);

    fake.expire_access_tokens();
    let error = static_client.identity().get_me().await.expect_err("expired");
    assert_eq!(error.code(), Code::Unauthenticated);
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 0);
    // Still held: the caller manages it.
    assert!(static_client.tokens().is_some());
}

#[tokio::test]
async fn set_tokens_renews_through_the_given_refresh_token() {
    let fake = Fake::with_lifetime(LONG);
    let client = start(&fake).await;
    let pair = fake.issue(true);
    client.set_tokens(pair).expect("set tokens");
    fake.expire_access_tokens();
    client.identity().get_me().await.expect("renewed through RefreshToken");
    assert_eq!(client.tokens().map(|t| t.refresh_token), Some("R2".into()));
}

#[tokio::test]
async fn error_details_survive_the_wire() {
    let fake = Fake::with_lifetime(LONG);
    let client = start(&fake).await;

    let error = client.login("13800138000", "wrong").await.expect_err("throttled");
    assert_eq!(error.kind(), ErrorKind::Status);
    assert_eq!(error.code(), Code::ResourceExhausted);
    assert_eq!(error.reason(), Some("LOGIN_THROTTLED"));
    assert_eq!(error.retry_after(), Some(Duration::from_secs(30)));
    assert_eq!(client.tokens(), None);

    let request = pb::RegisterCitizenRequest { phone: "123".into(), ..Default::default() };
    let error = client.identity().register_citizen(request).await.expect_err("invalid");
    let violations = error.field_violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].field, "phone");

    client.login("13800138000", "correct horse").await.expect("login");
    let error = client.identity().get_account("x").await.expect_err("missing field");
    assert_eq!(error.kind(), ErrorKind::InvalidResponse);
    assert!(error.to_string().contains("GetAccountResponse.account"), "{error}");
}

#[tokio::test]
async fn regions_stream_walks_every_page() {
    let fake = Fake::with_lifetime(LONG);
    let client = start(&fake).await;
    client.login("13800138000", "correct horse").await.expect("login");

    let filter = pb::ListRegionsRequest { parent_code: "320100".into(), ..Default::default() };
    let page = client.directory().list_regions(filter.clone()).await.expect("one page");
    assert_eq!((page.regions.len(), page.next_page_token.as_str()), (3, "3"));

    let regions: Vec<pb::Region> = client.directory().regions(filter).try_collect().await.expect("all pages");
    let codes: Vec<&str> = regions.iter().map(|r| r.code.as_str()).collect();
    assert_eq!(codes, ["320101", "320102", "320103", "320104", "320105", "320106", "320107"]);
    assert!(regions.iter().all(|r| r.parent_code == "320100"));
    assert_eq!(auth_headers(&fake, "ListRegions").len(), 1 + 3);

    let region = client.directory().get_region("320100").await.expect("get_region");
    assert_eq!(region.code, "320100");
}

#[tokio::test]
async fn a_call_renewed_after_unauthenticated_is_still_retried_when_unavailable() {
    let fake = Fake::with_lifetime(LONG);
    let client = start(&fake).await;
    client.login("13800138000", "correct horse").await.expect("login");

    fake.expire_access_tokens();
    lock(&fake.failures).extend([Status::unavailable("restarting"), Status::unavailable("restarting")]);
    let me = client.identity().get_me().await.expect("renewed once, then retried");
    assert_eq!(me.login_name, "13800138000");
    assert_eq!(fake.refreshes.load(Ordering::SeqCst), 1, "one renewal, kept across retries");
    assert_eq!(
        auth_headers(&fake, "GetMe"),
        vec![Some("Bearer A1".into()), Some("Bearer A2".into()), Some("Bearer A2".into()), Some("Bearer A2".into())]
    );
}

#[tokio::test]
async fn creates_without_a_request_id_are_not_retried() {
    let fake = Fake::with_lifetime(LONG);
    let client = start(&fake).await;
    client.login("13800138000", "correct horse").await.expect("login");

    lock(&fake.failures).push_back(Status::unavailable("restarting"));
    let request = pb::CreateRegionRequest { code: "320108".into(), name: "新区".into(), ..Default::default() };
    let error = client.directory().create_region(request).await.expect_err("not repeated blindly");
    assert_eq!(error.code(), Code::Unavailable);
    assert_eq!(auth_headers(&fake, "CreateRegion").len(), 1);

    // A read on the same client is.
    lock(&fake.failures).push_back(Status::unavailable("restarting"));
    client.directory().get_region("320100").await.expect("retried");
    assert_eq!(auth_headers(&fake, "GetRegion").len(), 2);
}
