//! The case lifecycle as the 2022 信访工作条例 reads: the state machine,
//! the clocks it starts and stops, and the events it records. Pure: no I/O,
//! no wire or row types.
//!
//! A command is decided against the current [`Lifecycle`] into events
//! ([`decide`]); events are applied to the lifecycle ([`apply`]). The stored
//! lifecycle is always the fold of the case's events ([`fold`]).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::clocks;
use super::domain::{
    CaseKind, CaseState, Decision, DeclineReason, FollowUpKind, LawyerCapacity, LawyerService, LawyerStage,
    LeaderAssignment, MediationOutcome, RoutingMode, Track,
};
use crate::auth::policy::path_within;
use crate::calendar::rules::{Period, WorkCalendar};
use crate::courts::domain::{CourtOutcome, ReferralState};
use crate::directory::rules::OrganizationKind;
use crate::error::AppError;
use crate::error::Reason;
use crate::time::shanghai_date;

/// Art.22: the bureau routes within 15 days of registration.
pub const ROUTE_WITHIN: Period = Period::Days(15);
/// Art.23 ¶3: the unit tells the petitioner within 15 days of receipt.
pub const ACCEPT_WITHIN: Period = Period::Days(15);
/// Art.23 ¶3: an objection comes within 5 working days of receipt.
pub const OBJECT_WITHIN: Period = Period::Workdays(5);
/// Art.34: 60 days from acceptance.
pub const NORMAL_REPLY_WITHIN: Period = Period::Days(60);
/// Seed practice (简易办): 10 working days from acceptance.
pub const SIMPLE_REPLY_WITHIN: Period = Period::Workdays(10);
/// Art.34: one extension of at most 30 days.
pub const MAX_EXTENSION_DAYS: u32 = 30;
/// Art.35–36: review and re-review are requested within 30 days of service
/// and decided within 30 days of the request.
pub const REVIEW_WINDOW: Period = Period::Days(30);
pub const REVIEW_WITHIN: Period = Period::Days(30);
/// Completion report due date of an assignment made by a routing rule:
/// 15 days to accept plus 60 to reply.
pub const RULE_ASSIGNMENT_REPORT_WITHIN: Period = Period::Days(75);
/// An assignment's completion report may not be set further out than this.
pub const MAX_REPORT_DAYS: i64 = 120;

/// A written opinion as served (Art.32).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Opinion {
    pub request: String,
    pub facts: String,
    pub decision: Decision,
    pub legal_basis: String,
    pub served_at: DateTime<Utc>,
    pub organization_id: Uuid,
    /// The settled dispute whose agreement the opinion rests on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mediation_dispute_id: Option<Uuid>,
}

/// A written opinion as its author sends it; the rule says whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpinionDraft {
    pub request: String,
    pub facts: String,
    pub decision: Decision,
    pub legal_basis: String,
    pub served_at: DateTime<Utc>,
    /// The issuing organization, if the author named one: it must be the
    /// deciding organization.
    pub stated_organization_id: Option<Uuid>,
    /// The settled dispute the opinion cites (replies only).
    pub mediation_dispute_id: Option<Uuid>,
}

impl OpinionDraft {
    /// The opinion as issued by the organization deciding at this stage.
    fn issued_by(self, organization_id: Uuid) -> Result<Opinion, AppError> {
        let OpinionDraft {
            request,
            facts,
            decision,
            legal_basis,
            served_at,
            stated_organization_id,
            mediation_dispute_id,
        } = self;
        if stated_organization_id.is_some_and(|stated| stated != organization_id) {
            return Err(AppError::invalid(
                "opinion.organization_id",
                "leave empty: the opinion is the deciding organization's",
            ));
        }
        Ok(Opinion { request, facts, decision, legal_basis, served_at, organization_id, mediation_dispute_id })
    }
}

impl Opinion {
    /// A service time starts the petitioner's next window (Art.35–36), so
    /// it may not lie before the step the opinion answers (`since`, a
    /// Beijing day; unknown for steps recorded before it was kept). The
    /// command's parser bounds it by now.
    fn served_since(self, since: Option<NaiveDate>, what: &str) -> Result<Opinion, AppError> {
        match since {
            Some(since) if shanghai_date(self.served_at) < since => Err(AppError::invalid(
                "opinion.serve_time",
                format!("must not be before {what} ({})", crate::calendar::rules::format_date(since)),
            )),
            _ => Ok(self),
        }
    }
}

/// What about a case never changes with its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    pub id: Uuid,
    pub kind: CaseKind,
    /// Where the matter arose.
    pub region_path: String,
    pub petitioner_id: Uuid,
}

/// An organization a command names, as the directory has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: Uuid,
    pub kind: OrganizationKind,
    /// Its jurisdiction.
    pub region_path: String,
}

/// Another case a decline names, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherCase {
    pub id: Uuid,
    pub petitioner_id: Uuid,
    pub state: CaseState,
}

/// Organizations a case may be shared with: the partners the design names
/// (courts, legal-aid centres, mediation committees).
pub const PARTNER_KINDS: [OrganizationKind; 3] =
    [OrganizationKind::Court, OrganizationKind::LegalAidCentre, OrganizationKind::MediationCommittee];

/// Every deadline of a case; `None` where not (yet) applicable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadlines {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_by: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_by: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_by: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_by: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_by: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_request_by: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_by: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck_request_by: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck_by: Option<NaiveDate>,
}

/// Everything the rules track about a case. Stored as JSON without the
/// fields that are empty (most of them, most of the time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: CaseState,
    pub track: Track,
    pub registered_on: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handling_organization_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_mode: Option<RoutingMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routed_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewing_organization_id: Option<Uuid>,
    pub deadlines: Deadlines,
    pub extended: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_reason: Option<DeclineReason>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub related_case_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Opinion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_opinion: Option<Opinion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck_opinion: Option<Opinion>,
    pub completion_reported: bool,
    /// Calendar days left on the re-review clock while a hearing stops it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck_paused_days_left: Option<i64>,
    /// The open case of the same petitioner and matter this filing repeats
    /// (重复信访); while set the case is declined as ALREADY_IN_PROGRESS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_of: Option<Uuid>,
    /// Filed above the level where the matter is open (越级, Art.19 ¶3).
    #[serde(default)]
    pub escalated: bool,
    /// The primary case this one is handled with (并案).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<Uuid>,
    /// Partner organizations given access (GrantCaseAccess), in grant order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_organization_ids: Vec<Uuid>,
    /// The day review was requested (unknown for cases that were reviewed
    /// before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_requested_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recheck_requested_on: Option<NaiveDate>,
    /// The dispute the case was diverted to (人民调解), the latest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mediation: Option<MediationLink>,
    /// Lawyers asked for, in request order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lawyer_requests: Vec<LawyerRequest>,
    /// Lawyers who took part, in the order recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lawyer_participations: Vec<LawyerParticipation>,
    /// Court linkage: the case's referrals to courts, in referral order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub court_referrals: Vec<CourtLink>,
    /// The leader who owns the case (领导包案).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owning_leader_id: Option<Uuid>,
    /// The day the owning leader's ownership began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_since: Option<NaiveDate>,
}

/// A request for a lawyer at a stage of the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LawyerRequest {
    pub stage: LawyerStage,
    /// The organization asked; `None`: any lawyer of the jurisdiction.
    pub organization_id: Option<Uuid>,
    pub note: String,
    pub requested_by_organization_id: Option<Uuid>,
    pub requested_on: NaiveDate,
    pub answered: bool,
}

/// A lawyer's part in the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LawyerParticipation {
    pub stage: LawyerStage,
    pub capacity: LawyerCapacity,
    /// Their account, when they recorded it themselves.
    pub lawyer_account_id: Option<Uuid>,
    pub lawyer_name: String,
    pub affiliation: String,
    pub service: LawyerService,
    pub service_date: NaiveDate,
    pub summary: String,
}

/// Court linkage: a referral of the case to a court as the case knows it
/// (open until it ends; the court's steps are the referral's own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourtLink {
    pub referral_id: Uuid,
    pub court_id: Uuid,
    pub referred_on: NaiveDate,
    pub state: ReferralState,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub court_case_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CourtOutcome>,
}

/// A case's diversion to mediation and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediationLink {
    pub dispute_id: Uuid,
    pub team_id: Uuid,
    pub referred_on: NaiveDate,
    pub outcome: MediationOutcome,
}

/// What happened to a case. Each carries what changed, so folding the
/// events reproduces the lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Registered {
        track: Track,
        registered_on: NaiveDate,
        route_by: NaiveDate,
    },
    TrackSet {
        track: Track,
        reason: String,
        reply_by: Option<NaiveDate>,
    },
    /// An URGENT case reported to the bureau one level up (Art.25).
    ReportedUpward {
        organization_id: Option<Uuid>,
        reason: String,
    },
    Routed {
        organization_id: Uuid,
        mode: RoutingMode,
        routed_on: NaiveDate,
        accept_by: NaiveDate,
        object_by: NaiveDate,
        report_by: Option<NaiveDate>,
        note: String,
        by_rule: bool,
    },
    Objected {
        organization_id: Uuid,
        reason: String,
    },
    Accepted {
        accepted_on: NaiveDate,
        reply_by: NaiveDate,
        note: String,
    },
    Declined {
        reason: DeclineReason,
        diverted_to: String,
        related_case_id: Option<Uuid>,
        explanation: String,
    },
    FollowedUp {
        kind: FollowUpKind,
        note: String,
    },
    DeadlineExtended {
        days: u32,
        reason: String,
        reply_by: NaiveDate,
    },
    Replied {
        opinion: Opinion,
        review_request_by: NaiveDate,
    },
    CompletionReported {
        report: String,
    },
    ReviewRequested {
        reason: String,
        organization_id: Uuid,
        /// The day of the request (absent from events recorded before it
        /// was kept).
        #[serde(default)]
        requested_on: Option<NaiveDate>,
        review_by: NaiveDate,
    },
    ReviewReplied {
        opinion: Opinion,
        recheck_request_by: NaiveDate,
    },
    RecheckRequested {
        reason: String,
        organization_id: Uuid,
        #[serde(default)]
        requested_on: Option<NaiveDate>,
        recheck_by: NaiveDate,
    },
    RecheckPaused {
        reason: String,
        days_left: i64,
    },
    RecheckResumed {
        note: String,
        recheck_by: NaiveDate,
    },
    RecheckReplied {
        opinion: Opinion,
    },
    Withdrawn {
        reason: String,
    },
    /// Recorded at filing as a repeat of the petitioner's open case on the
    /// same matter and not accepted (Art.19 ¶3): never routed.
    RepeatLinked {
        of: Uuid,
        escalated: bool,
        /// Content similarity in thousandths.
        score_permille: u16,
    },
    /// Staff found it is not the same matter: registered again, with a new
    /// routing deadline.
    RepeatUnlinked {
        reason: String,
        route_by: NaiveDate,
    },
    Merged {
        into: Uuid,
        reason: String,
    },
    Unmerged {
        reason: String,
    },
    /// A partner organization may see the case from now on.
    AccessGranted {
        organization_id: Uuid,
        reason: String,
    },
    /// A partner organization's access ended.
    AccessRevoked {
        organization_id: Uuid,
        reason: String,
    },
    /// The holiday schedule of `year` was loaded and the clocks that
    /// counted its days were run again: every deadline as it now stands.
    DeadlinesRecomputed {
        year: i32,
        deadlines: Deadlines,
    },
    /// Diverted to a mediation team; the dispute is recorded with it.
    ReferredToMediation {
        dispute_id: Uuid,
        team_id: Uuid,
        referred_on: NaiveDate,
    },
    /// The dispute it was diverted to ended.
    MediationConcluded {
        dispute_id: Uuid,
        outcome: MediationOutcome,
    },
    /// A lawyer was asked for.
    LawyerRequested {
        request: LawyerRequest,
    },
    /// A lawyer took part; it answers the open request of its stage.
    LawyerParticipated {
        participation: LawyerParticipation,
    },
    /// A legal-aid application was made from it (the application is
    /// `crate::legal_aid`'s; the case lists it from there).
    LegalAidApplied {
        application_id: Uuid,
        centre_id: Uuid,
        applied_on: NaiveDate,
    },
    /// Court linkage: referred to a court (诉访分离).
    ReferredToCourt {
        referral_id: Uuid,
        court_id: Uuid,
        referred_on: NaiveDate,
    },
    /// Court linkage: a court referral ended (concluded, returned or
    /// withdrawn).
    CourtReferralConcluded {
        referral_id: Uuid,
        court_id: Uuid,
        state: ReferralState,
        court_case_number: String,
        outcome: Option<CourtOutcome>,
        close_date: NaiveDate,
    },
    /// A leader owns the case from `assigned_on` (包案); the rules are
    /// `leadership::rules`'.
    LeaderAssigned {
        leader_account_id: Uuid,
        /// The owner it was taken from (a reassignment).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_leader_account_id: Option<Uuid>,
        how: LeaderAssignment,
        note: String,
        assigned_on: NaiveDate,
    },
    /// The owning leader's ownership ended.
    LeaderReleased {
        leader_account_id: Uuid,
        reason: String,
    },
    /// The owning leader's instruction (批示).
    LeaderInstructed {
        text: String,
    },
    /// Progress the owning leader recorded.
    LeaderProgressRecorded {
        text: String,
    },
    /// The sweeper: the running clock's deadline is near. Changes nothing
    /// of the lifecycle (the case's version stays: no caller's etag fails
    /// for it).
    DeadlineApproaching {
        deadline: DeadlineName,
        due_date: NaiveDate,
        organization_id: Option<Uuid>,
    },
    /// The sweeper: the running clock's deadline passed; as above.
    DeadlineMissed {
        deadline: DeadlineName,
        due_date: NaiveDate,
        organization_id: Option<Uuid>,
    },
}

/// Which deadline of [`Deadlines`] a clock runs against (its field name on
/// the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineName {
    RouteBy,
    AcceptBy,
    ReplyBy,
    ReportBy,
    ReviewBy,
    RecheckBy,
}

impl DeadlineName {
    pub fn field(self) -> &'static str {
        match self {
            DeadlineName::RouteBy => "route_by",
            DeadlineName::AcceptBy => "accept_by",
            DeadlineName::ReplyBy => "reply_by",
            DeadlineName::ReportBy => "report_by",
            DeadlineName::ReviewBy => "review_by",
            DeadlineName::RecheckBy => "recheck_by",
        }
    }
}

/// The clock that binds the case now: which deadline, its day and who owes
/// it (the bureau's own route clock names no organization). The same
/// deadline as [`due_date`].
pub fn running_clock(case: &Lifecycle) -> Option<(DeadlineName, NaiveDate, Option<Uuid>)> {
    let due = due_date(case)?;
    let (name, owed_by) = match case.state {
        CaseState::Registered => (DeadlineName::RouteBy, None),
        CaseState::Routed => (DeadlineName::AcceptBy, case.handling_organization_id),
        CaseState::Accepted => (DeadlineName::ReplyBy, case.handling_organization_id),
        CaseState::Replied => (DeadlineName::ReportBy, case.handling_organization_id),
        CaseState::UnderReview => (DeadlineName::ReviewBy, case.reviewing_organization_id),
        CaseState::UnderRecheck => (DeadlineName::RecheckBy, case.reviewing_organization_id),
        _ => return None,
    };
    Some((name, due, owed_by))
}

/// What a caller asks to do to an existing case, with the facts its rule
/// needs (read by the command's handler before deciding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    SetTrack {
        track: Track,
        reason: String,
        first_time: bool,
        report_to: Option<Uuid>,
    },
    Route {
        /// The organization asked for, and what the directory knows of it
        /// (`None`: no such organization).
        organization_id: Uuid,
        target: Option<Organization>,
        mode: RoutingMode,
        report_by: Option<NaiveDate>,
        note: String,
    },
    Object {
        reason: String,
    },
    Accept {
        note: String,
    },
    Decline {
        reason: DeclineReason,
        diverted_to: String,
        /// The case named (ALREADY_IN_PROGRESS, CONCLUDED_AFTER_RECHECK)
        /// and, when it exists, what it is.
        related_case_id: Option<Uuid>,
        related: Option<OtherCase>,
        explanation: String,
    },
    FollowUp {
        kind: FollowUpKind,
        note: String,
    },
    Extend {
        days: u32,
        reason: String,
    },
    Reply {
        opinion: OpinionDraft,
    },
    ReportCompletion {
        report: String,
    },
    RequestReview {
        reason: String,
        /// The handling unit's superior; `None` when the directory has none.
        reviewing_organization_id: Option<Uuid>,
    },
    ReplyToReview {
        opinion: OpinionDraft,
    },
    RequestRecheck {
        reason: String,
        /// The reviewing organization's superior.
        reviewing_organization_id: Option<Uuid>,
    },
    PauseRecheck {
        reason: String,
    },
    ResumeRecheck {
        note: String,
    },
    ReplyToRecheck {
        opinion: OpinionDraft,
    },
    Withdraw {
        reason: String,
    },
    Merge {
        into: Uuid,
        /// Whether the primary case is an accusation.
        into_accusation: bool,
        reason: String,
    },
    /// Undo a repeat link or a merge.
    Unlink {
        reason: String,
    },
    GrantAccess {
        organization_id: Uuid,
        organization: Option<Organization>,
        reason: String,
    },
    RevokeAccess {
        organization_id: Uuid,
        reason: String,
    },
    /// Divert to mediation: the dispute recorded in the same transaction.
    ReferToMediation {
        dispute_id: Uuid,
        team_id: Uuid,
    },
    /// The dispute the case was diverted to ended (its own transaction
    /// tells the case).
    ConcludeMediation {
        dispute_id: Uuid,
        outcome: MediationOutcome,
    },
    /// Ask for a lawyer at a stage.
    RequestLawyer {
        stage: LawyerStage,
        organization_id: Option<Uuid>,
        note: String,
        requested_by_organization_id: Option<Uuid>,
    },
    /// Record a lawyer's part.
    RecordLawyer {
        participation: LawyerParticipation,
    },
    /// A legal-aid application made from the case, in its transaction.
    RecordLegalAidApplication {
        application_id: Uuid,
        centre_id: Uuid,
    },
    /// Court linkage: refer to a court; the referral is recorded in the
    /// same transaction. `court` is what the directory knows of it.
    ReferToCourt {
        referral_id: Uuid,
        court_id: Uuid,
        court: Option<Organization>,
        referred_on: NaiveDate,
    },
    /// Court linkage: the referral ended (its own transaction tells the
    /// case).
    ConcludeCourtReferral {
        referral_id: Uuid,
        state: ReferralState,
        court_case_number: String,
        outcome: Option<CourtOutcome>,
        close_date: NaiveDate,
    },
}

/// Names of commands, for precondition messages and the transition table.
impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Self::SetTrack { .. } => "SetCaseTrack",
            Self::Route { mode: RoutingMode::Forward, .. } => "ForwardCase",
            Self::Route { mode: RoutingMode::Assign, .. } => "AssignCase",
            Self::Object { .. } => "ObjectToAssignment",
            Self::Accept { .. } => "AcceptCase",
            Self::Decline { .. } => "DeclineCase",
            Self::FollowUp { .. } => "AddFollowUp",
            Self::Extend { .. } => "ExtendCaseDeadline",
            Self::Reply { .. } => "ReplyToCase",
            Self::ReportCompletion { .. } => "SubmitCompletionReport",
            Self::RequestReview { .. } => "RequestReview",
            Self::ReplyToReview { .. } => "ReplyToReview",
            Self::RequestRecheck { .. } => "RequestRecheck",
            Self::PauseRecheck { .. } => "PauseRecheck",
            Self::ResumeRecheck { .. } => "ResumeRecheck",
            Self::ReplyToRecheck { .. } => "ReplyToRecheck",
            Self::Withdraw { .. } => "WithdrawCase",
            Self::Merge { .. } => "MergeCases",
            Self::Unlink { .. } => "UnlinkCase",
            Self::GrantAccess { .. } => "GrantCaseAccess",
            Self::RevokeAccess { .. } => "RevokeCaseAccess",
            Self::ReferToMediation { .. } => "ReferCaseToMediation",
            Self::ConcludeMediation { .. } => "ConcludeMediation",
            Self::RequestLawyer { .. } => "RequestLawyer",
            Self::RecordLawyer { .. } => "RecordLawyerParticipation",
            Self::RecordLegalAidApplication { .. } => "CreateLegalAidApplication",
            Self::ReferToCourt { .. } => "ReferCaseToCourt",
            Self::ConcludeCourtReferral { .. } => "ConcludeCourtReferral",
        }
    }
}

/// The clock and settings a decision needs.
pub struct Context<'a> {
    pub today: NaiveDate,
    pub calendar: &'a WorkCalendar,
    /// Calendar days an URGENT case has for its opinion.
    pub urgent_reply_days: u32,
}

/// The states in which each command is allowed (the documented transitions).
pub fn allowed_in(command: &Command) -> &'static [CaseState] {
    use CaseState::*;
    match command {
        Command::SetTrack { .. } => &[Registered, Routed, Accepted],
        Command::Route { .. } => &[Registered],
        Command::Object { .. } | Command::Accept { .. } => &[Routed],
        Command::Decline { .. } => &[Registered, Routed],
        Command::FollowUp { .. } => &[Routed, Accepted, Replied, UnderReview, UnderRecheck],
        Command::Extend { .. } | Command::Reply { .. } => &[Accepted],
        Command::ReportCompletion { .. } | Command::RequestReview { .. } => &[Replied],
        Command::ReplyToReview { .. } => &[UnderReview],
        Command::RequestRecheck { .. } => &[Reviewed],
        Command::PauseRecheck { .. } | Command::ResumeRecheck { .. } | Command::ReplyToRecheck { .. } => {
            &[UnderRecheck]
        }
        Command::Withdraw { .. } => &[Registered, Routed, Accepted],
        // Each merged case keeps its own clocks: any open state.
        Command::Merge { .. } => &[Registered, Routed, Accepted, Replied, UnderReview, Reviewed, UnderRecheck],
        // A repeat link is undone from DECLINED, a merge from an open state.
        Command::Unlink { .. } => {
            &[Registered, Routed, Accepted, Declined, Replied, UnderReview, Reviewed, UnderRecheck]
        }
        // A partner may need a closed case as much as an open one.
        Command::GrantAccess { .. } | Command::RevokeAccess { .. } => CaseState::ALL,
        // Before the opinion: the bureau, or the unit handling it.
        Command::ReferToMediation { .. } => &[Registered, Routed, Accepted],
        // The dispute ends whatever the case did meanwhile.
        Command::ConcludeMediation { .. } => CaseState::ALL,
        Command::RequestLawyer { stage, .. } => stage.states(),
        Command::RecordLawyer { participation } => participation.stage.states(),
        // Legal aid is the party's right whatever the case's state
        // (法律援助法 Art.35); a declined case is where it is offered.
        Command::RecordLegalAidApplication { .. } => CaseState::ALL,
        // Court linkage: before the opinion, or declined as belonging in
        // litigation (Art.31 (一)); the referral ends whatever the case did.
        Command::ReferToCourt { .. } => &[Registered, Routed, Accepted, Declined],
        Command::ConcludeCourtReferral { .. } => CaseState::ALL,
    }
}

fn precondition(case_id: Uuid, reason: Reason, message: impl Into<String>) -> AppError {
    AppError::FailedPrecondition { reason, message: message.into(), subject: format!("cases/{case_id}") }
}

/// FAILED_PRECONDITION `reason` when `today` is past the last day of a
/// window the petitioner or unit had (`what` … until that day); a window not
/// yet set is open.
fn within(
    case_id: Uuid,
    today: NaiveDate,
    last_day: Option<NaiveDate>,
    reason: Reason,
    what: &str,
) -> Result<(), AppError> {
    match last_day {
        Some(last_day) if today > last_day => Err(precondition(case_id, reason, format!("{what} until {last_day}"))),
        _ => Ok(()),
    }
}

/// Decides `command` against `case` (the lifecycle of `subject`) into the
/// events to record, or FAILED_PRECONDITION (with a PreconditionFailure
/// naming the case) when the state or a window forbids it, or
/// INVALID_ARGUMENT when a named organization or case does not fit.
pub fn decide(
    subject: &Subject,
    case: &Lifecycle,
    command: Command,
    ctx: &Context<'_>,
) -> Result<Vec<Event>, AppError> {
    let case_id = subject.id;
    if !allowed_in(&command).contains(&case.state) {
        return Err(precondition(
            case_id,
            Reason::InvalidState,
            format!("{} is not allowed while the case is {:?}", command.name(), case.state),
        ));
    }
    let today = ctx.today;
    let events = match command {
        Command::SetTrack { track, reason, first_time, report_to } => {
            // 简易办 is for first-time petitions with clear facts.
            if track == Track::Simple && !first_time {
                return Err(precondition(case_id, Reason::NotFirstTime, "SIMPLE is only for a first-time petition"));
            }
            let reply_by = case.accepted_on.map(|accepted| clocks::reply_by(ctx, accepted, track));
            let mut events = vec![Event::TrackSet { track, reason: reason.clone(), reply_by }];
            if track == Track::Urgent && case.track != Track::Urgent {
                events.push(Event::ReportedUpward { organization_id: report_to, reason });
            }
            events
        }
        Command::Route { organization_id, target, mode, report_by, note } => {
            check_target(subject, target.as_ref())?;
            if let Some(report_by) = report_by
                && (report_by < today || (report_by - today).num_days() > MAX_REPORT_DAYS)
            {
                return Err(AppError::invalid(
                    "report_by",
                    format!("must be between today and {MAX_REPORT_DAYS} days ahead"),
                ));
            }
            let (accept_by, object_by) = clocks::accept_and_object_by(ctx, today);
            vec![Event::Routed {
                organization_id,
                mode,
                routed_on: today,
                accept_by,
                object_by,
                report_by,
                note,
                by_rule: false,
            }]
        }
        Command::Object { reason } => {
            within(
                case_id,
                today,
                case.deadlines.object_by,
                Reason::ObjectionWindowClosed,
                "objections (5 working days after receipt) could be made",
            )?;
            let organization_id = case.handling_organization_id.unwrap_or_default();
            vec![Event::Objected { organization_id, reason }]
        }
        Command::Accept { note } => {
            vec![Event::Accepted { accepted_on: today, reply_by: clocks::reply_by(ctx, today, case.track), note }]
        }
        Command::Decline { reason, diverted_to, related_case_id, related, explanation } => {
            if reason.names_related_case() {
                check_related(subject, reason, related.as_ref())?;
            }
            vec![Event::Declined { reason, diverted_to, related_case_id, explanation }]
        }
        Command::FollowUp { kind, note } => vec![Event::FollowedUp { kind, note }],
        Command::Extend { days, reason } => {
            if case.extended {
                return Err(precondition(
                    case_id,
                    Reason::AlreadyExtended,
                    "the handling deadline can be extended only once",
                ));
            }
            if case.track != Track::Normal {
                return Err(precondition(case_id, Reason::NotNormalTrack, "only NORMAL track cases can be extended"));
            }
            if !(1..=MAX_EXTENSION_DAYS).contains(&days) {
                return Err(AppError::invalid("days", format!("must be 1–{MAX_EXTENSION_DAYS}")));
            }
            let current = case.deadlines.reply_by.unwrap_or(today);
            vec![Event::DeadlineExtended { days, reason, reply_by: clocks::extended_reply_by(ctx, current, days) }]
        }
        Command::Reply { opinion } => {
            if let Some(cited) = opinion.mediation_dispute_id {
                let settled = case
                    .mediation
                    .as_ref()
                    .is_some_and(|m| m.dispute_id == cited && m.outcome == MediationOutcome::Settled);
                if !settled {
                    return Err(precondition(
                        case_id,
                        Reason::InvalidState,
                        "the opinion may cite only the settled dispute this case was diverted to",
                    ));
                }
            }
            let unit =
                case.handling_organization_id.ok_or_else(|| AppError::internal("accepted case without a unit"))?;
            let opinion = opinion.issued_by(unit)?.served_since(case.accepted_on, "the case was accepted")?;
            vec![Event::Replied { review_request_by: clocks::request_window(ctx, opinion.served_at), opinion }]
        }
        Command::ReportCompletion { report } => {
            if case.routing_mode != Some(RoutingMode::Assign) {
                return Err(precondition(
                    case_id,
                    Reason::NotAssigned,
                    "only assigned (交办) cases owe a completion report",
                ));
            }
            if case.completion_reported {
                return Err(precondition(
                    case_id,
                    Reason::AlreadyReported,
                    "the completion report was already submitted",
                ));
            }
            vec![Event::CompletionReported { report }]
        }
        Command::RequestReview { reason, reviewing_organization_id } => {
            let reviewing_organization_id = superior(case_id, reviewing_organization_id)?;
            within(
                case_id,
                today,
                case.deadlines.review_request_by,
                Reason::ReviewWindowClosed,
                "review could be requested",
            )?;
            vec![Event::ReviewRequested {
                reason,
                organization_id: reviewing_organization_id,
                requested_on: Some(today),
                review_by: clocks::decision_due(ctx, today),
            }]
        }
        Command::ReplyToReview { opinion } if opinion.mediation_dispute_id.is_some() => {
            return Err(AppError::invalid("opinion.mediation_dispute_id", "only a reply cites a mediation"));
        }
        Command::ReplyToRecheck { opinion } if opinion.mediation_dispute_id.is_some() => {
            return Err(AppError::invalid("opinion.mediation_dispute_id", "only a reply cites a mediation"));
        }
        Command::ReplyToReview { opinion } => {
            let since = case.review_requested_on.or(case.reply.as_ref().map(|o| shanghai_date(o.served_at)));
            let opinion =
                opinion.issued_by(deciding_organization(case)?)?.served_since(since, "review was requested")?;
            vec![Event::ReviewReplied { recheck_request_by: clocks::request_window(ctx, opinion.served_at), opinion }]
        }
        Command::RequestRecheck { reason, reviewing_organization_id } => {
            let reviewing_organization_id = superior(case_id, reviewing_organization_id)?;
            within(
                case_id,
                today,
                case.deadlines.recheck_request_by,
                Reason::RecheckWindowClosed,
                "re-review could be requested",
            )?;
            vec![Event::RecheckRequested {
                reason,
                organization_id: reviewing_organization_id,
                requested_on: Some(today),
                recheck_by: clocks::decision_due(ctx, today),
            }]
        }
        Command::PauseRecheck { reason } => {
            if case.recheck_paused_days_left.is_some() {
                return Err(precondition(case_id, Reason::AlreadyPaused, "the re-review clock is already stopped"));
            }
            let due = case.deadlines.recheck_by.unwrap_or(today);
            vec![Event::RecheckPaused { reason, days_left: clocks::days_left(due, today) }]
        }
        Command::ResumeRecheck { note } => {
            let Some(days_left) = case.recheck_paused_days_left else {
                return Err(precondition(case_id, Reason::NotPaused, "the re-review clock is running"));
            };
            vec![Event::RecheckResumed { note, recheck_by: clocks::resumed_recheck_by(ctx, today, days_left) }]
        }
        Command::ReplyToRecheck { opinion } => {
            let since = case.recheck_requested_on.or(case.review_opinion.as_ref().map(|o| shanghai_date(o.served_at)));
            let opinion =
                opinion.issued_by(deciding_organization(case)?)?.served_since(since, "re-review was requested")?;
            vec![Event::RecheckReplied { opinion }]
        }
        Command::Withdraw { reason } => vec![Event::Withdrawn { reason }],
        Command::Merge { into, into_accusation, reason } => {
            // A merge links an accusation to the other case's petitioner, or
            // the reverse (Art.30).
            if into_accusation != (subject.kind == CaseKind::Accusation) {
                return Err(precondition(
                    case_id,
                    Reason::AccusationNotMerged,
                    "an accusation is merged only with accusations (Art.30)",
                ));
            }
            if into == case_id {
                return Err(precondition(case_id, Reason::SelfMerge, "a case cannot be merged into itself"));
            }
            if case.merged_into.is_some() {
                return Err(precondition(case_id, Reason::AlreadyMerged, "the case is already merged into another"));
            }
            vec![Event::Merged { into, reason }]
        }
        Command::Unlink { reason } => match (case.state, case.repeat_of, case.merged_into) {
            (CaseState::Declined, Some(_), _) => {
                vec![Event::RepeatUnlinked { reason, route_by: clocks::route_by(ctx.calendar, today) }]
            }
            (state, _, Some(_)) if state.is_open() => vec![Event::Unmerged { reason }],
            _ => {
                return Err(precondition(case_id, Reason::NotLinked, "the case is neither a linked repeat nor merged"));
            }
        },
        Command::GrantAccess { organization_id, organization, reason } => {
            // Art.30: who accuses and what they say stays with the
            // discipline channel.
            if subject.kind == CaseKind::Accusation {
                return Err(precondition(case_id, Reason::AccusationNotShared, "an accusation is not shared (Art.30)"));
            }
            match organization {
                None => return Err(AppError::invalid("organization_id", "no such organization")),
                Some(o) if !PARTNER_KINDS.contains(&o.kind) => {
                    return Err(AppError::invalid(
                        "organization_id",
                        "must be a court, a legal-aid centre or a mediation committee",
                    ));
                }
                Some(_) => {}
            }
            if case.access_organization_ids.contains(&organization_id) {
                return Err(precondition(case_id, Reason::AlreadyGranted, "the organization already has access"));
            }
            vec![Event::AccessGranted { organization_id, reason }]
        }
        Command::RevokeAccess { organization_id, reason } => {
            if !case.access_organization_ids.contains(&organization_id) {
                return Err(precondition(case_id, Reason::NotGranted, "the organization has no access to revoke"));
            }
            vec![Event::AccessRevoked { organization_id, reason }]
        }
        Command::ReferToMediation { dispute_id, team_id } => {
            if subject.kind == CaseKind::Accusation {
                return Err(precondition(
                    case_id,
                    Reason::AccusationNotShared,
                    "an accusation is not mediated: it goes to the discipline channel (Art.30)",
                ));
            }
            if case.mediation.as_ref().is_some_and(|m| m.outcome == MediationOutcome::Pending) {
                return Err(precondition(case_id, Reason::AlreadyReferred, "the case is already in mediation"));
            }
            vec![Event::ReferredToMediation { dispute_id, team_id, referred_on: today }]
        }
        Command::ConcludeMediation { dispute_id, outcome } => {
            if case.mediation.as_ref().is_none_or(|m| m.dispute_id != dispute_id) {
                return Err(AppError::internal("a dispute ended that the case was not diverted to"));
            }
            vec![Event::MediationConcluded { dispute_id, outcome }]
        }
        Command::RequestLawyer { stage, organization_id, note, requested_by_organization_id } => {
            if subject.kind == CaseKind::Accusation {
                return Err(precondition(
                    case_id,
                    Reason::AccusationNotShared,
                    "an accusation goes to the discipline channel, not to lawyers (Art.30)",
                ));
            }
            if case.lawyer_requests.iter().any(|r| r.stage == stage && !r.answered) {
                return Err(precondition(
                    case_id,
                    Reason::LawyerAlreadyRequested,
                    "a lawyer is already asked for at this stage",
                ));
            }
            let request = LawyerRequest {
                stage,
                organization_id,
                note,
                requested_by_organization_id,
                requested_on: today,
                answered: false,
            };
            vec![Event::LawyerRequested { request }]
        }
        Command::RecordLawyer { participation } => {
            if subject.kind == CaseKind::Accusation {
                return Err(precondition(
                    case_id,
                    Reason::AccusationNotShared,
                    "an accusation goes to the discipline channel, not to lawyers (Art.30)",
                ));
            }
            if participation.service_date < case.registered_on || participation.service_date > today {
                return Err(AppError::invalid(
                    "service_date",
                    format!(
                        "must lie between the registration ({}) and today",
                        crate::calendar::rules::format_date(case.registered_on)
                    ),
                ));
            }
            vec![Event::LawyerParticipated { participation }]
        }
        Command::RecordLegalAidApplication { application_id, centre_id } => {
            vec![Event::LegalAidApplied { application_id, centre_id, applied_on: today }]
        }
        Command::ReferToCourt { referral_id, court_id, court, referred_on } => {
            refer_to_court(subject, case, referral_id, court_id, court, referred_on)?
        }
        Command::ConcludeCourtReferral { referral_id, state, court_case_number, outcome, close_date } => {
            let court_id = case
                .court_referrals
                .iter()
                .find(|r| r.referral_id == referral_id)
                .map(|r| r.court_id)
                .ok_or_else(|| AppError::internal("a court referral ended that the case does not know"))?;
            vec![Event::CourtReferralConcluded { referral_id, court_id, state, court_case_number, outcome, close_date }]
        }
    };
    Ok(events)
}

/// Court linkage: a case goes to a court before its opinion, or once
/// declined as a matter for litigation (条例 Art.31 (一)); never an
/// accusation (Art.30); one open referral per court. The court is given
/// access to the case in the same step, so that it reads the case file.
fn refer_to_court(
    subject: &Subject,
    case: &Lifecycle,
    referral_id: Uuid,
    court_id: Uuid,
    court: Option<Organization>,
    referred_on: NaiveDate,
) -> Result<Vec<Event>, AppError> {
    let case_id = subject.id;
    if subject.kind == CaseKind::Accusation {
        return Err(precondition(
            case_id,
            Reason::AccusationNotShared,
            "an accusation is not referred to a court: it goes to the discipline channel (Art.30)",
        ));
    }
    match court {
        None => return Err(AppError::invalid("court_organization_id", "no such organization")),
        Some(o) if o.kind != OrganizationKind::Court => {
            return Err(AppError::invalid("court_organization_id", "must be a court"));
        }
        Some(_) => {}
    }
    if case.state == CaseState::Declined && case.decline_reason != Some(DeclineReason::Litigation) {
        return Err(precondition(
            case_id,
            Reason::CaseNotReferable,
            "only a case declined as belonging in litigation is referred to a court once declined",
        ));
    }
    if case.court_referrals.iter().any(|r| r.court_id == court_id && r.state.is_open()) {
        return Err(precondition(
            case_id,
            Reason::CourtReferralOpen,
            "the case already has an open referral to this court",
        ));
    }
    let mut events = vec![Event::ReferredToCourt { referral_id, court_id, referred_on }];
    if !case.access_organization_ids.contains(&court_id) {
        events.push(Event::AccessGranted { organization_id: court_id, reason: "court referral (诉访分离)".into() });
    }
    Ok(events)
}

/// Whether an organization of `kind` may handle a case of `case_kind`
/// (Art.22 ¶4, Art.30; see [`OrganizationKind::handles`]).
pub fn handles(kind: OrganizationKind, case_kind: CaseKind) -> bool {
    kind.handles(case_kind == CaseKind::Accusation)
}

/// An organization may receive a case when it exists, its jurisdiction
/// covers where the matter arose, and it may handle the case's kind.
fn check_target(subject: &Subject, target: Option<&Organization>) -> Result<(), AppError> {
    let target = target.ok_or_else(|| AppError::invalid("organization_id", "no such organization"))?;
    if !path_within(&subject.region_path, &target.region_path) {
        return Err(AppError::invalid(
            "organization_id",
            "the organization's jurisdiction does not cover the case's region",
        ));
    }
    if !handles(target.kind, subject.kind) {
        let what = if subject.kind == CaseKind::Accusation {
            "an accusation goes to the discipline inspection channel (Art.30)"
        } else {
            "must be an organization that handles cases: a responsible unit or a government (Art.22)"
        };
        return Err(AppError::invalid("organization_id", what));
    }
    Ok(())
}

/// A decline naming another case: it must be another case of the same
/// petitioner, still in progress for ALREADY_IN_PROGRESS (Art.19 ¶3) or
/// final after re-review for CONCLUDED_AFTER_RECHECK (Art.36 ¶3).
fn check_related(subject: &Subject, reason: DeclineReason, related: Option<&OtherCase>) -> Result<(), AppError> {
    let other = related
        .filter(|o| o.petitioner_id == subject.petitioner_id && o.id != subject.id)
        .ok_or_else(|| AppError::invalid("related_case_id", "must be another case of the same petitioner"))?;
    let (fits, want) = match reason {
        DeclineReason::AlreadyInProgress => (other.state.is_open(), "still in progress"),
        _ => (other.state == CaseState::Final, "final after re-review"),
    };
    if fits { Ok(()) } else { Err(AppError::invalid("related_case_id", format!("the related case is not {want}"))) }
}

/// The organization one level up that decides a review (Art.35) or
/// re-review (Art.36).
fn superior(case_id: Uuid, organization: Option<Uuid>) -> Result<Uuid, AppError> {
    organization.ok_or_else(|| {
        precondition(
            case_id,
            Reason::NoSuperiorOrganization,
            "the deciding organization has no superior organization in the directory",
        )
    })
}

/// The organization deciding the review or re-review under way.
fn deciding_organization(case: &Lifecycle) -> Result<Uuid, AppError> {
    case.reviewing_organization_id.ok_or_else(|| AppError::internal("review without a deciding organization"))
}

/// Merging into `primary` (并案): it must be open and not itself merged,
/// and none of the cases merged into it may have cases merged into them
/// (`primaries`: those of them that do): merges are one level deep.
pub fn check_merge(primary: &Subject, primary_case: &Lifecycle, primaries: &[Uuid]) -> Result<(), AppError> {
    if !primary_case.state.is_open() || primary_case.merged_into.is_some() {
        return Err(precondition(
            primary.id,
            Reason::PrimaryNotOpen,
            "the primary case must be open and not itself merged",
        ));
    }
    if let Some(parent) = primaries.first() {
        return Err(precondition(
            *parent,
            Reason::HasMergedCases,
            "cases are merged into this one; merge them into the new primary instead",
        ));
    }
    Ok(())
}

/// The lifecycle of a case just registered.
pub fn register(track: Track, today: NaiveDate, calendar: &WorkCalendar) -> Event {
    Event::Registered { track, registered_on: today, route_by: clocks::route_by(calendar, today) }
}

/// A filing found to repeat the petitioner's open case `of` (same
/// matter): declined as already in progress, linked, never routed.
pub fn link_repeat(of: Uuid, escalated: bool, content_score: f32) -> Event {
    let score_permille = (content_score.clamp(0.0, 1.0) * 1000.0).round() as u16;
    Event::RepeatLinked { of, escalated, score_permille }
}

/// Routing by a rule at registration (即时交办): the same event as a clerk's
/// routing, marked as the rule's.
pub fn route_by_rule(organization_id: Uuid, mode: RoutingMode, ctx: &Context<'_>) -> Event {
    let today = ctx.today;
    // A rule's assignment gives the unit the statutory time to accept and reply.
    let report_by = (mode == RoutingMode::Assign).then(|| clocks::rule_report_by(ctx, today));
    let (accept_by, object_by) = clocks::accept_and_object_by(ctx, today);
    Event::Routed {
        organization_id,
        mode,
        routed_on: today,
        accept_by,
        object_by,
        report_by,
        note: String::new(),
        by_rule: true,
    }
}

/// Applies one event. The first event of every case is `Registered`.
pub fn apply(case: Option<Lifecycle>, event: &Event) -> Lifecycle {
    let mut case = match (case, event) {
        (_, Event::Registered { track, registered_on, route_by }) => {
            return Lifecycle {
                state: CaseState::Registered,
                track: *track,
                registered_on: *registered_on,
                handling_organization_id: None,
                routing_mode: None,
                routed_on: None,
                accepted_on: None,
                reviewing_organization_id: None,
                deadlines: Deadlines { route_by: Some(*route_by), ..Deadlines::default() },
                extended: false,
                decline_reason: None,
                related_case_id: None,
                reply: None,
                review_opinion: None,
                recheck_opinion: None,
                completion_reported: false,
                recheck_paused_days_left: None,
                repeat_of: None,
                escalated: false,
                merged_into: None,
                access_organization_ids: Vec::new(),
                review_requested_on: None,
                recheck_requested_on: None,
                mediation: None,
                lawyer_requests: Vec::new(),
                lawyer_participations: Vec::new(),
                court_referrals: Vec::new(),
                owning_leader_id: None,
                owned_since: None,
            };
        }
        (Some(case), _) => case,
        // Only reachable with a corrupt log; an empty registered lifecycle
        // keeps folding total.
        (None, _) => apply(
            None,
            &Event::Registered { track: Track::Normal, registered_on: NaiveDate::MIN, route_by: NaiveDate::MIN },
        ),
    };
    match event {
        Event::Registered { .. } => {}
        Event::TrackSet { track, reply_by, .. } => {
            case.track = *track;
            if reply_by.is_some() {
                case.deadlines.reply_by = *reply_by;
            }
        }
        Event::ReportedUpward { .. } | Event::FollowedUp { .. } => {}
        Event::Routed { organization_id, mode, routed_on, accept_by, object_by, report_by, .. } => {
            case.state = CaseState::Routed;
            case.handling_organization_id = Some(*organization_id);
            case.routing_mode = Some(*mode);
            case.routed_on = Some(*routed_on);
            case.deadlines.accept_by = Some(*accept_by);
            case.deadlines.object_by = Some(*object_by);
            case.deadlines.report_by = *report_by;
        }
        Event::Objected { .. } => {
            case.state = CaseState::Registered;
            case.handling_organization_id = None;
            case.routing_mode = None;
            case.routed_on = None;
            case.deadlines.accept_by = None;
            case.deadlines.object_by = None;
            case.deadlines.report_by = None;
        }
        Event::Accepted { accepted_on, reply_by, .. } => {
            case.state = CaseState::Accepted;
            case.accepted_on = Some(*accepted_on);
            case.deadlines.reply_by = Some(*reply_by);
        }
        Event::Declined { reason, related_case_id, .. } => {
            case.state = CaseState::Declined;
            case.decline_reason = Some(*reason);
            case.related_case_id = *related_case_id;
        }
        Event::DeadlineExtended { reply_by, .. } => {
            case.extended = true;
            case.deadlines.reply_by = Some(*reply_by);
        }
        Event::Replied { opinion, review_request_by } => {
            case.state = CaseState::Replied;
            case.reply = Some(opinion.clone());
            case.deadlines.review_request_by = Some(*review_request_by);
        }
        Event::CompletionReported { .. } => case.completion_reported = true,
        Event::ReviewRequested { organization_id, requested_on, review_by, .. } => {
            case.state = CaseState::UnderReview;
            case.review_requested_on = *requested_on;
            case.reviewing_organization_id = Some(*organization_id);
            case.deadlines.review_by = Some(*review_by);
        }
        Event::ReviewReplied { opinion, recheck_request_by } => {
            case.state = CaseState::Reviewed;
            case.review_opinion = Some(opinion.clone());
            case.deadlines.recheck_request_by = Some(*recheck_request_by);
        }
        Event::RecheckRequested { organization_id, requested_on, recheck_by, .. } => {
            case.state = CaseState::UnderRecheck;
            case.recheck_requested_on = *requested_on;
            case.reviewing_organization_id = Some(*organization_id);
            case.deadlines.recheck_by = Some(*recheck_by);
        }
        Event::RecheckPaused { days_left, .. } => case.recheck_paused_days_left = Some(*days_left),
        Event::RecheckResumed { recheck_by, .. } => {
            case.recheck_paused_days_left = None;
            case.deadlines.recheck_by = Some(*recheck_by);
        }
        Event::RecheckReplied { opinion } => {
            case.state = CaseState::Final;
            case.recheck_opinion = Some(opinion.clone());
            case.recheck_paused_days_left = None;
        }
        Event::Withdrawn { .. } => case.state = CaseState::Withdrawn,
        Event::RepeatLinked { of, escalated, .. } => {
            case.state = CaseState::Declined;
            case.decline_reason = Some(DeclineReason::AlreadyInProgress);
            case.related_case_id = Some(*of);
            case.repeat_of = Some(*of);
            case.escalated = *escalated;
            case.deadlines.route_by = None;
        }
        Event::RepeatUnlinked { route_by, .. } => {
            case.state = CaseState::Registered;
            case.decline_reason = None;
            case.related_case_id = None;
            case.repeat_of = None;
            case.escalated = false;
            case.deadlines.route_by = Some(*route_by);
        }
        Event::Merged { into, .. } => case.merged_into = Some(*into),
        Event::Unmerged { .. } => case.merged_into = None,
        Event::AccessGranted { organization_id, .. } => {
            if !case.access_organization_ids.contains(organization_id) {
                case.access_organization_ids.push(*organization_id);
            }
        }
        Event::AccessRevoked { organization_id, .. } => {
            case.access_organization_ids.retain(|id| id != organization_id);
        }
        Event::DeadlinesRecomputed { deadlines, .. } => case.deadlines = deadlines.clone(),
        Event::ReferredToMediation { dispute_id, team_id, referred_on } => {
            case.mediation = Some(MediationLink {
                dispute_id: *dispute_id,
                team_id: *team_id,
                referred_on: *referred_on,
                outcome: MediationOutcome::Pending,
            });
        }
        Event::MediationConcluded { dispute_id, outcome } => {
            if let Some(link) = case.mediation.as_mut().filter(|m| m.dispute_id == *dispute_id) {
                link.outcome = *outcome;
            }
        }
        Event::LawyerRequested { request } => case.lawyer_requests.push(request.clone()),
        Event::LawyerParticipated { participation } => {
            if let Some(open) = case.lawyer_requests.iter_mut().find(|r| r.stage == participation.stage && !r.answered)
            {
                open.answered = true;
            }
            case.lawyer_participations.push(participation.clone());
        }
        Event::LegalAidApplied { .. } => {}
        Event::ReferredToCourt { referral_id, court_id, referred_on } => case.court_referrals.push(CourtLink {
            referral_id: *referral_id,
            court_id: *court_id,
            referred_on: *referred_on,
            state: ReferralState::Referred,
            court_case_number: String::new(),
            outcome: None,
        }),
        Event::CourtReferralConcluded { referral_id, state, court_case_number, outcome, .. } => {
            if let Some(link) = case.court_referrals.iter_mut().find(|r| r.referral_id == *referral_id) {
                link.state = *state;
                link.court_case_number = court_case_number.clone();
                link.outcome = *outcome;
            }
        }
        Event::LeaderAssigned { leader_account_id, assigned_on, .. } => {
            case.owning_leader_id = Some(*leader_account_id);
            case.owned_since = Some(*assigned_on);
        }
        Event::LeaderReleased { .. } => {
            case.owning_leader_id = None;
            case.owned_since = None;
        }
        Event::LeaderInstructed { .. } | Event::LeaderProgressRecorded { .. } => {}
        Event::DeadlineApproaching { .. } | Event::DeadlineMissed { .. } => {}
    }
    case
}

/// The lifecycle the events describe; `None` for no events.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<Lifecycle> {
    events.into_iter().fold(None, |case, event| Some(apply(case, event)))
}

/// The deadline that binds the case now, if any: the one the responsible
/// party is working against in its current state.
pub fn due_date(case: &Lifecycle) -> Option<NaiveDate> {
    let d = &case.deadlines;
    match case.state {
        CaseState::Registered => d.route_by,
        CaseState::Routed => d.accept_by,
        CaseState::Accepted => d.reply_by,
        CaseState::Replied if case.routing_mode == Some(RoutingMode::Assign) && !case.completion_reported => {
            d.report_by
        }
        CaseState::UnderReview => d.review_by,
        CaseState::UnderRecheck if case.recheck_paused_days_left.is_none() => d.recheck_by,
        _ => None,
    }
}

/// The event-type number of `petition.v1.CaseEventType`.
pub fn event_type(event: &Event) -> i16 {
    match event {
        Event::Registered { .. } => 1,
        Event::TrackSet { .. } => 2,
        Event::ReportedUpward { .. } => 3,
        Event::Routed { .. } => 4,
        Event::Objected { .. } => 5,
        Event::Accepted { .. } => 6,
        Event::Declined { .. } => 7,
        Event::FollowedUp { .. } => 8,
        Event::DeadlineExtended { .. } => 9,
        Event::Replied { .. } => 10,
        Event::CompletionReported { .. } => 11,
        Event::ReviewRequested { .. } => 12,
        Event::ReviewReplied { .. } => 13,
        Event::RecheckRequested { .. } => 14,
        Event::RecheckPaused { .. } => 15,
        Event::RecheckResumed { .. } => 16,
        Event::RecheckReplied { .. } => 17,
        Event::Withdrawn { .. } => 18,
        Event::RepeatLinked { .. } => 19,
        Event::RepeatUnlinked { .. } => 20,
        Event::Merged { .. } => 21,
        Event::Unmerged { .. } => 22,
        Event::AccessGranted { .. } => 23,
        Event::AccessRevoked { .. } => 24,
        Event::DeadlinesRecomputed { .. } => 25,
        Event::ReferredToMediation { .. } => 26,
        Event::MediationConcluded { .. } => 27,
        Event::LawyerRequested { .. } => 29,
        Event::LawyerParticipated { .. } => 30,
        Event::LegalAidApplied { .. } => 28,
        Event::ReferredToCourt { .. } => 31,
        Event::CourtReferralConcluded { .. } => 32,
        Event::LeaderAssigned { .. } => 33,
        Event::LeaderReleased { .. } => 34,
        Event::LeaderInstructed { .. } => 35,
        Event::LeaderProgressRecorded { .. } => 36,
        Event::DeadlineApproaching { .. } => 37,
        Event::DeadlineMissed { .. } => 38,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::rules::DayKind;
    use chrono::TimeZone;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_else(|| panic!("bad date {y}-{m}-{d}"))
    }

    /// The 2025 National Day and Mid-Autumn week: Oct 1–8 off, Sep 28 (Sun)
    /// and Oct 11 (Sat) worked (国办发明电〔2024〕12号).
    fn national_day_2025() -> WorkCalendar {
        let mut days: Vec<(NaiveDate, DayKind)> = (1..=8).map(|d| (date(2025, 10, d), DayKind::Holiday)).collect();
        days.push((date(2025, 9, 28), DayKind::Workday));
        days.push((date(2025, 10, 11), DayKind::Workday));
        WorkCalendar::new(days.into_iter().filter(|(d, k)| k.fits(*d)))
    }

    const UNIT: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001);
    const SUPERIOR: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0002);
    const TOP: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0003);
    const CASE: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0009);

    const PETITIONER: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0010);
    const COURT: Uuid = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0011);
    const REGION: &str = "360700/360702/360702001";

    /// The case every test decides on: a claim in a township of county 360702.
    fn subject() -> Subject {
        Subject { id: CASE, kind: CaseKind::Claim, region_path: REGION.into(), petitioner_id: PETITIONER }
    }

    fn court() -> Organization {
        Organization { id: COURT, kind: OrganizationKind::Court, region_path: "360700/360702".into() }
    }

    fn unit() -> Organization {
        Organization { id: UNIT, kind: OrganizationKind::ResponsibleUnit, region_path: "360700/360702".into() }
    }

    fn opinion(served_on: NaiveDate) -> OpinionDraft {
        let served_at = crate::time::shanghai()
            .from_local_datetime(&served_on.and_hms_opt(10, 0, 0).unwrap_or_default())
            .single()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        OpinionDraft {
            request: "修复漏水".into(),
            facts: "经查属实".into(),
            decision: Decision::Supported,
            legal_basis: "《物业管理条例》".into(),
            served_at,
            stated_organization_id: None,
            mediation_dispute_id: None,
        }
    }

    /// Every command, with arguments that pass validation on `today`.
    fn commands(today: NaiveDate) -> Vec<Command> {
        vec![
            Command::SetTrack { track: Track::Normal, reason: "r".into(), first_time: true, report_to: None },
            Command::Route {
                organization_id: UNIT,
                target: Some(unit()),
                mode: RoutingMode::Forward,
                report_by: None,
                note: String::new(),
            },
            Command::Route {
                organization_id: UNIT,
                target: Some(unit()),
                mode: RoutingMode::Assign,
                report_by: Some(today + chrono::Duration::days(30)),
                note: String::new(),
            },
            Command::Object { reason: "not ours".into() },
            Command::Accept { note: "will investigate".into() },
            Command::Decline {
                reason: DeclineReason::Litigation,
                diverted_to: "章贡区人民法院".into(),
                related_case_id: None,
                related: None,
                explanation: String::new(),
            },
            Command::FollowUp { kind: FollowUpKind::Contact, note: "called".into() },
            Command::Extend { days: 30, reason: "complex".into() },
            Command::Reply { opinion: opinion(today) },
            Command::ReportCompletion { report: "done".into() },
            Command::RequestReview { reason: "disagree".into(), reviewing_organization_id: Some(SUPERIOR) },
            Command::ReplyToReview { opinion: opinion(today) },
            Command::RequestRecheck { reason: "still disagree".into(), reviewing_organization_id: Some(TOP) },
            Command::PauseRecheck { reason: "hearing".into() },
            Command::ResumeRecheck { note: "hearing held".into() },
            Command::ReplyToRecheck { opinion: opinion(today) },
            Command::Withdraw { reason: "resolved".into() },
            Command::Merge { into: OTHER_CASE, into_accusation: false, reason: "same matter".into() },
            Command::GrantAccess { organization_id: COURT, organization: Some(court()), reason: "referral".into() },
            Command::RevokeAccess { organization_id: COURT, reason: "closed".into() },
            Command::ReferToMediation { dispute_id: OTHER_CASE, team_id: COURT },
            Command::RecordLegalAidApplication { application_id: OTHER_CASE, centre_id: COURT },
            Command::ReferToCourt {
                referral_id: OTHER_CASE,
                court_id: COURT,
                court: Some(court()),
                referred_on: today,
            },
        ]
        .into_iter()
        .chain([LawyerStage::BeforeVisit, LawyerStage::DuringHandling, LawyerStage::AfterOutcome].into_iter().flat_map(
            |stage| {
                [
                    Command::RequestLawyer {
                        stage,
                        organization_id: None,
                        note: "需要法律意见".into(),
                        requested_by_organization_id: Some(UNIT),
                    },
                    Command::RecordLawyer {
                        participation: LawyerParticipation {
                            stage,
                            capacity: LawyerCapacity::VillageLegalAdviser,
                            lawyer_account_id: None,
                            lawyer_name: "钱律师".into(),
                            affiliation: "厚德路社区".into(),
                            service: LawyerService::Consultation,
                            service_date: today,
                            summary: "告知诉讼途径".into(),
                        },
                    },
                ]
            },
        ))
        .collect()
    }

    /// The documented transitions, written out independently of
    /// `allowed_in`: the state after `command` in `state`, or `None` where
    /// the command is not allowed.
    fn documented(command: &Command, state: CaseState) -> Option<CaseState> {
        use CaseState::*;
        match (command, state) {
            (Command::SetTrack { .. }, Registered | Routed | Accepted) => Some(state),
            (Command::Route { .. }, Registered) => Some(Routed),
            (Command::Object { .. }, Routed) => Some(Registered),
            (Command::Accept { .. }, Routed) => Some(Accepted),
            (Command::Decline { .. }, Registered | Routed) => Some(Declined),
            (Command::FollowUp { .. }, Routed | Accepted | Replied | UnderReview | UnderRecheck) => Some(state),
            (Command::Extend { .. }, Accepted) => Some(Accepted),
            (Command::Reply { .. }, Accepted) => Some(Replied),
            (Command::ReportCompletion { .. }, Replied) => Some(Replied),
            (Command::RequestReview { .. }, Replied) => Some(UnderReview),
            (Command::ReplyToReview { .. }, UnderReview) => Some(Reviewed),
            (Command::RequestRecheck { .. }, Reviewed) => Some(UnderRecheck),
            (Command::PauseRecheck { .. } | Command::ResumeRecheck { .. }, UnderRecheck) => Some(UnderRecheck),
            (Command::ReplyToRecheck { .. }, UnderRecheck) => Some(Final),
            (Command::Withdraw { .. }, Registered | Routed | Accepted) => Some(Withdrawn),
            (Command::Merge { .. }, s) if !s.is_terminal() => Some(state),
            (Command::GrantAccess { .. } | Command::RevokeAccess { .. }, _) => Some(state),
            (Command::ReferToMediation { .. }, Registered | Routed | Accepted) => Some(state),
            (
                Command::RequestLawyer { stage: LawyerStage::BeforeVisit, .. }
                | Command::RecordLawyer { participation: LawyerParticipation { stage: LawyerStage::BeforeVisit, .. } },
                Registered | Routed | Declined,
            ) => Some(state),
            (
                Command::RequestLawyer { stage: LawyerStage::DuringHandling, .. }
                | Command::RecordLawyer { participation: LawyerParticipation { stage: LawyerStage::DuringHandling, .. } },
                Routed | Accepted | UnderReview | UnderRecheck,
            ) => Some(state),
            (
                Command::RequestLawyer { stage: LawyerStage::AfterOutcome, .. }
                | Command::RecordLawyer { participation: LawyerParticipation { stage: LawyerStage::AfterOutcome, .. } },
                Replied | Reviewed | Final,
            ) => Some(state),
            (Command::RecordLegalAidApplication { .. }, _) => Some(state),
            (Command::ReferToCourt { .. }, Registered | Routed | Accepted | Declined) => Some(state),
            _ => None,
        }
    }

    /// A case in `state`, reached along the main path from registration
    /// (assigned, so it owes a completion report), all on `today`.
    fn case_in(state: CaseState, today: NaiveDate, calendar: &WorkCalendar) -> Lifecycle {
        use CaseState::*;
        let ctx = Context { today, calendar, urgent_reply_days: 7 };
        let mut events = vec![register(Track::Normal, today, calendar)];
        let steps: Vec<Command> = match state {
            Registered => vec![],
            Declined => vec![commands(today)[5].clone()],
            Withdrawn => vec![commands(today)[16].clone()],
            _ => {
                let main = [2, 4, 8, 10, 11, 12, 15];
                let count = match state {
                    Routed => 1,
                    Accepted => 2,
                    Replied => 3,
                    UnderReview => 4,
                    Reviewed => 5,
                    UnderRecheck => 6,
                    _ => 7,
                };
                main[..count].iter().map(|i| commands(today)[*i].clone()).collect()
            }
        };
        let mut case = fold(&events).unwrap_or_else(|| panic!("no lifecycle"));
        for step in steps {
            let new = decide(&subject(), &case, step, &ctx).unwrap_or_else(|e| panic!("path to {state:?}: {e:?}"));
            for event in &new {
                case = apply(Some(case), event);
            }
            events.extend(new);
        }
        assert_eq!(case.state, state);
        assert_eq!(fold(&events).as_ref(), Some(&case), "folding the log gives the same lifecycle");
        case
    }

    /// Every (state, command) pair: the documented transition or
    /// FAILED_PRECONDITION with a PreconditionFailure on the case.
    #[test]
    fn transition_table_is_exhaustive() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let ctx = Context { today, calendar: &calendar, urgent_reply_days: 7 };
        let mut checked = 0;
        for state in CaseState::ALL {
            for command in commands(today) {
                let mut case = case_in(*state, today, &calendar);
                if matches!(command, Command::ResumeRecheck { .. }) && *state == CaseState::UnderRecheck {
                    case = apply(Some(case), &Event::RecheckPaused { reason: "hearing".into(), days_left: 10 });
                }
                if matches!(command, Command::RevokeAccess { .. }) {
                    case = apply(Some(case), &Event::AccessGranted { organization_id: COURT, reason: "r".into() });
                }
                let name = command.name();
                match (documented(&command, *state), decide(&subject(), &case, command, &ctx)) {
                    (Some(next), Ok(events)) => {
                        let after = events.iter().fold(case, |c, e| apply(Some(c), e));
                        assert_eq!(after.state, next, "{name} in {state:?}");
                    }
                    (None, Err(AppError::FailedPrecondition { reason, subject, .. })) => {
                        assert_eq!(reason, Reason::InvalidState, "{name} in {state:?}");
                        assert_eq!(subject, format!("cases/{CASE}"));
                    }
                    (want, got) => panic!("{name} in {state:?}: documented {want:?}, got {got:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, CaseState::ALL.len() * commands(today).len());
    }

    const OTHER_CASE: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0099);

    #[test]
    fn a_repeat_is_declined_linked_and_unlinked_back_to_registration() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let ctx = Context { today, calendar: &calendar, urgent_reply_days: 7 };
        let events = [register(Track::Normal, today, &calendar), link_repeat(OTHER_CASE, true, 0.8123)];
        let case = fold(&events).unwrap_or_else(|| panic!("no lifecycle"));
        assert_eq!(case.state, CaseState::Declined);
        assert_eq!(case.decline_reason, Some(DeclineReason::AlreadyInProgress));
        assert_eq!((case.repeat_of, case.related_case_id, case.escalated), (Some(OTHER_CASE), Some(OTHER_CASE), true));
        assert_eq!(due_date(&case), None, "a linked repeat owes nothing");
        assert_eq!(events[1], Event::RepeatLinked { of: OTHER_CASE, escalated: true, score_permille: 812 });

        let later = date(2026, 3, 9);
        let ctx_later = Context { today: later, ..ctx };
        let unlinked = decide(&subject(), &case, Command::Unlink { reason: "different plot".into() }, &ctx_later)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let case = unlinked.iter().fold(case, |c, e| apply(Some(c), e));
        assert_eq!(case.state, CaseState::Registered);
        assert_eq!(
            (case.repeat_of, case.related_case_id, case.decline_reason, case.escalated),
            (None, None, None, false)
        );
        assert_eq!(case.deadlines.route_by, Some(date(2026, 3, 24)), "a new 15-day routing clock from the unlink");
        assert_eq!(due_date(&case), case.deadlines.route_by);
    }

    #[test]
    fn merges_keep_the_state_and_clocks_and_can_be_undone() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let ctx = Context { today, calendar: &calendar, urgent_reply_days: 7 };
        let accepted = case_in(CaseState::Accepted, today, &calendar);
        let merge = Command::Merge { into: OTHER_CASE, into_accusation: false, reason: "one matter".into() };
        let events = decide(&subject(), &accepted, merge.clone(), &ctx).unwrap_or_else(|e| panic!("{e:?}"));
        let merged = events.iter().fold(accepted.clone(), |c, e| apply(Some(c), e));
        assert_eq!(merged.merged_into, Some(OTHER_CASE));
        assert_eq!((merged.state, merged.deadlines.clone()), (accepted.state, accepted.deadlines.clone()));
        let again = decide(&subject(), &merged, merge, &ctx);
        assert!(matches!(again, Err(AppError::FailedPrecondition { reason: Reason::AlreadyMerged, .. })), "{again:?}");
        let into_self = decide(
            &subject(),
            &accepted,
            Command::Merge { into: CASE, into_accusation: false, reason: "x".into() },
            &ctx,
        );
        assert!(
            matches!(into_self, Err(AppError::FailedPrecondition { reason: Reason::SelfMerge, .. })),
            "{into_self:?}"
        );
        let events = decide(&subject(), &merged, Command::Unlink { reason: "split".into() }, &ctx)
            .unwrap_or_else(|e| panic!("{e:?}"));
        let unmerged = events.iter().fold(merged, |c, e| apply(Some(c), e));
        assert_eq!(unmerged, accepted);
    }

    #[test]
    fn unlink_needs_a_link() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let ctx = Context { today, calendar: &calendar, urgent_reply_days: 7 };
        for state in CaseState::ALL {
            let case = case_in(*state, today, &calendar);
            let got = decide(&subject(), &case, Command::Unlink { reason: "r".into() }, &ctx);
            let want = if matches!(state, CaseState::Final | CaseState::Withdrawn) {
                Reason::InvalidState
            } else {
                Reason::NotLinked
            };
            assert!(
                matches!(&got, Err(AppError::FailedPrecondition { reason, .. }) if *reason == want),
                "{state:?}: {got:?}"
            );
        }
    }

    #[test]
    fn lifecycles_stored_before_links_existed_still_load() {
        let calendar = WorkCalendar::default();
        let case = case_in(CaseState::Routed, date(2026, 3, 2), &calendar);
        let mut json = serde_json::to_value(&case).unwrap_or_else(|e| panic!("{e}"));
        let object = json.as_object_mut().unwrap_or_else(|| panic!("not an object"));
        for key in ["repeat_of", "escalated", "merged_into"] {
            object.remove(key);
        }
        let loaded: Lifecycle = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded, case);
    }

    /// A closed case takes no lifecycle command; only who may see it can
    /// still change (a court may need a closed case), a legal-aid
    /// application may still be made from it, and lawyers may still advise
    /// on it (a declined matter's route to court, a final answer's
    /// follow-up), and a case declined for litigation may go to a court:
    /// none of which changes its state.
    #[test]
    fn terminal_states_allow_nothing_but_sharing_and_counsel() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        for state in CaseState::ALL.iter().filter(|s| s.is_terminal()) {
            for command in commands(today) {
                let sharing = matches!(
                    command,
                    Command::GrantAccess { .. }
                        | Command::RevokeAccess { .. }
                        | Command::RecordLegalAidApplication { .. }
                );
                let counsel = match &command {
                    Command::RequestLawyer { stage, .. } => stage.states().contains(state),
                    Command::RecordLawyer { participation } => participation.stage.states().contains(state),
                    _ => false,
                };
                // A case declined for litigation goes to a court.
                let to_court = matches!(command, Command::ReferToCourt { .. }) && *state == CaseState::Declined;
                assert_eq!(
                    allowed_in(&command).contains(state),
                    sharing || counsel || to_court,
                    "{} in {state:?}",
                    command.name()
                );
            }
            let _ = case_in(*state, today, &calendar);
        }
    }

    #[test]
    fn routing_deadline_rolls_past_the_national_day_holiday() {
        let calendar = national_day_2025();
        // Registered Sep 20: day 15 is Oct 5, a holiday; the period ends on
        // Oct 9, the first working day after the holiday.
        let Event::Registered { route_by, .. } = register(Track::Normal, date(2025, 9, 20), &calendar) else {
            panic!("not a registration")
        };
        assert_eq!(route_by, date(2025, 10, 9));
        // A plain week: registered Mar 2, 2026 (Mon) → Mar 17 (Tue).
        let Event::Registered { route_by, .. } = register(Track::Normal, date(2026, 3, 2), &WorkCalendar::default())
        else {
            panic!("not a registration")
        };
        assert_eq!(route_by, date(2026, 3, 17));
    }

    #[test]
    fn objection_window_counts_make_up_workdays_and_skips_holidays() {
        let calendar = national_day_2025();
        let ctx = Context { today: date(2025, 9, 26), calendar: &calendar, urgent_reply_days: 7 };
        let case = apply(
            Some(case_in(CaseState::Registered, date(2025, 9, 26), &calendar)),
            &route_by_rule(UNIT, RoutingMode::Forward, &ctx),
        );
        // Routed Fri Sep 26: working days Sep 28 (make-up Sun), 29, 30, then
        // Oct 9 and Oct 10 → the fifth is Oct 10.
        assert_eq!(case.deadlines.object_by, Some(date(2025, 10, 10)));
        let late = Context { today: date(2025, 10, 11), calendar: &calendar, urgent_reply_days: 7 };
        match decide(&subject(), &case, Command::Object { reason: "x".into() }, &late) {
            Err(AppError::FailedPrecondition { reason, .. }) => assert_eq!(reason, Reason::ObjectionWindowClosed),
            other => panic!("{other:?}"),
        }
        let in_time = Context { today: date(2025, 10, 10), calendar: &calendar, urgent_reply_days: 7 };
        let events = decide(&subject(), &case, Command::Object { reason: "x".into() }, &in_time).unwrap_or_default();
        assert_eq!(fold_from(case, &events).state, CaseState::Registered);
    }

    fn fold_from(case: Lifecycle, events: &[Event]) -> Lifecycle {
        events.iter().fold(case, |c, e| apply(Some(c), e))
    }

    #[test]
    fn tracks_set_the_reply_deadline() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2); // Monday
        let ctx = Context { today, calendar: &calendar, urgent_reply_days: 7 };
        let routed = case_in(CaseState::Routed, today, &calendar);
        let accepted = fold_from(
            routed.clone(),
            &decide(&subject(), &routed, Command::Accept { note: String::new() }, &ctx).unwrap_or_default(),
        );
        assert_eq!(accepted.deadlines.reply_by, Some(date(2026, 5, 1)), "60 days; May 1 2026 is a Friday");
        let simple =
            Command::SetTrack { track: Track::Simple, reason: "clear".into(), first_time: true, report_to: None };
        let simple = fold_from(accepted.clone(), &decide(&subject(), &accepted, simple, &ctx).unwrap_or_default());
        assert_eq!(simple.deadlines.reply_by, Some(date(2026, 3, 16)), "10 working days");
        let urgent = Command::SetTrack {
            track: Track::Urgent,
            reason: "安全隐患".into(),
            first_time: false,
            report_to: Some(TOP),
        };
        let events = decide(&subject(), &accepted, urgent, &ctx).unwrap_or_default();
        assert!(
            events.iter().any(|e| matches!(e, Event::ReportedUpward { organization_id: Some(TOP), .. })),
            "URGENT is reported upward"
        );
        assert_eq!(fold_from(accepted.clone(), &events).deadlines.reply_by, Some(date(2026, 3, 9)));
        let not_first =
            Command::SetTrack { track: Track::Simple, reason: String::new(), first_time: false, report_to: None };
        match decide(&subject(), &accepted, not_first, &ctx) {
            Err(AppError::FailedPrecondition { reason, .. }) => assert_eq!(reason, Reason::NotFirstTime),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn extension_once_by_at_most_thirty_days() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let ctx = Context { today, calendar: &calendar, urgent_reply_days: 7 };
        let accepted = case_in(CaseState::Accepted, today, &calendar);
        for days in [0, 31] {
            assert!(matches!(
                decide(&subject(), &accepted, Command::Extend { days, reason: "x".into() }, &ctx),
                Err(AppError::InvalidArgument(_))
            ));
        }
        let extended = fold_from(
            accepted.clone(),
            &decide(&subject(), &accepted, Command::Extend { days: 30, reason: "复杂".into() }, &ctx)
                .unwrap_or_default(),
        );
        assert!(extended.extended);
        // May 1 + 30 = May 31 2026, a Sunday → Jun 1.
        assert_eq!(extended.deadlines.reply_by, Some(date(2026, 6, 1)));
        match decide(&subject(), &extended, Command::Extend { days: 1, reason: "again".into() }, &ctx) {
            Err(AppError::FailedPrecondition { reason, .. }) => assert_eq!(reason, Reason::AlreadyExtended),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn review_windows_close_after_thirty_days() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let replied = case_in(CaseState::Replied, today, &calendar);
        assert_eq!(replied.deadlines.review_request_by, Some(date(2026, 4, 1)));
        let late = Context { today: date(2026, 4, 2), calendar: &calendar, urgent_reply_days: 7 };
        let request = Command::RequestReview { reason: "x".into(), reviewing_organization_id: Some(SUPERIOR) };
        match decide(&subject(), &replied, request.clone(), &late) {
            Err(AppError::FailedPrecondition { reason, .. }) => assert_eq!(reason, Reason::ReviewWindowClosed),
            other => panic!("{other:?}"),
        }
        let last_day = Context { today: date(2026, 4, 1), calendar: &calendar, urgent_reply_days: 7 };
        let review = fold_from(replied.clone(), &decide(&subject(), &replied, request, &last_day).unwrap_or_default());
        assert_eq!(review.reviewing_organization_id, Some(SUPERIOR));
        assert_eq!(review.deadlines.review_by, Some(date(2026, 5, 1)), "30 days from the request");
    }

    #[test]
    fn hearings_stop_the_recheck_clock() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let case = case_in(CaseState::UnderRecheck, today, &calendar);
        assert_eq!(case.deadlines.recheck_by, Some(date(2026, 4, 1)));
        assert_eq!(due_date(&case), Some(date(2026, 4, 1)));
        let day10 = Context { today: date(2026, 3, 12), calendar: &calendar, urgent_reply_days: 7 };
        let paused = fold_from(
            case.clone(),
            &decide(&subject(), &case, Command::PauseRecheck { reason: "听证".into() }, &day10).unwrap_or_default(),
        );
        assert_eq!(paused.recheck_paused_days_left, Some(20));
        assert_eq!(due_date(&paused), None, "no clock runs during the hearing");
        let again = decide(&subject(), &paused, Command::PauseRecheck { reason: "x".into() }, &day10);
        assert!(matches!(again, Err(AppError::FailedPrecondition { reason: Reason::AlreadyPaused, .. })));
        let day40 = Context { today: date(2026, 4, 11), calendar: &calendar, urgent_reply_days: 7 };
        let resumed = fold_from(
            paused.clone(),
            &decide(&subject(), &paused, Command::ResumeRecheck { note: String::new() }, &day40).unwrap_or_default(),
        );
        // 20 days left from Apr 11 → May 1 (Friday).
        assert_eq!(resumed.deadlines.recheck_by, Some(date(2026, 5, 1)));
        assert_eq!(due_date(&resumed), Some(date(2026, 5, 1)));
    }

    #[test]
    fn completion_reports_only_for_assignments_and_once() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let ctx = Context { today, calendar: &calendar, urgent_reply_days: 7 };
        let replied = case_in(CaseState::Replied, today, &calendar);
        assert_eq!(due_date(&replied), replied.deadlines.report_by, "the report binds once replied");
        let reported = fold_from(
            replied.clone(),
            &decide(&subject(), &replied, Command::ReportCompletion { report: "r".into() }, &ctx).unwrap_or_default(),
        );
        assert_eq!(due_date(&reported), None);
        assert!(matches!(
            decide(&subject(), &reported, Command::ReportCompletion { report: "r".into() }, &ctx),
            Err(AppError::FailedPrecondition { reason: Reason::AlreadyReported, .. })
        ));
        let mut forwarded = replied;
        forwarded.routing_mode = Some(RoutingMode::Forward);
        assert!(matches!(
            decide(&subject(), &forwarded, Command::ReportCompletion { report: "r".into() }, &ctx),
            Err(AppError::FailedPrecondition { reason: Reason::NotAssigned, .. })
        ));
    }

    #[test]
    fn due_date_follows_the_state() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        for state in CaseState::ALL {
            let case = case_in(*state, today, &calendar);
            let d = &case.deadlines;
            let want = match state {
                CaseState::Registered => d.route_by,
                CaseState::Routed => d.accept_by,
                CaseState::Accepted => d.reply_by,
                CaseState::Replied => d.report_by,
                CaseState::UnderReview => d.review_by,
                CaseState::UnderRecheck => d.recheck_by,
                _ => None,
            };
            assert_eq!(due_date(&case), want, "{state:?}");
        }
    }

    /// Decides `steps` in turn on a case registered `today` with `filed`
    /// (what intake recorded), each against the lifecycle the ones before
    /// made; panics on a refusal. The log, and the lifecycle applied event
    /// by event.
    fn log_of(
        filed: &[Event],
        steps: Vec<Command>,
        today: NaiveDate,
        calendar: &WorkCalendar,
    ) -> (Vec<Event>, Lifecycle) {
        let ctx = Context { today, calendar, urgent_reply_days: 7 };
        let mut log = vec![register(Track::Normal, today, calendar)];
        let mut case = apply(None, &log[0]);
        for event in filed {
            case = apply(Some(case), event);
            log.push(event.clone());
        }
        for step in steps {
            let name = step.name();
            let events = decide(&subject(), &case, step, &ctx).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            for event in &events {
                case = apply(Some(case), event);
            }
            log.extend(events);
        }
        (log, case)
    }

    /// A case leaders own (包案): forwarded, taken by one leader,
    /// reassigned to another, instructed, followed and released, each
    /// decided by the leadership rules.
    fn leadership_log(today: NaiveDate, calendar: &WorkCalendar) -> (Vec<Event>, Lifecycle) {
        use crate::cases::domain::{LeaderAssignment, LeaderNoteKind};
        use crate::cases::leadership::rules::{self as lead, Assigner, Candidate};
        let leader = |n: u128| Candidate {
            account_id: Uuid::from_u128(n),
            is_leader: true,
            disabled: false,
            jurisdiction: Some("360700".into()),
        };
        let (mut log, mut case) = log_of(&[], vec![commands(today)[1].clone()], today, calendar);
        let second = Uuid::from_u128(72);
        let steps = [
            lead::Command::Take { leader: leader(71), note: String::new() },
            lead::Command::Assign {
                leader: Some(leader(72)),
                by: Assigner::Bureau,
                how: LeaderAssignment::Assigned,
                note: "调整包案".into(),
            },
            lead::Command::Record { by: second, kind: LeaderNoteKind::Instruction, text: "限期化解".into() },
            lead::Command::Record { by: second, kind: LeaderNoteKind::Progress, text: "已约谈".into() },
            lead::Command::Release { reason: "已化解".into() },
        ];
        for step in steps {
            let events = lead::decide(&subject(), &case, step, today).unwrap_or_else(|e| panic!("{e:?}"));
            for event in &events {
                case = apply(Some(case), event);
            }
            log.extend(events);
        }
        (log, case)
    }

    /// What loading a year's schedule records on a case just registered:
    /// its routing deadline a day later.
    fn recomputed_on_loading(today: NaiveDate, calendar: &WorkCalendar) -> Event {
        let route_by = clocks::route_by(calendar, today).succ_opt();
        Event::DeadlinesRecomputed {
            year: chrono::Datelike::year(&today),
            deadlines: Deadlines { route_by, ..Deadlines::default() },
        }
    }

    /// Realistic logs that between them hold every kind of event: a filing
    /// linked as a repeat and unlinked, triage, an objection, a merge,
    /// sharing, handling, review and re-review to the end; a decline; a
    /// withdrawal. Each folds to what applying it step by step gave, also
    /// after a round trip through the stored JSON.
    #[test]
    fn events_round_trip_through_json_and_fold_to_the_lifecycle() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        // The commands of `commands`, by name.
        let by_name = |names: &[&str]| -> Vec<Command> {
            let all = commands(today);
            let find = |name: &str| all.iter().find(|c| c.name() == name).cloned();
            names.iter().map(|name| find(name).unwrap_or_else(|| panic!("no {name}"))).collect()
        };
        let urgent = Command::SetTrack {
            track: Track::Urgent,
            reason: "安全隐患".into(),
            first_time: true,
            report_to: Some(TOP),
        };
        let unlink = Command::Unlink { reason: "不是同一事项".into() };
        let main = [
            vec![unlink.clone(), urgent],
            by_name(&["SetCaseTrack", "MergeCases"]),
            vec![unlink],
            by_name(&[
                "AssignCase",
                "ObjectToAssignment",
                "AssignCase",
                "GrantCaseAccess",
                "AcceptCase",
                "ReferCaseToMediation",
            ]),
            vec![Command::ConcludeMediation { dispute_id: OTHER_CASE, outcome: MediationOutcome::Failed }],
            by_name(&[
                "AddFollowUp",
                "ExtendCaseDeadline",
                "RevokeCaseAccess",
                "ReplyToCase",
                "SubmitCompletionReport",
                "RequestReview",
                "ReplyToReview",
                "RequestRecheck",
                "PauseRecheck",
                "ResumeRecheck",
                "ReplyToRecheck",
            ]),
        ]
        .concat();
        let logs = [
            log_of(&[link_repeat(OTHER_CASE, true, 0.9)], main, today, &calendar),
            log_of(
                &[],
                by_name(&["DeclineCase", "CreateLegalAidApplication", "RequestLawyer", "RecordLawyerParticipation"]),
                today,
                &calendar,
            ),
            // Court linkage: declined for litigation, then referred to a
            // court that returned it.
            log_of(
                &[],
                [
                    by_name(&["DeclineCase", "ReferCaseToCourt"]),
                    vec![Command::ConcludeCourtReferral {
                        referral_id: OTHER_CASE,
                        state: ReferralState::Returned,
                        court_case_number: String::new(),
                        outcome: None,
                        close_date: today,
                    }],
                ]
                .concat(),
                today,
                &calendar,
            ),
            // The sweeper warned of the route clock, then saw it pass.
            log_of(
                &[
                    recomputed_on_loading(today, &calendar),
                    Event::DeadlineApproaching {
                        deadline: DeadlineName::RouteBy,
                        due_date: today,
                        organization_id: None,
                    },
                    Event::DeadlineMissed { deadline: DeadlineName::RouteBy, due_date: today, organization_id: None },
                ],
                by_name(&["ForwardCase", "WithdrawCase"]),
                today,
                &calendar,
            ),
            leadership_log(today, &calendar),
        ];
        assert_eq!(
            logs.iter().map(|(_, case)| case.state).collect::<Vec<_>>(),
            [CaseState::Final, CaseState::Declined, CaseState::Declined, CaseState::Withdrawn, CaseState::Routed]
        );
        let mut seen = std::collections::BTreeSet::new();
        for (log, stepwise) in &logs {
            assert_eq!(fold(log).as_ref(), Some(stepwise), "folding the log gives the lifecycle");
            let stored = serde_json::to_value(log).unwrap_or_else(|e| panic!("{e}"));
            let loaded: Vec<Event> = serde_json::from_value(stored).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(&loaded, log, "the stored log reads back");
            assert_eq!(fold(&loaded).as_ref(), Some(stepwise));
            seen.extend(log.iter().map(event_type));
        }
        // Every kind of event: the logs hold them all, and one of each
        // variant reads back as it was written.
        let every = crate::cases::testing::every_event();
        let types: std::collections::BTreeSet<i16> = every.iter().map(event_type).collect();
        assert_eq!(types.len(), every.len(), "one sample per variant");
        let defined: std::collections::BTreeSet<i16> =
            (1..100).filter(|n| petition_proto::v1::CaseEventType::try_from(*n).is_ok()).map(|n| n as i16).collect();
        assert_eq!(types, defined, "one sample of each event type of the contract");
        assert_eq!(seen, types, "the realistic logs hold every kind of event");
        for event in every {
            let json = serde_json::to_value(&event).unwrap_or_else(|e| panic!("{event:?}: {e}"));
            assert_eq!(serde_json::from_value::<Event>(json).ok(), Some(event));
        }
    }

    fn refused_for(result: Result<Vec<Event>, AppError>) -> String {
        match result {
            Err(AppError::InvalidArgument(v)) => {
                format!("invalid {}", v.first().map(|v| v.field.as_str()).unwrap_or(""))
            }
            Err(AppError::FailedPrecondition { reason, .. }) => crate::error::reason_name(reason).to_owned(),
            Err(other) => format!("{other:?}"),
            Ok(_) => "ok".into(),
        }
    }

    /// Routing: the organization must exist and cover the region; an
    /// accusation goes to the discipline channel only (Art.22 ¶4, Art.30).
    #[test]
    fn routing_targets_must_cover_the_case_and_take_accusations_only_to_discipline() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let ctx = Context { today, calendar: &calendar, urgent_reply_days: 7 };
        let case = case_in(CaseState::Registered, today, &calendar);
        let route = |target: Option<Organization>| Command::Route {
            organization_id: UNIT,
            target,
            mode: RoutingMode::Forward,
            report_by: None,
            note: String::new(),
        };
        let at = |kind, region: &str| Some(Organization { id: UNIT, kind, region_path: region.into() });
        let claim = subject();
        let accusation = Subject { kind: CaseKind::Accusation, ..subject() };
        let discipline = OrganizationKind::DisciplineInspection;
        for (who, target, want) in [
            (&claim, None, "invalid organization_id"),
            (&claim, at(OrganizationKind::ResponsibleUnit, "360700/360702"), "ok"),
            (&claim, at(OrganizationKind::ResponsibleUnit, "360700"), "ok"),
            (&claim, at(OrganizationKind::ResponsibleUnit, REGION), "ok"),
            (&claim, at(OrganizationKind::ResponsibleUnit, "360700/360731"), "invalid organization_id"),
            (&claim, at(OrganizationKind::ResponsibleUnit, "360700/360702/360702002"), "invalid organization_id"),
            (&accusation, at(OrganizationKind::ResponsibleUnit, "360700/360702"), "invalid organization_id"),
            (&accusation, at(discipline, "360700"), "ok"),
            (&accusation, at(discipline, "360700/360731"), "invalid organization_id"),
            (&claim, at(discipline, "360700"), "invalid organization_id"),
            (&claim, at(OrganizationKind::Leadership, "360700/360702"), "ok"),
            (&claim, at(OrganizationKind::PetitionBureau, "360700/360702"), "invalid organization_id"),
            (&claim, at(OrganizationKind::Court, "360700/360702"), "invalid organization_id"),
            (&claim, at(OrganizationKind::LegalAidCentre, "360700/360702"), "invalid organization_id"),
            (&claim, at(OrganizationKind::MediationCommittee, "360700/360702"), "invalid organization_id"),
        ] {
            assert_eq!(
                refused_for(decide(who, &case, route(target.clone()), &ctx)),
                want,
                "{:?} to {target:?}",
                who.kind
            );
        }
    }

    /// Art.19 ¶3 and Art.36 ¶3: a decline naming another case names one of
    /// the petitioner's own, open (in progress) or final (concluded).
    #[test]
    fn a_decline_names_another_open_or_final_case_of_the_same_petitioner() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let ctx = Context { today, calendar: &calendar, urgent_reply_days: 7 };
        let case = case_in(CaseState::Registered, today, &calendar);
        let decline = |reason, related: Option<OtherCase>| Command::Decline {
            reason,
            diverted_to: String::new(),
            related_case_id: related.as_ref().map(|o| o.id),
            related,
            explanation: String::new(),
        };
        let other = |petitioner_id, state| Some(OtherCase { id: OTHER_CASE, petitioner_id, state });
        let stranger = Uuid::from_u128(77);
        use CaseState::*;
        use DeclineReason::*;
        for (reason, related, want) in [
            (AlreadyInProgress, other(PETITIONER, Accepted), "ok"),
            (AlreadyInProgress, other(PETITIONER, Replied), "ok"),
            (AlreadyInProgress, other(PETITIONER, Final), "invalid related_case_id"),
            (AlreadyInProgress, other(stranger, Accepted), "invalid related_case_id"),
            (AlreadyInProgress, None, "invalid related_case_id"),
            (
                AlreadyInProgress,
                Some(OtherCase { id: CASE, petitioner_id: PETITIONER, state: Registered }),
                "invalid related_case_id",
            ),
            (ConcludedAfterRecheck, other(PETITIONER, Final), "ok"),
            (ConcludedAfterRecheck, other(PETITIONER, Accepted), "invalid related_case_id"),
            (ConcludedAfterRecheck, other(stranger, Final), "invalid related_case_id"),
        ] {
            assert_eq!(
                refused_for(decide(&subject(), &case, decline(reason, related.clone()), &ctx)),
                want,
                "{reason:?} {related:?}"
            );
        }
    }

    /// Review and re-review go one level up: without a superior in the
    /// directory there is no one to decide.
    #[test]
    fn review_needs_a_superior_organization() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let ctx = Context { today, calendar: &calendar, urgent_reply_days: 7 };
        let replied = case_in(CaseState::Replied, today, &calendar);
        let none = Command::RequestReview { reason: "x".into(), reviewing_organization_id: None };
        assert_eq!(
            refused_for(decide(&subject(), &replied, none, &ctx)),
            crate::error::reason_name(Reason::NoSuperiorOrganization)
        );
        let reviewed = case_in(CaseState::Reviewed, today, &calendar);
        let none = Command::RequestRecheck { reason: "x".into(), reviewing_organization_id: None };
        assert_eq!(
            refused_for(decide(&subject(), &reviewed, none, &ctx)),
            crate::error::reason_name(Reason::NoSuperiorOrganization)
        );
        // A stated issuer must be the deciding organization.
        let under_review = case_in(CaseState::UnderReview, today, &calendar);
        let wrong =
            Command::ReplyToReview { opinion: OpinionDraft { stated_organization_id: Some(UNIT), ..opinion(today) } };
        assert_eq!(refused_for(decide(&subject(), &under_review, wrong, &ctx)), "invalid opinion.organization_id");
        let right = Command::ReplyToReview {
            opinion: OpinionDraft { stated_organization_id: Some(SUPERIOR), ..opinion(today) },
        };
        assert_eq!(refused_for(decide(&subject(), &under_review, right, &ctx)), "ok");
    }

    /// Sharing: partners only, never an accusation, once; revoking what
    /// was granted.
    #[test]
    fn cases_are_shared_with_partners_once_and_never_an_accusation() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let ctx = Context { today, calendar: &calendar, urgent_reply_days: 7 };
        let case = case_in(CaseState::Accepted, today, &calendar);
        let grant = |organization: Option<Organization>| Command::GrantAccess {
            organization_id: COURT,
            organization,
            reason: "referral".into(),
        };
        let kind = |kind| Some(Organization { id: COURT, kind, region_path: "360700".into() });
        for (organization, want) in [
            (None, "invalid organization_id"),
            (kind(OrganizationKind::Court), "ok"),
            (kind(OrganizationKind::LegalAidCentre), "ok"),
            (kind(OrganizationKind::MediationCommittee), "ok"),
            (kind(OrganizationKind::ResponsibleUnit), "invalid organization_id"),
            (kind(OrganizationKind::PetitionBureau), "invalid organization_id"),
        ] {
            assert_eq!(
                refused_for(decide(&subject(), &case, grant(organization.clone()), &ctx)),
                want,
                "{organization:?}"
            );
        }
        let accusation = Subject { kind: CaseKind::Accusation, ..subject() };
        assert_eq!(
            refused_for(decide(&accusation, &case, grant(Some(court())), &ctx)),
            crate::error::reason_name(Reason::AccusationNotShared)
        );
        let revoke = Command::RevokeAccess { organization_id: COURT, reason: "done".into() };
        assert_eq!(
            refused_for(decide(&subject(), &case, revoke.clone(), &ctx)),
            crate::error::reason_name(Reason::NotGranted)
        );
        let events = decide(&subject(), &case, grant(Some(court())), &ctx).unwrap_or_default();
        let shared = fold_from(case.clone(), &events);
        assert_eq!(shared.access_organization_ids, vec![COURT]);
        assert_eq!(
            refused_for(decide(&subject(), &shared, grant(Some(court())), &ctx)),
            crate::error::reason_name(Reason::AlreadyGranted)
        );
        let events = decide(&subject(), &shared, revoke, &ctx).unwrap_or_default();
        let unshared = fold_from(shared, &events);
        assert!(unshared.access_organization_ids.is_empty());
        assert_eq!(unshared, case, "only access changed");
    }

    /// Merges are one level deep, into an open case not itself merged.
    #[test]
    fn merges_go_into_an_open_unmerged_primary_one_level_deep() {
        let calendar = WorkCalendar::default();
        let today = date(2026, 3, 2);
        let open = case_in(CaseState::Accepted, today, &calendar);
        assert!(check_merge(&subject(), &open, &[]).is_ok());
        for closed in [CaseState::Declined, CaseState::Final, CaseState::Withdrawn] {
            let case = case_in(closed, today, &calendar);
            assert!(matches!(
                check_merge(&subject(), &case, &[]),
                Err(AppError::FailedPrecondition { reason: Reason::PrimaryNotOpen, .. })
            ));
        }
        let merged = apply(Some(open.clone()), &Event::Merged { into: OTHER_CASE, reason: "x".into() });
        assert!(matches!(
            check_merge(&subject(), &merged, &[]),
            Err(AppError::FailedPrecondition { reason: Reason::PrimaryNotOpen, .. })
        ));
        assert!(matches!(
            check_merge(&subject(), &open, &[OTHER_CASE]),
            Err(AppError::FailedPrecondition { reason: Reason::HasMergedCases, .. })
        ));
    }
}
