//! The one place that decides whether a principal may do an action to a
//! resource, by role and by jurisdiction subtree. Every RPC calls
//! [`authorize`] before touching data. A resource outside the caller's
//! jurisdiction is reported as NOT_FOUND so its existence is not revealed.

use super::principal::{Principal, Role, Scope};
use crate::error::AppError;
use crate::error::Reason;

/// What the caller wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read one's own account.
    ReadOwnAccount,
    /// Read regions and organizations.
    ReadDirectory,
    /// Create or change regions and organizations.
    WriteDirectory,
    /// List staff members of organizations.
    ListStaff,
    /// Create, read and disable accounts other than one's own.
    ManageAccounts,
    /// Read the workday calendar and compute deadlines on it.
    ReadCalendar,
    /// Replace a year of the workday calendar.
    WriteCalendar,
    /// Read categories and routing rules.
    ReadTaxonomy,
    /// Change categories and routing rules.
    WriteTaxonomy,
}

/// What the action is done to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource<'a> {
    /// The system as a whole (directory writes, account management).
    System,
    /// Something placed in a region, identified by the region's path.
    InRegion { path: &'a str },
}

/// Staff roles that work inside a jurisdiction.
const JURISDICTION_STAFF: [Role; 7] =
    [Role::Clerk, Role::Handler, Role::UnitLead, Role::Leader, Role::Supervisor, Role::Mediator, Role::Lawyer];

/// Whether the principal holds a staff role that works with cases.
pub fn is_case_staff(principal: &Principal) -> bool {
    JURISDICTION_STAFF.iter().any(|role| principal.has_role(*role))
}

/// Staff who see the cases and disputes arising in their jurisdiction:
/// every case role but the mediator's. People's mediators (volunteers,
/// grid workers, village cadres) see their teams' disputes, and cases only
/// through their organization (a grant, a routing).
pub fn sees_by_jurisdiction(principal: &Principal) -> bool {
    JURISDICTION_STAFF.iter().any(|role| *role != Role::Mediator && principal.has_role(*role))
}

/// Whether region `path` lies in the subtree rooted at `root`.
pub fn path_within(path: &str, root: &str) -> bool {
    path == root || (path.len() > root.len() && path.starts_with(root) && path.as_bytes()[root.len()] == b'/')
}

/// Whether `path` is inside the principal's jurisdiction (admins: everywhere).
pub fn in_jurisdiction(principal: &Principal, path: &str) -> bool {
    principal.is_admin() || principal.jurisdiction.as_deref().is_some_and(|root| path_within(path, root))
}

fn denied(action: Action) -> AppError {
    AppError::permission_denied(Reason::PermissionDenied, format!("your role may not {}", describe(action)))
}

fn describe(action: Action) -> &'static str {
    match action {
        Action::ReadOwnAccount => "read your account",
        Action::ReadDirectory => "read the directory",
        Action::WriteDirectory => "change the directory",
        Action::ListStaff => "list staff",
        Action::ManageAccounts => "manage accounts",
        Action::ReadCalendar => "read the calendar",
        Action::WriteCalendar => "change the calendar",
        Action::ReadTaxonomy => "read the taxonomy",
        Action::WriteTaxonomy => "change the taxonomy",
    }
}

/// Allows or denies `action` on `resource` for `principal`.
pub fn authorize(principal: &Principal, action: Action, resource: Resource<'_>) -> Result<(), AppError> {
    if principal.is_admin() {
        return Ok(());
    }
    let is_staff = JURISDICTION_STAFF.iter().any(|role| principal.has_role(*role));
    let role_allows = match action {
        Action::ReadOwnAccount | Action::ReadCalendar | Action::ReadTaxonomy => true,
        Action::ReadDirectory => {
            principal.has_role(Role::Citizen) || is_staff || principal.scopes.contains(&Scope::DirectoryRead)
        }
        Action::ListStaff => is_staff,
        Action::WriteDirectory | Action::ManageAccounts | Action::WriteCalendar | Action::WriteTaxonomy => false,
    };
    if !role_allows {
        return Err(denied(action));
    }
    match (action, resource) {
        (Action::ListStaff, Resource::InRegion { path }) if !in_jurisdiction(principal, path) => {
            Err(AppError::NotFound { resource: "organization" })
        }
        _ => Ok(()),
    }
}

/// What a caller wants to do to a case (or, for filing, to a place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseAction {
    /// File a case online as oneself (citizens).
    Submit,
    /// Record a case for a citizen (clerks).
    Register,
    /// See the case and its timeline.
    Read,
    /// Triage, route, or decline before routing (clerks of the jurisdiction).
    Triage,
    /// Accept, object to, or decline a routed case (the handling unit).
    RespondToRouting,
    /// Follow up, reply, report completion (the handling unit).
    Handle,
    /// Approve a deadline extension (the handling unit's lead, Art.34).
    ApproveExtension,
    /// Ask for review or re-review, withdraw (the petitioner).
    ActAsPetitioner,
    /// Decide a review or re-review (the reviewing organization).
    DecideReview,
    /// Give a partner organization access to the case, or end it (clerks of
    /// the jurisdiction, admins).
    Share,
    /// Record a lawyer's part in the case: the lawyer, or the bureau's
    /// clerks or the handling unit for a lawyer without an account.
    Counsel,
    /// Own the case as a leader (包案): a leader of the jurisdiction.
    TakeOwnership,
    /// Make a leader own the case: a clerk of the jurisdiction, or a leader
    /// of it (who assigns only below their level: the rule's check).
    AssignLeader,
    /// End a leader's ownership: the owner, or a clerk of the jurisdiction.
    ReleaseOwnership { owner: Option<uuid::Uuid> },
    /// Record an instruction (批示) or progress: the owning leader only.
    InstructAsOwner { owner: Option<uuid::Uuid> },
}

/// What the policy needs to know about a case.
#[derive(Debug, Clone, Copy)]
pub struct CaseAccess<'a> {
    pub region_path: &'a str,
    pub petitioner_id: uuid::Uuid,
    pub handling_organization_id: Option<uuid::Uuid>,
    pub reviewing_organization_id: Option<uuid::Uuid>,
    /// Partner organizations given access (GrantCaseAccess).
    pub access_organization_ids: &'a [uuid::Uuid],
}

const HANDLING_ROLES: [Role; 2] = [Role::Handler, Role::UnitLead];
/// Who decides who owns a case: the bureau's clerks and leaders.
const LEADERSHIP_ROLES: [Role; 2] = [Role::Clerk, Role::Leader];

/// Whether the principal is the leader who owns the case.
fn owns(principal: &Principal, owner: Option<uuid::Uuid>) -> bool {
    owner == Some(principal.account_id)
}
const REVIEWING_ROLES: [Role; 3] = [Role::Handler, Role::UnitLead, Role::Leader];

fn holds_any(principal: &Principal, roles: &[Role]) -> bool {
    roles.iter().any(|role| principal.has_role(*role))
}

fn works_for(principal: &Principal, organization: Option<uuid::Uuid>) -> bool {
    organization.is_some() && principal.organization_id == organization
}

/// Whether the principal reads cases on behalf of `organization`: its
/// staff, or its partner service accounts holding the read scope.
pub fn reads_for(principal: &Principal, organization: uuid::Uuid) -> bool {
    let reader = JURISDICTION_STAFF.iter().any(|role| principal.has_role(*role))
        || (principal.has_role(Role::Partner) && principal.scopes.contains(&Scope::CasesRead));
    reader && principal.organization_id == Some(organization)
}

/// Whether the principal may see the case at all. Those who may not get
/// NOT_FOUND for every action, so a case's existence leaks to no one. The
/// change feed shows exactly the events of these cases ([`can_see_case_event`]).
pub fn can_see_case(principal: &Principal, case: &CaseAccess<'_>) -> bool {
    if principal.is_admin() || principal.account_id == case.petitioner_id {
        return true;
    }
    let is_staff = JURISDICTION_STAFF.iter().any(|role| principal.has_role(*role));
    let through_work = (sees_by_jurisdiction(principal) && in_jurisdiction(principal, case.region_path))
        || (is_staff
            && (works_for(principal, case.handling_organization_id)
                || works_for(principal, case.reviewing_organization_id)));
    through_work || case.access_organization_ids.iter().any(|org| reads_for(principal, *org))
}

/// Whether the principal may see one event of a case: those who may see
/// the case see all its events; an organization also sees the events that
/// give or end its access (`addressed_to`), so that it learns of a
/// revocation it can no longer see the case through.
pub fn can_see_case_event(principal: &Principal, case: &CaseAccess<'_>, addressed_to: Option<uuid::Uuid>) -> bool {
    can_see_case(principal, case) || addressed_to.is_some_and(|org| reads_for(principal, org))
}

fn case_denied(action: CaseAction) -> AppError {
    let what = match action {
        CaseAction::Submit => "file cases online",
        CaseAction::Register => "register cases",
        CaseAction::Read => "read this case",
        CaseAction::Triage => "triage or route this case",
        CaseAction::RespondToRouting => "accept, object to or decline this case",
        CaseAction::Handle => "handle this case",
        CaseAction::ApproveExtension => "extend this case's deadline",
        CaseAction::ActAsPetitioner => "act for the petitioner",
        CaseAction::DecideReview => "decide this review",
        CaseAction::Share => "share this case with a partner organization",
        CaseAction::Counsel => "record a lawyer's part in this case",
        CaseAction::TakeOwnership => "own this case as a leader",
        CaseAction::AssignLeader => "assign this case to a leader",
        CaseAction::ReleaseOwnership { .. } => "end the ownership of this case",
        CaseAction::InstructAsOwner { .. } => "record instructions on a case you do not own",
    };
    AppError::permission_denied(Reason::PermissionDenied, format!("you may not {what}"))
}

/// A refusal to a caller whose role allows the action, but not here.
fn outside_jurisdiction(what: &str) -> AppError {
    AppError::permission_denied(Reason::OutsideJurisdiction, format!("{what} is outside your jurisdiction"))
}

/// Filing: `Submit` needs a citizen; `Register` a clerk whose jurisdiction
/// holds the region where the matter arose (`region_path`).
pub fn authorize_filing(principal: &Principal, action: CaseAction, region_path: &str) -> Result<(), AppError> {
    let allowed = match action {
        CaseAction::Submit => principal.has_role(Role::Citizen),
        CaseAction::Register if principal.has_role(Role::Clerk) && !in_jurisdiction(principal, region_path) => {
            return Err(outside_jurisdiction("the region where the matter arose"));
        }
        CaseAction::Register => principal.has_role(Role::Clerk),
        _ => false,
    };
    if allowed { Ok(()) } else { Err(case_denied(action)) }
}

/// Allows or denies `action` on an existing case. Admins may read every
/// case but act on none: handling is the work of the organizations the
/// law names.
pub fn authorize_case(principal: &Principal, action: CaseAction, case: &CaseAccess<'_>) -> Result<(), AppError> {
    if !can_see_case(principal, case) {
        return Err(AppError::NotFound { resource: "case" });
    }
    let allowed = match action {
        CaseAction::Read => true,
        CaseAction::Submit | CaseAction::Register => false,
        CaseAction::Triage | CaseAction::Share
            if principal.has_role(Role::Clerk) && !in_jurisdiction(principal, case.region_path) =>
        {
            return Err(outside_jurisdiction("this case"));
        }
        CaseAction::TakeOwnership | CaseAction::AssignLeader | CaseAction::ReleaseOwnership { .. }
            if holds_any(principal, &LEADERSHIP_ROLES) && !in_jurisdiction(principal, case.region_path) =>
        {
            return Err(outside_jurisdiction("this case"));
        }
        CaseAction::Triage => principal.has_role(Role::Clerk),
        CaseAction::TakeOwnership => principal.has_role(Role::Leader),
        CaseAction::AssignLeader => holds_any(principal, &LEADERSHIP_ROLES),
        CaseAction::ReleaseOwnership { owner } => {
            principal.has_role(Role::Clerk) || (principal.has_role(Role::Leader) && owns(principal, owner))
        }
        CaseAction::InstructAsOwner { owner } => principal.has_role(Role::Leader) && owns(principal, owner),
        CaseAction::RespondToRouting | CaseAction::Handle => {
            holds_any(principal, &HANDLING_ROLES) && works_for(principal, case.handling_organization_id)
        }
        CaseAction::ApproveExtension => {
            principal.has_role(Role::UnitLead) && works_for(principal, case.handling_organization_id)
        }
        CaseAction::ActAsPetitioner => principal.account_id == case.petitioner_id,
        CaseAction::DecideReview => {
            holds_any(principal, &REVIEWING_ROLES) && works_for(principal, case.reviewing_organization_id)
        }
        // Sharing is a decision about access, not handling: admins may.
        CaseAction::Share => principal.is_admin() || principal.has_role(Role::Clerk),
        CaseAction::Counsel => {
            principal.has_role(Role::Lawyer)
                || (principal.has_role(Role::Clerk) && in_jurisdiction(principal, case.region_path))
                || (holds_any(principal, &HANDLING_ROLES) && works_for(principal, case.handling_organization_id))
        }
    };
    if allowed { Ok(()) } else { Err(case_denied(action)) }
}

/// A principal's membership of a mediation team, as the policy needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub team_id: uuid::Uuid,
    pub head: bool,
    /// The team's level (`RegionLevel` value: 1 city … 4 village).
    pub level: i16,
    /// Paths of the regions the team covers.
    pub covered_paths: Vec<String>,
}

impl Membership {
    /// A head of a team above the village level oversees the disputes of
    /// the regions it covers (the township's or county's mediation office).
    fn oversees(&self, region_path: &str) -> bool {
        self.head && self.level < VILLAGE_LEVEL && self.covered_paths.iter().any(|root| path_within(region_path, root))
    }
}

const VILLAGE_LEVEL: i16 = 4;

/// What a caller wants to do to a dispute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisputeAction {
    /// See it and its timeline.
    Read,
    /// Consent, refuse, or object to the mediator: a party for themselves,
    /// or the team recording what a party said.
    ActForParty,
    /// Assign a mediator, escalate (a head of its team).
    Manage,
    /// Sessions, agreement, failure, performance, applying for
    /// confirmation (its mediator or a head of its team).
    Mediate,
    /// Answer the application for confirmation (the court applied to).
    AnswerConfirmation,
}

/// What the policy needs to know about a dispute.
#[derive(Debug, Clone, Copy)]
pub struct DisputeAccess<'a> {
    pub region_path: &'a str,
    pub team_id: uuid::Uuid,
    /// Every team it passed through, the current one included.
    pub team_ids: &'a [uuid::Uuid],
    /// The account of its mediator, when they have one.
    pub mediator_account_id: Option<uuid::Uuid>,
    pub party_account_ids: &'a [uuid::Uuid],
    pub referring_court_id: Option<uuid::Uuid>,
    pub confirmation_court_id: Option<uuid::Uuid>,
    /// The handling unit of the case it was referred from.
    pub referring_organization_id: Option<uuid::Uuid>,
}

fn member_of<'m>(principal: &Principal, memberships: &'m [Membership], team: uuid::Uuid) -> Option<&'m Membership> {
    if !principal.has_role(Role::Mediator) {
        return None;
    }
    memberships.iter().find(|m| m.team_id == team)
}

/// Whether the principal may see the dispute at all; those who may not
/// get NOT_FOUND for every action. The change feed and ListDisputes show
/// exactly these (`mediation::store::visibility` is the SQL twin).
pub fn can_see_dispute(principal: &Principal, memberships: &[Membership], dispute: &DisputeAccess<'_>) -> bool {
    if principal.is_admin() || dispute.party_account_ids.contains(&principal.account_id) {
        return true;
    }
    let by_jurisdiction = sees_by_jurisdiction(principal) && in_jurisdiction(principal, dispute.region_path);
    let by_team = principal.has_role(Role::Mediator)
        && memberships.iter().any(|m| dispute.team_ids.contains(&m.team_id) || m.oversees(dispute.region_path));
    let by_organization = [dispute.referring_court_id, dispute.confirmation_court_id]
        .into_iter()
        .flatten()
        .any(|court| reads_for(principal, court))
        || dispute
            .referring_organization_id
            .is_some_and(|org| sees_by_jurisdiction(principal) && principal.organization_id == Some(org));
    by_jurisdiction || by_team || by_organization
}

/// Allows or denies `action` on a dispute. Admins read every dispute and
/// act on none.
pub fn authorize_dispute(
    principal: &Principal,
    memberships: &[Membership],
    action: DisputeAction,
    dispute: &DisputeAccess<'_>,
) -> Result<(), AppError> {
    if !can_see_dispute(principal, memberships, dispute) {
        return Err(AppError::NotFound { resource: "dispute" });
    }
    let current = member_of(principal, memberships, dispute.team_id);
    let head = current.is_some_and(|m| m.head);
    let mediator = current.is_some() && dispute.mediator_account_id == Some(principal.account_id);
    let allowed = match action {
        DisputeAction::Read => true,
        DisputeAction::ActForParty => dispute.party_account_ids.contains(&principal.account_id) || head || mediator,
        DisputeAction::Manage => head,
        DisputeAction::Mediate => head || mediator,
        DisputeAction::AnswerConfirmation => dispute.confirmation_court_id.is_some_and(|court| {
            principal.organization_id == Some(court)
                && principal.has_role(Role::Partner)
                && principal.scopes.contains(&Scope::CasesWrite)
        }),
    };
    if allowed {
        Ok(())
    } else {
        let what = match action {
            DisputeAction::Read => "read this dispute",
            DisputeAction::ActForParty => "act for a party to this dispute",
            DisputeAction::Manage => "assign this dispute's mediator or escalate it (a head of its team may)",
            DisputeAction::Mediate => "mediate this dispute (its mediator or a head of its team may)",
            DisputeAction::AnswerConfirmation => "answer for the court",
        };
        Err(AppError::permission_denied(Reason::PermissionDenied, format!("you may not {what}")))
    }
}

/// What a caller wants to do with mediation teams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamAction {
    /// Read teams (everyone who reads the directory).
    Read,
    /// Create, change or retire teams (admins).
    Administer,
    /// Add or remove members (admins, a head of the team).
    ManageMembers,
    /// List members with their load (the team, staff of its jurisdiction,
    /// heads overseeing it, admins).
    ListMembers,
    /// Record a screening round or a dispute brought to the team (its
    /// members).
    Work,
    /// Read the team's screening rounds (as ListMembers).
    ReadScreenings,
}

/// What the policy needs to know about a team.
#[derive(Debug, Clone, Copy)]
pub struct TeamAccess<'a> {
    pub id: uuid::Uuid,
    pub region_path: &'a str,
}

/// Allows or denies `action` on a team (`None` for actions on no team
/// yet: creating one, listing).
pub fn authorize_team(
    principal: &Principal,
    memberships: &[Membership],
    action: TeamAction,
    team: Option<TeamAccess<'_>>,
) -> Result<(), AppError> {
    let member = team.and_then(|t| member_of(principal, memberships, t.id));
    let staff_here = team.is_some_and(|t| sees_by_jurisdiction(principal) && in_jurisdiction(principal, t.region_path));
    let overseer = team
        .is_some_and(|t| principal.has_role(Role::Mediator) && memberships.iter().any(|m| m.oversees(t.region_path)));
    let allowed = match action {
        TeamAction::Read => authorize(principal, Action::ReadDirectory, Resource::System).is_ok(),
        TeamAction::Administer => principal.is_admin(),
        TeamAction::ManageMembers => principal.is_admin() || member.is_some_and(|m| m.head),
        TeamAction::ListMembers => principal.is_admin() || member.is_some() || staff_here || overseer,
        TeamAction::Work => member.is_some(),
        TeamAction::ReadScreenings => principal.is_admin() || member.is_some() || staff_here || overseer,
    };
    if allowed {
        Ok(())
    } else {
        Err(AppError::permission_denied(Reason::PermissionDenied, "your role may not do this for this team"))
    }
}

/// Mediation statistics and coverage of a region subtree: admins, staff
/// whose jurisdiction holds it, and the heads of a team covering it (a
/// village team's head reads their village's figures).
pub fn authorize_mediation_statistics(
    principal: &Principal,
    memberships: &[Membership],
    region_path: &str,
) -> Result<(), AppError> {
    let heads_a_team_covering =
        |m: &Membership| m.head && m.covered_paths.iter().any(|root| path_within(region_path, root));
    if principal.is_admin()
        || (sees_by_jurisdiction(principal) && in_jurisdiction(principal, region_path))
        || (principal.has_role(Role::Mediator) && memberships.iter().any(heads_a_team_covering))
    {
        return Ok(());
    }
    if is_case_staff(principal) {
        return Err(outside_jurisdiction("this region"));
    }
    Err(AppError::permission_denied(Reason::PermissionDenied, "your role may not read mediation statistics"))
}

// ---- Legal aid ---------------------------------------------------------

/// What a caller wants to do to a legal-aid application.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegalAidAction {
    /// See it and its timeline.
    Read,
    /// Withdraw it, file an objection: the applicant's account.
    ActAsApplicant,
    /// Record materials supplied: the applicant, or the centre recording
    /// what was handed in at its counter.
    Supply,
    /// Ask for materials, decide, grant first, record papers, clear
    /// conflicts, assign, terminate, record a withdrawal for missing
    /// materials: the centre's staff and write partners.
    Review,
    /// The closing report: the assigned lawyer's account, or the centre.
    Report,
    /// Decide an objection: staff of the justice bureau above the centre.
    DecideObjection,
}

/// What the policy needs to know about a legal-aid application.
#[derive(Debug, Clone, Copy)]
pub struct LegalAidAccess {
    pub centre_organization_id: uuid::Uuid,
    pub bureau_organization_id: Option<uuid::Uuid>,
    pub origin_organization_id: Option<uuid::Uuid>,
    pub applicant_account_id: Option<uuid::Uuid>,
    pub lawyer_account_id: Option<uuid::Uuid>,
}

/// Staff roles that read an organization's legal-aid applications (a
/// lawyer reads only the matters assigned to them).
const LEGAL_AID_STAFF: [Role; 5] = [Role::Clerk, Role::Handler, Role::UnitLead, Role::Leader, Role::Supervisor];
/// Staff roles that decide for their organization.
const LEGAL_AID_DECIDERS: [Role; 3] = [Role::Handler, Role::UnitLead, Role::Leader];

fn legal_aid_staff_of(principal: &Principal, organization: Option<uuid::Uuid>) -> bool {
    holds_any(principal, &LEGAL_AID_STAFF) && works_for(principal, organization)
}

/// The centre's staff who decide, or its partner accounts with the write scope.
fn writes_for_centre(principal: &Principal, centre: uuid::Uuid) -> bool {
    let staff = holds_any(principal, &LEGAL_AID_DECIDERS);
    let partner = principal.has_role(Role::Partner) && principal.scopes.contains(&Scope::CasesWrite);
    (staff || partner) && principal.organization_id == Some(centre)
}

/// Whether the principal may see the application at all; those who may not
/// get NOT_FOUND for every action. ListLegalAidApplications and the change
/// feed show exactly these (`legal_aid::store::Visibility` is the SQL twin).
pub fn can_see_legal_aid(principal: &Principal, application: &LegalAidAccess) -> bool {
    let own = |id: Option<uuid::Uuid>| id == Some(principal.account_id);
    principal.is_admin()
        || own(application.applicant_account_id)
        || (principal.has_role(Role::Lawyer) && own(application.lawyer_account_id))
        || legal_aid_staff_of(principal, Some(application.centre_organization_id))
        || (principal.has_role(Role::Partner)
            && principal.scopes.contains(&Scope::CasesRead)
            && principal.organization_id == Some(application.centre_organization_id))
        || legal_aid_staff_of(principal, application.bureau_organization_id)
        || legal_aid_staff_of(principal, application.origin_organization_id)
}

/// Allows or denies `action` on a legal-aid application. Admins read every
/// application and act on none.
pub fn authorize_legal_aid(
    principal: &Principal,
    action: LegalAidAction,
    application: &LegalAidAccess,
) -> Result<(), AppError> {
    if !can_see_legal_aid(principal, application) {
        return Err(AppError::NotFound { resource: "legal-aid application" });
    }
    let applicant = application.applicant_account_id == Some(principal.account_id);
    let centre = writes_for_centre(principal, application.centre_organization_id);
    let allowed = match action {
        LegalAidAction::Read => true,
        LegalAidAction::ActAsApplicant => applicant,
        LegalAidAction::Supply => applicant || centre,
        LegalAidAction::Review => centre,
        LegalAidAction::Report => {
            centre || (principal.has_role(Role::Lawyer) && application.lawyer_account_id == Some(principal.account_id))
        }
        LegalAidAction::DecideObjection => {
            holds_any(principal, &LEGAL_AID_DECIDERS) && works_for(principal, application.bureau_organization_id)
        }
    };
    if allowed {
        return Ok(());
    }
    let what = match action {
        LegalAidAction::Read => "read this application",
        LegalAidAction::ActAsApplicant => "act for the applicant",
        LegalAidAction::Supply => "record materials for this application",
        LegalAidAction::Review => "review this application (the legal-aid centre's staff may)",
        LegalAidAction::Report => "report on this matter (its lawyer or the centre may)",
        LegalAidAction::DecideObjection => "decide this objection (the justice bureau above the centre may)",
    };
    Err(AppError::permission_denied(Reason::PermissionDenied, format!("you may not {what}")))
}

// ---- Court linkage (CourtService) ---------------------------------------

/// What a caller wants to do to a court referral.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CourtReferralAction {
    /// See it and its timeline.
    Read,
    /// Take it back before the court acknowledged it (the referring
    /// organization's staff).
    Withdraw,
    /// Acknowledge, file, schedule hearings, record the outcome, return it
    /// (the court's partner accounts holding cases.write).
    ActAsCourt,
}

/// What the policy needs to know about a court referral.
#[derive(Debug, Clone, Copy)]
pub struct CourtReferralAccess<'a> {
    pub court_id: uuid::Uuid,
    pub referring_organization_id: Option<uuid::Uuid>,
    /// The referred case, as it is now.
    pub case: CaseAccess<'a>,
}

/// Whether the principal may see the referral at all: admins, the court
/// (its staff, its partners with cases.read), and whoever may see the case.
/// Those who may not get NOT_FOUND for every action; ListCourtReferrals
/// (`courts::store::ReferralVisibility`) and the change feed show exactly
/// these.
pub fn can_see_court_referral(principal: &Principal, referral: &CourtReferralAccess<'_>) -> bool {
    principal.is_admin() || reads_for(principal, referral.court_id) || can_see_case(principal, &referral.case)
}

/// Allows or denies `action` on a court referral. Admins read and act on
/// none.
pub fn authorize_court_referral(
    principal: &Principal,
    action: CourtReferralAction,
    referral: &CourtReferralAccess<'_>,
) -> Result<(), AppError> {
    if !can_see_court_referral(principal, referral) {
        return Err(AppError::NotFound { resource: "court referral" });
    }
    let allowed = match action {
        CourtReferralAction::Read => true,
        CourtReferralAction::Withdraw => {
            !principal.is_admin()
                && is_case_staff(principal)
                && works_for(principal, referral.referring_organization_id)
        }
        CourtReferralAction::ActAsCourt => {
            principal.organization_id == Some(referral.court_id)
                && principal.has_role(Role::Partner)
                && principal.scopes.contains(&Scope::CasesWrite)
        }
    };
    if allowed {
        return Ok(());
    }
    let what = match action {
        CourtReferralAction::Read => "read this referral",
        CourtReferralAction::Withdraw => "withdraw this referral (the referring organization's staff may)",
        CourtReferralAction::ActAsCourt => "act for the court (its partner accounts holding cases.write may)",
    };
    Err(AppError::permission_denied(Reason::PermissionDenied, format!("you may not {what}")))
}

// ---- Ratings (RatingService) ---------------------------------------------

/// What a caller wants to do to a rating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatingAction {
    /// See it and its timeline.
    Read,
    /// Rate online, or change one's rating (the petitioner).
    Submit,
    /// Record a rating given by phone, at a return visit or in person (a
    /// clerk of the case's jurisdiction).
    Record,
}

/// What the policy needs to know about a rating.
#[derive(Debug, Clone, Copy)]
pub struct RatingAccess<'a> {
    /// The case's region.
    pub region_path: &'a str,
    pub petitioner_id: uuid::Uuid,
    pub acceptance_organization_id: Option<uuid::Uuid>,
    pub handling_organization_id: uuid::Uuid,
}

/// Staff who see every rating of their jurisdiction's subtree: the
/// bureau's clerks, leaders and supervisors (handlers see their own
/// organization's).
pub const RATING_OVERSIGHT: [Role; 3] = [Role::Clerk, Role::Leader, Role::Supervisor];

/// Whether the principal may see the rating at all: admins, the
/// petitioner, staff of a rated organization, and clerks, leaders and
/// supervisors whose jurisdiction holds the case. Those who may not get
/// NOT_FOUND for every action; ListRatings (`ratings::store::RatingVisibility`)
/// and the change feed show exactly these.
pub fn can_see_rating(principal: &Principal, rating: &RatingAccess<'_>) -> bool {
    principal.is_admin()
        || principal.account_id == rating.petitioner_id
        || (is_case_staff(principal)
            && (works_for(principal, rating.acceptance_organization_id)
                || works_for(principal, Some(rating.handling_organization_id))))
        || (holds_any(principal, &RATING_OVERSIGHT) && in_jurisdiction(principal, rating.region_path))
}

/// Allows or denies `action` on a rating. Admins read every rating and
/// act on none.
pub fn authorize_rating(
    principal: &Principal,
    action: RatingAction,
    rating: &RatingAccess<'_>,
) -> Result<(), AppError> {
    if !can_see_rating(principal, rating) {
        return Err(AppError::NotFound { resource: "rating" });
    }
    let allowed = match action {
        RatingAction::Read => true,
        RatingAction::Submit => !principal.is_admin() && principal.account_id == rating.petitioner_id,
        RatingAction::Record if principal.has_role(Role::Clerk) && !in_jurisdiction(principal, rating.region_path) => {
            return Err(outside_jurisdiction("this rating's case"));
        }
        RatingAction::Record => !principal.is_admin() && principal.has_role(Role::Clerk),
    };
    if allowed {
        return Ok(());
    }
    let what = match action {
        RatingAction::Read => "read this rating",
        RatingAction::Submit => "rate for the petitioner (only they rate online)",
        RatingAction::Record => "record this rating (a clerk of the case's jurisdiction may)",
    };
    Err(AppError::permission_denied(Reason::PermissionDenied, format!("you may not {what}")))
}

// ---- Backlog cases (BacklogService) ---------------------------------------

/// What a caller wants to do to a backlog case (积案).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BacklogAction {
    /// See it and its timeline.
    Read,
    /// Record one or several of the four checks.
    RecordChecks,
    /// Record who was held accountable.
    RecordAccountability,
    /// Resolve it (化解).
    Resolve,
    /// Withdraw a designation made in error.
    Withdraw,
}

/// What the policy needs to know about a backlog case: its case's region
/// and current handling organization.
#[derive(Debug, Clone, Copy)]
pub struct BacklogAccess<'a> {
    pub region_path: &'a str,
    pub handling_organization_id: Option<uuid::Uuid>,
}

/// The petition bureau's staff who see, designate and check the backlog
/// cases of their jurisdiction's subtree.
pub const BACKLOG_OVERSIGHT: [Role; 3] = [Role::Clerk, Role::Leader, Role::Supervisor];
/// The handling organization's staff, who see its backlog cases and
/// record checks.
pub const BACKLOG_HANDLING: [Role; 2] = [Role::Handler, Role::UnitLead];
/// Who holds people accountable, resolves and withdraws: the bureau's
/// leaders and supervisors of the jurisdiction.
const BACKLOG_DECIDERS: [Role; 2] = [Role::Leader, Role::Supervisor];

fn oversees_backlog(principal: &Principal, region_path: &str) -> bool {
    !principal.is_admin() && holds_any(principal, &BACKLOG_OVERSIGHT) && in_jurisdiction(principal, region_path)
}

/// Whether the principal may see the backlog case at all: admins, the
/// bureau's clerks, leaders and supervisors whose jurisdiction holds the
/// case, the handlers and unit leads of its handling organization. Not the
/// petitioner: checks and accountability are internal oversight. Those who
/// may not get NOT_FOUND for every action; ListBacklogCases
/// (`backlog::store::BacklogVisibility`) and the change feed show exactly
/// these.
pub fn can_see_backlog_case(principal: &Principal, backlog: &BacklogAccess<'_>) -> bool {
    principal.is_admin()
        || oversees_backlog(principal, backlog.region_path)
        || (holds_any(principal, &BACKLOG_HANDLING) && works_for(principal, backlog.handling_organization_id))
}

/// Allows or denies `action` on a backlog case. Admins read every backlog
/// case and act on none.
pub fn authorize_backlog_case(
    principal: &Principal,
    action: BacklogAction,
    backlog: &BacklogAccess<'_>,
) -> Result<(), AppError> {
    if !can_see_backlog_case(principal, backlog) {
        return Err(AppError::NotFound { resource: "backlog case" });
    }
    let allowed = match action {
        BacklogAction::Read => true,
        BacklogAction::RecordChecks => {
            oversees_backlog(principal, backlog.region_path)
                || (holds_any(principal, &BACKLOG_HANDLING) && works_for(principal, backlog.handling_organization_id))
        }
        BacklogAction::RecordAccountability | BacklogAction::Resolve | BacklogAction::Withdraw => {
            !principal.is_admin()
                && holds_any(principal, &BACKLOG_DECIDERS)
                && in_jurisdiction(principal, backlog.region_path)
        }
    };
    if allowed {
        return Ok(());
    }
    let what = match action {
        BacklogAction::Read => "read this backlog case",
        BacklogAction::RecordChecks => "record its checks (the bureau or the handling organization may)",
        BacklogAction::RecordAccountability => "record accountability (a leader or supervisor of the bureau may)",
        BacklogAction::Resolve => "resolve it (a leader or supervisor of the bureau may)",
        BacklogAction::Withdraw => "withdraw it (a leader or supervisor of the bureau may)",
    };
    Err(AppError::permission_denied(Reason::PermissionDenied, format!("you may not {what}")))
}

/// Designating a case a backlog case by decision: NOT_FOUND unless the
/// principal may see the case; then the bureau's clerks, leaders and
/// supervisors whose jurisdiction holds it.
pub fn authorize_backlog_designation(principal: &Principal, case: &CaseAccess<'_>) -> Result<(), AppError> {
    if !can_see_case(principal, case) {
        return Err(AppError::NotFound { resource: "case" });
    }
    if oversees_backlog(principal, case.region_path) {
        return Ok(());
    }
    if !principal.is_admin() && holds_any(principal, &BACKLOG_OVERSIGHT) {
        return Err(outside_jurisdiction("this case"));
    }
    Err(AppError::permission_denied(
        Reason::PermissionDenied,
        "you may not designate backlog cases (a clerk, leader or supervisor of the bureau may)",
    ))
}

/// What is done to a supervision item (督办).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupervisionAction {
    /// See it and its timeline.
    Read,
    /// Issue one on a case (asked before the item exists).
    Issue,
    /// Answer it (反馈): the addressed organization.
    Answer,
    /// Review the answer, raise a rung, withdraw: the issuer's supervisors.
    Oversee,
}

/// What the policy needs to know about a supervision item (or, for
/// Issue, the one about to be issued).
#[derive(Debug, Clone, Copy)]
pub struct SupervisionAccess<'a> {
    /// The case's region.
    pub region_path: &'a str,
    /// The organization that must answer.
    pub organization_id: uuid::Uuid,
    pub issuer_organization_id: uuid::Uuid,
}

/// Staff who see every supervision item of their jurisdiction's subtree.
pub const SUPERVISION_OVERSIGHT: [Role; 3] = [Role::Clerk, Role::Leader, Role::Supervisor];

/// Whether the principal may see the item at all: admins, staff of the
/// addressed organization, and clerks, leaders and supervisors whose
/// jurisdiction holds the case. ListSupervisions and the change feed show
/// exactly these.
pub fn can_see_supervision(principal: &Principal, item: &SupervisionAccess<'_>) -> bool {
    principal.is_admin()
        || (is_case_staff(principal) && works_for(principal, Some(item.organization_id)))
        || (holds_any(principal, &SUPERVISION_OVERSIGHT) && in_jurisdiction(principal, item.region_path))
}

/// Allows or denies `action` on a supervision item. Admins read every item
/// and act on none. For Issue, `item` is the one to be issued by the
/// caller's organization.
pub fn authorize_supervision(
    principal: &Principal,
    action: SupervisionAction,
    item: &SupervisionAccess<'_>,
) -> Result<(), AppError> {
    if !can_see_supervision(principal, item) {
        return Err(AppError::NotFound { resource: "supervision" });
    }
    let supervisor = !principal.is_admin() && principal.has_role(Role::Supervisor);
    let allowed = match action {
        SupervisionAction::Read => true,
        SupervisionAction::Issue | SupervisionAction::Oversee if supervisor => {
            if !in_jurisdiction(principal, item.region_path) {
                return Err(outside_jurisdiction("this case"));
            }
            works_for(principal, Some(item.issuer_organization_id))
        }
        SupervisionAction::Issue | SupervisionAction::Oversee => false,
        SupervisionAction::Answer => {
            !principal.is_admin()
                && holds_any(principal, &[Role::Handler, Role::UnitLead])
                && works_for(principal, Some(item.organization_id))
        }
    };
    if allowed {
        return Ok(());
    }
    let what = match action {
        SupervisionAction::Read => "read this supervision item",
        SupervisionAction::Issue => "issue supervision (a supervisor of the case's jurisdiction may)",
        SupervisionAction::Answer => "answer this supervision item (its organization's handlers and unit leads may)",
        SupervisionAction::Oversee => "act on this supervision item (its issuing organization's supervisors may)",
    };
    Err(AppError::permission_denied(Reason::PermissionDenied, format!("you may not {what}")))
}

/// What is done to a reception-day booking (领导接访).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceptionAction {
    /// See it and its timeline.
    Read,
    /// Cancel it: its citizen, or a clerk of the schedule's bureau.
    Cancel,
    /// Record the reception or a no-show: the schedule's leader, or a
    /// clerk of its bureau.
    Record,
}

/// What the policy needs to know about a booking (fixed when booked).
#[derive(Debug, Clone, Copy)]
pub struct ReceptionAccess<'a> {
    /// The schedule's region (where the reception is held).
    pub region_path: &'a str,
    /// The bureau running the schedule.
    pub organization_id: uuid::Uuid,
    pub leader_account_id: uuid::Uuid,
    pub citizen_account_id: uuid::Uuid,
}

/// Staff who see every booking of their jurisdiction's schedules.
pub const RECEPTION_OVERSIGHT: [Role; 3] = [Role::Clerk, Role::Leader, Role::Supervisor];

/// Whether the principal is a clerk of the bureau running a schedule in
/// their jurisdiction.
fn reception_clerk(principal: &Principal, organization: uuid::Uuid, region_path: &str) -> bool {
    !principal.is_admin()
        && principal.has_role(Role::Clerk)
        && works_for(principal, Some(organization))
        && in_jurisdiction(principal, region_path)
}

/// Whether the principal may see the booking at all: its citizen, the
/// receiving leader, clerks, leaders and supervisors whose jurisdiction
/// holds the schedule's region, admins. ListReceptionBookings and the
/// change feed show exactly these.
pub fn can_see_reception_booking(principal: &Principal, booking: &ReceptionAccess<'_>) -> bool {
    principal.is_admin()
        || principal.account_id == booking.citizen_account_id
        || principal.account_id == booking.leader_account_id
        || (holds_any(principal, &RECEPTION_OVERSIGHT) && in_jurisdiction(principal, booking.region_path))
}

/// Allows or denies `action` on a booking. Admins read and act on none.
pub fn authorize_reception_booking(
    principal: &Principal,
    action: ReceptionAction,
    booking: &ReceptionAccess<'_>,
) -> Result<(), AppError> {
    if !can_see_reception_booking(principal, booking) {
        return Err(AppError::NotFound { resource: "reception booking" });
    }
    let clerk = reception_clerk(principal, booking.organization_id, booking.region_path);
    let allowed = match action {
        ReceptionAction::Read => true,
        ReceptionAction::Cancel => {
            clerk || (principal.has_role(Role::Citizen) && principal.account_id == booking.citizen_account_id)
        }
        ReceptionAction::Record => {
            clerk || (principal.has_role(Role::Leader) && principal.account_id == booking.leader_account_id)
        }
    };
    if allowed {
        return Ok(());
    }
    let what = match action {
        ReceptionAction::Read => "read this booking",
        ReceptionAction::Cancel => "cancel this booking (its citizen or a clerk of the schedule's bureau may)",
        ReceptionAction::Record => "record this reception (its leader or a clerk of the schedule's bureau may)",
    };
    Err(AppError::permission_denied(Reason::PermissionDenied, format!("you may not {what}")))
}

/// Booking a reception: a citizen (real-name by their account).
pub fn authorize_reception_booking_creation(principal: &Principal) -> Result<(), AppError> {
    if principal.has_role(Role::Citizen) {
        return Ok(());
    }
    Err(AppError::permission_denied(Reason::PermissionDenied, "only a citizen books a reception"))
}

/// Creating or changing a schedule of `organization` held in `region_path`:
/// an admin, or a clerk of that bureau whose jurisdiction holds the region.
pub fn authorize_reception_schedule(
    principal: &Principal,
    organization: uuid::Uuid,
    region_path: &str,
) -> Result<(), AppError> {
    if principal.is_admin() || reception_clerk(principal, organization, region_path) {
        return Ok(());
    }
    if principal.has_role(Role::Clerk) && works_for(principal, Some(organization)) {
        return Err(outside_jurisdiction("the schedule's region"));
    }
    Err(AppError::permission_denied(
        Reason::PermissionDenied,
        "you may not manage reception schedules (an admin or a clerk of the bureau may)",
    ))
}

#[cfg(test)]
mod reception_tests {
    use super::test_accounts::account;
    use super::*;
    use uuid::Uuid;

    /// Every kind of caller against every action on a booking (Read,
    /// Cancel, Record) and managing its schedule: y allowed, p
    /// PERMISSION_DENIED, n NOT_FOUND.
    #[test]
    fn reception_matrix() {
        let (bureau, other) = (Uuid::now_v7(), Uuid::now_v7());
        let county = "360700/360702";
        let citizen = account(&[Role::Citizen], None, None, &[]);
        let leader = account(&[Role::Leader], Some(bureau), Some(county), &[]);
        let booking = ReceptionAccess {
            region_path: county,
            organization_id: bureau,
            leader_account_id: leader.account_id,
            citizen_account_id: citizen.account_id,
        };
        let cases = [
            ("the citizen", citizen.clone(), "yyp", 'p'),
            ("another citizen", account(&[Role::Citizen], None, None, &[]), "nnn", 'p'),
            ("the receiving leader", leader.clone(), "ypy", 'p'),
            ("another leader in jurisdiction", account(&[Role::Leader], Some(bureau), Some(county), &[]), "ypp", 'p'),
            ("leader elsewhere", account(&[Role::Leader], Some(other), Some("360700/360703"), &[]), "nnn", 'p'),
            ("bureau clerk", account(&[Role::Clerk], Some(bureau), Some(county), &[]), "yyy", 'y'),
            ("city clerk of another org", account(&[Role::Clerk], Some(other), Some("360700"), &[]), "ypp", 'p'),
            (
                "bureau clerk out of jurisdiction",
                account(&[Role::Clerk], Some(bureau), Some("360700/360703"), &[]),
                "nnn",
                'p',
            ),
            ("supervisor", account(&[Role::Supervisor], Some(other), Some("360700"), &[]), "ypp", 'p'),
            ("handler", account(&[Role::Handler], Some(bureau), Some(county), &[]), "nnn", 'p'),
            ("mediator", account(&[Role::Mediator], Some(bureau), Some(county), &[]), "nnn", 'p'),
            ("partner", account(&[Role::Partner], Some(bureau), None, &[Scope::CasesRead]), "nnn", 'p'),
            ("admin", account(&[Role::Admin], None, None, &[]), "ypp", 'y'),
        ];
        let actions = [ReceptionAction::Read, ReceptionAction::Cancel, ReceptionAction::Record];
        let code = |r: Result<(), AppError>| match r {
            Ok(()) => 'y',
            Err(AppError::NotFound { .. }) => 'n',
            Err(_) => 'p',
        };
        for (who, principal, want, manage) in cases {
            for (action, want) in actions.iter().zip(want.chars()) {
                assert_eq!(code(authorize_reception_booking(&principal, *action, &booking)), want, "{who} {action:?}");
            }
            assert_eq!(can_see_reception_booking(&principal, &booking), !want.starts_with('n'), "{who} sees");
            assert_eq!(code(authorize_reception_schedule(&principal, bureau, county)), manage, "{who} manages");
        }
        let book = |p: &Principal| authorize_reception_booking_creation(p).is_ok();
        assert!(book(&citizen));
        assert!(!book(&leader));
    }
}

#[cfg(test)]
mod backlog_tests {
    use super::test_accounts::account;
    use super::*;
    use uuid::Uuid;

    /// Every kind of caller against every action (and designation):
    /// allowed, PERMISSION_DENIED or NOT_FOUND.
    #[test]
    fn backlog_matrix() {
        let (unit, bureau, other_unit) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let county = "360700/360702";
        let petitioner = account(&[Role::Citizen], None, None, &[]);
        let clerk = account(&[Role::Clerk], Some(bureau), Some(county), &[]);
        let city_clerk = account(&[Role::Clerk], Some(Uuid::now_v7()), Some("360700"), &[]);
        let far_clerk = account(&[Role::Clerk], Some(Uuid::now_v7()), Some("360700/360703"), &[]);
        let handler = account(&[Role::Handler], Some(unit), Some(county), &[]);
        let lead = account(&[Role::UnitLead], Some(unit), Some(county), &[]);
        let other_handler = account(&[Role::Handler], Some(other_unit), Some(county), &[]);
        let leader = account(&[Role::Leader], Some(Uuid::now_v7()), Some(county), &[]);
        let supervisor = account(&[Role::Supervisor], Some(Uuid::now_v7()), Some("360700"), &[]);
        let far_supervisor = account(&[Role::Supervisor], Some(Uuid::now_v7()), Some("360700/360703"), &[]);
        let mediator = account(&[Role::Mediator], Some(Uuid::now_v7()), Some(county), &[]);
        let lawyer = account(&[Role::Lawyer], Some(Uuid::now_v7()), Some(county), &[]);
        let unit_partner = account(&[Role::Partner], Some(unit), None, &[Scope::CasesRead]);
        let admin = account(&[Role::Admin], None, None, &[]);
        let region_path = "360700/360702/360702001";
        let backlog = BacklogAccess { region_path, handling_organization_id: Some(unit) };
        let case = CaseAccess {
            region_path,
            petitioner_id: petitioner.account_id,
            handling_organization_id: Some(unit),
            reviewing_organization_id: None,
            access_organization_ids: &[],
        };
        use BacklogAction::*;
        let (ok, denied, hidden, outside) =
            (None, Some(Reason::PermissionDenied), Some(Reason::NotFound), Some(Reason::OutsideJurisdiction));
        // Read, RecordChecks, RecordAccountability, Resolve, Withdraw; Designate.
        // Who, the five actions, and designation.
        type Row<'a> = (&'a str, &'a Principal, [Option<Reason>; 5], Option<Reason>);
        let rows: [Row<'_>; 15] = [
            ("petitioner", &petitioner, [hidden; 5], denied),
            ("clerk", &clerk, [ok, ok, denied, denied, denied], ok),
            ("city clerk", &city_clerk, [ok, ok, denied, denied, denied], ok),
            ("far clerk", &far_clerk, [hidden; 5], hidden),
            ("handler of the handling unit", &handler, [ok, ok, denied, denied, denied], denied),
            ("its lead", &lead, [ok, ok, denied, denied, denied], denied),
            ("another unit's handler", &other_handler, [hidden; 5], denied),
            ("leader", &leader, [ok, ok, ok, ok, ok], ok),
            ("supervisor", &supervisor, [ok, ok, ok, ok, ok], ok),
            ("far supervisor", &far_supervisor, [hidden; 5], hidden),
            ("mediator", &mediator, [hidden; 5], hidden),
            ("lawyer", &lawyer, [hidden; 5], denied),
            ("the unit's partner account", &unit_partner, [hidden; 5], hidden),
            ("admin", &admin, [ok, denied, denied, denied, denied], denied),
            (
                "clerk of the unit's own org",
                &account(&[Role::Clerk], Some(unit), Some("360700/360703"), &[]),
                [hidden; 5],
                outside,
            ),
        ];
        for (name, who, expected, designate) in rows {
            for (action, want) in
                [Read, RecordChecks, RecordAccountability, Resolve, Withdraw].into_iter().zip(expected)
            {
                let got = authorize_backlog_case(who, action, &backlog).err().map(|e| e.reason());
                assert_eq!(got, want, "{name} {action:?}");
                assert_eq!(can_see_backlog_case(who, &backlog), want != hidden, "{name} sees");
            }
            let got = authorize_backlog_designation(who, &case).err().map(|e| e.reason());
            assert_eq!(got, designate, "{name} designates");
        }
    }
}

#[cfg(test)]
mod supervision_tests {
    use super::test_accounts::account;
    use super::*;
    use uuid::Uuid;

    /// Every kind of caller against every action (Read, Issue, Answer,
    /// Oversee): y allowed, p PERMISSION_DENIED, n NOT_FOUND. A supervisor
    /// outside the case's jurisdiction does not see it at all.
    #[test]
    fn supervision_matrix() {
        let (bureau, unit, other_unit, city_bureau) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let county = "360700/360702";
        let item = SupervisionAccess {
            region_path: "360700/360702/360702001",
            organization_id: unit,
            issuer_organization_id: bureau,
        };
        let cases = [
            ("bureau supervisor", account(&[Role::Supervisor], Some(bureau), Some(county), &[]), "yypy"),
            ("city supervisor", account(&[Role::Supervisor], Some(city_bureau), Some("360700"), &[]), "yppp"),
            ("supervisor elsewhere", account(&[Role::Supervisor], Some(bureau), Some("360700/360703"), &[]), "nnnn"),
            ("bureau clerk", account(&[Role::Clerk], Some(bureau), Some(county), &[]), "yppp"),
            ("leader", account(&[Role::Leader], Some(bureau), Some(county), &[]), "yppp"),
            ("handler of the unit", account(&[Role::Handler], Some(unit), Some(county), &[]), "ypyp"),
            ("unit lead of the unit", account(&[Role::UnitLead], Some(unit), Some(county), &[]), "ypyp"),
            ("handler elsewhere", account(&[Role::Handler], Some(other_unit), Some(county), &[]), "nnnn"),
            ("mediator of the unit", account(&[Role::Mediator], Some(unit), Some(county), &[]), "yppp"),
            ("citizen", account(&[Role::Citizen], None, None, &[]), "nnnn"),
            ("partner", account(&[Role::Partner], Some(other_unit), None, &[Scope::CasesRead]), "nnnn"),
            ("admin", account(&[Role::Admin], None, None, &[]), "yppp"),
        ];
        let actions =
            [SupervisionAction::Read, SupervisionAction::Issue, SupervisionAction::Answer, SupervisionAction::Oversee];
        for (who, principal, want) in cases {
            for (action, want) in actions.iter().zip(want.chars()) {
                let got = match authorize_supervision(&principal, *action, &item) {
                    Ok(()) => 'y',
                    Err(AppError::NotFound { .. }) => 'n',
                    Err(_) => 'p',
                };
                assert_eq!(got, want, "{who} {action:?}");
            }
        }
    }
}

/// Principals for the policy matrices: the account kind follows the roles
/// (partners are service accounts, citizens citizen accounts, the rest staff).
#[cfg(test)]
mod test_accounts {
    use super::*;
    use crate::auth::principal::AccountKind;
    use uuid::Uuid;

    pub fn account(roles: &[Role], org: Option<Uuid>, path: Option<&str>, scopes: &[Scope]) -> Principal {
        let kind = if roles.contains(&Role::Partner) {
            AccountKind::Service
        } else if roles.contains(&Role::Citizen) {
            AccountKind::Citizen
        } else {
            AccountKind::Staff
        };
        Principal {
            account_id: Uuid::now_v7(),
            kind,
            roles: roles.to_vec(),
            organization_id: org,
            jurisdiction: path.map(str::to_owned),
            scopes: scopes.to_vec(),
        }
    }
}

#[cfg(test)]
mod rating_tests {
    use super::test_accounts::account;
    use super::*;
    use uuid::Uuid;

    /// Every kind of caller against every action: allowed,
    /// PERMISSION_DENIED or NOT_FOUND.
    #[test]
    fn rating_matrix() {
        let (unit, reviewer, bureau, other_unit, court) =
            (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let county = "360700/360702";
        let petitioner = account(&[Role::Citizen], None, None, &[]);
        let other_citizen = account(&[Role::Citizen], None, None, &[]);
        let clerk = account(&[Role::Clerk], Some(bureau), Some(county), &[]);
        let city_clerk = account(&[Role::Clerk], Some(Uuid::now_v7()), Some("360700"), &[]);
        let far_clerk = account(&[Role::Clerk], Some(Uuid::now_v7()), Some("360700/360703"), &[]);
        let handler = account(&[Role::Handler], Some(unit), Some(county), &[]);
        let lead = account(&[Role::UnitLead], Some(unit), Some(county), &[]);
        let reviewing_staff = account(&[Role::Handler], Some(reviewer), Some("360700"), &[]);
        let other_handler = account(&[Role::Handler], Some(other_unit), Some(county), &[]);
        let leader = account(&[Role::Leader], Some(Uuid::now_v7()), Some(county), &[]);
        let supervisor = account(&[Role::Supervisor], Some(Uuid::now_v7()), Some("360700"), &[]);
        let far_supervisor = account(&[Role::Supervisor], Some(Uuid::now_v7()), Some("360700/360703"), &[]);
        let mediator = account(&[Role::Mediator], Some(Uuid::now_v7()), Some(county), &[]);
        let lawyer = account(&[Role::Lawyer], Some(Uuid::now_v7()), Some(county), &[]);
        let partner = account(&[Role::Partner], Some(court), None, &[Scope::CasesRead, Scope::CasesWrite]);
        let unit_partner = account(&[Role::Partner], Some(unit), None, &[Scope::CasesRead]);
        let admin = account(&[Role::Admin], None, None, &[]);
        let rating = RatingAccess {
            region_path: "360700/360702/360702001",
            petitioner_id: petitioner.account_id,
            acceptance_organization_id: Some(reviewer),
            handling_organization_id: unit,
        };
        use RatingAction::*;
        let (ok, denied, hidden, outside) =
            (None, Some(Reason::PermissionDenied), Some(Reason::NotFound), Some(Reason::OutsideJurisdiction));
        let rows: [(&str, &Principal, [Option<Reason>; 3]); 17] = [
            ("petitioner", &petitioner, [ok, ok, denied]),
            ("other citizen", &other_citizen, [hidden, hidden, hidden]),
            ("clerk", &clerk, [ok, denied, ok]),
            ("city clerk", &city_clerk, [ok, denied, ok]),
            ("far clerk", &far_clerk, [hidden, hidden, hidden]),
            ("handler of the handling unit", &handler, [ok, denied, denied]),
            ("its lead", &lead, [ok, denied, denied]),
            ("staff of the accepting body", &reviewing_staff, [ok, denied, denied]),
            ("another unit's handler", &other_handler, [hidden, hidden, hidden]),
            ("leader", &leader, [ok, denied, denied]),
            ("supervisor", &supervisor, [ok, denied, denied]),
            ("far supervisor", &far_supervisor, [hidden, hidden, hidden]),
            ("mediator", &mediator, [hidden, hidden, hidden]),
            ("lawyer", &lawyer, [hidden, hidden, hidden]),
            ("court partner", &partner, [hidden, hidden, hidden]),
            ("the unit's partner account", &unit_partner, [hidden, hidden, hidden]),
            ("admin", &admin, [ok, denied, denied]),
        ];
        for (name, who, expected) in rows {
            for (action, want) in [Read, Submit, Record].into_iter().zip(expected) {
                let got = authorize_rating(who, action, &rating).err().map(|e| e.reason());
                assert_eq!(got, want, "{name} {action:?}");
                assert_eq!(can_see_rating(who, &rating), want != hidden, "{name} sees");
            }
        }
        // A clerk of a rated organization outside the case's region sees it
        // (its own organization's) but may not record for another region.
        let bureau_elsewhere = RatingAccess { handling_organization_id: bureau, ..rating };
        let clerk_elsewhere = account(&[Role::Clerk], Some(bureau), Some("360700/360703"), &[]);
        assert!(can_see_rating(&clerk_elsewhere, &bureau_elsewhere));
        let got = authorize_rating(&clerk_elsewhere, Record, &bureau_elsewhere).err().map(|e| e.reason());
        assert_eq!(got, outside);
    }
}

// ---- Metrics (MetricsService) -------------------------------------------

/// Whose figures a caller of the metrics reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsReach {
    /// Everything arising in the requested subtree.
    Subtree,
    /// Only the cases this organization accepted and the ratings of its
    /// handling (a responsible unit's own figures).
    Organization(uuid::Uuid),
}

/// The city's metrics of the subtree at `region_path`: admins; bureau
/// clerks, leaders and supervisors whose jurisdiction holds it (outside:
/// PERMISSION_DENIED OUTSIDE_JURISDICTION, as for mediation statistics);
/// handlers and unit leads their own organization's figures. Citizens,
/// partners, mediators and lawyers read none.
pub fn authorize_metrics(principal: &Principal, region_path: &str) -> Result<MetricsReach, AppError> {
    if principal.is_admin() {
        return Ok(MetricsReach::Subtree);
    }
    let oversees = [Role::Clerk, Role::Leader, Role::Supervisor].iter().any(|role| principal.has_role(*role));
    if oversees && principal.jurisdiction.is_some() {
        return if in_jurisdiction(principal, region_path) {
            Ok(MetricsReach::Subtree)
        } else {
            Err(outside_jurisdiction("this region"))
        };
    }
    if (principal.has_role(Role::Handler) || principal.has_role(Role::UnitLead))
        && let Some(organization) = principal.organization_id
    {
        return Ok(MetricsReach::Organization(organization));
    }
    Err(AppError::permission_denied(Reason::PermissionDenied, "your role may not read the metrics"))
}

#[cfg(test)]
mod metrics_tests {
    use super::*;
    use crate::auth::principal::AccountKind;
    use uuid::Uuid;

    fn account(
        kind: AccountKind,
        roles: &[Role],
        org: Option<Uuid>,
        path: Option<&str>,
        scopes: &[Scope],
    ) -> Principal {
        Principal {
            account_id: Uuid::now_v7(),
            kind,
            roles: roles.to_vec(),
            organization_id: org,
            jurisdiction: path.map(str::to_owned),
            scopes: scopes.to_vec(),
        }
    }

    /// Every kind of caller against a region inside and outside their reach.
    #[test]
    fn metrics_matrix() {
        let county = "360700/360702";
        let here = "360700/360702/360702001";
        let there = "360700/360703";
        let unit = Uuid::now_v7();
        let staff =
            |role: Role, path: &str| account(AccountKind::Staff, &[role], Some(Uuid::now_v7()), Some(path), &[]);
        let denied = |r: Result<MetricsReach, AppError>| match r {
            Err(AppError::PermissionDenied { reason, .. }) => Some(reason),
            _ => None,
        };
        let admin = account(AccountKind::Staff, &[Role::Admin], None, None, &[]);
        assert_eq!(authorize_metrics(&admin, there).ok(), Some(MetricsReach::Subtree));
        for role in [Role::Clerk, Role::Leader, Role::Supervisor] {
            let p = staff(role, county);
            assert_eq!(authorize_metrics(&p, county).ok(), Some(MetricsReach::Subtree), "{role:?}");
            assert_eq!(authorize_metrics(&p, here).ok(), Some(MetricsReach::Subtree), "{role:?}");
            assert_eq!(denied(authorize_metrics(&p, there)), Some(Reason::OutsideJurisdiction), "{role:?}");
            assert_eq!(denied(authorize_metrics(&p, "360700")), Some(Reason::OutsideJurisdiction), "{role:?}");
        }
        for role in [Role::Handler, Role::UnitLead] {
            let p = account(AccountKind::Staff, &[role], Some(unit), Some(county), &[]);
            assert_eq!(authorize_metrics(&p, there).ok(), Some(MetricsReach::Organization(unit)), "{role:?}");
        }
        let others = [
            account(AccountKind::Citizen, &[Role::Citizen], None, None, &[]),
            account(AccountKind::Service, &[Role::Partner], Some(unit), Some(county), &[Scope::CasesRead]),
            staff(Role::Mediator, county),
            staff(Role::Lawyer, county),
            account(AccountKind::Staff, &[Role::Handler], None, None, &[]),
        ];
        for p in &others {
            assert_eq!(denied(authorize_metrics(p, here)), Some(Reason::PermissionDenied), "{:?}", p.roles);
        }
    }
}

#[cfg(test)]
mod court_referral_tests {
    use super::test_accounts::account;
    use super::*;
    use uuid::Uuid;

    /// Every kind of caller against every action: allowed, PERMISSION_DENIED
    /// or NOT_FOUND.
    #[test]
    fn court_referral_matrix() {
        let (court, other_court, bureau, unit, aid) =
            (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let county = "360700/360702";
        let petitioner = account(&[Role::Citizen], None, None, &[]);
        let other_citizen = account(&[Role::Citizen], None, None, &[]);
        let clerk = account(&[Role::Clerk], Some(bureau), Some(county), &[]);
        let far_clerk = account(&[Role::Clerk], Some(Uuid::now_v7()), Some("360700/360703"), &[]);
        let handler = account(&[Role::Handler], Some(unit), Some(county), &[]);
        let mediator = account(&[Role::Mediator], Some(Uuid::now_v7()), Some(county), &[]);
        let rw = [Scope::CasesRead, Scope::CasesWrite];
        let partner = account(&[Role::Partner], Some(court), None, &rw);
        let reader = account(&[Role::Partner], Some(court), None, &[Scope::CasesRead]);
        let writer_only = account(&[Role::Partner], Some(court), None, &[Scope::CasesWrite]);
        let court_staff = account(&[Role::Clerk], Some(court), Some("360700"), &[]);
        let other_partner = account(&[Role::Partner], Some(other_court), None, &rw);
        let aid_partner = account(&[Role::Partner], Some(aid), None, &[Scope::CasesRead]);
        let admin = account(&[Role::Admin], None, None, &[]);
        let access = [court, aid];
        let referral = CourtReferralAccess {
            court_id: court,
            referring_organization_id: Some(bureau),
            case: CaseAccess {
                region_path: "360700/360702/360702001",
                petitioner_id: petitioner.account_id,
                handling_organization_id: Some(unit),
                reviewing_organization_id: None,
                access_organization_ids: &access,
            },
        };
        use CourtReferralAction::*;
        let (ok, denied, hidden) = (None, Some(Reason::PermissionDenied), Some(Reason::NotFound));
        let rows: [(&Principal, [Option<Reason>; 3]); 13] = [
            (&petitioner, [ok, denied, denied]),
            (&other_citizen, [hidden, hidden, hidden]),
            (&clerk, [ok, ok, denied]),
            (&far_clerk, [hidden, hidden, hidden]),
            (&handler, [ok, denied, denied]),
            (&mediator, [hidden, hidden, hidden]),
            (&partner, [ok, denied, ok]),
            (&reader, [ok, denied, denied]),
            (&writer_only, [hidden, hidden, hidden]),
            (&court_staff, [ok, denied, denied]),
            (&other_partner, [hidden, hidden, hidden]),
            // Sees the case through its own grant, and so its referrals.
            (&aid_partner, [ok, denied, denied]),
            (&admin, [ok, denied, denied]),
        ];
        for (who, want) in rows {
            assert_eq!(can_see_court_referral(who, &referral), want[0] != hidden, "{:?}", who.roles);
            for (action, want) in [Read, Withdraw, ActAsCourt].into_iter().zip(want) {
                let got = authorize_court_referral(who, action, &referral).err().map(|e| e.reason());
                assert_eq!(got, want, "{:?} {:?} {action:?}", who.roles, who.scopes);
            }
        }
        // The court keeps seeing its referral after the case's grant ends.
        let revoked =
            CourtReferralAccess { case: CaseAccess { access_organization_ids: &[], ..referral.case }, ..referral };
        assert!(authorize_court_referral(&partner, ActAsCourt, &revoked).is_ok());
        assert_eq!(
            authorize_court_referral(&aid_partner, Read, &revoked).err().map(|e| e.reason()),
            Some(Reason::NotFound)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::principal::AccountKind;
    use uuid::Uuid;

    fn principal(kind: AccountKind, roles: &[Role], jurisdiction: Option<&str>, scopes: &[Scope]) -> Principal {
        Principal {
            account_id: Uuid::now_v7(),
            kind,
            roles: roles.to_vec(),
            organization_id: jurisdiction.map(|_| Uuid::now_v7()),
            jurisdiction: jurisdiction.map(str::to_owned),
            scopes: scopes.to_vec(),
        }
    }

    #[test]
    fn subtree_matching_respects_code_boundaries() {
        assert!(path_within("360700/360702", "360700"));
        assert!(path_within("360700", "360700"));
        assert!(!path_within("360700", "360700/360702"));
        assert!(!path_within("3607001/360702", "360700"), "a longer sibling code is not inside");
        assert!(!path_within("360701", "360700"));
    }

    /// The whole matrix for the directory actions: who may, who may not, and
    /// which denial (PERMISSION_DENIED for the role, NOT_FOUND for the place).
    #[test]
    fn directory_matrix() {
        let county = "360700/360702";
        let other_county = "360700/360703";
        let citizen = principal(AccountKind::Citizen, &[Role::Citizen], None, &[]);
        let clerk = principal(AccountKind::Staff, &[Role::Clerk], Some(county), &[]);
        let city_leader = principal(AccountKind::Staff, &[Role::Leader], Some("360700"), &[]);
        let partner_dir = principal(AccountKind::Service, &[Role::Partner], Some(county), &[Scope::DirectoryRead]);
        let partner_cases = principal(AccountKind::Service, &[Role::Partner], Some(county), &[Scope::CasesRead]);
        let admin = principal(AccountKind::Staff, &[Role::Admin], None, &[]);
        let here = Resource::InRegion { path: "360700/360702/360702001" };
        let there = Resource::InRegion { path: "360700/360703/360703001" };
        let _ = other_county;

        use Action::*;
        let expect = |p: &Principal, action, resource, want: Option<Reason>| {
            let got = authorize(p, action, resource).err().map(|e| e.reason());
            assert_eq!(got, want, "{:?} {action:?} {resource:?}", p.roles);
        };
        for p in [&citizen, &clerk, &city_leader, &partner_dir, &admin] {
            expect(p, ReadDirectory, Resource::System, None);
        }
        expect(&partner_cases, ReadDirectory, Resource::System, Some(Reason::PermissionDenied));
        for p in [&citizen, &clerk, &city_leader, &partner_dir, &partner_cases] {
            expect(p, WriteDirectory, Resource::System, Some(Reason::PermissionDenied));
            expect(p, ManageAccounts, Resource::System, Some(Reason::PermissionDenied));
            expect(p, WriteCalendar, Resource::System, Some(Reason::PermissionDenied));
        }
        for p in [&citizen, &clerk, &city_leader, &partner_dir, &partner_cases, &admin] {
            expect(p, ReadOwnAccount, Resource::System, None);
            expect(p, ReadCalendar, Resource::System, None);
        }
        expect(&admin, WriteCalendar, Resource::System, None);
        expect(&admin, WriteDirectory, Resource::System, None);
        expect(&admin, ManageAccounts, Resource::System, None);

        expect(&clerk, ListStaff, here, None);
        expect(&clerk, ListStaff, there, Some(Reason::NotFound));
        expect(&city_leader, ListStaff, there, None);
        expect(&admin, ListStaff, there, None);
        expect(&citizen, ListStaff, here, Some(Reason::PermissionDenied));
        expect(&partner_dir, ListStaff, here, Some(Reason::PermissionDenied));
    }

    /// The case matrix: every [`CaseAction`] for every kind of principal on
    /// one routed case under review. `y` allowed, `d` PERMISSION_DENIED (may
    /// see the case, may not act), `n` NOT_FOUND (may not see it at all).
    #[test]
    fn case_matrix() {
        const TOWNSHIP: &str = "360700/360702/360702001";
        const COUNTY: &str = "360700/360702";
        const OTHER_COUNTY: &str = "360700/360731";
        const CITY: &str = "360700";
        let (unit, gov, bureau, other_unit, city_bureau, court) =
            (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let petitioner_id = Uuid::now_v7();
        let case = CaseAccess {
            region_path: TOWNSHIP,
            petitioner_id,
            handling_organization_id: Some(unit),
            reviewing_organization_id: Some(gov),
            access_organization_ids: &[],
        };
        let person =
            |kind, roles: &[Role], organization: Option<Uuid>, jurisdiction: Option<&str>, scopes: &[Scope]| {
                Principal {
                    account_id: Uuid::now_v7(),
                    kind,
                    roles: roles.to_vec(),
                    organization_id: organization,
                    jurisdiction: jurisdiction.map(str::to_owned),
                    scopes: scopes.to_vec(),
                }
            };
        let staff = |roles: &[Role], organization: Uuid, jurisdiction: &str| {
            person(AccountKind::Staff, roles, Some(organization), Some(jurisdiction), &[])
        };
        let mut petitioner = person(AccountKind::Citizen, &[Role::Citizen], None, None, &[]);
        petitioner.account_id = petitioner_id;
        let all_scopes = [Scope::CasesRead, Scope::CasesWrite, Scope::DirectoryRead];

        use CaseAction::*;
        let actions = [
            Submit,
            Register,
            Read,
            Triage,
            RespondToRouting,
            Handle,
            ApproveExtension,
            ActAsPetitioner,
            DecideReview,
            Share,
            Counsel,
        ];
        // One character per action, in the order of `actions`.
        let table: Vec<(&str, Principal, &str)> = vec![
            ("petitioner", petitioner, "ddyddddyddd"),
            ("other citizen", person(AccountKind::Citizen, &[Role::Citizen], None, None, &[]), "nnnnnnnnnnn"),
            ("clerk of the county", staff(&[Role::Clerk], bureau, COUNTY), "ddyydddddyy"),
            ("clerk of the city (ancestor)", staff(&[Role::Clerk], city_bureau, CITY), "ddyydddddyy"),
            ("clerk of another county", staff(&[Role::Clerk], Uuid::now_v7(), OTHER_COUNTY), "nnnnnnnnnnn"),
            ("clerk working at the handling unit", staff(&[Role::Clerk], unit, COUNTY), "ddyydddddyy"),
            ("handler of the handling unit", staff(&[Role::Handler], unit, COUNTY), "ddydyyddddy"),
            ("unit lead of the handling unit", staff(&[Role::UnitLead], unit, COUNTY), "ddydyyydddy"),
            // The handling unit sees its case even when its jurisdiction does not cover the region.
            ("handler of the handling unit, elsewhere", staff(&[Role::Handler], unit, OTHER_COUNTY), "ddydyyddddy"),
            ("handler of another unit in the county", staff(&[Role::Handler], other_unit, COUNTY), "ddydddddddd"),
            ("handler of another county's unit", staff(&[Role::Handler], Uuid::now_v7(), OTHER_COUNTY), "nnnnnnnnnnn"),
            ("leader of the reviewing organization", staff(&[Role::Leader], gov, COUNTY), "ddydddddydd"),
            ("handler of the reviewing organization", staff(&[Role::Handler], gov, COUNTY), "ddydddddydd"),
            (
                "leader of the reviewing organization, elsewhere",
                staff(&[Role::Leader], gov, OTHER_COUNTY),
                "ddydddddydd",
            ),
            ("supervisor of the reviewing organization", staff(&[Role::Supervisor], gov, COUNTY), "ddydddddddd"),
            ("city leader", staff(&[Role::Leader], city_bureau, CITY), "ddydddddddd"),
            ("city supervisor", staff(&[Role::Supervisor], city_bureau, CITY), "ddydddddddd"),
            ("mediator in the county", staff(&[Role::Mediator], Uuid::now_v7(), COUNTY), "nnnnnnnnnnn"),
            ("staff without a case role", staff(&[], bureau, COUNTY), "nnnnnnnnnnn"),
            (
                "partner with every scope",
                person(AccountKind::Service, &[Role::Partner], Some(court), Some(COUNTY), &all_scopes),
                "nnnnnnnnnnn",
            ),
            ("lawyer in the county", staff(&[Role::Lawyer], Uuid::now_v7(), COUNTY), "ddydddddddy"),
            ("admin", person(AccountKind::Staff, &[Role::Admin], None, None, &[]), "ddyddddddyd"),
        ];
        let outcome = |result: Result<(), AppError>| match result {
            Ok(()) => 'y',
            Err(e) if e.reason() == Reason::PermissionDenied => 'd',
            Err(e) if e.reason() == Reason::OutsideJurisdiction => 'o',
            Err(e) if e.reason() == Reason::NotFound => 'n',
            Err(e) => panic!("unexpected denial {e:?}"),
        };
        for (name, principal, want) in &table {
            let got: String = actions.iter().map(|a| outcome(authorize_case(principal, *a, &case))).collect();
            assert_eq!(&got, want, "{name}: {actions:?}");
            assert_eq!(can_see_case(principal, &case), !want.starts_with('n'), "{name}: can_see_case");
        }

        // Before routing nobody handles or reviews: an organization-less
        // handler must not match the absent unit (None == None).
        let unrouted = CaseAccess { handling_organization_id: None, reviewing_organization_id: None, ..case };
        let loose = person(AccountKind::Staff, &[Role::Handler, Role::UnitLead, Role::Leader], None, None, &[]);
        assert!(!can_see_case(&loose, &unrouted));
        assert_eq!(outcome(authorize_case(&loose, Read, &unrouted)), 'n');
        let handler = staff(&[Role::Handler, Role::UnitLead], unit, COUNTY);
        let got: String = actions.iter().map(|a| outcome(authorize_case(&handler, *a, &unrouted))).collect();
        assert_eq!(got, "ddydddddddd", "the unit acts only once the case is routed to it");

        // A partner organization given access reads the case, as do its
        // staff; it acts on nothing, and the read scope is needed.
        let granted = [court];
        let shared = CaseAccess { access_organization_ids: &granted, ..case };
        let reader = person(AccountKind::Service, &[Role::Partner], Some(court), Some(COUNTY), &[Scope::CasesRead]);
        let writer_only = person(AccountKind::Service, &[Role::Partner], Some(court), None, &[Scope::CasesWrite]);
        let court_lawyer = staff(&[Role::Lawyer], court, OTHER_COUNTY);
        let other_court = person(AccountKind::Service, &[Role::Partner], Some(Uuid::now_v7()), None, &all_scopes);
        for (name, p, want) in [
            ("partner of the granted court", &reader, "ddydddddddd"),
            ("partner without the read scope", &writer_only, "nnnnnnnnnnn"),
            ("lawyer of the granted court", &court_lawyer, "ddydddddddy"),
            ("partner of another court", &other_court, "nnnnnnnnnnn"),
        ] {
            let got: String = actions.iter().map(|a| outcome(authorize_case(p, *a, &shared))).collect();
            assert_eq!(got, want, "{name}");
            assert_eq!(can_see_case(p, &shared), want.starts_with('d'), "{name}: can_see_case");
        }
        // Events giving or ending its access reach the organization even
        // when it no longer sees the case.
        assert!(can_see_case_event(&reader, &case, Some(court)));
        assert!(!can_see_case_event(&writer_only, &case, Some(court)));
        assert!(!can_see_case_event(&other_court, &case, Some(court)));
        assert!(!can_see_case_event(&reader, &case, None));

        // Filing: never NOT_FOUND (there is no case yet), only PERMISSION_DENIED.
        let filing = |p: &Principal, action| outcome(authorize_filing(p, action, TOWNSHIP));
        let citizen = person(AccountKind::Citizen, &[Role::Citizen], None, None, &[]);
        let admin = person(AccountKind::Staff, &[Role::Admin], None, None, &[]);
        let partner = person(AccountKind::Service, &[Role::Partner], Some(court), Some(COUNTY), &all_scopes);
        for (name, p, submit, register) in [
            ("citizen", &citizen, 'y', 'd'),
            ("clerk of the county", &staff(&[Role::Clerk], bureau, COUNTY), 'd', 'y'),
            ("clerk of the city", &staff(&[Role::Clerk], city_bureau, CITY), 'd', 'y'),
            ("clerk of the township region itself", &staff(&[Role::Clerk], bureau, TOWNSHIP), 'd', 'y'),
            ("clerk of another county", &staff(&[Role::Clerk], bureau, OTHER_COUNTY), 'd', 'o'),
            ("handler of the county", &staff(&[Role::Handler], unit, COUNTY), 'd', 'd'),
            ("city leader", &staff(&[Role::Leader], city_bureau, CITY), 'd', 'd'),
            ("partner", &partner, 'd', 'd'),
            ("admin", &admin, 'd', 'd'),
        ] {
            assert_eq!((filing(p, Submit), filing(p, Register)), (submit, register), "{name}");
            for other in
                [Read, Triage, RespondToRouting, Handle, ApproveExtension, ActAsPetitioner, DecideReview, Share]
            {
                assert_eq!(filing(p, other), 'd', "{name} {other:?} is not a filing action");
            }
        }
        // A clerk of a sibling code that merely shares the prefix is outside.
        let prefix = staff(&[Role::Clerk], bureau, "360700/36070");
        assert_eq!(filing(&prefix, Register), 'o');
        // The clerk's role allows registering, the place does not: the
        // refusal says so rather than blaming the role.
        let err =
            authorize_filing(&staff(&[Role::Clerk], bureau, OTHER_COUNTY), Register, TOWNSHIP).expect_err("outside");
        assert_eq!(err.reason(), Reason::OutsideJurisdiction);
        let err = authorize_filing(&staff(&[Role::Handler], unit, COUNTY), Register, TOWNSHIP).expect_err("a handler");
        assert_eq!(err.reason(), Reason::PermissionDenied);
        assert_eq!(outcome(authorize_case(&prefix, Read, &case)), 'n');
    }

    /// The dispute matrix: every [`DisputeAction`] for every kind of
    /// principal on one dispute of a village team, referred from a case,
    /// applied to a court. `y` allowed, `d` PERMISSION_DENIED, `n` NOT_FOUND.
    #[test]
    fn dispute_matrix() {
        const VILLAGE: &str = "360700/360702/360702001/360702001001";
        const TOWNSHIP: &str = "360700/360702/360702001";
        const COUNTY: &str = "360700/360702";
        const OTHER_COUNTY: &str = "360700/360731";
        let (team, other_team, township_team, court, other_court, unit, committee) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let person =
            |kind, roles: &[Role], organization: Option<Uuid>, jurisdiction: Option<&str>, scopes: &[Scope]| {
                Principal {
                    account_id: Uuid::now_v7(),
                    kind,
                    roles: roles.to_vec(),
                    organization_id: organization,
                    jurisdiction: jurisdiction.map(str::to_owned),
                    scopes: scopes.to_vec(),
                }
            };
        let member = |team_id, head, level, covered: &str| Membership {
            team_id,
            head,
            level,
            covered_paths: vec![covered.to_owned()],
        };
        let mediator = person(AccountKind::Staff, &[Role::Mediator], Some(committee), Some(VILLAGE), &[]);
        let party = person(AccountKind::Citizen, &[Role::Citizen], None, None, &[]);
        let parties = [party.account_id];
        let teams = [team];
        let applied = DisputeAccess {
            region_path: VILLAGE,
            team_id: team,
            team_ids: &teams,
            mediator_account_id: Some(mediator.account_id),
            party_account_ids: &parties,
            referring_court_id: None,
            confirmation_court_id: Some(court),
            referring_organization_id: Some(unit),
        };
        let before = DisputeAccess { confirmation_court_id: None, ..applied };
        use DisputeAction::*;
        let actions = [Read, ActForParty, Manage, Mediate, AnswerConfirmation];
        let staff =
            |roles: &[Role], org, jurisdiction| person(AccountKind::Staff, roles, Some(org), Some(jurisdiction), &[]);
        let court_partner = |org| {
            person(AccountKind::Service, &[Role::Partner], Some(org), None, &[Scope::CasesRead, Scope::CasesWrite])
        };
        let table: Vec<(&str, Principal, Vec<Membership>, &DisputeAccess<'_>, &str)> = vec![
            ("the mediator", mediator.clone(), vec![member(team, false, 4, VILLAGE)], &applied, "yydyd"),
            ("the mediator, no longer a member", mediator.clone(), vec![], &applied, "nnnnn"),
            (
                "a plain member of the team",
                staff(&[Role::Mediator], committee, VILLAGE),
                vec![member(team, false, 4, VILLAGE)],
                &applied,
                "ydddd",
            ),
            (
                "the team's head",
                staff(&[Role::Mediator], committee, VILLAGE),
                vec![member(team, true, 4, VILLAGE)],
                &applied,
                "yyyyd",
            ),
            (
                "a mediator of another team",
                staff(&[Role::Mediator], committee, VILLAGE),
                vec![member(other_team, true, 4, VILLAGE)],
                &applied,
                "nnnnn",
            ),
            (
                "the township team's head",
                staff(&[Role::Mediator], committee, TOWNSHIP),
                vec![member(township_team, true, 3, TOWNSHIP)],
                &applied,
                "ydddd",
            ),
            (
                "a township team's plain member",
                staff(&[Role::Mediator], committee, TOWNSHIP),
                vec![member(township_team, false, 3, TOWNSHIP)],
                &applied,
                "nnnnn",
            ),
            ("clerk of the county", staff(&[Role::Clerk], Uuid::now_v7(), COUNTY), vec![], &applied, "ydddd"),
            ("clerk of another county", staff(&[Role::Clerk], Uuid::now_v7(), OTHER_COUNTY), vec![], &applied, "nnnnn"),
            (
                "handler of the referring unit, elsewhere",
                staff(&[Role::Handler], unit, OTHER_COUNTY),
                vec![],
                &applied,
                "ydddd",
            ),
            ("the court, after the application", court_partner(court), vec![], &applied, "ydddy"),
            ("the court, before the application", court_partner(court), vec![], &before, "nnnnn"),
            ("another court", court_partner(other_court), vec![], &applied, "nnnnn"),
            (
                "the court without the write scope",
                person(AccountKind::Service, &[Role::Partner], Some(court), None, &[Scope::CasesRead]),
                vec![],
                &applied,
                "ydddd",
            ),
            ("a party", party.clone(), vec![], &applied, "yyddd"),
            (
                "a citizen not a party",
                person(AccountKind::Citizen, &[Role::Citizen], None, None, &[]),
                vec![],
                &applied,
                "nnnnn",
            ),
            ("admin", person(AccountKind::Staff, &[Role::Admin], None, None, &[]), vec![], &applied, "ydddd"),
        ];
        let outcome = |result: Result<(), AppError>| match result {
            Ok(()) => 'y',
            Err(e) if e.reason() == Reason::PermissionDenied => 'd',
            Err(e) if e.reason() == Reason::NotFound => 'n',
            Err(e) => panic!("unexpected denial {e:?}"),
        };
        for (name, principal, memberships, dispute, want) in &table {
            let got: String =
                actions.iter().map(|a| outcome(authorize_dispute(principal, memberships, *a, dispute))).collect();
            assert_eq!(&got, want, "{name}: {actions:?}");
            assert_eq!(can_see_dispute(principal, memberships, dispute), !want.starts_with('n'), "{name}");
        }
    }

    // ---- Legal aid --------------------------------------------------

    /// Every kind of caller against every legal-aid action: 'n' NOT_FOUND,
    /// 'd' PERMISSION_DENIED, 'y' allowed, in the order Read, ActAsApplicant,
    /// Supply, Review, Report, DecideObjection.
    #[test]
    fn legal_aid_matrix() {
        let at = |roles: &[Role], org: Uuid, scopes: &[Scope]| Principal {
            account_id: Uuid::now_v7(),
            kind: if roles.contains(&Role::Partner) { AccountKind::Service } else { AccountKind::Staff },
            roles: roles.to_vec(),
            organization_id: Some(org),
            jurisdiction: Some("360700".into()),
            scopes: scopes.to_vec(),
        };
        let (centre, bureau, origin, other) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let applicant = principal(AccountKind::Citizen, &[Role::Citizen], None, &[]);
        let stranger = principal(AccountKind::Citizen, &[Role::Citizen], None, &[]);
        let lawyer = at(&[Role::Lawyer], centre, &[]);
        let other_lawyer = at(&[Role::Lawyer], centre, &[]);
        let access = LegalAidAccess {
            centre_organization_id: centre,
            bureau_organization_id: Some(bureau),
            origin_organization_id: Some(origin),
            applicant_account_id: Some(applicant.account_id),
            lawyer_account_id: Some(lawyer.account_id),
        };
        let admin = principal(AccountKind::Staff, &[Role::Admin], None, &[]);
        let cases: Vec<(&str, Principal, &str)> = vec![
            ("admin", admin, "yddddd"),
            ("applicant", applicant, "yyyddd"),
            ("another citizen", stranger, "nnnnnn"),
            ("centre reviewer", at(&[Role::Handler], centre, &[]), "ydyyyd"),
            ("centre clerk", at(&[Role::Clerk], centre, &[]), "yddddd"),
            ("centre read partner", at(&[Role::Partner], centre, &[Scope::CasesRead]), "yddddd"),
            ("centre write partner", at(&[Role::Partner], centre, &[Scope::CasesRead, Scope::CasesWrite]), "ydyyyd"),
            ("another centre's partner", at(&[Role::Partner], other, &[Scope::CasesRead, Scope::CasesWrite]), "nnnnnn"),
            ("another centre's reviewer", at(&[Role::Handler], other, &[]), "nnnnnn"),
            ("assigned lawyer", lawyer, "ydddyd"),
            ("another lawyer of the centre", other_lawyer, "nnnnnn"),
            ("bureau staff", at(&[Role::UnitLead], bureau, &[]), "yddddy"),
            ("bureau supervisor", at(&[Role::Supervisor], bureau, &[]), "yddddd"),
            ("origin clerk", at(&[Role::Clerk], origin, &[]), "yddddd"),
        ];
        let actions = [
            LegalAidAction::Read,
            LegalAidAction::ActAsApplicant,
            LegalAidAction::Supply,
            LegalAidAction::Review,
            LegalAidAction::Report,
            LegalAidAction::DecideObjection,
        ];
        for (name, principal, want) in &cases {
            let got: String = actions
                .iter()
                .map(|a| match authorize_legal_aid(principal, *a, &access) {
                    Ok(()) => 'y',
                    Err(AppError::NotFound { .. }) => 'n',
                    Err(AppError::PermissionDenied { .. }) => 'd',
                    Err(other) => panic!("{name}: {other:?}"),
                })
                .collect();
            assert_eq!(&got, want, "{name}");
            assert_eq!(can_see_legal_aid(principal, &access), !want.starts_with('n'), "{name}");
        }
    }
}

#[cfg(test)]
mod leadership_tests {
    use super::test_accounts::account;
    use super::*;
    use uuid::Uuid;

    /// Leaders owning cases (包案): every caller against every leadership
    /// action on a township case owned by `owner`. `y` allowed, `d`
    /// PERMISSION_DENIED, `o` outside the jurisdiction, `n` NOT_FOUND.
    #[test]
    fn leadership_matrix() {
        let (unit, bureau) = (Uuid::now_v7(), Uuid::now_v7());
        let county = "360700/360702";
        let petitioner = account(&[Role::Citizen], None, None, &[]);
        let owner = account(&[Role::Leader], Some(Uuid::now_v7()), Some(county), &[]);
        let case = CaseAccess {
            region_path: "360700/360702/360702001",
            petitioner_id: petitioner.account_id,
            handling_organization_id: Some(unit),
            reviewing_organization_id: None,
            access_organization_ids: &[],
        };
        let owned = Some(owner.account_id);
        use CaseAction::*;
        let actions = [
            TakeOwnership,
            AssignLeader,
            ReleaseOwnership { owner: owned },
            ReleaseOwnership { owner: None },
            InstructAsOwner { owner: owned },
            InstructAsOwner { owner: None },
        ];
        let table: Vec<(&str, Principal, &str)> = vec![
            ("owning leader", owner.clone(), "yyydyd"),
            ("other county leader", account(&[Role::Leader], Some(Uuid::now_v7()), Some(county), &[]), "yydddd"),
            ("city leader", account(&[Role::Leader], Some(Uuid::now_v7()), Some("360700"), &[]), "yydddd"),
            ("township leader", account(&[Role::Leader], Some(Uuid::now_v7()), Some(case.region_path), &[]), "yydddd"),
            ("leader elsewhere", account(&[Role::Leader], Some(Uuid::now_v7()), Some("360700/360731"), &[]), "nnnnnn"),
            // The handling unit's leader sees the case, outside their jurisdiction.
            (
                "leader of the handling unit elsewhere",
                account(&[Role::Leader], Some(unit), Some("360700/360731"), &[]),
                "oooodd",
            ),
            ("clerk of the county", account(&[Role::Clerk], Some(bureau), Some(county), &[]), "dyyydd"),
            ("clerk elsewhere", account(&[Role::Clerk], Some(Uuid::now_v7()), Some("360700/360731"), &[]), "nnnnnn"),
            ("handler of the unit", account(&[Role::Handler], Some(unit), Some(county), &[]), "dddddd"),
            ("unit lead", account(&[Role::UnitLead], Some(unit), Some(county), &[]), "dddddd"),
            ("supervisor", account(&[Role::Supervisor], Some(Uuid::now_v7()), Some(county), &[]), "dddddd"),
            ("petitioner", petitioner, "dddddd"),
            ("other citizen", account(&[Role::Citizen], None, None, &[]), "nnnnnn"),
            ("admin", account(&[Role::Admin], None, None, &[]), "dddddd"),
        ];
        let outcome = |result: Result<(), AppError>| match result {
            Ok(()) => 'y',
            Err(e) if e.reason() == Reason::PermissionDenied => 'd',
            Err(e) if e.reason() == Reason::OutsideJurisdiction => 'o',
            Err(e) if e.reason() == Reason::NotFound => 'n',
            Err(e) => panic!("unexpected denial {e:?}"),
        };
        for (name, principal, want) in &table {
            let got: String = actions.iter().map(|a| outcome(authorize_case(principal, *a, &case))).collect();
            assert_eq!(&got, want, "{name}: {actions:?}");
        }
    }
}
