//! Where fingerprints live: one encoded [`Fingerprint`] per case (with the
//! transaction that stored it, which servers follow to keep their band
//! index current: [`super::bands`]) and the versions of the
//! document-frequency statistics the fingerprints were made with. (A
//! filing reads and writes them in its own two statements:
//! `crate::cases::intake_store`.)

use diesel::dsl::max;
use diesel::prelude::*;
use diesel::sql_query;
use diesel::sql_types::{BigInt, Binary, Integer, Nullable};
use uuid::Uuid;

use super::fingerprint::Fingerprint;
use super::minhash::DocFreqTable;
use crate::error::AppError;
use crate::schema::{case_fingerprints, similarity_stats};

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

/// Replaces a case's fingerprint (re-keying to new statistics). Running
/// servers re-read every band key when the statistics change
/// (`SimilarityIndex::reload_if_changed`).
pub fn replace_fingerprint(
    conn: &mut PgConnection,
    case_id: Uuid,
    stats_version: i32,
    fingerprint: &Fingerprint,
) -> Result<(), AppError> {
    let encoded = fingerprint.encode();
    diesel::insert_into(case_fingerprints::table)
        .values((
            case_fingerprints::case_id.eq(case_id),
            case_fingerprints::stats_version.eq(stats_version),
            case_fingerprints::fingerprint.eq(&encoded),
        ))
        .on_conflict(case_fingerprints::case_id)
        .do_update()
        .set((case_fingerprints::stats_version.eq(stats_version), case_fingerprints::fingerprint.eq(&encoded)))
        .execute(conn)?;
    Ok(())
}

/// A stored fingerprint's first `prefix_len` bytes, which hold what the
/// band index keeps of it ([`Fingerprint::indexed_in_prefix`]).
#[derive(Debug, QueryableByName)]
pub struct IndexedPrefix {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub case_id: Uuid,
    #[diesel(sql_type = Binary)]
    pub prefix: Vec<u8>,
}

/// A page of stored fingerprints' indexed prefixes in case order, after `after`.
pub fn indexed_prefixes_page(
    conn: &mut PgConnection,
    after: Option<Uuid>,
    limit: i64,
    prefix_len: i32,
) -> Result<Vec<IndexedPrefix>, AppError> {
    Ok(sql_query(
        "SELECT case_id, substring(fingerprint FROM 1 FOR $1) AS prefix FROM case_fingerprints \
         WHERE $2::uuid IS NULL OR case_id > $2 ORDER BY case_id LIMIT $3",
    )
    .bind::<Integer, _>(prefix_len)
    .bind::<Nullable<diesel::sql_types::Uuid>, _>(after)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// The oldest transaction that may still be running: every fingerprint
/// not yet visible was stored by a transaction at or after it.
pub fn oldest_running_xact(conn: &mut PgConnection) -> Result<i64, AppError> {
    #[derive(QueryableByName)]
    struct Xmin {
        #[diesel(sql_type = BigInt)]
        xmin: i64,
    }
    let row: Xmin =
        sql_query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin").get_result(conn)?;
    Ok(row.xmin)
}

/// The indexed prefixes of fingerprints stored by transactions at or after
/// `since` (in case order), and the oldest transaction still running as of
/// the same snapshot: the `since` of the next call.
pub fn indexed_prefixes_stored_since(
    conn: &mut PgConnection,
    since: i64,
    prefix_len: i32,
) -> Result<(i64, Vec<IndexedPrefix>), AppError> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        xmin: i64,
        #[diesel(sql_type = Nullable<diesel::sql_types::Uuid>)]
        case_id: Option<Uuid>,
        #[diesel(sql_type = Nullable<Binary>)]
        prefix: Option<Vec<u8>>,
    }
    // One statement, one snapshot; the outer join returns the snapshot's
    // xmin even when nothing new is stored.
    let rows: Vec<Row> = sql_query(
        "SELECT s.xmin, f.case_id, substring(f.fingerprint FROM 1 FOR $2) AS prefix \
         FROM (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin) AS s \
         LEFT JOIN case_fingerprints AS f ON f.stored_in_xact >= $1 ORDER BY f.case_id",
    )
    .bind::<BigInt, _>(since)
    .bind::<Integer, _>(prefix_len)
    .load(conn)?;
    let xmin = rows.first().map_or(since, |r| r.xmin);
    let stored =
        rows.into_iter().filter_map(|r| Some(IndexedPrefix { case_id: r.case_id?, prefix: r.prefix? })).collect();
    Ok((xmin, stored))
}
