//! Civil time: petition deadlines and daily limits follow Beijing time
//! (UTC+8, no daylight saving), wherever the server runs.

use chrono::{FixedOffset, NaiveDate, Utc};

/// Asia/Shanghai's offset; fixed since 1991.
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!("8 hours is a valid offset"))
}

/// The Beijing date of an instant.
pub fn shanghai_date(time: chrono::DateTime<Utc>) -> NaiveDate {
    time.with_timezone(&shanghai()).date_naive()
}

/// Today's date in Beijing.
pub fn shanghai_today() -> NaiveDate {
    Utc::now().with_timezone(&shanghai()).date_naive()
}
