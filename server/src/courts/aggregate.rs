//! A court referral as the command pipeline handles it: its row locked for
//! the transaction, with the case it refers (the policy asks about both);
//! saving applies the decided events, rewrites the projections, journals
//! the events and tells the case when the referral ended.

use chrono::NaiveDate;
use diesel::PgConnection;
use uuid::Uuid;

use super::domain::ReferralState;
use super::model::{ReferralChange, ReferralRow};
use super::rules::{self, Event, Lifecycle, Party};
use super::store;
use crate::auth::Principal;
use crate::auth::policy::{self, CourtReferralAccess, CourtReferralAction};
use crate::cases::aggregate::Case;
use crate::cases::court::{Ending, Refer};
use crate::cases::model::CaseRow;
use crate::error::AppError;
use crate::event_log::{AggregateType, Batch, Journal};
use crate::jsonb::Json;
use crate::pipeline::{self, Aggregate};

/// A stored referral and its case.
#[derive(Debug, Clone)]
pub struct Referral {
    pub row: ReferralRow,
    pub case: CaseRow,
}

impl Referral {
    pub fn life(&self) -> &Lifecycle {
        &self.row.lifecycle.0
    }

    /// Loads referral `id` and its case (not locked).
    pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<Referral, AppError> {
        let row = store::find_referral(conn, id)?.ok_or(AppError::NotFound { resource: "court referral" })?;
        Self::with_case(conn, row)
    }

    fn with_case(conn: &mut PgConnection, row: ReferralRow) -> Result<Referral, AppError> {
        let case = crate::cases::store::find_case(conn, row.case_id)?
            .ok_or_else(|| AppError::internal("a court referral's case is gone"))?;
        Ok(Referral { row, case })
    }
}

/// What the policy needs to know about a referral of `case`.
pub fn access<'a>(row: &ReferralRow, case: &'a CaseRow) -> CourtReferralAccess<'a> {
    CourtReferralAccess {
        court_id: row.court_organization_id,
        referring_organization_id: row.referring_organization_id,
        case: crate::cases::aggregate::access(case),
    }
}

crate::folded_events!(Event => Lifecycle, AggregateType::CourtReferral, "a court referral", rules::apply, rules::event_type);

impl Aggregate for Referral {
    const RESOURCE: &'static str = "court referral";
    type Action = CourtReferralAction;
    type Event = Event;

    fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Referral, AppError> {
        let row = store::lock_referral(conn, id)?.ok_or(AppError::NotFound { resource: "court referral" })?;
        Self::with_case(conn, row)
    }

    fn etag(&self) -> String {
        self.row.version.to_string()
    }

    fn authorize(
        &self,
        _: &mut PgConnection,
        principal: &Principal,
        action: CourtReferralAction,
    ) -> Result<(), AppError> {
        policy::authorize_court_referral(principal, action, &access(&self.row, &self.case))
    }

    fn save(
        self,
        conn: &mut PgConnection,
        journal: &mut Journal,
        actor: Option<Uuid>,
        events: &[Event],
    ) -> Result<Referral, AppError> {
        let Referral { row, case } = self;
        let at = journal.now();
        let before = Some(row.lifecycle.0.clone());
        let start = Batch { id: row.id, before, last_sequence: row.last_sequence, actor, at };
        let (life, last_sequence) = journal.record_batch(start, events, |_, _| ())?;
        let ending = rules::ended(events).map(|state| Ending {
            state,
            court_case_number: life.court_case_number.clone(),
            outcome: if state == ReferralState::Concluded { life.outcome } else { None },
            close_date: life.close_date.unwrap_or(life.last_act_date),
        });
        let change = ReferralChange {
            state: life.state.as_i16(),
            court_case_number: life.court_case_number.clone(),
            lifecycle: Json(life),
            version: row.version + 1,
            last_sequence,
            updated_at: at,
        };
        let saved = store::save_referral(conn, row.id, &change)?;
        let case = match ending {
            Some(ending) => {
                crate::cases::court::conclude(conn, journal, saved.case_id, saved.id, ending, actor)?;
                crate::cases::store::find_case(conn, saved.case_id)?.unwrap_or(case)
            }
            None => case,
        };
        Ok(Referral { row: saved, case })
    }
}

/// A referral as asked for: ReferCaseToCourt's fields, validated.
#[derive(Debug, Clone)]
pub struct ReferralDraft {
    pub court_id: Uuid,
    pub claim_summary: String,
    pub parties: Vec<Party>,
    pub refer_date: Option<NaiveDate>,
}

/// Refers case `case_id` (ReferCaseToCourt, and the demo seed): the case's
/// side through the pipeline (its policy line and rule, `etag` checked
/// when not empty, the court's access granted), then the referral recorded
/// with its first event. Returns the new referral.
pub fn refer_case(
    conn: &mut PgConnection,
    journal: &mut Journal,
    principal: &Principal,
    case_id: Uuid,
    draft: ReferralDraft,
    etag: &str,
) -> Result<Referral, AppError> {
    let today = crate::time::shanghai_today();
    let referred_on = rules::act_date("refer_date", draft.refer_date, today, NaiveDate::MIN)?;
    let referral_id = Uuid::now_v7();
    let refer = Refer { referral_id, court_id: draft.court_id, referred_on };
    let (case, _) = pipeline::transition::<Case, _>(conn, journal, principal, case_id, etag, refer)?;
    let event = rules::refer(
        case_id,
        draft.court_id,
        principal.organization_id,
        draft.claim_summary,
        draft.parties,
        Some(referred_on),
        case.life().registered_on,
        today,
    )?;
    let at = journal.now();
    let start = Batch { id: referral_id, before: None, last_sequence: 0, actor: Some(principal.account_id), at };
    let (life, last_sequence) = journal.record_batch(start, &[event], |_, _| ())?;
    let row = ReferralRow {
        id: referral_id,
        case_id,
        court_organization_id: draft.court_id,
        referring_organization_id: principal.organization_id,
        region_code: case.row.region_code.clone(),
        region_path: case.row.region_path.clone(),
        state: life.state.as_i16(),
        court_case_number: String::new(),
        refer_date: life.refer_date,
        lifecycle: Json(life),
        version: 1,
        last_sequence,
        created_at: at,
        updated_at: at,
    };
    store::insert_referral(conn, &row)?;
    Ok(Referral { row, case: case.row })
}
