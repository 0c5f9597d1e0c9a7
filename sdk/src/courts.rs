//! [`CourtClient`]: typed calls to `petition.v1.CourtService`.

use futures::stream::BoxStream;
use petition_proto::v1::court_service_client::CourtServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Result, required};
use crate::paging::paginate;
use crate::pb;

/// The calls of `CourtService` (信访+司法, 诉访分离): a clerk or handler
/// refers a petition case to a court; the court's partner account
/// acknowledges it, records the filing (案号), hearings and the outcome, or
/// returns it. Get one from [`Client::courts`].
///
/// Writes take a `request_id`, filled by the SDK when empty and kept on its
/// retries: a court system that repeats a call after a lost answer gets the
/// first answer back. Transitions may carry the referral's `etag`
/// (`ABORTED` when stale). A transition not allowed in the referral's state
/// is `FAILED_PRECONDITION` naming the referral; `NOT_FOUND` when the
/// caller may not see it (a partner of another court), `PERMISSION_DENIED`
/// when they may see but not act.
#[derive(Clone, Debug)]
pub struct CourtClient {
    client: Client,
}

macro_rules! referral_calls {
    ($($(#[$doc:meta])* $name:ident($request:ident) => $response:literal;)+) => {
        $(
            $(#[$doc])*
            pub async fn $name(&self, request: pb::$request) -> Result<pb::CourtReferral> {
                let response = self.client.call(request, rpc!(CourtServiceClient::$name)).await?;
                required(response.court_referral, $response)
            }
        )+
    };
}

impl CourtClient {
    pub(crate) fn new(client: Client) -> Self {
        CourtClient { client }
    }

    /// The referral with this id.
    pub async fn get_court_referral(&self, court_referral_id: impl Into<String>) -> Result<pb::CourtReferral> {
        let request = pb::GetCourtReferralRequest { court_referral_id: court_referral_id.into() };
        let response = self.client.call(request, rpc!(CourtServiceClient::get_court_referral)).await?;
        required(response.court_referral, "GetCourtReferralResponse.court_referral")
    }

    /// One page of the referrals the caller may see, newest first.
    pub async fn list_court_referrals(
        &self,
        request: pb::ListCourtReferralsRequest,
    ) -> Result<pb::ListCourtReferralsResponse> {
        self.client.call(request, rpc!(CourtServiceClient::list_court_referrals)).await
    }

    /// Every referral matching `filter`, page after page, newest first.
    /// The stream ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn court_referrals(
        &self,
        filter: pb::ListCourtReferralsRequest,
    ) -> BoxStream<'static, Result<pb::CourtReferral>> {
        let me = self.clone();
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_court_referrals(request).await?;
                Ok((page.court_referrals, page.next_page_token))
            }
        })
    }

    /// One page of a referral's timeline, oldest first.
    pub async fn list_court_referral_events(
        &self,
        request: pb::ListCourtReferralEventsRequest,
    ) -> Result<pb::ListCourtReferralEventsResponse> {
        self.client.call(request, rpc!(CourtServiceClient::list_court_referral_events)).await
    }

    /// The whole timeline of referral `court_referral_id`, oldest first.
    /// The stream ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn court_referral_events(
        &self,
        court_referral_id: impl Into<String>,
    ) -> BoxStream<'static, Result<pb::CourtReferralEvent>> {
        let me = self.clone();
        let filter =
            pb::ListCourtReferralEventsRequest { court_referral_id: court_referral_id.into(), ..Default::default() };
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_court_referral_events(request).await?;
                Ok((page.events, page.next_page_token))
            }
        })
    }

    referral_calls! {
        /// Refers a petition case to a court (a clerk before acceptance or
        /// after a decline for litigation, the handling unit after).
        refer_case_to_court(ReferCaseToCourtRequest) => "ReferCaseToCourtResponse.court_referral";
        /// The court received the referral (its partner account).
        acknowledge_court_referral(AcknowledgeCourtReferralRequest) => "AcknowledgeCourtReferralResponse.court_referral";
        /// The court filed the case under its case number (案号).
        record_court_filing(RecordCourtFilingRequest) => "RecordCourtFilingResponse.court_referral";
        /// A hearing scheduled, possibly postponing an earlier one.
        schedule_court_hearing(ScheduleCourtHearingRequest) => "ScheduleCourtHearingResponse.court_referral";
        /// How the court concluded the case.
        record_court_outcome(RecordCourtOutcomeRequest) => "RecordCourtOutcomeResponse.court_referral";
        /// The court sends the referral back, with a typed reason.
        return_court_referral(ReturnCourtReferralRequest) => "ReturnCourtReferralResponse.court_referral";
        /// The referring side takes the referral back before acknowledgment.
        withdraw_court_referral(WithdrawCourtReferralRequest) => "WithdrawCourtReferralResponse.court_referral";
    }
}
