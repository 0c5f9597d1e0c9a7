//! Every case transition as the pipeline runs it: the request parsed into a
//! validated command (`TryFrom`, field violations), its policy line
//! (`action`), and the facts its rule needs read before the rule decides
//! (`decide`). The rules themselves are in `rules.rs`.

use diesel::PgConnection;
use petition_proto::v1 as pb;
use uuid::Uuid;

use super::aggregate::Case;
use super::domain::{CaseState, Decision, DeclineReason, FollowUpKind, RoutingMode, Track};
use super::draft::{self, MAX_NOTE_CHARS};
use super::filing::{URGENT_REPLY_DAYS, calendar};
use super::rules::{self, Command as Rule, Context, Event, OpinionDraft, Organization, OtherCase};
use super::store;
use crate::auth::Principal;
use crate::auth::policy::CaseAction;
use crate::calendar::rules::parse_date;
use crate::convert::{parse_id, time_from_timestamp};
use crate::directory::rules::OrganizationKind;
use crate::directory::store as directory_store;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::pipeline::Command;
use crate::time::shanghai_today;

/// The fields every case transition request carries.
pub trait CaseRequest: prost::Message + Send + 'static {
    /// The RPC's name, for idempotency fingerprints and messages.
    const METHOD: &'static str;
    fn case_id(&self) -> &str;
    /// Empty when the request has none (no check).
    fn etag(&self) -> &str;
    fn request_id(&self) -> &str;
}

macro_rules! case_requests {
    ($($request:ident => $method:literal $(, $no_etag:ident)?;)+) => {
        $(
            impl CaseRequest for pb::$request {
                const METHOD: &'static str = $method;
                fn case_id(&self) -> &str {
                    &self.case_id
                }
                fn etag(&self) -> &str {
                    case_requests!(@etag self $($no_etag)?)
                }
                fn request_id(&self) -> &str {
                    &self.request_id
                }
            }
        )+
    };
    (@etag $self:ident no_etag) => { "" };
    (@etag $self:ident) => { &$self.etag };
}

case_requests! {
    SetCaseTrackRequest => "SetCaseTrack";
    ForwardCaseRequest => "ForwardCase";
    AssignCaseRequest => "AssignCase";
    ObjectToAssignmentRequest => "ObjectToAssignment";
    AcceptCaseRequest => "AcceptCase";
    DeclineCaseRequest => "DeclineCase";
    AddFollowUpRequest => "AddFollowUp", no_etag;
    ExtendCaseDeadlineRequest => "ExtendCaseDeadline";
    ReplyToCaseRequest => "ReplyToCase";
    SubmitCompletionReportRequest => "SubmitCompletionReport";
    RequestReviewRequest => "RequestReview";
    ReplyToReviewRequest => "ReplyToReview";
    RequestRecheckRequest => "RequestRecheck";
    PauseRecheckRequest => "PauseRecheck";
    ResumeRecheckRequest => "ResumeRecheck";
    ReplyToRecheckRequest => "ReplyToRecheck";
    WithdrawCaseRequest => "WithdrawCase";
    UnlinkCaseRequest => "UnlinkCase";
    GrantCaseAccessRequest => "GrantCaseAccess";
    RevokeCaseAccessRequest => "RevokeCaseAccess";
    RequestLawyerRequest => "RequestLawyer";
    RecordLawyerParticipationRequest => "RecordLawyerParticipation";
    TakeCaseOwnershipRequest => "TakeCaseOwnership";
    AssignCaseLeaderRequest => "AssignCaseLeader";
    ReleaseCaseOwnershipRequest => "ReleaseCaseOwnership";
    RecordLeaderInstructionRequest => "RecordLeaderInstruction";
}

/// Free text (a reason, a note, a report) within `min..=max` characters.
pub fn text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, AppError> {
    let mut v = Vec::new();
    let value = crate::text::multi_line(field, raw, min, max, &mut v);
    require_valid(v).map(|()| value)
}

/// Decides `rule` for `case` on today's calendar.
pub fn decide_now(conn: &mut PgConnection, case: &Case, rule: Rule) -> Result<Vec<Event>, AppError> {
    let calendar = calendar(conn)?;
    let ctx = Context { today: shanghai_today(), calendar: &calendar, urgent_reply_days: URGENT_REPLY_DAYS };
    rules::decide(&case.subject(), case.life(), rule, &ctx)
}

/// A command whose rule needs nothing but the case.
pub struct Plain {
    action: CaseAction,
    rule: Rule,
}

impl Plain {
    /// `rule` under the policy line `action`, its facts already known (the
    /// demo seed).
    pub fn new(action: CaseAction, rule: Rule) -> Plain {
        Plain { action, rule }
    }
}

impl Command<Case> for Plain {
    fn action(&self, _: &Case) -> CaseAction {
        self.action
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, _: &Principal) -> Result<Vec<Event>, AppError> {
        decide_now(conn, case, self.rule)
    }
}

impl TryFrom<pb::ObjectToAssignmentRequest> for Plain {
    type Error = AppError;
    fn try_from(req: pb::ObjectToAssignmentRequest) -> Result<Self, AppError> {
        let reason = text("reason", &req.reason, 1, 2_000)?;
        Ok(Plain { action: CaseAction::RespondToRouting, rule: Rule::Object { reason } })
    }
}

impl TryFrom<pb::AcceptCaseRequest> for Plain {
    type Error = AppError;
    fn try_from(req: pb::AcceptCaseRequest) -> Result<Self, AppError> {
        let note = text("note", &req.note, 0, MAX_NOTE_CHARS)?;
        Ok(Plain { action: CaseAction::RespondToRouting, rule: Rule::Accept { note } })
    }
}

impl TryFrom<pb::ExtendCaseDeadlineRequest> for Plain {
    type Error = AppError;
    fn try_from(req: pb::ExtendCaseDeadlineRequest) -> Result<Self, AppError> {
        let days = u32::try_from(req.days).map_err(|_| AppError::invalid("days", "must be 1–30"))?;
        let reason = text("reason", &req.reason, 1, MAX_NOTE_CHARS)?;
        Ok(Plain { action: CaseAction::ApproveExtension, rule: Rule::Extend { days, reason } })
    }
}

impl TryFrom<pb::ReplyToCaseRequest> for Plain {
    type Error = AppError;
    fn try_from(req: pb::ReplyToCaseRequest) -> Result<Self, AppError> {
        Ok(Plain { action: CaseAction::Handle, rule: Rule::Reply { opinion: opinion(req.opinion)? } })
    }
}

impl TryFrom<pb::SubmitCompletionReportRequest> for Plain {
    type Error = AppError;
    fn try_from(req: pb::SubmitCompletionReportRequest) -> Result<Self, AppError> {
        let report = text("report", &req.report, 1, 10_000)?;
        Ok(Plain { action: CaseAction::Handle, rule: Rule::ReportCompletion { report } })
    }
}

impl TryFrom<pb::ReplyToReviewRequest> for Plain {
    type Error = AppError;
    fn try_from(req: pb::ReplyToReviewRequest) -> Result<Self, AppError> {
        Ok(Plain { action: CaseAction::DecideReview, rule: Rule::ReplyToReview { opinion: opinion(req.opinion)? } })
    }
}

impl TryFrom<pb::PauseRecheckRequest> for Plain {
    type Error = AppError;
    fn try_from(req: pb::PauseRecheckRequest) -> Result<Self, AppError> {
        let reason = text("reason", &req.reason, 1, MAX_NOTE_CHARS)?;
        Ok(Plain { action: CaseAction::DecideReview, rule: Rule::PauseRecheck { reason } })
    }
}

impl TryFrom<pb::ResumeRecheckRequest> for Plain {
    type Error = AppError;
    fn try_from(req: pb::ResumeRecheckRequest) -> Result<Self, AppError> {
        let note = text("note", &req.note, 0, MAX_NOTE_CHARS)?;
        Ok(Plain { action: CaseAction::DecideReview, rule: Rule::ResumeRecheck { note } })
    }
}

impl TryFrom<pb::ReplyToRecheckRequest> for Plain {
    type Error = AppError;
    fn try_from(req: pb::ReplyToRecheckRequest) -> Result<Self, AppError> {
        Ok(Plain { action: CaseAction::DecideReview, rule: Rule::ReplyToRecheck { opinion: opinion(req.opinion)? } })
    }
}

impl TryFrom<pb::WithdrawCaseRequest> for Plain {
    type Error = AppError;
    fn try_from(req: pb::WithdrawCaseRequest) -> Result<Self, AppError> {
        let reason = text("reason", &req.reason, 0, MAX_NOTE_CHARS)?;
        Ok(Plain { action: CaseAction::ActAsPetitioner, rule: Rule::Withdraw { reason } })
    }
}

impl TryFrom<pb::UnlinkCaseRequest> for Plain {
    type Error = AppError;
    fn try_from(req: pb::UnlinkCaseRequest) -> Result<Self, AppError> {
        let reason = text("reason", &req.reason, 1, MAX_NOTE_CHARS)?;
        Ok(Plain { action: CaseAction::Triage, rule: Rule::Unlink { reason } })
    }
}

impl TryFrom<pb::RevokeCaseAccessRequest> for Plain {
    type Error = AppError;
    fn try_from(req: pb::RevokeCaseAccessRequest) -> Result<Self, AppError> {
        let organization_id = parse_id("organization_id", &req.organization_id)?;
        let reason = text("reason", &req.reason, 1, MAX_NOTE_CHARS)?;
        Ok(Plain { action: CaseAction::Share, rule: Rule::RevokeAccess { organization_id, reason } })
    }
}

/// Merging one case into `primary` (MergeCases runs it per case).
pub fn merge(primary: &Case, reason: String) -> Plain {
    let into_accusation = primary.subject().kind == super::domain::CaseKind::Accusation;
    Plain { action: CaseAction::Triage, rule: Rule::Merge { into: primary.id(), into_accusation, reason } }
}

/// A written opinion from the wire; its service time defaults to now and
/// may not lie in the future.
fn opinion(raw: Option<pb::Opinion>) -> Result<OpinionDraft, AppError> {
    let raw = raw.ok_or_else(|| AppError::invalid("opinion", "is required"))?;
    let mut v = Vec::new();
    let request = crate::text::multi_line("opinion.request", &raw.request, 1, draft::MAX_REQUESTS_CHARS, &mut v);
    let facts = crate::text::multi_line("opinion.facts", &raw.facts, 1, draft::MAX_CONTENT_CHARS, &mut v);
    let decision = Decision::from_i32(raw.decision);
    if decision.is_none() {
        v.push(FieldViolation::new("opinion.decision", "must be SUPPORTED, EXPLAINED or NOT_SUPPORTED"));
    }
    // Art.32: support and refusal rest on law; an explanation is given
    // precisely where the law is silent.
    let needs_basis = decision != Some(Decision::Explained);
    let legal_basis = crate::text::multi_line(
        "opinion.legal_basis",
        &raw.legal_basis,
        usize::from(needs_basis),
        draft::MAX_REQUESTS_CHARS,
        &mut v,
    );
    let now = chrono::Utc::now();
    let served_at = match raw.serve_time {
        None => now,
        Some(t) => match time_from_timestamp("opinion.serve_time", &t).ok() {
            Some(t) if t <= now + chrono::Duration::minutes(5) => t,
            _ => {
                v.push(FieldViolation::new("opinion.serve_time", "must be a valid time not in the future"));
                now
            }
        },
    };
    let stated_organization_id = match raw.organization_id.as_str() {
        "" => None,
        raw => Uuid::parse_str(raw)
            .map_err(|_| v.push(FieldViolation::new("opinion.organization_id", "must be an organization id")))
            .ok(),
    };
    let mediation_dispute_id = match raw.mediation_dispute_id.as_str() {
        "" => None,
        raw => Uuid::parse_str(raw)
            .map_err(|_| v.push(FieldViolation::new("opinion.mediation_dispute_id", "must be a dispute id")))
            .ok(),
    };
    require_valid(v)?;
    Ok(OpinionDraft {
        request,
        facts,
        decision: decision.unwrap_or(Decision::Explained),
        legal_basis,
        served_at,
        stated_organization_id,
        mediation_dispute_id,
    })
}

/// An organization as the rules need it; `None` when there is none.
fn organization(conn: &mut PgConnection, id: Uuid) -> Result<Option<Organization>, AppError> {
    Ok(directory_store::find_organization(conn, id)?.map(|o| Organization {
        id: o.organization.id,
        kind: OrganizationKind::from_i32(i32::from(o.organization.kind)).unwrap_or(OrganizationKind::ResponsibleUnit),
        region_path: o.region_path,
    }))
}

/// The superior organization of `organization` in the directory.
fn superior(conn: &mut PgConnection, organization: Option<Uuid>) -> Result<Option<Uuid>, AppError> {
    match organization {
        Some(org) => Ok(directory_store::find_organization(conn, org)?.and_then(|o| o.organization.parent_id)),
        None => Ok(None),
    }
}

/// 简易/紧急/正常 triage (SetCaseTrack).
pub struct SetTrack {
    track: Track,
    reason: String,
}

impl TryFrom<pb::SetCaseTrackRequest> for SetTrack {
    type Error = AppError;
    fn try_from(req: pb::SetCaseTrackRequest) -> Result<Self, AppError> {
        let track =
            Track::from_i32(req.track).ok_or_else(|| AppError::invalid("track", "must be URGENT, SIMPLE or NORMAL"))?;
        let reason = text("reason", &req.reason, usize::from(track == Track::Urgent), MAX_NOTE_CHARS)?;
        Ok(SetTrack { track, reason })
    }
}

impl Command<Case> for SetTrack {
    fn action(&self, _: &Case) -> CaseAction {
        CaseAction::Triage
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, principal: &Principal) -> Result<Vec<Event>, AppError> {
        let first_time = !store::petitioner_has_earlier_cases(conn, case.row.petitioner_id, case.id())?;
        // Art.25: an urgent matter is reported to the level above the bureau
        // that registered it, or above the triaging clerk's bureau for an
        // online filing.
        let report_to = superior(conn, case.row.registering_organization_id.or(principal.organization_id))?;
        decide_now(conn, case, Rule::SetTrack { track: self.track, reason: self.reason, first_time, report_to })
    }
}

/// 转送 or 交办 (ForwardCase, AssignCase).
pub struct Route {
    organization_id: Uuid,
    mode: RoutingMode,
    report_by: Option<chrono::NaiveDate>,
    note: String,
}

impl TryFrom<pb::ForwardCaseRequest> for Route {
    type Error = AppError;
    fn try_from(req: pb::ForwardCaseRequest) -> Result<Self, AppError> {
        let organization_id = parse_id("organization_id", &req.organization_id)?;
        let note = text("note", &req.note, 0, MAX_NOTE_CHARS)?;
        Ok(Route { organization_id, mode: RoutingMode::Forward, report_by: None, note })
    }
}

impl TryFrom<pb::AssignCaseRequest> for Route {
    type Error = AppError;
    fn try_from(req: pb::AssignCaseRequest) -> Result<Self, AppError> {
        let organization_id = parse_id("organization_id", &req.organization_id)?;
        let report_by =
            parse_date(&req.report_by).ok_or_else(|| AppError::invalid("report_by", "must be a date YYYY-MM-DD"))?;
        let note = text("note", &req.note, 0, MAX_NOTE_CHARS)?;
        Ok(Route { organization_id, mode: RoutingMode::Assign, report_by: Some(report_by), note })
    }
}

impl Command<Case> for Route {
    fn action(&self, _: &Case) -> CaseAction {
        CaseAction::Triage
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, _: &Principal) -> Result<Vec<Event>, AppError> {
        let target = organization(conn, self.organization_id)?;
        let Route { organization_id, mode, report_by, note } = self;
        decide_now(conn, case, Rule::Route { organization_id, target, mode, report_by, note })
    }
}

/// 不予受理 (DeclineCase).
pub struct Decline {
    reason: DeclineReason,
    diverted_to: String,
    related_case_id: Option<Uuid>,
    explanation: String,
}

impl TryFrom<pb::DeclineCaseRequest> for Decline {
    type Error = AppError;
    fn try_from(req: pb::DeclineCaseRequest) -> Result<Self, AppError> {
        let reason = DeclineReason::from_i32(req.reason)
            .ok_or_else(|| AppError::invalid("reason", "must be a decline reason"))?;
        let mut v = Vec::new();
        let diverted_to =
            crate::text::one_line("diverted_to", &req.diverted_to, usize::from(reason.diverts()), 200, &mut v);
        let explanation = crate::text::multi_line(
            "explanation",
            &req.explanation,
            usize::from(reason == DeclineReason::Other),
            MAX_NOTE_CHARS,
            &mut v,
        );
        let related_case_id = if reason.names_related_case() {
            parse_id("related_case_id", &req.related_case_id)
                .map_err(|_| v.push(FieldViolation::new("related_case_id", "name the related case")))
                .ok()
        } else {
            None
        };
        require_valid(v)?;
        Ok(Decline { reason, diverted_to, related_case_id, explanation })
    }
}

impl Command<Case> for Decline {
    /// Before routing the bureau declines; after, the unit it went to.
    fn action(&self, case: &Case) -> CaseAction {
        match case.life().handling_organization_id {
            None => CaseAction::Triage,
            Some(_) => CaseAction::RespondToRouting,
        }
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, _: &Principal) -> Result<Vec<Event>, AppError> {
        let related = match self.related_case_id {
            Some(id) => store::find_case(conn, id)?.map(|other| OtherCase {
                id: other.id,
                petitioner_id: other.petitioner_id,
                state: CaseState::from_i32(i32::from(other.state)).unwrap_or(CaseState::Registered),
            }),
            None => None,
        };
        let Decline { reason, diverted_to, related_case_id, explanation } = self;
        decide_now(conn, case, Rule::Decline { reason, diverted_to, related_case_id, related, explanation })
    }
}

/// A contact, investigation or visit note (AddFollowUp).
pub struct FollowUp {
    kind: FollowUpKind,
    note: String,
}

impl TryFrom<pb::AddFollowUpRequest> for FollowUp {
    type Error = AppError;
    fn try_from(req: pb::AddFollowUpRequest) -> Result<Self, AppError> {
        let kind =
            FollowUpKind::from_i32(req.kind).ok_or_else(|| AppError::invalid("kind", "must be a follow-up kind"))?;
        let note = text("note", &req.note, 1, MAX_NOTE_CHARS)?;
        Ok(FollowUp { kind, note })
    }
}

impl Command<Case> for FollowUp {
    /// During a review or re-review the deciding organization follows up.
    fn action(&self, case: &Case) -> CaseAction {
        match case.life().state {
            CaseState::UnderReview | CaseState::UnderRecheck => CaseAction::DecideReview,
            _ => CaseAction::Handle,
        }
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, _: &Principal) -> Result<Vec<Event>, AppError> {
        decide_now(conn, case, Rule::FollowUp { kind: self.kind, note: self.note })
    }
}

/// 复查 or 复核 by the petitioner (RequestReview, RequestRecheck): decided
/// one level above the organization that decided last.
pub struct RequestReview {
    reason: String,
    recheck: bool,
}

impl TryFrom<pb::RequestReviewRequest> for RequestReview {
    type Error = AppError;
    fn try_from(req: pb::RequestReviewRequest) -> Result<Self, AppError> {
        Ok(RequestReview { reason: text("reason", &req.reason, 1, MAX_NOTE_CHARS)?, recheck: false })
    }
}

impl TryFrom<pb::RequestRecheckRequest> for RequestReview {
    type Error = AppError;
    fn try_from(req: pb::RequestRecheckRequest) -> Result<Self, AppError> {
        Ok(RequestReview { reason: text("reason", &req.reason, 1, MAX_NOTE_CHARS)?, recheck: true })
    }
}

impl Command<Case> for RequestReview {
    fn action(&self, _: &Case) -> CaseAction {
        CaseAction::ActAsPetitioner
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, _: &Principal) -> Result<Vec<Event>, AppError> {
        let RequestReview { reason, recheck } = self;
        let command = if recheck {
            let reviewing_organization_id = superior(conn, case.life().reviewing_organization_id)?;
            Rule::RequestRecheck { reason, reviewing_organization_id }
        } else {
            let reviewing_organization_id = superior(conn, case.life().handling_organization_id)?;
            Rule::RequestReview { reason, reviewing_organization_id }
        };
        decide_now(conn, case, command)
    }
}

/// Sharing a case with a partner organization (GrantCaseAccess).
pub struct GrantAccess {
    organization_id: Uuid,
    reason: String,
}

impl TryFrom<pb::GrantCaseAccessRequest> for GrantAccess {
    type Error = AppError;
    fn try_from(req: pb::GrantCaseAccessRequest) -> Result<Self, AppError> {
        let organization_id = parse_id("organization_id", &req.organization_id)?;
        let reason = text("reason", &req.reason, 1, MAX_NOTE_CHARS)?;
        Ok(GrantAccess { organization_id, reason })
    }
}

impl Command<Case> for GrantAccess {
    fn action(&self, _: &Case) -> CaseAction {
        CaseAction::Share
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, _: &Principal) -> Result<Vec<Event>, AppError> {
        let found = organization(conn, self.organization_id)?;
        let GrantAccess { organization_id, reason } = self;
        decide_now(conn, case, Rule::GrantAccess { organization_id, organization: found, reason })
    }
}
