//! The sweeper's watch over disputes' clocks (issue 20 §4): each clock
//! someone owes is warned of a few working days before its last day
//! (`--deadline-warning-workdays`) and marked missed once it passed, each
//! once per deadline, as events of the dispute that leave its version
//! (and a caller's etag) as they were. The clocks:
//!
//! - TIME_LIMIT: the mediation's time limit from acceptance
//!   (`Lifecycle::due_date`, a server setting: the law sets none, 30 days
//!   after the 2002 rules' 一般在一个月内调结), while ACCEPTED or
//!   IN_MEDIATION; the team owes it.
//! - TERM_PERFORMANCE: each agreed term's deadline while its performance
//!   is pending (SETTLED, BREACHED); its obligor owes it, the committee
//!   supervises it (人民调解法 Art.31 ¶2).
//! - CONFIRMATION_WINDOW: the 30 days to apply for a court's confirmation
//!   of a written agreement (Art.33), while none was applied for.
//!
//! Nothing follows a mark automatically: a breach is recorded by the
//! mediator (RecordPerformance), and a closed window only closes the
//! application (ApplyForCourtConfirmation refuses it already).
//! Not watched: the court's answer to a confirmation (the court's own
//! procedure; the rules keep no acceptance day for it), consent (no period).

use chrono::NaiveDate;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::domain::{AgreementForm, DisputeClock, DisputeState, TermPerformance};
use super::model::DisputeRow;
use super::rules::{DeadlineMark, Event, Lifecycle};
use crate::error::AppError;
use crate::event_log::{Batch, Journal};
use crate::jobs::marks::{self, MISSED, Mark, Plan, Table, Walk};
use crate::schema::disputes;

/// The sweeper's marks and walk (`dispute_clock_marks`).
pub const MARKS: Table = Table { name: "dispute_clock_marks", id: "dispute_id" };

/// Which clock: the kind, and the term for TERM_PERFORMANCE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockKey {
    pub clock: DisputeClock,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_index: Option<u32>,
}

/// The clocks running in `life`, with their last days.
pub fn running(life: &Lifecycle) -> Vec<(ClockKey, NaiveDate)> {
    let mut clocks = Vec::new();
    if matches!(life.state, DisputeState::Accepted | DisputeState::InMediation)
        && let Some(due) = life.due_date
    {
        clocks.push((ClockKey { clock: DisputeClock::TimeLimit, term_index: None }, due));
    }
    if let (true, Some(agreement)) = (life.state.has_agreement(), &life.agreement) {
        for (i, term) in agreement.terms.iter().enumerate() {
            if term.performance == TermPerformance::Pending {
                let term_index = u32::try_from(i).ok();
                clocks.push((ClockKey { clock: DisputeClock::TermPerformance, term_index }, term.deadline));
            }
        }
        if agreement.form == AgreementForm::Written && life.confirmation.is_none() {
            let key = ClockKey { clock: DisputeClock::ConfirmationWindow, term_index: None };
            clocks.push((key, agreement.confirmation_apply_by));
        }
    }
    clocks
}

/// What a pass on `today` records for a dispute in `life` with `marks`,
/// warning of deadlines due by `until`: the events, and the marks row.
pub fn due(
    life: &Lifecycle,
    marks: &[Mark<ClockKey>],
    today: NaiveDate,
    until: NaiveDate,
) -> (Vec<Event>, Plan<ClockKey>) {
    let plan = marks::plan(&running(life), marks, today, until);
    let events = plan
        .record
        .iter()
        .map(|m| {
            let obligor_party_id = m.clock.term_index.and_then(|i| {
                let agreement = life.agreement.as_ref()?;
                agreement.terms.get(usize::try_from(i).ok()?).map(|t| t.obligor_party_id)
            });
            let mark = DeadlineMark {
                clock: m.clock.clock,
                due_date: m.due_date,
                term_index: m.clock.term_index,
                obligor_party_id,
                team_id: life.team_id().unwrap_or_default(),
            };
            if m.level == MISSED { Event::DeadlineMissed(mark) } else { Event::DeadlineApproaching(mark) }
        })
        .collect();
    (events, plan)
}

/// Disputes of `walk` with something to do on `today`, after `after`.
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

/// What marking one dispute recorded: (warnings, misses).
pub type Marked = (u32, u32);

/// Marks dispute `id`'s clocks as far as `today` requires, unless a caller
/// holds it (the next pass does). The dispute's version stays; its last
/// sequence moves with the events.
pub fn mark(
    conn: &mut PgConnection,
    journal: &mut Journal,
    id: Uuid,
    today: NaiveDate,
    until: NaiveDate,
) -> Result<Marked, AppError> {
    let Some(row) =
        disputes::table.find(id).select(DisputeRow::as_select()).for_update().skip_locked().first(conn).optional()?
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
        diesel::update(disputes::table.find(id)).set(disputes::last_sequence.eq(last_sequence)).execute(conn)?;
    }
    MARKS.store(conn, id, &plan)?;
    let missed = events.iter().filter(|e| matches!(e, Event::DeadlineMissed(_))).count();
    let warned = events.len() - missed;
    Ok((u32::try_from(warned).unwrap_or(u32::MAX), u32::try_from(missed).unwrap_or(u32::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mediation::domain::ConfirmationState;
    use crate::mediation::domain::{DisputeCategory, DisputeSource};
    use crate::mediation::rules::{self, Agreement, Confirmation, Links, Term};

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, m, d).expect("valid date")
    }

    const TEAM: Uuid = Uuid::from_u128(1);
    const A: Uuid = Uuid::from_u128(2);
    const B: Uuid = Uuid::from_u128(3);

    fn recorded() -> Lifecycle {
        rules::apply(
            None,
            &rules::record(
                TEAM,
                DisputeSource::Screening,
                DisputeCategory::Family,
                day(3, 1),
                vec![A, B],
                Links::default(),
            ),
        )
    }

    fn term(obligor: Uuid, deadline: NaiveDate, performance: TermPerformance) -> Term {
        Term {
            obligor_party_id: obligor,
            content: "赔偿".into(),
            manner: "转账".into(),
            deadline,
            performance,
            performance_date: None,
            performance_note: String::new(),
        }
    }

    /// A dispute in `state`: due on 3-31 once accepted; an agreement of
    /// `form` with a pending term of B due 4-10 and a performed one of A,
    /// its window to 4-30, and a confirmation applied for when `applied`.
    fn dispute(state: DisputeState, form: AgreementForm, applied: bool) -> Lifecycle {
        let mut life = recorded();
        life.state = state;
        if state != DisputeState::AwaitingConsent && state != DisputeState::Refused {
            life.accept_date = Some(day(3, 1));
            life.due_date = Some(day(3, 31));
        }
        if state.has_agreement() {
            let b =
                if state == DisputeState::Performed { TermPerformance::Performed } else { TermPerformance::Pending };
            life.agreement = Some(Agreement {
                form,
                parties_summary: String::new(),
                facts: String::new(),
                issues_and_responsibility: String::new(),
                terms: vec![term(A, day(4, 5), TermPerformance::Performed), term(B, day(4, 10), b)],
                effective_date: day(3, 31),
                confirmation_apply_by: day(4, 30),
            });
            if applied {
                life.confirmation = Some(Confirmation {
                    court_id: Uuid::from_u128(9),
                    apply_date: day(4, 2),
                    state: ConfirmationState::Pending,
                    answer_date: None,
                    reason: String::new(),
                    court_case_number: String::new(),
                });
            }
        }
        life
    }

    fn key(clock: DisputeClock, term_index: Option<u32>) -> ClockKey {
        ClockKey { clock, term_index }
    }

    /// Every state: the clocks that run in it.
    #[test]
    fn the_clocks_each_state_runs() {
        use DisputeClock::*;
        use DisputeState::*;
        let time_limit = vec![(key(TimeLimit, None), day(3, 31))];
        let term_b = (key(TermPerformance, Some(1)), day(4, 10));
        let window = (key(ConfirmationWindow, None), day(4, 30));
        for state in DisputeState::ALL {
            let want = match state {
                AwaitingConsent | Failed | Refused => vec![],
                Accepted | InMediation => time_limit.clone(),
                Settled | Breached => vec![term_b, window],
                Performed => vec![window],
            };
            assert_eq!(running(&dispute(*state, AgreementForm::Written, false)), want, "{state:?}");
        }
        // An oral agreement is not confirmed by a court; an application closes the window.
        assert_eq!(running(&dispute(Settled, AgreementForm::Oral, false)), vec![term_b]);
        assert_eq!(running(&dispute(Settled, AgreementForm::Written, true)), vec![term_b]);
        assert!(running(&dispute(Performed, AgreementForm::Written, true)).is_empty());
    }

    /// (state, today, warn until) → the events a pass records; a second
    /// pass records none.
    #[test]
    fn each_deadline_is_warned_of_and_missed_once() {
        use DisputeClock::*;
        use DisputeState::*;
        let mark = |clock, due_date, term_index, obligor_party_id| DeadlineMark {
            clock,
            due_date,
            term_index,
            obligor_party_id,
            team_id: TEAM,
        };
        let limit = mark(TimeLimit, day(3, 31), None, None);
        let term_b = mark(TermPerformance, day(4, 10), Some(1), Some(B));
        let window = mark(ConfirmationWindow, day(4, 30), None, None);
        let table: Vec<(DisputeState, NaiveDate, NaiveDate, Vec<Event>)> = vec![
            (InMediation, day(3, 20), day(3, 25), vec![]),
            (InMediation, day(3, 26), day(3, 31), vec![Event::DeadlineApproaching(limit.clone())]),
            (Accepted, day(4, 1), day(4, 6), vec![Event::DeadlineMissed(limit.clone())]),
            (Failed, day(4, 1), day(4, 6), vec![]),
            (Settled, day(4, 1), day(4, 6), vec![]),
            (Settled, day(4, 8), day(4, 13), vec![Event::DeadlineApproaching(term_b.clone())]),
            (
                Breached,
                day(5, 3),
                day(5, 6),
                vec![Event::DeadlineMissed(term_b.clone()), Event::DeadlineMissed(window.clone())],
            ),
            (Performed, day(4, 27), day(4, 30), vec![Event::DeadlineApproaching(window.clone())]),
        ];
        for (state, today, until, want) in table {
            let life = dispute(state, AgreementForm::Written, false);
            let (events, plan) = due(&life, &[], today, until);
            assert_eq!(events, want, "{state:?} on {today}");
            let (again, _) = due(&life, &plan.marks, today, until);
            assert!(again.is_empty(), "{state:?} on {today}: {again:?}");
            // The events change nothing of the lifecycle.
            let after = events.iter().fold(life.clone(), |l, e| rules::apply(Some(l), e));
            assert_eq!(after, life);
        }
    }

    /// The walk is told when the running clocks change, not otherwise: a
    /// term due on the time limit's day is another clock.
    #[test]
    fn the_running_clocks_name_their_kind() {
        let accepted = dispute(DisputeState::Accepted, AgreementForm::Written, false);
        let in_mediation = dispute(DisputeState::InMediation, AgreementForm::Written, false);
        assert_eq!(running(&accepted), running(&in_mediation));
        let mut oral = dispute(DisputeState::Settled, AgreementForm::Oral, false);
        if let Some(a) = oral.agreement.as_mut() {
            a.terms[1].deadline = day(3, 31);
        }
        let days = |l: &Lifecycle| running(l).into_iter().map(|(_, d)| d).collect::<Vec<_>>();
        assert_eq!(days(&in_mediation), days(&oral));
        assert_ne!(running(&in_mediation), running(&oral));
        assert!(running(&dispute(DisputeState::Failed, AgreementForm::Written, false)).is_empty());
    }
}
