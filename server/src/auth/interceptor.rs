//! Authenticates every call before its handler runs and records the caller
//! in the request extensions. A call without a token proceeds anonymously
//! (sign-up and sign-in need that); handlers that need a principal ask for
//! one with [`super::require_principal`]. A token that is present must be
//! valid, unrevoked and name an existing account, or the call is answered
//! UNAUTHENTICATED here. A tower layer rather than a tonic interceptor:
//! the account check may have to read the database, which is async.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderMap;
use tonic::Status;
use tonic::body::Body;
use tonic::server::NamedService;
use tower::Service;

use super::known_accounts::KnownAccounts;
use super::principal::Principal;
use super::revocation::Revocations;
use super::tokens::{TokenIssuer, VerifiedToken};
use crate::db::Db;
use crate::error::AppError;
use crate::error::Reason;

/// What authenticating a call needs; shared by every service.
pub struct Authenticator {
    pub tokens: Arc<TokenIssuer>,
    pub revocations: Arc<Revocations>,
    pub accounts: Arc<KnownAccounts>,
    pub db: Db,
}

impl Authenticator {
    /// The token of a request with `headers` (`None`: anonymous), or why
    /// it is refused.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<VerifiedToken>, AppError> {
        let Some(value) = headers.get(http::header::AUTHORIZATION) else { return Ok(None) };
        let value = value
            .to_str()
            .map_err(|_| AppError::unauthenticated(Reason::InvalidToken, "malformed authorization header"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| AppError::unauthenticated(Reason::InvalidToken, "authorization must be `Bearer <token>`"))?;
        let verified = self.tokens.verify(token.trim())?;
        self.revocations.check(&verified)?;
        self.accounts.require(&self.db, verified.principal.account_id).await?;
        Ok(Some(verified))
    }
}

/// A service whose calls are authenticated first.
#[derive(Clone)]
pub struct Authenticated<S> {
    inner: S,
    auth: Arc<Authenticator>,
}

impl<S> Authenticated<S> {
    pub fn new(inner: S, auth: Arc<Authenticator>) -> Self {
        Self { inner, auth }
    }
}

impl<S: NamedService> NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<http::Request<B>> for Authenticated<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone that was polled ready serves this call (tower's rule).
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let auth = self.auth.clone();
        Box::pin(async move {
            match auth.authenticate(request.headers()).await {
                Ok(token) => {
                    // The whole token, not only its principal: a call that
                    // outlives the check (a watch) ends when it is revoked.
                    if let Some(token) = token {
                        request.extensions_mut().insert(token);
                    }
                    inner.call(request).await
                }
                Err(error) => Ok(Status::from(error).into_http()),
            }
        })
    }
}

/// The verified principal of a request, or UNAUTHENTICATED.
pub fn require_principal<T>(request: &tonic::Request<T>) -> Result<Principal, AppError> {
    request.extensions().get::<VerifiedToken>().map(|token| token.principal.clone()).ok_or_else(|| {
        AppError::unauthenticated(
            Reason::MissingCredentials,
            "sign in first: send `authorization: Bearer <access token>`",
        )
    })
}
