//! [`CalendarClient`]: typed calls to `petition.v1.CalendarService`.

use petition_proto::v1::calendar_service_client::CalendarServiceClient;

use crate::client::{Client, rpc};
use crate::error::Result;
use crate::pb;

/// The calls of `CalendarService`: the workday calendar (its holidays and
/// make-up working days, year by year) and deadlines computed on it. Get one
/// from [`Client::calendar`].
///
/// Dates are ISO 8601 strings `YYYY-MM-DD`. Reads are open to every
/// signed-in caller; replacing a year is admin-only.
#[derive(Clone, Debug)]
pub struct CalendarClient {
    client: Client,
}

impl CalendarClient {
    pub(crate) fn new(client: Client) -> Self {
        CalendarClient { client }
    }

    /// The exceptions to the plain week stored for `year` (2000–2100),
    /// ordered by date; empty if the year has none.
    pub async fn list_calendar_days(&self, year: i32) -> Result<Vec<pb::CalendarDay>> {
        let request = pb::ListCalendarDaysRequest { year };
        let response = self.client.call(request, rpc!(CalendarServiceClient::list_calendar_days)).await?;
        Ok(response.days)
    }

    /// Admin only: replaces every exception of `year` with `days`, marks
    /// the year's schedule loaded, and recomputes the deadlines of open
    /// cases that counted its days. Answers the exceptions as stored,
    /// ordered by date, and how many cases had a deadline recomputed. An
    /// empty `days` makes the year follow the plain week.
    ///
    /// # Errors
    ///
    /// `INVALID_ARGUMENT` naming `days[i].date`, `days[i].kind` or
    /// `days[i].note` for each bad entry (see
    /// [`field_violations`](crate::Error::field_violations)); nothing is
    /// changed then.
    pub async fn set_calendar_year(
        &self,
        year: i32,
        days: Vec<pb::CalendarDay>,
    ) -> Result<pb::SetCalendarYearResponse> {
        self.set_calendar_year_request(pb::SetCalendarYearRequest { year, days, request_id: String::new() }).await
    }

    /// [`set_calendar_year`](Self::set_calendar_year) with the whole
    /// request, for a `request_id` of the caller's own (empty: a fresh one):
    /// a repeat with the same id answers the first response and changes
    /// nothing.
    pub async fn set_calendar_year_request(
        &self,
        request: pb::SetCalendarYearRequest,
    ) -> Result<pb::SetCalendarYearResponse> {
        self.client.call(request, rpc!(CalendarServiceClient::set_calendar_year)).await
    }

    /// The last day (`YYYY-MM-DD`) of a period after `start_date` on the
    /// server's calendar: `days` calendar days (moved to the next working
    /// day if it ends on a day off) or `workdays` working days; set at most
    /// one. With neither, `start_date` itself. `provisional` is set when
    /// the period counts days of a year whose holiday schedule is not
    /// loaded yet.
    pub async fn compute_deadline(&self, request: pb::ComputeDeadlineRequest) -> Result<pb::ComputeDeadlineResponse> {
        self.client.call(request, rpc!(CalendarServiceClient::compute_deadline)).await
    }
}
