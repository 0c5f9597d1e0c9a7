//! [`CaseClient`]: typed calls to `petition.v1.CaseService`.

use futures::stream::BoxStream;
use petition_proto::v1::case_service_client::CaseServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Result, required};
use crate::paging::paginate;
use crate::pb;

/// The calls of `CaseService`: filing cases (信访事项), reading them and
/// their timeline, and every step of their life from registration through
/// routing, handling and the written reply to review (复查) and re-review
/// (复核). Get one from [`Client::cases`].
///
/// Each call takes the generated request message and returns the
/// [`pb::Case`] inside the response, as the caller may see it
/// ([`add_follow_up`](CaseClient::add_follow_up) returns the timeline entry
/// instead).
///
/// # Idempotency and concurrency
///
/// Calls that file or change a case take a `request_id`. Left empty, the
/// SDK fills in a fresh one ([`new_request_id`](crate::new_request_id), a
/// UUIDv7) and sends that same id on each of its retries, so a retry after
/// a lost answer never acts twice: the server answers a replay with the
/// first response. Set your own to repeat a call safely beyond the SDK's
/// retries; the same id with a different request is `ALREADY_EXISTS`.
/// Transitions may carry the case's `etag` as last read; if the case
/// changed since, the call fails with `ABORTED` (never retried: read the
/// case again and decide).
///
/// # Errors
///
/// Besides `INVALID_ARGUMENT` with [`field_violations`](crate::Error::field_violations),
/// a call not allowed in the case's current state is `FAILED_PRECONDITION`
/// with a [`precondition_violations`](crate::Error::precondition_violations)
/// entry naming the state; `NOT_FOUND` if the caller may not see the case and
/// `PERMISSION_DENIED` if they see it but may not do this.
#[derive(Clone, Debug)]
pub struct CaseClient {
    client: Client,
}

impl CaseClient {
    pub(crate) fn new(client: Client) -> Self {
        CaseClient { client }
    }

    /// A citizen files a case online (网上信访); the caller is the
    /// petitioner. The case starts `REGISTERED`, or `ROUTED` when a routing
    /// rule assigns it at once (`routed_on_registration`).
    pub async fn submit_case(&self, request: pb::SubmitCaseRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::submit_case)).await?;
        required(response.case, "SubmitCaseResponse.case")
    }

    /// [`Self::submit_case`], with what intake found: whether the filing is
    /// a repeat (and of which open case), escalated, and related cases.
    pub async fn submit_case_with_intake(
        &self,
        request: pb::SubmitCaseRequest,
    ) -> Result<(pb::Case, pb::IntakeResult)> {
        let response = self.client.call(request, rpc!(CaseServiceClient::submit_case)).await?;
        Ok((required(response.case, "SubmitCaseResponse.case")?, response.intake.unwrap_or_default()))
    }

    /// A clerk records a letter, phone call, fax or visit for a citizen
    /// (`petitioner_account_id`).
    pub async fn register_case(&self, request: pb::RegisterCaseRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::register_case)).await?;
        required(response.case, "RegisterCaseResponse.case")
    }

    /// [`Self::register_case`], with what intake found; `related_case_ids`
    /// lists other petitioners' filings on the same matter that the clerk
    /// may see (a possible group petition).
    pub async fn register_case_with_intake(
        &self,
        request: pb::RegisterCaseRequest,
    ) -> Result<(pb::Case, pb::IntakeResult)> {
        let response = self.client.call(request, rpc!(CaseServiceClient::register_case)).await?;
        Ok((required(response.case, "RegisterCaseResponse.case")?, response.intake.unwrap_or_default()))
    }

    /// Cases similar to a case (`query = CaseId`) or a text (`query =
    /// Text`, with optional cues), best first, each with its score and
    /// the reason. Staff only; only cases the caller may see. UNAVAILABLE
    /// (retried by the policy) while a just-started server builds its index.
    pub async fn find_similar_cases(&self, request: pb::FindSimilarCasesRequest) -> Result<Vec<pb::SimilarCase>> {
        Ok(self.client.call(request, rpc!(CaseServiceClient::find_similar_cases)).await?.matches)
    }

    /// Merges open cases into an open primary case (并案); each keeps its
    /// own record and clocks. Clerks of the jurisdiction.
    pub async fn merge_cases(&self, request: pb::MergeCasesRequest) -> Result<pb::MergeCasesResponse> {
        self.client.call(request, rpc!(CaseServiceClient::merge_cases)).await
    }

    /// Undoes a repeat link (back to `REGISTERED`, to be routed) or a merge,
    /// with a reason. Clerks of the jurisdiction.
    pub async fn unlink_case(&self, request: pb::UnlinkCaseRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::unlink_case)).await?;
        required(response.case, "UnlinkCaseResponse.case")
    }

    /// The case with the given id or human number (such as
    /// `360702-2026-000042`). Citizens see their own cases; staff those in
    /// their jurisdiction or routed to their organization.
    pub async fn get_case(&self, id_or_number: impl Into<String>) -> Result<pb::Case> {
        let request = pb::GetCaseRequest { id: id_or_number.into() };
        let response = self.client.call(request, rpc!(CaseServiceClient::get_case)).await?;
        required(response.case, "GetCaseResponse.case")
    }

    /// One page of the cases visible to the caller matching the request's
    /// filters, newest first. Pass the response's `next_page_token` as the
    /// next request's `page_token`; it is empty after the last page. Cases
    /// come without their body (`CaseView::Basic`) unless `view` asks for
    /// `CaseView::Full`.
    pub async fn list_cases(&self, request: pb::ListCasesRequest) -> Result<pb::ListCasesResponse> {
        self.client.call(request, rpc!(CaseServiceClient::list_cases)).await
    }

    /// Every case matching `filter`, page after page, newest first. The
    /// filter's `page_size` sets the page size; its `page_token`, if set, is
    /// where the walk starts.
    ///
    /// The stream ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn cases(&self, filter: pb::ListCasesRequest) -> BoxStream<'static, Result<pb::Case>> {
        let cases = self.clone();
        paginate(filter, move |request| {
            let cases = cases.clone();
            async move {
                let page = cases.list_cases(request).await?;
                Ok((page.cases, page.next_page_token))
            }
        })
    }

    /// One page of a case's timeline, oldest first. See
    /// [`list_cases`](CaseClient::list_cases) for paging.
    pub async fn list_case_events(&self, request: pb::ListCaseEventsRequest) -> Result<pb::ListCaseEventsResponse> {
        self.client.call(request, rpc!(CaseServiceClient::list_case_events)).await
    }

    /// The whole timeline of the case `case_id`, oldest first, page after
    /// page. Event payloads omit what the caller may not see.
    ///
    /// The stream ends after the first error.
    #[must_use = "streams do nothing unless polled"]
    pub fn case_events(&self, case_id: impl Into<String>) -> BoxStream<'static, Result<pb::CaseEvent>> {
        let cases = self.clone();
        let filter = pb::ListCaseEventsRequest { case_id: case_id.into(), ..Default::default() };
        paginate(filter, move |request| {
            let cases = cases.clone();
            async move {
                let page = cases.list_case_events(request).await?;
                Ok((page.events, page.next_page_token))
            }
        })
    }

    /// Triage (clerk): sets the track to `URGENT` (with a reason; reports
    /// the case upward at once), `SIMPLE` (first-time petitions with clear
    /// facts only) or `NORMAL`.
    pub async fn set_case_track(&self, request: pb::SetCaseTrackRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::set_case_track)).await?;
        required(response.case, "SetCaseTrackResponse.case")
    }

    /// 转送 (clerk): hands a `REGISTERED` case to a competent unit whose
    /// jurisdiction covers the case's region; the case becomes `ROUTED`.
    pub async fn forward_case(&self, request: pb::ForwardCaseRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::forward_case)).await?;
        required(response.case, "ForwardCaseResponse.case")
    }

    /// 交办 (clerk): like [`forward_case`](CaseClient::forward_case), with
    /// the date `report_by` (`YYYY-MM-DD`) by which the unit owes a
    /// completion report.
    pub async fn assign_case(&self, request: pb::AssignCaseRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::assign_case)).await?;
        required(response.case, "AssignCaseResponse.case")
    }

    /// The receiving unit objects, within 5 working days of routing and with
    /// a reason, that it is not competent; the case returns to the bureau
    /// as `REGISTERED`.
    pub async fn object_to_assignment(&self, request: pb::ObjectToAssignmentRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::object_to_assignment)).await?;
        required(response.case, "ObjectToAssignmentResponse.case")
    }

    /// 受理 (handling unit): accepts a `ROUTED` case; it becomes `ACCEPTED`
    /// and the handling deadline (`deadlines.reply_by`) starts.
    pub async fn accept_case(&self, request: pb::AcceptCaseRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::accept_case)).await?;
        required(response.case, "AcceptCaseResponse.case")
    }

    /// 不予受理 (clerk, or the handling unit once routed): declines the case
    /// with a reason code and what that reason requires (`diverted_to`,
    /// `related_case_id` or `explanation`).
    pub async fn decline_case(&self, request: pb::DeclineCaseRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::decline_case)).await?;
        required(response.case, "DeclineCaseResponse.case")
    }

    /// Records a contact, investigation, visit or other note (handling unit,
    /// or the reviewing organization during a review) and returns the new
    /// timeline entry. Takes no etag: it does not change the case's state.
    pub async fn add_follow_up(&self, request: pb::AddFollowUpRequest) -> Result<pb::CaseEvent> {
        let response = self.client.call(request, rpc!(CaseServiceClient::add_follow_up)).await?;
        required(response.event, "AddFollowUpResponse.event")
    }

    /// Extends the handling deadline once by 1–30 days (unit lead only); the
    /// reason is told to the petitioner.
    pub async fn extend_case_deadline(&self, request: pb::ExtendCaseDeadlineRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::extend_case_deadline)).await?;
        required(response.case, "ExtendCaseDeadlineResponse.case")
    }

    /// Serves the written opinion 信访处理意见书 on an `ACCEPTED` case; it
    /// becomes `REPLIED` and the petitioner may request a review until
    /// `deadlines.review_request_by`. Leave the opinion's `organization_id`
    /// empty (it is the handling unit's); `serve_time` defaults to now.
    pub async fn reply_to_case(&self, request: pb::ReplyToCaseRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::reply_to_case)).await?;
        required(response.case, "ReplyToCaseResponse.case")
    }

    /// The completion report an assigned (交办) case owes the bureau by
    /// `deadlines.report_by`.
    pub async fn submit_completion_report(&self, request: pb::SubmitCompletionReportRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::submit_completion_report)).await?;
        required(response.case, "SubmitCompletionReportResponse.case")
    }

    /// 复查 (petitioner): asks, within 30 days of the reply, the handling
    /// unit's superior organization to review it; the case becomes
    /// `UNDER_REVIEW`.
    pub async fn request_review(&self, request: pb::RequestReviewRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::request_review)).await?;
        required(response.case, "RequestReviewResponse.case")
    }

    /// The review opinion (reviewing organization); the case becomes
    /// `REVIEWED`.
    pub async fn reply_to_review(&self, request: pb::ReplyToReviewRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::reply_to_review)).await?;
        required(response.case, "ReplyToReviewResponse.case")
    }

    /// 复核 (petitioner): asks, within 30 days of the review opinion, the
    /// organization one level up again; the case becomes `UNDER_RECHECK`.
    pub async fn request_recheck(&self, request: pb::RequestRecheckRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::request_recheck)).await?;
        required(response.case, "RequestRecheckResponse.case")
    }

    /// Stops the re-review clock for a hearing (听证).
    pub async fn pause_recheck(&self, request: pb::PauseRecheckRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::pause_recheck)).await?;
        required(response.case, "PauseRecheckResponse.case")
    }

    /// Restarts the re-review clock after the hearing.
    pub async fn resume_recheck(&self, request: pb::ResumeRecheckRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::resume_recheck)).await?;
        required(response.case, "ResumeRecheckResponse.case")
    }

    /// The re-review opinion; the case becomes `FINAL`.
    pub async fn reply_to_recheck(&self, request: pb::ReplyToRecheckRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::reply_to_recheck)).await?;
        required(response.case, "ReplyToRecheckResponse.case")
    }

    /// The petitioner withdraws the case before the reply; it becomes
    /// `WITHDRAWN`.
    pub async fn withdraw_case(&self, request: pb::WithdrawCaseRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::withdraw_case)).await?;
        required(response.case, "WithdrawCaseResponse.case")
    }

    /// Shares the case with a partner organization (a court, a legal-aid
    /// centre, a mediation committee): its accounts see the case, its
    /// timeline and its change-feed events. Clerks of the jurisdiction and
    /// admins; never an accusation.
    pub async fn grant_case_access(&self, request: pb::GrantCaseAccessRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::grant_case_access)).await?;
        required(response.case, "GrantCaseAccessResponse.case")
    }

    /// Ends a partner organization's access to the case.
    pub async fn revoke_case_access(&self, request: pb::RevokeCaseAccessRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::revoke_case_access)).await?;
        required(response.case, "RevokeCaseAccessResponse.case")
    }

    /// Asks for a lawyer at a stage of the case (访前, 事中, 事后): the
    /// bureau's clerks before the unit accepts it, the unit after.
    pub async fn request_lawyer(&self, request: pb::RequestLawyerRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::request_lawyer)).await?;
        required(response.case, "RequestLawyerResponse.case")
    }

    /// Records a lawyer's part in the case: a lawyer their own (leave
    /// `lawyer_name` empty), clerks or the unit for a lawyer without an
    /// account.
    pub async fn record_lawyer_participation(&self, request: pb::RecordLawyerParticipationRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::record_lawyer_participation)).await?;
        required(response.case, "RecordLawyerParticipationResponse.case")
    }

    /// A leader takes the case (包案); FAILED_PRECONDITION
    /// `CASE_ALREADY_OWNED` if a leader owns it.
    pub async fn take_case_ownership(&self, request: pb::TakeCaseOwnershipRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::take_case_ownership)).await?;
        required(response.case, "TakeCaseOwnershipResponse.case")
    }

    /// A clerk, or a leader above the assignee, makes a leader own the
    /// case, or reassigns it.
    pub async fn assign_case_leader(&self, request: pb::AssignCaseLeaderRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::assign_case_leader)).await?;
        required(response.case, "AssignCaseLeaderResponse.case")
    }

    /// Ends the owning leader's ownership, with a reason (the owner or a
    /// clerk).
    pub async fn release_case_ownership(&self, request: pb::ReleaseCaseOwnershipRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::release_case_ownership)).await?;
        required(response.case, "ReleaseCaseOwnershipResponse.case")
    }

    /// The owning leader's instruction (批示) or progress.
    pub async fn record_leader_instruction(&self, request: pb::RecordLeaderInstructionRequest) -> Result<pb::Case> {
        let response = self.client.call(request, rpc!(CaseServiceClient::record_leader_instruction)).await?;
        required(response.case, "RecordLeaderInstructionResponse.case")
    }

    /// One page of the cases the caller owns as a leader, newest first,
    /// each with its clock (`due_date`, `overdue`, `deadlines`).
    pub async fn list_owned_cases(&self, page_token: impl Into<String>) -> Result<pb::ListCasesResponse> {
        self.list_cases(pb::ListCasesRequest { owned_by_me: true, page_token: page_token.into(), ..Default::default() })
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, VecDeque};
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    use futures::TryStreamExt;
    use petition_proto::v1::case_service_server::{CaseService, CaseServiceServer};
    use tonic::{Code, Request, Response, Status};
    use tonic_types::{ErrorDetails, StatusExt};

    use super::*;
    use crate::{ErrorKind, RetryPolicy};

    type Reply<T> = std::result::Result<Response<T>, Status>;

    /// One call the fake saw: RPC, authorization header, request id or
    /// case id, and when.
    type Seen = (&'static str, Option<String>, String, Instant);

    /// What the fake saw, and the failures it is told to answer with first.
    #[derive(Default)]
    struct Fake {
        seen: Mutex<Vec<Seen>>,
        failures: Mutex<VecDeque<Status>>,
    }

    impl Fake {
        /// Notes the call; the next scripted failure, if any, is its answer.
        fn record<T>(&self, rpc: &'static str, request: &Request<T>, key: &str) -> std::result::Result<(), Status> {
            let header = request.metadata().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
            self.seen.lock().expect("log").push((rpc, header, key.to_owned(), Instant::now()));
            self.failures.lock().expect("script").pop_front().map_or(Ok(()), Err)
        }

        fn fail_with(&self, failures: impl IntoIterator<Item = Status>) {
            self.failures.lock().expect("script").extend(failures);
        }

        fn seen(&self, rpc: &str) -> Vec<(Option<String>, String)> {
            let seen = self.seen.lock().expect("log");
            seen.iter()
                .filter(|(name, ..)| *name == rpc)
                .map(|(_, header, key, _)| (header.clone(), key.clone()))
                .collect()
        }

        /// The times between successive calls of `rpc`.
        fn gaps(&self, rpc: &str) -> Vec<Duration> {
            let seen = self.seen.lock().expect("log");
            let times: Vec<Instant> = seen.iter().filter(|(name, ..)| *name == rpc).map(|(.., at)| *at).collect();
            times.windows(2).map(|pair| pair[1] - pair[0]).collect()
        }
    }

    /// The fake as a service (a local type, for the orphan rule).
    struct Server(Arc<Fake>);

    impl std::ops::Deref for Server {
        type Target = Fake;
        fn deref(&self) -> &Fake {
            &self.0
        }
    }

    fn case(id: &str) -> pb::Case {
        pb::Case { id: id.into(), number: format!("360702-2026-{id:0>6}"), ..Default::default() }
    }

    /// The token after `token` in a three-page walk, and the page's items.
    fn page(token: &str) -> std::result::Result<(Vec<&'static str>, &'static str), Status> {
        match token {
            "" => Ok((vec!["1", "2"], "p2")),
            "p2" => Ok((vec![], "p3")),
            "p3" => Ok((vec!["3"], "")),
            _ => Err(Status::invalid_argument("bad page token")),
        }
    }

    /// Implements `CaseService` for `Fake`: the RPCs the tests use, and
    /// `UNIMPLEMENTED` for the listed rest.
    macro_rules! fake_case_service {
        ($($method:ident($request:ident) -> $response:ident;)*) => {
            #[tonic::async_trait]
            impl CaseService for Server {
                async fn submit_case(&self, request: Request<pb::SubmitCaseRequest>) -> Reply<pb::SubmitCaseResponse> {
                    self.record("SubmitCase", &request, &request.get_ref().request_id)?;
                    let draft = request.into_inner().draft.unwrap_or_default();
                    let case = pb::Case { title: draft.title, state: pb::CaseState::Registered.into(), ..case("7") };
                    Ok(Response::new(pb::SubmitCaseResponse { case: Some(case), intake: None }))
                }

                async fn get_case(&self, request: Request<pb::GetCaseRequest>) -> Reply<pb::GetCaseResponse> {
                    self.record("GetCase", &request, &request.get_ref().id)?;
                    let id = request.into_inner().id;
                    let case = (id != "broken").then(|| case(&id));
                    Ok(Response::new(pb::GetCaseResponse { case }))
                }

                async fn list_cases(&self, request: Request<pb::ListCasesRequest>) -> Reply<pb::ListCasesResponse> {
                    let filter = request.get_ref();
                    self.record("ListCases", &request, &format!("{}|{}", filter.region_code, filter.page_token))?;
                    let (ids, next) = page(&filter.page_token)?;
                    let cases = ids.into_iter().map(case).collect();
                    Ok(Response::new(pb::ListCasesResponse { cases, next_page_token: next.into(), feed_position: 0 }))
                }

                async fn list_case_events(
                    &self,
                    request: Request<pb::ListCaseEventsRequest>,
                ) -> Reply<pb::ListCaseEventsResponse> {
                    let filter = request.get_ref();
                    self.record("ListCaseEvents", &request, &format!("{}|{}", filter.case_id, filter.page_token))?;
                    let (sequences, next) = page(&filter.page_token)?;
                    let events = sequences
                        .into_iter()
                        .map(|s| pb::CaseEvent { sequence: s.parse().unwrap_or_default(), ..Default::default() })
                        .collect();
                    Ok(Response::new(pb::ListCaseEventsResponse { events, next_page_token: next.into() }))
                }

                async fn add_follow_up(&self, request: Request<pb::AddFollowUpRequest>) -> Reply<pb::AddFollowUpResponse> {
                    self.record("AddFollowUp", &request, &request.get_ref().request_id)?;
                    let event = pb::CaseEvent {
                        sequence: 4,
                        r#type: pb::CaseEventType::FollowedUp.into(),
                        ..Default::default()
                    };
                    Ok(Response::new(pb::AddFollowUpResponse { event: Some(event) }))
                }

                $(
                    async fn $method(&self, _: Request<pb::$request>) -> Reply<pb::$response> {
                        Err(Status::unimplemented(stringify!($method)))
                    }
                )*
            }
        };
    }

    fake_case_service! {
        register_case(RegisterCaseRequest) -> RegisterCaseResponse;
        set_case_track(SetCaseTrackRequest) -> SetCaseTrackResponse;
        forward_case(ForwardCaseRequest) -> ForwardCaseResponse;
        assign_case(AssignCaseRequest) -> AssignCaseResponse;
        object_to_assignment(ObjectToAssignmentRequest) -> ObjectToAssignmentResponse;
        accept_case(AcceptCaseRequest) -> AcceptCaseResponse;
        decline_case(DeclineCaseRequest) -> DeclineCaseResponse;
        extend_case_deadline(ExtendCaseDeadlineRequest) -> ExtendCaseDeadlineResponse;
        reply_to_case(ReplyToCaseRequest) -> ReplyToCaseResponse;
        submit_completion_report(SubmitCompletionReportRequest) -> SubmitCompletionReportResponse;
        request_review(RequestReviewRequest) -> RequestReviewResponse;
        reply_to_review(ReplyToReviewRequest) -> ReplyToReviewResponse;
        request_recheck(RequestRecheckRequest) -> RequestRecheckResponse;
        pause_recheck(PauseRecheckRequest) -> PauseRecheckResponse;
        resume_recheck(ResumeRecheckRequest) -> ResumeRecheckResponse;
        reply_to_recheck(ReplyToRecheckRequest) -> ReplyToRecheckResponse;
        withdraw_case(WithdrawCaseRequest) -> WithdrawCaseResponse;
        find_similar_cases(FindSimilarCasesRequest) -> FindSimilarCasesResponse;
        merge_cases(MergeCasesRequest) -> MergeCasesResponse;
        unlink_case(UnlinkCaseRequest) -> UnlinkCaseResponse;
        grant_case_access(GrantCaseAccessRequest) -> GrantCaseAccessResponse;
        revoke_case_access(RevokeCaseAccessRequest) -> RevokeCaseAccessResponse;
        request_lawyer(RequestLawyerRequest) -> RequestLawyerResponse;
        record_lawyer_participation(RecordLawyerParticipationRequest) -> RecordLawyerParticipationResponse;
        take_case_ownership(TakeCaseOwnershipRequest) -> TakeCaseOwnershipResponse;
        assign_case_leader(AssignCaseLeaderRequest) -> AssignCaseLeaderResponse;
        release_case_ownership(ReleaseCaseOwnershipRequest) -> ReleaseCaseOwnershipResponse;
        record_leader_instruction(RecordLeaderInstructionRequest) -> RecordLeaderInstructionResponse;
    }

    /// Retries as the default policy does, but in milliseconds.
    fn quick_retries() -> RetryPolicy {
        RetryPolicy::default()
            .with_initial_backoff(Duration::from_millis(2))
            .with_max_backoff(Duration::from_millis(10))
    }

    /// A fake server on a loopback port and a client signed in with a
    /// static token, retrying by [`quick_retries`].
    async fn start() -> (Arc<Fake>, Client) {
        let fake = Arc::new(Fake::default());
        let incoming = tonic::transport::server::TcpIncoming::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind a loopback port");
        let addr = incoming.local_addr().expect("local address");
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(CaseServiceServer::new(Server(Arc::clone(&fake))))
                .serve_with_incoming(incoming),
        );
        let client = Client::connect(format!("http://{addr}")).await.expect("connect to the fake server");
        let client = client.with_retry_policy(quick_retries());
        (fake, client.with_access_token("token-1").expect("token"))
    }

    #[tokio::test]
    async fn calls_return_the_case_and_fill_only_an_empty_request_id() -> Result<()> {
        let (fake, client) = start().await;
        let cases = client.cases();
        let draft = pb::CaseDraft { title: "楼道积水".into(), ..Default::default() };
        let id = "caller-chosen-1".to_owned();
        let request = pb::SubmitCaseRequest { draft: Some(draft), request_id: id.clone() };
        let case = cases.submit_case(request.clone()).await?;
        assert_eq!((case.id.as_str(), case.title.as_str()), ("7", "楼道积水"));
        assert_eq!(case.state(), pb::CaseState::Registered);
        cases.submit_case(pb::SubmitCaseRequest { request_id: String::new(), ..request.clone() }).await?;
        cases.submit_case(pb::SubmitCaseRequest { request_id: String::new(), ..request }).await?;
        let seen = fake.seen("SubmitCase");
        assert!(seen.iter().all(|(header, _)| header.as_deref() == Some("Bearer token-1")));
        let ids: Vec<&str> = seen.iter().map(|(_, id)| id.as_str()).collect();
        assert_eq!(ids[0], id, "the caller's id is kept");
        for filled in &ids[1..] {
            let version = uuid::Uuid::parse_str(filled).map(|u| u.get_version_num()).ok();
            assert_eq!(version, Some(7), "an empty id is filled with a UUIDv7: {filled}");
        }
        assert_ne!(ids[1], ids[2], "each call gets its own id");

        assert_eq!(cases.get_case("360702-2026-000007").await?.id, "360702-2026-000007");
        let event = cases.add_follow_up(pb::AddFollowUpRequest::default()).await?;
        assert_eq!((event.sequence, event.r#type()), (4, pb::CaseEventType::FollowedUp));
        assert_eq!(fake.seen("AddFollowUp")[0].1.len(), 36);
        Ok(())
    }

    /// A status with a `RetryInfo` asking for `delay`.
    fn paced(code: Code, delay: Duration) -> Status {
        let mut details = ErrorDetails::with_error_info("BUSY", "petition.v1", HashMap::new());
        details.set_retry_info(Some(delay));
        Status::with_error_details(code, "try again later", details)
    }

    #[tokio::test]
    async fn unavailable_is_retried_with_the_same_request_id_and_the_servers_delay() -> Result<()> {
        let (fake, client) = start().await;
        fake.fail_with([
            Status::unavailable("database unreachable"),
            paced(Code::Unavailable, Duration::from_millis(150)),
            Status::unavailable("database unreachable"),
        ]);
        let request = pb::SubmitCaseRequest { draft: Some(pb::CaseDraft::default()), request_id: String::new() };
        let case = client.cases().submit_case(request).await?;
        assert_eq!(case.id, "7");
        let ids: Vec<String> = fake.seen("SubmitCase").into_iter().map(|(_, id)| id).collect();
        assert_eq!(ids.len(), 4, "three failures, then the answer");
        assert!(!ids[0].is_empty() && ids.iter().all(|id| *id == ids[0]), "one id on every attempt: {ids:?}");
        let gaps = fake.gaps("SubmitCase");
        assert!(gaps[1] >= Duration::from_millis(150), "RetryInfo honoured: {gaps:?}");
        assert!(gaps[0] < Duration::from_millis(150) && gaps[2] < Duration::from_millis(150), "{gaps:?}");

        // Reads too.
        fake.fail_with([Status::unavailable("restarting")]);
        assert_eq!(client.cases().get_case("c1").await?.id, "c1");
        assert_eq!(fake.seen("GetCase").len(), 2);
        Ok(())
    }

    #[tokio::test]
    async fn exhaustion_is_retried_only_when_the_server_says_when() -> Result<()> {
        let (fake, client) = start().await;
        fake.fail_with([Status::resource_exhausted("too many")]);
        let error = client.cases().get_case("c1").await.map(|_| ()).expect_err("not retried");
        assert_eq!(error.code(), Code::ResourceExhausted);
        assert_eq!(fake.seen("GetCase").len(), 1);

        fake.fail_with([paced(Code::ResourceExhausted, Duration::from_millis(40))]);
        assert_eq!(client.cases().get_case("c2").await?.id, "c2");
        assert_eq!(fake.seen("GetCase").len(), 3);
        assert!(fake.gaps("GetCase")[1] >= Duration::from_millis(40));

        // A wait beyond the budget (the daily filing limit's, say) is not
        // waited out: the error comes back at once.
        fake.fail_with([paced(Code::ResourceExhausted, Duration::from_secs(3600))]);
        let started = Instant::now();
        let error = client.cases().get_case("c3").await.map(|_| ()).expect_err("beyond the budget");
        assert_eq!((error.code(), error.retry_after()), (Code::ResourceExhausted, Some(Duration::from_secs(3600))));
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(fake.seen("GetCase").len(), 4);
        Ok(())
    }

    #[tokio::test]
    async fn other_failures_are_never_retried() {
        let (fake, client) = start().await;
        let codes = [Code::Aborted, Code::FailedPrecondition, Code::Unknown, Code::Internal, Code::DeadlineExceeded];
        for (i, code) in codes.into_iter().enumerate() {
            fake.fail_with([paced(code, Duration::from_millis(1))]);
            let request = pb::AddFollowUpRequest { case_id: "c1".into(), ..Default::default() };
            let error = client.cases().add_follow_up(request).await.map(|_| ()).expect_err("fails");
            assert_eq!(error.code(), code);
            assert_eq!(fake.seen("AddFollowUp").len(), i + 1, "{code:?} is not retried");
        }
    }

    #[tokio::test]
    async fn retries_stop_when_the_budget_is_spent() -> Result<()> {
        let (fake, client) = start().await;
        let client = client.with_retry_policy(quick_retries().with_max_attempts(3));
        fake.fail_with((0..5).map(|_| Status::unavailable("down")));
        let error = client.cases().get_case("c1").await.map(|_| ()).expect_err("still down");
        assert_eq!(error.code(), Code::Unavailable);
        assert_eq!(fake.seen("GetCase").len(), 3);

        // Switched off: one attempt.
        fake.failures.lock().expect("script").clear();
        fake.fail_with([Status::unavailable("down")]);
        let once = client.with_retry_policy(RetryPolicy::none());
        assert_eq!(once.cases().get_case("c2").await.map(|_| ()).map_err(|e| e.code()), Err(Code::Unavailable));
        assert_eq!(fake.seen("GetCase").len(), 4);
        // The policy belongs to the client it was set on.
        assert_eq!(client.retry_policy().max_attempts(), 3);
        assert_eq!(once.new_session().retry_policy(), &RetryPolicy::none());
        Ok(())
    }

    #[tokio::test]
    async fn errors_and_missing_fields() {
        let (_, client) = start().await;
        let cases = client.cases();
        let missing = cases.get_case("broken").await.map(|_| ()).expect_err("no case in the response");
        assert_eq!(missing.kind(), ErrorKind::InvalidResponse);
        assert!(missing.to_string().contains("GetCaseResponse.case"), "{missing}");
        let refused = cases.accept_case(pb::AcceptCaseRequest::default()).await.map(|_| ()).expect_err("unimplemented");
        assert_eq!((refused.kind(), refused.code()), (ErrorKind::Status, Code::Unimplemented));
    }

    #[tokio::test]
    async fn streams_walk_every_page() -> Result<()> {
        let (fake, client) = start().await;
        let cases = client.cases();
        let filter = pb::ListCasesRequest { region_code: "360702".into(), ..Default::default() };
        let ids: Vec<String> = cases.cases(filter).map_ok(|case| case.id).try_collect().await?;
        assert_eq!(ids, ["1", "2", "3"]);
        let keys: Vec<String> = fake.seen("ListCases").into_iter().map(|(_, key)| key).collect();
        assert_eq!(keys, ["360702|", "360702|p2", "360702|p3"]);

        let sequences: Vec<i64> = cases.case_events("c1").map_ok(|event| event.sequence).try_collect().await?;
        assert_eq!(sequences, [1, 2, 3]);
        let keys: Vec<String> = fake.seen("ListCaseEvents").into_iter().map(|(_, key)| key).collect();
        assert_eq!(keys, ["c1|", "c1|p2", "c1|p3"]);

        let page = cases.list_cases(pb::ListCasesRequest { page_token: "p3".into(), ..Default::default() }).await?;
        assert_eq!((page.cases.len(), page.next_page_token.as_str()), (1, ""));
        Ok(())
    }
}
