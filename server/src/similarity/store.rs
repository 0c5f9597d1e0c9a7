//! Where fingerprints live: one encoded [`Fingerprint`] per case, one row
//! per LSH band key (the candidate index), and the versions of the
//! document-frequency statistics the fingerprints were made with. (A
//! filing reads and writes them in its own two statements:
//! `crate::cases::intake_store`.)

use diesel::dsl::max;
use diesel::prelude::*;
use uuid::Uuid;

use super::fingerprint::Fingerprint;
use super::minhash::DocFreqTable;
use crate::error::AppError;
use crate::schema::{case_bands, case_fingerprints, similarity_stats};

/// One version of the statistics. Version 0 is the empty table (nothing
/// counted yet), never stored.
#[derive(Debug, Clone)]
pub struct StatsVersion {
    pub version: i32,
    pub table: DocFreqTable,
    /// Every fingerprint has been re-keyed to it (older versions are gone).
    pub complete: bool,
}

impl StatsVersion {
    pub fn empty() -> Self {
        Self { version: 0, table: DocFreqTable::new(), complete: true }
    }
}

/// Every stored version, newest first.
pub fn load_stats(conn: &mut PgConnection) -> Result<Vec<StatsVersion>, AppError> {
    let rows: Vec<(i32, Vec<u8>, bool)> = similarity_stats::table
        .select((similarity_stats::version, similarity_stats::items, similarity_stats::complete))
        .order(similarity_stats::version.desc())
        .load(conn)?;
    rows.into_iter()
        .map(|(version, items, complete)| {
            let table = DocFreqTable::decode(&items)
                .map_err(|e| AppError::internal(format!("similarity statistics version {version}: {e}")))?;
            Ok(StatsVersion { version, table, complete })
        })
        .collect()
}

/// The newest version number (0 when none is stored).
pub fn latest_version(conn: &mut PgConnection) -> Result<i32, AppError> {
    Ok(similarity_stats::table.select(max(similarity_stats::version)).first::<Option<i32>>(conn)?.unwrap_or(0))
}

/// Stores `table` as the next version (not yet complete) and returns it.
pub fn save_stats(conn: &mut PgConnection, table: &DocFreqTable) -> Result<i32, AppError> {
    let version = latest_version(conn)? + 1;
    diesel::insert_into(similarity_stats::table)
        .values((
            similarity_stats::version.eq(version),
            similarity_stats::documents.eq(i64::try_from(table.documents_counted()).unwrap_or(i64::MAX)),
            similarity_stats::items.eq(table.encode()),
            similarity_stats::complete.eq(false),
        ))
        .execute(conn)?;
    Ok(version)
}

/// Marks `version` complete and drops the versions before it.
pub fn complete_stats(conn: &mut PgConnection, version: i32) -> Result<(), AppError> {
    diesel::update(similarity_stats::table.find(version)).set(similarity_stats::complete.eq(true)).execute(conn)?;
    diesel::delete(similarity_stats::table.filter(similarity_stats::version.lt(version))).execute(conn)?;
    Ok(())
}

/// Replaces a case's fingerprint and band keys (re-keying to new statistics).
pub fn replace_fingerprint(
    conn: &mut PgConnection,
    case_id: Uuid,
    stats_version: i32,
    fingerprint: &Fingerprint,
) -> Result<(), AppError> {
    let old: Option<Vec<u8>> =
        case_fingerprints::table.find(case_id).select(case_fingerprints::fingerprint).first(conn).optional()?;
    let bands = case_bands::table.filter(case_bands::case_id.eq(case_id));
    match old.map(|bytes| Fingerprint::decode(&bytes)) {
        None => {}
        // The old keys find the old rows through the primary key.
        Some(Ok(old)) => {
            diesel::delete(bands.filter(case_bands::key.eq_any(&old.band_keys))).execute(conn)?;
        }
        Some(Err(e)) => {
            tracing::warn!(%case_id, error = %e, "unreadable fingerprint replaced; its band rows are found by a scan");
            diesel::delete(bands).execute(conn)?;
        }
    }
    diesel::insert_into(case_fingerprints::table)
        .values((
            case_fingerprints::case_id.eq(case_id),
            case_fingerprints::stats_version.eq(stats_version),
            case_fingerprints::fingerprint.eq(fingerprint.encode()),
        ))
        .on_conflict(case_fingerprints::case_id)
        .do_update()
        .set((
            case_fingerprints::stats_version.eq(stats_version),
            case_fingerprints::fingerprint.eq(fingerprint.encode()),
        ))
        .execute(conn)?;
    insert_bands(conn, case_id, &fingerprint.band_keys)
}

fn insert_bands(conn: &mut PgConnection, case_id: Uuid, keys: &[i64]) -> Result<(), AppError> {
    let mut keys = keys.to_vec();
    // Two bands may hash alike; the index holds each (key, case) once.
    keys.sort_unstable();
    keys.dedup();
    let rows: Vec<_> = keys.iter().map(|k| (case_bands::key.eq(*k), case_bands::case_id.eq(case_id))).collect();
    diesel::insert_into(case_bands::table).values(&rows).execute(conn)?;
    Ok(())
}

/// A page of stored fingerprints in case order, after `after`.
pub fn fingerprints_page(
    conn: &mut PgConnection,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<(Uuid, Vec<u8>)>, AppError> {
    let mut query = case_fingerprints::table
        .select((case_fingerprints::case_id, case_fingerprints::fingerprint))
        .order(case_fingerprints::case_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(case_fingerprints::case_id.gt(after));
    }
    Ok(query.load(conn)?)
}

/// True when the oldest stored fingerprint holds another number of band
/// keys than `bands`: the store was fingerprinted under another LSH layout
/// (whose band rows a migration dropped, or which would never match) and
/// `reindex-similarity` has not re-keyed it, so stored cases cannot be
/// found by band key. The oldest, because filings made since the upgrade
/// are of the new layout.
pub fn keyed_under_another_layout(conn: &mut PgConnection, bands: usize) -> Result<bool, AppError> {
    let oldest: Option<Vec<u8>> = case_fingerprints::table
        .select(case_fingerprints::fingerprint)
        .order(case_fingerprints::case_id)
        .first(conn)
        .optional()?;
    // A text without units has no band keys under any layout.
    Ok(oldest
        .and_then(|bytes| Fingerprint::decode(&bytes).ok())
        .is_some_and(|f| !f.band_keys.is_empty() && f.band_keys.len() != bands))
}

/// Up to `limit` cases whose fingerprint is not of `version`.
pub fn stale_fingerprints(conn: &mut PgConnection, version: i32, limit: i64) -> Result<Vec<Uuid>, AppError> {
    Ok(case_fingerprints::table
        .filter(case_fingerprints::stats_version.ne(version))
        .select(case_fingerprints::case_id)
        .limit(limit)
        .load(conn)?)
}
