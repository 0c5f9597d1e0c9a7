//! The workday calendar and the clocks on it (pure: no I/O).
//!
//! The law counts some periods in calendar days and some in working days
//! (工作日; e.g. 信访工作条例 Art. 23: an objection within 5 working days).
//! China's working days are Monday–Friday, except public holidays (放假),
//! plus make-up working days (调休上班: a Saturday or Sunday that is
//! worked). A [`WorkCalendar`] holds those exceptions; every other day
//! follows the default week.
//!
//! Counting (民法典 Art. 201, 203):
//! * the day of the event is not counted; a period begins the next day;
//! * a period in calendar days whose last day is not a working day ends on
//!   the next working day instead;
//! * a period in working days ends on its n-th working day.
//!
//! Overdue is defined once, by [`is_overdue`], with its SQL twin
//! [`super::store::overdue`].

use std::collections::{BTreeMap, HashSet};

use chrono::{Datelike, NaiveDate, Weekday};

use crate::error::{AppError, FieldViolation};
use crate::wire::wire_enum;

/// First and last year the calendar API accepts.
pub const MIN_YEAR: i32 = 2000;
pub const MAX_YEAR: i32 = 2100;
/// Longest note on a calendar day, in characters (the column's CHECK says
/// the same).
pub const MAX_NOTE_CHARS: usize = 100;
/// Most days one SetCalendarYear may list (every day of a leap year).
pub const MAX_DAYS_PER_YEAR: usize = 366;
/// Longest period ComputeDeadline accepts, in calendar or working days
/// (about ten years).
pub const MAX_PERIOD: u32 = 3660;

wire_enum! {
    /// An exception to the default week (values match
    /// `petition.v1.CalendarDayKind` and the `calendar_days.kind` column).
    DayKind {
        /// A Monday–Friday that is off (public holiday, 放假).
        Holiday = 1,
        /// A Saturday or Sunday that is worked (make-up workday, 调休上班).
        Workday = 2,
    }
}

impl DayKind {
    /// Whether this kind of exception may fall on `date`: a holiday on a
    /// weekday, a make-up workday on a weekend day.
    pub fn fits(self, date: NaiveDate) -> bool {
        match self {
            Self::Holiday => !is_weekend(date),
            Self::Workday => is_weekend(date),
        }
    }
}

/// Saturday or Sunday.
pub fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A period of time after an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Calendar days (日); the last day moves to the next working day if it
    /// is not one (民法典 Art. 203).
    Days(u32),
    /// Working days (工作日).
    Workdays(u32),
}

/// The working-day calendar: the default week plus exceptions.
///
/// It knows only the exceptions it was built from; a store loads those of
/// the range a computation needs (see `store::load_calendar_around`). Days
/// outside that range follow the default week.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    overrides: BTreeMap<NaiveDate, DayKind>,
}

impl WorkCalendar {
    /// A calendar with these exceptions. An exception that does not change
    /// its day (a holiday on a weekend day, a make-up workday on a weekday)
    /// changes nothing.
    pub fn new(overrides: impl IntoIterator<Item = (NaiveDate, DayKind)>) -> Self {
        WorkCalendar { overrides: overrides.into_iter().collect() }
    }

    /// The exceptions, ordered by date.
    pub fn overrides(&self) -> impl Iterator<Item = (NaiveDate, DayKind)> + '_ {
        self.overrides.iter().map(|(date, kind)| (*date, *kind))
    }

    /// Whether `date` is a working day.
    pub fn is_workday(&self, date: NaiveDate) -> bool {
        match self.overrides.get(&date) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            None => !is_weekend(date),
        }
    }

    /// `date` if it is a working day, else the next working day. Saturates
    /// at the last representable date.
    pub fn next_workday_from(&self, date: NaiveDate) -> NaiveDate {
        let mut day = date;
        while !self.is_workday(day) {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        day
    }

    /// The last day of `period` after the event on `start` (`start` itself
    /// is not counted: 期间开始的当日不计入, 民法典 Art. 201).
    ///
    /// * `Days(n)`: `start + n`; if that is not a working day, the next
    ///   working day (期间的最后一日是法定休假日的，以法定休假日结束的次日为
    ///   期间的最后一日, Art. 203).
    /// * `Workdays(n)`: the n-th working day after `start`.
    /// * A period of 0 ends on `start`, whatever day it is.
    ///
    /// Takes time linear in n; callers bound n (the API by [`MAX_PERIOD`]).
    /// Saturates at the last representable date.
    pub fn deadline(&self, start: NaiveDate, period: Period) -> NaiveDate {
        match period {
            Period::Days(0) | Period::Workdays(0) => start,
            Period::Days(n) => {
                let last = start.checked_add_days(chrono::Days::new(u64::from(n))).unwrap_or(NaiveDate::MAX);
                self.next_workday_from(last)
            }
            Period::Workdays(n) => {
                let mut day = start;
                let mut counted = 0;
                while counted < n {
                    match day.succ_opt() {
                        Some(next) => day = next,
                        None => break,
                    }
                    if self.is_workday(day) {
                        counted += 1;
                    }
                }
                day
            }
        }
    }

    /// Working days in `(from, to]`: how many working days after `from`
    /// have passed by the end of `to`; 0 if `to <= from`. For a deadline
    /// `d`, `workdays_between(today, d)` is the working days left.
    pub fn workdays_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to <= from {
            return 0;
        }
        // Whole weeks hold 5 default working days; then the remaining days
        // one by one; then the exceptions in range.
        let span = (to - from).num_days();
        let mut count = span / 7 * 5;
        let mut day = from + chrono::Days::new((span / 7 * 7) as u64);
        while day < to {
            match day.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
            if !is_weekend(day) {
                count += 1;
            }
        }
        let Some(first) = from.succ_opt() else {
            return count;
        };
        for (date, kind) in self.overrides.range(first..=to) {
            match (kind, is_weekend(*date)) {
                (DayKind::Holiday, false) => count -= 1,
                (DayKind::Workday, true) => count += 1,
                _ => {}
            }
        }
        count
    }
}

/// Whether something due on `due` is overdue on `today` (both Beijing
/// dates): only after the due day has passed. The due day itself is still
/// on time (期间的最后一日的截止时间为二十四时, 民法典 Art. 203).
///
/// THE single definition of overdue. Its SQL twin, for filters and
/// statistics, is [`super::store::overdue`] /
/// [`super::store::OVERDUE_SQL_TODAY`] (`due < (now() AT TIME ZONE
/// 'Asia/Shanghai')::date`). The two must change together.
pub fn is_overdue(due: NaiveDate, today: NaiveDate) -> bool {
    today > due
}

/// An ISO 8601 calendar date `YYYY-MM-DD`, exactly (no signs, no single
/// digits, no time).
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let bytes = raw.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return None;
    }
    let year = raw[0..4].parse().ok()?;
    let month = raw[5..7].parse().ok()?;
    let day = raw[8..10].parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// The `YYYY-MM-DD` form of a date.
pub fn format_date(date: NaiveDate) -> String {
    // Not `date.format(..)`: that parses its pattern at every call, and
    // every listed case formats a dozen dates.
    format!("{:04}-{:02}-{:02}", date.year(), date.month(), date.day())
}

/// A year the calendar API accepts.
pub fn validate_year(field: &str, year: i32) -> Result<i32, AppError> {
    if (MIN_YEAR..=MAX_YEAR).contains(&year) {
        Ok(year)
    } else {
        Err(AppError::invalid(field, format!("must be a year from {MIN_YEAR} to {MAX_YEAR}")))
    }
}

/// One day of a calendar request as received (no wire types here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawDay<'a> {
    pub date: &'a str,
    pub kind: i32,
    pub note: &'a str,
}

/// A validated exception to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEntry {
    pub date: NaiveDate,
    pub kind: DayKind,
    /// Trimmed, at most [`MAX_NOTE_CHARS`] characters.
    pub note: String,
}

/// Checks a year's exceptions for SetCalendarYear: the year in range; at
/// most [`MAX_DAYS_PER_YEAR`] days; each date `YYYY-MM-DD`, inside the year,
/// listed once, and on a weekday for a holiday or a weekend day for a
/// make-up workday (`days[i].date`); each kind known (`days[i].kind`); each
/// note short and without control characters (`days[i].note`). Returns the
/// entries ordered by date.
pub fn validate_year_days(year: i32, days: &[RawDay<'_>]) -> Result<Vec<CalendarEntry>, AppError> {
    let year = validate_year("year", year)?;
    if days.len() > MAX_DAYS_PER_YEAR {
        return Err(AppError::invalid("days", format!("must list at most {MAX_DAYS_PER_YEAR} days")));
    }
    let mut violations = Vec::new();
    let mut seen: HashSet<NaiveDate> = HashSet::new();
    let mut entries = Vec::with_capacity(days.len());
    for (i, raw) in days.iter().enumerate() {
        let date_field = format!("days[{i}].date");
        let kind = DayKind::from_i32(raw.kind);
        let date = match parse_date(raw.date) {
            None => {
                violations.push(FieldViolation::new(&date_field, "must be a date YYYY-MM-DD"));
                None
            }
            Some(date) if date.year() != year => {
                violations.push(FieldViolation::new(&date_field, format!("must be in {year}")));
                None
            }
            Some(date) if !seen.insert(date) => {
                violations.push(FieldViolation::new(&date_field, "is listed more than once"));
                None
            }
            Some(date) => match kind {
                Some(DayKind::Holiday) if !DayKind::Holiday.fits(date) => {
                    violations.push(FieldViolation::new(
                        &date_field,
                        "is a Saturday or Sunday: a holiday must fall on a weekday (weekends are off anyway)",
                    ));
                    None
                }
                Some(DayKind::Workday) if !DayKind::Workday.fits(date) => {
                    violations.push(FieldViolation::new(
                        &date_field,
                        "is a weekday: a make-up workday must fall on a Saturday or Sunday",
                    ));
                    None
                }
                _ => Some(date),
            },
        };
        if kind.is_none() {
            violations.push(FieldViolation::new(format!("days[{i}].kind"), "must be HOLIDAY or WORKDAY"));
        }
        let note = crate::text::one_line(&format!("days[{i}].note"), raw.note, 0, MAX_NOTE_CHARS, &mut violations);
        if let (Some(date), Some(kind)) = (date, kind) {
            entries.push(CalendarEntry { date, kind, note });
        }
    }
    if !violations.is_empty() {
        return Err(AppError::InvalidArgument(violations));
    }
    entries.sort_by_key(|entry| entry.date);
    Ok(entries)
}

/// A ComputeDeadline request, checked: the start date and the period.
/// Exactly one of `days` and `workdays` may be positive; both zero is a
/// period of 0 (the start date).
pub fn validate_deadline_request(start_date: &str, days: i32, workdays: i32) -> Result<(NaiveDate, Period), AppError> {
    let mut violations = Vec::new();
    let start = match parse_date(start_date) {
        None => {
            violations.push(FieldViolation::new("start_date", "must be a date YYYY-MM-DD"));
            None
        }
        Some(date) if !(MIN_YEAR..=MAX_YEAR).contains(&date.year()) => {
            violations.push(FieldViolation::new("start_date", format!("must be in {MIN_YEAR} to {MAX_YEAR}")));
            None
        }
        Some(date) => Some(date),
    };
    let mut amount = |field: &str, value: i32| match u32::try_from(value) {
        Ok(n) if n <= MAX_PERIOD => Some(n),
        Ok(_) => {
            violations.push(FieldViolation::new(field, format!("must be at most {MAX_PERIOD}")));
            None
        }
        Err(_) => {
            violations.push(FieldViolation::new(field, "must not be negative"));
            None
        }
    };
    let days = amount("days", days);
    let workdays = amount("workdays", workdays);
    let period = match (days, workdays) {
        (Some(d), Some(w)) if d > 0 && w > 0 => {
            violations.push(FieldViolation::new("workdays", "set days or workdays, not both"));
            None
        }
        (Some(d), Some(0)) => Some(Period::Days(d)),
        (Some(0), Some(w)) => Some(Period::Workdays(w)),
        _ => None,
    };
    match (start, period) {
        (Some(start), Some(period)) if violations.is_empty() => Ok((start, period)),
        _ => Err(AppError::InvalidArgument(violations)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn iso(raw: &str) -> NaiveDate {
        parse_date(raw).unwrap()
    }

    /// The official 2025 schedule (国办发明电〔2024〕12号), as seeded.
    fn cal_2025() -> WorkCalendar {
        let holidays = [
            "2025-01-01",
            "2025-01-28",
            "2025-01-29",
            "2025-01-30",
            "2025-01-31",
            "2025-02-03",
            "2025-02-04",
            "2025-04-04",
            "2025-05-01",
            "2025-05-02",
            "2025-05-05",
            "2025-06-02",
            "2025-10-01",
            "2025-10-02",
            "2025-10-03",
            "2025-10-06",
            "2025-10-07",
            "2025-10-08",
        ];
        let workdays = ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"];
        WorkCalendar::new(
            holidays
                .iter()
                .map(|h| (iso(h), DayKind::Holiday))
                .chain(workdays.iter().map(|w| (iso(w), DayKind::Workday))),
        )
    }

    /// 2025 plus the start of the official 2026 schedule (元旦 Jan 1–3, make-up Jan 4).
    fn cal_2025_2026() -> WorkCalendar {
        WorkCalendar::new(cal_2025().overrides().chain([
            (d(2026, 1, 1), DayKind::Holiday),
            (d(2026, 1, 2), DayKind::Holiday),
            (d(2026, 1, 4), DayKind::Workday),
        ]))
    }

    fn naive_workdays_between(cal: &WorkCalendar, from: NaiveDate, to: NaiveDate) -> i64 {
        from.iter_days().skip(1).take_while(|day| *day <= to).filter(|day| cal.is_workday(*day)).count() as i64
    }

    #[test]
    fn default_week() {
        let cal = WorkCalendar::default();
        // 2025-03-03 is a Monday.
        let week: Vec<bool> = (3..=9).map(|day| cal.is_workday(d(2025, 3, day))).collect();
        assert_eq!(week, [true, true, true, true, true, false, false]);
        assert!(is_weekend(d(2025, 3, 8)) && is_weekend(d(2025, 3, 9)));
        assert!(!is_weekend(d(2025, 3, 7)));
    }

    #[test]
    fn exceptions_override_the_week() {
        let cal = cal_2025();
        assert!(!cal.is_workday(d(2025, 10, 1)), "National Day");
        assert!(!cal.is_workday(d(2025, 10, 4)), "weekend inside the holiday");
        assert!(cal.is_workday(d(2025, 9, 28)), "make-up Sunday");
        assert!(cal.is_workday(d(2025, 10, 11)), "make-up Saturday");
        assert!(!cal.is_workday(d(2025, 10, 12)), "a plain Sunday");
        assert!(cal.is_workday(d(2025, 10, 9)));
        // Exceptions that change nothing.
        let odd = WorkCalendar::new([(d(2025, 3, 8), DayKind::Holiday), (d(2025, 3, 10), DayKind::Workday)]);
        assert!(!odd.is_workday(d(2025, 3, 8)));
        assert!(odd.is_workday(d(2025, 3, 10)));
        assert!(DayKind::Holiday.fits(d(2025, 3, 10)) && !DayKind::Holiday.fits(d(2025, 3, 8)));
        assert!(DayKind::Workday.fits(d(2025, 3, 9)) && !DayKind::Workday.fits(d(2025, 3, 7)));
        assert_eq!(DayKind::from_i32(1), Some(DayKind::Holiday));
        assert_eq!(DayKind::from_i32(2), Some(DayKind::Workday));
        assert_eq!(DayKind::from_i32(0), None);
        assert_eq!(DayKind::from_i32(3), None);
    }

    /// (start, period, expected) on the 2025–2026 official calendar, worked
    /// out by hand.
    #[test]
    fn deadline_table() {
        use Period::*;
        let cal = cal_2025_2026();
        let table: &[(&str, Period, &str, &str)] = &[
            // A plain week (2025-03-03 Monday … 03-09 Sunday).
            ("2025-03-03", Workdays(1), "2025-03-04", "next day"),
            ("2025-03-03", Workdays(4), "2025-03-07", "Friday"),
            ("2025-03-03", Workdays(5), "2025-03-10", "skips the weekend"),
            ("2025-03-07", Workdays(1), "2025-03-10", "Friday → Monday"),
            ("2025-03-08", Workdays(1), "2025-03-10", "from Saturday"),
            ("2025-03-09", Workdays(1), "2025-03-10", "from Sunday"),
            ("2025-03-03", Workdays(10), "2025-03-17", "two weeks"),
            ("2025-03-03", Days(4), "2025-03-07", "lands on Friday"),
            ("2025-03-03", Days(5), "2025-03-10", "Saturday rolls to Monday"),
            ("2025-03-03", Days(6), "2025-03-10", "Sunday rolls to Monday"),
            ("2025-03-03", Days(7), "2025-03-10", "lands on Monday"),
            ("2025-03-07", Days(1), "2025-03-10", "Friday + 1 = Saturday → Monday"),
            // Zero-length periods end on the start, whatever day it is.
            ("2025-03-08", Workdays(0), "2025-03-08", "Workdays(0) on a Saturday"),
            ("2025-03-08", Days(0), "2025-03-08", "Days(0) on a Saturday"),
            ("2025-10-01", Days(0), "2025-10-01", "Days(0) on a holiday"),
            ("2025-03-05", Workdays(0), "2025-03-05", "Workdays(0) on a weekday"),
            // National Day + Mid-Autumn 2025: Oct 1–8 off, Sep 28 (Sun) and Oct 11 (Sat) worked.
            ("2025-09-20", Days(15), "2025-10-09", "Oct 5 is off; the holiday ends Oct 8"),
            ("2025-09-20", Days(8), "2025-09-28", "lands on the make-up Sunday"),
            ("2025-09-20", Days(7), "2025-09-28", "Saturday Sep 27 rolls to the make-up Sunday"),
            ("2025-09-26", Workdays(1), "2025-09-28", "make-up Sunday counts"),
            ("2025-09-26", Workdays(2), "2025-09-29", ""),
            ("2025-09-26", Workdays(3), "2025-09-30", ""),
            ("2025-09-26", Workdays(4), "2025-10-09", "jumps the holiday"),
            ("2025-09-26", Workdays(5), "2025-10-10", ""),
            ("2025-09-26", Workdays(6), "2025-10-11", "make-up Saturday counts"),
            ("2025-09-26", Workdays(7), "2025-10-13", "Oct 12 Sunday is off"),
            ("2025-09-30", Days(1), "2025-10-09", "first day of the holiday"),
            ("2025-09-30", Days(8), "2025-10-09", "last day of the holiday"),
            ("2025-09-30", Days(9), "2025-10-09", "the first day back"),
            ("2025-09-30", Days(11), "2025-10-11", "the make-up Saturday"),
            ("2025-09-30", Days(12), "2025-10-13", "Sunday after it"),
            ("2025-10-01", Workdays(1), "2025-10-09", "from inside the holiday"),
            ("2025-10-05", Workdays(5), "2025-10-14", "Oct 9, 10, 11 (Sat), 13, 14"),
            // Spring Festival 2025: Jan 28 – Feb 4 off, Jan 26 (Sun) and Feb 8 (Sat) worked.
            ("2025-01-24", Workdays(1), "2025-01-26", "make-up Sunday"),
            ("2025-01-24", Workdays(2), "2025-01-27", ""),
            ("2025-01-24", Workdays(3), "2025-02-05", "jumps the festival"),
            ("2025-01-24", Workdays(6), "2025-02-08", "make-up Saturday"),
            ("2025-01-24", Workdays(7), "2025-02-10", ""),
            ("2025-01-24", Days(7), "2025-02-05", "Jan 31 is off until Feb 4"),
            ("2025-01-24", Days(15), "2025-02-08", "the make-up Saturday is a working day"),
            ("2025-01-24", Days(16), "2025-02-10", "Sunday Feb 9 → Monday"),
            ("2025-01-25", Days(1), "2025-01-26", "a Sunday that is worked"),
            // Year boundaries.
            ("2024-12-31", Days(1), "2025-01-02", "New Year's Day 2025 rolls"),
            ("2024-12-31", Workdays(1), "2025-01-02", ""),
            ("2025-12-31", Days(1), "2026-01-04", "2026 New Year: Jan 1–3 off, Jan 4 (Sun) worked"),
            ("2025-12-31", Workdays(1), "2026-01-04", ""),
            ("2025-12-31", Workdays(2), "2026-01-05", ""),
            ("2025-12-26", Days(10), "2026-01-05", "Jan 5 Monday"),
            ("2025-12-30", Days(3), "2026-01-04", "Jan 2 holiday → Jan 4 make-up"),
            // Leap day (2024 has no exceptions here: default week).
            ("2024-02-28", Days(1), "2024-02-29", "leap day, a Thursday"),
            ("2024-02-28", Workdays(2), "2024-03-01", "leap day counts"),
            ("2024-02-29", Days(365), "2025-02-28", "a year after a leap day"),
            ("2024-02-29", Days(366), "2025-03-03", "Mar 1 2025 is a Saturday"),
            ("2028-02-28", Days(1), "2028-02-29", "leap day 2028, a Tuesday"),
            ("2023-02-28", Days(1), "2023-03-01", "no leap day in 2023"),
        ];
        for (start, period, want, note) in table {
            assert_eq!(cal.deadline(iso(start), *period), iso(want), "{start} {period:?}: {note}");
        }
    }

    #[test]
    fn deadline_without_exceptions_in_range_follows_the_week() {
        let cal = cal_2025();
        // 2024 has no exceptions in this calendar: 2024-10-01 is a plain Tuesday.
        assert_eq!(cal.deadline(d(2024, 9, 30), Period::Days(1)), d(2024, 10, 1));
        assert_eq!(cal.deadline(d(2024, 9, 30), Period::Workdays(5)), d(2024, 10, 7));
    }

    #[test]
    fn extreme_dates_saturate_instead_of_panicking() {
        let cal = WorkCalendar::default();
        let near_end = NaiveDate::MAX - chrono::Days::new(3);
        assert!(cal.deadline(near_end, Period::Days(u32::MAX)) <= NaiveDate::MAX);
        assert!(cal.deadline(near_end, Period::Workdays(10)) <= NaiveDate::MAX);
        assert_eq!(cal.workdays_between(NaiveDate::MAX, NaiveDate::MIN), 0);
        assert!(cal.workdays_between(near_end, NaiveDate::MAX) <= 3);
        let _ = cal.next_workday_from(NaiveDate::MAX);
    }

    /// For every start in 2025 (and the days around it) and n in 0..40.
    #[test]
    fn deadline_properties() {
        let cal = cal_2025_2026();
        let mut start = d(2024, 12, 20);
        while start <= d(2026, 1, 10) {
            let mut previous_days = start;
            let mut previous_workdays = start;
            for n in 0..40u32 {
                let by_days = cal.deadline(start, Period::Days(n));
                let by_workdays = cal.deadline(start, Period::Workdays(n));
                let plain_end = start + chrono::Days::new(u64::from(n));
                assert!(by_days >= plain_end, "{start} Days({n})");
                if n == 0 {
                    assert_eq!(by_days, start);
                    assert_eq!(by_workdays, start);
                } else {
                    assert!(cal.is_workday(by_days), "{start} Days({n}) = {by_days}");
                    assert!(cal.is_workday(by_workdays), "{start} Workdays({n}) = {by_workdays}");
                    // Only days off lie between the plain end and the deadline.
                    assert!(plain_end.iter_days().take_while(|x| *x < by_days).all(|x| !cal.is_workday(x)));
                }
                assert_eq!(cal.workdays_between(start, by_workdays), i64::from(n), "{start} Workdays({n})");
                // The n-th working day is the first day with n working days behind it.
                if n > 0 {
                    let before = by_workdays.pred_opt().unwrap();
                    assert_eq!(cal.workdays_between(start, before), i64::from(n) - 1);
                }
                assert!(by_days >= previous_days && by_workdays >= previous_workdays, "{start} monotonic at {n}");
                if n > 0 {
                    assert!(by_workdays > previous_workdays, "{start} strictly increasing at {n}");
                }
                // A period of n working days never ends before n calendar days.
                assert!(by_workdays >= plain_end);
                previous_days = by_days;
                previous_workdays = by_workdays;
            }
            start = start.succ_opt().unwrap();
        }
    }

    #[test]
    fn workdays_between_matches_counting_day_by_day() {
        for cal in [WorkCalendar::default(), cal_2025_2026()] {
            let from_dates = [d(2024, 12, 28), d(2025, 1, 24), d(2025, 9, 26), d(2025, 10, 4), d(2025, 12, 31)];
            for from in from_dates {
                for offset in -3..120i64 {
                    let to = if offset < 0 {
                        from - chrono::Days::new(offset.unsigned_abs())
                    } else {
                        from + chrono::Days::new(offset as u64)
                    };
                    assert_eq!(cal.workdays_between(from, to), naive_workdays_between(&cal, from, to), "{from} → {to}");
                }
            }
        }
        let cal = cal_2025();
        // Sep 26 → Oct 12, 2025: Sep 28, 29, 30, Oct 9, 10, 11.
        assert_eq!(cal.workdays_between(d(2025, 9, 26), d(2025, 10, 12)), 6);
        assert_eq!(cal.workdays_between(d(2025, 10, 1), d(2025, 10, 8)), 0);
        assert_eq!(cal.workdays_between(d(2025, 10, 9), d(2025, 10, 9)), 0, "empty range");
        assert_eq!(cal.workdays_between(d(2025, 10, 9), d(2025, 10, 1)), 0, "backwards");
        // The whole of 2025: 261 weekdays − 18 holidays + 5 make-up days.
        assert_eq!(cal.workdays_between(d(2024, 12, 31), d(2025, 12, 31)), 248);
    }

    #[test]
    fn overdue_only_after_the_due_day() {
        let due = d(2025, 10, 9);
        let table = [
            (d(2025, 10, 8), false),
            (d(2025, 10, 9), false),
            (d(2025, 10, 10), true),
            (d(2026, 1, 1), true),
            (d(2024, 1, 1), false),
        ];
        for (today, want) in table {
            assert_eq!(is_overdue(due, today), want, "due {due}, today {today}");
        }
    }

    #[test]
    fn dates_are_strict_iso() {
        assert_eq!(parse_date("2025-10-01"), Some(d(2025, 10, 1)));
        assert_eq!(parse_date("2024-02-29"), Some(d(2024, 2, 29)));
        for bad in [
            "",
            "2025-1-01",
            "2025-01-1",
            "2025/01/01",
            "20250101",
            "2025-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-01-32",
            "+2025-01-01",
            "2025-01-01T00:00",
            " 2025-01-01",
            "２０２５-01-01",
            "abcd-ef-gh",
        ] {
            assert_eq!(parse_date(bad), None, "{bad:?}");
        }
        assert_eq!(format_date(d(2025, 1, 2)), "2025-01-02");
        assert_eq!(format_date(d(2000, 12, 31)), "2000-12-31");
    }

    #[test]
    fn years_in_range() {
        assert!(validate_year("year", 2000).is_ok());
        assert!(validate_year("year", 2100).is_ok());
        assert!(validate_year("year", 1999).is_err());
        assert!(validate_year("year", 2101).is_err());
        assert!(validate_year("year", 0).is_err());
    }

    fn fields(result: Result<impl std::fmt::Debug, AppError>) -> Vec<String> {
        match result {
            Ok(_) => vec![],
            Err(AppError::InvalidArgument(v)) => v.into_iter().map(|v| v.field).collect(),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    fn raw(date: &str, kind: i32) -> RawDay<'_> {
        RawDay { date, kind, note: "" }
    }

    #[test]
    fn year_days_validation() {
        let ok = validate_year_days(
            2025,
            &[raw("2025-10-11", 2), RawDay { date: "2025-10-01", kind: 1, note: "  国庆节 " }, raw("2025-09-28", 2)],
        );
        let entries = ok.unwrap();
        let dates: Vec<NaiveDate> = entries.iter().map(|e| e.date).collect();
        assert_eq!(dates, [d(2025, 9, 28), d(2025, 10, 1), d(2025, 10, 11)], "ordered by date");
        assert_eq!(entries[1].note, "国庆节");
        assert_eq!(entries[1].kind, DayKind::Holiday);
        assert_eq!(validate_year_days(2025, &[]).unwrap(), vec![]);

        let long_note = "节".repeat(MAX_NOTE_CHARS + 1);
        let just_fits = "节".repeat(MAX_NOTE_CHARS);
        let table: Vec<(i32, Vec<RawDay<'_>>, Vec<&str>)> = vec![
            (1999, vec![], vec!["year"]),
            (2101, vec![raw("2101-01-03", 1)], vec!["year"]),
            (2025, vec![raw("2025-10-1", 1)], vec!["days[0].date"]),
            (2025, vec![raw("", 1)], vec!["days[0].date"]),
            (2025, vec![raw("2025-02-29", 1)], vec!["days[0].date"]),
            (2025, vec![raw("2026-01-01", 1)], vec!["days[0].date"]),
            (2025, vec![raw("2025-10-01", 1), raw("2025-10-01", 1)], vec!["days[1].date"]),
            (2025, vec![raw("2025-10-01", 1), raw("2025-10-01", 2)], vec!["days[1].date"]),
            (2025, vec![raw("2025-10-04", 1)], vec!["days[0].date"]),
            (2025, vec![raw("2025-10-05", 1)], vec!["days[0].date"]),
            (2025, vec![raw("2025-10-01", 2)], vec!["days[0].date"]),
            (2025, vec![raw("2025-10-01", 0)], vec!["days[0].kind"]),
            (2025, vec![raw("2025-10-01", 3)], vec!["days[0].kind"]),
            (2025, vec![raw("nope", 7)], vec!["days[0].date", "days[0].kind"]),
            (2025, vec![RawDay { date: "2025-10-01", kind: 1, note: &long_note }], vec!["days[0].note"]),
            (2025, vec![RawDay { date: "2025-10-01", kind: 1, note: &just_fits }], vec![]),
            (2025, vec![RawDay { date: "2025-10-01", kind: 1, note: "a\nb" }], vec!["days[0].note"]),
            (
                2025,
                vec![raw("2025-10-01", 1), raw("2025-10-04", 1), raw("2025-10-11", 2), raw("2025-13-01", 2)],
                vec!["days[1].date", "days[3].date"],
            ),
        ];
        for (year, days, want) in table {
            assert_eq!(fields(validate_year_days(year, &days)), want, "{year} {days:?}");
        }
        let too_many: Vec<RawDay<'_>> = (0..=MAX_DAYS_PER_YEAR).map(|_| raw("2025-10-01", 1)).collect();
        assert_eq!(fields(validate_year_days(2025, &too_many)), ["days"]);
    }

    #[test]
    fn deadline_request_validation() {
        assert_eq!(validate_deadline_request("2025-09-20", 15, 0).unwrap(), (d(2025, 9, 20), Period::Days(15)));
        assert_eq!(validate_deadline_request("2025-09-20", 0, 5).unwrap(), (d(2025, 9, 20), Period::Workdays(5)));
        assert_eq!(validate_deadline_request("2025-09-20", 0, 0).unwrap(), (d(2025, 9, 20), Period::Days(0)));
        let max = MAX_PERIOD as i32;
        assert!(validate_deadline_request("2025-09-20", max, 0).is_ok());
        let table: &[(&str, i32, i32, &[&str])] = &[
            ("", 1, 0, &["start_date"]),
            ("2025-9-20", 1, 0, &["start_date"]),
            ("1999-12-31", 1, 0, &["start_date"]),
            ("2101-01-01", 1, 0, &["start_date"]),
            ("2025-09-20", -1, 0, &["days"]),
            ("2025-09-20", 0, -1, &["workdays"]),
            ("2025-09-20", 3, 4, &["workdays"]),
            ("2025-09-20", max + 1, 0, &["days"]),
            ("2025-09-20", 0, i32::MAX, &["workdays"]),
            ("x", i32::MIN, i32::MIN, &["start_date", "days", "workdays"]),
        ];
        for (start, days, workdays, want) in table {
            assert_eq!(&fields(validate_deadline_request(start, *days, *workdays)), want, "{start} {days} {workdays}");
        }
    }
}
