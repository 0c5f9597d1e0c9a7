//! Backlog case queries. Every function takes the connection of the
//! caller's transaction; none decides policy (the designation rule's
//! candidates are narrowed here and decided by `rules::qualifies`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Int2, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

use super::domain::{BacklogReason, BacklogState};
use super::model::{BacklogChange, BacklogRow};
use super::rules::{self, Facts, Policy};
use crate::auth::Principal;
use crate::auth::policy;
use crate::cases::domain::CaseState;
use crate::error::AppError;
use crate::literal_limit::LiteralLimit;
use crate::schema::{backlog_cases, cases};

fn like_subtree(root: &str) -> String {
    format!("{}/%", root.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"))
}

pub fn insert_backlog_cases(conn: &mut PgConnection, rows: &[BacklogRow]) -> Result<(), AppError> {
    if !rows.is_empty() {
        diesel::insert_into(backlog_cases::table).values(rows).execute(conn)?;
    }
    Ok(())
}

pub fn find_backlog_case(conn: &mut PgConnection, id: Uuid) -> Result<Option<BacklogRow>, AppError> {
    Ok(backlog_cases::table.find(id).select(BacklogRow::as_select()).first(conn).optional()?)
}

pub fn lock_backlog_case(conn: &mut PgConnection, id: Uuid) -> Result<Option<BacklogRow>, AppError> {
    Ok(backlog_cases::table.find(id).select(BacklogRow::as_select()).for_update().first(conn).optional()?)
}

pub fn save_backlog_case(conn: &mut PgConnection, id: Uuid, change: &BacklogChange) -> Result<BacklogRow, AppError> {
    Ok(diesel::update(backlog_cases::table.find(id))
        .set(change)
        .returning(BacklogRow::as_returning())
        .get_result(conn)?)
}

/// The open designation of case `case_id`, if any.
pub fn open_designation(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<Uuid>, AppError> {
    Ok(backlog_cases::table
        .filter(backlog_cases::case_id.eq(case_id))
        .filter(backlog_cases::state.eq(BacklogState::Designated.as_i16()))
        .select(backlog_cases::id)
        .first(conn)
        .optional()?)
}

/// The cases of `ids` with an open designation.
pub fn open_designations(conn: &mut PgConnection, ids: &[Uuid]) -> Result<HashSet<Uuid>, AppError> {
    Ok(backlog_cases::table
        .filter(backlog_cases::case_id.eq_any(ids))
        .filter(backlog_cases::state.eq(BacklogState::Designated.as_i16()))
        .select(backlog_cases::case_id)
        .load::<Uuid>(conn)?
        .into_iter()
        .collect())
}

/// What a designation copies of its case.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cases, check_for_backend(diesel::pg::Pg))]
pub struct DesignatedCase {
    pub id: Uuid,
    pub region_path: String,
    pub region_code: String,
    pub number: String,
}

/// The cases of `ids` that exist, as a designation copies them.
pub fn designated_cases(conn: &mut PgConnection, ids: &[Uuid]) -> Result<HashMap<Uuid, DesignatedCase>, AppError> {
    Ok(cases::table
        .filter(cases::id.eq_any(ids))
        .select(DesignatedCase::as_select())
        .load::<DesignatedCase>(conn)?
        .into_iter()
        .map(|c| (c.id, c))
        .collect())
}

/// The case's current handling organization (who may record checks).
pub fn handling_organization(conn: &mut PgConnection, case_id: Uuid) -> Result<Option<Uuid>, AppError> {
    Ok(cases::table.find(case_id).select(cases::handling_organization_id).first(conn).optional()?.flatten())
}

/// Which backlog cases a caller may list: the SQL form of
/// `policy::can_see_backlog_case`.
#[derive(Debug, Clone)]
pub enum BacklogVisibility {
    /// Admins.
    All,
    /// Oversight staff their jurisdiction's subtree; handlers and unit
    /// leads their organization's cases.
    Some { organization: Option<Uuid>, jurisdiction: Option<String> },
}

impl BacklogVisibility {
    pub fn of(principal: &Principal) -> BacklogVisibility {
        if principal.is_admin() {
            return BacklogVisibility::All;
        }
        let handles = policy::BACKLOG_HANDLING.iter().any(|role| principal.has_role(*role));
        let organization = principal.organization_id.filter(|_| handles);
        let oversees = policy::BACKLOG_OVERSIGHT.iter().any(|role| principal.has_role(*role));
        let jurisdiction = principal.jurisdiction.clone().filter(|_| oversees);
        BacklogVisibility::Some { organization, jurisdiction }
    }
}

/// Typed filters, validated.
#[derive(Debug, Clone, Default)]
pub struct BacklogFilter {
    pub states: Vec<i16>,
    pub reasons: Vec<i16>,
    pub region_root: Option<String>,
    pub case_id: Option<Uuid>,
}

/// Backlog cases newest first (ids are UUIDv7) before `before`.
pub fn list_backlog_cases(
    conn: &mut PgConnection,
    visibility: &BacklogVisibility,
    filter: &BacklogFilter,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<BacklogRow>, AppError> {
    let mut query = backlog_cases::table
        .inner_join(cases::table)
        .select(BacklogRow::as_select())
        .order(backlog_cases::id.desc())
        .into_boxed();
    if let BacklogVisibility::Some { organization, jurisdiction } = visibility {
        let by_org = cases::handling_organization_id.eq(organization.unwrap_or(Uuid::nil()));
        query = match jurisdiction {
            Some(root) => query.filter(
                by_org
                    .or(backlog_cases::region_path.eq(root.clone()))
                    .or(backlog_cases::region_path.like(like_subtree(root))),
            ),
            None => query.filter(by_org),
        };
    }
    if !filter.states.is_empty() {
        query = query.filter(backlog_cases::state.eq_any(filter.states.clone()));
    }
    if !filter.reasons.is_empty() {
        query = query.filter(backlog_cases::reason.eq_any(filter.reasons.clone()));
    }
    if let Some(root) = &filter.region_root {
        query = query.filter(
            backlog_cases::region_path.eq(root.clone()).or(backlog_cases::region_path.like(like_subtree(root))),
        );
    }
    if let Some(case) = filter.case_id {
        query = query.filter(backlog_cases::case_id.eq(case));
    }
    if let Some(before) = before {
        query = query.filter(backlog_cases::id.lt(before));
    }
    let limit = u32::try_from(limit).map_err(AppError::internal)?;
    Ok(LiteralLimit::new(query, limit).load(conn)?)
}

// ---- The designation rule's candidates ---------------------------------

/// A case the designation rule picks, why, and the detail to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub case_id: Uuid,
    pub reason: BacklogReason,
    pub detail: String,
}

#[derive(QueryableByName)]
struct Picked {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

#[derive(QueryableByName)]
struct FactsRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Int2)]
    state: i16,
    #[diesel(sql_type = Nullable<Text>)]
    registered_on: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    last_closed: Option<DateTime<Utc>>,
    #[diesel(sql_type = Bool)]
    designated: bool,
    #[diesel(sql_type = BigInt)]
    repeats: i64,
    #[diesel(sql_type = BigInt)]
    after_final: i64,
}

/// State numbers as this module's SQL spells them (`concat!` takes only
/// literals); `spelled_states_are_the_enums` ties each to its enum, and the
/// partial indexes use the same numbers (e2e `schema_states`).
macro_rules! declined {
    () => {
        "4"
    };
}
macro_rules! final_state {
    () => {
        "9"
    };
}
macro_rules! designated {
    () => {
        "1"
    };
}
/// `rules::OPEN_STATES`: still with the organizations.
macro_rules! with_the_organizations {
    () => {
        "(1, 2, 3, 6, 8)"
    };
}

/// The latest close of a designation of case `$c`, or the beginning of
/// time (an SQL expression).
macro_rules! since {
    ($c:literal) => {
        concat!(
            "COALESCE((SELECT max(b.closed_at) FROM backlog_cases b WHERE b.case_id = ",
            $c,
            "), '-infinity'::timestamptz)"
        )
    };
}

/// Filings declined as concluded after re-review (Art.36) about the case
/// `$c`, after its last closed designation (an SQL condition on `d`).
macro_rules! after_final {
    ($c:literal) => {
        concat!(
            "d.state = ",
            declined!(),
            " AND d.lifecycle ->> 'decline_reason' = 'CONCLUDED_AFTER_RECHECK'
             AND d.lifecycle ->> 'related_case_id' = ",
            $c,
            "::text AND d.created_at > ",
            since!($c)
        )
    };
}

/// What the rule needs of each case of `ids`.
pub fn facts(conn: &mut PgConnection, ids: &[Uuid], today: NaiveDate) -> Result<Vec<(Uuid, Facts)>, AppError> {
    let rows: Vec<FactsRow> = diesel::sql_query(concat!(
        "SELECT c.id, c.state, c.lifecycle ->> 'registered_on' AS registered_on,
                (SELECT max(b.closed_at) FROM backlog_cases b WHERE b.case_id = c.id) AS last_closed,
                EXISTS (SELECT 1 FROM backlog_cases b WHERE b.case_id = c.id AND b.state = ",
        designated!(),
        ") AS designated,
                (SELECT count(*) FROM cases r WHERE r.repeat_of = c.id AND r.created_at > ",
        since!("c.id"),
        ") AS repeats,
                (SELECT count(*) FROM cases d WHERE ",
        after_final!("c.id"),
        ") AS after_final
         FROM cases c WHERE c.id = ANY($1)"
    ))
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)?;
    rows.into_iter()
        .map(|r| {
            let state = CaseState::from_i32(i32::from(r.state))
                .ok_or_else(|| AppError::internal(format!("case {} in unknown state {}", r.id, r.state)))?;
            let registered_on = r
                .registered_on
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                .ok_or_else(|| AppError::internal(format!("case {} without a registration day", r.id)))?;
            let facts = Facts {
                state,
                registered_on,
                last_closed_on: r.last_closed.map(crate::time::shanghai_date),
                designated: r.designated,
                repeats: u32::try_from(r.repeats).unwrap_or(u32::MAX),
                petitions_after_final: u32::try_from(r.after_final).unwrap_or(u32::MAX),
                today,
            };
            Ok((r.id, facts))
        })
        .collect()
}

/// Up to `limit` cases that qualify for designation by rule on `today`
/// under `policy` and have no open designation, with their reason.
///
/// Never reads every case: each rule narrows through an index —
/// OPEN_TOO_LONG the partial index of cases still with the organizations
/// by registration day (oldest first), REPEATED the partial index of
/// repeat links, PETITIONS_AFTER_FINAL the partial index of filings
/// declined as concluded after re-review — and `rules::qualifies` decides
/// each case so narrowed.
pub fn candidates(
    conn: &mut PgConnection,
    today: NaiveDate,
    policy: &Policy,
    limit: i64,
) -> Result<Vec<Candidate>, AppError> {
    let mut picked: Vec<Uuid> = Vec::new();
    if policy.after_final {
        let rows: Vec<Picked> = diesel::sql_query(concat!(
            "SELECT f.id FROM (
                 SELECT DISTINCT (d.lifecycle ->> 'related_case_id')::uuid AS id FROM cases d
                 WHERE d.state = ",
            declined!(),
            " AND d.lifecycle ->> 'decline_reason' = 'CONCLUDED_AFTER_RECHECK'
             ) f
             JOIN cases c ON c.id = f.id AND c.state = ",
            final_state!(),
            "
             WHERE NOT EXISTS (SELECT 1 FROM backlog_cases b WHERE b.case_id = f.id AND b.state = ",
            designated!(),
            ")
               AND EXISTS (SELECT 1 FROM cases d WHERE ",
            after_final!("f.id"),
            ")
             ORDER BY f.id LIMIT $1"
        ))
        .bind::<BigInt, _>(limit)
        .load(conn)?;
        picked.extend(rows.into_iter().map(|r| r.id));
    }
    if policy.repeats > 0 {
        let rows: Vec<Picked> = diesel::sql_query(concat!(
            "SELECT r.repeat_of AS id FROM cases r
             WHERE r.repeat_of IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM backlog_cases b WHERE b.case_id = r.repeat_of AND b.state = ",
            designated!(),
            ")
               AND r.created_at > ",
            since!("r.repeat_of"),
            "
             GROUP BY r.repeat_of HAVING count(*) >= $1
             ORDER BY r.repeat_of LIMIT $2"
        ))
        .bind::<BigInt, _>(i64::from(policy.repeats))
        .bind::<BigInt, _>(limit)
        .load(conn)?;
        picked.extend(rows.into_iter().map(|r| r.id));
    }
    if policy.open_days > 0 {
        // Registered before the cutoff day: open more than `open_days` days.
        // The states are written out, not bound, so that the planner
        // matches the partial index's predicate.
        let cutoff = today - chrono::Days::new(u64::from(policy.open_days));
        let cutoff_start = crate::time::shanghai()
            .from_local_datetime(&cutoff.and_hms_opt(0, 0, 0).unwrap_or_default())
            .single()
            .map(|t| t.with_timezone(&Utc))
            .ok_or_else(|| AppError::internal("the cutoff day has no start"))?;
        let rows: Vec<Picked> = diesel::sql_query(concat!(
            "SELECT c.id FROM cases c
             WHERE c.state IN ",
            with_the_organizations!(),
            " AND c.lifecycle ->> 'registered_on' < $1
               AND NOT EXISTS (SELECT 1 FROM backlog_cases b WHERE b.case_id = c.id
                               AND (b.state = ",
            designated!(),
            " OR b.closed_at >= $2))
             ORDER BY c.lifecycle ->> 'registered_on', c.id LIMIT $3"
        ))
        .bind::<Text, _>(crate::calendar::rules::format_date(cutoff))
        .bind::<Timestamptz, _>(cutoff_start)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
        picked.extend(rows.into_iter().map(|r| r.id));
    }
    picked.sort();
    picked.dedup();
    let mut out: Vec<Candidate> = facts(conn, &picked, today)?
        .into_iter()
        .filter_map(|(case_id, facts)| {
            rules::qualifies(&facts, policy).map(|reason| Candidate {
                case_id,
                reason,
                detail: rules::rule_detail(reason, &facts),
            })
        })
        .collect();
    out.sort_by_key(|c| c.case_id);
    out.truncate(usize::try_from(limit).unwrap_or(0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelled_states_are_the_enums() {
        assert_eq!(declined!(), CaseState::Declined.as_i16().to_string());
        assert_eq!(final_state!(), CaseState::Final.as_i16().to_string());
        assert_eq!(designated!(), BacklogState::Designated.as_i16().to_string());
        let open: Vec<String> = rules::OPEN_STATES.iter().map(i16::to_string).collect();
        assert_eq!(with_the_organizations!(), format!("({})", open.join(", ")));
    }
}
