//! The statements intake adds to a filing: the petitioner's filing lock,
//! reading the candidates and storing the new case's fingerprint in one;
//! recording its related cases, when it has any, in another.
//!
//! Each is one round trip and a prepared statement cached per connection
//! (diesel prepares raw SQL and multi-row inserts afresh every time): at
//! filing rates, PostgreSQL's per-statement work (parse, plan, protocol)
//! costs more than the index work itself.

use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Binary, Float, Integer, Nullable};
use uuid::Uuid;

use super::domain::{CaseKind, CaseState};
use crate::auth::policy::CaseAccess;
use crate::error::AppError;
use crate::schema::cases;
use crate::similarity::Fingerprint;

/// The key of the transaction-scoped advisory lock under which one
/// petitioner's filings take turns (so that of two concurrent filings of
/// one matter the second sees the first).
pub fn petitioner_lock_key(petitioner: Uuid) -> i64 {
    let (high, low) = petitioner.as_u64_pair();
    // The namespace keeps these keys apart from any other advisory lock.
    (high ^ low ^ FILING_LOCK_NAMESPACE) as i64
}

const FILING_LOCK_NAMESPACE: u64 = 0x6669_6c69_6e67_2121; // "filing!!"

/// A stored case as the matcher sees it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cases, check_for_backend(diesel::pg::Pg))]
pub struct CandidateRow {
    pub id: Uuid,
    pub number: String,
    pub kind: i16,
    pub state: i16,
    pub petitioner_id: Uuid,
    pub region_path: String,
    pub category_code: String,
    pub respondent_organization_id: Option<Uuid>,
    pub handling_organization_id: Option<Uuid>,
    pub reviewing_organization_id: Option<Uuid>,
    pub repeat_of: Option<Uuid>,
}

impl CandidateRow {
    pub fn is_open(&self) -> bool {
        CaseState::from_i32(i32::from(self.state)).is_some_and(CaseState::is_open)
    }

    /// What the policy needs to decide who may see it. Partner grants are
    /// not read with candidates: a case seen only through a grant is left
    /// out of similar-case results (never the other way round).
    pub fn access(&self) -> CaseAccess<'_> {
        CaseAccess {
            region_path: &self.region_path,
            petitioner_id: self.petitioner_id,
            handling_organization_id: self.handling_organization_id,
            reviewing_organization_id: self.reviewing_organization_id,
            access_organization_ids: &[],
        }
    }

    pub fn is_accusation(&self) -> bool {
        self.kind == CaseKind::Accusation.as_i16()
    }
}

/// A candidate as stored: the statistics version its fingerprint was made
/// with, the encoded fingerprint, and its case.
pub type StoredCandidate = (i32, Vec<u8>, CandidateRow);

/// What to read candidates for.
pub struct CandidateQuery<'a> {
    /// Take the petitioner's filing lock first ([`petitioner_lock_key`]).
    pub lock: Option<i64>,
    /// The band index's candidates (`SimilarityIndex::bands`).
    pub band_cases: &'a [Uuid],
    /// Whose open cases are candidates too, compared directly.
    pub petitioner: Option<Uuid>,
    /// The petitioner's cases not to read (known not to be keepable).
    pub skip_own: &'a [Uuid],
    /// Most of the petitioner's open cases, newest first.
    pub own_limit: i64,
    /// A case never to return (the query case itself).
    pub exclude: Option<Uuid>,
    /// A filing's new case and its fingerprint, stored after the read.
    pub store: Option<NewFingerprint>,
}

/// A new case's fingerprint as it is stored.
pub struct NewFingerprint {
    pub case_id: Uuid,
    pub stats_version: i32,
    pub encoded: Vec<u8>,
}

impl NewFingerprint {
    pub fn new(case_id: Uuid, stats_version: i32, fingerprint: &Fingerprint) -> Self {
        Self { case_id, stats_version, encoded: fingerprint.encode() }
    }
}

/// Takes the lock if asked, then reads the fingerprints and case rows of
/// the band candidates and of the petitioner's open cases but those to
/// skip (cases without a fingerprint are left out), in no order, then
/// stores the new fingerprint if given: one round trip (the
/// `intake_candidates` function of migration 000029).
pub fn candidates(conn: &mut PgConnection, query: &CandidateQuery<'_>) -> Result<Vec<StoredCandidate>, AppError> {
    let store = query.store.as_ref();
    Ok(Candidates {
        query,
        store_case: store.map(|s| s.case_id),
        store_version: store.map(|s| s.stats_version),
        store_fingerprint: store.map(|s| s.encoded.as_slice()),
    }
    .load(conn)?)
}

struct Candidates<'q, 'a> {
    query: &'q CandidateQuery<'a>,
    // `query.store` as the function's nullable arguments.
    store_case: Option<Uuid>,
    store_version: Option<i32>,
    store_fingerprint: Option<&'q [u8]>,
}

struct CandidatesId;

impl QueryId for Candidates<'_, '_> {
    type QueryId = CandidatesId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for Candidates<'_, '_> {
    // The function returns the case columns in `CandidateRow`'s order.
    type SqlType = (Integer, Binary, SqlTypeOf<AsSelect<CandidateRow, Pg>>);
}

impl RunQueryDsl<PgConnection> for Candidates<'_, '_> {}

impl QueryFragment<Pg> for Candidates<'_, '_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let q = self.query;
        out.push_sql("SELECT * FROM intake_candidates(");
        out.push_bind_param::<Nullable<BigInt>, _>(&q.lock)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<diesel::sql_types::Uuid>, _>(&q.petitioner)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<diesel::sql_types::Uuid>, _>(q.band_cases)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<diesel::sql_types::Uuid>, _>(q.skip_own)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&q.own_limit)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<diesel::sql_types::Uuid>, _>(&q.exclude)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<diesel::sql_types::Uuid>, _>(&self.store_case)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Integer>, _>(&self.store_version)?;
        out.push_sql(", ");
        out.push_bind_param::<Nullable<Binary>, _>(&self.store_fingerprint)?;
        out.push_sql(")");
        Ok(())
    }
}

/// Records a new case's related cases (both ways), in one statement. The
/// case row comes later in the same transaction; the table has no foreign
/// keys (migration 000029): it names only cases just read or created.
pub fn record_related(conn: &mut PgConnection, case_id: Uuid, related: &[(Uuid, f32)]) -> Result<(), AppError> {
    let (related_ids, scores): (Vec<Uuid>, Vec<f32>) =
        related.iter().map(|(id, score)| (*id, score.clamp(0.0, 1.0))).unzip();
    RecordRelated { case_id, related_ids, scores }.execute(conn)?;
    Ok(())
}

struct RecordRelated {
    case_id: Uuid,
    related_ids: Vec<Uuid>,
    scores: Vec<f32>,
}

struct RecordRelatedId;

impl QueryId for RecordRelated {
    type QueryId = RecordRelatedId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl RunQueryDsl<PgConnection> for RecordRelated {}

impl QueryFragment<Pg> for RecordRelated {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql(
            "INSERT INTO related_cases (case_id, related_case_id, score) \
             SELECT x.a, x.b, x.score FROM (SELECT c.id AS a, r.id AS b, r.score FROM unnest(",
        );
        out.push_bind_param::<Array<diesel::sql_types::Uuid>, _>(&self.related_ids)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Float>, _>(&self.scores)?;
        out.push_sql(") AS r(id, score), (SELECT ");
        out.push_bind_param::<diesel::sql_types::Uuid, _>(&self.case_id)?;
        out.push_sql(
            " AS id) AS c) AS p, LATERAL (VALUES (p.a, p.b, p.score), (p.b, p.a, p.score)) AS x(a, b, score) \
             ON CONFLICT DO NOTHING",
        );
        Ok(())
    }
}
