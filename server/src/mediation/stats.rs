//! Mediation statistics of a region subtree and a period, from the event
//! log: one formula per figure (docs/mediation.md), over the disputes'
//! projections of the recording times of their once-only events and over
//! the few events that may repeat. An event counts in the period its
//! recording time (Beijing) falls in.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamptz};

use crate::error::AppError;

/// How the figures are broken down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    None,
    ChildRegion,
    Category,
    Month,
}

/// One row of figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub key: String,
    pub recorded: i64,
    pub screened: i64,
    pub accepted: i64,
    pub refused: i64,
    pub settled: i64,
    pub failed: i64,
    pub performed: i64,
    pub breached: i64,
    pub confirmations_applied: i64,
    pub confirmations_confirmed: i64,
    pub escalated: i64,
    pub average_days_to_settle: Option<f64>,
}

/// The milestone figures of one key as the database adds them up (each
/// dispute reaches each milestone at most once, so rows add up to totals).
#[derive(Debug, Clone, Default, PartialEq, QueryableByName)]
struct MilestoneCounts {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    recorded: i64,
    #[diesel(sql_type = BigInt)]
    screened: i64,
    #[diesel(sql_type = BigInt)]
    accepted: i64,
    #[diesel(sql_type = BigInt)]
    refused: i64,
    #[diesel(sql_type = BigInt)]
    settled: i64,
    #[diesel(sql_type = BigInt)]
    failed: i64,
    #[diesel(sql_type = BigInt)]
    performed: i64,
    #[diesel(sql_type = BigInt)]
    confirmations_applied: i64,
    #[diesel(sql_type = BigInt)]
    confirmations_confirmed: i64,
    /// Sum of the days to settle of the settled.
    #[diesel(sql_type = BigInt)]
    days_to_settle: i64,
}

impl MilestoneCounts {
    fn add(&mut self, other: &MilestoneCounts) {
        self.recorded += other.recorded;
        self.screened += other.screened;
        self.accepted += other.accepted;
        self.refused += other.refused;
        self.settled += other.settled;
        self.failed += other.failed;
        self.performed += other.performed;
        self.confirmations_applied += other.confirmations_applied;
        self.confirmations_confirmed += other.confirmations_confirmed;
        self.days_to_settle += other.days_to_settle;
    }

    fn figures(&self) -> Figures {
        Figures {
            key: self.key.clone(),
            recorded: self.recorded,
            screened: self.screened,
            accepted: self.accepted,
            refused: self.refused,
            settled: self.settled,
            failed: self.failed,
            performed: self.performed,
            breached: 0,
            confirmations_applied: self.confirmations_applied,
            confirmations_confirmed: self.confirmations_confirmed,
            escalated: 0,
            average_days_to_settle: (self.settled > 0).then(|| self.days_to_settle as f64 / self.settled as f64),
        }
    }
}

impl Figures {
    /// settled ÷ (settled + failed); 0 when both are 0.
    pub fn settlement_rate(&self) -> f64 {
        let concluded = self.settled + self.failed;
        if concluded == 0 { 0.0 } else { self.settled as f64 / concluded as f64 }
    }
}

/// Teams, members and screening rounds of one key.
#[derive(Debug, Clone, Default, PartialEq, QueryableByName)]
pub struct Capacity {
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub teams: i64,
    #[diesel(sql_type = BigInt)]
    pub mediators: i64,
    #[diesel(sql_type = BigInt)]
    pub screening_rounds: i64,
    #[diesel(sql_type = BigInt)]
    pub zero_reports: i64,
}

/// The period `[start, end]` (Beijing days) as times.
pub fn bounds(start: NaiveDate, end: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let at = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(crate::time::shanghai()).single())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    };
    (at(start), at(end.succ_opt().unwrap_or(end)))
}

/// The SQL of a row's key for the dispute columns `d.*` and event `e.*`
/// (for `Month`, the event's recording time) under the root `root`.
fn key_sql(breakdown: Breakdown, root: &str) -> String {
    match breakdown {
        Breakdown::None => "''".into(),
        // The path's segment below the root: the child region's code (the
        // region's own for a dispute arising at the root).
        Breakdown::ChildRegion => {
            format!("COALESCE(NULLIF(split_part(d.region_path, '/', {}), ''), d.region_code)", child_segment(root))
        }
        // Two digits, so that keys sort as the categories do.
        Breakdown::Category => "lpad(d.category::text, 2, '0')".into(),
        Breakdown::Month => "to_char(e.occurred_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')".into(),
    }
}

/// The place (from 1) of a child region's code in the paths under `root`.
fn child_segment(root: &str) -> usize {
    root.split('/').count() + 1
}

/// GROUP BY of a query keyed by `key`: the rows and the total (key NULL,
/// selected as '').
fn grouping(breakdown: Breakdown, key: &str) -> String {
    match breakdown {
        Breakdown::None => "()".into(),
        _ => format!("GROUPING SETS (({key}), ())"),
    }
}

/// The disputes of the subtree at `$3` (its LIKE pattern `$4`) recorded
/// before the period's end `$2`. The prefix LIKE `$5` (the root's path and
/// `%`) lets the planner read `disputes_statistics_idx` alone; the exact
/// test stays.
const DISPUTES_IN_SUBTREE: &str = "d.region_path LIKE $5 AND (d.region_path = $3 OR d.region_path LIKE $4)
           AND d.created_at < $2";

/// Plans the rest of the caller's transaction without parallel workers: a
/// statistics call's workers take cores from the other calls of a busy
/// server (bench mediation on a fresh cluster: the city-year's figures went
/// parallel and cost 13.7 ms instead of 9).
pub fn serial(conn: &mut PgConnection) -> Result<(), AppError> {
    diesel::sql_query("SET LOCAL max_parallel_workers_per_gather = 0").execute(conn)?;
    Ok(())
}

/// The figures of the subtree at `root` in the period: the total (key
/// empty) and the rows of `breakdown`, ordered by key.
pub struct Statistics {
    pub total: Figures,
    pub rows: Vec<Figures>,
}

/// Dispute figures of the subtree at `root` (a region path) in the period.
///
/// Each figure that counts an event happening to a dispute at most once
/// reads the dispute's projection of that event's recording time
/// (`aggregate::Milestones`); breaches and escalations, which may happen
/// more than once, read their events, each dispute counted once per row.
pub fn figures(
    conn: &mut PgConnection,
    root: &str,
    start: NaiveDate,
    end: NaiveDate,
    breakdown: Breakdown,
) -> Result<Statistics, AppError> {
    let (from, to) = bounds(start, end);
    let mut rows: Vec<Figures> = if breakdown == Breakdown::Month {
        by_month(conn, root, start, end)?
    } else {
        let key = key_sql(breakdown, root);
        let in_period = |column: &str| format!("{column} >= $1 AND {column} < $2");
        let query = format!(
            "SELECT {key} AS key,
                    count(*) FILTER (WHERE {recorded}) AS recorded,
                    count(*) FILTER (WHERE d.source = 1 AND {recorded}) AS screened,
                    count(*) FILTER (WHERE {accepted}) AS accepted,
                    count(*) FILTER (WHERE {refused}) AS refused,
                    count(*) FILTER (WHERE {settled}) AS settled,
                    count(*) FILTER (WHERE {failed}) AS failed,
                    count(*) FILTER (WHERE {performed}) AS performed,
                    count(*) FILTER (WHERE {applied}) AS confirmations_applied,
                    count(*) FILTER (WHERE {confirmed}) AS confirmations_confirmed,
                    COALESCE(sum(d.days_to_settle) FILTER (WHERE {settled}), 0)::bigint AS days_to_settle
             FROM disputes d
             WHERE {DISPUTES_IN_SUBTREE}
             GROUP BY 1",
            recorded = in_period("d.created_at"),
            accepted = in_period("d.accepted_at"),
            refused = in_period("d.refused_at"),
            settled = in_period("d.settled_at"),
            failed = in_period("d.failed_at"),
            performed = in_period("d.performed_at"),
            applied = in_period("d.confirmation_applied_at"),
            confirmed = in_period("d.confirmed_at"),
        );
        let found: Vec<MilestoneCounts> = subtree_query(query, root, from, to).load(conn)?;
        let mut total = MilestoneCounts::default();
        found.iter().for_each(|row| total.add(row));
        let mut rows: Vec<Figures> = if breakdown == Breakdown::None {
            Vec::new()
        } else {
            found.iter().map(MilestoneCounts::figures).collect()
        };
        rows.push(total.figures());
        rows
    };
    // Breaches and escalations, merged into the rows by key. Distinct
    // disputes do not add up across months: the database counts the total.
    let key = key_sql(breakdown, root);
    let query = format!(
        "SELECT COALESCE({key}, '') AS key,
                count(DISTINCT e.aggregate_id) FILTER (WHERE e.event_type = 10) AS breached,
                count(DISTINCT e.aggregate_id) FILTER (WHERE e.event_type = 13) AS escalated
         FROM events e
         JOIN disputes d ON d.id = e.aggregate_id
         WHERE e.aggregate_type = 2
           AND (e.event_type = 13 OR (e.event_type = 10 AND e.payload->>'performance' = 'BREACHED'))
           AND e.occurred_at >= $1 AND e.occurred_at < $2
           AND {DISPUTES_IN_SUBTREE}
         GROUP BY {grouping}",
        grouping = grouping(breakdown, &key),
    );
    let repeats: Vec<Repeats> = subtree_query(query, root, from, to).load(conn)?;
    for repeat in repeats {
        let at = match rows.iter().position(|r| r.key == repeat.key) {
            Some(at) => at,
            None => {
                rows.push(Figures { key: repeat.key.clone(), ..Figures::default() });
                rows.len() - 1
            }
        };
        rows[at].breached = repeat.breached;
        rows[at].escalated = repeat.escalated;
    }
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    let total = match rows.first() {
        Some(first) if first.key.is_empty() => rows.remove(0),
        _ => Figures::default(),
    };
    Ok(Statistics { total, rows })
}

/// `query` with the period at `$1`, `$2` and the subtree at `$3`–`$5`.
fn subtree_query(
    query: String,
    root: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> impl diesel::query_dsl::LoadQuery<'static, PgConnection, MilestoneCounts>
+ diesel::query_dsl::LoadQuery<'static, PgConnection, Repeats> {
    diesel::sql_query(query)
        .bind::<Timestamptz, _>(from)
        .bind::<Timestamptz, _>(to)
        .bind::<Text, _>(root.to_owned())
        .bind::<Text, _>(format!("{root}/%"))
        .bind::<Text, _>(format!("{root}%"))
}

/// Breaches and escalations of one key.
#[derive(Debug, QueryableByName)]
struct Repeats {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    breached: i64,
    #[diesel(sql_type = BigInt)]
    escalated: i64,
}

/// The months of a period by the buckets of the milestone times: one
/// grouping set per milestone (each dispute reaches each milestone at most
/// once), a milestone's month its bucket among the Beijing month starts.
#[derive(Debug, QueryableByName)]
struct MonthBuckets {
    #[diesel(sql_type = Nullable<Integer>)]
    recorded: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    accepted: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    refused: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    settled: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    failed: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    performed: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    applied: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    confirmed: Option<i32>,
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = BigInt)]
    screened: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    days: Option<i64>,
}

/// The calendar months (Beijing) of `[start, end]`: their labels and the
/// instants bounding them, the first the period's start, the last its end.
fn months(start: NaiveDate, end: NaiveDate) -> (Vec<String>, Vec<DateTime<Utc>>) {
    let mut labels = Vec::new();
    let mut starts = vec![start];
    let mut month = start.with_day(1).unwrap_or(start);
    loop {
        labels.push(month.format("%Y-%m").to_string());
        match month.checked_add_months(chrono::Months::new(1)) {
            Some(next) if next <= end => {
                starts.push(next);
                month = next;
            }
            _ => break,
        }
    }
    let mut instants: Vec<DateTime<Utc>> = starts.iter().map(|d| bounds(*d, *d).0).collect();
    instants.push(bounds(end, end).1);
    (labels, instants)
}

/// The milestone figures by the month each milestone was recorded in (the
/// total is their sum: each dispute reaches each milestone once).
fn by_month(conn: &mut PgConnection, root: &str, start: NaiveDate, end: NaiveDate) -> Result<Vec<Figures>, AppError> {
    let (from, to) = bounds(start, end);
    let (labels, instants) = months(start, end);
    let bucket = |column: &str| format!("width_bucket({column}, $6)");
    let query = format!(
        "SELECT {recorded} AS recorded, {accepted} AS accepted, {refused} AS refused, {settled} AS settled,
                {failed} AS failed, {performed} AS performed, {applied} AS applied, {confirmed} AS confirmed,
                count(*) AS n, count(*) FILTER (WHERE d.source = 1) AS screened,
                sum(d.days_to_settle)::bigint AS days
         FROM disputes d
         WHERE {DISPUTES_IN_SUBTREE}
         GROUP BY GROUPING SETS (({recorded}), ({accepted}), ({refused}), ({settled}), ({failed}), ({performed}),
                                 ({applied}), ({confirmed}))",
        recorded = bucket("d.created_at"),
        accepted = bucket("d.accepted_at"),
        refused = bucket("d.refused_at"),
        settled = bucket("d.settled_at"),
        failed = bucket("d.failed_at"),
        performed = bucket("d.performed_at"),
        applied = bucket("d.confirmation_applied_at"),
        confirmed = bucket("d.confirmed_at"),
    );
    let found: Vec<MonthBuckets> = diesel::sql_query(query)
        .bind::<Timestamptz, _>(from)
        .bind::<Timestamptz, _>(to)
        .bind::<Text, _>(root.to_owned())
        .bind::<Text, _>(format!("{root}/%"))
        .bind::<Text, _>(format!("{root}%"))
        .bind::<Array<Timestamptz>, _>(instants)
        .load(conn)?;
    let mut rows: Vec<Figures> = labels.iter().map(|key| Figures { key: key.clone(), ..Figures::default() }).collect();
    let mut total = Figures::default();
    let mut days = vec![0_i64; rows.len()];
    for f in found {
        // The one bucket column its grouping set keys it by; rows of
        // disputes without that milestone (NULL) or outside the period
        // (bucket 0 or past the last) count nowhere.
        let keyed = [f.recorded, f.accepted, f.refused, f.settled, f.failed, f.performed, f.applied, f.confirmed];
        let Some((figure, bucket)) = keyed.iter().enumerate().find_map(|(i, b)| b.map(|b| (i, b))) else {
            continue;
        };
        let Some(at) = usize::try_from(bucket).ok().filter(|b| (1..=rows.len()).contains(b)).map(|b| b - 1) else {
            continue;
        };
        for row in [&mut rows[at], &mut total] {
            match figure {
                0 => {
                    row.recorded += f.n;
                    row.screened += f.screened;
                }
                1 => row.accepted += f.n,
                2 => row.refused += f.n,
                3 => row.settled += f.n,
                4 => row.failed += f.n,
                5 => row.performed += f.n,
                6 => row.confirmations_applied += f.n,
                _ => row.confirmations_confirmed += f.n,
            }
        }
        if figure == 3 {
            days[at] += f.days.unwrap_or(0);
        }
    }
    let average = |days: i64, settled: i64| (settled > 0).then(|| days as f64 / settled as f64);
    for (row, days) in rows.iter_mut().zip(&days) {
        row.average_days_to_settle = average(*days, row.settled);
    }
    total.average_days_to_settle = average(days.iter().sum(), total.settled);
    rows.retain(|row| *row != Figures { key: row.key.clone(), ..Figures::default() });
    rows.push(total);
    Ok(rows)
}

/// Active teams sitting in the subtree, their active members, and the
/// period's screening rounds: the total (key empty) and, `by_child`, a row
/// per child region.
pub fn capacity(
    conn: &mut PgConnection,
    root: &str,
    start: NaiveDate,
    end: NaiveDate,
    by_child: bool,
) -> Result<(Capacity, Vec<Capacity>), AppError> {
    let key = if by_child {
        format!("COALESCE(NULLIF(split_part(t.region_path, '/', {}), ''), t.region_code)", child_segment(root))
    } else {
        "''".to_owned()
    };
    let query = format!(
        "SELECT {key} AS key,
                count(*) AS teams,
                COALESCE(sum(m.members), 0)::bigint AS mediators,
                COALESCE(sum(s.rounds), 0)::bigint AS screening_rounds,
                COALESCE(sum(s.zero_reports), 0)::bigint AS zero_reports
         FROM mediation_teams t
         LEFT JOIN (SELECT team_id, count(*) AS members FROM team_members WHERE active GROUP BY team_id) m
                ON m.team_id = t.id
         LEFT JOIN (SELECT team_id, count(*) AS rounds, count(*) FILTER (WHERE zero_report) AS zero_reports
                    FROM screenings WHERE screening_date BETWEEN $3 AND $4 GROUP BY team_id) s
                ON s.team_id = t.id
         WHERE NOT t.retired AND (t.region_path = $1 OR t.region_path LIKE $2)
         GROUP BY 1
         ORDER BY 1"
    );
    let rows: Vec<Capacity> = diesel::sql_query(query)
        .bind::<Text, _>(root)
        .bind::<Text, _>(format!("{root}/%"))
        .bind::<diesel::sql_types::Date, _>(start)
        .bind::<diesel::sql_types::Date, _>(end)
        .load(conn)?;
    // Each team sits under one child: the rows add up to the total.
    let total = rows.iter().fold(Capacity::default(), |sum, c| Capacity {
        key: String::new(),
        teams: sum.teams + c.teams,
        mediators: sum.mediators + c.mediators,
        screening_rounds: sum.screening_rounds + c.screening_rounds,
        zero_reports: sum.zero_reports + c.zero_reports,
    });
    let rows = if by_child { rows } else { Vec::new() };
    Ok((total, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn a_period_splits_into_its_beijing_months() {
        let (labels, instants) = months(date(2026, 1, 15), date(2026, 3, 10));
        assert_eq!(labels, ["2026-01", "2026-02", "2026-03"]);
        let at = |y, m, d| bounds(date(y, m, d), date(y, m, d)).0;
        assert_eq!(instants, [at(2026, 1, 15), at(2026, 2, 1), at(2026, 3, 1), at(2026, 3, 11)]);
        // Beijing midnight is 16:00 UTC the day before.
        assert_eq!(at(2026, 2, 1).to_rfc3339(), "2026-01-31T16:00:00+00:00");
        let (labels, instants) = months(date(2026, 12, 31), date(2026, 12, 31));
        assert_eq!((labels.len(), instants.len()), (1, 2));
    }
}
