//! [`CaseClient`]: typed calls to `petition.v1.CaseService`, and
//! [`new_request_id`] for their idempotency keys.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::stream::BoxStream;
use petition_proto::v1::case_service_client::CaseServiceClient;

use crate::client::{Client, rpc};
use crate::error::{Result, required};
use crate::paging::paginate;
use crate::pb;

/// A fresh idempotency key for the `request_id` of a [`CaseClient`] call,
/// shaped like a UUID (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, 36 lowercase
/// hex digits and dashes).
///
/// Unique per client process: every call in a process returns a different
/// id (a process-wide counter is part of it). Ids from different processes
/// or machines differ with overwhelming probability, since the rest mixes
/// the clock (nanoseconds), the process id and a per-process random key.
/// This is good enough as an idempotency key; it is not a secret and not a
/// standards-conforming random UUID.
///
/// The SDK never fills in `request_id` itself: to retry a call safely after
/// a timeout or a dropped connection, send the *same* request (with the
/// same id) again, and the server answers with the first call's response
/// instead of acting twice.
///
/// ```
/// let a = petition_sdk::new_request_id();
/// let b = petition_sdk::new_request_id();
/// assert_ne!(a, b);
/// assert_eq!(a.len(), 36);
/// ```
#[must_use]
pub fn new_request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    /// SipHash keyed from the OS's randomness once per process.
    static KEY: OnceLock<RandomState> = OnceLock::new();

    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let key = KEY.get_or_init(RandomState::new);
    // Truncated to 64 bits: nanoseconds since 1970 fit until the year 2554.
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let pid = std::process::id();
    // High half: random-looking, different across processes and over time.
    let high = key.hash_one((nanos, pid, count));
    // Low half: the counter, masked by a per-process constant (a bijection,
    // so it differs for every call of this process).
    let low = count ^ key.hash_one(pid);

    // UUID version 4 and RFC 4122 variant bits, overwriting bits of the
    // random half and the counter's two top bits (reached after 2^62 calls).
    let high = (high & !0xf000) | 0x4000;
    let low = (low & !(0b11 << 62)) | (0b10 << 62);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xffff,
        low >> 48,
        low & 0xffff_ffff_ffff
    )
}

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
/// Calls that file or change a case take a `request_id`, chosen by the
/// caller (see [`new_request_id`]) and never filled in by the SDK. A replay
/// with the same id returns the first response; the same id with a
/// different request is `ALREADY_EXISTS`. An empty id turns the protection
/// off. Transitions may carry the case's `etag` as last read; if the case
/// changed since, the call fails with `ABORTED`.
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
    /// the reason. Staff only; only cases the caller may see.
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
    /// next request's `page_token`; it is empty after the last page.
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
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use futures::TryStreamExt;
    use petition_proto::v1::case_service_server::{CaseService, CaseServiceServer};
    use tonic::{Code, Request, Response, Status};

    use super::*;
    use crate::ErrorKind;

    type Reply<T> = std::result::Result<Response<T>, Status>;

    #[test]
    fn request_ids_are_unique_and_uuid_shaped() {
        let ids: Vec<String> = (0..10_000).map(|_| new_request_id()).collect();
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            assert_eq!(id.len(), 36, "{id}");
            let groups: Vec<&str> = id.split('-').collect();
            assert_eq!(groups.iter().map(|g| g.len()).collect::<Vec<_>>(), vec![8, 4, 4, 4, 12], "{id}");
            assert!(id.chars().all(|c| c == '-' || c.is_ascii_digit() || ('a'..='f').contains(&c)), "{id}");
            assert!(groups[2].starts_with('4'), "version 4: {id}");
            assert!(groups[3].starts_with(['8', '9', 'a', 'b']), "RFC 4122 variant: {id}");
        }
    }

    #[test]
    fn request_ids_are_unique_across_threads() {
        let threads: Vec<_> =
            (0..4).map(|_| std::thread::spawn(|| (0..2_000).map(|_| new_request_id()).collect::<Vec<_>>())).collect();
        let mut all = HashSet::new();
        for thread in threads {
            for id in thread.join().expect("thread") {
                assert!(all.insert(id));
            }
        }
        assert_eq!(all.len(), 8_000);
    }

    /// What the fake saw: (RPC, authorization header, request id or case id).
    #[derive(Default)]
    struct Fake {
        seen: Mutex<Vec<(&'static str, Option<String>, String)>>,
    }

    impl Fake {
        fn record<T>(&self, rpc: &'static str, request: &Request<T>, key: &str) {
            let header = request.metadata().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
            self.seen.lock().expect("log").push((rpc, header, key.to_owned()));
        }

        fn seen(&self, rpc: &str) -> Vec<(Option<String>, String)> {
            let seen = self.seen.lock().expect("log");
            seen.iter()
                .filter(|(name, _, _)| *name == rpc)
                .map(|(_, header, key)| (header.clone(), key.clone()))
                .collect()
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
                    self.record("SubmitCase", &request, &request.get_ref().request_id);
                    let draft = request.into_inner().draft.unwrap_or_default();
                    let case = pb::Case { title: draft.title, state: pb::CaseState::Registered.into(), ..case("7") };
                    Ok(Response::new(pb::SubmitCaseResponse { case: Some(case), intake: None }))
                }

                async fn get_case(&self, request: Request<pb::GetCaseRequest>) -> Reply<pb::GetCaseResponse> {
                    self.record("GetCase", &request, &request.get_ref().id);
                    let id = request.into_inner().id;
                    let case = (id != "broken").then(|| case(&id));
                    Ok(Response::new(pb::GetCaseResponse { case }))
                }

                async fn list_cases(&self, request: Request<pb::ListCasesRequest>) -> Reply<pb::ListCasesResponse> {
                    let filter = request.get_ref();
                    self.record("ListCases", &request, &format!("{}|{}", filter.region_code, filter.page_token));
                    let (ids, next) = page(&filter.page_token)?;
                    let cases = ids.into_iter().map(case).collect();
                    Ok(Response::new(pb::ListCasesResponse { cases, next_page_token: next.into(), feed_position: 0 }))
                }

                async fn list_case_events(
                    &self,
                    request: Request<pb::ListCaseEventsRequest>,
                ) -> Reply<pb::ListCaseEventsResponse> {
                    let filter = request.get_ref();
                    self.record("ListCaseEvents", &request, &format!("{}|{}", filter.case_id, filter.page_token));
                    let (sequences, next) = page(&filter.page_token)?;
                    let events = sequences
                        .into_iter()
                        .map(|s| pb::CaseEvent { sequence: s.parse().unwrap_or_default(), ..Default::default() })
                        .collect();
                    Ok(Response::new(pb::ListCaseEventsResponse { events, next_page_token: next.into() }))
                }

                async fn add_follow_up(&self, request: Request<pb::AddFollowUpRequest>) -> Reply<pb::AddFollowUpResponse> {
                    self.record("AddFollowUp", &request, &request.get_ref().request_id);
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
    }

    /// A fake server on a loopback port and a client signed in with a
    /// static token.
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
        (fake, client.with_access_token("token-1").expect("token"))
    }

    #[tokio::test]
    async fn calls_return_the_case_and_leave_the_request_id_alone() -> Result<()> {
        let (fake, client) = start().await;
        let cases = client.cases();
        let draft = pb::CaseDraft { title: "楼道积水".into(), ..Default::default() };
        let id = new_request_id();
        let request = pb::SubmitCaseRequest { draft: Some(draft), request_id: id.clone() };
        let case = cases.submit_case(request.clone()).await?;
        assert_eq!((case.id.as_str(), case.title.as_str()), ("7", "楼道积水"));
        assert_eq!(case.state(), pb::CaseState::Registered);
        // Not filled in: an empty id stays empty.
        cases.submit_case(pb::SubmitCaseRequest { request_id: String::new(), ..request }).await?;
        let bearer = Some("Bearer token-1".to_owned());
        assert_eq!(fake.seen("SubmitCase"), vec![(bearer.clone(), id), (bearer, String::new())]);

        assert_eq!(cases.get_case("360702-2026-000007").await?.id, "360702-2026-000007");
        let event = cases.add_follow_up(pb::AddFollowUpRequest::default()).await?;
        assert_eq!((event.sequence, event.r#type()), (4, pb::CaseEventType::FollowedUp));
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
