//! The database row of a legal-aid application.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use super::rules::Lifecycle;
use crate::arrays::Texts;
use crate::jsonb::Json;
use crate::schema::legal_aid_applications;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = legal_aid_applications, check_for_backend(diesel::pg::Pg))]
pub struct ApplicationRow {
    pub id: Uuid,
    pub centre_organization_id: Uuid,
    pub bureau_organization_id: Option<Uuid>,
    pub origin_organization_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub applicant_account_id: Option<Uuid>,
    pub applicant_name: String,
    pub applicant_phone_masked: Option<String>,
    pub applicant_phone_cipher: Option<Vec<u8>>,
    pub applicant_key: String,
    #[diesel(deserialize_as = Texts)]
    pub adverse_parties: Vec<String>,
    #[diesel(deserialize_as = Texts)]
    pub adverse_keys: Vec<String>,
    pub matter_type: i16,
    pub matter_summary: String,
    pub lawyer_account_id: Option<Uuid>,
    pub state: i16,
    pub receive_date: NaiveDate,
    pub due_date: Option<NaiveDate>,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a transition changes: the lifecycle and its projections.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = legal_aid_applications, treat_none_as_null = true)]
pub struct ApplicationChange {
    /// The bureau an objection went to (the centre's parent then).
    pub bureau_organization_id: Option<Uuid>,
    pub lawyer_account_id: Option<Uuid>,
    pub state: i16,
    pub due_date: Option<NaiveDate>,
    pub lifecycle: Json<Lifecycle>,
    pub version: i32,
    pub last_sequence: i32,
    pub updated_at: DateTime<Utc>,
}
