//! The archive of `bench dedup`: generated petitions, the document-frequency
//! statistics counted over them, and every case's fingerprint, computed in
//! Rust and written in big batches.
//!
//! - The petitions come from the shared generator
//!   ([`petition_tests::petition_texts`]) in the archive mix (mostly
//!   distinct matters, a few percent of planted repeats and related
//!   filings), in chunks of [`CHUNK`] filings of seeds derived from one
//!   seed, chunk after chunk in filing order, generated on every core.
//! - The statistics are counted exactly as `reindex-similarity` counts them
//!   (`cases::reindex::count`): every case's `filing_text` fingerprinted
//!   without statistics, its distinct shingles and specifics counted, the
//!   items too rare to store pruned as `reindex-similarity` prunes them.
//! - Fingerprints are then made with those statistics, as the server makes
//!   them for a filing (`SimilarityIndex::analyze`), on every core.
//! - They are written in multi-row INSERTs from arrays (`unnest`), with the
//!   foreign-key triggers skipped (`session_replication_role = replica`,
//!   when the user may: every case exists). The band index is the server's,
//!   in memory: it builds it from them at start.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use diesel::sql_types::{Array, Bytea, Integer};
use diesel::{Connection, PgConnection, RunQueryDsl, sql_query};
use petition_server::cases::intake::filing_text;
use petition_server::similarity::store as similarity_store;
use petition_server::similarity::{DocFreqTable, Fingerprinter, NoStats, ShingleStats};
use petition_tests::petition_texts::{self, Category, Corpus, Kind, Mix};
use uuid::Uuid;

use crate::preload::{GivenCase, GivenTexts};

/// Filings generated per seed.
pub const CHUNK: usize = 10_000;
/// Fingerprint rows per INSERT.
const FINGERPRINT_BATCH: usize = 2_000;

/// Threads for CPU-bound work: every core.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).max(1)
}

/// `f(i)` for every `i` in `0..n`, on [`cores`] threads, in order.
fn parallel<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = cores().min(n.max(1));
    let mut parts: Vec<Vec<(usize, T)>> = std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .map(|t| scope.spawn(move || (t..n).step_by(threads).map(|i| (i, f(i))).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    let mut all: Vec<(usize, T)> = parts.iter_mut().flat_map(std::mem::take).collect();
    all.sort_unstable_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, value)| value).collect()
}

/// The seed of chunk `chunk` of the archive of `seed`.
fn chunk_seed(seed: u64, chunk: usize) -> u64 {
    seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(chunk as u64 + 1)
}

/// `n` filings in the archive mix.
pub fn generate(n: usize, seed: u64) -> Corpus {
    let chunks = n.div_ceil(CHUNK);
    let parts = parallel(chunks, |c| {
        petition_texts::generate_with(CHUNK.min(n - c * CHUNK), chunk_seed(seed, c), &Mix::ARCHIVE)
    });
    let mut corpus = Corpus::new();
    for part in parts {
        corpus.append(part);
    }
    corpus
}

/// The region group (of the benchmark's three) where a district's matters arise.
pub fn region_of(district: usize) -> usize {
    district % 3
}

/// `petition.v1.CaseKind` of a filing in `category`: accusations (检举控告)
/// of officials, else claims and, one in five, suggestions.
pub fn kind_of(category: Category, filing: usize) -> i16 {
    match category {
        Category::Discipline => 2,
        _ if filing % 5 == 4 => 1,
        _ => 3,
    }
}

/// The cases of the archive: each filing's text as content, its matter's
/// title and its petitioner's requests.
pub fn given_cases(corpus: &Corpus, seed: u64) -> GivenTexts {
    let cases = parallel(corpus.filings.len().div_ceil(CHUNK), |c| {
        let mut rng = petition_texts::Rng::new(chunk_seed(seed ^ 0x7265_7175_6573_7473, c));
        let end = ((c + 1) * CHUNK).min(corpus.filings.len());
        (c * CHUNK..end)
            .map(|i| {
                let f = &corpus.filings[i];
                let m = &corpus.matters[f.matter];
                GivenCase {
                    region: region_of(m.district),
                    petitioner: f.petitioner,
                    category_code: m.category.code(),
                    kind: kind_of(m.category, i),
                    title: m.title(),
                    content: f.text.clone(),
                    requests: m.requests(&corpus.petitioners[f.petitioner], &mut rng),
                }
            })
            .collect::<Vec<_>>()
    });
    GivenTexts { cases: cases.into_iter().flatten().collect(), petitioners: corpus.petitioners.len() }
}

/// What a case's filing is fingerprinted from (`engine::file`).
pub fn text_of(case: &GivenCase) -> String {
    filing_text(&case.title, &case.content, &case.requests, "")
}

/// Document frequencies over `cases`, as `cases::reindex::count` counts them.
pub fn count_stats(cases: &[GivenCase], fingerprinter: &Fingerprinter) -> DocFreqTable {
    let per_core = cases.len().div_ceil(cores()).max(1);
    let tables = parallel(cases.len().div_ceil(per_core), |part| {
        let mut table = DocFreqTable::new();
        for case in &cases[part * per_core..((part + 1) * per_core).min(cases.len())] {
            let f = fingerprinter.fingerprint(&text_of(case), &NoStats);
            table.add_document(f.shingles.iter().chain(&f.specifics).copied());
        }
        table
    });
    let mut tables = tables.into_iter();
    let mut table = tables.next().unwrap_or_default();
    for other in tables {
        for (item, df) in other.iter() {
            let sum = table.doc_freq(item) + u64::from(df);
            table.set(item, u32::try_from(sum).unwrap_or(u32::MAX));
        }
        table.set_documents(table.documents_counted() + other.documents_counted());
    }
    petition_server::cases::reindex::prune_rare(&mut table);
    table
}

/// A case's fingerprint as stored: the encoded bytes and the distinct band keys.
pub struct Stored {
    pub encoded: Vec<u8>,
}

/// Every case's fingerprint under `stats`.
pub fn fingerprint_all(cases: &[GivenCase], fingerprinter: &Fingerprinter, stats: &DocFreqTable) -> Vec<Stored> {
    let per_part = CHUNK;
    let parts = parallel(cases.len().div_ceil(per_part), |part| {
        cases[part * per_part..((part + 1) * per_part).min(cases.len())]
            .iter()
            .map(|case| Stored { encoded: fingerprinter.fingerprint(&text_of(case), stats).encode() })
            .collect::<Vec<_>>()
    });
    parts.into_iter().flatten().collect()
}

/// How long the writing took.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    pub fingerprints: u64,
    pub fingerprints_seconds: f64,
    pub vacuum_seconds: f64,
    /// Foreign-key triggers were skipped (`session_replication_role = replica`).
    pub triggers_skipped: bool,
}

/// A connection for bulk writing: no waiting for the WAL flush at commit,
/// foreign-key triggers off if this user may.
fn bulk_connection(url: &str) -> Result<(PgConnection, bool)> {
    let mut conn = PgConnection::establish(url).context("connecting to the server's database")?;
    sql_query("SET synchronous_commit = off").execute(&mut conn)?;
    let replica = sql_query("SET session_replication_role = replica").execute(&mut conn).is_ok();
    Ok((conn, replica))
}

fn write_fingerprints(conn: &mut PgConnection, ids: &[Uuid], stored: &[Stored], version: i32) -> Result<f64> {
    let started = Instant::now();
    for (batch, rows) in stored.chunks(FINGERPRINT_BATCH).enumerate() {
        let first = batch * FINGERPRINT_BATCH;
        let case_ids = &ids[first..first + rows.len()];
        let bytes: Vec<&[u8]> = rows.iter().map(|s| s.encoded.as_slice()).collect();
        sql_query(
            "INSERT INTO case_fingerprints (case_id, stats_version, fingerprint) \
             SELECT id, $2, fp FROM unnest($1::uuid[], $3::bytea[]) AS u(id, fp)",
        )
        .bind::<Array<diesel::sql_types::Uuid>, _>(case_ids)
        .bind::<Integer, _>(version)
        .bind::<Array<Bytea>, _>(bytes)
        .execute(conn)
        .context("inserting fingerprints")?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Stores the statistics as the first version (complete: every case is
/// fingerprinted with them) and returns its number.
pub fn store_stats(url: &str, stats: &DocFreqTable) -> Result<i32> {
    let mut conn = PgConnection::establish(url).context("connecting to the server's database")?;
    conn.transaction(|conn| -> Result<i32> {
        let version = similarity_store::save_stats(conn, stats).map_err(|e| anyhow!("saving the statistics: {e}"))?;
        similarity_store::complete_stats(conn, version).map_err(|e| anyhow!("completing the statistics: {e}"))?;
        Ok(version)
    })
}

/// Writes every case's fingerprint (made with statistics `version`);
/// `ids[i]` is the case of `stored[i]`.
pub fn write(url: &str, ids: &[Uuid], stored: Arc<Vec<Stored>>, version: i32) -> Result<Written> {
    if ids.len() != stored.len() {
        bail!("{} cases but {} fingerprints", ids.len(), stored.len());
    }
    let (mut conn, triggers_skipped) = bulk_connection(url)?;
    let fingerprints_seconds = write_fingerprints(&mut conn, ids, &stored, version)?;
    eprintln!("  VACUUM (ANALYZE) of the similarity tables, CHECKPOINT…");
    let started = Instant::now();
    sql_query("VACUUM (ANALYZE) case_fingerprints, similarity_stats").execute(&mut conn)?;
    sql_query("CHECKPOINT").execute(&mut conn)?;
    let vacuum_seconds = started.elapsed().as_secs_f64();
    Ok(Written { fingerprints: stored.len() as u64, fingerprints_seconds, vacuum_seconds, triggers_skipped })
}

/// Kinds of the archive's filings, most frequent first.
pub fn kinds(corpus: &Corpus) -> Vec<(Kind, usize)> {
    let mut counts: std::collections::HashMap<Kind, usize> = std::collections::HashMap::new();
    for f in &corpus.filings {
        *counts.entry(f.kind).or_default() += 1;
    }
    let mut counts: Vec<(Kind, usize)> = counts.into_iter().collect();
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_make_one_corpus_in_order() {
        let corpus = generate(CHUNK + 500, 3);
        assert_eq!(corpus.filings.len(), CHUNK + 500);
        let again = generate(CHUNK + 500, 3);
        assert!(corpus.filings.iter().zip(&again.filings).all(|(a, b)| a.text == b.text));
        for (i, f) in corpus.filings.iter().enumerate() {
            if let Some(s) = f.source {
                assert!(s < i && corpus.filings[s].matter == f.matter);
            }
        }
    }

    #[test]
    fn parallel_keeps_the_order() {
        assert_eq!(parallel(10, |i| i * 2), (0..10).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn statistics_count_every_case_once() {
        let corpus = generate(300, 5);
        let given = given_cases(&corpus, 5);
        let fingerprinter = Fingerprinter::default();
        let stats = count_stats(&given.cases, &fingerprinter);
        assert_eq!(stats.documents_counted(), 300);
        let mut alone = DocFreqTable::new();
        for case in &given.cases {
            let f = fingerprinter.fingerprint(&text_of(case), &NoStats);
            alone.add_document(f.shingles.iter().chain(&f.specifics).copied());
        }
        alone.prune(2);
        assert_eq!(stats.encode(), alone.encode());
    }
}
