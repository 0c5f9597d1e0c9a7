//! Authentication (passwords, tokens, revocation, the request
//! interceptor) and authorization (the policy).

pub mod interceptor;
pub mod known_accounts;
pub mod passwords;
pub mod policy;
pub mod principal;
pub mod revocation;
pub mod tokens;

pub use principal::{AccountKind, Caller, Principal, Role, Scope, require_principal};
