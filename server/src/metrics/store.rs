//! The figures' queries. A dashboard as of today sums the days of
//! `metric_days`; one as of a past day (or a unit's dashboard by category
//! or channel) counts the facts with the day's cut. Both count the same
//! predicates (countables.rs), and an export selects its rows with them.

use std::collections::HashMap;

use super::countables::{self, Attribution};
use super::rules::{self, Figure, Formula, LegalAidFigure, Period, Source, Window};
use crate::auth::policy::MetricsReach;
use crate::error::AppError;
use crate::mediation::stats;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};

/// How the figures are grouped besides the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Breakdown {
    None,
    ChildRegion,
    Category,
    HandlingOrganization,
    Channel,
    Month,
}

/// What a dashboard is asked: whose rows, which days, as of when.
#[derive(Debug, Clone)]
pub struct Query {
    /// The subtree's root path.
    pub root: String,
    /// The root's own region code (the key of rows arising at the root).
    pub root_code: String,
    pub reach: MetricsReach,
    pub period: Period,
    pub as_of: NaiveDate,
    pub cessation_days: i32,
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The end of Beijing day `day` (exclusive): the cut of a figure as of it.
fn end_of(day: NaiveDate) -> DateTime<Utc> {
    stats::bounds(day, day).1
}

/// Binds `$1 … $6`: the root, its LIKE prefix, the LIKE of the rows below
/// it, the unit (or NULL), the cut and the cessation window.
macro_rules! bound {
    ($sql:expr, $q:expr) => {
        diesel::sql_query($sql)
            .bind::<Text, _>($q.root.clone())
            .bind::<Text, _>(format!("{}%", escape_like(&$q.root)))
            .bind::<Text, _>(format!("{}/%", escape_like(&$q.root)))
            .bind::<Nullable<SqlUuid>, _>(match $q.reach {
                MetricsReach::Subtree => None,
                MetricsReach::Organization(id) => Some(id),
            })
            .bind::<Timestamptz, _>(end_of($q.as_of))
            .bind::<Integer, _>($q.cessation_days)
    };
}

/// A predicate with the query's cut (`$5`) and cessation window (`$6`).
fn at_cut(predicate: &str) -> String {
    countables::fill(predicate, "$5", "$6")
}

fn date(day: NaiveDate) -> String {
    format!("DATE '{}'", day.format("%Y-%m-%d"))
}

fn between(w: Window) -> String {
    format!("day BETWEEN {} AND {}", date(w.first), date(w.last))
}

/// The key of a child region: the path's segment below the root, or the
/// root's own code for rows at the root.
fn child_region(path: &str, root: &str) -> String {
    let segment = root.split('/').count() + 1;
    format!("COALESCE(NULLIF(split_part({path}, '/', {segment}), ''), split_part($1, '/', {}))", segment - 1)
}

/// The month of a row's day; a day before the period (a year-on-year
/// denominator's) keys the month a year later, beside this year's.
fn month(q: &Query) -> String {
    format!(
        "to_char(CASE WHEN day < {start} THEN (day + interval '1 year')::date ELSE day END, 'YYYY-MM')",
        start = date(q.period.start)
    )
}

/// A (countable, window) pair a dashboard counts.
type Cell = (&'static str, Window);

/// The cells of `formulas`, each once.
fn cells(formulas: &[&'static Formula], q: &Query) -> Vec<Cell> {
    let mut cells: Vec<Cell> = Vec::new();
    for f in formulas.iter().filter(|f| f.source == Source::Counted) {
        let (num, den) = rules::windows(f, q.period, q.as_of, i64::from(q.cessation_days));
        let terms = f.numerator.iter().map(|t| (t.1, num)).chain(f.denominator.iter().map(|t| (t.1, den)));
        for (countable, window) in terms {
            if let Some(w) = window
                && !cells.contains(&(countable, w))
            {
                cells.push((countable, w));
            }
        }
    }
    cells
}

/// The days `cells` span.
fn span(cells: &[Cell]) -> Option<Window> {
    let first = cells.iter().map(|c| c.1.first).min()?;
    let last = cells.iter().map(|c| c.1.last).max()?;
    Some(Window { first, last })
}

#[derive(QueryableByName)]
struct Counted {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Bool)]
    total: bool,
    #[diesel(sql_type = Array<BigInt>)]
    counts: Vec<i64>,
}

/// The counts of a dashboard: per group (None: the total), per cell.
#[derive(Default)]
struct Counts {
    total: HashMap<Cell, i64>,
    groups: HashMap<String, HashMap<Cell, i64>>,
}

impl Counts {
    fn add(&mut self, cells: &[Cell], rows: Vec<Counted>) {
        for row in rows {
            // A group only of rows outside every cell is no group.
            if !row.total && row.counts.iter().all(|c| *c == 0) {
                continue;
            }
            let target = if row.total { &mut self.total } else { self.groups.entry(row.key).or_default() };
            for (cell, count) in cells.iter().zip(row.counts) {
                *target.entry(*cell).or_default() += count;
            }
        }
    }
}

/// `GROUP BY` and the key/total columns for `key`.
fn grouping(key: &str, grouped: bool) -> (String, String) {
    if grouped {
        (
            format!("COALESCE({key}, '') AS key, GROUPING({key}) = 1 AS total"),
            format!("GROUP BY GROUPING SETS (({key}), ())"),
        )
    } else {
        ("'' AS key, TRUE AS total".to_owned(), String::new())
    }
}

/// Whether the days of `metric_days` can answer: they hold what the log
/// says now, so the as-of day must be today (or later), and a unit's rows
/// are there only by region and day.
fn from_days(q: &Query, breakdown: Breakdown, today: NaiveDate) -> Option<i16> {
    if q.as_of < today {
        return None;
    }
    match (q.reach, breakdown) {
        (MetricsReach::Subtree, Breakdown::None | Breakdown::ChildRegion | Breakdown::Month) => Some(0),
        (MetricsReach::Subtree, Breakdown::Category) => Some(1),
        (MetricsReach::Subtree, Breakdown::Channel) => Some(2),
        (_, Breakdown::HandlingOrganization)
        | (MetricsReach::Organization(_), Breakdown::None | Breakdown::ChildRegion | Breakdown::Month) => Some(3),
        (MetricsReach::Organization(_), Breakdown::Category | Breakdown::Channel) => None,
    }
}

/// Sums the cells over `metric_days`: each cell's whole months from the
/// month rows, its edge days from the day rows.
fn count_days(
    conn: &mut PgConnection,
    q: &Query,
    cells: &[Cell],
    dimension: i16,
    breakdown: Breakdown,
) -> Result<Vec<Counted>, AppError> {
    if cells.is_empty() {
        return Ok(Vec::new());
    }
    let key = match breakdown {
        Breakdown::None => "''".to_owned(),
        Breakdown::ChildRegion => child_region("region_path", &q.root),
        Breakdown::Month => month(q),
        Breakdown::Category | Breakdown::Channel | Breakdown::HandlingOrganization => "key".to_owned(),
    };
    let (select, group) = grouping(&key, breakdown != Breakdown::None);
    let splits: Vec<rules::Split> = cells.iter().map(|(_, w)| rules::split(*w)).collect();
    let sums: Vec<String> = cells
        .iter()
        .zip(&splits)
        .map(|((c, _), split)| {
            let mut parts: Vec<String> =
                split.days.iter().map(|w| format!("(grain = 0 AND {})", between(*w))).collect();
            parts.extend(split.months.map(|m| format!("(grain = 1 AND {})", between(m))));
            format!("COALESCE(sum({c}) FILTER (WHERE {}), 0)", parts.join(" OR "))
        })
        .collect();
    let unit =
        if matches!(q.reach, MetricsReach::Organization(_)) { "AND key = $4::text" } else { "AND $4::uuid IS NULL" };
    let rows = |grain: u8, w: Window| {
        format!(
            "SELECT * FROM metric_days WHERE dimension = {dimension} AND grain = {grain} AND {}
               AND region_path LIKE $2 AND (region_path = $1 OR region_path LIKE $3) {unit}",
            between(w)
        )
    };
    // Disjoint ranges, so that no row is read twice.
    let months = rules::merged(splits.iter().filter_map(|s| s.months).collect());
    let days = rules::merged(splits.iter().flat_map(|s| s.days.iter().copied()).collect());
    let sources: Vec<String> =
        months.into_iter().map(|w| rows(1, w)).chain(days.into_iter().map(|w| rows(0, w))).collect();
    let sql = format!(
        "SELECT {select}, ARRAY[{sums}]::bigint[] AS counts FROM ({sources}) m
         WHERE $5::timestamptz IS NOT NULL AND $6::int IS NOT NULL
         {group}",
        sums = sums.join(", "),
        sources = sources.join(" UNION ALL "),
    );
    Ok(bound!(sql, q).load(conn)?)
}

/// The facts of `attribution` within the caller's reach, with their day.
fn facts_of(attribution: Attribution) -> String {
    let (table, alias) = if attribution.on_ratings() { ("rating_facts", "r") } else { ("case_facts", "f") };
    format!(
        "(SELECT {alias}.*, {day} AS day FROM {table} {alias}
          WHERE {alias}.region_path LIKE $2 AND ({alias}.region_path = $1 OR {alias}.region_path LIKE $3)
            AND ($4::uuid IS NULL OR {alias}.handling_organization_id = $4)) {alias}",
        day = attribution.day_sql(),
    )
}

/// Counts the cells of one attribution over its facts, at the query's cut.
fn count_facts(
    conn: &mut PgConnection,
    q: &Query,
    attribution: Attribution,
    cells: &[Cell],
    breakdown: Breakdown,
) -> Result<Vec<Counted>, AppError> {
    let Some(days) = span(cells) else { return Ok(Vec::new()) };
    let alias = if attribution.on_ratings() { "r" } else { "f" };
    let key = match breakdown {
        Breakdown::None => "''".to_owned(),
        Breakdown::ChildRegion => child_region(&format!("{alias}.region_path"), &q.root),
        Breakdown::Category => format!("{alias}.category_code"),
        Breakdown::Channel => format!("{alias}.channel::text"),
        Breakdown::HandlingOrganization => format!("COALESCE({alias}.handling_organization_id::text, '')"),
        Breakdown::Month => month(q),
    };
    let (select, group) = grouping(&key, breakdown != Breakdown::None);
    let counts: Vec<String> = cells
        .iter()
        .map(|(c, w)| {
            let predicate = countables::countable(c).map(|c| at_cut(c.predicate)).unwrap_or_else(|| "FALSE".into());
            format!("count(*) FILTER (WHERE {} AND ({predicate}))", between(*w))
        })
        .collect();
    let sql = format!(
        "SELECT {select}, ARRAY[{counts}]::bigint[] AS counts FROM {facts} WHERE {days} {group}",
        counts = counts.join(", "),
        facts = facts_of(attribution),
        days = between(days),
    );
    Ok(bound!(sql, q).load(conn)?)
}

/// The figures of a dashboard: the total and, per group key, the figures
/// of the group (in the order of `formulas`).
pub struct Dashboard {
    pub total: Vec<Figure>,
    pub groups: Vec<(String, Vec<Figure>)>,
}

/// Plans the rest of the caller's transaction serially and without JIT:
/// a dashboard's many filters make the planner's estimate large enough to
/// compile, which costs more than it saves here.
fn plain(conn: &mut PgConnection) -> Result<(), AppError> {
    stats::serial(conn)?;
    diesel::sql_query("SET LOCAL jit = off").execute(conn)?;
    Ok(())
}

/// Every figure of `formulas` for the query, in total and per group of
/// `breakdown`. Runs in the caller's snapshot.
pub fn dashboard(
    conn: &mut PgConnection,
    q: &Query,
    formulas: &[&'static Formula],
    breakdown: Breakdown,
) -> Result<Dashboard, AppError> {
    plain(conn)?;
    let mut counts = Counts::default();
    let all = cells(formulas, q);
    match from_days(q, breakdown, crate::time::shanghai_today()) {
        Some(dimension) => {
            let found = count_days(conn, q, &all, dimension, breakdown)?;
            counts.add(&all, found);
        }
        None => {
            for attribution in Attribution::ALL {
                let mine: Vec<Cell> = all
                    .iter()
                    .copied()
                    .filter(|(c, _)| countables::countable(c).is_some_and(|c| c.attribution == attribution))
                    .collect();
                let found = count_facts(conn, q, attribution, &mine, breakdown)?;
                counts.add(&mine, found);
            }
        }
    }
    let figures = |cells: &HashMap<Cell, i64>| -> Vec<Figure> {
        formulas
            .iter()
            .map(|f| {
                let (num, den) = rules::windows(f, q.period, q.as_of, i64::from(q.cessation_days));
                let lookup = |c: &'static str, w: Window| cells.get(&(c, w)).copied().unwrap_or(0);
                Figure {
                    formula: f,
                    available: !matches!(f.source, Source::Unavailable),
                    numerator: rules::sum(f.numerator, num, lookup),
                    denominator: rules::sum(f.denominator, den, lookup),
                }
            })
            .collect()
    };
    let blank = figures(&HashMap::new());
    let mut total = figures(&counts.total);
    let mut groups: Vec<(String, Vec<Figure>)> =
        counts.groups.iter().map(|(key, cells)| (key.clone(), figures(cells))).collect();
    if let Some(slot) = formulas.iter().position(|f| f.source == Source::Mediation) {
        mediation(conn, q, slot, breakdown, &mut total, &mut groups, &blank)?;
    }
    let legal_aid_slots: Vec<(usize, LegalAidFigure)> = formulas
        .iter()
        .enumerate()
        .filter_map(|(i, f)| match f.source {
            Source::LegalAid(figure) => Some((i, figure)),
            _ => None,
        })
        .collect();
    if !legal_aid_slots.is_empty() {
        legal_aid(conn, q, &legal_aid_slots, breakdown, &mut total, &mut groups, &blank)?;
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Dashboard { total, groups })
}

/// A figure that cannot be computed (for the caller's reach, or under the
/// breakdown).
fn withhold(figure: &mut Figure) {
    figure.available = false;
    figure.numerator = 0;
    figure.denominator = 0;
}

/// The figures of the group `key`, added (blank) if absent.
fn group_of<'a>(groups: &'a mut Vec<(String, Vec<Figure>)>, key: &str, blank: &[Figure]) -> &'a mut Vec<Figure> {
    let i = match groups.iter().position(|(k, _)| k == key) {
        Some(i) => i,
        None => {
            groups.push((key.to_owned(), blank.to_vec()));
            groups.len() - 1
        }
    };
    &mut groups[i].1
}

/// The mediation settlement rate from the mediation statistics: for the
/// subtree's disputes (a unit's own figures have none: unavailable), in
/// total and by child region or month; other breakdowns leave the groups'
/// figure unavailable (disputes have no petition category, channel or
/// handling unit).
fn mediation(
    conn: &mut PgConnection,
    q: &Query,
    slot: usize,
    breakdown: Breakdown,
    total: &mut [Figure],
    groups: &mut Vec<(String, Vec<Figure>)>,
    blank: &[Figure],
) -> Result<(), AppError> {
    if matches!(q.reach, MetricsReach::Organization(_)) || q.as_of < q.period.start {
        if matches!(q.reach, MetricsReach::Organization(_)) {
            withhold(&mut total[slot]);
            groups.iter_mut().for_each(|(_, g)| withhold(&mut g[slot]));
        }
        return Ok(());
    }
    let by = match breakdown {
        Breakdown::ChildRegion => Some(stats::Breakdown::ChildRegion),
        Breakdown::Month => Some(stats::Breakdown::Month),
        Breakdown::None => Some(stats::Breakdown::None),
        _ => None,
    };
    let end = q.period.end.min(q.as_of);
    let found = stats::figures(conn, &q.root, q.period.start, end, by.unwrap_or(stats::Breakdown::None))?;
    let set = |figure: &mut Figure, f: &stats::Figures| {
        figure.numerator = f.settled;
        figure.denominator = f.settled + f.failed;
    };
    set(&mut total[slot], &found.total);
    match by {
        Some(stats::Breakdown::None) => {}
        Some(_) => {
            for row in &found.rows {
                if row.settled + row.failed > 0 {
                    set(&mut group_of(groups, &row.key, blank)[slot], row);
                }
            }
        }
        None => groups.iter_mut().for_each(|(_, g)| withhold(&mut g[slot])),
    }
    Ok(())
}

#[derive(QueryableByName)]
struct LegalAidCounted {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = Bool)]
    total: bool,
    #[diesel(sql_type = BigInt)]
    received: i64,
    #[diesel(sql_type = BigInt)]
    decided: i64,
    #[diesel(sql_type = BigInt)]
    granted: i64,
    #[diesel(sql_type = BigInt)]
    timely: i64,
}

/// The legal-aid figures of the subtree's centres (an application belongs
/// where its centre is), from the applications' events up to the cut:
/// applications by the day they were recorded; the centre's first decision
/// (granted, refused, or granted first under Art.44) by the day it was
/// recorded, granting or not, and dated by the decision's due day in force
/// then (set at receipt, moved when missing materials arrive). In total and
/// by child region or month; a unit's figures and other breakdowns have
/// none (applications have no petition category, channel or handling unit).
fn legal_aid(
    conn: &mut PgConnection,
    q: &Query,
    slots: &[(usize, LegalAidFigure)],
    breakdown: Breakdown,
    total: &mut [Figure],
    groups: &mut Vec<(String, Vec<Figure>)>,
    blank: &[Figure],
) -> Result<(), AppError> {
    if matches!(q.reach, MetricsReach::Organization(_)) {
        for (slot, _) in slots {
            withhold(&mut total[*slot]);
            groups.iter_mut().for_each(|(_, g)| withhold(&mut g[*slot]));
        }
        return Ok(());
    }
    // Groups by child region or month; under other breakdowns, the total only.
    let key = match breakdown {
        Breakdown::ChildRegion => Some(child_region("x.region_path", &q.root)),
        Breakdown::Month => Some("to_char(x.day, 'YYYY-MM')".to_owned()),
        Breakdown::None | Breakdown::Category | Breakdown::Channel | Breakdown::HandlingOrganization => None,
    };
    if key.is_none() {
        for (slot, _) in slots {
            groups.iter_mut().for_each(|(_, g)| withhold(&mut g[*slot]));
        }
    }
    let last = q.period.end.min(q.as_of);
    if last < q.period.start {
        return Ok(());
    }
    let (select, group) = grouping(key.as_deref().unwrap_or("''"), key.is_some());
    let sql = format!(
        "WITH apps AS (
             SELECT a.id, r.path AS region_path
             FROM legal_aid_applications a
             JOIN organizations o ON o.id = a.centre_organization_id
             JOIN regions r ON r.code = o.region_code
             WHERE r.path LIKE $2 AND (r.path = $1 OR r.path LIKE $3) AND $4::uuid IS NULL AND $6::int IS NOT NULL
         ), logged AS (
             SELECT e.aggregate_id, e.sequence, e.event_type, e.payload, apps.region_path,
                    (e.occurred_at AT TIME ZONE 'Asia/Shanghai')::date AS day
             FROM apps JOIN events e ON e.aggregate_type = 3 AND e.aggregate_id = apps.id
             WHERE e.occurred_at < $5
         ), decided AS (
             SELECT DISTINCT ON (d.aggregate_id) d.region_path, d.day, d.event_type IN (5, 7) AS granted,
                    (d.payload->>'decision_date')::date <= (
                        SELECT (w.payload->>'decision_due')::date FROM logged w
                        WHERE w.aggregate_id = d.aggregate_id AND w.sequence < d.sequence AND w.payload ? 'decision_due'
                        ORDER BY w.sequence DESC LIMIT 1) AS timely
             FROM logged d WHERE d.event_type IN (5, 6, 7)
             ORDER BY d.aggregate_id, d.sequence
         )
         SELECT {select}, count(*) FILTER (WHERE x.received) AS received,
                count(*) FILTER (WHERE NOT x.received) AS decided,
                count(*) FILTER (WHERE NOT x.received AND x.granted) AS granted,
                count(*) FILTER (WHERE NOT x.received AND x.timely IS TRUE) AS timely
         FROM (SELECT region_path, day, TRUE AS received, FALSE AS granted, FALSE AS timely
               FROM logged WHERE event_type = 1
               UNION ALL
               SELECT region_path, day, FALSE, granted, timely FROM decided) x
         WHERE x.day BETWEEN {first} AND {last}
         {group}",
        first = date(q.period.start),
        last = date(last),
    );
    let found: Vec<LegalAidCounted> = bound!(sql, q).load(conn)?;
    let set = |figures: &mut [Figure], row: &LegalAidCounted| {
        for (slot, figure) in slots {
            let (numerator, denominator) = match figure {
                LegalAidFigure::Applications => (row.received, 0),
                LegalAidFigure::GrantRate => (row.granted, row.decided),
                LegalAidFigure::TimelyDecisionRate => (row.timely, row.decided),
            };
            figures[*slot].numerator = numerator;
            figures[*slot].denominator = denominator;
        }
    };
    for row in &found {
        if row.total {
            set(total, row);
        } else if row.received + row.decided > 0 {
            set(group_of(groups, &row.key, blank), row);
        }
    }
    Ok(())
}

/// One row of an export.
#[derive(Debug, Clone, QueryableByName)]
pub struct ExportRow {
    #[diesel(sql_type = Text)]
    pub number: String,
    #[diesel(sql_type = Bool)]
    pub in_numerator: bool,
    #[diesel(sql_type = Bool)]
    pub in_denominator: bool,
    #[diesel(sql_type = Text)]
    pub fact: String,
}

/// Rows fetched per page of an export.
const EXPORT_PAGE: i64 = 5_000;

/// `Σ coefficient × [countable on a day of the window]` over a row, > 0.
fn membership(terms: rules::Terms, window: Option<Window>) -> String {
    let Some(w) = window else { return "FALSE".into() };
    if terms.is_empty() {
        return "FALSE".into();
    }
    let sum: Vec<String> = terms
        .iter()
        .map(|(k, c)| {
            let predicate = countables::countable(c).map(|c| at_cut(c.predicate)).unwrap_or_else(|| "FALSE".into());
            format!("{k} * (CASE WHEN {} AND ({predicate}) THEN 1 ELSE 0 END)", between(w))
        })
        .collect();
    format!("({}) > 0", sum.join(" + "))
}

/// The rows behind `formula`'s total figure at the query's cut, in case
/// number order (a rating's: and round), handed to `page` a page at a time
/// from one cursor; stops when `page` returns false.
pub fn export(
    conn: &mut PgConnection,
    q: &Query,
    formula: &Formula,
    mut page: impl FnMut(Vec<ExportRow>) -> bool,
) -> Result<(), AppError> {
    plain(conn)?;
    let Some(attribution) = formula.attribution() else { return Ok(()) };
    let (num, den) = rules::windows(formula, q.period, q.as_of, i64::from(q.cessation_days));
    let Some(days) = span(&[num, den].into_iter().flatten().map(|w| ("", w)).collect::<Vec<_>>()) else {
        return Ok(());
    };
    let alias = if attribution.on_ratings() { "r" } else { "f" };
    let in_numerator = membership(formula.numerator, num);
    let in_denominator = membership(formula.denominator, den);
    // What put the row there: its day, and which of the formula's countables it is in.
    let named: Vec<String> = formula
        .numerator
        .iter()
        .chain(formula.denominator)
        .map(|t| t.1)
        .fold(Vec::new(), |mut seen: Vec<&str>, c| {
            if !seen.contains(&c) {
                seen.push(c);
            }
            seen
        })
        .into_iter()
        .filter_map(countables::countable)
        .map(|c| format!("CASE WHEN {} THEN '{}' END", at_cut(c.predicate), c.column))
        .collect();
    let round = if attribution.on_ratings() { "'round ' || r.round || ', ' || " } else { "" };
    let fact = format!(
        "{round}'{label} ' || to_char(day, 'YYYY-MM-DD') || COALESCE(': ' || NULLIF(concat_ws(', ', {named}), ''), '')",
        label = attribution.label(),
        named = named.join(", "),
    );
    let order = if attribution.on_ratings() { "c.number, r.round" } else { "c.number" };
    let sql = format!(
        "DECLARE metric_export NO SCROLL CURSOR FOR
         SELECT c.number, {in_numerator} AS in_numerator, {in_denominator} AS in_denominator, {fact} AS fact
         FROM {facts} JOIN cases c ON c.id = {alias}.case_id
         WHERE {days} AND (({in_numerator}) OR ({in_denominator}))
         ORDER BY {order}",
        facts = facts_of(attribution),
        days = between(days),
    );
    bound!(sql, q).execute(conn)?;
    loop {
        let rows: Vec<ExportRow> = diesel::sql_query(format!("FETCH {EXPORT_PAGE} FROM metric_export")).load(conn)?;
        let last = (rows.len() as i64) < EXPORT_PAGE;
        if !page(rows) || last {
            break;
        }
    }
    diesel::sql_query("CLOSE metric_export").execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::countables::COUNTABLES;
    use uuid::Uuid;

    fn query(as_of: NaiveDate, reach: MetricsReach) -> Query {
        let day = |m, d| NaiveDate::from_ymd_opt(2025, m, d).unwrap_or_default();
        Query {
            root: "360700".into(),
            root_code: "360700".into(),
            reach,
            period: Period { start: day(1, 1), end: day(12, 31) },
            as_of,
            cessation_days: 90,
        }
    }

    #[test]
    fn the_days_answer_only_what_they_hold() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default();
        let past = today.pred_opt().unwrap_or_default();
        let unit = MetricsReach::Organization(Uuid::nil());
        assert_eq!(from_days(&query(today, MetricsReach::Subtree), Breakdown::ChildRegion, today), Some(0));
        assert_eq!(from_days(&query(today, MetricsReach::Subtree), Breakdown::Category, today), Some(1));
        assert_eq!(from_days(&query(today, MetricsReach::Subtree), Breakdown::Channel, today), Some(2));
        assert_eq!(from_days(&query(today, MetricsReach::Subtree), Breakdown::HandlingOrganization, today), Some(3));
        assert_eq!(from_days(&query(today, unit), Breakdown::Month, today), Some(3));
        assert_eq!(from_days(&query(today, unit), Breakdown::Category, today), None);
        assert_eq!(from_days(&query(past, MetricsReach::Subtree), Breakdown::None, today), None);
    }

    #[test]
    fn cells_are_counted_once_per_window() {
        let q = query(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap_or_default(), MetricsReach::Subtree);
        let formulas: Vec<&'static Formula> = rules::FORMULAS.iter().collect();
        let cells = cells(&formulas, &q);
        for (i, cell) in cells.iter().enumerate() {
            assert!(!cells[..i].contains(cell));
        }
        // Filings this year and a year earlier are two cells of one countable.
        assert_eq!(cells.iter().filter(|c| c.0 == "filed").count(), 2);
        assert!(COUNTABLES.iter().all(|c| cells.iter().any(|cell| cell.0 == c.column)));
    }
}
