//! A case's diversion to mediation (人民调解), seen from the case: the
//! referral's policy line and rule, and the case told how its dispute
//! ended. The dispute itself is `crate::mediation`'s.

use diesel::PgConnection;
use uuid::Uuid;

use super::aggregate::Case;
use super::commands::decide_now;
use super::domain::{CaseState, MediationOutcome};
use super::rules::Command as Rule;
use crate::auth::Principal;
use crate::auth::policy::CaseAction;
use crate::error::AppError;
use crate::event_log::Journal;
use crate::mediation::domain::DisputeState;
use crate::pipeline::{Aggregate, Command};

/// Diverting a case to a team: the bureau before the case is accepted,
/// the handling unit after.
pub struct Refer {
    pub dispute_id: Uuid,
    pub team_id: Uuid,
}

impl Command<Case> for Refer {
    fn action(&self, case: &Case) -> CaseAction {
        if case.life().state == CaseState::Accepted { CaseAction::Handle } else { CaseAction::Triage }
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, _: &Principal) -> Result<Vec<super::rules::Event>, AppError> {
        decide_now(conn, case, Rule::ReferToMediation { dispute_id: self.dispute_id, team_id: self.team_id })
    }
}

/// Tells case `case_id` that the dispute it was diverted to ended as
/// `state`, in the dispute's transaction. Not a caller's act on the case:
/// no policy is asked.
pub fn conclude(
    conn: &mut PgConnection,
    journal: &mut Journal,
    case_id: Uuid,
    dispute_id: Uuid,
    state: DisputeState,
    actor: Option<Uuid>,
) -> Result<(), AppError> {
    let outcome = match state {
        DisputeState::Settled => MediationOutcome::Settled,
        DisputeState::Refused => MediationOutcome::Refused,
        _ => MediationOutcome::Failed,
    };
    let case = Case::lock(conn, case_id)?;
    let events = decide_now(conn, &case, Rule::ConcludeMediation { dispute_id, outcome })?;
    case.save(conn, journal, actor, &events)?;
    Ok(())
}
