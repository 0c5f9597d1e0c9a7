//! The figures' queries: each formula's predicates (rules.rs) counted over
//! the subtree's case facts or ratings, grouped by the breakdown's key, and
//! the same predicates selecting the rows of an export.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::rules::{Figure, Formula, Period, Source, year_earlier};
use crate::auth::policy::MetricsReach;
use crate::error::AppError;
use crate::mediation::stats;

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

/// The start of Beijing day `day`.
fn day_start(day: NaiveDate) -> DateTime<Utc> {
    stats::bounds(day, day).0
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// The parameters every query binds ($1 … $13, rules::Formula).
struct Binds {
    from: DateTime<Utc>,
    end: DateTime<Utc>,
    cut: DateTime<Utc>,
    last_from: DateTime<Utc>,
    last_end: DateTime<Utc>,
    root: String,
    prefix: String,
    organization: Option<Uuid>,
    cessation_days: i32,
    first_day: NaiveDate,
    last_day: NaiveDate,
    as_of: NaiveDate,
    below: String,
}

impl Binds {
    fn of(q: &Query) -> Binds {
        let after = |d: NaiveDate| d.succ_opt().unwrap_or(d);
        let from = day_start(q.period.start);
        let cut = day_start(after(q.as_of));
        let end = day_start(after(q.period.end)).min(cut);
        // The same window a year earlier: from the period's first day to
        // the effective end's day, each a year back.
        let end_day = after(q.period.end).min(after(q.as_of));
        let (last_from, last_end) = (day_start(year_earlier(q.period.start)), day_start(year_earlier(end_day)));
        let organization = match q.reach {
            MetricsReach::Subtree => None,
            MetricsReach::Organization(id) => Some(id),
        };
        Binds {
            from,
            end,
            cut,
            last_from,
            last_end: last_end.max(last_from),
            root: q.root.clone(),
            prefix: format!("{}%", escape_like(&q.root)),
            organization,
            cessation_days: q.cessation_days,
            first_day: q.period.start,
            last_day: q.period.end,
            as_of: q.as_of,
            below: format!("{}/%", escape_like(&q.root)),
        }
    }
}

/// Binds `$1 … $13` to `sql`.
macro_rules! bound {
    ($sql:expr, $b:expr) => {
        diesel::sql_query($sql)
            .bind::<Timestamptz, _>($b.from)
            .bind::<Timestamptz, _>($b.end)
            .bind::<Timestamptz, _>($b.cut)
            .bind::<Timestamptz, _>($b.last_from)
            .bind::<Timestamptz, _>($b.last_end)
            .bind::<Text, _>($b.root.clone())
            .bind::<Text, _>($b.prefix.clone())
            .bind::<Nullable<SqlUuid>, _>($b.organization)
            .bind::<Integer, _>($b.cessation_days)
            .bind::<Date, _>($b.first_day)
            .bind::<Date, _>($b.last_day)
            .bind::<Date, _>($b.as_of)
            .bind::<Text, _>($b.below.clone())
    };
}

/// The rows of a source within the caller's reach: the subtree (the prefix
/// lets the planner read the subtree's index range), and the organization
/// for a unit's own figures.
fn reach(source: Source) -> &'static str {
    match source {
        Source::Ratings => {
            "r.region_path LIKE $7 AND (r.region_path = $6 OR r.region_path LIKE $13)
             AND ($8::uuid IS NULL OR r.handling_organization_id = $8)"
        }
        _ => {
            "f.region_path LIKE $7 AND (f.region_path = $6 OR f.region_path LIKE $13)
             AND ($8::uuid IS NULL OR f.handling_organization_id = $8)
             AND f.filed_at < $2"
        }
    }
}

fn from(source: Source) -> &'static str {
    match source {
        Source::Ratings => "ratings r",
        _ => "case_facts f",
    }
}

/// The SQL of a row's group key.
fn key_sql(breakdown: Breakdown, source: Source, root: &str, month: &str) -> String {
    let alias = if source == Source::Ratings { "r" } else { "f" };
    match breakdown {
        Breakdown::None => "''".into(),
        Breakdown::ChildRegion => {
            let segment = root.split('/').count() + 1;
            format!(
                "COALESCE(NULLIF(split_part({alias}.region_path, '/', {segment}), ''), split_part($6, '/', {}))",
                segment - 1
            )
        }
        Breakdown::Category => format!("{alias}.category_code"),
        Breakdown::HandlingOrganization => format!("COALESCE({alias}.handling_organization_id::text, '')"),
        Breakdown::Channel => format!("COALESCE({alias}.channel::text, '')"),
        Breakdown::Month if source == Source::Ratings => format!("to_char({month}, 'YYYY-MM')"),
        Breakdown::Month => format!("to_char(({month}) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"),
    }
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

/// The figures of a dashboard: the total and, per group key, the figures
/// of the group (in the order of `formulas`).
pub struct Dashboard {
    pub total: Vec<Figure>,
    pub groups: Vec<(String, Vec<Figure>)>,
}

/// Counts `formulas` (all of `source`) keyed by `key`: (key, is total,
/// [denominator, numerator] per formula).
fn count(
    conn: &mut PgConnection,
    b: &Binds,
    source: Source,
    formulas: &[&'static Formula],
    key: &str,
    grouped: bool,
) -> Result<Vec<Counted>, AppError> {
    let columns: Vec<String> =
        formulas
            .iter()
            .map(|f| {
                format!(
                    "count(*) FILTER (WHERE {d}), count(*) FILTER (WHERE {n})",
                    d = f.denominator,
                    n = numerator_sql(f),
                )
            })
            .collect();
    let (select_key, group) = if grouped {
        (
            format!("COALESCE({key}, '') AS key, GROUPING({key}) = 1 AS total"),
            format!("GROUP BY GROUPING SETS (({key}), ())"),
        )
    } else {
        ("'' AS key, TRUE AS total".to_owned(), String::new())
    };
    let sql = format!(
        "SELECT {select_key}, ARRAY[{columns}]::bigint[] AS counts FROM {from} WHERE {reach} {group}",
        columns = columns.join(", "),
        from = from(source),
        reach = reach(source),
    );
    Ok(bound!(sql, b).load(conn)?)
}

/// A rate's numerator is counted within its denominator.
fn numerator_sql(f: &Formula) -> String {
    match f.shape {
        super::rules::Shape::Rate => format!("({}) AND ({})", f.denominator, f.numerator),
        _ => format!("({})", f.numerator),
    }
}

/// Adds `found` (the counts of `formulas`, placed at `slots` of each row's
/// figures) into `total` and `groups`.
fn place(
    found: Vec<Counted>,
    formulas: &[&'static Formula],
    slots: &[usize],
    total: &mut [Figure],
    groups: &mut Vec<(String, Vec<Figure>)>,
    blank: &[Figure],
) {
    for row in found {
        // A group only of rows outside every figure (a month keyed by a
        // time outside the period, a key of NULL) is no group.
        if !row.total && row.counts.iter().all(|c| *c == 0) {
            continue;
        }
        let target: &mut [Figure] = if row.total {
            total
        } else {
            let i = match groups.iter().position(|(k, _)| *k == row.key) {
                Some(i) => i,
                None => {
                    groups.push((row.key.clone(), blank.to_vec()));
                    groups.len() - 1
                }
            };
            &mut groups[i].1
        };
        for (j, slot) in slots.iter().enumerate() {
            let figure = &mut target[*slot];
            figure.formula = formulas[j];
            figure.available = true;
            figure.denominator = row.counts.get(2 * j).copied().unwrap_or(0);
            figure.numerator = row.counts.get(2 * j + 1).copied().unwrap_or(0);
        }
    }
}

/// [`stats::serial`], and without JIT compilation: a dashboard's many
/// filters and subplans make the planner's estimate large enough to JIT,
/// which cost 20 ms of an 84 ms query over 20,000 cases (bench metrics).
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
    let b = Binds::of(q);
    // Every figure starts as computed-empty (groups: absent rows are 0);
    // what has no source is unavailable.
    let blank: Vec<Figure> = formulas
        .iter()
        .map(|f| Figure {
            formula: f,
            available: !matches!(f.source, Source::Unavailable),
            numerator: 0,
            denominator: 0,
        })
        .collect();
    let mut total = blank.clone();
    let mut groups: Vec<(String, Vec<Figure>)> = Vec::new();
    let grouped = breakdown != Breakdown::None;
    for source in [Source::Facts, Source::Ratings] {
        let slots: Vec<usize> = (0..formulas.len()).filter(|i| formulas[*i].source == source).collect();
        if slots.is_empty() {
            continue;
        }
        let of_source: Vec<&'static Formula> = slots.iter().map(|i| formulas[*i]).collect();
        if breakdown == Breakdown::Month {
            // Each formula keys months by its own attribution time.
            for (slot, formula) in slots.iter().zip(&of_source) {
                let key = key_sql(breakdown, source, &q.root, formula.month);
                let found = count(conn, &b, source, &[formula], &key, true)?;
                place(found, &[formula], &[*slot], &mut total, &mut groups, &blank);
            }
        } else {
            let key = key_sql(breakdown, source, &q.root, "");
            let found = count(conn, &b, source, &of_source, &key, grouped)?;
            place(found, &of_source, &slots, &mut total, &mut groups, &blank);
        }
    }
    if let Some(slot) = formulas.iter().position(|f| f.source == Source::Mediation) {
        mediation(conn, q, slot, breakdown, &mut total, &mut groups, &blank)?;
    }
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Dashboard { total, groups })
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
    let unavailable = |f: &mut Figure| {
        f.available = false;
        f.numerator = 0;
        f.denominator = 0;
    };
    if matches!(q.reach, MetricsReach::Organization(_)) || q.as_of < q.period.start {
        if matches!(q.reach, MetricsReach::Organization(_)) {
            unavailable(&mut total[slot]);
            groups.iter_mut().for_each(|(_, g)| unavailable(&mut g[slot]));
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
                if row.settled + row.failed == 0 {
                    continue;
                }
                match groups.iter_mut().find(|(k, _)| *k == row.key) {
                    Some((_, g)) => set(&mut g[slot], row),
                    None => {
                        let mut g = blank.to_vec();
                        set(&mut g[slot], row);
                        groups.push((row.key.clone(), g));
                    }
                }
            }
        }
        None => groups.iter_mut().for_each(|(_, g)| unavailable(&mut g[slot])),
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

/// The rows behind `formula`'s total figure, by case number (a rating's
/// case number; a case with several rounds rated has several rows).
pub fn export(conn: &mut PgConnection, q: &Query, formula: &Formula) -> Result<Vec<ExportRow>, AppError> {
    plain(conn)?;
    let b = Binds::of(q);
    let (join, alias) = match formula.source {
        Source::Facts => ("JOIN cases c ON c.id = f.case_id", "f"),
        Source::Ratings => ("JOIN cases c ON c.id = r.case_id", "r"),
        Source::Mediation | Source::Unavailable => return Ok(Vec::new()),
    };
    let order = if alias == "r" { "c.number, r.round" } else { "c.number" };
    let sql = format!(
        "SELECT c.number, COALESCE({n}, FALSE) AS in_numerator, COALESCE({d}, FALSE) AS in_denominator,
                COALESCE({fact}, '') AS fact
         FROM {from} {join}
         WHERE {reach} AND (({d}) OR ({n}))
         ORDER BY {order}",
        n = numerator_sql(formula),
        d = formula.denominator,
        fact = formula.fact,
        from = from(formula.source),
        reach = reach(formula.source),
    );
    Ok(bound!(sql, b).load(conn)?)
}
