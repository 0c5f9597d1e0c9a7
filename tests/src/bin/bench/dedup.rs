//! `bench dedup`: duplicate detection (智能判重) at scale.
//!
//! Set-up, with duplicate detection off (one citizen files every template
//! case from a small corpus: some would be declined as repeats): the
//! [`CaseWorld`] directory, one citizen per caller registered through the
//! API (the petitioners of the check queries), the template cases of
//! `bench cases`, one category per category of the generator; then
//! `--preload` generated petitions (see `archive.rs`) stored as cases by
//! `preload.rs` (texts given, petitioners cloned), their statistics stored
//! as version 1 (complete), and every fingerprint written in bulk. The
//! server is then restarted with detection on, on the same database (same
//! keys and settings), so that it loads statistics version 1 at start as a
//! server over a real archive would.
//!
//! Phases, in this order:
//!
//! 1. `health`: the baseline (see the crate docs).
//! 2. `dup check ×N`, for each of `--check-threads`: the check that
//!    `engine::file` runs inside a filing, run directly on the database by
//!    N threads with a connection each, `--check-samples` queries per pass
//!    (new queries each pass, after a warm-up pass): in a transaction,
//!    `SimilarityIndex::analyze` of the filing's text (statistics loaded
//!    and the band index built from the database, like the server's),
//!    `intake::find_matches` as a filing calls it (the petitioner's filing
//!    lock, then band candidates from the index in memory and the
//!    petitioner's open cases, their fingerprints and case rows read in
//!    one statement and scored; a filing also stores its fingerprint in
//!    that statement, a check files nothing) and `intake::decide`. Half
//!    the queries are fresh matters by a citizen with no case, a quarter
//!    rewrite a stored case by its own petitioner (paraphrase,
//!    reordering, insertion, typos, truncation, or a mix: repeats if it is
//!    still open), a quarter the same matter by another petitioner
//!    (related). Latencies are per check, in the results table; calls/s
//!    are checks per second of the pass.
//! 3. pgbench TPC-B on the same PostgreSQL while the server is idle
//!    (unless `--no-pgbench`), as a yardstick of the database machine.
//! 4. `SubmitCase (detection on)`: filings through the SDK as in
//!    `bench cases`, by `--filing-citizens` citizens registered and signed
//!    in through the API after the preload (draft i by citizen i mod N, so
//!    each files a few cases and has a few open ones, as under the daily
//!    limit; 64 citizens filing hundreds each would make every filing
//!    compare itself with a hundred open cases of its petitioner), texts
//!    from the generator (85% fresh matters, 15% another petitioner's filing
//!    of a stored matter), a fresh `request_id` each call; the daily filing
//!    limit is off.
//! 5. `SubmitCase (detection off)`: through a second server started
//!    beside the first with `--duplicate-detection false`, on the same
//!    database, the same texts in the same order.
//!
//! The two alternate in `--rounds` rounds (on-off, off-on, …) of short
//! phases (`--round-seconds`, after a second's warm-up), both servers
//! running throughout: neither mode's phases follow a restart (a restarted
//! server's first phases ran slower), and a drift of this machine's speed,
//! which swung ten-second phases of one mode by up to 40%, falls on both
//! modes alike. One `CHECKPOINT` precedes the rounds; the checkpoints
//! after it fall on phases of both modes. Before each phase the filers'
//! open cases are withdrawn in SQL (the state only, no event;
//! `--keep-open-cases` not to): a filing with detection on is compared
//! with its petitioner's open cases, so without this the cost of the later
//! phases grew with the filings of all those before.
//!
//! The report gives per round the on/off throughput ratio and, steadier,
//! the off/on ratio of the core time per filing of the server and its
//! PostgreSQL backends (see `rounds.rs`), their median and range, and the
//! WAL per filing of both modes. Then the storage
//! of duplicate detection per case (`case_fingerprints`: table, TOAST and
//! indexes) and the server's band index in memory: its size and how long
//! building it at start took.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use diesel::sql_types::{Array, BigInt, Integer, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl, sql_query};
use hdrhistogram::Histogram;
use petition_sdk::{Client, new_request_id, pb};
use petition_server::cases::domain::{CaseKind, CaseState};
use petition_server::cases::intake::{self, Reach, Subject, filing_text};
use petition_server::config::Config;
use petition_server::error::AppError;
use petition_server::similarity::{Analyzed, Fingerprinter, SimilarityIndex};
use petition_tests::petition_texts::{self, CATEGORIES, Corpus, Kind, Mix, REPEAT_KINDS};
use petition_tests::{CaseWorld, TestServer};
use uuid::Uuid;

use crate::LoadArgs;
use crate::archive::{self, Stored, Written};
use crate::budget::{Budget, StatementWatch};
use crate::cases::{self, REGIONS, file_templates, pgbench_line, preload_lines, register_citizens, sign_in_filers};
use crate::identity::{health_phase, monitor_of};
use crate::monitor::{BackendActivity, CpuMonitor, CpuSplit};
use crate::pgbench;
use crate::phase::{PAUSE_BETWEEN_PHASES, Phase, run_phase};
use crate::preload::{self, Preloaded, Sources, TableSize, Texts};
use crate::report::{print_results, ratio};
use crate::rounds::{self, Pair, Spread};
use crate::support::{self, connect, describe_sdk, exit_status, start_server, stop_server};

#[derive(Args, Debug, Clone)]
pub struct DedupArgs {
    #[command(flatten)]
    pub load: LoadArgs,

    /// Generated petitions preloaded as cases, with fingerprints.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u32).range(1..=5_000_000))]
    preload: u32,

    /// Duplicate checks measured per pass.
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(u32).range(10..=1_000_000))]
    check_samples: u32,

    /// Threads of the duplicate-check passes: one pass per number.
    #[arg(long, value_delimiter = ',', default_values_t = [1u32, 2, 4])]
    check_threads: Vec<u32>,

    /// Seed of the generated archive (the checks and filings use seeds derived from it).
    #[arg(long, default_value_t = 1)]
    seed: u64,

    /// Citizens the SubmitCase filings are spread over, filing `i` by
    /// citizen `i mod N`: enough that each files a few cases in a run, as
    /// under the default daily limit of 3, rather than a handful of
    /// citizens with hundreds of open cases each (every one of which a
    /// filing of theirs is compared with).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    filing_citizens: u32,

    /// Rounds of the SubmitCase phases, each a detection-on and a
    /// detection-off phase, in the order on-off, off-on, on-off, …: the
    /// ratios are taken per round and their median reported, so a machine
    /// that speeds up or slows down during the run weighs on both alike.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    rounds: u32,

    /// Keep the filers' cases open from phase to phase (by default they are
    /// withdrawn in SQL before each phase: see the module docs).
    #[arg(long)]
    keep_open_cases: bool,

    /// Measured seconds of each SubmitCase phase (default: 2 × --seconds /
    /// --rounds, at least 1, so each mode is measured 2 × --seconds in all).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600))]
    round_seconds: Option<u64>,

    /// Skip the pgbench TPC-B yardstick.
    #[arg(long)]
    no_pgbench: bool,

    /// Leave the server's database in place afterwards, for inspection (its
    /// name is printed; drop it yourself).
    #[arg(long)]
    keep_database: bool,
}

/// The target of the issue: the check's p99 at 1,000,000 stored cases.
const TARGET_CHECK_P99_MS: f64 = 10.0;
/// The target of the issue: filing throughput with detection on over off.
const TARGET_ON_OFF: f64 = 0.80;
/// Filings prepared for the SubmitCase phases (taken in turn, again from the start when used up).
const SUBMIT_POOL: usize = 30_000;
/// Share of another petitioner's filings of stored matters among them.
const SUBMIT_RELATED: f64 = 0.15;
/// Most warm-up checks before the first pass.
const MAX_WARMUP_CHECKS: usize = 500;
const SUBMIT_ON: &str = "SubmitCase (detection on)";
const SUBMIT_OFF: &str = "SubmitCase (detection off)";

/// What a check query is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Class {
    /// A matter not stored, by a citizen with no case.
    Fresh,
    /// A stored case rewritten by its own petitioner.
    Repeat,
    /// A stored case's matter filed by another petitioner.
    Related,
}

impl Class {
    fn describe(self) -> &'static str {
        match self {
            Class::Fresh => "fresh matter, citizen with no case",
            Class::Repeat => "rewrite of a stored case by its petitioner",
            Class::Related => "stored matter, another petitioner",
        }
    }
}

struct Query {
    class: Class,
    text: String,
    subject: Subject,
    /// Where it is filed (online: its region).
    filed_at: String,
}

fn case_kind(kind: i16) -> CaseKind {
    match kind {
        1 => CaseKind::Suggestion,
        2 => CaseKind::Accusation,
        _ => CaseKind::Claim,
    }
}

/// The regions' paths, by region group.
#[derive(QueryableByName)]
struct RegionPath {
    #[diesel(sql_type = Text)]
    code: String,
    #[diesel(sql_type = Text)]
    path: String,
}

/// `n` check queries (see the module docs): fresh ones from a corpus of
/// `seed`, rewrites of filings of `archive`.
fn check_queries(
    archive: &Corpus,
    people: &[Uuid],
    citizens: &[Uuid],
    paths: &[String],
    n: usize,
    seed: u64,
) -> Vec<Query> {
    let fresh = petition_texts::generate_with(n.div_ceil(2), seed, &Mix::ARCHIVE);
    let mut rng = petition_texts::Rng::new(seed ^ 0x636b);
    let mut next_fresh = 0;
    (0..n)
        .map(|j| {
            let class = match j % 4 {
                0 | 1 => Class::Fresh,
                2 => Class::Repeat,
                _ => Class::Related,
            };
            let (corpus, filing, content) = match class {
                Class::Fresh => {
                    next_fresh += 1;
                    let i = next_fresh - 1;
                    (&fresh, i, fresh.filings[i].text.clone())
                }
                Class::Repeat => {
                    let i = rng.below(archive.filings.len());
                    let kind = *rng.pick(&REPEAT_KINDS);
                    (archive, i, archive.rewrite(i, kind, &mut rng))
                }
                Class::Related => {
                    let i = rng.below(archive.filings.len());
                    (archive, i, archive.rewrite(i, Kind::Related, &mut rng))
                }
            };
            let f = &corpus.filings[filing];
            let m = &corpus.matters[f.matter];
            let petitioner = if class == Class::Repeat { people[f.petitioner] } else { citizens[j % citizens.len()] };
            let requests = m.requests(&corpus.petitioners[f.petitioner], &mut rng);
            let path = paths[archive::region_of(m.district)].clone();
            Query {
                class,
                text: filing_text(&m.title(), &content, &requests, ""),
                subject: Subject {
                    petitioner_id: Some(petitioner),
                    region_path: Some(path.clone()),
                    category_code: Some(m.category.code().to_owned()),
                    respondent_organization_id: None,
                    kind: Some(case_kind(archive::kind_of(m.category, filing))),
                    exclude: None,
                    // As a filing: the petitioner's lock, then the read.
                    serialize_filings: true,
                },
                filed_at: path,
            }
        })
        .collect()
}

/// Drafts for the SubmitCase phases (see the module docs).
fn submit_pool(archive: &Corpus, n: usize, seed: u64) -> Vec<pb::CaseDraft> {
    let fresh = petition_texts::generate_with(n, seed, &Mix::ARCHIVE);
    let mut rng = petition_texts::Rng::new(seed ^ 0x7375_626d);
    (0..n)
        .map(|j| {
            let (corpus, filing, content) = if rng.chance(SUBMIT_RELATED) {
                let i = rng.below(archive.filings.len());
                (archive, i, archive.rewrite(i, Kind::Related, &mut rng))
            } else {
                (&fresh, j, fresh.filings[j].text.clone())
            };
            let f = &corpus.filings[filing];
            let m = &corpus.matters[f.matter];
            pb::CaseDraft {
                kind: pb::CaseKind::Claim.into(),
                category_code: m.category.code().into(),
                region_code: REGIONS[archive::region_of(m.district)].into(),
                title: m.title(),
                content,
                requests: m.requests(&corpus.petitioners[f.petitioner], &mut rng),
                facts_and_reasons: String::new(),
                attachments: vec![],
                respondent_organization_id: String::new(),
            }
        })
        .collect()
}

/// What one group of check queries found.
#[derive(Debug, Clone, Copy, Default)]
struct ClassTally {
    queries: u64,
    repeat: u64,
    escalated: u64,
    /// Queries with at least one related case.
    related: u64,
    related_links: u64,
    /// Matches kept (similar enough to decide on, read from `cases`).
    kept: u64,
}

/// What a pass of checks measured.
struct CheckTally {
    /// Whole check, microseconds.
    total: Histogram<u64>,
    /// `SimilarityIndex::analyze` alone.
    analyze: Histogram<u64>,
    /// The rest: candidates, fingerprints read and re-ranked, decided.
    search: Histogram<u64>,
    /// Matches kept per query (similar enough to decide on, read from `cases`).
    kept: Histogram<u64>,
    /// Candidates whose fingerprints are scored per query: the band
    /// candidates (capped) and the petitioner's open cases (counted after
    /// the timed check, outside it).
    scored: Histogram<u64>,
    /// Cases sharing at least one band key with the query, before any cap
    /// (counted after the timed check, outside it).
    sharing: Histogram<u64>,
    classes: BTreeMap<Class, ClassTally>,
    errors: u64,
    error_messages: BTreeMap<String, u64>,
}

fn histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000, 3).map_err(|e| anyhow!("creating a histogram: {e:?}"))
}

impl CheckTally {
    fn new() -> Result<Self> {
        Ok(Self {
            total: histogram()?,
            analyze: histogram()?,
            search: histogram()?,
            kept: histogram()?,
            scored: histogram()?,
            sharing: histogram()?,
            classes: BTreeMap::new(),
            errors: 0,
            error_messages: BTreeMap::new(),
        })
    }

    fn merge(&mut self, other: CheckTally) -> Result<()> {
        let add = |a: &mut Histogram<u64>, b: &Histogram<u64>| a.add(b).map_err(|e| anyhow!("merging: {e:?}"));
        add(&mut self.total, &other.total)?;
        add(&mut self.analyze, &other.analyze)?;
        add(&mut self.search, &other.search)?;
        add(&mut self.kept, &other.kept)?;
        add(&mut self.scored, &other.scored)?;
        add(&mut self.sharing, &other.sharing)?;
        for (class, t) in other.classes {
            let mine = self.classes.entry(class).or_default();
            mine.queries += t.queries;
            mine.repeat += t.repeat;
            mine.escalated += t.escalated;
            mine.related += t.related;
            mine.related_links += t.related_links;
            mine.kept += t.kept;
        }
        self.errors += other.errors;
        for (message, n) in other.error_messages {
            *self.error_messages.entry(message).or_default() += n;
        }
        Ok(())
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// How many candidates `find_matches` scores for a query (the band
/// candidates, capped, and the petitioner's open cases), and how many cases
/// share a band key with it (uncapped).
fn candidate_counts(
    conn: &mut PgConnection,
    index: &SimilarityIndex,
    analyzed: &Analyzed,
    subject: &Subject,
) -> Result<(u64, u64)> {
    let prepared = index.scoring().prepare_analysis(&analyzed.analysis);
    let scored = intake::candidates(conn, index, analyzed, &prepared, subject, Reach::FILING, None)
        .map_err(|e| anyhow!("counting candidates: {e}"))?
        .len();
    let sharing = index.bands().candidates(&analyzed.search_keys, usize::MAX, usize::MAX, 0.0, None, &|_| true).len();
    Ok((scored as u64, sharing as u64))
}

/// Runs `queries` on `conn` as the filing transaction does, tallying them.
fn check_on(
    conn: &mut PgConnection,
    index: &SimilarityIndex,
    queries: &[&Query],
    count_sharing: bool,
) -> Result<CheckTally> {
    let mut tally = CheckTally::new()?;
    for query in queries {
        let began = Instant::now();
        let result = conn.transaction::<_, AppError, _>(|conn| {
            let analyzed = index.analyze(&query.text);
            let analyzed_in = began.elapsed();
            // As `engine::file`: a filing keeps only the candidates close enough to decide on.
            let matches = intake::find_matches(conn, index, &analyzed, &query.subject, Reach::FILING, 0, None)?;
            let outcome = intake::decide(&matches, &query.filed_at, analyzed.bands_partial);
            Ok((analyzed_in, matches.len(), outcome, analyzed))
        });
        let elapsed = began.elapsed();
        match result {
            Ok((analyzed_in, kept, outcome, analyzed)) => {
                tally.total.saturating_record(micros(elapsed));
                tally.analyze.saturating_record(micros(analyzed_in));
                tally.search.saturating_record(micros(elapsed.saturating_sub(analyzed_in)));
                tally.kept.saturating_record(kept as u64);
                let class = tally.classes.entry(query.class).or_default();
                class.queries += 1;
                class.repeat += u64::from(outcome.repeat_of.is_some());
                class.escalated += u64::from(outcome.escalated);
                class.related += u64::from(!outcome.related.is_empty());
                class.related_links += outcome.related.len() as u64;
                class.kept += kept as u64;
                if count_sharing {
                    let (scored, sharing) = candidate_counts(conn, index, &analyzed, &query.subject)?;
                    tally.scored.saturating_record(scored);
                    tally.sharing.saturating_record(sharing);
                }
            }
            Err(error) => {
                tally.errors += 1;
                *tally.error_messages.entry(error.to_string()).or_default() += 1;
            }
        }
    }
    Ok(tally)
}

/// One pass of checks on `threads` threads, a connection each; returns the
/// tally, the wall seconds and the connections (still open: their
/// backends' CPU time can be read until they close).
fn check_pass(
    conns: Vec<PgConnection>,
    index: Arc<SimilarityIndex>,
    queries: Arc<Vec<Query>>,
    range: std::ops::Range<usize>,
    count_sharing: bool,
) -> Result<(CheckTally, f64, Vec<PgConnection>)> {
    let threads = conns.len().max(1);
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(t, mut conn)| {
            let (index, queries, barrier, range) = (index.clone(), queries.clone(), barrier.clone(), range.clone());
            std::thread::spawn(move || {
                let mine: Vec<&Query> = queries[range].iter().skip(t).step_by(threads).collect();
                barrier.wait();
                check_on(&mut conn, &index, &mine, count_sharing).map(|tally| (tally, conn))
            })
        })
        .collect();
    barrier.wait();
    let started = Instant::now();
    let mut tally = CheckTally::new()?;
    let mut conns = Vec::with_capacity(threads);
    for handle in handles {
        let (part, conn) = handle.join().map_err(|_| anyhow!("a check thread panicked"))??;
        tally.merge(part)?;
        conns.push(conn);
    }
    Ok((tally, started.elapsed().as_secs_f64(), conns))
}

/// Samples what the backends do until `done`, in short windows.
fn sample_until(monitor: &CpuMonitor, done: Arc<AtomicBool>) -> tokio::task::JoinHandle<Option<BackendActivity>> {
    let monitor = monitor.clone();
    tokio::spawn(async move {
        let mut total: Option<BackendActivity> = None;
        while !done.load(Ordering::Relaxed) {
            let from = tokio::time::Instant::now();
            let Some(window) = monitor.sample_backends(from, from + Duration::from_millis(250)).await else {
                break;
            };
            let sum = total.get_or_insert_with(BackendActivity::default);
            sum.samples += window.samples;
            sum.busy += window.busy;
            for (what, n) in window.activities {
                *sum.activities.entry(what).or_default() += n;
            }
        }
        total
    })
}

/// Runs check pass `range` of `queries` on `threads` threads as a phase.
async fn check_phase(
    url: &str,
    threads: usize,
    index: Arc<SimilarityIndex>,
    queries: Arc<Vec<Query>>,
    range: std::ops::Range<usize>,
    monitor: &CpuMonitor,
) -> Result<(Phase, CheckTally)> {
    let name: &'static str = Box::leak(format!("dup check ×{threads}").into_boxed_str());
    eprintln!("  {name}: {} checks on {threads} threads…", range.len());
    let conns = {
        let url = url.to_owned();
        tokio::task::spawn_blocking(move || {
            (0..threads)
                .map(|_| PgConnection::establish(&url).context("a check connection"))
                .collect::<Result<Vec<_>>>()
        })
        .await??
    };
    let done = Arc::new(AtomicBool::new(false));
    let before = monitor.snapshot().await;
    let sampler = sample_until(monitor, done.clone());
    let count_sharing = threads == 1;
    let (tally, seconds, conns) =
        tokio::task::spawn_blocking(move || check_pass(conns, index, queries, range, count_sharing)).await??;
    // Before the connections close: a backend gone has no CPU time to read.
    let after = monitor.snapshot_again(&before).await;
    tokio::task::spawn_blocking(move || drop(conns)).await?;
    done.store(true, Ordering::Relaxed);
    let backends = sampler.await.context("the backend sampler panicked")?;
    let phase = Phase {
        rpc: name,
        callers: threads,
        seconds,
        latencies: tally.total.clone(),
        errors: tally.errors,
        error_messages: tally.error_messages.clone(),
        abandoned: 0,
        cpu: CpuSplit::between(&before, &after),
        backends,
        statements: None,
    };
    tokio::time::sleep(PAUSE_BETWEEN_PHASES).await;
    Ok((phase, tally))
}

/// What [`prewarm`] did.
struct Prewarmed {
    read_mb: f64,
    /// Relations also loaded into shared_buffers, and their megabytes.
    buffered: Vec<String>,
    buffered_mb: f64,
    shared_buffers_mb: f64,
    seconds: f64,
}

/// Reads the relations a check reads (cases and case_fingerprints with its
/// TOAST, the primary keys of those, the petitioner index
/// of cases) into the OS page cache, and the smallest of them into
/// shared_buffers as far as they fit in 80% of it, as a server running for
/// a while over them has them, if `pg_prewarm` is at hand.
fn prewarm(url: &str) -> Result<Option<Prewarmed>> {
    #[derive(QueryableByName)]
    struct Relation {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = BigInt)]
        blocks: i64,
    }
    let started = Instant::now();
    let mut conn = PgConnection::establish(url)?;
    if sql_query("CREATE EXTENSION IF NOT EXISTS pg_prewarm").execute(&mut conn).is_err() {
        return Ok(None);
    }
    let mut relations: Vec<Relation> = sql_query(
        "WITH toast AS (SELECT reltoastrelid AS oid FROM pg_class \
                        WHERE oid = 'case_fingerprints'::regclass AND reltoastrelid <> 0), \
              relations AS ( \
                  SELECT 'cases'::regclass::oid AS oid UNION SELECT 'case_fingerprints'::regclass::oid \
                  UNION SELECT oid FROM toast \
                  UNION SELECT indexrelid FROM pg_index WHERE indrelid IN (SELECT oid FROM toast) \
                  UNION SELECT indexrelid FROM pg_index WHERE indisprimary \
                      AND indrelid IN ('cases'::regclass, 'case_fingerprints'::regclass) \
                  UNION SELECT to_regclass('cases_petitioner_idx')::oid \
                      WHERE to_regclass('cases_petitioner_idx') IS NOT NULL) \
         SELECT c.oid::regclass::text AS name, \
                (pg_relation_size(c.oid) / current_setting('block_size')::bigint) AS blocks \
         FROM relations r JOIN pg_class c ON c.oid = r.oid",
    )
    .load(&mut conn)?;
    relations.sort_by_key(|r| r.blocks);
    let mut read = 0;
    for relation in &relations {
        read += sql_query("SELECT pg_prewarm($1::regclass, 'read') AS n")
            .bind::<Text, _>(&relation.name)
            .get_result::<Count>(&mut conn)?
            .n;
    }
    let shared_buffers: Count = sql_query("SELECT setting::bigint AS n FROM pg_settings WHERE name = 'shared_buffers'")
        .get_result(&mut conn)?;
    let block_size: Count = sql_query("SELECT current_setting('block_size')::bigint AS n").get_result(&mut conn)?;
    let room = shared_buffers.n * 8 / 10;
    let (mut buffered, mut names) = (0, Vec::new());
    for relation in &relations {
        if buffered + relation.blocks > room {
            break;
        }
        buffered += sql_query("SELECT pg_prewarm($1::regclass, 'buffer') AS n")
            .bind::<Text, _>(&relation.name)
            .get_result::<Count>(&mut conn)?
            .n;
        names.push(relation.name.clone());
    }
    let megabytes = |blocks: i64| (blocks * block_size.n) as f64 / 1_048_576.0;
    Ok(Some(Prewarmed {
        read_mb: megabytes(read),
        buffered: names,
        buffered_mb: megabytes(buffered),
        shared_buffers_mb: megabytes(shared_buffers.n),
        seconds: started.elapsed().as_secs_f64(),
    }))
}

/// Recomputes the fingerprints of `ids` from their stored texts as the
/// server would (with `index`) and counts those equal to the stored ones.
fn verify_fingerprints(url: &str, index: &SimilarityIndex, ids: &[Uuid]) -> Result<(usize, usize)> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        title: String,
        #[diesel(sql_type = Text)]
        content: String,
        #[diesel(sql_type = Text)]
        requests: String,
        #[diesel(sql_type = Text)]
        facts_and_reasons: String,
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        fingerprint: Vec<u8>,
    }
    let mut conn = PgConnection::establish(url)?;
    let rows: Vec<Row> = sql_query(
        "SELECT c.title, c.content, c.requests, c.facts_and_reasons, f.fingerprint \
         FROM cases c JOIN case_fingerprints f ON f.case_id = c.id WHERE c.id = ANY($1)",
    )
    .bind::<Array<diesel::sql_types::Uuid>, _>(ids)
    .load(&mut conn)?;
    let same = rows
        .iter()
        .filter(|r| {
            let text = filing_text(&r.title, &r.content, &r.requests, &r.facts_and_reasons);
            index.analyze(&text).analysis.fingerprint.encode() == r.fingerprint
        })
        .count();
    Ok((same, ids.len()))
}

/// What the archive's preload did.
struct Loaded {
    corpus: Corpus,
    preloaded: Preloaded,
    written: Written,
    version: i32,
    stats_documents: u64,
    stats_items: usize,
    fingerprint_mean_bytes: f64,
    generate_seconds: f64,
    stats_seconds: f64,
    fingerprint_seconds: f64,
    /// From the start of the SQL preload to its end (it runs meanwhile).
    sql_seconds: f64,
}

/// Generates the archive, stores it as cases, and stores its statistics,
/// fingerprints (see `archive.rs`).
fn preload_archive(url: &str, sources: Sources, count: usize, seed: u64) -> Result<Loaded> {
    let started = Instant::now();
    eprintln!("  generating {count} petitions on {} threads…", archive::cores());
    let corpus = archive::generate(count, seed);
    let texts = Arc::new(Texts::Given(archive::given_cases(&corpus, seed)));
    let generate_seconds = started.elapsed().as_secs_f64();
    eprintln!("  generated in {generate_seconds:.1}s; storing the cases (SQL) while fingerprinting…");
    let sql = {
        let (url, texts) = (url.to_owned(), texts.clone());
        std::thread::spawn(move || -> Result<(Preloaded, f64)> {
            let started = Instant::now();
            let mut conn = PgConnection::establish(&url).context("connecting to the server's database")?;
            let preloaded = preload::preload(&mut conn, &texts, &sources)?;
            Ok((preloaded, started.elapsed().as_secs_f64()))
        })
    };
    let Texts::Given(given) = &*texts else { bail!("the archive's texts are given") };
    let fingerprinter = Fingerprinter::default();
    let step = Instant::now();
    let stats = archive::count_stats(&given.cases, &fingerprinter);
    let stats_seconds = step.elapsed().as_secs_f64();
    eprintln!(
        "  statistics counted over {} cases in {stats_seconds:.1}s ({} items kept); fingerprinting…",
        stats.documents_counted(),
        stats.len()
    );
    let step = Instant::now();
    let stored: Vec<Stored> = archive::fingerprint_all(&given.cases, &fingerprinter, &stats);
    let fingerprint_seconds = step.elapsed().as_secs_f64();
    let fingerprint_mean_bytes =
        stored.iter().map(|s| s.encoded.len() as f64).sum::<f64>() / stored.len().max(1) as f64;
    eprintln!("  {} fingerprints made in {fingerprint_seconds:.1}s; waiting for the cases…", stored.len());
    let (preloaded, sql_seconds) = sql.join().map_err(|_| anyhow!("the SQL preload panicked"))??;
    drop(texts);
    let version = archive::store_stats(url, &stats)?;
    if version != 1 {
        bail!("the archive's statistics are version {version}, expected 1");
    }
    eprintln!("  writing fingerprints ({:.1}s so far)…", started.elapsed().as_secs_f64());
    let written = archive::write(url, &preloaded.ids, Arc::new(stored), version)?;
    Ok(Loaded {
        corpus,
        preloaded,
        written,
        version,
        stats_documents: stats.documents_counted(),
        stats_items: stats.len(),
        fingerprint_mean_bytes,
        generate_seconds,
        stats_seconds,
        fingerprint_seconds,
        sql_seconds,
    })
}

/// `config` with duplicate detection on or off.
fn with_detection(config: &Config, detection: bool) -> Config {
    let mut config = config.clone();
    config.intake.duplicate_detection = detection;
    config
}

/// A server restarted with detection on, once its band index is built.
struct Started {
    server: TestServer,
    bands_built: petition_server::similarity::BandsBuilt,
    /// From the start (`Application::build`) to a health check answered.
    port_seconds: f64,
    /// From the start to the band index built (in the background).
    built_seconds: f64,
}

/// Stops `server`, starts another with detection on and times its start-up.
async fn start_and_build(mut server: TestServer, config: &Config) -> Result<Started> {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let database = server.database.take().context("the server has no harness database")?;
    server.stop().await.context("stopping the server")?;
    let starting = Instant::now();
    let server = support::start_on(with_detection(config, true), database).await.context("restarting the server")?;
    let client = server.client().await?;
    HealthClient::new(client.channel().clone())
        .check(tonic::Request::new(HealthCheckRequest { service: String::new() }))
        .await
        .context("the health check after the restart")?;
    let port_seconds = starting.elapsed().as_secs_f64();
    let index = server.state.similarity.clone().context("detection is on")?;
    while !index.bands_complete() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let built_seconds = starting.elapsed().as_secs_f64();
    eprintln!(
        "restarted: the port answered after {port_seconds:.2}s, the band index was built after {built_seconds:.1}s"
    );
    Ok(Started { bands_built: index.bands_built(), server, port_seconds, built_seconds })
}

/// Writes every dirty page out, so that the SubmitCase rounds start a
/// checkpoint cycle of their own, not one the preload and the checks left
/// half done; the cycles after it fall on phases of both modes alike.
async fn checkpoint(url: &str) -> Result<()> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        sql_query("CHECKPOINT").execute(&mut PgConnection::establish(&url)?)?;
        anyhow::Ok(())
    })
    .await?
}

/// Where the WAL and the tables stood when a phase began.
struct SliceMark {
    wal_bytes: i64,
    /// Cases (and their fingerprints) created after it have greater ids
    /// (UUIDv7, made by servers on this machine's clock).
    boundary: Uuid,
    related_rows: i64,
}

/// WAL bytes since 0/0 and rows of `related_cases`, now.
fn wal_and_related(conn: &mut PgConnection) -> Result<(i64, i64)> {
    let wal: Count = sql_query("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS n").get_result(conn)?;
    let related: Count = sql_query("SELECT count(*) AS n FROM related_cases").get_result(conn)?;
    Ok((wal.n, related.n))
}

/// What was written since a [`SliceMark`].
struct SliceWrites {
    wal_bytes: i64,
    cases: i64,
    /// New fingerprints by statistics version.
    fingerprints: BTreeMap<i32, i64>,
    related_rows: i64,
}

impl SliceMark {
    async fn now(url: &str) -> Result<SliceMark> {
        let url = url.to_owned();
        tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&url)?;
            let boundary = Uuid::now_v7();
            let (wal_bytes, related_rows) = wal_and_related(&mut conn)?;
            anyhow::Ok(SliceMark { wal_bytes, boundary, related_rows })
        })
        .await?
    }

    /// Read by primary key ranges: a count of the whole tables before and
    /// after every short phase would read gigabytes between them.
    async fn written_since(&self, url: &str) -> Result<SliceWrites> {
        #[derive(QueryableByName)]
        struct Version {
            #[diesel(sql_type = Integer)]
            version: i32,
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let (url, boundary, wal_before, related_before) =
            (url.to_owned(), self.boundary, self.wal_bytes, self.related_rows);
        tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&url)?;
            let (wal_bytes, related_rows) = wal_and_related(&mut conn)?;
            let cases: Count = sql_query("SELECT count(*) AS n FROM cases WHERE id > $1")
                .bind::<diesel::sql_types::Uuid, _>(boundary)
                .get_result(&mut conn)?;
            let versions: Vec<Version> = sql_query(
                "SELECT stats_version AS version, count(*) AS n FROM case_fingerprints WHERE case_id > $1 GROUP BY 1",
            )
            .bind::<diesel::sql_types::Uuid, _>(boundary)
            .load(&mut conn)?;
            anyhow::Ok(SliceWrites {
                wal_bytes: wal_bytes - wal_before,
                cases: cases.n,
                fingerprints: versions.into_iter().map(|v| (v.version, v.n)).collect(),
                related_rows: related_rows - related_before,
            })
        })
        .await?
    }
}

/// Withdraws (the state only, in SQL) the open cases of `petitioners`.
async fn withdraw_open_cases(url: &str, petitioners: &[Uuid]) -> Result<usize> {
    let (url, petitioners) = (url.to_owned(), petitioners.to_vec());
    tokio::task::spawn_blocking(move || {
        // By the index of open cases (`case_state_is_open`).
        let withdrawn =
            sql_query("UPDATE cases SET state = $1 WHERE petitioner_id = ANY($2) AND case_state_is_open(state)")
                .bind::<diesel::sql_types::SmallInt, _>(CaseState::Withdrawn.as_i16())
                .bind::<Array<diesel::sql_types::Uuid>, _>(&petitioners)
                .execute(&mut PgConnection::establish(&url)?)?;
        anyhow::Ok(withdrawn)
    })
    .await?
}

/// Cases stored.
async fn count_cases(url: &str) -> Result<i64> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || {
        let cases: Count =
            sql_query("SELECT count(*) AS n FROM cases").get_result(&mut PgConnection::establish(&url)?)?;
        anyhow::Ok(cases.n)
    })
    .await?
}

/// Size of the fingerprint table.
async fn fingerprints_size(url: &str) -> Result<TableSize> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || preload::table_size(&mut PgConnection::establish(&url)?, "case_fingerprints"))
        .await?
}

/// What the SubmitCase phases of one detection mode did, over the rounds.
#[derive(Default)]
struct ModeTally {
    phases: Vec<Phase>,
    repeats: u64,
    wal_bytes: i64,
    filed: i64,
    /// New fingerprints by statistics version.
    fingerprints: BTreeMap<i32, i64>,
    related_rows: i64,
}

impl ModeTally {
    /// WAL bytes per case filed (warm-ups included).
    fn wal_per_filing(&self) -> Option<f64> {
        (self.filed > 0).then(|| self.wal_bytes as f64 / self.filed as f64)
    }
}

/// A SubmitCase phase filing `pool` from draft `next` on (advanced past
/// what it filed, so that the next phase of its mode goes on from there).
async fn submit_phase(
    rpc: &'static str,
    filers: &[Client],
    pool: &Arc<Vec<pb::CaseDraft>>,
    next: Arc<AtomicUsize>,
    load: &LoadArgs,
    monitor: &CpuMonitor,
) -> Result<(Phase, u64)> {
    let repeats = Arc::new(AtomicU64::new(0));
    let (filers, pool, counted) = (filers.to_vec(), pool.clone(), repeats.clone());
    let phase = run_phase(rpc, load.concurrency as usize, load, monitor, move |_caller| {
        // Draft i is filed by citizen i mod N in both phases.
        let i = next.fetch_add(1, Ordering::Relaxed);
        let client = filers[i % filers.len()].clone();
        let draft = pool[i % pool.len()].clone();
        let request = pb::SubmitCaseRequest { draft: Some(draft), request_id: new_request_id() };
        let repeats = counted.clone();
        async move {
            let (_, intake) = client.cases().submit_case_with_intake(request).await.map_err(|e| describe_sdk(&e))?;
            if intake.filing_kind == pb::FilingKind::Repeat as i32 {
                repeats.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        }
    })
    .await?;
    Ok((phase, repeats.load(Ordering::Relaxed)))
}

fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() { 0.0 } else { h.value_at_quantile(q) as f64 / 1000.0 }
}

fn megabytes(bytes: i64) -> f64 {
    bytes as f64 / 1_048_576.0
}

pub async fn dedup(args: DedupArgs) -> Result<ExitCode> {
    let load = args.load.clone();
    let round_seconds = args.round_seconds.unwrap_or((2 * load.seconds / u64::from(args.rounds)).max(1));
    // Both servers run throughout: a phase needs only a second to warm up.
    let round_warmup = load.warmup_seconds.min(1);
    let mut captured: Option<Config> = None;
    let (server, mut setup) = start_server("dedup", &load, |config| {
        config.intake.daily_filing_limit = 0;
        // Off while the template cases are filed: one citizen files them
        // all, from a small corpus, so some would be taken for repeats and
        // declined. On again from the restart after the preload.
        config.intake.duplicate_detection = false;
        support::sweep_as_deployed(config);
        captured = Some(config.clone());
    })
    .await?;
    let mut config = captured.context("the server's configuration")?;
    if let Some(size) = load.db_pool_size {
        config.database.pool_size = size;
    }
    setup.lines.push((
        "intake".into(),
        "duplicate detection ON (the server's default) but while the templates are filed (their texts are not \
         fingerprinted) and in the `detection off` phase; daily filing limit OFF (0), so no filing is counted or \
         refused"
            .to_owned(),
    ));
    let database = server.database.as_ref().context("the server has no harness database")?;
    let (database_url, database_name) = (database.url().to_owned(), database.name().to_owned());

    let filers_wanted = load.concurrency as usize;
    eprintln!("preparing: the directory, {filers_wanted} citizens, categories and the template cases through the API…");
    let preload_started = Instant::now();
    let world = CaseWorld::create(&server).await.context("creating the case world")?;
    let existing: Vec<String> =
        world.admin.taxonomy().list_categories(true).await?.into_iter().map(|c| c.code).collect();
    for category in CATEGORIES {
        if !existing.iter().any(|code| code == category.code()) {
            let request = pb::Category { code: category.code().into(), name: category.name().into(), retired: false };
            world.admin.taxonomy().create_category(request).await.context("creating a category")?;
        }
    }
    let anonymous = connect(&server, load.connections as usize).await?;
    let citizens = register_citizens(&anonymous[0], filers_wanted).await?;
    let templates = file_templates(&world).await.context("filing the template cases")?;
    let sources = cases::sources(&world, &citizens, templates).await?;
    let citizen_ids = sources.citizens.clone();
    let api_seconds = preload_started.elapsed().as_secs_f64();
    drop((world, anonymous));

    eprintln!("preloading {} generated petitions…", args.preload);
    let loaded = {
        let (url, count, seed) = (database_url.clone(), args.preload as usize, args.seed);
        tokio::task::spawn_blocking(move || preload_archive(&url, sources, count, seed)).await??
    };
    let preload_seconds = preload_started.elapsed().as_secs_f64();
    eprintln!("preloaded in {preload_seconds:.1}s; restarting the server so that it loads the statistics…");
    let started = start_and_build(server, &config).await?;
    let (server, bands_built) = (started.server, started.bands_built);
    let (port_seconds, built_seconds) = (started.port_seconds, started.built_seconds);

    let archive_kinds = archive::kinds(&loaded.corpus);
    let w = &loaded.written;
    setup.lines.extend(preload_lines(&loaded.preloaded, api_seconds, preload_seconds, citizens.len()));
    setup.lines.push((
        "archive".into(),
        format!(
            "{} generated petitions (seed {}; {}) by {} petitioners (accounts cloned in SQL): {}",
            loaded.corpus.filings.len(),
            args.seed,
            "petition_texts, archive mix",
            loaded.corpus.petitioners.len(),
            archive_kinds.iter().map(|(k, n)| format!("{} {n}", k.name())).collect::<Vec<_>>().join(", ")
        ),
    ));
    setup.lines.push((
        "similarity".into(),
        format!(
            "statistics version {} over {} cases ({} items kept), complete; {} fingerprints (mean {:.0} B \
             encoded)",
            loaded.version, loaded.stats_documents, loaded.stats_items, w.fingerprints, loaded.fingerprint_mean_bytes,
        ),
    ));
    setup.lines.push((
        "preload time".into(),
        format!(
            "{preload_seconds:.1}s in all: API set-up {api_seconds:.1}s; generating {:.1}s; then SQL cases + \
             events + VACUUM {:.1}s meanwhile statistics {:.1}s and fingerprints {:.1}s ({} threads); then \
             fingerprint rows {:.1}s{}, VACUUM (ANALYZE) + CHECKPOINT {:.1}s",
            loaded.generate_seconds,
            loaded.sql_seconds,
            loaded.stats_seconds,
            loaded.fingerprint_seconds,
            archive::cores(),
            w.fingerprints_seconds,
            if w.triggers_skipped { " (foreign-key triggers skipped)" } else { "" },
            w.vacuum_seconds,
        ),
    ));

    // What the checks and the filings use.
    let paths: Vec<String> = {
        let url = database_url.clone();
        let rows = tokio::task::spawn_blocking(move || {
            let mut conn = PgConnection::establish(&url)?;
            let rows: Vec<RegionPath> = sql_query("SELECT code, path FROM regions WHERE code = ANY($1)")
                .bind::<Array<Text>, _>(REGIONS.to_vec())
                .load(&mut conn)?;
            anyhow::Ok(rows)
        })
        .await??;
        REGIONS
            .iter()
            .map(|code| rows.iter().find(|r| r.code == *code).map(|r| r.path.clone()).context("a region's path"))
            .collect::<Result<_>>()?
    };
    let passes: Vec<usize> = args.check_threads.iter().map(|t| (*t as usize).max(1)).collect();
    let samples = args.check_samples as usize;
    let warmup = (samples / 10).clamp(1, MAX_WARMUP_CHECKS);
    let queries = Arc::new(check_queries(
        &loaded.corpus,
        &loaded.preloaded.people,
        &citizen_ids,
        &paths,
        2 * warmup + samples * passes.len(),
        args.seed.wrapping_add(0x00c4_ec4a),
    ));
    let pool = Arc::new(submit_pool(&loaded.corpus, SUBMIT_POOL, args.seed.wrapping_add(0x5b_3017)));
    let index = {
        let url = database_url.clone();
        Arc::new(
            tokio::task::spawn_blocking(move || {
                let mut conn = PgConnection::establish(&url)?;
                SimilarityIndex::load(&mut conn).map_err(|e| anyhow!("loading the similarity statistics: {e}"))
            })
            .await??,
        )
    };
    let versions = index.versions();
    if versions.newest().version != loaded.version || versions.live().len() != 1 {
        bail!(
            "the check would search under statistics versions {:?}, expected only {}",
            versions.live().iter().map(|v| v.version).collect::<Vec<_>>(),
            loaded.version
        );
    }
    let verified = {
        let (url, index) = (database_url.clone(), index.clone());
        let ids = &loaded.preloaded.ids;
        let sample: Vec<Uuid> = ids.iter().step_by((ids.len() / 100).max(1)).copied().collect();
        tokio::task::spawn_blocking(move || verify_fingerprints(&url, &index, &sample)).await??
    };
    if verified.0 != verified.1 {
        bail!(
            "only {} of {} stored fingerprints are what the server computes from the stored texts",
            verified.0,
            verified.1
        );
    }
    setup.lines.push((
        "verified".into(),
        format!(
            "{} of {} stored fingerprints (every {}th case) equal the server's analysis of the stored texts",
            verified.0,
            verified.1,
            (loaded.preloaded.ids.len() / 100).max(1)
        ),
    ));
    let preloaded = &loaded.preloaded;
    let corpus_len = loaded.corpus.filings.len();
    drop(loaded.corpus);

    let filing_citizens = args.filing_citizens as usize;
    eprintln!("registering and signing in {filing_citizens} filing citizens…");
    let signing_in = Instant::now();
    let anonymous = connect(&server, load.connections as usize).await?;
    let registered = register_citizens(&anonymous[0], filing_citizens).await?;
    let filer_ids: Vec<Uuid> = registered.iter().map(|(id, _)| *id).collect();
    let logins: Vec<String> = registered.into_iter().map(|(_, phone)| phone).collect();
    let filers = sign_in_filers(&anonymous, &logins).await?;
    // The detection-off phase files as the same citizens, after a restart.
    let tokens: Vec<String> =
        filers.iter().map(Client::access_token).collect::<Option<_>>().context("a filer without a token")?;
    setup.lines.push((
        "checks".into(),
        format!(
            "{} per pass on {} threads (a connection each), after {warmup} checks straight after the preload, the \
             relations a check reads put into the OS page cache (pg_prewarm 'read': cases, case_fingerprints and \
             its TOAST, the primary keys of those, cases_petitioner_idx) and the smallest of them \
             into shared_buffers as far as they fit in 80% of it (pg_prewarm 'buffer'), and {warmup} warm-up \
             checks; queries: \
             1/2 {}, 1/4 {}, 1/4 {}; statistics version {} loaded from the database as the server loads them",
            samples,
            passes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", then "),
            Class::Fresh.describe(),
            Class::Repeat.describe(),
            Class::Related.describe(),
            loaded.version,
        ),
    ));
    setup.lines.push((
        "filers".into(),
        format!(
            "SubmitCase as {} citizens (registered and signed in through the API in {:.1}s): \
             draft i filed by citizen i mod {}, a fresh request_id per call; {} drafts ({:.0}% another petitioner's \
             filing of a stored matter), the same ones in the same order, by the same citizens, in both modes; \
             {} round(s) of a detection-on and a detection-off phase (on-off, off-on, …) of {}s warm-up + {}s \
             measured each, through two servers (detection on, off) running throughout, one CHECKPOINT before \
             the rounds{}: ratios per round and their median; each mode's phases also reported as one",
            filers.len(),
            signing_in.elapsed().as_secs_f64(),
            filers.len(),
            SUBMIT_POOL,
            SUBMIT_RELATED * 100.0,
            args.rounds,
            round_warmup,
            round_seconds,
            if args.keep_open_cases {
                " (--keep-open-cases: the filers' cases stay open, so later phases meet more of them)"
            } else {
                "; the filers' open cases withdrawn in SQL before each phase, so each starts as the first did"
            },
        ),
    ));

    eprintln!("settling: the sweeper's passes and the metrics projection over the preload…");
    let settled = support::settle(&database_url, chrono::Utc::now(), 2).await?;
    setup.lines.push((
        "settled".into(),
        format!(
            "measured after the server caught up with the preload ({settled:.0} s: two sweeper passes, the \
             metrics projection at the newest event); the SubmitCase rounds start once the detection-off server, \
             started beside the first, has caught up too"
        ),
    ));
    let monitor = monitor_of(&server).await?;
    let (statements, line) = StatementWatch::open_described(&database_url).await?;
    setup.lines.push(("statements".into(), line));
    setup.print();
    eprintln!("measuring…");
    let mut phases = Vec::new();
    phases.push(health_phase(&anonymous, &load, &monitor).await?);

    // The first checks after the load, then the cache warmed, then more
    // warm-up checks: none of them counted.
    let first_checks = {
        let (url, index, queries) = (database_url.clone(), index.clone(), queries.clone());
        eprintln!("  {warmup} checks straight after the preload…");
        tokio::task::spawn_blocking(move || {
            let conn = PgConnection::establish(&url)?;
            check_pass(vec![conn], index, queries, 0..warmup, false)
        })
        .await??
        .0
    };
    eprintln!("  reading the checked relations into the OS page cache (pg_prewarm)…");
    let prewarmed = {
        let url = database_url.clone();
        tokio::task::spawn_blocking(move || prewarm(&url)).await??
    };
    {
        let (url, index, queries) = (database_url.clone(), index.clone(), queries.clone());
        eprintln!("  warming up: {warmup} checks…");
        tokio::task::spawn_blocking(move || {
            let conn = PgConnection::establish(&url)?;
            check_pass(vec![conn], index, queries, warmup..2 * warmup, false)
        })
        .await??;
    }
    let mut checks = Vec::new();
    for (pass, threads) in passes.iter().enumerate() {
        let range = 2 * warmup + pass * samples..2 * warmup + (pass + 1) * samples;
        let (phase, tally) =
            check_phase(&database_url, *threads, index.clone(), queries.clone(), range, &monitor).await?;
        phases.push(phase);
        checks.push((*threads, tally));
    }

    let pgbench_result = if args.no_pgbench {
        Err(anyhow!("skipped (--no-pgbench)"))
    } else {
        pgbench::phase(&database_url, &database_name, load.seconds).await?
    };

    // Both modes file the same drafts in the same order, each going on
    // where its previous phase stopped, each through a server of its own:
    // both run throughout, so that neither mode's phases follow a restart
    // and the two share the machine's drifts.
    eprintln!("  starting a second server, with detection off, beside the first…");
    let beside = chrono::Utc::now();
    let off_server = support::start_beside(with_detection(&config, false)).await.context("starting a second server")?;
    support::settle(&database_url, beside, 1).await?;
    let off_anonymous = connect(&off_server, load.connections as usize).await?;
    let off_filers = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| off_anonymous[i % off_anonymous.len()].with_access_token(token))
        .collect::<Result<Vec<_>, _>>()?;
    let (mut on, mut off) = (ModeTally::default(), ModeTally::default());
    let round_load = LoadArgs { seconds: round_seconds, warmup_seconds: round_warmup, ..load.clone() };
    let watching = monitor.with_statements(statements.as_ref());
    let (on_next, off_next) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    checkpoint(&database_url).await?;
    for round in 0..args.rounds {
        let modes = if round % 2 == 0 { [true, false] } else { [false, true] };
        for mode in modes {
            let (rpc, filers, next, tally) = if mode {
                (SUBMIT_ON, &filers, &on_next, &mut on)
            } else {
                (SUBMIT_OFF, &off_filers, &off_next, &mut off)
            };
            if !args.keep_open_cases {
                withdraw_open_cases(&database_url, &filer_ids).await?;
            }
            let before = SliceMark::now(&database_url).await?;
            let (phase, repeats) = submit_phase(rpc, filers, &pool, next.clone(), &round_load, &watching).await?;
            let written = before.written_since(&database_url).await?;
            tally.phases.push(phase);
            tally.repeats += repeats;
            tally.wal_bytes += written.wal_bytes;
            tally.filed += written.cases;
            for (version, n) in written.fingerprints {
                *tally.fingerprints.entry(version).or_default() += n;
            }
            tally.related_rows += written.related_rows;
        }
    }
    let wal_on = on.wal_per_filing();
    let wal_off = off.wal_per_filing();
    let on_repeats = on.repeats;
    let new_by_version: BTreeMap<i32, i64> =
        on.fingerprints.iter().filter(|(_, n)| **n != 0).map(|(v, n)| (*v, *n)).collect();
    let fingerprinted_off: i64 = off.fingerprints.values().sum();
    let related_rows = on.related_rows;
    let pairs = rounds::pairs(&on.phases, &off.phases);
    for tally in [on, off] {
        if let Some(phase) = Phase::merged(tally.phases)? {
            phases.push(phase);
        }
    }

    let cases_now = count_cases(&database_url).await?;
    let fingerprints_size = fingerprints_size(&database_url).await?;
    drop((anonymous, filers, off_anonymous, off_filers, monitor, watching, statements));
    if let Err(error) = off_server.stop().await {
        eprintln!("warning: the detection-off server did not stop cleanly: {error:#}");
    }
    stop_server(server, args.keep_database).await;

    // Notes.
    let mut notes = Vec::new();
    notes.push(format!(
        "first {} checks straight after the preload (1 thread, before the cache was warmed): p50 {:.2} p90 {:.2} p99 \
         {:.2} max {:.2} ms; then {}",
        first_checks.total.len(),
        quantile_ms(&first_checks.total, 0.5),
        quantile_ms(&first_checks.total, 0.9),
        quantile_ms(&first_checks.total, 0.99),
        if first_checks.total.is_empty() { 0.0 } else { first_checks.total.max() as f64 / 1000.0 },
        match &prewarmed {
            Some(p) => format!(
                "pg_prewarm read {:.0} MB into the OS page cache and {:.0} MB into shared_buffers ({:.0} MB: {}) in \
                 {:.1}s",
                p.read_mb,
                p.buffered_mb,
                p.shared_buffers_mb,
                if p.buffered.is_empty() { "none fits".to_owned() } else { p.buffered.join(", ") },
                p.seconds
            ),
            None => "NOT prewarmed (no pg_prewarm extension)".to_owned(),
        }
    ));
    for (threads, tally) in &checks {
        let ms = |h: &Histogram<u64>| {
            format!(
                "p50 {:.2} p90 {:.2} p99 {:.2} max {:.2} ms",
                quantile_ms(h, 0.5),
                quantile_ms(h, 0.9),
                quantile_ms(h, 0.99),
                if h.is_empty() { 0.0 } else { h.max() as f64 / 1000.0 }
            )
        };
        notes.push(format!(
            "dup check ×{threads}: analyze (fingerprint, in Rust) {}; find_matches + decide (SQL, re-ranking) {}",
            ms(&tally.analyze),
            ms(&tally.search)
        ));
        let spread = |h: &Histogram<u64>| {
            format!(
                "mean {:.1} p50 {} p99 {} max {}",
                h.mean(),
                h.value_at_quantile(0.5),
                h.value_at_quantile(0.99),
                h.max()
            )
        };
        notes.push(format!(
            "dup check ×{threads}: matches kept per check (close enough to decide on) {}{}",
            spread(&tally.kept),
            if tally.scored.is_empty() {
                String::new()
            } else {
                format!(
                    "; counted outside the timing: candidates scored (band candidates, at most {} of the newest {} \
                     per key scoring at least {}{}, and the petitioner's open cases) {}, cases sharing a band key \
                     (uncapped) {}",
                    Reach::FILING.band_candidates,
                    Reach::FILING.cases_per_key,
                    Reach::FILING.min_score,
                    if Reach::FILING.keepable_only { " whose specifics can reach a threshold" } else { "" },
                    spread(&tally.scored),
                    spread(&tally.sharing)
                )
            }
        ));
        for (class, t) in &tally.classes {
            notes.push(format!(
                "dup check ×{threads}: {} ×{}: decided repeat {} ({:.1}%, escalated {}), with related cases {} \
                 ({:.1}%, {} links), {:.1} matches kept per check",
                class.describe(),
                t.queries,
                t.repeat,
                t.repeat as f64 * 100.0 / t.queries.max(1) as f64,
                t.escalated,
                t.related,
                t.related as f64 * 100.0 / t.queries.max(1) as f64,
                t.related_links,
                t.kept as f64 / t.queries.max(1) as f64
            ));
        }
    }
    notes.push(pgbench_line(&pgbench_result, "between the duplicate checks and the SubmitCase phases"));
    let on_off = ratio(&phases, SUBMIT_ON, SUBMIT_OFF);
    notes.extend(rounds::lines(&pairs));
    let rate_spread = Spread::of(pairs.iter().filter_map(Pair::rate_ratio));
    if let Some(spread) = rate_spread {
        notes.push(format!(
            "SubmitCase throughput with detection on / off: {}{} (target ≥ {:.0}%: {} by the median)",
            spread.percent(),
            on_off.map_or(String::new(), |r| format!("; all rounds pooled {:.1}%", r * 100.0)),
            TARGET_ON_OFF * 100.0,
            if spread.median >= TARGET_ON_OFF { "met" } else { "NOT MET" }
        ));
    }
    // The cost per filing is steadier than the throughput ratio (the off
    // phase waits on the numbering lock, so its rate swings); the load
    // generator's share is left out: it does the same work in both modes.
    let cost_spread = Spread::of(pairs.iter().filter_map(Pair::cost_ratio));
    let pooled_cost = |rpc: &str| phases.iter().find(|p| p.rpc == rpc).and_then(Budget::of)?.server_and_postgres();
    if let (Some(spread), Some(on), Some(off)) = (cost_spread, pooled_cost(SUBMIT_ON), pooled_cost(SUBMIT_OFF)) {
        notes.push(format!(
            "SubmitCase CPU per filing, server + PostgreSQL backends (the primary cost figure): detection on {on:.3} \
             core-ms, off {off:.3} (all rounds pooled); off / on {}",
            spread.percent()
        ));
    }
    if let (Some(on), Some(off)) = (wal_on, wal_off) {
        notes.push(format!(
            "SubmitCase WAL per filing (warm-up included): detection on {:.1} KB, off {:.1} KB",
            on / 1024.0,
            off / 1024.0
        ));
    }
    let p99s: Vec<(usize, f64)> =
        checks.iter().map(|(threads, tally)| (*threads, quantile_ms(&tally.total, 0.99))).collect();
    notes.push(format!(
        "duplicate check p99 over {} stored cases: {} (target ≤ {TARGET_CHECK_P99_MS} ms: {})",
        cases_now,
        p99s.iter().map(|(t, p)| format!("{p:.2} ms ×{t}")).collect::<Vec<_>>().join(", "),
        if p99s.iter().all(|(_, p)| *p <= TARGET_CHECK_P99_MS) { "met" } else { "NOT MET" }
    ));
    notes.push(format!(
        "{SUBMIT_ON}: {on_repeats} filings decided REPEAT; {} related_cases rows recorded; new fingerprints by \
         statistics version: {}",
        related_rows,
        if new_by_version.is_empty() {
            "none".to_owned()
        } else {
            new_by_version.iter().map(|(v, n)| format!("v{v} {n}")).collect::<Vec<_>>().join(", ")
        }
    ));
    notes.push(format!("{SUBMIT_OFF}: {fingerprinted_off} fingerprints stored (0 expected)"));
    let per_case = |bytes: i64| bytes as f64 / cases_now.max(1) as f64;
    let size = |s: &TableSize| {
        format!(
            "{:.1} MB (heap {:.1}, TOAST {:.1}, indexes {:.1})",
            megabytes(s.total),
            megabytes(s.heap),
            megabytes(s.toast),
            megabytes(s.indexes)
        )
    };
    notes.push(format!(
        "storage of duplicate detection over {cases_now} cases: case_fingerprints {}, {:.0} bytes per case; cases + \
         events per case at preload {:.0} bytes",
        size(&fingerprints_size),
        per_case(fingerprints_size.total),
        (preloaded.cases_size.total + preloaded.events_size.total) as f64 / preloaded.cases.max(1) as f64
    ));
    let built = &bands_built.footprint;
    notes.push(format!(
        "the server's band index (memory) after the preload: {} cases, {} keys, {} entries, {:.1} MB ({:.0} bytes \
         per case); built in {:.1}s in the background after start (the port answered {port_seconds:.2}s after \
         start, the index was complete {built_seconds:.1}s after); {} fingerprints of another layout, {} unreadable",
        built.cases,
        built.keys,
        built.entries,
        megabytes(built.bytes as i64),
        built.bytes as f64 / built.cases.max(1) as f64,
        bands_built.elapsed.as_secs_f64(),
        bands_built.other_layout,
        bands_built.unreadable,
    ));
    print_results(&setup, &phases, &notes);

    if load.json {
        let round = |x: f64| (x * 100.0).round() / 100.0;
        let mut json = setup.json(&phases);
        json.insert(
            "preload".into(),
            serde_json::json!({
                "cases": preloaded.cases,
                "generated": corpus_len,
                "petitioners": preloaded.people.len(),
                "events": preloaded.events,
                "kinds": archive_kinds.iter().map(|(k, n)| (k.name().to_owned(), serde_json::json!(n)))
                    .collect::<serde_json::Map<_, _>>(),
                "seed": args.seed,
                "seconds_total": round(preload_seconds),
                "seconds_api": round(api_seconds),
                "seconds_generate": round(loaded.generate_seconds),
                "seconds_sql_cases": round(loaded.sql_seconds),
                "seconds_statistics": round(loaded.stats_seconds),
                "seconds_fingerprints": round(loaded.fingerprint_seconds),
                "seconds_fingerprint_rows": round(w.fingerprints_seconds),
                "seconds_vacuum_checkpoint": round(w.vacuum_seconds),
                "statistics_version": loaded.version,
                "statistics_items": loaded.stats_items,
                "cases_bytes": preloaded.cases_size.total,
                "events_bytes": preloaded.events_size.total,
            }),
        );
        json.insert(
            "checks".into(),
            serde_json::Value::Array(
                checks
                    .iter()
                    .map(|(threads, t)| {
                        serde_json::json!({
                            "threads": threads,
                            "samples": t.total.len(),
                            "errors": t.errors,
                            "p50_ms": round(quantile_ms(&t.total, 0.5)),
                            "p90_ms": round(quantile_ms(&t.total, 0.9)),
                            "p99_ms": round(quantile_ms(&t.total, 0.99)),
                            "max_ms": round(if t.total.is_empty() { 0.0 } else { t.total.max() as f64 / 1000.0 }),
                            "analyze_p50_ms": round(quantile_ms(&t.analyze, 0.5)),
                            "analyze_p99_ms": round(quantile_ms(&t.analyze, 0.99)),
                            "search_p50_ms": round(quantile_ms(&t.search, 0.5)),
                            "search_p99_ms": round(quantile_ms(&t.search, 0.99)),
                            "kept_mean": round(t.kept.mean()),
                            "kept_p99": t.kept.value_at_quantile(0.99),
                            "scored_mean": (!t.scored.is_empty()).then(|| round(t.scored.mean())),
                            "scored_p99": (!t.scored.is_empty()).then(|| t.scored.value_at_quantile(0.99)),
                            "sharing_mean": (!t.sharing.is_empty()).then(|| round(t.sharing.mean())),
                            "sharing_p99": (!t.sharing.is_empty()).then(|| t.sharing.value_at_quantile(0.99)),
                            "classes": t.classes.iter().map(|(c, x)| (format!("{c:?}").to_lowercase(), serde_json::json!({
                                "queries": x.queries, "repeat": x.repeat, "escalated": x.escalated,
                                "with_related": x.related, "related_links": x.related_links,
                            }))).collect::<serde_json::Map<_, _>>(),
                        })
                    })
                    .collect(),
            ),
        );
        json.insert(
            "first_checks".into(),
            serde_json::json!({
                "samples": first_checks.total.len(),
                "p50_ms": round(quantile_ms(&first_checks.total, 0.5)),
                "p99_ms": round(quantile_ms(&first_checks.total, 0.99)),
                "prewarmed_os_cache_mb": prewarmed.as_ref().map(|p| round(p.read_mb)),
                "prewarmed_shared_buffers_mb": prewarmed.as_ref().map(|p| round(p.buffered_mb)),
                "shared_buffers_mb": prewarmed.as_ref().map(|p| round(p.shared_buffers_mb)),
            }),
        );
        json.insert("verified_fingerprints".into(), serde_json::json!({"equal": verified.0, "sampled": verified.1}));
        json.insert("on_off_ratio".into(), on_off.map(round).into());
        json.insert("on_off_ratio_median".into(), rate_spread.map(|s| round(s.median)).into());
        json.insert(
            "cpu_off_on_ratio_median".into(),
            cost_spread.map(|s| (s.median * 10_000.0).round() / 10_000.0).into(),
        );
        json.insert("rounds".into(), rounds::json(&pairs));
        json.insert(
            "storage".into(),
            serde_json::json!({
                "cases": cases_now,
                "case_fingerprints_bytes": fingerprints_size.total,
                "case_fingerprints_toast_bytes": fingerprints_size.toast,
                "case_fingerprints_index_bytes": fingerprints_size.indexes,
                "bytes_per_case": round(per_case(fingerprints_size.total)),
                "band_index": {
                    "cases": built.cases,
                    "keys": built.keys,
                    "entries": built.entries,
                    "bytes": built.bytes,
                    "build_seconds": round(bands_built.elapsed.as_secs_f64()),
                    "port_seconds": round(port_seconds),
                    "built_after_start_seconds": round(built_seconds),
                },
            }),
        );
        json.insert(
            "submitcase".into(),
            serde_json::json!({
                "on_repeats": on_repeats,
                "on_related_rows": related_rows,
                "on_new_fingerprints_by_version": new_by_version.iter().map(|(v, n)| (v.to_string(), serde_json::json!(n)))
                    .collect::<serde_json::Map<_, _>>(),
                "off_new_fingerprints": fingerprinted_off,
                "wal_bytes_per_filing_on": wal_on.map(round),
                "wal_bytes_per_filing_off": wal_off.map(round),
            }),
        );
        json.insert(
            "pgbench".into(),
            match &pgbench_result {
                Ok(p) => serde_json::json!({"tps": round(p.tps), "latency_ms": p.latency_ms}),
                Err(error) => serde_json::json!({"error": format!("{error:#}")}),
            },
        );
        println!("{}", serde_json::Value::Object(json));
    }
    Ok(exit_status(&phases))
}
