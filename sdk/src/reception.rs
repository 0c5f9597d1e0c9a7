//! [`ReceptionClient`]: typed calls to `petition.v1.ReceptionService`.

use futures::stream::BoxStream;
use petition_proto::v1::reception_service_client::ReceptionServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Result, required};
use crate::paging::paginate;
use crate::pb;

/// The calls of `ReceptionService` (领导接访): a bureau's clerk publishes
/// a leader's reception schedule; a citizen books a slot for a matter; the
/// leader or a clerk records the reception, which may register or link a
/// case and make the leader its owner (首接包案). Get one from
/// [`Client::reception`].
///
/// Writes take a `request_id`, filled by the SDK when empty and kept on its
/// retries, and may carry an `etag` (`ABORTED` when stale).
/// `FAILED_PRECONDITION` names the reason (`RECEPTION_SLOT_FULL`,
/// `RECEPTION_MATTER_ALREADY_BOOKED`, `RECEPTION_BOOKING_CLOSED`, …);
/// `NOT_FOUND` when the caller may not see the booking.
#[derive(Clone, Debug)]
pub struct ReceptionClient {
    client: Client,
}

impl ReceptionClient {
    pub(crate) fn new(client: Client) -> Self {
        ReceptionClient { client }
    }

    /// Publishes a schedule.
    pub async fn create_reception_schedule(
        &self,
        request: pb::CreateReceptionScheduleRequest,
    ) -> Result<pb::ReceptionSchedule> {
        let response = self.client.call(request, rpc!(ReceptionServiceClient::create_reception_schedule)).await?;
        required(response.schedule, "CreateReceptionScheduleResponse.schedule")
    }

    /// Changes or retires a schedule.
    pub async fn update_reception_schedule(
        &self,
        request: pb::UpdateReceptionScheduleRequest,
    ) -> Result<pb::ReceptionSchedule> {
        let response = self.client.call(request, rpc!(ReceptionServiceClient::update_reception_schedule)).await?;
        required(response.schedule, "UpdateReceptionScheduleResponse.schedule")
    }

    /// The schedule with this id.
    pub async fn get_reception_schedule(&self, schedule_id: impl Into<String>) -> Result<pb::ReceptionSchedule> {
        let request = pb::GetReceptionScheduleRequest { schedule_id: schedule_id.into() };
        let response = self.client.call(request, rpc!(ReceptionServiceClient::get_reception_schedule)).await?;
        required(response.schedule, "GetReceptionScheduleResponse.schedule")
    }

    /// One page of schedules.
    pub async fn list_reception_schedules(
        &self,
        request: pb::ListReceptionSchedulesRequest,
    ) -> Result<pb::ListReceptionSchedulesResponse> {
        self.client.call(request, rpc!(ReceptionServiceClient::list_reception_schedules)).await
    }

    /// The slots between two dates with their places left.
    pub async fn list_reception_slots(&self, request: pb::ListReceptionSlotsRequest) -> Result<Vec<pb::ReceptionSlot>> {
        Ok(self.client.call(request, rpc!(ReceptionServiceClient::list_reception_slots)).await?.slots)
    }

    /// Books a slot (a citizen).
    pub async fn book_reception(&self, request: pb::BookReceptionRequest) -> Result<pb::ReceptionBooking> {
        let response = self.client.call(request, rpc!(ReceptionServiceClient::book_reception)).await?;
        required(response.booking, "BookReceptionResponse.booking")
    }

    /// Cancels a booking before its slot.
    pub async fn cancel_reception_booking(
        &self,
        request: pb::CancelReceptionBookingRequest,
    ) -> Result<pb::ReceptionBooking> {
        let response = self.client.call(request, rpc!(ReceptionServiceClient::cancel_reception_booking)).await?;
        required(response.booking, "CancelReceptionBookingResponse.booking")
    }

    /// Records the reception.
    pub async fn record_reception(&self, request: pb::RecordReceptionRequest) -> Result<pb::ReceptionBooking> {
        let response = self.client.call(request, rpc!(ReceptionServiceClient::record_reception)).await?;
        required(response.booking, "RecordReceptionResponse.booking")
    }

    /// Records a no-show after the slot.
    pub async fn record_reception_no_show(
        &self,
        request: pb::RecordReceptionNoShowRequest,
    ) -> Result<pb::ReceptionBooking> {
        let response = self.client.call(request, rpc!(ReceptionServiceClient::record_reception_no_show)).await?;
        required(response.booking, "RecordReceptionNoShowResponse.booking")
    }

    /// The booking with this id.
    pub async fn get_reception_booking(&self, booking_id: impl Into<String>) -> Result<pb::ReceptionBooking> {
        let request = pb::GetReceptionBookingRequest { booking_id: booking_id.into() };
        let response = self.client.call(request, rpc!(ReceptionServiceClient::get_reception_booking)).await?;
        required(response.booking, "GetReceptionBookingResponse.booking")
    }

    /// One page of the bookings the caller may see, by slot start.
    pub async fn list_reception_bookings(
        &self,
        request: pb::ListReceptionBookingsRequest,
    ) -> Result<pb::ListReceptionBookingsResponse> {
        self.client.call(request, rpc!(ReceptionServiceClient::list_reception_bookings)).await
    }

    /// Every booking matching `filter`, page after page. The stream ends
    /// after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn reception_bookings(
        &self,
        filter: pb::ListReceptionBookingsRequest,
    ) -> BoxStream<'static, Result<pb::ReceptionBooking>> {
        let me = self.clone();
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_reception_bookings(request).await?;
                Ok((page.bookings, page.next_page_token))
            }
        })
    }

    /// One page of a booking's timeline, oldest first.
    pub async fn list_reception_booking_events(
        &self,
        request: pb::ListReceptionBookingEventsRequest,
    ) -> Result<pb::ListReceptionBookingEventsResponse> {
        self.client.call(request, rpc!(ReceptionServiceClient::list_reception_booking_events)).await
    }
}
