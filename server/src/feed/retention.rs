//! Retention: the feed serves the last `--feed-retention-days` of events;
//! resuming before that is CURSOR_EXPIRED and the reader lists again. The
//! events themselves stay, as each case's timeline (its file is kept).

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use diesel::sql_types::BigInt;

use super::store;
use crate::config::FeedConfig;
use crate::db::Db;
use crate::error::AppError;

/// Any constant shared by the servers: the advisory lock that makes one of
/// them sweep at a time.
const SWEEP_LOCK: i64 = 0x6665_6564_7265_7400;

/// Applies retention as of `now`; returns the new expiry position when it
/// moved, `None` when it did not or another server is sweeping.
pub fn sweep(conn: &mut PgConnection, now: DateTime<Utc>, retention_days: u32) -> Result<Option<i64>, AppError> {
    #[derive(diesel::QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    let Locked { locked } = diesel::RunQueryDsl::get_result(
        diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS locked").bind::<BigInt, _>(SWEEP_LOCK),
        conn,
    )?;
    if !locked {
        return Ok(None);
    }
    store::expire_before(conn, now - chrono::Duration::days(i64::from(retention_days)))
}

/// Sweeps now and then every `retention_sweep_secs`, until the task is
/// dropped.
pub async fn run(db: Db, config: FeedConfig) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(config.retention_sweep_secs.max(1)));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let days = config.retention_days;
        match db.run(move |conn| sweep(conn, Utc::now(), days)).await {
            Ok(Some(position)) => tracing::info!(position, "change feed: older positions expired"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "change feed retention sweep failed; retrying at the next interval"),
        }
    }
}
