//! [`RatingClient`]: typed calls to `petition.v1.RatingService`.

use futures::stream::BoxStream;
use petition_proto::v1::rating_service_client::RatingServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Result, required};
use crate::paging::paginate;
use crate::pb;

/// The calls of `RatingService` (评价): the petitioner rates each served
/// opinion — the acceptance and the handling separately — and may change
/// the rating until its `rate_by` day; a clerk records a rating given by
/// phone, at a return visit or in person. Ratings open by themselves when
/// an opinion is served; list them with `case_id` to find a case's. Get
/// one from [`Client::ratings`].
///
/// Writes take a `request_id`, filled by the SDK when empty and kept on its
/// retries, and may carry the rating's `etag` (`ABORTED` when stale). After
/// the window: `FAILED_PRECONDITION` `RATING_WINDOW_CLOSED`; a clerk over
/// the petitioner's own rating: `ALREADY_RATED`; dissatisfied without a
/// reason: `INVALID_ARGUMENT` naming `handling.reasons` or
/// `acceptance.reasons`. `NOT_FOUND` when the caller may not see it.
#[derive(Clone, Debug)]
pub struct RatingClient {
    client: Client,
}

impl RatingClient {
    pub(crate) fn new(client: Client) -> Self {
        RatingClient { client }
    }

    /// The rating with this id.
    pub async fn get_rating(&self, rating_id: impl Into<String>) -> Result<pb::Rating> {
        let request = pb::GetRatingRequest { rating_id: rating_id.into() };
        let response = self.client.call(request, rpc!(RatingServiceClient::get_rating)).await?;
        required(response.rating, "GetRatingResponse.rating")
    }

    /// One page of the ratings the caller may see, newest first.
    pub async fn list_ratings(&self, request: pb::ListRatingsRequest) -> Result<pb::ListRatingsResponse> {
        self.client.call(request, rpc!(RatingServiceClient::list_ratings)).await
    }

    /// Every rating matching `filter`, page after page, newest first. The
    /// stream ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn ratings(&self, filter: pb::ListRatingsRequest) -> BoxStream<'static, Result<pb::Rating>> {
        let me = self.clone();
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_ratings(request).await?;
                Ok((page.ratings, page.next_page_token))
            }
        })
    }

    /// One page of a rating's timeline, oldest first.
    pub async fn list_rating_events(
        &self,
        request: pb::ListRatingEventsRequest,
    ) -> Result<pb::ListRatingEventsResponse> {
        self.client.call(request, rpc!(RatingServiceClient::list_rating_events)).await
    }

    /// The whole timeline of rating `rating_id`, oldest first. The stream
    /// ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn rating_events(&self, rating_id: impl Into<String>) -> BoxStream<'static, Result<pb::RatingEvent>> {
        let me = self.clone();
        let filter = pb::ListRatingEventsRequest { rating_id: rating_id.into(), ..Default::default() };
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_rating_events(request).await?;
                Ok((page.events, page.next_page_token))
            }
        })
    }

    /// The petitioner rates, or changes their rating, within the window.
    pub async fn submit_rating(&self, request: pb::SubmitRatingRequest) -> Result<pb::Rating> {
        let response = self.client.call(request, rpc!(RatingServiceClient::submit_rating)).await?;
        required(response.rating, "SubmitRatingResponse.rating")
    }

    /// A clerk records a rating given by phone, at a return visit or in
    /// person.
    pub async fn record_rating(&self, request: pb::RecordRatingRequest) -> Result<pb::Rating> {
        let response = self.client.call(request, rpc!(RatingServiceClient::record_rating)).await?;
        required(response.rating, "RecordRatingResponse.rating")
    }
}
