//! `petition.v1.CaseService`: filing, reading and every lifecycle call.
//!
//! Each call: validate the request, then in one transaction claim the
//! request id, lock the case, ask the policy, decide the command against
//! the lifecycle, store the new lifecycle and its events, and answer.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use chrono::Utc;
use diesel::PgConnection;
use petition_proto::v1 as pb;
use petition_proto::v1::case_service_server::CaseService;
use prost::Message;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::domain::{CaseKind, CaseState, Channel, Decision, DeclineReason, FollowUpKind, RoutingMode, Track};
use super::draft::{self, Attachment, RawDraft};
use super::engine::{self, Filing};
use super::limits::DailyLimit;
use super::model::{CaseEventRow, CaseRow};
use super::rules::{Command, Lifecycle, Opinion};
use super::store::{self, CaseFilter, Visibility};
use super::view::{self, PetitionerInfo, StoredGroupVisit, StoredRepresentative, Viewer};
use crate::auth::policy::{self, CaseAction};
use crate::auth::{Principal, require_principal};
use crate::calendar::rules::parse_date;
use crate::convert::parse_id;
use crate::directory::rules::OrganizationKind;
use crate::directory::store as directory_store;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::idempotency::{self, Claim};
use crate::identity::phone::PhoneNumber;
use crate::identity::store as identity_store;
use crate::pagination::{finish_page, page_size};
use crate::state::AppState;
use crate::time::shanghai_today;

pub struct CaseApi {
    state: Arc<AppState>,
}

impl CaseApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

fn viewer_of(conn: &mut PgConnection, principal: &Principal) -> Result<Viewer, AppError> {
    let in_discipline_channel = match principal.organization_id {
        Some(org) => directory_store::find_organization(conn, org)?
            .is_some_and(|o| o.organization.kind == OrganizationKind::DisciplineInspection as i16),
        None => false,
    };
    Ok(Viewer {
        account_id: principal.account_id,
        organization_id: principal.organization_id,
        is_admin: principal.is_admin(),
        in_discipline_channel,
    })
}

/// The petitioners of `ids` in one query; phones are decrypted only for
/// viewers who may see them in full (the petitioner, admins).
fn petitioners(
    conn: &mut PgConnection,
    state: &AppState,
    ids: &[Uuid],
    viewer: &Viewer,
) -> Result<HashMap<Uuid, PetitionerInfo>, AppError> {
    let mut out = HashMap::with_capacity(ids.len());
    for row in identity_store::find_accounts(conn, ids)? {
        let phone = if viewer.is_admin || viewer.account_id == row.id {
            state.pii.reveal(row.id, row.phone_cipher.as_deref())?
        } else {
            String::new()
        };
        let info = PetitionerInfo {
            name: row.display_name.clone(),
            phone_masked: row.phone_masked.clone().unwrap_or_default(),
            phone,
        };
        out.insert(row.id, info);
    }
    Ok(out)
}

fn case_message(
    conn: &mut PgConnection,
    state: &AppState,
    row: &CaseRow,
    viewer: &Viewer,
) -> Result<pb::Case, AppError> {
    let people = petitioners(conn, state, &[row.petitioner_id], viewer)?;
    let info = people.get(&row.petitioner_id).ok_or(AppError::internal("case without petitioner"))?;
    view::case_message(row, info, viewer, shanghai_today(), &state.pii)
}

/// Runs `work` once per (caller, request_id): replays get the stored response.
fn once<R: Message + Default>(
    conn: &mut PgConnection,
    principal: &Principal,
    request_id: &str,
    method: &str,
    fingerprint: &[u8],
    work: impl FnOnce(&mut PgConnection) -> Result<R, AppError>,
) -> Result<R, AppError> {
    if request_id.is_empty() {
        return work(conn);
    }
    match idempotency::claim(conn, principal.account_id, request_id, method, fingerprint)? {
        Claim::Replay(bytes) => R::decode(bytes.as_slice()).map_err(AppError::internal),
        Claim::New => {
            let response = work(conn)?;
            idempotency::record(conn, principal.account_id, request_id, &response.encode_to_vec())?;
            Ok(response)
        }
    }
}

fn text(field: &str, raw: &str, min: usize, max: usize) -> Result<String, AppError> {
    let mut v = Vec::new();
    let value = draft::text(field, raw, min, max, &mut v);
    require_valid(v).map(|()| value)
}

/// A written opinion from the wire, issued by `organization_id`; its
/// service time defaults to now and may not lie in the future.
fn opinion(raw: Option<pb::Opinion>, organization_id: Uuid) -> Result<Opinion, AppError> {
    let raw = raw.ok_or_else(|| AppError::invalid("opinion", "is required"))?;
    let mut v = Vec::new();
    let request = draft::text("opinion.request", &raw.request, 1, draft::MAX_REQUESTS_CHARS, &mut v);
    let facts = draft::text("opinion.facts", &raw.facts, 1, draft::MAX_CONTENT_CHARS, &mut v);
    let decision = Decision::from_i32(raw.decision);
    if decision.is_none() {
        v.push(FieldViolation::new("opinion.decision", "must be SUPPORTED, EXPLAINED or NOT_SUPPORTED"));
    }
    // Art.32: support and refusal rest on law; an explanation is given
    // precisely where the law is silent.
    let needs_basis = decision != Some(Decision::Explained);
    let legal_basis = draft::text(
        "opinion.legal_basis",
        &raw.legal_basis,
        usize::from(needs_basis),
        draft::MAX_REQUESTS_CHARS,
        &mut v,
    );
    let now = Utc::now();
    let served_at = match raw.serve_time {
        None => now,
        Some(t) => match chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)) {
            Some(t) if t <= now + chrono::Duration::minutes(5) => t,
            _ => {
                v.push(FieldViolation::new("opinion.serve_time", "must be a valid time not in the future"));
                now
            }
        },
    };
    if !raw.organization_id.is_empty() && raw.organization_id != organization_id.to_string() {
        v.push(FieldViolation::new(
            "opinion.organization_id",
            "leave empty: the opinion is the deciding organization's",
        ));
    }
    require_valid(v)?;
    Ok(Opinion {
        request,
        facts,
        decision: decision.unwrap_or(Decision::Explained),
        legal_basis,
        served_at,
        organization_id,
    })
}

/// What a transition call carries besides its command.
struct Call<'a> {
    principal: &'a Principal,
    case_id: Uuid,
    etag: String,
    request_id: String,
    method: &'static str,
    fingerprint: Vec<u8>,
}

fn call<'a, M: Message>(
    principal: &'a Principal,
    method: &'static str,
    case_id: &str,
    etag: &str,
    request_id: &str,
    request: &M,
) -> Result<Call<'a>, AppError> {
    idempotency::check_request_id(request_id)?;
    Ok(Call {
        principal,
        case_id: parse_id("case_id", case_id)?,
        etag: etag.to_owned(),
        request_id: request_id.to_owned(),
        method,
        fingerprint: idempotency::fingerprint(method, &request.encode_to_vec()),
    })
}

impl CaseApi {
    fn daily_limit(&self) -> DailyLimit {
        let intake = &self.state.intake;
        DailyLimit { per_day: intake.daily_filing_limit, channels: intake.daily_limit_channels }
    }

    /// The common path of every lifecycle call, answering with the case.
    async fn transition<A, B>(&self, call: Call<'_>, action: A, build: B) -> Result<pb::Case, AppError>
    where
        A: FnOnce(&Lifecycle) -> CaseAction + Send + 'static,
        B: FnOnce(&mut PgConnection, &CaseRow, &Lifecycle) -> Result<Command, AppError> + Send + 'static,
    {
        let state = self.state.clone();
        self.transition_with(call, action, build, move |conn, saved, _, viewer| {
            case_message(conn, &state, saved, viewer)
        })
        .await
    }

    /// A lifecycle call: [`engine::act`] under the request id, answered by
    /// `respond` with the viewer's view of what was stored.
    async fn transition_with<R, A, B, F>(&self, call: Call<'_>, action: A, build: B, respond: F) -> Result<R, AppError>
    where
        R: Message + Default + Send + 'static,
        A: FnOnce(&Lifecycle) -> CaseAction + Send + 'static,
        B: FnOnce(&mut PgConnection, &CaseRow, &Lifecycle) -> Result<Command, AppError> + Send + 'static,
        F: FnOnce(&mut PgConnection, &CaseRow, &[CaseEventRow], &Viewer) -> Result<R, AppError> + Send + 'static,
    {
        let principal = call.principal.clone();
        let Call { case_id, etag, request_id, method, fingerprint, .. } = call;
        self.state
            .db
            .run(move |conn| {
                once(conn, &principal, &request_id, method, &fingerprint, |conn| {
                    let (saved, events) = engine::act(conn, &principal, case_id, &etag, action, build)?;
                    let viewer = viewer_of(conn, &principal)?;
                    respond(conn, &saved, &events, &viewer)
                })
            })
            .await
    }

    /// The opinion of the organization deciding a review or re-review.
    async fn decide_review(
        &self,
        call: Call<'_>,
        raw: Option<pb::Opinion>,
        command: fn(Opinion) -> Command,
    ) -> Result<pb::Case, AppError> {
        self.transition(
            call,
            |_| CaseAction::DecideReview,
            move |_, _, life| {
                let organization = life.reviewing_organization_id.unwrap_or_default();
                Ok(command(opinion(raw, organization)?))
            },
        )
        .await
    }

    /// Files a case (online or registered) in one transaction, once per
    /// request id.
    async fn file(
        &self,
        filing: Filing,
        request_id: String,
        method: &'static str,
        fingerprint: Vec<u8>,
    ) -> Result<pb::Case, AppError> {
        let state = self.state.clone();
        self.state
            .db
            .run(move |conn| {
                let principal = filing.principal.clone();
                once(conn, &principal, &request_id, method, &fingerprint, |conn| {
                    let row = engine::file(conn, filing)?;
                    let viewer = viewer_of(conn, &principal)?;
                    case_message(conn, &state, &row, &viewer)
                })
            })
            .await
    }
}

fn raw_draft(draft: &pb::CaseDraft) -> RawDraft<'_> {
    RawDraft {
        kind: draft.kind,
        category_code: &draft.category_code,
        region_code: &draft.region_code,
        title: &draft.title,
        content: &draft.content,
        requests: &draft.requests,
        facts_and_reasons: &draft.facts_and_reasons,
        attachments: draft
            .attachments
            .iter()
            .map(|a| Attachment {
                name: a.name.clone(),
                media_type: a.media_type.clone(),
                size_bytes: a.size_bytes,
                sha256: a.sha256.clone(),
            })
            .collect(),
    }
}

/// The organization one level above `organization`: it decides the next
/// review (Art.35) or re-review (Art.36). Looked up only while the case is in
/// `state`, where the request is valid; in any other state the rules refuse
/// the call for its state, so no organization is needed.
fn next_level(
    conn: &mut PgConnection,
    row: &CaseRow,
    life: &Lifecycle,
    state: CaseState,
    organization: Option<Uuid>,
) -> Result<Uuid, AppError> {
    if life.state != state {
        return Ok(Uuid::nil());
    }
    let org = organization.ok_or(AppError::internal("review without a deciding organization"))?;
    directory_store::find_organization(conn, org)?.and_then(|o| o.organization.parent_id).ok_or_else(|| {
        AppError::FailedPrecondition {
            reason: "NO_SUPERIOR_ORGANIZATION",
            message: "the deciding organization has no superior organization in the directory".into(),
            subject: format!("cases/{}", row.id),
        }
    })
}

/// Checks that `organization` may receive the case: it exists, its
/// jurisdiction covers where the matter arose, and an accusation goes only
/// to the discipline channel.
fn check_target(conn: &mut PgConnection, row: &CaseRow, organization: Uuid) -> Result<(), AppError> {
    let target = directory_store::find_organization(conn, organization)?
        .ok_or_else(|| AppError::invalid("organization_id", "no such organization"))?;
    if !policy::path_within(&row.region_path, &target.region_path) {
        return Err(AppError::invalid(
            "organization_id",
            "the organization's jurisdiction does not cover the case's region",
        ));
    }
    let discipline = target.organization.kind == OrganizationKind::DisciplineInspection as i16;
    if row.kind == CaseKind::Accusation.as_i16() && !discipline {
        return Err(AppError::invalid(
            "organization_id",
            "an accusation goes to the discipline inspection channel (Art.30)",
        ));
    }
    Ok(())
}

fn time_range(field: &str, range: Option<pb::TimeRange>) -> Result<store::TimeBounds, AppError> {
    let convert = |t: Option<prost_types::Timestamp>, which: &str| -> Result<_, AppError> {
        t.map(|t| {
            chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(u32::MAX))
                .ok_or_else(|| AppError::invalid(format!("{field}.{which}"), "is not a valid time"))
        })
        .transpose()
    };
    let range = range.unwrap_or_default();
    Ok((convert(range.start_time, "start_time")?, convert(range.end_time, "end_time")?))
}

fn enum_list<T>(
    field: &str,
    values: &[i32],
    parse: impl Fn(i32) -> Option<T>,
    to: impl Fn(T) -> i16,
) -> Result<Vec<i16>, AppError> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| parse(*v).map(&to).ok_or_else(|| AppError::invalid(format!("{field}[{i}]"), "unknown value")))
        .collect()
}

#[tonic::async_trait]
impl CaseService for CaseApi {
    async fn submit_case(
        &self,
        request: Request<pb::SubmitCaseRequest>,
    ) -> Result<Response<pb::SubmitCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        idempotency::check_request_id(&req.request_id)?;
        let raw = req.draft.clone().unwrap_or_default();
        let draft = draft::validate(raw_draft(&raw))?;
        let filing = Filing {
            petitioner_id: principal.account_id,
            principal,
            draft,
            channel: Channel::Online,
            group_visit: None,
            daily_limit: self.daily_limit(),
        };
        let fingerprint = idempotency::fingerprint("SubmitCase", &req.encode_to_vec());
        let case = self.file(filing, req.request_id, "SubmitCase", fingerprint).await?;
        Ok(Response::new(pb::SubmitCaseResponse { case: Some(case) }))
    }

    async fn register_case(
        &self,
        request: Request<pb::RegisterCaseRequest>,
    ) -> Result<Response<pb::RegisterCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        idempotency::check_request_id(&req.request_id)?;
        let raw = req.draft.clone().unwrap_or_default();
        let draft = draft::validate(raw_draft(&raw));
        let mut v = Vec::new();
        let channel = Channel::from_i32(req.channel).filter(|c| *c != Channel::Online);
        if channel.is_none() {
            v.push(FieldViolation::new("channel", "must be LETTER, PHONE, FAX or VISIT"));
        }
        let petitioner_id = parse_id("petitioner_account_id", &req.petitioner_account_id)
            .map_err(|e| {
                if let AppError::InvalidArgument(mut more) = e {
                    v.append(&mut more);
                }
            })
            .ok();
        let group_visit = match &req.group_visit {
            None => None,
            Some(_) if channel != Some(Channel::Visit) => {
                v.push(FieldViolation::new("group_visit", "only a visit can be a group visit"));
                None
            }
            Some(g) => {
                draft::check_group_visit(g.headcount, g.representatives.len(), &mut v);
                let mut representatives = Vec::new();
                for (i, r) in g.representatives.iter().enumerate() {
                    let name = draft::text(&format!("group_visit.representatives[{i}].name"), &r.name, 1, 50, &mut v);
                    let phone = PhoneNumber::parse(&r.phone)
                        .map_err(|e| {
                            v.push(FieldViolation::new(
                                format!("group_visit.representatives[{i}].phone"),
                                e.to_string(),
                            ))
                        })
                        .ok();
                    // Sealed like every phone number, bound to the petitioner.
                    let sealed = match (&phone, petitioner_id) {
                        (Some(p), Some(owner)) => self.state.pii.seal(owner, p.as_str())?,
                        _ => Vec::new(),
                    };
                    representatives.push(StoredRepresentative {
                        name,
                        phone_masked: phone.map(|p| p.masked()).unwrap_or_default(),
                        phone_sealed: base64::engine::general_purpose::STANDARD.encode(sealed),
                    });
                }
                Some(StoredGroupVisit { headcount: g.headcount, representatives })
            }
        };
        let draft = match draft {
            Ok(draft) => Some(draft),
            Err(AppError::InvalidArgument(mut more)) => {
                v.append(&mut more);
                None
            }
            Err(other) => return Err(other.into()),
        };
        require_valid(v)?;
        let (Some(draft), Some(channel), Some(petitioner_id)) = (draft, channel, petitioner_id) else {
            return Err(AppError::internal("validated filing incomplete").into());
        };
        let filing = Filing { principal, draft, channel, petitioner_id, group_visit, daily_limit: self.daily_limit() };
        let fingerprint = idempotency::fingerprint("RegisterCase", &req.encode_to_vec());
        let case = self.file(filing, req.request_id, "RegisterCase", fingerprint).await?;
        Ok(Response::new(pb::RegisterCaseResponse { case: Some(case) }))
    }

    async fn get_case(&self, request: Request<pb::GetCaseRequest>) -> Result<Response<pb::GetCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let key = request.into_inner().id;
        if key.is_empty() {
            return Err(AppError::invalid("id", "is required").into());
        }
        let state = self.state.clone();
        let case = self
            .state
            .db
            .read(move |conn| {
                let row = match Uuid::parse_str(&key) {
                    Ok(id) => store::find_case(conn, id)?,
                    Err(_) => store::find_case_by_number(conn, &key)?,
                }
                .ok_or(AppError::NotFound { resource: "case" })?;
                policy::authorize_case(&principal, CaseAction::Read, &engine::access(&row))?;
                let viewer = viewer_of(conn, &principal)?;
                case_message(conn, &state, &row, &viewer)
            })
            .await?;
        Ok(Response::new(pb::GetCaseResponse { case: Some(case) }))
    }

    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let visibility = if principal.is_admin() {
            Visibility::All
        } else if principal.has_role(crate::auth::Role::Citizen) {
            Visibility::Petitioner(principal.account_id)
        } else if principal.has_role(crate::auth::Role::Partner) {
            return Err(
                AppError::permission_denied("PERMISSION_DENIED", "partners see only cases referred to them").into()
            );
        } else {
            Visibility::Staff { jurisdiction: principal.jurisdiction.clone(), organization: principal.organization_id }
        };
        let mut filter = CaseFilter {
            states: enum_list("states", &req.states, CaseState::from_i32, CaseState::as_i16)?,
            tracks: enum_list("tracks", &req.tracks, Track::from_i32, Track::as_i16)?,
            kind: match req.kind {
                0 => None,
                k => Some(CaseKind::from_i32(k).ok_or_else(|| AppError::invalid("kind", "unknown kind"))?.as_i16()),
            },
            category_code: (!req.category_code.is_empty()).then(|| req.category_code.clone()),
            region_root: None,
            handling_organization_id: match req.handling_organization_id.as_str() {
                "" => None,
                raw => Some(parse_id("handling_organization_id", raw)?),
            },
            overdue_only: req.overdue_only,
            extended_only: req.extended_only,
            group_visit_only: req.group_visit_only,
            created: time_range("create_time", req.create_time)?,
            updated: time_range("update_time", req.update_time)?,
        };
        let scope = {
            let mut fingerprint_of = req.clone();
            fingerprint_of.page_token.clear();
            fingerprint_of.page_size = 0;
            let digest = crate::crypto::sha256(&fingerprint_of.encode_to_vec());
            format!("cases:{}", crate::convert::hex(&digest[..12]))
        };
        let before: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        let region_code = req.region_code.clone();
        let state = self.state.clone();
        let (cases, next) = self
            .state
            .db
            .read(move |conn| {
                if !region_code.is_empty() {
                    let region = directory_store::find_region(conn, &region_code)?
                        .ok_or_else(|| AppError::invalid("region_code", "no such region"))?;
                    filter.region_root = Some(region.path);
                }
                let rows = store::list_cases(conn, &visibility, &filter, before, limit + 1)?;
                let (rows, next) = finish_page(rows, limit, |row| row.id);
                let viewer = viewer_of(conn, &principal)?;
                let ids: Vec<Uuid> = rows.iter().map(|r| r.petitioner_id).collect();
                let people = petitioners(conn, &state, &ids, &viewer)?;
                let today = shanghai_today();
                let cases = rows
                    .iter()
                    .map(|row| {
                        let info =
                            people.get(&row.petitioner_id).ok_or(AppError::internal("case without petitioner"))?;
                        view::case_message(row, info, &viewer, today, &state.pii)
                    })
                    .collect::<Result<Vec<_>, AppError>>()?;
                Ok((cases, next))
            })
            .await?;
        let next_page_token =
            next.map(|cursor| self.state.pages.encode(&scope, &cursor)).transpose()?.unwrap_or_default();
        Ok(Response::new(pb::ListCasesResponse { cases, next_page_token }))
    }

    async fn list_case_events(
        &self,
        request: Request<pb::ListCaseEventsRequest>,
    ) -> Result<Response<pb::ListCaseEventsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let case_id = parse_id("case_id", &req.case_id)?;
        let limit = page_size(req.page_size)?;
        let scope = format!("case-events:{case_id}");
        let after: Option<i32> = self.state.pages.decode(&scope, &req.page_token)?;
        let (events, next) = self
            .state
            .db
            .read(move |conn| {
                let row = store::find_case(conn, case_id)?.ok_or(AppError::NotFound { resource: "case" })?;
                policy::authorize_case(&principal, CaseAction::Read, &engine::access(&row))?;
                let sees_content = viewer_of(conn, &principal)?.sees_content(&row);
                let rows = store::list_events(conn, case_id, after.unwrap_or(0), limit + 1)?;
                let (rows, next) = finish_page(rows, limit, |r| r.sequence);
                Ok((rows.into_iter().map(|r| view::event_message(r, sees_content)).collect::<Vec<_>>(), next))
            })
            .await?;
        let next_page_token =
            next.map(|cursor| self.state.pages.encode(&scope, &cursor)).transpose()?.unwrap_or_default();
        Ok(Response::new(pb::ListCaseEventsResponse { events, next_page_token }))
    }

    async fn set_case_track(
        &self,
        request: Request<pb::SetCaseTrackRequest>,
    ) -> Result<Response<pb::SetCaseTrackResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "SetCaseTrack", &req.case_id, &req.etag, &req.request_id, &req)?;
        let track =
            Track::from_i32(req.track).ok_or_else(|| AppError::invalid("track", "must be URGENT, SIMPLE or NORMAL"))?;
        let reason = text("reason", &req.reason, usize::from(track == Track::Urgent), draft::MAX_NOTE_CHARS)?;
        let triaging_organization = principal.organization_id;
        let case = self
            .transition(
                call,
                |_| CaseAction::Triage,
                move |conn, row, _| {
                    let first_time = !store::petitioner_has_earlier_cases(conn, row.petitioner_id, row.id)?;
                    // Art.25: an urgent matter is reported to the level above
                    // the bureau that registered it, or above the triaging
                    // clerk's bureau for an online filing.
                    let report_to = match row.registering_organization_id.or(triaging_organization) {
                        Some(org) => {
                            directory_store::find_organization(conn, org)?.and_then(|o| o.organization.parent_id)
                        }
                        None => None,
                    };
                    Ok(Command::SetTrack { track, reason, first_time, report_to })
                },
            )
            .await?;
        Ok(Response::new(pb::SetCaseTrackResponse { case: Some(case) }))
    }

    async fn forward_case(
        &self,
        request: Request<pb::ForwardCaseRequest>,
    ) -> Result<Response<pb::ForwardCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "ForwardCase", &req.case_id, &req.etag, &req.request_id, &req)?;
        let organization_id = parse_id("organization_id", &req.organization_id)?;
        let note = text("note", &req.note, 0, draft::MAX_NOTE_CHARS)?;
        let case = self
            .transition(
                call,
                |_| CaseAction::Triage,
                move |conn, row, _| {
                    check_target(conn, row, organization_id)?;
                    Ok(Command::Route { organization_id, mode: RoutingMode::Forward, report_by: None, note })
                },
            )
            .await?;
        Ok(Response::new(pb::ForwardCaseResponse { case: Some(case) }))
    }

    async fn assign_case(
        &self,
        request: Request<pb::AssignCaseRequest>,
    ) -> Result<Response<pb::AssignCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "AssignCase", &req.case_id, &req.etag, &req.request_id, &req)?;
        let organization_id = parse_id("organization_id", &req.organization_id)?;
        let report_by =
            parse_date(&req.report_by).ok_or_else(|| AppError::invalid("report_by", "must be a date YYYY-MM-DD"))?;
        let note = text("note", &req.note, 0, draft::MAX_NOTE_CHARS)?;
        let case = self
            .transition(
                call,
                |_| CaseAction::Triage,
                move |conn, row, _| {
                    check_target(conn, row, organization_id)?;
                    Ok(Command::Route { organization_id, mode: RoutingMode::Assign, report_by: Some(report_by), note })
                },
            )
            .await?;
        Ok(Response::new(pb::AssignCaseResponse { case: Some(case) }))
    }

    async fn object_to_assignment(
        &self,
        request: Request<pb::ObjectToAssignmentRequest>,
    ) -> Result<Response<pb::ObjectToAssignmentResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "ObjectToAssignment", &req.case_id, &req.etag, &req.request_id, &req)?;
        let reason = text("reason", &req.reason, 1, 2_000)?;
        let case = self
            .transition(call, |_| CaseAction::RespondToRouting, move |_, _, _| Ok(Command::Object { reason }))
            .await?;
        Ok(Response::new(pb::ObjectToAssignmentResponse { case: Some(case) }))
    }

    async fn accept_case(
        &self,
        request: Request<pb::AcceptCaseRequest>,
    ) -> Result<Response<pb::AcceptCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "AcceptCase", &req.case_id, &req.etag, &req.request_id, &req)?;
        let note = text("note", &req.note, 0, draft::MAX_NOTE_CHARS)?;
        let case = self
            .transition(call, |_| CaseAction::RespondToRouting, move |_, _, _| Ok(Command::Accept { note }))
            .await?;
        Ok(Response::new(pb::AcceptCaseResponse { case: Some(case) }))
    }

    async fn decline_case(
        &self,
        request: Request<pb::DeclineCaseRequest>,
    ) -> Result<Response<pb::DeclineCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "DeclineCase", &req.case_id, &req.etag, &req.request_id, &req)?;
        let reason = DeclineReason::from_i32(req.reason)
            .ok_or_else(|| AppError::invalid("reason", "must be a decline reason"))?;
        let mut v = Vec::new();
        let diverted_to = draft::text("diverted_to", &req.diverted_to, usize::from(reason.diverts()), 200, &mut v);
        let explanation = draft::text(
            "explanation",
            &req.explanation,
            usize::from(reason == DeclineReason::Other),
            draft::MAX_NOTE_CHARS,
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
        let case = self
            .transition(
                call,
                // Before routing the bureau declines; after, the unit it went to.
                |life| match life.handling_organization_id {
                    None => CaseAction::Triage,
                    Some(_) => CaseAction::RespondToRouting,
                },
                move |conn, row, _| {
                    if let Some(related) = related_case_id {
                        let other = store::find_case(conn, related)?
                            .filter(|o| o.petitioner_id == row.petitioner_id && o.id != row.id)
                            .ok_or_else(|| {
                                AppError::invalid("related_case_id", "must be another case of the same petitioner")
                            })?;
                        let other_state = CaseState::from_i32(i32::from(other.state)).unwrap_or(CaseState::Registered);
                        let fits = match reason {
                            DeclineReason::AlreadyInProgress => other_state.is_open(),
                            _ => other_state == CaseState::Final,
                        };
                        if !fits {
                            let want = if reason == DeclineReason::AlreadyInProgress {
                                "still in progress"
                            } else {
                                "final after re-review"
                            };
                            return Err(AppError::invalid(
                                "related_case_id",
                                format!("the related case is not {want}"),
                            ));
                        }
                    }
                    Ok(Command::Decline { reason, diverted_to, related_case_id, explanation })
                },
            )
            .await?;
        Ok(Response::new(pb::DeclineCaseResponse { case: Some(case) }))
    }

    async fn add_follow_up(
        &self,
        request: Request<pb::AddFollowUpRequest>,
    ) -> Result<Response<pb::AddFollowUpResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "AddFollowUp", &req.case_id, "", &req.request_id, &req)?;
        let kind =
            FollowUpKind::from_i32(req.kind).ok_or_else(|| AppError::invalid("kind", "must be a follow-up kind"))?;
        let note = text("note", &req.note, 1, draft::MAX_NOTE_CHARS)?;
        let event = self
            .transition_with(
                call,
                |life| match life.state {
                    CaseState::UnderReview | CaseState::UnderRecheck => CaseAction::DecideReview,
                    _ => CaseAction::Handle,
                },
                move |_, _, _| Ok(Command::FollowUp { kind, note }),
                |_, saved, events, viewer| {
                    let event = events.last().cloned().ok_or(AppError::internal("follow-up not recorded"))?;
                    Ok(pb::AddFollowUpResponse { event: Some(view::event_message(event, viewer.sees_content(saved))) })
                },
            )
            .await?;
        Ok(Response::new(event))
    }

    async fn extend_case_deadline(
        &self,
        request: Request<pb::ExtendCaseDeadlineRequest>,
    ) -> Result<Response<pb::ExtendCaseDeadlineResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "ExtendCaseDeadline", &req.case_id, &req.etag, &req.request_id, &req)?;
        let days = u32::try_from(req.days).map_err(|_| AppError::invalid("days", "must be 1–30"))?;
        let reason = text("reason", &req.reason, 1, draft::MAX_NOTE_CHARS)?;
        let case = self
            .transition(call, |_| CaseAction::ApproveExtension, move |_, _, _| Ok(Command::Extend { days, reason }))
            .await?;
        Ok(Response::new(pb::ExtendCaseDeadlineResponse { case: Some(case) }))
    }

    async fn reply_to_case(
        &self,
        request: Request<pb::ReplyToCaseRequest>,
    ) -> Result<Response<pb::ReplyToCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "ReplyToCase", &req.case_id, &req.etag, &req.request_id, &req)?;
        let raw = req.opinion;
        let case = self
            .transition(
                call,
                |_| CaseAction::Handle,
                move |_, _, life| {
                    let organization =
                        life.handling_organization_id.ok_or(AppError::internal("accepted case without a unit"))?;
                    Ok(Command::Reply { opinion: opinion(raw, organization)? })
                },
            )
            .await?;
        Ok(Response::new(pb::ReplyToCaseResponse { case: Some(case) }))
    }

    async fn submit_completion_report(
        &self,
        request: Request<pb::SubmitCompletionReportRequest>,
    ) -> Result<Response<pb::SubmitCompletionReportResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "SubmitCompletionReport", &req.case_id, &req.etag, &req.request_id, &req)?;
        let report = text("report", &req.report, 1, 10_000)?;
        let case = self
            .transition(call, |_| CaseAction::Handle, move |_, _, _| Ok(Command::ReportCompletion { report }))
            .await?;
        Ok(Response::new(pb::SubmitCompletionReportResponse { case: Some(case) }))
    }

    async fn request_review(
        &self,
        request: Request<pb::RequestReviewRequest>,
    ) -> Result<Response<pb::RequestReviewResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "RequestReview", &req.case_id, &req.etag, &req.request_id, &req)?;
        let reason = text("reason", &req.reason, 1, draft::MAX_NOTE_CHARS)?;
        let case = self
            .transition(
                call,
                |_| CaseAction::ActAsPetitioner,
                move |conn, row, life| {
                    let reviewing_organization_id =
                        next_level(conn, row, life, CaseState::Replied, life.handling_organization_id)?;
                    Ok(Command::RequestReview { reason, reviewing_organization_id })
                },
            )
            .await?;
        Ok(Response::new(pb::RequestReviewResponse { case: Some(case) }))
    }

    async fn reply_to_review(
        &self,
        request: Request<pb::ReplyToReviewRequest>,
    ) -> Result<Response<pb::ReplyToReviewResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "ReplyToReview", &req.case_id, &req.etag, &req.request_id, &req)?;
        let case = self.decide_review(call, req.opinion, |opinion| Command::ReplyToReview { opinion }).await?;
        Ok(Response::new(pb::ReplyToReviewResponse { case: Some(case) }))
    }

    async fn request_recheck(
        &self,
        request: Request<pb::RequestRecheckRequest>,
    ) -> Result<Response<pb::RequestRecheckResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "RequestRecheck", &req.case_id, &req.etag, &req.request_id, &req)?;
        let reason = text("reason", &req.reason, 1, draft::MAX_NOTE_CHARS)?;
        let case = self
            .transition(
                call,
                |_| CaseAction::ActAsPetitioner,
                move |conn, row, life| {
                    let reviewing_organization_id =
                        next_level(conn, row, life, CaseState::Reviewed, life.reviewing_organization_id)?;
                    Ok(Command::RequestRecheck { reason, reviewing_organization_id })
                },
            )
            .await?;
        Ok(Response::new(pb::RequestRecheckResponse { case: Some(case) }))
    }

    async fn pause_recheck(
        &self,
        request: Request<pb::PauseRecheckRequest>,
    ) -> Result<Response<pb::PauseRecheckResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "PauseRecheck", &req.case_id, &req.etag, &req.request_id, &req)?;
        let reason = text("reason", &req.reason, 1, draft::MAX_NOTE_CHARS)?;
        let case = self
            .transition(call, |_| CaseAction::DecideReview, move |_, _, _| Ok(Command::PauseRecheck { reason }))
            .await?;
        Ok(Response::new(pb::PauseRecheckResponse { case: Some(case) }))
    }

    async fn resume_recheck(
        &self,
        request: Request<pb::ResumeRecheckRequest>,
    ) -> Result<Response<pb::ResumeRecheckResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "ResumeRecheck", &req.case_id, &req.etag, &req.request_id, &req)?;
        let note = text("note", &req.note, 0, draft::MAX_NOTE_CHARS)?;
        let case = self
            .transition(call, |_| CaseAction::DecideReview, move |_, _, _| Ok(Command::ResumeRecheck { note }))
            .await?;
        Ok(Response::new(pb::ResumeRecheckResponse { case: Some(case) }))
    }

    async fn reply_to_recheck(
        &self,
        request: Request<pb::ReplyToRecheckRequest>,
    ) -> Result<Response<pb::ReplyToRecheckResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "ReplyToRecheck", &req.case_id, &req.etag, &req.request_id, &req)?;
        let case = self.decide_review(call, req.opinion, |opinion| Command::ReplyToRecheck { opinion }).await?;
        Ok(Response::new(pb::ReplyToRecheckResponse { case: Some(case) }))
    }

    async fn withdraw_case(
        &self,
        request: Request<pb::WithdrawCaseRequest>,
    ) -> Result<Response<pb::WithdrawCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "WithdrawCase", &req.case_id, &req.etag, &req.request_id, &req)?;
        let reason = text("reason", &req.reason, 0, draft::MAX_NOTE_CHARS)?;
        let case = self
            .transition(call, |_| CaseAction::ActAsPetitioner, move |_, _, _| Ok(Command::Withdraw { reason }))
            .await?;
        Ok(Response::new(pb::WithdrawCaseResponse { case: Some(case) }))
    }
}
