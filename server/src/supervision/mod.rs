//! Supervision (督办, 条例 Art.38-40): items on cases that climb the ladder
//! reminder → letter → talks → notice when their deadlines pass, issued
//! by a bureau's supervisors or by the sweeper (`crate::jobs::sweeper`).

pub mod aggregate;
pub mod commands;
pub mod domain;
pub mod model;
pub mod rules;
pub mod seed;
pub mod service;
pub mod store;
pub mod view;

pub use service::SupervisionApi;
