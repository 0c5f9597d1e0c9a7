//! Accounts and sign-in: citizen registration, staff and partner accounts,
//! passwords, refresh tokens and throttling.

pub mod bootstrap;
pub mod model;
pub mod phone;
pub mod resident_id;
pub mod rules;
pub mod service;
pub mod store;
pub mod throttle;

pub use service::IdentityApi;
