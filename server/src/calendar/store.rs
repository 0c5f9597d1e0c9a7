//! Workday calendar queries. Every function takes the connection of the
//! caller's transaction; none decides policy.
//!
//! Other features compute deadlines inside their own transactions with
//! [`load_calendar_around`] and filter overdue rows in SQL with [`overdue`].

use chrono::{Datelike, Days, NaiveDate};
use diesel::dsl::{Lt, sql};
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::{Date, Integer, Nullable};

use super::model::{CalendarDayRow, NewCalendarDay};
use super::rules::{CalendarEntry, DayKind, WorkCalendar};
use super::schedules::Schedules;
use crate::error::AppError;
use crate::schema::{calendar_days, calendar_years};

/// Days before a date whose exceptions [`load_calendar_around`] loads.
pub const AROUND_BEFORE_DAYS: u64 = 30;
/// Days after a date whose exceptions [`load_calendar_around`] loads: enough
/// for every statutory period (60 + 30 days, 5 working days, …) with long
/// holidays in between.
pub const AROUND_AFTER_DAYS: u64 = 400;

/// Key (with the year as the second key) of the transaction-scoped advisory
/// lock that serializes replacements of one year.
const YEAR_LOCK: i32 = 0x4341_4c44; // "CALD"

/// Today's date in Beijing, in SQL: the SQL side of [`rules::is_overdue`].
///
/// A row is overdue when its due date is before this (`due < today`), so
/// the due day itself is still on time. It must change together with
/// [`rules::is_overdue`] and `time::shanghai_today`.
///
/// [`rules::is_overdue`]: super::rules::is_overdue
pub const OVERDUE_SQL_TODAY: &str = "(now() AT TIME ZONE 'Asia/Shanghai')::date";

/// SQL types a due date can have: `DATE` or nullable `DATE` (NULL is never
/// overdue).
pub trait DueDateType: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType {}
impl DueDateType for Date {}
impl DueDateType for Nullable<Date> {}

/// `due < (now() AT TIME ZONE 'Asia/Shanghai')::date`: the diesel
/// expression of "overdue today", for filters such as
/// `cases::table.filter(calendar::store::overdue(cases::due_date))`.
///
/// THE SQL twin of [`rules::is_overdue`] (which is the definition): the two
/// must change together.
///
/// [`rules::is_overdue`]: super::rules::is_overdue
pub fn overdue<E>(due: E) -> Lt<E, SqlLiteral<E::SqlType>>
where
    E: Expression + ExpressionMethods,
    E::SqlType: DueDateType,
{
    due.lt(sql::<E::SqlType>(OVERDUE_SQL_TODAY))
}

/// The same condition as text, for hand-written SQL (`sql_query`,
/// statistics): `overdue_sql("c.due_date")` is
/// `c.due_date < (now() AT TIME ZONE 'Asia/Shanghai')::date`. `column` is
/// pasted verbatim: pass only trusted identifiers, never input.
pub fn overdue_sql(column: &str) -> String {
    format!("{column} < {OVERDUE_SQL_TODAY}")
}

fn day_kind(row_kind: i16) -> Result<DayKind, AppError> {
    DayKind::from_i32(i32::from(row_kind))
        .ok_or_else(|| AppError::internal(format!("calendar_days holds unknown kind {row_kind}")))
}

fn year_bounds(year: i32) -> Result<(NaiveDate, NaiveDate), AppError> {
    let first = NaiveDate::from_ymd_opt(year, 1, 1);
    let last = NaiveDate::from_ymd_opt(year, 12, 31);
    first.zip(last).ok_or_else(|| AppError::internal(format!("year {year} out of range")))
}

/// The calendar with the exceptions stored in `[from, to]` (one range scan
/// of the primary key). Days outside the range follow the plain week, so
/// load the whole span a computation may touch.
pub fn load_calendar(conn: &mut PgConnection, from: NaiveDate, to: NaiveDate) -> Result<WorkCalendar, AppError> {
    let rows: Vec<(NaiveDate, i16)> = calendar_days::table
        .filter(calendar_days::day.between(from, to))
        .select((calendar_days::day, calendar_days::kind))
        .order(calendar_days::day)
        .load(conn)?;
    let overrides =
        rows.into_iter().map(|(day, kind)| day_kind(kind).map(|kind| (day, kind))).collect::<Result<Vec<_>, _>>()?;
    Ok(WorkCalendar::new(overrides))
}

/// The calendar for deadlines counted from `date`: the exceptions from
/// [`AROUND_BEFORE_DAYS`] before it to [`AROUND_AFTER_DAYS`] after it.
/// Call it inside the transaction that stores the deadline.
pub fn load_calendar_around(conn: &mut PgConnection, date: NaiveDate) -> Result<WorkCalendar, AppError> {
    let from = date.checked_sub_days(Days::new(AROUND_BEFORE_DAYS)).unwrap_or(NaiveDate::MIN);
    let to = date.checked_add_days(Days::new(AROUND_AFTER_DAYS)).unwrap_or(NaiveDate::MAX);
    load_calendar(conn, from, to)
}

/// The years whose schedule is loaded.
pub fn loaded_years(conn: &mut PgConnection) -> Result<Schedules, AppError> {
    let years: Vec<i32> = calendar_years::table.select(calendar_years::year).load(conn)?;
    Ok(Schedules::new(years))
}

/// The exceptions of `year`, ordered by date.
pub fn list_year(conn: &mut PgConnection, year: i32) -> Result<Vec<CalendarDayRow>, AppError> {
    let (first, last) = year_bounds(year)?;
    Ok(calendar_days::table
        .filter(calendar_days::day.between(first, last))
        .select(CalendarDayRow::as_select())
        .order(calendar_days::day)
        .load(conn)?)
}

/// Replaces every exception of `year` with `entries` (all inside `year`),
/// marks the year loaded, and returns the exceptions as stored, ordered by
/// date. Concurrent replacements of
/// one year wait for each other (advisory lock until the caller's
/// transaction ends), so the last one wins whole.
pub fn replace_year(
    conn: &mut PgConnection,
    year: i32,
    entries: &[CalendarEntry],
) -> Result<Vec<CalendarDayRow>, AppError> {
    let (first, last) = year_bounds(year)?;
    if let Some(stray) = entries.iter().find(|e| e.date.year() != year) {
        return Err(AppError::internal(format!("calendar entry {} is not in {year}", stray.date)));
    }
    diesel::sql_query("SELECT pg_advisory_xact_lock($1, $2)")
        .bind::<Integer, _>(YEAR_LOCK)
        .bind::<Integer, _>(year)
        .execute(conn)?;
    diesel::insert_into(calendar_years::table)
        .values(calendar_years::year.eq(year))
        .on_conflict(calendar_years::year)
        .do_update()
        .set(calendar_years::loaded_at.eq(diesel::dsl::now))
        .execute(conn)?;
    diesel::delete(calendar_days::table.filter(calendar_days::day.between(first, last))).execute(conn)?;
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<NewCalendarDay<'_>> = entries
        .iter()
        .map(|entry| NewCalendarDay { day: entry.date, kind: entry.kind as i16, note: &entry.note })
        .collect();
    let mut stored: Vec<CalendarDayRow> = diesel::insert_into(calendar_days::table)
        .values(&rows)
        .returning(CalendarDayRow::as_returning())
        .get_results(conn)?;
    stored.sort_by_key(|row| row.day);
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::pg::Pg;

    #[test]
    fn overdue_expression_is_the_documented_sql() {
        let query = calendar_days::table.filter(overdue(calendar_days::day)).select(calendar_days::day);
        let sql = diesel::debug_query::<Pg, _>(&query).to_string();
        assert!(sql.contains(r#""calendar_days"."day" < (now() AT TIME ZONE 'Asia/Shanghai')::date"#), "{sql}");
        // Nullable due dates work too.
        let nullable = calendar_days::table
            .filter(overdue(calendar_days::day.nullable()))
            .select(calendar_days::day)
            .filter(calendar_days::kind.eq(1));
        let sql = diesel::debug_query::<Pg, _>(&nullable).to_string();
        assert!(sql.contains(OVERDUE_SQL_TODAY), "{sql}");
        assert_eq!(overdue_sql("c.due_date"), "c.due_date < (now() AT TIME ZONE 'Asia/Shanghai')::date");
    }
}
