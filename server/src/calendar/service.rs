//! `petition.v1.CalendarService`: the workday calendar and deadlines on it.

use std::sync::Arc;

use chrono::{Days, NaiveDate};
use petition_proto::v1 as pb;
use petition_proto::v1::calendar_service_server::CalendarService;
use tonic::{Request, Response, Status};

use super::model::CalendarDayRow;
use super::rules::{self, Period, RawDay};
use super::store;
use crate::auth::policy::{self, Action, Resource};
use crate::auth::require_principal;
use crate::state::AppState;

/// Days loaded beyond a period's nominal end, for the holidays and weekends
/// a deadline may roll over.
const HORIZON_SLACK_DAYS: u64 = 60;

pub struct CalendarApi {
    state: Arc<AppState>,
}

impl CalendarApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
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
        let raw: Vec<RawDay<'_>> =
            req.days.iter().map(|day| RawDay { date: &day.date, kind: day.kind, note: &day.note }).collect();
        let entries = rules::validate_year_days(req.year, &raw)?;
        let year = req.year;
        let rows = self.state.db.run(move |conn| store::replace_year(conn, year, &entries)).await?;
        Ok(Response::new(pb::SetCalendarYearResponse { days: rows.into_iter().map(Into::into).collect() }))
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
        let calendar = self.state.db.read(move |conn| store::load_calendar(conn, start, until)).await?;
        let deadline = calendar.deadline(start, period);
        Ok(Response::new(pb::ComputeDeadlineResponse { deadline_date: rules::format_date(deadline) }))
    }
}
