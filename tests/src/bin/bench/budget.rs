//! The budget of a call: core-ms of the load generator, the server, the
//! server's PostgreSQL backends and other processes, and WAL bytes, per
//! successful call of a phase; and, from `pg_stat_statements`, the
//! statements of a phase's measured window per call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result, anyhow};
use diesel::sql_types::{BigInt, Bool, Double, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query};

use crate::phase::Phase;

/// Statements printed per phase.
const PRINTED_STATEMENTS: usize = 15;
/// Characters of a statement's text printed.
const PRINTED_QUERY_CHARS: usize = 90;
/// How to get per-statement figures, when the PostgreSQL cannot give them.
pub const STATEMENTS_HOWTO: &str = "per-statement figures need a PostgreSQL with pg_stat_statements preloaded \
     (shared_preload_libraries = 'pg_stat_statements'; a side instance: docs/benchmarks.md) and \
     TEST_DATABASE_URL pointing at it";

/// One statement's figures over a window (`pg_stat_statements`).
#[derive(Debug, Clone)]
pub struct Statement {
    pub queryid: i64,
    /// Run by the client, not inside a function (`pg_stat_statements.track = all`).
    pub toplevel: bool,
    pub calls: i64,
    pub exec_ms: f64,
    pub rows: i64,
    pub wal_bytes: i64,
    pub query: String,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = diesel::sql_types::Nullable<BigInt>)]
    queryid: Option<i64>,
    #[diesel(sql_type = Bool)]
    toplevel: bool,
    #[diesel(sql_type = BigInt)]
    calls: i64,
    #[diesel(sql_type = Double)]
    exec_ms: f64,
    #[diesel(sql_type = BigInt)]
    rows: i64,
    #[diesel(sql_type = BigInt)]
    wal_bytes: i64,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    query: Option<String>,
}

/// Resets and reads `pg_stat_statements` for the bench database only (the
/// extension is cluster-wide: entries are filtered by its `dbid`).
#[derive(Clone)]
pub struct StatementWatch {
    conn: Arc<Mutex<PgConnection>>,
}

const RESET: &str = "SELECT pg_stat_statements_reset(0::oid, d.oid, 0::bigint) \
                     FROM pg_database d WHERE d.datname = current_database()";
/// The monitor's own statements are left out.
const READ: &str = "SELECT s.queryid, s.toplevel, s.calls, s.total_exec_time AS exec_ms, s.rows, \
                           s.wal_bytes::bigint AS wal_bytes, s.query \
                    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid \
                    WHERE d.datname = current_database() \
                      AND s.query NOT LIKE '%pg_stat_activity%' AND s.query NOT LIKE '%pg_stat_statements%' \
                      AND s.query NOT LIKE '%pg_current_wal_lsn%'";

impl StatementWatch {
    /// A watch over the database at `url`, or why there can be none (the
    /// extension created there unless it cannot be used, then rolled back).
    pub fn open(url: &str) -> Result<StatementWatch, String> {
        let mut conn = PgConnection::establish(url).map_err(|e| format!("connecting: {e}"))?;
        conn.transaction::<_, diesel::result::Error, _>(|conn| {
            sql_query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").execute(conn)?;
            sql_query(RESET).execute(conn)?;
            Ok(())
        })
        .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_owned())?;
        Ok(StatementWatch { conn: Arc::new(Mutex::new(conn)) })
    }

    /// Opens a watch (see [`Self::open`]) and says in one set-up line what it gives.
    pub async fn open_described(url: &str) -> Result<(Option<StatementWatch>, String)> {
        let url = url.to_owned();
        let watch = tokio::task::spawn_blocking(move || StatementWatch::open(&url)).await?;
        Ok(match watch {
            Ok(watch) => (
                Some(watch),
                "pg_stat_statements of the bench database, reset at the start of a watched phase's measured \
                 window and read at its end (each watched phase has its statements table below)"
                    .to_owned(),
            ),
            Err(why) => (None, format!("NOT TAKEN ({why}): {STATEMENTS_HOWTO}")),
        })
    }

    /// Forgets the bench database's statements so far.
    pub async fn reset(&self) -> Result<()> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().map_err(|_| anyhow!("the statements connection is poisoned"))?;
            sql_query(RESET).execute(&mut *conn).context("resetting pg_stat_statements")?;
            anyhow::Ok(())
        })
        .await?
    }

    /// The bench database's statements since the last reset.
    pub async fn read(&self) -> Result<Vec<Statement>> {
        let conn = self.conn.clone();
        let rows = tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().map_err(|_| anyhow!("the statements connection is poisoned"))?;
            sql_query(READ).load::<Row>(&mut *conn).context("reading pg_stat_statements")
        })
        .await??;
        Ok(rows
            .into_iter()
            .map(|r| Statement {
                queryid: r.queryid.unwrap_or_default(),
                toplevel: r.toplevel,
                calls: r.calls,
                exec_ms: r.exec_ms,
                rows: r.rows,
                wal_bytes: r.wal_bytes,
                query: r.query.unwrap_or_else(|| "(text not visible)".to_owned()),
            })
            .collect())
    }
}

/// Both windows' statements as one (by query id and level).
pub fn merged(a: Vec<Statement>, b: Vec<Statement>) -> Vec<Statement> {
    let mut all: BTreeMap<(i64, bool), Statement> = BTreeMap::new();
    for s in a.into_iter().chain(b) {
        match all.get_mut(&(s.queryid, s.toplevel)) {
            Some(mine) => {
                mine.calls += s.calls;
                mine.exec_ms += s.exec_ms;
                mine.rows += s.rows;
                mine.wal_bytes += s.wal_bytes;
            }
            None => {
                all.insert((s.queryid, s.toplevel), s);
            }
        }
    }
    all.into_values().collect()
}

/// Core-ms per successful call of a window's average `cores`.
fn per_call(phase: &Phase, cores: f64) -> Option<f64> {
    let rate = phase.throughput();
    (rate > 0.0).then(|| cores / rate * 1000.0)
}

/// A phase's budget per successful call.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub calls_per_second: f64,
    /// Core-ms per call.
    pub load_generator: Option<f64>,
    pub server: Option<f64>,
    pub postgres: f64,
    pub other: f64,
    pub wal_bytes: Option<f64>,
}

impl Budget {
    pub fn of(phase: &Phase) -> Option<Budget> {
        let cpu = phase.cpu?;
        let rate = phase.throughput();
        Some(Budget {
            calls_per_second: phase.throughput(),
            load_generator: cpu.load_generator().and_then(|c| per_call(phase, c)),
            server: cpu.server.and_then(|c| per_call(phase, c)),
            postgres: per_call(phase, cpu.postgres)?,
            other: per_call(phase, cpu.other)?,
            wal_bytes: cpu.wal_per_second.filter(|_| rate > 0.0).map(|w| w / rate),
        })
    }

    /// Server and PostgreSQL core-ms per call: the cost of the call itself,
    /// without the load generator's.
    pub fn server_and_postgres(&self) -> Option<f64> {
        Some(self.server? + self.postgres)
    }
}

fn cell(x: Option<f64>, decimals: usize) -> String {
    x.map_or("n/a".to_owned(), |x| format!("{x:.decimals$}"))
}

/// The budget table.
pub fn print(phases: &[Phase], width: usize) {
    println!(
        "Budget per successful call during the measured window: core-ms of the load generator, the server, its \
         PostgreSQL backends and other processes (noise, not the call's); WAL bytes of the whole cluster"
    );
    println!(
        "{:<width$} | {:>10} | {:>8} | {:>8} | {:>8} | {:>8} | {:>11} | {:>10}",
        "rpc", "calls/s", "load gen", "server", "postgres", "other", "server + pg", "WAL B/call"
    );
    for phase in phases {
        match Budget::of(phase) {
            Some(b) => println!(
                "{:<width$} | {:>10.1} | {:>8} | {:>8} | {:>8.3} | {:>8.3} | {:>11} | {:>10}",
                phase.rpc,
                b.calls_per_second,
                cell(b.load_generator, 3),
                cell(b.server, 3),
                b.postgres,
                b.other,
                cell(b.server_and_postgres(), 3),
                cell(b.wal_bytes, 0),
            ),
            None => println!("{:<width$} | {:>10.1} | n/a", phase.rpc, phase.throughput()),
        }
    }
}

pub fn json(phase: &Phase) -> Option<serde_json::Value> {
    let b = Budget::of(phase)?;
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    Some(serde_json::json!({
        "load_generator_core_ms": b.load_generator.map(round),
        "server_core_ms": b.server.map(round),
        "postgres_core_ms": round(b.postgres),
        "other_core_ms": round(b.other),
        "wal_bytes": b.wal_bytes.map(f64::round),
    }))
}

/// `query` on one line, at most [`PRINTED_QUERY_CHARS`] characters.
fn shortened(query: &str) -> String {
    let line = query.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(PRINTED_QUERY_CHARS) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line,
    }
}

/// Top-level statements' exec ms per call, the sum shown under the table.
fn exec_ms_total(statements: &[Statement]) -> f64 {
    statements.iter().filter(|s| s.toplevel).map(|s| s.exec_ms).sum()
}

/// The statements of each phase that has them, most exec time first.
pub fn print_statements(phases: &[Phase]) {
    for phase in phases {
        let Some(statements) = &phase.statements else { continue };
        let calls = phase.ok().max(1) as f64;
        let mut sorted: Vec<&Statement> = statements.iter().collect();
        sorted.sort_by(|a, b| b.exec_ms.total_cmp(&a.exec_ms));
        println!();
        println!(
            "{}: statements of the measured window ({} calls; pg_stat_statements of the bench database): exec ms \
             per call {:.3} (top-level statements), {} statements; top {PRINTED_STATEMENTS} by exec time:",
            phase.rpc,
            phase.ok(),
            exec_ms_total(statements) / calls,
            statements.len()
        );
        println!(
            "{:>10} | {:>8} | {:>8} | {:>9} | {:>10} | statement",
            "calls/call", "mean ms", "ms/call", "rows/call", "WAL B/call"
        );
        for s in sorted.into_iter().take(PRINTED_STATEMENTS) {
            println!(
                "{:>10.2} | {:>8.3} | {:>8.3} | {:>9.2} | {:>10.0} | {}{}",
                s.calls as f64 / calls,
                if s.calls > 0 { s.exec_ms / s.calls as f64 } else { 0.0 },
                s.exec_ms / calls,
                s.rows as f64 / calls,
                s.wal_bytes as f64 / calls,
                if s.toplevel { "" } else { "(nested) " },
                shortened(&s.query)
            );
        }
    }
}

pub fn statements_json(statements: &[Statement], calls: u64) -> serde_json::Value {
    let calls = calls.max(1) as f64;
    let round = |x: f64| (x * 1000.0).round() / 1000.0;
    let mut sorted: Vec<&Statement> = statements.iter().collect();
    sorted.sort_by(|a, b| b.exec_ms.total_cmp(&a.exec_ms));
    serde_json::json!({
        "exec_ms_per_call": round(exec_ms_total(statements) / calls),
        "top": sorted.into_iter().take(PRINTED_STATEMENTS).map(|s| serde_json::json!({
            "queryid": s.queryid,
            "toplevel": s.toplevel,
            "calls_per_call": round(s.calls as f64 / calls),
            "mean_ms": round(if s.calls > 0 { s.exec_ms / s.calls as f64 } else { 0.0 }),
            "ms_per_call": round(s.exec_ms / calls),
            "rows_per_call": round(s.rows as f64 / calls),
            "wal_bytes_per_call": (s.wal_bytes as f64 / calls).round(),
            "query": shortened(&s.query),
        })).collect::<Vec<_>>(),
    })
}
