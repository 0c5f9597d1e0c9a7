//! Load benchmarks of a real petition server, driven through the SDK.
//!
//! ```text
//! cargo run --release -p petition-tests --bin bench -- identity [--seconds 10] [--warmup-seconds 2]
//!     [--concurrency 64] [--connections 4] [--login-concurrency 8] [--json] [--db-pool-size N]
//! cargo run --release -p petition-tests --bin bench -- cases [--preload 100000] [--citizens 200]
//!     [--seconds 10] [--warmup-seconds 2] [--concurrency 64] [--connections 4] [--json]
//!     [--db-pool-size N] [--no-pgbench] [--keep-database]
//! cargo run --release -p petition-tests --bin bench -- dedup [--preload 1000000] [--seconds 10]
//!     [--warmup-seconds 2] [--concurrency 64] [--connections 4] [--check-samples 5000]
//!     [--check-threads 1,2,4] [--seed 1] [--json] [--db-pool-size N] [--no-pgbench] [--keep-database]
//! cargo run --release -p petition-tests --bin bench -- tls [--seconds 10] [--warmup-seconds 2]
//!     [--concurrency 64] [--connections 4] [--json]
//! cargo run --release -p petition-tests --bin bench -- feed [--preload 450000] [--rounds 2] [--seconds 10]
//!     [--warmup-seconds 2] [--concurrency 64] [--connections 4] [--json] [--keep-database]
//! cargo run --release -p petition-tests --bin bench -- mediation [--disputes 18325] [--year 2026]
//!     [--load-threads 2] [--callers 8] [--heads 32] [--seed 1] [--seconds 10] [--warmup-seconds 2]
//!     [--connections 4] [--json] [--keep-database]
//! cargo run --release -p petition-tests --bin bench -- legal-aid [--applications 100000] [--callers 8]
//!     [--seconds 10] [--warmup-seconds 2] [--connections 4] [--json] [--keep-database]
//! cargo run --release -p petition-tests --bin bench -- ratings [--preload 20000] [--rated-cases 256]
//!     [--rating-rate 20] [--rounds 2] [--seconds 10] [--warmup-seconds 2] [--concurrency 64] [--json]
//! cargo run --release -p petition-tests --bin bench -- oversight [--preload 1000000] [--owned 2000]
//!     [--callers 8] [--rounds 2] [--seconds 10] [--warmup-seconds 2] [--concurrency 64] [--json]
//! cargo build --release -p petition-cli && cargo run --release -p petition-tests --bin bench -- import [--rows 100000]
//!     [--import-concurrency 16] [--seconds 10] [--json]
//! ```
//!
//! One server is started in-process with the test harness
//! ([`TestServer::spawn_with`]) on `127.0.0.1:0`, over a fresh database cloned
//! from the migrated template on the test PostgreSQL, with every server
//! setting at its default (the database pool size too, unless
//! `--db-pool-size` overrides it, which the output then says). The server
//! runs on a tokio runtime of its own (one worker thread per core, as the
//! server binary alone; its threads named `petition-srv`), the load
//! generator on the main one: their CPU is told apart, but they share this
//! process and the machine's cores, so every number is "server + client on
//! the same cores": the absolute figures understate what a dedicated server
//! would do; the ratios between phases are the point.
//!
//! Each benchmark runs phases one after another, each for `--warmup-seconds`
//! (discarded) and then `--seconds` (measured), with callers that are tokio
//! tasks looping calls back to back, spread round-robin over `--connections`
//! HTTP/2 connections (one SDK [`Client`] each). Every benchmark starts with
//! `grpc.health.v1.Health/Check`, the baseline: the cheapest RPC the same
//! server answers (no authentication, no database, a response from memory).
//! It costs exactly the transport (HTTP/2, tonic, the tower layers every
//! call goes through) on both sides, so it is the ceiling any real RPC of
//! this server can reach on this machine, and what is left between it and
//! another RPC is that RPC's own work.
//!
//! `identity` then measures `IdentityService/GetMe` as a signed-in citizen
//! (a JWT verified, one account read and its personal data decrypted) and
//! `IdentityService/Login` with fewer callers (`--login-concurrency`):
//! argon2id password verification bounded by the server's hashing
//! semaphore, then a new sign-in written. About 3 × (warm-up + measured +
//! ½ s) plus a few seconds of set-up.
//!
//! `cases` first preloads `--preload` cases (see `preload.rs`: real cases
//! filed through the API serve as templates, then a few big SQL statements
//! copy them), runs pgbench's TPC-B on the same PostgreSQL as a yardstick of
//! the database machine, and measures GetCase, ListCases and SubmitCase
//! (see `cases.rs`). About 1–2 minutes with the defaults.
//!
//! `dedup` measures duplicate detection (智能判重) at scale (see `dedup.rs`):
//! it preloads `--preload` generated petitions (`archive.rs`: the shared
//! text generator's archive mix, cases stored by `preload.rs`, statistics
//! counted and fingerprints computed in Rust on every core, written in
//! bulk), restarts the server so it loads those statistics and builds its
//! band index,
//! then times the duplicate check a filing runs (analyze, find_matches,
//! decide) directly on the database on 1, 2 and 4 threads, runs pgbench,
//! and measures SubmitCase with detection on and off in alternating rounds
//! (the server restarted on the same database), filed by
//! `--filing-citizens` citizens in turn; it reports the check's latency
//! against the 10 ms p99 target, the on/off throughput ratio per round and
//! its median against the 80% target, CPU (server + PostgreSQL) and WAL per
//! filing, the storage per case and the band index's memory. On 2 cores
//! the 1,000,000-case preload takes about 3 minutes, registering the
//! citizens under one, the phases 2–3 more; `--preload 20000` takes about
//! two minutes in all.
//!
//! `feed` (see `feed.rs`) measures the change feed: catching up from a
//! backlog of over a million events, the delivery latency of a live watch
//! while 64 callers file cases, and SubmitCase with and without the watch.
//!
//! `mediation` (see `mediation.rs`, `city.rs`) loads a city-year of
//! people's mediation through the server's own code and measures
//! GetMediationStatistics for the city and the year and ListDisputes of
//! one team, with 8 callers.
//!
//! `tls` (see `tls.rs`) starts a plain and a TLS server and measures the
//! health check, GetMe and connection set-up on each, in turn.
//!
//! A call counts in a phase when it completes inside the measured window;
//! calls still in flight at the deadline are abandoned (cancelled), so every
//! phase ends on time. Latencies of successful calls go to an HDR histogram
//! in microseconds; failed calls are counted apart (their latency would mix
//! fast rejections into the distribution) and the most frequent messages
//! printed. Throughput is successful calls per measured second.
//!
//! Each phase also reports where the machine's CPU went during its measured
//! window (from `/proc`, Linux only): the load generator, the server (its
//! runtime's threads), the server's PostgreSQL backends, every other
//! process, and idle; the same as core-ms per successful call with the WAL
//! bytes per call (`budget.rs`); and for SubmitCase, if the PostgreSQL has
//! `pg_stat_statements` preloaded, the statements of the window per call. Other processes using CPU mean a disturbed, noisier run; an idle
//! share while calls queue means the bottleneck is not the CPU. And it
//! reports what the server's PostgreSQL backends were doing, sampled every
//! 25 ms from `pg_stat_activity`: on CPU, waiting on a lock or on the WAL,
//! or idle inside a transaction (waiting for the server's next statement).
//!
//! The process exits with status 1 if any phase had more than 1% errors or
//! no successful call, and refuses (status 2) to run a debug build
//! (`--allow-debug` to run one anyway, for checking the harness, never for
//! numbers).

mod archive;
mod budget;
mod cases;
mod city;
mod courts;
mod dedup;
mod feed;
mod identity;
mod import;
mod legal_aid;
mod mediation;
mod metrics;
mod monitor;
mod oversight;
mod pgbench;
mod phase;
mod preload;
mod ratings;
mod report;
mod rounds;
mod support;
mod text;
mod tls;

use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "bench", about = "Load benchmarks of an in-process petition server over loopback")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Health check (baseline), GetMe and Login.
    Identity(identity::IdentityArgs),
    /// Preloaded cases: health (baseline), GetCase, ListCases, SubmitCase, and pgbench TPC-B.
    Cases(cases::CasesArgs),
    /// Duplicate detection over a preloaded archive: the in-filing check, SubmitCase with detection on and off.
    Dedup(dedup::DedupArgs),
    /// TLS against plain HTTP/2: health check, GetMe, and new connections.
    Tls(tls::TlsArgs),
    /// The change feed: catch-up from a preloaded backlog, live delivery latency, SubmitCase with and without a watch.
    Feed(feed::FeedArgs),
    /// People's mediation over a city-year: statistics for the year, a team's disputes.
    Mediation(mediation::MediationArgs),
    /// Legal aid: a centre's 100,000 applications listed by centre, state and assigned lawyer.
    LegalAid(legal_aid::LegalAidArgs),
    /// Courts: a court with 100,000 referrals, its lists.
    Courts(courts::CourtsArgs),
    /// Ratings: SubmitCase alone and while petitioners rate, in interleaved rounds.
    Ratings(ratings::RatingsArgs),
    /// Metrics: the city-year dashboard by county over 1,000,000 cases.
    Metrics(metrics::MetricsArgs),
    /// Oversight: the sweeper's pass over 1,000,000 cases, the leader's and supervisor's lists, SubmitCase while sweeping.
    Oversight(oversight::OversightArgs),
    /// petitionctl's import of 100,000 cases from CSV: rows/s and the server's SubmitCase rate meanwhile.
    Import(import::ImportArgs),
}

/// Settings every benchmark shares.
#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub seconds: u64,

    /// Warm-up seconds per phase, before measuring (calls made then are discarded).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup_seconds: u64,

    /// Concurrent callers (tokio tasks calling back to back).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub concurrency: u32,

    /// HTTP/2 connections to the server; callers are spread over them round-robin.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=256))]
    pub connections: u32,

    /// Also print the results as one JSON object on the last line.
    #[arg(long)]
    pub json: bool,

    /// Run even though this is a debug build (the numbers are meaningless).
    #[arg(long)]
    pub allow_debug: bool,

    /// Server database pool size, to study its effect (default: the server's default).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_pool_size: Option<u32>,
}

#[tokio::main]
async fn main() -> Result<ExitCode> {
    let cli = Cli::parse();
    let load = match &cli.command {
        Command::Identity(args) => &args.load,
        Command::Cases(args) => &args.load,
        Command::Dedup(args) => &args.load,
        Command::Tls(args) => &args.load,
        Command::Feed(args) => &args.load,
        Command::Mediation(args) => &args.load,
        Command::LegalAid(args) => &args.load,
        Command::Courts(args) => &args.load,
        Command::Ratings(args) => &args.load,
        Command::Metrics(args) => &args.load,
        Command::Oversight(args) => &args.load,
        Command::Import(args) => &args.load,
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
        Command::Identity(args) => identity::identity(args).await,
        Command::Cases(args) => cases::cases(args).await,
        Command::Dedup(args) => dedup::dedup(args).await,
        Command::Tls(args) => tls::tls(args).await,
        Command::Feed(args) => feed::feed(args).await,
        Command::Mediation(args) => mediation::mediation(args).await,
        Command::LegalAid(args) => legal_aid::legal_aid(args).await,
        Command::Courts(args) => courts::courts(args).await,
        Command::Ratings(args) => ratings::ratings(args).await,
        Command::Metrics(args) => metrics::metrics(args).await,
        Command::Oversight(args) => oversight::oversight(args).await,
        Command::Import(args) => import::import(args).await,
    }
}
