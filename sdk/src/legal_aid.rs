//! [`LegalAidClient`]: typed calls to `petition.v1.LegalAidService`.

use futures::stream::BoxStream;
use petition_proto::v1::legal_aid_service_client::LegalAidServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Result, required};
use crate::paging::paginate;
use crate::pb;

/// The calls of `LegalAidService` (法律援助): an application to a legal-aid
/// centre, its review with one request for missing materials, the
/// decision (or aid first), the conflict check, the lawyer's assignment,
/// termination, objections to the justice bureau and the closing report.
/// Get one from [`Client::legal_aid`].
///
/// Writes take a `request_id`, filled by the SDK when empty and kept on
/// its retries; transitions may carry the application's `etag` (`ABORTED`
/// when stale). A transition not allowed in the application's state is
/// `FAILED_PRECONDITION` naming the application; `NOT_FOUND` when the
/// caller may not see it, `PERMISSION_DENIED` when they may see but not act.
#[derive(Clone, Debug)]
pub struct LegalAidClient {
    client: Client,
}

macro_rules! application_calls {
    ($($(#[$doc:meta])* $name:ident($request:ident) => $response:literal;)+) => {
        $(
            $(#[$doc])*
            pub async fn $name(&self, request: pb::$request) -> Result<pb::LegalAidApplication> {
                let response = self.client.call(request, rpc!(LegalAidServiceClient::$name)).await?;
                required(response.application, $response)
            }
        )+
    };
}

impl LegalAidClient {
    pub(crate) fn new(client: Client) -> Self {
        LegalAidClient { client }
    }

    /// One application.
    pub async fn get_legal_aid_application(
        &self,
        application_id: impl Into<String>,
    ) -> Result<pb::LegalAidApplication> {
        let request = pb::GetLegalAidApplicationRequest { application_id: application_id.into() };
        let response = self.client.call(request, rpc!(LegalAidServiceClient::get_legal_aid_application)).await?;
        required(response.application, "GetLegalAidApplicationResponse.application")
    }

    /// One page of the applications the caller may see, newest first.
    pub async fn list_legal_aid_applications(
        &self,
        request: pb::ListLegalAidApplicationsRequest,
    ) -> Result<pb::ListLegalAidApplicationsResponse> {
        self.client.call(request, rpc!(LegalAidServiceClient::list_legal_aid_applications)).await
    }

    /// Every application matching `filter`, page after page, newest first.
    /// The stream ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn applications(
        &self,
        filter: pb::ListLegalAidApplicationsRequest,
    ) -> BoxStream<'static, Result<pb::LegalAidApplication>> {
        let me = self.clone();
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_legal_aid_applications(request).await?;
                Ok((page.applications, page.next_page_token))
            }
        })
    }

    /// One page of an application's timeline, oldest first.
    pub async fn list_legal_aid_application_events(
        &self,
        request: pb::ListLegalAidApplicationEventsRequest,
    ) -> Result<pb::ListLegalAidApplicationEventsResponse> {
        self.client.call(request, rpc!(LegalAidServiceClient::list_legal_aid_application_events)).await
    }

    /// The whole timeline of the application `application_id`, oldest
    /// first. The stream ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn application_events(
        &self,
        application_id: impl Into<String>,
    ) -> BoxStream<'static, Result<pb::LegalAidEvent>> {
        let me = self.clone();
        let filter =
            pb::ListLegalAidApplicationEventsRequest { application_id: application_id.into(), ..Default::default() };
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_legal_aid_application_events(request).await?;
                Ok((page.events, page.next_page_token))
            }
        })
    }

    application_calls! {
        /// An application: a citizen's own, one made for a case's
        /// petitioner by its clerk or handling unit, or a walk-in recorded
        /// by the centre.
        create_legal_aid_application(CreateLegalAidApplicationRequest) => "CreateLegalAidApplicationResponse.application";
        /// Asks for the missing materials, once, listing every item (Art.43 ¶2).
        request_materials(RequestMaterialsRequest) => "RequestMaterialsResponse.application";
        /// The materials supplied: the decision clock runs again.
        supply_materials(SupplyMaterialsRequest) => "SupplyMaterialsResponse.application";
        /// Withdrawn by the applicant, or treated as withdrawn after the
        /// materials' due date (the centre).
        withdraw_application(WithdrawApplicationRequest) => "WithdrawApplicationResponse.application";
        /// Grant, or refuse with the written reason (Art.43).
        decide_application(DecideApplicationRequest) => "DecideApplicationResponse.application";
        /// Aid first, papers later (Art.44).
        grant_aid_first(GrantAidFirstRequest) => "GrantAidFirstResponse.application";
        /// The papers of aid granted first are complete.
        record_papers_completed(RecordPapersCompletedRequest) => "RecordPapersCompletedResponse.application";
        /// Clears a conflict hit with a reason.
        clear_conflict(ClearConflictRequest) => "ClearConflictResponse.application";
        /// Assigns the lawyer (Art.43).
        assign_lawyer(AssignLawyerRequest) => "AssignLawyerResponse.application";
        /// Terminates aid (Art.48).
        terminate_aid(TerminateAidRequest) => "TerminateAidResponse.application";
        /// The applicant objects to a refusal or termination (Art.49).
        file_objection(FileObjectionRequest) => "FileObjectionResponse.application";
        /// The justice bureau's decision on the objection.
        decide_objection(DecideObjectionRequest) => "DecideObjectionResponse.application";
        /// The closing report (Art.50).
        submit_closing_report(SubmitClosingReportRequest) => "SubmitClosingReportResponse.application";
    }
}
