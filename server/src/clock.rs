//! The business clock: what "now" is for the clocks the sweeper watches and
//! the supervision ladder. Real time, unless a drill or a test points it at
//! a file that holds the instant (`--clock-file`), so that weeks of
//! deadlines pass without waiting for them and every server of a test
//! reads the same time.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};

use crate::time::shanghai_date;

/// Where "now" comes from.
#[derive(Debug, Clone, Default)]
pub enum Clock {
    #[default]
    System,
    /// The RFC 3339 instant the file holds; the real time while it holds
    /// none (missing, unreadable or malformed, logged).
    File(PathBuf),
}

impl Clock {
    pub fn from_file(path: Option<PathBuf>) -> Clock {
        path.map_or(Clock::System, Clock::File)
    }

    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::File(path) => match std::fs::read_to_string(path) {
                Ok(text) => match DateTime::parse_from_rfc3339(text.trim()) {
                    Ok(at) => at.with_timezone(&Utc),
                    Err(e) => {
                        tracing::warn!(path = %path.display(), "the clock file holds no RFC 3339 instant ({e}): real time");
                        Utc::now()
                    }
                },
                Err(e) => {
                    tracing::warn!(path = %path.display(), "the clock file cannot be read ({e}): real time");
                    Utc::now()
                }
            },
        }
    }

    /// Today in Beijing.
    pub fn today(&self) -> NaiveDate {
        shanghai_date(self.now())
    }
}

/// Sets the instant a [`Clock::File`] reads (tests, drills).
pub fn set_file_clock(path: &std::path::Path, at: DateTime<Utc>) -> std::io::Result<()> {
    // Written whole and renamed, so a reader never sees half an instant.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, at.to_rfc3339())?;
    std::fs::rename(&partial, path)
}
