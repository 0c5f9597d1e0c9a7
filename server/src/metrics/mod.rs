//! The city's metrics (issue 19 §2, docs/metrics.md): every figure the
//! bureau reports, for a region subtree and a period, from a per-case
//! projection of the event log and from the ratings, "as of" any past day.

pub mod facts;
pub mod rules;
pub mod service;
pub mod store;

pub use service::MetricsApi;
