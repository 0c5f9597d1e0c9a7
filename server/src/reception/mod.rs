//! Reception days (领导接访, issue 20 §2): schedules per leader and place,
//! slots computed from them and the workday calendar, and bookings (an
//! aggregate in the log and the feed) that end in a reception — which may
//! register or link a case and make the receiving leader its owner
//! (首接包案) — a no-show or a cancellation.

pub mod aggregate;
pub mod commands;
pub mod domain;
pub mod model;
pub mod rules;
pub mod schedule;
pub mod seed;
pub mod service;
pub mod store;
pub mod view;

pub use service::ReceptionApi;
