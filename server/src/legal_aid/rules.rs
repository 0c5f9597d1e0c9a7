//! The legal-aid application as the 法律援助法 (2021) reads: review within
//! 7 days with one request for missing materials (Art.43), a written
//! refusal, aid first (Art.44), assignment within 3 days (Art.43),
//! termination (Art.48), objection to the justice bureau decided within 5
//! days (Art.49), the closing report (Art.50). Pure: no I/O, no wire or
//! row types.
//!
//! Days. The law says 日. By default they are working days on the workday
//! calendar (the start day not counted), as the 2022 信访工作条例 counts its
//! short periods and as centres count office days; a province that counts
//! calendar days sets `--legal-aid-day-counting calendar` (a last day on a
//! rest day then moves to the next working day, 民法典 Art.203).
//!
//! The materials pause (Art.43 ¶2): from the day materials are asked for
//! to the day they are supplied the decision clock stands still; on supply
//! it runs again for the days that were left when it stopped.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::domain::{
    AidFirstGround, ConflictKind, DayCounting, HardshipExemption, HardshipVerification, LawyerKind, LegalAidClock,
    LegalAidState, MatterType, ObjectionOutcome, ObjectionSubject, TerminationReason, VerificationExemption,
    WithdrawalReason,
};
use crate::calendar::rules::{Period, WorkCalendar, is_overdue};
use crate::error::{AppError, Reason};

/// Art.43: the decision within 7 days of receipt.
pub const DECISION_DAYS: u32 = 7;
/// Art.43: the assignment within 3 days of the decision.
pub const ASSIGNMENT_DAYS: u32 = 3;
/// Art.49: the bureau decides within 5 days of receiving the objection.
pub const OBJECTION_DAYS: u32 = 5;

/// The period of `n` of the law's 日 under `counting`.
pub fn period(counting: DayCounting, n: u32) -> Period {
    match counting {
        DayCounting::Workdays => Period::Workdays(n),
        DayCounting::Calendar => Period::Days(n),
    }
}

/// Days of a clock due on `due` left after `on` (0 when past).
pub fn days_left(calendar: &WorkCalendar, counting: DayCounting, on: NaiveDate, due: NaiveDate) -> u32 {
    let left = match counting {
        DayCounting::Workdays => calendar.workdays_between(on, due),
        DayCounting::Calendar => (due - on).num_days(),
    };
    u32::try_from(left.max(0)).unwrap_or(0)
}

/// The economic-hardship part of an application: a statement (Art.41)
/// and how it is verified, or the Art.32 categories that lift the
/// condition, and the Art.42 groups not verified.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hardship {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub statement: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<HardshipVerification>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemptions: Vec<HardshipExemption>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub verification_exemptions: Vec<VerificationExemption>,
}

/// One request for missing materials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Materials {
    pub items: Vec<String>,
    pub request_date: NaiveDate,
    pub due_date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplied_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub supplied_note: String,
}

/// The centre's latest decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub grant: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    pub date: NaiveDate,
}

/// Aid given first (Art.44).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AidFirst {
    pub ground: AidFirstGround,
    pub note: String,
    pub papers_outstanding: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub papers_completed_date: Option<NaiveDate>,
}

/// A name shared with another matter of the centre.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub id: Uuid,
    pub other_application_id: Uuid,
    pub name: String,
    pub kind: ConflictKind,
    #[serde(default)]
    pub cleared: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub clear_reason: String,
}

/// The assigned lawyer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lawyer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<Uuid>,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub law_firm: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub licence_number: String,
    pub kind: LawyerKind,
    pub assign_date: NaiveDate,
}

/// A termination (Art.48).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Termination {
    pub reason: TerminationReason,
    pub note: String,
    pub date: NaiveDate,
    /// The state it ended: a corrected termination goes back to it.
    pub from: LegalAidState,
}

/// An objection (Art.49).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objection {
    pub subject: ObjectionSubject,
    pub reason: String,
    pub file_date: NaiveDate,
    pub due_date: NaiveDate,
    pub bureau_id: Uuid,
    /// Which refusal or termination (1, 2, …) it is against.
    pub decision_number: u32,
    pub outcome: ObjectionOutcome,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub outcome_reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decide_date: Option<NaiveDate>,
}

/// The closing report (Art.50).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub result_summary: String,
    pub documents: Vec<String>,
    pub close_date: NaiveDate,
}

/// A withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub reason: WithdrawalReason,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    pub date: NaiveDate,
}

/// Everything the rules track about an application: the fold of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: LegalAidState,
    pub centre_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bureau_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<Uuid>,
    pub matter_type: MatterType,
    #[serde(default)]
    pub hardship: Hardship,
    pub receive_date: NaiveDate,
    /// The day of the latest act: no act may be dated before it.
    pub last_act_date: NaiveDate,
    /// The decision clock's last day (set while under review; kept while
    /// paused, where `paused_days_left` counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_due: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_days_left: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materials: Vec<Materials>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment_due: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aid_first: Option<AidFirst>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lawyer: Option<Lawyer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination: Option<Termination>,
    /// Refusals and terminations so far: each may be objected to once.
    #[serde(default)]
    pub objectionable_decisions: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objections: Vec<Objection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawal: Option<Withdrawal>,
}

impl Lifecycle {
    /// The last day of the clock now running: the decision's under review,
    /// the assignment's once granted, the bureau's while an objection is
    /// pending; `None` when none runs (materials awaited, final states).
    pub fn running_due(&self) -> Option<NaiveDate> {
        match self.state {
            LegalAidState::UnderReview => self.decision_due,
            LegalAidState::Granted => self.assignment_due,
            LegalAidState::ObjectionPending => self.pending_objection().map(|o| o.due_date),
            _ => None,
        }
    }

    /// The running clock's last day has passed on `today`.
    pub fn overdue(&self, today: NaiveDate) -> bool {
        self.running_due().is_some_and(|due| is_overdue(due, today))
    }

    pub fn pending_objection(&self) -> Option<&Objection> {
        self.objections.last().filter(|o| o.outcome == ObjectionOutcome::Pending)
    }

    /// The pending materials request.
    pub fn open_materials(&self) -> Option<&Materials> {
        self.materials.last().filter(|m| m.supplied_date.is_none())
    }

    pub fn has_uncleared_conflict(&self) -> bool {
        self.conflicts.iter().any(|c| !c.cleared)
    }
}

/// What happened to an application. Stored as the event's payload (JSON)
/// and sent in the feed as `LegalAidEvent`. No phone is ever in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Created {
        centre_id: Uuid,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bureau_id: Option<Uuid>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        case_id: Option<Uuid>,
        matter_type: MatterType,
        #[serde(default)]
        hardship: Hardship,
        receive_date: NaiveDate,
        decision_due: NaiveDate,
        adverse_party_count: u32,
    },
    MaterialsRequested {
        items: Vec<String>,
        request_date: NaiveDate,
        due_date: NaiveDate,
        days_left: u32,
    },
    MaterialsSupplied {
        supplied_date: NaiveDate,
        #[serde(default, skip_serializing_if = "String::is_empty")]
        note: String,
        decision_due: NaiveDate,
    },
    Withdrawn {
        withdrawal: Withdrawal,
    },
    Granted {
        decision_date: NaiveDate,
        assignment_due: NaiveDate,
    },
    Refused {
        reason: String,
        decision_date: NaiveDate,
    },
    AidFirstGranted {
        ground: AidFirstGround,
        note: String,
        decision_date: NaiveDate,
        assignment_due: NaiveDate,
    },
    PapersCompleted {
        completed_date: NaiveDate,
    },
    ConflictFound {
        conflict: Conflict,
    },
    ConflictCleared {
        conflict_id: Uuid,
        reason: String,
    },
    LawyerAssigned {
        lawyer: Lawyer,
    },
    Terminated {
        reason: TerminationReason,
        note: String,
        date: NaiveDate,
    },
    ObjectionFiled {
        subject: ObjectionSubject,
        reason: String,
        file_date: NaiveDate,
        due_date: NaiveDate,
        bureau_id: Uuid,
    },
    ObjectionDecided {
        outcome: ObjectionOutcome,
        reason: String,
        decide_date: NaiveDate,
        /// A corrected refusal: the centre's new decision clock.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decision_due: Option<NaiveDate>,
    },
    Closed {
        report: Report,
    },
    /// The sweeper: the running clock's last day is near. Changes nothing
    /// of the lifecycle (the version stays: no caller's etag fails).
    DeadlineApproaching(DeadlineMark),
    /// The sweeper: the running clock's last day passed; as above.
    DeadlineMissed(DeadlineMark),
}

/// A sweeper's mark on the running clock of an application (`sweep.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineMark {
    pub clock: LegalAidClock,
    pub due_date: NaiveDate,
    /// Who owes it: the centre, or the bureau for an objection; none for
    /// the applicant's materials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<Uuid>,
}

/// `petition.v1.LegalAidEventType` of an event.
pub fn event_type(event: &Event) -> i16 {
    match event {
        Event::Created { .. } => 1,
        Event::MaterialsRequested { .. } => 2,
        Event::MaterialsSupplied { .. } => 3,
        Event::Withdrawn { .. } => 4,
        Event::Granted { .. } => 5,
        Event::Refused { .. } => 6,
        Event::AidFirstGranted { .. } => 7,
        Event::PapersCompleted { .. } => 8,
        Event::ConflictFound { .. } => 9,
        Event::ConflictCleared { .. } => 10,
        Event::LawyerAssigned { .. } => 11,
        Event::Terminated { .. } => 12,
        Event::ObjectionFiled { .. } => 13,
        Event::ObjectionDecided { .. } => 14,
        Event::Closed { .. } => 15,
        Event::DeadlineApproaching(_) => 16,
        Event::DeadlineMissed(_) => 17,
    }
}

/// A conflict hit found by the store, with its id given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictDraft {
    pub id: Uuid,
    pub other_application_id: Uuid,
    pub name: String,
    pub kind: ConflictKind,
}

/// What an assignment names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LawyerDraft {
    pub account_id: Option<Uuid>,
    pub name: String,
    pub law_firm: String,
    pub licence_number: String,
    pub kind: LawyerKind,
}

/// A transition asked of an application, its facts already read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    RequestMaterials {
        items: Vec<String>,
        due_date: NaiveDate,
        date: Option<NaiveDate>,
    },
    SupplyMaterials {
        note: String,
        date: Option<NaiveDate>,
    },
    Withdraw {
        reason: WithdrawalReason,
        note: String,
        date: Option<NaiveDate>,
    },
    /// Grant (with the conflict hits found) or refuse (with the reason).
    Decide {
        grant: bool,
        reason: String,
        date: Option<NaiveDate>,
        conflicts: Vec<ConflictDraft>,
    },
    GrantAidFirst {
        ground: AidFirstGround,
        note: String,
        date: Option<NaiveDate>,
        conflicts: Vec<ConflictDraft>,
    },
    RecordPapersCompleted {
        date: Option<NaiveDate>,
    },
    ClearConflict {
        conflict_id: Uuid,
        reason: String,
    },
    AssignLawyer {
        lawyer: LawyerDraft,
        date: Option<NaiveDate>,
    },
    Terminate {
        reason: TerminationReason,
        note: String,
        date: Option<NaiveDate>,
    },
    /// `bureau_id`: the justice bureau above the centre, if any.
    FileObjection {
        reason: String,
        date: Option<NaiveDate>,
        bureau_id: Option<Uuid>,
    },
    DecideObjection {
        outcome: ObjectionOutcome,
        reason: String,
        date: Option<NaiveDate>,
    },
    SubmitClosingReport {
        result_summary: String,
        documents: Vec<String>,
        date: Option<NaiveDate>,
    },
}

/// What every decision needs besides the application.
pub struct Context<'a> {
    pub today: NaiveDate,
    pub calendar: &'a WorkCalendar,
    pub counting: DayCounting,
}

/// The states a command may be asked in (others: INVALID_STATE).
pub fn allowed_in(command: &Command) -> &'static [LegalAidState] {
    use LegalAidState::*;
    match command {
        Command::RequestMaterials { .. } | Command::Decide { .. } => &[UnderReview],
        Command::SupplyMaterials { .. } => &[AwaitingMaterials],
        Command::Withdraw { reason: WithdrawalReason::MaterialsNotSupplied, .. } => &[AwaitingMaterials],
        Command::Withdraw { .. } | Command::GrantAidFirst { .. } => &[UnderReview, AwaitingMaterials],
        Command::RecordPapersCompleted { .. } | Command::Terminate { .. } => &[Granted, Assigned],
        Command::ClearConflict { .. } | Command::AssignLawyer { .. } => &[Granted],
        Command::FileObjection { .. } => &[Refused, Terminated],
        Command::DecideObjection { .. } => &[ObjectionPending],
        Command::SubmitClosingReport { .. } => &[Assigned],
    }
}

fn precondition(id: Uuid, reason: Reason, message: impl Into<String>) -> AppError {
    AppError::FailedPrecondition { reason, message: message.into(), subject: format!("legalAidApplications/{id}") }
}

/// The day of an act: today when not given; never in the future, never
/// before the application's previous act.
fn act_date(field: &str, date: Option<NaiveDate>, life: &Lifecycle, today: NaiveDate) -> Result<NaiveDate, AppError> {
    let date = date.unwrap_or(today);
    if date > today {
        return Err(AppError::invalid(field, "must not be in the future"));
    }
    if date < life.last_act_date {
        return Err(AppError::invalid(
            field,
            format!("must not be before the application's previous act ({})", life.last_act_date),
        ));
    }
    Ok(date)
}

/// The conflict hits of a grant as events.
fn found(conflicts: Vec<ConflictDraft>) -> impl Iterator<Item = Event> {
    conflicts.into_iter().map(|c| Event::ConflictFound {
        conflict: Conflict {
            id: c.id,
            other_application_id: c.other_application_id,
            name: c.name,
            kind: c.kind,
            cleared: false,
            clear_reason: String::new(),
        },
    })
}

/// Decides `command` for application `id` in `life` into events.
pub fn decide(id: Uuid, life: &Lifecycle, command: Command, ctx: &Context<'_>) -> Result<Vec<Event>, AppError> {
    if !allowed_in(&command).contains(&life.state) {
        return Err(precondition(
            id,
            Reason::InvalidState,
            format!("not allowed while the application is {:?}", life.state),
        ));
    }
    let today = ctx.today;
    let days = |n| period(ctx.counting, n);
    match command {
        Command::RequestMaterials { items, due_date, date } => {
            if !life.materials.is_empty() {
                return Err(precondition(
                    id,
                    Reason::MaterialsAlreadyRequested,
                    "missing materials are asked for once, every item at once (Art.43 ¶2)",
                ));
            }
            let request_date = act_date("request_date", date, life, today)?;
            if due_date <= request_date {
                return Err(AppError::invalid("due_date", "must be after the request's day"));
            }
            let due = life.decision_due.unwrap_or(request_date);
            let days_left = days_left(ctx.calendar, ctx.counting, request_date, due);
            Ok(vec![Event::MaterialsRequested { items, request_date, due_date, days_left }])
        }
        Command::SupplyMaterials { note, date } => {
            let supplied_date = act_date("supplied_date", date, life, today)?;
            let left = life.paused_days_left.unwrap_or(0);
            let decision_due = ctx.calendar.deadline(supplied_date, days(left));
            Ok(vec![Event::MaterialsSupplied { supplied_date, note, decision_due }])
        }
        Command::Withdraw { reason, note, date } => {
            let date = act_date("withdraw_date", date, life, today)?;
            if reason == WithdrawalReason::MaterialsNotSupplied {
                let due = life.open_materials().map(|m| m.due_date).unwrap_or(date);
                if !is_overdue(due, date) {
                    return Err(precondition(
                        id,
                        Reason::MaterialsNotDue,
                        format!("the materials are due by {due}: treated as withdrawn only after that day"),
                    ));
                }
            }
            Ok(vec![Event::Withdrawn { withdrawal: Withdrawal { reason, note, date } }])
        }
        Command::Decide { grant: true, date, conflicts, .. } => {
            let decision_date = act_date("decision_date", date, life, today)?;
            let assignment_due = ctx.calendar.deadline(decision_date, days(ASSIGNMENT_DAYS));
            let mut events = vec![Event::Granted { decision_date, assignment_due }];
            events.extend(found(conflicts));
            Ok(events)
        }
        Command::Decide { grant: false, reason, date, .. } => {
            if reason.trim().is_empty() {
                return Err(AppError::invalid("reason", "a refusal states its reason in writing (Art.43)"));
            }
            let decision_date = act_date("decision_date", date, life, today)?;
            Ok(vec![Event::Refused { reason, decision_date }])
        }
        Command::GrantAidFirst { ground, note, date, conflicts } => {
            let decision_date = act_date("decision_date", date, life, today)?;
            let assignment_due = ctx.calendar.deadline(decision_date, days(ASSIGNMENT_DAYS));
            let mut events = vec![Event::AidFirstGranted { ground, note, decision_date, assignment_due }];
            events.extend(found(conflicts));
            Ok(events)
        }
        Command::RecordPapersCompleted { date } => {
            if !life.aid_first.as_ref().is_some_and(|a| a.papers_outstanding) {
                return Err(precondition(id, Reason::NoPapersOutstanding, "no papers are outstanding"));
            }
            let completed_date = act_date("completed_date", date, life, today)?;
            Ok(vec![Event::PapersCompleted { completed_date }])
        }
        Command::ClearConflict { conflict_id, reason } => {
            match life.conflicts.iter().find(|c| c.id == conflict_id) {
                None => return Err(AppError::invalid("conflict_id", "is not a conflict hit of this application")),
                Some(c) if c.cleared => {
                    return Err(precondition(id, Reason::InvalidState, "this conflict hit is already cleared"));
                }
                Some(_) => {}
            }
            Ok(vec![Event::ConflictCleared { conflict_id, reason }])
        }
        Command::AssignLawyer { lawyer, date } => {
            if life.has_uncleared_conflict() {
                return Err(precondition(
                    id,
                    Reason::ConflictUncleared,
                    "a conflict hit is not cleared: a reviewer clears it with a reason first",
                ));
            }
            let assign_date = act_date("assign_date", date, life, today)?;
            let LawyerDraft { account_id, name, law_firm, licence_number, kind } = lawyer;
            Ok(vec![Event::LawyerAssigned {
                lawyer: Lawyer { account_id, name, law_firm, licence_number, kind, assign_date },
            }])
        }
        Command::Terminate { reason, note, date } => {
            let date = act_date("termination_date", date, life, today)?;
            Ok(vec![Event::Terminated { reason, note, date }])
        }
        Command::FileObjection { reason, date, bureau_id } => {
            if life.objections.iter().any(|o| o.decision_number == life.objectionable_decisions) {
                return Err(precondition(
                    id,
                    Reason::ObjectionAlreadyFiled,
                    "this decision was already objected to; the bureau's decision is open to administrative review or litigation (Art.49 ¶3)",
                ));
            }
            let bureau_id = bureau_id.ok_or_else(|| {
                precondition(
                    id,
                    Reason::NoObjectionBody,
                    "the centre has no justice bureau above it in the directory to decide objections (Art.49)",
                )
            })?;
            let file_date = act_date("file_date", date, life, today)?;
            let subject = if life.state == LegalAidState::Refused {
                ObjectionSubject::Refusal
            } else {
                ObjectionSubject::Termination
            };
            let due_date = ctx.calendar.deadline(file_date, days(OBJECTION_DAYS));
            Ok(vec![Event::ObjectionFiled { subject, reason, file_date, due_date, bureau_id }])
        }
        Command::DecideObjection { outcome, reason, date } => {
            let objection =
                life.pending_objection().ok_or_else(|| AppError::internal("an objection pending without one"))?;
            let decide_date = act_date("decide_date", date, life, today)?;
            // A corrected refusal is reviewed again: a new decision clock
            // from the bureau's decision.
            let decision_due = (outcome == ObjectionOutcome::CorrectionOrdered
                && objection.subject == ObjectionSubject::Refusal)
                .then(|| ctx.calendar.deadline(decide_date, days(DECISION_DAYS)));
            Ok(vec![Event::ObjectionDecided { outcome, reason, decide_date, decision_due }])
        }
        Command::SubmitClosingReport { result_summary, documents, date } => {
            let close_date = act_date("report.close_date", date, life, today)?;
            Ok(vec![Event::Closed { report: Report { result_summary, documents, close_date } }])
        }
    }
}

/// What a new application says, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct New {
    pub centre_id: Uuid,
    pub bureau_id: Option<Uuid>,
    pub case_id: Option<Uuid>,
    pub matter_type: MatterType,
    pub hardship: Hardship,
    pub receive_date: NaiveDate,
    pub adverse_party_count: u32,
}

/// The first event of a new application; its decision clock starts on the
/// day it is received (Art.43: 自收到法律援助申请之日起).
pub fn create(new: New, calendar: &WorkCalendar, counting: DayCounting) -> Event {
    let New { centre_id, bureau_id, case_id, matter_type, hardship, receive_date, adverse_party_count } = new;
    Event::Created {
        centre_id,
        bureau_id,
        case_id,
        matter_type,
        hardship,
        receive_date,
        decision_due: calendar.deadline(receive_date, period(counting, DECISION_DAYS)),
        adverse_party_count,
    }
}

/// Applies `event` to the lifecycle (`None` before the first event).
pub fn apply(life: Option<Lifecycle>, event: &Event) -> Lifecycle {
    let mut life = match (life, event) {
        (
            _,
            Event::Created { centre_id, bureau_id, case_id, matter_type, hardship, receive_date, decision_due, .. },
        ) => {
            return Lifecycle {
                centre_id: *centre_id,
                bureau_id: *bureau_id,
                case_id: *case_id,
                matter_type: *matter_type,
                hardship: hardship.clone(),
                receive_date: *receive_date,
                last_act_date: *receive_date,
                decision_due: Some(*decision_due),
                ..placeholder()
            };
        }
        (Some(life), _) => life,
        // Only Created starts an application; fold refuses other logs.
        (None, _) => return placeholder(),
    };
    let acted = |life: &mut Lifecycle, date: NaiveDate| life.last_act_date = life.last_act_date.max(date);
    match event {
        Event::Created { .. } => {}
        Event::MaterialsRequested { items, request_date, due_date, days_left } => {
            acted(&mut life, *request_date);
            life.materials.push(Materials {
                items: items.clone(),
                request_date: *request_date,
                due_date: *due_date,
                supplied_date: None,
                supplied_note: String::new(),
            });
            life.paused_days_left = Some(*days_left);
            life.state = LegalAidState::AwaitingMaterials;
        }
        Event::MaterialsSupplied { supplied_date, note, decision_due } => {
            acted(&mut life, *supplied_date);
            if let Some(m) = life.materials.last_mut() {
                m.supplied_date = Some(*supplied_date);
                m.supplied_note = note.clone();
            }
            life.paused_days_left = None;
            life.decision_due = Some(*decision_due);
            life.state = LegalAidState::UnderReview;
        }
        Event::Withdrawn { withdrawal } => {
            acted(&mut life, withdrawal.date);
            life.withdrawal = Some(withdrawal.clone());
            life.state = LegalAidState::Withdrawn;
        }
        Event::Granted { decision_date, assignment_due } => {
            acted(&mut life, *decision_date);
            life.decision = Some(Decision { grant: true, reason: String::new(), date: *decision_date });
            life.assignment_due = Some(*assignment_due);
            life.state = LegalAidState::Granted;
        }
        Event::Refused { reason, decision_date } => {
            acted(&mut life, *decision_date);
            life.decision = Some(Decision { grant: false, reason: reason.clone(), date: *decision_date });
            life.objectionable_decisions += 1;
            life.state = LegalAidState::Refused;
        }
        Event::AidFirstGranted { ground, note, decision_date, assignment_due } => {
            acted(&mut life, *decision_date);
            life.decision = Some(Decision { grant: true, reason: String::new(), date: *decision_date });
            life.aid_first = Some(AidFirst {
                ground: *ground,
                note: note.clone(),
                papers_outstanding: true,
                papers_completed_date: None,
            });
            // Aid first while materials were awaited: the request is moot.
            life.paused_days_left = None;
            life.assignment_due = Some(*assignment_due);
            life.state = LegalAidState::Granted;
        }
        Event::PapersCompleted { completed_date } => {
            acted(&mut life, *completed_date);
            if let Some(a) = life.aid_first.as_mut() {
                a.papers_outstanding = false;
                a.papers_completed_date = Some(*completed_date);
            }
        }
        Event::ConflictFound { conflict } => life.conflicts.push(conflict.clone()),
        Event::ConflictCleared { conflict_id, reason } => {
            if let Some(c) = life.conflicts.iter_mut().find(|c| c.id == *conflict_id) {
                c.cleared = true;
                c.clear_reason = reason.clone();
            }
        }
        Event::LawyerAssigned { lawyer } => {
            acted(&mut life, lawyer.assign_date);
            life.lawyer = Some(lawyer.clone());
            life.state = LegalAidState::Assigned;
        }
        Event::Terminated { reason, note, date } => {
            acted(&mut life, *date);
            life.termination = Some(Termination { reason: *reason, note: note.clone(), date: *date, from: life.state });
            life.objectionable_decisions += 1;
            life.state = LegalAidState::Terminated;
        }
        Event::ObjectionFiled { subject, reason, file_date, due_date, bureau_id } => {
            acted(&mut life, *file_date);
            life.objections.push(Objection {
                subject: *subject,
                reason: reason.clone(),
                file_date: *file_date,
                due_date: *due_date,
                bureau_id: *bureau_id,
                decision_number: life.objectionable_decisions,
                outcome: ObjectionOutcome::Pending,
                outcome_reason: String::new(),
                decide_date: None,
            });
            life.state = LegalAidState::ObjectionPending;
        }
        Event::ObjectionDecided { outcome, reason, decide_date, decision_due } => {
            acted(&mut life, *decide_date);
            let subject = life.objections.last().map(|o| o.subject).unwrap_or(ObjectionSubject::Refusal);
            if let Some(o) = life.objections.last_mut() {
                o.outcome = *outcome;
                o.outcome_reason = reason.clone();
                o.decide_date = Some(*decide_date);
            }
            life.state = match (outcome, subject) {
                (ObjectionOutcome::CorrectionOrdered, ObjectionSubject::Refusal) => {
                    life.decision_due = *decision_due;
                    LegalAidState::UnderReview
                }
                (ObjectionOutcome::CorrectionOrdered, ObjectionSubject::Termination) => {
                    life.termination.as_ref().map(|t| t.from).unwrap_or(LegalAidState::Assigned)
                }
                (_, ObjectionSubject::Refusal) => LegalAidState::Refused,
                (_, ObjectionSubject::Termination) => LegalAidState::Terminated,
            };
        }
        Event::Closed { report } => {
            acted(&mut life, report.close_date);
            life.report = Some(report.clone());
            life.state = LegalAidState::Closed;
        }
        Event::DeadlineApproaching(_) | Event::DeadlineMissed(_) => {}
    }
    life
}

/// An application with nothing recorded yet: what Created fills in, and
/// what a log that does not start with Created folds from (never stored:
/// [`fold`] refuses such a log).
pub(crate) fn placeholder() -> Lifecycle {
    Lifecycle {
        state: LegalAidState::UnderReview,
        centre_id: Uuid::nil(),
        bureau_id: None,
        case_id: None,
        matter_type: MatterType::Other,
        hardship: Hardship::default(),
        receive_date: NaiveDate::MIN,
        last_act_date: NaiveDate::MIN,
        decision_due: None,
        paused_days_left: None,
        materials: Vec::new(),
        decision: None,
        assignment_due: None,
        aid_first: None,
        conflicts: Vec::new(),
        lawyer: None,
        termination: None,
        objectionable_decisions: 0,
        objections: Vec::new(),
        report: None,
        withdrawal: None,
    }
}

/// The lifecycle a log of events leaves; `None` for an empty log or one
/// that does not start with `Created`.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<Lifecycle> {
    let mut events = events.into_iter();
    let first = events.next()?;
    if !matches!(first, Event::Created { .. }) {
        return None;
    }
    Some(events.fold(apply(None, first), |life, e| apply(Some(life), e)))
}

/// The day a new application is received: today when not given; never in
/// the future.
pub fn receive_date(date: Option<NaiveDate>, today: NaiveDate) -> Result<NaiveDate, AppError> {
    match date {
        Some(date) if date > today => Err(AppError::invalid("receive_date", "must not be in the future")),
        Some(date) => Ok(date),
        None => Ok(today),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::rules::DayKind;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    /// A Monday.
    fn today() -> NaiveDate {
        date(2026, 6, 15)
    }

    fn ctx(calendar: &WorkCalendar) -> Context<'_> {
        Context { today: today(), calendar, counting: DayCounting::Workdays }
    }

    const ID: Uuid = Uuid::from_u128(100);
    const BUREAU: Uuid = Uuid::from_u128(8);

    fn new(on: NaiveDate) -> New {
        New {
            centre_id: Uuid::from_u128(4),
            bureau_id: Some(BUREAU),
            case_id: None,
            matter_type: MatterType::Labour,
            hardship: Hardship {
                statement: "无固定收入".into(),
                verification: Some(HardshipVerification::PersonalCommitment),
                ..Hardship::default()
            },
            receive_date: on,
            adverse_party_count: 1,
        }
    }

    fn created(on: NaiveDate, calendar: &WorkCalendar) -> Lifecycle {
        apply(None, &create(new(on), calendar, DayCounting::Workdays))
    }

    fn hit() -> ConflictDraft {
        ConflictDraft {
            id: Uuid::from_u128(55),
            other_application_id: Uuid::from_u128(56),
            name: "某公司".into(),
            kind: ConflictKind::AdverseIsApplicantThere,
        }
    }

    fn lawyer() -> LawyerDraft {
        LawyerDraft {
            account_id: None,
            name: "钱律师".into(),
            law_firm: "赣州市法律援助中心".into(),
            licence_number: String::new(),
            kind: LawyerKind::PublicLawyer,
        }
    }

    /// One command of each kind.
    fn commands() -> Vec<Command> {
        vec![
            Command::RequestMaterials {
                items: vec!["工资流水".into()],
                due_date: today() + chrono::Days::new(10),
                date: None,
            },
            Command::SupplyMaterials { note: String::new(), date: None },
            Command::Withdraw { reason: WithdrawalReason::ByApplicant, note: String::new(), date: None },
            Command::Withdraw { reason: WithdrawalReason::MaterialsNotSupplied, note: String::new(), date: None },
            Command::Decide { grant: true, reason: String::new(), date: None, conflicts: vec![] },
            Command::Decide {
                grant: false, reason: "不符合经济困难标准".into(), date: None, conflicts: vec![]
            },
            Command::GrantAidFirst {
                ground: AidFirstGround::LimitationEndingWithin7Days,
                note: "仲裁时效将满".into(),
                date: None,
                conflicts: vec![],
            },
            Command::RecordPapersCompleted { date: None },
            Command::ClearConflict { conflict_id: hit().id, reason: "同名不同人".into() },
            Command::AssignLawyer { lawyer: lawyer(), date: None },
            Command::Terminate {
                reason: TerminationReason::OwnLawyerRetained, note: "自行委托".into(), date: None
            },
            Command::FileObjection { reason: "确有困难".into(), date: None, bureau_id: Some(BUREAU) },
            Command::DecideObjection { outcome: ObjectionOutcome::Upheld, reason: "维持".into(), date: None },
            Command::SubmitClosingReport {
                result_summary: "调解结案".into(),
                documents: vec!["调解书".into()],
                date: None,
            },
        ]
    }

    /// An application brought to `state` through the rules, received ten
    /// days ago: materials requested (due five days ago) in
    /// AWAITING_MATERIALS; granted first with papers outstanding and an
    /// uncleared hit in GRANTED; a refusal objected to in
    /// OBJECTION_PENDING.
    fn application_in(state: LegalAidState, calendar: &WorkCalendar) -> Lifecycle {
        let start = today() - chrono::Days::new(10);
        let mut life = created(start, calendar);
        let ctx = ctx(calendar);
        let run = |life: &mut Lifecycle, command: Command| {
            for e in decide(ID, life, command, &ctx).expect("reachable") {
                *life = apply(Some(life.clone()), &e);
            }
        };
        use LegalAidState::*;
        match state {
            UnderReview => {}
            AwaitingMaterials => run(
                &mut life,
                Command::RequestMaterials {
                    items: vec!["身份证明".into()],
                    due_date: today() - chrono::Days::new(5),
                    date: Some(start),
                },
            ),
            Withdrawn => run(
                &mut life,
                Command::Withdraw { reason: WithdrawalReason::ByApplicant, note: String::new(), date: None },
            ),
            Granted | Assigned | Closed | Terminated => {
                run(
                    &mut life,
                    Command::GrantAidFirst {
                        ground: AidFirstGround::UrgentPreservation,
                        note: "证据保全".into(),
                        date: Some(start),
                        conflicts: vec![hit()],
                    },
                );
                if state != Granted {
                    run(&mut life, Command::ClearConflict { conflict_id: hit().id, reason: "同名".into() });
                    run(&mut life, Command::AssignLawyer { lawyer: lawyer(), date: None });
                }
                if state == Closed {
                    run(
                        &mut life,
                        Command::SubmitClosingReport {
                            result_summary: "胜诉".into(),
                            documents: vec!["判决书".into()],
                            date: None,
                        },
                    );
                }
                if state == Terminated {
                    run(
                        &mut life,
                        Command::Terminate {
                            reason: TerminationReason::RecipientRequest,
                            note: "本人要求".into(),
                            date: None,
                        },
                    );
                }
            }
            Refused | ObjectionPending => {
                run(
                    &mut life,
                    Command::Decide { grant: false, reason: "不符合条件".into(), date: None, conflicts: vec![] },
                );
                if state == ObjectionPending {
                    run(
                        &mut life,
                        Command::FileObjection { reason: "异议".into(), date: None, bureau_id: Some(BUREAU) },
                    );
                }
            }
        }
        life
    }

    /// The documented transitions (legal_aid.proto's service comment):
    /// the state each command leaves, or the reason it is refused.
    fn documented(command: &Command, state: LegalAidState) -> Result<LegalAidState, Reason> {
        use LegalAidState::*;
        match (command, state) {
            (Command::RequestMaterials { .. }, UnderReview) => Ok(AwaitingMaterials),
            (Command::SupplyMaterials { .. }, AwaitingMaterials) => Ok(UnderReview),
            (Command::Withdraw { reason: WithdrawalReason::ByApplicant, .. }, UnderReview | AwaitingMaterials) => {
                Ok(Withdrawn)
            }
            (Command::Withdraw { reason: WithdrawalReason::MaterialsNotSupplied, .. }, AwaitingMaterials) => {
                Ok(Withdrawn)
            }
            (Command::Decide { grant: true, .. }, UnderReview) => Ok(Granted),
            (Command::Decide { grant: false, .. }, UnderReview) => Ok(Refused),
            (Command::GrantAidFirst { .. }, UnderReview | AwaitingMaterials) => Ok(Granted),
            (Command::RecordPapersCompleted { .. }, Granted | Assigned) => Ok(state),
            (Command::ClearConflict { .. }, Granted) => Ok(Granted),
            // The fixture's granted application has an uncleared hit.
            (Command::AssignLawyer { .. }, Granted) => Err(Reason::ConflictUncleared),
            (Command::Terminate { .. }, Granted | Assigned) => Ok(Terminated),
            (Command::FileObjection { .. }, Refused | Terminated) => Ok(ObjectionPending),
            (Command::DecideObjection { .. }, ObjectionPending) => Ok(Refused),
            (Command::SubmitClosingReport { .. }, Assigned) => Ok(Closed),
            _ => Err(Reason::InvalidState),
        }
    }

    /// Every command in every state: allowed exactly where documented,
    /// leaving the documented state; refused everywhere else with the
    /// documented reason, naming the application.
    #[test]
    fn transition_table_is_exhaustive() {
        let calendar = WorkCalendar::default();
        for state in LegalAidState::ALL {
            let life = application_in(*state, &calendar);
            assert_eq!(life.state, *state, "fixture for {state:?}");
            for command in commands() {
                let want = documented(&command, *state);
                let got = decide(ID, &life, command.clone(), &ctx(&calendar));
                match (want, got) {
                    (Ok(after), Ok(events)) => {
                        let folded = events.iter().fold(life.clone(), |l, e| apply(Some(l), e));
                        assert_eq!(folded.state, after, "{command:?} in {state:?}");
                    }
                    (Err(reason), Err(AppError::FailedPrecondition { reason: got, subject, .. })) => {
                        assert_eq!(got, reason, "{command:?} in {state:?}");
                        assert_eq!(subject, format!("legalAidApplications/{ID}"));
                    }
                    (want, got) => panic!("{command:?} in {state:?}: want {want:?}, got {got:?}"),
                }
            }
        }
    }

    fn run(life: Lifecycle, command: Command, ctx: &Context<'_>) -> Result<Lifecycle, AppError> {
        let events = decide(ID, &life, command, ctx)?;
        Ok(events.iter().fold(life, |l, e| apply(Some(l), e)))
    }

    /// 2026: National Day holidays Oct 1–7 (Thu 1 … Wed 7), make-up
    /// workday Sat Oct 10 (a test calendar, not the State Council's).
    fn autumn() -> WorkCalendar {
        let mut days: Vec<(NaiveDate, DayKind)> =
            [1, 2, 5, 6, 7].iter().map(|d| (date(2026, 10, *d), DayKind::Holiday)).collect();
        days.push((date(2026, 10, 10), DayKind::Workday));
        WorkCalendar::new(days)
    }

    #[test]
    fn the_seven_three_and_five_day_clocks_skip_holidays_and_count_make_up_days() {
        let calendar = autumn();
        // Received Wed Sep 30: workdays Oct 8 (Thu), 9 (Fri), 10 (Sat,
        // make-up), 12, 13, 14, 15 → the 7th is Thu Oct 15.
        let life = created(date(2026, 9, 30), &calendar);
        assert_eq!(life.decision_due, Some(date(2026, 10, 15)));
        // Calendar days: Sep 30 + 7 = Oct 7, a holiday → Oct 8.
        let event = create(new(date(2026, 9, 30)), &calendar, DayCounting::Calendar);
        assert!(matches!(event, Event::Created { decision_due, .. } if decision_due == date(2026, 10, 8)));

        let ctx = Context { today: date(2026, 10, 30), calendar: &calendar, counting: DayCounting::Workdays };
        // Granted Wed Sep 30: 3 workdays → Oct 8, 9, 10 (make-up Saturday).
        let granted = run(
            life.clone(),
            Command::Decide { grant: true, reason: String::new(), date: Some(date(2026, 9, 30)), conflicts: vec![] },
            &ctx,
        )
        .expect("grant");
        assert_eq!(granted.assignment_due, Some(date(2026, 10, 10)));
        // Refused Tue Sep 29, objection filed Wed Sep 30: 5 workdays → Oct 8,
        // 9, 10, 12, 13.
        let early = created(date(2026, 9, 29), &calendar);
        let refused = run(
            early,
            Command::Decide { grant: false, reason: "理由".into(), date: Some(date(2026, 9, 29)), conflicts: vec![] },
            &ctx,
        )
        .expect("refuse");
        let objected = run(
            refused,
            Command::FileObjection { reason: "异议".into(), date: Some(date(2026, 9, 30)), bureau_id: Some(BUREAU) },
            &ctx,
        )
        .expect("object");
        assert_eq!(objected.pending_objection().map(|o| o.due_date), Some(date(2026, 10, 13)));
        assert_eq!(objected.running_due(), Some(date(2026, 10, 13)));
        assert!(objected.overdue(date(2026, 10, 14)) && !objected.overdue(date(2026, 10, 13)));
    }

    #[test]
    fn the_materials_pause_stops_the_decision_clock_and_resumes_it_with_the_days_left() {
        let calendar = autumn();
        let ctx = Context { today: date(2026, 10, 30), calendar: &calendar, counting: DayCounting::Workdays };
        // Received Mon Sep 21: due Wed Sep 30 (22, 23, 24, 25, 28, 29, 30).
        let life = created(date(2026, 9, 21), &calendar);
        assert_eq!(life.decision_due, Some(date(2026, 9, 30)));
        // Asked on Wed Sep 23: Sep 24, 25, 28, 29, 30 are left (5).
        let waiting = run(
            life,
            Command::RequestMaterials {
                items: vec!["劳动合同".into(), "工资条".into()],
                due_date: date(2026, 10, 20),
                date: Some(date(2026, 9, 23)),
            },
            &ctx,
        )
        .expect("request");
        assert_eq!(waiting.paused_days_left, Some(5));
        assert_eq!(waiting.running_due(), None, "no clock runs while materials are awaited");
        assert!(!waiting.overdue(date(2026, 10, 29)));
        // Supplied Fri Oct 9: 5 workdays from it → Oct 10 (make-up), 12, 13,
        // 14, 15; the days in between, the holiday week among them, do not count.
        let resumed =
            run(waiting.clone(), Command::SupplyMaterials { note: "已补".into(), date: Some(date(2026, 10, 9)) }, &ctx)
                .expect("supply");
        assert_eq!(resumed.decision_due, Some(date(2026, 10, 15)));
        assert_eq!(resumed.state, LegalAidState::UnderReview);
        // Told once.
        let again = decide(
            ID,
            &resumed,
            Command::RequestMaterials { items: vec!["x".into()], due_date: date(2026, 10, 29), date: None },
            &ctx,
        );
        assert!(matches!(again, Err(AppError::FailedPrecondition { reason: Reason::MaterialsAlreadyRequested, .. })));
        // Calendar counting: asked on Sep 23 with due Sep 28 → 5 days left;
        // supplied Oct 9 → Oct 14.
        let cal_ctx = Context { counting: DayCounting::Calendar, ..ctx };
        let mut life = created(date(2026, 9, 21), &calendar);
        life.decision_due = Some(date(2026, 9, 28));
        let waiting = run(
            life,
            Command::RequestMaterials {
                items: vec!["x".into()],
                due_date: date(2026, 10, 20),
                date: Some(date(2026, 9, 23)),
            },
            &cal_ctx,
        )
        .expect("request");
        assert_eq!(waiting.paused_days_left, Some(5));
        let resumed =
            run(waiting, Command::SupplyMaterials { note: String::new(), date: Some(date(2026, 10, 9)) }, &cal_ctx)
                .expect("supply");
        assert_eq!(resumed.decision_due, Some(date(2026, 10, 14)));
    }

    #[test]
    fn materials_never_supplied_are_a_withdrawal_only_after_their_due_date() {
        let calendar = WorkCalendar::default();
        let ctx = ctx(&calendar);
        let life = created(today() - chrono::Days::new(10), &calendar);
        let waiting = run(
            life,
            Command::RequestMaterials {
                items: vec!["x".into()],
                due_date: today(),
                date: Some(today() - chrono::Days::new(8)),
            },
            &ctx,
        )
        .expect("request");
        let early = decide(
            ID,
            &waiting,
            Command::Withdraw { reason: WithdrawalReason::MaterialsNotSupplied, note: String::new(), date: None },
            &ctx,
        );
        assert!(matches!(early, Err(AppError::FailedPrecondition { reason: Reason::MaterialsNotDue, .. })));
        let late = Context { today: today() + chrono::Days::new(1), ..ctx };
        let withdrawn = run(
            waiting,
            Command::Withdraw { reason: WithdrawalReason::MaterialsNotSupplied, note: String::new(), date: None },
            &late,
        )
        .expect("withdrawn");
        assert_eq!(withdrawn.state, LegalAidState::Withdrawn);
    }

    #[test]
    fn objections_once_per_decision_and_corrections_go_back() {
        let calendar = WorkCalendar::default();
        let ctx = ctx(&calendar);
        // A refusal corrected: reviewed again with a new clock.
        let pending = application_in(LegalAidState::ObjectionPending, &calendar);
        let corrected = run(
            pending.clone(),
            Command::DecideObjection {
                outcome: ObjectionOutcome::CorrectionOrdered,
                reason: "应予援助".into(),
                date: None,
            },
            &ctx,
        )
        .expect("corrected");
        assert_eq!(corrected.state, LegalAidState::UnderReview);
        assert_eq!(corrected.decision_due, Some(calendar.deadline(today(), Period::Workdays(7))));
        // Refused again: a new decision, which may be objected to again.
        let refused = run(
            corrected,
            Command::Decide { grant: false, reason: "仍不符合".into(), date: None, conflicts: vec![] },
            &ctx,
        )
        .expect("refused again");
        assert!(
            run(refused, Command::FileObjection { reason: "再异议".into(), date: None, bureau_id: Some(BUREAU) }, &ctx)
                .is_ok()
        );
        // Upheld: the refusal stands, and it was objected to already.
        let upheld = run(
            pending,
            Command::DecideObjection { outcome: ObjectionOutcome::Upheld, reason: "维持".into(), date: None },
            &ctx,
        )
        .expect("upheld");
        assert_eq!(upheld.state, LegalAidState::Refused);
        let twice = decide(
            ID,
            &upheld,
            Command::FileObjection { reason: "再".into(), date: None, bureau_id: Some(BUREAU) },
            &ctx,
        );
        assert!(matches!(twice, Err(AppError::FailedPrecondition { reason: Reason::ObjectionAlreadyFiled, .. })));
        // No bureau above the centre.
        let refused = application_in(LegalAidState::Refused, &calendar);
        let nobody =
            decide(ID, &refused, Command::FileObjection { reason: "r".into(), date: None, bureau_id: None }, &ctx);
        assert!(matches!(nobody, Err(AppError::FailedPrecondition { reason: Reason::NoObjectionBody, .. })));
        // A termination corrected: the lawyer's matter goes on.
        let terminated = application_in(LegalAidState::Terminated, &calendar);
        let objected =
            run(terminated, Command::FileObjection { reason: "r".into(), date: None, bureau_id: Some(BUREAU) }, &ctx)
                .expect("objection");
        let back = run(
            objected,
            Command::DecideObjection {
                outcome: ObjectionOutcome::CorrectionOrdered,
                reason: "改正".into(),
                date: None,
            },
            &ctx,
        )
        .expect("corrected");
        assert_eq!(back.state, LegalAidState::Assigned);
        assert!(back.lawyer.is_some());
    }

    #[test]
    fn a_refusal_needs_its_reason_and_aid_first_leaves_papers_outstanding() {
        let calendar = WorkCalendar::default();
        let ctx = ctx(&calendar);
        let life = created(today(), &calendar);
        let bare = decide(
            ID,
            &life,
            Command::Decide { grant: false, reason: "  ".into(), date: None, conflicts: vec![] },
            &ctx,
        );
        assert!(matches!(bare, Err(AppError::InvalidArgument(v)) if v[0].field == "reason"));
        let granted = application_in(LegalAidState::Granted, &calendar);
        assert!(granted.aid_first.as_ref().is_some_and(|a| a.papers_outstanding));
        let done = run(granted, Command::RecordPapersCompleted { date: None }, &ctx).expect("papers");
        assert!(done.aid_first.as_ref().is_some_and(|a| !a.papers_outstanding));
        let again = decide(ID, &done, Command::RecordPapersCompleted { date: None }, &ctx);
        assert!(matches!(again, Err(AppError::FailedPrecondition { reason: Reason::NoPapersOutstanding, .. })));
    }

    #[test]
    fn fold_of_the_events_is_the_lifecycle() {
        let calendar = WorkCalendar::default();
        let ctx = ctx(&calendar);
        let first = create(new(today() - chrono::Days::new(3)), &calendar, DayCounting::Workdays);
        let mut events = vec![first.clone()];
        let mut life = apply(None, &first);
        for command in [
            Command::Decide { grant: true, reason: String::new(), date: None, conflicts: vec![hit()] },
            Command::ClearConflict { conflict_id: hit().id, reason: "同名".into() },
            Command::AssignLawyer { lawyer: lawyer(), date: None },
        ] {
            let new = decide(ID, &life, command, &ctx).expect("decide");
            life = new.iter().fold(life, |l, e| apply(Some(l), e));
            events.extend(new);
        }
        assert_eq!(fold(&events), Some(life.clone()));
        assert_eq!(fold(&events[1..]), None);
        // Events round-trip through their JSON payload.
        for e in &events {
            let json = serde_json::to_value(e).expect("json");
            assert_eq!(&serde_json::from_value::<Event>(json).expect("back"), e);
        }
    }
}
