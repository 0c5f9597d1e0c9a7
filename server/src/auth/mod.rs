//! Authentication (passwords, tokens, revocation, the request
//! interceptor) and authorization (the policy).

pub mod interceptor;
pub mod known_accounts;
pub mod passwords;
pub mod policy;
pub mod principal;
pub mod revocation;
pub mod tokens;

pub use interceptor::require_principal;
pub use principal::{AccountKind, Principal, Role, Scope};
