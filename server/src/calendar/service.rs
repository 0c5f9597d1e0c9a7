//! `petition.v1.CalendarService`: the workday calendar and deadlines on it.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use petition_proto::v1 as pb;
use petition_proto::v1::calendar_service_server::CalendarService;
use tonic::{Request, Response, Status};

use diesel::PgConnection;
use uuid::Uuid;

use super::model::CalendarDayRow;
use super::rules::{self, Period, RawDay};
use super::store;
use crate::auth::policy::{self, Action, Resource};
use crate::auth::require_principal;
use crate::error::AppError;
use crate::event_log::Journal;
use crate::pipeline::{self, Envelope};
use crate::state::AppState;

/// Days loaded beyond a period's nominal end, for the holidays and weekends
/// a deadline may roll over.
const HORIZON_SLACK_DAYS: u64 = 60;

/// What else follows a year's schedule, done in the transaction that loads
/// it (recomputing the stored deadlines that counted its days). The caller
/// supplies it, so the calendar depends on none of the features built on
/// it.
pub trait OnYearLoaded: Send + Sync {
    /// Returns how many records changed.
    fn year_loaded(
        &self,
        conn: &mut PgConnection,
        journal: &mut Journal,
        actor: Uuid,
        year: i32,
    ) -> Result<i32, AppError>;
}

pub struct CalendarApi {
    state: Arc<AppState>,
    on_year_loaded: Arc<dyn OnYearLoaded>,
}

impl CalendarApi {
    pub fn new(state: Arc<AppState>, on_year_loaded: Arc<dyn OnYearLoaded>) -> Self {
        Self { state, on_year_loaded }
    }
}

impl From<CalendarDayRow> for pb::CalendarDay {
    fn from(row: CalendarDayRow) -> Self {
        pb::CalendarDay { date: rules::format_date(row.day), kind: i32::from(row.kind), note: row.note }
    }
}

/// The last date whose exceptions a deadline of `period` after `start` can
/// depend on: the nominal end (a working day takes at most two calendar
/// days on average, counting weekends and holidays) plus slack.
fn horizon(start: NaiveDate, period: Period) -> NaiveDate {
    let nominal = match period {
        Period::Days(n) => u64::from(n),
        Period::Workdays(n) => 2 * u64::from(n),
    };
    start.checked_add_days(Days::new(nominal + HORIZON_SLACK_DAYS)).unwrap_or(NaiveDate::MAX)
}

#[tonic::async_trait]
impl CalendarService for CalendarApi {
    async fn list_calendar_days(
        &self,
        request: Request<pb::ListCalendarDaysRequest>,
    ) -> Result<Response<pb::ListCalendarDaysResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ReadCalendar, Resource::System)?;
        let year = rules::validate_year("year", request.into_inner().year)?;
        let rows = self.state.db.read(move |conn| store::list_year(conn, year)).await?;
        Ok(Response::new(pb::ListCalendarDaysResponse { days: rows.into_iter().map(Into::into).collect() }))
    }

    async fn set_calendar_year(
        &self,
        request: Request<pb::SetCalendarYearRequest>,
    ) -> Result<Response<pb::SetCalendarYearResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::WriteCalendar, Resource::System)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "SetCalendarYear", &req.request_id, &req)?;
        let raw: Vec<RawDay<'_>> =
            req.days.iter().map(|day| RawDay { date: &day.date, kind: day.kind, note: &day.note }).collect();
        let entries = rules::validate_year_days(req.year, &raw)?;
        let year = req.year;
        let on_year_loaded = self.on_year_loaded.clone();
        let response = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let rows = store::replace_year(conn, year, &entries)?;
            let cases_recomputed = on_year_loaded.year_loaded(conn, journal, principal.account_id, year)?;
            Ok(pb::SetCalendarYearResponse { days: rows.into_iter().map(Into::into).collect(), cases_recomputed })
        })
        .await?;
        // Cases read on this server stop marking the year's deadlines at
        // once; other servers within a minute (calendar::watch).
        if let Err(e) = self.state.calendar_years.refresh(&self.state.db).await {
            tracing::warn!(error = %e, "could not re-read the loaded calendar years");
        }
        Ok(Response::new(response))
    }

    async fn compute_deadline(
        &self,
        request: Request<pb::ComputeDeadlineRequest>,
    ) -> Result<Response<pb::ComputeDeadlineResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize(&principal, Action::ReadCalendar, Resource::System)?;
        let req = request.into_inner();
        let (start, period) = rules::validate_deadline_request(&req.start_date, req.days, req.workdays)?;
        let until = horizon(start, period);
        let (calendar, schedules) = self
            .state
            .db
            .read_snapshot(move |conn| Ok((store::load_calendar(conn, start, until)?, store::loaded_years(conn)?)))
            .await?;
        let deadline = calendar.deadline(start, period);
        Ok(Response::new(pb::ComputeDeadlineResponse {
            deadline_date: rules::format_date(deadline),
            provisional: schedules.is_provisional(start, deadline),
        }))
    }
}
