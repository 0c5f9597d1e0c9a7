//! `petitionctl calendar …`: a year's holidays and make-up working days
//! (CalendarService): get, set, import, and a deadline computed on them.
//!
//! An import's rows are days (date, kind, note), one SetCalendarYear per
//! year, so a year goes in whole or not at all: a bad row fails its year's
//! other rows too. A year stored exactly as the file has it is `existing`
//! and not sent again; otherwise it is set with a request id derived from
//! the year's rows and the days it replaces, so two runs racing set it once.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Subcommand;
use petition_sdk::{Client, pb};
use serde::{Deserialize, Serialize};

use crate::enums;
use crate::import::{self, Importer, Job, Outcome};
use crate::output::{self, Format, Record, cells};

#[derive(Subcommand)]
pub enum Command {
    /// A year's exceptions to the plain week, by date.
    Get { year: i32 },
    /// Replaces a year's exceptions (admin) and recomputes open cases' deadlines.
    Set {
        year: i32,
        /// A public holiday on a weekday: DATE or DATE=NOTE; repeatable.
        #[arg(long = "holiday", value_parser = day::<HOLIDAY>)]
        holidays: Vec<pb::CalendarDay>,
        /// A make-up working day on a weekend: DATE or DATE=NOTE; repeatable.
        #[arg(long = "workday", value_parser = day::<WORKDAY>)]
        workdays: Vec<pb::CalendarDay>,
        /// No exceptions at all: the year follows the plain week.
        #[arg(long, conflicts_with_all = ["holidays", "workdays"])]
        plain_week: bool,
    },
    /// Years from CSV or JSON Lines (date, kind, note), each year whole.
    Import {
        file: PathBuf,
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
    },
    /// The last day of a period after START (YYYY-MM-DD) on the server's calendar.
    Deadline {
        start: String,
        #[arg(long, conflicts_with = "workdays")]
        days: Option<i32>,
        #[arg(long)]
        workdays: Option<i32>,
    },
}

const HOLIDAY: i32 = pb::CalendarDayKind::Holiday as i32;
const WORKDAY: i32 = pb::CalendarDayKind::Workday as i32;

fn day<const KIND: i32>(text: &str) -> Result<pb::CalendarDay, String> {
    let (date, note) = text.split_once('=').unwrap_or((text, ""));
    Ok(pb::CalendarDay { date: date.trim().to_owned(), kind: KIND, note: note.trim().to_owned() })
}

#[derive(Debug, Serialize)]
struct DayLine {
    date: String,
    kind: String,
    note: String,
}

impl Record for DayLine {
    const COLUMNS: &'static [&'static str] = &["date", "kind", "note"];
    fn cells(&self) -> Vec<String> {
        cells!(self: date, kind, note)
    }
}

fn lines(days: &[pb::CalendarDay]) -> Vec<DayLine> {
    days.iter()
        .map(|d| DayLine {
            date: d.date.clone(),
            kind: enums::name::<pb::CalendarDayKind>(d.kind),
            note: d.note.clone(),
        })
        .collect()
}

#[derive(Debug, Serialize)]
struct DeadlineLine {
    deadline_date: String,
    provisional: bool,
}

impl Record for DeadlineLine {
    const COLUMNS: &'static [&'static str] = &["deadline_date", "provisional"];
    fn cells(&self) -> Vec<String> {
        cells!(self: deadline_date, provisional)
    }
}

pub async fn run(client: &Client, command: Command, format: Format) -> Result<bool> {
    let calendar = client.calendar();
    match command {
        Command::Get { year } => output::print(format, &lines(&calendar.list_calendar_days(year).await?))?,
        Command::Set { year, holidays, workdays, plain_week } => {
            let days: Vec<pb::CalendarDay> = holidays.into_iter().chain(workdays).collect();
            if days.is_empty() && !plain_week {
                bail!("no days given: name them (--holiday, --workday) or say --plain-week");
            }
            let answer = calendar.set_calendar_year(year, days).await?;
            output::print(format, &lines(&answer.days))?;
            eprintln!("{year} set; {} cases had a deadline recomputed", answer.cases_recomputed);
        }
        Command::Import { file, concurrency } => return import::run(client, Years, &file, concurrency, format).await,
        Command::Deadline { start, days, workdays } => {
            let request = pb::ComputeDeadlineRequest {
                start_date: start,
                days: days.unwrap_or_default(),
                workdays: workdays.unwrap_or_default(),
            };
            let answer = calendar.compute_deadline(request).await?;
            let line = DeadlineLine { deadline_date: answer.deadline_date, provisional: answer.provisional };
            output::print(format, &[line])?;
        }
    }
    Ok(true)
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Row {
    date: String,
    kind: String,
    #[serde(default)]
    note: String,
}

/// One year's days, by date, with the row each came from.
pub struct Year {
    year: i32,
    days: Vec<pb::CalendarDay>,
    rows: Vec<usize>,
}

struct Years;

impl Row {
    fn year(&self) -> Option<i32> {
        let date = self.date.trim();
        date.get(..4).filter(|_| date.len() == 10).and_then(|y| y.parse().ok())
    }

    fn day(&self) -> Result<pb::CalendarDay, String> {
        let kind = enums::parse::<pb::CalendarDayKind>(&self.kind).map_err(|e| format!("column kind: {e}"))?;
        Ok(pb::CalendarDay { date: self.date.trim().to_owned(), kind: kind.into(), note: self.note.trim().to_owned() })
    }
}

/// A year's rows as read: its days with their rows, and its first bad row.
#[derive(Default)]
struct Gathered {
    days: Vec<(pb::CalendarDay, usize)>,
    rows: Vec<usize>,
    error: Option<String>,
}

impl Importer for Years {
    type Row = Row;
    type Call = Year;
    const COLUMNS: &'static [&'static str] = &["date", "kind", "note"];
    const REQUIRED: usize = 2;

    fn plan(&self, rows: Vec<(usize, Row)>) -> Vec<Job<Year>> {
        let mut jobs = Vec::new();
        let mut years: BTreeMap<i32, Gathered> = BTreeMap::new();
        for (number, row) in rows {
            let Some(year) = row.year() else {
                jobs.push(Job::one(number, Err(format!("column date: {:?} is not YYYY-MM-DD", row.date))));
                continue;
            };
            let gathered = years.entry(year).or_default();
            gathered.rows.push(number);
            match row.day() {
                Ok(day) => gathered.days.push((day, number)),
                Err(e) => {
                    gathered.error.get_or_insert(format!("year {year} not set: row {number}: {e}"));
                }
            }
        }
        for (year, mut gathered) in years {
            let job = match gathered.error {
                Some(error) => Job { rows: gathered.rows, call: Err(error) },
                None => {
                    // By date, the order the server answers in.
                    gathered.days.sort_by(|a, b| a.0.date.cmp(&b.0.date));
                    let (days, rows): (Vec<_>, Vec<_>) = gathered.days.into_iter().unzip();
                    Job { rows: rows.clone(), call: Ok(Year { year, days, rows }) }
                }
            };
            jobs.push(job);
        }
        jobs
    }

    async fn send(&self, client: Client, year: Year) -> Result<Outcome, String> {
        let calendar = client.calendar();
        let stored = calendar.list_calendar_days(year.year).await.map_err(|e| import::refusal(&e))?;
        if stored == year.days {
            return Ok(Outcome::Existing);
        }
        let text = |days: &[pb::CalendarDay]| format!("{days:?}");
        let key = import::fingerprint([year.year.to_string().as_str(), &text(&year.days), &text(&stored)]);
        let request = pb::SetCalendarYearRequest {
            year: year.year,
            days: year.days.clone(),
            request_id: format!("calendar-import-{}", &key[..32]),
        };
        match calendar.set_calendar_year_request(request).await {
            Ok(_) => Ok(Outcome::Imported),
            Err(e) => {
                // `days[i]` is the i-th row of the year.
                let mut reason = import::refusal(&e);
                for (i, number) in year.rows.iter().enumerate().rev() {
                    reason = reason.replace(&format!("days[{i}]."), &format!("row {number} "));
                }
                Err(format!("year {} not set: {reason}", year.year))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(date: &str, kind: &str) -> Row {
        Row { date: date.into(), kind: kind.into(), note: String::new() }
    }

    #[test]
    fn a_year_goes_whole_by_date_and_a_bad_row_holds_its_year_back() {
        let rows = vec![
            (2, row("2031-10-01", "HOLIDAY")),
            (3, row("2031-09-28", "workday")),
            (4, row("2032-01-01", "HOLIDAY")),
            (5, row("2032-01-02", "WEEKEND")),
            (6, row("1 Jan", "HOLIDAY")),
        ];
        let jobs = Years.plan(rows);
        type Planned = (Vec<usize>, Result<Vec<String>, String>);
        let summary: Vec<Planned> = jobs
            .into_iter()
            .map(|job| (job.rows, job.call.map(|year| year.days.into_iter().map(|d| d.date).collect())))
            .collect();
        assert_eq!(summary[0].0, vec![6]);
        assert_eq!(summary[1], (vec![3, 2], Ok(vec!["2031-09-28".to_owned(), "2031-10-01".to_owned()])));
        assert_eq!(summary[2].0, vec![4, 5]);
        assert!(summary[2].1.as_ref().is_err_and(|e| e.starts_with("year 2032 not set: row 5: column kind")));
    }
}
