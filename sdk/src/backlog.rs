//! [`BacklogClient`]: typed calls to `petition.v1.BacklogService`.

use futures::stream::BoxStream;
use petition_proto::v1::backlog_service_client::BacklogServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Result, required};
use crate::paging::paginate;
use crate::pb;

/// The calls of `BacklogService` (积案, 一案四查): the bureau designates a
/// case the procedure has not settled as a backlog case (the server's rule
/// designates others by itself); the four checks — root cause, is the
/// claim reasonable, was the reasonable claim resolved, was responsibility
/// carried out — are recorded one or several at a time; accountability is
/// recorded where responsibility was not carried out; then the backlog
/// case is resolved (化解), or withdrawn when designated in error. Get one
/// from [`Client::backlog`].
///
/// Writes take a `request_id`, filled by the SDK when empty and kept on its
/// retries, and may carry the backlog case's `etag` (`ABORTED` when
/// stale). Resolving before the checks allow it is `FAILED_PRECONDITION`
/// `BACKLOG_CHECKS_INCOMPLETE`, with one
/// [`precondition_violations`](crate::Error::precondition_violations)
/// entry per missing or inconsistent check (`root_cause`,
/// `claim_reasonable`, `claim_resolved`, `responsibility`,
/// `accountability`). `NOT_FOUND` when the caller may not see it.
#[derive(Clone, Debug)]
pub struct BacklogClient {
    client: Client,
}

impl BacklogClient {
    pub(crate) fn new(client: Client) -> Self {
        BacklogClient { client }
    }

    /// The backlog case with this id.
    pub async fn get_backlog_case(&self, backlog_case_id: impl Into<String>) -> Result<pb::BacklogCase> {
        let request = pb::GetBacklogCaseRequest { backlog_case_id: backlog_case_id.into() };
        let response = self.client.call(request, rpc!(BacklogServiceClient::get_backlog_case)).await?;
        required(response.backlog_case, "GetBacklogCaseResponse.backlog_case")
    }

    /// One page of the backlog cases the caller may see, newest first.
    pub async fn list_backlog_cases(
        &self,
        request: pb::ListBacklogCasesRequest,
    ) -> Result<pb::ListBacklogCasesResponse> {
        self.client.call(request, rpc!(BacklogServiceClient::list_backlog_cases)).await
    }

    /// Every backlog case matching `filter`, page after page, newest first.
    /// The stream ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn backlog_cases(&self, filter: pb::ListBacklogCasesRequest) -> BoxStream<'static, Result<pb::BacklogCase>> {
        let me = self.clone();
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_backlog_cases(request).await?;
                Ok((page.backlog_cases, page.next_page_token))
            }
        })
    }

    /// One page of a backlog case's timeline, oldest first.
    pub async fn list_backlog_case_events(
        &self,
        request: pb::ListBacklogCaseEventsRequest,
    ) -> Result<pb::ListBacklogCaseEventsResponse> {
        self.client.call(request, rpc!(BacklogServiceClient::list_backlog_case_events)).await
    }

    /// The whole timeline of backlog case `backlog_case_id`, oldest first.
    /// The stream ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn backlog_case_events(
        &self,
        backlog_case_id: impl Into<String>,
    ) -> BoxStream<'static, Result<pb::BacklogCaseEvent>> {
        let me = self.clone();
        let filter = pb::ListBacklogCaseEventsRequest { backlog_case_id: backlog_case_id.into(), ..Default::default() };
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_backlog_case_events(request).await?;
                Ok((page.events, page.next_page_token))
            }
        })
    }

    /// Designates a case a backlog case by staff judgement (a clerk, leader
    /// or supervisor of the bureau whose jurisdiction holds it).
    pub async fn designate_backlog_case(&self, request: pb::DesignateBacklogCaseRequest) -> Result<pb::BacklogCase> {
        let response = self.client.call(request, rpc!(BacklogServiceClient::designate_backlog_case)).await?;
        required(response.backlog_case, "DesignateBacklogCaseResponse.backlog_case")
    }

    /// Records one or several of the four checks; each replaces its earlier
    /// record.
    pub async fn record_backlog_checks(&self, request: pb::RecordBacklogChecksRequest) -> Result<pb::BacklogCase> {
        let response = self.client.call(request, rpc!(BacklogServiceClient::record_backlog_checks)).await?;
        required(response.backlog_case, "RecordBacklogChecksResponse.backlog_case")
    }

    /// Records who was held accountable, and how.
    pub async fn record_backlog_accountability(
        &self,
        request: pb::RecordBacklogAccountabilityRequest,
    ) -> Result<pb::BacklogCase> {
        let response = self.client.call(request, rpc!(BacklogServiceClient::record_backlog_accountability)).await?;
        required(response.backlog_case, "RecordBacklogAccountabilityResponse.backlog_case")
    }

    /// Resolves (化解) the backlog case once its four checks allow it.
    pub async fn resolve_backlog_case(&self, request: pb::ResolveBacklogCaseRequest) -> Result<pb::BacklogCase> {
        let response = self.client.call(request, rpc!(BacklogServiceClient::resolve_backlog_case)).await?;
        required(response.backlog_case, "ResolveBacklogCaseResponse.backlog_case")
    }

    /// Withdraws a designation made in error.
    pub async fn withdraw_backlog_designation(
        &self,
        request: pb::WithdrawBacklogDesignationRequest,
    ) -> Result<pb::BacklogCase> {
        let response = self.client.call(request, rpc!(BacklogServiceClient::withdraw_backlog_designation)).await?;
        required(response.backlog_case, "WithdrawBacklogDesignationResponse.backlog_case")
    }
}
