//! The token store: the current access token, how to renew it, and when.
//!
//! A [`Session`] holds at most one set of [`Tokens`]. Every change (sign-in,
//! renewal, sign-out, tokens set by the caller) installs a new immutable
//! `Arc<Tokens>` under a fresh *generation* number, so a task that read the
//! tokens before an await can tell afterwards whether they were replaced.
//!
//! Renewal is single-flight: a task that finds the access token due for
//! renewal takes the session's renewal lock, re-checks whether another task
//! renewed while it waited, and only then calls `RefreshToken` (or
//! `ExchangeClientCredentials`). The RPC runs in a spawned task that owns the
//! lock, so a caller that gives up (drops its future) cannot lose a rotated
//! refresh token halfway: presenting a used refresh token again would revoke
//! the whole sign-in.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use petition_proto::v1 as pb;
use petition_proto::v1::identity_service_client::IdentityServiceClient;
use tonic::Code;
use tonic::metadata::AsciiMetadataValue;
use tonic::transport::Channel;

use crate::error::{Error, Result, required};

/// The metadata key carrying the access token.
pub(crate) const AUTHORIZATION: &str = "authorization";

/// Renew at the latest when this much of the access token's life is left...
pub(crate) const MIN_REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// ...or when less than `1 / LIFETIME_FRACTION` of its lifetime is left,
/// whichever comes first.
const LIFETIME_FRACTION: u32 = 10;

/// A renewal RPC that takes longer than this fails with `DEADLINE_EXCEEDED`
/// rather than holding every caller hostage.
const RENEWAL_TIMEOUT: Duration = Duration::from_secs(30);

/// How long before expiry a token with the given lifetime is renewed: the
/// larger of [`MIN_REFRESH_MARGIN`] and a tenth of the lifetime, but never
/// more than half the lifetime (so short-lived tokens are not renewed on
/// every call).
pub(crate) fn refresh_margin(lifetime: Duration) -> Duration {
    MIN_REFRESH_MARGIN.max(lifetime / LIFETIME_FRACTION).min(lifetime / 2)
}

/// Whether a token expiring at `expires_at`, issued with `lifetime`, should
/// be renewed at `now`.
pub(crate) fn refresh_due(now: Instant, expires_at: Instant, lifetime: Duration) -> bool {
    expires_at.saturating_duration_since(now) < refresh_margin(lifetime)
}

/// When an access token expires, on the local monotonic clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Expiry {
    /// The instant the token expires.
    pub(crate) at: Instant,
    /// Its lifetime as measured when it was received.
    pub(crate) lifetime: Duration,
}

impl Expiry {
    /// Reads the server's expiry timestamp, received at wall-clock time
    /// `now_wall` and monotonic time `now`.
    ///
    /// The remaining lifetime is measured against the wall clock once, on
    /// receipt, and tracked on the monotonic clock from then on. A missing or
    /// unrepresentable timestamp, or one not in the future (the clocks
    /// disagree by more than the lifetime), gives `None`: the SDK then never
    /// renews proactively and relies on renewing when a call is rejected as
    /// `UNAUTHENTICATED`.
    pub(crate) fn from_timestamp(
        expire_time: Option<&prost_types::Timestamp>,
        now_wall: SystemTime,
        now: Instant,
    ) -> Option<Expiry> {
        let expires_wall = SystemTime::try_from(*expire_time?).ok()?;
        let lifetime = expires_wall.duration_since(now_wall).ok()?;
        if lifetime.is_zero() {
            return None;
        }
        Some(Expiry { at: now.checked_add(lifetime)?, lifetime })
    }

    /// Whether the token should be renewed at `now`.
    pub(crate) fn refresh_due(&self, now: Instant) -> bool {
        refresh_due(now, self.at, self.lifetime)
    }

    /// Whether the token has expired at `now`.
    pub(crate) fn expired(&self, now: Instant) -> bool {
        now >= self.at
    }
}

/// A partner's client credentials, kept to exchange them again.
pub(crate) struct ClientCredentials {
    pub(crate) client_id: String,
    pub(crate) client_secret: String,
    pub(crate) scopes: Vec<i32>,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// How the access token is renewed.
#[derive(Debug)]
pub(crate) enum Renewal {
    /// It is not: the caller manages tokens.
    None,
    /// Through `RefreshToken` with the pair's refresh token.
    RefreshToken,
    /// By exchanging the client credentials again.
    ClientCredentials(Arc<ClientCredentials>),
}

/// Who supplied a token, for the error if it cannot be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The SDK's caller.
    Caller,
    /// The server.
    Server,
}

/// One access token and everything needed to send and renew it.
pub(crate) struct Tokens {
    generation: u64,
    header: AsciiMetadataValue,
    pair: pb::TokenPair,
    expiry: Option<Expiry>,
    renewal: Renewal,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokens")
            .field("generation", &self.generation)
            .field("expiry", &self.expiry)
            .field("renewal", &self.renewal)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    /// Tokens from a pair; renewed through `RefreshToken` if the pair has a
    /// refresh token.
    pub(crate) fn from_pair(pair: pb::TokenPair, origin: Origin) -> Result<Tokens> {
        let renewal = if pair.refresh_token.is_empty() { Renewal::None } else { Renewal::RefreshToken };
        Tokens::new(pair, renewal, origin)
    }

    /// Tokens from a client-credentials exchange, renewed by exchanging
    /// `credentials` again.
    pub(crate) fn from_exchange(
        response: &pb::ExchangeClientCredentialsResponse,
        credentials: Arc<ClientCredentials>,
    ) -> Result<Tokens> {
        let pair = pb::TokenPair {
            access_token: response.access_token.clone(),
            access_token_expire_time: response.access_token_expire_time,
            ..Default::default()
        };
        Tokens::new(pair, Renewal::ClientCredentials(credentials), Origin::Server)
    }

    /// A bare access token the caller manages: never renewed.
    pub(crate) fn from_access_token(access_token: String) -> Result<Tokens> {
        let pair = pb::TokenPair { access_token, ..Default::default() };
        Tokens::new(pair, Renewal::None, Origin::Caller)
    }

    fn new(pair: pb::TokenPair, renewal: Renewal, origin: Origin) -> Result<Tokens> {
        let header = if pair.access_token.is_empty() {
            Err("the access token is empty")
        } else {
            bearer(&pair.access_token).ok_or("the access token contains characters other than visible ASCII")
        };
        let header = header.map_err(|problem| match origin {
            Origin::Caller => Error::invalid_input(problem),
            Origin::Server => Error::invalid_response(format!("the server sent an unusable token: {problem}")),
        })?;
        let expiry = Expiry::from_timestamp(pair.access_token_expire_time.as_ref(), SystemTime::now(), Instant::now());
        Ok(Tokens { generation: 0, header, pair, expiry, renewal })
    }

    /// The `authorization` metadata value, `Bearer <access token>`.
    pub(crate) fn header(&self) -> &AsciiMetadataValue {
        &self.header
    }

    /// The token pair (for client-credentials and caller-supplied access
    /// tokens only the access token fields are set).
    pub(crate) fn pair(&self) -> &pb::TokenPair {
        &self.pair
    }

    /// Whether the SDK can obtain a new access token on its own.
    pub(crate) fn can_renew(&self) -> bool {
        !matches!(self.renewal, Renewal::None)
    }

    /// The refresh token, if the tokens came with one.
    pub(crate) fn refresh_token(&self) -> Option<&str> {
        match self.renewal {
            Renewal::RefreshToken => Some(&self.pair.refresh_token),
            _ => None,
        }
    }

    fn refresh_due(&self, now: Instant) -> bool {
        self.can_renew() && self.expiry.is_some_and(|expiry| expiry.refresh_due(now))
    }

    fn expired(&self, now: Instant) -> bool {
        self.expiry.is_some_and(|expiry| expiry.expired(now))
    }
}

/// `Bearer <token>` as a sensitive (never indexed, never logged) header
/// value, or `None` if the token cannot be sent in a header.
fn bearer(token: &str) -> Option<AsciiMetadataValue> {
    // Tokens are visible ASCII (RFC 6750 `b64token`); header values would
    // also take bytes above 0x7f, which no server would match.
    if !token.bytes().all(|byte| byte.is_ascii_graphic()) {
        return None;
    }
    let mut value = AsciiMetadataValue::try_from(format!("Bearer {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

/// Why tokens are being renewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Trigger {
    /// The access token is about to expire.
    Proactive,
    /// The server rejected it as `UNAUTHENTICATED`.
    Rejected,
}

/// The token store shared by clones of one `Client`.
#[derive(Debug, Default)]
pub(crate) struct Session {
    state: Mutex<State>,
    renew_lock: Arc<tokio::sync::Mutex<()>>,
}

#[derive(Debug, Default)]
struct State {
    generation: u64,
    tokens: Option<Arc<Tokens>>,
}

impl Session {
    fn state(&self) -> MutexGuard<'_, State> {
        // The state is replaced wholesale, so it is consistent even if a
        // holder panicked.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The current tokens.
    pub(crate) fn current(&self) -> Option<Arc<Tokens>> {
        self.state().tokens.clone()
    }

    /// Replaces the tokens.
    pub(crate) fn install(&self, tokens: Tokens) -> Arc<Tokens> {
        let mut state = self.state();
        Self::put(&mut state, tokens)
    }

    /// Replaces the tokens only if nothing changed since `generation`.
    fn install_if(&self, generation: u64, tokens: Tokens) -> Option<Arc<Tokens>> {
        let mut state = self.state();
        (state.generation == generation).then(|| Self::put(&mut state, tokens))
    }

    fn put(state: &mut State, mut tokens: Tokens) -> Arc<Tokens> {
        state.generation += 1;
        tokens.generation = state.generation;
        let tokens = Arc::new(tokens);
        state.tokens = Some(Arc::clone(&tokens));
        tokens
    }

    /// Forgets the tokens, returning them.
    pub(crate) fn clear(&self) -> Option<Arc<Tokens>> {
        let mut state = self.state();
        state.generation += 1;
        state.tokens.take()
    }

    /// Forgets the tokens only if nothing changed since `generation`.
    fn clear_if(&self, generation: u64) {
        let mut state = self.state();
        if state.generation == generation {
            state.generation += 1;
            state.tokens = None;
        }
    }

    /// Waits for any renewal in flight and keeps new ones from starting
    /// while the guard lives.
    pub(crate) async fn lock_renewals(&self) -> tokio::sync::OwnedMutexGuard<()> {
        Arc::clone(&self.renew_lock).lock_owned().await
    }

    /// The tokens to send with a call, renewed first if they are about to
    /// expire. `None`: not signed in.
    ///
    /// If a due renewal fails for a reason other than `UNAUTHENTICATED`
    /// while the current access token is still valid, the current one is
    /// used. If it fails with `UNAUTHENTICATED` the tokens are forgotten and
    /// the error returned.
    pub(crate) async fn authorization(self: &Arc<Self>, channel: &Channel) -> Result<Option<Arc<Tokens>>> {
        match self.current() {
            Some(tokens) if tokens.refresh_due(Instant::now()) => self.renew(channel, tokens, Trigger::Proactive).await,
            current => Ok(current),
        }
    }

    /// Renews `rejected`, which the server refused as `UNAUTHENTICATED`.
    /// Returns the tokens to retry with (possibly renewed by another task
    /// meanwhile), or `None` if there are none.
    pub(crate) async fn renew_rejected(
        self: &Arc<Self>,
        channel: &Channel,
        rejected: Arc<Tokens>,
    ) -> Result<Option<Arc<Tokens>>> {
        let generation = rejected.generation;
        let fresh = self.renew(channel, rejected, Trigger::Rejected).await?;
        Ok(fresh.filter(|tokens| tokens.generation != generation))
    }

    async fn renew(
        self: &Arc<Self>,
        channel: &Channel,
        stale: Arc<Tokens>,
        trigger: Trigger,
    ) -> Result<Option<Arc<Tokens>>> {
        if !stale.can_renew() {
            return Ok(Some(stale));
        }
        let guard = self.lock_renewals().await;
        // Another task may have renewed (or signed out) while we waited.
        let current = self.current();
        match &current {
            Some(tokens) if tokens.generation == stale.generation => {}
            _ => return Ok(current),
        }
        let session = Arc::clone(self);
        let channel = channel.clone();
        let to_renew = Arc::clone(&stale);
        let task = tokio::spawn(async move {
            let _guard = guard;
            session.renew_now(channel, to_renew).await
        });
        let outcome = task.await.map_err(|error| Error::internal(format!("the token renewal task failed: {error}")))?;
        match outcome {
            Err(error)
                if trigger == Trigger::Proactive
                    && error.code() != Code::Unauthenticated
                    && !stale.expired(Instant::now()) =>
            {
                Ok(Some(stale))
            }
            outcome => outcome,
        }
    }

    /// Performs the renewal RPC and stores its result. Runs while holding
    /// the renewal lock.
    async fn renew_now(&self, channel: Channel, stale: Arc<Tokens>) -> Result<Option<Arc<Tokens>>> {
        let renewed = match &stale.renewal {
            Renewal::None => return Ok(Some(stale)),
            Renewal::RefreshToken => refresh(channel, stale.pair.refresh_token.clone()).await,
            Renewal::ClientCredentials(credentials) => {
                exchange(channel, Arc::clone(credentials)).await.map(|(tokens, _)| tokens)
            }
        };
        match renewed {
            // If the caller replaced or cleared the tokens meanwhile, theirs win.
            Ok(tokens) => Ok(self.install_if(stale.generation, tokens).or_else(|| self.current())),
            Err(error) => {
                if error.code() == Code::Unauthenticated {
                    self.clear_if(stale.generation);
                }
                Err(error)
            }
        }
    }
}

/// Runs a renewal RPC with [`RENEWAL_TIMEOUT`].
async fn with_timeout<T>(
    rpc: impl Future<Output = std::result::Result<tonic::Response<T>, tonic::Status>>,
) -> Result<T> {
    match tokio::time::timeout(RENEWAL_TIMEOUT, rpc).await {
        Ok(Ok(response)) => Ok(response.into_inner()),
        Ok(Err(status)) => Err(status.into()),
        Err(_) => Err(tonic::Status::deadline_exceeded("token renewal timed out").into()),
    }
}

/// Exchanges a refresh token for new tokens.
async fn refresh(channel: Channel, refresh_token: String) -> Result<Tokens> {
    let mut client = IdentityServiceClient::new(channel);
    let response = with_timeout(client.refresh_token(pb::RefreshTokenRequest { refresh_token })).await?;
    let pair = required(response.tokens, "RefreshTokenResponse.tokens")?;
    Tokens::from_pair(pair, Origin::Server)
}

/// Exchanges client credentials for an access token.
pub(crate) async fn exchange(
    channel: Channel,
    credentials: Arc<ClientCredentials>,
) -> Result<(Tokens, pb::ExchangeClientCredentialsResponse)> {
    let mut client = IdentityServiceClient::new(channel);
    let request = pb::ExchangeClientCredentialsRequest {
        client_id: credentials.client_id.clone(),
        client_secret: credentials.client_secret.clone(),
        scopes: credentials.scopes.clone(),
    };
    let response = with_timeout(client.exchange_client_credentials(request)).await?;
    let tokens = Tokens::from_exchange(&response, credentials)?;
    Ok((tokens, response))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn margin_is_thirty_seconds_or_a_tenth_of_the_lifetime() {
        // 15 minutes: a tenth (90 s) beats 30 s.
        assert_eq!(refresh_margin(15 * MINUTE), Duration::from_secs(90));
        // 2 minutes: a tenth is 12 s, so 30 s.
        assert_eq!(refresh_margin(2 * MINUTE), Duration::from_secs(30));
        // 5 minutes: exactly 30 s either way.
        assert_eq!(refresh_margin(5 * MINUTE), Duration::from_secs(30));
        // Short lifetimes: capped at half, so they are not renewed on every call.
        assert_eq!(refresh_margin(Duration::from_secs(40)), Duration::from_secs(20));
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn refresh_due_near_expiry() {
        let issued = Instant::now();
        let lifetime = 15 * MINUTE;
        let expires = issued + lifetime;
        assert!(!refresh_due(issued, expires, lifetime));
        assert!(!refresh_due(expires - Duration::from_secs(91), expires, lifetime));
        assert!(!refresh_due(expires - Duration::from_secs(90), expires, lifetime));
        assert!(refresh_due(expires - Duration::from_secs(89), expires, lifetime));
        assert!(refresh_due(expires, expires, lifetime));
        assert!(refresh_due(expires + MINUTE, expires, lifetime));
    }

    #[test]
    fn refresh_due_uses_thirty_seconds_for_short_lifetimes() {
        let issued = Instant::now();
        let lifetime = 2 * MINUTE;
        let expires = issued + lifetime;
        assert!(!refresh_due(expires - Duration::from_secs(31), expires, lifetime));
        assert!(refresh_due(expires - Duration::from_secs(29), expires, lifetime));
    }

    #[test]
    fn very_short_lifetimes_are_used_for_half_their_life() {
        let issued = Instant::now();
        let lifetime = Duration::from_secs(10);
        let expires = issued + lifetime;
        assert!(!refresh_due(issued, expires, lifetime));
        assert!(!refresh_due(issued + Duration::from_secs(4), expires, lifetime));
        assert!(refresh_due(issued + Duration::from_secs(6), expires, lifetime));
    }

    #[test]
    fn expiry_from_timestamp() {
        let now_wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000);
        let now = Instant::now();
        let in_15_min = prost_types::Timestamp::from(now_wall + 15 * MINUTE);
        let expiry = Expiry::from_timestamp(Some(&in_15_min), now_wall, now);
        assert_eq!(expiry, Some(Expiry { at: now + 15 * MINUTE, lifetime: 15 * MINUTE }));
        let expiry = expiry.expect("a future expiry");
        assert!(!expiry.refresh_due(now));
        assert!(expiry.refresh_due(now + 14 * MINUTE));
        assert!(!expiry.expired(now + 14 * MINUTE));
        assert!(expiry.expired(now + 15 * MINUTE));

        // Missing, already past (clock skew) or invalid: unknown expiry.
        assert_eq!(Expiry::from_timestamp(None, now_wall, now), None);
        let past = prost_types::Timestamp::from(now_wall - MINUTE);
        assert_eq!(Expiry::from_timestamp(Some(&past), now_wall, now), None);
        let same = prost_types::Timestamp::from(now_wall);
        assert_eq!(Expiry::from_timestamp(Some(&same), now_wall, now), None);
        let long_ago = prost_types::Timestamp { seconds: i64::MIN, nanos: 0 };
        assert_eq!(Expiry::from_timestamp(Some(&long_ago), now_wall, now), None);
        // Far future: valid, never due in practice.
        let far = prost_types::Timestamp { seconds: 253_402_300_799, nanos: 0 };
        let far = Expiry::from_timestamp(Some(&far), now_wall, now).expect("a far expiry");
        assert!(!far.refresh_due(now + 365 * 24 * 60 * MINUTE));
    }

    fn pair(access: &str, refresh: &str, lifetime: Option<Duration>) -> pb::TokenPair {
        pb::TokenPair {
            access_token: access.into(),
            access_token_expire_time: lifetime.map(|l| (SystemTime::now() + l).into()),
            refresh_token: refresh.into(),
            refresh_token_expire_time: None,
        }
    }

    #[test]
    fn tokens_from_pair() -> Result<()> {
        let tokens = Tokens::from_pair(pair("a.b.c", "r1", Some(15 * MINUTE)), Origin::Server)?;
        assert_eq!(tokens.header().to_str().ok(), Some("Bearer a.b.c"));
        assert!(tokens.header().is_sensitive());
        assert!(tokens.can_renew());
        assert_eq!(tokens.refresh_token(), Some("r1"));
        assert!(!tokens.refresh_due(Instant::now()));
        assert!(tokens.refresh_due(Instant::now() + 14 * MINUTE));

        // No refresh token: never renewed.
        let tokens = Tokens::from_pair(pair("a.b.c", "", Some(15 * MINUTE)), Origin::Caller)?;
        assert!(!tokens.can_renew());
        assert!(!tokens.refresh_due(Instant::now() + 20 * MINUTE));

        // Unknown expiry: renewed only when rejected.
        let tokens = Tokens::from_pair(pair("a.b.c", "r1", None), Origin::Server)?;
        assert!(tokens.can_renew());
        assert!(!tokens.refresh_due(Instant::now() + 20 * MINUTE));
        Ok(())
    }

    #[test]
    fn unusable_tokens_are_rejected() {
        let empty = Tokens::from_access_token(String::new());
        assert_eq!(empty.map(|_| ()).map_err(|e| e.kind()), Err(crate::ErrorKind::InvalidInput));
        let newline = Tokens::from_access_token("abc\ndef".into());
        assert_eq!(newline.map(|_| ()).map_err(|e| e.kind()), Err(crate::ErrorKind::InvalidInput));
        let space = Tokens::from_access_token("abc def".into());
        assert_eq!(space.map(|_| ()).map_err(|e| e.kind()), Err(crate::ErrorKind::InvalidInput));
        let from_server = Tokens::from_pair(pair("caf\u{e9}", "r", None), Origin::Server);
        assert_eq!(from_server.map(|_| ()).map_err(|e| e.kind()), Err(crate::ErrorKind::InvalidResponse));
    }

    #[test]
    fn generations_guard_conditional_updates() -> Result<()> {
        let session = Session::default();
        let first = session.install(Tokens::from_access_token("one".into())?);
        let second = session.install(Tokens::from_access_token("two".into())?);
        assert!(second.generation > first.generation);
        // A renewal that started from `first` must not overwrite `second`.
        assert!(session.install_if(first.generation, Tokens::from_access_token("stale".into())?).is_none());
        session.clear_if(first.generation);
        assert_eq!(session.current().map(|t| t.pair().access_token.clone()), Some("two".into()));
        // One that started from `second` may.
        let third = session.install_if(second.generation, Tokens::from_access_token("three".into())?);
        assert!(third.is_some());
        let third_generation = third.map(|t| t.generation).unwrap_or_default();
        session.clear_if(third_generation);
        assert!(session.current().is_none());
        Ok(())
    }

    #[test]
    fn credentials_debug_hides_the_secret() {
        let credentials = ClientCredentials {
            client_id: "court-1".into(),
            client_secret: "s3cr3t".into(),
            scopes: vec![pb::Scope::CasesRead as i32],
        };
        let text = format!("{credentials:?}");
        assert!(text.contains("court-1"));
        assert!(!text.contains("s3cr3t"));
    }
}
