//! What every benchmark needs around its phases: the server, clients,
//! error descriptions, a small random number generator, the exit status.

use std::process::ExitCode;

use anyhow::{Context, Result};
use petition_sdk::Client;
use petition_server::config::Config;
use petition_tests::server::test_config;
use petition_tests::{TestDatabase, TestServer};

use crate::LoadArgs;
use crate::phase::{MAX_ERROR_RATIO, Phase};
use crate::report::Setup;

/// Worker threads of the server's own runtime: what the server binary
/// would take alone on this machine (tokio's default, one per core).
pub fn server_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Starts a server with exactly `config` on its own runtime (see
/// [`TestServer::start_on_own_runtime`]), over `database`, in a fresh
/// data directory.
pub async fn start_on(config: Config, database: TestDatabase) -> Result<TestServer> {
    start_in_fresh_directory(config, Some(database)).await
}

/// [`start_on`], for a second server over a database another server owns
/// (and drops).
pub async fn start_beside(config: Config) -> Result<TestServer> {
    start_in_fresh_directory(config, None).await
}

async fn start_in_fresh_directory(config: Config, database: Option<TestDatabase>) -> Result<TestServer> {
    let data_dir = std::env::temp_dir().join(format!("petition-test-{}", uuid::Uuid::now_v7().simple()));
    let mut config = config;
    config.data_dir = data_dir.clone();
    TestServer::start_on_own_runtime(config, database, data_dir, server_workers()).await
}

/// Starts the server on its own runtime over a fresh database with default
/// settings (but `--db-pool-size`) and describes the run.
/// `adjust` changes more settings (the caller says which in the set-up lines).
pub async fn start_server(
    bench: &'static str,
    load: &LoadArgs,
    adjust: impl FnOnce(&mut Config),
) -> Result<(TestServer, Setup)> {
    eprintln!("starting the server…");
    let database = tokio::task::spawn_blocking(TestDatabase::create)
        .await?
        .context("creating the server's database (is PostgreSQL running on 127.0.0.1:5432?)")?;
    let mut config = test_config(database.url(), &std::env::temp_dir());
    adjust(&mut config);
    if let Some(size) = load.db_pool_size {
        config.database.pool_size = size;
    }
    let (pool_size, hashing_concurrency) = (config.database.pool_size, config.auth.hashing_concurrency);
    let server = start_on(config, database).await.context("starting the server")?;
    let setup = Setup {
        bench,
        build: if cfg!(debug_assertions) { "debug" } else { "release" },
        commit: git_commit(),
        cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
        worker_threads: tokio::runtime::Handle::current().metrics().num_workers(),
        server_workers: server_workers(),
        server_url: server.url.clone(),
        database: server.database.as_ref().map_or_else(|| "(unknown)".to_owned(), |db| redact_url(db.url())),
        pool_size,
        pool_size_is_default: load.db_pool_size.is_none(),
        hashing_concurrency,
        load: load.clone(),
        lines: Vec::new(),
    };
    Ok((server, setup))
}

/// Stops the server at the end of a run; with `keep_database` its database
/// is left in place (and named) instead of dropped.
pub async fn stop_server(mut server: TestServer, keep_database: bool) {
    let kept = if keep_database { server.database.take() } else { None };
    if let Err(error) = server.stop().await {
        eprintln!("warning: the server did not stop cleanly: {error:#}");
    }
    if let Some(database) = kept {
        eprintln!("kept the database {} (--keep-database): drop it yourself", database.name());
        std::mem::forget(database);
    }
}

/// Runs the sweeper every interval, as a deployed server does (the test
/// configuration passes once an hour): benches that measure the server in
/// its steady state measure its sweeper too.
pub fn sweep_as_deployed(config: &mut Config) {
    config.oversight.sweep_interval_secs = Config::from_defaults().oversight.sweep_interval_secs;
}

/// Waits until the server is in its steady state over what was written
/// behind its back: `passes` sweeper passes ended after `since` (a pass
/// under way at `since` may have missed what was written before it; the
/// next did not), then the metrics projection reached the newest event.
/// Returns the seconds waited. A bench that measured during these
/// catch-ups measured them (at 1,000,000 cases, most of PostgreSQL's time).
pub async fn settle(database_url: &str, since: chrono::DateTime<chrono::Utc>, passes: usize) -> Result<f64> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || wait_settled(&url, since, passes)).await?
}

/// [`settle`]'s polling, on a blocking thread.
fn wait_settled(database_url: &str, since: chrono::DateTime<chrono::Utc>, passes: usize) -> Result<f64> {
    use diesel::prelude::*;
    use diesel::sql_types::{Bool, Nullable, Timestamptz};
    #[derive(QueryableByName)]
    struct State {
        #[diesel(sql_type = Nullable<Timestamptz>)]
        pass_ended_at: Option<chrono::DateTime<chrono::Utc>>,
        #[diesel(sql_type = Bool)]
        projected: bool,
    }
    const LIMIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);
    let started = std::time::Instant::now();
    let mut conn = PgConnection::establish(database_url).context("connecting to the server's database")?;
    let mut ended = std::collections::BTreeSet::new();
    loop {
        let state: State = diesel::sql_query(
            "SELECT (SELECT pass_ended_at FROM sweeper_state) AS pass_ended_at, \
             (SELECT position FROM metrics_state) >= COALESCE((SELECT xid * 65536 + idx FROM events \
             ORDER BY xid DESC, idx DESC LIMIT 1), 0) AS projected",
        )
        .get_result(&mut conn)?;
        ended.extend(state.pass_ended_at.filter(|at| *at > since));
        if ended.len() >= passes && state.projected {
            return Ok(started.elapsed().as_secs_f64());
        }
        anyhow::ensure!(
            started.elapsed() < LIMIT,
            "the server did not settle within {LIMIT:?} ({} sweeper passes, projection caught up: {})",
            ended.len(),
            state.projected
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// `n` clients, each on its own HTTP/2 connection, none signed in.
pub async fn connect(server: &TestServer, n: usize) -> Result<Vec<Client>> {
    let mut clients = Vec::with_capacity(n);
    for _ in 0..n {
        clients.push(server.client().await.context("connecting to the server")?);
    }
    Ok(clients)
}

/// An error as one line: the gRPC code and the message.
pub fn describe_sdk(error: &petition_sdk::Error) -> String {
    format!("{:?}: {error}", error.code())
}

pub fn describe_status(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

/// The output of `git args…` in the workspace, if git is at hand.
fn git(args: &[&str]) -> Option<String> {
    std::process::Command::new("git")
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim_end().to_owned())
}

/// The workspace's commit now (`-dirty` with local changes), and a warning
/// if this binary is older than that commit or than a locally changed
/// file: the commit is read when the benchmark runs, not when it was
/// built, so a binary run directly after a `git pull` or an edit would
/// otherwise be reported under code it does not contain.
fn git_commit() -> String {
    let commit = git(&["describe", "--always", "--dirty", "--abbrev=12"])
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown".to_owned());
    match stale_build() {
        Some(why) => format!("{commit} — !!! STALE BINARY: built before {why}; rebuild (cargo run does)"),
        None => commit,
    }
}

/// Files whose changes change the binary.
const CODE: [&str; 5] = [".rs", ".toml", ".proto", ".sql", ".lock"];

/// Why this binary may not contain the workspace's code, if it may not
/// (commits and edits of other files, such as the README, do not count).
fn stale_build() -> Option<String> {
    let built = std::fs::metadata(std::env::current_exe().ok()?).ok()?.modified().ok()?;
    let root = git(&["rev-parse", "--show-toplevel"])?;
    let patterns: Vec<String> = CODE.iter().map(|ext| format!(":(glob)**/*{ext}")).collect();
    let mut log = vec!["log", "-1", "--format=%ct %h", "--"];
    log.extend(patterns.iter().map(String::as_str));
    let last_code_commit = git(&log)?;
    let (seconds, hash) = last_code_commit.split_once(' ')?;
    if built < std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds.parse().ok()?) {
        return Some(format!("commit {hash}"));
    }
    let status = git(&["status", "--porcelain", "--untracked-files=no"])?;
    let changed = status.lines().filter_map(|line| line.get(3..)).find(|path| {
        let modified = std::fs::metadata(std::path::Path::new(&root).join(path)).and_then(|m| m.modified());
        CODE.iter().any(|ext| path.ends_with(ext)) && modified.is_ok_and(|modified| modified > built)
    })?;
    Some(format!("a change to {changed}"))
}

/// `url` without its user information (a password may be in it).
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return "(unparsable URL)".to_owned();
    };
    let authority_end = url[scheme_end..].find('/').map_or(url.len(), |i| i + scheme_end);
    match url[scheme_end..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..scheme_end], &url[scheme_end + at + 1..]),
        None => url.to_owned(),
    }
}

/// Exit status 1 (and a message) if any phase failed.
pub fn exit_status(phases: &[Phase]) -> ExitCode {
    let failed: Vec<&str> = phases.iter().filter(|p| p.failed()).map(|p| p.rpc).collect();
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "benchmark FAILED: more than {:.0}% errors (or no success) in: {}",
            MAX_ERROR_RATIO * 100.0,
            failed.join(", ")
        );
        ExitCode::FAILURE
    }
}

/// SplitMix64 for picking test data (not for secrets), shared with the
/// text generator.
pub use petition_tests::petition_texts::Rng;
