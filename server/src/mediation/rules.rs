//! The dispute lifecycle as the 人民调解法 (2010) reads: consent, the
//! mediator, sessions, agreement or failure, performance, a court's
//! confirmation, and escalation between levels. Pure: no I/O, no wire or
//! row types.
//!
//! A command is decided against the current [`Lifecycle`] into events
//! ([`decide`]); events are applied to it ([`apply`]); the stored lifecycle
//! is the fold of the dispute's events ([`fold`]).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::domain::{
    AdvisedRoute, AgreementForm, ConfirmationState, ConsentState, DisputeCategory, DisputeClock, DisputeSource,
    DisputeState, FailureReason, TermPerformance,
};
use crate::calendar::rules::{Period, WorkCalendar, is_overdue};
use crate::directory::rules::RegionLevel;
use crate::error::{AppError, FieldViolation, Reason};

/// Art.33: the parties apply for confirmation within 30 days of the
/// agreement taking effect (calendar days; a last day on a rest day moves
/// to the next working day, 民法典 Art.203).
pub const CONFIRMATION_WINDOW: Period = Period::Days(30);
/// The default time limit of a mediation from acceptance. The law sets
/// none; 30 days is the practice the seed's city and the 2002 Ministry of
/// Justice rules (一般在一个月内调结) follow. A server setting.
pub const DEFAULT_TIME_LIMIT: Period = Period::Days(30);

/// A party's answer, as the lifecycle keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub id: Uuid,
    pub consent: ConsentState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_date: Option<NaiveDate>,
}

/// A session (Art.22).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub date: NaiveDate,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub place: String,
    #[serde(default)]
    pub video: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attendees: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    pub mediator_member_id: Uuid,
}

/// What a session request says; the mediator is the assigned one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDraft {
    pub date: NaiveDate,
    pub place: String,
    pub video: bool,
    pub attendees: Vec<String>,
    pub notes: String,
}

/// One agreed term and its follow-up (Art.29 (三), Art.31).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Term {
    pub obligor_party_id: Uuid,
    pub content: String,
    pub manner: String,
    pub deadline: NaiveDate,
    pub performance: TermPerformance,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performance_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub performance_note: String,
}

/// An agreement (Art.28–30).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub form: AgreementForm,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parties_summary: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub facts: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub issues_and_responsibility: String,
    pub terms: Vec<Term>,
    pub effective_date: NaiveDate,
    /// Art.33: confirmation is applied for by this day.
    pub confirmation_apply_by: NaiveDate,
}

/// What an agreement request says, validated for its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementDraft {
    pub form: AgreementForm,
    pub parties_summary: String,
    pub facts: String,
    pub issues_and_responsibility: String,
    pub terms: Vec<TermDraft>,
    /// `None`: today.
    pub effective_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermDraft {
    pub obligor_party_id: Uuid,
    pub content: String,
    pub manner: String,
    pub deadline: NaiveDate,
}

/// How a mediation failed (Art.26).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub reason: FailureReason,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    pub advised_routes: Vec<AdvisedRoute>,
    pub date: NaiveDate,
}

/// A court's confirmation (Art.33).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub court_id: Uuid,
    pub apply_date: NaiveDate,
    pub state: ConfirmationState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub court_case_number: String,
}

/// A stint at one team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stint {
    pub team_id: Uuid,
    pub from: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// Everything the rules track about a dispute: the fold of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: DisputeState,
    pub source: DisputeSource,
    pub category: DisputeCategory,
    /// Oldest first; the last is the current team.
    pub teams: Vec<Stint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mediator: Option<Uuid>,
    pub parties: Vec<Party>,
    pub receive_date: NaiveDate,
    /// The day of the latest act: no act may be dated before it.
    pub last_act_date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sessions: Vec<Session>,
    /// Sessions held by the current team: its mediator can be objected to
    /// or recuse only before the first.
    #[serde(default)]
    pub sessions_in_team: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Agreement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirmation: Option<Confirmation>,
}

impl Lifecycle {
    pub fn team_id(&self) -> Option<Uuid> {
        self.teams.last().map(|s| s.team_id)
    }

    /// Every team it passed through, the current one last.
    pub fn team_ids(&self) -> Vec<Uuid> {
        self.teams.iter().map(|s| s.team_id).collect()
    }

    /// Open and past its time limit on `today`.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.state.is_open() && self.due_date.is_some_and(|due| is_overdue(due, today))
    }
}

/// What happened to a dispute. Stored as the event's payload (JSON) and
/// sent in the feed as `DisputeEvent`. Contact details are never in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Recorded {
        team_id: Uuid,
        source: DisputeSource,
        category: DisputeCategory,
        receive_date: NaiveDate,
        parties: Vec<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        screening_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        referring_court_id: Option<Uuid>,
    },
    ConsentRecorded {
        party_id: Uuid,
        consents: bool,
        date: NaiveDate,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    Accepted {
        accept_date: NaiveDate,
        due_date: NaiveDate,
    },
    MediatorAssigned {
        member_id: Uuid,
    },
    MediatorObjected {
        member_id: Uuid,
        party_id: Uuid,
        reason: String,
    },
    MediatorRecused {
        member_id: Uuid,
        reason: String,
    },
    SessionHeld {
        session: Session,
    },
    Settled {
        agreement: Agreement,
    },
    Failed {
        failure: Failure,
    },
    PerformanceRecorded {
        term_index: usize,
        performance: TermPerformance,
        date: NaiveDate,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
    },
    ConfirmationApplied {
        court_id: Uuid,
        apply_date: NaiveDate,
    },
    ConfirmationAnswered {
        decision: ConfirmationState,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        reason: String,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        court_case_number: String,
        answer_date: NaiveDate,
    },
    Escalated {
        from_team_id: Uuid,
        to_team_id: Uuid,
        reason: String,
        date: NaiveDate,
    },
    /// The sweeper: a clock's last day is near. Changes nothing of the
    /// lifecycle (the dispute's version stays: no caller's etag fails).
    DeadlineApproaching(DeadlineMark),
    /// The sweeper: a clock's last day passed; as above.
    DeadlineMissed(DeadlineMark),
}

/// A sweeper's mark on one clock of a dispute (`sweep.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineMark {
    pub clock: DisputeClock,
    pub due_date: NaiveDate,
    /// TERM_PERFORMANCE: the term (from 0) and the party that owes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub term_index: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub obligor_party_id: Option<Uuid>,
    /// The team carrying the dispute.
    pub team_id: Uuid,
}

/// `petition.v1.DisputeEventType` of an event.
pub fn event_type(event: &Event) -> i16 {
    match event {
        Event::Recorded { .. } => 1,
        Event::ConsentRecorded { .. } => 2,
        Event::Accepted { .. } => 3,
        Event::MediatorAssigned { .. } => 4,
        Event::MediatorObjected { .. } => 5,
        Event::MediatorRecused { .. } => 6,
        Event::SessionHeld { .. } => 7,
        Event::Settled { .. } => 8,
        Event::Failed { .. } => 9,
        Event::PerformanceRecorded { .. } => 10,
        Event::ConfirmationApplied { .. } => 11,
        Event::ConfirmationAnswered { .. } => 12,
        Event::Escalated { .. } => 13,
        Event::DeadlineApproaching(_) => 14,
        Event::DeadlineMissed(_) => 15,
    }
}

/// What the rules know of a team a command names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TeamFacts {
    pub id: Uuid,
    pub level: RegionLevel,
    /// It covers the dispute's region and is not retired.
    pub takes_region: bool,
}

/// A transition asked of a dispute, its facts already read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A party's consent or refusal (Art.17).
    Consent {
        party_id: Uuid,
        consents: bool,
        date: Option<NaiveDate>,
        note: String,
    },
    /// `member_id` is an active member of the dispute's team (checked
    /// where it is read).
    AssignMediator {
        member_id: Uuid,
    },
    ObjectToMediator {
        party_id: Uuid,
        reason: String,
    },
    Recuse {
        reason: String,
    },
    HoldSession {
        session: SessionDraft,
    },
    Agree {
        agreement: AgreementDraft,
    },
    Fail {
        reason: FailureReason,
        note: String,
        advised_routes: Vec<AdvisedRoute>,
        date: Option<NaiveDate>,
    },
    RecordPerformance {
        term_index: usize,
        performance: TermPerformance,
        date: Option<NaiveDate>,
        note: String,
    },
    ApplyForConfirmation {
        court_id: Uuid,
        date: Option<NaiveDate>,
    },
    AnswerConfirmation {
        decision: ConfirmationState,
        reason: String,
        court_case_number: String,
        date: Option<NaiveDate>,
    },
    Escalate {
        from_level: RegionLevel,
        to: TeamFacts,
        reason: String,
        date: Option<NaiveDate>,
    },
}

/// What every decision needs besides the dispute.
pub struct Context<'a> {
    pub today: NaiveDate,
    pub calendar: &'a WorkCalendar,
    /// How long a mediation may take from acceptance.
    pub time_limit: Period,
}

/// The states a command may be asked in (others: INVALID_STATE).
pub fn allowed_in(command: &Command) -> &'static [DisputeState] {
    use DisputeState::*;
    match command {
        Command::Consent { .. } => &[AwaitingConsent],
        Command::AssignMediator { .. } => &[AwaitingConsent, Accepted],
        // In mediation they are refused with MEDIATION_STARTED instead.
        Command::ObjectToMediator { .. } | Command::Recuse { .. } => &[AwaitingConsent, Accepted, InMediation],
        Command::HoldSession { .. } => &[Accepted, InMediation],
        Command::Agree { .. } => &[InMediation],
        Command::Fail { .. } | Command::Escalate { .. } => &[Accepted, InMediation],
        Command::RecordPerformance { .. } => &[Settled, Breached],
        Command::ApplyForConfirmation { .. } | Command::AnswerConfirmation { .. } => &[Settled, Performed, Breached],
    }
}

fn precondition(dispute_id: Uuid, reason: Reason, message: impl Into<String>) -> AppError {
    AppError::FailedPrecondition { reason, message: message.into(), subject: format!("disputes/{dispute_id}") }
}

/// The day of an act: today when not given; never in the future, never
/// before the dispute's previous act.
fn act_date(field: &str, date: Option<NaiveDate>, life: &Lifecycle, today: NaiveDate) -> Result<NaiveDate, AppError> {
    let date = date.unwrap_or(today);
    if date > today {
        return Err(AppError::invalid(field, "must not be in the future"));
    }
    if date < life.last_act_date {
        return Err(AppError::invalid(
            field,
            format!("must not be before the dispute's previous act ({})", life.last_act_date),
        ));
    }
    Ok(date)
}

fn party(life: &Lifecycle, field: &str, id: Uuid) -> Result<usize, AppError> {
    life.parties
        .iter()
        .position(|p| p.id == id)
        .ok_or_else(|| AppError::invalid(field, "is not a party to this dispute"))
}

/// Decides `command` for dispute `id` in `life` into events.
pub fn decide(id: Uuid, life: &Lifecycle, command: Command, ctx: &Context<'_>) -> Result<Vec<Event>, AppError> {
    if !allowed_in(&command).contains(&life.state) {
        return Err(precondition(
            id,
            Reason::InvalidState,
            format!("not allowed while the dispute is {:?}", life.state),
        ));
    }
    let today = ctx.today;
    match command {
        Command::Consent { party_id, consents, date, note } => {
            let at = party(life, "party_id", party_id)?;
            if life.parties[at].consent != ConsentState::Pending {
                return Err(precondition(id, Reason::InvalidState, "this party has already answered"));
            }
            let date = act_date("consent_date", date, life, today)?;
            let mut events = vec![Event::ConsentRecorded { party_id, consents, date, note }];
            let all_given =
                consents && life.parties.iter().enumerate().all(|(i, p)| i == at || p.consent == ConsentState::Given);
            if all_given {
                let due_date = ctx.calendar.deadline(date, ctx.time_limit);
                events.push(Event::Accepted { accept_date: date, due_date });
            }
            Ok(events)
        }
        Command::AssignMediator { member_id } => {
            if life.mediator == Some(member_id) {
                return Err(precondition(id, Reason::InvalidState, "this member is already the mediator"));
            }
            if life.mediator.is_some() {
                // Replacing is by objection or recusal, each with its reason logged.
                return Err(precondition(
                    id,
                    Reason::InvalidState,
                    "the dispute has a mediator: a party objects or the mediator recuses first",
                ));
            }
            Ok(vec![Event::MediatorAssigned { member_id }])
        }
        Command::ObjectToMediator { party_id, reason } => {
            party(life, "party_id", party_id)?;
            let member_id = before_first_session(id, life)?;
            Ok(vec![Event::MediatorObjected { member_id, party_id, reason }])
        }
        Command::Recuse { reason } => {
            let member_id = before_first_session(id, life)?;
            Ok(vec![Event::MediatorRecused { member_id, reason }])
        }
        Command::HoldSession { session } => {
            let mediator_member_id = life
                .mediator
                .ok_or_else(|| precondition(id, Reason::NoMediator, "the dispute has no mediator: assign one first"))?;
            let date = act_date("session.session_date", Some(session.date), life, today)?;
            let SessionDraft { place, video, attendees, notes, .. } = session;
            Ok(vec![Event::SessionHeld {
                session: Session { date, place, video, attendees, notes, mediator_member_id },
            }])
        }
        Command::Agree { agreement } => {
            let effective_date = act_date("agreement.effective_date", agreement.effective_date, life, today)?;
            let mut violations = Vec::new();
            let terms = agreement
                .terms
                .into_iter()
                .enumerate()
                .map(|(i, t)| {
                    if !life.parties.iter().any(|p| p.id == t.obligor_party_id) {
                        violations.push(FieldViolation::new(
                            format!("agreement.terms[{i}].obligor_party_id"),
                            "is not a party to this dispute",
                        ));
                    }
                    if t.deadline < effective_date {
                        violations.push(FieldViolation::new(
                            format!("agreement.terms[{i}].deadline"),
                            "is in the past: it must not be before the agreement's date",
                        ));
                    }
                    Term {
                        obligor_party_id: t.obligor_party_id,
                        content: t.content,
                        manner: t.manner,
                        deadline: t.deadline,
                        performance: TermPerformance::Pending,
                        performance_date: None,
                        performance_note: String::new(),
                    }
                })
                .collect();
            crate::error::require_valid(violations)?;
            Ok(vec![Event::Settled {
                agreement: Agreement {
                    form: agreement.form,
                    parties_summary: agreement.parties_summary,
                    facts: agreement.facts,
                    issues_and_responsibility: agreement.issues_and_responsibility,
                    terms,
                    effective_date,
                    confirmation_apply_by: ctx.calendar.deadline(effective_date, CONFIRMATION_WINDOW),
                },
            }])
        }
        Command::Fail { reason, note, advised_routes, date } => {
            let date = act_date("failure.failure_date", date, life, today)?;
            Ok(vec![Event::Failed { failure: Failure { reason, note, advised_routes, date } }])
        }
        Command::RecordPerformance { term_index, performance, date, note } => {
            let agreement =
                life.agreement.as_ref().ok_or_else(|| AppError::internal("settled without an agreement"))?;
            let term = agreement.terms.get(term_index).ok_or_else(|| {
                AppError::invalid("term_index", format!("the agreement has {} terms", agreement.terms.len()))
            })?;
            if term.performance != TermPerformance::Pending {
                return Err(precondition(id, Reason::InvalidState, "this term's performance is already recorded"));
            }
            let date = act_date("performance_date", date, life, today)?;
            Ok(vec![Event::PerformanceRecorded { term_index, performance, date, note }])
        }
        Command::ApplyForConfirmation { court_id, date } => {
            let agreement =
                life.agreement.as_ref().ok_or_else(|| AppError::internal("settled without an agreement"))?;
            if agreement.form != AgreementForm::Written {
                return Err(precondition(id, Reason::InvalidState, "only a written agreement is confirmed by a court"));
            }
            if life.confirmation.is_some() {
                return Err(precondition(id, Reason::InvalidState, "confirmation was already applied for"));
            }
            let date = act_date("apply_date", date, life, today)?;
            if date > agreement.confirmation_apply_by {
                return Err(precondition(
                    id,
                    Reason::ConfirmationWindowClosed,
                    format!("the 30 days to apply ended on {} (Art.33)", agreement.confirmation_apply_by),
                ));
            }
            Ok(vec![Event::ConfirmationApplied { court_id, apply_date: date }])
        }
        Command::AnswerConfirmation { decision, reason, court_case_number, date } => {
            match &life.confirmation {
                Some(c) if c.state == ConfirmationState::Pending => {}
                Some(_) => return Err(precondition(id, Reason::InvalidState, "the court has already answered")),
                None => return Err(precondition(id, Reason::InvalidState, "no confirmation was applied for")),
            }
            let answer_date = act_date("answer_date", date, life, today)?;
            Ok(vec![Event::ConfirmationAnswered { decision, reason, court_case_number, answer_date }])
        }
        Command::Escalate { from_level, to, reason, date } => {
            let from_team_id = life.team_id().ok_or_else(|| AppError::internal("a dispute without a team"))?;
            let one_up = from_level.as_i16() - 1;
            if to.id == from_team_id || to.level.as_i16() != one_up || !to.takes_region {
                return Err(precondition(
                    id,
                    Reason::TeamNotCovering,
                    "escalation goes to an active team one level up that covers the dispute's region",
                ));
            }
            let date = act_date("escalate_date", date, life, today)?;
            Ok(vec![Event::Escalated { from_team_id, to_team_id: to.id, reason, date }])
        }
    }
}

/// The current mediator, while the current team has held no session.
fn before_first_session(id: Uuid, life: &Lifecycle) -> Result<Uuid, AppError> {
    if life.sessions_in_team > 0 {
        return Err(precondition(
            id,
            Reason::MediationStarted,
            "the first session was held: the mediator can no longer be objected to or recuse",
        ));
    }
    life.mediator.ok_or_else(|| precondition(id, Reason::NoMediator, "the dispute has no mediator"))
}

/// Applies `event` to the lifecycle (`None` before the first event).
pub fn apply(life: Option<Lifecycle>, event: &Event) -> Lifecycle {
    let mut life = match (life, event) {
        (_, Event::Recorded { team_id, source, category, receive_date, parties, .. }) => {
            return Lifecycle {
                state: DisputeState::AwaitingConsent,
                source: *source,
                category: *category,
                teams: vec![Stint { team_id: *team_id, from: *receive_date, to: None, reason: String::new() }],
                mediator: None,
                parties: parties
                    .iter()
                    .map(|id| Party { id: *id, consent: ConsentState::Pending, consent_date: None })
                    .collect(),
                receive_date: *receive_date,
                last_act_date: *receive_date,
                accept_date: None,
                due_date: None,
                sessions: Vec::new(),
                sessions_in_team: 0,
                agreement: None,
                failure: None,
                confirmation: None,
            };
        }
        (Some(life), _) => life,
        // Only a Recorded event starts a dispute; anything else before it
        // is a corrupt log, which fold reports.
        (None, _) => return empty_after(event),
    };
    match event {
        Event::Recorded { .. } => {}
        Event::ConsentRecorded { party_id, consents, date, .. } => {
            if let Some(p) = life.parties.iter_mut().find(|p| p.id == *party_id) {
                p.consent = if *consents { ConsentState::Given } else { ConsentState::Refused };
                p.consent_date = Some(*date);
            }
            if !consents {
                life.state = DisputeState::Refused;
            }
            life.last_act_date = life.last_act_date.max(*date);
        }
        Event::Accepted { accept_date, due_date } => {
            life.state = DisputeState::Accepted;
            life.accept_date = Some(*accept_date);
            life.due_date = Some(*due_date);
        }
        Event::MediatorAssigned { member_id } => life.mediator = Some(*member_id),
        Event::MediatorObjected { .. } | Event::MediatorRecused { .. } => life.mediator = None,
        Event::SessionHeld { session } => {
            life.last_act_date = life.last_act_date.max(session.date);
            life.sessions.push(session.clone());
            life.sessions_in_team += 1;
            life.state = DisputeState::InMediation;
        }
        Event::Settled { agreement } => {
            life.last_act_date = life.last_act_date.max(agreement.effective_date);
            life.agreement = Some(agreement.clone());
            life.state = DisputeState::Settled;
        }
        Event::Failed { failure } => {
            life.last_act_date = life.last_act_date.max(failure.date);
            life.failure = Some(failure.clone());
            life.state = DisputeState::Failed;
        }
        Event::PerformanceRecorded { term_index, performance, date, note } => {
            life.last_act_date = life.last_act_date.max(*date);
            if let Some(agreement) = life.agreement.as_mut() {
                if let Some(term) = agreement.terms.get_mut(*term_index) {
                    term.performance = *performance;
                    term.performance_date = Some(*date);
                    term.performance_note = note.clone();
                }
                if *performance == TermPerformance::Breached {
                    life.state = DisputeState::Breached;
                } else if life.state == DisputeState::Settled
                    && agreement.terms.iter().all(|t| t.performance == TermPerformance::Performed)
                {
                    life.state = DisputeState::Performed;
                }
            }
        }
        Event::ConfirmationApplied { court_id, apply_date } => {
            life.last_act_date = life.last_act_date.max(*apply_date);
            life.confirmation = Some(Confirmation {
                court_id: *court_id,
                apply_date: *apply_date,
                state: ConfirmationState::Pending,
                answer_date: None,
                reason: String::new(),
                court_case_number: String::new(),
            });
        }
        Event::ConfirmationAnswered { decision, reason, court_case_number, answer_date } => {
            life.last_act_date = life.last_act_date.max(*answer_date);
            if let Some(c) = life.confirmation.as_mut() {
                c.state = *decision;
                c.answer_date = Some(*answer_date);
                c.reason = reason.clone();
                c.court_case_number = court_case_number.clone();
            }
        }
        Event::Escalated { to_team_id, reason, date, .. } => {
            life.last_act_date = life.last_act_date.max(*date);
            if let Some(last) = life.teams.last_mut() {
                last.to = Some(*date);
                last.reason = reason.clone();
            }
            life.teams.push(Stint { team_id: *to_team_id, from: *date, to: None, reason: String::new() });
            life.mediator = None;
            life.sessions_in_team = 0;
            life.state = DisputeState::Accepted;
        }
        Event::DeadlineApproaching(_) | Event::DeadlineMissed(_) => {}
    }
    life
}

/// A placeholder for a log that does not start with `Recorded`; never
/// stored ([`fold`] refuses such a log).
fn empty_after(_: &Event) -> Lifecycle {
    Lifecycle {
        state: DisputeState::AwaitingConsent,
        source: DisputeSource::Application,
        category: DisputeCategory::Other,
        teams: Vec::new(),
        mediator: None,
        parties: Vec::new(),
        receive_date: NaiveDate::MIN,
        last_act_date: NaiveDate::MIN,
        accept_date: None,
        due_date: None,
        sessions: Vec::new(),
        sessions_in_team: 0,
        agreement: None,
        failure: None,
        confirmation: None,
    }
}

/// The lifecycle a log of events leaves; `None` for an empty log or one
/// that does not start with `Recorded`.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<Lifecycle> {
    let mut events = events.into_iter();
    let first = events.next()?;
    if !matches!(first, Event::Recorded { .. }) {
        return None;
    }
    Some(events.fold(apply(None, first), |life, e| apply(Some(life), e)))
}

/// A new dispute's first event, its parties numbered by the caller.
pub fn record(
    team_id: Uuid,
    source: DisputeSource,
    category: DisputeCategory,
    receive_date: NaiveDate,
    parties: Vec<Uuid>,
    links: Links,
) -> Event {
    Event::Recorded {
        team_id,
        source,
        category,
        receive_date,
        parties,
        case_id: links.case_id,
        screening_id: links.screening_id,
        referring_court_id: links.referring_court_id,
    }
}

/// Where a new dispute came from, besides its source.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Links {
    pub case_id: Option<Uuid>,
    pub screening_id: Option<Uuid>,
    pub referring_court_id: Option<Uuid>,
}

/// The day a new dispute is received: today when not given; never in the
/// future.
pub fn receive_date(field: &str, date: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, AppError> {
    match date {
        Some(date) if date > today => Err(AppError::invalid(field, "must not be in the future")),
        Some(date) => Ok(date),
        None => Ok(today),
    }
}

/// How a case the dispute came from sees its end: `None` while open or
/// after an agreement's later steps.
pub fn concluded(events: &[Event]) -> Option<DisputeState> {
    events.iter().find_map(|e| match e {
        Event::Settled { .. } => Some(DisputeState::Settled),
        Event::Failed { .. } => Some(DisputeState::Failed),
        Event::ConsentRecorded { consents: false, .. } => Some(DisputeState::Refused),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    const TODAY: (i32, u32, u32) = (2026, 6, 15);

    fn today() -> NaiveDate {
        date(TODAY.0, TODAY.1, TODAY.2)
    }

    fn ctx(calendar: &WorkCalendar) -> Context<'_> {
        Context { today: today(), calendar, time_limit: DEFAULT_TIME_LIMIT }
    }

    fn ids() -> (Uuid, Uuid, Uuid, Uuid) {
        (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3), Uuid::from_u128(4))
    }

    fn recorded(on: NaiveDate) -> Lifecycle {
        let (team, a, b, _) = ids();
        apply(
            None,
            &record(team, DisputeSource::Screening, DisputeCategory::Neighbourhood, on, vec![a, b], Links::default()),
        )
    }

    fn agreement_draft(form: AgreementForm, obligor: Uuid, deadline: NaiveDate) -> AgreementDraft {
        AgreementDraft {
            form,
            parties_summary: "甲、乙".into(),
            facts: "排水沟堵塞".into(),
            issues_and_responsibility: "甲负主要责任".into(),
            terms: vec![TermDraft {
                obligor_party_id: obligor,
                content: "疏通水沟".into(),
                manner: "自行施工".into(),
                deadline,
            }],
            effective_date: None,
        }
    }

    fn township() -> TeamFacts {
        TeamFacts { id: Uuid::from_u128(9), level: RegionLevel::Township, takes_region: true }
    }

    /// One command of each kind, valid where its state allows it.
    fn commands() -> Vec<Command> {
        let (_, a, _, member) = ids();
        vec![
            Command::Consent { party_id: a, consents: true, date: None, note: String::new() },
            Command::AssignMediator { member_id: Uuid::from_u128(77) },
            Command::ObjectToMediator { party_id: a, reason: "亲属".into() },
            Command::Recuse { reason: "利害关系".into() },
            Command::HoldSession {
                session: SessionDraft {
                    date: today(),
                    place: "村委会".into(),
                    video: false,
                    attendees: vec!["甲".into()],
                    notes: String::new(),
                },
            },
            Command::Agree { agreement: agreement_draft(AgreementForm::Written, a, today()) },
            Command::Fail {
                reason: FailureReason::NoAgreement,
                note: String::new(),
                advised_routes: vec![AdvisedRoute::Judicial],
                date: None,
            },
            Command::RecordPerformance {
                term_index: 0,
                performance: TermPerformance::Performed,
                date: None,
                note: String::new(),
            },
            Command::ApplyForConfirmation { court_id: Uuid::from_u128(50), date: None },
            Command::AnswerConfirmation {
                decision: ConfirmationState::Confirmed,
                reason: String::new(),
                court_case_number: String::new(),
                date: None,
            },
            Command::Escalate {
                from_level: RegionLevel::Village,
                to: township(),
                reason: "调解不成".into(),
                date: None,
            },
        ]
        .into_iter()
        .map(|c| match c {
            // The member named is the one assigned in `dispute_in`.
            Command::AssignMediator { .. } => Command::AssignMediator { member_id: member },
            c => c,
        })
        .collect()
    }

    /// A dispute brought to `state` through the rules, with a mediator
    /// assigned where one may be, a pending confirmation in the agreement
    /// states and its last term pending.
    fn dispute_in(state: DisputeState, calendar: &WorkCalendar) -> Lifecycle {
        let (_, a, b, member) = ids();
        let id = Uuid::from_u128(100);
        let ctx = ctx(calendar);
        let start = today() - chrono::Days::new(10);
        let mut life = recorded(start);
        let run = |life: &mut Lifecycle, command: Command| {
            for e in decide(id, life, command, &ctx).expect("reachable") {
                *life = apply(Some(life.clone()), &e);
            }
        };
        if state == DisputeState::AwaitingConsent {
            return life;
        }
        if state == DisputeState::Refused {
            run(&mut life, Command::Consent { party_id: a, consents: false, date: None, note: String::new() });
            return life;
        }
        run(&mut life, Command::Consent { party_id: a, consents: true, date: Some(start), note: String::new() });
        run(&mut life, Command::Consent { party_id: b, consents: true, date: Some(start), note: String::new() });
        if state == DisputeState::Accepted {
            return life;
        }
        run(&mut life, Command::AssignMediator { member_id: member });
        let session =
            SessionDraft {
                date: start, place: "村委会".into(), video: false, attendees: vec![], notes: String::new()
            };
        run(&mut life, Command::HoldSession { session });
        if state == DisputeState::InMediation {
            return life;
        }
        if state == DisputeState::Failed {
            run(
                &mut life,
                Command::Fail {
                    reason: FailureReason::NoAgreement,
                    note: String::new(),
                    advised_routes: vec![AdvisedRoute::Arbitration],
                    date: None,
                },
            );
            return life;
        }
        let mut draft = agreement_draft(AgreementForm::Written, a, today() + chrono::Days::new(30));
        draft.terms.push(TermDraft {
            obligor_party_id: b,
            content: "赔偿".into(),
            manner: "转账".into(),
            deadline: today() + chrono::Days::new(30),
        });
        draft.terms.push(TermDraft {
            obligor_party_id: b,
            content: "道歉".into(),
            manner: "当面".into(),
            deadline: today() + chrono::Days::new(30),
        });
        draft.effective_date = Some(start);
        run(&mut life, Command::Agree { agreement: draft });
        run(&mut life, Command::ApplyForConfirmation { court_id: Uuid::from_u128(50), date: None });
        // Term 0 stays pending for the table's RecordPerformance.
        match state {
            DisputeState::Performed => {
                for i in 0..3 {
                    run(
                        &mut life,
                        Command::RecordPerformance {
                            term_index: i,
                            performance: TermPerformance::Performed,
                            date: None,
                            note: String::new(),
                        },
                    );
                }
            }
            DisputeState::Breached => run(
                &mut life,
                Command::RecordPerformance {
                    term_index: 1,
                    performance: TermPerformance::Breached,
                    date: None,
                    note: String::new(),
                },
            ),
            _ => {}
        }
        life
    }

    /// The documented transitions (the service comment in mediation.proto):
    /// the state each command leaves, or `None` where it is refused.
    fn documented(command: &Command, state: DisputeState) -> Result<DisputeState, Reason> {
        use DisputeState::*;
        let invalid = Err(Reason::InvalidState);
        match (command, state) {
            (Command::Consent { .. }, AwaitingConsent) => Ok(AwaitingConsent),
            (Command::AssignMediator { .. }, AwaitingConsent) => Ok(AwaitingConsent),
            // The fixture's accepted dispute has no mediator yet.
            (Command::AssignMediator { .. }, Accepted) => Ok(Accepted),
            (Command::ObjectToMediator { .. } | Command::Recuse { .. }, AwaitingConsent | Accepted) => {
                Err(Reason::NoMediator)
            }
            (Command::ObjectToMediator { .. } | Command::Recuse { .. }, InMediation) => Err(Reason::MediationStarted),
            (Command::HoldSession { .. }, Accepted) => Err(Reason::NoMediator),
            (Command::HoldSession { .. }, InMediation) => Ok(InMediation),
            (Command::Agree { .. }, InMediation) => Ok(Settled),
            (Command::Fail { .. }, Accepted | InMediation) => Ok(Failed),
            (Command::RecordPerformance { .. }, Settled) => Ok(Settled),
            (Command::RecordPerformance { .. }, Breached) => Ok(Breached),
            // The fixture applied already.
            (Command::ApplyForConfirmation { .. }, Settled | Performed | Breached) => invalid,
            (Command::AnswerConfirmation { .. }, Settled | Performed | Breached) => Ok(state),
            (Command::Escalate { .. }, Accepted | InMediation) => Ok(Accepted),
            _ => invalid,
        }
    }

    /// Every command in every state: allowed exactly where documented,
    /// leaving the documented state; refused everywhere else with the
    /// documented reason, naming the dispute.
    #[test]
    fn transition_table_is_exhaustive() {
        let calendar = WorkCalendar::default();
        let id = Uuid::from_u128(100);
        for state in DisputeState::ALL {
            let life = dispute_in(*state, &calendar);
            assert_eq!(life.state, *state, "fixture for {state:?}");
            for command in commands() {
                let want = documented(&command, *state);
                let got = decide(id, &life, command.clone(), &ctx(&calendar));
                match (want, got) {
                    (Ok(after), Ok(events)) => {
                        let folded = events.iter().fold(life.clone(), |l, e| apply(Some(l), e));
                        assert_eq!(folded.state, after, "{command:?} in {state:?}");
                    }
                    (Err(reason), Err(AppError::FailedPrecondition { reason: got, subject, .. })) => {
                        assert_eq!(got, reason, "{command:?} in {state:?}");
                        assert_eq!(subject, format!("disputes/{id}"));
                    }
                    (want, got) => panic!("{command:?} in {state:?}: want {want:?}, got {got:?}"),
                }
            }
        }
    }

    #[test]
    fn every_party_must_consent_and_one_refusal_stops_it() {
        let calendar = WorkCalendar::default();
        let (_, a, b, _) = ids();
        let id = Uuid::from_u128(100);
        let life = recorded(today());
        let first = decide(
            id,
            &life,
            Command::Consent { party_id: a, consents: true, date: None, note: String::new() },
            &ctx(&calendar),
        )
        .expect("consent");
        assert_eq!(first.len(), 1, "one consent of two does not accept");
        let life = apply(Some(life), &first[0]);
        assert_eq!(life.state, DisputeState::AwaitingConsent);
        let again = decide(
            id,
            &life,
            Command::Consent { party_id: a, consents: false, date: None, note: String::new() },
            &ctx(&calendar),
        );
        assert!(
            matches!(again, Err(AppError::FailedPrecondition { reason: Reason::InvalidState, .. })),
            "answered once"
        );
        let last = decide(
            id,
            &life,
            Command::Consent { party_id: b, consents: true, date: None, note: String::new() },
            &ctx(&calendar),
        )
        .expect("consent");
        let life = fold_from(life, &last);
        assert_eq!(life.state, DisputeState::Accepted);
        assert_eq!(life.accept_date, Some(today()));
        // 2026-06-15 + 30 = 2026-07-15, a Wednesday.
        assert_eq!(life.due_date, Some(date(2026, 7, 15)));

        let refused = decide(
            id,
            &recorded(today()),
            Command::Consent { party_id: b, consents: false, date: None, note: "不愿调解".into() },
            &ctx(&calendar),
        )
        .expect("refusal");
        assert_eq!(fold_from(recorded(today()), &refused).state, DisputeState::Refused);
        let stranger = decide(
            id,
            &recorded(today()),
            Command::Consent { party_id: Uuid::from_u128(999), consents: true, date: None, note: String::new() },
            &ctx(&calendar),
        );
        assert!(matches!(stranger, Err(AppError::InvalidArgument(_))));
    }

    fn fold_from(life: Lifecycle, events: &[Event]) -> Lifecycle {
        events.iter().fold(life, |l, e| apply(Some(l), e))
    }

    #[test]
    fn acts_are_dated_neither_in_the_future_nor_before_the_previous_act() {
        let calendar = WorkCalendar::default();
        let (_, a, _, _) = ids();
        let id = Uuid::from_u128(100);
        let life = recorded(today() - chrono::Days::new(3));
        for (day, ok) in [
            (today() + chrono::Days::new(1), false),
            (today() - chrono::Days::new(4), false),
            (today() - chrono::Days::new(3), true),
        ] {
            let got = decide(
                id,
                &life,
                Command::Consent { party_id: a, consents: true, date: Some(day), note: String::new() },
                &ctx(&calendar),
            );
            assert_eq!(got.is_ok(), ok, "{day}: {got:?}");
        }
    }

    #[test]
    fn the_mediator_changes_only_before_the_teams_first_session() {
        let calendar = WorkCalendar::default();
        let (_, a, _, member) = ids();
        let id = Uuid::from_u128(100);
        let mut life = dispute_in(DisputeState::Accepted, &calendar);
        life = fold_from(
            life.clone(),
            &decide(id, &life, Command::AssignMediator { member_id: member }, &ctx(&calendar)).expect("assign"),
        );
        let other = Uuid::from_u128(78);
        let busy = decide(id, &life, Command::AssignMediator { member_id: other }, &ctx(&calendar));
        assert!(
            matches!(busy, Err(AppError::FailedPrecondition { reason: Reason::InvalidState, .. })),
            "replaced only after an objection"
        );
        let objected =
            decide(id, &life, Command::ObjectToMediator { party_id: a, reason: "亲属".into() }, &ctx(&calendar))
                .expect("objection");
        assert_eq!(objected, vec![Event::MediatorObjected { member_id: member, party_id: a, reason: "亲属".into() }]);
        life = fold_from(life, &objected);
        assert_eq!(life.mediator, None);
        life = fold_from(
            life.clone(),
            &decide(id, &life, Command::AssignMediator { member_id: other }, &ctx(&calendar)).expect("reassign"),
        );
        assert_eq!(life.mediator, Some(other));
        let in_mediation = dispute_in(DisputeState::InMediation, &calendar);
        let late = decide(id, &in_mediation, Command::Recuse { reason: "利害关系".into() }, &ctx(&calendar));
        assert!(matches!(late, Err(AppError::FailedPrecondition { reason: Reason::MediationStarted, .. })));
        // A new team's mediator may be objected to again before its first session.
        let escalated = fold_from(
            in_mediation.clone(),
            &decide(
                id,
                &in_mediation,
                Command::Escalate {
                    from_level: RegionLevel::Village,
                    to: township(),
                    reason: "调解不成".into(),
                    date: None,
                },
                &ctx(&calendar),
            )
            .expect("escalate"),
        );
        assert_eq!(escalated.state, DisputeState::Accepted);
        assert_eq!(escalated.mediator, None);
        assert_eq!(escalated.team_ids(), vec![ids().0, township().id]);
        assert_eq!(escalated.teams[0].to, Some(today()));
        assert_eq!(escalated.sessions.len(), 1, "the history stays");
        let assigned = fold_from(
            escalated.clone(),
            &decide(id, &escalated, Command::AssignMediator { member_id: other }, &ctx(&calendar)).expect("assign"),
        );
        assert!(decide(id, &assigned, Command::Recuse { reason: "同村".into() }, &ctx(&calendar)).is_ok());
    }

    #[test]
    fn escalation_goes_exactly_one_level_up_to_a_team_taking_the_region() {
        let calendar = WorkCalendar::default();
        let id = Uuid::from_u128(100);
        let life = dispute_in(DisputeState::InMediation, &calendar);
        let try_to = |from_level, to: TeamFacts| {
            decide(id, &life, Command::Escalate { from_level, to, reason: "r".into(), date: None }, &ctx(&calendar))
                .map(|_| ())
                .map_err(|e| e.reason())
        };
        assert_eq!(try_to(RegionLevel::Village, township()), Ok(()));
        let county = TeamFacts { level: RegionLevel::County, ..township() };
        assert_eq!(try_to(RegionLevel::Township, county), Ok(()));
        assert_eq!(try_to(RegionLevel::Village, county), Err(Reason::TeamNotCovering), "skips a level");
        assert_eq!(try_to(RegionLevel::County, township()), Err(Reason::TeamNotCovering), "goes down");
        let elsewhere = TeamFacts { takes_region: false, ..township() };
        assert_eq!(try_to(RegionLevel::Village, elsewhere), Err(Reason::TeamNotCovering));
        let itself = TeamFacts { id: ids().0, ..township() };
        assert_eq!(try_to(RegionLevel::Village, itself), Err(Reason::TeamNotCovering));
    }

    #[test]
    fn agreements_check_their_terms_and_performance_settles_the_state() {
        let calendar = WorkCalendar::default();
        let (_, a, b, _) = ids();
        let id = Uuid::from_u128(100);
        let life = dispute_in(DisputeState::InMediation, &calendar);
        let mut bad = agreement_draft(AgreementForm::Written, Uuid::from_u128(999), today() - chrono::Days::new(1));
        bad.terms.push(TermDraft { obligor_party_id: b, content: "x".into(), manner: "y".into(), deadline: today() });
        match decide(id, &life, Command::Agree { agreement: bad }, &ctx(&calendar)) {
            Err(AppError::InvalidArgument(v)) => {
                let fields: Vec<_> = v.iter().map(|f| f.field.as_str()).collect();
                assert_eq!(fields, ["agreement.terms[0].obligor_party_id", "agreement.terms[0].deadline"]);
            }
            other => panic!("{other:?}"),
        }
        let mut draft = agreement_draft(AgreementForm::Written, a, today());
        draft.terms.push(TermDraft { obligor_party_id: b, content: "x".into(), manner: "y".into(), deadline: today() });
        let settled = fold_from(
            life.clone(),
            &decide(id, &life, Command::Agree { agreement: draft }, &ctx(&calendar)).expect("agree"),
        );
        assert_eq!(settled.state, DisputeState::Settled);
        let perform = |life: &Lifecycle, i, p| {
            fold_from(
                life.clone(),
                &decide(
                    id,
                    life,
                    Command::RecordPerformance { term_index: i, performance: p, date: None, note: String::new() },
                    &ctx(&calendar),
                )
                .expect("performance"),
            )
        };
        let one = perform(&settled, 0, TermPerformance::Performed);
        assert_eq!(one.state, DisputeState::Settled, "one term of two");
        assert_eq!(perform(&one, 1, TermPerformance::Performed).state, DisputeState::Performed);
        let breached = perform(&settled, 1, TermPerformance::Breached);
        assert_eq!(breached.state, DisputeState::Breached);
        assert_eq!(perform(&breached, 0, TermPerformance::Performed).state, DisputeState::Breached, "a breach stays");
        let twice = decide(
            id,
            &one,
            Command::RecordPerformance {
                term_index: 0,
                performance: TermPerformance::Breached,
                date: None,
                note: String::new(),
            },
            &ctx(&calendar),
        );
        assert!(matches!(twice, Err(AppError::FailedPrecondition { reason: Reason::InvalidState, .. })));
        let beyond = decide(
            id,
            &one,
            Command::RecordPerformance {
                term_index: 2,
                performance: TermPerformance::Performed,
                date: None,
                note: String::new(),
            },
            &ctx(&calendar),
        );
        assert!(matches!(beyond, Err(AppError::InvalidArgument(_))));
    }

    /// Art.33's 30 days: day 30 is in time, day 31 is not; a last day on a
    /// rest day moves to the next working day.
    #[test]
    fn confirmation_window_is_thirty_calendar_days_on_the_calendar() {
        let (_, a, _, _) = ids();
        let id = Uuid::from_u128(100);
        let calendar = WorkCalendar::default();
        let signed_on = |effective: NaiveDate| {
            let mut life = dispute_in(DisputeState::InMediation, &calendar);
            life.last_act_date = effective;
            let mut draft = agreement_draft(AgreementForm::Written, a, effective + chrono::Days::new(60));
            draft.effective_date = Some(effective);
            let ctx = Context { today: effective + chrono::Days::new(40), ..ctx(&calendar) };
            let settled =
                fold_from(life.clone(), &decide(id, &life, Command::Agree { agreement: draft }, &ctx).expect("agree"));
            move |day: u64| {
                decide(
                    id,
                    &settled,
                    Command::ApplyForConfirmation {
                        court_id: Uuid::from_u128(50),
                        date: Some(effective + chrono::Days::new(day)),
                    },
                    &ctx,
                )
                .map(|_| ())
                .map_err(|e| e.reason())
            }
        };
        // 2026-05-06 + 30 = 2026-06-05, a Friday.
        let apply = signed_on(date(2026, 5, 6));
        assert_eq!(apply(30), Ok(()));
        assert_eq!(apply(31), Err(Reason::ConfirmationWindowClosed));
        // 2026-05-07 + 30 = Saturday 2026-06-06: the window runs to Monday.
        let apply = signed_on(date(2026, 5, 7));
        assert_eq!(apply(32), Ok(()));
        assert_eq!(apply(33), Err(Reason::ConfirmationWindowClosed));
        // An oral agreement is not confirmed by a court.
        let mut life = dispute_in(DisputeState::InMediation, &calendar);
        life.last_act_date = today();
        let oral = fold_from(
            life.clone(),
            &decide(
                id,
                &life,
                Command::Agree { agreement: agreement_draft(AgreementForm::Oral, a, today()) },
                &ctx(&calendar),
            )
            .expect("oral"),
        );
        let got = decide(
            id,
            &oral,
            Command::ApplyForConfirmation { court_id: Uuid::from_u128(50), date: None },
            &ctx(&calendar),
        );
        assert!(matches!(got, Err(AppError::FailedPrecondition { reason: Reason::InvalidState, .. })));
    }

    #[test]
    fn the_court_answers_once() {
        let calendar = WorkCalendar::default();
        let id = Uuid::from_u128(100);
        let life = dispute_in(DisputeState::Settled, &calendar);
        let answer = |decision| Command::AnswerConfirmation {
            decision,
            reason: "无效".into(),
            court_case_number: "（2026）赣0702民特1号".into(),
            date: None,
        };
        let answered = fold_from(
            life.clone(),
            &decide(id, &life, answer(ConfirmationState::Rejected), &ctx(&calendar)).expect("answer"),
        );
        let confirmation = answered.confirmation.clone().expect("applied");
        assert_eq!(confirmation.state, ConfirmationState::Rejected);
        assert!(matches!(
            decide(id, &answered, answer(ConfirmationState::Confirmed), &ctx(&calendar)),
            Err(AppError::FailedPrecondition { .. })
        ));
    }

    #[test]
    fn overdue_only_while_open_and_after_the_due_day() {
        let calendar = WorkCalendar::default();
        let accepted = dispute_in(DisputeState::Accepted, &calendar);
        let due = accepted.due_date.expect("due");
        assert!(!accepted.overdue(due));
        assert!(accepted.overdue(due + chrono::Days::new(1)));
        let failed = dispute_in(DisputeState::Failed, &calendar);
        assert!(!failed.overdue(due + chrono::Days::new(1)));
    }

    #[test]
    fn events_round_trip_through_json_and_fold_to_the_lifecycle() {
        let calendar = WorkCalendar::default();
        for state in DisputeState::ALL {
            let life = dispute_in(*state, &calendar);
            let json = serde_json::to_value(&life).expect("serialize");
            let back: Lifecycle = serde_json::from_value(json).expect("deserialize");
            assert_eq!(back, life);
        }
        // The log of a settled, escalated dispute folds to what was applied step by step.
        let (team, a, b, member) = ids();
        let id = Uuid::from_u128(100);
        let ctx = ctx(&calendar);
        let mut log = vec![record(
            team,
            DisputeSource::CaseReferral,
            DisputeCategory::Family,
            today(),
            vec![a, b],
            Links { case_id: Some(Uuid::from_u128(5)), ..Links::default() },
        )];
        let mut life = fold(&log).expect("recorded");
        for command in [
            Command::Consent { party_id: a, consents: true, date: None, note: String::new() },
            Command::Consent { party_id: b, consents: true, date: None, note: String::new() },
            Command::Escalate { from_level: RegionLevel::Village, to: township(), reason: "r".into(), date: None },
            Command::AssignMediator { member_id: member },
            Command::HoldSession {
                session: SessionDraft {
                    date: today(),
                    place: String::new(),
                    video: true,
                    attendees: vec![],
                    notes: String::new(),
                },
            },
            Command::Agree { agreement: agreement_draft(AgreementForm::Oral, b, today()) },
        ] {
            let events = decide(id, &life, command, &ctx).expect("decide");
            for e in &events {
                let json = serde_json::to_value(e).expect("event json");
                assert_eq!(&serde_json::from_value::<Event>(json).expect("event back"), e);
            }
            life = fold_from(life, &events);
            log.extend(events);
        }
        assert_eq!(fold(&log), Some(life.clone()));
        assert_eq!(life.state, DisputeState::Settled);
        assert_eq!(concluded(&log), Some(DisputeState::Settled));
        assert_eq!(fold(&log[1..]), None, "a log must start with Recorded");
        let types: Vec<i16> = log.iter().map(event_type).collect();
        assert_eq!(types, [1, 2, 2, 3, 13, 4, 7, 8]);
    }
}
