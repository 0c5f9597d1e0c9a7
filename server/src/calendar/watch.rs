//! This server's view of which years' schedules are loaded, kept fresh by
//! a background task that also warns while this or next year's schedule
//! is missing: at start and then once a day.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::schedules::Schedules;
use super::store;
use crate::db::Db;
use crate::time::shanghai_today;

/// How often the loaded years are read again: another server's
/// SetCalendarYear shows here within this.
const REFRESH: Duration = Duration::from_secs(60);
/// How often a missing schedule is warned about.
const WARN_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// The loaded years as last read; shared by the services.
#[derive(Debug, Clone, Default)]
pub struct LoadedYears(Arc<RwLock<Schedules>>);

impl LoadedYears {
    pub fn get(&self) -> Schedules {
        self.0.read().map(|s| s.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    pub fn set(&self, schedules: Schedules) {
        match self.0.write() {
            Ok(mut s) => *s = schedules,
            Err(poisoned) => *poisoned.into_inner() = schedules,
        }
    }

    /// Reads the loaded years now.
    pub async fn refresh(&self, db: &Db) -> Result<Schedules, crate::error::AppError> {
        let schedules = db.read(store::loaded_years).await?;
        self.set(schedules.clone());
        Ok(schedules)
    }
}

/// Refreshes `years` every [`REFRESH`] and warns every [`WARN_EVERY`] while
/// a schedule ahead is missing, until the task is dropped.
pub async fn run(db: Db, years: LoadedYears) {
    let mut every = tokio::time::interval(REFRESH);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_warning: Option<tokio::time::Instant> = None;
    loop {
        every.tick().await;
        let schedules = match years.refresh(&db).await {
            Ok(schedules) => schedules,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the loaded calendar years; retrying");
                continue;
            }
        };
        let missing = schedules.missing_ahead(shanghai_today());
        if missing.is_empty() {
            last_warning = None;
        } else if last_warning.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
            tracing::warn!(
                years = ?missing,
                "the holiday schedule of these years is not loaded: deadlines that run into them assume the plain \
                 week and are marked provisional; load each with CalendarService.SetCalendarYear once the State \
                 Council publishes it"
            );
            last_warning = Some(tokio::time::Instant::now());
        }
    }
}
