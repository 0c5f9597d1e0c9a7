//! Database rows of the directory.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::{organizations, regions};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = regions, check_for_backend(diesel::pg::Pg))]
pub struct RegionRow {
    pub code: String,
    pub name: String,
    pub level: i16,
    pub parent_code: Option<String>,
    pub path: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg))]
pub struct OrganizationRow {
    pub id: Uuid,
    pub name: String,
    pub kind: i16,
    pub region_code: String,
    pub parent_id: Option<Uuid>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An organization with the path of its region, for jurisdiction checks.
#[derive(Debug, Clone)]
pub struct PlacedOrganization {
    pub organization: OrganizationRow,
    pub region_path: String,
}

/// A staff member as the directory lists them.
#[derive(Debug, Clone, Queryable)]
pub struct StaffRow {
    pub account_id: Uuid,
    pub display_name: String,
    pub organization_id: Option<Uuid>,
    pub roles: Vec<Option<i16>>,
    pub disabled: bool,
}
