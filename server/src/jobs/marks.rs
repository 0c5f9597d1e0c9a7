//! The sweeper's marks on the clocks of an aggregate that runs several
//! (disputes, legal-aid applications): which running clock is due to be
//! warned of or marked missed (pure, [`plan`]), and the table that keeps
//! the marks and the walk by deadline ([`Table`]).
//!
//! A mark row holds the soonest deadline neither warned of nor missed
//! (`warn_due`, walked while it is due by the warning day) and the soonest
//! warned of but not missed (`miss_due`, walked once it passed), so a pass
//! reads only rows with something to do: a missed clock leaves both walks.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Jsonb, Nullable, Uuid as SqlUuid};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::AppError;

/// How far a clock is marked: 1 warned of (approaching), 2 missed.
pub const APPROACHING: i16 = 1;
pub const MISSED: i16 = 2;

/// A mark on one running clock `clock` due on `due_date`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark<K> {
    pub clock: K,
    pub due_date: NaiveDate,
    pub level: i16,
}

/// What a pass records for one aggregate and the row it leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<K> {
    /// Marks to record as events, in the order of the running clocks.
    pub record: Vec<Mark<K>>,
    /// The marks of the running clocks after them.
    pub marks: Vec<Mark<K>>,
    pub warn_due: Option<NaiveDate>,
    pub miss_due: Option<NaiveDate>,
}

/// The level `due` calls for on `today`, warning of deadlines due by
/// `until`: missed once past (a deadline is met on its day), approaching
/// within the warning days, else none (0).
pub fn level(due: NaiveDate, today: NaiveDate, until: NaiveDate) -> i16 {
    if due < today {
        MISSED
    } else if due <= until {
        APPROACHING
    } else {
        0
    }
}

/// What `running` clocks (key, last day) call for on `today` given the
/// `marks` recorded: each clock is marked once per level and deadline; one
/// found past without a warning (a pass after downtime) is marked missed
/// only. A clock whose deadline moved is a new clock.
pub fn plan<K: Clone + PartialEq>(
    running: &[(K, NaiveDate)],
    marks: &[Mark<K>],
    today: NaiveDate,
    until: NaiveDate,
) -> Plan<K> {
    let mut plan = Plan { record: Vec::new(), marks: Vec::new(), warn_due: None, miss_due: None };
    for (clock, due) in running {
        let had = marks.iter().find(|m| m.clock == *clock && m.due_date == *due).map_or(0, |m| m.level);
        let need = level(*due, today, until);
        if need > had {
            plan.record.push(Mark { clock: clock.clone(), due_date: *due, level: need });
        }
        let now = had.max(need);
        match now {
            0 => plan.warn_due = Some(plan.warn_due.map_or(*due, |d| d.min(*due))),
            APPROACHING => plan.miss_due = Some(plan.miss_due.map_or(*due, |d| d.min(*due))),
            _ => {}
        }
        if now > 0 {
            plan.marks.push(Mark { clock: clock.clone(), due_date: *due, level: now });
        }
    }
    plan
}

/// Where a walk by `(deadline, id)` starts: before any stored day, so that
/// the row comparison stays the index scan's start (an `OR` for the first
/// page would make it a filter of every row read).
pub fn walk_start() -> (NaiveDate, Uuid) {
    (NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default(), Uuid::nil())
}

/// Which walk of a mark table: deadlines to warn of, or warned ones to
/// mark missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    Warn,
    Miss,
}

/// A mark table: `<table> (<id> PK, warn_due, miss_due, marks)`.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    pub id: &'static str,
}

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = Date)]
    due: NaiveDate,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = Jsonb)]
    marks: serde_json::Value,
}

impl Table {
    /// Up to `limit` rows of `walk` with something to do on `today`
    /// (warning of deadlines due by `until`), after `(due, id)`, walking
    /// the walk's index by deadline.
    pub fn candidates(
        &self,
        conn: &mut PgConnection,
        walk: Walk,
        today: NaiveDate,
        until: NaiveDate,
        after: Option<(NaiveDate, Uuid)>,
        limit: i64,
    ) -> Result<Vec<(NaiveDate, Uuid)>, AppError> {
        let (column, test, bound) = match walk {
            Walk::Warn => ("warn_due", "<=", until),
            Walk::Miss => ("miss_due", "<", today),
        };
        let Table { name, id } = *self;
        let (after_due, after_id) = after.unwrap_or_else(walk_start);
        let rows: Vec<Candidate> = diesel::sql_query(format!(
            "SELECT {column} AS due, {id} AS id FROM {name}
             WHERE {column} {test} $1 AND ({column}, {id}) > ($2, $3)
             ORDER BY {column}, {id} LIMIT $4"
        ))
        .bind::<Date, _>(bound)
        .bind::<Date, _>(after_due)
        .bind::<SqlUuid, _>(after_id)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
        Ok(rows.into_iter().map(|r| (r.due, r.id)).collect())
    }

    /// The marks recorded on `id`'s clocks (none without a row).
    pub fn marks<K: DeserializeOwned>(&self, conn: &mut PgConnection, id: Uuid) -> Result<Vec<Mark<K>>, AppError> {
        let Table { name, id: column } = *self;
        let stored: Option<Stored> = diesel::sql_query(format!("SELECT marks FROM {name} WHERE {column} = $1"))
            .bind::<SqlUuid, _>(id)
            .get_result(conn)
            .optional()?;
        match stored {
            None => Ok(Vec::new()),
            Some(Stored { marks }) => serde_json::from_value(marks).map_err(AppError::internal),
        }
    }

    /// Stores what a pass left of `id`'s clocks.
    pub fn store<K: Serialize>(&self, conn: &mut PgConnection, id: Uuid, plan: &Plan<K>) -> Result<(), AppError> {
        let Table { name, id: column } = *self;
        let marks = serde_json::to_value(&plan.marks).map_err(AppError::internal)?;
        diesel::sql_query(format!(
            "INSERT INTO {name} ({column}, warn_due, miss_due, marks) VALUES ($1, $2, $3, $4)
             ON CONFLICT ({column}) DO UPDATE
             SET warn_due = EXCLUDED.warn_due, miss_due = EXCLUDED.miss_due, marks = EXCLUDED.marks"
        ))
        .bind::<SqlUuid, _>(id)
        .bind::<Nullable<Date>, _>(plan.warn_due)
        .bind::<Nullable<Date>, _>(plan.miss_due)
        .bind::<Jsonb, _>(marks)
        .execute(conn)?;
        Ok(())
    }

    /// A transition left `id` with the running clocks `after` (key, last
    /// day; they were `before`): unchanged, nothing; none, the row goes;
    /// else the next pass looks again from the soonest (the marks stay, so
    /// nothing is marked twice). Called under the aggregate's row lock.
    pub fn track<K: PartialEq>(
        &self,
        conn: &mut PgConnection,
        id: Uuid,
        before: &[(K, NaiveDate)],
        after: &[(K, NaiveDate)],
    ) -> Result<(), AppError> {
        if before == after {
            return Ok(());
        }
        let Table { name, id: column } = *self;
        match after.iter().map(|(_, due)| due).min() {
            None => {
                diesel::sql_query(format!("DELETE FROM {name} WHERE {column} = $1"))
                    .bind::<SqlUuid, _>(id)
                    .execute(conn)?;
            }
            Some(soonest) => {
                diesel::sql_query(format!(
                    "INSERT INTO {name} ({column}, warn_due) VALUES ($1, $2)
                     ON CONFLICT ({column}) DO UPDATE SET warn_due = EXCLUDED.warn_due, miss_due = NULL"
                ))
                .bind::<SqlUuid, _>(id)
                .bind::<Date, _>(*soonest)
                .execute(conn)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 3, d).expect("valid date")
    }

    fn mark(clock: u8, due: NaiveDate, level: i16) -> Mark<u8> {
        Mark { clock, due_date: due, level }
    }

    /// Today the 10th, warning of deadlines due by the 12th.
    #[test]
    fn each_clock_is_marked_once_per_level_and_deadline() {
        let (today, until) = (day(10), day(12));
        // (running, marks before) → (recorded, warn_due, miss_due)
        type Row = (Vec<(u8, NaiveDate)>, Vec<Mark<u8>>, Vec<Mark<u8>>, Option<NaiveDate>, Option<NaiveDate>);
        let table: Vec<Row> = vec![
            // Nothing runs.
            (vec![], vec![], vec![], None, None),
            // Far off: nothing yet; walked for a warning from its day.
            (vec![(1, day(20))], vec![], vec![], Some(day(20)), None),
            // Within the warning days, and today itself: warned.
            (vec![(1, day(12))], vec![], vec![mark(1, day(12), 1)], None, Some(day(12))),
            (vec![(1, day(10))], vec![], vec![mark(1, day(10), 1)], None, Some(day(10))),
            // Warned already: nothing until it passes.
            (vec![(1, day(11))], vec![mark(1, day(11), 1)], vec![], None, Some(day(11))),
            // Passed after a warning: missed.
            (vec![(1, day(9))], vec![mark(1, day(9), 1)], vec![mark(1, day(9), 2)], None, None),
            // Passed without one (downtime): missed only.
            (vec![(1, day(1))], vec![], vec![mark(1, day(1), 2)], None, None),
            // Missed already: never again.
            (vec![(1, day(1))], vec![mark(1, day(1), 2)], vec![], None, None),
            // The deadline moved: a new clock.
            (vec![(1, day(11))], vec![mark(1, day(1), 2)], vec![mark(1, day(11), 1)], None, Some(day(11))),
            // Several clocks, each on its own.
            (
                vec![(1, day(9)), (2, day(11)), (3, day(30)), (4, day(25))],
                vec![mark(2, day(11), 1)],
                vec![mark(1, day(9), 2)],
                Some(day(25)),
                Some(day(11)),
            ),
        ];
        for (running, marks, recorded, warn_due, miss_due) in table {
            let got = plan(&running, &marks, today, until);
            assert_eq!(got.record, recorded, "{running:?} {marks:?}");
            assert_eq!((got.warn_due, got.miss_due), (warn_due, miss_due), "{running:?} {marks:?}");
            // A second pass the same day records nothing and leaves the same row.
            let again = plan(&running, &got.marks, today, until);
            assert!(again.record.is_empty(), "{running:?}: {again:?}");
            assert_eq!((again.warn_due, again.miss_due, &again.marks), (got.warn_due, got.miss_due, &got.marks));
        }
    }

    #[test]
    fn marks_of_clocks_no_longer_running_are_dropped() {
        let got = plan(&[(2, day(20))], &[mark(1, day(9), 2)], day(10), day(12));
        assert!(got.marks.is_empty());
        assert_eq!(got.warn_due, Some(day(20)));
    }

    #[test]
    fn no_warning_days_warns_of_nothing() {
        // --deadline-warning-workdays 0: the warning day is yesterday.
        let got = plan(&[(1, day(10))], &[], day(10), day(9));
        assert!(got.record.is_empty());
        assert_eq!(got.warn_due, Some(day(10)));
        let next = plan(&[(1, day(10))], &got.marks, day(11), day(10));
        assert_eq!(next.record, vec![mark(1, day(10), 2)]);
    }
}
