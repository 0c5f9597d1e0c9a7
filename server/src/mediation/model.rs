//! Database rows of mediation: teams, members, screening rounds, disputes
//! and their parties.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::rules::Lifecycle;
use crate::arrays::{Ids, SmallInts, Texts};
use crate::jsonb::Json;
use crate::schema::{dispute_parties, disputes, mediation_teams, screenings, team_members};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mediation_teams, check_for_backend(diesel::pg::Pg))]
pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    pub kind: i16,
    #[diesel(deserialize_as = SmallInts)]
    pub specialties: Vec<i16>,
    pub organization_id: Uuid,
    pub region_code: String,
    pub region_path: String,
    pub level: i16,
    #[diesel(deserialize_as = Texts)]
    pub covered_region_codes: Vec<String>,
    #[diesel(deserialize_as = Texts)]
    pub covered_paths: Vec<String>,
    pub retired: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What UpdateTeam may change.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = mediation_teams)]
pub struct TeamChange {
    pub name: String,
    pub specialties: Vec<i16>,
    pub covered_region_codes: Vec<String>,
    pub covered_paths: Vec<String>,
    pub retired: bool,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = team_members, check_for_backend(diesel::pg::Pg))]
pub struct MemberRow {
    pub id: Uuid,
    pub team_id: Uuid,
    pub display_name: String,
    pub role: i16,
    pub account_id: Option<Uuid>,
    pub phone_masked: Option<String>,
    pub phone_cipher: Option<Vec<u8>>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub removed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = screenings, check_for_backend(diesel::pg::Pg))]
pub struct ScreeningRow {
    pub id: Uuid,
    pub team_id: Uuid,
    pub screening_date: NaiveDate,
    pub area: String,
    pub zero_report: bool,
    pub note: String,
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = disputes, check_for_backend(diesel::pg::Pg))]
pub struct DisputeRow {
    pub id: Uuid,
    pub team_id: Uuid,
    #[diesel(deserialize_as = Ids)]
    pub team_ids: Vec<Uuid>,
    pub mediator_member_id: Option<Uuid>,
    pub region_code: String,
    pub region_path: String,
    pub category: i16,
    pub source: i16,
    pub matter: String,
    pub case_id: Option<Uuid>,
    pub referring_organization_id: Option<Uuid>,
    pub referring_court_id: Option<Uuid>,
    pub court_case_number: String,
    pub screening_id: Option<Uuid>,
    pub attachments: serde_json::Value,
    #[diesel(deserialize_as = Ids)]
    pub party_account_ids: Vec<Uuid>,
    pub confirmation_court_id: Option<Uuid>,
    pub state: i16,
    pub receive_date: NaiveDate,
    pub accept_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When each once-per-dispute event the statistics count was recorded
    /// (`aggregate::Milestones`).
    pub accepted_at: Option<DateTime<Utc>>,
    pub refused_at: Option<DateTime<Utc>>,
    pub settled_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub performed_at: Option<DateTime<Utc>>,
    pub confirmation_applied_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub days_to_settle: Option<i32>,
}

/// The columns a transition rewrites: the lifecycle and its projections.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = disputes, treat_none_as_null = true)]
pub struct DisputeChange {
    pub team_id: Uuid,
    pub team_ids: Vec<Uuid>,
    pub mediator_member_id: Option<Uuid>,
    pub confirmation_court_id: Option<Uuid>,
    pub state: i16,
    pub accept_date: Option<NaiveDate>,
    pub due_date: Option<NaiveDate>,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub updated_at: DateTime<Utc>,
    /// When each once-per-dispute event the statistics count was recorded
    /// (`aggregate::Milestones`).
    pub accepted_at: Option<DateTime<Utc>>,
    pub refused_at: Option<DateTime<Utc>>,
    pub settled_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub performed_at: Option<DateTime<Utc>>,
    pub confirmation_applied_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub days_to_settle: Option<i32>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dispute_parties, check_for_backend(diesel::pg::Pg))]
pub struct PartyRow {
    pub dispute_id: Uuid,
    pub id: Uuid,
    pub position: i16,
    pub account_id: Option<Uuid>,
    pub name: String,
    pub organization: bool,
    pub phone_masked: Option<String>,
    pub phone_cipher: Option<Vec<u8>>,
}
