//! Every application transition as the pipeline runs it: the request
//! parsed into a validated command (field violations), its policy line
//! (`action`), and the facts its rule needs read before the rule decides
//! (conflict candidates, the justice bureau, the lawyer's account). The
//! rules themselves are in `rules.rs`.

use diesel::PgConnection;
use petition_proto::v1 as pb;
use uuid::Uuid;

use super::aggregate::Application;
use super::conflicts;
use super::domain::{AidFirstGround, DayCounting, LawyerKind, ObjectionOutcome, TerminationReason, WithdrawalReason};
use super::rules::{self, Command as Rule, ConflictDraft, Context, Event, LawyerDraft};
use super::store;
use crate::auth::Principal;
use crate::auth::policy::LegalAidAction;
use crate::calendar::store as calendar_store;
use crate::convert::parse_id;
use crate::directory::rules::OrganizationKind;
use crate::directory::store as directory_store;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::mediation::commands::calendar_span;
use crate::mediation::draft::optional_date;
use crate::pipeline::Command;
use crate::time::shanghai_today;

/// Longest free text of a note or reason.
pub const MAX_NOTE_CHARS: usize = 5_000;

fn text(field: &str, raw: &str, min: usize, v: &mut Vec<FieldViolation>) -> String {
    crate::text::multi_line(field, raw, min, MAX_NOTE_CHARS, v)
}

/// The fields every transition request carries.
pub trait ApplicationRequest: prost::Message + Send + 'static {
    const METHOD: &'static str;
    fn application_id(&self) -> &str;
    fn etag(&self) -> &str;
    fn request_id(&self) -> &str;
}

macro_rules! application_requests {
    ($($request:ident => $method:literal;)+) => {
        $(
            impl ApplicationRequest for pb::$request {
                const METHOD: &'static str = $method;
                fn application_id(&self) -> &str {
                    &self.application_id
                }
                fn etag(&self) -> &str {
                    &self.etag
                }
                fn request_id(&self) -> &str {
                    &self.request_id
                }
            }
        )+
    };
}

application_requests! {
    RequestMaterialsRequest => "RequestMaterials";
    SupplyMaterialsRequest => "SupplyMaterials";
    WithdrawApplicationRequest => "WithdrawApplication";
    DecideApplicationRequest => "DecideApplication";
    GrantAidFirstRequest => "GrantAidFirst";
    RecordPapersCompletedRequest => "RecordPapersCompleted";
    ClearConflictRequest => "ClearConflict";
    AssignLawyerRequest => "AssignLawyer";
    TerminateAidRequest => "TerminateAid";
    FileObjectionRequest => "FileObjection";
    DecideObjectionRequest => "DecideObjection";
    SubmitClosingReportRequest => "SubmitClosingReport";
}

/// Decides `rule` for `application` today on the calendar around the
/// days its clocks may count.
pub fn decide_now(
    conn: &mut PgConnection,
    application: &Application,
    rule: Rule,
    counting: DayCounting,
) -> Result<Vec<Event>, AppError> {
    let today = shanghai_today();
    let (from, to) = calendar_span(application.life().last_act_date, today);
    let calendar = calendar_store::load_calendar(conn, from, to)?;
    let ctx = Context { today, calendar: &calendar, counting };
    rules::decide(application.id(), application.life(), rule, &ctx)
}

/// The conflict hits of `application` against the centre's other matters,
/// each with a new id.
pub fn conflict_check(conn: &mut PgConnection, application: &Application) -> Result<Vec<ConflictDraft>, AppError> {
    let row = &application.row;
    let candidates =
        store::conflict_candidates(conn, row.centre_organization_id, row.id, &row.applicant_key, &row.adverse_keys)?;
    Ok(conflicts::hits(row.id, &row.applicant_name, &row.adverse_parties, &candidates)
        .into_iter()
        .map(|h| ConflictDraft {
            id: Uuid::now_v7(),
            other_application_id: h.other_application_id,
            name: h.name,
            kind: h.kind,
        })
        .collect())
}

/// The justice bureau that set up `centre` (its parent organization, when
/// that is a JUSTICE_BUREAU): it decides objections (Art.49).
pub fn bureau_of(conn: &mut PgConnection, centre: Uuid) -> Result<Option<Uuid>, AppError> {
    let Some(found) = directory_store::find_organization(conn, centre)? else {
        return Ok(None);
    };
    let Some(parent) = found.organization.parent_id else {
        return Ok(None);
    };
    let parent = directory_store::find_organization(conn, parent)?;
    Ok(parent.filter(|p| p.organization.kind == OrganizationKind::JusticeBureau.as_i16()).map(|p| p.organization.id))
}

/// One transition: its rule, and the policy line it runs under.
pub struct Transition {
    action: LegalAidAction,
    rule: Rule,
    counting: DayCounting,
}

impl Transition {
    /// `rule` under `action` (the demo seed and the benchmark).
    pub fn new(action: LegalAidAction, rule: Rule, counting: DayCounting) -> Transition {
        Transition { action, rule, counting }
    }
}

impl Command<Application> for Transition {
    fn action(&self, _: &Application) -> LegalAidAction {
        self.action
    }

    fn decide(self, conn: &mut PgConnection, application: &Application, _: &Principal) -> Result<Vec<Event>, AppError> {
        let rule = match self.rule {
            // The conflict check runs where a grant is decided, and only if
            // the rule would allow the grant (its state), so that a refused
            // call costs no query.
            Rule::Decide { grant: true, reason, date, .. }
                if rules::allowed_in(&Rule::Decide { grant: true, reason: String::new(), date, conflicts: vec![] })
                    .contains(&application.life().state) =>
            {
                Rule::Decide { grant: true, reason, date, conflicts: conflict_check(conn, application)? }
            }
            Rule::GrantAidFirst { ground, note, date, .. } => {
                let conflicts =
                    if rules::allowed_in(&Rule::GrantAidFirst { ground, note: String::new(), date, conflicts: vec![] })
                        .contains(&application.life().state)
                    {
                        conflict_check(conn, application)?
                    } else {
                        Vec::new()
                    };
                Rule::GrantAidFirst { ground, note, date, conflicts }
            }
            Rule::FileObjection { reason, date, .. } => Rule::FileObjection {
                reason,
                date,
                bureau_id: bureau_of(conn, application.row.centre_organization_id)?,
            },
            Rule::AssignLawyer { mut lawyer, date } => {
                if let Some(account) = lawyer.account_id {
                    if !store::is_lawyer_account(conn, account)? {
                        return Err(AppError::invalid("lawyer_account_id", "is not a lawyer's account"));
                    }
                    if lawyer.name.is_empty() {
                        lawyer.name = directory_store_display_name(conn, account)?;
                    }
                }
                Rule::AssignLawyer { lawyer, date }
            }
            rule => rule,
        };
        decide_now(conn, application, rule, self.counting)
    }
}

/// An account's display name.
fn directory_store_display_name(conn: &mut PgConnection, account: Uuid) -> Result<String, AppError> {
    use crate::schema::accounts;
    use diesel::prelude::*;
    Ok(accounts::table.find(account).select(accounts::display_name).first(conn)?)
}

/// A transition parsed from its request.
pub trait Parse<R>: Sized {
    fn parse(request: R, counting: DayCounting) -> Result<Self, AppError>;
}

impl Parse<pb::RequestMaterialsRequest> for Transition {
    fn parse(req: pb::RequestMaterialsRequest, counting: DayCounting) -> Result<Self, AppError> {
        let mut v = Vec::new();
        if req.items.is_empty() || req.items.len() > 20 {
            v.push(FieldViolation::new("items", "list every missing item at once: 1 to 20 (Art.43 ¶2)"));
        }
        let items = req
            .items
            .iter()
            .enumerate()
            .map(|(i, item)| crate::text::one_line(&format!("items[{i}]"), item, 1, 200, &mut v))
            .collect();
        let due_date = optional_date("due_date", &req.due_date, &mut v);
        if req.due_date.is_empty() {
            v.push(FieldViolation::new("due_date", "is required: the day the materials are due"));
        }
        let date = optional_date("request_date", &req.request_date, &mut v);
        require_valid(v)?;
        let due_date = due_date.ok_or_else(|| AppError::invalid("due_date", "is required"))?;
        Ok(Transition {
            action: LegalAidAction::Review,
            rule: Rule::RequestMaterials { items, due_date, date },
            counting,
        })
    }
}

impl Parse<pb::SupplyMaterialsRequest> for Transition {
    fn parse(req: pb::SupplyMaterialsRequest, counting: DayCounting) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let note = text("note", &req.note, 0, &mut v);
        let date = optional_date("supplied_date", &req.supplied_date, &mut v);
        require_valid(v)?;
        Ok(Transition { action: LegalAidAction::Supply, rule: Rule::SupplyMaterials { note, date }, counting })
    }
}

impl Parse<pb::WithdrawApplicationRequest> for Transition {
    fn parse(req: pb::WithdrawApplicationRequest, counting: DayCounting) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let reason = WithdrawalReason::from_i32(req.reason);
        if reason.is_none() {
            v.push(FieldViolation::new("reason", "must be BY_APPLICANT or MATERIALS_NOT_SUPPLIED"));
        }
        let note = text("note", &req.note, 0, &mut v);
        let date = optional_date("withdraw_date", &req.withdraw_date, &mut v);
        require_valid(v)?;
        let reason = reason.unwrap_or(WithdrawalReason::ByApplicant);
        let action = match reason {
            WithdrawalReason::ByApplicant => LegalAidAction::ActAsApplicant,
            WithdrawalReason::MaterialsNotSupplied => LegalAidAction::Review,
        };
        Ok(Transition { action, rule: Rule::Withdraw { reason, note, date }, counting })
    }
}

impl Parse<pb::DecideApplicationRequest> for Transition {
    fn parse(req: pb::DecideApplicationRequest, counting: DayCounting) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let grant = match pb::LegalAidDecision::try_from(req.decision) {
            Ok(pb::LegalAidDecision::Grant) => Some(true),
            Ok(pb::LegalAidDecision::Refuse) => Some(false),
            _ => {
                v.push(FieldViolation::new("decision", "must be GRANT or REFUSE"));
                None
            }
        };
        // A refusal is in writing with its reason (Art.43).
        let min = usize::from(grant == Some(false));
        let reason = text("reason", &req.reason, min, &mut v);
        let date = optional_date("decision_date", &req.decision_date, &mut v);
        require_valid(v)?;
        let rule = Rule::Decide { grant: grant.unwrap_or(false), reason, date, conflicts: Vec::new() };
        Ok(Transition { action: LegalAidAction::Review, rule, counting })
    }
}

impl Parse<pb::GrantAidFirstRequest> for Transition {
    fn parse(req: pb::GrantAidFirstRequest, counting: DayCounting) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let ground = AidFirstGround::from_i32(req.ground);
        if ground.is_none() {
            v.push(FieldViolation::new("ground", "must be an Art.44 ground"));
        }
        let note = text("note", &req.note, 1, &mut v);
        let date = optional_date("decision_date", &req.decision_date, &mut v);
        require_valid(v)?;
        let rule =
            Rule::GrantAidFirst { ground: ground.unwrap_or(AidFirstGround::Other), note, date, conflicts: Vec::new() };
        Ok(Transition { action: LegalAidAction::Review, rule, counting })
    }
}

impl Parse<pb::RecordPapersCompletedRequest> for Transition {
    fn parse(req: pb::RecordPapersCompletedRequest, counting: DayCounting) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let date = optional_date("completed_date", &req.completed_date, &mut v);
        require_valid(v)?;
        Ok(Transition { action: LegalAidAction::Review, rule: Rule::RecordPapersCompleted { date }, counting })
    }
}

impl Parse<pb::ClearConflictRequest> for Transition {
    fn parse(req: pb::ClearConflictRequest, counting: DayCounting) -> Result<Self, AppError> {
        let conflict_id = parse_id("conflict_id", &req.conflict_id)?;
        let mut v = Vec::new();
        let reason = text("reason", &req.reason, 1, &mut v);
        require_valid(v)?;
        Ok(Transition { action: LegalAidAction::Review, rule: Rule::ClearConflict { conflict_id, reason }, counting })
    }
}

impl Parse<pb::AssignLawyerRequest> for Transition {
    fn parse(req: pb::AssignLawyerRequest, counting: DayCounting) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let account_id = match req.lawyer_account_id.as_str() {
            "" => None,
            raw => match Uuid::parse_str(raw) {
                Ok(id) => Some(id),
                Err(_) => {
                    v.push(FieldViolation::new("lawyer_account_id", "must be an account id"));
                    None
                }
            },
        };
        let min = usize::from(req.lawyer_account_id.is_empty());
        let name = crate::text::one_line("name", &req.name, min, 100, &mut v);
        let law_firm = crate::text::one_line("law_firm", &req.law_firm, 0, 200, &mut v);
        let licence_number = crate::text::one_line("licence_number", &req.licence_number, 0, 40, &mut v);
        let kind = LawyerKind::from_i32(req.kind);
        if kind.is_none() {
            v.push(FieldViolation::new("kind", "must be LEGAL_AID_LAWYER, PUBLIC_LAWYER or LEGAL_ADVISER"));
        }
        let date = optional_date("assign_date", &req.assign_date, &mut v);
        require_valid(v)?;
        let lawyer = LawyerDraft {
            account_id,
            name,
            law_firm,
            licence_number,
            kind: kind.unwrap_or(LawyerKind::LegalAidLawyer),
        };
        Ok(Transition { action: LegalAidAction::Review, rule: Rule::AssignLawyer { lawyer, date }, counting })
    }
}

impl Parse<pb::TerminateAidRequest> for Transition {
    fn parse(req: pb::TerminateAidRequest, counting: DayCounting) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let reason = TerminationReason::from_i32(req.reason);
        if reason.is_none() {
            v.push(FieldViolation::new("reason", "must be an Art.48 reason"));
        }
        let note = text("note", &req.note, 1, &mut v);
        let date = optional_date("termination_date", &req.termination_date, &mut v);
        require_valid(v)?;
        let rule = Rule::Terminate { reason: reason.unwrap_or(TerminationReason::Other), note, date };
        Ok(Transition { action: LegalAidAction::Review, rule, counting })
    }
}

impl Parse<pb::FileObjectionRequest> for Transition {
    fn parse(req: pb::FileObjectionRequest, counting: DayCounting) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let reason = text("reason", &req.reason, 1, &mut v);
        let date = optional_date("file_date", &req.file_date, &mut v);
        require_valid(v)?;
        let rule = Rule::FileObjection { reason, date, bureau_id: None };
        Ok(Transition { action: LegalAidAction::ActAsApplicant, rule, counting })
    }
}

impl Parse<pb::DecideObjectionRequest> for Transition {
    fn parse(req: pb::DecideObjectionRequest, counting: DayCounting) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let outcome = match ObjectionOutcome::from_i32(req.outcome) {
            Some(o @ (ObjectionOutcome::Upheld | ObjectionOutcome::CorrectionOrdered)) => Some(o),
            _ => {
                v.push(FieldViolation::new("outcome", "must be UPHELD or CORRECTION_ORDERED"));
                None
            }
        };
        let reason = text("reason", &req.reason, 1, &mut v);
        let date = optional_date("decide_date", &req.decide_date, &mut v);
        require_valid(v)?;
        let rule = Rule::DecideObjection { outcome: outcome.unwrap_or(ObjectionOutcome::Upheld), reason, date };
        Ok(Transition { action: LegalAidAction::DecideObjection, rule, counting })
    }
}

impl Parse<pb::SubmitClosingReportRequest> for Transition {
    fn parse(req: pb::SubmitClosingReportRequest, counting: DayCounting) -> Result<Self, AppError> {
        let raw = req.report.ok_or_else(|| AppError::invalid("report", "is required"))?;
        let mut v = Vec::new();
        let result_summary = text("report.result_summary", &raw.result_summary, 1, &mut v);
        if raw.documents.is_empty() || raw.documents.len() > 50 {
            v.push(FieldViolation::new("report.documents", "list the legal documents handed in: 1 to 50 (Art.50)"));
        }
        let documents = raw
            .documents
            .iter()
            .enumerate()
            .map(|(i, d)| crate::text::one_line(&format!("report.documents[{i}]"), d, 1, 200, &mut v))
            .collect();
        let date = optional_date("report.close_date", &raw.close_date, &mut v);
        require_valid(v)?;
        let rule = Rule::SubmitClosingReport { result_summary, documents, date };
        Ok(Transition { action: LegalAidAction::Report, rule, counting })
    }
}
