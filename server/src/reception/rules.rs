//! The reception rules (pure, no I/O): which days a schedule holds
//! receptions on, its slots and their remaining places, what a booking
//! may do in each state, and how its events fold.
//!
//! ```text
//! Book ─→ BOOKED ──Cancel (before the slot starts)──→ CANCELLED
//!            │────Record (from the slot's start)────→ RECEIVED
//!            └────NoShow (after the slot ended)─────→ NO_SHOW
//! ```
//!
//! Readings chosen: a day is a reception day when the recurrence names it
//! and it is a working day on the calendar (a make-up workday counts, a
//! holiday does not), or when its date is listed explicitly; one matter
//! holds one BOOKED booking: the same existing case, else the same
//! normalized title; capacity counts BOOKED and RECEIVED bookings.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::domain::{BookingState, Outcome, Recurrence};
use crate::calendar::rules::{WorkCalendar, parse_date};
use crate::error::{AppError, FieldViolation, Reason};

/// Longest title of a matter or a schedule, in characters.
pub const MAX_TITLE_CHARS: usize = 100;
/// Longest description of a matter, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2_000;
/// Longest notes of a reception, in characters.
pub const MAX_NOTES_CHARS: usize = 4_000;
/// Longest address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 200;
/// Most slots a day holds.
pub const MAX_SLOTS: usize = 20;
/// Most explicit dates a schedule lists.
pub const MAX_DATES: usize = 366;
/// Most attendees recorded.
pub const MAX_ATTENDEES: usize = 20;
/// Longest range of days ListReceptionSlots covers.
pub const MAX_SLOT_RANGE_DAYS: i64 = 62;

/// A slot of each reception day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotTemplate {
    /// Minutes after midnight, Beijing time.
    pub minute: u16,
    pub minutes: u16,
    pub capacity: u16,
}

/// A schedule as its clerk set it (stored as JSONB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    pub leader_account_id: Uuid,
    pub title: String,
    pub address: String,
    pub region_code: String,
    pub recurrence: Recurrence,
    #[serde(default)]
    pub weekdays: Vec<u8>,
    #[serde(default)]
    pub dates: Vec<NaiveDate>,
    pub slots: Vec<SlotTemplate>,
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
}

/// The raw fields of a schedule, as received.
#[derive(Debug, Clone, Default)]
pub struct RawSpec<'a> {
    pub leader_account_id: &'a str,
    pub title: &'a str,
    pub address: &'a str,
    pub region_code: &'a str,
    pub recurrence: i32,
    pub weekdays: &'a [i32],
    pub dates: &'a [String],
    /// (start `HH:MM`, minutes, capacity)
    pub slots: Vec<(&'a str, i32, i32)>,
    pub valid_from: &'a str,
    pub valid_until: &'a str,
}

/// `HH:MM` as minutes after midnight.
pub fn parse_time(raw: &str) -> Option<u16> {
    let t = NaiveTime::parse_from_str(raw, "%H:%M").ok()?;
    if raw.len() != 5 {
        return None;
    }
    u16::try_from(t.hour_minute()).ok()
}

trait HourMinute {
    fn hour_minute(&self) -> u32;
}

impl HourMinute for NaiveTime {
    fn hour_minute(&self) -> u32 {
        use chrono::Timelike;
        self.hour() * 60 + self.minute()
    }
}

/// Minutes after midnight as `HH:MM`.
pub fn format_time(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// Validates a schedule; one violation per bad field (under `prefix`).
pub fn spec(prefix: &str, raw: &RawSpec<'_>, v: &mut Vec<FieldViolation>) -> Option<ScheduleSpec> {
    let before = v.len();
    let f = |name: &str| format!("{prefix}{name}");
    let leader = crate::convert::optional_id_checked(&f("leader_account_id"), raw.leader_account_id, v);
    if raw.leader_account_id.is_empty() {
        v.push(FieldViolation::new(f("leader_account_id"), "is required"));
    }
    let title = crate::text::one_line(&f("title"), raw.title, 0, MAX_TITLE_CHARS, v);
    let address = crate::text::one_line(&f("address"), raw.address, 1, MAX_ADDRESS_CHARS, v);
    if raw.region_code.is_empty() {
        v.push(FieldViolation::new(f("region_code"), "is required"));
    }
    let recurrence = Recurrence::from_i32(raw.recurrence);
    if recurrence.is_none() {
        v.push(FieldViolation::new(f("recurrence"), "must be WEEKLY, WORKDAYS or DATES"));
    }
    let mut weekdays = Vec::new();
    for (i, d) in raw.weekdays.iter().enumerate() {
        match u8::try_from(*d).ok().filter(|d| (1..=7).contains(d)) {
            Some(d) if !weekdays.contains(&d) => weekdays.push(d),
            Some(_) => {}
            None => v.push(FieldViolation::new(f(&format!("weekdays[{i}]")), "must be 1 (Monday) to 7 (Sunday)")),
        }
    }
    weekdays.sort_unstable();
    match recurrence {
        Some(Recurrence::Weekly) if raw.weekdays.is_empty() => {
            v.push(FieldViolation::new(f("weekdays"), "a WEEKLY schedule names its weekdays"));
        }
        Some(Recurrence::Workdays | Recurrence::Dates) if !raw.weekdays.is_empty() => {
            v.push(FieldViolation::new(f("weekdays"), "only a WEEKLY schedule names weekdays"));
        }
        _ => {}
    }
    let mut dates = Vec::new();
    if raw.dates.len() > MAX_DATES {
        v.push(FieldViolation::new(f("dates"), format!("at most {MAX_DATES} dates")));
    } else {
        for (i, d) in raw.dates.iter().enumerate() {
            match parse_date(d) {
                Some(d) if !dates.contains(&d) => dates.push(d),
                Some(_) => {}
                None => v.push(FieldViolation::new(f(&format!("dates[{i}]")), "must be a date YYYY-MM-DD")),
            }
        }
    }
    dates.sort_unstable();
    if recurrence == Some(Recurrence::Dates) && raw.dates.is_empty() {
        v.push(FieldViolation::new(f("dates"), "a DATES schedule lists its dates"));
    }
    let mut slots = Vec::new();
    if raw.slots.is_empty() || raw.slots.len() > MAX_SLOTS {
        v.push(FieldViolation::new(f("slots"), format!("1 to {MAX_SLOTS} slots")));
    }
    for (i, (start, minutes, capacity)) in raw.slots.iter().enumerate() {
        let at = |name: &str| f(&format!("slots[{i}].{name}"));
        let minute = parse_time(start);
        if minute.is_none() {
            v.push(FieldViolation::new(at("start_time"), "must be a time HH:MM"));
        }
        let length = u16::try_from(*minutes).ok().filter(|m| (5..=480).contains(m));
        if length.is_none() {
            v.push(FieldViolation::new(at("minutes"), "must be 5 to 480"));
        }
        let cap = u16::try_from(*capacity).ok().filter(|c| (1..=100).contains(c));
        if cap.is_none() {
            v.push(FieldViolation::new(at("capacity"), "must be 1 to 100"));
        }
        if let (Some(minute), Some(minutes), Some(capacity)) = (minute, length, cap) {
            if minute + minutes > 24 * 60 {
                v.push(FieldViolation::new(at("minutes"), "the slot must end by midnight"));
            } else {
                slots.push(SlotTemplate { minute, minutes, capacity });
            }
        }
    }
    slots.sort_by_key(|s| s.minute);
    for pair in slots.windows(2) {
        if pair[0].minute + pair[0].minutes > pair[1].minute {
            v.push(FieldViolation::new(f("slots"), "slots must not overlap"));
            break;
        }
    }
    let valid_from = parse_date(raw.valid_from);
    if valid_from.is_none() {
        v.push(FieldViolation::new(f("valid_from"), "must be a date YYYY-MM-DD"));
    }
    let valid_until = match raw.valid_until {
        "" => None,
        s => match parse_date(s) {
            Some(d) if valid_from.is_some_and(|from| d < from) => {
                v.push(FieldViolation::new(f("valid_until"), "must not be before valid_from"));
                None
            }
            Some(d) => Some(d),
            None => {
                v.push(FieldViolation::new(f("valid_until"), "must be a date YYYY-MM-DD"));
                None
            }
        },
    };
    match (leader, recurrence, valid_from) {
        (Some(leader_account_id), Some(recurrence), Some(valid_from)) if v.len() == before => Some(ScheduleSpec {
            leader_account_id,
            title,
            address,
            region_code: raw.region_code.to_owned(),
            recurrence,
            weekdays,
            dates,
            slots,
            valid_from,
            valid_until,
        }),
        _ => None,
    }
}

impl ScheduleSpec {
    /// Whether `date` is a reception day: listed explicitly, or named by
    /// the recurrence and a working day, within the schedule's dates.
    pub fn holds(&self, calendar: &WorkCalendar, date: NaiveDate) -> bool {
        if date < self.valid_from || self.valid_until.is_some_and(|until| date > until) {
            return false;
        }
        if self.dates.contains(&date) {
            return true;
        }
        let weekday = u8::try_from(date.weekday().number_from_monday()).unwrap_or(0);
        match self.recurrence {
            Recurrence::Weekly => self.weekdays.contains(&weekday) && calendar.is_workday(date),
            Recurrence::Workdays => calendar.is_workday(date),
            Recurrence::Dates => false,
        }
    }

    /// The slot starting at `minute` on `date`, if the schedule holds one.
    pub fn slot(&self, calendar: &WorkCalendar, date: NaiveDate, minute: u16) -> Option<SlotTemplate> {
        if !self.holds(calendar, date) {
            return None;
        }
        self.slots.iter().copied().find(|s| s.minute == minute)
    }

    /// The reception days from `from` to `until` (inclusive).
    pub fn days(&self, calendar: &WorkCalendar, from: NaiveDate, until: NaiveDate) -> Vec<NaiveDate> {
        from.iter_days().take_while(|d| *d <= until).filter(|d| self.holds(calendar, *d)).collect()
    }
}

/// The instant a slot on `date` starting at `minute` (Beijing time) starts.
pub fn slot_start(date: NaiveDate, minute: u16) -> DateTime<Utc> {
    let local = date.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::minutes(i64::from(minute));
    crate::time::shanghai()
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&local))
}

/// Places left in a slot of `capacity` holding `taken` bookings.
pub fn remaining(capacity: u16, taken: i64) -> i32 {
    (i64::from(capacity) - taken).max(0) as i32
}

/// A title normalized for "the same matter": whitespace collapsed,
/// lowercase (full-width spaces included).
pub fn normalize_title(title: &str) -> String {
    title.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The key of one matter: its existing case, else its normalized title.
pub fn matter_key(case_id: Option<Uuid>, title: &str) -> String {
    match case_id {
        Some(id) => format!("case:{id}"),
        None => format!("title:{}", normalize_title(title)),
    }
}

/// What the booking rule needs to know besides the request.
#[derive(Debug, Clone, Copy)]
pub struct BookingFacts {
    pub retired: bool,
    /// The slot, if the schedule holds it on the date.
    pub slot: Option<SlotTemplate>,
    pub starts_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    /// BOOKED and RECEIVED bookings of the slot.
    pub taken: i64,
    /// The citizen's BOOKED bookings of the same matter.
    pub same_matter_open: bool,
    /// The citizen's BOOKED bookings.
    pub citizen_open: i64,
    pub max_open_per_citizen: u32,
}

fn precondition(subject: String, reason: Reason, message: impl Into<String>) -> AppError {
    AppError::FailedPrecondition { reason, message: message.into(), subject }
}

/// Whether a booking may be made: the checks in the order a citizen
/// fixes them.
pub fn check_booking(schedule_id: Uuid, facts: &BookingFacts) -> Result<SlotTemplate, AppError> {
    let subject = format!("receptionSchedules/{schedule_id}");
    if facts.retired {
        return Err(precondition(subject, Reason::ReceptionScheduleRetired, "the schedule is retired"));
    }
    let Some(slot) = facts.slot else {
        return Err(precondition(subject, Reason::ReceptionNoSuchSlot, "the schedule holds no such slot on that date"));
    };
    if facts.now >= facts.starts_at {
        return Err(precondition(subject, Reason::ReceptionSlotStarted, "the slot has started"));
    }
    if facts.same_matter_open {
        return Err(precondition(
            subject,
            Reason::ReceptionMatterAlreadyBooked,
            "this matter already has a booking: cancel it first",
        ));
    }
    if facts.citizen_open >= i64::from(facts.max_open_per_citizen) {
        return Err(AppError::ResourceExhausted {
            reason: Reason::ReceptionBookingLimit,
            message: format!("at most {} open bookings per citizen", facts.max_open_per_citizen),
            retry_after: std::time::Duration::ZERO,
            quota: Some((
                "citizens/self".into(),
                format!("{} open reception bookings per citizen", facts.max_open_per_citizen),
            )),
        });
    }
    if facts.taken >= i64::from(slot.capacity) {
        return Err(precondition(subject, Reason::ReceptionSlotFull, "the slot has no place left"));
    }
    Ok(slot)
}

/// What was recorded at a reception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reception {
    pub outcome: Outcome,
    #[serde(default)]
    pub attendees: Vec<String>,
    pub notes: String,
    pub case_id: Option<Uuid>,
    pub ownership_taken: bool,
    pub by: Uuid,
    pub at: DateTime<Utc>,
}

/// Everything the rules track about a booking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub state: BookingState,
    pub schedule_id: Uuid,
    pub citizen_account_id: Uuid,
    pub date: NaiveDate,
    pub minute: u16,
    pub minutes: u16,
    pub title: String,
    pub description: String,
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reception: Option<Reception>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_show_note: Option<String>,
}

/// What happened to a booking; folding the events gives the lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Booked {
        schedule_id: Uuid,
        citizen_account_id: Uuid,
        date: NaiveDate,
        minute: u16,
        minutes: u16,
        title: String,
        description: String,
        address: String,
        case_id: Option<Uuid>,
    },
    Cancelled {
        reason: String,
        by_citizen: bool,
    },
    Received(Reception),
    NoShow {
        note: String,
    },
}

/// The stored event type number (`petition.v1.ReceptionBookingEventType`).
pub fn event_type(event: &Event) -> i16 {
    match event {
        Event::Booked { .. } => 1,
        Event::Cancelled { .. } => 2,
        Event::Received(_) => 3,
        Event::NoShow { .. } => 4,
    }
}

/// The lifecycle after `event`.
pub fn apply(life: Option<Lifecycle>, event: &Event) -> Lifecycle {
    match (life, event) {
        (
            _,
            Event::Booked {
                schedule_id,
                citizen_account_id,
                date,
                minute,
                minutes,
                title,
                description,
                address,
                case_id,
            },
        ) => Lifecycle {
            state: BookingState::Booked,
            schedule_id: *schedule_id,
            citizen_account_id: *citizen_account_id,
            date: *date,
            minute: *minute,
            minutes: *minutes,
            title: title.clone(),
            description: description.clone(),
            address: address.clone(),
            case_id: *case_id,
            cancel_reason: None,
            reception: None,
            no_show_note: None,
        },
        (Some(life), Event::Cancelled { reason, .. }) => {
            Lifecycle { state: BookingState::Cancelled, cancel_reason: Some(reason.clone()), ..life }
        }
        (Some(life), Event::Received(r)) => Lifecycle {
            state: BookingState::Received,
            case_id: r.case_id.or(life.case_id),
            reception: Some(r.clone()),
            ..life
        },
        (Some(life), Event::NoShow { note }) => {
            Lifecycle { state: BookingState::NoShow, no_show_note: Some(note.clone()), ..life }
        }
        // A later event without a booking cannot be stored (the booking's
        // first event is always Booked); fold it into an empty shell.
        (None, _) => Lifecycle {
            state: BookingState::Cancelled,
            schedule_id: Uuid::nil(),
            citizen_account_id: Uuid::nil(),
            date: NaiveDate::MIN,
            minute: 0,
            minutes: 0,
            title: String::new(),
            description: String::new(),
            address: String::new(),
            case_id: None,
            cancel_reason: None,
            reception: None,
            no_show_note: None,
        },
    }
}

/// What a caller asks of a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Cancel {
        reason: String,
        by_citizen: bool,
    },
    /// Recorded with the case already created or linked and ownership
    /// already tried (the command runs them first, in its transaction).
    Record(Reception),
    NoShow {
        note: String,
    },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::Cancel { .. } => "CancelReceptionBooking",
            Command::Record(_) => "RecordReception",
            Command::NoShow { .. } => "RecordReceptionNoShow",
        }
    }
}

/// Whether `command` may run on booking `id` now.
pub fn check(id: Uuid, life: &Lifecycle, command: CommandKind, now: DateTime<Utc>) -> Result<(), AppError> {
    let subject = format!("receptionBookings/{id}");
    if life.state != BookingState::Booked {
        return Err(precondition(subject, Reason::ReceptionBookingClosed, "the booking is no longer BOOKED"));
    }
    let starts = slot_start(life.date, life.minute);
    let ends = starts + Duration::minutes(i64::from(life.minutes));
    match command {
        CommandKind::Cancel if now >= starts => Err(precondition(
            subject,
            Reason::ReceptionSlotStarted,
            "the slot has started: record the reception or a no-show",
        )),
        CommandKind::Record if now < starts => {
            Err(precondition(subject, Reason::ReceptionSlotNotStarted, "the slot has not started"))
        }
        CommandKind::NoShow if now < ends => {
            Err(precondition(subject, Reason::ReceptionSlotNotStarted, "a no-show is recorded after the slot ended"))
        }
        _ => Ok(()),
    }
}

/// A command's kind, for the checks made before its effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandKind {
    Cancel,
    Record,
    NoShow,
}

/// Decides `command` on booking `id` at `now`.
pub fn decide(id: Uuid, life: &Lifecycle, command: Command, now: DateTime<Utc>) -> Result<Vec<Event>, AppError> {
    let kind = match &command {
        Command::Cancel { .. } => CommandKind::Cancel,
        Command::Record(_) => CommandKind::Record,
        Command::NoShow { .. } => CommandKind::NoShow,
    };
    check(id, life, kind, now)?;
    Ok(vec![match command {
        Command::Cancel { reason, by_citizen } => Event::Cancelled { reason, by_citizen },
        Command::Record(r) => Event::Received(r),
        Command::NoShow { note } => Event::NoShow { note },
    }])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::rules::DayKind;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).expect("a date")
    }

    fn schedule(recurrence: Recurrence, weekdays: &[u8], dates: &[&str]) -> ScheduleSpec {
        ScheduleSpec {
            leader_account_id: Uuid::from_u128(1),
            title: String::new(),
            address: "a".into(),
            region_code: "360702".into(),
            recurrence,
            weekdays: weekdays.to_vec(),
            dates: dates.iter().map(|s| d(s)).collect(),
            slots: vec![SlotTemplate { minute: 9 * 60, minutes: 30, capacity: 2 }],
            valid_from: d("2026-09-01"),
            valid_until: Some(d("2026-10-31")),
        }
    }

    /// 2026: National Day holiday Oct 1-7 (Thu Oct 1 … Wed Oct 7), make-up
    /// workday Sat Oct 10; Wed Sep 30 an ordinary workday.
    fn calendar() -> WorkCalendar {
        let mut days: Vec<(NaiveDate, DayKind)> =
            ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"]
                .iter()
                .map(|s| (d(s), DayKind::Holiday))
                .collect();
        days.push((d("2026-10-10"), DayKind::Workday));
        WorkCalendar::new(days)
    }

    #[test]
    fn recurrence_meets_the_calendar() {
        let cal = calendar();
        let weekly_wed = schedule(Recurrence::Weekly, &[3], &[]);
        let weekly_sat = schedule(Recurrence::Weekly, &[6], &[]);
        let workdays = schedule(Recurrence::Workdays, &[], &[]);
        let dates = schedule(Recurrence::Dates, &[], &["2026-10-03", "2026-09-30"]);
        let workdays_plus = schedule(Recurrence::Workdays, &[], &["2026-10-04"]);
        // (schedule, date, holds)
        let table: [(&ScheduleSpec, &str, bool); 18] = [
            (&weekly_wed, "2026-09-30", true),  // a Wednesday workday
            (&weekly_wed, "2026-10-07", false), // a Wednesday in the holiday
            (&weekly_wed, "2026-10-14", true),
            (&weekly_wed, "2026-10-08", false), // Thursday
            (&weekly_wed, "2026-08-26", false), // before valid_from
            (&weekly_wed, "2026-11-04", false), // after valid_until
            (&weekly_sat, "2026-10-10", true),  // a Saturday made a workday
            (&weekly_sat, "2026-10-17", false), // an ordinary Saturday
            (&workdays, "2026-09-30", true),
            (&workdays, "2026-10-01", false), // holiday
            (&workdays, "2026-10-03", false), // weekend
            (&workdays, "2026-10-10", true),  // make-up workday
            (&workdays, "2026-10-09", true),
            (&dates, "2026-10-03", true), // listed, though a weekend day
            (&dates, "2026-09-30", true),
            (&dates, "2026-10-09", false),
            (&workdays_plus, "2026-10-04", true), // listed on a holiday weekend
            (&workdays_plus, "2026-10-06", false),
        ];
        for (spec, date, want) in table {
            assert_eq!(spec.holds(&cal, d(date)), want, "{:?} {date}", spec.recurrence);
        }
        assert_eq!(
            workdays.days(&cal, d("2026-09-30"), d("2026-10-12")),
            vec![d("2026-09-30"), d("2026-10-08"), d("2026-10-09"), d("2026-10-10"), d("2026-10-12")]
        );
        assert!(workdays.slot(&cal, d("2026-09-30"), 540).is_some());
        assert!(workdays.slot(&cal, d("2026-09-30"), 600).is_none());
        assert!(workdays.slot(&cal, d("2026-10-01"), 540).is_none());
    }

    fn facts(now: DateTime<Utc>) -> BookingFacts {
        BookingFacts {
            retired: false,
            slot: Some(SlotTemplate { minute: 540, minutes: 30, capacity: 2 }),
            starts_at: slot_start(d("2026-09-30"), 540),
            now,
            taken: 0,
            same_matter_open: false,
            citizen_open: 0,
            max_open_per_citizen: 2,
        }
    }

    #[test]
    fn booking_checks() {
        let before = slot_start(d("2026-09-29"), 600);
        let id = Uuid::from_u128(9);
        let reason = |f: BookingFacts| check_booking(id, &f).err().map(|e| e.reason());
        assert_eq!(reason(facts(before)), None);
        assert_eq!(reason(BookingFacts { taken: 1, ..facts(before) }), None);
        assert_eq!(reason(BookingFacts { taken: 2, ..facts(before) }), Some(Reason::ReceptionSlotFull));
        assert_eq!(reason(BookingFacts { retired: true, ..facts(before) }), Some(Reason::ReceptionScheduleRetired));
        assert_eq!(reason(BookingFacts { slot: None, ..facts(before) }), Some(Reason::ReceptionNoSuchSlot));
        let at_start = slot_start(d("2026-09-30"), 540);
        assert_eq!(reason(facts(at_start)), Some(Reason::ReceptionSlotStarted));
        assert_eq!(
            reason(BookingFacts { same_matter_open: true, ..facts(before) }),
            Some(Reason::ReceptionMatterAlreadyBooked)
        );
        assert_eq!(reason(BookingFacts { citizen_open: 1, ..facts(before) }), None);
        assert_eq!(reason(BookingFacts { citizen_open: 2, ..facts(before) }), Some(Reason::ReceptionBookingLimit));
    }

    #[test]
    fn one_matter_one_key() {
        let case = Uuid::from_u128(5);
        assert_eq!(matter_key(None, "  Road  REPAIR "), matter_key(None, "road repair"));
        assert_eq!(matter_key(None, "路面　维修"), matter_key(None, "路面 维修"));
        assert_ne!(matter_key(None, "road repair"), matter_key(None, "road repairs"));
        assert_eq!(matter_key(Some(case), "a"), matter_key(Some(case), "b"));
        assert_ne!(matter_key(Some(case), "a"), matter_key(None, "a"));
    }

    #[test]
    fn slot_times_are_beijing_time() {
        let start = slot_start(d("2026-09-30"), 9 * 60);
        assert_eq!(start.to_rfc3339(), "2026-09-30T01:00:00+00:00");
        assert_eq!(parse_time("09:30"), Some(570));
        assert_eq!(parse_time("9:30"), None);
        assert_eq!(parse_time("24:00"), None);
        assert_eq!(format_time(570), "09:30");
    }

    fn booked() -> Lifecycle {
        apply(
            None,
            &Event::Booked {
                schedule_id: Uuid::from_u128(1),
                citizen_account_id: Uuid::from_u128(2),
                date: d("2026-09-30"),
                minute: 540,
                minutes: 30,
                title: "t".into(),
                description: "d".into(),
                address: "a".into(),
                case_id: None,
            },
        )
    }

    #[test]
    fn transitions() {
        let id = Uuid::from_u128(3);
        let before = slot_start(d("2026-09-30"), 500);
        let during = slot_start(d("2026-09-30"), 550);
        let after = slot_start(d("2026-09-30"), 600);
        let reception = Reception {
            outcome: Outcome::ResolvedOnSite,
            attendees: vec![],
            notes: "n".into(),
            case_id: None,
            ownership_taken: false,
            by: id,
            at: during,
        };
        let cancel = || Command::Cancel { reason: String::new(), by_citizen: true };
        let record = || Command::Record(reception.clone());
        let no_show = || Command::NoShow { note: String::new() };
        let life = booked();
        let cancelled = apply(Some(life.clone()), &Event::Cancelled { reason: String::new(), by_citizen: true });
        let received = apply(Some(life.clone()), &Event::Received(reception.clone()));
        let missed = apply(Some(life.clone()), &Event::NoShow { note: String::new() });
        let r = |l: &Lifecycle, c: Command, now| decide(id, l, c, now).err().map(|e| e.reason());
        // (state, command, time, want)
        let table: Vec<(&Lifecycle, Command, DateTime<Utc>, Option<Reason>)> = vec![
            (&life, cancel(), before, None),
            (&life, cancel(), during, Some(Reason::ReceptionSlotStarted)),
            (&life, record(), before, Some(Reason::ReceptionSlotNotStarted)),
            (&life, record(), during, None),
            (&life, record(), after, None),
            (&life, no_show(), during, Some(Reason::ReceptionSlotNotStarted)),
            (&life, no_show(), after, None),
        ];
        for (l, c, now, want) in table {
            assert_eq!(r(l, c.clone(), now), want, "{c:?} at {now}");
        }
        for ended in [&cancelled, &received, &missed] {
            for c in [cancel(), record(), no_show()] {
                assert_eq!(r(ended, c, after), Some(Reason::ReceptionBookingClosed), "{:?}", ended.state);
            }
        }
        assert_eq!(cancelled.state, BookingState::Cancelled);
        assert_eq!(received.state, BookingState::Received);
        assert_eq!(missed.state, BookingState::NoShow);
    }
}
