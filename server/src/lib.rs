//! The petition (信访) case platform's gRPC server.
//!
//! [`app::Application`] builds and runs the server from a [`config::Config`];
//! the binary `petition-server` wraps it with flags and signal handling.

pub mod app;
pub mod arrays;
pub mod auth;
pub mod calendar;
pub mod cases;
pub mod cli;
pub mod clock;
pub mod config;
pub mod convert;
pub mod crypto;
pub mod db;
pub mod directory;
pub mod embedded_pg;
pub mod error;
pub mod event_log;
pub mod feed;
pub mod idempotency;
pub mod identity;
pub mod jobs;
pub mod jsonb;
pub mod keys;
pub mod legal_aid;
pub mod limits;
pub mod literal_limit;
pub mod mediation;
// The city's metrics (issue 19).
pub mod metrics;
// Backlog cases and the four checks (issue 20).
pub mod backlog;
// Court linkage (issue 18).
pub mod courts;
pub mod outcome;
pub mod pagination;
pub mod pii;
pub mod pipeline;
pub mod prepared;
pub mod ratings;
pub mod schema;
pub mod seed;
pub mod similarity;
pub mod state;
pub mod static_sql;
pub mod supervision;
// Reception days (issue 20 §2).
pub mod reception;
pub mod taxonomy;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod tls;
pub mod undecodable;
pub mod wire;
