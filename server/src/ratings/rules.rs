//! The rating rules (pure, no I/O): when a served opinion opens a rating,
//! its window on the workday calendar, who may give or change it until
//! when, and what a valid rating is.
//!
//! ```text
//! opinion served (REPLIED / REVIEW_REPLIED / RECHECK_REPLIED) → AWAITING
//! AWAITING --Submit (petitioner, ONLINE) | Record (clerk, offline)--> RATED
//! RATED --Submit--> RATED (AMENDED)
//! RATED --Record--> RATED (AMENDED) unless the petitioner rated online (ALREADY_RATED)
//! any state, after rate_by: RATING_WINDOW_CLOSED (AWAITING reads NOT_RATED)
//! ```
//!
//! Readings chosen (docs/ratings.md): accusations are the discipline
//! channel's (Art.30) and are not rated here; the petitioner's own word wins —
//! their online rating replaces a clerk's record, never the reverse; a
//! matter before a court (a referral open or concluded by the court) is
//! litigation's and is not rated (诉访分离, 条例 Art.31); a referral the
//! court returned or that was withdrawn leaves the matter with the
//! petition system, whose opinion is rated.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::domain::{DissatisfactionReason, RatingChannel, RatingRound, RatingState, Satisfaction, StoredState};
use crate::calendar::rules::{Period, WorkCalendar};
use crate::cases::domain::CaseKind;
use crate::cases::rules::{Event as CaseEvent, Lifecycle as CaseLifecycle};
use crate::courts::domain::ReferralState;
use crate::error::{AppError, FieldViolation, Reason};
use crate::time::shanghai_date;

/// The default window, in working days after the day of service: 20
/// working days are four calendar weeks, about the 30 days the petitioner
/// has to ask for review (Art.35-36), so the rating and the decision
/// whether to go on are taken together.
pub const DEFAULT_WINDOW_WORKDAYS: u32 = 20;
/// The longest window a server may be configured with.
pub const MAX_WINDOW_WORKDAYS: u32 = 120;
/// Longest free text per dimension, in characters.
pub const MAX_TEXT_CHARS: usize = 1_000;

/// One dimension's rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub satisfaction: Satisfaction,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<DissatisfactionReason>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
}

/// A rating as given: both dimensions, how, when and who recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Given {
    pub acceptance: Score,
    pub handling: Score,
    pub channel: RatingChannel,
    pub rated_at: DateTime<Utc>,
    /// The clerk who recorded it (offline channels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_by: Option<Uuid>,
}

/// Everything the rules track about a rating.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: StoredState,
    pub case_id: Uuid,
    pub round: RatingRound,
    pub served_at: DateTime<Utc>,
    pub rate_by: NaiveDate,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acceptance_organization_id: Option<Uuid>,
    pub handling_organization_id: Uuid,
    pub petitioner_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<Given>,
    /// How often a given rating was changed.
    #[serde(default)]
    pub changes: i32,
}

/// What happened to a rating; folding the events gives the lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Opened {
        case_id: Uuid,
        round: RatingRound,
        served_at: DateTime<Utc>,
        rate_by: NaiveDate,
        acceptance_organization_id: Option<Uuid>,
        handling_organization_id: Uuid,
        petitioner_id: Uuid,
    },
    Rated {
        rating: Given,
    },
    Amended {
        rating: Given,
    },
}

/// What a caller asks of a rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// The petitioner rates online.
    Submit { acceptance: Score, handling: Score },
    /// A clerk records a rating given offline.
    Record { acceptance: Score, handling: Score, channel: RatingChannel },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Submit { .. } => "SubmitRating",
            Self::Record { .. } => "RecordRating",
        }
    }
}

/// A served opinion that opens a rating.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub round: RatingRound,
    pub served_at: DateTime<Utc>,
    pub acceptance_organization_id: Option<Uuid>,
    pub handling_organization_id: Uuid,
}

/// Whether the case's matter is before a court or was decided there: a
/// referral open or concluded by the court (not rated, Art.31 (一)).
pub fn before_a_court(case: &CaseLifecycle) -> bool {
    case.court_referrals.iter().any(|r| r.state.is_open() || r.state == ReferralState::Concluded)
}

/// The opinion `event` served, if it opens a rating of a case of `kind`
/// that is `case` after the event (who accepted at that round, who issued
/// it). An accusation (检举控告) is the discipline channel's procedure
/// (Art.30) and is not rated here: a rating would show the accuser and the
/// case to the jurisdiction's staff.
pub fn served(kind: CaseKind, case: &CaseLifecycle, event: &CaseEvent) -> Option<Served> {
    if kind == CaseKind::Accusation {
        return None;
    }
    let (round, opinion, acceptance) = match event {
        CaseEvent::Replied { opinion, .. } => (RatingRound::Reply, opinion, case.handling_organization_id),
        CaseEvent::ReviewReplied { opinion, .. } => (RatingRound::Review, opinion, case.reviewing_organization_id),
        CaseEvent::RecheckReplied { opinion } => (RatingRound::Recheck, opinion, case.reviewing_organization_id),
        _ => return None,
    };
    if before_a_court(case) {
        return None;
    }
    Some(Served {
        round,
        served_at: opinion.served_at,
        acceptance_organization_id: acceptance,
        handling_organization_id: opinion.organization_id,
    })
}

/// The window's last day: the `window`-th working day after the day of
/// service (Beijing), on `calendar`.
pub fn rate_by(calendar: &WorkCalendar, served_at: DateTime<Utc>, window: u32) -> NaiveDate {
    calendar.deadline(shanghai_date(served_at), Period::Workdays(window))
}

/// The first event of the rating of `served` for case `case_id`.
pub fn open(case_id: Uuid, petitioner_id: Uuid, served: Served, calendar: &WorkCalendar, window: u32) -> Event {
    Event::Opened {
        case_id,
        round: served.round,
        served_at: served.served_at,
        rate_by: rate_by(calendar, served.served_at, window),
        acceptance_organization_id: served.acceptance_organization_id,
        handling_organization_id: served.handling_organization_id,
        petitioner_id,
    }
}

/// The state on the wire on `today`: NOT_RATED once a window without a
/// rating has passed.
pub fn state_on(stored: StoredState, rate_by: NaiveDate, today: NaiveDate) -> RatingState {
    match stored {
        StoredState::Rated => RatingState::Rated,
        StoredState::Awaiting if today > rate_by => RatingState::NotRated,
        StoredState::Awaiting => RatingState::Awaiting,
    }
}

/// Validates one dimension at `field` (`acceptance`, `handling`):
/// a satisfaction; reasons (1 to 8, no repeats) only and always when
/// DISSATISFIED; text up to [`MAX_TEXT_CHARS`], required with OTHER.
pub fn score(
    field: &str,
    satisfaction: i32,
    reasons: &[i32],
    text: &str,
    v: &mut Vec<FieldViolation>,
) -> Option<Score> {
    let before = v.len();
    let satisfaction = Satisfaction::from_i32(satisfaction);
    if satisfaction.is_none() {
        v.push(FieldViolation::new(
            format!("{field}.satisfaction"),
            "must be SATISFIED, BASICALLY_SATISFIED or DISSATISFIED",
        ));
    }
    let mut parsed = Vec::new();
    if reasons.len() > DissatisfactionReason::ALL.len() {
        v.push(FieldViolation::new(
            format!("{field}.reasons"),
            format!("at most {} reasons, each once", DissatisfactionReason::ALL.len()),
        ));
        return None;
    }
    for (i, raw) in reasons.iter().enumerate() {
        match DissatisfactionReason::from_i32(*raw) {
            Some(reason) if parsed.contains(&reason) => {
                v.push(FieldViolation::new(format!("{field}.reasons[{i}]"), "is listed twice"));
            }
            Some(reason) => parsed.push(reason),
            None => v.push(FieldViolation::new(format!("{field}.reasons[{i}]"), "must be a dissatisfaction reason")),
        }
    }
    match satisfaction {
        Some(Satisfaction::Dissatisfied) if reasons.is_empty() => {
            v.push(FieldViolation::new(format!("{field}.reasons"), "at least one reason is required when DISSATISFIED"))
        }
        Some(Satisfaction::Satisfied | Satisfaction::BasicallySatisfied) if !reasons.is_empty() => {
            v.push(FieldViolation::new(format!("{field}.reasons"), "only a DISSATISFIED rating carries reasons"));
        }
        _ => {}
    }
    let min = usize::from(parsed.contains(&DissatisfactionReason::Other));
    let text = crate::text::multi_line(&format!("{field}.text"), text, min, MAX_TEXT_CHARS, v);
    match satisfaction {
        Some(satisfaction) if v.len() == before => Some(Score { satisfaction, reasons: parsed, text }),
        _ => None,
    }
}

fn precondition(id: Uuid, reason: Reason, message: impl Into<String>) -> AppError {
    AppError::FailedPrecondition { reason, message: message.into(), subject: format!("ratings/{id}") }
}

/// Decides `command` by `actor` against rating `id` in `life` at `now`.
/// No events when the values are the ones the rating already has.
pub fn decide(
    id: Uuid,
    life: &Lifecycle,
    command: Command,
    actor: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Event>, AppError> {
    if shanghai_date(now) > life.rate_by {
        return Err(precondition(
            id,
            Reason::RatingWindowClosed,
            format!("{}: the rating window closed on {}: the rating is final", command.name(), life.rate_by),
        ));
    }
    let (acceptance, handling, channel, recorded_by) = match command {
        Command::Submit { acceptance, handling } => (acceptance, handling, RatingChannel::Online, None),
        Command::Record { acceptance, handling, channel } => {
            if life.given.as_ref().is_some_and(|g| g.channel == RatingChannel::Online) {
                return Err(precondition(
                    id,
                    Reason::AlreadyRated,
                    "the petitioner rated online: a clerk does not record over their own rating",
                ));
            }
            (acceptance, handling, channel, Some(actor))
        }
    };
    if let Some(given) = &life.given
        && given.acceptance == acceptance
        && given.handling == handling
        && given.channel == channel
    {
        return Ok(Vec::new());
    }
    let rating = Given { acceptance, handling, channel, rated_at: now, recorded_by };
    Ok(vec![if life.given.is_none() { Event::Rated { rating } } else { Event::Amended { rating } }])
}

/// The lifecycle after `event`.
pub fn apply(life: Option<Lifecycle>, event: &Event) -> Lifecycle {
    match (life, event) {
        (
            _,
            Event::Opened {
                case_id,
                round,
                served_at,
                rate_by,
                acceptance_organization_id,
                handling_organization_id,
                petitioner_id,
            },
        ) => Lifecycle {
            state: StoredState::Awaiting,
            case_id: *case_id,
            round: *round,
            served_at: *served_at,
            rate_by: *rate_by,
            acceptance_organization_id: *acceptance_organization_id,
            handling_organization_id: *handling_organization_id,
            petitioner_id: *petitioner_id,
            given: None,
            changes: 0,
        },
        (Some(mut life), Event::Rated { rating }) => {
            life.state = StoredState::Rated;
            life.given = Some(rating.clone());
            life
        }
        (Some(mut life), Event::Amended { rating }) => {
            life.state = StoredState::Rated;
            life.given = Some(rating.clone());
            life.changes += 1;
            life
        }
        // A log must open with Opened; anything else is a bug the fold
        // test catches, kept total here.
        (None, Event::Rated { rating } | Event::Amended { rating }) => Lifecycle {
            state: StoredState::Rated,
            case_id: Uuid::nil(),
            round: RatingRound::Reply,
            served_at: rating.rated_at,
            rate_by: NaiveDate::MIN,
            acceptance_organization_id: None,
            handling_organization_id: Uuid::nil(),
            petitioner_id: Uuid::nil(),
            given: Some(rating.clone()),
            changes: 0,
        },
    }
}

/// The lifecycle the events describe; `None` for none.
pub fn fold<'a>(events: impl IntoIterator<Item = &'a Event>) -> Option<Lifecycle> {
    events.into_iter().fold(None, |life, event| Some(apply(life, event)))
}

/// The event-type number of `petition.v1.RatingEventType`.
pub fn event_type(event: &Event) -> i16 {
    match event {
        Event::Opened { .. } => 1,
        Event::Rated { .. } => 2,
        Event::Amended { .. } => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::rules::DayKind;
    use chrono::TimeZone;

    const ID: Uuid = Uuid::from_u128(9);
    const PETITIONER: Uuid = Uuid::from_u128(1);
    const CLERK: Uuid = Uuid::from_u128(2);

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).expect("a date")
    }

    /// Noon in Beijing on `date`.
    fn noon(date: NaiveDate) -> DateTime<Utc> {
        let local = date.and_hms_opt(12, 0, 0).expect("a time");
        crate::time::shanghai().from_local_datetime(&local).single().expect("one instant").with_timezone(&Utc)
    }

    fn satisfied() -> Score {
        Score { satisfaction: Satisfaction::Satisfied, reasons: Vec::new(), text: String::new() }
    }

    fn dissatisfied() -> Score {
        Score {
            satisfaction: Satisfaction::Dissatisfied,
            reasons: vec![DissatisfactionReason::NotResolved],
            text: "漏水仍未修好".into(),
        }
    }

    /// Served on Monday 2 March 2026, a plain week; window of 20 workdays.
    fn opened() -> Lifecycle {
        let served = Served {
            round: RatingRound::Reply,
            served_at: noon(day(3, 2)),
            acceptance_organization_id: Some(Uuid::from_u128(5)),
            handling_organization_id: Uuid::from_u128(5),
        };
        apply(None, &open(Uuid::from_u128(3), PETITIONER, served, &WorkCalendar::default(), 20))
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Situation {
        Awaiting,
        RatedOnline,
        RatedByClerk,
    }

    fn in_situation(s: Situation) -> Lifecycle {
        let life = opened();
        let command = match s {
            Situation::Awaiting => return life,
            Situation::RatedOnline => Command::Submit { acceptance: satisfied(), handling: satisfied() },
            Situation::RatedByClerk => {
                Command::Record { acceptance: satisfied(), handling: satisfied(), channel: RatingChannel::Phone }
            }
        };
        let events = decide(ID, &life, command, CLERK, noon(day(3, 3))).expect("rated");
        events.iter().fold(life, |l, e| apply(Some(l), e))
    }

    /// Commands: a change of values (dissatisfied) and a repeat of what a
    /// rated rating holds (satisfied, by the same channel family).
    fn commands() -> Vec<(&'static str, Command)> {
        vec![
            ("submit new", Command::Submit { acceptance: satisfied(), handling: dissatisfied() }),
            ("submit same", Command::Submit { acceptance: satisfied(), handling: satisfied() }),
            (
                "record new",
                Command::Record { acceptance: satisfied(), handling: dissatisfied(), channel: RatingChannel::Phone },
            ),
            (
                "record same",
                Command::Record { acceptance: satisfied(), handling: satisfied(), channel: RatingChannel::Phone },
            ),
        ]
    }

    /// The documented outcome, written out apart from `decide`: the event
    /// type recorded (None: nothing) or the refusal.
    fn documented(s: Situation, command: &str, window_open: bool) -> Result<Option<i16>, Reason> {
        use Situation::*;
        if !window_open {
            return Err(Reason::RatingWindowClosed);
        }
        match (s, command) {
            (Awaiting, _) => Ok(Some(2)),
            (RatedOnline, "submit same") | (RatedByClerk, "record same") => Ok(None),
            (RatedOnline, "record new" | "record same") => Err(Reason::AlreadyRated),
            (RatedOnline | RatedByClerk, _) => Ok(Some(3)),
        }
    }

    #[test]
    fn every_situation_and_command_follows_the_documented_table() {
        let life = opened();
        assert_eq!(life.rate_by, day(3, 30), "20 workdays after Monday 2 March: Monday 30 March");
        for s in [Situation::Awaiting, Situation::RatedOnline, Situation::RatedByClerk] {
            for (name, command) in commands() {
                for (when, open) in [(day(3, 30), true), (day(3, 31), false), (day(3, 10), true)] {
                    let life = in_situation(s);
                    let got = decide(ID, &life, command.clone(), CLERK, noon(when))
                        .map(|events| events.first().map(event_type))
                        .map_err(|e| e.reason());
                    assert_eq!(got, documented(s, name, open), "{name} in {s:?} on {when}");
                }
            }
        }
    }

    #[test]
    fn the_window_closes_at_midnight_beijing_of_its_last_day() {
        let life = opened();
        let last_minute = noon(day(3, 30)) + chrono::Duration::minutes(11 * 60 + 59);
        let submit = Command::Submit { acceptance: satisfied(), handling: satisfied() };
        assert!(decide(ID, &life, submit.clone(), PETITIONER, last_minute).is_ok());
        let next = last_minute + chrono::Duration::minutes(1);
        assert_eq!(
            decide(ID, &life, submit, PETITIONER, next).map_err(|e| e.reason()),
            Err(Reason::RatingWindowClosed)
        );
        assert_eq!(state_on(StoredState::Awaiting, life.rate_by, day(3, 30)), RatingState::Awaiting);
        assert_eq!(state_on(StoredState::Awaiting, life.rate_by, day(3, 31)), RatingState::NotRated);
        assert_eq!(state_on(StoredState::Rated, life.rate_by, day(3, 31)), RatingState::Rated);
    }

    #[test]
    fn the_window_skips_holidays_and_counts_make_up_workdays() {
        // 劳动节 2026 (as a province might publish it): 1-5 May off,
        // Sunday 26 April and Saturday 9 May worked.
        let calendar = WorkCalendar::new([
            (day(4, 26), DayKind::Workday),
            (day(5, 1), DayKind::Holiday),
            (day(5, 4), DayKind::Holiday),
            (day(5, 5), DayKind::Holiday),
            (day(5, 9), DayKind::Workday),
        ]);
        // Served Friday 24 April: workdays Sun 26 to Thu 30 (5), Wed 6 to
        // Sat 9 May (9), 11-15 (14), 18-22 (19), Monday 25 May (20).
        let served = noon(day(4, 24));
        assert_eq!(rate_by(&calendar, served, 20), day(5, 25));
        // On the plain week it would end Friday 22 May.
        assert_eq!(rate_by(&WorkCalendar::default(), served, 20), day(5, 22));
        // Served late in the evening Beijing time is that Beijing day.
        let evening = noon(day(4, 24)) + chrono::Duration::hours(11);
        assert_eq!(rate_by(&calendar, evening, 1), day(4, 26));
        // A window of one workday served before a holiday ends after it.
        assert_eq!(rate_by(&calendar, noon(day(4, 30)), 1), day(5, 6));
    }

    #[test]
    fn dissatisfied_needs_reasons_and_only_dissatisfied_carries_them() {
        let check = |satisfaction: i32, reasons: &[i32], text: &str| {
            let mut v = Vec::new();
            let got = score("handling", satisfaction, reasons, text, &mut v);
            (got, v.iter().map(|f| f.field.clone()).collect::<Vec<_>>())
        };
        let (ok, v) = check(3, &[1, 5], "");
        assert!(v.is_empty());
        assert_eq!(
            ok.map(|s| s.reasons),
            Some(vec![DissatisfactionReason::NotResolved, DissatisfactionReason::UnclearReply])
        );
        assert_eq!(check(3, &[], "很不满意").1, ["handling.reasons"]);
        assert_eq!(check(1, &[2], "").1, ["handling.reasons"]);
        assert_eq!(check(2, &[2], "").1, ["handling.reasons"]);
        assert_eq!(check(0, &[], "").1, ["handling.satisfaction"]);
        assert_eq!(check(4, &[], "").1, ["handling.satisfaction"]);
        assert_eq!(check(3, &[9], "").1, ["handling.reasons[0]"]);
        assert_eq!(check(3, &[0], "").1, ["handling.reasons[0]"]);
        assert_eq!(check(3, &[1, 1], "").1, ["handling.reasons[1]"]);
        assert_eq!(check(3, &[1; 9], "").1, ["handling.reasons"], "a flood is one violation");
        assert_eq!(check(3, &[8], "").1, ["handling.text"], "OTHER needs text");
        assert!(check(3, &[8], "另有原因").1.is_empty());
        assert_eq!(check(1, &[], &"字".repeat(MAX_TEXT_CHARS + 1)).1, ["handling.text"]);
        assert!(check(1, &[], "办得好").1.is_empty(), "a satisfied rating may carry text");
        // Every satisfaction, with and without a reason.
        for s in Satisfaction::ALL {
            let needs = *s == Satisfaction::Dissatisfied;
            assert_eq!(check(*s as i32, &[1], "").1.is_empty(), needs, "{s:?} with a reason");
            assert_eq!(check(*s as i32, &[], "").1.is_empty(), !needs, "{s:?} without");
        }
    }

    #[test]
    fn a_reply_review_and_recheck_open_ratings_attributed_at_the_time_unless_before_a_court() {
        use crate::cases::rules::{CourtLink, Opinion};
        let unit = Uuid::from_u128(10);
        let reviewer = Uuid::from_u128(11);
        let opinion = |org| Opinion {
            request: String::new(),
            facts: String::new(),
            decision: crate::cases::domain::Decision::Explained,
            legal_basis: String::new(),
            served_at: noon(day(3, 2)),
            organization_id: org,
            mediation_dispute_id: None,
        };
        let mut case: CaseLifecycle = serde_json::from_value(serde_json::json!({
            "state": "REPLIED", "track": "NORMAL", "registered_on": "2026-01-05",
            "deadlines": {}, "extended": false, "completion_reported": false,
        }))
        .expect("a lifecycle");
        case.handling_organization_id = Some(unit);
        let reply = CaseEvent::Replied { opinion: opinion(unit), review_request_by: day(4, 1) };
        let got = served(CaseKind::Claim, &case, &reply).expect("a reply opens a rating");
        assert_eq!(
            (got.round, got.acceptance_organization_id, got.handling_organization_id),
            (RatingRound::Reply, Some(unit), unit)
        );
        case.reviewing_organization_id = Some(reviewer);
        let review = CaseEvent::ReviewReplied { opinion: opinion(reviewer), recheck_request_by: day(4, 1) };
        let got = served(CaseKind::Claim, &case, &review).expect("a review opinion opens a rating");
        assert_eq!(
            (got.round, got.acceptance_organization_id, got.handling_organization_id),
            (RatingRound::Review, Some(reviewer), reviewer)
        );
        let recheck = CaseEvent::RecheckReplied { opinion: opinion(reviewer) };
        assert_eq!(served(CaseKind::Claim, &case, &recheck).map(|s| s.round), Some(RatingRound::Recheck));
        assert_eq!(served(CaseKind::Claim, &case, &CaseEvent::Withdrawn { reason: String::new() }), None);
        assert_eq!(served(CaseKind::Accusation, &case, &reply), None, "Art.30: not rated here");
        assert!(served(CaseKind::Suggestion, &case, &reply).is_some());
        // Before a court: open or concluded is not rated; returned or withdrawn is.
        for (state, rated) in [
            (ReferralState::Referred, false),
            (ReferralState::Acknowledged, false),
            (ReferralState::Filed, false),
            (ReferralState::Concluded, false),
            (ReferralState::Returned, true),
            (ReferralState::Withdrawn, true),
        ] {
            case.court_referrals = vec![CourtLink {
                referral_id: ID,
                court_id: ID,
                referred_on: day(2, 1),
                state,
                court_case_number: String::new(),
                outcome: None,
            }];
            assert_eq!(served(CaseKind::Claim, &case, &reply).is_some(), rated, "{state:?}");
        }
    }

    #[test]
    fn folding_the_events_gives_the_lifecycle() {
        let start = opened();
        let mut log = vec![Event::Opened {
            case_id: start.case_id,
            round: start.round,
            served_at: start.served_at,
            rate_by: start.rate_by,
            acceptance_organization_id: start.acceptance_organization_id,
            handling_organization_id: start.handling_organization_id,
            petitioner_id: start.petitioner_id,
        }];
        let mut life = start;
        for (i, command) in [
            Command::Record { acceptance: satisfied(), handling: satisfied(), channel: RatingChannel::ReturnVisit },
            Command::Submit { acceptance: satisfied(), handling: dissatisfied() },
            Command::Submit { acceptance: dissatisfied(), handling: dissatisfied() },
        ]
        .into_iter()
        .enumerate()
        {
            let events = decide(ID, &life, command, CLERK, noon(day(3, 4 + i as u32))).expect("within the window");
            life = events.iter().fold(life, |l, e| apply(Some(l), e));
            log.extend(events);
        }
        assert_eq!(fold(&log), Some(life.clone()));
        assert_eq!(life.changes, 2);
        assert_eq!(log.iter().map(event_type).collect::<Vec<_>>(), [1, 2, 3, 3]);
        for event in &log {
            let json = serde_json::to_value(event).expect("json");
            assert_eq!(&serde_json::from_value::<Event>(json).expect("parse"), event);
        }
        let stored = serde_json::to_value(&life).expect("json");
        assert_eq!(serde_json::from_value::<Lifecycle>(stored).expect("parse"), life);
    }
}
