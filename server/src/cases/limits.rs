//! The per-person daily filing limit (智慧信访: one matter handled once).
//! Pure: when a filing counts, and how long until the count resets.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::domain::Channel;
use crate::config::LimitedChannels;
use crate::time::shanghai;

/// Filings a petitioner may make per Beijing calendar day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyLimit {
    /// 0: unlimited.
    pub per_day: u32,
    pub channels: LimitedChannels,
}

impl DailyLimit {
    pub const NONE: DailyLimit = DailyLimit { per_day: 0, channels: LimitedChannels::All };

    /// Whether a filing on `channel` counts towards the limit.
    pub fn counts(&self, channel: Channel) -> bool {
        self.per_day > 0 && (self.channels == LimitedChannels::All || channel == Channel::Online)
    }

    /// Whether the `nth` filing of a day (1-based) is over the limit.
    pub fn exceeded_by(&self, nth: u32) -> bool {
        self.per_day > 0 && nth > self.per_day
    }
}

/// The Beijing day an instant falls on.
pub fn filing_day(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&shanghai()).date_naive()
}

/// Time from `now` to the next Beijing midnight, when the count resets.
pub fn until_next_day(now: DateTime<Utc>) -> Duration {
    let local = now.with_timezone(&shanghai());
    let next_midnight = (local.date_naive() + Duration::days(1)).and_hms_opt(0, 0, 0).unwrap_or_default();
    next_midnight - local.naive_local()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn which_filings_count() {
        let all = DailyLimit { per_day: 3, channels: LimitedChannels::All };
        let online = DailyLimit { per_day: 3, channels: LimitedChannels::Online };
        for channel in Channel::ALL {
            assert!(all.counts(*channel));
            assert_eq!(online.counts(*channel), *channel == Channel::Online);
            assert!(!DailyLimit::NONE.counts(*channel));
        }
        assert!(!all.exceeded_by(3));
        assert!(all.exceeded_by(4));
        assert!(!DailyLimit::NONE.exceeded_by(1000));
    }

    #[test]
    fn the_day_and_its_end_are_beijings() {
        // 2026-11-27 15:59:59 UTC is 23:59:59 in Beijing: one second left.
        let late = Utc.with_ymd_and_hms(2026, 11, 27, 15, 59, 59).single().unwrap_or_default();
        assert_eq!(filing_day(late), NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default());
        assert_eq!(until_next_day(late), Duration::seconds(1));
        // 16:00 UTC is already the next Beijing day, with 24 hours to go.
        let midnight = Utc.with_ymd_and_hms(2026, 11, 27, 16, 0, 0).single().unwrap_or_default();
        assert_eq!(filing_day(midnight), NaiveDate::from_ymd_opt(2026, 11, 28).unwrap_or_default());
        assert_eq!(until_next_day(midnight), Duration::hours(24));
    }
}
