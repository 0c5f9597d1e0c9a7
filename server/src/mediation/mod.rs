//! People's mediation (人民调解): teams and their mediators, screening
//! rounds, and disputes from consent to agreement, performance and a
//! court's confirmation, or to failure, with escalation between levels.

pub mod aggregate;
pub mod commands;
pub mod domain;
pub mod draft;
pub mod model;
pub mod rules;
pub mod service;
pub mod stats;
pub mod store;
pub mod sweep;
pub mod view;

pub use service::MediationApi;
