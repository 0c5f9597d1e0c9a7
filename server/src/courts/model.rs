//! Database rows of court referrals.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::rules::Lifecycle;
use crate::jsonb::Json;
use crate::schema::court_referrals;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = court_referrals, check_for_backend(diesel::pg::Pg))]
pub struct ReferralRow {
    pub id: Uuid,
    pub case_id: Uuid,
    pub court_organization_id: Uuid,
    pub referring_organization_id: Option<Uuid>,
    pub region_code: String,
    pub region_path: String,
    pub state: i16,
    pub court_case_number: String,
    pub refer_date: NaiveDate,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The projections a transition rewrites.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = court_referrals)]
pub struct ReferralChange {
    pub state: i16,
    pub court_case_number: String,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub updated_at: DateTime<Utc>,
}
