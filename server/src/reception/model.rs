//! Database rows of reception schedules and bookings.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::rules::{Lifecycle, ScheduleSpec};
use crate::jsonb::Json;
use crate::schema::{reception_bookings, reception_schedules};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reception_schedules, check_for_backend(diesel::pg::Pg))]
pub struct ScheduleRow {
    pub id: Uuid,
    pub leader_account_id: Uuid,
    pub organization_id: Uuid,
    pub region_code: String,
    pub region_path: String,
    pub spec: Json<ScheduleSpec>,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    pub retired: bool,
    pub version: i32,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an update rewrites.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = reception_schedules)]
pub struct ScheduleChange {
    pub leader_account_id: Uuid,
    pub region_code: String,
    pub region_path: String,
    pub spec: Json<ScheduleSpec>,
    pub valid_from: NaiveDate,
    pub valid_until: Option<Option<NaiveDate>>,
    pub retired: bool,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reception_bookings, check_for_backend(diesel::pg::Pg))]
pub struct BookingRow {
    pub id: Uuid,
    pub schedule_id: Uuid,
    pub leader_account_id: Uuid,
    pub organization_id: Uuid,
    pub region_path: String,
    pub citizen_account_id: Uuid,
    pub slot_date: NaiveDate,
    pub slot_minute: i16,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub matter_key: String,
    pub case_id: Option<Uuid>,
    pub state: i16,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The projections a booking's change rewrites.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = reception_bookings)]
pub struct BookingChange {
    pub case_id: Option<Uuid>,
    pub state: i16,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub updated_at: DateTime<Utc>,
}

impl BookingChange {
    pub fn of(life: Lifecycle, version: i32, last_sequence: i32, updated_at: DateTime<Utc>) -> BookingChange {
        BookingChange {
            case_id: life.case_id,
            state: life.state.as_i16(),
            lifecycle: Json(life),
            version,
            last_sequence,
            updated_at,
        }
    }
}
