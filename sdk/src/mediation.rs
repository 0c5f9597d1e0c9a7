//! [`MediationClient`]: typed calls to `petition.v1.MediationService`.

use futures::stream::BoxStream;
use petition_proto::v1::mediation_service_client::MediationServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Result, required};
use crate::paging::paginate;
use crate::pb;

/// The calls of `MediationService` (人民调解): teams and their members,
/// screening rounds (排查), and each dispute from consent to an agreement,
/// its performance and a court's confirmation, or to failure; escalation
/// village → township → county; statistics. Get one from
/// [`Client::mediation`].
///
/// Writes take a `request_id`, filled by the SDK when empty and kept on
/// its retries (see [`CaseClient`](crate::CaseClient)); dispute
/// transitions may carry the dispute's `etag` (`ABORTED` when stale).
/// A transition not allowed in the dispute's state is
/// `FAILED_PRECONDITION` naming the dispute; `NOT_FOUND` when the caller
/// may not see it, `PERMISSION_DENIED` when they may see but not act.
#[derive(Clone, Debug)]
pub struct MediationClient {
    client: Client,
}

macro_rules! dispute_calls {
    ($($(#[$doc:meta])* $name:ident($request:ident) => $response:literal;)+) => {
        $(
            $(#[$doc])*
            pub async fn $name(&self, request: pb::$request) -> Result<pb::Dispute> {
                let response = self.client.call(request, rpc!(MediationServiceClient::$name)).await?;
                required(response.dispute, $response)
            }
        )+
    };
}

impl MediationClient {
    pub(crate) fn new(client: Client) -> Self {
        MediationClient { client }
    }

    /// Creates a team (admins).
    pub async fn create_team(&self, request: pb::CreateTeamRequest) -> Result<pb::MediationTeam> {
        let response = self.client.call(request, rpc!(MediationServiceClient::create_team)).await?;
        required(response.team, "CreateTeamResponse.team")
    }

    /// One team.
    pub async fn get_team(&self, team_id: impl Into<String>) -> Result<pb::MediationTeam> {
        let request = pb::GetTeamRequest { team_id: team_id.into() };
        let response = self.client.call(request, rpc!(MediationServiceClient::get_team)).await?;
        required(response.team, "GetTeamResponse.team")
    }

    /// One page of teams.
    pub async fn list_teams(&self, request: pb::ListTeamsRequest) -> Result<pb::ListTeamsResponse> {
        self.client.call(request, rpc!(MediationServiceClient::list_teams)).await
    }

    /// Every team matching `filter`, page after page. The stream ends after
    /// the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn teams(&self, filter: pb::ListTeamsRequest) -> BoxStream<'static, Result<pb::MediationTeam>> {
        let me = self.clone();
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_teams(request).await?;
                Ok((page.teams, page.next_page_token))
            }
        })
    }

    /// Changes the fields named in `update_mask` (admins).
    pub async fn update_team(&self, request: pb::UpdateTeamRequest) -> Result<pb::MediationTeam> {
        let response = self.client.call(request, rpc!(MediationServiceClient::update_team)).await?;
        required(response.team, "UpdateTeamResponse.team")
    }

    /// Adds a member (admins, a head of the team).
    pub async fn add_team_member(&self, request: pb::AddTeamMemberRequest) -> Result<pb::TeamMember> {
        let response = self.client.call(request, rpc!(MediationServiceClient::add_team_member)).await?;
        required(response.member, "AddTeamMemberResponse.member")
    }

    /// One page of a team's members with their open load.
    pub async fn list_team_members(&self, request: pb::ListTeamMembersRequest) -> Result<pb::ListTeamMembersResponse> {
        self.client.call(request, rpc!(MediationServiceClient::list_team_members)).await
    }

    /// Every member of the team `team_id`. The stream ends after the first
    /// error.
    #[must_use = "streams do nothing unless polled"]
    pub fn team_members(&self, team_id: impl Into<String>) -> BoxStream<'static, Result<pb::TeamMember>> {
        let me = self.clone();
        let filter = pb::ListTeamMembersRequest { team_id: team_id.into(), ..Default::default() };
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_team_members(request).await?;
                Ok((page.members, page.next_page_token))
            }
        })
    }

    /// Ends a membership (admins, a head of the team).
    pub async fn remove_team_member(&self, request: pb::RemoveTeamMemberRequest) -> Result<pb::TeamMember> {
        let response = self.client.call(request, rpc!(MediationServiceClient::remove_team_member)).await?;
        required(response.member, "RemoveTeamMemberResponse.member")
    }

    /// One page of the regions of a subtree, at one level, that no active
    /// team covers.
    pub async fn list_uncovered_regions(
        &self,
        request: pb::ListUncoveredRegionsRequest,
    ) -> Result<pb::ListUncoveredRegionsResponse> {
        self.client.call(request, rpc!(MediationServiceClient::list_uncovered_regions)).await
    }

    /// Records a screening round: the disputes found (each recorded as a
    /// dispute) or an explicit zero report.
    pub async fn record_screening(&self, request: pb::RecordScreeningRequest) -> Result<pb::RecordScreeningResponse> {
        self.client.call(request, rpc!(MediationServiceClient::record_screening)).await
    }

    /// One page of a team's screening rounds, newest first.
    pub async fn list_screenings(&self, request: pb::ListScreeningsRequest) -> Result<pb::ListScreeningsResponse> {
        self.client.call(request, rpc!(MediationServiceClient::list_screenings)).await
    }

    /// The dispute with this id.
    pub async fn get_dispute(&self, dispute_id: impl Into<String>) -> Result<pb::Dispute> {
        let request = pb::GetDisputeRequest { dispute_id: dispute_id.into() };
        let response = self.client.call(request, rpc!(MediationServiceClient::get_dispute)).await?;
        required(response.dispute, "GetDisputeResponse.dispute")
    }

    /// One page of the disputes the caller may see, newest first.
    pub async fn list_disputes(&self, request: pb::ListDisputesRequest) -> Result<pb::ListDisputesResponse> {
        self.client.call(request, rpc!(MediationServiceClient::list_disputes)).await
    }

    /// Every dispute matching `filter`, page after page, newest first. The
    /// stream ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn disputes(&self, filter: pb::ListDisputesRequest) -> BoxStream<'static, Result<pb::Dispute>> {
        let me = self.clone();
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_disputes(request).await?;
                Ok((page.disputes, page.next_page_token))
            }
        })
    }

    /// One page of a dispute's timeline, oldest first.
    pub async fn list_dispute_events(
        &self,
        request: pb::ListDisputeEventsRequest,
    ) -> Result<pb::ListDisputeEventsResponse> {
        self.client.call(request, rpc!(MediationServiceClient::list_dispute_events)).await
    }

    /// The whole timeline of the dispute `dispute_id`, oldest first. The
    /// stream ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn dispute_events(&self, dispute_id: impl Into<String>) -> BoxStream<'static, Result<pb::DisputeEvent>> {
        let me = self.clone();
        let filter = pb::ListDisputeEventsRequest { dispute_id: dispute_id.into(), ..Default::default() };
        paginate(filter, move |request| {
            let me = me.clone();
            async move {
                let page = me.list_dispute_events(request).await?;
                Ok((page.events, page.next_page_token))
            }
        })
    }

    /// Mediation figures of a region subtree and a period.
    pub async fn get_mediation_statistics(
        &self,
        request: pb::GetMediationStatisticsRequest,
    ) -> Result<pb::GetMediationStatisticsResponse> {
        self.client.call(request, rpc!(MediationServiceClient::get_mediation_statistics)).await
    }

    dispute_calls! {
        /// Diverts a petition case to a team; the dispute recorded (the
        /// petitioner a party) is returned.
        refer_case_to_mediation(ReferCaseToMediationRequest) => "ReferCaseToMediationResponse.dispute";
        /// A dispute brought by a party's application, a court or the police.
        create_dispute(CreateDisputeRequest) => "CreateDisputeResponse.dispute";
        /// A party's consent or refusal (Art.17); the last consent accepts
        /// the dispute and starts its clock.
        record_consent(RecordConsentRequest) => "RecordConsentResponse.dispute";
        /// Names the mediator (a team head).
        assign_mediator(AssignMediatorRequest) => "AssignMediatorResponse.dispute";
        /// A party objects to the mediator before the first session.
        object_to_mediator(ObjectToMediatorRequest) => "ObjectToMediatorResponse.dispute";
        /// The mediator steps aside before the first session.
        recuse_mediator(RecuseMediatorRequest) => "RecuseMediatorResponse.dispute";
        /// A session held by the assigned mediator.
        record_session(RecordSessionRequest) => "RecordSessionResponse.dispute";
        /// The agreement reached (written with the Art.29 fields, or oral).
        record_agreement(RecordAgreementRequest) => "RecordAgreementResponse.dispute";
        /// Mediation failed, with the routes the parties were told of.
        record_failure(RecordFailureRequest) => "RecordFailureResponse.dispute";
        /// One agreed term performed or breached.
        record_performance(RecordPerformanceRequest) => "RecordPerformanceResponse.dispute";
        /// The parties' joint application to a court (within 30 days).
        apply_for_court_confirmation(ApplyForCourtConfirmationRequest) => "ApplyForCourtConfirmationResponse.dispute";
        /// The court's answer (the court's accounts).
        answer_court_confirmation(AnswerCourtConfirmationRequest) => "AnswerCourtConfirmationResponse.dispute";
        /// Escalates to a team one level up.
        escalate_dispute(EscalateDisputeRequest) => "EscalateDisputeResponse.dispute";
    }
}
