//! The overdue sweeper: every pass watches every clock as of the business
//! clock's today: it warns of deadlines a few working days ahead, marks
//! the ones that passed, raises unanswered supervision items a rung, and
//! (a setting) issues an OVERDUE reminder to the organization that owes a
//! passed case clock; and it designates the cases the backlog rule names
//! (积案, `backlog::rules::qualifies`). Everything it does is an event in
//! the feed. The clocks:
//!
//! - cases: the running statutory clock (`cases::rules::running_clock`:
//!   route, accept, reply, review, recheck… by the 2022 条例), marked in
//!   `case_clock_marks`;
//! - supervision items: the answer's deadline (`supervision::rules::sweep`);
//! - disputes (`mediation::sweep`): the mediation's time limit, each agreed
//!   term's deadline (人民调解法 Art.31), the 30 days to apply for a
//!   court's confirmation (Art.33);
//! - legal-aid applications (`legal_aid::sweep`): the decision (法律援助法
//!   Art.43, 7 days), the materials' day (Art.43 ¶2), the assignment
//!   (Art.43, 3 days), the bureau's objection decision (Art.49, 5 days).
//!
//! Disputes and applications run several clocks: their marks and the walk
//! by deadline are in `dispute_clock_marks` / `legal_aid_clock_marks`
//! (`jobs::marks`). Marks never change an aggregate's version or etag.
//!
//! One server sweeps at a time: the one holding a session advisory lock
//! (the lease) on a connection of its own. When that server dies, its
//! session ends, PostgreSQL releases the lock, and another server takes it
//! at its next attempt (within one interval).
//!
//! A pass is idempotent: each mark or rise is decided under the row's lock
//! from what is stored (a case's mark row, an item's lifecycle), in the
//! transaction that records it; a pass after a crash or an outage does
//! what the missed ones would have left undone, once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::Connection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Integer, Uuid as SqlUuid};
use uuid::Uuid;

use crate::calendar::rules::{Period, WorkCalendar};
use crate::cases::rules::{self as case_rules, Event as CaseEvent};
use crate::error::AppError;
use crate::event_log::{Batch, Journal};
use crate::feed::FeedSignal;
use crate::jobs::marks::{MISSED, Walk};
use crate::schema::{case_clock_marks, cases};
use crate::state::AppState;
use crate::supervision::aggregate::{self as item_aggregate, Supervision};
use crate::supervision::domain::{Rung, Trigger};
use crate::supervision::rules::{self as item_rules, Issue, Issuing, Ladder, Sweep};
use crate::supervision::store as item_store;

/// The lease's advisory lock: any constant the servers share.
pub const LEASE_LOCK: i64 = 0x7377_6565_7065_7200;

/// Rows decided per transaction: short transactions never hold back the
/// change feed (a writing transaction holds back every reader) nor a
/// caller for long.
const BATCH: i64 = 200;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub cases_warned: u32,
    pub cases_missed: u32,
    pub items_issued: u32,
    pub items_warned: u32,
    pub items_raised: u32,
    pub items_lapsed: u32,
    pub backlog_designated: u32,
    pub disputes_warned: u32,
    pub disputes_missed: u32,
    pub legal_aid_warned: u32,
    pub legal_aid_missed: u32,
}

impl Report {
    fn any(&self) -> bool {
        *self != Report::default()
    }
}

/// What a pass needs to know besides the database.
#[derive(Debug, Clone)]
pub struct Settings {
    pub now: DateTime<Utc>,
    /// The share of the pass's time spent working, percent (1–100).
    pub duty_percent: u32,
    pub warning_workdays: u32,
    pub ladder: Ladder,
    pub supervise_overdue: bool,
    pub backlog: crate::backlog::rules::Policy,
}

/// The last day whose deadlines are warned of on `today` (before today:
/// none).
fn warn_until(calendar: &WorkCalendar, today: NaiveDate, workdays: u32) -> NaiveDate {
    if workdays == 0 { today.pred_opt().unwrap_or(today) } else { calendar.deadline(today, Period::Workdays(workdays)) }
}

/// What one pass goes by: its settings, its day, the last day it warns
/// of, the calendar around the day, and where commits are signalled.
struct Pass<'a> {
    settings: &'a Settings,
    today: NaiveDate,
    until: NaiveDate,
    calendar: WorkCalendar,
    signal: &'a FeedSignal,
}

/// One pass over every clock as of `settings.now`; the transactions' ids
/// go to `signal` as they commit.
pub fn pass(conn: &mut PgConnection, settings: &Settings, signal: &FeedSignal) -> Result<Report, AppError> {
    let today = crate::time::shanghai_date(settings.now);
    let calendar = crate::calendar::store::load_calendar_around(conn, today)?;
    let until = warn_until(&calendar, today, settings.warning_workdays);
    let run = Pass { settings, today, until, calendar, signal };
    let mut report = Report::default();
    sweep_items(conn, &run, &mut report)?;
    sweep_cases(conn, &run, &mut report)?;
    (report.disputes_warned, report.disputes_missed) =
        sweep_marks(conn, &run, crate::mediation::sweep::candidates, crate::mediation::sweep::mark)?;
    (report.legal_aid_warned, report.legal_aid_missed) =
        sweep_marks(conn, &run, crate::legal_aid::sweep::candidates, crate::legal_aid::sweep::mark)?;
    designate_backlog(conn, &run, &mut report)?;
    diesel::sql_query("UPDATE sweeper_state SET swept_through = $1, pass_ended_at = now()")
        .bind::<Date, _>(today)
        .execute(conn)?;
    Ok(report)
}

/// Runs `work` in one transaction with a journal on the business clock,
/// signals the feed once it committed, and rests for the pass's duty.
fn batch<T>(
    conn: &mut PgConnection,
    run: &Pass<'_>,
    work: impl FnOnce(&mut PgConnection, &mut Journal) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let started = std::time::Instant::now();
    let (out, xid) = crate::db::transaction(conn, |conn| {
        let mut journal = Journal::default();
        journal.set_clock(Some(run.settings.now));
        let out = work(conn, &mut journal)?;
        journal.flush(conn)?;
        Ok((out, journal.xid()))
    })?;
    if let Some(xid) = xid {
        run.signal.committed(xid);
    }
    std::thread::sleep(rest(started.elapsed(), run.settings.duty_percent));
    Ok(out)
}

/// The rest after `worked` that keeps the work to `duty_percent` of the
/// time.
fn rest(worked: Duration, duty_percent: u32) -> Duration {
    let duty = duty_percent.clamp(1, 100);
    worked * (100 - duty) / duty
}

fn sweep_items(conn: &mut PgConnection, run: &Pass<'_>, report: &mut Report) -> Result<(), AppError> {
    let Pass { settings, today, until, ref calendar, .. } = *run;
    let mut after = None;
    loop {
        let page = item_store::open_due(conn, until, after, BATCH)?;
        let Some(last) = page.last().copied() else { return Ok(()) };
        after = Some(last);
        let ids: Vec<Uuid> = page.iter().map(|(_, id)| *id).collect();
        batch(conn, run, |conn, journal| {
            // Those held by a caller: next pass.
            let mut changes = Vec::new();
            for row in item_store::lock_unless_busy(conn, &ids)? {
                let item = Supervision { row };
                let event = match item_rules::sweep(item.life(), today, until) {
                    Sweep::Nothing => continue,
                    Sweep::Warn(due) => {
                        report.items_warned += 1;
                        item_rules::Event::DeadlineApproaching { due_date: due }
                    }
                    Sweep::Lapse(due) => {
                        report.items_lapsed += 1;
                        item_rules::Event::Lapsed { due_date: due }
                    }
                    Sweep::Rise(rung) => {
                        report.items_raised += 1;
                        item_aggregate::risen(conn, &item, rung, today, (&settings.ladder, calendar), None)?
                    }
                };
                changes.push((item.row.id, item.change(journal, None, &[event])?));
            }
            item_store::save_all(conn, &changes)
        })?;
        if i64::try_from(page.len()).unwrap_or(i64::MAX) < BATCH {
            return Ok(());
        }
    }
}

/// A domain's candidates on a walk of its mark table, and the marking of
/// one aggregate ((warnings, misses)).
type Candidates = fn(
    &mut PgConnection,
    Walk,
    NaiveDate,
    NaiveDate,
    Option<(NaiveDate, Uuid)>,
    i64,
) -> Result<Vec<(NaiveDate, Uuid)>, AppError>;
type Mark = fn(&mut PgConnection, &mut Journal, Uuid, NaiveDate, NaiveDate) -> Result<(u32, u32), AppError>;

/// Walks a domain's clock marks (`jobs::marks`), both walks, a batch per
/// transaction: (warnings, misses).
fn sweep_marks(
    conn: &mut PgConnection,
    run: &Pass<'_>,
    candidates: Candidates,
    mark: Mark,
) -> Result<(u32, u32), AppError> {
    let Pass { today, until, .. } = *run;
    let mut total = (0, 0);
    for walk in [Walk::Warn, Walk::Miss] {
        let mut after = None;
        loop {
            let page = candidates(conn, walk, today, until, after, BATCH)?;
            let Some(last) = page.last().copied() else { break };
            after = Some(last);
            let (warned, missed) = batch(conn, run, |conn, journal| {
                let mut done = (0, 0);
                for (_, id) in &page {
                    let (w, m) = mark(conn, journal, *id, today, until)?;
                    done = (done.0 + w, done.1 + m);
                }
                Ok(done)
            })?;
            total = (total.0 + warned, total.1 + missed);
            if i64::try_from(page.len()).unwrap_or(i64::MAX) < BATCH {
                break;
            }
        }
    }
    Ok(total)
}

/// Cases whose running clock is due by `until` and not yet marked as far
/// as it must be on `today`, after `(due, id)`.
fn case_candidates(
    conn: &mut PgConnection,
    today: NaiveDate,
    until: NaiveDate,
    after: Option<(NaiveDate, Uuid)>,
) -> Result<Vec<(NaiveDate, Uuid)>, AppError> {
    #[derive(QueryableByName)]
    struct Candidate {
        #[diesel(sql_type = Date)]
        due_date: NaiveDate,
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let (after_due, after_id) = after.unwrap_or_else(crate::jobs::marks::walk_start);
    let rows: Vec<Candidate> = diesel::sql_query(
        "SELECT c.due_date, c.id FROM cases c
         LEFT JOIN case_clock_marks m ON m.case_id = c.id
         WHERE c.due_date IS NOT NULL AND c.due_date <= $2
           AND (c.due_date, c.id) > ($3, $4)
           AND (m.case_id IS NULL OR m.due_date <> c.due_date
                OR m.level < CASE WHEN c.due_date < $1 THEN 2 ELSE 1 END)
         ORDER BY c.due_date, c.id
         LIMIT $5",
    )
    .bind::<Date, _>(today)
    .bind::<Date, _>(until)
    .bind::<Date, _>(after_due)
    .bind::<SqlUuid, _>(after_id)
    .bind::<BigInt, _>(BATCH)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.due_date, r.id)).collect())
}

fn sweep_cases(conn: &mut PgConnection, run: &Pass<'_>, report: &mut Report) -> Result<(), AppError> {
    let mut after = None;
    loop {
        let page = case_candidates(conn, run.today, run.until, after)?;
        let Some(last) = page.last().copied() else { return Ok(()) };
        after = Some(last);
        let ids: Vec<Uuid> = page.iter().map(|(_, id)| *id).collect();
        batch(conn, run, |conn, journal| mark_cases(conn, journal, run, &ids, report))?;
        if i64::try_from(page.len()).unwrap_or(i64::MAX) < BATCH {
            return Ok(());
        }
    }
}

/// A case's running clock: which deadline, its day, and who owes it.
type Clock = (case_rules::DeadlineName, NaiveDate, Option<Uuid>);

/// What marking a case reads of it (not its body).
#[derive(Queryable, Selectable)]
#[diesel(table_name = cases, check_for_backend(diesel::pg::Pg))]
struct ClockedCase {
    id: Uuid,
    number: String,
    region_code: String,
    region_path: String,
    registering_organization_id: Option<Uuid>,
    lifecycle: crate::jsonb::Json<case_rules::Lifecycle>,
    last_sequence: i32,
}

/// The mark case `life`'s running clock calls for on `today` (warning of
/// deadlines due by `until`) given the one `marked` (due day, level), if
/// it is not marked that far: the clock and the level.
fn case_mark(
    life: &case_rules::Lifecycle,
    marked: Option<(NaiveDate, i16)>,
    today: NaiveDate,
    until: NaiveDate,
) -> Option<(Clock, i16)> {
    let clock @ (_, due, _) = case_rules::running_clock(life)?;
    let level = crate::jobs::marks::level(due, today, until);
    let done = marked.is_some_and(|(marked_due, marked_level)| marked_due == due && marked_level >= level);
    (level > 0 && !done).then_some((clock, level))
}

/// Marks the running clocks of cases `ids` as far as the pass's day
/// requires, in a few statements for the batch; a case a caller holds is
/// left to the next pass, one marked already is left alone.
fn mark_cases(
    conn: &mut PgConnection,
    journal: &mut Journal,
    run: &Pass<'_>,
    ids: &[Uuid],
    report: &mut Report,
) -> Result<(), AppError> {
    let locked: Vec<ClockedCase> = cases::table
        .filter(cases::id.eq_any(ids))
        .select(ClockedCase::as_select())
        .for_update()
        .skip_locked()
        .load(conn)?;
    let marked: HashMap<Uuid, (NaiveDate, i16)> = case_clock_marks::table
        .filter(case_clock_marks::case_id.eq_any(ids))
        .select((case_clock_marks::case_id, case_clock_marks::due_date, case_clock_marks::level))
        .load::<(Uuid, NaiveDate, i16)>(conn)?
        .into_iter()
        .map(|(id, due, level)| (id, (due, level)))
        .collect();
    let at = journal.now();
    let (mut sequences, mut marks, mut overdue) = (Vec::new(), Vec::new(), Vec::new());
    for case in &locked {
        let life = &case.lifecycle.0;
        let Some((clock @ (deadline, due, owed_by), level)) =
            case_mark(life, marked.get(&case.id).copied(), run.today, run.until)
        else {
            continue;
        };
        let event = if level == MISSED {
            report.cases_missed += 1;
            CaseEvent::DeadlineMissed { deadline, due_date: due, organization_id: owed_by }
        } else {
            report.cases_warned += 1;
            CaseEvent::DeadlineApproaching { deadline, due_date: due, organization_id: owed_by }
        };
        let start =
            Batch { id: case.id, before: Some(life.clone()), last_sequence: case.last_sequence, actor: None, at };
        let (_, last_sequence) = journal.record_batch(start, &[event], |_, _| ())?;
        sequences.push((case.id, last_sequence));
        marks.push((
            case_clock_marks::case_id.eq(case.id),
            case_clock_marks::due_date.eq(due),
            case_clock_marks::level.eq(level),
        ));
        if level == MISSED && run.settings.supervise_overdue {
            overdue.push((case, clock));
        }
    }
    if marks.is_empty() {
        return Ok(());
    }
    // The lifecycle and version stay: the mark is the timeline's only.
    let (ids, last): (Vec<Uuid>, Vec<i32>) = sequences.into_iter().unzip();
    diesel::sql_query(
        "UPDATE cases SET last_sequence = s.last FROM unnest($1::uuid[], $2::int4[]) AS s(id, last)
         WHERE cases.id = s.id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Array<Integer>, _>(&last)
    .execute(conn)?;
    {
        use diesel::upsert::excluded;
        diesel::insert_into(case_clock_marks::table)
            .values(&marks)
            .on_conflict(case_clock_marks::case_id)
            .do_update()
            .set((
                case_clock_marks::due_date.eq(excluded(case_clock_marks::due_date)),
                case_clock_marks::level.eq(excluded(case_clock_marks::level)),
            ))
            .execute(conn)?;
    }
    supervise_overdue(conn, journal, run, &overdue, report)
}

/// The sweeper's OVERDUE reminders to the organizations that owe the
/// `missed` cases' passed clocks, each in the name of the bureau that
/// registered the case; none for the bureau's own clock or while one is
/// open.
fn supervise_overdue(
    conn: &mut PgConnection,
    journal: &mut Journal,
    run: &Pass<'_>,
    missed: &[(&ClockedCase, Clock)],
    report: &mut Report,
) -> Result<(), AppError> {
    let owed: Vec<Uuid> = missed.iter().map(|(case, _)| case.id).collect();
    let open = item_store::overdue_items_open(conn, &owed)?;
    let mut opened = Vec::new();
    for (case, (deadline, due, owed_by)) in missed {
        let (Some(organization_id), Some(issuer)) = (*owed_by, case.registering_organization_id) else {
            continue;
        };
        if organization_id == issuer || open.contains(&(case.id, organization_id)) {
            continue;
        }
        let issue = Issue {
            trigger: Trigger::Overdue,
            text: format!("案件 {} 的 {} 期限（{}）已过，请说明情况并尽快办理。", case.number, deadline.field(), due),
            rung: Rung::Reminder,
            due_date: None,
        };
        let issuing = Issuing {
            case_id: case.id,
            organization_id,
            issuer_organization_id: issuer,
            issued_by: None,
            today: run.today,
            automatic: true,
        };
        let on = item_aggregate::OnCase {
            region_path: &case.region_path,
            region_code: &case.region_code,
            number: &case.number,
        };
        opened.push(item_aggregate::opened(conn, journal, (&run.settings.ladder, &run.calendar), on, issue, issuing)?);
    }
    item_store::insert_all(conn, &opened)?;
    report.items_issued += u32::try_from(opened.len()).unwrap_or(u32::MAX);
    Ok(())
}

/// Candidates looked for at once: each look walks past the cases
/// designated before it, so looking a batch at a time would be quadratic.
const BACKLOG_LOOK: i64 = 10_000;

/// Designates every case the backlog rule names, a batch per transaction.
fn designate_backlog(conn: &mut PgConnection, run: &Pass<'_>, report: &mut Report) -> Result<(), AppError> {
    loop {
        let mut found = crate::backlog::store::candidates(conn, run.today, &run.settings.backlog, BACKLOG_LOOK)?;
        let complete = i64::try_from(found.len()).unwrap_or(i64::MAX) < BACKLOG_LOOK;
        let mut designated = 0;
        while !found.is_empty() {
            let rest = found.split_off(found.len().min(usize::try_from(BATCH).unwrap_or(usize::MAX)));
            let chunk = std::mem::replace(&mut found, rest);
            designated += batch(conn, run, |conn, journal| crate::backlog::designate_by_rule(conn, journal, chunk))?;
        }
        report.backlog_designated += designated;
        if complete || designated == 0 {
            return Ok(());
        }
    }
}

/// The lease: a session advisory lock on a connection of its own, held
/// while the connection lives.
struct Lease {
    url: String,
    conn: Option<PgConnection>,
    held: bool,
}

impl Lease {
    /// Whether this server holds the lease now (taking it if free).
    fn hold(&mut self) -> Result<bool, AppError> {
        if self.conn.is_none() {
            self.held = false;
            self.conn = Some(
                PgConnection::establish(&self.url)
                    .map_err(|e| AppError::Unavailable { detail: format!("sweeper lease: {e}") })?,
            );
        }
        let Some(conn) = self.conn.as_mut() else { return Ok(false) };
        #[derive(QueryableByName)]
        struct Held {
            #[diesel(sql_type = Bool)]
            held: bool,
        }
        // Held: the session is alive, so is the lock. Else: try for it.
        let query = if self.held {
            diesel::sql_query("SELECT true AS held")
        } else {
            diesel::sql_query(format!("SELECT pg_try_advisory_lock({LEASE_LOCK}) AS held"))
        };
        match query.get_result::<Held>(conn) {
            Ok(Held { held }) => {
                self.held = held;
                Ok(held)
            }
            Err(e) => {
                // The session is gone, and the lock with it.
                self.conn = None;
                self.held = false;
                Err(AppError::Unavailable { detail: format!("sweeper lease: {e}") })
            }
        }
    }
}

/// Sweeps while this server holds the lease, every interval, until the
/// task is dropped.
pub async fn run(state: Arc<AppState>, database_url: String) {
    let interval = Duration::from_secs(state.oversight.sweep_interval_secs);
    let mut lease = Some(Lease { url: database_url, conn: None, held: false });
    let mut leading = false;
    loop {
        let Some(mut held) = lease.take() else { return };
        let attempt = tokio::task::spawn_blocking(move || {
            let holds = held.hold();
            (held, holds)
        })
        .await;
        let holds = match attempt {
            Ok((back, holds)) => {
                lease = Some(back);
                holds
            }
            Err(e) => {
                tracing::error!(error = %e, "the sweeper's lease check failed; the sweeper stops");
                return;
            }
        };
        match holds {
            Ok(true) => {
                if !leading {
                    tracing::info!("this server holds the sweeper's lease: sweeping");
                    leading = true;
                }
                let settings = Settings {
                    now: state.clock.now(),
                    duty_percent: state.oversight.sweep_duty_percent,
                    warning_workdays: state.oversight.deadline_warning_workdays,
                    ladder: state.oversight.ladder(),
                    supervise_overdue: state.oversight.supervise_overdue,
                    backlog: state.backlog.policy(),
                };
                let signal = state.feed.clone();
                match state.db.run_without_transaction(move |conn| pass(conn, &settings, &signal)).await {
                    Ok(report) if report.any() => tracing::info!(?report, "sweep"),
                    Ok(_) | Err(AppError::Unavailable { .. }) => {}
                    Err(e) => tracing::warn!(error = %e, "a sweep failed; the next pass retries"),
                }
            }
            Ok(false) => leading = false,
            Err(_) => leading = false,
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 3, d).expect("valid date")
    }

    /// A case accepted by a unit, its reply due on `reply_by`.
    fn accepted(reply_by: NaiveDate) -> case_rules::Lifecycle {
        serde_json::from_value(serde_json::json!({
            "state": "ACCEPTED", "track": "NORMAL", "registered_on": "2027-01-04",
            "handling_organization_id": "0190e1e2-0000-7000-8000-000000000001",
            "deadlines": { "reply_by": reply_by }, "extended": false, "completion_reported": false
        }))
        .expect("a lifecycle")
    }

    /// Today the 10th, warning of deadlines due by the 12th: each clock is
    /// marked once per level and deadline.
    #[test]
    fn a_case_clock_is_marked_once_per_level_and_deadline() {
        let (today, until) = (day(10), day(12));
        // (reply due, marked) → level recorded
        type Row = (NaiveDate, Option<(NaiveDate, i16)>, Option<i16>);
        let table: Vec<Row> = vec![
            (day(20), None, None),
            (day(12), None, Some(1)),
            (day(10), None, Some(1)),
            (day(12), Some((day(12), 1)), None),
            (day(9), Some((day(9), 1)), Some(2)),
            (day(1), None, Some(2)),
            (day(1), Some((day(1), 2)), None),
            // The deadline moved (extended): a new clock.
            (day(11), Some((day(1), 2)), Some(1)),
        ];
        for (due, marked, want) in table {
            let got = case_mark(&accepted(due), marked, today, until);
            assert_eq!(got.map(|(_, level)| level), want, "due {due}, marked {marked:?}");
            if let Some(((deadline, got_due, owed_by), _)) = got {
                assert_eq!((deadline, got_due), (case_rules::DeadlineName::ReplyBy, due));
                assert!(owed_by.is_some());
            }
        }
    }

    #[test]
    fn a_pass_rests_for_its_duty() {
        let worked = Duration::from_millis(30);
        assert_eq!(rest(worked, 100), Duration::ZERO);
        assert_eq!(rest(worked, 50), worked);
        assert_eq!(rest(worked, 25), worked * 3);
        assert_eq!(rest(worked, 0), worked * 99);
    }

    #[test]
    fn a_case_without_a_running_clock_is_not_marked() {
        let mut life = accepted(day(1));
        life.state = crate::cases::domain::CaseState::Replied;
        assert_eq!(case_mark(&life, None, day(10), day(12)), None);
    }
}
