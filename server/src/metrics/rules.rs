//! The metrics' pure parts: periods, the formula registry (every version
//! of every formula, docs/metrics.md), and how a figure's value is made
//! from its numerator and denominator.
//!
//! A formula is data: sums of countables (countables.rs) for its numerator
//! and denominator, and when a day's facts are final. A new formula is a
//! new version beside the old one, which stays computable.

use chrono::{Datelike, Months, NaiveDate};

use super::countables::{self, Attribution};

/// Which figure (numbers match `petition.v1.MetricId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Filings = 1,
    FilingsYearOnYear = 2,
    FirstTimeFilings = 3,
    RepeatFilings = 4,
    EscalatedFilings = 5,
    TimelyAcceptanceRate = 6,
    OnTimeCompletionRate = 7,
    CompletionRate = 8,
    SatisfactionRate = 9,
    SatisfactionRateNotRatedSatisfied = 10,
    ParticipationRate = 11,
    RepeatRate = 12,
    CessationRate = 13,
    OneVisitRate = 14,
    BacklogResolutionRate = 15,
    MediationSettlementRate = 16,
    LegalAidApplications = 17,
    LegalAidGrantRate = 18,
    LegalAidTimelyDecisionRate = 19,
}

impl Metric {
    /// Every metric, in the dashboard's order.
    pub const ALL: [Metric; 19] = [
        Metric::Filings,
        Metric::FilingsYearOnYear,
        Metric::FirstTimeFilings,
        Metric::RepeatFilings,
        Metric::EscalatedFilings,
        Metric::TimelyAcceptanceRate,
        Metric::OnTimeCompletionRate,
        Metric::CompletionRate,
        Metric::SatisfactionRate,
        Metric::SatisfactionRateNotRatedSatisfied,
        Metric::ParticipationRate,
        Metric::RepeatRate,
        Metric::CessationRate,
        Metric::OneVisitRate,
        Metric::BacklogResolutionRate,
        Metric::MediationSettlementRate,
        Metric::LegalAidApplications,
        Metric::LegalAidGrantRate,
        Metric::LegalAidTimelyDecisionRate,
    ];

    pub fn from_i32(n: i32) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| *m as i32 == n)
    }
}

/// How a figure's value is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The numerator itself (the denominator is 0).
    Count,
    /// numerator ÷ denominator (0 when the denominator is 0).
    Rate,
    /// numerator ÷ denominator − 1 (0 when the denominator is 0).
    Change,
}

/// Where a formula's figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Sums of countables (countables.rs) over windows of days.
    Counted,
    /// The mediation statistics (settled ÷ settled + failed).
    Mediation,
    /// The legal-aid applications' events (`LegalAidFigure`).
    LegalAid(LegalAidFigure),
    /// Not computable yet.
    Unavailable,
}

/// Which legal-aid figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegalAidFigure {
    Applications,
    GrantRate,
    TimelyDecisionRate,
}

/// How many days after its attribution day a fact is final and counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// On the day itself.
    SameDay,
    /// The next day: a rating window counts once its last day has passed.
    NextDay,
    /// Once the cessation window after the reply has passed.
    AfterCessation,
}

/// `coefficient × countable` terms, summed.
pub type Terms = &'static [(i64, &'static str)];

/// One version of one metric's formula.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formula {
    pub metric: Metric,
    pub id: &'static str,
    pub version: i32,
    pub shape: Shape,
    pub source: Source,
    /// Empty for counts.
    pub denominator: Terms,
    pub numerator: Terms,
    pub settle: Settle,
}

const NONE: Terms = &[];

const fn counted(
    metric: Metric,
    id: &'static str,
    version: i32,
    shape: Shape,
    denominator: Terms,
    numerator: Terms,
    settle: Settle,
) -> Formula {
    Formula { metric, id, version, shape, source: Source::Counted, denominator, numerator, settle }
}

/// The registry: every version of every formula, oldest first per metric.
pub const FORMULAS: &[Formula] = &[
    counted(Metric::Filings, "filings", 1, Shape::Count, NONE, &[(1, "filed")], Settle::SameDay),
    // The denominator counts the same days a year earlier ([`windows`]).
    counted(
        Metric::FilingsYearOnYear,
        "filings_year_on_year",
        1,
        Shape::Change,
        &[(1, "filed")],
        &[(1, "filed")],
        Settle::SameDay,
    ),
    counted(
        Metric::FirstTimeFilings,
        "first_time_filings",
        1,
        Shape::Count,
        NONE,
        &[(1, "filed_first_time")],
        Settle::SameDay,
    ),
    counted(Metric::RepeatFilings, "repeat_filings", 1, Shape::Count, NONE, &[(1, "filed_repeat")], Settle::SameDay),
    counted(
        Metric::EscalatedFilings,
        "escalated_filings",
        1,
        Shape::Count,
        NONE,
        &[(1, "filed_escalated")],
        Settle::SameDay,
    ),
    counted(
        Metric::TimelyAcceptanceRate,
        "timely_acceptance_rate",
        1,
        Shape::Rate,
        &[(1, "accepted")],
        &[(1, "accepted_in_time")],
        Settle::SameDay,
    ),
    counted(
        Metric::OnTimeCompletionRate,
        "on_time_completion_rate",
        1,
        Shape::Rate,
        &[(1, "replied")],
        &[(1, "replied_on_time")],
        Settle::SameDay,
    ),
    counted(
        Metric::CompletionRate,
        "completion_rate",
        1,
        Shape::Rate,
        &[(1, "accepted")],
        &[(1, "accepted_replied")],
        Settle::SameDay,
    ),
    // v2 also counts a case the petitioner withdrew as concluded (办结 in
    // provinces that count 撤回 as closing the matter).
    counted(
        Metric::CompletionRate,
        "completion_rate",
        2,
        Shape::Rate,
        &[(1, "accepted")],
        &[(1, "accepted_concluded")],
        Settle::SameDay,
    ),
    counted(
        Metric::SatisfactionRate,
        "satisfaction_rate",
        1,
        Shape::Rate,
        &[(1, "rated")],
        &[(1, "rated_satisfied")],
        Settle::NextDay,
    ),
    // Not rated counts as satisfied: windows − rated + rated satisfied.
    counted(
        Metric::SatisfactionRateNotRatedSatisfied,
        "satisfaction_rate_not_rated_satisfied",
        1,
        Shape::Rate,
        &[(1, "rating_windows")],
        &[(1, "rating_windows"), (-1, "rated"), (1, "rated_satisfied")],
        Settle::NextDay,
    ),
    counted(
        Metric::ParticipationRate,
        "participation_rate",
        1,
        Shape::Rate,
        &[(1, "rating_windows")],
        &[(1, "rated")],
        Settle::NextDay,
    ),
    counted(
        Metric::RepeatRate,
        "repeat_rate",
        1,
        Shape::Rate,
        &[(1, "filed")],
        &[(1, "filed_repeat")],
        Settle::SameDay,
    ),
    counted(
        Metric::CessationRate,
        "cessation_rate",
        1,
        Shape::Rate,
        &[(1, "replied")],
        &[(1, "replied_ceased")],
        Settle::AfterCessation,
    ),
    counted(
        Metric::OneVisitRate,
        "one_visit_rate",
        1,
        Shape::Rate,
        &[(1, "replied")],
        &[(1, "replied_once")],
        Settle::SameDay,
    ),
    Formula {
        metric: Metric::BacklogResolutionRate,
        id: "backlog_resolution_rate",
        version: 1,
        shape: Shape::Rate,
        source: Source::Unavailable,
        denominator: NONE,
        numerator: NONE,
        settle: Settle::SameDay,
    },
    Formula {
        metric: Metric::MediationSettlementRate,
        id: "mediation_settlement_rate",
        version: 1,
        shape: Shape::Rate,
        source: Source::Mediation,
        denominator: NONE,
        numerator: NONE,
        settle: Settle::SameDay,
    },
    legal_aid(Metric::LegalAidApplications, "legal_aid_applications", Shape::Count, LegalAidFigure::Applications),
    legal_aid(Metric::LegalAidGrantRate, "legal_aid_grant_rate", Shape::Rate, LegalAidFigure::GrantRate),
    legal_aid(
        Metric::LegalAidTimelyDecisionRate,
        "legal_aid_timely_decision_rate",
        Shape::Rate,
        LegalAidFigure::TimelyDecisionRate,
    ),
];

const fn legal_aid(metric: Metric, id: &'static str, shape: Shape, figure: LegalAidFigure) -> Formula {
    Formula {
        metric,
        id,
        version: 1,
        shape,
        source: Source::LegalAid(figure),
        denominator: NONE,
        numerator: NONE,
        settle: Settle::SameDay,
    }
}

impl Formula {
    /// The day its countables fall on (`None`: not counted).
    pub fn attribution(&self) -> Option<Attribution> {
        let first = self.numerator.first()?;
        countables::countable(first.1).map(|c| c.attribution)
    }
}

/// Inclusive days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Window {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

/// The attribution days a formula's numerator and denominator count, for
/// a period seen at the end of `as_of` (`None`: no day counts yet). Days
/// after the as-of day do not count, nor days whose facts are not final
/// by then ([`Settle`]); a change's denominator is the same days a year
/// earlier.
pub fn windows(
    formula: &Formula,
    period: Period,
    as_of: NaiveDate,
    cessation_days: i64,
) -> (Option<Window>, Option<Window>) {
    let settle = match formula.settle {
        Settle::SameDay => 0,
        Settle::NextDay => 1,
        Settle::AfterCessation => cessation_days,
    };
    let last_final = as_of.checked_sub_signed(chrono::Duration::days(settle));
    let window =
        last_final.map(|last| Window { first: period.start, last: period.end.min(last) }).filter(|w| w.last >= w.first);
    let denominator = match formula.shape {
        Shape::Change => window.map(|w| Window { first: year_earlier(w.first), last: year_earlier(w.last) }),
        _ => window,
    };
    (window, denominator)
}

/// A window as its whole months (the first days of the first and last)
/// and the days outside them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub months: Option<Window>,
    pub days: Vec<Window>,
}

fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

pub fn split(w: Window) -> Split {
    let next_month = |d: NaiveDate| month_start(d).checked_add_months(Months::new(1));
    let first = if w.first.day() == 1 { Some(w.first) } else { next_month(w.first) };
    let ends_a_month = w.last.succ_opt().is_some_and(|d| d.day() == 1);
    let last =
        if ends_a_month { Some(month_start(w.last)) } else { month_start(w.last).checked_sub_months(Months::new(1)) };
    match (first, last) {
        (Some(first), Some(last)) if first <= last => {
            let mut days = Vec::new();
            if let Some(before) = first.pred_opt().filter(|d| *d >= w.first) {
                days.push(Window { first: w.first, last: before });
            }
            if let Some(after) = next_month(last).filter(|d| *d <= w.last) {
                days.push(Window { first: after, last: w.last });
            }
            Split { months: Some(Window { first, last }), days }
        }
        _ => Split { months: None, days: vec![w] },
    }
}

/// `windows` merged where they overlap or touch, in order.
pub fn merged(mut windows: Vec<Window>) -> Vec<Window> {
    windows.sort_by_key(|w| w.first);
    let mut out: Vec<Window> = Vec::new();
    for w in windows {
        match out.last_mut() {
            Some(last) if last.last.succ_opt().is_some_and(|next| w.first <= next) => last.last = last.last.max(w.last),
            _ => out.push(w),
        }
    }
    out
}

/// `terms` summed over `window` by `count(countable, window)`.
pub fn sum(terms: Terms, window: Option<Window>, mut count: impl FnMut(&'static str, Window) -> i64) -> i64 {
    match window {
        Some(w) => terms.iter().map(|(k, c)| k * count(c, w)).sum(),
        None => 0,
    }
}

/// Version `version` of `metric`'s formula; 0 is the latest.
pub fn formula(metric: Metric, version: i32) -> Option<&'static Formula> {
    let mut versions = FORMULAS.iter().filter(|f| f.metric == metric);
    if version == 0 { versions.next_back() } else { versions.find(|f| f.version == version) }
}

/// A figure as computed.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub formula: &'static Formula,
    pub available: bool,
    pub numerator: i64,
    pub denominator: i64,
}

impl Figure {
    pub fn unavailable(formula: &'static Formula) -> Figure {
        Figure { formula, available: false, numerator: 0, denominator: 0 }
    }

    pub fn value(&self) -> f64 {
        let ratio = || if self.denominator == 0 { None } else { Some(self.numerator as f64 / self.denominator as f64) };
        match self.formula.shape {
            Shape::Count => self.numerator as f64,
            Shape::Rate => ratio().unwrap_or(0.0),
            Shape::Change => ratio().map(|r| r - 1.0).unwrap_or(0.0),
        }
    }

    /// The value as a report prints it: counts in digits; rates and changes
    /// in percent, two decimals, rounded half away from zero on the exact
    /// fraction (integers only: no binary rounding error).
    pub fn display(&self) -> String {
        match self.formula.shape {
            Shape::Count => self.numerator.to_string(),
            Shape::Rate | Shape::Change if self.denominator == 0 => "0.00".into(),
            Shape::Rate => percent(i128::from(self.numerator), i128::from(self.denominator)),
            Shape::Change => percent(i128::from(self.numerator - self.denominator), i128::from(self.denominator)),
        }
    }
}

/// `n ÷ d` in percent with two decimals (d > 0).
fn percent(n: i128, d: i128) -> String {
    let hundredths = (n.abs() * 10_000 * 2 + d) / (2 * d);
    let sign = if n < 0 && hundredths != 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", hundredths / 100, hundredths % 100)
}

/// A period of whole days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// How a period was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodSpec {
    Month(String),
    Quarter(String),
    Year(i32),
    Range { start: Option<NaiveDate>, end: Option<NaiveDate> },
}

/// Most days a range may span.
pub const MAX_RANGE_DAYS: i64 = 3_660;

/// The period asked for, or what is wrong with it (field, description).
pub fn period(spec: &PeriodSpec) -> Result<Period, (&'static str, &'static str)> {
    let first = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1);
    let months = |start: NaiveDate, n: u32| {
        start.checked_add_months(Months::new(n)).and_then(|d| d.pred_opt()).map(|end| Period { start, end })
    };
    let year_ok = |y: i32| (2000..=2100).contains(&y);
    match spec {
        PeriodSpec::Month(raw) => {
            let parsed = raw
                .split_once('-')
                .filter(|(y, m)| y.len() == 4 && m.len() == 2)
                .and_then(|(y, m)| Some((y.parse::<i32>().ok()?, m.parse::<u32>().ok()?)))
                .filter(|(y, _)| year_ok(*y))
                .and_then(|(y, m)| first(y, m));
            parsed.and_then(|start| months(start, 1)).ok_or(("period.month", "must be a month YYYY-MM"))
        }
        PeriodSpec::Quarter(raw) => {
            let parsed = raw
                .split_once("-Q")
                .filter(|(y, q)| y.len() == 4 && q.len() == 1)
                .and_then(|(y, q)| Some((y.parse::<i32>().ok()?, q.parse::<u32>().ok()?)))
                .filter(|(y, q)| year_ok(*y) && (1..=4).contains(q))
                .and_then(|(y, q)| first(y, 3 * q - 2));
            parsed
                .and_then(|start| months(start, 3))
                .ok_or(("period.quarter", "must be a quarter YYYY-Qn, n from 1 to 4"))
        }
        PeriodSpec::Year(y) => Some(*y)
            .filter(|y| year_ok(*y))
            .and_then(|y| first(y, 1))
            .and_then(|start| months(start, 12))
            .ok_or(("period.year", "must be a year from 2000 to 2100")),
        PeriodSpec::Range { start, end } => match (start, end) {
            (Some(start), Some(end)) if end < start => Err(("period.range.end_date", "must not be before start_date")),
            (Some(start), Some(end)) if (*end - *start).num_days() > MAX_RANGE_DAYS => {
                Err(("period.range.end_date", "must be within ten years of start_date"))
            }
            (Some(start), Some(end)) => Ok(Period { start: *start, end: *end }),
            (None, _) => Err(("period.range.start_date", "must be a date YYYY-MM-DD")),
            (_, None) => Err(("period.range.end_date", "must be a date YYYY-MM-DD")),
        },
    }
}

/// The same days a year earlier (29 February falls back to the 28th).
pub fn year_earlier(day: NaiveDate) -> NaiveDate {
    day.with_year(day.year() - 1).or_else(|| day.pred_opt().and_then(|d| d.with_year(day.year() - 1))).unwrap_or(day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_else(|| panic!("bad date {y}-{m}-{d}"))
    }

    #[test]
    fn periods_parse_and_bad_ones_name_their_field() {
        let p = |s: PeriodSpec| period(&s);
        assert_eq!(
            p(PeriodSpec::Month("2026-02".into())),
            Ok(Period { start: date(2026, 2, 1), end: date(2026, 2, 28) })
        );
        assert_eq!(
            p(PeriodSpec::Month("2024-02".into())),
            Ok(Period { start: date(2024, 2, 1), end: date(2024, 2, 29) })
        );
        assert_eq!(
            p(PeriodSpec::Month("2026-12".into())),
            Ok(Period { start: date(2026, 12, 1), end: date(2026, 12, 31) })
        );
        assert_eq!(
            p(PeriodSpec::Quarter("2026-Q4".into())),
            Ok(Period { start: date(2026, 10, 1), end: date(2026, 12, 31) })
        );
        assert_eq!(
            p(PeriodSpec::Quarter("2026-Q1".into())),
            Ok(Period { start: date(2026, 1, 1), end: date(2026, 3, 31) })
        );
        assert_eq!(p(PeriodSpec::Year(2026)), Ok(Period { start: date(2026, 1, 1), end: date(2026, 12, 31) }));
        let range = |s, e| PeriodSpec::Range { start: Some(s), end: Some(e) };
        assert_eq!(
            p(range(date(2026, 3, 5), date(2026, 3, 5))),
            Ok(Period { start: date(2026, 3, 5), end: date(2026, 3, 5) })
        );
        assert_eq!(p(range(date(2026, 3, 5), date(2026, 3, 4))).map_err(|e| e.0), Err("period.range.end_date"));
        assert_eq!(p(range(date(2000, 1, 1), date(2026, 1, 1))).map_err(|e| e.0), Err("period.range.end_date"));
        assert_eq!(p(PeriodSpec::Range { start: None, end: None }).map_err(|e| e.0), Err("period.range.start_date"));
        for bad in ["2026-13", "2026-00", "26-01", "2026-1", "", "2026/01", "1999-01"] {
            assert_eq!(p(PeriodSpec::Month(bad.into())).map_err(|e| e.0), Err("period.month"), "{bad}");
        }
        for bad in ["2026-Q0", "2026-Q5", "2026Q1", "2026-q1", ""] {
            assert_eq!(p(PeriodSpec::Quarter(bad.into())).map_err(|e| e.0), Err("period.quarter"), "{bad}");
        }
        for bad in [0, 1999, 2101, -5] {
            assert_eq!(p(PeriodSpec::Year(bad)).map_err(|e| e.0), Err("period.year"), "{bad}");
        }
    }

    #[test]
    fn a_year_earlier_keeps_the_day_or_falls_back_from_a_leap_day() {
        assert_eq!(year_earlier(date(2026, 3, 31)), date(2025, 3, 31));
        assert_eq!(year_earlier(date(2028, 2, 29)), date(2027, 2, 28));
    }

    #[test]
    fn every_metric_has_a_formula_and_versions_stay_computable() {
        for metric in Metric::ALL {
            let latest = formula(metric, 0).unwrap_or_else(|| panic!("{metric:?} has no formula"));
            assert_eq!(latest.metric, metric);
            assert_eq!(Metric::from_i32(metric as i32), Some(metric));
            for v in 1..=latest.version {
                assert_eq!(formula(metric, v).map(|f| f.version), Some(v), "{metric:?} v{v}");
            }
            assert!(formula(metric, latest.version + 1).is_none());
        }
        assert_eq!(formula(Metric::CompletionRate, 0).map(|f| f.version), Some(2));
        assert_eq!(formula(Metric::CompletionRate, 1).map(|f| f.numerator), Some(&[(1, "accepted_replied")][..]));
        assert_eq!(Metric::from_i32(0), None);
        assert_eq!(Metric::from_i32(20), None);
    }

    fn figure(metric: Metric, numerator: i64, denominator: i64) -> Figure {
        let formula = formula(metric, 0).unwrap_or_else(|| panic!("no formula"));
        Figure { formula, available: true, numerator, denominator }
    }

    /// The seed's figures, at the denominators the synthetic city-year uses.
    #[test]
    fn values_print_as_reports_print_them() {
        assert_eq!(figure(Metric::SatisfactionRate, 43, 44).display(), "97.73");
        assert_eq!(figure(Metric::OnTimeCompletionRate, 5, 5).display(), "100.00");
        assert_eq!(figure(Metric::CompletionRate, 387, 406).display(), "95.32");
        assert_eq!(figure(Metric::CessationRate, 138, 145).display(), "95.17");
        assert_eq!(figure(Metric::RepeatRate, 30, 109).display(), "27.52");
        assert_eq!(figure(Metric::FilingsYearOnYear, 211, 296).display(), "-28.72");
        assert_eq!(figure(Metric::FilingsYearOnYear, 221, 310).display(), "-28.71");
        assert_eq!(figure(Metric::FilingsYearOnYear, 3, 2).display(), "50.00");
        assert_eq!(figure(Metric::FilingsYearOnYear, 3, 0).display(), "0.00");
        assert_eq!(figure(Metric::CompletionRate, 0, 0).display(), "0.00");
        assert_eq!(figure(Metric::Filings, 109, 0).display(), "109");
        assert!((figure(Metric::FilingsYearOnYear, 221, 310).value() + 0.287_096).abs() < 1e-6);
        assert_eq!(figure(Metric::Filings, 109, 0).value(), 109.0);
        assert_eq!(figure(Metric::RepeatRate, 1, 2).value(), 0.5);
    }

    #[test]
    fn every_counted_formula_sums_countables_of_one_day() {
        for f in FORMULAS.iter().filter(|f| f.source == Source::Counted) {
            let attribution = f.attribution();
            assert!(attribution.is_some(), "{} {}", f.id, f.version);
            for (_, c) in f.numerator.iter().chain(f.denominator) {
                let countable = countables::countable(c).unwrap_or_else(|| panic!("{} names {c}", f.id));
                assert_eq!(Some(countable.attribution), attribution, "{} mixes days", f.id);
            }
            assert_eq!(f.denominator.is_empty(), f.shape == Shape::Count, "{}", f.id);
        }
    }

    fn window(first: NaiveDate, last: NaiveDate) -> Option<Window> {
        Some(Window { first, last })
    }

    #[test]
    fn windows_stop_at_the_as_of_day_and_wait_for_final_facts() {
        let year = Period { start: date(2025, 1, 1), end: date(2025, 12, 31) };
        let f = |m| formula(m, 0).unwrap_or_else(|| panic!("no formula"));
        // A past year, seen long after: all of it.
        let all = window(date(2025, 1, 1), date(2025, 12, 31));
        assert_eq!(windows(f(Metric::CompletionRate), year, date(2026, 6, 1), 90), (all, all));
        // Seen mid-year: up to the as-of day.
        let part = window(date(2025, 1, 1), date(2025, 6, 30));
        assert_eq!(windows(f(Metric::Filings), year, date(2025, 6, 30), 90), (part, part));
        // Ratings count once their window's last day has passed.
        let ratings = window(date(2025, 1, 1), date(2025, 6, 29));
        assert_eq!(windows(f(Metric::ParticipationRate), year, date(2025, 6, 30), 90), (ratings, ratings));
        // Cessation waits the whole window after the reply day.
        let ceased = window(date(2025, 1, 1), date(2025, 10, 2));
        assert_eq!(windows(f(Metric::CessationRate), year, date(2025, 12, 31), 90), (ceased, ceased));
        // Nothing final yet: no window.
        assert_eq!(windows(f(Metric::CessationRate), year, date(2025, 2, 1), 90), (None, None));
        assert_eq!(windows(f(Metric::Filings), year, date(2024, 12, 31), 90), (None, None));
        // Year on year: the same days a year earlier.
        assert_eq!(
            windows(f(Metric::FilingsYearOnYear), year, date(2025, 3, 15), 90),
            (window(date(2025, 1, 1), date(2025, 3, 15)), window(date(2024, 1, 1), date(2024, 3, 15)))
        );
    }

    #[test]
    fn windows_split_into_whole_months_and_edge_days() {
        let w = |a, b| Window { first: a, last: b };
        // A year: twelve months, no days.
        assert_eq!(
            split(w(date(2025, 1, 1), date(2025, 12, 31))),
            Split { months: Some(w(date(2025, 1, 1), date(2025, 12, 1))), days: vec![] }
        );
        // Cut short on 2 October: September's months and two days.
        assert_eq!(
            split(w(date(2025, 1, 1), date(2025, 10, 2))),
            Split {
                months: Some(w(date(2025, 1, 1), date(2025, 9, 1))),
                days: vec![w(date(2025, 10, 1), date(2025, 10, 2))]
            }
        );
        // Both edges ragged, a leap February whole.
        assert_eq!(
            split(w(date(2024, 1, 15), date(2024, 3, 3))),
            Split {
                months: Some(w(date(2024, 2, 1), date(2024, 2, 1))),
                days: vec![w(date(2024, 1, 15), date(2024, 1, 31)), w(date(2024, 3, 1), date(2024, 3, 3))]
            }
        );
        // Within one month: days only.
        assert_eq!(
            split(w(date(2025, 3, 5), date(2025, 3, 9))),
            Split { months: None, days: vec![w(date(2025, 3, 5), date(2025, 3, 9))] }
        );
        assert_eq!(split(w(date(2025, 3, 2), date(2025, 4, 30))).months, Some(w(date(2025, 4, 1), date(2025, 4, 1))));
        assert_eq!(
            merged(vec![
                w(date(2025, 12, 1), date(2025, 12, 30)),
                w(date(2025, 10, 1), date(2025, 10, 2)),
                w(date(2025, 12, 31), date(2025, 12, 31))
            ]),
            vec![w(date(2025, 10, 1), date(2025, 10, 2)), w(date(2025, 12, 1), date(2025, 12, 31))]
        );
    }

    #[test]
    fn sums_weigh_terms_and_count_nothing_without_a_window() {
        let f = formula(Metric::SatisfactionRateNotRatedSatisfied, 0).unwrap_or_else(|| panic!("no formula"));
        let w = window(date(2025, 1, 1), date(2025, 1, 31));
        // 10 windows closed, 6 rated, 5 of them satisfied: 4 not rated count as satisfied.
        let counts = |c: &str, _: Window| match c {
            "rating_windows" => 10,
            "rated" => 6,
            "rated_satisfied" => 5,
            _ => 0,
        };
        assert_eq!(sum(f.numerator, w, counts), 9);
        assert_eq!(sum(f.denominator, w, counts), 10);
        assert_eq!(sum(f.numerator, None, counts), 0);
    }
}
