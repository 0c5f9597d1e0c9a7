//! The case taxonomy (categories) and routing rules (即时交办).

pub mod model;
pub mod rules;
pub mod service;
pub mod store;

pub use rules::RoutingMode;
pub use service::TaxonomyApi;
