//! Background jobs. Each runs on one server at a time (a lease or an
//! advisory lock), is idempotent, and catches up after downtime.

pub mod marks;
pub mod sweeper;
