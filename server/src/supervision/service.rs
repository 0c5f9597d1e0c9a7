//! `petition.v1.SupervisionService`: supervision items on cases, issued by
//! a bureau's supervisors, answered by the addressed organization, raised
//! rung by rung by the supervisors and by the sweeper (`crate::jobs`).
//!
//! Writes go through the command pipeline (`commands.rs` holds the policy
//! lines); their time is the business clock's (`crate::clock`).

use std::sync::Arc;

use chrono::NaiveDate;
use diesel::PgConnection;
use petition_proto::v1 as pb;
use petition_proto::v1::supervision_service_server::SupervisionService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::aggregate::{self, Supervision};
use super::commands::{Act, SupervisionRequest};
use super::domain::{Rung, SupervisionState};
use super::model::SupervisionRow;
use super::rules::{self, Issuing};
use super::store::{self, Filter, Visibility};
use super::view;
use crate::auth::policy::{self, CaseAction, SupervisionAccess, SupervisionAction};
use crate::auth::{Principal, require_principal};
use crate::cases::domain::CaseState;
use crate::cases::model::CaseRow;
use crate::convert::{enum_values, optional_id_checked, parse_id};
use crate::directory::store as directory_store;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::event_log;
use crate::pagination::{finish_page, page_size};
use crate::pipeline::{self, Envelope};
use crate::state::AppState;

pub struct SupervisionApi {
    state: Arc<AppState>,
}

impl SupervisionApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// The organization a case's item is addressed to by default: the
/// reviewing body while a review or re-review runs, else the handling one.
fn owing_organization(case: &CaseRow) -> Option<Uuid> {
    let reviewing =
        matches!(CaseState::from_i32(i32::from(case.state)), Some(CaseState::UnderReview | CaseState::UnderRecheck));
    if reviewing {
        case.reviewing_organization_id.or(case.handling_organization_id)
    } else {
        case.handling_organization_id
    }
}

impl SupervisionApi {
    /// A write on an existing item, answered with the item.
    async fn transition<R: SupervisionRequest>(&self, request: Request<R>) -> Result<pb::Supervision, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, R::METHOD, req.request_id(), &req)?;
        let id = parse_id("supervision_id", req.supervision_id())?;
        let etag = req.etag().to_owned();
        let now = self.state.clock.now();
        let command = Act { rule: req.rule()?, now, ladder: self.state.oversight.ladder() };
        let today = crate::time::shanghai_date(now);
        let item = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            journal.set_clock(Some(now));
            let (saved, _) = pipeline::transition::<Supervision, Act>(conn, journal, principal, id, &etag, command)?;
            Ok(view::supervision_message(&saved.row, today))
        })
        .await?;
        Ok(item)
    }

    /// Reads item `id` for `principal`: NOT_FOUND unless they may see it.
    async fn readable<T, F>(&self, principal: Principal, id: Uuid, then: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection, Supervision) -> Result<T, AppError> + Send + 'static,
    {
        self.state
            .db
            .read(move |conn| {
                let item = Supervision::find(conn, id)?;
                policy::authorize_supervision(&principal, SupervisionAction::Read, &aggregate::access(&item.row))?;
                then(conn, item)
            })
            .await
    }
}

#[tonic::async_trait]
impl SupervisionService for SupervisionApi {
    async fn issue_supervision(
        &self,
        request: Request<pb::IssueSupervisionRequest>,
    ) -> Result<Response<pb::IssueSupervisionResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "IssueSupervision", &req.request_id, &req)?;
        let now = self.state.clock.now();
        let today = crate::time::shanghai_date(now);
        let mut v = Vec::new();
        let case_id = optional_id_checked("case_id", &req.case_id, &mut v);
        if req.case_id.is_empty() {
            v.push(FieldViolation::new("case_id", "is required"));
        }
        let organization_id = optional_id_checked("organization_id", &req.organization_id, &mut v);
        let issue = rules::issue(req.trigger, &req.text, req.rung, &req.due_date, today, &mut v);
        require_valid(v)?;
        let (Some(case_id), Some(issue)) = (case_id, issue) else {
            return Err(AppError::internal("a valid issue without its case").into());
        };
        let ladder = self.state.oversight.ladder();
        let item = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            journal.set_clock(Some(now));
            let case = crate::cases::store::find_case(conn, case_id)?.ok_or(AppError::NotFound { resource: "case" })?;
            policy::authorize_case(principal, CaseAction::Read, &crate::cases::aggregate::access(&case))?;
            let organization_id = match organization_id.or_else(|| owing_organization(&case)) {
                Some(id) => id,
                None => {
                    return Err(AppError::invalid(
                        "organization_id",
                        "the case has no handling organization yet: name the organization",
                    ));
                }
            };
            if directory_store::find_organization(conn, organization_id)?.is_none() {
                return Err(AppError::invalid("organization_id", "no such organization"));
            }
            let issuer = principal.organization_id.unwrap_or(Uuid::nil());
            let access =
                SupervisionAccess { region_path: &case.region_path, organization_id, issuer_organization_id: issuer };
            policy::authorize_supervision(principal, SupervisionAction::Issue, &access)?;
            let issuing = Issuing {
                case_id,
                organization_id,
                issuer_organization_id: issuer,
                issued_by: Some(principal.account_id),
                today,
                automatic: false,
            };
            let calendar = crate::calendar::store::load_calendar_around(conn, today)?;
            let item =
                aggregate::open(conn, journal, (&ladder, &calendar), aggregate::OnCase::of(&case), issue, issuing)?;
            Ok(view::supervision_message(&item.row, today))
        })
        .await?;
        Ok(Response::new(pb::IssueSupervisionResponse { supervision: Some(item) }))
    }

    async fn answer_supervision(
        &self,
        request: Request<pb::AnswerSupervisionRequest>,
    ) -> Result<Response<pb::AnswerSupervisionResponse>, Status> {
        let supervision = self.transition(request).await?;
        Ok(Response::new(pb::AnswerSupervisionResponse { supervision: Some(supervision) }))
    }

    async fn review_supervision_answer(
        &self,
        request: Request<pb::ReviewSupervisionAnswerRequest>,
    ) -> Result<Response<pb::ReviewSupervisionAnswerResponse>, Status> {
        let supervision = self.transition(request).await?;
        Ok(Response::new(pb::ReviewSupervisionAnswerResponse { supervision: Some(supervision) }))
    }

    async fn escalate_supervision(
        &self,
        request: Request<pb::EscalateSupervisionRequest>,
    ) -> Result<Response<pb::EscalateSupervisionResponse>, Status> {
        let supervision = self.transition(request).await?;
        Ok(Response::new(pb::EscalateSupervisionResponse { supervision: Some(supervision) }))
    }

    async fn withdraw_supervision(
        &self,
        request: Request<pb::WithdrawSupervisionRequest>,
    ) -> Result<Response<pb::WithdrawSupervisionResponse>, Status> {
        let supervision = self.transition(request).await?;
        Ok(Response::new(pb::WithdrawSupervisionResponse { supervision: Some(supervision) }))
    }

    async fn get_supervision(
        &self,
        request: Request<pb::GetSupervisionRequest>,
    ) -> Result<Response<pb::GetSupervisionResponse>, Status> {
        let principal = require_principal(&request)?;
        let id = parse_id("supervision_id", &request.get_ref().supervision_id)?;
        let today = self.state.clock.today();
        let item = self.readable(principal, id, move |_, item| Ok(view::supervision_message(&item.row, today))).await?;
        Ok(Response::new(pb::GetSupervisionResponse { supervision: Some(item) }))
    }

    async fn list_supervisions(
        &self,
        request: Request<pb::ListSupervisionsRequest>,
    ) -> Result<Response<pb::ListSupervisionsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let mut v = Vec::new();
        let case_id = optional_id_checked("case_id", &req.case_id, &mut v);
        let organization_id = optional_id_checked("organization_id", &req.organization_id, &mut v);
        let issuer_organization_id = optional_id_checked("issuer_organization_id", &req.issuer_organization_id, &mut v);
        let states = enum_values("states", &req.states, SupervisionState::from_i32, &mut v);
        let rungs = enum_values("rungs", &req.rungs, Rung::from_i32, &mut v);
        require_valid(v)?;
        let today = self.state.clock.today();
        let mut filter = Filter {
            case_id,
            organization_id,
            issuer_organization_id,
            region_root: None,
            states: states.iter().map(|s| s.as_i16()).collect(),
            rungs: rungs.iter().map(|r| r.as_i16()).collect(),
            overdue_on: req.overdue_only.then_some(today),
        };
        // Overdue items change with the day: the day is part of the scope.
        let scope = format!(
            "supervisions:{case_id:?}:{organization_id:?}:{issuer_organization_id:?}:{}:{:?}:{:?}:{}:{}:{today}",
            req.region_code, filter.states, filter.rungs, req.overdue_only, principal.account_id
        );
        let after: Option<(NaiveDate, Uuid)> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (supervisions, next) = self
            .state
            .db
            .read(move |conn| {
                if !req.region_code.is_empty() {
                    filter.region_root = Some(
                        directory_store::find_region(conn, &req.region_code)?
                            .ok_or_else(|| AppError::invalid("region_code", "no such region"))?
                            .path,
                    );
                }
                let rows = store::list(conn, &Visibility::of(&principal), &filter, after, limit + 1)?;
                let (rows, cursor) = finish_page(rows, limit, |r: &SupervisionRow| (r.due_date, r.id));
                let items = rows.iter().map(|row| view::supervision_message(row, today)).collect();
                Ok((items, state.pages.next_token(&scope, cursor)?))
            })
            .await?;
        Ok(Response::new(pb::ListSupervisionsResponse { supervisions, next_page_token: next }))
    }

    async fn list_supervision_events(
        &self,
        request: Request<pb::ListSupervisionEventsRequest>,
    ) -> Result<Response<pb::ListSupervisionEventsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let id = parse_id("supervision_id", &req.supervision_id)?;
        let limit = page_size(req.page_size)?;
        let scope = format!("supervision-events:{id}");
        let after: Option<i32> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (events, next) = self
            .readable(principal, id, move |conn, _| {
                event_log::timeline_page(conn, &state.pages, &scope, id, after, limit, |row| {
                    event_log::parse_event(row).map(|event| view::event_message(row, &event))
                })
            })
            .await?;
        Ok(Response::new(pb::ListSupervisionEventsResponse { events, next_page_token: next }))
    }
}
