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
    let on = store::DesignatedCase {
        id: case.id,
        region_path: case.region_path.clone(),
        region_code: case.region_code.clone(),
        number: case.number.clone(),
    };
    let row = designated(journal, on, reason, detail, actor)?;
    store::insert_backlog_cases(conn, std::slice::from_ref(&row))?;
    Ok(BacklogCase { row, handling_organization_id: case.handling_organization_id })
}

/// The row of a designation of `case`, its event journaled.
fn designated(
    journal: &mut Journal,
    case: store::DesignatedCase,
    reason: BacklogReason,
    detail: String,
    actor: Option<Uuid>,
) -> Result<BacklogRow, AppError> {
    let id = Uuid::now_v7();
    let at = journal.now();
    let event = rules::designate(case.id, reason, detail, actor, at);
    let start = Batch { id, before: None, last_sequence: 0, actor, at };
    let (life, last_sequence) = journal.record_batch(start, &[event], |_, _| ())?;
    Ok(BacklogRow {
        id,
        case_id: case.id,
        state: life.state.as_i16(),
        reason: life.reason.as_i16(),
        by_rule: life.by_rule,
        region_path: case.region_path,
        region_code: case.region_code,
        case_number: case.number,
        designated_at: at,
        closed_at: None,
        lifecycle: Json(life),
        version: 1,
        last_sequence,
        created_at: at,
        updated_at: at,
    })
}

/// The designation rule's writes, for the background sweep, inside its own
/// transaction (no actor): designates the `found` candidates of
/// `store::candidates`, but those designated meanwhile; how many it did.
/// (One designated by staff between this check and the insert fails the
/// batch at the unique index; the next pass sees it.)
pub fn designate_by_rule(
    conn: &mut PgConnection,
    journal: &mut Journal,
    found: Vec<store::Candidate>,
) -> Result<u32, AppError> {
    if found.iter().any(|c| c.reason == BacklogReason::ByDecision) {
        return Err(AppError::internal("a designation by rule needs a rule's reason"));
    }
    let ids: Vec<Uuid> = found.iter().map(|c| c.case_id).collect();
    let open = store::open_designations(conn, &ids)?;
    let mut cases = store::designated_cases(conn, &ids)?;
    let mut rows = Vec::new();
    for candidate in found {
        if open.contains(&candidate.case_id) {
            continue;
        }
        let Some(case) = cases.remove(&candidate.case_id) else { continue };
        rows.push(designated(journal, case, candidate.reason, candidate.detail, None)?);
    }
    store::insert_backlog_cases(conn, &rows)?;
    Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
}
