//! The supervision rules (pure, no I/O): the ladder and its deadlines on
//! the workday calendar, what a caller may do to an item in each state,
//! and what the sweeper does when a deadline nears or passes.
//!
//! ```text
//! Issue ─→ OPEN ──Answer──→ ANSWERED ──Review(accept)──→ CLOSED
//!           ↑  ╲                │
//!           │   ╲               └──Review(reject)──→ OPEN (same deadline)
//!           │    └─ deadline passed (sweeper) / Escalate ─→ OPEN, one rung up, new deadline
//!  OPEN | ANSWERED ──Withdraw──→ WITHDRAWN
//!  OPEN at NOTICE, deadline passed ─→ LAPSED recorded once (nothing higher)
//! ```
//!
//! Readings chosen: an answered item waits for the issuer and does not
//! rise (the organization did answer); a rejected answer reopens the item
//! under its current deadline; a rung reached late (the sweeper was down)
//! counts its deadline from the day it is reached, so an outage never
//! issues a higher rung whose deadline has already passed.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::domain::{Rung, SupervisionState, Trigger};
use crate::calendar::rules::{Period, WorkCalendar};
use crate::error::{AppError, FieldViolation, Reason};

/// Longest text of an item, an answer or a note, in characters.
pub const MAX_TEXT_CHARS: usize = 2_000;
/// Furthest first deadline a supervisor may set, in days from today.
pub const MAX_DUE_DAYS: i64 = 366;

/// Working days each rung gives the organization to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ladder {
    pub reminder: u32,
    pub letter: u32,
    pub talks: u32,
    pub notice: u32,
}

impl Default for Ladder {
    /// 3 working days to answer a reminder; 5 for a letter and for talks
    /// (the common 督办函 practice: feedback within five working days);
    /// 10 for a notice, which asks for rectification (整改), not a reply.
    fn default() -> Ladder {
        Ladder { reminder: 3, letter: 5, talks: 5, notice: 10 }
    }
}

impl Ladder {
    pub fn workdays(&self, rung: Rung) -> u32 {
        match rung {
            Rung::Reminder => self.reminder,
            Rung::Letter => self.letter,
            Rung::Talks => self.talks,
            Rung::Notice => self.notice,
        }
    }

    /// The deadline of `rung` reached on `day`.
    pub fn due(&self, calendar: &WorkCalendar, rung: Rung, day: NaiveDate) -> NaiveDate {
        calendar.deadline(day, Period::Workdays(self.workdays(rung)))
    }
}

/// A numbered document of an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Letter {
    pub rung: Rung,
    pub number: String,
    pub issued_on: NaiveDate,
    pub due_date: NaiveDate,
}

/// The organization's latest answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub text: String,
    pub by: Uuid,
    pub at: DateTime<Utc>,
}

/// Everything the rules track about an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: SupervisionState,
    pub case_id: Uuid,
    pub organization_id: Uuid,
    pub issuer_organization_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_by: Option<Uuid>,
    pub trigger: Trigger,
    pub text: String,
    pub rung: Rung,
    pub issued_on: NaiveDate,
    pub due_date: NaiveDate,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub letters: Vec<Letter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    pub automatic: bool,
    /// The deadline the sweeper last warned of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warned_due: Option<NaiveDate>,
    /// The NOTICE deadline the sweeper saw pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lapsed_due: Option<NaiveDate>,
}

/// What happened to an item; folding the events gives the lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Issued {
        case_id: Uuid,
        organization_id: Uuid,
        issuer_organization_id: Uuid,
        issued_by: Option<Uuid>,
        trigger: Trigger,
        text: String,
        rung: Rung,
        issued_on: NaiveDate,
        due_date: NaiveDate,
        letter_number: Option<String>,
        automatic: bool,
    },
    Answered {
        text: String,
        by: Uuid,
        at: DateTime<Utc>,
    },
    AnswerAccepted {
        note: String,
    },
    AnswerRejected {
        note: String,
    },
    Escalated {
        from: Rung,
        rung: Rung,
        issued_on: NaiveDate,
        due_date: NaiveDate,
        letter_number: Option<String>,
        automatic: bool,
        reason: String,
    },
    Withdrawn {
        reason: String,
    },
    DeadlineApproaching {
        due_date: NaiveDate,
    },
    Lapsed {
        due_date: NaiveDate,
    },
}

/// A new item, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub trigger: Trigger,
    pub text: String,
    pub rung: Rung,
    /// The first deadline; `None`: the rung's working days.
    pub due_date: Option<NaiveDate>,
}

/// What a caller asks of an existing item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Answer { text: String },
    Review { accept: bool, note: String },
    Escalate { reason: String },
    Withdraw { reason: String },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Answer { .. } => "AnswerSupervision",
            Command::Review { .. } => "ReviewSupervisionAnswer",
            Command::Escalate { .. } => "EscalateSupervision",
            Command::Withdraw { .. } => "WithdrawSupervision",
        }
    }
}

/// A document number: 督办函〔2026〕7号.
pub fn letter_number(rung: Rung, year: i32, sequence: i32) -> Option<String> {
    rung.document().map(|document| format!("{document}〔{year}〕{sequence}号"))
}

/// Validates a supervisor's item; `today` bounds its deadline.
pub fn issue(
    trigger: i32,
    text: &str,
    rung: i32,
    due_date: &str,
    today: NaiveDate,
    v: &mut Vec<FieldViolation>,
) -> Option<Issue> {
    let before = v.len();
    let trigger = match Trigger::from_i32(trigger) {
        Some(Trigger::Overdue) => {
            v.push(FieldViolation::new("trigger", "OVERDUE items are the sweeper's: a late case is DELAY"));
            None
        }
        Some(trigger) => Some(trigger),
        None => {
            v.push(FieldViolation::new("trigger", "must be one of Art.40's triggers"));
            None
        }
    };
    let rung = match rung {
        0 => Some(Rung::Reminder),
        raw => Rung::from_i32(raw).or_else(|| {
            v.push(FieldViolation::new("rung", "must be REMINDER, LETTER, TALKS or NOTICE"));
            None
        }),
    };
    let text = crate::text::multi_line("text", text, 1, MAX_TEXT_CHARS, v);
    let due_date = if due_date.is_empty() {
        None
    } else {
        match crate::calendar::rules::parse_date(due_date) {
            Some(due) if due < today => {
                v.push(FieldViolation::new("due_date", format!("must not be before today ({today})")));
                None
            }
            Some(due) if (due - today).num_days() > MAX_DUE_DAYS => {
                v.push(FieldViolation::new("due_date", format!("must be within {MAX_DUE_DAYS} days")));
                None
            }
            Some(due) => Some(due),
            None => {
                v.push(FieldViolation::new("due_date", "must be a date YYYY-MM-DD"));
                None
            }
        }
    };
    match (trigger, rung) {
        (Some(trigger), Some(rung)) if v.len() == before => Some(Issue { trigger, text, rung, due_date }),
        _ => None,
    }
}

/// Validates a free text at `field` (1 to [`MAX_TEXT_CHARS`]).
pub fn note(field: &str, raw: &str, required: bool, v: &mut Vec<FieldViolation>) -> String {
    crate::text::multi_line(field, raw, usize::from(required), MAX_TEXT_CHARS, v)
}

/// Who issues and to whom, and the day: the first event of an item.
pub struct Issuing {
    pub case_id: Uuid,
    pub organization_id: Uuid,
    pub issuer_organization_id: Uuid,
    pub issued_by: Option<Uuid>,
    pub today: NaiveDate,
    pub automatic: bool,
}

/// The item `issue` opens, its deadline on `calendar` unless one was set;
/// `number` is its document number (LETTER and above).
pub fn issued(
    issue: Issue,
    issuing: Issuing,
    ladder: &Ladder,
    calendar: &WorkCalendar,
    number: Option<String>,
) -> Event {
    let due_date = issue.due_date.unwrap_or_else(|| ladder.due(calendar, issue.rung, issuing.today));
    Event::Issued {
        case_id: issuing.case_id,
        organization_id: issuing.organization_id,
        issuer_organization_id: issuing.issuer_organization_id,
        issued_by: issuing.issued_by,
        trigger: issue.trigger,
        text: issue.text,
        rung: issue.rung,
        issued_on: issuing.today,
        due_date,
        letter_number: number,
        automatic: issuing.automatic,
    }
}

fn precondition(id: Uuid, reason: Reason, message: impl Into<String>) -> AppError {
    AppError::FailedPrecondition { reason, message: message.into(), subject: format!("supervisions/{id}") }
}

/// The rung item `id` rises to now (EscalateSupervision, the sweeper):
/// FAILED_PRECONDITION when it ended or is at the top.
pub fn next_rung(id: Uuid, life: &Lifecycle, what: &str) -> Result<Rung, AppError> {
    if life.state.ended() {
        return Err(precondition(id, Reason::SupervisionEnded, format!("{what}: the item was closed or withdrawn")));
    }
    life.rung.next().ok_or_else(|| {
        precondition(id, Reason::SupervisionAtTopRung, format!("{what}: the item is at NOTICE, the top rung"))
    })
}

/// The item risen to `rung` on `today`, due on the rung's working days
/// from it, with its document `number`.
pub fn escalated(
    life: &Lifecycle,
    rung: Rung,
    today: NaiveDate,
    due: (&Ladder, &WorkCalendar),
    number: Option<String>,
    automatic: bool,
    reason: String,
) -> Event {
    let (ladder, calendar) = due;
    Event::Escalated {
        from: life.rung,
        rung,
        issued_on: today,
        due_date: ladder.due(calendar, rung, today),
        letter_number: number,
        automatic,
        reason,
    }
}

/// Decides a caller's `command` on item `id` (Escalate is decided by
/// [`next_rung`] and [`escalated`], which need a document number).
pub fn decide(
    id: Uuid,
    life: &Lifecycle,
    command: Command,
    actor: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, AppError> {
    let what = command.name();
    if life.state.ended() {
        return Err(precondition(id, Reason::SupervisionEnded, format!("{what}: the item was closed or withdrawn")));
    }
    match command {
        Command::Answer { text } => {
            if life.state == SupervisionState::Answered {
                return Err(precondition(
                    id,
                    Reason::SupervisionAnswered,
                    format!("{what}: the item was answered and awaits the issuer's review"),
                ));
            }
            Ok(vec![Event::Answered { text, by: actor, at: now }])
        }
        Command::Review { accept, note } => {
            if life.state != SupervisionState::Answered {
                return Err(precondition(
                    id,
                    Reason::SupervisionNotAnswered,
                    format!("{what}: no answer awaits review"),
                ));
            }
            Ok(vec![if accept { Event::AnswerAccepted { note } } else { Event::AnswerRejected { note } }])
        }
        Command::Withdraw { reason } => Ok(vec![Event::Withdrawn { reason }]),
        Command::Escalate { .. } => Err(AppError::internal("escalation is decided with its document number")),
    }
}

/// What the sweeper does to an item on `today`, warning of deadlines up
/// to `warn_until` (inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sweep {
    Nothing,
    Warn(NaiveDate),
    Rise(Rung),
    Lapse(NaiveDate),
}

/// The sweeper's rule: an OPEN item past its deadline rises (at NOTICE, the
/// lapse is recorded once); one whose deadline is near is warned once per
/// deadline. Answered and ended items wait.
pub fn sweep(life: &Lifecycle, today: NaiveDate, warn_until: NaiveDate) -> Sweep {
    if life.state != SupervisionState::Open {
        return Sweep::Nothing;
    }
    let due = life.due_date;
    if due < today {
        return match life.rung.next() {
            Some(rung) => Sweep::Rise(rung),
            None if life.lapsed_due != Some(due) => Sweep::Lapse(due),
            None => Sweep::Nothing,
        };
    }
    if due <= warn_until && life.warned_due != Some(due) { Sweep::Warn(due) } else { Sweep::Nothing }
}

/// The lifecycle after `event`.
pub fn apply(life: Option<Lifecycle>, event: &Event) -> Lifecycle {
    match (life, event) {
        (
            _,
            Event::Issued {
                case_id,
                organization_id,
                issuer_organization_id,
                issued_by,
                trigger,
                text,
                rung,
                issued_on,
                due_date,
                letter_number,
                automatic,
            },
        ) => Lifecycle {
            state: SupervisionState::Open,
            case_id: *case_id,
            organization_id: *organization_id,
            issuer_organization_id: *issuer_organization_id,
            issued_by: *issued_by,
            trigger: *trigger,
            text: text.clone(),
            rung: *rung,
            issued_on: *issued_on,
            due_date: *due_date,
            letters: letter_number
                .iter()
                .map(|number| Letter {
                    rung: *rung,
                    number: number.clone(),
                    issued_on: *issued_on,
                    due_date: *due_date,
                })
                .collect(),
            answer: None,
            automatic: *automatic,
            warned_due: None,
            lapsed_due: None,
        },
        (Some(mut life), event) => {
            match event {
                Event::Issued { .. } => {}
                Event::Answered { text, by, at } => {
                    life.state = SupervisionState::Answered;
                    life.answer = Some(Answer { text: text.clone(), by: *by, at: *at });
                }
                Event::AnswerAccepted { .. } => life.state = SupervisionState::Closed,
                Event::AnswerRejected { .. } => life.state = SupervisionState::Open,
                Event::Escalated { rung, issued_on, due_date, letter_number, .. } => {
                    life.state = SupervisionState::Open;
                    life.rung = *rung;
                    life.due_date = *due_date;
                    if let Some(number) = letter_number {
                        life.letters.push(Letter {
                            rung: *rung,
                            number: number.clone(),
                            issued_on: *issued_on,
                            due_date: *due_date,
                        });
                    }
                }
                Event::Withdrawn { .. } => life.state = SupervisionState::Withdrawn,
                Event::DeadlineApproaching { due_date } => life.warned_due = Some(*due_date),
                Event::Lapsed { due_date } => life.lapsed_due = Some(*due_date),
            }
            life
        }
        // A log must open with Issued; anything else is a bug the fold
        // test catches, kept total here.
        (None, _) => Lifecycle {
            state: SupervisionState::Open,
            case_id: Uuid::nil(),
            organization_id: Uuid::nil(),
            issuer_organization_id: Uuid::nil(),
            issued_by: None,
            trigger: Trigger::Delay,
            text: String::new(),
            rung: Rung::Reminder,
            issued_on: NaiveDate::MIN,
            due_date: NaiveDate::MIN,
            letters: Vec::new(),
            answer: None,
            automatic: false,
            warned_due: None,
            lapsed_due: None,
        },
    }
}

/// The event-type number of `petition.v1.SupervisionEventType`.
pub fn event_type(event: &Event) -> i16 {
    match event {
        Event::Issued { .. } => 1,
        Event::Answered { .. } => 2,
        Event::AnswerAccepted { .. } => 3,
        Event::AnswerRejected { .. } => 4,
        Event::Escalated { .. } => 5,
        Event::Withdrawn { .. } => 6,
        Event::DeadlineApproaching { .. } => 7,
        Event::Lapsed { .. } => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::rules::DayKind;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_else(|| panic!("bad date {y}-{m}-{d}"))
    }

    /// The 2025 National Day and Mid-Autumn week: Oct 1–8 off, Sep 28 (Sun)
    /// and Oct 11 (Sat) worked (国办发明电〔2024〕12号).
    fn national_day_2025() -> WorkCalendar {
        let mut days: Vec<(NaiveDate, DayKind)> = (1..=8).map(|d| (date(2025, 10, d), DayKind::Holiday)).collect();
        days.push((date(2025, 9, 28), DayKind::Workday));
        days.push((date(2025, 10, 11), DayKind::Workday));
        WorkCalendar::new(days)
    }

    fn item(rung: Rung, due: NaiveDate) -> Lifecycle {
        let event = Event::Issued {
            case_id: Uuid::nil(),
            organization_id: Uuid::nil(),
            issuer_organization_id: Uuid::nil(),
            issued_by: None,
            trigger: Trigger::Delay,
            text: "办理超期".into(),
            rung,
            issued_on: date(2025, 9, 1),
            due_date: due,
            letter_number: None,
            automatic: false,
        };
        apply(None, &event)
    }

    /// Each rung's deadline over the National Day week: Sep 26 (Fri) + 3
    /// working days counts Sun Sep 28 (make-up), Mon 29, Tue 30; + 5 runs
    /// past the holiday to Thu Oct 9 and Fri Oct 10; + 10 counts Sat Oct 11.
    /// Reached on the last day before the holiday, a reminder's third
    /// working day is the make-up Saturday after it.
    #[test]
    fn ladder_deadlines_cross_a_holiday_and_a_make_up_workday() {
        let calendar = national_day_2025();
        let ladder = Ladder::default();
        let from = date(2025, 9, 26);
        let cases = [
            (Rung::Reminder, date(2025, 9, 30)),
            (Rung::Letter, date(2025, 10, 10)),
            (Rung::Talks, date(2025, 10, 10)),
            (Rung::Notice, date(2025, 10, 16)),
        ];
        for (rung, want) in cases {
            assert_eq!(ladder.due(&calendar, rung, from), want, "{rung:?}");
        }
        assert_eq!(ladder.due(&calendar, Rung::Reminder, date(2025, 9, 30)), date(2025, 10, 11));
    }

    /// The whole ladder driven by the sweeper from one deadline to the next.
    #[test]
    fn an_unanswered_item_climbs_every_rung_then_lapses_once() {
        let calendar = national_day_2025();
        let ladder = Ladder::default();
        let mut life = item(Rung::Reminder, date(2025, 9, 30));
        let mut climbed = Vec::new();
        let mut day = date(2025, 9, 26);
        let mut lapses = 0;
        while day < date(2025, 12, 31) {
            match sweep(&life, day, day) {
                Sweep::Rise(rung) => {
                    climbed.push((rung, day));
                    let event =
                        escalated(&life, rung, day, (&ladder, &calendar), Some("n".into()), true, String::new());
                    life = apply(Some(life), &event);
                }
                Sweep::Lapse(due) => {
                    lapses += 1;
                    life = apply(Some(life), &Event::Lapsed { due_date: due });
                }
                Sweep::Warn(due) => life = apply(Some(life), &Event::DeadlineApproaching { due_date: due }),
                Sweep::Nothing => {}
            }
            day = day.succ_opt().unwrap_or(day);
        }
        // Rises the day after each deadline; the holiday delays none of
        // them beyond the calendar's deadline.
        assert_eq!(
            climbed,
            vec![
                (Rung::Letter, date(2025, 10, 1)),
                (Rung::Talks, date(2025, 10, 15)),
                (Rung::Notice, date(2025, 10, 23)),
            ]
        );
        assert_eq!(lapses, 1, "a lapsed notice is recorded once");
        assert_eq!(life.letters.len(), 3);
        assert_eq!(life.rung, Rung::Notice);
    }

    /// The sweeper's rule over every state, and deadline against today.
    #[test]
    fn sweep_table() {
        let due = date(2026, 3, 10);
        let warn_until = date(2026, 3, 12);
        let on = |state: SupervisionState, rung: Rung, today: NaiveDate| {
            let mut life = item(rung, due);
            life.state = state;
            sweep(&life, today, warn_until)
        };
        use SupervisionState::*;
        let cases = [
            (Open, Rung::Reminder, date(2026, 3, 11), Sweep::Rise(Rung::Letter)),
            (Open, Rung::Letter, date(2026, 3, 11), Sweep::Rise(Rung::Talks)),
            (Open, Rung::Talks, date(2026, 3, 11), Sweep::Rise(Rung::Notice)),
            (Open, Rung::Notice, date(2026, 3, 11), Sweep::Lapse(due)),
            (Open, Rung::Reminder, due, Sweep::Warn(due)),
            (Open, Rung::Reminder, date(2026, 3, 1), Sweep::Warn(due)),
            (Answered, Rung::Reminder, date(2026, 3, 11), Sweep::Nothing),
            (Closed, Rung::Reminder, date(2026, 3, 11), Sweep::Nothing),
            (Withdrawn, Rung::Reminder, date(2026, 3, 11), Sweep::Nothing),
            (Answered, Rung::Reminder, due, Sweep::Nothing),
        ];
        for (state, rung, today, want) in cases {
            assert_eq!(on(state, rung, today), want, "{state:?} {rung:?} {today}");
        }
        // Not yet in the warning window.
        let life = item(Rung::Reminder, due);
        assert_eq!(sweep(&life, date(2026, 3, 1), date(2026, 3, 5)), Sweep::Nothing);
        // Warned once per deadline; lapsed once per deadline.
        let warned = apply(Some(life.clone()), &Event::DeadlineApproaching { due_date: due });
        assert_eq!(sweep(&warned, due, warn_until), Sweep::Nothing);
        let lapsed = apply(Some(item(Rung::Notice, due)), &Event::Lapsed { due_date: due });
        assert_eq!(sweep(&lapsed, date(2026, 4, 1), date(2026, 4, 1)), Sweep::Nothing);
        // A rejected answer reopens the item: it rises again once late.
        let answered = apply(Some(life), &Event::Answered { text: "t".into(), by: Uuid::nil(), at: Utc::now() });
        let rejected = apply(Some(answered), &Event::AnswerRejected { note: "未解决".into() });
        assert_eq!(sweep(&rejected, date(2026, 3, 11), warn_until), Sweep::Rise(Rung::Letter));
    }

    /// Every command in every state: the events or the refusal's reason.
    #[test]
    fn decide_table() {
        use SupervisionState::*;
        let id = Uuid::nil();
        let commands = [
            Command::Answer { text: "已办结".into() },
            Command::Review { accept: true, note: String::new() },
            Command::Review { accept: false, note: "未解决".into() },
            Command::Withdraw { reason: "误发".into() },
        ];
        // Per state, per command: Ok(event type) or Err(reason).
        let want: [(SupervisionState, [Result<i16, Reason>; 4]); 4] = [
            (Open, [Ok(2), Err(Reason::SupervisionNotAnswered), Err(Reason::SupervisionNotAnswered), Ok(6)]),
            (Answered, [Err(Reason::SupervisionAnswered), Ok(3), Ok(4), Ok(6)]),
            (Closed, [Err(Reason::SupervisionEnded); 4]),
            (Withdrawn, [Err(Reason::SupervisionEnded); 4]),
        ];
        for (state, outcomes) in want {
            let mut life = item(Rung::Letter, date(2026, 3, 10));
            life.state = state;
            for (command, want) in commands.iter().zip(outcomes) {
                let got = decide(id, &life, command.clone(), Uuid::nil(), Utc::now())
                    .map(|events| events.iter().map(event_type).collect::<Vec<_>>())
                    .map_err(|e| e.reason());
                assert_eq!(got, want.map(|t| vec![t]), "{state:?} {command:?}");
            }
        }
        for state in [Closed, Withdrawn] {
            let mut life = item(Rung::Letter, date(2026, 3, 10));
            life.state = state;
            assert_eq!(next_rung(id, &life, "x").map_err(|e| e.reason()), Err(Reason::SupervisionEnded));
        }
        let top = item(Rung::Notice, date(2026, 3, 10));
        assert_eq!(next_rung(id, &top, "x").map_err(|e| e.reason()), Err(Reason::SupervisionAtTopRung));
        let answered = apply(
            Some(item(Rung::Letter, date(2026, 3, 10))),
            &Event::Answered { text: "t".into(), by: Uuid::nil(), at: Utc::now() },
        );
        assert_eq!(next_rung(id, &answered, "x").ok(), Some(Rung::Talks), "a supervisor may raise an answered item");
    }

    #[test]
    fn issue_validation() {
        let today = date(2026, 3, 2);
        let fields = |trigger: i32, text: &str, rung: i32, due: &str| {
            let mut v = Vec::new();
            let issue = issue(trigger, text, rung, due, today, &mut v);
            (issue.is_some(), v.into_iter().map(|f| f.field).collect::<Vec<_>>())
        };
        assert_eq!(fields(5, "拖延", 0, ""), (true, vec![]));
        assert_eq!(fields(5, "拖延", 4, "2026-03-02"), (true, vec![]));
        assert_eq!(fields(8, "x", 1, ""), (false, vec!["trigger".to_owned()]));
        assert_eq!(fields(0, "x", 1, ""), (false, vec!["trigger".to_owned()]));
        assert_eq!(fields(9, "x", 1, ""), (false, vec!["trigger".to_owned()]));
        assert_eq!(fields(1, "", 1, ""), (false, vec!["text".to_owned()]));
        assert_eq!(fields(1, &"字".repeat(MAX_TEXT_CHARS + 1), 1, ""), (false, vec!["text".to_owned()]));
        assert_eq!(fields(1, "x", 5, ""), (false, vec!["rung".to_owned()]));
        assert_eq!(fields(1, "x", 1, "2026-03-01"), (false, vec!["due_date".to_owned()]));
        assert_eq!(fields(1, "x", 1, "2027-03-04"), (false, vec!["due_date".to_owned()]));
        assert_eq!(fields(1, "x", 1, "03/04/2026"), (false, vec!["due_date".to_owned()]));
        assert_eq!(fields(0, "", 7, "x").1, vec!["trigger", "rung", "text", "due_date"]);
    }

    #[test]
    fn letter_numbers_name_the_document() {
        assert_eq!(letter_number(Rung::Reminder, 2026, 1), None);
        assert_eq!(letter_number(Rung::Letter, 2026, 7).as_deref(), Some("督办函〔2026〕7号"));
        assert_eq!(letter_number(Rung::Talks, 2026, 8).as_deref(), Some("约谈通知〔2026〕8号"));
        assert_eq!(letter_number(Rung::Notice, 2026, 9).as_deref(), Some("通报〔2026〕9号"));
    }
}
