//! The PostgreSQL pool and the one way request handlers touch it.
//!
//! Async code never holds a connection: [`Db::run`] moves the closure to the
//! blocking pool, checks a connection out with a short timeout, runs the
//! closure in a transaction and maps pool and connection failures to
//! UNAVAILABLE so that clients retry instead of seeing INTERNAL.
//!
//! Calls wait for their turn at the pool for at most the queue time
//! (`--db-queue-timeout-ms`); past it they fail at once with UNAVAILABLE
//! `OVERLOADED` and a retry delay. Work outside a call (a change-feed
//! watch already admitted, background jobs) waits its turn without limit. A share of the pool is kept for writes
//! (`--db-write-reserved`), so a burst of reads does not hold writes up.
//! An outage and an overload are each logged when they start and when they
//! end, not once per failed call or connection attempt.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::Connection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, ManageConnection, Pool, PooledConnection, R2D2Connection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::config::DatabaseConfig;
use crate::error::AppError;
use crate::limits::CallLimit;

/// Every migration under `migrations/`, compiled into the binary; the same
/// constant migrates production start-up and the test template database.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

pub type PgPool = Pool<Manager>;

/// A pooled connection, and whether a call found it dead.
pub struct Pooled {
    pg: PgConnection,
    lost: bool,
}

/// diesel's connection manager, except that a connection a call found dead
/// is dropped rather than put back. diesel counts a connection as broken
/// only when a transaction on it failed to end, so one that died under a
/// read outside a transaction would otherwise go back to the pool and fail
/// every call after the database came back.
#[derive(Debug)]
pub struct Manager(ConnectionManager<PgConnection>);

impl ManageConnection for Manager {
    type Connection = Pooled;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Pooled, Self::Error> {
        self.0.connect().map(|pg| Pooled { pg, lost: false })
    }

    fn is_valid(&self, conn: &mut Pooled) -> Result<(), Self::Error> {
        self.0.is_valid(&mut conn.pg)
    }

    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.lost || self.0.has_broken(&mut conn.pg)
    }
}

/// A pooled connection idle longer than this is pinged before use: after a
/// database restart, pooled connections are dead, and a call should not be
/// the one to find out.
const IDLE_CHECK: Duration = Duration::from_secs(2);

/// An overload ends after this long without a refused call.
const OVERLOAD_QUIET: Duration = Duration::from_secs(5);

/// Handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: PgPool,
    /// Turns at the pool any call may take. Callers queue here (async,
    /// cancellable) instead of occupying blocking threads that wait on the
    /// pool; with `reserved`, sized to the pool.
    shared: Arc<Semaphore>,
    /// Turns only writes may take.
    reserved: Arc<Semaphore>,
    queue_timeout: Duration,
    outage: Arc<Episode>,
    overload: Arc<Episode>,
    queues: Arc<Queues>,
}

/// Who waits, for the metrics endpoint: calls for a turn at the pool, and
/// admitted ones for a blocking thread; how many turns were waited for and
/// how long in all.
#[derive(Debug, Default)]
struct Queues {
    waiting: AtomicU64,
    blocking_queued: AtomicU64,
    waits: AtomicU64,
    waited_micros: AtomicU64,
}

/// One waiter counted while it lives.
struct Waiting<'a>(&'a AtomicU64);

impl<'a> Waiting<'a> {
    fn new(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A call counted as queued for a blocking thread until it starts (or is
/// dropped unstarted).
struct BlockingQueued(Arc<Queues>);

impl BlockingQueued {
    fn new(queues: Arc<Queues>) -> Self {
        queues.blocking_queued.fetch_add(1, Ordering::Relaxed);
        BlockingQueued(queues)
    }
}

impl Drop for BlockingQueued {
    fn drop(&mut self) {
        self.0.blocking_queued.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The pool as the metrics endpoint reads it.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolUse {
    pub size: u32,
    pub in_use: u32,
    /// Calls waiting for a turn at the pool.
    pub waiting: u64,
    /// Calls admitted and waiting for a blocking thread.
    pub blocking_queued: u64,
    /// Turns that had to be waited for, and the seconds waited in all.
    pub waits: u64,
    pub waited_seconds: f64,
}

/// Whether a call reads only (and so may be kept out of the writes' share).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Read,
    Write,
}

/// When the connection last went back to the pool.
struct Returned(Instant);

impl Db {
    /// Builds the pool without connecting; the first call connects.
    pub fn new(database_url: &str, config: &DatabaseConfig) -> Db {
        let outage = Arc::new(Episode::new(EpisodeKind::Outage));
        let manager = Manager(ConnectionManager::<PgConnection>::new(database_url));
        let pool = Pool::builder()
            .max_size(config.pool_size)
            .min_idle(Some(0))
            .connection_timeout(config.checkout_timeout())
            // A failed query marks the connection broken and r2d2 drops it;
            // a SELECT 1 on every checkout would cost ~15% of throughput
            // (idle connections are checked: see IDLE_CHECK).
            .test_on_check_out(false)
            // r2d2 would log every failed connection attempt (several a
            // second during an outage); the outage is logged once instead.
            .error_handler(Box::new(OutageReporter(outage.clone())))
            .event_handler(Box::new(OutageReporter(outage.clone())))
            .build_unchecked(manager);
        let reserved = config.write_reserved() as usize;
        let shared = (config.pool_size as usize).saturating_sub(reserved).max(1);
        Db {
            pool,
            shared: Arc::new(Semaphore::new(shared)),
            reserved: Arc::new(Semaphore::new(reserved)),
            queue_timeout: config.queue_timeout(),
            outage,
            overload: Arc::new(Episode::new(EpisodeKind::Overload { queue_timeout: config.queue_timeout() })),
            queues: Arc::new(Queues::default()),
        }
    }

    /// The pool's connections and queues now.
    pub fn pool_use(&self) -> PoolUse {
        let state = self.pool.state();
        let q = &self.queues;
        PoolUse {
            size: self.pool.max_size(),
            in_use: state.connections.saturating_sub(state.idle_connections),
            waiting: q.waiting.load(Ordering::Relaxed),
            blocking_queued: q.blocking_queued.load(Ordering::Relaxed),
            waits: q.waits.load(Ordering::Relaxed),
            waited_seconds: q.waited_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }

    /// Applies pending migrations; called once at start.
    pub async fn migrate(&self) -> Result<(), AppError> {
        self.run_without_transaction(|conn| {
            conn.run_pending_migrations(MIGRATIONS)
                .map(|applied| {
                    for version in applied {
                        tracing::info!(%version, "applied migration");
                    }
                })
                .map_err(|e| AppError::internal(format!("migration failed: {e}")))
        })
        .await
    }

    /// Runs `f` in one transaction on a pooled connection: for writes. When
    /// the call is past the server's time limit by the time `f` is done, the
    /// transaction rolls back instead of committing.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.with_connection(Access::Write, move |conn| transaction(conn, f)).await
    }

    /// Runs a read-only `f` outside a transaction: each statement sees
    /// committed data, and the call saves the BEGIN and COMMIT round trips
    /// (measured: a third of a primary-key read's cost). For one statement,
    /// or statements that need not agree with each other; otherwise use
    /// [`read_snapshot`](Db::read_snapshot).
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.with_connection(Access::Read, f).await
    }

    /// Runs a read-only `f` in one READ ONLY REPEATABLE READ transaction:
    /// every statement sees the same snapshot. For reads of several
    /// statements whose answers must agree (a page and its total, rows and
    /// the position they are consistent with, a row and its children); it
    /// costs the BEGIN and COMMIT round trips that [`read`](Db::read) saves.
    pub async fn read_snapshot<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.with_connection(Access::Read, move |conn| conn.build_transaction().read_only().repeatable_read().run(f))
            .await
    }

    /// Runs `f` on a pooled connection outside a transaction (migrations,
    /// work that manages its own transactions: use [`transaction`] for
    /// them, so that they roll back past the call's time limit).
    pub async fn run_without_transaction<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.with_connection(Access::Write, f).await
    }

    async fn with_connection<T, F>(&self, access: Access, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut PgConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let call = CallLimit::current();
        let permit = self.turn(access, call.is_some()).await?;
        let pool = self.pool.clone();
        let outage = self.outage.clone();
        let span = tracing::Span::current();
        let queued = BlockingQueued::new(self.queues.clone());
        let result = tokio::task::spawn_blocking(move || {
            drop(queued);
            let _entered = span.enter();
            let _permit = permit;
            CallLimit::run_blocking(call, || {
                let mut conn = checkout(&pool)?;
                let result = f(&mut conn.pg);
                conn.lost = matches!(result, Err(AppError::Unavailable { .. }));
                PooledConnection::extensions_mut(&mut conn).insert(Returned(Instant::now()));
                result
            })
        })
        .in_current_span()
        .await
        .map_err(|e| AppError::internal(format!("database task failed: {e}")))?;
        match &result {
            Err(AppError::Unavailable { detail }) => outage.failed(detail),
            _ => outage.ended(Duration::ZERO),
        }
        result
    }

    /// Waits for a turn at the pool, at most the queue time when `shed`
    /// (a call, which can be refused and retried). Writes may also take the
    /// turns kept for them.
    async fn turn(&self, access: Access, shed: bool) -> Result<OwnedSemaphorePermit, AppError> {
        let shared = self.shared.clone();
        if let Ok(permit) = shared.clone().try_acquire_owned() {
            self.overload.ended(OVERLOAD_QUIET);
            return Ok(permit);
        }
        let wait = async {
            match access {
                Access::Read => shared.acquire_owned().await,
                Access::Write => {
                    let reserved = self.reserved.clone();
                    tokio::select! {
                        permit = shared.acquire_owned() => permit,
                        permit = reserved.acquire_owned() => permit,
                    }
                }
            }
        };
        let started = Instant::now();
        let waiting = Waiting::new(&self.queues.waiting);
        let waited = if shed { tokio::time::timeout(self.queue_timeout, wait).await } else { Ok(wait.await) };
        drop(waiting);
        self.queues.waits.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.queues.waited_micros.fetch_add(micros, Ordering::Relaxed);
        match waited {
            Ok(Ok(permit)) => {
                self.overload.ended(OVERLOAD_QUIET);
                Ok(permit)
            }
            Ok(Err(_)) => Err(AppError::Unavailable { detail: "database pool closed".into() }),
            Err(_) => {
                self.overload.failed(&format!("{access:?}"));
                // Spread the retries of the calls refused together.
                let retry_after = self.queue_timeout.max(Duration::from_millis(100)).mul_f64(1.0 + fastrand::f64());
                Err(AppError::Overloaded { retry_after })
            }
        }
    }
}

/// A pooled connection, pinged first when it sat idle long enough to have
/// died with a database restart (a dead one is dropped and another taken).
fn checkout(pool: &PgPool) -> Result<PooledConnection<Manager>, AppError> {
    for _ in 0..=pool.max_size() {
        let mut conn = pool.get().map_err(|e| AppError::Unavailable { detail: e.to_string() })?;
        let idle = PooledConnection::extensions(&conn).get::<Returned>().is_some_and(|r| r.0.elapsed() >= IDLE_CHECK);
        if !idle || conn.pg.ping().is_ok() {
            return Ok(conn);
        }
        // Dead: r2d2 drops it on return.
        conn.lost = true;
    }
    Err(AppError::Unavailable { detail: "no live database connection".into() })
}

/// Runs `f` in a transaction on `conn` (a savepoint inside another), except
/// that when the call it serves is past the server's time limit by the
/// time `f` is done, it rolls back instead of committing: a call answered
/// DEADLINE_EXCEEDED saved nothing, unless it was already committing.
pub fn transaction<T, F>(conn: &mut PgConnection, f: F) -> Result<T, AppError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, AppError>,
{
    let call = CallLimit::current_blocking();
    let mut committing = false;
    let result = conn.transaction(|conn| {
        let value = f(conn)?;
        if let Some(call) = &call {
            if !call.begin_commit() {
                return Err(AppError::Timeout { limit: Duration::ZERO, committed: false });
            }
            committing = true;
        }
        Ok(value)
    });
    if committing && let Some(call) = &call {
        call.end_commit(result.is_ok());
    }
    result
}

/// Feeds r2d2's connection failures and successes to the outage's log.
#[derive(Debug)]
struct OutageReporter(Arc<Episode>);

impl r2d2::HandleError<diesel::r2d2::Error> for OutageReporter {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        self.0.failed(&error.to_string());
    }
}

impl r2d2::HandleEvent for OutageReporter {
    fn handle_acquire(&self, _: r2d2::event::AcquireEvent) {
        self.0.ended(Duration::ZERO);
    }
}

#[derive(Debug, Clone, Copy)]
enum EpisodeKind {
    /// The database cannot be reached.
    Outage,
    /// Calls are refused for waiting longer than the queue time.
    Overload { queue_timeout: Duration },
}

/// A spell of failures, logged when it starts (WARN) and when it ends
/// (INFO, with its length and how many failures it had), never per failure.
#[derive(Debug)]
struct Episode {
    kind: EpisodeKind,
    /// Fast path for the common case: no episode.
    active: AtomicBool,
    state: Mutex<EpisodeState>,
}

#[derive(Debug, Default)]
struct EpisodeState {
    started: Option<Instant>,
    last_failure: Option<Instant>,
    failures: u64,
}

impl Episode {
    fn new(kind: EpisodeKind) -> Self {
        Episode { kind, active: AtomicBool::new(false), state: Mutex::new(EpisodeState::default()) }
    }

    fn failed(&self, detail: &str) {
        let now = Instant::now();
        let starts = {
            let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            state.failures += 1;
            state.last_failure = Some(now);
            let starts = state.started.is_none();
            if starts {
                state.started = Some(now);
                self.active.store(true, Ordering::Release);
            }
            starts
        };
        match (starts, self.kind) {
            (true, EpisodeKind::Outage) => {
                tracing::warn!(error = %detail, "database unreachable: calls fail with UNAVAILABLE until it is back");
            }
            (true, EpisodeKind::Overload { queue_timeout }) => tracing::warn!(
                ?queue_timeout,
                "overloaded: calls that wait longer than the queue time for a database connection are refused with UNAVAILABLE"
            ),
            (false, _) => tracing::debug!(error = %detail, kind = ?self.kind, "still failing"),
        }
    }

    /// Ends the episode, if any, when its last failure is at least `quiet` ago.
    fn ended(&self, quiet: Duration) {
        if !self.active.load(Ordering::Acquire) {
            return;
        }
        let (lasted, failures) = {
            let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let Some(started) = state.started else { return };
            if state.last_failure.is_some_and(|last| last.elapsed() < quiet) {
                return;
            }
            let failures = state.failures;
            *state = EpisodeState::default();
            self.active.store(false, Ordering::Release);
            (started.elapsed(), failures)
        };
        match self.kind {
            EpisodeKind::Outage => tracing::info!(?lasted, failures, "database reachable again"),
            EpisodeKind::Overload { .. } => tracing::info!(?lasted, refused = failures, "no longer overloaded"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_episode_starts_once_and_ends_once() {
        let episode = Episode::new(EpisodeKind::Outage);
        episode.ended(Duration::ZERO);
        assert!(!episode.active.load(Ordering::Acquire));
        for _ in 0..3 {
            episode.failed("refused");
        }
        assert!(episode.active.load(Ordering::Acquire));
        assert_eq!(episode.state.lock().map(|s| s.failures).unwrap_or_default(), 3);
        episode.ended(Duration::from_secs(60));
        assert!(episode.active.load(Ordering::Acquire), "not before a quiet spell");
        episode.ended(Duration::ZERO);
        assert!(!episode.active.load(Ordering::Acquire));
    }

    #[test]
    fn writes_keep_a_share_of_the_pool() {
        let config = |pool_size, write_reserved| DatabaseConfig {
            pool_size,
            checkout_timeout_ms: 1000,
            queue_timeout_ms: 1000,
            write_reserved,
        };
        assert_eq!(config(8, None).write_reserved(), 2);
        assert_eq!(config(2, None).write_reserved(), 1);
        assert_eq!(config(1, None).write_reserved(), 0, "reads keep a connection");
        assert_eq!(config(8, Some(0)).write_reserved(), 0);
        assert_eq!(config(8, Some(9)).write_reserved(), 7);
    }
}
