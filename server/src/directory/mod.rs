//! The administrative directory: regions, organizations, staff listing.

pub mod kinds;
pub mod model;
pub mod rules;
pub mod service;
pub mod store;

pub use service::DirectoryApi;
