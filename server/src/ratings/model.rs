//! Database rows of ratings.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::rules::Lifecycle;
use crate::jsonb::Json;
use crate::schema::ratings;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ratings, check_for_backend(diesel::pg::Pg))]
pub struct RatingRow {
    pub id: Uuid,
    pub case_id: Uuid,
    pub round: i16,
    pub region_path: String,
    pub category_code: String,
    pub served_at: DateTime<Utc>,
    pub rate_by: NaiveDate,
    pub acceptance_organization_id: Option<Uuid>,
    pub handling_organization_id: Uuid,
    pub rated_at: Option<DateTime<Utc>>,
    pub acceptance: Option<i16>,
    pub handling: Option<i16>,
    pub channel: Option<i16>,
    pub region_code: String,
    pub case_number: String,
    pub petitioner_id: Uuid,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The projections a rating or a change rewrites (set together, as the
/// table's CHECK demands).
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = ratings, treat_none_as_null = true)]
pub struct RatingChange {
    pub rated_at: Option<DateTime<Utc>>,
    pub acceptance: Option<i16>,
    pub handling: Option<i16>,
    pub channel: Option<i16>,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub updated_at: DateTime<Utc>,
}

impl RatingChange {
    /// The projections of `life`.
    pub fn of(life: Lifecycle, version: i32, last_sequence: i32, updated_at: DateTime<Utc>) -> RatingChange {
        let given = life.given.as_ref();
        RatingChange {
            rated_at: given.map(|g| g.rated_at),
            acceptance: given.map(|g| g.acceptance.satisfaction.as_i16()),
            handling: given.map(|g| g.handling.satisfaction.as_i16()),
            channel: given.map(|g| g.channel.as_i16()),
            lifecycle: Json(life),
            version,
            last_sequence,
            updated_at,
        }
    }
}
