//! `petition.v1.ReceptionService`: reception days (领导接访). Schedules are
//! configuration rows (`schedule.rs`); bookings go through the command
//! pipeline (`commands.rs` holds their policy lines); time is the business
//! clock's (`crate::clock`).

use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};
use diesel::PgConnection;
use petition_proto::v1 as pb;
use petition_proto::v1::reception_service_server::ReceptionService;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::aggregate::{self, Booking, Opening};
use super::commands::{self, Cancel, MAX_REASON_CHARS, NoShow, Record, Registry};
use super::domain::{BookingState, Outcome};
use super::model::BookingRow;
use super::rules::{self, BookingFacts, RawSpec, ScheduleSpec};
use super::schedule;
use super::store::{self, BookingFilter, ScheduleFilter, Visibility};
use super::view;
use crate::auth::policy::{self, ReceptionAction};
use crate::auth::{Principal, require_principal};
use crate::calendar::rules::parse_date;
use crate::convert::{optional_id_checked, parse_id};
use crate::error::{AppError, FieldViolation, require_valid};
use crate::event_log;
use crate::pagination::{finish_page, page_size};
use crate::pipeline::{self, Envelope};
use crate::state::AppState;

pub struct ReceptionApi {
    state: Arc<AppState>,
}

impl ReceptionApi {
    pub fn new(state: Arc<AppState>) -> Self {
        Self { state }
    }
}

/// A schedule's spec from the wire, validated (fields under `spec.`).
pub fn parse_spec(raw: Option<&pb::ReceptionScheduleSpec>, v: &mut Vec<FieldViolation>) -> Option<ScheduleSpec> {
    let Some(raw) = raw else {
        v.push(FieldViolation::new("spec", "is required"));
        return None;
    };
    let spec = RawSpec {
        leader_account_id: &raw.leader_account_id,
        title: &raw.title,
        address: &raw.address,
        region_code: &raw.region_code,
        recurrence: raw.recurrence,
        weekdays: &raw.weekdays,
        dates: &raw.dates,
        slots: raw.slots.iter().map(|s| (s.start_time.as_str(), s.minutes, s.capacity)).collect(),
        valid_from: &raw.valid_from,
        valid_until: &raw.valid_until,
    };
    rules::spec("spec.", &spec, v)
}

fn optional_date(field: &str, raw: &str, v: &mut Vec<FieldViolation>) -> Option<chrono::NaiveDate> {
    if raw.is_empty() {
        return None;
    }
    let date = parse_date(raw);
    if date.is_none() {
        v.push(FieldViolation::new(field, "must be a date YYYY-MM-DD"));
    }
    date
}

impl ReceptionApi {
    /// A write on booking `booking_id` whose rule takes only an optional
    /// note (`field`), decided at the business clock's now.
    async fn noted_transition<R, C>(
        &self,
        request: Request<R>,
        method: &'static str,
        keys: impl FnOnce(&R) -> (&str, &str, &str, &str),
        field: &'static str,
        command: impl FnOnce(String, DateTime<Utc>) -> C + Send + 'static,
    ) -> Result<pb::ReceptionBooking, Status>
    where
        R: prost::Message,
        C: pipeline::Command<Booking> + Send + 'static,
    {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let (request_id, booking_id, etag, note) = keys(&req);
        let envelope = Envelope::new(principal, method, request_id, &req)?;
        let id = parse_id("booking_id", booking_id)?;
        let mut v = Vec::new();
        let note = crate::text::multi_line(field, note, 0, MAX_REASON_CHARS, &mut v);
        require_valid(v)?;
        let now = self.state.clock.now();
        let etag = etag.to_owned();
        let booking = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            journal.set_clock(Some(now));
            let (saved, _) =
                pipeline::transition::<Booking, C>(conn, journal, principal, id, &etag, command(note, now))?;
            Ok(view::booking_message(&saved.row))
        })
        .await?;
        Ok(booking)
    }

    /// Reads booking `id` for `principal`: NOT_FOUND unless they may see it.
    async fn readable<T, F>(&self, principal: Principal, id: Uuid, then: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection, Booking) -> Result<T, AppError> + Send + 'static,
    {
        self.state
            .db
            .read(move |conn| {
                let booking = Booking::find(conn, id)?;
                policy::authorize_reception_booking(
                    &principal,
                    ReceptionAction::Read,
                    &aggregate::access(&booking.row),
                )?;
                then(conn, booking)
            })
            .await
    }

    fn daily_limit(&self) -> crate::cases::limits::DailyLimit {
        let intake = &self.state.intake;
        crate::cases::limits::DailyLimit { per_day: intake.daily_filing_limit, channels: intake.daily_limit_channels }
    }
}

#[tonic::async_trait]
impl ReceptionService for ReceptionApi {
    async fn create_reception_schedule(
        &self,
        request: Request<pb::CreateReceptionScheduleRequest>,
    ) -> Result<Response<pb::CreateReceptionScheduleResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "CreateReceptionSchedule", &req.request_id, &req)?;
        let mut v = Vec::new();
        let organization = optional_id_checked("organization_id", &req.organization_id, &mut v);
        let spec = parse_spec(req.spec.as_ref(), &mut v);
        require_valid(v)?;
        let spec = spec.ok_or_else(|| AppError::internal("a valid schedule without its spec"))?;
        let now = self.state.clock.now();
        let row = pipeline::write(&self.state, envelope, move |conn, _, principal| {
            Ok(view::schedule_message(&schedule::create(conn, principal, organization, spec, now)?))
        })
        .await?;
        Ok(Response::new(pb::CreateReceptionScheduleResponse { schedule: Some(row) }))
    }

    async fn update_reception_schedule(
        &self,
        request: Request<pb::UpdateReceptionScheduleRequest>,
    ) -> Result<Response<pb::UpdateReceptionScheduleResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "UpdateReceptionSchedule", &req.request_id, &req)?;
        let id = parse_id("schedule_id", &req.schedule_id)?;
        let mut v = Vec::new();
        let spec = req.spec.as_ref().and_then(|s| parse_spec(Some(s), &mut v));
        require_valid(v)?;
        let (etag, retired) = (req.etag.clone(), req.retired);
        let now = self.state.clock.now();
        let row = pipeline::write(&self.state, envelope, move |conn, _, principal| {
            Ok(view::schedule_message(&schedule::update(conn, principal, id, &etag, spec, retired, now)?))
        })
        .await?;
        Ok(Response::new(pb::UpdateReceptionScheduleResponse { schedule: Some(row) }))
    }

    async fn get_reception_schedule(
        &self,
        request: Request<pb::GetReceptionScheduleRequest>,
    ) -> Result<Response<pb::GetReceptionScheduleResponse>, Status> {
        let _principal = require_principal(&request)?;
        let id = parse_id("schedule_id", &request.get_ref().schedule_id)?;
        let row = self
            .state
            .db
            .read(move |conn| {
                store::find_schedule(conn, id)?.ok_or(AppError::NotFound { resource: "reception schedule" })
            })
            .await?;
        Ok(Response::new(pb::GetReceptionScheduleResponse { schedule: Some(view::schedule_message(&row)) }))
    }

    async fn list_reception_schedules(
        &self,
        request: Request<pb::ListReceptionSchedulesRequest>,
    ) -> Result<Response<pb::ListReceptionSchedulesResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let mut v = Vec::new();
        let leader_account_id = optional_id_checked("leader_account_id", &req.leader_account_id, &mut v);
        let organization_id = optional_id_checked("organization_id", &req.organization_id, &mut v);
        require_valid(v)?;
        let scope = format!(
            "reception-schedules:{leader_account_id:?}:{organization_id:?}:{}:{}:{}",
            req.region_code, req.include_retired, principal.account_id
        );
        let after: Option<Uuid> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (schedules, next) = self
            .state
            .db
            .read(move |conn| {
                let region_root = match req.region_code.as_str() {
                    "" => None,
                    code => Some(
                        crate::directory::store::find_region(conn, code)?
                            .ok_or_else(|| AppError::invalid("region_code", "no such region"))?
                            .path,
                    ),
                };
                let filter = ScheduleFilter {
                    ids: None,
                    leader_account_id,
                    organization_id,
                    region_root,
                    include_retired: req.include_retired,
                };
                let rows = store::list_schedules(conn, &filter, after, limit + 1)?;
                let (rows, cursor) = finish_page(rows, limit, |r| r.id);
                Ok((rows.iter().map(view::schedule_message).collect(), state.pages.next_token(&scope, cursor)?))
            })
            .await?;
        Ok(Response::new(pb::ListReceptionSchedulesResponse { schedules, next_page_token: next }))
    }

    async fn list_reception_slots(
        &self,
        request: Request<pb::ListReceptionSlotsRequest>,
    ) -> Result<Response<pb::ListReceptionSlotsResponse>, Status> {
        let _principal = require_principal(&request)?;
        let req = request.into_inner();
        let mut v = Vec::new();
        let schedule_id = optional_id_checked("schedule_id", &req.schedule_id, &mut v);
        let leader_account_id = optional_id_checked("leader_account_id", &req.leader_account_id, &mut v);
        if req.schedule_id.is_empty() && req.leader_account_id.is_empty() && req.region_code.is_empty() {
            v.push(FieldViolation::new("schedule_id", "name a schedule, a leader or a region"));
        }
        require_valid(v)?;
        let (from, until) = schedule::range(&req.from_date, &req.until_date)?;
        let slots = self
            .state
            .db
            .read(move |conn| {
                let region_root = match req.region_code.as_str() {
                    "" => None,
                    code => Some(
                        crate::directory::store::find_region(conn, code)?
                            .ok_or_else(|| AppError::invalid("region_code", "no such region"))?
                            .path,
                    ),
                };
                let filter = ScheduleFilter {
                    ids: schedule_id.map(|id| vec![id]),
                    leader_account_id,
                    organization_id: None,
                    region_root,
                    include_retired: false,
                };
                let schedules = store::list_schedules(conn, &filter, None, 500)?;
                let slots = schedule::slots(conn, schedules, from, until)?;
                Ok(slots.iter().map(view::slot_message).collect())
            })
            .await?;
        Ok(Response::new(pb::ListReceptionSlotsResponse { slots }))
    }

    async fn book_reception(
        &self,
        request: Request<pb::BookReceptionRequest>,
    ) -> Result<Response<pb::BookReceptionResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "BookReception", &req.request_id, &req)?;
        let mut v = Vec::new();
        let schedule_id = optional_id_checked("schedule_id", &req.schedule_id, &mut v);
        if req.schedule_id.is_empty() {
            v.push(FieldViolation::new("schedule_id", "is required"));
        }
        let date = parse_date(&req.date);
        if date.is_none() {
            v.push(FieldViolation::new("date", "must be a date YYYY-MM-DD"));
        }
        let minute = rules::parse_time(&req.start_time);
        if minute.is_none() {
            v.push(FieldViolation::new("start_time", "must be a time HH:MM"));
        }
        let title = crate::text::one_line("title", &req.title, 1, rules::MAX_TITLE_CHARS, &mut v);
        let description =
            crate::text::multi_line("description", &req.description, 1, rules::MAX_DESCRIPTION_CHARS, &mut v);
        let case_id = optional_id_checked("case_id", &req.case_id, &mut v);
        require_valid(v)?;
        let (Some(schedule_id), Some(date), Some(minute)) = (schedule_id, date, minute) else {
            return Err(AppError::internal("a valid booking without its slot").into());
        };
        let now = self.state.clock.now();
        let max_open = self.state.oversight.reception_max_open_bookings;
        let booking = pipeline::write(&self.state, envelope, move |conn, journal, principal| {
            journal.set_clock(Some(now));
            policy::authorize_reception_booking_creation(principal)?;
            let citizen = principal.account_id;
            if let Some(id) = case_id {
                match crate::cases::store::find_case(conn, id)? {
                    Some(case) if case.petitioner_id == citizen => {}
                    _ => return Err(AppError::invalid("case_id", "no such case of yours")),
                }
            }
            // The schedule's row lock serializes bookings of its slots:
            // counting the places left and taking one is one step.
            let schedule = store::lock_schedule(conn, schedule_id)?
                .ok_or(AppError::NotFound { resource: "reception schedule" })?;
            let calendar = crate::calendar::store::load_calendar(conn, date, date)?;
            let slot = schedule.spec.0.slot(&calendar, date, minute);
            let matter_key = rules::matter_key(case_id, &title);
            let (citizen_open, same_matter_open) = store::citizen_open(conn, citizen, &matter_key)?;
            let taken = store::taken_in_slot(conn, schedule_id, date, i16::try_from(minute).unwrap_or(i16::MAX))?;
            let facts = BookingFacts {
                retired: schedule.retired,
                slot,
                starts_at: rules::slot_start(date, minute),
                now,
                taken,
                same_matter_open,
                citizen_open,
                max_open_per_citizen: max_open,
            };
            let slot = rules::check_booking(schedule_id, &facts)?;
            let opening = Opening { citizen_account_id: citizen, date, slot, title, description, case_id, matter_key };
            let booking = aggregate::open(conn, journal, &schedule, opening, now)?;
            Ok(view::booking_message(&booking.row))
        })
        .await?;
        Ok(Response::new(pb::BookReceptionResponse { booking: Some(booking) }))
    }

    async fn cancel_reception_booking(
        &self,
        request: Request<pb::CancelReceptionBookingRequest>,
    ) -> Result<Response<pb::CancelReceptionBookingResponse>, Status> {
        let booking = self
            .noted_transition(
                request,
                "CancelReceptionBooking",
                |r: &pb::CancelReceptionBookingRequest| (&r.request_id, &r.booking_id, &r.etag, &r.reason),
                "reason",
                |reason, now| Cancel { reason, now },
            )
            .await?;
        Ok(Response::new(pb::CancelReceptionBookingResponse { booking: Some(booking) }))
    }

    async fn record_reception(
        &self,
        request: Request<pb::RecordReceptionRequest>,
    ) -> Result<Response<pb::RecordReceptionResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let envelope = Envelope::new(principal, "RecordReception", &req.request_id, &req)?;
        let id = parse_id("booking_id", &req.booking_id)?;
        let mut v = Vec::new();
        let outcome = Outcome::from_i32(req.outcome);
        if outcome.is_none() {
            v.push(FieldViolation::new(
                "outcome",
                "must be RESOLVED_ON_SITE, CASE_CREATED, LINKED_TO_CASE or REFERRED",
            ));
        }
        if req.attendees.len() > rules::MAX_ATTENDEES {
            v.push(FieldViolation::new("attendees", format!("at most {}", rules::MAX_ATTENDEES)));
        }
        let attendees: Vec<String> = req
            .attendees
            .iter()
            .enumerate()
            .map(|(i, a)| crate::text::one_line(&format!("attendees[{i}]"), a, 1, 100, &mut v))
            .collect();
        let notes = crate::text::multi_line("notes", &req.notes, 1, rules::MAX_NOTES_CHARS, &mut v);
        let case_id = optional_id_checked("case_id", &req.case_id, &mut v);
        if !req.case_id.is_empty() && outcome != Some(Outcome::LinkedToCase) {
            v.push(FieldViolation::new("case_id", "only with LINKED_TO_CASE"));
        }
        // The draft's empty title and content are the booking's: validated
        // once the booking is read.
        let raw_draft = match (&req.case_draft, outcome) {
            (Some(d), Some(Outcome::CaseCreated)) => Some(d.clone()),
            (None, Some(Outcome::CaseCreated)) => {
                v.push(FieldViolation::new("case_draft", "is required for CASE_CREATED"));
                None
            }
            (Some(_), _) => {
                v.push(FieldViolation::new("case_draft", "only with CASE_CREATED"));
                None
            }
            (None, _) => None,
        };
        require_valid(v)?;
        let outcome = outcome.ok_or_else(|| AppError::internal("a valid record without its outcome"))?;
        let now = self.state.clock.now();
        let etag = req.etag.clone();
        let take_ownership = req.take_ownership;
        let state = self.state.clone();
        let daily_limit = self.daily_limit();
        let region = raw_draft.as_ref().map(|d| d.region_code.clone());
        let year = crate::time::shanghai_date(now).year();
        let prepare_state = self.state.clone();
        let booking = pipeline::write_after(
            &self.state,
            envelope,
            move |conn, _| match region {
                Some(code) if !code.is_empty() => prepare_state.case_numbering.prepare(conn, &code, year),
                _ => Ok(()),
            },
            move |conn, journal, principal, ()| {
                journal.set_clock(Some(now));
                let draft = match raw_draft {
                    Some(mut d) => {
                        let booking = Booking::find(conn, id)?;
                        if d.title.is_empty() {
                            d.title = booking.life().title.clone();
                        }
                        if d.content.is_empty() {
                            d.content = booking.life().description.clone();
                        }
                        Some(crate::cases::draft::validate(crate::cases::service::raw_draft(&d)).map_err(|e| {
                            match e {
                                AppError::InvalidArgument(v) => AppError::InvalidArgument(
                                    v.into_iter()
                                        .map(|f| FieldViolation {
                                            field: f.field.replacen("draft.", "case_draft.", 1),
                                            description: f.description,
                                        })
                                        .collect(),
                                ),
                                other => other,
                            }
                        })?)
                    }
                    None => None,
                };
                let command = Record { outcome, attendees, notes, case_id, draft, take_ownership, now };
                let registry =
                    Registry { daily_limit, similarity: state.similarity.clone(), kinds: &state.organization_kinds };
                let saved = commands::record(conn, journal, principal, id, &etag, command, registry)?;
                Ok(view::booking_message(&saved.row))
            },
        )
        .await?;
        Ok(Response::new(pb::RecordReceptionResponse { booking: Some(booking) }))
    }

    async fn record_reception_no_show(
        &self,
        request: Request<pb::RecordReceptionNoShowRequest>,
    ) -> Result<Response<pb::RecordReceptionNoShowResponse>, Status> {
        let booking = self
            .noted_transition(
                request,
                "RecordReceptionNoShow",
                |r: &pb::RecordReceptionNoShowRequest| (&r.request_id, &r.booking_id, &r.etag, &r.note),
                "note",
                |note, now| NoShow { note, now },
            )
            .await?;
        Ok(Response::new(pb::RecordReceptionNoShowResponse { booking: Some(booking) }))
    }

    async fn get_reception_booking(
        &self,
        request: Request<pb::GetReceptionBookingRequest>,
    ) -> Result<Response<pb::GetReceptionBookingResponse>, Status> {
        let principal = require_principal(&request)?;
        let id = parse_id("booking_id", &request.get_ref().booking_id)?;
        let booking = self.readable(principal, id, |_, b| Ok(view::booking_message(&b.row))).await?;
        Ok(Response::new(pb::GetReceptionBookingResponse { booking: Some(booking) }))
    }

    async fn list_reception_bookings(
        &self,
        request: Request<pb::ListReceptionBookingsRequest>,
    ) -> Result<Response<pb::ListReceptionBookingsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let limit = page_size(req.page_size)?;
        let mut v = Vec::new();
        let schedule_id = optional_id_checked("schedule_id", &req.schedule_id, &mut v);
        let leader_account_id = optional_id_checked("leader_account_id", &req.leader_account_id, &mut v);
        let from = optional_date("from_date", &req.from_date, &mut v);
        let until = optional_date("until_date", &req.until_date, &mut v);
        let mut states = Vec::new();
        for (i, s) in req.states.iter().enumerate() {
            match BookingState::from_i32(*s) {
                Some(s) if !states.contains(&s.as_i16()) => states.push(s.as_i16()),
                Some(_) => {}
                None => v.push(FieldViolation::new(format!("states[{i}]"), "is not a known value")),
            }
        }
        require_valid(v)?;
        let filter = BookingFilter { schedule_id, leader_account_id, from, until, states };
        let scope = format!("reception-bookings:{filter:?}:{}", principal.account_id);
        let after: Option<(DateTime<Utc>, Uuid)> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (bookings, next) = self
            .state
            .db
            .read(move |conn| {
                let rows = store::list_bookings(conn, &Visibility::of(&principal), &filter, after, limit + 1)?;
                let (rows, cursor) = finish_page(rows, limit, |r: &BookingRow| (r.starts_at, r.id));
                Ok((rows.iter().map(view::booking_message).collect(), state.pages.next_token(&scope, cursor)?))
            })
            .await?;
        Ok(Response::new(pb::ListReceptionBookingsResponse { bookings, next_page_token: next }))
    }

    async fn list_reception_booking_events(
        &self,
        request: Request<pb::ListReceptionBookingEventsRequest>,
    ) -> Result<Response<pb::ListReceptionBookingEventsResponse>, Status> {
        let principal = require_principal(&request)?;
        let req = request.into_inner();
        let id = parse_id("booking_id", &req.booking_id)?;
        let limit = page_size(req.page_size)?;
        let scope = format!("reception-booking-events:{id}");
        let after: Option<i32> = self.state.pages.decode(&scope, &req.page_token)?;
        let state = self.state.clone();
        let (events, next) = self
            .readable(principal, id, move |conn, _| {
                event_log::timeline_page(conn, &state.pages, &scope, id, after, limit, |row| {
                    event_log::parse_event(row).map(|event| view::event_message(row, &event))
                })
            })
            .await?;
        Ok(Response::new(pb::ListReceptionBookingEventsResponse { events, next_page_token: next }))
    }
}
