//! Test and benchmark harness: real PostgreSQL databases cloned from a
//! migrated template, and real servers on `127.0.0.1:0`, driven through the
//! SDK.
//!
//! The PostgreSQL server is `TEST_DATABASE_URL` (a URL to its maintenance
//! database) if set, else the local server at 127.0.0.1:5432, else an
//! embedded cluster under `target/`.

pub mod board_texts;
pub mod builders;
pub mod courts_world;
pub mod database;
pub mod legal_aid_world;
pub mod mediation_world;
pub mod metrics_world;
pub mod petition_texts;
pub mod process;
pub mod ratings_world;
pub mod scrape;
pub mod server;
pub mod world;

pub use builders::*;
pub use database::TestDatabase;
pub use mediation_world::{DisputeStage, MediationWorld};
pub use process::ServerProcess;
pub use server::{ADMIN_PASSWORD, TestServer};
pub use world::{CaseWorld, claim, opinion};
