//! Readings taken at each scrape: the database pool and the blocking
//! threads' queue (`Db::pool_use`), how long the oldest writing
//! transaction of the cluster has held the change feed's horizon back, the
//! sweeper's lag (since its last pass ended, cluster-wide), and the band
//! index's size.

use std::sync::atomic::AtomicU64;

use diesel::prelude::*;
use diesel::sql_types::{Double, Nullable};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::error::AppError;
use crate::state::AppState;

/// The gauges set at each scrape.
pub struct Readings {
    pool_size: Gauge,
    pool_in_use: Gauge,
    pool_waiting: Gauge,
    pool_waits: Counter,
    pool_wait_seconds: Counter<f64, AtomicU64>,
    blocking_queued: Gauge,
    feed_horizon_held_seconds: Gauge<f64, AtomicU64>,
    sweeper_lag_seconds: Gauge<f64, AtomicU64>,
    band_index_cases: Gauge,
    band_index_bytes: Gauge,
    /// One scrape's readings at a time: the counters are moved on by the
    /// difference from their last value, which two scrapes at once would
    /// both add.
    taking: tokio::sync::Mutex<()>,
}

impl Readings {
    pub fn register(registry: &mut Registry) -> Readings {
        let readings = Readings {
            pool_size: Gauge::default(),
            pool_in_use: Gauge::default(),
            pool_waiting: Gauge::default(),
            pool_waits: Counter::default(),
            pool_wait_seconds: Counter::default(),
            blocking_queued: Gauge::default(),
            feed_horizon_held_seconds: Gauge::default(),
            sweeper_lag_seconds: Gauge::default(),
            band_index_cases: Gauge::default(),
            band_index_bytes: Gauge::default(),
            taking: tokio::sync::Mutex::new(()),
        };
        let r = &readings;
        registry.register("db_pool_size", "Connections the pool may hold", r.pool_size.clone());
        registry.register("db_pool_in_use", "Connections checked out now", r.pool_in_use.clone());
        registry.register("db_pool_waiting", "Calls waiting for a turn at the pool now", r.pool_waiting.clone());
        registry.register("db_pool_waits", "Turns at the pool that had to be waited for", r.pool_waits.clone());
        registry.register(
            "db_pool_wait_seconds",
            "Seconds waited for turns at the pool, in all",
            r.pool_wait_seconds.clone(),
        );
        registry.register(
            "blocking_queued",
            "Database calls admitted and waiting for a blocking thread now",
            r.blocking_queued.clone(),
        );
        registry.register(
            "feed_horizon_held_seconds",
            "Age of the cluster's oldest writing transaction: the change feed delivers nothing newer until it ends",
            r.feed_horizon_held_seconds.clone(),
        );
        registry.register(
            "sweeper_lag_seconds",
            "Seconds since the sweeper's last pass ended (any server's); NaN before the first",
            r.sweeper_lag_seconds.clone(),
        );
        registry.register(
            "band_index_cases",
            "Cases in this server's duplicate-detection band index",
            r.band_index_cases.clone(),
        );
        registry.register("band_index_bytes", "Memory the band index holds, bytes", r.band_index_bytes.clone());
        readings
    }

    /// Takes the readings (a database one among them).
    pub async fn take(&self, state: &AppState) -> Result<(), AppError> {
        let _taking = self.taking.lock().await;
        let pool = state.db.pool_use();
        self.pool_size.set(i64::from(pool.size));
        self.pool_in_use.set(i64::from(pool.in_use));
        self.pool_waiting.set(i64::try_from(pool.waiting).unwrap_or(i64::MAX));
        self.blocking_queued.set(i64::try_from(pool.blocking_queued).unwrap_or(i64::MAX));
        // Counters only move forward: add what came since the last scrape.
        self.pool_waits.inc_by(pool.waits.saturating_sub(self.pool_waits.get()));
        self.pool_wait_seconds.inc_by((pool.waited_seconds - self.pool_wait_seconds.get()).max(0.0));
        if let Some(index) = &state.similarity {
            let footprint = index.bands().footprint();
            self.band_index_cases.set(i64::try_from(footprint.cases).unwrap_or(i64::MAX));
            self.band_index_bytes.set(i64::try_from(footprint.bytes).unwrap_or(i64::MAX));
        }
        let (held, since_pass) = state.db.read(lags).await?;
        self.feed_horizon_held_seconds.set(held);
        self.sweeper_lag_seconds.set(since_pass.unwrap_or(f64::NAN));
        Ok(())
    }
}

#[derive(QueryableByName)]
struct Lags {
    #[diesel(sql_type = Double)]
    held: f64,
    #[diesel(sql_type = Nullable<Double>)]
    since_pass: Option<f64>,
}

/// (seconds the feed's horizon is held back, seconds since the sweeper's
/// last pass), on the database's clock.
fn lags(conn: &mut PgConnection) -> Result<(f64, Option<f64>), AppError> {
    let lags: Lags = diesel::sql_query(
        "SELECT COALESCE((SELECT EXTRACT(EPOCH FROM clock_timestamp() - min(xact_start))::float8
                          FROM pg_stat_activity WHERE backend_xid IS NOT NULL), 0) AS held,
                (SELECT EXTRACT(EPOCH FROM clock_timestamp() - pass_ended_at)::float8 FROM sweeper_state) AS since_pass",
    )
    .get_result(conn)?;
    Ok((lags.held.max(0.0), lags.since_pass))
}
