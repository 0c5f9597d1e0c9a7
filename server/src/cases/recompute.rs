//! A year's holiday schedule loaded (CalendarService.SetCalendarYear): the
//! deadlines of open cases whose clocks may have counted its days are run
//! again on the new calendar ([`clocks::recompute`]), and each change is
//! recorded as a `DeadlinesRecomputed` event in the same transaction.

use chrono::Days;
use diesel::PgConnection;
use uuid::Uuid;

use super::aggregate::Case;
use super::clocks::{self, Dated, LONGEST_CLOCK_DAYS};
use super::filing::URGENT_REPLY_DAYS;
use super::rules::{Context, Event};
use super::store;
use crate::calendar::service::OnYearLoaded;
use crate::calendar::store as calendar_store;
use crate::error::AppError;
use crate::event_log::{self, Journal};
use crate::pipeline::Aggregate;
use crate::time::{shanghai_date, shanghai_today};

/// Days around the touched deadlines whose exceptions are loaded: the
/// clocks start up to [`LONGEST_CLOCK_DAYS`] before them and roll past
/// holidays after them.
const CALENDAR_MARGIN_DAYS: u64 = LONGEST_CLOCK_DAYS + 60;

/// Recomputes case deadlines when a year is loaded.
pub struct CaseDeadlines;

impl OnYearLoaded for CaseDeadlines {
    fn year_loaded(
        &self,
        conn: &mut PgConnection,
        journal: &mut Journal,
        actor: Uuid,
        year: i32,
    ) -> Result<i32, AppError> {
        let (from, to) = clocks::touched_by(year);
        let ids = store::open_cases_with_a_deadline_between(conn, from, to)?;
        if ids.is_empty() {
            return Ok(0);
        }
        let calendar = calendar_store::load_calendar(
            conn,
            from.checked_sub_days(Days::new(CALENDAR_MARGIN_DAYS)).unwrap_or(from),
            to.checked_add_days(Days::new(CALENDAR_MARGIN_DAYS)).unwrap_or(to),
        )?;
        let ctx = Context { today: shanghai_today(), calendar: &calendar, urgent_reply_days: URGENT_REPLY_DAYS };
        let mut changed = 0;
        for id in ids {
            let case = Case::lock(conn, id)?;
            let rows = event_log::timeline(conn, id, 0, i64::from(i32::MAX))?;
            let events = rows.iter().map(crate::event_log::parse_event::<Event>).collect::<Result<Vec<_>, _>>()?;
            let history: Vec<Dated<'_>> = rows
                .iter()
                .zip(&events)
                .map(|(row, event)| Dated { day: shanghai_date(row.occurred_at), event })
                .collect();
            let Some(deadlines) = clocks::recompute(&history, &ctx, &case.life().deadlines) else {
                continue;
            };
            if deadlines != case.life().deadlines {
                case.save(conn, journal, Some(actor), &[Event::DeadlinesRecomputed { year, deadlines }])?;
                changed += 1;
            }
        }
        Ok(changed)
    }
}
