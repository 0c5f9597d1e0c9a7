//! The statements intake adds to a filing: the petitioner's filing lock,
//! reading the candidates' fingerprints, and recording the new case's
//! fingerprint and related cases.
//!
//! Each is one round trip and a prepared statement cached per connection
//! (diesel prepares raw SQL and multi-row inserts afresh every time): at
//! filing rates, PostgreSQL's per-statement work (parse, plan, protocol)
//! costs more than the index work itself.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Binary, Float, Integer, Nullable, SmallInt};
use uuid::Uuid;

use crate::error::AppError;
use crate::similarity::Fingerprint;

/// Serializes the filings of one petitioner until the transaction ends
/// (a transaction-scoped advisory lock keyed by the petitioner's id), so
/// that of two concurrent filings of one matter the second sees the first.
pub fn lock_petitioner_filings(conn: &mut PgConnection, petitioner: Uuid) -> Result<(), AppError> {
    let (high, low) = petitioner.as_u64_pair();
    // The namespace keeps these keys apart from any other advisory lock.
    let key = (high ^ low ^ FILING_LOCK_NAMESPACE) as i64;
    LockPetitionerFilings { key }.execute(conn)?;
    Ok(())
}

const FILING_LOCK_NAMESPACE: u64 = 0x6669_6c69_6e67_2121; // "filing!!"

struct LockPetitionerFilings {
    key: i64,
}

struct LockPetitionerFilingsId;

impl QueryId for LockPetitionerFilings {
    type QueryId = LockPetitionerFilingsId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<PgConnection> for LockPetitionerFilings {}

impl QueryFragment<Pg> for LockPetitionerFilings {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT pg_advisory_xact_lock(");
        out.push_bind_param::<BigInt, _>(&self.key)?;
        out.push_sql(")");
        Ok(())
    }
}

/// A candidate as stored: its case, the statistics version its fingerprint
/// was made with, and the encoded fingerprint.
pub type StoredCandidate = (Uuid, i32, Vec<u8>);

/// What to read candidates for.
pub struct CandidateQuery<'a> {
    /// The band index's candidates (`SimilarityIndex::bands`).
    pub band_cases: &'a [Uuid],
    /// Whose open cases are candidates too, compared directly.
    pub petitioner: Option<Uuid>,
    /// States that are not open.
    pub terminal_states: &'a [i16],
    /// Most of the petitioner's open cases, newest first.
    pub own_limit: i64,
    /// A case never to return (the query case itself).
    pub exclude: Option<Uuid>,
}

/// The fingerprints of the band candidates and of the petitioner's open
/// cases (cases without a fingerprint are left out), in no order.
pub fn candidate_fingerprints(
    conn: &mut PgConnection,
    query: &CandidateQuery<'_>,
) -> Result<Vec<StoredCandidate>, AppError> {
    Ok(CandidateFingerprints { query }.load(conn)?)
}

struct CandidateFingerprints<'q, 'a> {
    query: &'q CandidateQuery<'a>,
}

struct CandidateFingerprintsId;

impl QueryId for CandidateFingerprints<'_, '_> {
    type QueryId = CandidateFingerprintsId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for CandidateFingerprints<'_, '_> {
    type SqlType = (diesel::sql_types::Uuid, Integer, Binary);
}

impl RunQueryDsl<PgConnection> for CandidateFingerprints<'_, '_> {}

impl QueryFragment<Pg> for CandidateFingerprints<'_, '_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let q = self.query;
        out.push_sql("WITH own AS (SELECT id AS case_id FROM cases WHERE petitioner_id = ");
        out.push_bind_param::<Nullable<diesel::sql_types::Uuid>, _>(&q.petitioner)?;
        out.push_sql(" AND NOT (state = ANY(");
        out.push_bind_param::<Array<SmallInt>, _>(q.terminal_states)?;
        out.push_sql(")) ORDER BY id DESC LIMIT ");
        out.push_bind_param::<BigInt, _>(&q.own_limit)?;
        out.push_sql(") SELECT f.case_id, f.stats_version, f.fingerprint FROM (SELECT unnest(CAST(");
        out.push_bind_param::<Array<diesel::sql_types::Uuid>, _>(q.band_cases)?;
        out.push_sql(
            " AS uuid[])) AS case_id UNION SELECT case_id FROM own) AS c \
             JOIN case_fingerprints AS f ON f.case_id = c.case_id WHERE f.case_id IS DISTINCT FROM ",
        );
        out.push_bind_param::<Nullable<diesel::sql_types::Uuid>, _>(&q.exclude)?;
        Ok(())
    }
}

/// Stores a new case's fingerprint and its related cases (both ways), in
/// one statement. The case row comes later in the same
/// transaction (the foreign keys are deferred).
pub fn record_filing(
    conn: &mut PgConnection,
    case_id: Uuid,
    stats_version: i32,
    fingerprint: &Fingerprint,
    related: &[(Uuid, f32)],
) -> Result<(), AppError> {
    let (related_ids, scores): (Vec<Uuid>, Vec<f32>) =
        related.iter().map(|(id, score)| (*id, score.clamp(0.0, 1.0))).unzip();
    RecordFiling { case_id, stats_version, fingerprint: fingerprint.encode(), related_ids, scores }.execute(conn)?;
    Ok(())
}

struct RecordFiling {
    case_id: Uuid,
    stats_version: i32,
    fingerprint: Vec<u8>,
    related_ids: Vec<Uuid>,
    scores: Vec<f32>,
}

struct RecordFilingId;

impl QueryId for RecordFiling {
    type QueryId = RecordFilingId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<PgConnection> for RecordFiling {}

impl QueryFragment<Pg> for RecordFiling {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let case_id = |out: &mut AstPass<'_, 'b, Pg>| out.push_bind_param::<diesel::sql_types::Uuid, _>(&self.case_id);
        out.push_sql(
            "WITH fingerprint AS (INSERT INTO case_fingerprints (case_id, stats_version, fingerprint) VALUES (",
        );
        case_id(&mut out)?;
        out.push_sql(", ");
        out.push_bind_param::<Integer, _>(&self.stats_version)?;
        out.push_sql(", ");
        out.push_bind_param::<Binary, _>(&self.fingerprint)?;
        out.push_sql(
            ")), related AS (INSERT INTO related_cases (case_id, related_case_id, score) \
             SELECT x.a, x.b, x.score FROM (SELECT c.id AS a, r.id AS b, r.score FROM unnest(",
        );
        out.push_bind_param::<Array<diesel::sql_types::Uuid>, _>(&self.related_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Float>, _>(&self.scores)?;
        out.push_sql(") AS r(id, score), (SELECT ");
        case_id(&mut out)?;
        out.push_sql(
            " AS id) AS c) AS p, LATERAL (VALUES (p.a, p.b, p.score), (p.b, p.a, p.score)) AS x(a, b, score) \
             ON CONFLICT DO NOTHING) SELECT 1",
        );
        Ok(())
    }
}
