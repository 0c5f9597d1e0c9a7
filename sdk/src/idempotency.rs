//! Which requests may be sent more than once, and the request ids that make
//! writes so: every request type the SDK sends is classified here, once.

use crate::pb;

/// A request whose repetition is either harmless or not.
pub(crate) trait Repeatable {
    /// Makes the request safe to send again where it can be (fills an empty
    /// `request_id` with a fresh one, which every retry then carries) and
    /// says whether it is.
    fn make_repeatable(&mut self) -> bool;
}

/// A fresh idempotency key for the `request_id` of a
/// [`CaseClient`](crate::CaseClient) call: a UUIDv7 (time-ordered, 74
/// random bits), 36 lowercase hex digits and dashes.
///
/// The SDK fills an empty `request_id` with one, and sends the same id on
/// each of its retries of that call, so the server acts once and answers
/// every retry with the first response. Set one yourself to repeat a call
/// safely beyond the SDK's retries (after a restart of your own process,
/// say): send the *same* request with the *same* id again.
///
/// ```
/// let a = petition_sdk::new_request_id();
/// let b = petition_sdk::new_request_id();
/// assert_ne!(a, b);
/// assert_eq!(a.len(), 36);
/// assert_eq!(&a[14..15], "7");
/// ```
#[must_use]
pub fn new_request_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Reads: repeating one changes nothing.
macro_rules! reads {
    ($($request:ident),* $(,)?) => {$(
        impl Repeatable for pb::$request {
            fn make_repeatable(&mut self) -> bool {
                true
            }
        }
    )*};
}

/// Writes that carry a `request_id`: the server replays the first response.
macro_rules! keyed_writes {
    ($($request:ident),* $(,)?) => {$(
        impl Repeatable for pb::$request {
            fn make_repeatable(&mut self) -> bool {
                if self.request_id.is_empty() {
                    self.request_id = new_request_id();
                }
                true
            }
        }
    )*};
}

/// Writes whose repetition is harmless: they set a state (doing it twice is
/// doing it once), or leave at most an unused credential behind.
macro_rules! harmless_writes {
    ($($request:ident),* $(,)?) => { reads!($($request),*); };
}

/// Writes that must not be repeated blindly.
macro_rules! unrepeatable_writes {
    ($($request:ident),* $(,)?) => {$(
        impl Repeatable for pb::$request {
            fn make_repeatable(&mut self) -> bool {
                false
            }
        }
    )*};
}

reads! {
    GetMeRequest, GetAccountRequest,
    GetRegionRequest, ListRegionsRequest, GetOrganizationRequest, ListOrganizationsRequest, ListStaffRequest,
    ListCalendarDaysRequest, ComputeDeadlineRequest,
    ListCategoriesRequest, ListRoutingRulesRequest,
    GetCaseRequest, ListCasesRequest, ListCaseEventsRequest, FindSimilarCasesRequest,
    ListChangesRequest, WatchChangesRequest,
    GetTeamRequest, ListTeamsRequest, ListTeamMembersRequest, ListUncoveredRegionsRequest, ListScreeningsRequest,
    GetDisputeRequest, ListDisputesRequest, ListDisputeEventsRequest, GetMediationStatisticsRequest,
    GetLegalAidApplicationRequest, ListLegalAidApplicationsRequest, ListLegalAidApplicationEventsRequest,
    GetMetricsRequest, ExportMetricRowsRequest,
}

keyed_writes! {
    SubmitCaseRequest, RegisterCaseRequest, SetCaseTrackRequest, ForwardCaseRequest, AssignCaseRequest,
    ObjectToAssignmentRequest, AcceptCaseRequest, DeclineCaseRequest, AddFollowUpRequest,
    ExtendCaseDeadlineRequest, ReplyToCaseRequest, SubmitCompletionReportRequest, RequestReviewRequest,
    ReplyToReviewRequest, RequestRecheckRequest, PauseRecheckRequest, ResumeRecheckRequest,
    ReplyToRecheckRequest, WithdrawCaseRequest, MergeCasesRequest, UnlinkCaseRequest,
    GrantCaseAccessRequest, RevokeCaseAccessRequest, SetCalendarYearRequest,
    CreateTeamRequest, UpdateTeamRequest, AddTeamMemberRequest, RemoveTeamMemberRequest, RecordScreeningRequest,
    ReferCaseToMediationRequest, CreateDisputeRequest, RecordConsentRequest, AssignMediatorRequest,
    ObjectToMediatorRequest, RecuseMediatorRequest, RecordSessionRequest, RecordAgreementRequest,
    RecordFailureRequest, RecordPerformanceRequest, ApplyForCourtConfirmationRequest,
    AnswerCourtConfirmationRequest, EscalateDisputeRequest, RequestLawyerRequest, RecordLawyerParticipationRequest,
    CreateLegalAidApplicationRequest, RequestMaterialsRequest, SupplyMaterialsRequest, WithdrawApplicationRequest,
    DecideApplicationRequest, GrantAidFirstRequest, RecordPapersCompletedRequest, ClearConflictRequest,
    AssignLawyerRequest, TerminateAidRequest, FileObjectionRequest, DecideObjectionRequest,
    SubmitClosingReportRequest,
}

reads! {
    GetCourtReferralRequest, ListCourtReferralsRequest, ListCourtReferralEventsRequest,
}

keyed_writes! {
    ReferCaseToCourtRequest, AcknowledgeCourtReferralRequest, RecordCourtFilingRequest, ScheduleCourtHearingRequest,
    RecordCourtOutcomeRequest, ReturnCourtReferralRequest, WithdrawCourtReferralRequest,
}

reads! {
    GetRatingRequest, ListRatingsRequest, ListRatingEventsRequest,
}

keyed_writes! {
    SubmitRatingRequest, RecordRatingRequest,
}

keyed_writes! {
    TakeCaseOwnershipRequest, AssignCaseLeaderRequest, ReleaseCaseOwnershipRequest, RecordLeaderInstructionRequest,
}

reads! {
    GetSupervisionRequest, ListSupervisionsRequest, ListSupervisionEventsRequest,
}

keyed_writes! {
    IssueSupervisionRequest, AnswerSupervisionRequest, ReviewSupervisionAnswerRequest, EscalateSupervisionRequest,
    WithdrawSupervisionRequest,
}

reads! {
    GetReceptionScheduleRequest, ListReceptionSchedulesRequest, ListReceptionSlotsRequest, GetReceptionBookingRequest,
    ListReceptionBookingsRequest, ListReceptionBookingEventsRequest,
}

keyed_writes! {
    CreateReceptionScheduleRequest, UpdateReceptionScheduleRequest, BookReceptionRequest,
    CancelReceptionBookingRequest, RecordReceptionRequest, RecordReceptionNoShowRequest,
}

reads! {
    GetBacklogCaseRequest, ListBacklogCasesRequest, ListBacklogCaseEventsRequest,
}

keyed_writes! {
    DesignateBacklogCaseRequest, RecordBacklogChecksRequest, RecordBacklogAccountabilityRequest,
    ResolveBacklogCaseRequest, WithdrawBacklogDesignationRequest,
}

harmless_writes! {
    // Sets a flag; repeating sets it again.
    SetAccountDisabledRequest,
    // Creates or replaces the one rule for (category, region).
    SetRoutingRuleRequest,
    // Sets the masked fields to the values given.
    UpdateCategoryRequest,
    // Revoking a revoked sign-in changes nothing.
    LogoutRequest,
    // Sign-in: a repeat at most leaves an unused sign-in that expires, and
    // grants nothing to anyone else. Throttling answers RESOURCE_EXHAUSTED
    // with a wait longer than any retry budget, so it is not retried.
    LoginRequest, ExchangeClientCredentialsRequest,
}

unrepeatable_writes! {
    // Creates without a request id: a repeat after a lost answer creates
    // again, or fails ALREADY_EXISTS on the caller's own success.
    RegisterCitizenRequest, CreateStaffAccountRequest, CreateServiceAccountRequest,
    CreateRegionRequest, CreateOrganizationRequest, CreateCategoryRequest,
    // A repeat after a lost answer is NOT_FOUND on the caller's own success.
    DeleteRoutingRuleRequest,
    // Rotates the refresh token: presenting it again after the server
    // rotated it revokes the whole sign-in.
    RefreshTokenRequest,
}

/// Sets the masked fields, so repeatable; but with an etag a repeat after a
/// lost answer would be ABORTED on the caller's own change.
impl Repeatable for pb::UpdateOrganizationRequest {
    fn make_repeatable(&mut self) -> bool {
        self.etag.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn request_ids_are_unique_uuid_v7() {
        let ids: Vec<String> = (0..10_000).map(|_| new_request_id()).collect();
        let distinct: HashSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).map_err(|e| e.to_string());
            assert_eq!(parsed.map(|u| u.get_version_num()), Ok(7), "{id}");
            assert_eq!(id, &id.to_lowercase());
        }
        // Time-ordered: a later id sorts after an earlier one (the
        // millisecond prefix, then a counter within it).
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, ids);
    }

    #[test]
    fn an_empty_request_id_is_filled_once_and_kept() {
        let mut request = pb::SubmitCaseRequest::default();
        assert!(request.make_repeatable());
        let filled = request.request_id.clone();
        assert_eq!(filled.len(), 36);
        assert!(request.make_repeatable());
        assert_eq!(request.request_id, filled, "a retry carries the same id");

        let mut given = pb::AcceptCaseRequest { request_id: "mine".into(), ..Default::default() };
        assert!(given.make_repeatable());
        assert_eq!(given.request_id, "mine");
    }

    #[test]
    fn classification() {
        assert!(pb::GetCaseRequest::default().make_repeatable());
        assert!(pb::SetCalendarYearRequest::default().make_repeatable());
        assert!(pb::SetAccountDisabledRequest::default().make_repeatable());
        assert!(!pb::CreateCategoryRequest::default().make_repeatable());
        assert!(!pb::RefreshTokenRequest::default().make_repeatable());
        assert!(!pb::DeleteRoutingRuleRequest::default().make_repeatable());
        assert!(pb::UpdateOrganizationRequest::default().make_repeatable());
        let with_etag = &mut pb::UpdateOrganizationRequest { etag: "\"3\"".into(), ..Default::default() };
        assert!(!with_etag.make_repeatable());
    }
}
