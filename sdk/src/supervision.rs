//! [`SupervisionClient`]: typed calls to `petition.v1.SupervisionService`.

use futures::stream::BoxStream;
use petition_proto::v1::supervision_service_client::SupervisionServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Result, required};
use crate::paging::paginate;
use crate::pb;

/// The calls of `SupervisionService` (督办): a bureau's supervisor issues
/// an item on a case to the organization handling it, with a deadline to
/// answer; unanswered, it climbs reminder → letter → talks → notice as its
/// deadlines pass (the server's sweeper raises it). Get one from
/// [`Client::supervision`].
///
/// Writes take a `request_id`, filled by the SDK when empty and kept on its
/// retries, and may carry the item's `etag` (`ABORTED` when stale).
/// `FAILED_PRECONDITION` names the reason (`SUPERVISION_ENDED`,
/// `SUPERVISION_ANSWERED`, `SUPERVISION_NOT_ANSWERED`,
/// `SUPERVISION_AT_TOP_RUNG`); `NOT_FOUND` when the caller may not see it.
#[derive(Clone, Debug)]
pub struct SupervisionClient {
    client: Client,
}

impl SupervisionClient {
    pub(crate) fn new(client: Client) -> Self {
        SupervisionClient { client }
    }

    /// Issues an item on a case.
    pub async fn issue_supervision(&self, request: pb::IssueSupervisionRequest) -> Result<pb::Supervision> {
        let response = self.client.call(request, rpc!(SupervisionServiceClient::issue_supervision)).await?;
        required(response.supervision, "IssueSupervisionResponse.supervision")
    }

    /// The addressed organization answers.
    pub async fn answer_supervision(&self, request: pb::AnswerSupervisionRequest) -> Result<pb::Supervision> {
        let response = self.client.call(request, rpc!(SupervisionServiceClient::answer_supervision)).await?;
        required(response.supervision, "AnswerSupervisionResponse.supervision")
    }

    /// The issuer accepts the answer (closed) or rejects it (open again).
    pub async fn review_supervision_answer(
        &self,
        request: pb::ReviewSupervisionAnswerRequest,
    ) -> Result<pb::Supervision> {
        let response = self.client.call(request, rpc!(SupervisionServiceClient::review_supervision_answer)).await?;
        required(response.supervision, "ReviewSupervisionAnswerResponse.supervision")
    }

    /// Raises the item one rung now.
    pub async fn escalate_supervision(&self, request: pb::EscalateSupervisionRequest) -> Result<pb::Supervision> {
        let response = self.client.call(request, rpc!(SupervisionServiceClient::escalate_supervision)).await?;
        required(response.supervision, "EscalateSupervisionResponse.supervision")
    }

    /// Withdraws an item issued in error.
    pub async fn withdraw_supervision(&self, request: pb::WithdrawSupervisionRequest) -> Result<pb::Supervision> {
        let response = self.client.call(request, rpc!(SupervisionServiceClient::withdraw_supervision)).await?;
        required(response.supervision, "WithdrawSupervisionResponse.supervision")
    }

    /// The item with this id.
    pub async fn get_supervision(&self, supervision_id: impl Into<String>) -> Result<pb::Supervision> {
        let request = pb::GetSupervisionRequest { supervision_id: supervision_id.into() };
        let response = self.client.call(request, rpc!(SupervisionServiceClient::get_supervision)).await?;
        required(response.supervision, "GetSupervisionResponse.supervision")
    }

    /// One page of the items the caller may see, the soonest deadline first.
    pub async fn list_supervisions(
        &self,
        request: pb::ListSupervisionsRequest,
    ) -> Result<pb::ListSupervisionsResponse> {
        self.client.call(request, rpc!(SupervisionServiceClient::list_supervisions)).await
    }

    /// Every item matching `filter`, page after page. The stream ends after
    /// the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn supervisions(&self, filter: pb::ListSupervisionsRequest) -> BoxStream<'static, Result<pb::Supervision>> {
        let me = self.clone();
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_supervisions(request).await?;
                Ok((page.supervisions, page.next_page_token))
            }
        })
    }

    /// One page of an item's timeline, oldest first.
    pub async fn list_supervision_events(
        &self,
        request: pb::ListSupervisionEventsRequest,
    ) -> Result<pb::ListSupervisionEventsResponse> {
        self.client.call(request, rpc!(SupervisionServiceClient::list_supervision_events)).await
    }

    /// The whole timeline of item `supervision_id`, oldest first. The stream
    /// ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn supervision_events(
        &self,
        supervision_id: impl Into<String>,
    ) -> BoxStream<'static, Result<pb::SupervisionEvent>> {
        let me = self.clone();
        let filter = pb::ListSupervisionEventsRequest { supervision_id: supervision_id.into(), ..Default::default() };
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_supervision_events(request).await?;
                Ok((page.events, page.next_page_token))
            }
        })
    }
}
