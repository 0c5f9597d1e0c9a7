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
use super::intake::{self, Subject};
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
use crate::similarity;
use crate::state::AppState;
use crate::time::shanghai_today;

/// Most cases one MergeCases call merges.
const MAX_MERGED: usize = 50;

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
    ) -> Result<pb::SubmitCaseResponse, AppError> {
        let state = self.state.clone();
        self.state
            .db
            .run(move |conn| {
                let principal = filing.principal.clone();
                once(conn, &principal, &request_id, method, &fingerprint, |conn| {
                    let filed = engine::file(conn, filing)?;
                    let viewer = viewer_of(conn, &principal)?;
                    let case = case_message(conn, &state, &filed.row, &viewer)?;
                    let intake = intake_message(conn, &principal, &filed.intake)?;
                    Ok(pb::SubmitCaseResponse { case: Some(case), intake: Some(intake) })
                })
            })
            .await
    }
}

/// What intake found, as the filer may see it: related cases only those
/// they may see (none for a citizen).
fn intake_message(
    conn: &mut PgConnection,
    principal: &Principal,
    outcome: &intake::Outcome,
) -> Result<pb::IntakeResult, AppError> {
    let ids: Vec<Uuid> = outcome.related.iter().map(|(id, _)| *id).collect();
    // A citizen never learns of other people's filings.
    let related_case_ids = if principal.has_role(crate::auth::Role::Citizen) {
        Vec::new()
    } else {
        store::find_cases(conn, &ids)?
            .iter()
            .filter(|row| policy::can_see_case(principal, &engine::access(row)))
            .map(|row| row.id.to_string())
            .collect()
    };
    let (filing_kind, repeat_of_case_id, repeat_of_case_number) = match &outcome.repeat_of {
        Some((case, _)) => (pb::FilingKind::Repeat, case.id.to_string(), case.number.clone()),
        None => (pb::FilingKind::FirstTime, String::new(), String::new()),
    };
    Ok(pb::IntakeResult {
        filing_kind: filing_kind as i32,
        repeat_of_case_id,
        repeat_of_case_number,
        escalated: outcome.escalated,
        related_case_ids,
    })
}

fn optional_id(field: &str, raw: &str) -> Result<Option<Uuid>, AppError> {
    if raw.is_empty() { Ok(None) } else { parse_id(field, raw).map(Some) }
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
        respondent_organization_id: &draft.respondent_organization_id,
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
            similarity: self.state.similarity.clone(),
        };
        let fingerprint = idempotency::fingerprint("SubmitCase", &req.encode_to_vec());
        Ok(Response::new(self.file(filing, req.request_id, "SubmitCase", fingerprint).await?))
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
        let filing = Filing {
            principal,
            draft,
            channel,
            petitioner_id,
            group_visit,
            daily_limit: self.daily_limit(),
            similarity: self.state.similarity.clone(),
        };
        let fingerprint = idempotency::fingerprint("RegisterCase", &req.encode_to_vec());
        let filed = self.file(filing, req.request_id, "RegisterCase", fingerprint).await?;
        Ok(Response::new(pb::RegisterCaseResponse { case: filed.case, intake: filed.intake }))
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
                let row = store::find_case_by_key(conn, &key)?.ok_or(AppError::NotFound { resource: "case" })?;
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
            related_to: optional_id("related_to_case_id", &req.related_to_case_id)?,
            repeat_of: optional_id("repeat_of_case_id", &req.repeat_of_case_id)?,
            merged_into: optional_id("merged_into_case_id", &req.merged_into_case_id)?,
            escalated_only: req.escalated_only,
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
        Ok(Response::new(pb::ListCasesResponse { cases, next_page_token, feed_position: 0 }))
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
                let events = rows
                    .into_iter()
                    .map(|r| view::event_message(r, sees_content))
                    .collect::<Result<Vec<_>, AppError>>()?;
                Ok((events, next))
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
                    Ok(pb::AddFollowUpResponse { event: Some(view::event_message(event, viewer.sees_content(saved))?) })
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

    async fn find_similar_cases(
        &self,
        request: Request<pb::FindSimilarCasesRequest>,
    ) -> Result<Response<pb::FindSimilarCasesResponse>, Status> {
        use pb::find_similar_cases_request::Query;
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        if principal.has_role(crate::auth::Role::Citizen) || principal.has_role(crate::auth::Role::Partner) {
            return Err(AppError::permission_denied("PERMISSION_DENIED", "only staff search for similar cases").into());
        }
        let Some(index) = self.state.similarity.clone() else {
            return Err(AppError::FailedPrecondition {
                reason: "DUPLICATE_DETECTION_OFF",
                message: "duplicate detection is switched off on this server".into(),
                subject: "cases".into(),
            }
            .into());
        };
        let limit = match req.page_size {
            0 => 10,
            n @ 1..=50 => n as usize,
            _ => return Err(AppError::invalid("page_size", "must be 0 (default 10) to 50").into()),
        };
        let mut v = Vec::new();
        let query = match req.query {
            Some(Query::CaseId(id)) if !id.trim().is_empty() => Query::CaseId(id.trim().to_owned()),
            Some(Query::Text(t)) => Query::Text(draft::text("text", &t, 1, draft::MAX_CONTENT_CHARS, &mut v)),
            _ => {
                v.push(FieldViolation::new("query", "give case_id or text"));
                Query::Text(String::new())
            }
        };
        let respondent = optional_id("respondent_organization_id", &req.respondent_organization_id)
            .map_err(|_| v.push(FieldViolation::new("respondent_organization_id", "must be an organization id")))
            .ok()
            .flatten();
        let petitioner = optional_id("petitioner_account_id", &req.petitioner_account_id)
            .map_err(|_| v.push(FieldViolation::new("petitioner_account_id", "must be an account id")))
            .ok()
            .flatten();
        require_valid(v)?;
        let state = self.state.clone();
        let matches = self
            .state
            .db
            .read(move |conn| {
                let viewer = viewer_of(conn, &principal)?;
                let (text, subject) = match query {
                    Query::CaseId(key) => {
                        let row =
                            store::find_case_by_key(conn, &key)?.ok_or(AppError::NotFound { resource: "case" })?;
                        policy::authorize_case(&principal, CaseAction::Read, &engine::access(&row))?;
                        if !viewer.sees_content(&row) {
                            return Err(AppError::permission_denied(
                                "CONTENT_HIDDEN",
                                "you may not see this accusation's content (Art.30)",
                            ));
                        }
                        let text = intake::filing_text(&row.title, &row.content, &row.requests, &row.facts_and_reasons);
                        let subject = Subject {
                            petitioner_id: Some(row.petitioner_id),
                            region_path: Some(row.region_path.clone()),
                            category_code: Some(row.category_code.clone()),
                            respondent_organization_id: row.respondent_organization_id,
                            kind: CaseKind::from_i32(i32::from(row.kind)),
                            exclude: Some(row.id),
                            serialize_filings: false,
                        };
                        (text, subject)
                    }
                    Query::Text(text) => {
                        let region_path = match req.region_code.as_str() {
                            "" => None,
                            code => Some(
                                directory_store::find_region(conn, code)?
                                    .ok_or_else(|| AppError::invalid("region_code", "no such region"))?
                                    .path,
                            ),
                        };
                        let category_code = (!req.category_code.is_empty()).then(|| req.category_code.clone());
                        let subject = Subject {
                            petitioner_id: petitioner,
                            region_path,
                            category_code,
                            respondent_organization_id: respondent,
                            kind: None,
                            exclude: None,
                            serialize_filings: false,
                        };
                        (text, subject)
                    }
                };
                let analyzed = index.analyze(&text);
                // Some of the best may be invisible to the caller: keep a margin.
                let found =
                    intake::find_matches(conn, &index, &analyzed, &subject, intake::Reach::SEARCH, limit * 4, None)?;
                let visible: Vec<intake::Match> = found
                    .into_iter()
                    .filter(|m| {
                        policy::can_see_case(&principal, &m.case.access())
                            && viewer.sees_content_of(m.case.kind, m.case.petitioner_id)
                    })
                    .take(limit)
                    .collect();
                let ids: Vec<Uuid> = visible.iter().map(|m| m.case.id).collect();
                let rows: HashMap<Uuid, CaseRow> =
                    store::find_cases(conn, &ids)?.into_iter().map(|row| (row.id, row)).collect();
                let petitioner_ids: Vec<Uuid> = rows.values().map(|r| r.petitioner_id).collect();
                let people = petitioners(conn, &state, &petitioner_ids, &viewer)?;
                let stats = analyzed.stats();
                let today = shanghai_today();
                visible
                    .iter()
                    .filter_map(|m| rows.get(&m.case.id).map(|row| (m, row)))
                    .map(|(m, row)| {
                        let info =
                            people.get(&row.petitioner_id).ok_or(AppError::internal("case without petitioner"))?;
                        let reason = similarity::explain(&analyzed.analysis, &m.fingerprint, &m.cues, stats, 3);
                        Ok(pb::SimilarCase {
                            case: Some(view::case_message(row, info, &viewer, today, &state.pii)?),
                            score: m.rank.clamp(0.0, 1.0),
                            content_score: m.similarity.content.clamp(0.0, 1.0),
                            repeat: m.repeat,
                            related: m.related,
                            reason: Some(pb::SimilarityReason {
                                shared_passages: reason.shared_passages,
                                shared_specifics: reason.shared_specifics,
                                same_petitioner: reason.same_petitioner,
                                same_region: reason.same_region,
                                same_category: reason.same_category,
                                same_respondent: reason.same_respondent,
                            }),
                        })
                    })
                    .collect::<Result<Vec<_>, AppError>>()
            })
            .await?;
        Ok(Response::new(pb::FindSimilarCasesResponse { matches }))
    }

    async fn merge_cases(
        &self,
        request: Request<pb::MergeCasesRequest>,
    ) -> Result<Response<pb::MergeCasesResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        idempotency::check_request_id(&req.request_id)?;
        let mut v = Vec::new();
        let primary = parse_id("primary_case_id", &req.primary_case_id)
            .map_err(|_| v.push(FieldViolation::new("primary_case_id", "must be a case id")))
            .ok();
        if req.case_ids.is_empty() || req.case_ids.len() > MAX_MERGED {
            v.push(FieldViolation::new("case_ids", format!("name 1–{MAX_MERGED} cases")));
        }
        let mut others = Vec::with_capacity(req.case_ids.len());
        for (i, raw) in req.case_ids.iter().enumerate() {
            match Uuid::parse_str(raw) {
                Ok(id) if Some(id) == primary => {
                    v.push(FieldViolation::new(format!("case_ids[{i}]"), "is the primary case"))
                }
                Ok(id) if others.contains(&id) => v.push(FieldViolation::new(format!("case_ids[{i}]"), "is repeated")),
                Ok(id) => others.push(id),
                Err(_) => v.push(FieldViolation::new(format!("case_ids[{i}]"), "must be a case id")),
            }
        }
        let reason = draft::text("reason", &req.reason, 1, draft::MAX_NOTE_CHARS, &mut v);
        require_valid(v)?;
        let Some(primary) = primary else {
            return Err(AppError::internal("validated merge without a primary").into());
        };
        let fingerprint = idempotency::fingerprint("MergeCases", &req.encode_to_vec());
        let state = self.state.clone();
        let response = self
            .state
            .db
            .run(move |conn| {
                once(conn, &principal, &req.request_id, "MergeCases", &fingerprint, |conn| {
                    // Lock every case in one order, so concurrent merges cannot deadlock.
                    let mut all = others.clone();
                    all.push(primary);
                    all.sort_unstable();
                    for id in &all {
                        store::lock_case(conn, *id)?;
                    }
                    let primary_row =
                        store::find_case(conn, primary)?.ok_or(AppError::NotFound { resource: "case" })?;
                    policy::authorize_case(&principal, CaseAction::Triage, &engine::access(&primary_row))?;
                    let primary_life = view::lifecycle_of(&primary_row)?;
                    if !primary_life.state.is_open() || primary_life.merged_into.is_some() {
                        return Err(AppError::FailedPrecondition {
                            reason: "PRIMARY_NOT_OPEN",
                            message: "the primary case must be open and not itself merged".into(),
                            subject: format!("cases/{primary}"),
                        });
                    }
                    // One level only: a case others are merged into stays a primary.
                    if let Some(parent) = store::merge_primaries(conn, &others)?.first() {
                        return Err(AppError::FailedPrecondition {
                            reason: "HAS_MERGED_CASES",
                            message: "cases are merged into this one; merge them into the new primary instead".into(),
                            subject: format!("cases/{parent}"),
                        });
                    }
                    let mut merged = Vec::with_capacity(others.len());
                    for id in others {
                        let reason = reason.clone();
                        let (row, _) = engine::act(
                            conn,
                            &principal,
                            id,
                            "",
                            |_| CaseAction::Triage,
                            move |_, _, _| Ok(Command::Merge { into: primary, reason }),
                        )?;
                        merged.push(row);
                    }
                    let viewer = viewer_of(conn, &principal)?;
                    let primary = case_message(conn, &state, &primary_row, &viewer)?;
                    let merged = merged.iter().map(|row| case_message(conn, &state, row, &viewer)).collect::<Result<
                        Vec<_>,
                        AppError,
                    >>(
                    )?;
                    Ok(pb::MergeCasesResponse { primary: Some(primary), merged })
                })
            })
            .await?;
        Ok(Response::new(response))
    }

    async fn unlink_case(
        &self,
        request: Request<pb::UnlinkCaseRequest>,
    ) -> Result<Response<pb::UnlinkCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let call = call(&principal, "UnlinkCase", &req.case_id, &req.etag, &req.request_id, &req)?;
        let reason = text("reason", &req.reason, 1, draft::MAX_NOTE_CHARS)?;
        let case = self.transition(call, |_| CaseAction::Triage, move |_, _, _| Ok(Command::Unlink { reason })).await?;
        Ok(Response::new(pb::UnlinkCaseResponse { case: Some(case) }))
    }

    async fn grant_case_access(
        &self,
        _request: Request<pb::GrantCaseAccessRequest>,
    ) -> Result<Response<pb::GrantCaseAccessResponse>, Status> {
        Err(Status::unimplemented("GrantCaseAccess"))
    }

    async fn revoke_case_access(
        &self,
        _request: Request<pb::RevokeCaseAccessRequest>,
    ) -> Result<Response<pb::RevokeCaseAccessResponse>, Status> {
        Err(Status::unimplemented("RevokeCaseAccess"))
    }
}
