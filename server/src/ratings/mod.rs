//! Ratings (评价): the petitioner's rating of each served opinion — the
//! acceptance (受理) and the handling (办理) separately — opened in the
//! opinion's transaction, given or changed within a window of working
//! days, recorded by a clerk for ratings given offline.

pub mod aggregate;
pub mod commands;
pub mod domain;
pub mod model;
pub mod rules;
pub mod seed;
pub mod service;
pub mod store;
pub mod view;

pub use aggregate::open_for_opinions;
pub use service::RatingApi;
