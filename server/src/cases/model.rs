//! Database rows of cases.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::rules::Lifecycle;
use crate::arrays::Ids;
use crate::jsonb::Json;
use crate::schema::cases;

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
    pub lifecycle: Json<Lifecycle>,
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
    /// The leader who owns the case (the lifecycle's, projected).
    pub owning_leader_id: Option<Uuid>,
}

/// The columns of [`CaseRow`] in its field order, with the body (what a
/// list screen does not show) given as `$body`: a select that loads into a
/// `CaseRow`, the full one or a basic one without reading the body.
macro_rules! case_columns {
    ($content:expr, $requests:expr, $facts:expr, $attachments:expr) => {
        (
            cases::id,
            cases::number,
            cases::kind,
            cases::channel,
            cases::state,
            cases::track,
            cases::category_code,
            cases::region_code,
            cases::region_path,
            cases::title,
            $content,
            $requests,
            $facts,
            $attachments,
            cases::petitioner_id,
            cases::group_visit,
            cases::registered_by,
            cases::registering_organization_id,
            cases::handling_organization_id,
            cases::routing_mode,
            cases::reviewing_organization_id,
            cases::lifecycle,
            cases::due_date,
            cases::extended,
            cases::routed_on_registration,
            cases::first_routed_at,
            cases::version,
            cases::created_at,
            cases::updated_at,
            cases::respondent_organization_id,
            cases::repeat_of,
            cases::merged_into,
            cases::last_sequence,
            cases::access_organization_ids,
            cases::owning_leader_id,
        )
    };
}

/// Every column of a case.
macro_rules! full_case_columns {
    () => {
        case_columns!(cases::content, cases::requests, cases::facts_and_reasons, cases::attachments)
    };
}

/// A case without its body (AIP-157 BASIC): content, requests, facts and
/// reasons and attachments come back empty, unread.
macro_rules! basic_case_columns {
    () => {
        case_columns!(
            $crate::static_sql::static_sql::<diesel::sql_types::Text>("''"),
            $crate::static_sql::static_sql::<diesel::sql_types::Text>("''"),
            $crate::static_sql::static_sql::<diesel::sql_types::Text>("''"),
            $crate::static_sql::static_sql::<diesel::sql_types::Jsonb>("'[]'::jsonb")
        )
    };
}

pub(crate) use {basic_case_columns, case_columns, full_case_columns};

/// The columns a transition rewrites: the lifecycle and its projections.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = cases, treat_none_as_null = true)]
pub struct LifecycleChange {
    pub state: i16,
    pub track: i16,
    pub handling_organization_id: Option<Uuid>,
    pub routing_mode: Option<i16>,
    pub reviewing_organization_id: Option<Uuid>,
    pub lifecycle: Json<Lifecycle>,
    pub due_date: Option<NaiveDate>,
    pub extended: bool,
    pub first_routed_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    pub repeat_of: Option<Uuid>,
    pub merged_into: Option<Uuid>,
    pub last_sequence: i32,
    pub access_organization_ids: Vec<Uuid>,
    pub owning_leader_id: Option<Uuid>,
}
