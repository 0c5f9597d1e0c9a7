//! `petition.v1.CourtService`: referrals of petition cases to courts
//! (诉访分离) and the court's acts on them.
//!
//! Transitions go through the command pipeline: a handler names its
//! request type; the pipeline locks, authorizes, decides and stores in one
//! transaction (`commands.rs` holds the policy lines and the facts).

use std::sync::Arc;

use diesel::PgConnection;
use petition_proto::v1 as pb;
use petition_proto::v1::court_service_server::CourtService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::aggregate::{self, Referral, ReferralDraft};
use super::commands::{Act, Parse, ReferralRequest};
use super::domain::{PartyRole, ReferralState};
use super::rules::Party;
use super::store::{self, ReferralFilter, ReferralVisibility};
use super::view;
use crate::auth::policy::{self, CourtReferralAction};
use crate::auth::{Principal, require_principal};
use crate::convert::{optional_id_checked, parse_id};
use crate::directory::store as directory_store;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::event_log;
use crate::mediation::draft::optional_date;
use crate::pagination::{finish_page, page_size};
use crate::pipeline::{self, Envelope};
use crate::state::AppState;

/// Most parties a referral names.
pub const MAX_PARTIES: usize = 20;

pub struct CourtApi {
    state: Arc<AppState>,
}

impl CourtApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// Validates the parties at `field`: 1 to 100 characters each, at least
/// one plaintiff and one defendant.
pub fn parties(field: &str, raw: &[pb::CourtParty], v: &mut Vec<FieldViolation>) -> Vec<Party> {
    if raw.len() < 2 || raw.len() > MAX_PARTIES {
        v.push(FieldViolation::new(field, format!("must name 2 to {MAX_PARTIES} parties")));
    }
    let mut out = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        let name = crate::text::one_line(&format!("{field}[{i}].name"), &p.name, 1, 100, v);
        match PartyRole::from_i32(p.role) {
            Some(role) => out.push(Party { name, role }),
            None => v.push(FieldViolation::new(format!("{field}[{i}].role"), "must be a party role")),
        }
    }
    let has = |role| out.iter().any(|p: &Party| p.role == role);
    if raw.len() >= 2 && out.len() == raw.len() && !(has(PartyRole::Plaintiff) && has(PartyRole::Defendant)) {
        v.push(FieldViolation::new(field, "must name at least one plaintiff and one defendant"));
    }
    out
}

/// The wire form of `referral`.
fn message(referral: &Referral) -> pb::CourtReferral {
    view::referral_message(&referral.row, &referral.case.number)
}

impl CourtApi {
    /// A referral transition: the request parsed into its command, run by
    /// the pipeline, answered with the referral.
    async fn transition<R>(&self, request: Request<R>) -> Result<pb::CourtReferral, Status>
    where
        R: ReferralRequest,
        Act: Parse<R>,
    {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, R::METHOD, req.request_id(), &req)?;
        let id = parse_id("court_referral_id", req.referral_id())?;
        let etag = req.etag().to_owned();
        let command = Act::parse(req)?;
        let referral = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let (saved, _) = pipeline::transition::<Referral, Act>(conn, journal, principal, id, &etag, command)?;
            Ok(message(&saved))
        })
        .await?;
        Ok(referral)
    }

    /// Reads referral `id` for `principal`: NOT_FOUND unless they may see it.
    async fn readable<T, F>(&self, principal: Principal, id: Uuid, then: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection, Referral) -> Result<T, AppError> + Send + 'static,
    {
        self.state
            .db
            .read(move |conn| {
                let referral = Referral::find(conn, id)?;
                policy::authorize_court_referral(
                    &principal,
                    CourtReferralAction::Read,
                    &aggregate::access(&referral.row, &referral.case),
                )?;
                then(conn, referral)
            })
            .await
    }
}

#[tonic::async_trait]
impl CourtService for CourtApi {
    async fn refer_case_to_court(
        &self,
        request: Request<pb::ReferCaseToCourtRequest>,
    ) -> Result<Response<pb::ReferCaseToCourtResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "ReferCaseToCourt", &req.request_id, &req)?;
        let case_id = parse_id("case_id", &req.case_id)?;
        let court_id = parse_id("court_organization_id", &req.court_organization_id)?;
        let mut v = Vec::new();
        let claim_summary = crate::text::multi_line("claim_summary", &req.claim_summary, 1, 5_000, &mut v);
        let parties = parties("parties", &req.parties, &mut v);
        let refer_date = optional_date("refer_date", &req.refer_date, &mut v);
        require_valid(v)?;
        let draft = ReferralDraft { court_id, claim_summary, parties, refer_date };
        let etag = req.case_etag.clone();
        let response = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let referral = aggregate::refer_case(conn, journal, principal, case_id, draft, &etag)?;
            Ok(pb::ReferCaseToCourtResponse { court_referral: Some(message(&referral)) })
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn get_court_referral(
        &self,
        request: Request<pb::GetCourtReferralRequest>,
    ) -> Result<Response<pb::GetCourtReferralResponse>, Status> {
        let principal = require_principal(&request)?;
        let id = parse_id("court_referral_id", &request.get_ref().court_referral_id)?;
        let referral = self.readable(principal, id, |_, referral| Ok(message(&referral))).await?;
        Ok(Response::new(pb::GetCourtReferralResponse { court_referral: Some(referral) }))
    }

    async fn list_court_referrals(
        &self,
        request: Request<pb::ListCourtReferralsRequest>,
    ) -> Result<Response<pb::ListCourtReferralsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let mut v = Vec::new();
        let court_id = optional_id_checked("court_organization_id", &req.court_organization_id, &mut v);
        let case_id = optional_id_checked("case_id", &req.case_id, &mut v);
        let mut states: Vec<i16> = Vec::new();
        for (i, s) in req.states.iter().enumerate() {
            match ReferralState::from_i32(*s) {
                Some(state) if !states.contains(&state.as_i16()) => states.push(state.as_i16()),
                Some(_) => {}
                None => v.push(FieldViolation::new(format!("states[{i}]"), "must be a referral state")),
            }
        }
        require_valid(v)?;
        if req.awaiting_acknowledgment {
            let referred = ReferralState::Referred.as_i16();
            // Both filters apply: REFERRED, if `states` allows it.
            states = if states.is_empty() || states.contains(&referred) { vec![referred] } else { vec![-1] };
        }
        let scope = format!(
            "court-referrals:{court_id:?}:{states:?}:{case_id:?}:{}:{}",
            req.region_code, req.awaiting_acknowledgment
        );
        let before: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        let mut filter = ReferralFilter { court_id, states, case_id, region_root: None };
        let state = self.state.clone();
        let (referrals, next) = self
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
                let visibility = ReferralVisibility::of(&principal);
                let rows = store::list_referrals(conn, &visibility, &filter, before, limit + 1)?;
                let (rows, cursor) = finish_page(rows, limit, |r| r.id);
                let mut case_ids: Vec<Uuid> = rows.iter().map(|r| r.case_id).collect();
                case_ids.sort_unstable();
                case_ids.dedup();
                let numbers = store::case_numbers(conn, &case_ids)?;
                let referrals = rows
                    .iter()
                    .map(|row| {
                        let number = numbers.iter().find(|(id, _)| *id == row.case_id).map_or("", |(_, n)| n.as_str());
                        view::referral_message(row, number)
                    })
                    .collect();
                let next = state.pages.next_token(&scope, cursor)?;
                Ok((referrals, next))
            })
            .await?;
        Ok(Response::new(pb::ListCourtReferralsResponse { court_referrals: referrals, next_page_token: next }))
    }

    async fn list_court_referral_events(
        &self,
        request: Request<pb::ListCourtReferralEventsRequest>,
    ) -> Result<Response<pb::ListCourtReferralEventsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let id = parse_id("court_referral_id", &req.court_referral_id)?;
        let limit = page_size(req.page_size)?;
        let scope = format!("court-referral-events:{id}");
        let after: Option<i32> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (events, next) = self
            .readable(principal, id, move |conn, _| {
                event_log::timeline_page(conn, &state.pages, &scope, id, after, limit, |row| {
                    event_log::parse_event(row).map(|event| view::event_message(row, &event))
                })
            })
            .await?;
        Ok(Response::new(pb::ListCourtReferralEventsResponse { events, next_page_token: next }))
    }

    async fn acknowledge_court_referral(
        &self,
        request: Request<pb::AcknowledgeCourtReferralRequest>,
    ) -> Result<Response<pb::AcknowledgeCourtReferralResponse>, Status> {
        let referral = self.transition(request).await?;
        Ok(Response::new(pb::AcknowledgeCourtReferralResponse { court_referral: Some(referral) }))
    }

    async fn record_court_filing(
        &self,
        request: Request<pb::RecordCourtFilingRequest>,
    ) -> Result<Response<pb::RecordCourtFilingResponse>, Status> {
        let referral = self.transition(request).await?;
        Ok(Response::new(pb::RecordCourtFilingResponse { court_referral: Some(referral) }))
    }

    async fn schedule_court_hearing(
        &self,
        request: Request<pb::ScheduleCourtHearingRequest>,
    ) -> Result<Response<pb::ScheduleCourtHearingResponse>, Status> {
        let referral = self.transition(request).await?;
        Ok(Response::new(pb::ScheduleCourtHearingResponse { court_referral: Some(referral) }))
    }

    async fn record_court_outcome(
        &self,
        request: Request<pb::RecordCourtOutcomeRequest>,
    ) -> Result<Response<pb::RecordCourtOutcomeResponse>, Status> {
        let referral = self.transition(request).await?;
        Ok(Response::new(pb::RecordCourtOutcomeResponse { court_referral: Some(referral) }))
    }

    async fn return_court_referral(
        &self,
        request: Request<pb::ReturnCourtReferralRequest>,
    ) -> Result<Response<pb::ReturnCourtReferralResponse>, Status> {
        let referral = self.transition(request).await?;
        Ok(Response::new(pb::ReturnCourtReferralResponse { court_referral: Some(referral) }))
    }

    async fn withdraw_court_referral(
        &self,
        request: Request<pb::WithdrawCourtReferralRequest>,
    ) -> Result<Response<pb::WithdrawCourtReferralResponse>, Status> {
        let referral = self.transition(request).await?;
        Ok(Response::new(pb::WithdrawCourtReferralResponse { court_referral: Some(referral) }))
    }
}
