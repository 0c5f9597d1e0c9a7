//! Database rows of the taxonomy and routing rules.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::schema::{categories, routing_rules};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = categories, check_for_backend(diesel::pg::Pg))]
pub struct CategoryRow {
    pub code: String,
    pub name: String,
    pub retired: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = routing_rules, check_for_backend(diesel::pg::Pg))]
pub struct RoutingRuleRow {
    pub id: Uuid,
    pub category_code: String,
    pub region_code: String,
    pub organization_id: Uuid,
    pub mode: i16,
    pub updated_at: DateTime<Utc>,
}
