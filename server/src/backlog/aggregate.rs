//! A backlog case as the command pipeline handles it: its row locked for
//! the transaction, with its case's current handling organization (the
//! policy needs it); saving applies the decided events, rewrites the
//! projections and journals the events. Designations are created here,
//! by staff (`designate`) or by the rule's sweep (`designate_by_rule`).

use diesel::PgConnection;
use uuid::Uuid;

use super::domain::BacklogReason;
use super::model::{BacklogChange, BacklogRow};
use super::rules::{self, Event, Lifecycle};
use super::store;
use crate::auth::Principal;
use crate::auth::policy::{self, BacklogAccess, BacklogAction};
use crate::cases::model::CaseRow;
use crate::error::{AppError, Reason};
use crate::event_log::{AggregateType, Batch, Journal};
use crate::jsonb::Json;
use crate::pipeline::Aggregate;

/// A stored backlog case.
#[derive(Debug, Clone)]
pub struct BacklogCase {
    pub row: BacklogRow,
    /// Its case's handling organization, as it is now.
    pub handling_organization_id: Option<Uuid>,
}

impl BacklogCase {
    pub fn life(&self) -> &Lifecycle {
        &self.row.lifecycle.0
    }

    /// Loads backlog case `id` (not locked).
    pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<BacklogCase, AppError> {
        let row = store::find_backlog_case(conn, id)?.ok_or(AppError::NotFound { resource: "backlog case" })?;
        let handling_organization_id = store::handling_organization(conn, row.case_id)?;
        Ok(BacklogCase { row, handling_organization_id })
    }

    /// What the policy needs to know about it.
    pub fn access(&self) -> BacklogAccess<'_> {
        BacklogAccess { region_path: &self.row.region_path, handling_organization_id: self.handling_organization_id }
    }
}

crate::folded_events!(Event => Lifecycle, AggregateType::BacklogCase, "a backlog case", rules::apply, rules::event_type);

impl Aggregate for BacklogCase {
    const RESOURCE: &'static str = "backlog case";
    type Action = BacklogAction;
    type Event = Event;

    fn lock(conn: &mut PgConnection, id: Uuid) -> Result<BacklogCase, AppError> {
        let row = store::lock_backlog_case(conn, id)?.ok_or(AppError::NotFound { resource: "backlog case" })?;
        let handling_organization_id = store::handling_organization(conn, row.case_id)?;
        Ok(BacklogCase { row, handling_organization_id })
    }

    fn etag(&self) -> String {
        self.row.version.to_string()
    }

    fn authorize(&self, _: &mut PgConnection, principal: &Principal, action: BacklogAction) -> Result<(), AppError> {
        policy::authorize_backlog_case(principal, action, &self.access())
    }

    fn save(
        self,
        conn: &mut PgConnection,
        journal: &mut Journal,
        actor: Option<Uuid>,
        events: &[Event],
    ) -> Result<BacklogCase, AppError> {
        // Nothing changed (the same checks again): nothing to store.
        if events.is_empty() {
            return Ok(self);
        }
        let BacklogCase { row, handling_organization_id } = self;
        let at = journal.now();
        let start =
            Batch { id: row.id, before: Some(row.lifecycle.0.clone()), last_sequence: row.last_sequence, actor, at };
        let (life, last_sequence) = journal.record_batch(start, events, |_, _| ())?;
        let change = BacklogChange::of(life, row.version + 1, last_sequence, at);
        Ok(BacklogCase { row: store::save_backlog_case(conn, row.id, &change)?, handling_organization_id })
    }
}

/// Designates `case` for `reason` with `detail`, by `actor` (`None`: the
/// rule). FAILED_PRECONDITION ALREADY_DESIGNATED when a designation of the
/// case is open. The caller has checked the policy.
pub fn designate(
    conn: &mut PgConnection,
    journal: &mut Journal,
    case: &CaseRow,
    reason: BacklogReason,
    detail: String,
    actor: Option<Uuid>,
) -> Result<BacklogCase, AppError> {
    if let Some(open) = store::open_designation(conn, case.id)? {
        return Err(AppError::FailedPrecondition {
            reason: Reason::AlreadyDesignated,
            message: format!("case {} is already designated a backlog case ({open})", case.number),
            subject: format!("cases/{}", case.id),
        });
    }
    let id = Uuid::now_v7();
    let at = journal.now();
    let event = rules::designate(case.id, reason, detail, actor, at);
    let start = Batch { id, before: None, last_sequence: 0, actor, at };
    let (life, last_sequence) = journal.record_batch(start, &[event], |_, _| ())?;
    let row = BacklogRow {
        id,
        case_id: case.id,
        state: life.state.as_i16(),
        reason: life.reason.as_i16(),
        by_rule: life.by_rule,
        region_path: case.region_path.clone(),
        region_code: case.region_code.clone(),
        case_number: case.number.clone(),
        designated_at: at,
        closed_at: None,
        lifecycle: Json(life),
        version: 1,
        last_sequence,
        created_at: at,
        updated_at: at,
    };
    store::insert_backlog_case(conn, &row)?;
    Ok(BacklogCase { row, handling_organization_id: case.handling_organization_id })
}

/// The designation rule's write, for the background sweep, inside its own
/// transaction (no actor): designates case `case_id` for `reason`
/// (a candidate of `store::candidates`). NOT_FOUND for no such case;
/// FAILED_PRECONDITION ALREADY_DESIGNATED when one is open meanwhile.
pub fn designate_by_rule(
    conn: &mut PgConnection,
    journal: &mut Journal,
    case_id: Uuid,
    reason: BacklogReason,
    detail: String,
) -> Result<BacklogCase, AppError> {
    if reason == BacklogReason::ByDecision {
        return Err(AppError::internal("a designation by rule needs a rule's reason"));
    }
    let case = crate::cases::store::find_case(conn, case_id)?.ok_or(AppError::NotFound { resource: "case" })?;
    designate(conn, journal, &case, reason, detail, None)
}
