//! Database rows of supervision items.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::rules::Lifecycle;
use crate::jsonb::Json;
use crate::schema::supervisions;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = supervisions, check_for_backend(diesel::pg::Pg))]
pub struct SupervisionRow {
    pub id: Uuid,
    pub case_id: Uuid,
    pub region_path: String,
    pub region_code: String,
    pub case_number: String,
    pub organization_id: Uuid,
    pub issuer_organization_id: Uuid,
    pub state: i16,
    pub rung: i16,
    pub trigger: i16,
    pub due_date: NaiveDate,
    pub automatic: bool,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The projections a change rewrites.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = supervisions)]
pub struct SupervisionChange {
    pub state: i16,
    pub rung: i16,
    pub due_date: NaiveDate,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub updated_at: DateTime<Utc>,
}

impl SupervisionChange {
    /// The projections of `life`.
    pub fn of(life: Lifecycle, version: i32, last_sequence: i32, updated_at: DateTime<Utc>) -> SupervisionChange {
        SupervisionChange {
            state: life.state.as_i16(),
            rung: life.rung.as_i16(),
            due_date: life.due_date,
            lifecycle: Json(life),
            version,
            last_sequence,
            updated_at,
        }
    }
}
