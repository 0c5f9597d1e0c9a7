//! The metrics' pure parts: periods, the formula registry (every version
//! of every formula, docs/metrics.md), and how a figure's value is made
//! from its numerator and denominator.
//!
//! A formula is data: the SQL predicates that put a case's facts (or a
//! rating) in its denominator and numerator, and the fact an export shows.
//! The same predicates count the figure and select the export's rows, so
//! the export always adds up to the figure. A new formula is a new version
//! beside the old one, which stays computable.

use chrono::{Datelike, Months, NaiveDate};

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
}

impl Metric {
    /// Every metric, in the dashboard's order.
    pub const ALL: [Metric; 16] = [
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

/// Where a formula's rows come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `case_facts f`, one row per case.
    Facts,
    /// `ratings r`, one row per opinion served.
    Ratings,
    /// The mediation statistics (settled ÷ settled + failed).
    Mediation,
    /// Not computable yet.
    Unavailable,
}

/// One version of one metric's formula.
///
/// SQL parameters the predicates may use (every query binds all):
/// `$1` the period's first instant, `$2` its effective end (the earlier of
/// the period's end and the as-of cut, exclusive), `$3` the as-of cut (end
/// of the as-of day, exclusive), `$4`/`$5` the same window a year earlier,
/// `$9` the cessation window in days, `$10`/`$11` the period's first and
/// last day, `$12` the as-of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formula {
    pub metric: Metric,
    pub id: &'static str,
    pub version: i32,
    pub shape: Shape,
    pub source: Source,
    /// The rows in the denominator ("FALSE" for counts).
    pub denominator: &'static str,
    /// The rows in the numerator; for rates, of those in the denominator
    /// (the query adds the denominator's predicate).
    pub numerator: &'static str,
    /// The instant (or day) whose month keys a MONTH breakdown.
    pub month: &'static str,
    /// The export's `fact` column: what put the row where it is.
    pub fact: &'static str,
}

/// A filing in the period.
const FILED: &str = "f.filed_at >= $1 AND f.filed_at < $2";
/// A repeat as of the cut: linked at filing and not unlinked before it.
const REPEAT: &str = "f.repeat_of IS NOT NULL AND (f.repeat_unlinked_at IS NULL OR f.repeat_unlinked_at >= $3)";
/// A rating whose window's last day is in the period and was closed by the
/// as-of day (no rating changes after it: the values are final).
const RATING_CLOSED: &str = "r.rate_by >= $10 AND r.rate_by <= $11 AND r.rate_by < $12";
const RATED: &str = "r.rated_at IS NOT NULL AND r.rated_at < $3";
const RATING_FACT: &str = "'round ' || r.round || ', rate by ' || to_char(r.rate_by, 'YYYY-MM-DD') || CASE WHEN r.rated_at IS NOT NULL AND r.rated_at < $3 THEN ', handling ' || CASE r.handling WHEN 1 THEN 'satisfied' WHEN 2 THEN 'basically satisfied' ELSE 'dissatisfied' END ELSE ', not rated' END";

/// The registry: every version of every formula, oldest first per metric.
pub const FORMULAS: &[Formula] = &[
    Formula {
        metric: Metric::Filings,
        id: "filings",
        version: 1,
        shape: Shape::Count,
        source: Source::Facts,
        denominator: "FALSE",
        numerator: FILED,
        month: "f.filed_at",
        fact: "'filed ' || to_char(f.filed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')",
    },
    Formula {
        metric: Metric::FilingsYearOnYear,
        id: "filings_year_on_year",
        version: 1,
        shape: Shape::Change,
        source: Source::Facts,
        denominator: "f.filed_at >= $4 AND f.filed_at < $5",
        numerator: FILED,
        // A year-earlier filing keys the month a year later.
        month: "CASE WHEN f.filed_at < $1 THEN f.filed_at + interval '1 year' ELSE f.filed_at END",
        fact: "'filed ' || to_char(f.filed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')",
    },
    Formula {
        metric: Metric::FirstTimeFilings,
        id: "first_time_filings",
        version: 1,
        shape: Shape::Count,
        source: Source::Facts,
        denominator: "FALSE",
        numerator: "f.filed_at >= $1 AND f.filed_at < $2 AND f.first_time",
        month: "f.filed_at",
        fact: "'filed ' || to_char(f.filed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') || ', first filing of the petitioner'",
    },
    Formula {
        metric: Metric::RepeatFilings,
        id: "repeat_filings",
        version: 1,
        shape: Shape::Count,
        source: Source::Facts,
        denominator: "FALSE",
        numerator: "f.filed_at >= $1 AND f.filed_at < $2 AND f.repeat_of IS NOT NULL AND (f.repeat_unlinked_at IS NULL OR f.repeat_unlinked_at >= $3)",
        month: "f.filed_at",
        fact: "'filed ' || to_char(f.filed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') || ', repeat of ' || COALESCE((SELECT o.number FROM cases o WHERE o.id = f.repeat_of), '')",
    },
    Formula {
        metric: Metric::EscalatedFilings,
        id: "escalated_filings",
        version: 1,
        shape: Shape::Count,
        source: Source::Facts,
        denominator: "FALSE",
        numerator: "f.filed_at >= $1 AND f.filed_at < $2 AND f.escalated AND f.repeat_of IS NOT NULL AND (f.repeat_unlinked_at IS NULL OR f.repeat_unlinked_at >= $3)",
        month: "f.filed_at",
        fact: "'filed ' || to_char(f.filed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') || ', escalated repeat of ' || COALESCE((SELECT o.number FROM cases o WHERE o.id = f.repeat_of), '')",
    },
    Formula {
        metric: Metric::TimelyAcceptanceRate,
        id: "timely_acceptance_rate",
        version: 1,
        shape: Shape::Rate,
        source: Source::Facts,
        denominator: "f.accepted_at >= $1 AND f.accepted_at < $2",
        numerator: "f.accepted_in_time IS TRUE",
        month: "f.accepted_at",
        fact: "'accepted ' || to_char(f.accepted_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') || CASE WHEN f.accepted_in_time IS TRUE THEN ', within the limit' ELSE ', after the limit' END",
    },
    Formula {
        metric: Metric::OnTimeCompletionRate,
        id: "on_time_completion_rate",
        version: 1,
        shape: Shape::Rate,
        source: Source::Facts,
        denominator: "f.replied_at >= $1 AND f.replied_at < $2",
        numerator: "f.replied_on_time IS TRUE",
        month: "f.replied_at",
        fact: "'replied ' || COALESCE(to_char(f.replied_on, 'YYYY-MM-DD'), '') || ', due ' || COALESCE(to_char(f.reply_due, 'YYYY-MM-DD'), 'none') || CASE WHEN f.extended THEN ' (extended)' ELSE '' END",
    },
    Formula {
        metric: Metric::CompletionRate,
        id: "completion_rate",
        version: 1,
        shape: Shape::Rate,
        source: Source::Facts,
        denominator: "f.accepted_at >= $1 AND f.accepted_at < $2",
        numerator: "f.replied_at < $3",
        month: "f.accepted_at",
        fact: "'accepted ' || to_char(f.accepted_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') || CASE WHEN f.replied_at < $3 THEN ', replied ' || to_char(f.replied_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') ELSE ', not replied' END",
    },
    // v2 also counts a case the petitioner withdrew as concluded (办结 in
    // provinces that count 撤回 as closing the matter).
    Formula {
        metric: Metric::CompletionRate,
        id: "completion_rate",
        version: 2,
        shape: Shape::Rate,
        source: Source::Facts,
        denominator: "f.accepted_at >= $1 AND f.accepted_at < $2",
        numerator: "(f.replied_at < $3 OR f.withdrawn_at < $3)",
        month: "f.accepted_at",
        fact: "'accepted ' || to_char(f.accepted_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') || CASE WHEN f.replied_at < $3 THEN ', replied ' || to_char(f.replied_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') WHEN f.withdrawn_at < $3 THEN ', withdrawn ' || to_char(f.withdrawn_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') ELSE ', open' END",
    },
    Formula {
        metric: Metric::SatisfactionRate,
        id: "satisfaction_rate",
        version: 1,
        shape: Shape::Rate,
        source: Source::Ratings,
        denominator: "r.rate_by >= $10 AND r.rate_by <= $11 AND r.rate_by < $12 AND r.rated_at IS NOT NULL AND r.rated_at < $3",
        numerator: "r.handling IN (1, 2)",
        month: "r.rate_by",
        fact: RATING_FACT,
    },
    Formula {
        metric: Metric::SatisfactionRateNotRatedSatisfied,
        id: "satisfaction_rate_not_rated_satisfied",
        version: 1,
        shape: Shape::Rate,
        source: Source::Ratings,
        denominator: RATING_CLOSED,
        numerator: "(NOT (r.rated_at IS NOT NULL AND r.rated_at < $3) OR r.handling IN (1, 2))",
        month: "r.rate_by",
        fact: RATING_FACT,
    },
    Formula {
        metric: Metric::ParticipationRate,
        id: "participation_rate",
        version: 1,
        shape: Shape::Rate,
        source: Source::Ratings,
        denominator: RATING_CLOSED,
        numerator: RATED,
        month: "r.rate_by",
        fact: RATING_FACT,
    },
    Formula {
        metric: Metric::RepeatRate,
        id: "repeat_rate",
        version: 1,
        shape: Shape::Rate,
        source: Source::Facts,
        denominator: FILED,
        numerator: REPEAT,
        month: "f.filed_at",
        fact: "'filed ' || to_char(f.filed_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') || CASE WHEN f.repeat_of IS NOT NULL AND (f.repeat_unlinked_at IS NULL OR f.repeat_unlinked_at >= $3) THEN ', repeat of ' || COALESCE((SELECT o.number FROM cases o WHERE o.id = f.repeat_of), '') ELSE '' END",
    },
    Formula {
        metric: Metric::CessationRate,
        id: "cessation_rate",
        version: 1,
        shape: Shape::Rate,
        source: Source::Facts,
        denominator: "f.replied_at >= $1 AND f.replied_at < $2 AND f.replied_at + make_interval(days => $9) <= $3",
        numerator: "NOT EXISTS (SELECT 1 FROM case_facts x WHERE x.repeat_of = f.case_id AND x.filed_at > f.replied_at
                        AND x.filed_at <= f.replied_at + make_interval(days => $9)
                        AND (x.repeat_unlinked_at IS NULL OR x.repeat_unlinked_at >= $3))
                    AND NOT (f.review_requested_at IS NOT NULL AND f.review_requested_at > f.replied_at
                        AND f.review_requested_at <= f.replied_at + make_interval(days => $9))",
        month: "f.replied_at",
        fact: "'replied ' || to_char(f.replied_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') || CASE WHEN f.review_requested_at IS NOT NULL AND f.review_requested_at > f.replied_at AND f.review_requested_at <= f.replied_at + make_interval(days => $9) THEN ', review requested ' || to_char(f.review_requested_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') ELSE '' END || COALESCE((SELECT ', petitioned again ' || string_agg(o.number, ' ') FROM case_facts x JOIN cases o ON o.id = x.case_id WHERE x.repeat_of = f.case_id AND x.filed_at > f.replied_at AND x.filed_at <= f.replied_at + make_interval(days => $9) AND (x.repeat_unlinked_at IS NULL OR x.repeat_unlinked_at >= $3)), '')",
    },
    Formula {
        metric: Metric::OneVisitRate,
        id: "one_visit_rate",
        version: 1,
        shape: Shape::Rate,
        source: Source::Facts,
        denominator: "f.replied_at >= $1 AND f.replied_at < $2",
        numerator: "NOT EXISTS (SELECT 1 FROM case_facts x WHERE x.repeat_of = f.case_id AND x.filed_at < f.replied_at
                        AND (x.repeat_unlinked_at IS NULL OR x.repeat_unlinked_at >= $3))",
        month: "f.replied_at",
        fact: "'replied ' || to_char(f.replied_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') || COALESCE((SELECT ', brought again before the reply ' || string_agg(o.number, ' ') FROM case_facts x JOIN cases o ON o.id = x.case_id WHERE x.repeat_of = f.case_id AND x.filed_at < f.replied_at AND (x.repeat_unlinked_at IS NULL OR x.repeat_unlinked_at >= $3)), '')",
    },
    Formula {
        metric: Metric::BacklogResolutionRate,
        id: "backlog_resolution_rate",
        version: 1,
        shape: Shape::Rate,
        source: Source::Unavailable,
        denominator: "FALSE",
        numerator: "FALSE",
        month: "NULL",
        fact: "''",
    },
    Formula {
        metric: Metric::MediationSettlementRate,
        id: "mediation_settlement_rate",
        version: 1,
        shape: Shape::Rate,
        source: Source::Mediation,
        denominator: "FALSE",
        numerator: "FALSE",
        month: "NULL",
        fact: "''",
    },
];

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
        assert_eq!(formula(Metric::CompletionRate, 1).map(|f| f.numerator), Some("f.replied_at < $3"));
        assert_eq!(Metric::from_i32(0), None);
        assert_eq!(Metric::from_i32(17), None);
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
}
