//! Mediation statistics of a region subtree and a period, from the event
//! log: one SQL aggregate over the period's dispute events, one formula per
//! figure (docs/mediation.md). An event counts in the period its
//! recording time (Beijing) falls in.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamptz};

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
#[derive(Debug, Clone, Default, PartialEq, QueryableByName)]
pub struct Figures {
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = BigInt)]
    pub recorded: i64,
    #[diesel(sql_type = BigInt)]
    pub screened: i64,
    #[diesel(sql_type = BigInt)]
    pub accepted: i64,
    #[diesel(sql_type = BigInt)]
    pub refused: i64,
    #[diesel(sql_type = BigInt)]
    pub settled: i64,
    #[diesel(sql_type = BigInt)]
    pub failed: i64,
    #[diesel(sql_type = BigInt)]
    pub performed: i64,
    #[diesel(sql_type = BigInt)]
    pub breached: i64,
    #[diesel(sql_type = BigInt)]
    pub confirmations_applied: i64,
    #[diesel(sql_type = BigInt)]
    pub confirmations_confirmed: i64,
    #[diesel(sql_type = BigInt)]
    pub escalated: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub average_days_to_settle: Option<f64>,
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

/// The SQL of a row's key for the dispute columns `d.*` and event `e.*`.
fn key_sql(breakdown: Breakdown) -> &'static str {
    match breakdown {
        Breakdown::None => "''",
        // The path segment below the root: the child region's code.
        Breakdown::ChildRegion => {
            "COALESCE(NULLIF(split_part(substr(d.region_path, length($3) + 2), '/', 1), ''), d.region_code)"
        }
        Breakdown::Category => "d.category::text",
        Breakdown::Month => "to_char(e.occurred_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')",
    }
}

/// Dispute figures of the subtree at `root` (a region path) in the period.
pub fn figures(
    conn: &mut PgConnection,
    root: &str,
    start: NaiveDate,
    end: NaiveDate,
    breakdown: Breakdown,
) -> Result<Vec<Figures>, AppError> {
    let (from, to) = bounds(start, end);
    let key = key_sql(breakdown);
    // PerformanceRecorded leaving PERFORMED happens once per dispute; a
    // breach may be recorded for several terms, and a dispute may be
    // escalated twice (village → township → county), so those two count
    // disputes.
    let query = format!(
        "SELECT {key} AS key,
                count(*) FILTER (WHERE e.event_type = 1) AS recorded,
                count(*) FILTER (WHERE e.event_type = 1 AND d.source = 1) AS screened,
                count(*) FILTER (WHERE e.event_type = 3) AS accepted,
                count(*) FILTER (WHERE e.event_type = 2 AND e.state = 8) AS refused,
                count(*) FILTER (WHERE e.event_type = 8) AS settled,
                count(*) FILTER (WHERE e.event_type = 9) AS failed,
                count(*) FILTER (WHERE e.event_type = 10 AND e.state = 5) AS performed,
                count(DISTINCT e.aggregate_id) FILTER (
                    WHERE e.event_type = 10 AND e.payload->>'performance' = 'BREACHED') AS breached,
                count(*) FILTER (WHERE e.event_type = 11) AS confirmations_applied,
                count(*) FILTER (
                    WHERE e.event_type = 12 AND e.payload->>'decision' = 'CONFIRMED') AS confirmations_confirmed,
                count(DISTINCT e.aggregate_id) FILTER (WHERE e.event_type = 13) AS escalated,
                avg(((e.payload->'agreement'->>'effective_date')::date - d.accept_date)::float8)
                    FILTER (WHERE e.event_type = 8) AS average_days_to_settle
         FROM events e
         JOIN disputes d ON d.id = e.aggregate_id
         WHERE e.aggregate_type = 2 AND e.occurred_at >= $1 AND e.occurred_at < $2
           AND (d.region_path = $3 OR d.region_path LIKE $4)
         GROUP BY 1
         ORDER BY 1"
    );
    Ok(diesel::sql_query(query)
        .bind::<Timestamptz, _>(from)
        .bind::<Timestamptz, _>(to)
        .bind::<Text, _>(root)
        .bind::<Text, _>(format!("{root}/%"))
        .load(conn)?)
}

/// Active teams sitting in the subtree, their active members, and the
/// period's screening rounds, by child region (`by_child`) or in total.
pub fn capacity(
    conn: &mut PgConnection,
    root: &str,
    start: NaiveDate,
    end: NaiveDate,
    by_child: bool,
) -> Result<Vec<Capacity>, AppError> {
    let key = if by_child {
        "COALESCE(NULLIF(split_part(substr(t.region_path, length($1) + 2), '/', 1), ''), t.region_code)"
    } else {
        "''"
    };
    let query = format!(
        "SELECT {key} AS key,
                count(*) AS teams,
                COALESCE(sum((SELECT count(*) FROM team_members m WHERE m.team_id = t.id AND m.active)), 0)::bigint
                    AS mediators,
                COALESCE(sum((SELECT count(*) FROM screenings s
                              WHERE s.team_id = t.id AND s.screening_date BETWEEN $3 AND $4)), 0)::bigint
                    AS screening_rounds,
                COALESCE(sum((SELECT count(*) FROM screenings s
                              WHERE s.team_id = t.id AND s.zero_report AND s.screening_date BETWEEN $3 AND $4)), 0)::bigint
                    AS zero_reports
         FROM mediation_teams t
         WHERE NOT t.retired AND (t.region_path = $1 OR t.region_path LIKE $2)
         GROUP BY 1
         ORDER BY 1"
    );
    Ok(diesel::sql_query(query)
        .bind::<Text, _>(root)
        .bind::<Text, _>(format!("{root}/%"))
        .bind::<diesel::sql_types::Date, _>(start)
        .bind::<diesel::sql_types::Date, _>(end)
        .load(conn)?)
}
