//! The countables: the facts every formula counts, each one a predicate
//! over a case's facts (`f`, table `case_facts`) or a rating's (`r`,
//! `rating_facts`) that falls on one day of the case's history (its
//! attribution). A formula (rules.rs) is a ratio of sums of countables over
//! a window of attribution days.
//!
//! The same predicate counts a dashboard "as of" a past day (over the facts,
//! with `{cut}` the end of that day), counts the days of `metric_days` (with
//! `{cut}` at infinity: what the log says now), and selects an export's
//! rows, so the three always agree. `{days}` is the cessation window.

/// The day a countable's facts fall on (Beijing days).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Attribution {
    /// The filing's recording.
    Filed,
    /// The acceptance's recording.
    Accepted,
    /// The reply's recording.
    Replied,
    /// The last day of a rating's window.
    RateBy,
}

impl Attribution {
    pub const ALL: [Attribution; 4] =
        [Attribution::Filed, Attribution::Accepted, Attribution::Replied, Attribution::RateBy];

    /// The day, over the row alias of [`Self::on_ratings`].
    pub fn day_sql(self) -> &'static str {
        match self {
            Attribution::Filed => "(f.filed_at AT TIME ZONE 'Asia/Shanghai')::date",
            Attribution::Accepted => "(f.accepted_at AT TIME ZONE 'Asia/Shanghai')::date",
            Attribution::Replied => "(f.replied_at AT TIME ZONE 'Asia/Shanghai')::date",
            Attribution::RateBy => "r.rate_by",
        }
    }

    /// Whether the rows are ratings (`r`) rather than cases (`f`).
    pub fn on_ratings(self) -> bool {
        self == Attribution::RateBy
    }

    /// What an export's fact calls the day.
    pub fn label(self) -> &'static str {
        match self {
            Attribution::Filed => "filed",
            Attribution::Accepted => "accepted",
            Attribution::Replied => "replied",
            Attribution::RateBy => "rate by",
        }
    }
}

/// One countable: a column of `metric_days`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Countable {
    pub column: &'static str,
    pub attribution: Attribution,
    /// SQL over `f` or `r`; `{cut}` and `{days}` are filled in.
    pub predicate: &'static str,
}

/// Every countable, in the column order of `metric_days`.
pub const COUNTABLES: &[Countable] = &[
    Countable { column: "filed", attribution: Attribution::Filed, predicate: "TRUE" },
    // 初次信访: the petitioner filed nothing before.
    Countable { column: "filed_first_time", attribution: Attribution::Filed, predicate: "f.first_time" },
    // 重复信访: linked at filing to an open case on the matter, not unlinked by the cut.
    Countable {
        column: "filed_repeat",
        attribution: Attribution::Filed,
        predicate: "f.repeat_of IS NOT NULL AND (f.repeat_unlinked_at IS NULL OR f.repeat_unlinked_at >= {cut})",
    },
    Countable {
        column: "filed_escalated",
        attribution: Attribution::Filed,
        predicate: "f.escalated AND f.repeat_of IS NOT NULL AND (f.repeat_unlinked_at IS NULL OR f.repeat_unlinked_at >= {cut})",
    },
    Countable { column: "accepted", attribution: Attribution::Accepted, predicate: "TRUE" },
    // Told of acceptance by the routing's accept_by (Art.23).
    Countable {
        column: "accepted_in_time",
        attribution: Attribution::Accepted,
        predicate: "f.accepted_in_time IS TRUE",
    },
    Countable { column: "accepted_replied", attribution: Attribution::Accepted, predicate: "f.replied_at < {cut}" },
    Countable {
        column: "accepted_concluded",
        attribution: Attribution::Accepted,
        predicate: "(f.replied_at < {cut} OR f.withdrawn_at < {cut})",
    },
    Countable { column: "replied", attribution: Attribution::Replied, predicate: "TRUE" },
    // Served by the reply deadline in force (an approved extension moves it).
    Countable { column: "replied_on_time", attribution: Attribution::Replied, predicate: "f.replied_on_time IS TRUE" },
    // 最多访一次: nobody brought the matter again before the reply.
    Countable {
        column: "replied_once",
        attribution: Attribution::Replied,
        predicate: "NOT EXISTS (SELECT 1 FROM case_facts x WHERE x.repeat_of = f.case_id AND x.filed_at < f.replied_at
                        AND (x.repeat_unlinked_at IS NULL OR x.repeat_unlinked_at >= {cut}))",
    },
    // 停访息诉: no repeat filing and no review request from the reply to
    // the end of the reply's day + {days}.
    Countable {
        column: "replied_ceased",
        attribution: Attribution::Replied,
        predicate: "NOT EXISTS (SELECT 1 FROM case_facts x WHERE x.repeat_of = f.case_id AND x.filed_at > f.replied_at
                        AND (x.filed_at AT TIME ZONE 'Asia/Shanghai')::date
                            <= (f.replied_at AT TIME ZONE 'Asia/Shanghai')::date + {days}
                        AND (x.repeat_unlinked_at IS NULL OR x.repeat_unlinked_at >= {cut}))
                    AND NOT COALESCE(f.review_requested_at > f.replied_at
                        AND (f.review_requested_at AT TIME ZONE 'Asia/Shanghai')::date
                            <= (f.replied_at AT TIME ZONE 'Asia/Shanghai')::date + {days}, FALSE)",
    },
    Countable { column: "rating_windows", attribution: Attribution::RateBy, predicate: "TRUE" },
    Countable { column: "rated", attribution: Attribution::RateBy, predicate: "r.rated_at < {cut}" },
    // 满意 or 基本满意 for the handling (办理).
    Countable {
        column: "rated_satisfied",
        attribution: Attribution::RateBy,
        predicate: "r.rated_at < {cut} AND r.handling IN (1, 2)",
    },
];

/// The countable stored in `column`.
pub fn countable(column: &str) -> Option<&'static Countable> {
    COUNTABLES.iter().find(|c| c.column == column)
}

/// `predicate` with its cut and cessation window filled in.
pub fn fill(predicate: &str, cut: &str, days: &str) -> String {
    predicate.replace("{cut}", cut).replace("{days}", days)
}

/// A fingerprint of the definitions `metric_days` was counted with: a
/// server whose countables differ counts again from the log.
pub fn layout() -> String {
    // FNV-1a: stable across builds and platforms, unlike the std hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for c in COUNTABLES {
        for byte in
            c.column.bytes().chain([0]).chain(c.attribution.day_sql().bytes()).chain([0]).chain(c.predicate.bytes())
        {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{}:{hash:016x}", COUNTABLES.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_countable_reads_its_own_rows_and_names_a_column_once() {
        for (i, c) in COUNTABLES.iter().enumerate() {
            let other = if c.attribution.on_ratings() { "f." } else { "r." };
            assert!(!c.predicate.contains(other), "{} reads the other table", c.column);
            assert!(COUNTABLES[..i].iter().all(|d| d.column != c.column), "{} twice", c.column);
            assert_eq!(countable(c.column), Some(c));
        }
    }

    #[test]
    fn the_layout_changes_with_any_definition() {
        assert_eq!(layout(), layout());
        assert!(layout().starts_with(&format!("{}:", COUNTABLES.len())));
        assert_eq!(fill("a < {cut} + {days} AND {cut}", "$5", "$6"), "a < $5 + $6 AND $5");
    }
}
