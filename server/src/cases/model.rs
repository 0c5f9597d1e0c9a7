//! Database rows of cases.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Nullable};
use uuid::Uuid;

use crate::schema::cases;

/// A `UUID[]` column whose elements are never NULL.
pub struct Ids(Vec<Uuid>);

impl Queryable<Array<Nullable<diesel::sql_types::Uuid>>, Pg> for Ids {
    type Row = Vec<Option<Uuid>>;

    fn build(row: Self::Row) -> diesel::deserialize::Result<Self> {
        Ok(Ids(row.into_iter().flatten().collect()))
    }
}

impl From<Ids> for Vec<Uuid> {
    fn from(ids: Ids) -> Vec<Uuid> {
        ids.0
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = cases, check_for_backend(diesel::pg::Pg))]
pub struct CaseRow {
    pub id: Uuid,
    pub number: String,
    pub kind: i16,
    pub channel: i16,
    pub state: i16,
    pub track: i16,
    pub category_code: String,
    pub region_code: String,
    pub region_path: String,
    pub title: String,
    pub content: String,
    pub requests: String,
    pub facts_and_reasons: String,
    pub attachments: serde_json::Value,
    pub petitioner_id: Uuid,
    pub group_visit: Option<serde_json::Value>,
    pub registered_by: Uuid,
    pub registering_organization_id: Option<Uuid>,
    pub handling_organization_id: Option<Uuid>,
    pub routing_mode: Option<i16>,
    pub reviewing_organization_id: Option<Uuid>,
    pub lifecycle: serde_json::Value,
    pub due_date: Option<NaiveDate>,
    pub extended: bool,
    pub routed_on_registration: bool,
    pub first_routed_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub respondent_organization_id: Option<Uuid>,
    pub repeat_of: Option<Uuid>,
    pub merged_into: Option<Uuid>,
    /// The sequence of the case's newest event.
    pub last_sequence: i32,
    #[diesel(deserialize_as = Ids)]
    pub access_organization_ids: Vec<Uuid>,
}

/// The columns a transition rewrites: the lifecycle and its projections.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = cases, treat_none_as_null = true)]
pub struct LifecycleChange {
    pub state: i16,
    pub track: i16,
    pub handling_organization_id: Option<Uuid>,
    pub routing_mode: Option<i16>,
    pub reviewing_organization_id: Option<Uuid>,
    pub lifecycle: serde_json::Value,
    pub due_date: Option<NaiveDate>,
    pub extended: bool,
    pub first_routed_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    pub repeat_of: Option<Uuid>,
    pub merged_into: Option<Uuid>,
    pub last_sequence: i32,
    pub access_organization_ids: Vec<Uuid>,
}
