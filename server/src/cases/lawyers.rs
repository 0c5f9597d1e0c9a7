//! Lawyers in petition cases (the seed's 访前, 事中 and 事后): asking for
//! one and recording their part, as the pipeline runs them. The rules are
//! `rules.rs`'s; who may is the policy's (`CaseAction::Counsel`).

use diesel::PgConnection;
use petition_proto::v1 as pb;
use uuid::Uuid;

use super::aggregate::Case;
use super::commands::decide_now;
use super::domain::{CaseState, LawyerCapacity, LawyerService, LawyerStage};
use super::rules::{Command as Rule, Event, LawyerParticipation};
use crate::auth::Principal;
use crate::auth::policy::CaseAction;
use crate::auth::principal::Role;
use crate::calendar::rules::parse_date;
use crate::convert::optional_id;
use crate::directory::rules::OrganizationKind;
use crate::directory::store as directory_store;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::identity::store as identity_store;
use crate::pipeline::Command;

/// The bureau's clerks act on a case until its unit has accepted it, the
/// unit after.
fn bureau_or_unit(case: &Case) -> CaseAction {
    match case.life().state {
        CaseState::Registered | CaseState::Routed | CaseState::Declined => CaseAction::Triage,
        _ => CaseAction::Handle,
    }
}

fn stage(raw: i32, v: &mut Vec<FieldViolation>) -> LawyerStage {
    LawyerStage::from_i32(raw).unwrap_or_else(|| {
        v.push(FieldViolation::new("stage", "must be BEFORE_VISIT, DURING_HANDLING or AFTER_OUTCOME"));
        LawyerStage::BeforeVisit
    })
}

/// Asking for a lawyer (RequestLawyer).
pub struct AskForLawyer {
    stage: LawyerStage,
    organization_id: Option<Uuid>,
    note: String,
}

impl TryFrom<pb::RequestLawyerRequest> for AskForLawyer {
    type Error = AppError;
    fn try_from(req: pb::RequestLawyerRequest) -> Result<Self, AppError> {
        let organization_id = optional_id("organization_id", &req.organization_id)?;
        let mut v = Vec::new();
        let stage = stage(req.stage, &mut v);
        let note = crate::text::multi_line("note", &req.note, 1, 2_000, &mut v);
        require_valid(v)?;
        Ok(AskForLawyer { stage, organization_id, note })
    }
}

impl Command<Case> for AskForLawyer {
    fn action(&self, case: &Case) -> CaseAction {
        bureau_or_unit(case)
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, principal: &Principal) -> Result<Vec<Event>, AppError> {
        if let Some(org) = self.organization_id {
            let kind = directory_store::find_organization(conn, org)?
                .map(|o| OrganizationKind::from_i32(i32::from(o.organization.kind)));
            match kind {
                None => return Err(AppError::invalid("organization_id", "no such organization")),
                Some(Some(kind)) if kind.provides_lawyers() => {}
                Some(_) => {
                    return Err(AppError::invalid("organization_id", "must be a legal-aid centre or a justice bureau"));
                }
            }
        }
        let AskForLawyer { stage, organization_id, note } = self;
        let rule = Rule::RequestLawyer {
            stage,
            organization_id,
            note,
            requested_by_organization_id: principal.organization_id,
        };
        decide_now(conn, case, rule)
    }
}

/// Recording a lawyer's part (RecordLawyerParticipation).
pub struct RecordParticipation {
    stage: LawyerStage,
    capacity: LawyerCapacity,
    lawyer_name: String,
    affiliation: String,
    service: LawyerService,
    service_date: chrono::NaiveDate,
    summary: String,
}

impl TryFrom<pb::RecordLawyerParticipationRequest> for RecordParticipation {
    type Error = AppError;
    fn try_from(req: pb::RecordLawyerParticipationRequest) -> Result<Self, AppError> {
        let mut v = Vec::new();
        let stage = stage(req.stage, &mut v);
        let capacity = LawyerCapacity::from_i32(req.capacity).unwrap_or_else(|| {
            v.push(FieldViolation::new("capacity", "must be a lawyer capacity"));
            LawyerCapacity::PublicLawyer
        });
        let service = LawyerService::from_i32(req.service).unwrap_or_else(|| {
            v.push(FieldViolation::new("service", "must be a lawyer service"));
            LawyerService::Consultation
        });
        let lawyer_name = crate::text::one_line("lawyer_name", &req.lawyer_name, 0, 100, &mut v);
        let affiliation = crate::text::one_line("affiliation", &req.affiliation, 0, 200, &mut v);
        let summary = crate::text::multi_line("summary", &req.summary, 1, 5_000, &mut v);
        let service_date = parse_date(&req.service_date).unwrap_or_else(|| {
            v.push(FieldViolation::new("service_date", "must be a date (YYYY-MM-DD)"));
            chrono::NaiveDate::MIN
        });
        require_valid(v)?;
        Ok(RecordParticipation { stage, capacity, lawyer_name, affiliation, service, service_date, summary })
    }
}

impl Command<Case> for RecordParticipation {
    fn action(&self, _: &Case) -> CaseAction {
        CaseAction::Counsel
    }

    fn decide(self, conn: &mut PgConnection, case: &Case, principal: &Principal) -> Result<Vec<Event>, AppError> {
        let RecordParticipation { stage, capacity, lawyer_name, affiliation, service, service_date, summary } = self;
        let (lawyer_account_id, lawyer_name) = if principal.has_role(Role::Lawyer) {
            if !lawyer_name.is_empty() {
                return Err(AppError::invalid("lawyer_name", "leave empty: a lawyer records their own part"));
            }
            let account = identity_store::find_account(conn, principal.account_id)?
                .ok_or_else(|| AppError::internal("the caller's account is gone"))?;
            (Some(principal.account_id), account.account.display_name)
        } else if lawyer_name.is_empty() {
            return Err(AppError::invalid("lawyer_name", "name the lawyer you record this for"));
        } else {
            (None, lawyer_name)
        };
        let participation = LawyerParticipation {
            stage,
            capacity,
            lawyer_account_id,
            lawyer_name,
            affiliation,
            service,
            service_date,
            summary,
        };
        decide_now(conn, case, Rule::RecordLawyer { participation })
    }
}
