//! `petition.v1.CaseService`: filing, reading and every lifecycle call.
//!
//! Writes go through the command pipeline (`crate::pipeline`): a
//! transition handler names its request type and its command
//! (`commands.rs`); the pipeline does the rest in one transaction.

use std::collections::HashMap;

use chrono::Datelike as _;
use std::sync::Arc;

use base64::Engine as _;
use diesel::PgConnection;
use petition_proto::v1 as pb;
use petition_proto::v1::case_service_server::CaseService;
use prost::Message as _;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::aggregate::{Case, access};
use super::commands::{self, CaseRequest, Decline, FollowUp, GrantAccess, Plain, RequestReview, Route, SetTrack};
use super::domain::{CaseKind, CaseState, Channel, Track};
use super::draft::{self, Attachment, RawDraft};
use super::filing::{self, Filing};
use super::intake::{self, Subject};
use super::lawyers::{AskForLawyer, RecordParticipation};
use super::leadership;
use super::limits::DailyLimit;
use super::model::CaseRow;
use super::rules;
use super::store::{self, CaseFilter, StoredPetitioner, Visibility};
use super::view::{self, CaseView, PetitionerInfo, StoredGroupVisit, StoredRepresentative, Viewer};
use crate::auth::policy::{self, CaseAction};
use crate::auth::{Principal, require_principal};
use crate::convert::{optional_id, parse_id, time_from_timestamp};
use crate::directory::store as directory_store;
use crate::error::Reason;
use crate::error::{AppError, FieldViolation, require_valid};
use crate::event_log;
use crate::feed;
use crate::identity::phone::PhoneNumber;
use crate::identity::store as identity_store;
use crate::pagination::{finish_page, page_size};
use crate::pipeline::{self, Command, Envelope};
use crate::similarity;
use crate::state::AppState;
use crate::text;
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

fn viewer_of(conn: &mut PgConnection, state: &AppState, principal: &Principal) -> Result<Viewer, AppError> {
    Viewer::of(conn, &state.organization_kinds, principal)
}

/// The petitioners of `ids` in one query, as `viewer` may see them.
fn petitioners(
    conn: &mut PgConnection,
    state: &AppState,
    ids: &[Uuid],
    viewer: &Viewer,
) -> Result<HashMap<Uuid, PetitionerInfo>, AppError> {
    identity_store::find_accounts(conn, ids)?
        .into_iter()
        .map(|row| {
            let stored = StoredPetitioner {
                name: row.display_name,
                phone_masked: row.phone_masked,
                phone_cipher: row.phone_cipher,
            };
            Ok((row.id, PetitionerInfo::of(row.id, stored, viewer, &state.pii, CaseView::Full)?))
        })
        .collect()
}

fn case_message(
    conn: &mut PgConnection,
    state: &AppState,
    row: &CaseRow,
    viewer: &Viewer,
) -> Result<pb::Case, AppError> {
    let people = petitioners(conn, state, &[row.petitioner_id], viewer)?;
    let info = people.get(&row.petitioner_id).ok_or(AppError::internal("case without petitioner"))?;
    full_case_message(state, row, info, viewer)
}

/// The full view of `row` for `viewer`.
fn full_case_message(
    state: &AppState,
    row: &CaseRow,
    petitioner: &PetitionerInfo,
    viewer: &Viewer,
) -> Result<pb::Case, AppError> {
    let schedules = state.calendar_years.get();
    view::case_message(row, petitioner, viewer, shanghai_today(), &schedules, &state.pii, CaseView::Full)
}

impl CaseApi {
    fn daily_limit(&self) -> DailyLimit {
        let intake = &self.state.intake;
        DailyLimit { per_day: intake.daily_filing_limit, channels: intake.daily_limit_channels }
    }

    /// A case transition: the request parsed into its command `C`, run by
    /// the pipeline, answered with the case as the caller may see it.
    async fn transition<R, C>(&self, request: Request<R>) -> Result<pb::Case, Status>
    where
        R: CaseRequest,
        C: Command<Case> + TryFrom<R, Error = AppError> + Send + 'static,
    {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, R::METHOD, req.request_id(), &req)?;
        let case_id = parse_id("case_id", req.case_id())?;
        let etag = req.etag().to_owned();
        let command = C::try_from(req)?;
        let state = self.state.clone();
        let case = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let (saved, events) = pipeline::transition::<Case, C>(conn, journal, principal, case_id, &etag, command)?;
            // A served opinion opens its rating in the same transaction.
            let actor = Some(principal.account_id);
            crate::ratings::open_for_opinions(conn, journal, &state.ratings, &saved, &events, actor)?;
            let viewer = viewer_of(conn, &state, principal)?;
            case_message(conn, &state, &saved.row, &viewer)
        })
        .await?;
        Ok(case)
    }

    /// Files a case (online or registered) through the pipeline; the
    /// region's sequence of case numbers is made sure of first, outside the
    /// transaction (a statement only the first time per server).
    async fn file(&self, envelope: Envelope, filing: Filing) -> Result<pb::SubmitCaseResponse, AppError> {
        let state = self.state.clone();
        let (channel, region_code) = (filing.channel, filing.draft.region_code.clone());
        let year = shanghai_today().year();
        let prepare_state = self.state.clone();
        let prepare_region = region_code.clone();
        pipeline::write_after(
            &self.state,
            envelope,
            move |conn, _| prepare_state.case_numbering.prepare(conn, &prepare_region, year),
            move |conn, journal, principal, ()| {
                let numbered = filing::take_number(conn, principal, channel, &region_code)?;
                let filed = filing::file(conn, journal, filing, numbered, &state.organization_kinds)?;
                let viewer = viewer_of(conn, &state, principal)?;
                let case = case_message(conn, &state, &filed.row, &viewer)?;
                let intake = intake_message(conn, principal, &filed.intake)?;
                Ok(pb::SubmitCaseResponse { case: Some(case), intake: Some(intake) })
            },
        )
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
            .filter(|row| policy::can_see_case(principal, &access(row)))
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
        similarity_partial: outcome.partial,
    })
}

pub(crate) fn raw_draft(draft: &pb::CaseDraft) -> RawDraft<'_> {
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

/// The owning-leader filter: an account named, or the caller's own
/// (`owned_by_me`); both must agree.
fn owning_leader(principal: &Principal, raw: &str, owned_by_me: bool) -> Result<Option<Uuid>, AppError> {
    let named = optional_id("owning_leader_id", raw)?;
    match (named, owned_by_me) {
        (Some(named), true) if named != principal.account_id => {
            Err(AppError::invalid("owning_leader_id", "names another account than owned_by_me"))
        }
        (_, true) => Ok(Some(principal.account_id)),
        (named, false) => Ok(named),
    }
}

fn time_range(field: &str, range: Option<pb::TimeRange>) -> Result<store::TimeBounds, AppError> {
    let convert = |t: Option<prost_types::Timestamp>, which: &str| -> Result<_, AppError> {
        t.map(|t| time_from_timestamp(&format!("{field}.{which}"), &t).map_err(|v| AppError::InvalidArgument(vec![v])))
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
        let envelope = Envelope::new(principal.clone(), "SubmitCase", &req.request_id, &req)?;
        let draft = draft::validate(raw_draft(&req.draft.clone().unwrap_or_default()))?;
        let filing = Filing {
            petitioner_id: principal.account_id,
            principal,
            draft,
            channel: Channel::Online,
            group_visit: None,
            daily_limit: self.daily_limit(),
            similarity: self.state.similarity.clone(),
        };
        Ok(Response::new(self.file(envelope, filing).await?))
    }

    async fn register_case(
        &self,
        request: Request<pb::RegisterCaseRequest>,
    ) -> Result<Response<pb::RegisterCaseResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal.clone(), "RegisterCase", &req.request_id, &req)?;
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
                    let name =
                        text::one_line(&format!("group_visit.representatives[{i}].name"), &r.name, 1, 50, &mut v);
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
        let filed = self.file(envelope, filing).await?;
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
                // One statement: the case and its petitioner in one snapshot.
                let (row, stored, legal_aid) =
                    store::find_viewed_case(conn, &key)?.ok_or(AppError::NotFound { resource: "case" })?;
                policy::authorize_case(&principal, CaseAction::Read, &access(&row))?;
                let viewer = viewer_of(conn, &state, &principal)?;
                let petitioner = PetitionerInfo::of(row.petitioner_id, stored, &viewer, &state.pii, CaseView::Full)?;
                let mut message = full_case_message(&state, &row, &petitioner, &viewer)?;
                message.legal_aid = Some(super::legal_aid::message(&row, legal_aid));
                Ok(message)
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
        let visibility = Visibility::of(&principal)?;
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
            owning_leader_id: owning_leader(&principal, &req.owning_leader_id, req.owned_by_me)?,
        };
        let view = CaseView::from_wire(req.view, CaseView::Basic)?;
        let scope = {
            let mut fingerprint_of = req.clone();
            fingerprint_of.page_token.clear();
            fingerprint_of.page_size = 0;
            fingerprint_of.view = 0;
            let digest = crate::crypto::sha256(&fingerprint_of.encode_to_vec());
            format!("cases:{}", crate::convert::hex(&digest[..12]))
        };
        let before: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        if !req.region_code.is_empty() {
            // Regions never change: their path is read on its own.
            let code = req.region_code.clone();
            let region = self.state.db.read(move |conn| directory_store::find_region(conn, &code)).await?;
            filter.region_root = Some(region.ok_or_else(|| AppError::invalid("region_code", "no such region"))?.path);
        }
        let filter = Arc::new(filter);
        let (page, viewer) = {
            let (state, visibility, filter) = (self.state.clone(), visibility.clone(), filter.clone());
            self.state
                .db
                .read(move |conn| {
                    // One statement: the page, its petitioners and the feed
                    // horizon of its snapshot (the viewer's organization
                    // kind is read once per server).
                    let page = store::list_cases(conn, &visibility, &filter, before, limit + 1, view)?;
                    Ok((page, viewer_of(conn, &state, &principal)?))
                })
                .await?
        };
        let (page, feed_position) = match page.first() {
            Some(first) => {
                let position = event_log::position_below(first.horizon);
                (page, position)
            }
            // An empty page asks for the horizon in the same snapshot.
            None => {
                self.state
                    .db
                    .read_snapshot(move |conn| {
                        let page = store::list_cases(conn, &visibility, &filter, before, limit + 1, view)?;
                        Ok((page, feed::store::horizon_position(conn)?))
                    })
                    .await?
            }
        };
        let (page, next) = finish_page(page, limit, |listed| listed.row.id);
        let state = &self.state;
        let today = shanghai_today();
        let schedules = state.calendar_years.get();
        let cases = page
            .into_iter()
            .map(|listed| {
                let petitioner =
                    PetitionerInfo::of(listed.row.petitioner_id, listed.petitioner, &viewer, &state.pii, view)?;
                let mut case =
                    view::case_message(&listed.row, &petitioner, &viewer, today, &schedules, &state.pii, view)?;
                // The full view is GetCase's, legal-aid route included.
                if view == CaseView::Full {
                    case.legal_aid = Some(super::legal_aid::message(&listed.row, listed.legal_aid));
                }
                Ok(case)
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        let next_page_token = self.state.pages.next_token(&scope, next)?;
        Ok(Response::new(pb::ListCasesResponse { cases, next_page_token, feed_position }))
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
        let state = self.state.clone();
        let (events, next) = self
            .state
            .db
            .read_snapshot(move |conn| {
                let row = store::find_case(conn, case_id)?.ok_or(AppError::NotFound { resource: "case" })?;
                policy::authorize_case(&principal, CaseAction::Read, &access(&row))?;
                let sees_content = viewer_of(conn, &state, &principal)?.sees_content(&row);
                let rows = event_log::timeline(conn, case_id, after.unwrap_or(0), limit + 1)?;
                let (rows, next) = finish_page(rows, limit, |r| r.sequence);
                let events = rows
                    .into_iter()
                    .map(|r| {
                        Ok(view::event_message(
                            &r,
                            &crate::event_log::parse_event(&r)?,
                            row.petitioner_id,
                            sees_content,
                        ))
                    })
                    .collect::<Result<Vec<_>, AppError>>()?;
                Ok((events, next))
            })
            .await?;
        let next_page_token = self.state.pages.next_token(&scope, next)?;
        Ok(Response::new(pb::ListCaseEventsResponse { events, next_page_token }))
    }

    async fn set_case_track(
        &self,
        request: Request<pb::SetCaseTrackRequest>,
    ) -> Result<Response<pb::SetCaseTrackResponse>, Status> {
        let case = self.transition::<_, SetTrack>(request).await?;
        Ok(Response::new(pb::SetCaseTrackResponse { case: Some(case) }))
    }

    async fn forward_case(
        &self,
        request: Request<pb::ForwardCaseRequest>,
    ) -> Result<Response<pb::ForwardCaseResponse>, Status> {
        let case = self.transition::<_, Route>(request).await?;
        Ok(Response::new(pb::ForwardCaseResponse { case: Some(case) }))
    }

    async fn assign_case(
        &self,
        request: Request<pb::AssignCaseRequest>,
    ) -> Result<Response<pb::AssignCaseResponse>, Status> {
        let case = self.transition::<_, Route>(request).await?;
        Ok(Response::new(pb::AssignCaseResponse { case: Some(case) }))
    }

    async fn object_to_assignment(
        &self,
        request: Request<pb::ObjectToAssignmentRequest>,
    ) -> Result<Response<pb::ObjectToAssignmentResponse>, Status> {
        let case = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::ObjectToAssignmentResponse { case: Some(case) }))
    }

    async fn accept_case(
        &self,
        request: Request<pb::AcceptCaseRequest>,
    ) -> Result<Response<pb::AcceptCaseResponse>, Status> {
        let case = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::AcceptCaseResponse { case: Some(case) }))
    }

    async fn decline_case(
        &self,
        request: Request<pb::DeclineCaseRequest>,
    ) -> Result<Response<pb::DeclineCaseResponse>, Status> {
        let case = self.transition::<_, Decline>(request).await?;
        Ok(Response::new(pb::DeclineCaseResponse { case: Some(case) }))
    }

    async fn add_follow_up(
        &self,
        request: Request<pb::AddFollowUpRequest>,
    ) -> Result<Response<pb::AddFollowUpResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "AddFollowUp", &req.request_id, &req)?;
        let case_id = parse_id("case_id", &req.case_id)?;
        let command = FollowUp::try_from(req)?;
        let state = self.state.clone();
        let response = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            let (saved, events) =
                pipeline::transition::<Case, FollowUp>(conn, journal, principal, case_id, "", command)?;
            let event = events.last().ok_or_else(|| AppError::internal("follow-up not recorded"))?;
            let sees_content = viewer_of(conn, &state, principal)?.sees_content(&saved.row);
            let event = view::recorded_event_message(
                &saved,
                saved.row.last_sequence,
                event,
                principal.account_id,
                sees_content,
            );
            Ok(pb::AddFollowUpResponse { event: Some(event) })
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn extend_case_deadline(
        &self,
        request: Request<pb::ExtendCaseDeadlineRequest>,
    ) -> Result<Response<pb::ExtendCaseDeadlineResponse>, Status> {
        let case = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::ExtendCaseDeadlineResponse { case: Some(case) }))
    }

    async fn reply_to_case(
        &self,
        request: Request<pb::ReplyToCaseRequest>,
    ) -> Result<Response<pb::ReplyToCaseResponse>, Status> {
        let case = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::ReplyToCaseResponse { case: Some(case) }))
    }

    async fn submit_completion_report(
        &self,
        request: Request<pb::SubmitCompletionReportRequest>,
    ) -> Result<Response<pb::SubmitCompletionReportResponse>, Status> {
        let case = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::SubmitCompletionReportResponse { case: Some(case) }))
    }

    async fn request_review(
        &self,
        request: Request<pb::RequestReviewRequest>,
    ) -> Result<Response<pb::RequestReviewResponse>, Status> {
        let case = self.transition::<_, RequestReview>(request).await?;
        Ok(Response::new(pb::RequestReviewResponse { case: Some(case) }))
    }

    async fn reply_to_review(
        &self,
        request: Request<pb::ReplyToReviewRequest>,
    ) -> Result<Response<pb::ReplyToReviewResponse>, Status> {
        let case = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::ReplyToReviewResponse { case: Some(case) }))
    }

    async fn request_recheck(
        &self,
        request: Request<pb::RequestRecheckRequest>,
    ) -> Result<Response<pb::RequestRecheckResponse>, Status> {
        let case = self.transition::<_, RequestReview>(request).await?;
        Ok(Response::new(pb::RequestRecheckResponse { case: Some(case) }))
    }

    async fn pause_recheck(
        &self,
        request: Request<pb::PauseRecheckRequest>,
    ) -> Result<Response<pb::PauseRecheckResponse>, Status> {
        let case = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::PauseRecheckResponse { case: Some(case) }))
    }

    async fn resume_recheck(
        &self,
        request: Request<pb::ResumeRecheckRequest>,
    ) -> Result<Response<pb::ResumeRecheckResponse>, Status> {
        let case = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::ResumeRecheckResponse { case: Some(case) }))
    }

    async fn reply_to_recheck(
        &self,
        request: Request<pb::ReplyToRecheckRequest>,
    ) -> Result<Response<pb::ReplyToRecheckResponse>, Status> {
        let case = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::ReplyToRecheckResponse { case: Some(case) }))
    }

    async fn withdraw_case(
        &self,
        request: Request<pb::WithdrawCaseRequest>,
    ) -> Result<Response<pb::WithdrawCaseResponse>, Status> {
        let case = self.transition::<_, Plain>(request).await?;
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
            return Err(
                AppError::permission_denied(Reason::PermissionDenied, "only staff search for similar cases").into()
            );
        }
        let limit = match req.page_size {
            0 => 10,
            n @ 1..=50 => n as usize,
            _ => return Err(AppError::invalid("page_size", "must be 0 (default 10) to 50").into()),
        };
        let mut v = Vec::new();
        let query = match req.query {
            Some(Query::CaseId(id)) if !id.trim().is_empty() => Query::CaseId(id.trim().to_owned()),
            Some(Query::Text(t)) => Query::Text(text::multi_line("text", &t, 1, draft::MAX_CONTENT_CHARS, &mut v)),
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
        let Some(index) = self.state.similarity.clone() else {
            return Err(AppError::FailedPrecondition {
                reason: Reason::DuplicateDetectionOff,
                message: "duplicate detection is switched off on this server".into(),
                subject: "cases".into(),
            }
            .into());
        };
        if !index.bands_complete() {
            // A search is for staff to act on: none rather than a partial one.
            return Err(AppError::Warming {
                what: "the similar-case index",
                retry_after: similarity::index::RETRY_WHILE_BUILDING,
            }
            .into());
        }
        let state = self.state.clone();
        let matches = self
            .state
            .db
            .read_snapshot(move |conn| {
                let viewer = viewer_of(conn, &state, &principal)?;
                let (text, subject) = match query {
                    Query::CaseId(key) => {
                        let row =
                            store::find_case_by_key(conn, &key)?.ok_or(AppError::NotFound { resource: "case" })?;
                        policy::authorize_case(&principal, CaseAction::Read, &access(&row))?;
                        if !viewer.sees_content(&row) {
                            return Err(AppError::permission_denied(
                                Reason::ContentHidden,
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
                let schedules = state.calendar_years.get();
                visible
                    .iter()
                    .filter_map(|m| rows.get(&m.case.id).map(|row| (m, row)))
                    .map(|(m, row)| {
                        let info =
                            people.get(&row.petitioner_id).ok_or(AppError::internal("case without petitioner"))?;
                        let reason = similarity::explain(&analyzed.analysis, &m.fingerprint, &m.cues, stats, 3);
                        Ok(pb::SimilarCase {
                            case: Some(view::case_message(
                                row,
                                info,
                                &viewer,
                                today,
                                &schedules,
                                &state.pii,
                                CaseView::Full,
                            )?),
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
        let envelope = Envelope::new(principal, "MergeCases", &req.request_id, &req)?;
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
        let reason = text::multi_line("reason", &req.reason, 1, draft::MAX_NOTE_CHARS, &mut v);
        require_valid(v)?;
        let Some(primary) = primary else {
            return Err(AppError::internal("validated merge without a primary").into());
        };
        let state = self.state.clone();
        let response = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            // Lock every case in one order, so concurrent merges cannot deadlock.
            let mut all = others.clone();
            all.push(primary);
            all.sort_unstable();
            for id in &all {
                store::lock_case(conn, *id)?;
            }
            let primary_case = <Case as pipeline::Aggregate>::lock(conn, primary)?;
            pipeline::Aggregate::authorize(&primary_case, conn, principal, CaseAction::Triage)?;
            rules::check_merge(&primary_case.subject(), primary_case.life(), &store::merge_primaries(conn, &others)?)?;
            let mut merged = Vec::with_capacity(others.len());
            for id in others {
                let command = commands::merge(&primary_case, reason.clone());
                let (case, _) = pipeline::transition::<Case, Plain>(conn, journal, principal, id, "", command)?;
                merged.push(case.row);
            }
            let viewer = viewer_of(conn, &state, principal)?;
            let primary = case_message(conn, &state, &primary_case.row, &viewer)?;
            let merged = merged
                .iter()
                .map(|row| case_message(conn, &state, row, &viewer))
                .collect::<Result<Vec<_>, AppError>>()?;
            Ok(pb::MergeCasesResponse { primary: Some(primary), merged })
        })
        .await?;
        Ok(Response::new(response))
    }

    async fn unlink_case(
        &self,
        request: Request<pb::UnlinkCaseRequest>,
    ) -> Result<Response<pb::UnlinkCaseResponse>, Status> {
        let case = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::UnlinkCaseResponse { case: Some(case) }))
    }

    async fn grant_case_access(
        &self,
        request: Request<pb::GrantCaseAccessRequest>,
    ) -> Result<Response<pb::GrantCaseAccessResponse>, Status> {
        let case = self.transition::<_, GrantAccess>(request).await?;
        Ok(Response::new(pb::GrantCaseAccessResponse { case: Some(case) }))
    }

    async fn revoke_case_access(
        &self,
        request: Request<pb::RevokeCaseAccessRequest>,
    ) -> Result<Response<pb::RevokeCaseAccessResponse>, Status> {
        let case = self.transition::<_, Plain>(request).await?;
        Ok(Response::new(pb::RevokeCaseAccessResponse { case: Some(case) }))
    }

    async fn request_lawyer(
        &self,
        request: Request<pb::RequestLawyerRequest>,
    ) -> Result<Response<pb::RequestLawyerResponse>, Status> {
        let case = self.transition::<_, AskForLawyer>(request).await?;
        Ok(Response::new(pb::RequestLawyerResponse { case: Some(case) }))
    }

    async fn record_lawyer_participation(
        &self,
        request: Request<pb::RecordLawyerParticipationRequest>,
    ) -> Result<Response<pb::RecordLawyerParticipationResponse>, Status> {
        let case = self.transition::<_, RecordParticipation>(request).await?;
        Ok(Response::new(pb::RecordLawyerParticipationResponse { case: Some(case) }))
    }

    async fn take_case_ownership(
        &self,
        request: Request<pb::TakeCaseOwnershipRequest>,
    ) -> Result<Response<pb::TakeCaseOwnershipResponse>, Status> {
        let case = self.transition::<_, leadership::Take>(request).await?;
        Ok(Response::new(pb::TakeCaseOwnershipResponse { case: Some(case) }))
    }

    async fn assign_case_leader(
        &self,
        request: Request<pb::AssignCaseLeaderRequest>,
    ) -> Result<Response<pb::AssignCaseLeaderResponse>, Status> {
        let case = self.transition::<_, leadership::Assign>(request).await?;
        Ok(Response::new(pb::AssignCaseLeaderResponse { case: Some(case) }))
    }

    async fn release_case_ownership(
        &self,
        request: Request<pb::ReleaseCaseOwnershipRequest>,
    ) -> Result<Response<pb::ReleaseCaseOwnershipResponse>, Status> {
        let case = self.transition::<_, leadership::Release>(request).await?;
        Ok(Response::new(pb::ReleaseCaseOwnershipResponse { case: Some(case) }))
    }

    async fn record_leader_instruction(
        &self,
        request: Request<pb::RecordLeaderInstructionRequest>,
    ) -> Result<Response<pb::RecordLeaderInstructionResponse>, Status> {
        let case = self.transition::<_, leadership::Record>(request).await?;
        Ok(Response::new(pb::RecordLeaderInstructionResponse { case: Some(case) }))
    }
}
