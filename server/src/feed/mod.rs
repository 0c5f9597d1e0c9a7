//! The change feed (`ChangeFeedService`): every committed event of every
//! aggregate in position order, for partners and tools that keep a copy in
//! step. Positions, and why readers see them in order: `store`.

pub mod retention;
pub mod service;
pub mod signal;
pub mod store;

pub use service::FeedApi;
pub use signal::FeedSignal;
