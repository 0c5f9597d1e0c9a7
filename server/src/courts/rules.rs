//! The court referral state machine (诉访分离, 条例 Art.31 (一)): pure
//! decisions over a referral's lifecycle, no I/O.
//!
//! ```text
//! ReferCaseToCourt → REFERRED
//! REFERRED --Acknowledge--> ACKNOWLEDGED --File (案号)--> FILED
//! FILED --ScheduleHearing--> FILED --Conclude--> CONCLUDED
//! REFERRED|ACKNOWLEDGED --Return--> RETURNED
//! REFERRED --Withdraw--> WITHDRAWN
//! ```
//!
//! Reading chosen: once the court acknowledged a referral it owns the
//! decision to file or not, so the referring side can no longer withdraw
//! it (ALREADY_ACKNOWLEDGED); the court returns it instead. A filed case
//! is never "returned": it ends in an outcome (a dismissal, a withdrawal
//! of the suit) like any filed case (民事诉讼法 Art.157 / 145).

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::domain::{CourtOutcome, HearingKind, PartyRole, ReferralState, ReturnReason};
use crate::error::{AppError, Reason};

/// How far ahead a hearing may be scheduled.
pub const MAX_HEARING_DAYS_AHEAD: u64 = 730;

/// A party named in the referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub name: String,
    pub role: PartyRole,
}

/// A scheduled sitting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hearing {
    pub number: i32,
    pub date: NaiveDate,
    #[serde(default)]
    pub place: String,
    pub kind: HearingKind,
    #[serde(default)]
    pub postponed: bool,
}

/// Everything the rules track about a referral.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: ReferralState,
    pub case_id: Uuid,
    pub court_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referring_organization_id: Option<Uuid>,
    pub claim_summary: String,
    pub parties: Vec<Party>,
    pub refer_date: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledge_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub court_case_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filing_date: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub judge: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hearings: Vec<Hearing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CourtOutcome>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub outcome_summary: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub document_number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_reason: Option<ReturnReason>,
    /// A return's explanation or a withdrawal's reason.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub close_explanation: String,
    /// The day it ended (concluded: the outcome's date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_date: Option<NaiveDate>,
    /// The day of the latest act: later acts may not be dated before it.
    pub last_act_date: NaiveDate,
}

/// What happened to a referral; folding the events gives the lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Referred {
        case_id: Uuid,
        court_id: Uuid,
        referring_organization_id: Option<Uuid>,
        claim_summary: String,
        parties: Vec<Party>,
        refer_date: NaiveDate,
    },
    Acknowledged {
        date: NaiveDate,
        note: String,
    },
    Filed {
        court_case_number: String,
        date: NaiveDate,
        judge: String,
    },
    HearingScheduled {
        hearing: Hearing,
        /// The earlier hearing it replaces.
        postponed: Option<i32>,
    },
    Concluded {
        outcome: CourtOutcome,
        date: NaiveDate,
        summary: String,
        document_number: String,
    },
    Returned {
        reason: ReturnReason,
        explanation: String,
        date: NaiveDate,
    },
    Withdrawn {
        reason: String,
        date: NaiveDate,
    },
}

/// What a caller asks of a referral, with the facts its rule needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Acknowledge {
        date: Option<NaiveDate>,
        note: String,
    },
    File {
        court_case_number: String,
        date: Option<NaiveDate>,
        judge: String,
        /// Another referral of the same court carries the number.
        number_in_use: bool,
    },
    ScheduleHearing {
        date: NaiveDate,
        place: String,
        kind: HearingKind,
        postpones: Option<i32>,
    },
    Conclude {
        outcome: CourtOutcome,
        date: Option<NaiveDate>,
        summary: String,
        document_number: String,
    },
    Return {
        reason: ReturnReason,
        explanation: String,
        date: Option<NaiveDate>,
    },
    Withdraw {
        reason: String,
        date: Option<NaiveDate>,
    },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Acknowledge { .. } => "AcknowledgeCourtReferral",
            Self::File { .. } => "RecordCourtFiling",
            Self::ScheduleHearing { .. } => "ScheduleCourtHearing",
            Self::Conclude { .. } => "RecordCourtOutcome",
            Self::Return { .. } => "ReturnCourtReferral",
            Self::Withdraw { .. } => "WithdrawCourtReferral",
        }
    }

    /// The field a command's act date is given in.
    fn date_field(&self) -> &'static str {
        match self {
            Self::Acknowledge { .. } => "acknowledge_date",
            Self::File { .. } => "filing_date",
            Self::ScheduleHearing { .. } => "hearing_date",
            Self::Conclude { .. } => "outcome_date",
            Self::Return { .. } => "return_date",
            Self::Withdraw { .. } => "withdraw_date",
        }
    }
}

/// The states in which each command is allowed.
pub fn allowed_in(command: &Command) -> &'static [ReferralState] {
    use ReferralState::*;
    match command {
        Command::Acknowledge { .. } | Command::Withdraw { .. } => &[Referred],
        Command::File { .. } => &[Acknowledged],
        Command::ScheduleHearing { .. } | Command::Conclude { .. } => &[Filed],
        Command::Return { .. } => &[Referred, Acknowledged],
    }
}

fn precondition(id: Uuid, reason: Reason, message: impl Into<String>) -> AppError {
    AppError::FailedPrecondition { reason, message: message.into(), subject: format!("courtReferrals/{id}") }
}

/// The day of an act: today when not given; INVALID_ARGUMENT at `field`
/// when it lies in the future or before `not_before`.
pub fn act_date(
    field: &str,
    given: Option<NaiveDate>,
    today: NaiveDate,
    not_before: NaiveDate,
) -> Result<NaiveDate, AppError> {
    let date = given.unwrap_or(today);
    if date > today {
        return Err(AppError::invalid(field, "may not lie in the future"));
    }
    if date < not_before {
        return Err(AppError::invalid(field, format!("may not lie before the previous act ({not_before})")));
    }
    Ok(date)
}

/// The first event of a referral made on `refer_date` (today when empty)
/// of a case registered on `registered_on`.
#[allow(clippy::too_many_arguments)]
pub fn refer(
    case_id: Uuid,
    court_id: Uuid,
    referring_organization_id: Option<Uuid>,
    claim_summary: String,
    parties: Vec<Party>,
    refer_date: Option<NaiveDate>,
    registered_on: NaiveDate,
    today: NaiveDate,
) -> Result<Event, AppError> {
    let refer_date = act_date("refer_date", refer_date, today, registered_on)?;
    Ok(Event::Referred { case_id, court_id, referring_organization_id, claim_summary, parties, refer_date })
}

/// Decides `command` against referral `id` in `life` on `today`.
pub fn decide(id: Uuid, life: &Lifecycle, command: Command, today: NaiveDate) -> Result<Vec<Event>, AppError> {
    if !allowed_in(&command).contains(&life.state) {
        let name = command.name();
        return Err(match (life.state, &command) {
            (state, _) if !state.is_open() => precondition(
                id,
                Reason::CourtReferralClosed,
                format!("{name}: the referral ended ({state:?}): nothing more is recorded on it"),
            ),
            (_, Command::Withdraw { .. }) => precondition(
                id,
                Reason::AlreadyAcknowledged,
                "the court acknowledged the referral: it can no longer be withdrawn (the court may return it)",
            ),
            (state, _) => {
                precondition(id, Reason::InvalidState, format!("{name} is not allowed while the referral is {state:?}"))
            }
        });
    }
    let field = command.date_field();
    let last = life.last_act_date;
    let event = match command {
        Command::Acknowledge { date, note } => Event::Acknowledged { date: act_date(field, date, today, last)?, note },
        Command::File { court_case_number, date, judge, number_in_use } => {
            if number_in_use {
                return Err(precondition(
                    id,
                    Reason::CourtCaseNumberInUse,
                    "another referral to this court was filed under this case number",
                ));
            }
            Event::Filed { court_case_number, date: act_date(field, date, today, last)?, judge }
        }
        Command::ScheduleHearing { date, place, kind, postpones } => {
            let filed = life.filing_date.unwrap_or(last);
            if date < filed {
                return Err(AppError::invalid(field, format!("may not lie before the filing ({filed})")));
            }
            if today.checked_add_days(Days::new(MAX_HEARING_DAYS_AHEAD)).is_some_and(|latest| date > latest) {
                return Err(AppError::invalid(field, "may lie at most two years ahead"));
            }
            if let Some(number) = postpones
                && !life.hearings.iter().any(|h| h.number == number && !h.postponed)
            {
                return Err(AppError::invalid(
                    "postpones_hearing_number",
                    "is not the number of a scheduled hearing that was not postponed already",
                ));
            }
            let number = i32::try_from(life.hearings.len()).unwrap_or(i32::MAX - 1) + 1;
            Event::HearingScheduled {
                hearing: Hearing { number, date, place, kind, postponed: false },
                postponed: postpones,
            }
        }
        Command::Conclude { outcome, date, summary, document_number } => {
            if !document_number.is_empty() && !outcome.has_document() {
                return Err(AppError::invalid(
                    "document_number",
                    "only a judgment or a court mediation statement carries a document number",
                ));
            }
            Event::Concluded { outcome, date: act_date(field, date, today, last)?, summary, document_number }
        }
        Command::Return { reason, explanation, date } => {
            if reason == ReturnReason::Other && explanation.is_empty() {
                return Err(AppError::invalid("explanation", "is required when the reason is OTHER"));
            }
            Event::Returned { reason, explanation, date: act_date(field, date, today, last)? }
        }
        Command::Withdraw { reason, date } => Event::Withdrawn { reason, date: act_date(field, date, today, last)? },
    };
    Ok(vec![event])
}

/// A referral with nothing recorded yet: what Referred fills in, and what
/// a log that does not open with the referral folds from.
fn blank() -> Lifecycle {
    Lifecycle {
        state: ReferralState::Referred,
        case_id: Uuid::nil(),
        court_id: Uuid::nil(),
        referring_organization_id: None,
        claim_summary: String::new(),
        parties: Vec::new(),
        refer_date: NaiveDate::MIN,
        acknowledge_date: None,
        court_case_number: String::new(),
        filing_date: None,
        judge: String::new(),
        hearings: Vec::new(),
        outcome: None,
        outcome_summary: String::new(),
        document_number: String::new(),
        return_reason: None,
        close_explanation: String::new(),
        close_date: None,
        last_act_date: NaiveDate::MIN,
    }
}

/// The lifecycle after `event`.
pub fn apply(life: Option<Lifecycle>, event: &Event) -> Lifecycle {
    let Some(mut life) = life else {
        return match event {
            Event::Referred { case_id, court_id, referring_organization_id, claim_summary, parties, refer_date } => {
                Lifecycle {
                    case_id: *case_id,
                    court_id: *court_id,
                    referring_organization_id: *referring_organization_id,
                    claim_summary: claim_summary.clone(),
                    parties: parties.clone(),
                    refer_date: *refer_date,
                    last_act_date: *refer_date,
                    ..blank()
                }
            }
            // A log must open with the referral; anything else is a bug
            // caught by the fold test, kept total here.
            _ => apply(Some(blank()), event),
        };
    };
    match event {
        Event::Referred { .. } => {}
        Event::Acknowledged { date, .. } => {
            life.state = ReferralState::Acknowledged;
            life.acknowledge_date = Some(*date);
            life.last_act_date = *date;
        }
        Event::Filed { court_case_number, date, judge } => {
            life.state = ReferralState::Filed;
            life.court_case_number = court_case_number.clone();
            life.filing_date = Some(*date);
            life.judge = judge.clone();
            life.last_act_date = *date;
        }
        Event::HearingScheduled { hearing, postponed } => {
            if let Some(number) = postponed
                && let Some(earlier) = life.hearings.iter_mut().find(|h| h.number == *number)
            {
                earlier.postponed = true;
            }
            life.hearings.push(hearing.clone());
        }
        Event::Concluded { outcome, date, summary, document_number } => {
            life.state = ReferralState::Concluded;
            life.outcome = Some(*outcome);
            life.outcome_summary = summary.clone();
            life.document_number = document_number.clone();
            life.close_date = Some(*date);
            life.last_act_date = *date;
        }
        Event::Returned { reason, explanation, date } => {
            life.state = ReferralState::Returned;
            life.return_reason = Some(*reason);
            life.close_explanation = explanation.clone();
            life.close_date = Some(*date);
            life.last_act_date = *date;
        }
        Event::Withdrawn { reason, date } => {
            life.state = ReferralState::Withdrawn;
            life.close_explanation = reason.clone();
            life.close_date = Some(*date);
            life.last_act_date = *date;
        }
    }
    life
}

/// The lifecycle the events describe; `None` for none.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<Lifecycle> {
    events.into_iter().fold(None, |life, event| Some(apply(life, event)))
}

/// The event-type number of `petition.v1.CourtReferralEventType`.
pub fn event_type(event: &Event) -> i16 {
    match event {
        Event::Referred { .. } => 1,
        Event::Acknowledged { .. } => 2,
        Event::Filed { .. } => 3,
        Event::HearingScheduled { .. } => 4,
        Event::Concluded { .. } => 5,
        Event::Returned { .. } => 6,
        Event::Withdrawn { .. } => 7,
    }
}

/// The end of a referral among `events`, for the case: the state it ended
/// in, when one of them ends it.
pub fn ended(events: &[Event]) -> Option<ReferralState> {
    events.iter().find_map(|e| match e {
        Event::Concluded { .. } => Some(ReferralState::Concluded),
        Event::Returned { .. } => Some(ReferralState::Returned),
        Event::Withdrawn { .. } => Some(ReferralState::Withdrawn),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: Uuid = Uuid::from_u128(7);

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).expect("a date")
    }

    fn referred() -> Lifecycle {
        let event = refer(
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Some(Uuid::from_u128(3)),
            "返还借款".into(),
            vec![
                Party { name: "张三".into(), role: PartyRole::Plaintiff },
                Party { name: "李四".into(), role: PartyRole::Defendant },
            ],
            Some(day(2)),
            day(1),
            day(2),
        )
        .expect("a referral");
        apply(None, &event)
    }

    fn commands() -> Vec<Command> {
        vec![
            Command::Acknowledge { date: None, note: String::new() },
            Command::File {
                court_case_number: "（2026）赣0702民初1号".into(),
                date: None,
                judge: String::new(),
                number_in_use: false,
            },
            Command::ScheduleHearing {
                date: day(20),
                place: "第三法庭".into(),
                kind: HearingKind::Trial,
                postpones: None,
            },
            Command::Conclude {
                outcome: CourtOutcome::Judgment,
                date: None,
                summary: "判决返还".into(),
                document_number: String::new(),
            },
            Command::Return { reason: ReturnReason::NotThisCourt, explanation: String::new(), date: None },
            Command::Withdraw { reason: "当事人已和解".into(), date: None },
        ]
    }

    /// A referral in `state`, along the main path, every act on day 2.
    fn in_state(state: ReferralState) -> Lifecycle {
        use ReferralState::*;
        let path: &[usize] = match state {
            Referred => &[],
            Acknowledged => &[0],
            Filed => &[0, 1],
            Concluded => &[0, 1, 3],
            Returned => &[4],
            Withdrawn => &[5],
        };
        let mut life = referred();
        for i in path {
            let events = decide(ID, &life, commands()[*i].clone(), day(2)).expect("the main path");
            life = events.iter().fold(life, |l, e| apply(Some(l), e));
        }
        assert_eq!(life.state, state);
        life
    }

    /// The documented transitions, written out apart from `allowed_in`.
    fn documented(command: &Command, state: ReferralState) -> Result<ReferralState, Reason> {
        use ReferralState::*;
        match (command, state) {
            (Command::Acknowledge { .. }, Referred) => Ok(Acknowledged),
            (Command::File { .. }, Acknowledged) => Ok(Filed),
            (Command::ScheduleHearing { .. }, Filed) => Ok(Filed),
            (Command::Conclude { .. }, Filed) => Ok(Concluded),
            (Command::Return { .. }, Referred | Acknowledged) => Ok(Returned),
            (Command::Withdraw { .. }, Referred) => Ok(Withdrawn),
            (_, Concluded | Returned | Withdrawn) => Err(Reason::CourtReferralClosed),
            (Command::Withdraw { .. }, _) => Err(Reason::AlreadyAcknowledged),
            _ => Err(Reason::InvalidState),
        }
    }

    #[test]
    fn every_state_and_command_follows_the_documented_table() {
        for state in ReferralState::ALL {
            for command in commands() {
                let life = in_state(*state);
                let got = decide(ID, &life, command.clone(), day(2))
                    .map(|events| events.iter().fold(life.clone(), |l, e| apply(Some(l), e)).state)
                    .map_err(|e| e.reason());
                assert_eq!(got, documented(&command, *state), "{} in {state:?}", command.name());
            }
        }
    }

    #[test]
    fn acts_are_dated_today_at_most_and_not_before_the_previous_act() {
        let life = in_state(ReferralState::Referred);
        let at = |date| decide(ID, &life, Command::Acknowledge { date: Some(date), note: String::new() }, day(10));
        assert!(at(day(2)).is_ok(), "the day of the referral");
        assert!(at(day(10)).is_ok(), "today");
        for bad in [day(1), day(11)] {
            let err = at(bad).expect_err("out of range");
            assert!(matches!(&err, AppError::InvalidArgument(v) if v[0].field == "acknowledge_date"), "{bad}: {err:?}");
        }
        // Empty: today.
        let events = decide(ID, &life, Command::Acknowledge { date: None, note: String::new() }, day(9)).expect("ok");
        assert_eq!(events, vec![Event::Acknowledged { date: day(9), note: String::new() }]);
        // The referral itself: not before the case was registered.
        let early = refer(ID, ID, None, "x".into(), Vec::new(), Some(day(1)), day(2), day(3));
        assert!(matches!(early, Err(AppError::InvalidArgument(v)) if v[0].field == "refer_date"));
    }

    #[test]
    fn hearings_may_lie_ahead_and_a_later_one_postpones_an_earlier() {
        let filed = in_state(ReferralState::Filed);
        let schedule = |life: &Lifecycle, date, postpones| {
            decide(
                ID,
                life,
                Command::ScheduleHearing { date, place: String::new(), kind: HearingKind::Trial, postpones },
                day(3),
            )
        };
        let before_filing = schedule(&filed, day(1), None).expect_err("before the filing");
        assert!(matches!(before_filing, AppError::InvalidArgument(v) if v[0].field == "hearing_date"));
        let too_far = schedule(&filed, day(3) + Days::new(MAX_HEARING_DAYS_AHEAD + 1), None).expect_err("too far");
        assert!(matches!(too_far, AppError::InvalidArgument(_)));
        let first = schedule(&filed, day(25), None).expect("ahead is fine");
        let life = apply(Some(filed), &first[0]);
        let missing = schedule(&life, day(28), Some(2)).expect_err("no hearing 2");
        assert!(matches!(missing, AppError::InvalidArgument(v) if v[0].field == "postpones_hearing_number"));
        let second = schedule(&life, day(28), Some(1)).expect("postpones the first");
        let life = apply(Some(life), &second[0]);
        assert_eq!(life.hearings.iter().map(|h| (h.number, h.postponed)).collect::<Vec<_>>(), [(1, true), (2, false)]);
        assert!(schedule(&life, day(29), Some(1)).is_err(), "already postponed");
        // Scheduling a hearing does not move the act date: the outcome may
        // be recorded before a hearing that will not be held.
        assert_eq!(life.last_act_date, day(2));
    }

    #[test]
    fn outcome_document_numbers_return_reasons_and_case_numbers_in_use() {
        let filed = in_state(ReferralState::Filed);
        let conclude = |outcome, document_number: &str| {
            decide(
                ID,
                &filed,
                Command::Conclude { outcome, date: None, summary: "s".into(), document_number: document_number.into() },
                day(3),
            )
        };
        assert!(conclude(CourtOutcome::Judgment, "（2026）赣0702民初1号").is_ok());
        assert!(conclude(CourtOutcome::CourtMediation, "（2026）赣0702民初1号").is_ok());
        assert!(conclude(CourtOutcome::Withdrawal, "").is_ok());
        assert!(conclude(CourtOutcome::Dismissal, "（2026）赣0702民初1号").is_err());
        let referred = in_state(ReferralState::Referred);
        let other = decide(
            ID,
            &referred,
            Command::Return { reason: ReturnReason::Other, explanation: String::new(), date: None },
            day(3),
        );
        assert!(matches!(other, Err(AppError::InvalidArgument(v)) if v[0].field == "explanation"));
        let acknowledged = in_state(ReferralState::Acknowledged);
        let taken = decide(
            ID,
            &acknowledged,
            Command::File { court_case_number: "x".into(), date: None, judge: String::new(), number_in_use: true },
            day(3),
        );
        assert_eq!(taken.map_err(|e| e.reason()).err(), Some(Reason::CourtCaseNumberInUse));
    }

    #[test]
    fn folding_the_events_gives_the_lifecycle_and_the_end_is_told() {
        let mut life = referred();
        let mut log = vec![
            refer(
                life.case_id,
                life.court_id,
                life.referring_organization_id,
                life.claim_summary.clone(),
                life.parties.clone(),
                Some(day(2)),
                day(1),
                day(2),
            )
            .expect("a referral"),
        ];
        for i in [0, 1, 2, 3] {
            let events = decide(ID, &life, commands()[i].clone(), day(2)).expect("path");
            if i == 3 {
                assert_eq!(ended(&events), Some(ReferralState::Concluded));
            } else {
                assert_eq!(ended(&events), None);
            }
            life = events.iter().fold(life, |l, e| apply(Some(l), e));
            log.extend(events);
        }
        assert_eq!(fold(&log), Some(life.clone()));
        let types: Vec<i16> = log.iter().map(event_type).collect();
        assert_eq!(types, [1, 2, 3, 4, 5]);
        // Payloads survive the log.
        for event in &log {
            let json = serde_json::to_value(event).expect("json");
            assert_eq!(&serde_json::from_value::<Event>(json).expect("parse"), event);
        }
        let stored = serde_json::to_value(&life).expect("json");
        assert_eq!(serde_json::from_value::<Lifecycle>(stored).expect("parse"), life);
    }
}
