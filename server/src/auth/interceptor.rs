//! Verifies the bearer token of every call and records the caller in the
//! request extensions. A call without a token proceeds anonymously (sign-up
//! and sign-in need that); handlers that need a principal ask for one with
//! [`super::require_principal`]. A token that is present but invalid is
//! rejected here, before any handler runs.

use std::sync::Arc;

use tonic::service::Interceptor;
use tonic::{Request, Status};

use super::principal::Caller;
use super::tokens::TokenIssuer;
use crate::error::AppError;
use crate::error::Reason;

#[derive(Clone)]
pub struct AuthInterceptor {
    tokens: Arc<TokenIssuer>,
}

impl AuthInterceptor {
    pub fn new(tokens: Arc<TokenIssuer>) -> Self {
        Self { tokens }
    }
}

impl Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let caller = match request.metadata().get("authorization") {
            None => Caller(None),
            Some(value) => {
                let value = value
                    .to_str()
                    .map_err(|_| AppError::unauthenticated(Reason::InvalidToken, "malformed authorization header"))?;
                let token =
                    value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).ok_or_else(|| {
                        AppError::unauthenticated(Reason::InvalidToken, "authorization must be `Bearer <token>`")
                    })?;
                Caller(Some(self.tokens.verify(token.trim())?))
            }
        };
        request.extensions_mut().insert(caller);
        Ok(request)
    }
}
