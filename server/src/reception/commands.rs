//! Booking writes as the pipeline runs them: the requests parsed into
//! commands (field violations), their policy lines, and their rules decided
//! at the business clock's time. RecordReception also registers or links a
//! case and may make the receiving leader its owner, in the same
//! transaction ([`record`]).

use chrono::{DateTime, Utc};
use diesel::PgConnection;
use uuid::Uuid;

use super::aggregate::Booking;
use super::domain::Outcome;
use super::rules::{self, Command as Rule, CommandKind, Event, Reception};
use crate::auth::Principal;
use crate::auth::policy::ReceptionAction;
use crate::cases::domain::LeaderAssignment;
use crate::cases::filing::{self, Filing};
use crate::cases::model::CaseRow;
use crate::error::{AppError, Reason};
use crate::event_log::Journal;
use crate::pipeline::{Aggregate, Command};

/// Longest cancellation reason or no-show note, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Cancel a booking: the citizen (reason optional) or a clerk (reason
/// required).
pub struct Cancel {
    pub reason: String,
    pub now: DateTime<Utc>,
}

impl Command<Booking> for Cancel {
    fn action(&self, _: &Booking) -> ReceptionAction {
        ReceptionAction::Cancel
    }

    fn decide(self, _: &mut PgConnection, booking: &Booking, principal: &Principal) -> Result<Vec<Event>, AppError> {
        let by_citizen = principal.account_id == booking.row.citizen_account_id;
        if !by_citizen && self.reason.is_empty() {
            return Err(AppError::invalid("reason", "is required when staff cancel a booking"));
        }
        rules::decide(booking.row.id, booking.life(), Rule::Cancel { reason: self.reason, by_citizen }, self.now)
    }
}

/// Record a no-show after the slot ended.
pub struct NoShow {
    pub note: String,
    pub now: DateTime<Utc>,
}

impl Command<Booking> for NoShow {
    fn action(&self, _: &Booking) -> ReceptionAction {
        ReceptionAction::Record
    }

    fn decide(self, _: &mut PgConnection, booking: &Booking, _: &Principal) -> Result<Vec<Event>, AppError> {
        rules::decide(booking.row.id, booking.life(), Rule::NoShow { note: self.note }, self.now)
    }
}

/// What RecordReception asks, validated.
pub struct Record {
    pub outcome: Outcome,
    pub attendees: Vec<String>,
    pub notes: String,
    /// LINKED_TO_CASE: the case named (else the booking's).
    pub case_id: Option<Uuid>,
    /// CASE_CREATED: the validated case to register.
    pub draft: Option<crate::cases::draft::Draft>,
    pub take_ownership: bool,
    pub now: DateTime<Utc>,
}

/// What registering a case needs from the server.
pub struct Registry<'a> {
    pub daily_limit: crate::cases::limits::DailyLimit,
    pub similarity: Option<std::sync::Arc<crate::similarity::SimilarityIndex>>,
    pub kinds: &'a crate::directory::kinds::OrganizationKinds,
}

/// The case a booking is about: it must be the citizen's.
fn citizens_case(conn: &mut PgConnection, citizen: Uuid, id: Uuid, field: &str) -> Result<CaseRow, AppError> {
    match crate::cases::store::find_case(conn, id)? {
        Some(case) if case.petitioner_id == citizen => Ok(case),
        _ => Err(AppError::invalid(field, "no such case of the citizen")),
    }
}

/// RecordReception: locks the booking, asks the policy, checks the etag
/// and the rule, then registers (CASE_CREATED) or links (LINKED_TO_CASE)
/// the case, makes the schedule's leader its owner when asked and nobody
/// owns it (首接包案), and records the reception.
pub fn record(
    conn: &mut PgConnection,
    journal: &mut Journal,
    principal: &Principal,
    id: Uuid,
    etag: &str,
    command: Record,
    registry: Registry<'_>,
) -> Result<Booking, AppError> {
    let booking = Booking::lock(conn, id)?;
    booking.authorize(conn, principal, ReceptionAction::Record)?;
    if !etag.is_empty() && etag != booking.etag() {
        return Err(AppError::Aborted { resource: "reception booking" });
    }
    let Record { outcome, attendees, notes, case_id, draft, take_ownership, now } = command;
    rules::check(booking.row.id, booking.life(), CommandKind::Record, now)?;
    let citizen = booking.row.citizen_account_id;
    let case = match outcome {
        Outcome::CaseCreated => {
            let draft = draft.ok_or_else(|| AppError::invalid("case_draft", "is required for CASE_CREATED"))?;
            // The reception's policy decided who records; the case is
            // registered in the name of the schedule's bureau, as a visit.
            let bureau = Principal {
                account_id: principal.account_id,
                kind: crate::auth::AccountKind::Staff,
                roles: vec![crate::auth::principal::Role::Clerk],
                organization_id: Some(booking.row.organization_id),
                jurisdiction: Some(booking.row.region_path.clone()),
                scopes: Vec::new(),
            };
            let numbered =
                filing::take_number(conn, &bureau, crate::cases::domain::Channel::Visit, &draft.region_code)?;
            let filing = Filing {
                principal: bureau,
                draft,
                channel: crate::cases::domain::Channel::Visit,
                petitioner_id: citizen,
                group_visit: None,
                daily_limit: registry.daily_limit,
                similarity: registry.similarity,
            };
            Some(filing::file(conn, journal, filing, numbered, registry.kinds)?.row.id)
        }
        Outcome::LinkedToCase => {
            let id = case_id.or(booking.life().case_id).ok_or_else(|| {
                AppError::invalid("case_id", "is required for LINKED_TO_CASE when the booking names no case")
            })?;
            Some(citizens_case(conn, citizen, id, "case_id")?.id)
        }
        Outcome::ResolvedOnSite | Outcome::Referred => None,
    };
    let mut ownership_taken = false;
    if take_ownership {
        let Some(case_id) = case else {
            return Err(AppError::invalid("take_ownership", "only with CASE_CREATED or LINKED_TO_CASE"));
        };
        let leader = booking.row.leader_account_id;
        let note = format!("首接包案: reception of {}", booking.row.slot_date);
        match crate::cases::leadership::assign_in_transaction(
            conn,
            journal,
            Some(principal.account_id),
            case_id,
            leader,
            LeaderAssignment::FirstReception,
            note,
        ) {
            Ok(_) => ownership_taken = true,
            // Another leader owns it (or this one already does): the
            // reception is recorded all the same.
            Err(AppError::FailedPrecondition { reason: Reason::CaseAlreadyOwned, .. }) => {}
            Err(other) => return Err(other),
        }
    }
    let reception =
        Reception { outcome, attendees, notes, case_id: case, ownership_taken, by: principal.account_id, at: now };
    let events = rules::decide(booking.row.id, booking.life(), Rule::Record(reception), now)?;
    booking.save(conn, journal, Some(principal.account_id), &events)
}
