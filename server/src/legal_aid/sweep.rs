//! The sweeper's watch over legal-aid applications' clocks (issue 20 §4):
//! the clock running is warned of a few working days before its last day
//! (`--deadline-warning-workdays`) and marked missed once it passed, each
//! once per deadline, as events of the application that leave its version
//! (and a caller's etag) as they were. One clock runs at a time:
//!
//! - DECISION: 7 days from receipt (法律援助法 Art.43 ¶1), UNDER_REVIEW;
//!   the centre owes it.
//! - MATERIALS: the day the centre set for missing materials (Art.43 ¶2),
//!   AWAITING_MATERIALS; the applicant owes them.
//! - ASSIGNMENT: 3 days from the grant or aid first (Art.43 ¶1, Art.44),
//!   GRANTED; the centre owes it.
//! - OBJECTION: the bureau's 5 days (Art.49), OBJECTION_PENDING; the
//!   bureau owes it.
//!
//! Materials not supplied by their day make the application "treated as
//! withdrawn" (视为撤回, Art.43 ¶2). The sweeper marks it missed and does
//! not withdraw: materials handed in or posted on the last day (民法典
//! Art.203) may be recorded a day late, a withdrawal is final (no command
//! reopens it) and the applicant is told of it; the centre records it with
//! WithdrawApplication (MATERIALS_NOT_SUPPLIED), which the rules allow only
//! after that day. Not watched: papers after aid first (Art.44: 及时, no
//! period) and the closing report (the rules keep no day the matter ended).

use chrono::NaiveDate;
use diesel::prelude::*;
use uuid::Uuid;

use super::domain::{LegalAidClock, LegalAidState};
use super::model::ApplicationRow;
use super::rules::{DeadlineMark, Event, Lifecycle};
use crate::error::AppError;
use crate::event_log::{Batch, Journal};
use crate::jobs::marks::{self, MISSED, Mark, Plan, Table, Walk};
use crate::schema::legal_aid_applications;

/// The sweeper's marks and walk (`legal_aid_clock_marks`).
pub const MARKS: Table = Table { name: "legal_aid_clock_marks", id: "application_id" };

/// The clock running in `life`, its last day and who owes it.
pub fn running(life: &Lifecycle) -> Option<(LegalAidClock, NaiveDate, Option<Uuid>)> {
    match life.state {
        LegalAidState::UnderReview => life.decision_due.map(|d| (LegalAidClock::Decision, d, Some(life.centre_id))),
        LegalAidState::AwaitingMaterials => life.open_materials().map(|m| (LegalAidClock::Materials, m.due_date, None)),
        LegalAidState::Granted => life.assignment_due.map(|d| (LegalAidClock::Assignment, d, Some(life.centre_id))),
        LegalAidState::ObjectionPending => {
            life.pending_objection().map(|o| (LegalAidClock::Objection, o.due_date, Some(o.bureau_id)))
        }
        _ => None,
    }
}

/// The clock running in `life` and its last day, as the walk tracks it.
pub fn tracked(life: &Lifecycle) -> Vec<(LegalAidClock, NaiveDate)> {
    running(life).map(|(clock, due, _)| (clock, due)).into_iter().collect()
}

/// What a pass on `today` records for an application in `life` with
/// `marks`, warning of deadlines due by `until`: the events, and the marks
/// row.
pub fn due(
    life: &Lifecycle,
    marks: &[Mark<LegalAidClock>],
    today: NaiveDate,
    until: NaiveDate,
) -> (Vec<Event>, Plan<LegalAidClock>) {
    let clock = running(life);
    let keys: Vec<(LegalAidClock, NaiveDate)> = clock.iter().map(|(k, d, _)| (*k, *d)).collect();
    let plan = marks::plan(&keys, marks, today, until);
    let owed_by = clock.and_then(|(_, _, o)| o);
    let events = plan
        .record
        .iter()
        .map(|m| {
            let mark = DeadlineMark { clock: m.clock, due_date: m.due_date, organization_id: owed_by };
            if m.level == MISSED { Event::DeadlineMissed(mark) } else { Event::DeadlineApproaching(mark) }
        })
        .collect();
    (events, plan)
}

/// Applications of `walk` with something to do on `today`, after `after`.
pub fn candidates(
    conn: &mut PgConnection,
    walk: Walk,
    today: NaiveDate,
    until: NaiveDate,
    after: Option<(NaiveDate, Uuid)>,
    limit: i64,
) -> Result<Vec<(NaiveDate, Uuid)>, AppError> {
    MARKS.candidates(conn, walk, today, until, after, limit)
}

/// Marks application `id`'s clock as far as `today` requires, unless a
/// caller holds it (the next pass does): (warnings, misses). The version
/// stays; the last sequence moves with the events.
pub fn mark(
    conn: &mut PgConnection,
    journal: &mut Journal,
    id: Uuid,
    today: NaiveDate,
    until: NaiveDate,
) -> Result<(u32, u32), AppError> {
    let Some(row) = legal_aid_applications::table
        .find(id)
        .select(ApplicationRow::as_select())
        .for_update()
        .skip_locked()
        .first(conn)
        .optional()?
    else {
        return Ok((0, 0));
    };
    let life = &row.lifecycle.0;
    let stored = MARKS.marks(conn, id)?;
    let (events, plan) = due(life, &stored, today, until);
    if !events.is_empty() {
        let start =
            Batch { id, before: Some(life.clone()), last_sequence: row.last_sequence, actor: None, at: journal.now() };
        let (_, last_sequence) = journal.record_batch(start, &events, |_, _| ())?;
        diesel::update(legal_aid_applications::table.find(id))
            .set(legal_aid_applications::last_sequence.eq(last_sequence))
            .execute(conn)?;
    }
    MARKS.store(conn, id, &plan)?;
    let missed = events.iter().filter(|e| matches!(e, Event::DeadlineMissed(_))).count();
    let warned = events.len() - missed;
    Ok((u32::try_from(warned).unwrap_or(u32::MAX), u32::try_from(missed).unwrap_or(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::legal_aid::domain::{MatterType, ObjectionOutcome, ObjectionSubject};
    use crate::legal_aid::rules::{Materials, Objection, placeholder};

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, m, d).expect("valid date")
    }

    const CENTRE: Uuid = Uuid::from_u128(1);
    const BUREAU: Uuid = Uuid::from_u128(2);

    /// An application in `state` with every clock's day set: decision
    /// 3-10, materials 3-20, assignment 3-12, objection 3-15.
    fn application(state: LegalAidState) -> Lifecycle {
        let mut life = placeholder();
        life.state = state;
        life.centre_id = CENTRE;
        life.matter_type = MatterType::Labour;
        life.decision_due = Some(day(3, 10));
        life.assignment_due = Some(day(3, 12));
        life.materials = vec![Materials {
            items: vec!["工资条".into()],
            request_date: day(3, 3),
            due_date: day(3, 20),
            supplied_date: (state != LegalAidState::AwaitingMaterials).then_some(day(3, 4)),
            supplied_note: String::new(),
        }];
        life.objections = vec![Objection {
            subject: ObjectionSubject::Refusal,
            reason: "r".into(),
            file_date: day(3, 8),
            due_date: day(3, 15),
            bureau_id: BUREAU,
            decision_number: 1,
            outcome: if state == LegalAidState::ObjectionPending {
                ObjectionOutcome::Pending
            } else {
                ObjectionOutcome::Upheld
            },
            outcome_reason: String::new(),
            decide_date: None,
        }];
        life
    }

    /// Every state: the clock that runs in it and who owes it.
    #[test]
    fn the_clock_each_state_runs() {
        use LegalAidClock::*;
        use LegalAidState::*;
        for state in LegalAidState::ALL {
            let want = match state {
                UnderReview => Some((Decision, day(3, 10), Some(CENTRE))),
                AwaitingMaterials => Some((Materials, day(3, 20), None)),
                Granted => Some((Assignment, day(3, 12), Some(CENTRE))),
                ObjectionPending => Some((Objection, day(3, 15), Some(BUREAU))),
                Assigned | Closed | Refused | Terminated | Withdrawn => None,
            };
            assert_eq!(running(&application(*state)), want, "{state:?}");
        }
    }

    /// (state, today, warn until) → the events a pass records; a second
    /// pass records none; the lifecycle stays.
    #[test]
    fn each_deadline_is_warned_of_and_missed_once() {
        use LegalAidClock::*;
        use LegalAidState::*;
        let mark = |clock, due_date, organization_id| DeadlineMark { clock, due_date, organization_id };
        let table: Vec<(LegalAidState, NaiveDate, NaiveDate, Vec<Event>)> = vec![
            (UnderReview, day(3, 5), day(3, 8), vec![]),
            (
                UnderReview,
                day(3, 8),
                day(3, 10),
                vec![Event::DeadlineApproaching(mark(Decision, day(3, 10), Some(CENTRE)))],
            ),
            (
                UnderReview,
                day(3, 11),
                day(3, 16),
                vec![Event::DeadlineMissed(mark(Decision, day(3, 10), Some(CENTRE)))],
            ),
            (
                AwaitingMaterials,
                day(3, 18),
                day(3, 23),
                vec![Event::DeadlineApproaching(mark(Materials, day(3, 20), None))],
            ),
            (AwaitingMaterials, day(3, 21), day(3, 24), vec![Event::DeadlineMissed(mark(Materials, day(3, 20), None))]),
            (Granted, day(3, 13), day(3, 16), vec![Event::DeadlineMissed(mark(Assignment, day(3, 12), Some(CENTRE)))]),
            (
                ObjectionPending,
                day(3, 15),
                day(3, 18),
                vec![Event::DeadlineApproaching(mark(Objection, day(3, 15), Some(BUREAU)))],
            ),
            (Assigned, day(4, 1), day(4, 6), vec![]),
            (Withdrawn, day(4, 1), day(4, 6), vec![]),
        ];
        for (state, today, until, want) in table {
            let life = application(state);
            let (events, plan) = due(&life, &[], today, until);
            assert_eq!(events, want, "{state:?} on {today}");
            let (again, _) = due(&life, &plan.marks, today, until);
            assert!(again.is_empty(), "{state:?} on {today}: {again:?}");
            let after = events.iter().fold(life.clone(), |l, e| crate::legal_aid::rules::apply(Some(l), e));
            assert_eq!(after, life);
        }
    }

    /// Supplied materials restart the decision clock: a new deadline, a new
    /// mark; the old decision mark does not hold it back.
    #[test]
    fn a_resumed_decision_clock_is_a_new_clock() {
        let mut life = application(LegalAidState::UnderReview);
        let (_, plan) = due(&life, &[], day(3, 11), day(3, 16));
        life.decision_due = Some(day(3, 25));
        let (events, _) = due(&life, &plan.marks, day(3, 24), day(3, 27));
        assert_eq!(
            events,
            vec![Event::DeadlineApproaching(DeadlineMark {
                clock: LegalAidClock::Decision,
                due_date: day(3, 25),
                organization_id: Some(CENTRE),
            })]
        );
    }
}
