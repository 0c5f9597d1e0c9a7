//! Court linkage (信访+司法, 诉访分离): referrals of petition cases to
//! courts, the court's acts on them through its partner accounts, and the
//! court case number format shared with mediation's court answers.

pub mod aggregate;
pub mod case_number;
pub mod commands;
pub mod domain;
pub mod model;
pub mod rules;
pub mod seed;
pub mod service;
pub mod store;
pub mod view;

pub use service::CourtApi;
