//! Database rows of the workday calendar.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;

use crate::schema::calendar_days;

/// One exception to the plain week (`kind`: `rules::DayKind` values).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = calendar_days, check_for_backend(diesel::pg::Pg))]
pub struct CalendarDayRow {
    pub day: NaiveDate,
    pub kind: i16,
    pub note: String,
    pub updated_at: DateTime<Utc>,
}

/// An exception to insert; `updated_at` defaults to now.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = calendar_days, check_for_backend(diesel::pg::Pg))]
pub struct NewCalendarDay<'a> {
    pub day: NaiveDate,
    pub kind: i16,
    pub note: &'a str,
}
