//! `petition-server reindex-similarity`: rebuilds the document-frequency
//! statistics of duplicate detection from the stored cases and re-keys
//! every case's fingerprint to them (see `similarity::index`).
//!
//! Run it after a bulk import and whenever the corpus has grown a lot
//! (doubled, say): the boilerplate cutoff and the IDF weights come from
//! these statistics. Filing goes on meanwhile; queries search under both
//! the old and the new version until every fingerprint is re-keyed.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use uuid::Uuid;

use super::intake::filing_text;
use crate::db::Db;
use crate::error::AppError;
use crate::schema::{case_fingerprints, cases};
use crate::similarity::index::RELOAD_EVERY;
use crate::similarity::store as similarity_store;
use crate::similarity::{DocFreqTable, Fingerprinter, NoStats};

/// Cases read or re-keyed per transaction.
const BATCH: i64 = 1000;

/// What a reindex did.
#[derive(Debug, Clone)]
pub struct Report {
    pub version: i32,
    pub documents: u64,
    pub common_items: usize,
    pub rekeyed: u64,
    pub elapsed: Duration,
}

/// Items seen in fewer documents than this share are left out of the
/// stored table: unknown items count as rarest, which they nearly are.
const MIN_DF_RATIO: f64 = 1e-4;

/// The text of a stored case that is fingerprinted.
#[derive(Queryable, Selectable)]
#[diesel(table_name = cases, check_for_backend(diesel::pg::Pg))]
struct CaseText {
    id: Uuid,
    title: String,
    content: String,
    requests: String,
    facts_and_reasons: String,
}

impl CaseText {
    fn text(&self) -> String {
        filing_text(&self.title, &self.content, &self.requests, &self.facts_and_reasons)
    }
}

fn texts_after(conn: &mut PgConnection, after: Option<Uuid>) -> Result<Vec<CaseText>, AppError> {
    let mut query = cases::table.select(CaseText::as_select()).order(cases::id).limit(BATCH).into_boxed();
    if let Some(after) = after {
        query = query.filter(cases::id.gt(after));
    }
    Ok(query.load(conn)?)
}

/// Counts document frequencies over every stored case.
pub fn count(conn: &mut PgConnection, fingerprinter: &Fingerprinter) -> Result<DocFreqTable, AppError> {
    let mut table = DocFreqTable::new();
    let mut after = None;
    loop {
        let rows = texts_after(conn, after)?;
        let Some(last) = rows.last() else { break };
        after = Some(last.id);
        for row in &rows {
            let f = fingerprinter.fingerprint(&row.text(), &NoStats);
            table.add_document(f.shingles.iter().chain(&f.specifics).copied());
        }
    }
    prune_rare(&mut table);
    Ok(table)
}

/// Drops the items too rare to store (below [`MIN_DF_RATIO`] of the
/// documents, and seen once).
pub fn prune_rare(table: &mut DocFreqTable) {
    let min_df = ((table.documents_counted() as f64 * MIN_DF_RATIO).ceil() as u32).max(2);
    table.prune(min_df);
}

/// Re-keys the cases of one batch after `after`, in key order, whose
/// fingerprint is missing or of an older version than `version`; returns
/// the last case of the batch (`None`: none was left) and how many were
/// re-keyed.
fn rekey_batch(
    conn: &mut PgConnection,
    fingerprinter: &Fingerprinter,
    version: i32,
    table: &DocFreqTable,
    after: Option<Uuid>,
) -> Result<(Option<Uuid>, u64), AppError> {
    let mut query = cases::table
        .left_join(case_fingerprints::table.on(case_fingerprints::case_id.eq(cases::id)))
        .select((CaseText::as_select(), case_fingerprints::stats_version.nullable()))
        .order(cases::id)
        .limit(BATCH)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(cases::id.gt(after));
    }
    let rows: Vec<(CaseText, Option<i32>)> = query.load(conn)?;
    let mut rekeyed = 0;
    for (row, _) in rows.iter().filter(|(_, stored)| stored.is_none_or(|stored| stored < version)) {
        let fingerprint = fingerprinter.fingerprint(&row.text(), table);
        similarity_store::replace_fingerprint(conn, row.id, version, &fingerprint)?;
        rekeyed += 1;
    }
    Ok((rows.last().map(|(row, _)| row.id), rekeyed))
}

/// Builds and stores a new statistics version, waits for running servers
/// to file under it (unless `wait` is false: no server is running), re-keys
/// every case, and marks it complete.
pub async fn run(db: &Db, wait: bool) -> Result<Report, AppError> {
    let started = Instant::now();
    let fingerprinter = Fingerprinter::default();
    let counter = fingerprinter.clone();
    let table = db.read(move |conn| count(conn, &counter)).await?;
    let documents = table.documents_counted();
    let common_items = table.len();
    let stored = table.clone();
    let version = db.run(move |conn| similarity_store::save_stats(conn, &stored)).await?;
    tracing::info!(version, documents, common_items, "similarity statistics stored; re-keying");
    if wait {
        // Servers reload within RELOAD_EVERY; after that no new filing uses
        // an older version, so one sweep catches every straggler.
        tokio::time::sleep(RELOAD_EVERY + Duration::from_secs(5)).await;
    }
    // One pass over the cases in key order: a case filed from now on is
    // keyed to the new version already.
    let (mut rekeyed, mut after) = (0, None);
    loop {
        let (fingerprinter, table) = (fingerprinter.clone(), table.clone());
        let (last, done) = db.run(move |conn| rekey_batch(conn, &fingerprinter, version, &table, after)).await?;
        rekeyed += done;
        match last {
            Some(last) => after = Some(last),
            None => break,
        }
    }
    db.run(move |conn| similarity_store::complete_stats(conn, version)).await?;
    Ok(Report { version, documents, common_items, rekeyed, elapsed: started.elapsed() })
}
