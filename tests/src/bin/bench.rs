//! Load benchmark of a real petition server, driven through the SDK.
//!
//! ```text
//! cargo run --release -p petition-tests --bin bench -- identity [--seconds 10] [--warmup-seconds 2]
//!     [--concurrency 64] [--connections 4] [--login-concurrency 8] [--json] [--db-pool-size N]
//! ```
//!
//! Total run time is about 3 × (warm-up + measured + ½ s) plus a few seconds
//! of set-up; everything stays on loopback.
//!
//! One server is started in-process with the test harness
//! ([`TestServer::spawn_with`]) on `127.0.0.1:0`, over a fresh database cloned
//! from the migrated template on the test PostgreSQL, with every server
//! setting at its default (the database pool size too, unless
//! `--db-pool-size` overrides it, which the output then says). The server and the
//! load generator share this process, its tokio runtime and the machine's
//! cores, so every number is "server + client on the same cores": the
//! absolute figures understate what a dedicated server would do; the ratios
//! between phases are the point.
//!
//! `identity` measures, one phase after another, each for `--warmup-seconds`
//! (discarded) and then `--seconds` (measured), with callers that are tokio
//! tasks looping calls back to back, spread round-robin over `--connections`
//! HTTP/2 connections (one SDK [`Client`] each):
//!
//! 1. `grpc.health.v1.Health/Check`: the baseline. It is the cheapest RPC the
//!    same server answers: no authentication, no database, a response from
//!    memory. It costs exactly the transport (HTTP/2, tonic, the tower
//!    layers every call goes through) on both sides, so it is the ceiling
//!    any real RPC of this server can reach on this machine, and what is
//!    left between it and another RPC is that RPC's own work (plus the SDK's
//!    small per-call bookkeeping: the health check uses the generated
//!    client on the same connections).
//! 2. `IdentityService/GetMe` as a signed-in citizen, through the SDK: the
//!    bearer token is verified (JWT signature and claims), then one account
//!    is read from PostgreSQL (a pooled connection, in a transaction) and
//!    its personal data decrypted.
//! 3. `IdentityService/Login` of a citizen created beforehand, with fewer
//!    callers (`--login-concurrency`): argon2id password verification
//!    (19 MiB, 2 passes) bounded by the server's hashing semaphore, then a
//!    new sign-in (refresh token) written. Successful sign-ins do not count
//!    towards the login throttle, so it never kicks in.
//!
//! A call counts in a phase when it completes inside the measured window;
//! calls still in flight at the deadline are abandoned (cancelled), so every
//! phase ends on time. Latencies of successful calls go to an HDR histogram
//! in microseconds; failed calls are counted apart (their latency would mix
//! fast rejections into the distribution) and the most frequent messages
//! printed. Throughput is successful calls per measured second.
//!
//! Each phase also reports where the machine's CPU went during its measured
//! window (from `/proc`, Linux only): this process (server and load
//! generator), the server's PostgreSQL backends, every other process, and
//! idle. Other processes using CPU mean a disturbed, noisier run; an idle
//! share while calls queue means the bottleneck is not the CPU.
//!
//! The process exits with status 1 if any phase had more than 1% errors or
//! no successful call, and refuses (status 2) to run a debug build
//! (`--allow-debug` to run one anyway, for checking the harness, never for
//! numbers).

use std::collections::BTreeMap;
use std::future::Future;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::{Args, Parser, Subcommand};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use hdrhistogram::Histogram;
use petition_sdk::{Client, pb};
use petition_tests::{PASSWORD, TestServer, citizen_request, signed_in_citizen};
use tokio::time::Instant;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

/// Phases with a larger share of failed calls than this fail the run.
const MAX_ERROR_RATIO: f64 = 0.01;
/// Distinct error messages kept per caller (the rest are counted as "other").
const MAX_DISTINCT_ERRORS: usize = 8;
/// Distinct error messages printed per phase.
const PRINTED_ERRORS: usize = 5;
/// Highest latency the histograms hold: one minute, in microseconds.
const MAX_LATENCY_MICROS: u64 = 60_000_000;
/// Quiet time between phases, so one phase's leftovers (abandoned calls,
/// connections returning to the pool) do not land in the next.
const PAUSE_BETWEEN_PHASES: Duration = Duration::from_millis(500);
/// CPU used by other processes above which a phase is flagged as disturbed, in cores.
const DISTURBED_CORES: f64 = 0.2;

#[derive(Parser)]
#[command(name = "bench", about = "Load benchmarks of an in-process petition server over loopback")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Health check (baseline), GetMe and Login.
    Identity(IdentityArgs),
}

/// Settings every benchmark shares.
#[derive(Args, Debug, Clone)]
struct LoadArgs {
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    seconds: u64,

    /// Warm-up seconds per phase, before measuring (calls made then are discarded).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    warmup_seconds: u64,

    /// Concurrent callers (tokio tasks calling back to back).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    concurrency: u32,

    /// HTTP/2 connections to the server; callers are spread over them round-robin.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    connections: u32,

    /// Also print the results as one JSON object on the last line.
    #[arg(long)]
    json: bool,

    /// Run even though this is a debug build (the numbers are meaningless).
    #[arg(long)]
    allow_debug: bool,

    /// Server database pool size, to study its effect (default: the server's default).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    db_pool_size: Option<u32>,
}

#[derive(Args, Debug, Clone)]
struct IdentityArgs {
    #[command(flatten)]
    load: LoadArgs,

    /// Concurrent callers of Login (password hashing is bounded by the
    /// server's hashing semaphore, so more callers only queue).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    login_concurrency: u32,
}

/// What one phase measured.
struct Phase {
    rpc: &'static str,
    callers: usize,
    seconds: f64,
    /// Latencies of successful calls, microseconds.
    latencies: Histogram<u64>,
    errors: u64,
    /// Error message → count (at most [`MAX_DISTINCT_ERRORS`] per caller).
    error_messages: BTreeMap<String, u64>,
    /// Calls in flight at the deadline, abandoned and not counted.
    abandoned: u64,
    /// Where the machine's CPU went during the measured window.
    cpu: Option<CpuSplit>,
}

impl Phase {
    fn ok(&self) -> u64 {
        self.latencies.len()
    }

    fn calls(&self) -> u64 {
        self.ok() + self.errors
    }

    fn throughput(&self) -> f64 {
        self.ok() as f64 / self.seconds
    }

    fn error_ratio(&self) -> f64 {
        if self.calls() == 0 { 0.0 } else { self.errors as f64 / self.calls() as f64 }
    }

    fn failed(&self) -> bool {
        self.ok() == 0 || self.error_ratio() > MAX_ERROR_RATIO
    }

    fn millis(&self, micros: u64) -> f64 {
        micros as f64 / 1000.0
    }

    fn quantile_ms(&self, quantile: f64) -> f64 {
        if self.ok() == 0 { 0.0 } else { self.millis(self.latencies.value_at_quantile(quantile)) }
    }

    fn max_ms(&self) -> f64 {
        if self.ok() == 0 { 0.0 } else { self.millis(self.latencies.max()) }
    }

    fn most_frequent_errors(&self) -> Vec<(&str, u64)> {
        let mut messages: Vec<(&str, u64)> = self.error_messages.iter().map(|(m, n)| (m.as_str(), *n)).collect();
        messages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        messages.truncate(PRINTED_ERRORS);
        messages
    }
}

/// One caller's tally, merged into the phase's at the end.
struct Tally {
    latencies: Histogram<u64>,
    errors: u64,
    error_messages: BTreeMap<String, u64>,
    abandoned: u64,
}

fn histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, MAX_LATENCY_MICROS, 3).map_err(|e| anyhow!("creating a histogram: {e:?}"))
}

/// Runs `callers` tasks calling `call(caller_index)` back to back for
/// `warmup` and then `measured`, and tallies the calls completed in the
/// measured window.
async fn run_phase<F, Fut>(
    rpc: &'static str,
    callers: usize,
    load: &LoadArgs,
    monitor: &CpuMonitor,
    call: F,
) -> Result<Phase>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let warmup = Duration::from_secs(load.warmup_seconds);
    let measured = Duration::from_secs(load.seconds);
    eprintln!("  {rpc}: {callers} callers, {}s warm-up + {}s measured…", load.warmup_seconds, load.seconds);

    let start = Instant::now();
    let measuring_from = start + warmup;
    let deadline = measuring_from + measured;
    let cpu = {
        let monitor = monitor.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(measuring_from).await;
            let before = monitor.snapshot().await;
            tokio::time::sleep_until(deadline).await;
            let after = monitor.snapshot_again(&before).await;
            CpuSplit::between(&before, &after)
        })
    };
    let mut tasks = Vec::with_capacity(callers);
    for caller in 0..callers {
        let call = call.clone();
        let mut tally = Tally { latencies: histogram()?, errors: 0, error_messages: BTreeMap::new(), abandoned: 0 };
        tasks.push(tokio::spawn(async move {
            loop {
                let began = Instant::now();
                if began >= deadline {
                    break;
                }
                let Ok(outcome) = tokio::time::timeout_at(deadline, call(caller)).await else {
                    tally.abandoned += 1;
                    break;
                };
                let ended = Instant::now();
                if ended < measuring_from {
                    continue;
                }
                match outcome {
                    Ok(()) => {
                        let micros = u64::try_from(ended.duration_since(began).as_micros()).unwrap_or(u64::MAX);
                        tally.latencies.saturating_record(micros.max(1));
                    }
                    Err(message) => {
                        tally.errors += 1;
                        let known = tally.error_messages.len() < MAX_DISTINCT_ERRORS
                            || tally.error_messages.contains_key(&message);
                        let key = if known { message } else { "(other messages)".to_owned() };
                        *tally.error_messages.entry(key).or_default() += 1;
                    }
                }
            }
            tally
        }));
    }

    let mut phase = Phase {
        rpc,
        callers,
        seconds: measured.as_secs_f64(),
        latencies: histogram()?,
        errors: 0,
        error_messages: BTreeMap::new(),
        abandoned: 0,
        cpu: None,
    };
    for task in tasks {
        let tally = task.await.context("a caller task panicked")?;
        phase.latencies.add(&tally.latencies).map_err(|e| anyhow!("merging histograms: {e:?}"))?;
        phase.errors += tally.errors;
        phase.abandoned += tally.abandoned;
        for (message, count) in tally.error_messages {
            *phase.error_messages.entry(message).or_default() += count;
        }
    }
    phase.cpu = cpu.await.context("the CPU monitor panicked")?;
    tokio::time::sleep(PAUSE_BETWEEN_PHASES).await;
    Ok(phase)
}

/// Clock ticks per second of the CPU times in `/proc` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds used by process `pid` (all its threads) so far.
fn process_cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the parenthesised command name, from the state (field 3).
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS_PER_SECOND)
}

/// Busy and idle CPU seconds of the whole machine so far, summed over cores.
fn machine_cpu_seconds() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next().filter(|line| line.starts_with("cpu "))?;
    let ticks: Vec<f64> = line.split_whitespace().skip(1).map(|t| t.parse().unwrap_or(0.0)).collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let at = |i: usize| ticks.get(i).copied().unwrap_or(0.0);
    let busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
    let idle = at(3) + at(4);
    Some((busy / TICKS_PER_SECOND, idle / TICKS_PER_SECOND))
}

/// Reads CPU counters of this process, of the server's PostgreSQL backends
/// (found through a connection of its own to the server's database) and of
/// the machine.
#[derive(Clone)]
struct CpuMonitor {
    database: Option<Arc<Mutex<PgConnection>>>,
}

/// CPU counters at one instant, in CPU seconds.
struct CpuSnapshot {
    at: Instant,
    this_process: f64,
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

impl CpuMonitor {
    /// A monitor; without /proc or the database it reports nothing.
    fn new(database_url: Option<&str>) -> CpuMonitor {
        let database = database_url
            .filter(|_| machine_cpu_seconds().is_some())
            .and_then(|url| PgConnection::establish(url).ok())
            .map(|conn| Arc::new(Mutex::new(conn)));
        CpuMonitor { database }
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

    fn read(pids: impl IntoIterator<Item = String>) -> Option<CpuSnapshot> {
        let (machine_busy, machine_idle) = machine_cpu_seconds()?;
        Some(CpuSnapshot {
            at: Instant::now(),
            this_process: process_cpu_seconds("self")?,
            backends: pids.into_iter().filter_map(|pid| Some((pid.clone(), process_cpu_seconds(&pid)?))).collect(),
            machine_busy,
            machine_idle,
        })
    }

    async fn snapshot(&self) -> Option<CpuSnapshot> {
        self.database.as_ref()?;
        let pids = self.backend_pids().await;
        Self::read(pids)
    }

    /// A snapshot of the same backends as `before` (the pool is warm by then).
    async fn snapshot_again(&self, before: &Option<CpuSnapshot>) -> Option<CpuSnapshot> {
        Self::read(before.as_ref()?.backends.keys().cloned())
    }
}

/// Average cores used during a window.
#[derive(Clone, Copy)]
struct CpuSplit {
    this_process: f64,
    postgres: f64,
    other: f64,
    idle: f64,
}

impl CpuSplit {
    fn between(before: &Option<CpuSnapshot>, after: &Option<CpuSnapshot>) -> Option<CpuSplit> {
        let (before, after) = (before.as_ref()?, after.as_ref()?);
        let seconds = after.at.duration_since(before.at).as_secs_f64();
        if seconds <= 0.0 {
            return None;
        }
        let this_process = after.this_process - before.this_process;
        let postgres: f64 = after.backends.iter().filter_map(|(pid, cpu)| Some(cpu - before.backends.get(pid)?)).sum();
        let busy = after.machine_busy - before.machine_busy;
        Some(CpuSplit {
            this_process: this_process / seconds,
            postgres: postgres / seconds,
            other: (busy - this_process - postgres).max(0.0) / seconds,
            idle: (after.machine_idle - before.machine_idle) / seconds,
        })
    }
}

/// An error as one line: the gRPC code and the message.
fn describe_sdk(error: &petition_sdk::Error) -> String {
    format!("{:?}: {error}", error.code())
}

fn describe_status(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// The commit this was built from (`-dirty` with local changes), if git is at hand.
fn git_commit() -> String {
    std::process::Command::new("git")
        .args(["describe", "--always", "--dirty", "--abbrev=12"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|commit| commit.trim().to_owned())
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// `url` without its user information (a password may be in it).
fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return "(unparsable URL)".to_owned();
    };
    let authority_end = url[scheme_end..].find('/').map_or(url.len(), |i| i + scheme_end);
    match url[scheme_end..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end], &url[scheme_end + at + 1..]),
        None => url.to_owned(),
    }
}

/// How the run was set up, printed before the results and kept in the JSON.
struct Setup {
    bench: &'static str,
    build: &'static str,
    commit: String,
    cores: usize,
    worker_threads: usize,
    server_url: String,
    database: String,
    pool_size: u32,
    pool_size_is_default: bool,
    hashing_concurrency: usize,
    load: LoadArgs,
    login_concurrency: u32,
}

impl Setup {
    fn print(&self) {
        let load = &self.load;
        println!("petition bench: {}", self.bench);
        println!("  build        {}", self.build);
        println!("  commit       {}", self.commit);
        println!(
            "  server       in-process at {}: server and load generator share this process, one tokio runtime \
             ({} worker threads) and the machine's {} cores; loopback only",
            self.server_url, self.worker_threads, self.cores
        );
        let local = ["127.0.0.1", "localhost", "[::1]", "host=/"].iter().any(|host| self.database.contains(host));
        println!(
            "  database     {} (fresh, cloned from the migrated template){}",
            self.database,
            if local { "; PostgreSQL runs on this machine too, on the same cores" } else { "" }
        );
        println!(
            "  server cfg   DB pool size {} ({}), password-hashing concurrency {} (default); all else default",
            self.pool_size,
            if self.pool_size_is_default { "default" } else { "--db-pool-size, NOT the default" },
            self.hashing_concurrency
        );
        println!(
            "  load         {} callers over {} HTTP/2 connections (Login: {} callers); per phase {}s warm-up + {}s \
             measured",
            load.concurrency, load.connections, self.login_concurrency, load.warmup_seconds, load.seconds
        );
    }
}

fn print_results(setup: &Setup, phases: &[Phase]) {
    println!();
    println!(
        "{:<8} | {:>9} | {:>7} | {:>13} | {:>8} | {:>8} | {:>8} | {:>8}",
        "rpc", "calls", "errors", "calls/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
    );
    println!("{}", "-".repeat(94));
    for phase in phases {
        println!(
            "{:<8} | {:>9} | {:>7} | {:>13.1} | {:>8.2} | {:>8.2} | {:>8.2} | {:>8.2}",
            phase.rpc,
            phase.calls(),
            phase.errors,
            phase.throughput(),
            phase.quantile_ms(0.50),
            phase.quantile_ms(0.90),
            phase.quantile_ms(0.99),
            phase.max_ms(),
        );
    }
    println!();
    println!(
        "calls: completed in the measured window; calls/s and latencies: successful calls only; \
         callers: {} ({} for login)",
        setup.load.concurrency, setup.login_concurrency
    );
    if let Some(ratio) = ratio(phases, "getme", "health") {
        println!("GetMe throughput = {:.1}% of health-check throughput", ratio * 100.0);
    }
    println!();
    println!(
        "CPU during the measured window, in cores (of {}): this process = server + load generator; \
         postgres = the server's backends",
        setup.cores
    );
    println!("{:<8} | {:>12} | {:>8} | {:>15} | {:>6}", "rpc", "this process", "postgres", "other processes", "idle");
    for phase in phases {
        match phase.cpu {
            Some(cpu) => println!(
                "{:<8} | {:>12.2} | {:>8.2} | {:>15.2} | {:>6.2}",
                phase.rpc, cpu.this_process, cpu.postgres, cpu.other, cpu.idle
            ),
            None => println!("{:<8} | {:>12} | {:>8} | {:>15} | {:>6}", phase.rpc, "n/a", "n/a", "n/a", "n/a"),
        }
    }
    for phase in phases {
        if let Some(cpu) = phase.cpu.filter(|cpu| cpu.other > DISTURBED_CORES) {
            println!(
                "!!! {}: other processes used {:.2} cores meanwhile: the machine was not quiet, expect noise",
                phase.rpc, cpu.other
            );
        }
    }
    for phase in phases {
        if phase.errors > 0 || phase.ok() == 0 {
            println!();
            println!(
                "!!! {}: {} of {} calls FAILED ({:.2}%){}",
                phase.rpc,
                phase.errors,
                phase.calls(),
                phase.error_ratio() * 100.0,
                if phase.ok() == 0 { " and NO call succeeded" } else { "" }
            );
            for (message, count) in phase.most_frequent_errors() {
                println!("!!!   {count:>8} × {message}");
            }
        }
    }
    if cfg!(debug_assertions) {
        println!();
        println!("!!! DEBUG BUILD: these numbers are meaningless; run with cargo run --release");
    }
}

fn ratio(phases: &[Phase], numerator: &str, denominator: &str) -> Option<f64> {
    let of = |rpc: &str| phases.iter().find(|p| p.rpc == rpc).map(Phase::throughput);
    let (n, d) = (of(numerator)?, of(denominator)?);
    (d > 0.0).then(|| n / d)
}

fn json(setup: &Setup, phases: &[Phase]) -> String {
    let round = |x: f64| (x * 100.0).round() / 100.0;
    let results: Vec<serde_json::Value> = phases
        .iter()
        .map(|p| {
            serde_json::json!({
                "rpc": p.rpc,
                "callers": p.callers,
                "seconds": p.seconds,
                "calls": p.calls(),
                "errors": p.errors,
                "abandoned_at_deadline": p.abandoned,
                "cpu_cores": p.cpu.map(|cpu| serde_json::json!({
                    "this_process": round(cpu.this_process),
                    "postgres": round(cpu.postgres),
                    "other": round(cpu.other),
                    "idle": round(cpu.idle),
                })),
                "throughput": round(p.throughput()),
                "p50_ms": round(p.quantile_ms(0.50)),
                "p90_ms": round(p.quantile_ms(0.90)),
                "p99_ms": round(p.quantile_ms(0.99)),
                "max_ms": round(p.max_ms()),
                "failed": p.failed(),
                "error_messages": p.most_frequent_errors().into_iter()
                    .map(|(m, n)| serde_json::json!({"message": m, "count": n}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::json!({
        "bench": setup.bench,
        "build": setup.build,
        "commit": setup.commit,
        "in_process_server": true,
        "cores": setup.cores,
        "worker_threads": setup.worker_threads,
        "db_pool_size": setup.pool_size,
        "db_pool_size_is_default": setup.pool_size_is_default,
        "hashing_concurrency": setup.hashing_concurrency,
        "concurrency": setup.load.concurrency,
        "login_concurrency": setup.login_concurrency,
        "connections": setup.load.connections,
        "warmup_seconds": setup.load.warmup_seconds,
        "seconds": setup.load.seconds,
        "getme_over_health": ratio(phases, "getme", "health").map(|r| (r * 10_000.0).round() / 10_000.0),
        "results": results,
    })
    .to_string()
}

/// A distinct real name for the `i`th benchmark citizen (names may hold
/// only letters, so the index is spelled with the heavenly stems).
fn citizen_name(i: usize) -> String {
    const STEMS: [char; 10] = ['甲', '乙', '丙', '丁', '戊', '己', '庚', '辛', '壬', '癸'];
    let mut name = String::from("压测");
    name.push(STEMS[(i / 100) % 10]);
    name.push(STEMS[(i / 10) % 10]);
    name.push(STEMS[i % 10]);
    name
}

/// `n` clients, each on its own HTTP/2 connection, none signed in.
async fn connect(server: &TestServer, n: usize) -> Result<Vec<Client>> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(server.client().await.context("connecting to the server")?);
    }
    Ok(clients)
}

async fn identity(args: IdentityArgs) -> Result<ExitCode> {
    let load = args.load.clone();
    let mut pool_size = 0;
    let mut hashing_concurrency = 0;
    eprintln!("starting the server…");
    let server = TestServer::spawn_with(|config| {
        if let Some(size) = load.db_pool_size {
            config.database.pool_size = size;
        }
        pool_size = config.database.pool_size;
        hashing_concurrency = config.auth.hashing_concurrency;
    })
    .await
    .context("starting the server (is PostgreSQL running on 127.0.0.1:5432?)")?;
    let setup = Setup {
        bench: "identity",
        build: if cfg!(debug_assertions) { "debug" } else { "release" },
        commit: git_commit(),
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        worker_threads: tokio::runtime::Handle::current().metrics().num_workers(),
        server_url: server.url.clone(),
        database: server.database.as_ref().map_or_else(|| "(unknown)".to_owned(), |db| redact_url(db.url())),
        pool_size,
        pool_size_is_default: load.db_pool_size.is_none(),
        hashing_concurrency,
        load: load.clone(),
        login_concurrency: args.login_concurrency,
    };

    eprintln!("preparing clients and citizens…");
    let connections = load.connections as usize;
    let anonymous = connect(&server, connections).await?;
    // One signed-in citizen per connection, each with its own session.
    let mut citizens = Vec::with_capacity(connections);
    for (i, client) in anonymous.iter().enumerate() {
        let (citizen, _) = signed_in_citizen(client, &citizen_name(i)).await.context("registering a GetMe citizen")?;
        citizens.push(citizen);
    }
    // The citizen whose password Login verifies.
    let login_as = citizen_request("压测登录");
    anonymous[0].identity().register_citizen(login_as.clone()).await.context("registering the Login citizen")?;
    let login_name = login_as.phone;

    let database_url = server.database.as_ref().map(|db| db.url().to_owned());
    let monitor = tokio::task::spawn_blocking(move || CpuMonitor::new(database_url.as_deref())).await?;
    setup.print();
    eprintln!("measuring…");
    let mut phases = Vec::new();

    let channels: Vec<tonic::transport::Channel> = anonymous.iter().map(|c| c.channel().clone()).collect();
    phases.push(
        run_phase("health", load.concurrency as usize, &load, &monitor, move |caller| {
            let mut health = HealthClient::new(channels[caller % channels.len()].clone());
            async move {
                let response = health.check(HealthCheckRequest { service: String::new() }).await;
                match response.map(|r| r.into_inner().status) {
                    Ok(status) if status == ServingStatus::Serving as i32 => Ok(()),
                    Ok(status) => Err(format!("health status {status}, not SERVING")),
                    Err(status) => Err(describe_status(&status)),
                }
            }
        })
        .await?,
    );

    let signed_in = citizens.clone();
    phases.push(
        run_phase("getme", load.concurrency as usize, &load, &monitor, move |caller| {
            let client = signed_in[caller % signed_in.len()].clone();
            async move { client.identity().get_me().await.map(|_| ()).map_err(|e| describe_sdk(&e)) }
        })
        .await?,
    );

    let login_clients = anonymous.clone();
    phases.push(
        run_phase("login", args.login_concurrency as usize, &load, &monitor, move |caller| {
            let client = login_clients[caller % login_clients.len()].clone();
            let request = pb::LoginRequest { login_name: login_name.clone(), password: PASSWORD.into() };
            async move {
                let response = client.identity().login(request).await.map_err(|e| describe_sdk(&e))?;
                match response.tokens {
                    Some(tokens) if !tokens.access_token.is_empty() => Ok(()),
                    _ => Err("LoginResponse without tokens".to_owned()),
                }
            }
        })
        .await?,
    );

    drop((anonymous, citizens, monitor));
    if let Err(error) = server.stop().await {
        eprintln!("warning: the server did not stop cleanly: {error:#}");
    }

    print_results(&setup, &phases);
    if load.json {
        println!("{}", json(&setup, &phases));
    }
    let failed: Vec<&str> = phases.iter().filter(|p| p.failed()).map(|p| p.rpc).collect();
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "benchmark FAILED: more than {:.0}% errors (or no success) in: {}",
            MAX_ERROR_RATIO * 100.0,
            failed.join(", ")
        );
        Ok(ExitCode::FAILURE)
    }
}

#[tokio::main]
async fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let load = match &cli.command {
        Command::Identity(args) => &args.load,
    };
    if cfg!(debug_assertions) {
        let banner = "!".repeat(78);
        eprintln!("{banner}\n!!! This is a DEBUG build: benchmark numbers from it are meaningless.");
        eprintln!("!!! Run: cargo run --release -p petition-tests --bin bench -- ...\n{banner}");
        if !load.allow_debug {
            eprintln!("refusing to benchmark a debug build (pass --allow-debug to run it anyway)");
            return Ok(ExitCode::from(2));
        }
    }
    match cli.command {
        Command::Identity(args) => identity(args).await,
    }
}
