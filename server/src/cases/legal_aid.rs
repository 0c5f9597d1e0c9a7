//! A case's legal-aid route, seen from the case: the application made
//! from it recorded on the case in the application's transaction, and what
//! `Case.legal_aid` shows. The application itself is `crate::legal_aid`'s.

use diesel::PgConnection;
use petition_proto::v1 as pb;
use uuid::Uuid;

use super::aggregate::Case;
use super::commands::decide_now;
use super::domain::{CaseState, DeclineReason};
use super::model::CaseRow;
use super::rules::Command as Rule;
use super::store::StoredLegalAid;
use crate::error::AppError;
use crate::event_log::Journal;
use crate::pipeline::Aggregate;

/// Records on case `case_id` that application `application_id` was made
/// from it, in the application's transaction. The caller's right to apply
/// from the case was checked by the application's handler.
pub fn record_application(
    conn: &mut PgConnection,
    journal: &mut Journal,
    case_id: Uuid,
    application_id: Uuid,
    centre_id: Uuid,
    actor: Option<Uuid>,
) -> Result<(), AppError> {
    let case = Case::lock(conn, case_id)?;
    let events = decide_now(conn, &case, Rule::RecordLegalAidApplication { application_id, centre_id })?;
    case.save(conn, journal, actor, &events)?;
    Ok(())
}

/// Whether the case's decline offers the legal-aid route: it was declined
/// as belonging to litigation, arbitration or an administrative procedure
/// (诉访分离), where a lawyer helps.
pub fn offered(row: &CaseRow) -> bool {
    let life = &row.lifecycle.0;
    life.state == CaseState::Declined
        && matches!(
            life.decline_reason,
            Some(DeclineReason::Litigation | DeclineReason::Arbitration | DeclineReason::AdministrativeProcedure)
        )
}

/// `Case.legal_aid` of `row`, from what was read with it.
pub fn message(row: &CaseRow, stored: StoredLegalAid) -> pb::CaseLegalAid {
    pb::CaseLegalAid {
        offered: offered(row),
        centre_organization_ids: stored.centres.iter().map(Uuid::to_string).collect(),
        applications: stored
            .applications
            .into_iter()
            .map(|(id, centre, state)| pb::CaseLegalAidApplication {
                application_id: id.to_string(),
                centre_organization_id: centre.to_string(),
                state: i32::from(state),
            })
            .collect(),
    }
}
