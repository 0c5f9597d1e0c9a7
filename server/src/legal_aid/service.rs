//! `petition.v1.LegalAidService`: applications to legal-aid centres and
//! their lifecycle.
//!
//! Transitions go through the command pipeline: a handler names its
//! request type; `commands.rs` parses it into a transition (policy line
//! and rule); the pipeline locks, authorizes, decides and stores in one
//! transaction.

use std::sync::Arc;

use diesel::PgConnection;
use diesel::prelude::*;
use petition_proto::v1 as pb;
use petition_proto::v1::legal_aid_service_server::LegalAidService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::aggregate::{Application, RESOURCE, access};
use super::commands::{ApplicationRequest, Parse, Transition, bureau_of};
use super::conflicts::normalize;
use super::domain::{
    DayCounting, HardshipExemption, HardshipVerification, LegalAidState, MatterType, VerificationExemption,
};
use super::model::ApplicationRow;
use super::rules::{self, Hardship, New};
use super::store::{self, Filter, Visibility};
use super::view;
use crate::auth::policy::{self, CaseAction, LegalAidAction};
use crate::auth::principal::Role;
use crate::auth::{Principal, Scope, require_principal};
use crate::calendar::store as calendar_store;
use crate::cases::aggregate::access as case_access;
use crate::cases::store as case_store;
use crate::convert::{optional_id, optional_id_checked, parse_id};
use crate::directory::rules::OrganizationKind;
use crate::directory::store as directory_store;
use crate::error::{AppError, FieldViolation, Reason, require_valid};
use crate::event_log::{self, Batch, Journal};
use crate::identity::phone::PhoneNumber;
use crate::jsonb::Json;
use crate::mediation::commands::calendar_span;
use crate::mediation::draft::optional_date;
use crate::pagination::{finish_page, page_size};
use crate::pipeline::{self, Envelope};
use crate::state::AppState;
use crate::time::shanghai_today;

pub struct LegalAidApi {
    state: Arc<AppState>,
}

impl LegalAidApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    fn counting(&self) -> DayCounting {
        self.state.legal_aid.day_counting
    }
}

/// A typed list of enum values at `field[i]`, each once.
fn enum_list<T: PartialEq + Copy>(
    field: &str,
    raw: &[i32],
    parse: impl Fn(i32) -> Option<T>,
    what: &str,
    v: &mut Vec<FieldViolation>,
) -> Vec<T> {
    let mut out = Vec::new();
    for (i, n) in raw.iter().enumerate() {
        match parse(*n) {
            Some(x) if !out.contains(&x) => out.push(x),
            Some(_) => v.push(FieldViolation::new(format!("{field}[{i}]"), "is given twice")),
            None => v.push(FieldViolation::new(format!("{field}[{i}]"), format!("must be {what}"))),
        }
    }
    out
}

/// The hardship part validated: a statement (Art.41) unless an Art.32
/// category lifts the condition; with a statement, how it is verified
/// unless an Art.42 group exempts it from verification.
fn hardship(raw: Option<&pb::LegalAidHardship>, v: &mut Vec<FieldViolation>) -> Hardship {
    let Some(raw) = raw else {
        v.push(FieldViolation::new("hardship", "is required: a hardship statement or an Art.32 category"));
        return Hardship::default();
    };
    let statement = crate::text::multi_line("hardship.statement", &raw.statement, 0, 5_000, v);
    let verification = match raw.verification {
        0 => None,
        n => {
            let parsed = HardshipVerification::from_i32(n);
            if parsed.is_none() {
                v.push(FieldViolation::new(
                    "hardship.verification",
                    "must be INFORMATION_SHARING or PERSONAL_COMMITMENT",
                ));
            }
            parsed
        }
    };
    let exemptions =
        enum_list("hardship.exemptions", &raw.exemptions, HardshipExemption::from_i32, "an Art.32 category", v);
    let verification_exemptions = enum_list(
        "hardship.verification_exemptions",
        &raw.verification_exemptions,
        VerificationExemption::from_i32,
        "an Art.42 group",
        v,
    );
    if statement.is_empty() && raw.exemptions.is_empty() {
        v.push(FieldViolation::new(
            "hardship.statement",
            "state the economic hardship (Art.41), or name an Art.32 category that lifts the condition",
        ));
    }
    if !statement.is_empty() && raw.verification == 0 && raw.verification_exemptions.is_empty() {
        v.push(FieldViolation::new(
            "hardship.verification",
            "say how the statement is verified (Art.41 ¶2), or name an Art.42 group exempt from verification",
        ));
    }
    Hardship { statement, verification, exemptions, verification_exemptions }
}

/// Who applies, as the caller and the case decide it.
struct Applicant {
    account_id: Option<Uuid>,
    name: String,
    /// The organization that applied for them from a case.
    origin: Option<Uuid>,
}

fn display_name(conn: &mut PgConnection, account: Uuid) -> Result<String, AppError> {
    use crate::schema::accounts;
    Ok(accounts::table.find(account).select(accounts::display_name).first(conn)?)
}

/// The applicant of a new application and the policy line: a citizen for
/// themselves (optionally citing their own case); the clerk or handling
/// unit of a case for its petitioner; the centre's staff for a walk-in.
fn applicant(
    conn: &mut PgConnection,
    principal: &Principal,
    case_id: Option<Uuid>,
    centre: Uuid,
    walk_in_name: &str,
) -> Result<Applicant, AppError> {
    if let Some(case_id) = case_id {
        let case = case_store::find_case(conn, case_id)?.ok_or(AppError::NotFound { resource: "case" })?;
        let access = case_access(&case);
        policy::authorize_case(principal, CaseAction::Read, &access)?;
        let origin = if principal.account_id == case.petitioner_id {
            None
        } else if policy::authorize_case(principal, CaseAction::Triage, &access).is_ok()
            || policy::authorize_case(principal, CaseAction::Handle, &access).is_ok()
        {
            principal.organization_id
        } else {
            return Err(AppError::permission_denied(
                Reason::PermissionDenied,
                "an application from a case is made by its petitioner, the clerk or the handling unit",
            ));
        };
        return Ok(Applicant {
            account_id: Some(case.petitioner_id),
            name: display_name(conn, case.petitioner_id)?,
            origin,
        });
    }
    if principal.has_role(Role::Citizen) {
        return Ok(Applicant {
            account_id: Some(principal.account_id),
            name: display_name(conn, principal.account_id)?,
            origin: None,
        });
    }
    let centre_writer = principal.organization_id == Some(centre)
        && ([Role::Handler, Role::UnitLead, Role::Leader].iter().any(|r| principal.has_role(*r))
            || (principal.has_role(Role::Partner) && principal.scopes.contains(&Scope::CasesWrite)));
    if centre_writer {
        if walk_in_name.is_empty() {
            return Err(AppError::invalid("applicant_name", "is required for a walk-in applicant"));
        }
        return Ok(Applicant { account_id: None, name: walk_in_name.to_owned(), origin: None });
    }
    Err(AppError::permission_denied(
        Reason::PermissionDenied,
        "applications are made by citizens, from a case by its clerk or handling unit, or at the centre's counter",
    ))
}

impl LegalAidApi {
    /// A transition: the request parsed into its command, run by the
    /// pipeline, answered with the application as the caller may see it.
    async fn transition<R>(&self, request: Request<R>) -> Result<pb::LegalAidApplication, Status>
    where
        R: ApplicationRequest,
        Transition: Parse<R>,
    {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, R::METHOD, req.request_id(), &req)?;
        let id = parse_id("application_id", req.application_id())?;
        let etag = req.etag().to_owned();
        let command = Transition::parse(req, self.counting())?;
        let state = self.state.clone();
        let application = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let (saved, _) = pipeline::transition::<Application, _>(conn, journal, principal, id, &etag, command)?;
            view::application_message(&saved.row, principal, &state.pii, shanghai_today())
        })
        .await?;
        Ok(application)
    }

    /// Reads `id` for `principal`: NOT_FOUND unless they may see it.
    async fn readable<T, F>(&self, principal: Principal, id: Uuid, then: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection, &Principal, ApplicationRow) -> Result<T, AppError> + Send + 'static,
    {
        self.state
            .db
            .read(move |conn| {
                let row = store::find(conn, id)?.ok_or(AppError::NotFound { resource: RESOURCE })?;
                policy::authorize_legal_aid(&principal, LegalAidAction::Read, &access(&row))?;
                then(conn, &principal, row)
            })
            .await
    }
}

/// Records a new application (and, from a case, the case's event) in the
/// transaction of `journal`; returns the stored row. Shared by the handler
/// and the demo seed.
#[allow(clippy::too_many_arguments)]
pub fn record(
    conn: &mut PgConnection,
    journal: &mut Journal,
    pii: &crate::pii::Pii,
    principal: &Principal,
    draft: Draft,
    counting: DayCounting,
) -> Result<ApplicationRow, AppError> {
    let centre = directory_store::find_organization(conn, draft.centre)?
        .filter(|o| o.organization.kind == OrganizationKind::LegalAidCentre.as_i16())
        .ok_or_else(|| AppError::invalid("centre_organization_id", "is not a legal-aid centre of the directory"))?;
    let who = applicant(conn, principal, draft.case_id, centre.organization.id, &draft.walk_in_name)?;
    if who.account_id.is_none() && draft.phone.is_none() {
        return Err(AppError::invalid("applicant_phone", "is required for a walk-in applicant"));
    }
    let id = Uuid::now_v7();
    let bureau = bureau_of(conn, draft.centre)?;
    let today = shanghai_today();
    let receive_date = rules::receive_date(draft.receive_date, today)?;
    let (from, to) = calendar_span(receive_date, today);
    let calendar = calendar_store::load_calendar(conn, from, to)?;
    let first = rules::create(
        New {
            centre_id: draft.centre,
            bureau_id: bureau,
            case_id: draft.case_id,
            matter_type: draft.matter_type,
            hardship: draft.hardship,
            receive_date,
            adverse_party_count: u32::try_from(draft.adverse_parties.len()).unwrap_or(u32::MAX),
        },
        &calendar,
        counting,
    );
    let at = journal.now();
    let start = Batch { id, before: None, last_sequence: 0, actor: Some(principal.account_id), at };
    let (life, last_sequence) = journal.record_batch(start, std::slice::from_ref(&first), |_, _| ())?;
    let (phone_masked, phone_cipher) = match &draft.phone {
        Some(phone) => (Some(phone.masked()), Some(pii.seal(id, phone.as_str())?)),
        None => (None, None),
    };
    let row = ApplicationRow {
        id,
        centre_organization_id: draft.centre,
        bureau_organization_id: bureau,
        origin_organization_id: who.origin,
        case_id: draft.case_id,
        applicant_account_id: who.account_id,
        applicant_key: normalize(&who.name),
        applicant_name: who.name,
        applicant_phone_masked: phone_masked,
        applicant_phone_cipher: phone_cipher,
        adverse_keys: draft.adverse_parties.iter().map(|n| normalize(n)).collect(),
        adverse_parties: draft.adverse_parties,
        matter_type: draft.matter_type.as_i16(),
        matter_summary: draft.matter_summary,
        lawyer_account_id: None,
        state: life.state.as_i16(),
        receive_date,
        due_date: life.running_due(),
        lifecycle: Json(life),
        version: 1,
        last_sequence,
        created_at: at,
        updated_at: at,
    };
    store::insert(conn, &row)?;
    if let Some(case_id) = draft.case_id {
        crate::cases::legal_aid::record_application(
            conn,
            journal,
            case_id,
            id,
            draft.centre,
            Some(principal.account_id),
        )?;
    }
    Ok(row)
}

/// A new application, validated for its shape.
pub struct Draft {
    pub centre: Uuid,
    pub case_id: Option<Uuid>,
    pub walk_in_name: String,
    pub phone: Option<PhoneNumber>,
    pub matter_type: MatterType,
    pub matter_summary: String,
    pub adverse_parties: Vec<String>,
    pub hardship: Hardship,
    pub receive_date: Option<chrono::NaiveDate>,
}

impl Draft {
    pub fn parse(req: &pb::CreateLegalAidApplicationRequest) -> Result<Draft, AppError> {
        let centre = parse_id("centre_organization_id", &req.centre_organization_id)?;
        let case_id = optional_id("case_id", &req.case_id)?;
        let mut v = Vec::new();
        let walk_in_name = crate::text::one_line("applicant_name", &req.applicant_name, 0, 100, &mut v);
        let phone = match req.applicant_phone.as_str() {
            "" => None,
            raw => PhoneNumber::parse(raw)
                .map_err(|_| v.push(FieldViolation::new("applicant_phone", "must be a mainland mobile number")))
                .ok(),
        };
        let matter_type = MatterType::from_i32(req.matter_type);
        if matter_type.is_none() {
            v.push(FieldViolation::new("matter_type", "must be a legal-aid matter type (Art.29, 31, 33)"));
        }
        let matter_summary = crate::text::multi_line("matter_summary", &req.matter_summary, 1, 5_000, &mut v);
        if req.adverse_parties.is_empty() || req.adverse_parties.len() > 10 {
            v.push(FieldViolation::new("adverse_parties", "name the other side: 1 to 10 names"));
        }
        let adverse_parties: Vec<String> = req
            .adverse_parties
            .iter()
            .enumerate()
            .map(|(i, n)| crate::text::one_line(&format!("adverse_parties[{i}]"), n, 1, 100, &mut v))
            .collect();
        for (i, name) in adverse_parties.iter().enumerate() {
            if !name.is_empty() && normalize(name).is_empty() {
                v.push(FieldViolation::new(format!("adverse_parties[{i}]"), "must contain letters or digits"));
            }
        }
        let hardship = hardship(req.hardship.as_ref(), &mut v);
        let receive_date = optional_date("receive_date", &req.receive_date, &mut v);
        require_valid(v)?;
        Ok(Draft {
            centre,
            case_id,
            walk_in_name,
            phone,
            matter_type: matter_type.unwrap_or(MatterType::Other),
            matter_summary,
            adverse_parties,
            hardship,
            receive_date,
        })
    }
}

#[tonic::async_trait]
impl LegalAidService for LegalAidApi {
    async fn create_legal_aid_application(
        &self,
        request: Request<pb::CreateLegalAidApplicationRequest>,
    ) -> Result<Response<pb::CreateLegalAidApplicationResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "CreateLegalAidApplication", &req.request_id, &req)?;
        let draft = Draft::parse(&req)?;
        let counting = self.counting();
        let state = self.state.clone();
        let response = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let row = record(conn, journal, &state.pii, principal, draft, counting)?;
            let application = view::application_message(&row, principal, &state.pii, shanghai_today())?;
            Ok(pb::CreateLegalAidApplicationResponse { application: Some(application) })
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn get_legal_aid_application(
        &self,
        request: Request<pb::GetLegalAidApplicationRequest>,
    ) -> Result<Response<pb::GetLegalAidApplicationResponse>, Status> {
        let principal = require_principal(&request)?;
        let id = parse_id("application_id", &request.into_inner().application_id)?;
        let state = self.state.clone();
        let application = self
            .readable(principal, id, move |_, principal, row| {
                view::application_message(&row, principal, &state.pii, shanghai_today())
            })
            .await?;
        Ok(Response::new(pb::GetLegalAidApplicationResponse { application: Some(application) }))
    }

    async fn list_legal_aid_applications(
        &self,
        request: Request<pb::ListLegalAidApplicationsRequest>,
    ) -> Result<Response<pb::ListLegalAidApplicationsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let mut v = Vec::new();
        let centre = optional_id_checked("centre_organization_id", &req.centre_organization_id, &mut v);
        let case_id = optional_id_checked("case_id", &req.case_id, &mut v);
        let states: Vec<i16> = enum_list("states", &req.states, LegalAidState::from_i32, "a legal-aid state", &mut v)
            .into_iter()
            .map(LegalAidState::as_i16)
            .collect();
        require_valid(v)?;
        let scope = format!(
            "legal-aid:{centre:?}:{states:?}:{case_id:?}:{}:{}:{}",
            req.assigned_to_me, req.overdue_only, req.applied_by_me
        );
        let before: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        let filter = Filter {
            centre,
            states,
            case_id,
            lawyer_account: req.assigned_to_me.then_some(principal.account_id),
            overdue_only: req.overdue_only,
            applicant_account: req.applied_by_me.then_some(principal.account_id),
        };
        let state = self.state.clone();
        let (applications, next) = self
            .state
            .db
            .read(move |conn| {
                let visibility = Visibility::of(&principal);
                let rows = store::list(conn, &visibility, &filter, before, limit + 1)?;
                let (rows, cursor) = finish_page(rows, limit, |r| r.id);
                let today = shanghai_today();
                let applications = rows
                    .iter()
                    .map(|row| {
                        debug_assert!(policy::can_see_legal_aid(&principal, &access(row)));
                        view::application_message(row, &principal, &state.pii, today)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let next = state.pages.next_token(&scope, cursor)?;
                Ok((applications, next))
            })
            .await?;
        Ok(Response::new(pb::ListLegalAidApplicationsResponse { applications, next_page_token: next }))
    }

    async fn list_legal_aid_application_events(
        &self,
        request: Request<pb::ListLegalAidApplicationEventsRequest>,
    ) -> Result<Response<pb::ListLegalAidApplicationEventsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let id = parse_id("application_id", &req.application_id)?;
        let limit = page_size(req.page_size)?;
        let scope = format!("legal-aid-events:{id}");
        let after: Option<i32> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (events, next) = self
            .readable(principal, id, move |conn, _, _| {
                event_log::timeline_page(conn, &state.pages, &scope, id, after, limit, |row| {
                    event_log::parse_event(row).map(|event| view::event_message(row, &event))
                })
            })
            .await?;
        Ok(Response::new(pb::ListLegalAidApplicationEventsResponse { events, next_page_token: next }))
    }

    async fn request_materials(
        &self,
        request: Request<pb::RequestMaterialsRequest>,
    ) -> Result<Response<pb::RequestMaterialsResponse>, Status> {
        let application = self.transition(request).await?;
        Ok(Response::new(pb::RequestMaterialsResponse { application: Some(application) }))
    }

    async fn supply_materials(
        &self,
        request: Request<pb::SupplyMaterialsRequest>,
    ) -> Result<Response<pb::SupplyMaterialsResponse>, Status> {
        let application = self.transition(request).await?;
        Ok(Response::new(pb::SupplyMaterialsResponse { application: Some(application) }))
    }

    async fn withdraw_application(
        &self,
        request: Request<pb::WithdrawApplicationRequest>,
    ) -> Result<Response<pb::WithdrawApplicationResponse>, Status> {
        let application = self.transition(request).await?;
        Ok(Response::new(pb::WithdrawApplicationResponse { application: Some(application) }))
    }

    async fn decide_application(
        &self,
        request: Request<pb::DecideApplicationRequest>,
    ) -> Result<Response<pb::DecideApplicationResponse>, Status> {
        let application = self.transition(request).await?;
        Ok(Response::new(pb::DecideApplicationResponse { application: Some(application) }))
    }

    async fn grant_aid_first(
        &self,
        request: Request<pb::GrantAidFirstRequest>,
    ) -> Result<Response<pb::GrantAidFirstResponse>, Status> {
        let application = self.transition(request).await?;
        Ok(Response::new(pb::GrantAidFirstResponse { application: Some(application) }))
    }

    async fn record_papers_completed(
        &self,
        request: Request<pb::RecordPapersCompletedRequest>,
    ) -> Result<Response<pb::RecordPapersCompletedResponse>, Status> {
        let application = self.transition(request).await?;
        Ok(Response::new(pb::RecordPapersCompletedResponse { application: Some(application) }))
    }

    async fn clear_conflict(
        &self,
        request: Request<pb::ClearConflictRequest>,
    ) -> Result<Response<pb::ClearConflictResponse>, Status> {
        let application = self.transition(request).await?;
        Ok(Response::new(pb::ClearConflictResponse { application: Some(application) }))
    }

    async fn assign_lawyer(
        &self,
        request: Request<pb::AssignLawyerRequest>,
    ) -> Result<Response<pb::AssignLawyerResponse>, Status> {
        let application = self.transition(request).await?;
        Ok(Response::new(pb::AssignLawyerResponse { application: Some(application) }))
    }

    async fn terminate_aid(
        &self,
        request: Request<pb::TerminateAidRequest>,
    ) -> Result<Response<pb::TerminateAidResponse>, Status> {
        let application = self.transition(request).await?;
        Ok(Response::new(pb::TerminateAidResponse { application: Some(application) }))
    }

    async fn file_objection(
        &self,
        request: Request<pb::FileObjectionRequest>,
    ) -> Result<Response<pb::FileObjectionResponse>, Status> {
        let application = self.transition(request).await?;
        Ok(Response::new(pb::FileObjectionResponse { application: Some(application) }))
    }

    async fn decide_objection(
        &self,
        request: Request<pb::DecideObjectionRequest>,
    ) -> Result<Response<pb::DecideObjectionResponse>, Status> {
        let application = self.transition(request).await?;
        Ok(Response::new(pb::DecideObjectionResponse { application: Some(application) }))
    }

    async fn submit_closing_report(
        &self,
        request: Request<pb::SubmitClosingReportRequest>,
    ) -> Result<Response<pb::SubmitClosingReportResponse>, Status> {
        let application = self.transition(request).await?;
        Ok(Response::new(pb::SubmitClosingReportResponse { application: Some(application) }))
    }
}

/// Runs `command` on application `id` as `principal` (the demo seed).
pub fn run(
    conn: &mut PgConnection,
    journal: &mut Journal,
    principal: &Principal,
    id: Uuid,
    command: Transition,
) -> Result<Application, AppError> {
    let (saved, _) = pipeline::transition::<Application, _>(conn, journal, principal, id, "", command)?;
    Ok(saved)
}
