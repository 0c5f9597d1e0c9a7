//! The follower that keeps the metrics' projections (migration 000022):
//! it replays the event log after `metrics_state.position` and, for the
//! cases the events touch, takes their old contributions out of
//! `metric_days`, rewrites their `case_facts` and `rating_facts` from the
//! log, and adds the new contributions, in one transaction with the new
//! position. Filings never wait for it.
//!
//! Invariant: `metric_days` is the sum of the contributions of every row
//! of the two facts tables. A case's contribution also reads the facts of
//! the filings that repeat it, so a repeat's change replays its target too.
//! Replaying an event again changes nothing, so the position may lag what
//! a replay has already read.
//!
//! One server follows at a time: a turn holds an advisory lock, and the
//! others skip theirs. Counting anew spans many short transactions, so
//! that it never holds back the change feed's horizon (a transaction that
//! writes holds back every reader of the cluster until it ends).

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::countables::{self, Attribution, COUNTABLES};
use crate::db::Db;
use crate::error::AppError;
use crate::event_log::{self, AggregateType};
use crate::feed::FeedSignal;
use crate::feed::store::after_key;

/// Events replayed per round trip.
const PAGE: i64 = 5_000;
/// Pages per transaction: a long catch-up commits as it goes.
const PAGES_PER_TURN: usize = 20;
/// `petition.v1.CaseEventType` of a repeat's link (its payload names `of`).
const REPEAT_LINKED: i16 = 19;
/// Case events that change nothing a case's facts read (the view
/// `case_facts_from_events` and the case's row): leaders' ownership,
/// instructions and progress, and the sweeper's deadline marks. A sweep
/// that marks 100,000 clocks recounts no case.
const TIMELINE_ONLY: [i16; 6] = [33, 34, 35, 36, 37, 38];

/// What the follower counted with and how far.
#[derive(Debug, Clone, QueryableByName)]
pub struct State {
    #[diesel(sql_type = BigInt)]
    pub position: i64,
    #[diesel(sql_type = Text)]
    pub layout: String,
    #[diesel(sql_type = Integer)]
    pub cessation_days: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub built_at: Option<DateTime<Utc>>,
}

impl State {
    /// Whether the projections were counted with these definitions.
    pub fn current(&self, cessation_days: i32) -> bool {
        self.built_at.is_some() && self.layout == countables::layout() && self.cessation_days == cessation_days
    }
}

pub fn state(conn: &mut PgConnection) -> Result<State, AppError> {
    Ok(diesel::sql_query("SELECT position, layout, cessation_days, built_at FROM metrics_state").get_result(conn)?)
}

/// What one turn did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Another server holds the turn.
    Skipped,
    /// Counted everything from the log anew.
    Rebuilt,
    /// Replayed up to the position; `more` when the log holds more.
    Followed { position: i64, more: bool },
}

/// Any constant shared by the servers: the advisory lock of a turn.
pub const TURN_LOCK: i64 = 0x6d65_7472_6963_7300;

/// One turn of the follower: counts anew when the definitions changed,
/// else replays what the log holds after the position (in one
/// transaction).
pub fn turn(conn: &mut PgConnection, cessation_days: i32) -> Result<Turn, AppError> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        locked: bool,
    }
    let Locked { locked } =
        diesel::sql_query("SELECT pg_try_advisory_lock($1) AS locked").bind::<BigInt, _>(TURN_LOCK).get_result(conn)?;
    if !locked {
        return Ok(Turn::Skipped);
    }
    let turn = locked_turn(conn, cessation_days);
    let unlocked = diesel::sql_query("SELECT pg_advisory_unlock($1)").bind::<BigInt, _>(TURN_LOCK).execute(conn);
    let turn = turn?;
    // A connection that could not let go goes back to the pool holding the
    // lock: fail, so that it is dropped as broken.
    unlocked.map_err(|e| AppError::Unavailable { detail: format!("could not release the metrics lock: {e}") })?;
    Ok(turn)
}

fn locked_turn(conn: &mut PgConnection, cessation_days: i32) -> Result<Turn, AppError> {
    if !state(conn)?.current(cessation_days) {
        rebuild(conn, cessation_days)?;
        return Ok(Turn::Rebuilt);
    }
    crate::db::transaction(conn, |conn| {
        let mut position = state(conn)?.position;
        for _ in 0..PAGES_PER_TURN {
            let (next, full) = replay_page(conn, position, cessation_days)?;
            position = next;
            if !full {
                set_position(conn, position)?;
                return Ok(Turn::Followed { position, more: false });
            }
        }
        set_position(conn, position)?;
        Ok(Turn::Followed { position, more: true })
    })
}

fn set_position(conn: &mut PgConnection, position: i64) -> Result<(), AppError> {
    diesel::sql_query("UPDATE metrics_state SET position = GREATEST(position, $1)")
        .bind::<BigInt, _>(position)
        .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Logged {
    #[diesel(sql_type = BigInt)]
    horizon: i64,
    #[diesel(sql_type = Nullable<SmallInt>)]
    aggregate_type: Option<i16>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    aggregate_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SmallInt>)]
    event_type: Option<i16>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    repeat_of: Option<Uuid>,
    #[diesel(sql_type = Nullable<BigInt>)]
    xid: Option<i64>,
    #[diesel(sql_type = Nullable<SmallInt>)]
    idx: Option<i16>,
}

/// Replays the readable events after `after` (one page); returns the new
/// position and whether the page was full.
fn replay_page(conn: &mut PgConnection, after: i64, cessation_days: i32) -> Result<(i64, bool), AppError> {
    let (xid, idx) = after_key(after);
    let rows: Vec<Logged> = diesel::sql_query(
        "WITH h AS (SELECT feed_horizon() AS horizon)
         SELECT h.horizon, e.aggregate_type, e.aggregate_id, e.event_type, e.repeat_of, e.xid, e.idx
         FROM h LEFT JOIN LATERAL (
             SELECT aggregate_type, aggregate_id, event_type, xid, idx,
                    CASE WHEN aggregate_type = 1 AND event_type = $4 THEN (payload->>'of')::uuid END AS repeat_of
             FROM events
             WHERE (xid, idx) > ($1, $2) AND xid < h.horizon
             ORDER BY xid, idx
             LIMIT $3
         ) e ON TRUE",
    )
    .bind::<BigInt, _>(xid)
    .bind::<SmallInt, _>(idx)
    .bind::<BigInt, _>(PAGE)
    .bind::<SmallInt, _>(REPEAT_LINKED)
    .load(conn)?;
    let horizon = rows.first().map(|r| event_log::position_below(r.horizon)).unwrap_or(after);
    let mut cases = BTreeSet::new();
    let mut ratings = Vec::new();
    let mut last = None;
    for row in &rows {
        let (Some(kind), Some(id), Some(xid), Some(idx)) = (row.aggregate_type, row.aggregate_id, row.xid, row.idx)
        else {
            continue;
        };
        last = Some(event_log::position(xid, idx));
        if kind == AggregateType::Case.as_i16() {
            if row.event_type.is_some_and(|t| TIMELINE_ONLY.contains(&t)) {
                continue;
            }
            cases.insert(id);
        } else if kind == AggregateType::Rating.as_i16() {
            ratings.push(id);
        }
        cases.extend(row.repeat_of);
    }
    let full = last.is_some() && rows.len() as i64 == PAGE;
    let position = match last {
        Some(last) if full => last,
        // Everything readable was read: the position moves to the horizon.
        Some(last) => last.max(horizon),
        None => horizon.max(after),
    };
    if !ratings.is_empty() {
        let of_ratings: Vec<Uuid> = crate::schema::ratings::table
            .filter(crate::schema::ratings::id.eq_any(&ratings))
            .select(crate::schema::ratings::case_id)
            .load(conn)?;
        cases.extend(of_ratings);
    }
    if !cases.is_empty() {
        let touched: Vec<Uuid> = cases.iter().copied().collect();
        let targets: Vec<Uuid> = crate::schema::case_facts::table
            .filter(crate::schema::case_facts::case_id.eq_any(&touched))
            .filter(crate::schema::case_facts::repeat_of.is_not_null())
            .select(crate::schema::case_facts::repeat_of.assume_not_null())
            .load(conn)?;
        cases.extend(targets);
        let all: Vec<Uuid> = cases.into_iter().collect();
        recount(conn, &all, cessation_days)?;
    }
    Ok((position, full))
}

/// Takes the contributions of `cases` out, rewrites their facts from the
/// log, and adds them back.
fn recount(conn: &mut PgConnection, cases: &[Uuid], cessation_days: i32) -> Result<(), AppError> {
    contribute(conn, cases, -1, cessation_days)?;
    diesel::sql_query("DELETE FROM case_facts WHERE case_id = ANY($1)")
        .bind::<Array<SqlUuid>, _>(cases)
        .execute(conn)?;
    diesel::sql_query("DELETE FROM rating_facts WHERE case_id = ANY($1)")
        .bind::<Array<SqlUuid>, _>(cases)
        .execute(conn)?;
    write_facts(conn, cases)?;
    contribute(conn, cases, 1, cessation_days)
}

const RATING_FACTS: &str = "INSERT INTO rating_facts
     SELECT r.id, r.case_id, r.round, r.region_path, r.category_code, c.channel, r.handling_organization_id,
            r.rate_by, r.rated_at, r.handling
     FROM ratings r JOIN cases c ON c.id = r.case_id";

/// Cases counted per transaction when counting anew.
const REBUILD_BATCH: i64 = 10_000;

/// Counts every projection anew from the log: empties them (marking the
/// count unfinished, so that the RPCs wait), writes every case's facts a
/// batch at a time, then their contributions (which read the facts of
/// other cases, now all written), then the position the log was at when
/// it started: the events since are replayed, which changes nothing for
/// those already counted. A count cut short starts again at the next turn.
fn rebuild(conn: &mut PgConnection, cessation_days: i32) -> Result<(), AppError> {
    let started = std::time::Instant::now();
    let horizon = crate::db::transaction(conn, |conn| {
        diesel::sql_query("UPDATE metrics_state SET layout = '', built_at = NULL").execute(conn)?;
        diesel::sql_query("TRUNCATE metric_days, rating_facts, case_facts").execute(conn)?;
        crate::feed::store::horizon_position(conn)
    })?;
    let mut cases = 0;
    for contributions in [false, true] {
        let mut after = Uuid::nil();
        loop {
            let batch: Vec<Uuid> = crate::schema::cases::table
                .filter(crate::schema::cases::id.gt(after))
                .order(crate::schema::cases::id)
                .select(crate::schema::cases::id)
                .limit(REBUILD_BATCH)
                .load(conn)?;
            let Some(last) = batch.last().copied() else { break };
            crate::db::transaction(conn, |conn| match contributions {
                false => write_facts(conn, &batch),
                true => contribute(conn, &batch, 1, cessation_days),
            })?;
            cases += usize::from(!contributions) * batch.len();
            after = last;
        }
    }
    diesel::sql_query("UPDATE metrics_state SET position = $1, layout = $2, cessation_days = $3, built_at = now()")
        .bind::<BigInt, _>(horizon)
        .bind::<Text, _>(countables::layout())
        .bind::<Integer, _>(cessation_days)
        .execute(conn)?;
    tracing::info!(cases, elapsed_ms = started.elapsed().as_millis() as u64, "metrics counted anew from the event log");
    Ok(())
}

/// Writes the facts of `cases` (none written yet) from the log.
fn write_facts(conn: &mut PgConnection, cases: &[Uuid]) -> Result<(), AppError> {
    diesel::sql_query("INSERT INTO case_facts SELECT * FROM case_facts_from_events WHERE case_id = ANY($1)")
        .bind::<Array<SqlUuid>, _>(cases)
        .execute(conn)?;
    diesel::sql_query(format!("{RATING_FACTS} WHERE r.case_id = ANY($1)"))
        .bind::<Array<SqlUuid>, _>(cases)
        .execute(conn)?;
    Ok(())
}

/// Adds `sign` × the contributions of `cases` to `metric_days`.
fn contribute(conn: &mut PgConnection, cases: &[Uuid], sign: i64, cessation_days: i32) -> Result<(), AppError> {
    diesel::sql_query(contributions_sql(sign))
        .bind::<Integer, _>(cessation_days)
        .bind::<Array<SqlUuid>, _>(cases)
        .execute(conn)?;
    Ok(())
}

/// The upsert of contributions: per attribution, each row's countables
/// on its day and in its month, under every breakdown dimension. `$1` is the cessation
/// window, `$2` the cases.
fn contributions_sql(sign: i64) -> String {
    let columns: Vec<&str> = COUNTABLES.iter().map(|c| c.column).collect();
    let parts: Vec<String> = Attribution::ALL
        .iter()
        .map(|a| {
            let alias = if a.on_ratings() { "r" } else { "f" };
            let table = if a.on_ratings() { "rating_facts r" } else { "case_facts f" };
            let values: Vec<String> = COUNTABLES
                .iter()
                .map(|c| {
                    if c.attribution == *a {
                        format!(
                            "COALESCE(({}), FALSE)::int AS {}",
                            countables::fill(c.predicate, "'infinity'::timestamptz", "$1"),
                            c.column
                        )
                    } else {
                        format!("0 AS {}", c.column)
                    }
                })
                .collect();
            format!(
                "SELECT {alias}.region_path, {alias}.category_code, {alias}.channel, {alias}.handling_organization_id,
                        {day} AS day, {values}
                 FROM {table} WHERE {day} IS NOT NULL AND {alias}.case_id = ANY($2)",
                day = a.day_sql(),
                values = values.join(", "),
            )
        })
        .collect();
    let sums: Vec<String> = columns.iter().map(|c| format!("{sign} * COALESCE(sum(x.{c}), 0)")).collect();
    let adds: Vec<String> = columns.iter().map(|c| format!("{c} = m.{c} + excluded.{c}")).collect();
    format!(
        "INSERT INTO metric_days AS m (dimension, grain, day, region_path, key, {columns})
         SELECT d.dimension, g.grain, g.day, x.region_path, d.key, {sums}
         FROM ({parts}) x
         CROSS JOIN LATERAL (VALUES (0::smallint, ''::text), (1::smallint, x.category_code),
                                    (2::smallint, x.channel::text),
                                    (3::smallint, COALESCE(x.handling_organization_id::text, ''))) d(dimension, key)
         CROSS JOIN LATERAL (VALUES (0::smallint, x.day), (1::smallint, date_trunc('month', x.day)::date)) g(grain, day)
         GROUP BY d.dimension, g.grain, g.day, x.region_path, d.key
         ON CONFLICT (dimension, grain, day, region_path, key) DO UPDATE SET {adds}",
        columns = columns.join(", "),
        sums = sums.join(", "),
        parts = parts.join(" UNION ALL "),
        adds = adds.join(", "),
    )
}

/// How long the follower lets commits gather before a turn: one turn
/// counts many filings' events together, which costs much less than one
/// turn each.
const GATHER: Duration = Duration::from_millis(200);

/// How often the follower looks for other servers' commits.
const POLL: Duration = Duration::from_secs(1);

/// Follows the log until the task is dropped: after each commit of this
/// server (and every [`POLL`] for the others'), a turn.
pub async fn run(db: Db, signal: FeedSignal, cessation_days: i32) {
    let mut commits = signal.subscribe();
    let mut failing = false;
    loop {
        let result = db.run_without_transaction(move |conn| turn(conn, cessation_days)).await;
        let behind = match result {
            Ok(Turn::Followed { more, .. }) => more,
            Ok(Turn::Rebuilt) => true,
            Ok(Turn::Skipped) => false,
            // An outage is logged once by the pool; anything else once
            // per episode, not at every turn.
            Err(AppError::Unavailable { .. }) => false,
            Err(ref e) => {
                if !failing {
                    tracing::warn!(error = %e, "could not count the metrics from the event log; retrying");
                }
                failing = true;
                false
            }
        };
        if failing && result.is_ok() {
            tracing::info!("counting the metrics from the event log again");
            failing = false;
        }
        if behind {
            continue;
        }
        tokio::select! {
            _ = commits.changed() => {}
            () = tokio::time::sleep(POLL) => {}
        }
        tokio::time::sleep(GATHER).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events left uncounted are the leaders' and the sweeper's, and
    /// none of the ones the facts view reads.
    #[test]
    fn timeline_only_events_are_the_leaders_and_the_sweepers() {
        use crate::cases::rules::{DeadlineName, Event, event_type};
        let due = chrono::NaiveDate::from_ymd_opt(2027, 3, 1).expect("a day");
        let text = || String::from("x");
        let leader_account_id = Uuid::nil();
        let events = [
            Event::LeaderReleased { leader_account_id, reason: text() },
            Event::LeaderInstructed { text: text() },
            Event::LeaderProgressRecorded { text: text() },
            Event::DeadlineApproaching { deadline: DeadlineName::ReplyBy, due_date: due, organization_id: None },
            Event::DeadlineMissed { deadline: DeadlineName::ReplyBy, due_date: due, organization_id: None },
        ];
        let mut numbers: Vec<i16> = events.iter().map(event_type).collect();
        // LeaderAssigned, the one before LeaderReleased.
        numbers.insert(0, event_type(&events[0]) - 1);
        assert_eq!(numbers, TIMELINE_ONLY);
        for read in [1, 2, 4, 6, 7, 9, 10, 12, 18, 19, 20, 25] {
            assert!(!TIMELINE_ONLY.contains(&read), "{read}");
        }
    }

    #[test]
    fn contributions_fill_every_column_under_every_dimension() {
        let sql = contributions_sql(-1);
        for c in COUNTABLES {
            assert!(sql.contains(&format!("-1 * COALESCE(sum(x.{}), 0)", c.column)), "{}", c.column);
            assert!(sql.contains(&format!("{0} = m.{0} + excluded.{0}", c.column)));
        }
        assert!(!sql.contains("{cut}") && !sql.contains("{days}"));
        assert_eq!(sql.matches("= ANY($2)").count(), Attribution::ALL.len());
    }
}
