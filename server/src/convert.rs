//! Conversions between wire values and domain values shared by every service.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::error::AppError;

pub fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: time.timestamp(), nanos: time.timestamp_subsec_nanos() as i32 }
}

pub fn system_time_to_timestamp(time: std::time::SystemTime) -> prost_types::Timestamp {
    timestamp(DateTime::<Utc>::from(time))
}

/// A resource id from the wire: a UUID, else INVALID_ARGUMENT on `field`.
pub fn parse_id(field: &str, raw: &str) -> Result<Uuid, AppError> {
    if raw.is_empty() {
        return Err(AppError::invalid(field, "is required"));
    }
    Uuid::parse_str(raw).map_err(|_| AppError::invalid(field, "must be a UUID"))
}

/// Lowercase hexadecimal of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
