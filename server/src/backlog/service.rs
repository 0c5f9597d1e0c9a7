//! `petition.v1.BacklogService`: backlog cases (积案) and their four
//! checks (一案四查).
//!
//! Writes go through the command pipeline (`commands.rs` holds the policy
//! lines); designations by rule are the background sweep's
//! (`aggregate::designate_by_rule`), never a call here.

use std::sync::Arc;

use diesel::PgConnection;
use petition_proto::v1 as pb;
use petition_proto::v1::backlog_service_server::BacklogService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::aggregate::{self, BacklogCase};
use super::commands::{self, Act, BacklogRequest, Parse};
use super::domain::{BacklogReason, BacklogState};
use super::store::{self, BacklogFilter, BacklogVisibility};
use super::view;
use crate::auth::policy::{self, BacklogAction};
use crate::auth::{Principal, require_principal};
use crate::convert::{enum_values, optional_id_checked, parse_id};
use crate::directory::store as directory_store;
use crate::error::{AppError, require_valid};
use crate::event_log;
use crate::pagination::{finish_page, page_size};
use crate::pipeline::{self, Envelope};
use crate::state::AppState;

pub struct BacklogApi {
    state: Arc<AppState>,
}

impl BacklogApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

impl BacklogApi {
    /// A write on a backlog case: the request parsed into its command, run
    /// by the pipeline, answered with the backlog case.
    async fn transition<R>(&self, request: Request<R>) -> Result<pb::BacklogCase, Status>
    where
        R: BacklogRequest,
        Act: Parse<R>,
    {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, R::METHOD, req.request_id(), &req)?;
        let id = parse_id("backlog_case_id", req.backlog_case_id())?;
        let etag = req.etag().to_owned();
        let command = Act::parse(req)?;
        let backlog = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let (saved, _) = pipeline::transition::<BacklogCase, Act>(conn, journal, principal, id, &etag, command)?;
            Ok(view::backlog_message(&saved.row))
        })
        .await?;
        Ok(backlog)
    }

    /// Reads backlog case `id` for `principal`: NOT_FOUND unless they may
    /// see it.
    async fn readable<T, F>(&self, principal: Principal, id: Uuid, then: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection, BacklogCase) -> Result<T, AppError> + Send + 'static,
    {
        self.state
            .db
            .read(move |conn| {
                let backlog = BacklogCase::find(conn, id)?;
                policy::authorize_backlog_case(&principal, BacklogAction::Read, &backlog.access())?;
                then(conn, backlog)
            })
            .await
    }
}

#[tonic::async_trait]
impl BacklogService for BacklogApi {
    async fn get_backlog_case(
        &self,
        request: Request<pb::GetBacklogCaseRequest>,
    ) -> Result<Response<pb::GetBacklogCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let id = parse_id("backlog_case_id", &request.get_ref().backlog_case_id)?;
        let backlog = self.readable(principal, id, |_, b| Ok(view::backlog_message(&b.row))).await?;
        Ok(Response::new(pb::GetBacklogCaseResponse { backlog_case: Some(backlog) }))
    }

    async fn list_backlog_cases(
        &self,
        request: Request<pb::ListBacklogCasesRequest>,
    ) -> Result<Response<pb::ListBacklogCasesResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let mut v = Vec::new();
        let case_id = optional_id_checked("case_id", &req.case_id, &mut v);
        let states = enum_values("states", &req.states, BacklogState::from_i32, &mut v);
        let reasons = enum_values("reasons", &req.reasons, BacklogReason::from_i32, &mut v);
        require_valid(v)?;
        let mut filter = BacklogFilter {
            states: states.iter().map(|s| s.as_i16()).collect(),
            reasons: reasons.iter().map(|r| r.as_i16()).collect(),
            region_root: None,
            case_id,
        };
        let scope = format!(
            "backlog:{case_id:?}:{}:{:?}:{:?}:{}",
            req.region_code, filter.states, filter.reasons, principal.account_id
        );
        let before: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (backlog_cases, next) = self
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
                let visibility = BacklogVisibility::of(&principal);
                let rows = store::list_backlog_cases(conn, &visibility, &filter, before, limit + 1)?;
                let (rows, cursor) = finish_page(rows, limit, |r| r.id);
                let backlog_cases = rows.iter().map(view::backlog_message).collect();
                Ok((backlog_cases, state.pages.next_token(&scope, cursor)?))
            })
            .await?;
        Ok(Response::new(pb::ListBacklogCasesResponse { backlog_cases, next_page_token: next }))
    }

    async fn list_backlog_case_events(
        &self,
        request: Request<pb::ListBacklogCaseEventsRequest>,
    ) -> Result<Response<pb::ListBacklogCaseEventsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let id = parse_id("backlog_case_id", &req.backlog_case_id)?;
        let limit = page_size(req.page_size)?;
        let scope = format!("backlog-events:{id}");
        let after: Option<i32> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (events, next) = self
            .readable(principal, id, move |conn, _| {
                event_log::timeline_page(conn, &state.pages, &scope, id, after, limit, |row| {
                    event_log::parse_event(row).map(|event| view::event_message(row, &event))
                })
            })
            .await?;
        Ok(Response::new(pb::ListBacklogCaseEventsResponse { events, next_page_token: next }))
    }

    async fn designate_backlog_case(
        &self,
        request: Request<pb::DesignateBacklogCaseRequest>,
    ) -> Result<Response<pb::DesignateBacklogCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "DesignateBacklogCase", &req.request_id, &req)?;
        let mut v = Vec::new();
        let case_id = match parse_id("case_id", &req.case_id) {
            Ok(id) => Some(id),
            Err(AppError::InvalidArgument(mut violations)) => {
                v.append(&mut violations);
                None
            }
            Err(e) => return Err(e.into()),
        };
        let detail = commands::text("detail", &req.detail, &mut v);
        require_valid(v)?;
        let case_id = case_id.ok_or_else(|| AppError::internal("a valid request without its case"))?;
        let backlog = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let case = crate::cases::store::find_case(conn, case_id)?.ok_or(AppError::NotFound { resource: "case" })?;
            policy::authorize_backlog_designation(principal, &crate::cases::aggregate::access(&case))?;
            let saved = aggregate::designate(
                conn,
                journal,
                &case,
                BacklogReason::ByDecision,
                detail,
                Some(principal.account_id),
            )?;
            Ok(view::backlog_message(&saved.row))
        })
        .await?;
        Ok(Response::new(pb::DesignateBacklogCaseResponse { backlog_case: Some(backlog) }))
    }

    async fn record_backlog_checks(
        &self,
        request: Request<pb::RecordBacklogChecksRequest>,
    ) -> Result<Response<pb::RecordBacklogChecksResponse>, Status> {
        let backlog = self.transition(request).await?;
        Ok(Response::new(pb::RecordBacklogChecksResponse { backlog_case: Some(backlog) }))
    }

    async fn record_backlog_accountability(
        &self,
        request: Request<pb::RecordBacklogAccountabilityRequest>,
    ) -> Result<Response<pb::RecordBacklogAccountabilityResponse>, Status> {
        let backlog = self.transition(request).await?;
        Ok(Response::new(pb::RecordBacklogAccountabilityResponse { backlog_case: Some(backlog) }))
    }

    async fn resolve_backlog_case(
        &self,
        request: Request<pb::ResolveBacklogCaseRequest>,
    ) -> Result<Response<pb::ResolveBacklogCaseResponse>, Status> {
        let backlog = self.transition(request).await?;
        Ok(Response::new(pb::ResolveBacklogCaseResponse { backlog_case: Some(backlog) }))
    }

    async fn withdraw_backlog_designation(
        &self,
        request: Request<pb::WithdrawBacklogDesignationRequest>,
    ) -> Result<Response<pb::WithdrawBacklogDesignationResponse>, Status> {
        let backlog = self.transition(request).await?;
        Ok(Response::new(pb::WithdrawBacklogDesignationResponse { backlog_case: Some(backlog) }))
    }
}
