//! Authentication (passwords, tokens, the request interceptor) and
//! authorization (the policy).

pub mod interceptor;
pub mod passwords;
pub mod policy;
pub mod principal;
pub mod tokens;

pub use principal::{AccountKind, Caller, Principal, Role, Scope, require_principal};
