//! Legal aid (法律援助法 2021): applications to legal-aid centres, from
//! review to the lawyer's closing report, with objections decided by the
//! justice bureau above the centre.

pub mod aggregate;
pub mod commands;
pub mod conflicts;
pub mod domain;
pub mod model;
pub mod rules;
pub mod seed;
pub mod service;
pub mod store;
pub mod sweep;
pub mod view;

pub use service::LegalAidApi;
