//! Court linkage seen from the case (诉访分离): the referral's policy line
//! and rule, and the case told how a referral ended. The referral itself is
//! `crate::courts`'.

use chrono::NaiveDate;
use diesel::PgConnection;
use uuid::Uuid;

use super::aggregate::Case;
use super::commands::decide_now;
use super::domain::CaseState;
use super::rules::{Command as Rule, Event, Organization};
use crate::auth::Principal;
use crate::auth::policy::CaseAction;
use crate::courts::domain::{CourtOutcome, ReferralState};
use crate::directory::rules::OrganizationKind;
use crate::directory::store as directory_store;
use crate::error::AppError;
use crate::event_log::Journal;
use crate::pipeline::{Aggregate, Command};

/// Referring a case to a court: the bureau's clerk before the case is
/// accepted (or once declined for litigation), the handling unit after.
pub struct Refer {
    pub referral_id: Uuid,
    pub court_id: Uuid,
    pub referred_on: NaiveDate,
}

impl Command<Case> for Refer {
    fn action(&self, case: &Case) -> CaseAction {
        if case.life().state == CaseState::Accepted { CaseAction::Handle } else { CaseAction::Triage }
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, _: &Principal) -> Result<Vec<Event>, AppError> {
        let court = directory_store::find_organization(conn, self.court_id)?.and_then(|o| {
            OrganizationKind::from_i32(i32::from(o.organization.kind)).map(|kind| Organization {
                id: o.organization.id,
                kind,
                region_path: o.region_path.clone(),
            })
        });
        let rule = Rule::ReferToCourt {
            referral_id: self.referral_id,
            court_id: self.court_id,
            court,
            referred_on: self.referred_on,
        };
        decide_now(conn, case, rule)
    }
}

/// How a referral ended, for the case.
pub struct Ending {
    pub state: ReferralState,
    pub court_case_number: String,
    pub outcome: Option<CourtOutcome>,
    pub close_date: NaiveDate,
}

/// Tells case `case_id` that referral `referral_id` ended, in the
/// referral's transaction. Not a caller's act on the case: no policy is
/// asked.
pub fn conclude(
    conn: &mut PgConnection,
    journal: &mut Journal,
    case_id: Uuid,
    referral_id: Uuid,
    ending: Ending,
    actor: Option<Uuid>,
) -> Result<(), AppError> {
    let case = Case::lock(conn, case_id)?;
    let rule = Rule::ConcludeCourtReferral {
        referral_id,
        state: ending.state,
        court_case_number: ending.court_case_number,
        outcome: ending.outcome,
        close_date: ending.close_date,
    };
    let events = decide_now(conn, &case, rule)?;
    case.save(conn, journal, actor, &events)?;
    Ok(())
}
