//! [`Client`]: the connection, the sign-in state and the call plumbing shared
//! by the service wrappers.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tonic::Code;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;

use crate::auth::{self, AUTHORIZATION, ClientCredentials, Origin, Session, Tokens};
use crate::builder::ClientBuilder;
use crate::calendar::CalendarClient;
use crate::cases::CaseClient;
use crate::directory::DirectoryClient;
use crate::error::{Result, required};
use crate::feed::FeedClient;
use crate::idempotency::Repeatable;
use crate::identity::IdentityClient;
use crate::pb;
use crate::retry::{Backoff, RetryPolicy, transient_wait};
use crate::taxonomy::TaxonomyClient;

/// How long [`Client::connect`] waits for the TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The `user-agent` sent by clients made with [`Client::connect`].
pub(crate) const USER_AGENT: &str = concat!("petition-sdk/", env!("CARGO_PKG_VERSION"));

/// A connection to the petition API and the sign-in state used on it.
///
/// Cloning is cheap (one reference count) and clones share both the
/// connection and the sign-in: signing in or out through one clone affects
/// all. [`new_session`](Client::new_session) and
/// [`with_access_token`](Client::with_access_token) make a client that
/// shares only the connection.
///
/// Every call made through the service clients ([`identity`](Client::identity),
/// [`directory`](Client::directory), [`calendar`](Client::calendar),
/// [`taxonomy`](Client::taxonomy) and [`cases`](Client::cases)) sends
/// `authorization: Bearer <access token>` when the client holds a token
/// (except the few identity calls that take none). The access token is
/// renewed transparently:
///
/// * before it expires: when less than 30 seconds or a tenth of its lifetime
///   is left (but at most half its lifetime), through `RefreshToken` after
///   [`login`](Client::login) or by exchanging the client credentials again
///   after [`login_with_client_credentials`](Client::login_with_client_credentials);
/// * when the server rejects a call as `UNAUTHENTICATED` (for example when
///   the local clock disagrees with the server's): the tokens are renewed
///   once and the call retried once.
///
/// Concurrent calls share a single renewal. Refresh tokens rotate; the new
/// pair replaces the old one atomically. If renewal fails with
/// `UNAUTHENTICATED` (the sign-in was revoked or expired) the tokens are
/// forgotten and the call fails with that error.
///
/// Calls that are safe to repeat are retried when the server or the
/// connection is briefly unavailable, within the client's [`RetryPolicy`]
/// (see [`with_retry_policy`](Client::with_retry_policy) and the crate
/// documentation for which calls those are).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    channel: Channel,
    session: Arc<Session>,
    retry: RetryPolicy,
}

impl Client {
    /// Connects to the server at `url`, such as `http://127.0.0.1:50051`
    /// or `https://petition.example.gov.cn`, with the default
    /// [`RetryPolicy`].
    ///
    /// A URL without a scheme is taken as `http://`; `https://` connects
    /// over TLS, trusting the system's roots. The connection is made now,
    /// waiting at most [`CONNECT_TIMEOUT`]; if it later drops it is
    /// re-established on the next call. For a private CA, a client
    /// certificate or other settings use [`ClientBuilder`] (or build a
    /// [`Channel`] yourself and use [`from_channel`](Client::from_channel)).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Connect`](crate::ErrorKind::Connect) if the URL is
    /// invalid or the server cannot be reached.
    pub async fn connect(url: impl Into<String>) -> Result<Client> {
        ClientBuilder::new(url).connect().await
    }

    /// [`ClientBuilder::new`]: options for connecting to `url`.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    /// A client using an existing channel, not signed in, with the default
    /// [`RetryPolicy`].
    #[must_use]
    pub fn from_channel(channel: Channel) -> Client {
        Client::with_session(channel, Arc::new(Session::default()), RetryPolicy::default())
    }

    fn with_session(channel: Channel, session: Arc<Session>, retry: RetryPolicy) -> Client {
        Client { inner: Arc::new(Inner { channel, session, retry }) }
    }

    /// A client on the same connection and sign-in (signing in or out
    /// through either affects both) that retries by `policy`.
    #[must_use]
    pub fn with_retry_policy(&self, policy: RetryPolicy) -> Client {
        let Inner { channel, session, .. } = &*self.inner;
        Client::with_session(channel.clone(), Arc::clone(session), policy)
    }

    /// How this client retries.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The underlying channel, for example to build other gRPC clients
    /// (such as a health client) on the same connection.
    pub fn channel(&self) -> &Channel {
        &self.inner.channel
    }

    /// The `IdentityService` calls: accounts, sign-in and tokens.
    pub fn identity(&self) -> IdentityClient {
        IdentityClient::new(self.clone())
    }

    /// The `DirectoryService` calls: regions, organizations and staff.
    pub fn directory(&self) -> DirectoryClient {
        DirectoryClient::new(self.clone())
    }

    /// The `CalendarService` calls: the workday calendar and deadlines.
    pub fn calendar(&self) -> CalendarClient {
        CalendarClient::new(self.clone())
    }

    /// The `TaxonomyService` calls: case categories and routing rules.
    pub fn taxonomy(&self) -> TaxonomyClient {
        TaxonomyClient::new(self.clone())
    }

    /// The `CaseService` calls: filing cases, reading them and their
    /// timeline, and every lifecycle step.
    pub fn cases(&self) -> CaseClient {
        CaseClient::new(self.clone())
    }

    /// The `MediationService` calls: teams, screening, disputes.
    pub fn mediation(&self) -> crate::MediationClient {
        crate::MediationClient::new(self.clone())
    }

    /// The `LegalAidService` calls: applications to legal-aid centres.
    pub fn legal_aid(&self) -> crate::LegalAidClient {
        crate::LegalAidClient::new(self.clone())
    }

    /// The `CourtService` calls: referrals of cases to
    /// courts and the court's acts on them.
    pub fn courts(&self) -> crate::CourtClient {
        crate::CourtClient::new(self.clone())
    }

    /// The `RatingService` calls: the petitioner's ratings of served
    /// opinions and clerks' records of ratings given offline.
    pub fn ratings(&self) -> crate::RatingClient {
        crate::RatingClient::new(self.clone())
    }

    /// The `SupervisionService` calls: supervision items (督办) and their
    /// ladder.
    pub fn supervision(&self) -> crate::SupervisionClient {
        crate::SupervisionClient::new(self.clone())
    }

    /// The `ReceptionService` calls: leaders' reception days (领导接访).
    pub fn reception(&self) -> crate::ReceptionClient {
        crate::ReceptionClient::new(self.clone())
    }

    /// The `BacklogService` calls: backlog cases (积案) and their four
    /// checks (一案四查).
    pub fn backlog(&self) -> crate::BacklogClient {
        crate::BacklogClient::new(self.clone())
    }

    /// The `MetricsService` calls: the city's dashboard and its exports.
    pub fn metrics(&self) -> crate::MetricsClient {
        crate::MetricsClient::new(self.clone())
    }

    /// The `ChangeFeedService` calls: every committed event the caller may
    /// see, in order, page by page or as a live watch.
    pub fn feed(&self) -> FeedClient {
        FeedClient::new(self.clone())
    }

    /// A client on the same connection with its own, empty, sign-in state:
    /// signing in on it does not affect this client and vice versa.
    #[must_use]
    pub fn new_session(&self) -> Client {
        Client::with_session(self.inner.channel.clone(), Arc::new(Session::default()), self.inner.retry)
    }

    /// Signs in with a login name (a citizen's phone number or a staff login
    /// name) and password, keeps the tokens for later calls and returns the
    /// account.
    ///
    /// # Errors
    ///
    /// `UNAUTHENTICATED` if the name or password is wrong (indistinguishably)
    /// or the account is disabled; `RESOURCE_EXHAUSTED` with
    /// [`retry_after`](crate::Error::retry_after) after repeated failures.
    pub async fn login(&self, login_name: impl Into<String>, password: impl Into<String>) -> Result<pb::Account> {
        let request = pb::LoginRequest { login_name: login_name.into(), password: password.into() };
        let response = self.identity().login(request).await?;
        let pair = required(response.tokens, "LoginResponse.tokens")?;
        let account = required(response.account, "LoginResponse.account")?;
        self.inner.session.install(Tokens::from_pair(pair, Origin::Server)?);
        Ok(account)
    }

    /// Signs in a partner service account with its client credentials,
    /// asking for `scopes` (none: every scope granted).
    ///
    /// There is no refresh token: the credentials are kept in memory and
    /// exchanged again when the access token nears expiry. Returns the
    /// exchange's response, whose `scopes` are those the token carries.
    ///
    /// # Errors
    ///
    /// `UNAUTHENTICATED` if the credentials are wrong or the account is
    /// disabled; `PERMISSION_DENIED` if a scope was not granted.
    pub async fn login_with_client_credentials(
        &self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        scopes: impl IntoIterator<Item = pb::Scope>,
    ) -> Result<pb::ExchangeClientCredentialsResponse> {
        let credentials = Arc::new(ClientCredentials {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scopes: scopes.into_iter().map(i32::from).collect(),
        });
        let (tokens, response) = auth::exchange(self.inner.channel.clone(), credentials).await?;
        self.inner.session.install(tokens);
        Ok(response)
    }

    /// Signs out: forgets the tokens (and client credentials) and revokes the
    /// refresh token's sign-in on the server. Does nothing if not signed in.
    ///
    /// Waits for a renewal in flight to finish first, so the refresh token
    /// revoked is the latest.
    ///
    /// # Errors
    ///
    /// The `Logout` call's error, except `UNAUTHENTICATED` (the sign-in is
    /// already gone). The tokens are forgotten either way.
    pub async fn logout(&self) -> Result<()> {
        let tokens = {
            let _no_renewals = self.inner.session.lock_renewals().await;
            self.inner.session.clear()
        };
        let Some(refresh_token) = tokens.as_deref().and_then(Tokens::refresh_token) else {
            return Ok(());
        };
        match self.identity().logout(refresh_token).await {
            Err(error) if error.code() == Code::Unauthenticated => Ok(()),
            result => result,
        }
    }

    /// A client on the same connection that sends `access_token` and never
    /// renews it; for callers that manage tokens themselves. This client is
    /// not affected.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the
    /// token is empty or cannot be sent in a header.
    pub fn with_access_token(&self, access_token: impl Into<String>) -> Result<Client> {
        let session = Session::default();
        session.install(Tokens::from_access_token(access_token.into())?);
        Ok(Client::with_session(self.inner.channel.clone(), Arc::new(session), self.inner.retry))
    }

    /// Replaces the tokens of this client (and its clones) with `tokens`,
    /// for example ones saved from an earlier [`tokens`](Client::tokens).
    /// They are renewed through `RefreshToken` if `refresh_token` is set and
    /// `access_token_expire_time` tells when; without a refresh token the
    /// access token is used until the server rejects it.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) if the
    /// access token is empty or cannot be sent in a header.
    pub fn set_tokens(&self, tokens: pb::TokenPair) -> Result<()> {
        self.inner.session.install(Tokens::from_pair(tokens, Origin::Caller)?);
        Ok(())
    }

    /// Forgets the tokens without revoking them on the server (see
    /// [`logout`](Client::logout)).
    pub fn clear_tokens(&self) {
        self.inner.session.clear();
    }

    /// The current tokens, if signed in. After
    /// [`login_with_client_credentials`](Client::login_with_client_credentials)
    /// or [`with_access_token`](Client::with_access_token) only the access
    /// token fields are set.
    pub fn tokens(&self) -> Option<pb::TokenPair> {
        self.inner.session.current().map(|tokens| tokens.pair().clone())
    }

    /// The current access token, if signed in. It may be about to expire;
    /// calls made through the client renew it first.
    pub fn access_token(&self) -> Option<String> {
        self.inner.session.current().map(|tokens| tokens.pair().access_token.clone())
    }

    /// Makes an authenticated unary call: attaches the access token (renewed
    /// first if due) and, if the server rejects it as `UNAUTHENTICATED`,
    /// renews it and retries once. A request that is safe to repeat is then
    /// tried again by the retry policy while it fails transiently, with the
    /// same request id each time.
    pub(crate) async fn call<Req, Resp, F, Fut>(&self, mut message: Req, rpc: F) -> Result<Resp>
    where
        Req: Repeatable + Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>,
    {
        if !message.make_repeatable() {
            return self.call_once(message, &rpc).await;
        }
        self.retrying(message, |message| self.call_once(message, &rpc)).await
    }

    /// One attempt of [`call`](Client::call): the token, and the renewal on
    /// `UNAUTHENTICATED`.
    async fn call_once<Req, Resp, F, Fut>(&self, message: Req, rpc: &F) -> Result<Resp>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let Inner { channel, session, .. } = &*self.inner;
        let Some(tokens) = session.authorization(channel).await? else {
            return send(rpc, channel, message, None).await;
        };
        let retry = tokens.can_renew().then(|| message.clone());
        let rejection = match send(rpc, channel, message, Some(tokens.header())).await {
            Err(error) if error.code() == Code::Unauthenticated => error,
            done => return done,
        };
        let Some(message) = retry else {
            return Err(rejection);
        };
        match session.renew_rejected(channel, tokens).await {
            Ok(Some(fresh)) => send(rpc, channel, message, Some(fresh.header())).await,
            Ok(None) => Err(rejection),
            Err(error) if error.code() == Code::Unauthenticated => Err(error),
            Err(_) => Err(rejection),
        }
    }

    /// Makes a unary call without credentials (for the RPCs that take none),
    /// retried like [`call`](Client::call).
    pub(crate) async fn call_anonymous<Req, Resp, F, Fut>(&self, mut message: Req, rpc: F) -> Result<Resp>
    where
        Req: Repeatable + Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let channel = &self.inner.channel;
        if !message.make_repeatable() {
            return send(&rpc, channel, message, None).await;
        }
        self.retrying(message, |message| send(&rpc, channel, message, None)).await
    }

    /// Runs `attempt` until it succeeds, fails for good, or the retry
    /// budget is spent; returns the last outcome.
    async fn retrying<Req, Resp, Fut>(&self, message: Req, attempt: impl Fn(Req) -> Fut) -> Result<Resp>
    where
        Req: Clone,
        Fut: Future<Output = Result<Resp>>,
    {
        let mut backoff = Backoff::new(self.inner.retry);
        loop {
            let error = match attempt(message.clone()).await {
                Ok(response) => return Ok(response),
                Err(error) => error,
            };
            match transient_wait(&error).and_then(|floor| backoff.next_delay(floor)) {
                Some(delay) => tokio::time::sleep(delay).await,
                None => return Err(error),
            }
        }
    }
}

async fn send<Req, Resp, F, Fut>(
    rpc: &F,
    channel: &Channel,
    message: Req,
    authorization: Option<&AsciiMetadataValue>,
) -> Result<Resp>
where
    F: Fn(Channel, tonic::Request<Req>) -> Fut,
    Fut: Future<Output = std::result::Result<tonic::Response<Resp>, tonic::Status>>,
{
    let mut request = tonic::Request::new(message);
    if let Some(value) = authorization {
        request.metadata_mut().insert(AUTHORIZATION, value.clone());
    }
    Ok(rpc(channel.clone(), request).await?.into_inner())
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tokens = self.inner.session.current();
        f.debug_struct("Client")
            .field("signed_in", &tokens.is_some())
            .field("renews_tokens", &tokens.is_some_and(|tokens| tokens.can_renew()))
            .finish_non_exhaustive()
    }
}

/// Builds the closure [`Client::call`] takes for one method of a generated
/// client, e.g. `rpc!(IdentityServiceClient::get_me)`.
macro_rules! rpc {
    ($client:ident :: $method:ident) => {
        |channel, request| async move { $client::new(channel).$method(request).await }
    };
}
pub(crate) use rpc;
