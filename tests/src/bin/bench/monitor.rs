//! Where the CPU went (from `/proc`), the WAL written, and what the
//! server's PostgreSQL backends were doing (from `pg_stat_activity`)
//! during a measured window.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use petition_tests::server::SERVER_THREAD_NAME;
use tokio::time::Instant;

use crate::budget::StatementWatch;

/// Clock ticks per second of the CPU times in `/proc` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;
/// How often the backends' activity is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(25);
/// Activities printed per phase.
pub const PRINTED_ACTIVITIES: usize = 4;

/// CPU seconds used by process `pid` (all its threads) so far.
fn process_cpu_seconds(pid: &str) -> Option<f64> {
    stat_cpu_seconds(&format!("/proc/{pid}/stat"))
}

/// CPU seconds so far of each thread of this process on the server's own
/// runtime (named [`SERVER_THREAD_NAME`]), by thread id.
fn server_threads_cpu_seconds() -> BTreeMap<String, f64> {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return BTreeMap::new();
    };
    tasks
        .filter_map(|task| {
            let path = task.ok()?.path();
            let name = std::fs::read_to_string(path.join("comm")).ok()?;
            if !name.trim_end().starts_with(SERVER_THREAD_NAME) {
                return None;
            }
            let tid = path.file_name()?.to_str()?.to_owned();
            Some((tid, stat_cpu_seconds(&format!("{}/stat", path.display()))?))
        })
        .collect()
}

/// User + system CPU seconds from a `/proc/…/stat` file.
fn stat_cpu_seconds(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    // The fields after the parenthesised command name, from the state (field 3).
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// Busy and idle CPU seconds of the whole machine so far, summed over cores.
pub fn machine_cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next().filter(|line| line.starts_with("cpu "))?;
    let ticks: Vec<f64> = line.split_whitespace().skip(1).map(|t| t.parse().unwrap_or(0.0)).collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let at = |i: usize| ticks.get(i).copied().unwrap_or(0.0);
    let busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
    let idle = at(3) + at(4);
    Some((busy / TICKS_PER_SECOND, idle / TICKS_PER_SECOND))
}

/// Reads CPU counters of this process (its server threads apart), of the
/// server's PostgreSQL backends (found through a connection of its own to
/// the server's database) and of the machine, and the WAL position, and
/// samples what those backends are doing.
#[derive(Clone)]
pub struct CpuMonitor {
    database: Option<Arc<Mutex<PgConnection>>>,
    /// Per-statement figures to take over each measured window, if any.
    statements: Option<StatementWatch>,
}

/// CPU counters at one instant, in CPU seconds.
pub struct CpuSnapshot {
    at: Instant,
    this_process: f64,
    /// Thread id → CPU seconds, of the server's own runtime's threads.
    server_threads: BTreeMap<String, f64>,
    /// WAL position, bytes since 0/0 (the whole cluster).
    wal: Option<i64>,
    /// Backend pid → its CPU seconds.
    backends: BTreeMap<String, f64>,
    machine_busy: f64,
    machine_idle: f64,
}

#[derive(QueryableByName)]
struct Backend {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

#[derive(QueryableByName)]
struct WalPosition {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
}

#[derive(QueryableByName)]
struct Activity {
    #[diesel(sql_type = diesel::sql_types::Text)]
    what: String,
}

/// What the server's backends were doing, over the samples of a window.
#[derive(Debug, Clone, Default)]
pub struct BackendActivity {
    pub samples: u64,
    /// Backends seen busy (running a statement, or inside a transaction),
    /// summed over the samples.
    pub busy: u64,
    /// Activity → backends seen doing it, summed over the samples: `CPU`
    /// (running, not waiting), `idle in tx` (inside a transaction, waiting
    /// for the server's next statement), or the wait event (`Lock:…`, `IO:…`).
    pub activities: BTreeMap<String, u64>,
}

impl BackendActivity {
    /// Average number of busy backends.
    pub fn average_busy(&self) -> f64 {
        if self.samples == 0 { 0.0 } else { self.busy as f64 / self.samples as f64 }
    }

    /// Both sets of samples as one.
    pub fn pooled(mut self, other: BackendActivity) -> BackendActivity {
        self.samples += other.samples;
        self.busy += other.busy;
        for (activity, n) in other.activities {
            *self.activities.entry(activity).or_default() += n;
        }
        self
    }

    /// The most frequent activities with their share of the busy samples.
    pub fn top(&self, n: usize) -> Vec<(&str, f64)> {
        let mut all: Vec<(&str, u64)> = self.activities.iter().map(|(a, c)| (a.as_str(), *c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        all.truncate(n);
        all.into_iter().map(|(a, c)| (a, if self.busy == 0 { 0.0 } else { c as f64 / self.busy as f64 })).collect()
    }

    /// `top` as one line: `CPU 48%, idle in tx 22%, …`.
    pub fn describe(&self, n: usize) -> String {
        let top = self.top(n);
        if top.is_empty() {
            return "none busy".to_owned();
        }
        top.iter().map(|(what, share)| format!("{what} {:.0}%", share * 100.0)).collect::<Vec<_>>().join(", ")
    }
}

impl CpuMonitor {
    /// A monitor; without /proc or the database it reports nothing.
    pub fn new(database_url: Option<&str>) -> CpuMonitor {
        let database = database_url
            .filter(|_| machine_cpu_seconds().is_some())
            .and_then(|url| PgConnection::establish(url).ok())
            .map(|conn| Arc::new(Mutex::new(conn)));
        CpuMonitor { database, statements: None }
    }

    /// This monitor, also taking per-statement figures over each window.
    pub fn with_statements(&self, statements: Option<&StatementWatch>) -> CpuMonitor {
        CpuMonitor { database: self.database.clone(), statements: statements.cloned() }
    }

    pub fn statements(&self) -> Option<&StatementWatch> {
        self.statements.as_ref()
    }

    /// The WAL position now, bytes since 0/0.
    async fn wal_position(&self) -> Option<i64> {
        let database = self.database.clone()?;
        let query = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS bytes";
        tokio::task::spawn_blocking(move || {
            let mut conn = database.lock().ok()?;
            diesel::sql_query(query).get_result::<WalPosition>(&mut *conn).ok()
        })
        .await
        .ok()
        .flatten()
        .map(|position| position.bytes)
    }

    /// The pids of the backends connected to the server's database, except ours.
    async fn backend_pids(&self) -> Vec<String> {
        let Some(database) = self.database.clone() else {
            return Vec::new();
        };
        let query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()";
        let backends = tokio::task::spawn_blocking(move || {
            let mut conn = database.lock().ok()?;
            diesel::sql_query(query).load::<Backend>(&mut *conn).ok()
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
        backends.into_iter().map(|backend| backend.pid.to_string()).collect()
    }

    fn read(pids: impl IntoIterator<Item = String>, wal: Option<i64>) -> Option<CpuSnapshot> {
        let (machine_busy, machine_idle) = machine_cpu_seconds()?;
        Some(CpuSnapshot {
            at: Instant::now(),
            this_process: process_cpu_seconds("self")?,
            server_threads: server_threads_cpu_seconds(),
            wal,
            backends: pids.into_iter().filter_map(|pid| Some((pid.clone(), process_cpu_seconds(&pid)?))).collect(),
            machine_busy,
            machine_idle,
        })
    }

    pub async fn snapshot(&self) -> Option<CpuSnapshot> {
        self.database.as_ref()?;
        let pids = self.backend_pids().await;
        let wal = self.wal_position().await;
        Self::read(pids, wal)
    }

    /// A snapshot of the same backends as `before` (the pool is warm by then).
    pub async fn snapshot_again(&self, before: &Option<CpuSnapshot>) -> Option<CpuSnapshot> {
        let pids = before.as_ref()?.backends.keys().cloned();
        let wal = self.wal_position().await;
        Self::read(pids, wal)
    }

    /// Samples the busy backends of the server's database every
    /// [`SAMPLE_EVERY`] from `from` to `until`.
    pub async fn sample_backends(&self, from: Instant, until: Instant) -> Option<BackendActivity> {
        let database = self.database.clone()?;
        let query = "SELECT CASE WHEN state = 'active' \
                         THEN coalesce(wait_event_type || ':' || wait_event, 'CPU') ELSE 'idle in tx' END AS what \
                     FROM pg_stat_activity \
                     WHERE datname = current_database() AND pid <> pg_backend_pid() \
                       AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')";
        let mut activity = BackendActivity::default();
        tokio::time::sleep_until(from).await;
        let mut next = from;
        while next < until {
            let database = database.clone();
            let rows = tokio::task::spawn_blocking(move || {
                let mut conn = database.lock().ok()?;
                diesel::sql_query(query).load::<Activity>(&mut *conn).ok()
            })
            .await
            .ok()
            .flatten();
            if let Some(rows) = rows {
                activity.samples += 1;
                activity.busy += rows.len() as u64;
                for row in rows {
                    *activity.activities.entry(row.what).or_default() += 1;
                }
            }
            next += SAMPLE_EVERY;
            tokio::time::sleep_until(next).await;
        }
        Some(activity)
    }
}

/// Average cores used during a window, and the WAL written.
#[derive(Clone, Copy)]
pub struct CpuSplit {
    /// Server and load generator.
    pub this_process: f64,
    /// The server's own runtime's threads (part of `this_process`); `None`
    /// if this process has no such threads.
    pub server: Option<f64>,
    pub postgres: f64,
    pub other: f64,
    pub idle: f64,
    /// WAL bytes per second (the whole cluster).
    pub wal_per_second: Option<f64>,
}

impl CpuSplit {
    pub fn between(before: &Option<CpuSnapshot>, after: &Option<CpuSnapshot>) -> Option<CpuSplit> {
        let (before, after) = (before.as_ref()?, after.as_ref()?);
        let seconds = after.at.duration_since(before.at).as_secs_f64();
        if seconds <= 0.0 {
            return None;
        }
        let this_process = after.this_process - before.this_process;
        let postgres: f64 = after.backends.iter().filter_map(|(pid, cpu)| Some(cpu - before.backends.get(pid)?)).sum();
        let busy = after.machine_busy - before.machine_busy;
        // Per thread: a thread started in the window counts from zero.
        let server = after
            .server_threads
            .iter()
            .map(|(tid, cpu)| cpu - before.server_threads.get(tid).copied().unwrap_or(0.0))
            .sum::<f64>();
        Some(CpuSplit {
            this_process: this_process / seconds,
            server: (!after.server_threads.is_empty()).then_some(server.clamp(0.0, this_process) / seconds),
            postgres: postgres / seconds,
            other: (busy - this_process - postgres).max(0.0) / seconds,
            idle: (after.machine_idle - before.machine_idle) / seconds,
            wal_per_second: before.wal.zip(after.wal).map(|(b, a)| (a - b) as f64 / seconds),
        })
    }

    /// Cores used by the load generator: this process but the server's threads.
    pub fn load_generator(&self) -> Option<f64> {
        Some((self.this_process - self.server?).max(0.0))
    }

    /// The average of splits over windows of the given seconds.
    pub fn weighted(splits: &[(CpuSplit, f64)]) -> CpuSplit {
        let seconds: f64 = splits.iter().map(|(_, s)| s).sum();
        let mean = |field: fn(&CpuSplit) -> f64| {
            if seconds > 0.0 { splits.iter().map(|(c, s)| field(c) * s).sum::<f64>() / seconds } else { 0.0 }
        };
        let known = |field: fn(&CpuSplit) -> Option<f64>| {
            splits.iter().all(|(c, _)| field(c).is_some()).then(|| {
                if seconds > 0.0 {
                    splits.iter().map(|(c, s)| field(c).unwrap_or(0.0) * s).sum::<f64>() / seconds
                } else {
                    0.0
                }
            })
        };
        CpuSplit {
            this_process: mean(|c| c.this_process),
            server: known(|c| c.server),
            postgres: mean(|c| c.postgres),
            other: mean(|c| c.other),
            idle: mean(|c| c.idle),
            wal_per_second: known(|c| c.wal_per_second),
        }
    }

    /// The machine's split while something outside this process ran (such
    /// as pgbench): everything but this process counts as "other".
    pub fn of_machine_between(before: (Instant, f64, f64, f64), after: (Instant, f64, f64, f64)) -> Option<CpuSplit> {
        let seconds = after.0.duration_since(before.0).as_secs_f64();
        if seconds <= 0.0 {
            return None;
        }
        let this_process = after.1 - before.1;
        let busy = after.2 - before.2;
        Some(CpuSplit {
            this_process: this_process / seconds,
            server: None,
            postgres: 0.0,
            other: (busy - this_process).max(0.0) / seconds,
            idle: (after.3 - before.3) / seconds,
            wal_per_second: None,
        })
    }
}

/// (now, this process's CPU seconds, machine busy, machine idle), for
/// [`CpuSplit::of_machine_between`].
pub fn machine_mark() -> Option<(Instant, f64, f64, f64)> {
    let (busy, idle) = machine_cpu_seconds()?;
    Some((Instant::now(), process_cpu_seconds("self")?, busy, idle))
}
