//! Conversions between wire values and domain values shared by every service.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::{AppError, FieldViolation};

/// The instants `google.protobuf.Timestamp` defines: 0001-01-01T00:00:00Z
/// to 9999-12-31T23:59:59.999999999Z, in seconds since the Unix epoch.
pub const TIMESTAMP_SECONDS: std::ops::RangeInclusive<i64> = -62_135_596_800..=253_402_300_799;

/// A time for the wire. Nothing is clamped: the times this server sends
/// (the clock's, PostgreSQL's, dates it computed) are all within
/// [`TIMESTAMP_SECONDS`], and no chrono time overflows the fields (nanos
/// stay below 10⁹ but for chrono's leap seconds, which neither the clock
/// nor PostgreSQL produces).
pub fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: time.timestamp(), nanos: time.timestamp_subsec_nanos() as i32 }
}

/// [`timestamp`] of a `SystemTime` (a token's expiry: now plus a lifetime).
pub fn system_time_to_timestamp(time: std::time::SystemTime) -> prost_types::Timestamp {
    timestamp(DateTime::<Utc>::from(time))
}

/// A time from the wire. One outside what a Timestamp may hold (seconds
/// outside [`TIMESTAMP_SECONDS`], nanos outside 0..10⁹) is a violation on
/// `field`, never read as another time: chrono would take some of them
/// (a leap second, a year PostgreSQL cannot store).
pub fn time_from_timestamp(field: &str, time: &prost_types::Timestamp) -> Result<DateTime<Utc>, FieldViolation> {
    let nanos = u32::try_from(time.nanos).ok().filter(|n| *n < 1_000_000_000);
    nanos
        .filter(|_| TIMESTAMP_SECONDS.contains(&time.seconds))
        .and_then(|nanos| DateTime::from_timestamp(time.seconds, nanos))
        .ok_or_else(|| FieldViolation::new(field, "must be a valid time from year 1 to 9999"))
}

/// A resource id from the wire: a UUID, else INVALID_ARGUMENT on `field`.
pub fn parse_id(field: &str, raw: &str) -> Result<Uuid, AppError> {
    if raw.is_empty() {
        return Err(AppError::invalid(field, "is required"));
    }
    Uuid::parse_str(raw).map_err(|_| AppError::invalid(field, "must be a UUID"))
}

/// Most values one typed enum filter of a list takes (each enum has fewer).
pub const MAX_FILTER_VALUES: usize = 16;

/// Typed enum values of a list filter at `field`, deduplicated; a
/// violation per unknown one.
pub fn enum_values<T: Copy + PartialEq>(
    field: &str,
    raw: &[i32],
    parse: impl Fn(i32) -> Option<T>,
    v: &mut Vec<crate::error::FieldViolation>,
) -> Vec<T> {
    use crate::error::FieldViolation;
    let mut out = Vec::new();
    if raw.len() > MAX_FILTER_VALUES {
        v.push(FieldViolation::new(field, format!("at most {MAX_FILTER_VALUES} values")));
        return out;
    }
    for (i, value) in raw.iter().enumerate() {
        match parse(*value) {
            Some(t) if !out.contains(&t) => out.push(t),
            Some(_) => {}
            None => v.push(FieldViolation::new(format!("{field}[{i}]"), "is not a known value")),
        }
    }
    out
}

/// An optional id: empty is `None`; anything else must parse.
pub fn optional_id(field: &str, raw: &str) -> Result<Option<Uuid>, AppError> {
    if raw.is_empty() { Ok(None) } else { parse_id(field, raw).map(Some) }
}

/// [`optional_id`] for a request checked field by field: a bad id is a
/// violation in `v`, and `None`.
pub fn optional_id_checked(field: &str, raw: &str, v: &mut Vec<crate::error::FieldViolation>) -> Option<Uuid> {
    optional_id(field, raw).unwrap_or_else(|_| {
        v.push(crate::error::FieldViolation::new(field, "must be an id"));
        None
    })
}

/// Lowercase hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_types::Timestamp;

    fn read(seconds: i64, nanos: i32) -> Option<DateTime<Utc>> {
        time_from_timestamp("t", &Timestamp { seconds, nanos }).ok()
    }

    #[test]
    fn times_round_trip_across_the_whole_timestamp_range() {
        let (first, last) = (*TIMESTAMP_SECONDS.start(), *TIMESTAMP_SECONDS.end());
        for (seconds, nanos) in [(first, 0), (last, 999_999_999), (0, 0), (-1, 999_999_999), (1_764_554_400, 5)] {
            let time = read(seconds, nanos).unwrap_or_else(|| panic!("{seconds}.{nanos} is a valid time"));
            assert_eq!(timestamp(time), Timestamp { seconds, nanos });
        }
        let now = Utc::now();
        assert_eq!(read(timestamp(now).seconds, timestamp(now).nanos), Some(now));
        let expiry = std::time::UNIX_EPOCH + std::time::Duration::new(1_764_554_400, 7);
        assert_eq!(system_time_to_timestamp(expiry), Timestamp { seconds: 1_764_554_400, nanos: 7 });
    }

    #[test]
    fn times_outside_the_range_are_violations_never_other_times() {
        let (first, last) = (*TIMESTAMP_SECONDS.start(), *TIMESTAMP_SECONDS.end());
        for (seconds, nanos) in [
            (first - 1, 0),
            (last + 1, 0),
            (-8_000_000_000_000, 0),
            (i64::MIN, 0),
            (i64::MAX, 0),
            (0, -1),
            (0, 1_000_000_000),
            (59, 1_500_000_000),
            (0, i32::MAX),
        ] {
            let got = time_from_timestamp("create_time.start_time", &Timestamp { seconds, nanos });
            assert_eq!(got.map_err(|v| v.field), Err("create_time.start_time".to_owned()), "{seconds}.{nanos}");
        }
    }
}
