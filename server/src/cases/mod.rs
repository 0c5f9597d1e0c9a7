//! The case lifecycle (信访事项): filing on every channel, triage, routing,
//! handling, reply, review and re-review, with statutory clocks.

pub mod aggregate;
pub mod clocks;
pub mod commands;
pub mod court;
pub mod domain;
pub mod draft;
pub mod event_wire;
pub mod filing;
pub mod intake;
pub mod intake_store;
pub mod lawyers;
pub mod leadership;
pub mod legal_aid;
pub mod limits;
pub mod mediation;
pub mod model;
pub mod numbering;
pub mod recompute;
pub mod reindex;
pub mod rules;
pub mod service;
pub mod store;
#[cfg(test)]
pub(crate) mod testing;
pub mod view;

pub use service::CaseApi;
