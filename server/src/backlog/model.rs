//! Database rows of backlog cases.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::rules::Lifecycle;
use crate::jsonb::Json;
use crate::schema::backlog_cases;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = backlog_cases, check_for_backend(diesel::pg::Pg))]
pub struct BacklogRow {
    pub id: Uuid,
    pub case_id: Uuid,
    pub state: i16,
    pub reason: i16,
    pub by_rule: bool,
    pub region_path: String,
    pub region_code: String,
    pub case_number: String,
    pub designated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The projections a change rewrites.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = backlog_cases, treat_none_as_null = true)]
pub struct BacklogChange {
    pub state: i16,
    pub closed_at: Option<DateTime<Utc>>,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub updated_at: DateTime<Utc>,
}

impl BacklogChange {
    /// The projections of `life`.
    pub fn of(life: Lifecycle, version: i32, last_sequence: i32, updated_at: DateTime<Utc>) -> BacklogChange {
        BacklogChange {
            state: life.state.as_i16(),
            closed_at: life.closed_at,
            lifecycle: Json(life),
            version,
            last_sequence,
            updated_at,
        }
    }
}
