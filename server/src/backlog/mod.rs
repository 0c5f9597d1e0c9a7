//! Backlog cases (积案): a designation on a case that the procedure has not
//! settled — by the designation rule's background sweep or by the bureau's
//! judgement — cleared with "one case, four checks" (一案四查): root cause,
//! is the claim reasonable, was a reasonable claim resolved, was
//! responsibility carried out, all recorded before it resolves.

pub mod aggregate;
pub mod commands;
pub mod domain;
pub mod model;
pub mod rules;
pub mod seed;
pub mod service;
pub mod store;
pub mod view;

pub use aggregate::designate_by_rule;
pub use service::BacklogApi;
