//! `petition.v1.MediationService`: teams, members, screening rounds,
//! disputes and their lifecycle, statistics.
//!
//! Dispute transitions go through the command pipeline: a handler names
//! its request type and its command (`commands.rs`); the pipeline locks,
//! authorizes, decides and stores in one transaction.

use std::sync::Arc;

use chrono::Utc;
use diesel::PgConnection;
use petition_proto::v1 as pb;
use petition_proto::v1::mediation_service_server::MediationService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::aggregate::{Dispute, access};
use super::commands::{Apply, Assign, DisputeRequest, Escalate, ForParty, Parse, Plain};
use super::domain::{DisputeCategory, DisputeSource, DisputeState, MemberRole, TeamKind};
use super::draft::{self, Origin};
use super::model::{MemberRow, ScreeningRow, TeamChange, TeamRow};
use super::rules::Links;
use super::stats::{self, Breakdown};
use super::store::{self, DisputeFilter, DisputeVisibility, StoredDispute, TeamFilter};
use super::view::{self, MediationViewer};
use crate::auth::policy::{self, DisputeAction, Membership, TeamAccess, TeamAction};
use crate::auth::principal::{AccountKind, Role};
use crate::auth::{Principal, Scope, require_principal};
use crate::calendar::rules::Period;
use crate::convert::{optional_id_checked, parse_id};
use crate::directory::rules::{OrganizationKind, RegionLevel};
use crate::directory::store as directory_store;
use crate::error::{AppError, FieldViolation, Reason, require_valid};
use crate::event_log;
use crate::identity::phone::PhoneNumber;
use crate::identity::store as identity_store;
use crate::pagination::{finish_page, page_size};
use crate::pipeline::{self, Command, Envelope};
use crate::state::AppState;
use crate::time::shanghai_today;

/// Most disputes one screening round records.
const MAX_SCREENED: usize = 50;

pub struct MediationApi {
    state: Arc<AppState>,
}

impl MediationApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }

    fn time_limit(&self) -> Period {
        Period::Days(self.state.mediation.mediation_time_limit_days)
    }
}

/// The dispute `row` as `viewer` may see it, with its parties.
fn dispute_message(
    conn: &mut PgConnection,
    state: &AppState,
    stored: &StoredDispute,
    viewer: &MediationViewer,
) -> Result<pb::Dispute, AppError> {
    let parties = store::parties_of(conn, &[stored.row.id])?;
    view::dispute_message(&stored.row, &parties, viewer, &state.pii, shanghai_today())
}

/// A team, NOT_FOUND when there is none.
fn team(conn: &mut PgConnection, id: Uuid) -> Result<store::CountedTeam, AppError> {
    store::find_team(conn, id)?.ok_or(AppError::NotFound { resource: "team" })
}

fn team_access(team: &store::CountedTeam) -> TeamAccess<'_> {
    TeamAccess { id: team.row.id, region_path: &team.row.region_path }
}

/// A region, INVALID_ARGUMENT at `field` when there is none.
fn region(conn: &mut PgConnection, field: &str, code: &str) -> Result<crate::directory::model::RegionRow, AppError> {
    directory_store::find_region(conn, code)?.ok_or_else(|| AppError::invalid(field, "no such region"))
}

/// Paths of `codes`, each a region (INVALID_ARGUMENT at `field[i]`).
fn covered_paths(conn: &mut PgConnection, field: &str, codes: &[String]) -> Result<Vec<String>, AppError> {
    if codes.len() > 200 {
        return Err(AppError::invalid(field, "at most 200 regions"));
    }
    codes.iter().enumerate().map(|(i, code)| region(conn, &format!("{field}[{i}]"), code).map(|r| r.path)).collect()
}

fn specialties(field: &str, raw: &[i32], v: &mut Vec<FieldViolation>) -> Vec<i16> {
    let mut out: Vec<i16> = Vec::new();
    for (i, s) in raw.iter().enumerate() {
        match DisputeCategory::from_i32(*s) {
            Some(c) if !out.contains(&c.as_i16()) => out.push(c.as_i16()),
            Some(_) => v.push(FieldViolation::new(format!("{field}[{i}]"), "is given twice")),
            None => v.push(FieldViolation::new(format!("{field}[{i}]"), "must be a dispute category")),
        }
    }
    out
}

/// An optional enum filter: 0 is none; an unknown value is a violation.
fn enum_filter(
    field: &str,
    raw: i32,
    parse: impl Fn(i32) -> Option<i16>,
    what: &str,
    v: &mut Vec<FieldViolation>,
) -> Option<i16> {
    if raw == 0 {
        return None;
    }
    let parsed = parse(raw);
    if parsed.is_none() {
        v.push(FieldViolation::new(field, format!("must be {what}")));
    }
    parsed
}

impl MediationApi {
    /// A dispute transition: the request parsed into its command `C`, run
    /// by the pipeline, answered with the dispute as the caller may see it.
    async fn transition<R, C>(&self, request: Request<R>) -> Result<pb::Dispute, Status>
    where
        R: DisputeRequest,
        C: Command<Dispute> + Parse<R> + Send + 'static,
    {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, R::METHOD, req.request_id(), &req)?;
        let dispute_id = parse_id("dispute_id", req.dispute_id())?;
        let etag = req.etag().to_owned();
        let command = C::parse(req, self.time_limit())?;
        let state = self.state.clone();
        let dispute = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let (saved, _) = pipeline::transition::<Dispute, C>(conn, journal, principal, dispute_id, &etag, command)?;
            let memberships = store::memberships_for(conn, principal)?;
            dispute_message(conn, &state, &saved.stored, &MediationViewer::of(principal, &memberships))
        })
        .await?;
        Ok(dispute)
    }

    /// Reads `id` for `principal`: NOT_FOUND unless they may see it.
    async fn readable<T, F>(&self, principal: Principal, id: Uuid, then: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection, &Principal, &[Membership], StoredDispute) -> Result<T, AppError> + Send + 'static,
    {
        self.state
            .db
            .read(move |conn| {
                let stored = store::find_dispute(conn, id)?.ok_or(AppError::NotFound { resource: "dispute" })?;
                let memberships = store::memberships_for(conn, &principal)?;
                policy::authorize_dispute(&principal, &memberships, DisputeAction::Read, &access(&stored))?;
                then(conn, &principal, &memberships, stored)
            })
            .await
    }
}

#[tonic::async_trait]
impl MediationService for MediationApi {
    async fn create_team(
        &self,
        request: Request<pb::CreateTeamRequest>,
    ) -> Result<Response<pb::CreateTeamResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize_team(&principal, &[], TeamAction::Administer, None)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "CreateTeam", &req.request_id, &req)?;
        let mut v = Vec::new();
        let name = crate::text::one_line("name", &req.name, 1, 100, &mut v);
        let kind = TeamKind::from_i32(req.kind);
        if kind.is_none() {
            v.push(FieldViolation::new("kind", "must be a team kind"));
        }
        let specialties = specialties("specialties", &req.specialties, &mut v);
        let organization_id = Uuid::parse_str(&req.organization_id).ok();
        if organization_id.is_none() {
            v.push(FieldViolation::new("organization_id", "must be an organization id"));
        }
        if req.region_code.is_empty() {
            v.push(FieldViolation::new("region_code", "is required"));
        }
        require_valid(v)?;
        let (kind, organization_id) = (kind.unwrap_or(TeamKind::RedTeam), organization_id.unwrap_or_default());
        let team = pipeline::write(&self.state, envelope, move |conn, _, _| {
            directory_store::find_organization(conn, organization_id)?
                .ok_or_else(|| AppError::invalid("organization_id", "no such organization"))?;
            let home = region(conn, "region_code", &req.region_code)?;
            let codes = if req.covered_region_codes.is_empty() {
                vec![home.code.clone()]
            } else {
                req.covered_region_codes.clone()
            };
            let paths = covered_paths(conn, "covered_region_codes", &codes)?;
            let now = Utc::now();
            let row = TeamRow {
                id: Uuid::now_v7(),
                name,
                kind: kind.as_i16(),
                specialties,
                organization_id,
                region_code: home.code,
                region_path: home.path,
                level: home.level,
                covered_region_codes: codes,
                covered_paths: paths,
                retired: false,
                version: 1,
                created_at: now,
                updated_at: now,
            };
            store::insert_team(conn, &row)?;
            Ok(pb::CreateTeamResponse { team: Some(view::team_message(&team(conn, row.id)?)) })
        })
        .await?;
        Ok(Response::new(team))
    }

    async fn get_team(&self, request: Request<pb::GetTeamRequest>) -> Result<Response<pb::GetTeamResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize_team(&principal, &[], TeamAction::Read, None)?;
        let id = parse_id("team_id", &request.into_inner().team_id)?;
        let found = self.state.db.read(move |conn| team(conn, id)).await?;
        Ok(Response::new(pb::GetTeamResponse { team: Some(view::team_message(&found)) }))
    }

    async fn list_teams(
        &self,
        request: Request<pb::ListTeamsRequest>,
    ) -> Result<Response<pb::ListTeamsResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize_team(&principal, &[], TeamAction::Read, None)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let mut v = Vec::new();
        let kind =
            enum_filter("kind", req.kind, |n| TeamKind::from_i32(n).map(TeamKind::as_i16), "a team kind", &mut v);
        let specialty = enum_filter(
            "specialty",
            req.specialty,
            |n| DisputeCategory::from_i32(n).map(DisputeCategory::as_i16),
            "a dispute category",
            &mut v,
        );
        require_valid(v)?;
        let scope = format!(
            "teams:{}:{kind:?}:{specialty:?}:{}:{}:{}",
            req.region_code, req.covering_region_code, req.include_retired, req.mine
        );
        let member_account = req.mine.then_some(principal.account_id);
        let after: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (teams, next) = self
            .state
            .db
            .read(move |conn| {
                let region_root = match req.region_code.as_str() {
                    "" => None,
                    code => Some(region(conn, "region_code", code)?.path),
                };
                let covering_path = match req.covering_region_code.as_str() {
                    "" => None,
                    code => Some(region(conn, "covering_region_code", code)?.path),
                };
                let filter = TeamFilter {
                    region_root,
                    kind,
                    specialty,
                    covering_path,
                    include_retired: req.include_retired,
                    member_account,
                };
                let rows = store::list_teams(conn, &filter, after, limit + 1)?;
                let (rows, cursor) = finish_page(rows, limit, |t| t.row.id);
                let next = state.pages.next_token(&scope, cursor)?;
                Ok((rows.iter().map(view::team_message).collect(), next))
            })
            .await?;
        Ok(Response::new(pb::ListTeamsResponse { teams, next_page_token: next }))
    }

    async fn update_team(
        &self,
        request: Request<pb::UpdateTeamRequest>,
    ) -> Result<Response<pb::UpdateTeamResponse>, Status> {
        let principal = require_principal(&request)?;
        policy::authorize_team(&principal, &[], TeamAction::Administer, None)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "UpdateTeam", &req.request_id, &req)?;
        let given = req.team.clone().ok_or_else(|| AppError::invalid("team", "is required"))?;
        let id = parse_id("team.id", &given.id)?;
        let paths = req.update_mask.clone().map(|m| m.paths).unwrap_or_default();
        if paths.is_empty() {
            return Err(AppError::invalid("update_mask", "name at least one field to change").into());
        }
        if let Some(unknown) =
            paths.iter().find(|p| !matches!(p.as_str(), "name" | "specialties" | "covered_region_codes" | "retired"))
        {
            return Err(AppError::invalid("update_mask", format!("{unknown:?} cannot be changed")).into());
        }
        let has = |field: &str| paths.iter().any(|p| p == field);
        let mut v = Vec::new();
        let name = has("name").then(|| crate::text::one_line("team.name", &given.name, 1, 100, &mut v));
        let new_specialties = has("specialties").then(|| specialties("team.specialties", &given.specialties, &mut v));
        if has("covered_region_codes") && given.covered_region_codes.is_empty() {
            v.push(FieldViolation::new("team.covered_region_codes", "at least one region"));
        }
        require_valid(v)?;
        let codes = has("covered_region_codes").then(|| given.covered_region_codes.clone());
        let retired = has("retired").then_some(given.retired);
        let etag = req.etag.clone();
        let updated = pipeline::write(&self.state, envelope, move |conn, _, _| {
            let current = store::lock_team(conn, id)?.ok_or(AppError::NotFound { resource: "team" })?;
            if !etag.is_empty() && etag != current.version.to_string() {
                return Err(AppError::Aborted { resource: "team" });
            }
            let (covered_region_codes, covered_paths) = match codes {
                Some(codes) => {
                    let paths = covered_paths(conn, "team.covered_region_codes", &codes)?;
                    (codes, paths)
                }
                None => (current.covered_region_codes.clone(), current.covered_paths.clone()),
            };
            let change = TeamChange {
                name: name.unwrap_or(current.name),
                specialties: new_specialties.unwrap_or(current.specialties),
                covered_region_codes,
                covered_paths,
                retired: retired.unwrap_or(current.retired),
                version: current.version + 1,
                updated_at: Utc::now(),
            };
            store::update_team(conn, id, &change)?;
            Ok(pb::UpdateTeamResponse { team: Some(view::team_message(&team(conn, id)?)) })
        })
        .await?;
        Ok(Response::new(updated))
    }

    async fn add_team_member(
        &self,
        request: Request<pb::AddTeamMemberRequest>,
    ) -> Result<Response<pb::AddTeamMemberResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "AddTeamMember", &req.request_id, &req)?;
        let team_id = parse_id("team_id", &req.team_id)?;
        let mut v = Vec::new();
        let display_name = crate::text::one_line("display_name", &req.display_name, 1, 100, &mut v);
        let role = MemberRole::from_i32(req.role);
        if role.is_none() {
            v.push(FieldViolation::new("role", "must be HEAD, MEDIATOR, VOLUNTEER or GRID_WORKER"));
        }
        let account_id = match req.account_id.as_str() {
            "" => None,
            raw => Uuid::parse_str(raw)
                .map_err(|_| v.push(FieldViolation::new("account_id", "must be an account id")))
                .ok(),
        };
        let phone = match req.phone.as_str() {
            "" if req.account_id.is_empty() => {
                v.push(FieldViolation::new("phone", "a member without an account needs a phone"));
                None
            }
            "" => None,
            raw => PhoneNumber::parse(raw).map_err(|e| v.push(FieldViolation::new("phone", e.to_string()))).ok(),
        };
        require_valid(v)?;
        let role = role.unwrap_or(MemberRole::Mediator);
        let state = self.state.clone();
        let member = pipeline::write(&self.state, envelope, move |conn, _, principal| {
            let found = team(conn, team_id)?;
            let memberships = store::memberships_for(conn, principal)?;
            policy::authorize_team(principal, &memberships, TeamAction::ManageMembers, Some(team_access(&found)))?;
            if let Some(account) = account_id {
                let row = identity_store::find_accounts(conn, &[account])?
                    .into_iter()
                    .next()
                    .ok_or_else(|| AppError::invalid("account_id", "no such account"))?;
                let mediator = row.kind == AccountKind::Staff.as_i16()
                    && row.roles.iter().flatten().any(|r| *r == Role::Mediator.as_i16());
                if !mediator {
                    return Err(AppError::invalid("account_id", "must be a staff account holding ROLE_MEDIATOR"));
                }
            }
            let id = Uuid::now_v7();
            let row = MemberRow {
                id,
                team_id,
                display_name,
                role: role.as_i16(),
                account_id,
                phone_masked: phone.as_ref().map(PhoneNumber::masked),
                phone_cipher: phone.as_ref().map(|p| state.pii.seal(id, p.as_str())).transpose()?,
                active: true,
                created_at: Utc::now(),
                removed_at: None,
            };
            store::insert_member(conn, &row).map_err(|e| match e {
                AppError::AlreadyExists { .. } => AppError::AlreadyExists {
                    reason: Reason::AlreadyExists,
                    message: "this account is already a member of the team".into(),
                },
                other => other,
            })?;
            let loaded = store::find_member(conn, team_id, id)?.ok_or_else(|| AppError::internal("member vanished"))?;
            let viewer = MediationViewer::of(principal, &memberships);
            Ok(pb::AddTeamMemberResponse { member: Some(view::member_message(&loaded, &viewer, &state.pii)?) })
        })
        .await?;
        Ok(Response::new(member))
    }

    async fn list_team_members(
        &self,
        request: Request<pb::ListTeamMembersRequest>,
    ) -> Result<Response<pb::ListTeamMembersResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let team_id = parse_id("team_id", &req.team_id)?;
        let limit = page_size(req.page_size)?;
        let scope = format!("members:{team_id}:{}", req.include_inactive);
        let after: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (members, next) = self
            .state
            .db
            .read(move |conn| {
                let found = team(conn, team_id)?;
                let memberships = store::memberships_for(conn, &principal)?;
                policy::authorize_team(&principal, &memberships, TeamAction::ListMembers, Some(team_access(&found)))?;
                let rows = store::list_members(conn, team_id, req.include_inactive, after, limit + 1)?;
                let (rows, cursor) = finish_page(rows, limit, |m| m.row.id);
                let viewer = MediationViewer::of(&principal, &memberships);
                let members =
                    rows.iter().map(|m| view::member_message(m, &viewer, &state.pii)).collect::<Result<Vec<_>, _>>()?;
                let next = state.pages.next_token(&scope, cursor)?;
                Ok((members, next))
            })
            .await?;
        Ok(Response::new(pb::ListTeamMembersResponse { members, next_page_token: next }))
    }

    async fn remove_team_member(
        &self,
        request: Request<pb::RemoveTeamMemberRequest>,
    ) -> Result<Response<pb::RemoveTeamMemberResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "RemoveTeamMember", &req.request_id, &req)?;
        let team_id = parse_id("team_id", &req.team_id)?;
        let member_id = parse_id("member_id", &req.member_id)?;
        let state = self.state.clone();
        let member = pipeline::write(&self.state, envelope, move |conn, _, principal| {
            let found = store::lock_team(conn, team_id)?.ok_or(AppError::NotFound { resource: "team" })?;
            let memberships = store::memberships_for(conn, principal)?;
            let access = TeamAccess { id: found.id, region_path: &found.region_path };
            policy::authorize_team(principal, &memberships, TeamAction::ManageMembers, Some(access))?;
            let member =
                store::find_member(conn, team_id, member_id)?.ok_or(AppError::NotFound { resource: "member" })?;
            if member.open_disputes > 0 {
                return Err(AppError::FailedPrecondition {
                    reason: Reason::MemberHasOpenDisputes,
                    message: format!("the member mediates {} open disputes: reassign them first", member.open_disputes),
                    subject: format!("teams/{team_id}/members/{member_id}"),
                });
            }
            store::deactivate_member(conn, member_id, Utc::now())?;
            let loaded =
                store::find_member(conn, team_id, member_id)?.ok_or_else(|| AppError::internal("member vanished"))?;
            let viewer = MediationViewer::of(principal, &memberships);
            Ok(pb::RemoveTeamMemberResponse { member: Some(view::member_message(&loaded, &viewer, &state.pii)?) })
        })
        .await?;
        Ok(Response::new(member))
    }

    async fn list_uncovered_regions(
        &self,
        request: Request<pb::ListUncoveredRegionsRequest>,
    ) -> Result<Response<pb::ListUncoveredRegionsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let level = match req.level {
            0 => RegionLevel::Village,
            l => RegionLevel::from_i32(l).ok_or_else(|| AppError::invalid("level", "must be a region level"))?,
        };
        let scope = format!("uncovered:{}:{}", req.region_code, level.as_i16());
        let after: Option<String> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (regions, next) = self
            .state
            .db
            .read_snapshot(move |conn| {
                let root = region(conn, "region_code", &req.region_code)?;
                let memberships = store::memberships_for(conn, &principal)?;
                policy::authorize_mediation_statistics(&principal, &memberships, &root.path)?;
                let rows = store::uncovered_regions(conn, &root.path, level.as_i16(), after.as_deref(), limit + 1)?;
                let (rows, cursor) = finish_page(rows, limit, |r| r.code.clone());
                let next = state.pages.next_token(&scope, cursor)?;
                Ok((rows.into_iter().map(pb::Region::from).collect(), next))
            })
            .await?;
        Ok(Response::new(pb::ListUncoveredRegionsResponse { regions, next_page_token: next }))
    }

    async fn record_screening(
        &self,
        request: Request<pb::RecordScreeningRequest>,
    ) -> Result<Response<pb::RecordScreeningResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "RecordScreening", &req.request_id, &req)?;
        let team_id = parse_id("team_id", &req.team_id)?;
        let mut v = Vec::new();
        let date = draft::optional_date("screening_date", &req.screening_date, &mut v);
        let area = crate::text::one_line("area", &req.area, 1, 200, &mut v);
        let note = crate::text::multi_line("note", &req.note, 0, 5_000, &mut v);
        match (req.zero_report, req.disputes.len()) {
            (true, 0) => {}
            (true, _) => v.push(FieldViolation::new("disputes", "a zero report (零上报) lists no disputes")),
            (false, 0) => v.push(FieldViolation::new(
                "zero_report",
                "a round that found nothing is an explicit zero report: set it, or list the disputes found",
            )),
            (false, n) if n > MAX_SCREENED => {
                v.push(FieldViolation::new("disputes", format!("at most {MAX_SCREENED} per round")))
            }
            _ => {}
        }
        let drafts: Vec<draft::DisputeDraft> = req
            .disputes
            .iter()
            .enumerate()
            .map(|(i, d)| draft::validate(&format!("disputes[{i}]"), d, &mut v))
            .collect();
        require_valid(v)?;
        let today = shanghai_today();
        let date = super::rules::receive_date("screening_date", date, today)?;
        let state = self.state.clone();
        let response = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let found = team(conn, team_id)?;
            let memberships = store::memberships_for(conn, principal)?;
            policy::authorize_team(principal, &memberships, TeamAction::Work, Some(team_access(&found)))?;
            let screening = ScreeningRow {
                id: Uuid::now_v7(),
                team_id,
                screening_date: date,
                area,
                zero_report: req.zero_report,
                note,
                recorded_by: principal.account_id,
                created_at: Utc::now(),
            };
            store::insert_screening(conn, &screening)?;
            let viewer = MediationViewer::of(principal, &memberships);
            let mut disputes = Vec::new();
            for d in drafts {
                let origin = Origin {
                    source: DisputeSource::Screening,
                    links: Links { screening_id: Some(screening.id), ..Links::default() },
                    referring_organization_id: None,
                    court_case_number: String::new(),
                    receive_date: Some(date),
                };
                let id = Uuid::now_v7();
                let row = draft::record(conn, journal, &state.pii, principal.account_id, id, &found, d, origin)?;
                disputes.push(dispute_message(conn, &state, &StoredDispute::new(row), &viewer)?);
            }
            let ids: Vec<Uuid> = disputes.iter().filter_map(|d| Uuid::parse_str(&d.id).ok()).collect();
            Ok(pb::RecordScreeningResponse { screening: Some(view::screening_message(&screening, &ids)), disputes })
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn list_screenings(
        &self,
        request: Request<pb::ListScreeningsRequest>,
    ) -> Result<Response<pb::ListScreeningsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let team_id = parse_id("team_id", &req.team_id)?;
        let limit = page_size(req.page_size)?;
        let scope = format!("screenings:{team_id}");
        let before: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (screenings, next) = self
            .state
            .db
            .read(move |conn| {
                let found = team(conn, team_id)?;
                let memberships = store::memberships_for(conn, &principal)?;
                policy::authorize_team(
                    &principal,
                    &memberships,
                    TeamAction::ReadScreenings,
                    Some(team_access(&found)),
                )?;
                let rows = store::list_screenings(conn, team_id, before, limit + 1)?;
                let (rows, cursor) = finish_page(rows, limit, |(s, _)| s.id);
                let next = state.pages.next_token(&scope, cursor)?;
                Ok((rows.iter().map(|(s, ids)| view::screening_message(s, ids)).collect(), next))
            })
            .await?;
        Ok(Response::new(pb::ListScreeningsResponse { screenings, next_page_token: next }))
    }

    async fn refer_case_to_mediation(
        &self,
        request: Request<pb::ReferCaseToMediationRequest>,
    ) -> Result<Response<pb::ReferCaseToMediationResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "ReferCaseToMediation", &req.request_id, &req)?;
        let case_id = parse_id("case_id", &req.case_id)?;
        let team_id = parse_id("team_id", &req.team_id)?;
        let mut v = Vec::new();
        let others = draft::parties("other_parties", &req.other_parties, 1, &mut v);
        let matter = crate::text::multi_line("matter", &req.matter, 0, draft::MAX_MATTER_CHARS, &mut v);
        let category = DisputeCategory::from_i32(req.category);
        if category.is_none() {
            v.push(FieldViolation::new("category", "must be a dispute category"));
        }
        require_valid(v)?;
        let category = category.unwrap_or(DisputeCategory::Other);
        let etag = req.etag.clone();
        let state = self.state.clone();
        let dispute = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let found = team(conn, team_id)?;
            let row = draft::refer_case(
                conn, journal, &state.pii, principal, case_id, &found, others, matter, category, &etag,
            )?;
            let stored = StoredDispute::new(row);
            let memberships = store::memberships_for(conn, principal)?;
            let message = dispute_message(conn, &state, &stored, &MediationViewer::of(principal, &memberships))?;
            Ok(pb::ReferCaseToMediationResponse { dispute: Some(message) })
        })
        .await?;
        Ok(Response::new(dispute))
    }

    async fn create_dispute(
        &self,
        request: Request<pb::CreateDisputeRequest>,
    ) -> Result<Response<pb::CreateDisputeResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "CreateDispute", &req.request_id, &req)?;
        let team_id = parse_id("team_id", &req.team_id)?;
        let mut v = Vec::new();
        let source = match DisputeSource::from_i32(req.source) {
            Some(s @ (DisputeSource::Application | DisputeSource::Police)) => Some(s),
            Some(s) if s.is_court() => Some(s),
            Some(_) => {
                v.push(FieldViolation::new("source", "screening and case referral have their own calls"));
                None
            }
            None => {
                v.push(FieldViolation::new("source", "must be APPLICATION, a court's or the police's"));
                None
            }
        };
        let raw = req.dispute.clone().unwrap_or_default();
        let draft = draft::validate("dispute", &raw, &mut v);
        // Court linkage: the one case number format of every court answer.
        let court_case_number =
            crate::courts::case_number::validate("court_case_number", &req.court_case_number, false, &mut v);
        if source == Some(DisputeSource::CourtDuringProceedings) && court_case_number.is_empty() {
            v.push(FieldViolation::new(
                "court_case_number",
                "an entrustment during proceedings names the court's case",
            ));
        }
        let receive_date = draft::optional_date("receive_date", &req.receive_date, &mut v);
        require_valid(v)?;
        let source = source.unwrap_or(DisputeSource::Application);
        let state = self.state.clone();
        let dispute = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let found = team(conn, team_id)?;
            let memberships = store::memberships_for(conn, principal)?;
            let mut links = Links::default();
            if source.is_court() {
                // A court refers through its own accounts (partner service
                // accounts with the write scope).
                let court = principal.organization_id.filter(|org| {
                    principal.has_role(Role::Partner)
                        && principal.scopes.contains(&Scope::CasesWrite)
                        && state.organization_kinds.get(conn, *org).ok().flatten()
                            == Some(OrganizationKind::Court.as_i16())
                });
                links.referring_court_id = Some(court.ok_or_else(|| {
                    AppError::permission_denied(
                        Reason::PermissionDenied,
                        "a court refers disputes through its own accounts",
                    )
                })?);
            } else {
                let citizen_party = principal.has_role(Role::Citizen)
                    && source == DisputeSource::Application
                    && draft.parties.iter().any(|p| {
                        matches!(p, draft::NewParty::Account { account_id, .. } if *account_id == principal.account_id)
                    });
                if !citizen_party {
                    policy::authorize_team(principal, &memberships, TeamAction::Work, Some(team_access(&found)))?;
                }
            }
            let origin = Origin { source, links, referring_organization_id: None, court_case_number, receive_date };
            let id = Uuid::now_v7();
            let row = draft::record(conn, journal, &state.pii, principal.account_id, id, &found, draft, origin)?;
            let stored = StoredDispute::new(row);
            let message = dispute_message(conn, &state, &stored, &MediationViewer::of(principal, &memberships))?;
            Ok(pb::CreateDisputeResponse { dispute: Some(message) })
        })
        .await?;
        Ok(Response::new(dispute))
    }

    async fn get_dispute(
        &self,
        request: Request<pb::GetDisputeRequest>,
    ) -> Result<Response<pb::GetDisputeResponse>, Status> {
        let principal = require_principal(&request)?;
        let id = parse_id("dispute_id", &request.into_inner().dispute_id)?;
        let state = self.state.clone();
        let dispute = self
            .readable(principal, id, move |conn, principal, memberships, stored| {
                dispute_message(conn, &state, &stored, &MediationViewer::of(principal, memberships))
            })
            .await?;
        Ok(Response::new(pb::GetDisputeResponse { dispute: Some(dispute) }))
    }

    async fn list_disputes(
        &self,
        request: Request<pb::ListDisputesRequest>,
    ) -> Result<Response<pb::ListDisputesResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let mut v = Vec::new();
        let team_id = optional_id_checked("team_id", &req.team_id, &mut v);
        let mediator_member_id = optional_id_checked("mediator_member_id", &req.mediator_member_id, &mut v);
        let case_id = optional_id_checked("case_id", &req.case_id, &mut v);
        let states = req
            .states
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                DisputeState::from_i32(*s).map(DisputeState::as_i16).or_else(|| {
                    v.push(FieldViolation::new(format!("states[{i}]"), "must be a dispute state"));
                    None
                })
            })
            .collect();
        let source = enum_filter(
            "source",
            req.source,
            |n| DisputeSource::from_i32(n).map(DisputeSource::as_i16),
            "a dispute source",
            &mut v,
        );
        let category = enum_filter(
            "category",
            req.category,
            |n| DisputeCategory::from_i32(n).map(DisputeCategory::as_i16),
            "a dispute category",
            &mut v,
        );
        require_valid(v)?;
        let scope = format!(
            "disputes:{team_id:?}:{states:?}:{}:{mediator_member_id:?}:{source:?}:{category:?}:{}:{case_id:?}:{}",
            req.region_code, req.overdue_only, req.assigned_to_me
        );
        let before: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        let mut filter = DisputeFilter {
            team_id,
            states,
            region_root: None,
            mediator_member_id,
            source,
            category,
            overdue_only: req.overdue_only,
            case_id,
            mediator_account: req.assigned_to_me.then_some(principal.account_id),
        };
        let state = self.state.clone();
        let (disputes, next) = self
            .state
            .db
            .read(move |conn| {
                if !req.region_code.is_empty() {
                    filter.region_root = Some(region(conn, "region_code", &req.region_code)?.path);
                }
                let memberships = store::memberships_for(conn, &principal)?;
                let visibility = DisputeVisibility::of(&principal, &memberships);
                let rows = store::list_disputes(conn, &visibility, &filter, before, limit + 1)?;
                let (rows, cursor) = finish_page(rows, limit, |d| d.row.id);
                let ids: Vec<Uuid> = rows.iter().map(|d| d.row.id).collect();
                let parties = store::parties_of(conn, &ids)?;
                let viewer = MediationViewer::of(&principal, &memberships);
                let today = shanghai_today();
                let disputes = rows
                    .iter()
                    .map(|d| {
                        debug_assert!(policy::can_see_dispute(&principal, &memberships, &access(d)));
                        let own: Vec<_> = parties.iter().filter(|p| p.dispute_id == d.row.id).cloned().collect();
                        view::dispute_message(&d.row, &own, &viewer, &state.pii, today)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let next = state.pages.next_token(&scope, cursor)?;
                Ok((disputes, next))
            })
            .await?;
        Ok(Response::new(pb::ListDisputesResponse { disputes, next_page_token: next }))
    }

    async fn list_dispute_events(
        &self,
        request: Request<pb::ListDisputeEventsRequest>,
    ) -> Result<Response<pb::ListDisputeEventsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let id = parse_id("dispute_id", &req.dispute_id)?;
        let limit = page_size(req.page_size)?;
        let scope = format!("dispute-events:{id}");
        let after: Option<i32> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (events, next) = self
            .readable(principal, id, move |conn, _, _, _| {
                event_log::timeline_page(conn, &state.pages, &scope, id, after, limit, |row| {
                    event_log::parse_event(row).map(|event| view::event_message(row, &event))
                })
            })
            .await?;
        Ok(Response::new(pb::ListDisputeEventsResponse { events, next_page_token: next }))
    }

    async fn record_consent(
        &self,
        request: Request<pb::RecordConsentRequest>,
    ) -> Result<Response<pb::RecordConsentResponse>, Status> {
        let dispute = self.transition::<_, ForParty>(request).await?;
        Ok(Response::new(pb::RecordConsentResponse { dispute: Some(dispute) }))
    }

    async fn assign_mediator(
        &self,
        request: Request<pb::AssignMediatorRequest>,
    ) -> Result<Response<pb::AssignMediatorResponse>, Status> {
        let dispute = self.transition::<_, Assign>(request).await?;
        Ok(Response::new(pb::AssignMediatorResponse { dispute: Some(dispute) }))
    }

    async fn object_to_mediator(
        &self,
        request: Request<pb::ObjectToMediatorRequest>,
    ) -> Result<Response<pb::ObjectToMediatorResponse>, Status> {
        let dispute = self.transition::<_, ForParty>(request).await?;
        Ok(Response::new(pb::ObjectToMediatorResponse { dispute: Some(dispute) }))
    }

    async fn recuse_mediator(
        &self,
        request: Request<pb::RecuseMediatorRequest>,
    ) -> Result<Response<pb::RecuseMediatorResponse>, Status> {
        let dispute = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::RecuseMediatorResponse { dispute: Some(dispute) }))
    }

    async fn record_session(
        &self,
        request: Request<pb::RecordSessionRequest>,
    ) -> Result<Response<pb::RecordSessionResponse>, Status> {
        let dispute = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::RecordSessionResponse { dispute: Some(dispute) }))
    }

    async fn record_agreement(
        &self,
        request: Request<pb::RecordAgreementRequest>,
    ) -> Result<Response<pb::RecordAgreementResponse>, Status> {
        let dispute = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::RecordAgreementResponse { dispute: Some(dispute) }))
    }

    async fn record_failure(
        &self,
        request: Request<pb::RecordFailureRequest>,
    ) -> Result<Response<pb::RecordFailureResponse>, Status> {
        let dispute = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::RecordFailureResponse { dispute: Some(dispute) }))
    }

    async fn record_performance(
        &self,
        request: Request<pb::RecordPerformanceRequest>,
    ) -> Result<Response<pb::RecordPerformanceResponse>, Status> {
        let dispute = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::RecordPerformanceResponse { dispute: Some(dispute) }))
    }

    async fn apply_for_court_confirmation(
        &self,
        request: Request<pb::ApplyForCourtConfirmationRequest>,
    ) -> Result<Response<pb::ApplyForCourtConfirmationResponse>, Status> {
        let dispute = self.transition::<_, Apply>(request).await?;
        Ok(Response::new(pb::ApplyForCourtConfirmationResponse { dispute: Some(dispute) }))
    }

    async fn answer_court_confirmation(
        &self,
        request: Request<pb::AnswerCourtConfirmationRequest>,
    ) -> Result<Response<pb::AnswerCourtConfirmationResponse>, Status> {
        let dispute = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::AnswerCourtConfirmationResponse { dispute: Some(dispute) }))
    }

    async fn escalate_dispute(
        &self,
        request: Request<pb::EscalateDisputeRequest>,
    ) -> Result<Response<pb::EscalateDisputeResponse>, Status> {
        let dispute = self.transition::<_, Escalate>(request).await?;
        Ok(Response::new(pb::EscalateDisputeResponse { dispute: Some(dispute) }))
    }

    async fn get_mediation_statistics(
        &self,
        request: Request<pb::GetMediationStatisticsRequest>,
    ) -> Result<Response<pb::GetMediationStatisticsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let mut v = Vec::new();
        let start = draft::optional_date("start_date", &req.start_date, &mut v);
        let end = draft::optional_date("end_date", &req.end_date, &mut v);
        if req.start_date.is_empty() {
            v.push(FieldViolation::new("start_date", "is required"));
        }
        if req.end_date.is_empty() {
            v.push(FieldViolation::new("end_date", "is required"));
        }
        if let (Some(s), Some(e)) = (start, end)
            && (e < s || (e - s).num_days() > 3_660)
        {
            v.push(FieldViolation::new("end_date", "must be on or after start_date, within ten years"));
        }
        let breakdown = match pb::MediationBreakdown::try_from(req.breakdown) {
            Ok(pb::MediationBreakdown::Unspecified) => Breakdown::None,
            Ok(pb::MediationBreakdown::ChildRegion) => Breakdown::ChildRegion,
            Ok(pb::MediationBreakdown::Category) => Breakdown::Category,
            Ok(pb::MediationBreakdown::Month) => Breakdown::Month,
            Err(_) => {
                v.push(FieldViolation::new("breakdown", "must be a breakdown"));
                Breakdown::None
            }
        };
        require_valid(v)?;
        let (start, end) = (start.unwrap_or_default(), end.unwrap_or_default());
        let response = self
            .state
            .db
            .read_snapshot(move |conn| {
                let root = region(conn, "region_code", &req.region_code)?;
                let memberships = store::memberships_for(conn, &principal)?;
                policy::authorize_mediation_statistics(&principal, &memberships, &root.path)?;
                stats::serial(conn)?;
                let figures = stats::figures(conn, &root.path, start, end, breakdown)?;
                let by_child = breakdown == Breakdown::ChildRegion;
                let (capacity, capacities) = stats::capacity(conn, &root.path, start, end, by_child)?;
                let mut message = figures_message(&figures.total, Some(&capacity));
                message.key.clear();
                // A child region with teams but no dispute activity still
                // has its row.
                let mut keyed = figures.rows;
                for c in &capacities {
                    if !keyed.iter().any(|f| f.key == c.key) {
                        keyed.push(stats::Figures { key: c.key.clone(), ..Default::default() });
                    }
                }
                keyed.sort_by(|a, b| a.key.cmp(&b.key));
                let rows = keyed
                    .iter()
                    .map(|f| {
                        let mut row = figures_message(f, capacities.iter().find(|c| c.key == f.key));
                        if breakdown == Breakdown::Category {
                            row.key = f
                                .key
                                .parse::<i32>()
                                .ok()
                                .and_then(|c| pb::DisputeCategory::try_from(c).ok())
                                .map(|c| c.as_str_name().trim_start_matches("DISPUTE_CATEGORY_").to_owned())
                                .unwrap_or_default();
                        }
                        row
                    })
                    .collect();
                Ok(pb::GetMediationStatisticsResponse { total: Some(message), rows })
            })
            .await?;
        Ok(Response::new(response))
    }
}

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn figures_message(f: &stats::Figures, capacity: Option<&stats::Capacity>) -> pb::MediationFigures {
    let c = capacity.cloned().unwrap_or_default();
    pb::MediationFigures {
        key: f.key.clone(),
        teams: count(c.teams),
        mediators: count(c.mediators),
        screening_rounds: count(c.screening_rounds),
        zero_reports: count(c.zero_reports),
        recorded: count(f.recorded),
        screened: count(f.screened),
        accepted: count(f.accepted),
        refused: count(f.refused),
        settled: count(f.settled),
        failed: count(f.failed),
        settlement_rate: f.settlement_rate(),
        performed: count(f.performed),
        breached: count(f.breached),
        confirmations_applied: count(f.confirmations_applied),
        confirmations_confirmed: count(f.confirmations_confirmed),
        escalated: count(f.escalated),
        average_days_to_settle: f.average_days_to_settle.unwrap_or_default(),
    }
}
