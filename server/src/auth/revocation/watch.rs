//! Keeps this server's [`Revocations`] in step with the database: loaded
//! at start, then polled every second, so a revocation another server
//! writes is in force here within about a second.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{Revocations, store};
use crate::db::Db;
use crate::error::AppError;

/// How often new revocations are read: the longest a token revoked on
/// another server keeps working here (plus the read's own time).
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// How often stored revocations nobody needs any more are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// Stored revocations are kept at least this long.
const KEEP_AT_LEAST: chrono::Duration = chrono::Duration::days(1);

/// What the watch needs to know about tokens and writes.
#[derive(Debug, Clone, Copy)]
pub struct Horizons {
    /// How long a revocation can matter: the longest access-token life
    /// plus the clock skew tolerated.
    pub relevant: chrono::Duration,
    /// How long after it was recorded a revocation may still commit (the
    /// longest write transaction: the server's call time limit, and a
    /// margin). Each poll reads this far back again.
    pub commit_lag: chrono::Duration,
}

/// Loads every revocation that may still matter; returns where polling
/// goes on from.
pub async fn load(db: &Db, revocations: &Revocations, horizons: Horizons) -> Result<DateTime<Utc>, AppError> {
    let since = Utc::now() - horizons.relevant - horizons.commit_lag;
    poll(db, revocations, since, horizons).await
}

/// Reads what was recorded after `since` (less the commit lag), applies
/// it, forgets what no longer matters; returns the database's clock at the
/// read, where the next poll goes on from.
async fn poll(
    db: &Db,
    revocations: &Revocations,
    since: DateTime<Utc>,
    horizons: Horizons,
) -> Result<DateTime<Utc>, AppError> {
    let from = since - horizons.commit_lag;
    let (now, found) = db.read(move |conn| store::recorded_since(conn, from)).await?;
    revocations.apply(found);
    revocations.forget_before(now - horizons.relevant);
    Ok(now)
}

/// Polls every [`POLL_EVERY`] from `since` and purges old rows every
/// [`PURGE_EVERY`], until the task is dropped. A failed poll is retried
/// from the same point, so nothing recorded meanwhile is missed.
pub async fn run(db: Db, revocations: Arc<Revocations>, mut since: DateTime<Utc>, horizons: Horizons) {
    let mut every = tokio::time::interval(POLL_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_purge = tokio::time::Instant::now();
    let mut failing = false;
    loop {
        every.tick().await;
        match poll(&db, &revocations, since, horizons).await {
            Ok(now) => {
                since = now;
                if failing {
                    tracing::info!("reading token revocations again");
                    failing = false;
                }
            }
            // The database layer logs an outage once, with its end.
            Err(e @ AppError::Unavailable { .. }) => {
                tracing::debug!(error = %e, "could not read token revocations");
            }
            // Other failures once, not every second.
            Err(e) if !failing => {
                tracing::warn!(error = %e, "could not read token revocations; retrying every second");
                failing = true;
            }
            Err(e) => tracing::debug!(error = %e, "could not read token revocations"),
        }
        if last_purge.elapsed() >= PURGE_EVERY {
            last_purge = tokio::time::Instant::now();
            let before = Utc::now() - horizons.relevant.max(KEEP_AT_LEAST);
            // Idempotent: servers purging at once delete the same rows.
            match db.run(move |conn| store::delete_before(conn, before)).await {
                Ok(deleted) => tracing::debug!(deleted, "purged old token revocations"),
                Err(e) => tracing::warn!(error = %e, "could not purge old token revocations"),
            }
        }
    }
}
