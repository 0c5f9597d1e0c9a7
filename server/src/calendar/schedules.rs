//! Which years' holiday schedules are loaded (pure). The State Council
//! publishes each year's 部分节假日安排 late in the year before; until a
//! year is loaded, the calendar can only assume the plain week there, so a
//! deadline counted over its days is provisional.

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate};

/// The years whose schedule is loaded (`calendar_years`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedules {
    years: BTreeSet<i32>,
}

impl Schedules {
    pub fn new(years: impl IntoIterator<Item = i32>) -> Self {
        Schedules { years: years.into_iter().collect() }
    }

    pub fn has(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// Whether every day in `[from, to]` lies in a loaded year (true for an
    /// empty range).
    pub fn cover(&self, from: NaiveDate, to: NaiveDate) -> bool {
        from > to || (from.year()..=to.year()).all(|year| self.has(year))
    }

    /// Whether a deadline of `period_end` counted from `start` assumed the
    /// plain week somewhere: a day it counted, `(start, end]`, lies in a
    /// year not loaded.
    pub fn is_provisional(&self, start: NaiveDate, end: NaiveDate) -> bool {
        match start.succ_opt() {
            Some(first) => !self.cover(first, end),
            None => false,
        }
    }

    /// Whether a stored deadline `due`, whose clock started at most
    /// `longest_clock_days` before it, may have assumed the plain week. Only
    /// a deadline still ahead on `today` is marked: a passed one no longer
    /// binds anyone.
    pub fn marks(&self, due: NaiveDate, today: NaiveDate, longest_clock_days: u64) -> bool {
        let start = due.checked_sub_days(Days::new(longest_clock_days)).unwrap_or(NaiveDate::MIN);
        due >= today && self.is_provisional(start, due)
    }

    /// The years from `today`'s to the next one that are not loaded: what the
    /// server warns about.
    pub fn missing_ahead(&self, today: NaiveDate) -> Vec<i32> {
        (today.year()..=today.year() + 1).filter(|year| !self.has(*year)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(raw: &str) -> NaiveDate {
        crate::calendar::rules::parse_date(raw).expect("a test date")
    }

    #[test]
    fn a_deadline_is_provisional_when_a_counted_day_is_in_an_unloaded_year() {
        let s = Schedules::new([2025, 2026]);
        assert!(!s.is_provisional(d("2026-10-01"), d("2026-11-30")));
        assert!(!s.is_provisional(d("2025-12-01"), d("2026-01-30")), "across two loaded years");
        assert!(s.is_provisional(d("2026-12-06"), d("2027-02-04")), "runs into 2027");
        // The start day is not counted (民法典 Art. 201).
        assert!(!s.is_provisional(d("2026-12-31"), d("2026-12-31")));
        assert!(s.is_provisional(d("2026-12-31"), d("2027-01-01")));
        assert!(s.is_provisional(d("2024-12-20"), d("2025-01-10")), "counted over 2024");
        assert!(!s.is_provisional(NaiveDate::MAX, NaiveDate::MAX));
        assert!(Schedules::default().is_provisional(d("2026-01-01"), d("2026-01-02")));
    }

    #[test]
    fn stored_deadlines_are_marked_while_still_ahead() {
        let s = Schedules::new([2025, 2026]);
        let today = d("2026-12-06");
        assert!(s.marks(d("2027-02-04"), today, 120));
        assert!(!s.marks(d("2026-12-20"), today, 120));
        assert!(!s.marks(d("2026-12-06"), d("2026-12-06"), 400), "a clock long enough to start in 2025's past is fine");
        assert!(!s.marks(d("2027-02-04"), d("2027-02-05"), 120), "passed");
        let gap = Schedules::new([2025, 2027]);
        assert!(gap.marks(d("2027-01-20"), d("2027-01-02"), 120), "counted over 2026, not loaded");
        assert!(!gap.marks(d("2027-06-20"), d("2027-01-02"), 120));
    }

    #[test]
    fn the_missing_years_ahead_are_this_one_and_the_next() {
        assert_eq!(Schedules::new([2025, 2026]).missing_ahead(d("2026-12-06")), vec![2027]);
        assert_eq!(Schedules::new([2026, 2027]).missing_ahead(d("2026-12-06")), Vec::<i32>::new());
        assert_eq!(Schedules::new([2025]).missing_ahead(d("2026-03-01")), vec![2026, 2027]);
    }
}
