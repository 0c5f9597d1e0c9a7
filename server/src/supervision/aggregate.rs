//! A supervision item as the command pipeline handles it: its row locked
//! for the transaction; saving applies the decided events, rewrites the
//! projections and journals the events. Items are opened here too, by
//! IssueSupervision and by the sweeper.

use chrono::{Datelike, NaiveDate};
use diesel::PgConnection;
use uuid::Uuid;

use super::model::{SupervisionChange, SupervisionRow};
use super::rules::{self, Event, Issue, Issuing, Ladder, Lifecycle};
use super::store;
use crate::auth::Principal;
use crate::auth::policy::{self, SupervisionAccess, SupervisionAction};
use crate::calendar::rules::WorkCalendar;
use crate::cases::model::CaseRow;
use crate::error::AppError;
use crate::event_log::{AggregateType, Batch, Journal};
use crate::jsonb::Json;
use crate::pipeline::Aggregate;

/// A stored supervision item.
#[derive(Debug, Clone)]
pub struct Supervision {
    pub row: SupervisionRow,
}

impl Supervision {
    pub fn life(&self) -> &Lifecycle {
        &self.row.lifecycle.0
    }

    /// What `events` (not none) by `actor` change of the item, journaled,
    /// for the caller to store.
    pub fn change(
        &self,
        journal: &mut Journal,
        actor: Option<Uuid>,
        events: &[Event],
    ) -> Result<SupervisionChange, AppError> {
        let row = &self.row;
        let at = journal.now();
        let start =
            Batch { id: row.id, before: Some(row.lifecycle.0.clone()), last_sequence: row.last_sequence, actor, at };
        let (life, last_sequence) = journal.record_batch(start, events, |_, _| ())?;
        // The sweeper's warnings and lapse marks leave the version (the
        // etag) as it was: a caller's conditional answer never fails for them.
        let marks_only = events.iter().all(|e| matches!(e, Event::DeadlineApproaching { .. } | Event::Lapsed { .. }));
        let version = if marks_only { row.version } else { row.version + 1 };
        Ok(SupervisionChange::of(life, version, last_sequence, at))
    }

    /// Loads item `id` (not locked).
    pub fn find(conn: &mut PgConnection, id: Uuid) -> Result<Supervision, AppError> {
        let row = store::find(conn, id)?.ok_or(AppError::NotFound { resource: "supervision" })?;
        Ok(Supervision { row })
    }
}

/// What the policy needs to know about a stored item.
pub fn access(row: &SupervisionRow) -> SupervisionAccess<'_> {
    SupervisionAccess {
        region_path: &row.region_path,
        organization_id: row.organization_id,
        issuer_organization_id: row.issuer_organization_id,
    }
}

crate::folded_events!(Event => Lifecycle, AggregateType::Supervision, "a supervision item", rules::apply, rules::event_type);

impl Aggregate for Supervision {
    const RESOURCE: &'static str = "supervision";
    type Action = SupervisionAction;
    type Event = Event;

    fn lock(conn: &mut PgConnection, id: Uuid) -> Result<Supervision, AppError> {
        let row = store::lock(conn, id)?.ok_or(AppError::NotFound { resource: "supervision" })?;
        Ok(Supervision { row })
    }

    fn etag(&self) -> String {
        self.row.version.to_string()
    }

    fn authorize(
        &self,
        _: &mut PgConnection,
        principal: &Principal,
        action: SupervisionAction,
    ) -> Result<(), AppError> {
        policy::authorize_supervision(principal, action, &access(&self.row))
    }

    fn save(
        self,
        conn: &mut PgConnection,
        journal: &mut Journal,
        actor: Option<Uuid>,
        events: &[Event],
    ) -> Result<Supervision, AppError> {
        if events.is_empty() {
            return Ok(self);
        }
        let change = self.change(journal, actor, events)?;
        Ok(Supervision { row: store::save(conn, self.row.id, &change)? })
    }
}

/// The document number of `rung` reached on `day` by `issuer`, if it
/// issues one.
pub fn number(
    conn: &mut PgConnection,
    issuer: Uuid,
    rung: super::domain::Rung,
    day: NaiveDate,
) -> Result<Option<String>, AppError> {
    if rung.document().is_none() {
        return Ok(None);
    }
    let sequence = store::next_number(conn, issuer, day.year())?;
    Ok(rules::letter_number(rung, day.year(), sequence))
}

/// The event raising `item` to `rung` on `today`, its deadline on `due`'s
/// ladder and calendar, its document numbered from the issuer's sequence:
/// by a supervisor for `reason`, or (`None`) by the sweeper because the
/// deadline passed.
pub fn risen(
    conn: &mut PgConnection,
    item: &Supervision,
    rung: super::domain::Rung,
    today: NaiveDate,
    due: (&Ladder, &WorkCalendar),
    reason: Option<String>,
) -> Result<Event, AppError> {
    let number = number(conn, item.row.issuer_organization_id, rung, today)?;
    let automatic = reason.is_none();
    let reason = reason
        .unwrap_or_else(|| format!("the deadline {} passed without an answer that resolves it", item.life().due_date));
    Ok(rules::escalated(item.life(), rung, today, due, number, automatic, reason))
}

/// The case an item is on, as its row keeps it.
pub struct OnCase<'a> {
    pub region_path: &'a str,
    pub region_code: &'a str,
    pub number: &'a str,
}

impl<'a> OnCase<'a> {
    pub fn of(case: &'a CaseRow) -> OnCase<'a> {
        OnCase { region_path: &case.region_path, region_code: &case.region_code, number: &case.number }
    }
}

/// Opens item `issue` on `case`, in the caller's transaction: by a
/// supervisor (IssueSupervision) or by the sweeper (`issuing.issued_by`
/// none); its deadline counted on `calendar`.
pub fn open(
    conn: &mut PgConnection,
    journal: &mut Journal,
    due: (&Ladder, &WorkCalendar),
    case: OnCase<'_>,
    issue: Issue,
    issuing: Issuing,
) -> Result<Supervision, AppError> {
    let row = opened(conn, journal, due, case, issue, issuing)?;
    store::insert(conn, &row)?;
    Ok(Supervision { row })
}

/// The row of item `issue` opened on `case`, its event journaled, for the
/// caller to insert (the sweeper inserts a batch's at once).
pub fn opened(
    conn: &mut PgConnection,
    journal: &mut Journal,
    due: (&Ladder, &WorkCalendar),
    case: OnCase<'_>,
    issue: Issue,
    issuing: Issuing,
) -> Result<SupervisionRow, AppError> {
    let (ladder, calendar) = due;
    let number = number(conn, issuing.issuer_organization_id, issue.rung, issuing.today)?;
    let actor = issuing.issued_by;
    let case_id = issuing.case_id;
    let event = rules::issued(issue, issuing, ladder, calendar, number);
    let id = Uuid::now_v7();
    let at = journal.now();
    let start = Batch { id, before: None, last_sequence: 0, actor, at };
    let (life, last_sequence) = journal.record_batch(start, &[event], |_, _| ())?;
    let row = SupervisionRow {
        id,
        case_id,
        region_path: case.region_path.to_owned(),
        region_code: case.region_code.to_owned(),
        case_number: case.number.to_owned(),
        organization_id: life.organization_id,
        issuer_organization_id: life.issuer_organization_id,
        state: life.state.as_i16(),
        rung: life.rung.as_i16(),
        trigger: life.trigger.as_i16(),
        due_date: life.due_date,
        automatic: life.automatic,
        lifecycle: Json(life),
        version: 1,
        last_sequence,
        created_at: at,
        updated_at: at,
    };
    Ok(row)
}
