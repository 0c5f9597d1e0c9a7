//! The city's metrics (issue 19 §2, docs/metrics.md): every figure the
//! bureau reports, for a region subtree and a period, counted from
//! projections of the event log that a follower keeps off the write path,
//! "as of" any past day.

pub mod countables;
pub mod projection;
pub mod rules;
pub mod service;
pub mod store;

pub use service::MetricsApi;
