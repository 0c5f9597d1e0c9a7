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

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use diesel::Connection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Date, Uuid as SqlUuid};
use uuid::Uuid;

use crate::calendar::rules::{Period, WorkCalendar};
use crate::cases::rules::{self as case_rules, Event as CaseEvent};
use crate::error::AppError;
use crate::event_log::{Batch, Journal};
use crate::feed::FeedSignal;
use crate::jobs::marks::Walk;
use crate::pipeline::Aggregate;
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
/// and signals the feed once it committed.
fn batch<T>(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    signal: &FeedSignal,
    work: impl FnOnce(&mut PgConnection, &mut Journal) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let (out, xid) = crate::db::transaction(conn, |conn| {
        let mut journal = Journal::default();
        journal.set_clock(Some(now));
        let out = work(conn, &mut journal)?;
        journal.flush(conn)?;
        Ok((out, journal.xid()))
    })?;
    if let Some(xid) = xid {
        signal.committed(xid);
    }
    Ok(out)
}

fn sweep_items(conn: &mut PgConnection, run: &Pass<'_>, report: &mut Report) -> Result<(), AppError> {
    let Pass { settings, today, until, ref calendar, signal } = *run;
    let mut after = None;
    loop {
        let page = item_store::open_due(conn, until, after, BATCH)?;
        let Some(last) = page.last().copied() else { return Ok(()) };
        after = Some(last);
        batch(conn, settings.now, signal, |conn, journal| {
            for (_, id) in &page {
                // Held by a caller: next pass.
                let Some(row) = item_store::lock_unless_busy(conn, *id)? else { continue };
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
                item.save(conn, journal, None, &[event])?;
            }
            Ok(())
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
    let Pass { today, until, signal, .. } = *run;
    let now = run.settings.now;
    let mut total = (0, 0);
    for walk in [Walk::Warn, Walk::Miss] {
        let mut after = None;
        loop {
            let page = candidates(conn, walk, today, until, after, BATCH)?;
            let Some(last) = page.last().copied() else { break };
            after = Some(last);
            let (warned, missed) = batch(conn, now, signal, |conn, journal| {
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
    // Unused when `after` is none, but bound: a day PostgreSQL can hold.
    let (after_due, after_id) = after.unwrap_or((NaiveDate::default(), Uuid::nil()));
    let rows: Vec<Candidate> = diesel::sql_query(
        "SELECT c.due_date, c.id FROM cases c
         LEFT JOIN case_clock_marks m ON m.case_id = c.id
         WHERE c.due_date IS NOT NULL AND c.due_date <= $2
           AND ($3 OR (c.due_date, c.id) > ($4, $5))
           AND (m.case_id IS NULL OR m.due_date <> c.due_date
                OR m.level < CASE WHEN c.due_date < $1 THEN 2 ELSE 1 END)
         ORDER BY c.due_date, c.id
         LIMIT $6",
    )
    .bind::<Date, _>(today)
    .bind::<Date, _>(until)
    .bind::<Bool, _>(after.is_none())
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
        batch(conn, run.settings.now, run.signal, |conn, journal| {
            for (_, id) in &page {
                mark_case(conn, journal, run, *id, report)?;
            }
            Ok(())
        })?;
        if i64::try_from(page.len()).unwrap_or(i64::MAX) < BATCH {
            return Ok(());
        }
    }
}

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

/// Marks case `id`'s running clock as far as the pass's day requires,
/// unless a caller holds the case (next pass) or it is marked already.
fn mark_case(
    conn: &mut PgConnection,
    journal: &mut Journal,
    run: &Pass<'_>,
    id: Uuid,
    report: &mut Report,
) -> Result<(), AppError> {
    let Pass { settings, today, until, .. } = *run;
    let Some(case) =
        cases::table.find(id).select(ClockedCase::as_select()).for_update().skip_locked().first(conn).optional()?
    else {
        return Ok(());
    };
    let life = &case.lifecycle.0;
    let Some((deadline, due, owed_by)) = case_rules::running_clock(life) else { return Ok(()) };
    let level: i16 = if due < today {
        2
    } else if due <= until {
        1
    } else {
        return Ok(());
    };
    let marked: Option<(NaiveDate, i16)> = case_clock_marks::table
        .find(id)
        .select((case_clock_marks::due_date, case_clock_marks::level))
        .first(conn)
        .optional()?;
    if marked.is_some_and(|(marked_due, marked_level)| marked_due == due && marked_level >= level) {
        return Ok(());
    }
    let event = if level == 2 {
        report.cases_missed += 1;
        CaseEvent::DeadlineMissed { deadline, due_date: due, organization_id: owed_by }
    } else {
        report.cases_warned += 1;
        CaseEvent::DeadlineApproaching { deadline, due_date: due, organization_id: owed_by }
    };
    let at = journal.now();
    let start = Batch { id, before: Some(life.clone()), last_sequence: case.last_sequence, actor: None, at };
    let (_, last_sequence) = journal.record_batch(start, &[event], |_, _| ())?;
    // The lifecycle and version stay: the mark is the timeline's only.
    diesel::update(cases::table.find(id)).set(cases::last_sequence.eq(last_sequence)).execute(conn)?;
    diesel::insert_into(case_clock_marks::table)
        .values((
            case_clock_marks::case_id.eq(id),
            case_clock_marks::due_date.eq(due),
            case_clock_marks::level.eq(level),
        ))
        .on_conflict(case_clock_marks::case_id)
        .do_update()
        .set((case_clock_marks::due_date.eq(due), case_clock_marks::level.eq(level)))
        .execute(conn)?;
    if level == 2 && settings.supervise_overdue {
        supervise_overdue(conn, journal, run, &case, (deadline, due, owed_by), report)?;
    }
    Ok(())
}

/// The sweeper's OVERDUE reminder to the organization that owes `case`'s
/// passed clock, in the name of the bureau that registered it; none for the
/// bureau's own clock or while one is open.
fn supervise_overdue(
    conn: &mut PgConnection,
    journal: &mut Journal,
    run: &Pass<'_>,
    case: &ClockedCase,
    clock: (case_rules::DeadlineName, NaiveDate, Option<Uuid>),
    report: &mut Report,
) -> Result<(), AppError> {
    let (deadline, due, owed_by) = clock;
    let today = run.today;
    let (Some(organization_id), Some(issuer)) = (owed_by, case.registering_organization_id) else {
        return Ok(());
    };
    if organization_id == issuer || item_store::overdue_item_open(conn, case.id, organization_id)? {
        return Ok(());
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
        today,
        automatic: true,
    };
    let on =
        item_aggregate::OnCase { region_path: &case.region_path, region_code: &case.region_code, number: &case.number };
    item_aggregate::open(conn, journal, (&run.settings.ladder, &run.calendar), on, issue, issuing)?;
    report.items_issued += 1;
    Ok(())
}

/// Designates every case the backlog rule names, a batch per transaction.
fn designate_backlog(conn: &mut PgConnection, run: &Pass<'_>, report: &mut Report) -> Result<(), AppError> {
    loop {
        let found = crate::backlog::store::candidates(conn, run.today, &run.settings.backlog, BATCH)?;
        if found.is_empty() {
            return Ok(());
        }
        let designated = batch(conn, run.settings.now, run.signal, |conn, journal| {
            let mut designated = 0;
            for c in found {
                // Designated by staff since it was found: refused before
                // anything is written, so the others go on. (One committed
                // in between fails the batch at the unique index; the next
                // pass sees it.)
                match crate::backlog::designate_by_rule(conn, journal, c.case_id, c.reason, c.detail) {
                    Ok(_) => designated += 1,
                    Err(e) if e.reason() == crate::error::Reason::AlreadyDesignated => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(designated)
        })?;
        report.backlog_designated += designated;
        if designated == 0 {
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
